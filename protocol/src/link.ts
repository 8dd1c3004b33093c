// The pairing link the host shows as a QR code:
//
//   <app URL>#v=1&relay=<percent-encoded relay URL>&room=<b64u 16>&host=<b64u 32>&secret=<b64u 32>&exp=<unix seconds>
//
// Everything that matters sits in the URL fragment, which browsers never send
// in an HTTP request: opening the link from a phone camera loads the web app
// from <app URL> and the app reads the fragment locally. Fields appear exactly
// once, in this order; anything else is rejected.
import { MAX_LINK_LENGTH, MAX_RELAY_URL_LENGTH, PAIRING_SECRET_LENGTH, PROTOCOL_VERSION, PUBLIC_KEY_LENGTH, ROOM_ID_LENGTH } from "./constants.ts";
import { bytesEqual, fromBase64Url, toBase64Url } from "./bytes.ts";
import { fail } from "./errors.ts";
import { roomIdBytes } from "./identity.ts";

export interface PairingLink {
  version: number;
  /** Where the web app lives; the link opens it. */
  appUrl: string;
  /** Relay base URL (https, or http on loopback). WebSocket URLs derive from it. */
  relayUrl: string;
  roomId: string;
  hostPublicKey: Uint8Array;
  /** One-time secret (256 bits). Never log it, never send it to a server. */
  secret: Uint8Array;
  /** Unix seconds after which the host refuses this link. */
  expiresAt: number;
}

const FIELD_ORDER = ["v", "relay", "room", "host", "secret", "exp"] as const;

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Validates an app or relay base URL without relying on a full URL parser
 * (React Native's is incomplete): scheme, host, optional port and path; no
 * credentials, query or fragment. Plain http only for loopback hosts.
 */
export function checkBaseUrl(url: string, what: string): void {
  const m = /^(https?):\/\/([A-Za-z0-9.-]+|\[::1\])(?::(\d{1,5}))?(\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?$/.exec(url);
  if (!m) fail("LINK_MALFORMED", `${what} is not a valid http(s) URL`);
  const [, scheme, host, port] = m;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) fail("LINK_MALFORMED", `${what} has a bad port`);
  if (scheme === "http" && !LOOPBACK_HOSTS.has(host!.toLowerCase())) fail("LINK_INSECURE_URL", what);
}

export function encodePairingLink(link: Omit<PairingLink, "version" | "roomId"> & { roomId?: string }): string {
  checkBaseUrl(link.appUrl, "app URL");
  checkBaseUrl(link.relayUrl, "relay URL");
  if (link.hostPublicKey.length !== PUBLIC_KEY_LENGTH) throw new Error("host public key must be 32 bytes");
  if (link.secret.length !== PAIRING_SECRET_LENGTH) throw new Error("pairing secret must be 32 bytes");
  if (!Number.isSafeInteger(link.expiresAt) || link.expiresAt <= 0) throw new Error("expiresAt must be unix seconds");
  const room = toBase64Url(roomIdBytes(link.hostPublicKey));
  const fragment = [
    `v=${PROTOCOL_VERSION}`,
    `relay=${encodeURIComponent(link.relayUrl)}`,
    `room=${room}`,
    `host=${toBase64Url(link.hostPublicKey)}`,
    `secret=${toBase64Url(link.secret)}`,
    `exp=${link.expiresAt}`,
  ].join("&");
  const out = `${link.appUrl}#${fragment}`;
  if (out.length > MAX_LINK_LENGTH) throw new Error("pairing link too long; use a shorter app or relay URL");
  return out;
}

function decodeKey(text: string, length: number, what: string): Uint8Array {
  const bytes = fromBase64Url(text);
  if (!bytes || bytes.length !== length) fail("LINK_MALFORMED", `${what} must be ${length} bytes of base64url`);
  return bytes;
}

/**
 * Strict parser. `nowSeconds` is the device clock; an expired link fails with
 * LINK_EXPIRED (the host enforces expiry again, authoritatively).
 */
export function parsePairingLink(text: string, nowSeconds: number = Math.floor(Date.now() / 1000)): PairingLink {
  if (typeof text !== "string") fail("LINK_MALFORMED", "not a string");
  const input = text.trim();
  if (input.length > MAX_LINK_LENGTH) fail("LINK_TOO_LONG", `${input.length} > ${MAX_LINK_LENGTH} characters`);
  const hash = input.indexOf("#");
  if (hash < 0) fail("LINK_MALFORMED", "no fragment");
  const appUrl = input.slice(0, hash);
  checkBaseUrl(appUrl, "app URL");

  const pairs = input.slice(hash + 1).split("&");
  if (pairs.length !== FIELD_ORDER.length) fail("LINK_MALFORMED", "wrong number of fields");
  const values: Record<string, string> = {};
  pairs.forEach((pair, i) => {
    const eq = pair.indexOf("=");
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (name !== FIELD_ORDER[i]) fail("LINK_MALFORMED", `expected field '${FIELD_ORDER[i]}' at position ${i + 1}`);
    values[name] = eq < 0 ? "" : pair.slice(eq + 1);
  });

  if (!/^[1-9][0-9]{0,2}$/.test(values.v!)) fail("LINK_MALFORMED", "bad version");
  const version = Number(values.v);
  if (version !== PROTOCOL_VERSION) fail("LINK_UNSUPPORTED_VERSION", `version ${version}`);

  let relayUrl: string;
  try {
    relayUrl = decodeURIComponent(values.relay!);
  } catch {
    fail("LINK_MALFORMED", "relay URL is not valid percent-encoding");
  }
  if (relayUrl.length > MAX_RELAY_URL_LENGTH) fail("LINK_MALFORMED", "relay URL too long");
  if (encodeURIComponent(relayUrl) !== values.relay) fail("LINK_MALFORMED", "relay URL is not canonically encoded");
  checkBaseUrl(relayUrl, "relay URL");

  const roomBytes = decodeKey(values.room!, ROOM_ID_LENGTH, "room");
  const hostPublicKey = decodeKey(values.host!, PUBLIC_KEY_LENGTH, "host key");
  const secret = decodeKey(values.secret!, PAIRING_SECRET_LENGTH, "secret");
  if (!bytesEqual(roomBytes, roomIdBytes(hostPublicKey))) fail("LINK_ROOM_MISMATCH");

  if (!/^[1-9][0-9]{0,11}$/.test(values.exp!)) fail("LINK_MALFORMED", "bad expiry");
  const expiresAt = Number(values.exp);
  if (expiresAt <= nowSeconds) fail("LINK_EXPIRED");

  return { version, appUrl, relayUrl, roomId: values.room!, hostPublicKey, secret, expiresAt };
}

/** A link with its secret replaced, safe for logs and error reports. */
export function redactPairingLink(text: string): string {
  return text.replace(/([#&]secret=)[^&]*/g, "$1<redacted>");
}
