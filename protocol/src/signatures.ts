// Every Ed25519 signature in Airlock is made over
//   "airlock/v1 " + purpose || 0x00 || message
// so a signature made for one purpose (or by another protocol using the same
// key) can never be accepted for another. Sign only through these helpers.
import type { CryptoBackend, Ed25519Signer } from "./backend.ts";
import { concatBytes, textEncoder, u8 } from "./bytes.ts";
import { LABEL_PREFIX } from "./hash.ts";

export const SignaturePurpose = {
  /** Host proves its identity in the handshake (signs a transcript hash). */
  HOST_HANDSHAKE: "host handshake",
  /** Device proves its identity in the handshake (signs a transcript hash). */
  DEVICE_HANDSHAKE: "device handshake",
  /** Host answers a relay challenge to claim its room. */
  RELAY_HOST_AUTH: "relay host auth",
  /** Device answers a relay challenge with its device key. */
  RELAY_DEVICE_AUTH: "relay device auth",
  /** Host publishes its device allowlist to the relay. */
  DEVICE_ALLOWLIST: "device allowlist",
  /** Host publishes its device allowlist with per-key expiry times (automation tokens). */
  DEVICE_ALLOWLIST_EXPIRY: "device allowlist with expiry",
} as const;

export type SignaturePurpose = (typeof SignaturePurpose)[keyof typeof SignaturePurpose];

export function signedMessage(purpose: SignaturePurpose, message: Uint8Array): Uint8Array {
  return concatBytes(textEncoder.encode(LABEL_PREFIX + purpose), u8(0), message);
}

export function signWithPurpose(signer: Ed25519Signer, purpose: SignaturePurpose, message: Uint8Array): Promise<Uint8Array> {
  return signer.sign(signedMessage(purpose, message));
}

export function verifyWithPurpose(
  backend: CryptoBackend,
  publicKey: Uint8Array,
  purpose: SignaturePurpose,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  return backend.verify(publicKey, signedMessage(purpose, message), signature);
}
