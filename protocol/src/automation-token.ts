// Automation tokens (docs/protocol.md §12): one opaque string that holds what a
// script needs to reach a host as a pre-trusted device — the relay URL, the
// host's public key (the room id derives from it) and the token's own Ed25519
// device seed — plus its name and expiry for clear messages. The host keeps
// only the public key; this string is shown once and is the secret.
//
//   "airlock_tok_" + base64url(
//     u8 version (1) || host public key (32) || device seed (32) ||
//     u64 expiresAt (unix ms) || u8 name length || name (UTF-8, 1..64) ||
//     u16 relay URL length || relay URL (UTF-8, 1..2048) ||
//     first 4 bytes of SHA-256(everything before))
//
// The checksum catches a token cut short or mistyped before any network use.
import { bytesEqual, concatBytes, fromBase64Url, strictTextDecoder, textEncoder, toBase64Url, u16be, u64be, u8 } from "./bytes.ts";
import { PUBLIC_KEY_LENGTH } from "./constants.ts";
import { isValidDeviceName } from "./handshake-messages.ts";
import { sha256 } from "./hash.ts";
import { checkBaseUrl } from "./link.ts";

export const TOKEN_PREFIX = "airlock_tok_";
export const TOKEN_VERSION = 1;
/** Longest token string accepted (the longest valid one is about 2,900 characters). */
export const MAX_TOKEN_CHARS = 4096;
const MAX_URL_BYTES = 2048;
const CHECKSUM_BYTES = 4;

export interface AutomationToken {
  relayUrl: string;
  hostPublicKey: Uint8Array;
  /** The token's device key seed (Ed25519). Secret. */
  seed: Uint8Array;
  /** The token's name as the host knows it (1-64 bytes, a valid device name). */
  name: string;
  /** Unix ms after which neither the relay nor the host accepts it. */
  expiresAt: number;
}

export type AutomationTokenErrorCode = "TOKEN_MALFORMED" | "TOKEN_VERSION" | "TOKEN_DAMAGED";

export class AutomationTokenError extends Error {
  constructor(
    readonly code: AutomationTokenErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "AutomationTokenError";
  }
}

const bad = (message: string): never => {
  throw new AutomationTokenError("TOKEN_MALFORMED", `not an Airlock token: ${message}`);
};

export function encodeAutomationToken(t: AutomationToken): string {
  if (t.hostPublicKey.length !== PUBLIC_KEY_LENGTH || t.seed.length !== 32) throw new Error("token keys must be 32 bytes");
  if (!isValidDeviceName(t.name)) throw new Error("token name is not a valid device name");
  if (!Number.isSafeInteger(t.expiresAt) || t.expiresAt <= 0) throw new Error("token expiry must be a positive unix ms time");
  checkBaseUrl(t.relayUrl, "relay URL");
  const name = textEncoder.encode(t.name);
  const url = textEncoder.encode(t.relayUrl);
  if (url.length > MAX_URL_BYTES) throw new Error("relay URL too long for a token");
  const body = concatBytes(u8(TOKEN_VERSION), t.hostPublicKey, t.seed, u64be(BigInt(t.expiresAt)), u8(name.length), name, u16be(url.length), url);
  return TOKEN_PREFIX + toBase64Url(concatBytes(body, sha256(body).subarray(0, CHECKSUM_BYTES)));
}

/** Parses a token string strictly (surrounding whitespace, e.g. a file's newline, is ignored). Never echoes the input. */
export function parseAutomationToken(text: string): AutomationToken {
  if (typeof text !== "string") bad("expected a string");
  const trimmed = text.trim();
  if (trimmed.length > MAX_TOKEN_CHARS) bad(`longer than ${MAX_TOKEN_CHARS} characters`);
  if (!trimmed.startsWith(TOKEN_PREFIX)) bad(`it must start with ${TOKEN_PREFIX}`);
  const bytes = fromBase64Url(trimmed.slice(TOKEN_PREFIX.length));
  if (!bytes) bad("the part after the prefix is not base64url");
  const b = bytes!;
  if (b.length < 1) bad("empty");
  if (b[0] !== TOKEN_VERSION)
    throw new AutomationTokenError("TOKEN_VERSION", `token format version ${b[0]} is not supported (this client reads version ${TOKEN_VERSION})`);
  // Fixed part: version, two keys, expiry, name length.
  const fixed = 1 + 32 + 32 + 8 + 1;
  if (b.length < fixed + 1 + 2 + 1 + CHECKSUM_BYTES) bad("too short");
  const body = b.subarray(0, b.length - CHECKSUM_BYTES);
  if (!bytesEqual(sha256(body).subarray(0, CHECKSUM_BYTES), b.subarray(b.length - CHECKSUM_BYTES))) {
    throw new AutomationTokenError("TOKEN_DAMAGED", "the token's checksum does not match: it was cut short or changed when copied");
  }
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const hostPublicKey = body.slice(1, 33);
  const seed = body.slice(33, 65);
  const expires = dv.getBigUint64(65);
  if (expires === 0n || expires > BigInt(Number.MAX_SAFE_INTEGER)) bad("expiry out of range");
  const nameLength = body[73]!;
  let at = fixed;
  if (nameLength === 0 || at + nameLength + 2 > body.length) bad("name length");
  let name = "";
  try {
    name = strictTextDecoder.decode(body.subarray(at, at + nameLength));
  } catch {
    bad("name is not UTF-8");
  }
  if (!isValidDeviceName(name)) bad("invalid name");
  at += nameLength;
  const urlLength = dv.getUint16(at);
  at += 2;
  if (urlLength === 0 || urlLength > MAX_URL_BYTES || at + urlLength !== body.length) bad("relay URL length");
  let relayUrl = "";
  try {
    relayUrl = strictTextDecoder.decode(body.subarray(at, at + urlLength));
  } catch {
    bad("relay URL is not UTF-8");
  }
  try {
    checkBaseUrl(relayUrl, "relay URL");
  } catch {
    bad("relay URL is not an http(s) base URL");
  }
  return { relayUrl, hostPublicKey, seed, name, expiresAt: Number(expires) };
}
