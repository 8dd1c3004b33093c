// The host side of the pipeline benchmark, in its own process (as `airlock up`
// runs apart from the phone): the real host stack wired like `airlock up` does
// (event store, command ledger, audit log, device store, HostCore, AppServer,
// RelayLink) with a scripted agent in place of a model. The parent
// (bench/pipeline.bench.ts) talks to it over IPC: "pair" → a pairing link,
// "stop" → close everything and exit.
//
// The scripted agent goes through the real Agent interface and reacts to prompts:
//   approvals N [THINK]     N command approvals one after another; each ask carries its
//                           creation time (wall clock, µs) in `reason`; on the verdict it
//                           acts at once (command.started), then finishes the command, and
//                           thinks THINK ms (default 0) before asking again, as a model does
//                           between one command and the next request (for seconds)
//   stream delta N SIZE     N message.delta events of SIZE bytes, then message.completed
//   stream output N SIZE    N command.output chunks of SIZE bytes, then command.finished
//   … RATE                  (optional) at most RATE events a second, in bursts every 10 ms
// Streams emit as Codex's adapter does: without waiting for each emit (at most
// WINDOW in flight), so the host sees events arrive together.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { nobleBackend, type ModelInfo, type ThreadEvent } from "../protocol/src/index.ts";
import { nodeCryptoBackend } from "../protocol/src/node/backend-node.ts";
import type { Agent, AgentHost, AgentStartContext, AgentThreadInfo, StartThreadOptions } from "../host-agent/src/agent.ts";
import { AppServer, type CommandOutcome } from "../host-agent/src/app-server.ts";
import { AuditLog } from "../host-agent/src/audit/audit-log.ts";
import { CommandLedger } from "../host-agent/src/command-ledger.ts";
import { DeviceStore } from "../host-agent/src/device-store.ts";
import { EventStore } from "../host-agent/src/event-store.ts";
import { HostCore } from "../host-agent/src/host-core.ts";
import { loadOrCreateIdentity } from "../host-agent/src/identity.ts";
import { builtinPolicy } from "../host-agent/src/policy/policy-file.ts";
import { RelayLink } from "../host-agent/src/relay-link.ts";
import { streamChunk, wallNow } from "./pipeline-shared.ts";

const WINDOW = 256;

class ScriptedAgent implements Agent {
  readonly info = { kind: "bench", label: "Scripted benchmark agent" };
  #host!: AgentHost;
  #cwd: string;
  #turns = 0;
  #items = 0;
  #running = new Set<Promise<void>>();

  constructor(cwd: string) {
    this.#cwd = cwd;
  }

