// `airlock tokens`: create, list, revoke and rotate automation tokens. The
// token string is printed once, by create and rotate, and kept nowhere on the
// host (tokens.json holds its public key). A running `airlock up` is told over
// the control socket, so a revocation closes the token's sessions at once and
// the relay gets the new allowlist; otherwise the next `airlock up` publishes it.
import { realpathSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { secureRandom, type CryptoBackend } from "@airlock/protocol";
import { encodeAutomationToken } from "@airlock/protocol/automation-token";
import { AuditLog } from "../audit/audit-log.ts";
import { connectControl, controlSocketPath, replyError, type ControlReply } from "../control.ts";
import { DeviceStore } from "../device-store.ts";
import { IdentityError, loadIdentity } from "../identity.ts";
import { tableLines, terminalSafe } from "../terminal-text.ts";
import { TOKEN_LIFETIMES_DAYS, TOKEN_SCOPES, TokenStore, TokenStoreError, tokenState, type TokenRecord, type TokenScope } from "./token-store.ts";
import { HostError } from "../host-error.ts";

export const TOKENS_HELP = `Usage: airlock tokens [list] [--json]
       airlock tokens create --name NAME --owner OWNER --scope SCOPE --workspace DIR --expires 7d|30d|60d|90d [--json]
       airlock tokens revoke ID|NAME [--json]
       airlock tokens rotate ID|NAME [--expires 7d|30d|60d|90d] [--json]

Automation tokens let a script or CI job start agent work on this host without
a phone (airlock-client exec). A token is a device identity with limits: it
works only through the relay, in its workspaces, until it expires (90 days at
most) or is revoked, and never decides approvals or answers questions.

  --name NAME       what the token is for (e.g. nightly-docs); phones show it
  --owner OWNER     the person or team responsible for it
  --scope SCOPE     run: start threads in its workspaces, follow up on and read them;
                    read: also read every thread in its workspaces (comma-separated: run,read)
  --workspace DIR   a folder it may work in (repeat for several; inside airlock up's workspace)
  --expires D       7d, 30d, 60d or 90d; required

create and rotate print the token once: put it in your CI's secret manager
(e.g. as AIRLOCK_TOKEN) and never in a command line or a log. rotate gives the
token a new secret and a new lifetime; the old secret stops working at once.`;

export const TokenExit = { OK: 0, ERROR: 1, USAGE: 2, IDENTITY: 3, NOT_FOUND: 7 } as const;

export class TokenCliError extends HostError<keyof typeof TokenExit> {
  readonly exitCode: number;
  constructor(code: keyof typeof TokenExit, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "TokenCliError";
    this.exitCode = TokenExit[code];
  }
}

export interface TokenCliContext {
  home: string;
  json: boolean;
  out(text: string): void;
  err(text: string): void;
  backend: CryptoBackend;
  /** The relay this host uses (config or default): tokens reach the host through it. */
  relayUrl: string;
  /** How to run this host's CLI (for hints). */
  cli: string;
}

export function tokenStorePath(home: string): string {
  return join(home, "tokens.json");
}

function days(value: string | undefined): number {
  const m = value === undefined ? null : /^(\d{1,3})d$/.exec(value);
  const n = m ? Number(m[1]) : NaN;
  if (!(TOKEN_LIFETIMES_DAYS as readonly number[]).includes(n)) {
    throw new TokenCliError("USAGE", `--expires must be one of ${TOKEN_LIFETIMES_DAYS.map((d) => `${d}d`).join(", ")} (no token lives longer than 90 days)`);
  }
  return n;
}

function scopes(values: string[] | undefined): TokenScope[] {
  const list = (values ?? [])
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean);
  if (list.length === 0) throw new TokenCliError("USAGE", `--scope is required: ${TOKEN_SCOPES.join(", ")}`);
  for (const s of list)
    if (!(TOKEN_SCOPES as readonly string[]).includes(s))
      throw new TokenCliError("USAGE", `unknown scope "${terminalSafe(s)}" (scopes: ${TOKEN_SCOPES.join(", ")})`);
  return list as TokenScope[];
}

/** Existing folders, symbolic links resolved (the host compares resolved paths). */
function workspaces(values: string[] | undefined): string[] {
  if (!values || values.length === 0) throw new TokenCliError("USAGE", "--workspace is required: the folder the token may work in");
  return values.map((v) => {
    let real: string;
    try {
      real = realpathSync(resolve(v));
    } catch {
      throw new TokenCliError("USAGE", `--workspace ${terminalSafe(v)} does not exist`);
    }
    if (!statSync(real).isDirectory()) throw new TokenCliError("USAGE", `--workspace ${terminalSafe(v)} is not a folder`);
    return real;
  });
}

