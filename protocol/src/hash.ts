// SHA-256 from @noble/hashes; HMAC (RFC 2104) and HKDF (RFC 5869) on top of
// it, shared by both backends. HMAC and HKDF are written out here rather than
// taken from @noble/hashes/hmac.js and hkdf.js: they are a few lines over
// SHA-256, and the client bundle is smaller without those modules' generic
// (any hash, streaming, clonable) machinery. test/crypto/rfc-vectors.test.ts
// (RFC 5869) and wycheproof.test.ts (HKDF, HMAC) check them.
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { concatBytes, textEncoder, u16be, u8 } from "./bytes.ts";

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

const BLOCK = 64;
const HASH_LENGTH = 32;

/** HMAC-SHA-256 (RFC 2104) over the concatenation of `parts`. */
function hmacParts(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const k = new Uint8Array(BLOCK);
  k.set(key.length > BLOCK ? sha256(key) : key);
  const pad = (x: number) => k.map((b) => b ^ x);
  const inner = sha256(pad(0x36), ...parts);
  const out = sha256(pad(0x5c), inner);
  k.fill(0);
  inner.fill(0);
  return out;
}

export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmacParts(key, message);
}

export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  // RFC 5869 §2.2: an empty salt means HashLen zero bytes (the same HMAC key once padded).
  return hmacParts(salt, ikm);
}

export function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 255 * HASH_LENGTH) throw new Error("HKDF output length must be 0..8160 bytes");
  const out = new Uint8Array(Math.ceil(length / HASH_LENGTH) * HASH_LENGTH);
  let t: Uint8Array = new Uint8Array(0);
  for (let i = 0; i * HASH_LENGTH < length; i++) {
    t = hmacParts(prk, t, info, u8(i + 1));
    out.set(t, i * HASH_LENGTH);
  }
  t.fill(0);
  const okm = out.slice(0, length);
  out.fill(0);
  return okm;
}

export const LABEL_PREFIX = "airlock/v1 ";

/**
 * HKDF info for every key we derive: u8 len || "airlock/v1 " + label ||
 * u16 BE len || context. Length prefixes make (label, context) pairs
 * unambiguous, so no two derivations can share an info string.
 */
export function kdfInfo(label: string, context: Uint8Array = new Uint8Array(0)): Uint8Array {
  const l = textEncoder.encode(LABEL_PREFIX + label);
  if (l.length > 255 || context.length > 0xffff) throw new Error("kdf label or context too long");
  return concatBytes(u8(l.length), l, u16be(context.length), context);
}

/** HKDF-Expand with a labelled info string. */
export function deriveKey(prk: Uint8Array, label: string, context: Uint8Array, length = 32): Uint8Array {
  return hkdfExpand(prk, kdfInfo(label, context), length);
}
