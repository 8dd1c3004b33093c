// Picks the crypto backend. WebCrypto where the platform has Ed25519 and
// X25519 (Node ≥20, current browsers, workerd); otherwise the pure-JS noble
// backend, loaded on demand so platforms with WebCrypto never download it.
import { fromBase64Url, toBase64Url, type CryptoBackend } from "@airlock/protocol";
import { generatePersistableSigner, signerFromCryptoKey, webCryptoBackend } from "@airlock/protocol/webcrypto";
import type { ClientCrypto, CryptoChoice } from "./client.ts";
import type { CryptoKeyIdentities } from "./identity.ts";

export type { CryptoChoice } from "./client.ts";

async function loadNoble(): Promise<CryptoBackend> {
  return (await import("@airlock/protocol/noble")).nobleBackend;
}

/** Whether this platform's WebCrypto does everything the protocol needs. */
export async function webCryptoWorks(): Promise<boolean> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) return false;
  try {
    const signer = await webCryptoBackend.generateSigner();
    const sig = await signer.sign(new Uint8Array(1));
    if (!(await webCryptoBackend.verify(signer.publicKey, new Uint8Array(1), sig))) return false;
    const [a, b] = await Promise.all([webCryptoBackend.generateX25519!(), webCryptoBackend.generateX25519!()]);
    await a.dh(b.publicKey);
    return true;
  } catch {
    return false;
  }
}

export async function selectBackend(choice: CryptoChoice = "auto"): Promise<CryptoBackend> {
  if (choice === "noble") return loadNoble();
  if (choice === "webcrypto") {
    if (!(await webCryptoWorks())) throw new Error("WebCrypto with Ed25519 and X25519 is not available on this platform");
    return webCryptoBackend;
  }
  return (await webCryptoWorks()) ? webCryptoBackend : loadNoble();
}

function isCryptoKey(x: unknown): x is CryptoKey {
  return typeof CryptoKey !== "undefined" && x instanceof CryptoKey;
}

/** Non-extractable CryptoKey identities, for stores that keep CryptoKeys (IndexedDB). */
export const webCryptoKeys: CryptoKeyIdentities = {
  load: (v) => {
    if (v.v !== 1 || v.kind !== "cryptokey" || !isCryptoKey(v.privateKey) || typeof v.publicKey !== "string") return undefined;
    const pub = fromBase64Url(v.publicKey);
    return pub?.length === 32 ? signerFromCryptoKey(v.privateKey, pub) : undefined;
  },
  create: async () => {
    const { signer, privateKey } = await generatePersistableSigner();
    return { signer, record: { v: 1, kind: "cryptokey", privateKey, publicKey: toBase64Url(signer.publicKey) } };
  },
};

/** The main entry's crypto: WebCrypto where it works, else noble (lazily loaded). */
export const browserCrypto: ClientCrypto = { backend: selectBackend, keys: webCryptoKeys };