function publicView(t: TokenRecord, now: number) {
  return {
    id: t.id,
    name: t.name,
    owner: t.owner,
    scopes: t.scopes,
    workspaces: t.workspaces,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    lastUsed: t.lastUsed ?? null,
    state: tokenState(t, now),
    ...(t.revokedAt ? { revokedAt: t.revokedAt } : {}),
    ...(t.rotatedAt ? { rotatedAt: t.rotatedAt } : {}),
  };
}

export async function tokensCommand(ctx: TokenCliContext, args: string[]): Promise<number> {
  const [sub = "list", ...rest] = args;
  const store = TokenStore.open(tokenStorePath(ctx.home));
  switch (sub) {
    case "list":
      return list(ctx, store, rest);
    case "create":
      return create(ctx, store, rest);
    case "revoke":
      return revoke(ctx, store, rest);
    case "rotate":
      return rotate(ctx, store, rest);
    default:
      throw new TokenCliError("USAGE", `unknown tokens command "${terminalSafe(sub)}"\n\n${TOKENS_HELP}`);
  }
}

function list(ctx: TokenCliContext, store: TokenStore, args: string[]): number {
  parseArgs({ args, options: {}, strict: true });
  const now = Date.now();
  const all = store.list();
  if (ctx.json) {
    ctx.out(JSON.stringify(all.map((t) => publicView(t, now))));
    return TokenExit.OK;
  }
  if (all.length === 0) {
    ctx.out(`No automation tokens. Create one with: ${ctx.cli} tokens create --name NAME --owner OWNER --scope run --workspace DIR --expires 30d`);
    return TokenExit.OK;
  }
  const day = (iso: string | undefined) => (iso ? iso.slice(0, 16).replace("T", " ") : "never");
  const rows = all.map((t) => [
    t.id,
    terminalSafe(t.name),
    terminalSafe(t.owner),
    t.scopes.join(","),
    t.workspaces.map(terminalSafe).join(", "),
    day(t.createdAt),
    day(t.expiresAt),
    day(t.lastUsed),
    tokenState(t, now),
  ]);
  const header = ["ID", "NAME", "OWNER", "SCOPE", "WORKSPACE", "CREATED", "EXPIRES", "LAST USED", "STATE"];
  for (const line of tableLines(header, rows)) ctx.out(line);
  return TokenExit.OK;
}

async function hostPublicKey(ctx: TokenCliContext): Promise<Uint8Array> {
  try {
    return (await loadIdentity(join(ctx.home, "identity.json"), ctx.backend)).signer.publicKey;
  } catch (e) {
    if (e instanceof IdentityError && e.code === "IDENTITY_MISSING")
      throw new TokenCliError("IDENTITY", `this host has no identity yet: run ${ctx.cli} up once first`);
    throw e;
  }
}

async function create(ctx: TokenCliContext, store: TokenStore, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: "string" },
      owner: { type: "string" },
      scope: { type: "string", multiple: true },
      workspace: { type: "string", multiple: true },
      expires: { type: "string" },
    },
    strict: true,
  });
  if (values.name === undefined) throw new TokenCliError("USAGE", "--name is required (what the token is for, e.g. nightly-docs)");
  if (values.owner === undefined) throw new TokenCliError("USAGE", "--owner is required (who answers for the token)");
  const lifetime = days(values.expires);
  const grantScopes = scopes(values.scope);
  const folders = workspaces(values.workspace);
  const hostKey = await hostPublicKey(ctx);
  const seed = secureRandom(32);
  const signer = await ctx.backend.signerFromSeed(seed);
  const record = store.create({
    name: values.name,
    owner: values.owner,
    scopes: grantScopes,
    workspaces: folders,
    days: lifetime,
    publicKey: signer.publicKey,
  });
  const token = encodeAutomationToken({ relayUrl: ctx.relayUrl, hostPublicKey: hostKey, seed, name: record.name, expiresAt: Date.parse(record.expiresAt) });
  seed.fill(0);
  const host = await tellHost(ctx, "token.created", record);
  show(ctx, "token.created", record, token, host);
  return TokenExit.OK;
}

async function revoke(ctx: TokenCliContext, store: TokenStore, args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new TokenCliError("USAGE", "usage: airlock tokens revoke ID|NAME");
  const record = store.revoke(positionals[0]!);
  const host = await tellHost(ctx, "token.revoked", record);
  if (ctx.json) ctx.out(JSON.stringify({ type: "token.revoked", ...publicView(record, Date.now()), ...host }));
  else ctx.out(`Revoked token ${record.id} ("${terminalSafe(record.name)}", owner ${terminalSafe(record.owner)}).${hostNote(host)}`);
  return TokenExit.OK;
}

