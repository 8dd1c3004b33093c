// Hooks with the ACP adapter: the real AcpAgent driving the scripted ACP agent
// (test/host-agent/acp/scripted-agent.mjs, built on the official ACP SDK; a
// stand-in for Claude Code or Gemini, which cannot run here), behind the real
// app server. The hook points are in the host, so they fire for ACP as well.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcpAgent } from "../../../host-agent/src/agents/acp/acp-agent.ts";
import type { AppProtocolMessage } from "../../../protocol/src/index.ts";
import { SCRIPTED_AGENT } from "../acp/helpers.ts";
import { device, isTurnEnd } from "../app-server-harness.ts";
import { setupHooks, tempDir, type HookEnv } from "./harness.ts";

let env: HookEnv;
beforeAll(async () => {
  const state = tempDir("airlock-hooks-acp-");
  env = await setupHooks({
    agent: () =>
      new AcpAgent({
        command: process.execPath,
        args: [SCRIPTED_AGENT],
        kind: "acp",
        env: { ...process.env, SCRIPTED_ACP_STATE: join(state, "agent-state"), SCRIPTED_ACP_LOG: join(state, "agent.log"), SCRIPTED_ACP_MODE: "default" },
        restartDelayMs: 100,
        interruptTimeoutMs: 5000,
      }),
  });
}, 60_000);
afterAll(async () => {
  await env?.close();
});

type Event = Extract<AppProtocolMessage, { type: "event" }>["body"];
const events = (d: ReturnType<typeof device>): Event[] =>
  d.inbox.filter((m) => m.type === "event").map((m) => (m as Extract<AppProtocolMessage, { type: "event" }>).body);

describe("hooks with the ACP adapter", () => {
  it("prompt, tool and stop hooks run for an ACP turn; a PreToolUse deny stops the tool", { timeout: 60_000 }, async () => {
    env.userPolicy({
      version: 1,
      defaults: { continue: "allow" },
      hooks: {
        list: [
          env.hook("submit", ["UserPromptSubmit", "SessionStart"], "none"),
          env.hook("guard", ["PreToolUse"], "deny-if", "echo from-acp", "not this one"),
          env.hook("after", ["PostToolUse", "Stop"], "none"),
        ],
      },
    });
    expect((await env.cli("trust", "--all")).code).toBe(0);
    const d = device(env);
    await env.app.onSessionOpen(d.conn);
    expect((await d.command("thread.start", { prompt: "exec echo from-acp" })).type).toBe("result");
    await d.until(isTurnEnd, 30_000);
    await env.app.hooks!.idle();
    expect(events(d)).toContainEqual(
      expect.objectContaining({ kind: "approval.resolved", decision: "deny", by: "hook guard", note: "denied by hook guard: not this one" }),
    );
    expect(env.inputs("submit").map((i) => i.event)).toEqual(["UserPromptSubmit", "SessionStart"]);
    expect(env.inputs("guard")[0]).toMatchObject({ event: "PreToolUse", tool: { type: "command", command: expect.stringContaining("echo from-acp") } });
    expect(env.inputs("after").map((i) => i.event)).toContain("Stop");
  });

  it("context from a UserPromptSubmit hook reaches the ACP agent", { timeout: 60_000 }, async () => {
    env.userPolicy({ version: 1, hooks: { list: [env.hook("ctx", ["UserPromptSubmit"], "context", "CONTEXT-FOR-ACP")] } });
    expect((await env.cli("trust", "ctx")).code).toBe(0);
    const d = device(env, "Ben's phone", 2);
    await env.app.onSessionOpen(d.conn);
    expect((await d.command("thread.start", { prompt: "reply hello" })).type).toBe("result");
    await d.until(isTurnEnd, 30_000);
    const reply = events(d).find((e) => e.kind === "message.completed");
    expect(reply).toMatchObject({ text: expect.stringContaining("CONTEXT-FOR-ACP") });
  });
});
