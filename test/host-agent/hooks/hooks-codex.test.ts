// Hooks with the real Codex adapter: `codex app-server` (the real binary) on
// the mock Responses server, behind the real app server, policy files, trust
// store and audit log (harness.ts). Every hook point fires for Codex exactly
// as for the demo agent, because the points live in the host, not the adapter.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodexAgent } from "../../../host-agent/src/agents/codex/codex-agent.ts";
import type { AppProtocolMessage } from "../../../protocol/src/index.ts";
import { device, isTurnEnd } from "../app-server-harness.ts";
import { MODEL } from "../codex/helpers.ts";
import { MockResponses, mockProviderConfig } from "../codex/mock-responses.ts";
import { setupHooks, tempDir, type HookEnv } from "./harness.ts";

let mock: MockResponses;
let env: HookEnv;
beforeAll(async () => {
  mock = new MockResponses();
  await mock.start();
  const codexHome = join(tempDir("airlock-hooks-codex-"), "codex-home");
  mkdirSync(codexHome);
  env = await setupHooks({ agent: () => new CodexAgent({ codexHome, config: mockProviderConfig(mock.baseUrl), restartDelayMs: 100 }) });
}, 60_000);
afterAll(async () => {
  await env?.close();
  await mock?.stop();
});

type Event = Extract<AppProtocolMessage, { type: "event" }>["body"];
const events = (d: ReturnType<typeof device>): Event[] =>
  d.inbox.filter((m) => m.type === "event").map((m) => (m as Extract<AppProtocolMessage, { type: "event" }>).body);

describe("hooks with the Codex adapter", () => {
  it("SessionStart, UserPromptSubmit, PreToolUse, PermissionRequest, PostToolUse and Stop all run for a Codex turn", { timeout: 90_000 }, async () => {
    env.userPolicy({
      version: 1,
      hooks: {
        list: [
          env.hook("rules", ["UserPromptSubmit"], "context", "CONTEXT-FROM-RULES-HOOK"),
          env.hook("session", ["SessionStart"], "context", "CONTEXT-FROM-SESSION-HOOK"),
          env.hook("guard", ["PreToolUse"], "deny-if", "touch denied-file", "no touching"),
          env.hook("approver", ["PermissionRequest"], "allow", "safe echo"),
          env.hook("post", ["PostToolUse"], "test", "post check", "passed"),
          env.hook("stop", ["Stop"], "none"),
        ],
      },
    });
    expect((await env.cli("trust", "--all")).code).toBe(0);
    mock.script({ kind: "exec", cmd: "touch denied-file" }, { kind: "exec", cmd: "echo hooked-ok" }, { kind: "text", text: "done" });
    const d = device(env);
    await env.app.onSessionOpen(d.conn);
    const started = await d.command("thread.start", { prompt: "do two things", model: MODEL });
    expect(started.type).toBe("result");
    const end = await d.until(isTurnEnd, 60_000);
    expect((end as any).body.status).toBe("completed");
    await env.app.hooks!.idle();

    // The real adapter ran the turn: three model calls (two tool calls, then the answer).
    expect(env.app.hooks).toBeDefined();
    expect(mock.requests).toHaveLength(3);
    // Context reached the model with the prompt.
    const sent = JSON.stringify(mock.requests[0]!.input);
    expect(sent).toContain("CONTEXT-FROM-RULES-HOOK");
    expect(sent).toContain("CONTEXT-FROM-SESSION-HOOK");

    // PreToolUse denied the touch: Codex never ran it.
    expect(existsSync(join(env.workspace, "denied-file"))).toBe(false);
    const evs = events(d);
    expect(evs).toContainEqual(
      expect.objectContaining({ kind: "approval.resolved", decision: "deny", by: "hook guard", note: "denied by hook guard: no touching" }),
    );
    // PermissionRequest allowed the echo (continue tier, policy "ask"): no person was asked.
    expect(evs).toContainEqual(expect.objectContaining({ kind: "approval.resolved", decision: "approve_once", by: "hook approver" }));
    expect(
      evs
        .filter((e) => e.kind === "command.output")
        .map((e) => (e.kind === "command.output" ? e.chunk : ""))
        .join(""),
    ).toContain("hooked-ok");

    const post = env.inputs("post");
    expect(post).toContainEqual(
      expect.objectContaining({
        event: "PostToolUse",
        tool: expect.objectContaining({ type: "command", command: expect.stringContaining("echo hooked-ok") }),
        result: expect.objectContaining({ exitCode: 0 }),
      }),
    );
    expect(evs).toContainEqual(expect.objectContaining({ kind: "test.result", name: "post check", status: "passed" }));
    expect(env.inputs("stop")).toEqual([expect.objectContaining({ event: "Stop", turn: expect.objectContaining({ status: "completed" }) })]);
    expect(env.inputs("guard").map((i) => i.tool.command)).toEqual(expect.arrayContaining([expect.stringContaining("touch denied-file")]));

    const runs = (await env.audit()).filter((r) => r.type === "hook.run").map((r) => r.data);
    expect(new Set(runs.map((r) => r.event))).toEqual(new Set(["UserPromptSubmit", "SessionStart", "PreToolUse", "PermissionRequest", "PostToolUse", "Stop"]));
    for (const r of runs) expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("a UserPromptSubmit deny keeps the prompt from Codex (and from the model)", { timeout: 60_000 }, async () => {
    env.userPolicy({ version: 1, hooks: { list: [env.hook("gate", ["UserPromptSubmit"], "deny-if", "SECRET-PROJECT", "not for the model")] } });
    expect((await env.cli("trust", "gate")).code).toBe(0);
    const before = mock.requests.length;
    const d = device(env, "Ben's phone", 2);
    await env.app.onSessionOpen(d.conn);
    const r = await d.command("thread.start", { prompt: "tell me about SECRET-PROJECT", model: MODEL });
    expect(r).toMatchObject({ type: "error", body: { code: "HOOK_DENIED", message: "denied by hook gate: not for the model" } });
    expect(mock.requests.length).toBe(before);
    expect(JSON.stringify(mock.requests.map((q) => q.input))).not.toContain("SECRET-PROJECT");
  });
});
