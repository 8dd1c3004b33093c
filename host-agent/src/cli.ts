// `airlock`: the host agent's command line. Each command is a small function;
// output is for people by default and JSON with --json.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, platform } from "node:os";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import QRCode from "qrcode";
import { nobleBackend, roomIdFor, secureRandom, type CryptoBackend } from "@airlock/protocol";
import { webCryptoBackend } from "@airlock/protocol/webcrypto";
import { join, resolve } from "node:path";
import { AGENT_NAMES, agentChecks, createAgent } from "./agents/index.ts";
import { AppServer, type CommandOutcome } from "./app-server.ts";
import type { PendingApproval } from "./approvals/broker.ts";
import { approvalStats, formatStats } from "./audit/stats.ts";
import { builtinPolicy, loadPolicy, PolicyError, type Policy } from "./policy/policy-file.ts";
import { loadWorkspacePolicy } from "./workspace.ts";
import { CommandLedger } from "./command-ledger.ts";
import { connectControl, controlSocketPath, serveControl, type ControlMessage } from "./control.ts";
import { EventStore } from "./event-store.ts";
import { AuditLog, tailAuditLog, verifyAuditLog, type AuditActor } from "./audit/audit-log.ts";
import { DeviceStore, DeviceStoreError } from "./device-store.ts";
import { HostCore, type PairingRequest } from "./host-core.ts";
import { IdentityError, loadIdentity, loadOrCreateIdentity } from "./identity.ts";
import { statePaths, airlockHome, type StatePaths } from "./paths.ts";
import { RelayLink } from "./relay-link.ts";
import { checkRelay } from "./relay-check.ts";
import { encryptWebPush } from "@airlock/protocol/web-push";
import { PushNotifier } from "./push/notifier.ts";
import { PushStore, PushStoreError } from "./push/push-store.ts";
import { fetchRelayPushSupport } from "./push/relay-info.ts";
import { terminalSafe } from "./terminal-text.ts";
import { airlockCommand } from "./hint.ts";
import { TokenCliError, tokensCommand, TOKENS_HELP, tokenStorePath } from "./tokens/token-cli.ts";
import { TokenScopes } from "./tokens/token-scope.ts";
import { formatTokenUsage, tokenUsage } from "./tokens/token-stats.ts";
import { TokenStore, TokenStoreError } from "./tokens/token-store.ts";
import { HOOKS_HELP, HooksCliError, hooksCommand } from "./hooks/hooks-cli.ts";

export const VERSION = "0.1.0";
export const DEFAULT_RELAY = "http://127.0.0.1:8787";

/** Exit codes (docs/host-agent.md). */
export const Exit = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  IDENTITY: 3,
  RELAY_UNREACHABLE: 4,
  PAIRING_FAILED: 5,
  REPLACED: 6,
  NOT_FOUND: 7,
} as const;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const HELP: Record<string, string> = {
  main: `airlock ${VERSION} — supervise your coding agent from your phone

Usage: airlock <command> [options]

Commands:
  up                 connect to the relay and serve paired devices (keeps running)
  pair               show a one-time pairing QR code and confirm the device
  devices            list trusted devices
  devices revoke ID  revoke a device (takes effect on live sessions at once)
  devices rename ID NAME
  status             identity, relay, devices, whether \`airlock up\` is running
  doctor             check that everything needed works
  approvals          list requests waiting for a decision (incl. host-only ones)
  approve ID         approve a waiting request at this terminal (--session: for the session)
  deny ID            deny a waiting request
  tokens             automation tokens (create, list, revoke, rotate) for airlock-client exec
  stats              approval loop metrics: response time, auto-decided share, failures
  audit verify       check the audit log's hash chain (edits, deletions, reordering)
  audit tail [-n N]  show the latest audit records
  hooks              hooks the policy files declare, their hashes; trust / untrust

Global options:
  --home DIR   state folder (default: $AIRLOCK_HOME or your config dir)
  --json       machine-readable output
  -h, --help   help for a command
  --version    print the version

Run 'airlock <command> --help' for a command's options.`,
  up: `Usage: airlock up [--relay URL] [--agent NAME] [--workspace DIR] [--app-url URL] [--pair] [--yes] [--json] [-- AGENT COMMAND…]

Connects out to the relay (no inbound ports), keeps the link up with
reconnects, and serves paired devices. Creates the host identity on first run.
Approval requests follow the policy (<home>/policy.json and the workspace's
.airlock/policy.json; see docs/host-agent.md); requests only this terminal may
decide are printed here: answer them with airlock approve/deny.

  --relay URL      relay base URL (saved for next time; default ${DEFAULT_RELAY})
  --agent NAME     the coding agent to drive: ${AGENT_NAMES.join(", ")} (default: demo,
                   an offline scripted stand-in that runs real commands in a scratch folder;
                   claude: Claude Code, after npm run install:claude; acp: any ACP agent,
                   its command after --, e.g. airlock up --agent acp -- gemini --acp)
  --workspace DIR  where the agent works (demo default: <home>/demo-workspace)
  --app-url URL  where pairing links open the web app (default: the relay)
  --pair         show a pairing QR code once connected
  --yes          trust pairing devices without asking (unattended use, tests)
  --json         one JSON object per line for each event`,
  pair: `Usage: airlock pair [--ttl SECONDS] [--yes] [--json]

Shows a one-time pairing QR code and link (valid 5 minutes by default). When a
device uses it, shows the device's name and a 6-digit code: pair only if the
code matches the one on your phone. Needs \`airlock up\` running.

  --ttl SECONDS  link lifetime, 1..3600 (default 300)
  --yes          trust the device without asking
  --json         print the link and the outcome as JSON`,
  devices: `Usage: airlock devices [--json]
       airlock devices revoke ID
       airlock devices rename ID NAME

IDs may be shortened to any unambiguous prefix.`,
  status: `Usage: airlock status [--json]`,
  audit: `Usage: airlock audit verify [--json]
       airlock audit tail [-n N] [--json]

The audit log records pairings, refusals, revocations, device sessions and
every prompt or instruction a device sent, hash-chained so that any edit,
deletion or reordering is detected by 'verify' (exit code 1).`,
  approvals: `Usage: airlock approvals [--json]

Lists requests waiting for a decision in the running airlock up, with the
evidence devices see. "host-only" ones can only be decided here.`,
  approve: `Usage: airlock approve ID [--session] [--json]

Approves a waiting request (ID from airlock approvals; any unambiguous prefix).
--session also approves identical requests for the rest of the session.`,
  deny: `Usage: airlock deny ID [--json]`,
  tokens: TOKENS_HELP,
  hooks: HOOKS_HELP,
  stats: `Usage: airlock stats [--days N] [--json]

Approval loop metrics from the audit log: time before a person answered
(p50/p90), approvals per thread, share decided by policy alone, failure rate of
approved commands, and the same per device. --days limits to the last N days.`,
  doctor: `Usage: airlock doctor [--relay URL] [--json]

Checks the identity file, the relay as this host would use it (reachable,
protocol version, clock skew, the WebSocket upgrade on this host's room,
whether the relay's admission list serves it, push), and the agents.
--relay checks another relay than the configured one (e.g. a new deployment).`,
};

