// Pure-JS backend: @noble/curves and @noble/ciphers. Runs in Workers,
// browsers, Node and React Native (given a getRandomValues polyfill there).
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { gcm } from "@noble/ciphers/aes.js";
import type { AeadKey, CryptoBackend, Ed25519Signer, X25519KeyPair } from "./backend.ts";
import { secureRandom } from "./backend.ts";
import { isAllZero } from "./bytes.ts";
import { fail } from "./errors.ts";

function signerFromSeedSync(seed: Uint8Array): Ed25519Signer {
  if (seed.length !== 32) throw new Error("Ed25519 seed must be 32 bytes");
  const secret = seed.slice();
  return {
    publicKey: ed25519.getPublicKey(secret),
    sign: async (message) => ed25519.sign(message, secret),
  };
}

function aeadKey(raw: Uint8Array): AeadKey {
  if (raw.length !== 32) throw new Error("AES-256-GCM key must be 32 bytes");
  const key = raw.slice();
  return {
    seal: async (nonce, aad, plaintext) => gcm(key, nonce, aad).encrypt(plaintext),
    open: async (nonce, aad, ciphertext) => {
      if (ciphertext.length < 16) return null;
      try {
        return gcm(key, nonce, aad).decrypt(ciphertext);
      } catch {
        return null;
      }
    },
  };
}

export const nobleBackend: CryptoBackend = {
  name: "noble",
  generateSigner: async () => signerFromSeedSync(secureRandom(32)),
  signerFromSeed: async (seed) => signerFromSeedSync(seed),
  verify: async (publicKey, message, signature) => {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
  x25519FromPrivate: async (privateKey): Promise<X25519KeyPair> => {
    if (privateKey.length !== 32) throw new Error("X25519 private key must be 32 bytes");
    const priv = privateKey.slice();
    return {
      publicKey: x25519.getPublicKey(priv),
      dh: async (peer) => {
        if (peer.length !== 32) fail("HANDSHAKE_MALFORMED", "X25519 public key must be 32 bytes");
        let shared: Uint8Array;
        try {
          shared = x25519.getSharedSecret(priv, peer);
        } catch {
          fail("LOW_ORDER_KEY");
        }
        if (isAllZero(shared)) fail("LOW_ORDER_KEY");
        return shared;
      },
    };
  },
  aeadKey: async (raw) => aeadKey(raw),
};
