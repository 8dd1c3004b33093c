// The approval broker: where an agent's request for permission becomes a
// decision. For every request it
//   1. classifies it (steer / continue / expand / commit, with the rule that fired),
//   2. asks the policy (allow, ask any device, ask only at the host's terminal, deny),
//   3. builds the evidence a reviewer needs (exact action, reason, host, cwd,
//      files changed so far in the turn, checks already run, side effects,
//      flags, what comes next),
//   4. publishes an approval.request event, waits for the FIRST decision
//      (a device, the host terminal, or the timeout with the policy's
//      fallback), and publishes approval.resolved so every device sees it,
//   5. records request, decision (who, tier, rule, latency) and, for approved
//      commands, the outcome in the audit log (`airlock stats` reads them).
// Questions follow the same path without classification (they are "steer").
import { randomBytes } from "node:crypto";
import type { ApprovalDecision, ApprovalEvidence, ThreadEvent } from "@airlock/protocol";
import type { ApprovalAsk, ApprovalVerdict, QuestionAsk, QuestionReply } from "../agent.ts";
import { classifyCommand, classifyFileChange, classifyPermission, type Classification } from "../policy/classify.ts";
import { decide, type Action, type Policy } from "../policy/policy-file.ts";
import type { HookOutcome, HookRunner } from "../hooks/hooks.ts";
import { HostError } from "../host-error.ts";
import { messageOf } from "../error-message.ts";

export type Decision = ApprovalDecision;
export type Decider = { kind: "device"; id: string; name: string } | { kind: "host" };

export interface PendingApproval {
  approvalId: string;
  threadId: string;
  type: ApprovalAsk["type"];
  tier: Classification["tier"];
  rule: string;
  where: "any-device" | "host-only";
  evidence: ApprovalEvidence;
  options: Decision[];
  createdAt: number;
  expiresAt: number;
}

export interface PendingQuestion {
  questionId: string;
  threadId: string;
  text: string;
  options?: { id: string; label: string }[];
  createdAt: number;
  expiresAt: number;
}

export interface EmitOptions {
  after?: Promise<unknown>;
  onQueued?: () => void;
}

export interface BrokerOptions {
  /**
   * Persists and delivers a thread event. `after`: the event is appended only
   * once that settles (a decision's answer goes out alone, not behind its
   * event's write). `onQueued`: called as the event takes its place in the
   * thread's log, before it is durable (whatever the agent appends after that
   * comes after it).
   */
  emit(threadId: string, event: ThreadEvent, options?: EmitOptions): Promise<void>;
  /**
   * The thread's count of requests waiting for a human changed. Called after a
   * request's event is durable (the thread was running: the app server makes
   * a thread that asks durably running first, so a crash in between leaves
   * nothing open that #recover would not see).
   */
  pendingChanged(threadId: string, pending: number): Promise<void>;
  /** The policy for a working directory (user file + the repository's .airlock/policy.json). */
  policyFor(cwd: string): Promise<Policy>;
  hostName: string;
  audit(type: string, actor: { kind: "device" | "host" | "policy" | "timeout"; id?: string; name?: string }, data: Record<string, unknown>): void;
  /** A request only the host's terminal may decide is waiting (printed by `airlock up`). */
  onHostOnly?(pending: PendingApproval): void;
  /** The command that runs this host's CLI from a shell on the host (hint.ts airlockCommand), sent with host-only requests. */
  hostCli?: string;
  /** Operational log lines (failures that must not stop a verdict reaching the agent). */
  log?(line: string): void;
  /** PreToolUse and PermissionRequest hooks (hooks/hooks.ts); absent: none run. */
  hooks?: Pick<HookRunner, "preToolUse" | "permissionRequest">;
  now?: () => number;
}

export type BrokerErrorCode = "NOT_PENDING" | "NOT_ALLOWED" | "INVALID_DECISION";

export class BrokerError extends HostError<BrokerErrorCode> {
  constructor(code: BrokerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "BrokerError";
  }
}

