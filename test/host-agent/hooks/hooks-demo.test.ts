// Hooks at every point of the loop with the demo agent, through the real app
// server, policy files, trust store and audit log (harness.ts). Hook programs
// are small Node scripts in the test's temp folder.
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AppProtocolMessage } from "../../../protocol/src/index.ts";
import { device, isTurnEnd } from "../app-server-harness.ts";
import { setupHooks, type HookEnv } from "./harness.ts";

let env: HookEnv;
beforeEach(async () => {
  env = await setupHooks();
});
afterEach(async () => {
  await env.close();
});

/** Lets the demo agent's continue-tier steps through without a person. */
const ALLOW_CONTINUE = { steer: "allow", continue: "allow" } as const;

/** A paired phone with an open session. */
async function phone(): Promise<ReturnType<typeof device>> {
  const d = device(env);
  await env.app.onSessionOpen(d.conn);
  return d;
}

const events = (d: ReturnType<typeof device>) =>
  d.inbox.filter((m) => m.type === "event").map((m) => (m as Extract<AppProtocolMessage, { type: "event" }>).body);

async function trust(...names: string[]): Promise<void> {
  const r = await env.cli("trust", ...names);
  expect(r.code, r.err).toBe(0);
}

async function hookRuns(): Promise<Array<Record<string, any>>> {
  return (await env.audit()).filter((r) => r.type === "hook.run").map((r) => r.data as Record<string, any>);
}