async function rotate(ctx: TokenCliContext, store: TokenStore, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { expires: { type: "string" } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new TokenCliError("USAGE", "usage: airlock tokens rotate ID|NAME [--expires 7d|30d|60d|90d]");
  const current = store.find(positionals[0]!);
  // Without --expires the new secret gets the lifetime the token had at creation, rounded to an offered one.
  const had = Math.round((Date.parse(current.expiresAt) - Date.parse(current.rotatedAt ?? current.createdAt)) / 86_400_000);
  const lifetime = values.expires !== undefined ? days(values.expires) : (TOKEN_LIFETIMES_DAYS.find((d) => d >= had) ?? 90);
  const hostKey = await hostPublicKey(ctx);
  const seed = secureRandom(32);
  const signer = await ctx.backend.signerFromSeed(seed);
  const { record } = store.rotate(current.id, signer.publicKey, lifetime);
  const token = encodeAutomationToken({ relayUrl: ctx.relayUrl, hostPublicKey: hostKey, seed, name: record.name, expiresAt: Date.parse(record.expiresAt) });
  seed.fill(0);
  const host = await tellHost(ctx, "token.rotated", record);
  show(ctx, "token.rotated", record, token, host);
  return TokenExit.OK;
}

interface HostNotice {
  hostRunning: boolean;
  relayUpdated: boolean;
  relayError?: string;
}

function hostNote(h: HostNotice): string {
  if (!h.hostRunning) return " airlock up is not running: the relay is updated when it next connects.";
  if (!h.relayUpdated)
    return ` The relay could not be told yet (${h.relayError ?? "unknown error"}); airlock up keeps retrying, and enforces the change itself meanwhile.`;
  return " The relay and airlock up have the new token list.";
}

function show(ctx: TokenCliContext, type: string, record: TokenRecord, token: string, host: HostNotice): void {
  if (ctx.json) {
    ctx.out(JSON.stringify({ type, ...publicView(record, Date.now()), token, ...host }));
    return;
  }
  ctx.out(
    `${type === "token.created" ? "Created" : "Rotated"} token ${record.id} "${terminalSafe(record.name)}" (owner ${terminalSafe(record.owner)}, scope ${record.scopes.join(",")}, workspace ${record.workspaces.map(terminalSafe).join(", ")}), expires ${record.expiresAt.slice(0, 10)}.`,
  );
  ctx.out("");
  ctx.out(`  ${token}`);
  ctx.out("");
  ctx.out("This is the only time the token is shown; this host keeps only its public key.");
  ctx.out("Store it in your CI's secret manager (e.g. as AIRLOCK_TOKEN) and use it with:");
  ctx.out("  airlock-client exec 'your prompt'     (reads $AIRLOCK_TOKEN, or --token-file FILE)");
  ctx.out(hostNote(host).trim());
}

/**
 * Tells a running `airlock up` (it closes the sessions of a revoked or rotated
 * token, publishes the allowlist and writes the audit record); without one,
 * audits here and makes the next `airlock up` publish the allowlist.
 */
async function tellHost(ctx: TokenCliContext, event: "token.created" | "token.revoked" | "token.rotated", record: TokenRecord): Promise<HostNotice> {
  const data = {
    tokenId: record.id,
    tokenName: record.name,
    owner: record.owner,
    scopes: record.scopes,
    workspaces: record.workspaces,
    expiresAt: record.expiresAt,
  };
  const control = await connectControl(controlSocketPath(ctx.home));
  if (control) {
    let answer: IteratorResult<ControlReply>;
    try {
      control.send({ type: "tokens.changed", event, data });
      answer = await control.messages.next();
    } finally {
      control.close();
    }
    if (answer.done || answer.value.type !== "tokens.changed")
      throw new TokenCliError("ERROR", answer.done ? "airlock up did not answer" : replyError(answer.value));
    return {
      hostRunning: true,
      relayUpdated: answer.value.relayUpdated,
      ...(answer.value.relayError !== undefined ? { relayError: answer.value.relayError } : {}),
    };
  }
  DeviceStore.open(join(ctx.home, "devices.json")).nextAllowlistVersion();
  const log = await AuditLog.open(join(ctx.home, "audit.jsonl"));
  try {
    await log.append(event, { kind: "host" }, data);
  } finally {
    await log.close();
  }
  return { hostRunning: false, relayUpdated: false };
}

export { TokenStoreError };
