// The crypto backend interface. Two implementations produce identical bytes:
// backend-noble.ts (pure JS, runs everywhere) and backend-webcrypto.ts
// (platform WebCrypto for X25519, Ed25519 and AES-GCM). Hashing and HKDF are
// shared (hash.ts): they are a negligible part of the cost.

/** An Ed25519 identity whose private half may be a non-extractable platform key. */
export interface Ed25519Signer {
  readonly publicKey: Uint8Array;
  /** Raw Ed25519 signature. Protocol code signs only through signatures.ts. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** A one-shot X25519 key pair. `dh` rejects an all-zero shared secret. */
export interface X25519KeyPair {
  readonly publicKey: Uint8Array;
  dh(peerPublicKey: Uint8Array): Promise<Uint8Array>;
}

export interface AeadKey {
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** null when authentication fails; never throws for a bad tag. */
  open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array | null>;
}

export interface CryptoBackend {
  readonly name: "noble" | "webcrypto";
  /** Generates a fresh identity. WebCrypto keeps the private key non-extractable unless asked. */
  generateSigner(options?: { extractable?: boolean }): Promise<Ed25519Signer>;
  /** Deterministic identity from a 32-byte RFC 8032 seed (host key files, test vectors). */
  signerFromSeed(seed: Uint8Array): Promise<Ed25519Signer>;
  /** Strict RFC 8032 verification (no ZIP-215 leniency); false for any malformed input. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** X25519 key pair from a 32-byte private scalar (clamped per RFC 7748). */
  x25519FromPrivate(privateKey: Uint8Array): Promise<X25519KeyPair>;
  /** AES-256-GCM key from 32 raw bytes, 12-byte nonces, 16-byte tags. */
  aeadKey(raw: Uint8Array): Promise<AeadKey>;
}

/** Where randomness comes from. Tests and golden vectors inject a deterministic one. */
export type RandomSource = (length: number) => Uint8Array;

export const secureRandom: RandomSource = (length) => {
  const out = new Uint8Array(length);
  // crypto.getRandomValues caps one call at 65,536 bytes.
  for (let i = 0; i < length; i += 65536) {
    (globalThis as unknown as { crypto: Crypto }).crypto.getRandomValues(out.subarray(i, Math.min(length, i + 65536)));
  }
  return out;
};
