// Hook points of the loop, for every agent adapter: the app server calls
// prompt() (UserPromptSubmit, SessionStart), the approval broker calls
// preToolUse() and permissionRequest(), and every event the agent emits passes
// observe() (PostToolUse on command.finished / file.change, Stop on a turn's
// end). For each point the hooks configured for it run one after another, in
// policy order (user file, then repository file):
// - a hook runs only if it is enabled and its current content hash is trusted;
// - blocking points (UserPromptSubmit, PreToolUse, PermissionRequest): the
//   first "deny" wins; a hook that times out, crashes, writes too much or
//   nonsense, or is not trusted counts as a deny (fail closed);
// - other points never stop anything: failures are logged, a "deny" is shown
//   to devices as a warning notice (e.g. a secret found in a diff already
//   written), a testResult becomes a test.result event;
// - PermissionRequest "allow" is honoured only where policy lets a hook
//   decide (hookSettings.mayAllowUpTo, never commit, never host-only).
// Every run, and every refusal to run, is one "hook.run" audit record.
import { randomBytes } from "node:crypto";
import { realpath } from "node:fs/promises";
import type { ThreadEvent } from "@airlock/protocol";
import type { ApprovalAsk } from "../agent.ts";
import { TIERS, type Classification } from "../policy/classify.ts";
import type { Action, Policy } from "../policy/policy-file.ts";
import { messageOf } from "../error-message.ts";
import { BLOCKING_EVENTS, DEFAULT_HOOK_SETTINGS, type HookEvent } from "./config.ts";
import { hookHash } from "./hash.ts";
import { minimalEnv, runHook, type HookRun } from "./run-hook.ts";
import type { TrustStore } from "./trust-store.ts";

export type AuditFn = (
  type: string,
  actor: { kind: "device" | "host" | "policy" | "timeout"; id?: string; name?: string },
  data: Record<string, unknown>,
) => void;

/** Who caused a hook point: the device (or automation token) behind the prompt. */
export interface Cause {
  id: string;
  name: string;
  /** Set when the prompt came from an automation token: its id, name and owner. */
  token?: { id: string; name: string; owner: string };
}

export interface HookRunnerOptions {
  /** The workspace root: every hook runs there. */
  workspace: string;
  policyFor(cwd: string): Promise<Policy>;
  trust: TrustStore;
  audit: AuditFn;
  log(line: string): void;
  /** Persists and delivers an event a hook produced (test.result, notice). */
  emit(threadId: string, event: ThreadEvent): Promise<void>;
  /** The thread's working directory (undefined: the thread is gone). */
  threadCwd(threadId: string): string | undefined;
}

/** What the hooks of one point decided together. */
export interface HookOutcome {
  /** The first deny (or failure of a blocking hook), with the hook's name. */
  denied?: { hook: string; reason: string };
  /** The first allow (PermissionRequest), when nothing denied. */
  allowed?: { hook: string; reason: string };
  /** Text hooks added, in order (UserPromptSubmit, SessionStart). */
  contexts: Array<{ hook: string; text: string }>;
}

const NONE: HookOutcome = { contexts: [] };
/** Commands seen starting and not yet finished, to give PostToolUse hooks the command line. Bounded. */
const MAX_OPEN_COMMANDS = 1000;
const MAX_CAUSES = 1000;

export class HookRunner {
  #o: HookRunnerOptions;
  #root: Promise<string>;
  /** Per thread, PostToolUse/Stop runs one after another, in event order. */
  #chains = new Map<string, Promise<void>>();
  #commands = new Map<string, string>();
  #causes = new Map<string, Cause>();

  constructor(options: HookRunnerOptions) {
    this.#o = options;
    this.#root = realpath(options.workspace).catch(() => options.workspace);
  }

