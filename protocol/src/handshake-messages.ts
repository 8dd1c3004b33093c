// Byte layouts of the four handshake messages and the ABORT body. Pure
// encoding: no keys here. See docs/protocol.md §Handshake for the meaning.
import { AEAD_TAG_LENGTH, MAX_DEVICE_NAME_BYTES, PAIRING_ID_LENGTH, PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH } from "./constants.ts";
import { concatBytes, strictTextDecoder, textEncoder, u8 } from "./bytes.ts";
import { fail } from "./errors.ts";

export const HandshakeType = { CLIENT_HELLO: 1, SERVER_HELLO: 2, CLIENT_AUTH: 3, HOST_VERDICT: 4 } as const;
export const HandshakeMode = { PAIR: 1, RESUME: 2 } as const;
export type HandshakeMode = (typeof HandshakeMode)[keyof typeof HandshakeMode];

export const MAX_OFFERED_VERSIONS = 8;

export interface ClientHello {
  mode: HandshakeMode;
  /** Strictly descending, 1..8 entries, each 1..255. */
  versions: number[];
  ephemeralPublicKey: Uint8Array;
  /** Present exactly in pair mode. */
  pairingId?: Uint8Array;
}

export function encodeClientHello(m: ClientHello): Uint8Array {
  checkVersions(m.versions);
  const tail = m.mode === HandshakeMode.PAIR ? m.pairingId! : new Uint8Array(0);
  return concatBytes(u8(HandshakeType.CLIENT_HELLO), u8(m.mode), u8(m.versions.length), Uint8Array.from(m.versions), m.ephemeralPublicKey, tail);
}

function checkVersions(versions: readonly number[]): void {
  if (versions.length < 1 || versions.length > MAX_OFFERED_VERSIONS) fail("HANDSHAKE_MALFORMED", "version list length");
  for (let i = 0; i < versions.length; i++) {
    const v = versions[i]!;
    if (!Number.isInteger(v) || v < 1 || v > 255) fail("HANDSHAKE_MALFORMED", "version out of range");
    if (i > 0 && v >= versions[i - 1]!) fail("HANDSHAKE_MALFORMED", "versions must be strictly descending");
  }
}

export function decodeClientHello(b: Uint8Array): ClientHello {
  if (b.length < 3 || b[0] !== HandshakeType.CLIENT_HELLO) fail("HANDSHAKE_MALFORMED", "not a ClientHello");
  const mode = b[1]!;
  if (mode !== HandshakeMode.PAIR && mode !== HandshakeMode.RESUME) fail("HANDSHAKE_MALFORMED", "unknown mode");
  const n = b[2]!;
  const tailLength = mode === HandshakeMode.PAIR ? PAIRING_ID_LENGTH : 0;
  if (b.length !== 3 + n + PUBLIC_KEY_LENGTH + tailLength) fail("HANDSHAKE_MALFORMED", "ClientHello length");
  const versions = Array.from(b.subarray(3, 3 + n));
  checkVersions(versions);
  const keyAt = 3 + n;
  const hello: ClientHello = {
    mode,
    versions,
    ephemeralPublicKey: b.slice(keyAt, keyAt + PUBLIC_KEY_LENGTH),
  };
  if (mode === HandshakeMode.PAIR) hello.pairingId = b.slice(keyAt + PUBLIC_KEY_LENGTH);
  return hello;
}

/** ServerHello = type || version || host ephemeral || AEAD(host signature). */
export const SERVER_HELLO_PUBLIC_LENGTH = 2 + PUBLIC_KEY_LENGTH;
export const SERVER_HELLO_LENGTH = SERVER_HELLO_PUBLIC_LENGTH + SIGNATURE_LENGTH + AEAD_TAG_LENGTH;

export interface ServerHello {
  version: number;
  ephemeralPublicKey: Uint8Array;
  encryptedSignature: Uint8Array;
}

export function encodeServerHello(m: ServerHello): Uint8Array {
  return concatBytes(u8(HandshakeType.SERVER_HELLO), u8(m.version), m.ephemeralPublicKey, m.encryptedSignature);
}

export function decodeServerHello(b: Uint8Array): ServerHello {
  if (b.length !== SERVER_HELLO_LENGTH || b[0] !== HandshakeType.SERVER_HELLO) fail("HANDSHAKE_MALFORMED", "not a ServerHello");
  if (b[1] === 0) fail("HANDSHAKE_MALFORMED", "version 0");
  return {
    version: b[1]!,
    ephemeralPublicKey: b.slice(2, SERVER_HELLO_PUBLIC_LENGTH),
    encryptedSignature: b.slice(SERVER_HELLO_PUBLIC_LENGTH),
  };
}

/** ClientAuth plaintext: device key || signature || name length || name padded to 64 bytes. */
export const CLIENT_AUTH_PLAINTEXT_LENGTH = PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH + 1 + MAX_DEVICE_NAME_BYTES;
export const CLIENT_AUTH_LENGTH = 1 + CLIENT_AUTH_PLAINTEXT_LENGTH + AEAD_TAG_LENGTH;

