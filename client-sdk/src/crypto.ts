// Picks the crypto backend. WebCrypto where the platform has Ed25519 and
// X25519 (Node ≥20, current browsers, workerd); otherwise the pure-JS noble
// backend, loaded on demand so platforms with WebCrypto never download it.
import type { CryptoBackend } from "@airlock/protocol";
import { webCryptoBackend } from "@airlock/protocol/webcrypto";

export type CryptoChoice = "webcrypto" | "noble" | "auto";

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
