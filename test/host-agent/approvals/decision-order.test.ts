// The order of a decision's effects on the hot path (issue 16), with a real
// AppServer, event store and command ledger and a scripted agent:
// - the decider's answer goes out alone: when it leaves, the decision is in
//   the ledger (durable) and approval.resolved is not in the thread's log yet;
// - the verdict reaches the agent once approval.resolved has its place in the
//   log, so the agent's next event is logged (and delivered) after it;
// - a request reaches a device before the thread summary that says "waiting";
// - a thread that asks while idle is made durably running first, so a crash
//   while it waits leaves a request #recover closes.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { open } from "node:fs/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ModelInfo, ThreadEvent } from "../../../protocol/src/index.ts";
import type { Agent, AgentHost, AgentStartContext, AgentThreadInfo, ApprovalVerdict } from "../../../host-agent/src/agent.ts";
import { AppServer, type CommandOutcome } from "../../../host-agent/src/app-server.ts";
import { CommandLedger } from "../../../host-agent/src/command-ledger.ts";
import { EventStore } from "../../../host-agent/src/event-store.ts";
import { builtinPolicy } from "../../../host-agent/src/policy/policy-file.ts";
import { device } from "../app-server-harness.ts";
import { tempDir } from "../../support/temp.ts";

/** Asks for one command approval per turn and, on the verdict, acts at once (command.started). */
class AskingAgent implements Agent {
  readonly info = { kind: "test", label: "Asking agent" };
  host!: AgentHost;
  /** Whether the turn reports "running" before it asks (a real turn does; the idle case tests the host's guard). */
  reportsRunning = true;
  verdicts: ApprovalVerdict[] = [];
  #running = new Set<Promise<void>>();

