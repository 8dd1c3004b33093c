// Room ids and pairing derivations.
import { describe, expect, it } from "vitest";
import {
  PAIRING_ID_LENGTH,
  ROOM_ID_LENGTH,
  derivePairingKeys,
  deriveKey,
  fromBase64Url,
  hkdfExtract,
  kdfInfo,
  nobleBackend,
  relayTicketHash,
  roomIdBytes,
  roomIdFor,
  sha256,
  toBase64Url,
  toHex,
} from "../../protocol/src/index.ts";

const key = (seed: number) => Uint8Array.from({ length: 32 }, (_, i) => (i * 17 + seed) & 0xff);

describe("room id", () => {
  it("is 22 characters of base64url for 16 bytes", () => {
    for (let seed = 0; seed < 50; seed++) {
      const id = roomIdFor(key(seed));
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(fromBase64Url(id)).toEqual(roomIdBytes(key(seed)));
      expect(roomIdBytes(key(seed)).length).toBe(ROOM_ID_LENGTH);
    }
  });

  it("is deterministic and is the labelled SHA-256 prefix of the host key", () => {
    const host = key(1);
    expect(roomIdFor(host)).toBe(roomIdFor(host.slice()));
    expect(roomIdBytes(host)).toEqual(sha256(kdfInfo("room id"), host).subarray(0, 16));
    expect(toBase64Url(sha256(kdfInfo("room id"), host).subarray(0, 16))).toBe(roomIdFor(host));
  });

  it("differs for different keys, including a one-bit change", () => {
    const ids = new Set(Array.from({ length: 200 }, (_, s) => roomIdFor(key(s))));
    expect(ids.size).toBe(200);
    const flipped = key(1);
    flipped[31]! ^= 1;
    expect(roomIdFor(flipped)).not.toBe(roomIdFor(key(1)));
  });

  it("is not a plain hash of the key (domain separated)", () => {
    expect(roomIdBytes(key(1))).not.toEqual(sha256(key(1)).subarray(0, 16));
  });

  it("matches a real Ed25519 host key", async () => {
    const signer = await nobleBackend.signerFromSeed(new Uint8Array(32).fill(7));
    expect(roomIdFor(signer.publicKey)).toHaveLength(22);
  });

  it("refuses keys that are not 32 bytes", () => {
    expect(() => roomIdFor(new Uint8Array(31))).toThrow(/32 bytes/);
    expect(() => roomIdFor(new Uint8Array(33))).toThrow(/32 bytes/);
  });
});

describe("pairing derivations", () => {
  const secret = key(42);

  it("are deterministic and have the documented lengths", () => {
    const a = derivePairingKeys(secret);
    const b = derivePairingKeys(secret.slice());
    expect(a).toEqual(b);
    expect(a.pairingId.length).toBe(PAIRING_ID_LENGTH);
    expect(a.psk.length).toBe(32);
    expect(a.relayTicket.length).toBe(32);
  });

  it("are HKDF-Expand of HKDF-Extract(empty salt, secret) under distinct labels", () => {
    const prk = hkdfExtract(new Uint8Array(0), secret);
    const keys = derivePairingKeys(secret);
    expect(keys.pairingId).toEqual(deriveKey(prk, "pairing id", new Uint8Array(0), 16));
    expect(keys.psk).toEqual(deriveKey(prk, "pairing psk", new Uint8Array(0), 32));
    expect(keys.relayTicket).toEqual(deriveKey(prk, "relay ticket", new Uint8Array(0), 32));
  });

  it("are pairwise distinct and none equals the secret", () => {
    const { pairingId, psk, relayTicket } = derivePairingKeys(secret);
    const values = [toHex(pairingId), toHex(psk), toHex(relayTicket), toHex(secret)];
    expect(new Set(values).size).toBe(4);
    // The 16-byte id is not a prefix of either 32-byte value.
    expect(toHex(psk).startsWith(toHex(pairingId))).toBe(false);
    expect(toHex(relayTicket).startsWith(toHex(pairingId))).toBe(false);
  });

  it("change completely with the secret", () => {
    const other = secret.slice();
    other[0]! ^= 1;
    const a = derivePairingKeys(secret);
    const b = derivePairingKeys(other);
    expect(toHex(a.pairingId)).not.toBe(toHex(b.pairingId));
    expect(toHex(a.psk)).not.toBe(toHex(b.psk));
    expect(toHex(a.relayTicket)).not.toBe(toHex(b.relayTicket));
  });

  it("relayTicketHash is SHA-256 of the ticket, deterministic and not the ticket", () => {
    const { relayTicket, psk } = derivePairingKeys(secret);
    expect(relayTicketHash(relayTicket)).toEqual(sha256(relayTicket));
    expect(relayTicketHash(relayTicket)).toEqual(relayTicketHash(relayTicket.slice()));
    expect(relayTicketHash(relayTicket)).not.toEqual(relayTicket);
    expect(relayTicketHash(relayTicket)).not.toEqual(psk);
  });

  it("refuses secrets that are not 32 bytes", () => {
    expect(() => derivePairingKeys(new Uint8Array(16))).toThrow(/32 bytes/);
    expect(() => derivePairingKeys(new Uint8Array(33))).toThrow(/32 bytes/);
  });

  it("kdfInfo strings of the derivations are distinct and length-prefixed", () => {
    const labels = ["room id", "pairing id", "pairing psk", "relay ticket"];
    const infos = labels.map((l) => toHex(kdfInfo(l)));
    expect(new Set(infos).size).toBe(labels.length);
    const info = kdfInfo("pairing id");
    expect(info[0]).toBe("airlock/v1 pairing id".length);
    expect(toHex(info.subarray(info.length - 2))).toBe("0000");
  });
});