describe("UserPromptSubmit and SessionStart", () => {
  it("a deny answers HOOK_DENIED with the hook's name and reason, leaves no thread, and is audited", async () => {
    env.userPolicy({
      version: 1,
      defaults: ALLOW_CONTINUE,
      hooks: { list: [env.hook("gate", ["UserPromptSubmit"], "deny-if", "forbidden", "no forbidden words")] },
    });
    await trust("gate");
    const d = await phone();
    const refused = await d.command("thread.start", { prompt: "say forbidden things" });
    expect(refused).toMatchObject({ type: "error", body: { code: "HOOK_DENIED", message: "denied by hook gate: no forbidden words" } });
    expect(env.store.listThreads()).toHaveLength(0);

    const started = await d.command("thread.start", { prompt: "hello" });
    expect(started.type).toBe("result");
    await d.until(isTurnEnd);
    const thread = env.store.listThreads()[0]!.id;
    const send = await d.command("thread.send", { thread, text: "now something forbidden" });
    expect(send).toMatchObject({ type: "error", body: { code: "HOOK_DENIED" } });

    const inputs = env.inputs("gate");
    expect(inputs).toHaveLength(3);
    expect(inputs[0]).toMatchObject({
      version: 1,
      event: "UserPromptSubmit",
      hook: "gate",
      thread: null,
      command: "thread.start",
      prompt: "say forbidden things",
      cause: { name: "Ana's phone" },
    });
    expect(inputs[0]!.workspace).toBe(inputs[0]!.cwd);
    expect(inputs[2]).toMatchObject({ thread, command: "thread.send", prompt: "now something forbidden" });

    const runs = await hookRuns();
    expect(runs.map((r) => r.verdict)).toEqual(["deny", "none", "deny"]);
    expect(runs[0]).toMatchObject({ hook: "gate", source: "user", event: "UserPromptSubmit", reason: "no forbidden words" });
    expect(runs[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof runs[0]!.durationMs).toBe("number");
  });

  it("context from SessionStart and UserPromptSubmit reaches the agent with the prompt, labelled", async () => {
    env.userPolicy({
      version: 1,
      defaults: ALLOW_CONTINUE,
      hooks: {
        list: [env.hook("rules", ["UserPromptSubmit"], "context", "Never touch prod."), env.hook("session", ["SessionStart"], "context", "Branch: main")],
      },
    });
    await trust("rules", "session");
    const d = await phone();
    expect((await d.command("thread.start", { prompt: "tidy up" })).type).toBe("result");
    await d.until(isTurnEnd);
    const user = events(d).find((e) => e.kind === "message.user");
    expect(user).toMatchObject({
      kind: "message.user",
      text: "tidy up\n\n[context from hook session]\nBranch: main\n\n[context from hook rules]\nNever touch prod.",
    });
    const session = env.inputs("session");
    expect(session).toHaveLength(1);
    expect(session[0]).toMatchObject({ event: "SessionStart", thread: env.store.listThreads()[0]!.id, prompt: "tidy up" });
    expect((await hookRuns()).map((r) => r.verdict)).toEqual(["context", "context"]);
  });
});

describe("PreToolUse and PermissionRequest", () => {
  it("a PreToolUse deny resolves the approval at once: devices see 'denied by hook NAME: reason'", async () => {
    env.userPolicy({ version: 1, defaults: ALLOW_CONTINUE, hooks: { list: [env.hook("guard", ["PreToolUse"], "deny-if", "ls -la", "no listings here")] } });
    await trust("guard");
    const d = await phone();
    await d.command("thread.start", { prompt: "look around" });
    await d.until(isTurnEnd);
    const evs = events(d);
    const request = evs.find((e) => e.kind === "approval.request" && e.type === "command");
    expect(request).toBeDefined();
    expect(request).not.toHaveProperty("expiresAt");
    const resolved = evs.find((e) => e.kind === "approval.resolved" && request?.kind === "approval.request" && e.approvalId === request.approvalId);
    expect(resolved).toMatchObject({ decision: "deny", by: "hook guard", note: "denied by hook guard: no listings here" });
    // The file change that followed was not denied (the hook looked at it and said nothing).
    expect(evs.some((e) => e.kind === "file.change")).toBe(true);
    const inputs = env.inputs("guard");
    expect(inputs[0]).toMatchObject({
      event: "PreToolUse",
      tool: { type: "command", command: "ls -la" },
      classification: { tier: "continue" },
      cause: { name: "Ana's phone" },
    });
    expect(inputs.some((i) => i.tool.type === "file_change" && typeof i.tool.files[0].diff === "string")).toBe(true);
    const decision = (await env.audit()).find((r) => r.type === "approval.decision" && r.data.decision === "deny");
    expect(decision?.actor).toEqual({ kind: "policy", id: "hook:guard" });
  });

  it("a PermissionRequest allow decides continue-tier requests; an expand-tier one still goes to a person", async () => {
    // Built-in policy: continue and expand both "ask".
    env.userPolicy({ version: 1, hooks: { list: [env.hook("approver", ["PermissionRequest"], "allow", "checked by CI rules")] } });
    await trust("approver");
    const d = await phone();
    await d.command("thread.start", { prompt: "install the thing" });
    const expand = await d.until((m) => m.type === "event" && m.body.kind === "approval.request" && m.body.tier === "expand");
    const evs = events(d);
    const allowed = evs.filter((e) => e.kind === "approval.resolved" && e.by === "hook approver");
    expect(allowed.length).toBeGreaterThanOrEqual(2); // ls -la and the note, decided without anyone
    expect(allowed[0]).toMatchObject({ decision: "approve_once", note: "allowed by hook approver: checked by CI rules" });
    // Not decided by the hook: it waits for a device, which denies it.
    const approvalId =
      (expand as Extract<AppProtocolMessage, { type: "event" }>).body.kind === "approval.request" ? ((expand as any).body.approvalId as string) : "";
    const thread = env.store.listThreads()[0]!.id;
    expect(env.app.broker.pendingApprovals(thread).map((p) => p.approvalId)).toEqual([approvalId]);
    expect((await d.command("approval.decide", { thread, approvalId, decision: "deny" })).type).toBe("result");
    await d.until(isTurnEnd);
    const inputs = env.inputs("approver");
    expect(inputs.find((i) => i.classification.tier === "expand")).toMatchObject({ event: "PermissionRequest", policy: "ask", hookMayAllow: false });
    expect(inputs.find((i) => i.classification.tier === "continue")).toMatchObject({ hookMayAllow: true });
    expect(env.logs.some((l) => l.includes("hook approver allowed a expand-tier request"))).toBe(true);
  });
});

describe("PostToolUse and Stop", () => {
  it("run after commands, file changes and the turn's end; a testResult becomes a test.result event", async () => {
    env.userPolicy({
      version: 1,
      defaults: ALLOW_CONTINUE,
      hooks: { list: [env.hook("post", ["PostToolUse"], "test", "hook check", "passed"), env.hook("stop", ["Stop"], "none")] },
    });
    await trust("post", "stop");
    const d = await phone();
    await d.command("thread.start", { prompt: "write a note" });
    await d.until(isTurnEnd);
    await env.app.hooks!.idle();
    const post = env.inputs("post");
    expect(post.find((i) => i.tool.type === "command" && i.tool.command === "ls -la")).toMatchObject({ event: "PostToolUse", result: { exitCode: 0 } });
    expect(post.find((i) => i.tool.type === "file_change")?.tool.files[0].diff).toContain("write a note");
    const stop = env.inputs("stop");
    expect(stop).toEqual([
      expect.objectContaining({
        event: "Stop",
        turn: expect.objectContaining({ status: "completed" }),
        cause: expect.objectContaining({ name: "Ana's phone" }),
      }),
    ]);
    await d.until((m) => m.type === "event" && m.body.kind === "test.result" && m.body.name === "hook check");
    expect((await hookRuns()).filter((r) => r.event === "PostToolUse").every((r) => r.verdict === "test-passed")).toBe(true);
  });

  it("a failing non-blocking hook never stops the turn: devices get a warning", async () => {
    env.userPolicy({ version: 1, defaults: ALLOW_CONTINUE, hooks: { list: [env.hook("flaky", ["PostToolUse", "Stop"], "crash")] } });
    await trust("flaky");
    const d = await phone();
    await d.command("thread.start", { prompt: "write a note" });
    const end = await d.until(isTurnEnd);
    expect((end as any).body.status).toBe("completed");
    await env.app.hooks!.idle();
    await d.until((m) => m.type === "event" && m.body.kind === "notice" && m.body.text === "hook flaky (Stop) failed: crash");
    const runs = await hookRuns();
    expect(runs.every((r) => r.verdict === "crash" && r.failClosed === false)).toBe(true);
    expect(env.logs.some((l) => l.includes("hook flaky") && l.includes("boom"))).toBe(true);
  });
});

describe("failing closed", () => {
  it.each([
    ["sleep", "timeout"],
    ["crash", "crash"],
    ["big", "oversized"],
    ["garbage", "invalid-output"],
    ["extra", "invalid-output"],
  ])("a UserPromptSubmit hook that does %s denies the prompt (%s)", async (mode, failure) => {
    const hook = { ...env.hook(`f-${mode}`, ["UserPromptSubmit"], mode), timeoutSeconds: 1 };
    env.userPolicy({ version: 1, hooks: { list: [hook] } });
    await trust(hook.name);
    const d = await phone();
    const r = await d.command("thread.start", { prompt: "hello" });
    expect(r).toMatchObject({ type: "error", body: { code: "HOOK_DENIED" } });
    expect((r as any).body.message).toContain(`denied by hook f-${mode}: the hook failed (${failure}`);
    expect(env.store.listThreads()).toHaveLength(0);
    expect(await hookRuns()).toEqual([expect.objectContaining({ hook: hook.name, verdict: failure, failClosed: true })]);
  });

  it("a PreToolUse hook that crashes denies the tool", async () => {
    env.userPolicy({ version: 1, defaults: ALLOW_CONTINUE, hooks: { list: [env.hook("broken", ["PreToolUse"], "crash")] } });
    await trust("broken");
    const d = await phone();
    await d.command("thread.start", { prompt: "look" });
    await d.until(isTurnEnd);
    const resolved = events(d).filter((e) => e.kind === "approval.resolved");
    expect(resolved.length).toBeGreaterThan(0);
    for (const e of resolved) expect(e).toMatchObject({ decision: "deny", by: "hook broken" });
    expect(events(d).some((e) => e.kind === "file.change")).toBe(false);
  });
});

describe("trust", () => {
  it("an untrusted hook does not run and blocking points fail closed; trusting its hash runs it; editing its file untrusts it", async () => {
    env.userPolicy({ version: 1, defaults: ALLOW_CONTINUE, hooks: { list: [env.hook("gate", ["UserPromptSubmit"], "none")] } });
    const d = await phone();
    const refused = await d.command("thread.start", { prompt: "one" });
    expect((refused as any).body.code).toBe("HOOK_DENIED");
    expect((refused as any).body.message).toMatch(
      /^denied by hook gate: hook gate is not trusted \(hash [0-9a-f]{12}\); trust it with: airlock hooks trust gate$/,
    );
    expect(env.inputs("gate")).toHaveLength(0);

    const listed = JSON.parse((await env.cli("list")).out);
    expect(listed.hooks).toEqual([expect.objectContaining({ name: "gate", source: "user", state: "untrusted", events: ["UserPromptSubmit"] })]);
    await trust("gate");
    expect(JSON.parse((await env.cli("list")).out).hooks[0].state).toBe("trusted");
    expect((await d.command("thread.start", { prompt: "two" })).type).toBe("result");
    expect(env.inputs("gate")).toHaveLength(1);
    await d.until(isTurnEnd);

    // The hook's script changes: a new hash, untrusted again.
    appendFileSync(env.script, "\n// edited\n");
    const after = JSON.parse((await env.cli("list")).out).hooks[0];
    expect(after.state).toBe("untrusted");
    expect(after.hash).not.toBe(listed.hooks[0].hash);
    expect(((await d.command("thread.start", { prompt: "three" })) as any).body.code).toBe("HOOK_DENIED");

    await trust("gate");
    expect((await env.cli("untrust", "gate")).code).toBe(0);
    expect(JSON.parse((await env.cli("list")).out).hooks[0].state).toBe("untrusted");
    const verdicts = (await hookRuns()).map((r) => r.verdict);
    expect(verdicts).toEqual(["untrusted", "none", "untrusted"]);
  });

  it("repository hooks run only when the user's file allows them, and only once trusted", async () => {
    env.repoPolicy({
      version: 1,
      hooks: { allowRepositoryHooks: true, mayAllowUpTo: "expand", list: [env.hook("repo-gate", ["UserPromptSubmit"], "deny", "the repository says no")] },
    });
    env.userPolicy({ version: 1, defaults: ALLOW_CONTINUE });
    await trust("repo-gate");
    const d = await phone();
    // Not allowed by the user (the repository cannot allow itself): not run, nothing blocked.
    expect((await d.command("thread.start", { prompt: "one" })).type).toBe("result");
    await d.until(isTurnEnd);
    expect(env.inputs("repo-gate")).toHaveLength(0);
    const listed = JSON.parse((await env.cli("list")).out);
    expect(listed.hooks[0]).toMatchObject({ name: "repo-gate", source: "repo", state: "disabled" });
    expect(listed.warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining("repo.hooks.allowRepositoryHooks is ignored"),
        expect.stringContaining("repo.hooks.mayAllowUpTo is ignored"),
      ]),
    );

    env.userPolicy({ version: 1, defaults: ALLOW_CONTINUE, hooks: { allowRepositoryHooks: true } });
    expect((await env.cli("untrust", "repo-gate")).code).toBe(0);
    const untrusted = await d.command("thread.start", { prompt: "two" });
    expect((untrusted as any).body.message).toContain("is not trusted");
    await trust("repo-gate");
    const denied = await d.command("thread.start", { prompt: "three" });
    expect((denied as any).body.message).toBe("denied by hook repo-gate: the repository says no");
    expect((await hookRuns()).map((r) => `${r.source}:${r.verdict}`)).toEqual(["repo:disabled", "repo:untrusted", "repo:deny"]);
  });
});

