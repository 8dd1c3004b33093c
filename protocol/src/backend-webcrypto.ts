// Platform WebCrypto backend (Node ≥20, workerd, current browsers): X25519,
// Ed25519 and AES-256-GCM run natively; bytes on the wire are identical to the
// noble backend (test/crypto/differential.test.ts proves it).
import type { AeadKey, CryptoBackend, Ed25519Signer, X25519KeyPair } from "./backend.ts";
import { bytesEqual, concatBytes, fromBase64Url, fromHex, isAllZero } from "./bytes.ts";
import { fail } from "./errors.ts";

// PKCS#8 wrappers for raw 32-byte private keys (RFC 8410): WebCrypto has no
// raw import for private OKP keys.
const PKCS8_ED25519 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);
const PKCS8_X25519 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20);

function subtle(): SubtleCrypto {
  const s = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!s) throw new Error("WebCrypto is not available on this platform; use the noble backend");
  return s;
}

/** TypeScript's DOM types want ArrayBuffer-backed views. */
function bs(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

async function publicFromJwk(key: CryptoKey): Promise<Uint8Array> {
  const jwk = (await subtle().exportKey("jwk", key)) as JsonWebKey;
  const x = jwk.x === undefined ? null : fromBase64Url(jwk.x);
  if (!x || x.length !== 32) throw new Error("WebCrypto returned an unexpected JWK");
  return x;
}

function signerFromKeys(privateKey: CryptoKey, publicKey: Uint8Array): Ed25519Signer {
  return {
    publicKey,
    sign: async (message) => new Uint8Array(await subtle().sign("Ed25519", privateKey, bs(message))),
  };
}

// The verification key cache avoids re-importing the same public key for every
// signature (hosts verify the same device keys repeatedly).
const verifyKeyCache = new Map<string, CryptoKey>();
const VERIFY_CACHE_MAX = 256;

async function verifyKey(publicKey: Uint8Array): Promise<CryptoKey> {
  const id = Array.from(publicKey, (b) => b.toString(16).padStart(2, "0")).join("");
  const hit = verifyKeyCache.get(id);
  if (hit) return hit;
  const key = await subtle().importKey("raw", bs(publicKey), { name: "Ed25519" }, false, ["verify"]);
  if (verifyKeyCache.size >= VERIFY_CACHE_MAX) verifyKeyCache.clear();
  verifyKeyCache.set(id, key);
  return key;
}

// L, the order of the Ed25519 base point, little-endian. RFC 8032 §5.1.7
// requires S < L; we check it here explicitly so strictness never depends on
// the platform's library.
// prettier-ignore
const ED25519_L = Uint8Array.of(
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
);

/** a < bound, both 32-byte little-endian. */
function lessThanLE(a: Uint8Array, bound: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (a[i]! < bound[i]!) return true;
    if (a[i]! > bound[i]!) return false;
  }
  return false; // equal
}

function scalarIsCanonical(s: Uint8Array): boolean {
  return lessThanLE(s, ED25519_L);
}

// p = 2^255 - 19, little-endian.
// prettier-ignore
const ED25519_P = Uint8Array.of(
  0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
);

// y-coordinates (sign bit cleared) of the 8 small-order points: 1 (identity),
// 0 (order 4), p-1 (order 2) and the two order-8 values.
const ED25519_SMALL_ORDER_Y = [
  "0100000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
].map(fromHex);

// OpenSSL accepts a public key with y >= p (RFC 8032 §5.1.3 says decoding
// fails) and small-order keys, for which R = [S]B verifies for any message.
// The noble backend (zip215: false) rejects both; match it here.
function publicKeyIsStrict(a: Uint8Array): boolean {
  const y = a.slice();
  y[31] = y[31]! & 0x7f;
  return lessThanLE(y, ED25519_P) && !ED25519_SMALL_ORDER_Y.some((s) => bytesEqual(y, s));
}