  /** Remembers who drove a thread last, so tool and stop hooks can name them. */
  noteCause(threadId: string, cause: Cause): void {
    this.#causes.delete(threadId);
    this.#causes.set(threadId, cause);
    if (this.#causes.size > MAX_CAUSES) this.#causes.delete(this.#causes.keys().next().value!);
  }

  /** UserPromptSubmit (blocking) or SessionStart (context only) for a prompt a device sent. */
  prompt(
    event: "UserPromptSubmit" | "SessionStart",
    threadId: string | null,
    cwd: string,
    cause: Cause,
    data: { command: string; prompt: string },
  ): Promise<HookOutcome> {
    return this.#run(event, threadId, cwd, cause, data);
  }

  /** Before the policy asks anyone: a deny stops the tool. */
  async preToolUse(threadId: string, ask: ApprovalAsk, classification: Classification): Promise<HookOutcome> {
    return this.#run("PreToolUse", threadId, ask.cwd, this.#causes.get(threadId) ?? null, {
      tool: toolOf(ask),
      classification: { tier: classification.tier, rule: classification.rule },
    });
  }

  /**
   * A request policy would put before a person. The hooks' allow is kept only
   * when the policy action is "ask" (not host-only) and the tier is at most
   * the user's hooks.mayAllowUpTo (never commit); a deny always stands.
   */
  async permissionRequest(threadId: string, ask: ApprovalAsk, classification: Classification, action: Action, policy: Policy): Promise<HookOutcome> {
    const settings = policy.hookSettings ?? DEFAULT_HOOK_SETTINGS;
    const limit = settings.mayAllowUpTo === "none" ? -1 : TIERS.indexOf(settings.mayAllowUpTo);
    const mayAllow = action === "ask" && classification.tier !== "commit" && TIERS.indexOf(classification.tier) <= limit;
    const outcome = await this.#run(
      "PermissionRequest",
      threadId,
      ask.cwd,
      this.#causes.get(threadId) ?? null,
      {
        tool: toolOf(ask),
        classification: { tier: classification.tier, rule: classification.rule },
        policy: action,
        hookMayAllow: mayAllow,
      },
      policy,
    );
    if (outcome.allowed && !mayAllow) {
      this.#o.log(
        `hook ${outcome.allowed.hook} allowed a ${classification.tier}-tier request (${classification.rule}) that policy keeps for people (${action}, hooks.mayAllowUpTo ${settings.mayAllowUpTo}); asking them`,
      );
      const { allowed: _dropped, ...rest } = outcome;
      return rest;
    }
    return outcome;
  }

  /**
   * Every event the agent emits passes here, so it must stay cheap: only a
   * few kinds do anything, and nothing is awaited by the caller.
   */
  observe(threadId: string, event: ThreadEvent): void {
    switch (event.kind) {
      case "command.started": {
        this.#commands.set(`${threadId}\u0000${event.itemId}`, event.command);
        if (this.#commands.size > MAX_OPEN_COMMANDS) this.#commands.delete(this.#commands.keys().next().value!);
        return;
      }
      case "command.finished": {
        const key = `${threadId}\u0000${event.itemId}`;
        const command = this.#commands.get(key);
        this.#commands.delete(key);
        this.#later(threadId, "PostToolUse", {
          tool: { type: "command", itemId: event.itemId, ...(command !== undefined ? { command } : {}) },
          result: { exitCode: event.exitCode, durationMs: event.durationMs },
        });
        return;
      }
      case "file.change":
        this.#later(threadId, "PostToolUse", {
          tool: {
            type: "file_change",
            itemId: event.itemId,
            files: [{ path: event.path, change: event.change, ...(event.oldPath ? { oldPath: event.oldPath } : {}), diff: event.diff }],
          },
        });
        return;
      case "turn.status":
        if (event.status !== "started")
          this.#later(threadId, "Stop", { turn: { id: event.turnId, status: event.status, ...(event.error ? { error: event.error } : {}) } });
        return;
      default:
        return;
    }
  }

  /** Resolves once every PostToolUse/Stop run queued so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#chains.size > 0) await Promise.all([...this.#chains.values()]);
  }

  /** A non-blocking point: queued behind the thread's earlier ones; its results become events. */
  #later(threadId: string, event: "PostToolUse" | "Stop", data: Record<string, unknown>): void {
    const cwd = this.#o.threadCwd(threadId);
    if (cwd === undefined) return;
    const prev = this.#chains.get(threadId) ?? Promise.resolve();
    const next = prev
      .then(() => this.#run(event, threadId, cwd, this.#causes.get(threadId) ?? null, data))
      .then(() => undefined)
      .catch((e: unknown) => this.#o.log(`${event} hooks for ${threadId} failed: ${messageOf(e)}`))
      .finally(() => {
        if (this.#chains.get(threadId) === next) this.#chains.delete(threadId);
      });
    this.#chains.set(threadId, next);
  }

  async #run(event: HookEvent, threadId: string | null, cwd: string, cause: Cause | null, data: Record<string, unknown>, known?: Policy): Promise<HookOutcome> {
    const policy = known ?? (await this.#o.policyFor(cwd));
    const hooks = (policy.hooks ?? []).filter((h) => h.events.includes(event));
    if (hooks.length === 0) return NONE;
    const blocking = BLOCKING_EVENTS.has(event);
    const root = await this.#root;
    const outcome: HookOutcome = { contexts: [] };
    for (const hook of hooks) {
      const record = { hook: hook.name, source: hook.source, event, ...(threadId ? { thread: threadId } : {}) };
      if (!hook.enabled) {
        // Declared by the repository while the user does not allow repository hooks: never run, never blocks.
        this.#o.audit("hook.run", { kind: "host" }, { ...record, verdict: "disabled", reason: "repository hooks are not allowed by the user's policy file" });
        continue;
      }
      const hash = await hookHash(hook, root);
      let trusted: boolean;
      let why = `hook ${hook.name} is not trusted (hash ${hash.slice(0, 12)}); trust it with: airlock hooks trust ${hook.name}`;
      try {
        trusted = await this.#o.trust.isTrusted(hash);
      } catch (e) {
        trusted = false;
        why = `hook ${hook.name} cannot be checked: ${messageOf(e)}`;
      }
      if (!trusted) {
        this.#o.audit("hook.run", { kind: "host" }, { ...record, hash, verdict: "untrusted", failClosed: blocking });
        this.#o.log(why);
        if (blocking) {
          outcome.denied = { hook: hook.name, reason: why };
          return outcome;
        }
        continue;
      }
      const input = { version: 1, event, hook: hook.name, thread: threadId, workspace: root, cwd, cause, ...data };
      const run = await runHook({
        argv: hook.command,
        cwd: root,
        input,
        timeoutMs: hook.timeoutSeconds * 1000,
        env: minimalEnv({ AIRLOCK_HOOK: hook.name, AIRLOCK_HOOK_EVENT: event, AIRLOCK_WORKSPACE: root }),
      });
      const verdict = verdictOf(run);
      const reason = run.ok ? run.output.reason : `${run.failure}: ${run.detail}`;
      this.#o.audit(
        "hook.run",
        { kind: "host" },
        {
          ...record,
          hash,
          verdict,
          durationMs: run.durationMs,
          ...(reason ? { reason } : {}),
          ...(!run.ok ? { failClosed: blocking } : {}),
        },
      );
      if (!run.ok) {
        this.#o.log(`hook ${hook.name} (${event}) failed: ${run.failure}: ${run.detail}${run.stderr ? ` — stderr: ${oneLine(run.stderr)}` : ""}`);
        if (blocking) {
          outcome.denied = { hook: hook.name, reason: `the hook failed (${run.failure}: ${run.detail}); failing closed` };
          return outcome;
        }
        if (threadId) await this.#o.emit(threadId, { kind: "notice", level: "warning", text: `hook ${hook.name} (${event}) failed: ${run.failure}` });
        continue;
      }
      const out = run.output;
      if (out.context) outcome.contexts.push({ hook: hook.name, text: out.context });
      if (out.testResult && threadId) {
        const { name, status, summary } = out.testResult;
        await this.#o.emit(threadId, { kind: "test.result", itemId: `hook_${randomBytes(6).toString("hex")}`, name, status, ...(summary ? { summary } : {}) });
      }
      if (out.decision === "deny") {
        const text = out.reason ?? "no reason given";
        if (blocking) {
          outcome.denied = { hook: hook.name, reason: text };
          return outcome;
        }
        // After the fact nothing can be stopped: devices see a warning instead.
        if (threadId) await this.#o.emit(threadId, { kind: "notice", level: "warning", text: `hook ${hook.name}: ${text}`.slice(0, 4096) });
      } else if (out.decision === "allow" && outcome.allowed === undefined) {
        outcome.allowed = { hook: hook.name, reason: out.reason ?? "" };
      }
    }
    return outcome;
  }
}

