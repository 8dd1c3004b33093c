// The approval broker on its own: classification and policy on live requests,
// evidence, first decision wins, host-only requests, timeouts with the
// policy's fallback, questions, cancellation, and the audit records that
// `airlock stats` reads. Policies are built in memory so timeouts can be short.
import { describe, expect, it } from "vitest";
import type { ThreadEvent } from "../../../protocol/src/index.ts";
import { threadEvent } from "../../../protocol/src/app-protocol.ts";
import { ApprovalBroker, BrokerError } from "../../../host-agent/src/approvals/broker.ts";
import { approvalStats } from "../../../host-agent/src/audit/stats.ts";
import type { AuditRecord } from "../../../host-agent/src/audit/audit-log.ts";
import { builtinPolicy, mergePolicy, parsePolicy, type Policy } from "../../../host-agent/src/policy/policy-file.ts";

const phone = { kind: "device" as const, id: "dev_phone", name: "Phone" };
const tablet = { kind: "device" as const, id: "dev_tablet", name: "Tablet" };

function setup(policy: Policy = builtinPolicy()) {
  const events: Array<{ thread: string; event: ThreadEvent }> = [];
  const audit: Array<Pick<AuditRecord, "type" | "actor" | "data" | "at">> = [];
  const pending = new Map<string, number>();
  const hostOnly: string[] = [];
  let clock = 1_000_000;
  const broker = new ApprovalBroker({
    emit: async (thread, event) => {
      threadEvent.parse(event); // everything the broker emits must pass the wire schema
      events.push({ thread, event });
      broker.observe(thread, event);
    },
    pendingChanged: async (thread, n) => void pending.set(thread, n),
    policyFor: async () => policy,
    hostName: "devbox",
    audit: (type, actor, data) => void audit.push({ type, actor, data: data as never, at: clock }),
    onHostOnly: (p) => void hostOnly.push(p.approvalId),
    now: () => clock,
  });
  const requests = () => events.flatMap((e) => (e.event.kind === "approval.request" ? [e.event] : []));
  const resolved = () => events.flatMap((e) => (e.event.kind === "approval.resolved" ? [e.event] : []));
  const tick = (ms: number) => (clock += ms);
  return { broker, events, audit, pending, hostOnly, requests, resolved, tick };
}

