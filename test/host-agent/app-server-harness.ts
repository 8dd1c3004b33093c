// An in-process host for app-server tests: a real AppServer with the demo
// agent, a real event store and command ledger in a temp folder (removed after
// the file's tests), and in-process devices that decode what the host sends.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AppServer, type CommandOutcome } from "../../host-agent/src/app-server.ts";
import { DemoAgent } from "../../host-agent/src/agents/demo.ts";
import { CommandLedger } from "../../host-agent/src/command-ledger.ts";
import { EventStore } from "../../host-agent/src/event-store.ts";
import type { DeviceConnection } from "../../host-agent/src/host-core.ts";
import { builtinPolicy } from "../../host-agent/src/policy/policy-file.ts";
import { appProtocol, textEncoder, type AppProtocolMessage } from "../../protocol/src/index.ts";
import { tempDir } from "../support/temp.ts";

export interface Env {
  app: AppServer;
  store: EventStore;
  workspace: string;
  logs: string[];
  close(): Promise<void>;
}

export interface SetupOptions {
  maxThreads?: number;
  /** The demo agent's workspace (default: a fresh folder); created when missing. */
  workspace?: string;
  commandTimeoutMs?: number;
}

export async function setup(options: SetupOptions = {}): Promise<Env> {
  const dir = tempDir("airlock-app-server-");
  const workspace = options.workspace ?? join(dir, "ws");
  mkdirSync(workspace, { recursive: true });
  const store = await EventStore.open(join(dir, "events"), options.maxThreads ? { maxThreads: options.maxThreads } : {});
  const ledger = await CommandLedger.open<CommandOutcome>(join(dir, "commands.jsonl"));
  const allowAll = builtinPolicy();
  allowAll.defaults = { steer: "allow", continue: "allow", expand: "allow", commit: "allow" };
  const logs: string[] = [];
  const app = new AppServer({
    store,
    ledger,
    agent: new DemoAgent({ workspace, chunkDelayMs: 0, ...(options.commandTimeoutMs ? { commandTimeoutMs: options.commandTimeoutMs } : {}) }),
    agentDataDir: join(dir, "agent"),
    workspace,
    policyFor: async () => allowAll,
    log: (line) => logs.push(line),
  });
  await app.start();
  return {
    app,
    store,
    workspace,
    logs,
    async close() {
      await app.close();
      await ledger.close();
      await store.close();
    },
  };
}

/** An in-process device: what the host sends is decoded and kept in order. */
export function device(env: Env, name = "Ana's phone", slot = 1) {
  const inbox: AppProtocolMessage[] = [];
  const waiters: Array<() => void> = [];
  // As HostCore does: a frame held by `after` holds the ones sent after it; one whose `after` fails never arrives.
  let outbound: Promise<unknown> = Promise.resolve();
  const conn: DeviceConnection = {
    slot,
    device: { id: `d_test${String(slot).padStart(6, "0")}`, key: "k".repeat(43), name, pairedAt: new Date().toISOString() },
    send: (payload, options) => {
      const previous = outbound;
      const sent = (async () => {
        await previous;
        if (options?.after) await options.after;
        const m = appProtocol.decode(payload);
        api.onDeliver?.(m);
        inbox.push(m);
        for (const w of waiters.splice(0)) w();
        return true;
      })();
      outbound = sent.catch(() => undefined);
      return sent;
    },
  };
  let ids = 0;
  const api = {
    conn,
    inbox,
    /** Called as each message arrives, before it is in the inbox. */
    onDeliver: undefined as ((m: AppProtocolMessage) => void) | undefined,
    async raw(json: unknown): Promise<void> {
      await env.app.onPayload(conn, textEncoder.encode(JSON.stringify(json)));
    },
    async command(type: string, body: unknown): Promise<AppProtocolMessage> {
      const id = `c${++ids}`;
      await api.raw({ v: 1, type, id, body });
      return api.answerTo(id);
    },
    async answerTo(id: string): Promise<AppProtocolMessage> {
      return api.until((m) => (m.type === "result" || m.type === "error" || m.type === "thread.list") && m.re === id);
    },
    async until(match: (m: AppProtocolMessage) => boolean, timeoutMs = 10_000): Promise<AppProtocolMessage> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = inbox.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching message; inbox: ${JSON.stringify(inbox.slice(-5))}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
  };
  return api;
}

export const isTurnEnd = (m: AppProtocolMessage) => m.type === "event" && m.body.kind === "turn.status" && m.body.status !== "started";