describe("the example hooks through the host", () => {
  const EXAMPLES = fileURLToPath(new URL("../../../host-agent/hooks/", import.meta.url));

  it("secret-scan refuses a prompt with a credential; validate reports a test.result at the turn's end", async () => {
    env.userPolicy({
      version: 1,
      defaults: ALLOW_CONTINUE,
      hooks: {
        list: [
          {
            name: "secret-scan",
            events: ["UserPromptSubmit", "PreToolUse", "PostToolUse"],
            command: ["node", join(EXAMPLES, "secret-scan.mjs")],
            timeoutSeconds: 20,
          },
          {
            name: "notes-check",
            events: ["Stop"],
            command: ["node", join(EXAMPLES, "validate.mjs"), "--name", "notes exist", "--", "ls", "notes"],
            timeoutSeconds: 60,
          },
        ],
      },
    });
    await trust("--all");
    const d = await phone();
    // Assembled at run time: this file holds no credential-shaped string.
    const key = ["AK", "IA", "Q3EGUJ7ZWJQ5L2TX"].join("");
    const refused = await d.command("thread.start", { prompt: `deploy with ${key}` });
    expect(refused).toMatchObject({ type: "error", body: { code: "HOOK_DENIED" } });
    expect((refused as any).body.message).toBe("denied by hook secret-scan: credential found: an AWS access key id (AKIAQ3…) in the prompt, line 1");
    expect(env.store.listThreads()).toHaveLength(0);

    expect((await d.command("thread.start", { prompt: "write a harmless note" })).type).toBe("result");
    const end = await d.until(isTurnEnd);
    expect((end as any).body.status).toBe("completed");
    await env.app.hooks!.idle();
    await d.until((m) => m.type === "event" && m.body.kind === "test.result" && m.body.name === "notes exist" && m.body.status === "passed");
    const runs = await hookRuns();
    expect(runs.filter((r) => r.hook === "secret-scan").map((r) => r.verdict)).toEqual(["deny", "none", "none", "none", "none", "none", "none", "none"]);
  });
});