interface Context {
  paths: StatePaths;
  json: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
  backend: CryptoBackend;
}

interface Config {
  relayUrl?: string;
  appUrl?: string;
}

function readConfig(paths: StatePaths): Config {
  try {
    return JSON.parse(readFileSync(paths.config, "utf8")) as Config;
  } catch {
    return {};
  }
}

function writeConfig(paths: StatePaths, config: Config): void {
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  writeFileSync(paths.config, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
}

function checkUrl(url: string, flag: string): string {
  if (!/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(url)) throw new CliError(`${flag} must be an http(s) URL, got "${url}"`, Exit.USAGE);
  return url.replace(/\/$/, "");
}

function pickBackend(): CryptoBackend {
  return globalThis.crypto?.subtle ? webCryptoBackend : nobleBackend;
}

// ------------------------------------------------------------------ commands

async function cmdUp(ctx: Context, args: string[]): Promise<number> {
  // Work started without awaiting it: a failure is logged, never an unhandled rejection.
  const contain = (work: Promise<unknown>, what: string) => {
    work.catch((e: unknown) => ctx.err(`${what} failed: ${e instanceof Error ? e.message : String(e)}`));
  };
  // Everything after `--` is the agent's own command line (--agent acp).
  const dash = args.indexOf("--");
  const agentCommand = dash >= 0 ? args.slice(dash + 1) : [];
  const { values } = parseArgs({
    args: dash >= 0 ? args.slice(0, dash) : args,
    options: {
      relay: { type: "string" },
      agent: { type: "string", default: "demo" },
      workspace: { type: "string" },
      "app-url": { type: "string" },
      pair: { type: "boolean", default: false },
      yes: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (!(AGENT_NAMES as readonly string[]).includes(values.agent)) throw new CliError(`unknown agent "${values.agent}" (available: ${AGENT_NAMES.join(", ")})`, Exit.USAGE);
  const config = readConfig(ctx.paths);
  const relayUrl = checkUrl(values.relay ?? config.relayUrl ?? DEFAULT_RELAY, "--relay");
  // The app URL keeps a trailing slash: an app served under a path (https://x/airlock/) resolves its files against it.
  const appUrl = values["app-url"] ? (checkUrl(values["app-url"], "--app-url"), values["app-url"]) : config.appUrl;
  if (values.relay && values.relay !== config.relayUrl) writeConfig(ctx.paths, { ...config, relayUrl });
  const userPolicyFile = join(ctx.paths.home, "policy.json");
  // A broken user policy stops start-up: running with a looser one would be worse.
  try {
    await loadPolicy(userPolicyFile);
  } catch (e) {
    if (e instanceof PolicyError) throw new CliError(e.message, Exit.USAGE);
    throw e;
  }

  const { identity, created } = await loadOrCreateIdentity(ctx.paths.identity, ctx.backend);
  const devices = DeviceStore.open(ctx.paths.devices);
  const tokens = TokenStore.open(tokenStorePath(ctx.paths.home));
  const store = await EventStore.open(join(ctx.paths.home, "events"));
  const ledger = await CommandLedger.open<CommandOutcome>(join(ctx.paths.home, "commands.jsonl"));
  let made: ReturnType<typeof createAgent>;
  try {
    made = createAgent(values.agent, { home: ctx.paths.home, command: agentCommand, ...(values.workspace ? { workspace: resolve(values.workspace) } : {}) });
  } catch (e) {
    throw new CliError((e as Error).message, Exit.USAGE);
  }
  const { agent, workspace } = made;
  // Audit records wait up to 50 ms to share one write: the decision's own path gets the disk first.
  const auditLog = await AuditLog.open(join(ctx.paths.home, "audit.jsonl"), { batchDelayMs: 50 });
  const audit = (type: string, actor: AuditActor, data: Record<string, unknown>) =>
    void auditLog.append(type, actor, data).catch((e: unknown) => ctx.err(`audit log write failed: ${String(e)}`));
  const policyFor = async (cwd: string): Promise<Policy> => {
    try {
      // From the workspace root down to the cwd: a sub-folder's file can only tighten (workspace.ts).
      return await loadWorkspacePolicy(userPolicyFile, workspace, cwd);
    } catch (e) {
      // Fail closed: nothing is auto-allowed and only this terminal decides.
      ctx.err(`policy error, every request now needs this terminal: ${e instanceof Error ? e.message : String(e)}`);
      const strict = builtinPolicy();
      strict.defaults = { steer: "host-only", continue: "host-only", expand: "host-only", commit: "host-only" };
      return strict;
    }
  };
  const onHostOnly = (p: PendingApproval) =>
    ctx.json
      ? ctx.out(JSON.stringify({ type: "approval.host-only", approvalId: p.approvalId, tier: p.tier, rule: p.rule, action: p.evidence.action, cwd: p.evidence.cwd }))
      : ctx.out(`\nApproval needed at this terminal (${p.tier}, ${p.rule}):\n  ${p.evidence.action.split("\n").join("\n  ")}\n  in ${p.evidence.cwd}\n  ${airlockCommand(ctx.paths.home)} approve ${p.approvalId}   |   ${airlockCommand(ctx.paths.home)} deny ${p.approvalId}\n`);
  // Operational lines from the relay link, the push sender and the app server: on stderr for a
  // person, as {"type":"log"} JSON lines with --json (scripts and tests see them too).
  const operational = (source: string) => (line: string) =>
    ctx.json ? ctx.out(JSON.stringify({ type: "log", source, message: line })) : ctx.err(`  ${line}`);
  const link = new RelayLink({ relayUrl, signer: identity.signer, log: operational("relay") });
  // Push: subscriptions of trusted devices only (a device revoked while airlock up was not running is dropped here).
  let pushStore: PushStore;
  try {
    pushStore = PushStore.open(join(ctx.paths.home, "push.json"));
  } catch (e) {
    if (!(e instanceof PushStoreError)) throw e;
    ctx.err(`${e.message}: starting without push subscriptions (devices register again)`);
    pushStore = PushStore.empty(join(ctx.paths.home, "push.json"));
  }
  const isTrusted = (deviceId: string) => devices.list().some((d) => d.id === deviceId);
  pushStore.retainOnly(isTrusted);
  const push: PushNotifier = new PushNotifier({
    store: pushStore,
    transport: link,
    encrypt: (subscription, plaintext, options) => encryptWebPush(subscription, plaintext, options),
    host: { id: identity.roomId, name: hostname() },
    isTrusted,
    isWatching: (deviceId, threadId): boolean => app.watching(deviceId, threadId),
    audit,
    log: operational("push"),
  });
  const app: AppServer = new AppServer({
    store,
    ledger,
    agent,
    agentDataDir: join(ctx.paths.home, "agents", values.agent),
    workspace,
    policyFor,
    onHostOnly,
    hostCli: airlockCommand(ctx.paths.home),
    audit,
    log: operational("host"),
    push,
    tokens: new TokenScopes(tokens),
    hooks: { trustFile: join(ctx.paths.home, "hooks-trust.json") },
  });
  await app.start();
  const event = (type: string, fields: Record<string, unknown>, text: string) =>
    ctx.json ? ctx.out(JSON.stringify({ type, ...fields })) : ctx.out(text);
  if (created) event("identity.created", { path: ctx.paths.identity }, `Created host identity ${ctx.paths.identity}`);
  event("host", { room: identity.roomId, relay: relayUrl }, `Host ${identity.roomId} → relay ${relayUrl}`);

  // A pairing waiting for an operator: answered from this terminal or by `airlock pair`.
  let pairingWaiter: ((request: PairingRequest) => Promise<boolean>) | undefined;
  const core = new HostCore({
    identity,
    backend: ctx.backend,
    devices,
    tokens,
    transport: link,
    relayUrl,
    ...(appUrl ? { appUrl } : {}),
    confirmPairing: async (request) => {
      if (values.yes) return true;
      if (pairingWaiter) return pairingWaiter(request);
      if (process.stdin.isTTY) return askOperator(ctx, request);
      ctx.err(`Refused pairing from "${terminalSafe(request.deviceName)}": no one to confirm it (use ${airlockCommand(ctx.paths.home)} pair, or --yes)`);
      return false;
    },
    log: (line) => event("log", { message: line }, line),
    onSessionOpen: (conn) => contain(app.onSessionOpen(conn), "session start"),
    onPayload: (conn, payload) => contain(app.onPayload(conn, payload), "device message"),
    onSessionClosed: (conn) => app.onSessionClosed(conn),
    onRevoked: (device) => push.onRevoked(device.id),
    audit,
  });

  let fatal: number | undefined;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  link.on("state", (s) => {
    if (s.state === "online") event("relay.online", {}, "Relay: online");
    if (s.state === "offline") {
      core.onOffline();
      event("relay.offline", { retryInMs: s.retryInMs }, `Relay: offline${s.retryInMs !== undefined ? `, retrying in ${(s.retryInMs / 1000).toFixed(1)} s` : ""}`);
    }
  });
  link.on("welcome", (w) => {
    void core.onWelcome(w.allowlistVersion).catch((e: unknown) => ctx.err(`allowlist sync failed: ${String(e)}`));
    // Whether this relay can send pushes (its VAPID key), asked again at every connection.
    contain(fetchRelayPushSupport(relayUrl).then((support) => push.setRelaySupport(support)), "asking the relay about push");
    if (values.pair) {
      values.pair = false;
      contain(core.createPairing().then((p) => showPairing(ctx, p.link, p.expiresAt)), "creating the pairing link");
    }
  });
  link.on("deviceJoined", (d) => core.onDeviceJoined(d.slot, d.key));
  link.on("deviceLeft", (d) => core.onDeviceLeft(d.slot));
  link.on("frame", (f) => contain(core.onFrame(f.slot, f.frame), "device frame"));
  link.on("fatal", (f) => {
    fatal = f.code === 4003 ? Exit.REPLACED : Exit.ERROR;
    ctx.err(f.message);
    stop();
  });

  const server = await serveControl(controlSocketPath(ctx.paths.home), async (request, reply, incoming) => {
    if (request.type === "status") {
      reply({ type: "status", room: identity.roomId, relayUrl, devices: core.connections.map((c) => ({ slot: c.slot, id: c.device.id, name: c.device.name })) });
    } else if (request.type === "pair") {
      const ttl = typeof request.ttl === "number" ? request.ttl : undefined;
      const pairing = await core.createPairing(ttl);
      reply({ type: "link", link: pairing.link, expiresAt: pairing.expiresAt });
      const answers = incoming[Symbol.asyncIterator]();
      const outcome = await new Promise<ControlMessage>((resolve) => {
        const timer = setTimeout(() => resolve({ type: "expired" }), Math.max(0, pairing.expiresAt * 1000 - Date.now()) + 5000);
        pairingWaiter = async (req) => {
          reply({ type: "confirm", ...req });
          const answer = await answers.next();
          const ok = !answer.done && answer.value.type === "answer" && answer.value.ok === true;
          clearTimeout(timer);
          resolve(ok ? { type: "paired", deviceName: req.deviceName, deviceId: req.deviceId } : { type: "rejected" });
          return ok;
        };
      });
      pairingWaiter = undefined;
      reply(outcome);
    } else if (request.type === "approvals") {
      reply({ type: "approvals", approvals: app.broker.pendingApprovals(), questions: app.broker.pendingQuestions() });
    } else if (request.type === "decide" && typeof request.id === "string" && typeof request.decision === "string") {
      const prefix = request.id;
      const matches = app.broker.pendingApprovals().filter((p) => p.approvalId.startsWith(prefix));
      if (matches.length !== 1) {
        reply({ type: "error", code: "NOT_PENDING", message: matches.length === 0 ? `no waiting request ${prefix} (see ${airlockCommand(ctx.paths.home)} approvals)` : `${prefix} matches ${matches.length} requests; give more characters` });
        return;
      }
      const decision = request.decision === "approve_session" ? "approve_session" : request.decision === "approve_once" ? "approve_once" : "deny";
      const p = app.broker.decide(matches[0]!.approvalId, decision, { kind: "host" });
      reply({ type: "decided", approvalId: p.approvalId, decision, thread: p.threadId });
    } else if (request.type === "tokens.changed" && typeof request.event === "string" && /^token\.(created|revoked|rotated)$/.test(request.event)) {
      // airlock tokens changed tokens.json: enforce it now, and audit it here (the one writer of the audit log).
      const outcome = await core.tokensChanged();
      audit(request.event, { kind: "host" }, typeof request.data === "object" && request.data !== null ? (request.data as Record<string, unknown>) : {});
      reply({ type: "tokens.changed", ...outcome });
    } else if (request.type === "revoke" && typeof request.id === "string") {
      const { device, relayUpdated, relayError } = await core.revoke(request.id);
      reply({ type: "revoked", id: device.id, name: device.name, relayUpdated, ...(relayError ? { relayError } : {}) });
    } else {
      reply({ type: "error", message: `unknown request ${request.type}` });
    }
  });

  link.start();
  // First signal: stop cleanly. A second one while stopping: exit at once.
  let signalled = false;
  const onSignal = () => {
    if (signalled) process.exit(fatal ?? Exit.OK);
    signalled = true;
    stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // Last line of defence: a rejection nobody handled is a bug to log, not a
  // reason to drop every device session and the agent's running turns.
  const onUnhandled = (reason: unknown) => ctx.err(`internal error (unhandled rejection), still serving: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  process.on("unhandledRejection", onUnhandled);
  await stopped;
  process.off("unhandledRejection", onUnhandled);
  push.close();
  core.close();
  server.close();
  await link.stop();
  await app.close();
  await ledger.close();
  await store.close();
  await auditLog.close();
  event("stopped", {}, "Stopped.");
  return fatal ?? Exit.OK;
}

/**
 * Shows the device and its SAS and reads y/N from stdin (a terminal or a pipe;
 * with --json the request is a JSON line on stdout). End of input means no.
 */
async function askOperator(ctx: Context, request: PairingRequest): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    if (ctx.json) ctx.out(JSON.stringify({ type: "confirm", ...request }));
    else {
      ctx.err(`\nDevice "${terminalSafe(request.deviceName)}" (${request.deviceId}) wants to pair.`);
      ctx.err(`Pair only if your phone shows:  ${request.sas}`);
      process.stderr.write("Pair this device? [y/N] ");
    }
    const answer = await new Promise<string>((resolve) => {
      rl.once("line", resolve);
      rl.once("close", () => resolve(""));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

async function showPairing(ctx: Context, link: string, expiresAt: number): Promise<void> {
  if (ctx.json) {
    ctx.out(JSON.stringify({ type: "pairing", link, expiresAt }));
    return;
  }
  const until = new Date(expiresAt * 1000).toLocaleTimeString();
  if (loopbackLink(link)) {
    // A phone cannot reach 127.0.0.1: a QR code would only send it nowhere.
    ctx.out(`\nOpen this link in a browser on this machine (valid until ${until}):\n${link}\n`);
    ctx.out("A phone cannot reach this relay: it listens on loopback only. To pair a phone, run a relay it can reach (your own deployment: docs/operations.md) and start airlock up with --relay https://…");
  } else {
    const qr = await QRCode.toString(link, { type: "terminal", small: true, errorCorrectionLevel: "L" });
    ctx.out(`\nScan with your phone's camera (valid until ${until}):\n${qr}`);
    ctx.out(`Or open this link on the phone:\n${link}\n`);
  }
  ctx.out("Anyone with this link can ask to pair until it is used or expires: keep it to yourself.");
}

/** Whether the link's app or relay is on loopback (127.0.0.0/8, localhost, ::1): reachable from this machine only. */
function loopbackLink(link: string): boolean {
  try {
    const app = new URL(link);
    const relay = new URLSearchParams(app.hash.slice(1)).get("relay");
    const hosts = [app.hostname, relay ? new URL(relay).hostname : ""];
    return hosts.some((h) => h === "localhost" || h === "[::1]" || /^127\./.test(h));
  } catch {
    return false;
  }
}

async function cmdPair(ctx: Context, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ttl: { type: "string" }, yes: { type: "boolean", default: false } }, strict: true });
  const ttl = values.ttl === undefined ? undefined : Number(values.ttl);
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1 || ttl > 3600)) throw new CliError("--ttl must be 1..3600 seconds", Exit.USAGE);
  const control = await connectControl(controlSocketPath(ctx.paths.home));
  if (!control) throw new CliError(`airlock up is not running: start it (${airlockCommand(ctx.paths.home)} up), or use ${airlockCommand(ctx.paths.home)} up --pair`, Exit.NOT_FOUND);
  try {
    control.send({ type: "pair", ...(ttl ? { ttl } : {}) });
    for (;;) {
      const next = await control.messages.next();
      if (next.done) throw new CliError("airlock up stopped before the pairing finished", Exit.PAIRING_FAILED);
      const m = next.value;
      if (m.type === "link") await showPairing(ctx, String(m.link), Number(m.expiresAt));
      else if (m.type === "confirm") {
        const request = { deviceName: String(m.deviceName), deviceId: String(m.deviceId), sas: String(m.sas) };
        const ok = values.yes || (await askOperator(ctx, request));
        control.send({ type: "answer", ok });
      } else if (m.type === "paired") {
        ctx.out(ctx.json ? JSON.stringify(m) : `Paired "${terminalSafe(String(m.deviceName))}" (${String(m.deviceId)}).`);
        return Exit.OK;
      } else if (m.type === "rejected" || m.type === "expired") {
        ctx.out(ctx.json ? JSON.stringify(m) : m.type === "expired" ? "The pairing link expired." : "Pairing rejected.");
        return Exit.PAIRING_FAILED;
      } else if (m.type === "error") throw new CliError(String(m.message), Exit.ERROR);
    }
  } finally {
    control.close();
  }
}