const policyWith = (json: object, overrides: Partial<Policy> = {}): Policy => ({
  ...mergePolicy(builtinPolicy(), parsePolicy(JSON.stringify({ version: 1, ...json }), "test"), "user"),
  ...overrides,
});

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("approval broker", () => {
  it("classifies a command, attaches full evidence, and resolves with the first device decision", async () => {
    const t = setup();
    t.broker.observe("t1", { kind: "turn.status", turnId: "u1", status: "started" });
    t.broker.observe("t1", { kind: "file.change", itemId: "f1", path: "src/a.ts", change: "modify", diff: "" });
    t.broker.observe("t1", { kind: "command.started", itemId: "c0", command: "npm test", cwd: "/w" });
    t.broker.observe("t1", { kind: "command.finished", itemId: "c0", exitCode: 1, durationMs: 5 });
    const verdict = t.broker.request("t1", {
      type: "command",
      command: "curl -fsSL https://example.com/x.tgz -o x.tgz",
      cwd: "/w",
      reason: "fetch the fixture",
      next: "unpack it",
      itemId: "c1",
    });
    await settle();
    const [req] = t.requests();
    expect(req).toMatchObject({ type: "command", tier: "expand", where: "any-device", options: ["approve_once", "approve_session", "deny"] });
    expect(req!.rule).toMatch(/^net/);
    expect(req!.evidence).toMatchObject({
      action: "curl -fsSL https://example.com/x.tgz -o x.tgz",
      reason: "fetch the fixture",
      host: "devbox",
      cwd: "/w",
      filesChanged: ["src/a.ts"],
      checksRun: [{ name: "npm test", status: "failed" }],
      next: "unpack it",
    });
    expect(req!.evidence.flags.network).toBe(true);
    expect(req!.evidence.sideEffects).toBeTruthy();
    expect(req!.expiresAt).toBe(1_000_000 + 600_000);
    expect(t.pending.get("t1")).toBe(1);

    t.tick(4200);
    const p = t.broker.decide(req!.approvalId, "approve_once", phone, "t1");
    expect(p.approvalId).toBe(req!.approvalId);
    // The second device is too late: it learns the request is no longer pending.
    expect(() => t.broker.decide(req!.approvalId, "deny", tablet, "t1")).toThrowError(expect.objectContaining({ code: "NOT_PENDING" }));
    expect(await verdict).toEqual({ decision: "approve_once", by: "Phone" });
    expect(t.resolved()).toEqual([{ kind: "approval.resolved", approvalId: req!.approvalId, decision: "approve_once", by: "Phone" }]);
    expect(t.pending.get("t1")).toBe(0);
    const decision = t.audit.find((a) => a.type === "approval.decision")!;
    expect(decision.actor).toEqual({ kind: "device", id: "dev_phone", name: "Phone" });
    expect(decision.data).toMatchObject({ decision: "approve_once", tier: "expand", latencyMs: 4200 });
  });

  it("lets exactly one of many concurrent decisions win", async () => {
    const t = setup();
    const verdict = t.broker.request("t1", { type: "command", command: "ls", cwd: "/w" });
    await settle();
    const id = t.requests()[0]!.approvalId;
    const deciders = Array.from({ length: 8 }, (_, i) => ({ kind: "device" as const, id: `d${i}`, name: `Device ${i}` }));
    const outcomes = await Promise.allSettled(deciders.map(async (d, i) => t.broker.decide(id, i % 2 ? "deny" : "approve_once", d)));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === "rejected").every((o) => (o as PromiseRejectedResult).reason instanceof BrokerError)).toBe(true);
    const v = await verdict;
    expect(v.by).toBe("Device 0");
    expect(t.resolved()).toHaveLength(1);
  });

  it("keeps commit-tier requests for the host's terminal by default", async () => {
    const t = setup();
    const verdict = t.broker.request("t1", { type: "command", command: "git push origin main", cwd: "/w" });
    await settle();
    const req = t.requests()[0]!;
    expect(req).toMatchObject({ tier: "commit", rule: "git.push", where: "host-only" });
    expect(t.hostOnly).toEqual([req.approvalId]);
    expect(() => t.broker.decide(req.approvalId, "approve_once", phone)).toThrowError(expect.objectContaining({ code: "NOT_ALLOWED" }));
    t.broker.decide(req.approvalId, "deny", { kind: "host" });
    expect(await verdict).toEqual({ decision: "deny", by: "host" });
    expect(t.audit.find((a) => a.type === "approval.decision")!.actor).toEqual({ kind: "host" });
  });

  it("lets policy allow or deny without asking, and records the rule that fired", async () => {
    const t = setup(
      policyWith({
        rules: [
          { match: { rule: "read.*" }, action: "allow" },
          { match: { tier: "expand" }, action: "deny" },
        ],
      }),
    );
    expect(await t.broker.request("t1", { type: "command", command: "ls -la", cwd: "/w" })).toEqual({ decision: "approve_once", by: "policy" });
    expect(await t.broker.request("t1", { type: "command", command: "npm install left-pad", cwd: "/w" })).toEqual({ decision: "deny", by: "policy" });
    expect(t.resolved().map((r) => [r.decision, r.by])).toEqual([
      ["approve_once", "policy"],
      ["deny", "policy"],
    ]);
    expect(t.resolved()[0]!.note).toContain("user.rules[0]");
    const decisions = t.audit.filter((a) => a.type === "approval.decision");
    expect(decisions.map((d) => d.actor)).toEqual([
      { kind: "policy", id: "user.rules[0]" },
      { kind: "policy", id: "user.rules[1]" },
    ]);
    const requests = t.audit.filter((a) => a.type === "approval.request");
    expect(requests.map((r) => r.data.policyRule)).toEqual(["user.rules[0]", "user.rules[1]"]);
    // Auto-decided requests never count as waiting.
    expect(t.pending.get("t1") ?? 0).toBe(0);
  });

  it("ends an unanswered request with the policy's fallback (deny, or cancel) and tells every device", async () => {
    for (const fallback of ["deny", "cancel"] as const) {
      const t = setup({ ...builtinPolicy(), timeoutSeconds: 0.05, timeoutAction: fallback });
      const started = Date.now();
      const verdict = await t.broker.request("t1", { type: "file_change", cwd: "/w", files: [{ path: "a.txt", change: "add", diff: "+x\n" }] });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(verdict).toEqual({ decision: fallback, by: "timeout" });
      expect(t.resolved()).toMatchObject([{ decision: fallback, by: "timeout" }]);
      expect(t.resolved()[0]!.note).toContain("nobody answered");
      expect(t.audit.find((a) => a.type === "approval.decision")!.actor).toEqual({ kind: "timeout" });
      // A late answer is refused.
      expect(() => t.broker.decide(t.requests()[0]!.approvalId, "approve_once", phone)).toThrowError(expect.objectContaining({ code: "NOT_PENDING" }));
    }
  });

  it("refuses decisions the request does not offer and approvals addressed to another thread", async () => {
    const t = setup();
    const verdict = t.broker.request("t1", { type: "permission", permission: "network", cwd: "/w", options: ["approve_once", "deny"] });
    await settle();
    const id = t.requests()[0]!.approvalId;
    expect(() => t.broker.decide(id, "approve_session", phone)).toThrowError(expect.objectContaining({ code: "INVALID_DECISION" }));
    expect(() => t.broker.decide(id, "approve_once", phone, "t2")).toThrowError(expect.objectContaining({ code: "NOT_PENDING" }));
    t.broker.decide(id, "approve_once", phone, "t1");
    expect((await verdict).decision).toBe("approve_once");
  });

  it("asks questions, takes the first answer, and returns null on timeout", async () => {
    const t = setup({ ...builtinPolicy(), timeoutSeconds: 0.05 });
    const reply = t.broker.ask(
      "t1",
      {
        text: "Which one?",
        options: [
          { id: "a", label: "A" },
          { id: "b", label: "B" },
        ],
      },
      "/w",
    );
    await settle();
    const q = t.events.find((e) => e.event.kind === "question")!.event as Extract<ThreadEvent, { kind: "question" }>;
    expect(() => t.broker.answer(q.questionId, "?", "zzz", phone)).toThrowError(expect.objectContaining({ code: "INVALID_DECISION" }));
    t.broker.answer(q.questionId, "B", "b", tablet);
    expect(() => t.broker.answer(q.questionId, "A", "a", phone)).toThrowError(expect.objectContaining({ code: "NOT_PENDING" }));
    expect(await reply).toEqual({ answer: "B", optionId: "b", by: "Tablet" });
    await settle();
    expect(t.events.some((e) => e.event.kind === "question.answered" && e.event.by === "Tablet")).toBe(true);
    expect(await t.broker.ask("t1", { text: "Anyone?" }, "/w")).toBeNull();
  });

  it("cancels what a thread is waiting for when its turn is interrupted", async () => {
    const t = setup();
    const a = t.broker.request("t1", { type: "command", command: "ls", cwd: "/w" });
    const b = t.broker.request("t2", { type: "command", command: "ls", cwd: "/w" });
    const q = t.broker.ask("t1", { text: "?" }, "/w");
    await settle();
    t.broker.cancelThread("t1", phone);
    expect(await a).toEqual({ decision: "cancel", by: "Phone" });
    expect(await q).toBeNull();
    expect(t.broker.pendingApprovals().map((p) => p.threadId)).toEqual(["t2"]);
    t.broker.cancelAll();
    expect((await b).decision).toBe("cancel");
  });

  it("records approved commands' outcomes, and stats add them up per device", async () => {
    const t = setup(policyWith({ rules: [{ match: { command: "^echo" }, action: "allow" }] }));
    const run = async (command: string, itemId: string, decide: (id: string) => void, exitCode: number) => {
      const v = t.broker.request("t1", { type: "command", command, cwd: "/w", itemId });
      await settle();
      const req = t.requests().at(-1)!;
      if (!t.resolved().some((r) => r.approvalId === req.approvalId)) decide(req.approvalId);
      const verdict = await v;
      if (verdict.decision.startsWith("approve")) {
        t.broker.observe("t1", { kind: "command.started", itemId, command, cwd: "/w" });
        t.broker.observe("t1", { kind: "command.finished", itemId, exitCode, durationMs: 1 });
      }
    };
    await run("ls", "c1", (id) => (t.tick(1000), t.broker.decide(id, "approve_once", phone)), 0);
    await run("cat x", "c2", (id) => (t.tick(3000), t.broker.decide(id, "approve_once", phone)), 2);
    await run("rm -rf build", "c3", (id) => (t.tick(9000), t.broker.decide(id, "deny", tablet)), 0);
    await run("echo hi", "c4", () => undefined, 0);
    const stats = approvalStats(t.audit.map((a, i) => ({ v: 1, seq: i + 1, prev: "", hash: "", ...a }) as AuditRecord));
    expect(stats).toMatchObject({
      requests: 4,
      threads: 1,
      approvalsPerThread: 4,
      decided: { byPolicy: 1, byHuman: 3, byTimeout: 0, cancelled: 0 },
      autoDecidedShare: 0.25,
      humanLatency: { count: 3, p50Ms: 3000, p90Ms: 9000 },
      approvedCommands: 3,
      approvedCommandsFailed: 1,
    });
    expect(stats.approvedCommandFailureRate).toBeCloseTo(1 / 3);
    expect(stats.perDevice).toEqual([
      {
        device: "Phone",
        decisions: 2,
        approved: 2,
        denied: 0,
        latency: { count: 2, p50Ms: 1000, p90Ms: 3000 },
        approvedCommands: 2,
        approvedCommandsFailed: 1,
      },
      {
        device: "Tablet",
        decisions: 1,
        approved: 0,
        denied: 1,
        latency: { count: 1, p50Ms: 9000, p90Ms: 9000 },
        approvedCommands: 0,
        approvedCommandsFailed: 0,
      },
    ]);
  });
});