interface Waiting {
  pending: PendingApproval;
  /** `note`: why, shown with approval.resolved (the timeout writes its own). */
  /** `after`: the decision is taken now; recording and delivering it wait for this (e.g. the decider's own answer). */
  finish(verdict: ApprovalVerdict, actor: Parameters<BrokerOptions["audit"]>[1], note?: string, after?: Promise<unknown>): void;
}

interface WaitingQuestion {
  question: PendingQuestion;
  /** `note`: why a question ended unanswered (recorded in the audit log). */
  finish(reply: QuestionReply, actor: Parameters<BrokerOptions["audit"]>[1], note?: string): void;
}

/** What a thread's current turn has done so far (evidence). */
interface TurnContext {
  filesChanged: Set<string>;
  checks: Map<string, "passed" | "failed" | "running" | "unknown">;
  /** Commands started in this turn, by item id (to name checks and follow approved commands). */
  commands: Map<string, string>;
}

const MAX_FILES_IN_EVIDENCE = 500;
const MAX_CHECKS_IN_EVIDENCE = 100;

export class ApprovalBroker {
  #o: BrokerOptions;
  #now: () => number;
  #approvals = new Map<string, Waiting>();
  #questions = new Map<string, WaitingQuestion>();
  #turns = new Map<string, TurnContext>();
  /** Approved commands whose outcome (exit code) is still to be recorded, by thread + item id. */
  #approvedCommands = new Map<string, { approvalId: string; by: string }>();