async function cmdDevices(ctx: Context, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const store = DeviceStore.open(ctx.paths.devices);
  if (sub === undefined) {
    const list = store.list();
    if (ctx.json) ctx.out(JSON.stringify(list.map(({ id, name, key, pairedAt, lastSeen }) => ({ id, name, key, pairedAt, lastSeen: lastSeen ?? null }))));
    else if (list.length === 0) ctx.out(`No trusted devices. Pair one with: ${airlockCommand(ctx.paths.home)} pair`);
    else {
      const rows = list.map((d) => [d.id, terminalSafe(d.name), d.pairedAt.slice(0, 16).replace("T", " "), d.lastSeen ? d.lastSeen.slice(0, 16).replace("T", " ") : "never"]);
      const header = ["ID", "NAME", "PAIRED", "LAST SEEN"];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const r of [header, ...rows]) ctx.out(r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
    }
    return Exit.OK;
  }
  if (sub === "rename") {
    const [id, ...nameParts] = rest;
    if (!id || nameParts.length === 0) throw new CliError("usage: airlock devices rename ID NAME", Exit.USAGE);
    const device = store.rename(id, nameParts.join(" "));
    ctx.out(ctx.json ? JSON.stringify(device) : `Renamed ${device.id} to "${terminalSafe(device.name)}".`);
    return Exit.OK;
  }
  if (sub === "revoke") {
    const [id] = rest;
    if (!id) throw new CliError("usage: airlock devices revoke ID", Exit.USAGE);
    const control = await connectControl(controlSocketPath(ctx.paths.home));
    if (control) {
      control.send({ type: "revoke", id });
      const answer = await control.messages.next();
      control.close();
      if (answer.done || answer.value.type !== "revoked") throw new CliError(answer.done ? "airlock up did not answer" : String(answer.value.message), Exit.ERROR);
      const relayNote = answer.value.relayUpdated === false ? ` The relay could not be told yet (${String(answer.value.relayError)}); airlock up keeps retrying, and refuses the device meanwhile.` : "";
      ctx.out(ctx.json ? JSON.stringify(answer.value) : `Revoked ${String(answer.value.id)} ("${terminalSafe(String(answer.value.name))}"); its sessions were closed.${relayNote}`);
      return Exit.OK;
    }
    const device = store.remove(id);
    store.nextAllowlistVersion(); // the relay learns the new list when airlock up next connects
    try {
      PushStore.open(join(ctx.paths.home, "push.json")).remove(device.id);
    } catch {
      // an unreadable push.json: airlock up drops subscriptions of untrusted devices when it starts
    }
    ctx.out(ctx.json ? JSON.stringify({ type: "revoked", id: device.id, name: device.name, relayUpdated: false }) : `Revoked ${device.id} ("${terminalSafe(device.name)}"). airlock up is not running: the relay is updated when it next connects.`);
    return Exit.OK;
  }
  throw new CliError(`unknown devices command "${sub}"\n\n${HELP.devices}`, Exit.USAGE);
}

