// This device's Ed25519 identity, created on first use and kept in the Store.
// Where the store can hold CryptoKeys (IndexedDB) and WebCrypto is in use, the
// private key is a non-extractable CryptoKey; otherwise a 32-byte seed (a Node
// FileStore writes it with mode 0600). The CryptoKey part comes from the entry
// point (crypto.ts), so an entry without WebCrypto (native.ts) leaves it out.
import { fromBase64Url, secureRandom, toBase64Url, type CryptoBackend, type Ed25519Signer } from "@airlock/protocol";
import { AirlockClientError } from "./errors.ts";
import type { Store } from "./store.ts";

export const IDENTITY_KEY = "device-identity";

export type StoredIdentity = { v: 1; kind: "seed"; seed: string } | { v: 1; kind: "cryptokey"; privateKey: CryptoKey; publicKey: string };
export type StoredRecord = Partial<StoredIdentity> & Record<string, unknown>;

/** Identities kept as non-extractable platform CryptoKeys (crypto.ts: webCryptoKeys). */
export interface CryptoKeyIdentities {
  /** The signer for a stored "cryptokey" record; undefined when `v` is not a readable one. */
  load(v: StoredRecord): Ed25519Signer | undefined;
  /** A fresh identity and the record that keeps it. */
  create(): Promise<{ signer: Ed25519Signer; record: StoredIdentity }>;
}

async function fromStored(value: unknown, backend: CryptoBackend, keys: CryptoKeyIdentities | undefined): Promise<Ed25519Signer | undefined> {
  if (value === undefined || value === null) return undefined;
  const v = value as StoredRecord;
  if (v.v === 1 && v.kind === "seed" && typeof v.seed === "string") {
    const seed = fromBase64Url(v.seed);
    if (seed?.length === 32) return backend.signerFromSeed(seed);
  }
  const signer = keys?.load(v);
  if (signer) return signer;
  throw new AirlockClientError("STORAGE", "the stored identity is unreadable; remove it and pair again");
}

export async function loadOrCreateIdentity(store: Store, backend: CryptoBackend, keys?: CryptoKeyIdentities): Promise<Ed25519Signer> {
  const existing = await fromStored(await store.get(IDENTITY_KEY), backend, keys);
  if (existing) return existing;
  if (keys && store.canStoreCryptoKeys && backend.name === "webcrypto") {
    const { signer, record } = await keys.create();
    await store.set(IDENTITY_KEY, record);
    return signer;
  }
  const seed = secureRandom(32);
  await store.set(IDENTITY_KEY, { v: 1, kind: "seed", seed: toBase64Url(seed) } satisfies StoredIdentity);
  return backend.signerFromSeed(seed);
}