  constructor(options: BrokerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Requests still waiting, oldest first. */
  pendingApprovals(threadId?: string): PendingApproval[] {
    return [...this.#approvals.values()].map((w) => w.pending).filter((p) => threadId === undefined || p.threadId === threadId);
  }

  pendingQuestions(threadId?: string): PendingQuestion[] {
    return [...this.#questions.values()].map((w) => w.question).filter((q) => threadId === undefined || q.threadId === threadId);
  }

  pendingCount(threadId: string): number {
    return this.pendingApprovals(threadId).length + this.pendingQuestions(threadId).length;
  }

  /** Watches every event of every thread to keep the turn's evidence current. */
  observe(threadId: string, event: ThreadEvent): void {
    if (event.kind === "turn.status" && event.status === "started") {
      this.#turns.set(threadId, { filesChanged: new Set(), checks: new Map(), commands: new Map() });
      return;
    }
    const turn = this.#turn(threadId);
    switch (event.kind) {
      case "file.change":
        if (turn.filesChanged.size < MAX_FILES_IN_EVIDENCE) turn.filesChanged.add(event.path);
        break;
      case "test.result":
        if (turn.checks.size < MAX_CHECKS_IN_EVIDENCE || turn.checks.has(event.name))
          turn.checks.set(event.name, event.status === "skipped" ? "unknown" : event.status);
        break;
      case "command.started":
        turn.commands.set(event.itemId, event.command);
        if (isCheck(event.command) && turn.checks.size < MAX_CHECKS_IN_EVIDENCE) turn.checks.set(event.command, "running");
        break;
      case "command.finished": {
        const command = turn.commands.get(event.itemId);
        if (command !== undefined && isCheck(command))
          turn.checks.set(command, event.exitCode === 0 ? "passed" : event.exitCode === null ? "unknown" : "failed");
        const approved = this.#approvedCommands.get(`${threadId}\u0000${event.itemId}`);
        if (approved) {
          this.#approvedCommands.delete(`${threadId}\u0000${event.itemId}`);
          this.#o.audit(
            "approval.outcome",
            { kind: "host" },
            { thread: threadId, approvalId: approved.approvalId, by: approved.by, exitCode: event.exitCode, ok: event.exitCode === 0 },
          );
        }
        break;
      }
    }
  }

  /** Classify, apply policy, ask, and resolve with the first decision. */
  async request(threadId: string, ask: ApprovalAsk): Promise<ApprovalVerdict> {
    const classification = classifyAsk(ask);
    const policy = await this.#o.policyFor(ask.cwd);
    const action = ask.type === "command" ? decide(policy, classification, ask.command ?? "") : decide(policy, classification, "");
    // Hooks: PreToolUse gates every request policy does not deny; PermissionRequest
    // answers for a person when policy would ask one (within what policy lets it).
    let hook: { name: string; decision: "approve_once" | "deny"; reason: string } | undefined;
    if (this.#o.hooks && action.action !== "deny") {
      const pre = await this.#o.hooks.preToolUse(threadId, ask, classification);
      let verdict: HookOutcome = pre;
      if (!pre.denied && !autoDecided(action.action)) verdict = await this.#o.hooks.permissionRequest(threadId, ask, classification, action.action, policy);
      if (verdict.denied) hook = { name: verdict.denied.hook, decision: "deny", reason: verdict.denied.reason };
      else if (verdict.allowed && !autoDecided(action.action)) hook = { name: verdict.allowed.hook, decision: "approve_once", reason: verdict.allowed.reason };
    }
    const approvalId = `ap_${randomBytes(9).toString("base64url")}`;
    const options = (ask.options ?? ["approve_once", "approve_session", "deny"]).filter(isDecision);
    const createdAt = this.#now();
    const expiresAt = createdAt + policy.timeoutSeconds * 1000;
    const where: PendingApproval["where"] = action.action === "host-only" ? "host-only" : "any-device";
    const pending: PendingApproval = {
      approvalId,
      threadId,
      type: ask.type,
      tier: classification.tier,
      rule: classification.rule,
      where,
      evidence: this.#evidence(threadId, ask, classification),
      options: options.length > 0 ? options : ["approve_once", "deny"],
      createdAt,
      expiresAt,
    };
    const diff = ask.type === "file_change" ? boundedDiff(ask.files ?? []) : undefined;
    if (ask.type === "command" && ask.itemId) this.#itemIds.set(approvalId, ask.itemId);
    this.#o.audit(
      "approval.request",
      { kind: "host" },
      {
        thread: threadId,
        approvalId,
        type: ask.type,
        action: pending.evidence.action,
        cwd: ask.cwd,
        tier: classification.tier,
        rule: classification.rule,
        policy: action.action,
        policyRule: action.ruleFired,
        ...(action.cappedFrom ? { cappedFrom: action.cappedFrom } : {}),
        ...(hook ? { hook: hook.name, hookDecision: hook.decision } : {}),
      },
    );
    const event: ThreadEvent = {
      kind: "approval.request",
      approvalId,
      type: ask.type,
      tier: classification.tier,
      rule: classification.rule,
      where,
      evidence: pending.evidence,
      ...(diff ? { diff } : {}),
      options: pending.options,
      ...(autoDecided(action.action) || hook ? {} : { expiresAt }),
      // A host-only request says how to decide it at the host, exactly (a device cannot know --home).
      ...(where === "host-only" && this.#o.hostCli ? { hostCli: this.#o.hostCli } : {}),
    };

    if (hook) {
      // Decided by a hook: devices see the request resolved at once, with the hook's name and reason.
      await this.#o.emit(threadId, event);
      const verdict: ApprovalVerdict = { decision: hook.decision, by: `hook ${hook.name}` };
      const note = `${hook.decision === "deny" ? "denied" : "allowed"} by hook ${hook.name}${hook.reason ? `: ${hook.reason}` : ""}`;
      await this.#resolved(pending, verdict, { kind: "policy", id: `hook:${hook.name}` }, note);
      return verdict;
    }

    if (autoDecided(action.action)) {
      await this.#o.emit(threadId, event);
      const decision = action.action === "allow" ? "approve_once" : "deny";
      const verdict: ApprovalVerdict = { decision, by: "policy" };
      await this.#resolved(pending, verdict, { kind: "policy", id: action.ruleFired }, `policy ${action.ruleFired}: ${action.action}`);
      return verdict;
    }

    const verdict = new Promise<ApprovalVerdict>((resolve) => {
      let done = false;
      const timer = setTimeout(
        () => {
          const fallback: ApprovalVerdict = { decision: policy.timeoutAction, by: "timeout" };
          finish(fallback, { kind: "timeout" });
        },
        Math.max(0, expiresAt - this.#now()),
      );
      timer.unref?.();
      const finish: Waiting["finish"] = (verdict, actor, why, after) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#approvals.delete(approvalId);
        const note = verdict.by === "timeout" ? `nobody answered within ${policy.timeoutSeconds} s; policy fallback: ${policy.timeoutAction}` : why;
        // A device's decision is durable once its ledger entry is, which `after`
        // (its answer) waits for: the verdict reaches the agent as soon as
        // approval.resolved has its place in the log, so whatever the agent
        // does next is logged (and delivered) after it. Any other decision
        // waits until approval.resolved itself is durable. The thread's
        // summary follows; the verdict goes even if recording failed.
        const onQueued = after ? () => resolve(verdict) : undefined;
        this.#resolved(pending, verdict, actor, note, after, onQueued)
          .catch((e: unknown) => this.#o.log?.(`recording the decision on ${approvalId} failed: ${messageOf(e)}`))
          .finally(() => resolve(verdict));
      };
      this.#approvals.set(approvalId, { pending, finish });
    });
    try {
      await this.#o.emit(threadId, event);
    } catch (e) {
      this.#approvals.get(approvalId)?.finish({ decision: "cancel", by: "host" }, { kind: "host" });
      throw e;
    }
    // After the request is on its way: the device gets the request first, then the thread's "waiting".
    await this.#o.pendingChanged(threadId, this.pendingCount(threadId));
    if (where === "host-only") this.#o.onHostOnly?.(pending);
    return verdict;
  }

  /**
   * A decision from a device or the host terminal. The first one wins; later
   * ones get NOT_PENDING (the approval.resolved event tells them who decided).
   * `after`: the decision is taken at once (a second one is refused) and its
   * approval.resolved written, but that event is delivered and the verdict
   * handed to the agent only once this settles: the app server passes its
   * answer to the decider, so that answer is not queued behind the
   * decision's own frames.
   */
  decide(approvalId: string, decision: Decision, decider: Decider, threadId?: string, after?: Promise<unknown>): PendingApproval {
    const waiting = this.#approvals.get(approvalId);
    if (!waiting || (threadId !== undefined && waiting.pending.threadId !== threadId)) {
      throw new BrokerError("NOT_PENDING", `approval ${approvalId} is not waiting for a decision (already decided, expired, or unknown)`);
    }
    const { pending } = waiting;
    if (decider.kind === "device" && pending.where === "host-only") {
      throw new BrokerError("NOT_ALLOWED", `policy requires this ${pending.tier}-tier request (${pending.rule}) to be decided at the host's terminal`);
    }
    if (!pending.options.includes(decision))
      throw new BrokerError("INVALID_DECISION", `"${decision}" is not offered for this request (offered: ${pending.options.join(", ")})`);
    const by = decider.kind === "device" ? decider.name : "host";
    waiting.finish({ decision, by }, decider.kind === "device" ? { kind: "device", id: decider.id, name: decider.name } : { kind: "host" }, undefined, after);
    return pending;
  }

  /** Ask a question; resolves with the first answer, or null after the timeout. */
  async ask(threadId: string, ask: QuestionAsk, cwd: string): Promise<QuestionReply> {
    const policy = await this.#o.policyFor(cwd);
    const questionId = `q_${randomBytes(9).toString("base64url")}`;
    const createdAt = this.#now();
    const question: PendingQuestion = {
      questionId,
      threadId,
      text: ask.text.slice(0, 8192),
      ...(ask.options ? { options: ask.options.slice(0, 20).map((o) => ({ id: o.id, label: o.label.slice(0, 512) })) } : {}),
      createdAt,
      expiresAt: createdAt + policy.timeoutSeconds * 1000,
    };
    const reply = new Promise<QuestionReply>((resolve) => {
      let done = false;
      const timer = setTimeout(() => finish(null, { kind: "timeout" }), policy.timeoutSeconds * 1000);
      timer.unref?.();
      const finish: WaitingQuestion["finish"] = (reply, actor, why) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#questions.delete(questionId);
        this.#o.audit("question.answer", actor, {
          thread: threadId,
          questionId,
          answered: reply !== null,
          latencyMs: this.#now() - createdAt,
          ...(why ? { note: why.slice(0, 2048) } : {}),
        });
        void this.#o
          .emit(threadId, { kind: "question.answered", questionId, by: reply?.by ?? actor.kind })
          .then(() => this.#o.pendingChanged(threadId, this.pendingCount(threadId)))
          .catch(() => undefined)
          .finally(() => resolve(reply));
      };
      this.#questions.set(questionId, { question, finish });
    });
    try {
      await this.#o.emit(threadId, { kind: "question", questionId, text: question.text, ...(question.options ? { options: question.options } : {}) });
    } catch (e) {
      this.#questions.get(questionId)?.finish(null, { kind: "host" });
      throw e;
    }
    await this.#o.pendingChanged(threadId, this.pendingCount(threadId));
    return reply;
  }

  answer(questionId: string, answer: string, optionId: string | undefined, decider: Decider, threadId?: string): void {
    const waiting = this.#questions.get(questionId);
    if (!waiting || (threadId !== undefined && waiting.question.threadId !== threadId)) {
      throw new BrokerError("NOT_PENDING", `question ${questionId} is not waiting for an answer`);
    }
    if (optionId !== undefined && !(waiting.question.options ?? []).some((o) => o.id === optionId)) {
      throw new BrokerError("INVALID_DECISION", `"${optionId}" is not one of the question's options`);
    }
    const by = decider.kind === "device" ? decider.name : "host";
    waiting.finish(
      { answer, ...(optionId !== undefined ? { optionId } : {}), by },
      decider.kind === "device" ? { kind: "device", id: decider.id, name: decider.name } : { kind: "host" },
    );
  }

  /**
   * A turn was interrupted or the agent stopped (or withdrew its requests):
   * everything still waiting in the thread is cancelled, questions end
   * unanswered. `note` says why (shown with approval.resolved, audited).
   */
  cancelThread(threadId: string, by: Decider | { kind: "agent" }, note?: string): void {
    const actor = by.kind === "device" ? { kind: "device" as const, id: by.id, name: by.name } : { kind: "host" as const };
    for (const w of [...this.#approvals.values()])
      if (w.pending.threadId === threadId) w.finish({ decision: "cancel", by: by.kind === "device" ? by.name : "host" }, actor, note);
    for (const w of [...this.#questions.values()]) if (w.question.threadId === threadId) w.finish(null, actor, note);
  }

  /** Cancels everything (host shutting down). */
  cancelAll(): void {
    for (const w of [...this.#approvals.values()]) w.finish({ decision: "cancel", by: "host" }, { kind: "host" });
    for (const w of [...this.#questions.values()]) w.finish(null, { kind: "host" });
  }

  /** Audits the decision and records approval.resolved; resolves once that event is durable. The thread's pending count is updated after it, without holding the verdict back. */
  async #resolved(
    pending: PendingApproval,
    verdict: ApprovalVerdict,
    actor: Parameters<BrokerOptions["audit"]>[1],
    note?: string,
    after?: Promise<unknown>,
    onQueued?: () => void,
  ): Promise<void> {
    const latencyMs = this.#now() - pending.createdAt;
    this.#o.audit("approval.decision", actor, {
      thread: pending.threadId,
      approvalId: pending.approvalId,
      type: pending.type,
      decision: verdict.decision,
      by: verdict.by,
      tier: pending.tier,
      rule: pending.rule,
      latencyMs,
    });
    if (pending.type === "command" && (verdict.decision === "approve_once" || verdict.decision === "approve_session")) {
      const itemId = this.#itemIds.get(pending.approvalId);
      if (itemId) this.#approvedCommands.set(`${pending.threadId}\u0000${itemId}`, { approvalId: pending.approvalId, by: verdict.by });
    }
    this.#itemIds.delete(pending.approvalId);
    try {
      await this.#o.emit(
        pending.threadId,
        {
          kind: "approval.resolved",
          approvalId: pending.approvalId,
          decision: verdict.decision,
          by: verdict.by.slice(0, 128),
          ...(note ? { note: note.slice(0, 2048) } : {}),
        },
        { ...(after ? { after } : {}), ...(onQueued ? { onQueued } : {}) },
      );
    } finally {
      this.#o
        .pendingChanged(pending.threadId, this.pendingCount(pending.threadId))
        .catch((e: unknown) => this.#o.log?.(`updating ${pending.threadId}'s pending count failed: ${messageOf(e)}`));
    }
  }

  /** The agent's command item id per approval, to audit the approved command's outcome. */
  #itemIds = new Map<string, string>();

  #turn(threadId: string): TurnContext {
    let t = this.#turns.get(threadId);
    if (!t) this.#turns.set(threadId, (t = { filesChanged: new Set(), checks: new Map(), commands: new Map() }));
    return t;
  }

  #evidence(threadId: string, ask: ApprovalAsk, c: Classification): ApprovalEvidence {
    const turn = this.#turn(threadId);
    const files = ask.files ?? [];
    const action =
      ask.type === "command"
        ? (ask.command ?? "(no command given)")
        : ask.type === "file_change"
          ? files.length > 0
            ? files.map((f) => `${f.change} ${f.oldPath ? `${f.oldPath} → ` : ""}${f.path}`).join("\n")
            : "change files (the agent did not list them)"
          : `permission: ${ask.permission ?? "unspecified"}`;
    const sideEffects = [c.reason, c.flags.writes && files.length > 0 ? `writes ${files.length} file${files.length === 1 ? "" : "s"}` : ""]
      .filter(Boolean)
      .join("; ");
    return {
      action: action.slice(0, 8192),
      ...(ask.reason ? { reason: ask.reason.slice(0, 4096) } : {}),
      host: this.#o.hostName.slice(0, 256),
      cwd: ask.cwd.slice(0, 1024),
      filesChanged: [...turn.filesChanged].slice(0, MAX_FILES_IN_EVIDENCE).map((f) => f.slice(0, 1024)),
      checksRun: [...turn.checks].slice(0, MAX_CHECKS_IN_EVIDENCE).map(([name, status]) => ({ name: name.slice(0, 512), status })),
      ...(sideEffects ? { sideEffects: sideEffects.slice(0, 4096) } : {}),
      flags: { ...c.flags },
      ...(ask.next ? { next: ask.next.slice(0, 4096) } : {}),
    };
  }
}

export function classifyAsk(ask: ApprovalAsk): Classification {
  const context = { cwd: ask.cwd };
  switch (ask.type) {
    case "command":
      return classifyCommand(ask.command ?? "", context);
    case "file_change":
      return classifyFileChange(
        (ask.files ?? []).flatMap((f) => (f.oldPath ? [f.oldPath, f.path] : [f.path])),
        context,
      );
    case "permission":
      return classifyPermission(ask.permission ?? "unknown");
  }
}

const autoDecided = (action: Action): action is "allow" | "deny" => action === "allow" || action === "deny";
const isDecision = (d: string): d is Decision => d === "approve_once" || d === "approve_session" || d === "deny";

const MAX_DIFF = 262144;

/** The files' diffs as one unified diff, cut at the wire limit with a marker. */
function boundedDiff(files: NonNullable<ApprovalAsk["files"]>): string | undefined {
  const text = files
    .map((f) => f.diff ?? "")
    .filter(Boolean)
    .join("\n");
  if (!text) return undefined;
  const marker = "\n… (diff truncated)\n";
  return text.length <= MAX_DIFF ? text : text.slice(0, MAX_DIFF - marker.length) + marker;
}

/** Commands that count as a check (tests, linters, type checks) in the evidence. */
function isCheck(command: string): boolean {
  return /(^|[\s;&|(])(npm|pnpm|yarn|bun)\s+(run\s+)?(test|lint|check|typecheck)\b|\b(pytest|vitest|jest|go test|cargo (test|check|clippy)|tsc|eslint|ruff|mypy|make (test|check))\b|node --test/.test(
    command,
  );
}
