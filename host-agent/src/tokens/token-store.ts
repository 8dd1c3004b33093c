// The host's automation tokens (tokens.json, mode 0600): for each token its
// public device key, name, owner, scopes, workspaces, expiry and the threads it
// started — never the token itself (the secret is shown once, at creation).
// Revoked and expired tokens stay listed (bounded) so `airlock tokens list`
// and the audit log can still name them.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fromBase64Url, isValidDeviceName, secureRandom, toBase64Url } from "@airlock/protocol";
import { HostError } from "../host-error.ts";

/** What a token may do (docs/host-agent.md, tokens). */
export const TOKEN_SCOPES = ["run", "read"] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];
/** The lifetimes `tokens create --expires` offers; nothing longer, nothing without one. */
export const TOKEN_LIFETIMES_DAYS = [7, 30, 60, 90] as const;
export const MAX_TOKEN_DAYS = 90;
/** Active tokens at once (they share the relay allowlist's 64 keys with devices). */
export const MAX_ACTIVE_TOKENS = 32;
/** Records kept in all (revoked and expired ones are dropped, oldest first, beyond this). */
const MAX_RECORDS = 128;
/** Threads remembered per token (the event store holds at most 200 by default). */
const MAX_THREADS_PER_TOKEN = 256;
const DAY_MS = 86_400_000;

export interface TokenRecord {
  /** Stable id ("tok_" + 8 base64url characters); survives rotation. */
  id: string;
  name: string;
  owner: string;
  scopes: TokenScope[];
  /** Absolute folders the token may start threads in (and, with "read", read threads of). */
  workspaces: string[];
  /** The token's current Ed25519 public key, base64url. */
  key: string;
  createdAt: string;
  expiresAt: string;
  lastUsed?: string;
  revokedAt?: string;
  rotatedAt?: string;
  /** Threads this token started (its own: it may follow up on and read them). */
  threads: string[];
}

export type TokenState = "active" | "expired" | "revoked";

/** What the app server needs to enforce a token's limits. */
export interface TokenGrant {
  id: string;
  name: string;
  owner: string;
  scopes: TokenScope[];
  workspaces: string[];
  expiresAt: number;
}

interface TokenFile {
  version: 1;
  tokens: TokenRecord[];
}

export type TokenErrorCode = "TOKEN_NOT_FOUND" | "TOKEN_AMBIGUOUS" | "TOKENS_CORRUPT" | "BAD_TOKEN_ARGUMENT" | "TOO_MANY_TOKENS";

export class TokenStoreError extends HostError<TokenErrorCode> {
  constructor(code: TokenErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "TokenStoreError";
  }
}

/** 1-64 bytes, printable (the device-name rule: the name is what phones and the audit log show). */
export function checkLabel(value: string, what: string): string {
  const trimmed = value.trim();
  if (!isValidDeviceName(trimmed)) throw new TokenStoreError("BAD_TOKEN_ARGUMENT", `${what} must be 1-64 bytes of printable text`);
  return trimmed;
}

/** How phones see a token's threads and requests. */
export function startedByText(t: Pick<TokenRecord, "name" | "owner">): string {
  return `${t.name} (owner ${t.owner})`;
}

export function tokenState(t: TokenRecord, now: number): TokenState {
  if (t.revokedAt !== undefined) return "revoked";
  return Date.parse(t.expiresAt) <= now ? "expired" : "active";
}

function validRecord(t: unknown): t is TokenRecord {
  if (typeof t !== "object" || t === null) return false;
  const r = t as Record<string, unknown>;
  const iso = (v: unknown) => typeof v === "string" && !Number.isNaN(Date.parse(v));
  return (
    typeof r.id === "string" &&
    /^tok_[A-Za-z0-9_-]{8}$/.test(r.id) &&
    typeof r.name === "string" &&
    typeof r.owner === "string" &&
    Array.isArray(r.scopes) &&
    r.scopes.every((s) => (TOKEN_SCOPES as readonly unknown[]).includes(s)) &&
    Array.isArray(r.workspaces) &&
    r.workspaces.every((w) => typeof w === "string" && w.startsWith("/")) &&
    typeof r.key === "string" &&
    fromBase64Url(r.key)?.length === 32 &&
    iso(r.createdAt) &&
    iso(r.expiresAt) &&
    (r.lastUsed === undefined || iso(r.lastUsed)) &&
    (r.revokedAt === undefined || iso(r.revokedAt)) &&
    (r.rotatedAt === undefined || iso(r.rotatedAt)) &&
    Array.isArray(r.threads) &&
    r.threads.length <= MAX_THREADS_PER_TOKEN &&
    r.threads.every((id) => typeof id === "string")
  );
}