export interface ClientAuthPlaintext {
  devicePublicKey: Uint8Array;
  signature: Uint8Array;
  deviceName: string;
}

/**
 * A device name must not contain control characters (\p{Cc}: C0, DEL, C1), bidi
 * controls (\p{Bidi_Control}: U+061C, U+200E, U+200F, U+202A–U+202E,
 * U+2066–U+2069), lone surrogates (\p{Cs}) or the line and paragraph
 * separators, and must not be only whitespace (\s: Unicode White_Space, e.g.
 * U+00A0, U+3000). Nothing is trimmed: other leading or trailing whitespace is
 * kept as sent.
 */
const DEVICE_NAME = /^(?!\s*$)[^\p{Cc}\p{Bidi_C}\p{Cs}\u2028\u2029]+$/u;

/** The one device-name rule (handshake, host device store, apps): 1–64 UTF-8 bytes, printable, not only whitespace. */
export function isValidDeviceName(name: string): boolean {
  return DEVICE_NAME.test(name) && textEncoder.encode(name).length <= MAX_DEVICE_NAME_BYTES;
}

/** The name's UTF-8 bytes; throws DEVICE_NAME_INVALID unless isValidDeviceName(name). */
export function checkDeviceName(name: string): Uint8Array {
  if (!isValidDeviceName(name)) fail("DEVICE_NAME_INVALID");
  return textEncoder.encode(name);
}

export function encodeClientAuthPlaintext(m: ClientAuthPlaintext): Uint8Array {
  const name = checkDeviceName(m.deviceName);
  const out = new Uint8Array(CLIENT_AUTH_PLAINTEXT_LENGTH);
  out.set(m.devicePublicKey, 0);
  out.set(m.signature, PUBLIC_KEY_LENGTH);
  out[PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH] = name.length;
  out.set(name, PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH + 1);
  return out;
}

/**
 * Parses ClientAuth's plaintext layout without judging the name (HANDSHAKE_MALFORMED
 * for a bad length byte or non-zero padding). The host checks the name with
 * deviceNameFromBytes() once the device's signature verified, so that a bad
 * name gets an authenticated refusal.
 */
export function readClientAuthPlaintext(p: Uint8Array): { devicePublicKey: Uint8Array; signature: Uint8Array; nameBytes: Uint8Array } {
  if (p.length !== CLIENT_AUTH_PLAINTEXT_LENGTH) fail("HANDSHAKE_MALFORMED", "ClientAuth length");
  const at = PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH;
  const nameLength = p[at]!;
  if (nameLength > MAX_DEVICE_NAME_BYTES) fail("HANDSHAKE_MALFORMED", "device name length");
  const padding = p.subarray(at + 1 + nameLength);
  if (padding.some((x) => x !== 0)) fail("HANDSHAKE_MALFORMED", "device name padding");
  return { devicePublicKey: p.slice(0, PUBLIC_KEY_LENGTH), signature: p.slice(PUBLIC_KEY_LENGTH, at), nameBytes: p.slice(at + 1, at + 1 + nameLength) };
}

/** A device name from its UTF-8 bytes: DEVICE_NAME_INVALID if empty, not UTF-8 or against checkDeviceName's rule. */
export function deviceNameFromBytes(bytes: Uint8Array): string {
  let name: string;
  try {
    name = strictTextDecoder.decode(bytes);
  } catch {
    fail("DEVICE_NAME_INVALID", "not UTF-8");
  }
  checkDeviceName(name);
  return name;
}

export function decodeClientAuthPlaintext(p: Uint8Array): ClientAuthPlaintext {
  const { devicePublicKey, signature, nameBytes } = readClientAuthPlaintext(p);
  return { devicePublicKey, signature, deviceName: deviceNameFromBytes(nameBytes) };
}

export function encodeClientAuth(ciphertext: Uint8Array): Uint8Array {
  return concatBytes(u8(HandshakeType.CLIENT_AUTH), ciphertext);
}

export function decodeClientAuth(b: Uint8Array): Uint8Array {
  if (b.length !== CLIENT_AUTH_LENGTH || b[0] !== HandshakeType.CLIENT_AUTH) fail("HANDSHAKE_MALFORMED", "not a ClientAuth");
  return b.subarray(1);
}

/** HostVerdict = type || AEAD(status byte): 0 accepted, otherwise an error's wire code. */
export const HOST_VERDICT_LENGTH = 1 + 1 + AEAD_TAG_LENGTH;

export function encodeHostVerdict(ciphertext: Uint8Array): Uint8Array {
  return concatBytes(u8(HandshakeType.HOST_VERDICT), ciphertext);
}

export function decodeHostVerdict(b: Uint8Array): Uint8Array {
  if (b.length !== HOST_VERDICT_LENGTH || b[0] !== HandshakeType.HOST_VERDICT) fail("HANDSHAKE_MALFORMED", "not a HostVerdict");
  return b.subarray(1);
}

/** Type byte of a handshake body, for routing; undefined when empty. */
export function handshakeTypeOf(b: Uint8Array): number | undefined {
  return b[0];
}
