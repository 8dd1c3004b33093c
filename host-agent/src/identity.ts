// The host's long-term Ed25519 identity: a 32-byte seed in a 0600 file. The
// agent refuses to start when the file (or its folder) is readable by others.
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fromBase64Url, roomIdFor, secureRandom, toBase64Url, type CryptoBackend, type Ed25519Signer } from "@airlock/protocol";
import { HostError } from "./host-error.ts";

export type IdentityErrorCode = "IDENTITY_PERMISSIONS" | "IDENTITY_CORRUPT" | "IDENTITY_MISSING";

export class IdentityError extends HostError<IdentityErrorCode> {
  constructor(code: IdentityErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "IdentityError";
  }
}

export interface HostIdentity {
  signer: Ed25519Signer;
  publicKey: string;
  roomId: string;
  createdAt: string;
}

interface IdentityFile {
  version: 1;
  seed: string;
  publicKey: string;
  createdAt: string;
}

/** Throws IDENTITY_PERMISSIONS when group or others can read or write `path`. */
export function checkPrivate(path: string): void {
  if (process.platform === "win32") return; // POSIX modes do not apply
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new IdentityError("IDENTITY_PERMISSIONS", `${path} is accessible by other users (mode ${mode.toString(8).padStart(3, "0")}); run: chmod 600 ${path}`);
  }
}

export async function loadIdentity(path: string, backend: CryptoBackend): Promise<HostIdentity> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new IdentityError("IDENTITY_MISSING", `no host identity at ${path}`);
  }
  checkPrivate(path);
  let file: IdentityFile;
  try {
    file = JSON.parse(text) as IdentityFile;
  } catch {
    throw new IdentityError("IDENTITY_CORRUPT", `${path} is not valid JSON`);
  }
  const seed = typeof file.seed === "string" ? fromBase64Url(file.seed) : null;
  if (file.version !== 1 || !seed || seed.length !== 32) throw new IdentityError("IDENTITY_CORRUPT", `${path} is not an Airlock identity file`);
  const signer = await backend.signerFromSeed(seed);
  const publicKey = toBase64Url(signer.publicKey);
  if (publicKey !== file.publicKey) throw new IdentityError("IDENTITY_CORRUPT", `${path}: public key does not match the seed`);
  return { signer, publicKey, roomId: roomIdFor(signer.publicKey), createdAt: file.createdAt };
}

/** Loads the identity, creating it (mode 0600, folder 0700) on first run. */
export async function loadOrCreateIdentity(path: string, backend: CryptoBackend): Promise<{ identity: HostIdentity; created: boolean }> {
  try {
    return { identity: await loadIdentity(path, backend), created: false };
  } catch (e) {
    if (!(e instanceof IdentityError) || e.code !== "IDENTITY_MISSING") throw e;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const seed = secureRandom(32);
  const signer = await backend.signerFromSeed(seed);
  const file: IdentityFile = {
    version: 1,
    seed: toBase64Url(seed),
    publicKey: toBase64Url(signer.publicKey),
    createdAt: new Date().toISOString(),
  };
  // "wx": never overwrite an identity another process created meanwhile.
  writeFileSync(path, JSON.stringify(file, null, 2) + "\n", { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  return { identity: await loadIdentity(path, backend), created: true };
}