async function cmdAudit(ctx: Context, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const file = join(ctx.paths.home, "audit.jsonl");
  if (sub === "verify") {
    const result = await verifyAuditLog(file);
    if (ctx.json) ctx.out(JSON.stringify(result));
    else if (result.ok) ctx.out(`Audit log intact: ${result.records} records, chain head ${result.lastHash.slice(0, 16)}…`);
    else ctx.out(`AUDIT LOG DAMAGED: ${result.problem} at line ${result.line}: ${result.detail}`);
    return result.ok ? Exit.OK : Exit.ERROR;
  }
  if (sub === "tail") {
    const { values } = parseArgs({ args: rest, options: { n: { type: "string", short: "n", default: "20" } }, strict: true });
    const n = Number(values.n);
    if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new CliError("-n must be 1..10000", Exit.USAGE);
    const records = await tailAuditLog(file, n);
    if (ctx.json) ctx.out(JSON.stringify(records));
    else
      for (const r of records) {
        const who = r.actor.name ?? r.actor.id ?? r.actor.kind;
        ctx.out(`${new Date(r.at).toISOString()}  #${r.seq}  ${r.type.padEnd(18)} ${who}  ${JSON.stringify(r.data).slice(0, 120)}`);
      }
    return Exit.OK;
  }
  throw new CliError(`usage: airlock audit verify | airlock audit tail [-n N]`, Exit.USAGE);
}

