// Node backend: the WebCrypto backend's keys and signatures, with frames
// sealed and opened by node:crypto's AES-256-GCM, which runs synchronously on
// the calling thread. WebCrypto's encrypt/decrypt go through libuv's thread
// pool, the same four threads that run every fs call: on a host writing and
// fsyncing many threads' logs, frames waited behind disk work (under the
// pipeline benchmark's many-threads load, command.started took 3.5 ms from
// the session to sealed, against 0.4 ms idle; with this backend 0.6 ms).
// Bytes on the wire are identical to the other backends
// (test/crypto/differential.test.ts, Wycheproof AES-GCM vectors).
//
// Node only: protocol/src/node/ is the one folder of protocol/src that may use
// Node built-ins, and nothing else in protocol/src imports it (the rest runs in
// Workers, browsers and React Native: test/protocol/imports.test.ts). The host
// agent imports it as @airlock/protocol/node.
import { createCipheriv, createDecipheriv } from "node:crypto";
import type { AeadKey, CryptoBackend } from "../backend.ts";
import { webCryptoBackend } from "../backend-webcrypto.ts";

const TAG_LENGTH = 16;
const NONCE_LENGTH = 12;

/** AES-256-GCM seal, on the calling thread. */
function sealSync(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new Error("AES-256-GCM key must be 32 bytes");
  if (nonce.length !== NONCE_LENGTH) throw new Error("AES-256-GCM nonce must be 12 bytes");
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  const out = new Uint8Array(plaintext.length + TAG_LENGTH);
  const body = cipher.update(plaintext);
  const last = cipher.final(); // empty for GCM, but part of the API's contract
  out.set(body, 0);
  out.set(last, body.length);
  out.set(cipher.getAuthTag(), body.length + last.length);
  return out;
}

function nodeAeadKey(raw: Uint8Array): AeadKey {
  if (raw.length !== 32) throw new Error("AES-256-GCM key must be 32 bytes");
  // A copy: the channel wipes its own key bytes when it closes or ratchets.
  const key = raw.slice();
  return {
    seal: async (nonce, aad, plaintext) => sealSync(key, nonce, aad, plaintext),
    open: async (nonce, aad, ciphertext) => {
      if (nonce.length !== NONCE_LENGTH || ciphertext.length < TAG_LENGTH) return null;
      const end = ciphertext.length - TAG_LENGTH;
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_LENGTH });
        decipher.setAAD(aad);
        decipher.setAuthTag(ciphertext.subarray(end));
        const body = decipher.update(ciphertext.subarray(0, end));
        const last = decipher.final(); // throws when the tag does not verify
        const out = new Uint8Array(body.length + last.length);
        out.set(body, 0);
        out.set(last, body.length);
        return out;
      } catch {
        return null;
      }
    },
  };
}

export const nodeCryptoBackend: CryptoBackend = {
  ...webCryptoBackend,
  name: "node",
  aeadKey: async (raw) => nodeAeadKey(raw),
};