/** The verdict recorded for a run: what the hook said, or how it failed. */
function verdictOf(run: HookRun): string {
  if (!run.ok) return run.failure;
  if (run.output.decision) return run.output.decision;
  if (run.output.context) return "context";
  if (run.output.testResult) return `test-${run.output.testResult.status}`;
  return "none";
}

function toolOf(ask: ApprovalAsk): Record<string, unknown> {
  return {
    type: ask.type,
    ...(ask.itemId ? { itemId: ask.itemId } : {}),
    ...(ask.command !== undefined ? { command: ask.command } : {}),
    ...(ask.permission !== undefined ? { permission: ask.permission } : {}),
    ...(ask.files
      ? {
          files: ask.files.map((f) => ({
            path: f.path,
            change: f.change,
            ...(f.oldPath ? { oldPath: f.oldPath } : {}),
            ...(f.diff !== undefined ? { diff: f.diff } : {}),
          })),
        }
      : {}),
    ...(ask.reason ? { reason: ask.reason } : {}),
  };
}

const oneLine = (s: string) => s.replace(/\s+/g, " ").trim().slice(0, 500);

/** The prompt the agent gets: the device's text, then each hook's context, labelled. */
export function withContext(prompt: string, contexts: HookOutcome["contexts"]): string {
  if (contexts.length === 0) return prompt;
  return [prompt, ...contexts.map((c) => `[context from hook ${c.hook}]\n${c.text}`)].join("\n\n");
}