async function cmdApprovals(ctx: Context, args: string[]): Promise<number> {
  parseArgs({ args, options: {}, strict: true });
  const control = await connectControl(controlSocketPath(ctx.paths.home));
  if (!control) throw new CliError("airlock up is not running: nothing can be waiting", Exit.NOT_FOUND);
  try {
    control.send({ type: "approvals" });
    const answer = await control.messages.next();
    if (answer.done || answer.value.type !== "approvals") throw new CliError("airlock up did not answer", Exit.ERROR);
    const approvals = answer.value.approvals as PendingApproval[];
    const questions = answer.value.questions as { questionId: string; threadId: string; text: string }[];
    if (ctx.json) {
      ctx.out(JSON.stringify({ approvals, questions }));
      return Exit.OK;
    }
    if (approvals.length === 0 && questions.length === 0) ctx.out("Nothing is waiting for a decision.");
    for (const p of approvals) {
      const e = p.evidence;
      const flags = Object.entries(e.flags).filter(([, v]) => v).map(([k]) => k);
      ctx.out(`${p.approvalId}  ${p.tier.toUpperCase()} (${p.rule})  ${p.where === "host-only" ? "only this terminal may decide" : "any paired device may decide"}`);
      ctx.out(`  ${p.type === "command" ? "run" : p.type === "file_change" ? "change" : "allow"}: ${e.action.split("\n").join("\n    ")}`);
      ctx.out(`  in ${e.cwd} on ${e.host}`);
      if (e.reason) ctx.out(`  why: ${e.reason}`);
      if (e.sideEffects) ctx.out(`  effects: ${e.sideEffects}`);
      if (flags.length) ctx.out(`  flags: ${flags.join(", ")}`);
      if (e.filesChanged.length) ctx.out(`  files changed so far: ${e.filesChanged.join(", ")}`);
      if (e.checksRun.length) ctx.out(`  checks: ${e.checksRun.map((c) => `${c.name} ${c.status}`).join("; ")}`);
      if (e.next) ctx.out(`  next: ${e.next}`);
      ctx.out(`  expires ${new Date(p.expiresAt).toLocaleTimeString()}; answer: ${airlockCommand(ctx.paths.home)} approve ${p.approvalId} [--session] | ${airlockCommand(ctx.paths.home)} deny ${p.approvalId}\n`);
    }
    for (const q of questions) ctx.out(`${q.questionId}  question in ${q.threadId}: ${q.text} (answer it from a device)`);
    return Exit.OK;
  } finally {
    control.close();
  }
}

