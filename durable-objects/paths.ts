// Room routes, parsed from the raw (undecoded) URL path, and the client
// address key of a pending socket. The Worker and the room's Durable Object
// both parse room paths with this, so neither can see a room under a second
// spelling: "%59…" and "Y…" would otherwise be one room to the router and two
// to whoever reads the raw URL (issue 10 item 3).
import { fromBase64Url, ROOM_ID_LENGTH } from "@airlock/protocol";

export type RoomRole = "host" | "device" | "debug";

/** Room ids are 16 bytes as exactly 22 base64url characters, canonical trailing bits (identity.ts). */
export function isRoomId(room: string): boolean {
  return room.length === 22 && fromBase64Url(room)?.length === ROOM_ID_LENGTH;
}

const ROOM_PATH = /^\/v1\/rooms\/([A-Za-z0-9_-]{22})\/(host|device|debug)$/;

/** The room and role of a canonical room path, or undefined for anything else (percent-escapes included). */
export function parseRoomPath(rawPath: string): { room: string; role: RoomRole } | undefined {
  const m = ROOM_PATH.exec(rawPath);
  if (!m || !isRoomId(m[1]!)) return undefined;
  return { room: m[1]!, role: m[2] as RoomRole };
}

/**
 * The key a client's pending sockets are counted under: its address as
 * Cloudflare reports it (CF-Connecting-IP, which clients cannot set through
 * Cloudflare), IPv6 by its /64 (one subscriber usually holds a whole /64).
 * Without the header (local workerd) every client shares one key.
 */
export function clientAddress(header: string | null): string {
  if (!header || header.length > 45) return "-";
  if (!header.includes(":")) return header;
  const halves = header.toLowerCase().split("::");
  if (halves.length > 2) return header;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves[1] ? halves[1].split(":") : [];
  const zeros = halves.length === 2 ? Array<string>(Math.max(0, 8 - head.length - tail.length)).fill("0") : [];
  const groups = [...head, ...zeros, ...tail].slice(0, 4).map((g) => g.replace(/^0+(?=.)/, ""));
  return `${groups.join(":")}::/64`;
}