  constructor(readonly cwd: string) {}
  async start(context: AgentStartContext): Promise<void> {
    this.host = context.host;
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
  async startThread(threadId: string): Promise<void> {
    const run = this.#turn(threadId).catch((e: unknown) => this.host.log(`turn failed: ${String(e)}`));
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
  }
  async resumeThread(): Promise<void> {}
  async sendMessage(): Promise<void> {}
  async steer(): Promise<void> {}
  async interrupt(): Promise<void> {}
  async setSettings(): Promise<void> {}
  async close(): Promise<void> {
    await Promise.allSettled([...this.#running]);
  }

  async #turn(threadId: string): Promise<void> {
    if (this.reportsRunning) await this.host.status(threadId, "running");
    const verdict = await this.host.requestApproval(threadId, { type: "command", turnId: "u1", itemId: "c1", command: "npm publish", cwd: this.cwd });
    this.verdicts.push(verdict);
    await this.host.emit(threadId, { kind: "command.started", itemId: "c1", command: "npm publish", cwd: this.cwd });
    await this.host.status(threadId, "idle");
  }
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function setup() {
  const dir = tempDir("airlock-decision-order-");
  const store = await EventStore.open(join(dir, "events"));
  const ledgerFile = join(dir, "commands.jsonl");
  const ledger = await CommandLedger.open<CommandOutcome>(ledgerFile);
  const agent = new AskingAgent(dir);
  const policy = builtinPolicy();
  policy.defaults = { steer: "ask", continue: "ask", expand: "ask", commit: "ask" };
  const app = new AppServer({ store, ledger, agent, agentDataDir: join(dir, "agent"), workspace: dir, policyFor: async () => policy });
  await app.start();
  closers.push(async () => {
    await app.close();
    await ledger.close();
    await store.close();
  });
  const threadFolder = () =>
    join(
      dir,
      "events",
      "threads",
      readdirSync(join(dir, "events", "threads")).find((f) => /^[0-9a-f]{32}$/.test(f))!,
    );
  const logKinds = () =>
    readFileSync(join(threadFolder(), "events.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { event: ThreadEvent }).event.kind);
  const metaStatus = () => (JSON.parse(readFileSync(join(threadFolder(), "meta.json"), "utf8")) as { thread: { status: string } }).thread.status;
  return { app, agent, store, ledgerFile, logKinds, metaStatus };
}

describe("a decision's effects, in order", () => {
  it("answers the decider alone, then logs approval.resolved, then hands the agent its verdict", async () => {
    const env = await setup();
    const phone = device({ app: env.app, store: env.store, workspace: "", logs: [], close: async () => undefined });
    await env.app.onSessionOpen(phone.conn);
    const started = await phone.command("thread.start", { prompt: "publish" });
    expect(started.type).toBe("result");
    const thread = (started.body as { data: { thread: string } }).data.thread;
    await phone.command("thread.subscribe", { thread, afterSeq: 0 });
    const request = await phone.until((m) => m.type === "event" && m.body.kind === "approval.request");
    const approvalId = (request.body as { approvalId: string }).approvalId;

    // What the host's files hold at the moment the answer leaves.
    let atAnswer: { ledger: string; log: string[] } | undefined;
    phone.onDeliver = (m) => {
      if (atAnswer === undefined && "re" in m && m.re === "c3") atAnswer = { ledger: readFileSync(env.ledgerFile, "utf8"), log: env.logKinds() };
    };
    const answer = await phone.command("approval.decide", { thread, approvalId, decision: "approve_once" });
    expect(answer.type).toBe("result");
    expect(atAnswer?.ledger).toContain('"c":"c3"');
    expect(atAnswer?.log).toContain("approval.request");
    expect(atAnswer?.log).not.toContain("approval.resolved");

    await phone.until((m) => m.type === "event" && m.body.kind === "command.started");
    expect(env.agent.verdicts).toEqual([{ decision: "approve_once", by: "Ana's phone" }]);
    const inbox = phone.inbox.map((m) => (m.type === "event" ? m.body.kind : m.type === "result" || m.type === "error" ? `${m.type}:${m.re}` : m.type));
    const at = (entry: string) => inbox.indexOf(entry);
    expect(at("result:c3")).toBeGreaterThan(-1);
    expect(at("result:c3")).toBeLessThan(at("approval.resolved"));
    expect(at("approval.resolved")).toBeLessThan(at("command.started"));
    const log = env.logKinds();
    expect(log.indexOf("approval.request")).toBeLessThan(log.indexOf("approval.resolved"));
    expect(log.indexOf("approval.resolved")).toBeLessThan(log.indexOf("command.started"));
  });

  it("seals the answer while the ledger entry is written but sends it only once the entry is durable", async () => {
    const env = await setup();
    const phone = device({ app: env.app, store: env.store, workspace: "", logs: [], close: async () => undefined });
    await env.app.onSessionOpen(phone.conn);
    const started = await phone.command("thread.start", { prompt: "publish" });
    const thread = (started.body as { data: { thread: string } }).data.thread;
    await phone.command("thread.subscribe", { thread, afterSeq: 0 });
    const request = await phone.until((m) => m.type === "event" && m.body.kind === "approval.request");
    // Hold every fdatasync (the ledger's is the only one the decision makes before its answer).
    const probe = await open(join(env.ledgerFile + ".probe"), "w");
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held: string[] = [];
    const original = proto.datasync;
    const spy = vi.spyOn(proto, "datasync").mockImplementation(async function (this: unknown) {
      held.push("datasync");
      await gate;
      return original.call(this);
    });
    try {
      // Not awaited: handling the command ends only once its answer is out.
      const handled = phone.raw({
        v: 1,
        type: "approval.decide",
        id: "c9",
        body: { thread, approvalId: (request.body as { approvalId: string }).approvalId, decision: "deny" },
      });
      await vi.waitFor(() => expect(held.length).toBeGreaterThan(0));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(phone.inbox.some((m) => "re" in m && m.re === "c9")).toBe(false);
      release();
      const answer = await phone.answerTo("c9");
      expect(answer.type).toBe("result");
      await handled;
    } finally {
      release();
      spy.mockRestore();
    }
  });

  it("sends the request before the summary that says waiting; a thread that asks while idle is durably running first", async () => {
    const env = await setup();
    env.agent.reportsRunning = false; // asks without its turn saying "running"
    const phone = device({ app: env.app, store: env.store, workspace: "", logs: [], close: async () => undefined });
    await env.app.onSessionOpen(phone.conn);
    const statusAtRequest: string[] = [];
    phone.onDeliver = (m) => {
      if (m.type === "event" && m.body.kind === "approval.request") statusAtRequest.push(env.metaStatus());
    };
    const started = await phone.command("thread.start", { prompt: "publish" });
    const thread = (started.body as { data: { thread: string } }).data.thread;
    await phone.command("thread.subscribe", { thread, afterSeq: 0 });
    await phone.until((m) => m.type === "thread.updated" && m.body.thread.id === thread && m.body.thread.status === "waiting");
    // meta.json said "running" (or later) by the time the request went out: #recover would close it after a crash.
    expect(statusAtRequest).toHaveLength(1);
    expect(["running", "waiting"]).toContain(statusAtRequest[0]);
    const kinds = phone.inbox.map((m) => (m.type === "event" ? m.body.kind : m.type === "thread.updated" ? `updated:${m.body.thread.status}` : m.type));
    expect(kinds.indexOf("approval.request")).toBeGreaterThan(-1);
    expect(kinds.indexOf("approval.request")).toBeLessThan(kinds.indexOf("updated:waiting"));
  });
});