async function cmdDecide(ctx: Context, command: "approve" | "deny", args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { session: { type: "boolean", default: false } }, allowPositionals: true, strict: true });
  const [id] = positionals;
  if (!id || positionals.length > 1) throw new CliError(`usage: airlock ${command} ID${command === "approve" ? " [--session]" : ""}`, Exit.USAGE);
  if (command === "deny" && values.session) throw new CliError("--session only applies to approve", Exit.USAGE);
  const control = await connectControl(controlSocketPath(ctx.paths.home));
  if (!control) throw new CliError("airlock up is not running: nothing can be waiting", Exit.NOT_FOUND);
  try {
    const decision = command === "deny" ? "deny" : values.session ? "approve_session" : "approve_once";
    control.send({ type: "decide", id, decision });
    const answer = await control.messages.next();
    if (answer.done) throw new CliError("airlock up did not answer", Exit.ERROR);
    const m = answer.value;
    if (m.type !== "decided") throw new CliError(String(m.message ?? "refused"), m.code === "NOT_PENDING" ? Exit.NOT_FOUND : Exit.ERROR);
    ctx.out(ctx.json ? JSON.stringify(m) : `${decision === "deny" ? "Denied" : "Approved"} ${String(m.approvalId)}${decision === "approve_session" ? " for the session" : ""}.`);
    return Exit.OK;
  } finally {
    control.close();
  }
}