export class TokenStore {
  #path: string;
  #file: TokenFile;
  #now: () => number;

  private constructor(path: string, file: TokenFile, now: () => number) {
    this.#path = path;
    this.#file = file;
    this.#now = now;
  }

  /** Opens the store; a missing file is an empty store, a damaged one an error (never silently empty: that would forget revocations' records). */
  static open(path: string, now: () => number = Date.now): TokenStore {
    return new TokenStore(path, TokenStore.#read(path), now);
  }

  static #read(path: string): TokenFile {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, tokens: [] };
      throw e;
    }
    if (text.length > 4 * 1024 * 1024) throw new TokenStoreError("TOKENS_CORRUPT", `${path} is too large to be an Airlock token list`);
    let file: TokenFile;
    try {
      file = JSON.parse(text) as TokenFile;
    } catch {
      throw new TokenStoreError("TOKENS_CORRUPT", `${path} is not valid JSON`);
    }
    if (file?.version !== 1 || !Array.isArray(file.tokens) || file.tokens.length > MAX_RECORDS || !file.tokens.every(validRecord)) {
      throw new TokenStoreError("TOKENS_CORRUPT", `${path} is not an Airlock token list`);
    }
    return file;
  }

  /** Re-reads the file (`airlock tokens` in another process may have changed it). */
  reload(): void {
    this.#file = TokenStore.#read(this.#path);
  }

  list(): TokenRecord[] {
    return this.#file.tokens.map((t) => ({ ...t, scopes: [...t.scopes], workspaces: [...t.workspaces], threads: [...t.threads] }));
  }

  /** By id, or the name of the one active token with it, or an unambiguous id prefix. */
  find(idOrName: string): TokenRecord {
    const all = this.#file.tokens;
    const exact = all.find((t) => t.id === idOrName);
    if (exact) return exact;
    const now = this.#now();
    const named = all.filter((t) => t.name === idOrName);
    const activeNamed = named.filter((t) => tokenState(t, now) === "active");
    if (activeNamed.length === 1) return activeNamed[0]!;
    if (named.length === 1) return named[0]!;
    const prefixed = idOrName.length >= 5 ? all.filter((t) => t.id.startsWith(idOrName)) : [];
    if (prefixed.length === 1) return prefixed[0]!;
    if (named.length > 1 || prefixed.length > 1)
      throw new TokenStoreError("TOKEN_AMBIGUOUS", `"${idOrName}" matches several tokens; give its id (see: airlock tokens list)`);
    throw new TokenStoreError("TOKEN_NOT_FOUND", `no token "${idOrName}" (see: airlock tokens list)`);
  }

  /** The active token with this public key. */
  activeByKey(key: Uint8Array | string): TokenRecord | undefined {
    const k = typeof key === "string" ? key : toBase64Url(key);
    const now = this.#now();
    return this.#file.tokens.find((t) => t.key === k && tokenState(t, now) === "active");
  }

  /** Any record with this id (the state says whether it still works). */
  byId(id: string): TokenRecord | undefined {
    return this.#file.tokens.find((t) => t.id === id);
  }

  /** Active tokens' keys and expiry (unix ms), for the relay allowlist. */
  allowlistEntries(): Array<{ key: Uint8Array; expiresAt: number }> {
    const now = this.#now();
    return this.#file.tokens.filter((t) => tokenState(t, now) === "active").map((t) => ({ key: fromBase64Url(t.key)!, expiresAt: Date.parse(t.expiresAt) }));
  }

  create(input: { name: string; owner: string; scopes: TokenScope[]; workspaces: string[]; days: number; publicKey: Uint8Array }): TokenRecord {
    this.reload(); // another process (airlock up, another airlock tokens) may have written since
    const name = checkLabel(input.name, "--name");
    const owner = checkLabel(input.owner, "--owner");
    const now = this.#now();
    if (!(TOKEN_LIFETIMES_DAYS as readonly number[]).includes(input.days))
      throw new TokenStoreError("BAD_TOKEN_ARGUMENT", `--expires must be one of ${TOKEN_LIFETIMES_DAYS.map((d) => `${d}d`).join(", ")}`);
    if (input.scopes.length === 0) throw new TokenStoreError("BAD_TOKEN_ARGUMENT", `--scope is required (${TOKEN_SCOPES.join(", ")})`);
    if (input.workspaces.length === 0 || input.workspaces.length > 8 || !input.workspaces.every((w) => w.startsWith("/"))) {
      throw new TokenStoreError("BAD_TOKEN_ARGUMENT", "--workspace is required (1 to 8 absolute folders)");
    }
    const active = this.#file.tokens.filter((t) => tokenState(t, now) === "active");
    if (active.some((t) => t.name === name))
      throw new TokenStoreError("BAD_TOKEN_ARGUMENT", `an active token is already named "${name}": rotate it, or revoke it first`);
    if (active.length >= MAX_ACTIVE_TOKENS) throw new TokenStoreError("TOO_MANY_TOKENS", `at most ${MAX_ACTIVE_TOKENS} tokens may be active; revoke one first`);
    const record: TokenRecord = {
      id: "tok_" + toBase64Url(secureRandom(6)),
      name,
      owner,
      scopes: [...new Set(input.scopes)],
      workspaces: [...new Set(input.workspaces)],
      key: toBase64Url(input.publicKey),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + input.days * DAY_MS).toISOString(),
      threads: [],
    };
    this.#file.tokens.push(record);
    this.#prune(now);
    this.#save();
    return { ...record };
  }

  /** Revokes a token (idempotent for one already revoked). */
  revoke(idOrName: string): TokenRecord {
    this.reload();
    const t = this.find(idOrName);
    t.revokedAt ??= new Date(this.#now()).toISOString();
    this.#save();
    return { ...t };
  }

  /**
   * A new key for the same token (same id, name, owner, scopes, workspaces and
   * threads) with a fresh lifetime; the old key stops working at once.
   */
  rotate(idOrName: string, publicKey: Uint8Array, days: number): { record: TokenRecord; oldKey: string } {
    this.reload();
    const t = this.find(idOrName);
    const now = this.#now();
    if (t.revokedAt !== undefined) throw new TokenStoreError("BAD_TOKEN_ARGUMENT", `token ${t.id} is revoked; create a new one`);
    if (!(TOKEN_LIFETIMES_DAYS as readonly number[]).includes(days))
      throw new TokenStoreError("BAD_TOKEN_ARGUMENT", `--expires must be one of ${TOKEN_LIFETIMES_DAYS.map((d) => `${d}d`).join(", ")}`);
    const oldKey = t.key;
    t.key = toBase64Url(publicKey);
    t.rotatedAt = new Date(now).toISOString();
    t.expiresAt = new Date(now + days * DAY_MS).toISOString();
    this.#save();
    return { record: { ...t }, oldKey };
  }

  /** Records a thread the token started (bounded: the oldest is forgotten first). */
  addThread(id: string, threadId: string): void {
    this.reload();
    const t = this.byId(id);
    if (!t) return;
    t.threads.push(threadId);
    if (t.threads.length > MAX_THREADS_PER_TOKEN) t.threads.splice(0, t.threads.length - MAX_THREADS_PER_TOKEN);
    this.#save();
  }

  touch(id: string): void {
    this.reload();
    const t = this.byId(id);
    if (!t) return;
    t.lastUsed = new Date(this.#now()).toISOString();
    this.#save();
  }

  /** Tokens that expire within `withinMs` (and have not yet). */
  expiringSoon(withinMs: number): TokenRecord[] {
    const now = this.#now();
    return this.#file.tokens.filter((t) => tokenState(t, now) === "active" && Date.parse(t.expiresAt) - now <= withinMs).map((t) => ({ ...t }));
  }

  #prune(now: number): void {
    let excess = this.#file.tokens.length - MAX_RECORDS;
    if (excess <= 0) return;
    this.#file.tokens = this.#file.tokens.filter((t) => {
      if (excess > 0 && tokenState(t, now) !== "active") {
        excess -= 1;
        return false;
      }
      return true;
    });
  }

  #save(): void {
    mkdirSync(dirname(this.#path), { recursive: true, mode: 0o700 });
    const tmp = `${this.#path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#file, null, 2) + "\n", { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.#path); // atomic: readers see the old or the new list, never half
  }
}

/** The grant the app server enforces for an active record. */
export function grantOf(t: TokenRecord): TokenGrant {
  return { id: t.id, name: t.name, owner: t.owner, scopes: [...t.scopes], workspaces: [...t.workspaces], expiresAt: Date.parse(t.expiresAt) };
}
