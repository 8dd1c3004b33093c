// This device's Ed25519 identity, created on first use and kept in the Store.
// Where the store can hold CryptoKeys (IndexedDB) and WebCrypto is in use, the
// private key is a non-extractable CryptoKey; otherwise a 32-byte seed (a Node
// FileStore writes it with mode 0600).
import { fromBase64Url, secureRandom, toBase64Url, type CryptoBackend, type Ed25519Signer } from "@airlock/protocol";
import { generatePersistableSigner, signerFromCryptoKey } from "@airlock/protocol/webcrypto";
import { AirlockClientError } from "./errors.ts";
import type { Store } from "./store.ts";

export const IDENTITY_KEY = "device-identity";

type StoredIdentity = { v: 1; kind: "seed"; seed: string } | { v: 1; kind: "cryptokey"; privateKey: CryptoKey; publicKey: string };

function isCryptoKey(x: unknown): x is CryptoKey {
  return typeof CryptoKey !== "undefined" && x instanceof CryptoKey;
}

async function fromStored(value: unknown, backend: CryptoBackend): Promise<Ed25519Signer | undefined> {
  if (value === undefined || value === null) return undefined;
  const v = value as Partial<StoredIdentity> & Record<string, unknown>;
  if (v.v === 1 && v.kind === "seed" && typeof v.seed === "string") {
    const seed = fromBase64Url(v.seed);
    if (seed?.length === 32) return backend.signerFromSeed(seed);
  }
  if (v.v === 1 && v.kind === "cryptokey" && isCryptoKey(v.privateKey) && typeof v.publicKey === "string") {
    const pub = fromBase64Url(v.publicKey);
    if (pub?.length === 32) return signerFromCryptoKey(v.privateKey, pub);
  }
  throw new AirlockClientError("STORAGE", "the stored device identity is unreadable; remove it and pair again");
}

export async function loadOrCreateIdentity(store: Store, backend: CryptoBackend): Promise<Ed25519Signer> {
  const existing = await fromStored(await store.get(IDENTITY_KEY), backend);
  if (existing) return existing;
  if (store.canStoreCryptoKeys && backend.name === "webcrypto") {
    const { signer, privateKey } = await generatePersistableSigner();
    await store.set(IDENTITY_KEY, { v: 1, kind: "cryptokey", privateKey, publicKey: toBase64Url(signer.publicKey) } satisfies StoredIdentity);
    return signer;
  }
  const seed = secureRandom(32);
  await store.set(IDENTITY_KEY, { v: 1, kind: "seed", seed: toBase64Url(seed) } satisfies StoredIdentity);
  return backend.signerFromSeed(seed);
}
