// SHA-256, HMAC and HKDF (RFC 5869) from @noble/hashes, shared by both backends.
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { extract, expand } from "@noble/hashes/hkdf.js";
import { concatBytes, textEncoder, u16be, u8 } from "./bytes.ts";

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(nobleSha256, key, message);
}

export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return extract(nobleSha256, ikm, salt);
}

export function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return expand(nobleSha256, prk, info, length);
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
