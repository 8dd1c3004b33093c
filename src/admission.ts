// Who may use this relay. By default anyone may open a room (a host proves it
// owns its room by signing the relay's challenge, so nobody can take another's
// room, but anyone can create their own). A team's relay can serve only the
// team's hosts: ALLOWED_ROOMS lists their room ids (what `airlock status` and
// `airlock up` print: 22 base64url characters, derived from the host key).
// Then every other room is refused at the Worker with 403 ROOM_NOT_ALLOWED,
// for hosts and devices alike, before any Durable Object is touched.
import { isRoomId } from "../durable-objects/paths.ts";

export interface AdmissionEnv {
  /** Room ids (comma or whitespace separated) this relay serves; unset or empty: every room. */
  ALLOWED_ROOMS?: string;
}

export type Admission = { mode: "open" } | { mode: "allowlist"; rooms: ReadonlySet<string> };

/**
 * The admission policy from the Worker's environment. A list with anything but
 * room ids in it fails closed: no room is served, and the error says why.
 */
export function admissionFrom(env: AdmissionEnv): Admission & { invalid?: string[] } {
  const raw = env.ALLOWED_ROOMS?.trim();
  if (!raw) return { mode: "open" };
  const entries = raw.split(/[\s,]+/).filter(Boolean);
  const invalid = entries.filter((e) => !isRoomId(e));
  if (invalid.length > 0) return { mode: "allowlist", rooms: new Set(), invalid: invalid.map((e) => e.slice(0, 40)) };
  return { mode: "allowlist", rooms: new Set(entries) };
}

export function roomAllowed(admission: Admission, room: string): boolean {
  return admission.mode === "open" || admission.rooms.has(room);
}