async function x25519Dh(privateKey: CryptoKey, peer: Uint8Array): Promise<Uint8Array> {
  if (peer.length !== 32) fail("HANDSHAKE_MALFORMED", "X25519 public key must be 32 bytes");
  let shared: Uint8Array;
  try {
    const pub = await subtle().importKey("raw", bs(peer), { name: "X25519" }, false, []);
    // (Cast: type packages disagree on the name of the `public` member.)
    const algorithm = { name: "X25519", public: pub } as unknown as Parameters<SubtleCrypto["deriveBits"]>[0];
    shared = new Uint8Array(await subtle().deriveBits(algorithm, privateKey, 256));
  } catch {
    // Platforms refuse low-order points or an all-zero result by throwing.
    fail("LOW_ORDER_KEY");
  }
  if (isAllZero(shared)) fail("LOW_ORDER_KEY");
  return shared;
}

export const webCryptoBackend: CryptoBackend = {
  name: "webcrypto",
  generateSigner: async (options) => {
    const pair = (await subtle().generateKey({ name: "Ed25519" }, options?.extractable ?? false, ["sign", "verify"])) as CryptoKeyPair;
    const pub = new Uint8Array((await subtle().exportKey("raw", pair.publicKey)) as ArrayBuffer);
    return signerFromKeys(pair.privateKey, pub);
  },
  signerFromSeed: async (seed) => {
    if (seed.length !== 32) throw new Error("Ed25519 seed must be 32 bytes");
    const key = await subtle().importKey("pkcs8", bs(concatBytes(PKCS8_ED25519, seed)), { name: "Ed25519" }, true, ["sign"]);
    return signerFromKeys(key, await publicFromJwk(key));
  },
  verify: async (publicKey, message, signature) => {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    if (!scalarIsCanonical(signature.subarray(32))) return false;
    if (!publicKeyIsStrict(publicKey)) return false;
    try {
      return await subtle().verify("Ed25519", await verifyKey(publicKey), bs(signature), bs(message));
    } catch {
      return false;
    }
  },
  generateX25519: async (): Promise<X25519KeyPair> => {
    const pair = (await subtle().generateKey({ name: "X25519" }, false, ["deriveBits"])) as CryptoKeyPair;
    const publicKey = new Uint8Array((await subtle().exportKey("raw", pair.publicKey)) as ArrayBuffer);
    return { publicKey, dh: (peer) => x25519Dh(pair.privateKey, peer) };
  },
  x25519FromPrivate: async (privateKey): Promise<X25519KeyPair> => {
    if (privateKey.length !== 32) throw new Error("X25519 private key must be 32 bytes");
    const key = await subtle().importKey("pkcs8", bs(concatBytes(PKCS8_X25519, privateKey)), { name: "X25519" }, true, ["deriveBits"]);
    return { publicKey: await publicFromJwk(key), dh: (peer) => x25519Dh(key, peer) };
  },
  aeadKey: async (raw): Promise<AeadKey> => {
    if (raw.length !== 32) throw new Error("AES-256-GCM key must be 32 bytes");
    const key = await subtle().importKey("raw", bs(raw), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
    return {
      seal: async (nonce, aad, plaintext) =>
        new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv: bs(nonce), additionalData: bs(aad), tagLength: 128 }, key, bs(plaintext))),
      open: async (nonce, aad, ciphertext) => {
        if (ciphertext.length < 16) return null;
        try {
          return new Uint8Array(await subtle().decrypt({ name: "AES-GCM", iv: bs(nonce), additionalData: bs(aad), tagLength: 128 }, key, bs(ciphertext)));
        } catch {
          return null;
        }
      },
    };
  },
};

/**
 * A fresh non-extractable Ed25519 identity together with its private
 * CryptoKey, so a browser can persist the key object itself (IndexedDB stores
 * CryptoKeys by structured clone) without the private bytes ever being readable.
 */
export async function generatePersistableSigner(): Promise<{ signer: Ed25519Signer; privateKey: CryptoKey }> {
  const pair = (await subtle().generateKey({ name: "Ed25519" }, false, ["sign", "verify"])) as CryptoKeyPair;
  const pub = new Uint8Array((await subtle().exportKey("raw", pair.publicKey)) as ArrayBuffer);
  return { signer: signerFromKeys(pair.privateKey, pub), privateKey: pair.privateKey };
}

/** The signer for a persisted private CryptoKey (see generatePersistableSigner). */
export function signerFromCryptoKey(privateKey: CryptoKey, publicKey: Uint8Array): Ed25519Signer {
  if (publicKey.length !== 32) throw new Error("Ed25519 public key must be 32 bytes");
  return signerFromKeys(privateKey, publicKey.slice());
}
