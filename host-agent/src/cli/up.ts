// `airlock up`: the running host. It connects out to the relay (RelayLink),
// serves paired devices (HostCore: pairing, sessions, the allowlist), drives the
// agent through the app server (AppServer: threads, approvals, the event store),
// sends push notifications, and answers the other commands on the control
// socket (up-control.ts) until a signal or a fatal relay close stops it.
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { RelayClose } from "@airlock/protocol";
import { encryptWebPush } from "@airlock/protocol/web-push";
import { AGENT_NAMES, createAgent } from "../agents/index.ts";
import { AppServer, type CommandOutcome } from "../app-server.ts";
import type { PendingApproval } from "../approvals/broker.ts";
import { AuditLog, type AuditActor } from "../audit/audit-log.ts";
import { CommandLedger } from "../command-ledger.ts";
import { controlSocketPath, serveControl } from "../control.ts";
import { DeviceStore } from "../device-store.ts";
import { EventStore } from "../event-store.ts";
import { airlockCommand } from "../hint.ts";
import { HostCore, type PairingRequest } from "../host-core.ts";
import { loadOrCreateIdentity } from "../identity.ts";
import { builtinPolicy, loadPolicy, PolicyError, type Policy } from "../policy/policy-file.ts";
import { PushNotifier } from "../push/notifier.ts";
import { PushStore, PushStoreError } from "../push/push-store.ts";
import { fetchRelayPushSupport } from "../push/relay-info.ts";
import { RelayLink } from "../relay-link.ts";
import { terminalSafe } from "../terminal-text.ts";
import { tokenStorePath } from "../tokens/token-cli.ts";
import { TokenScopes } from "../tokens/token-scope.ts";
import { TokenStore } from "../tokens/token-store.ts";
import { loadWorkspacePolicy } from "../workspace.ts";
import { checkUrl, CliError, DEFAULT_RELAY, Exit, readConfig, writeConfig, type Context } from "./context.ts";
import { askOperator, showPairing } from "./pairing-display.ts";
import { upControlHandler } from "./up-control.ts";
import { messageOf } from "../error-message.ts";

export async function cmdUp(ctx: Context, args: string[]): Promise<number> {
  // Work started without awaiting it: a failure is logged, never an unhandled rejection.
  const contain = (work: Promise<unknown>, what: string) => {
    work.catch((e: unknown) => ctx.err(`${what} failed: ${messageOf(e)}`));
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
  if (!(AGENT_NAMES as readonly string[]).includes(values.agent))
    throw new CliError("USAGE", `unknown agent "${values.agent}" (available: ${AGENT_NAMES.join(", ")})`);
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
    if (e instanceof PolicyError) throw new CliError("USAGE", e.message);
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
    throw new CliError("USAGE", (e as Error).message);
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
      ctx.err(`policy error, every request now needs this terminal: ${messageOf(e)}`);
      const strict = builtinPolicy();
      strict.defaults = { steer: "host-only", continue: "host-only", expand: "host-only", commit: "host-only" };
      return strict;
    }
  };
  const onHostOnly = (p: PendingApproval) =>
    ctx.json
      ? ctx.out(
          JSON.stringify({ type: "approval.host-only", approvalId: p.approvalId, tier: p.tier, rule: p.rule, action: p.evidence.action, cwd: p.evidence.cwd }),
        )
      : ctx.out(
          `\nApproval needed at this terminal (${p.tier}, ${p.rule}):\n  ${p.evidence.action.split("\n").join("\n  ")}\n  in ${p.evidence.cwd}\n  ${airlockCommand(ctx.paths.home)} approve ${p.approvalId}   |   ${airlockCommand(ctx.paths.home)} deny ${p.approvalId}\n`,
        );
  // Operational lines from the relay link, the push sender and the app server: on stderr for a
  // person, as {"type":"log"} JSON lines with --json (scripts and tests see them too).
  const operational = (source: string) => (line: string) => (ctx.json ? ctx.out(JSON.stringify({ type: "log", source, message: line })) : ctx.err(`  ${line}`));
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
  const event = (type: string, fields: Record<string, unknown>, text: string) => (ctx.json ? ctx.out(JSON.stringify({ type, ...fields })) : ctx.out(text));
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
      event(
        "relay.offline",
        { retryInMs: s.retryInMs },
        `Relay: offline${s.retryInMs !== undefined ? `, retrying in ${(s.retryInMs / 1000).toFixed(1)} s` : ""}`,
      );
    }
  });
  link.on("welcome", (w) => {
    void core.onWelcome(w.allowlistVersion).catch((e: unknown) => ctx.err(`allowlist sync failed: ${String(e)}`));
    // Whether this relay can send pushes (its VAPID key), asked again at every connection.
    contain(
      fetchRelayPushSupport(relayUrl).then((support) => push.setRelaySupport(support)),
      "asking the relay about push",
    );
    if (values.pair) {
      values.pair = false;
      contain(
        core.createPairing().then((p) => showPairing(ctx, p.link, p.expiresAt)),
        "creating the pairing link",
      );
    }
  });
  link.on("deviceJoined", (d) => core.onDeviceJoined(d.slot, d.key));
  link.on("deviceLeft", (d) => core.onDeviceLeft(d.slot));
  link.on("frame", (f) => contain(core.onFrame(f.slot, f.frame), "device frame"));
  link.on("fatal", (f) => {
    fatal = f.code === RelayClose.REPLACED ? Exit.REPLACED : Exit.ERROR;
    ctx.err(f.message);
    stop();
  });

  const server = await serveControl(
    controlSocketPath(ctx.paths.home),
    upControlHandler({
      room: identity.roomId,
      relayUrl,
      core,
      app,
      audit,
      hostCli: airlockCommand(ctx.paths.home),
      setPairingWaiter: (w) => (pairingWaiter = w),
    }),
  );

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
  const onUnhandled = (reason: unknown) =>
    ctx.err(`internal error (unhandled rejection), still serving: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
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
