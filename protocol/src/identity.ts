// Identifiers and secrets derived from keys: room ids, pairing ids, PSKs and
// relay tickets. Each derivation has its own label (hash.ts kdfInfo).
import { PAIRING_ID_LENGTH, PAIRING_SECRET_LENGTH, PUBLIC_KEY_LENGTH, ROOM_ID_LENGTH } from "./constants.ts";
import { toBase64Url } from "./bytes.ts";
import { deriveKey, hkdfExtract, kdfInfo, sha256 } from "./hash.ts";

/**
 * Room id = first 16 bytes of SHA-256(kdfInfo("room id") || host public key),
 * as base64url (22 characters). The relay recomputes it to check that a host
 * proving a key owns the room it claims.
 */
export function roomIdBytes(hostPublicKey: Uint8Array): Uint8Array {
  if (hostPublicKey.length !== PUBLIC_KEY_LENGTH) throw new Error("host public key must be 32 bytes");
  return sha256(kdfInfo("room id"), hostPublicKey).subarray(0, ROOM_ID_LENGTH);
}

export function roomIdFor(hostPublicKey: Uint8Array): string {
  return toBase64Url(roomIdBytes(hostPublicKey));
}

/** What a pairing secret expands into. Only `psk` must stay secret from the relay. */
export interface PairingKeys {
  /** Names the pending pairing in ClientHello (relay-visible; reveals nothing). */
  pairingId: Uint8Array;
  /** Mixed into the pair-mode handshake keys. */
  psk: Uint8Array;
  /** Shown to the relay by the device to be admitted; the host registers SHA-256(ticket). */
  relayTicket: Uint8Array;
}

export function derivePairingKeys(secret: Uint8Array): PairingKeys {
  if (secret.length !== PAIRING_SECRET_LENGTH) throw new Error("pairing secret must be 32 bytes");
  // Extract with an empty salt: the secret is already uniformly random.
  const prk = hkdfExtract(new Uint8Array(0), secret);
  return {
    pairingId: deriveKey(prk, "pairing id", new Uint8Array(0), PAIRING_ID_LENGTH),
    psk: deriveKey(prk, "pairing psk", new Uint8Array(0), 32),
    relayTicket: deriveKey(prk, "relay ticket", new Uint8Array(0), 32),
  };
}

/** What the host registers with the relay for a pending pairing. */
export function relayTicketHash(relayTicket: Uint8Array): Uint8Array {
  return sha256(relayTicket);
}