  async start(context: AgentStartContext): Promise<void> {
    this.#host = context.host;
  }
  async listModels(): Promise<ModelInfo[]> {
    return [];
  }
  async listThreads(): Promise<AgentThreadInfo[]> {
    return [];
  }
  async readThread(): Promise<ThreadEvent[]> {
    return [];
  }
  async startThread(threadId: string, prompt: string, _options: StartThreadOptions): Promise<void> {
    this.#turn(threadId, prompt);
  }
  async resumeThread(): Promise<void> {}
  async sendMessage(threadId: string, text: string): Promise<void> {
    this.#turn(threadId, text);
  }
  async steer(threadId: string, text: string): Promise<void> {
    this.#turn(threadId, text);
  }
  async interrupt(): Promise<void> {}
  async setSettings(): Promise<void> {}
  async close(): Promise<void> {
    await Promise.allSettled([...this.#running]);
  }

  #turn(threadId: string, prompt: string): void {
    const run = this.#script(threadId, prompt, `turn_${++this.#turns}`).catch((e: unknown) => this.#host.log(`bench turn failed: ${String(e)}`));
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
  }

  async #script(threadId: string, prompt: string, turnId: string): Promise<void> {
    const host = this.#host;
    await host.status(threadId, "running");
    await host.emit(threadId, { kind: "turn.status", turnId, status: "started" });
    const [verb, kind, countText, sizeText, rateText] = prompt.split(" ");
    if (verb === "approvals") {
      const n = Number(kind);
      const thinkMs = Number(countText ?? 0);
      for (let i = 0; i < n; i++) {
        const itemId = `c${++this.#items}`;
        const command = `echo ${i}`;
        if (i > 0 && thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, thinkMs));
        const verdict = await host.requestApproval(threadId, {
          type: "command",
          turnId,
          itemId,
          command,
          cwd: this.#cwd,
          reason: `created-at ${wallNow().toFixed(3)}`,
        });
        // Acting on the verdict is the first thing the agent does.
        const acted = host.emit(threadId, { kind: "command.started", itemId, command, cwd: this.#cwd });
        await host.emit(threadId, { kind: "command.finished", itemId, exitCode: verdict.decision === "deny" ? 1 : 0, durationMs: 0 });
        await acted;
      }
    } else if (verb === "stream") {
      const n = Number(countText);
      const size = Number(sizeText);
      const itemId = `s${++this.#items}`;
      if (kind === "output") await host.emit(threadId, { kind: "command.started", itemId, command: "bench-output", cwd: this.#cwd });
      const inflight: Promise<void>[] = [];
      let text = "";
      const perTick = rateText ? Math.max(1, Math.round(Number(rateText) / 100)) : 0;
      const started = performance.now();
      for (let i = 0; i < n; i++) {
        if (perTick && i > 0 && i % perTick === 0) {
          const due = started + (i / perTick) * 10;
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
        }
        const chunk = streamChunk(i, size);
        const event: ThreadEvent =
          kind === "output" ? { kind: "command.output", itemId, stream: "stdout", chunk } : { kind: "message.delta", itemId, text: chunk };
        if (kind !== "output") text += chunk.length <= 64 ? chunk : "";
        inflight.push(host.emit(threadId, event));
        if (inflight.length >= WINDOW) await inflight.shift();
      }
      await Promise.all(inflight);
      if (kind === "output") await host.emit(threadId, { kind: "command.finished", itemId, exitCode: 0, durationMs: 0 });
      else await host.emit(threadId, { kind: "message.completed", itemId, text: text.slice(0, 65536) });
    }
    await host.emit(threadId, { kind: "turn.status", turnId, status: "completed" });
    await host.status(threadId, "idle");
  }
}

async function main(relayUrl: string, home: string): Promise<void> {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const workspace = join(home, "ws");
  mkdirSync(workspace, { recursive: true });
  const { identity } = await loadOrCreateIdentity(join(home, "identity.json"), nobleBackend);
  const devices = DeviceStore.open(join(home, "devices.json"));
  const store = await EventStore.open(join(home, "events"));
  const ledger = await CommandLedger.open<CommandOutcome>(join(home, "commands.jsonl"));
  const auditLog = await AuditLog.open(join(home, "audit.jsonl"), { batchDelayMs: 50 }); // as `airlock up` does
  const log = (line: string) => process.stderr.write(`[pipeline host] ${line}\n`);
  const audit = (type: string, actor: Parameters<AuditLog["append"]>[1], data: Record<string, unknown>) =>
    void auditLog.append(type, actor, data).catch((e: unknown) => log(`audit log write failed: ${String(e)}`));
  // Every command asks a device (nothing automatic), with no timeout within a run.
  const policy = builtinPolicy();
  policy.defaults = { steer: "ask", continue: "ask", expand: "ask", commit: "ask" };
  policy.timeoutSeconds = 3600;
  const agent = new ScriptedAgent(workspace);
  const app = new AppServer({ store, ledger, agent, agentDataDir: join(home, "agent"), workspace, policyFor: async () => policy, audit, log });
  await app.start();
  const link = new RelayLink({ relayUrl, signer: identity.signer, log });
  const core = new HostCore({
    identity,
    backend: nodeCryptoBackend, // as `airlock up` picks (webcrypto keys, node:crypto frames)
    devices,
    transport: link,
    relayUrl,
    confirmPairing: async () => true,
    log,
    onSessionOpen: (conn) => void app.onSessionOpen(conn).catch((e: unknown) => log(String(e))),
    onPayload: (conn, payload) => void app.onPayload(conn, payload).catch((e: unknown) => log(String(e))),
    onSessionClosed: (conn) => app.onSessionClosed(conn),
    audit,
  });
  let welcome!: () => void;
  const welcomed = new Promise<void>((resolve) => (welcome = resolve));
  link.on("welcome", (w) => {
    welcome();
    void core.onWelcome(w.allowlistVersion).catch((e: unknown) => log(`allowlist: ${String(e)}`));
  });
  link.on("deviceJoined", (d) => core.onDeviceJoined(d.slot, d.key));
  link.on("deviceLeft", (d) => core.onDeviceLeft(d.slot));
  link.on("frame", (f) => void core.onFrame(f.slot, f.frame).catch((e: unknown) => log(String(e))));
  link.on("fatal", (f) => log(`fatal: ${f.message}`));
  link.start();
  await welcomed;
  process.on("message", (m: { type: string }) => {
    if (m.type === "pair") {
      core.createPairing().then(
        (p) => process.send!({ type: "link", link: p.link }),
        (e: unknown) => process.send!({ type: "error", message: String(e) }),
      );
    } else if (m.type === "stop") {
      void (async () => {
        core.close();
        await link.stop();
        await app.close();
        await ledger.close();
        await store.close();
        await auditLog.close();
        process.send!({ type: "stopped" }, () => process.exit(0));
      })().catch((e: unknown) => {
        log(`stop failed: ${String(e)}`);
        process.exit(1);
      });
    }
  });
  process.send!({ type: "ready" });
}

if (process.send) {
  const [relayUrl, home] = process.argv.slice(2);
  main(relayUrl!, home!).catch((e: unknown) => {
    process.stderr.write(`[pipeline host] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