async function cmdStats(ctx: Context, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { days: { type: "string" } }, strict: true });
  const days = values.days === undefined ? undefined : Number(values.days);
  if (days !== undefined && (!Number.isFinite(days) || days <= 0 || days > 3650)) throw new CliError("--days must be a positive number of days", Exit.USAGE);
  const records = await tailAuditLog(join(ctx.paths.home, "audit.jsonl"), Number.MAX_SAFE_INTEGER);
  const since = days === undefined ? undefined : Date.now() - days * 86_400_000;
  const stats = approvalStats(records, since);
  const tokens = tokenUsage(records, since);
  ctx.out(ctx.json ? JSON.stringify({ ...stats, tokens }) : formatStats(stats) + formatTokenUsage(tokens));
  return Exit.OK;
}

async function relayInfo(relayUrl: string): Promise<{ ok: true; protocol: number; version: string } | { ok: false; error: string }> {
  try {
    const res = await fetch(`${relayUrl}/v1/info`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return { ok: false, error: `HTTP ${res.status}` };
    const body = (await res.json()) as { protocol?: unknown; version?: unknown };
    return { ok: true, protocol: Number(body.protocol), version: String(body.version) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

async function cmdStatus(ctx: Context): Promise<number> {
  const config = readConfig(ctx.paths);
  const relayUrl = config.relayUrl ?? DEFAULT_RELAY;
  let room: string | null = null;
  try {
    room = (await loadIdentity(ctx.paths.identity, ctx.backend)).roomId;
  } catch (e) {
    if (!(e instanceof IdentityError) || e.code !== "IDENTITY_MISSING") throw e;
  }
  const devices = DeviceStore.open(ctx.paths.devices).list();
  const control = await connectControl(controlSocketPath(ctx.paths.home));
  let running: ControlMessage | null = null;
  if (control) {
    control.send({ type: "status" });
    const answer = await control.messages.next();
    control.close();
    running = answer.done ? null : answer.value;
  }
  const relay = await relayInfo(relayUrl);
  // Tokens that stop working within a week: time to rotate them (airlock tokens rotate).
  let expiring: ReturnType<TokenStore["expiringSoon"]> = [];
  try {
    expiring = TokenStore.open(tokenStorePath(ctx.paths.home)).expiringSoon(7 * 86_400_000);
  } catch (e) {
    ctx.err(`Warning: ${e instanceof Error ? e.message : String(e)}: token expiry not checked`);
  }
  const tokenWarnings = expiring.map((t) => ({ id: t.id, name: t.name, owner: t.owner, expiresAt: t.expiresAt }));
  const status = { home: ctx.paths.home, room, relayUrl, relay, running: running !== null, connected: running?.devices ?? [], trustedDevices: devices.length, expiringTokens: tokenWarnings };
  if (ctx.json) ctx.out(JSON.stringify(status));
  else {
    ctx.out(`Identity:  ${room ? `room ${room}` : "none yet (airlock up creates it)"}`);
    ctx.out(`Relay:     ${relayUrl} — ${relay.ok ? `reachable (protocol ${relay.protocol})` : `unreachable: ${relay.error}`}`);
    ctx.out(`Agent:     ${running ? "airlock up is running" : "airlock up is not running"}`);
    ctx.out(`Devices:   ${devices.length} trusted${running ? `, ${(running.devices as unknown[]).length} connected` : ""}`);
    for (const t of expiring) {
      const days = Math.max(0, Math.ceil((Date.parse(t.expiresAt) - Date.now()) / 86_400_000));
      ctx.out(`Warning:   token "${terminalSafe(t.name)}" (${t.id}, owner ${terminalSafe(t.owner)}) expires in ${days} day${days === 1 ? "" : "s"} (${t.expiresAt.slice(0, 16).replace("T", " ")}): ${airlockCommand(ctx.paths.home)} tokens rotate ${t.id}`);
    }
  }
  return Exit.OK;
}

async function cmdDoctor(ctx: Context, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { relay: { type: "string" } }, strict: true });
  const checks: Array<{ name: string; ok: boolean; detail: string }> = [];
  // The room to probe: this host's own, or (before the first airlock up) a throwaway one.
  let room = roomIdFor(secureRandom(32));
  try {
    const identity = await loadIdentity(ctx.paths.identity, ctx.backend);
    room = identity.roomId;
    checks.push({ name: "identity", ok: true, detail: `${ctx.paths.identity} (room ${identity.roomId}, mode 0600)` });
  } catch (e) {
    const missing = e instanceof IdentityError && e.code === "IDENTITY_MISSING";
    checks.push({ name: "identity", ok: missing, detail: missing ? "not created yet; airlock up creates it" : (e as Error).message });
  }
  const relayUrl = values.relay ? checkUrl(values.relay, "--relay") : (readConfig(ctx.paths).relayUrl ?? DEFAULT_RELAY);
  checks.push(...(await checkRelay(relayUrl, room)));
  const agents = agentChecks();
  // Informational: an agent that is not installed does not fail the doctor (the demo always runs).
  checks.push({ name: "agent", ok: true, detail: agents.map((a) => `${a.name}: ${a.ok ? "" : "unavailable, "}${a.detail}`).join("; ") });
  checks.push({ name: "crypto", ok: true, detail: `${ctx.backend.name} backend, Node ${process.version}` });
  if (ctx.json) ctx.out(JSON.stringify({ ok: checks.every((c) => c.ok), checks }));
  else for (const c of checks) ctx.out(`${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(8)} ${c.detail}`);
  return checks.every((c) => c.ok) ? Exit.OK : checks.find((c) => (c.name === "relay" || c.name === "upgrade" || c.name === "admission") && !c.ok) ? Exit.RELAY_UNREACHABLE : Exit.ERROR;
}

// ------------------------------------------------------------------ entry

export async function main(argv: string[], io: { out?: (s: string) => void; err?: (s: string) => void } = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(s + "\n"));
  const err = io.err ?? ((s: string) => process.stderr.write(s + "\n"));
  const global = { home: undefined as string | undefined, json: false, help: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--home") global.home = argv[++i];
    else if (a.startsWith("--home=")) global.home = a.slice(7);
    else if (a === "--json") global.json = true;
    else if (a === "-h" || a === "--help") global.help = true;
    else if (a === "--version") {
      out(VERSION);
      return Exit.OK;
    } else rest.push(a);
  }
  const [command, ...args] = rest;
  if (!command || (global.help && !HELP[command])) {
    out(HELP.main!);
    return command ? Exit.USAGE : global.help ? Exit.OK : Exit.USAGE;
  }
  if (global.help) {
    out(HELP[command]!);
    return Exit.OK;
  }
  const ctx: Context = { paths: statePaths(global.home ?? airlockHome()), json: global.json, out, err, backend: pickBackend() };
  try {
    switch (command) {
      case "up":
        return await cmdUp(ctx, args);
      case "pair":
        return await cmdPair(ctx, args);
      case "devices":
        return await cmdDevices(ctx, args);
      case "status":
        return await cmdStatus(ctx);
      case "doctor":
        return await cmdDoctor(ctx, args);
      case "audit":
        return await cmdAudit(ctx, args);
      case "approvals":
        return await cmdApprovals(ctx, args);
      case "approve":
      case "deny":
        return await cmdDecide(ctx, command, args);
      case "stats":
        return await cmdStats(ctx, args);
      case "tokens":
        return await tokensCommand(
          { home: ctx.paths.home, json: ctx.json, out: ctx.out, err: ctx.err, backend: ctx.backend, relayUrl: readConfig(ctx.paths).relayUrl ?? DEFAULT_RELAY, cli: airlockCommand(ctx.paths.home) },
          args,
        );
      case "hooks":
        try {
          return await hooksCommand({ home: ctx.paths.home, json: ctx.json, out }, args);
        } catch (e) {
          if (e instanceof HooksCliError) throw new CliError(e.message, e.usage ? Exit.USAGE : Exit.ERROR);
          throw e;
        }
      default:
        err(`unknown command "${command}"\n`);
        out(HELP.main!);
        return Exit.USAGE;
    }
  } catch (e) {
    if (e instanceof CliError || e instanceof TokenCliError) {
      err(`airlock: ${e.message}`);
      return e.exitCode;
    }
    if (e instanceof TokenStoreError) {
      err(`airlock: ${e.message}`);
      return e.code === "TOKEN_NOT_FOUND" || e.code === "TOKEN_AMBIGUOUS" ? Exit.NOT_FOUND : e.code === "BAD_TOKEN_ARGUMENT" ? Exit.USAGE : Exit.ERROR;
    }
    if (e instanceof IdentityError) {
      err(`airlock: ${e.message}`);
      return Exit.IDENTITY;
    }
    if (e instanceof DeviceStoreError) {
      err(`airlock: ${e.message}`);
      return e.code === "DEVICE_NOT_FOUND" || e.code === "DEVICE_AMBIGUOUS" ? Exit.NOT_FOUND : Exit.ERROR;
    }
    if (e instanceof TypeError && "code" in e && String((e as { code: unknown }).code).startsWith("ERR_PARSE_ARGS")) {
      err(`airlock: ${e.message}\n\n${HELP[command] ?? ""}`);
      return Exit.USAGE;
    }
    err(`airlock: ${e instanceof Error ? e.message : String(e)}`);
    return Exit.ERROR;
  }
}

export const hostInfo = { name: hostname(), platform: platform() };
