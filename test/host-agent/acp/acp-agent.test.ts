// The ACP adapter against a scripted ACP agent (scripted-agent.mjs, built with
// the official SDK): every path the adapter maps, through a real subprocess.
import { afterEach, describe, expect, it } from "vitest";
import type { ThreadEvent } from "../../../protocol/src/index.ts";
import { classifyAsk } from "../../../host-agent/src/approvals/broker.ts";
import { setupAcp, type AcpSetup } from "./helpers.ts";

let s: AcpSetup;
afterEach(async () => {
  await s?.cleanup();
});

const of = <K extends ThreadEvent["kind"]>(events: ThreadEvent[], kind: K) => events.filter((e): e is Extract<ThreadEvent, { kind: K }> => e.kind === kind);

describe("ACP adapter (scripted agent)", () => {
  it(
    "a reply: chunks become deltas and one completed message; the session leaves the agent's 'auto' mode before the first prompt",
    { timeout: 20_000 },
    async () => {
      s = await setupAcp({ mode: "auto" });
      expect(s.agent.info).toMatchObject({ kind: "acp", label: "Scripted ACP agent", version: "1.2.3" });
      expect(s.agent.capabilities).toEqual(["agent.interrupt", "agent.resume"]);
      await s.agent.startThread("t1", "reply Hello there, device", { cwd: s.workspace });
      expect((await s.host.waitTurnEnd("t1")).status).toBe("completed");
      const events = s.host.of("t1");
      expect(events.map((e) => e.kind)).toEqual([
        "turn.status",
        "message.user",
        "message.delta",
        "message.delta",
        "message.delta",
        "message.completed",
        "turn.status",
      ]);
      expect(of(events, "message.completed")[0]!.text).toBe("Hello there, device");
      expect(
        of(events, "message.delta")
          .map((d) => d.text)
          .join(""),
      ).toBe("Hello there, device");
      expect(s.host.statuses.map((x) => x.status)).toEqual(["running", "idle"]);
      expect(s.host.invalid).toEqual([]);
      // set_mode "default" came before the prompt, and the prompt ran in it.
      const got = s.received();
      const setMode = got.findIndex((r) => r.method === "session/set_mode");
      const prompt = got.findIndex((r) => r.method === "session/prompt");
      expect(got[setMode]).toMatchObject({ modeId: "default" });
      expect(setMode).toBeLessThan(prompt);
      expect(got[prompt]).toMatchObject({ mode: "default" });
      // The models the agent offers are remembered for host.info.
      expect((await s.agent.listModels()).map((m) => m.id)).toEqual(["small", "large"]);
      expect((await s.agent.listModels())[0]!.efforts).toEqual(["low", "medium", "high"]);
    },
  );

  it("a command approved once: the broker sees the exact command and reason; output and exit code follow", { timeout: 20_000 }, async () => {
    s = await setupAcp();
    await s.agent.startThread("t1", "exec npm test", { cwd: s.workspace });
    expect((await s.host.waitTurnEnd("t1")).status).toBe("completed");
    expect(s.host.approvals).toHaveLength(1);
    const ask = s.host.approvals[0]!.ask;
    expect(ask).toMatchObject({
      type: "command",
      command: "npm test",
      cwd: s.workspace,
      reason: "because the test said exec",
      options: ["approve_once", "approve_session", "deny"],
    });
    expect(classifyAsk(ask).tier).toBe("continue");
    const events = s.host.of("t1");
    const started = of(events, "command.started")[0]!;
    expect(started).toMatchObject({ command: "npm test", cwd: s.workspace, itemId: ask.itemId });
    // command.started reached the host before the approval was asked.
    expect(
      of(events, "command.output")
        .map((o) => o.chunk)
        .join(""),
    ).toBe("$ npm test\nran: npm test\n");
    expect(of(events, "command.finished")[0]).toMatchObject({ itemId: started.itemId, exitCode: 0 });
    expect(of(events, "message.completed")[0]!.text).toBe("It ran (allow-once).");
    expect(s.received().find((r) => r.method === "permission.outcome")).toMatchObject({ outcome: { outcome: "selected", optionId: "allow-once" } });
    expect(s.host.invalid).toEqual([]);
  });

  it("approve for the session picks allow_always; deny picks reject_once", { timeout: 20_000 }, async () => {
    s = await setupAcp();
    s.host.decide = () => ({ decision: "approve_session", by: "phone" });
    await s.agent.startThread("t1", "exec ls", { cwd: s.workspace });
    await s.host.waitTurnEnd("t1");
    s.host.decide = () => ({ decision: "deny", by: "phone" });
    await s.agent.sendMessage("t1", "exec rm -rf /", {});
    expect((await s.host.waitTurnEnd("t1", 2)).status).toBe("completed");
    const outcomes = s.received().filter((r) => r.method === "permission.outcome");
    expect(outcomes.map((o) => o.outcome)).toEqual([
      { outcome: "selected", optionId: "allow-always" },
      { outcome: "selected", optionId: "reject" },
    ]);
    const finished = of(s.host.of("t1"), "command.finished");
    expect(finished[1]).toMatchObject({ exitCode: null });
    expect(of(s.host.of("t1"), "message.completed").at(-1)!.text).toBe("The command was denied.");
  });

  it("an argv array is joined into a shell line; an unknown input shape is asked as expand and says why", { timeout: 20_000 }, async () => {
    s = await setupAcp();
    await s.agent.startThread("t1", "rawexec git status", { cwd: s.workspace });
    await s.host.waitTurnEnd("t1");
    expect(s.host.approvals[0]!.ask).toMatchObject({ type: "command", command: "git status" });
    await s.agent.sendMessage("t1", "oddexec", {});
    await s.host.waitTurnEnd("t1", 2);
    const odd = s.host.approvals[1]!.ask;
    expect(odd).toMatchObject({ type: "permission", permission: "exec" });
    expect(odd.reason).toContain("cannot read the exact command");
    expect(odd.reason).toContain("run the build script");
    expect(classifyAsk(odd).tier).toBe("expand");
  });

  it(
    "a file edit: the approval and the file.change carry a unified diff made from old/new text; an added file diffs against /dev/null",
    { timeout: 20_000 },
    async () => {
      s = await setupAcp();
      await s.agent.startThread("t1", "edit src/notes.txt", { cwd: s.workspace });
      await s.host.waitTurnEnd("t1");
      const ask = s.host.approvals[0]!.ask;
      expect(ask.type).toBe("file_change");
      const expected = "--- a/src/notes.txt\n+++ b/src/notes.txt\n@@ -1,3 +1,3 @@\n alpha\n-beta\n+BETA\n gamma\n";
      expect(ask.files).toEqual([{ path: `${s.workspace}/src/notes.txt`, change: "modify", diff: expected }]);
      expect(classifyAsk(ask).tier).toBe("continue"); // an edit inside the workspace
      expect(of(s.host.of("t1"), "file.change")).toEqual([
        { kind: "file.change", itemId: ask.itemId, path: `${s.workspace}/src/notes.txt`, change: "modify", diff: expected },
      ]);

      await s.agent.sendMessage("t1", "add NEW.md", {});
      await s.host.waitTurnEnd("t1", 2);
      expect(of(s.host.of("t1"), "file.change")[1]).toMatchObject({ change: "add", diff: "--- /dev/null\n+++ b/NEW.md\n@@ -0,0 +1,1 @@\n+brand new\n" });

      s.host.decide = () => ({ decision: "deny", by: "phone" });
      await s.agent.sendMessage("t1", "edit other.txt", {});
      await s.host.waitTurnEnd("t1", 3);
      expect(of(s.host.of("t1"), "file.change")).toHaveLength(2);
      expect(of(s.host.of("t1"), "notice").at(-1)!.text).toContain("Not applied");
      expect(s.host.invalid).toEqual([]);
    },
  );

  it("plan entries become plan.update with their statuses", { timeout: 20_000 }, async () => {
    s = await setupAcp();
    await s.agent.startThread("t1", "plan", { cwd: s.workspace });
    await s.host.waitTurnEnd("t1");
    const plans = of(s.host.of("t1"), "plan.update");
    expect(plans).toHaveLength(3);
    expect(plans[0]!.steps).toEqual([
      { text: "read", status: "in_progress" },
      { text: "write", status: "pending" },
    ]);
    expect(plans[2]!.steps.every((x) => x.status === "completed")).toBe(true);
  });

  it(
    "interrupt during a permission request: the request is answered cancelled, the host's approval is withdrawn, the turn ends interrupted",
    { timeout: 20_000 },
    async () => {
      s = await setupAcp();
      s.host.decide = () => new Promise(() => undefined); // nobody answers
      await s.agent.startThread("t1", "exec make deploy", { cwd: s.workspace });
      await s.host.waitFor("the approval", () => s.host.approvals.length === 1);
      const t0 = Date.now();
      await s.agent.interrupt("t1");
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(s.host.turnEnds("t1")).toEqual([expect.objectContaining({ status: "interrupted" })]);
      expect(s.host.withdrawn.map((w) => w.threadId)).toContain("t1");
      const got = s.received();
      expect(got.find((r) => r.method === "permission.outcome")).toMatchObject({ outcome: { outcome: "cancelled" } });
      expect(got.some((r) => r.method === "session/cancel")).toBe(true);
      // The command that never ran is closed, not left "running".
      expect(of(s.host.of("t1"), "command.finished")).toEqual([expect.objectContaining({ exitCode: null })]);
      expect(s.host.statuses.at(-1)!.status).toBe("idle");
      // A follow-up works.
      s.host.decide = () => ({ decision: "approve_once", by: "t" });
      await s.agent.sendMessage("t1", "reply again", {});
      expect((await s.host.waitTurnEnd("t1", 2)).status).toBe("completed");
    },
  );

  it("a cancel verdict (the device interrupted while deciding) answers cancelled and stops the turn", { timeout: 20_000 }, async () => {
    s = await setupAcp();
    s.host.decide = () => ({ decision: "cancel", by: "host" });
    await s.agent.startThread("t1", "exec make deploy", { cwd: s.workspace });
    expect((await s.host.waitTurnEnd("t1")).status).toBe("interrupted");
    expect(s.received().find((r) => r.method === "permission.outcome")).toMatchObject({ outcome: { outcome: "cancelled" } });
  });

  it("interrupt during a running tool: session/cancel stops it, output so far and a closed command reach the host", { timeout: 20_000 }, async () => {
    s = await setupAcp();
    await s.agent.startThread("t1", "long npm run watch", { cwd: s.workspace });
    await s.host.waitFor("output", () => of(s.host.of("t1"), "command.output").some((o) => o.chunk.includes("tick 1")));
    await s.agent.interrupt("t1");
    expect(s.host.turnEnds("t1")).toEqual([expect.objectContaining({ status: "interrupted" })]);
    const finished = of(s.host.of("t1"), "command.finished");
    expect(finished).toHaveLength(1);
    expect(finished[0]!.exitCode).toBe(null);
    expect(
      of(s.host.of("t1"), "command.output")
        .map((o) => o.chunk)
        .join(""),
    ).toBe("$ npm run watch\ntick 1\nkilled\n");
    await expect(s.agent.interrupt("t1")).rejects.toMatchObject({ code: "TURN_NOT_RUNNING" });
  });

  it("steer: a clear error while a turn runs (ACP has none); TURN_NOT_RUNNING when idle (send starts a turn)", { timeout: 20_000 }, async () => {
    s = await setupAcp();
    await s.agent.startThread("t1", "long sleep 100", { cwd: s.workspace });
    await s.host.waitFor("command", () => of(s.host.of("t1"), "command.started").length === 1);
    await expect(s.agent.steer("t1", "faster")).rejects.toMatchObject({
      code: "UNSUPPORTED",
      message: expect.stringContaining("cannot take instructions during a turn"),
    });
    await expect(s.agent.sendMessage("t1", "reply x", {})).rejects.toMatchObject({ code: "TURN_RUNNING" });
    await s.agent.interrupt("t1");
    await expect(s.agent.steer("t1", "reply steered")).rejects.toMatchObject({ code: "TURN_NOT_RUNNING" });
    await s.agent.sendMessage("t1", "reply sent", {});
    expect((await s.host.waitTurnEnd("t1", 2)).status).toBe("completed");
  });

  it("model and effort go through the session's config options", { timeout: 20_000 }, async () => {
    s = await setupAcp();
    await s.agent.startThread("t1", "mode", { cwd: s.workspace, model: "large" });
    await s.host.waitTurnEnd("t1");
    expect(of(s.host.of("t1"), "message.completed")[0]!.text).toBe("mode=default model=large effort=medium");
    await s.agent.setSettings("t1", { effort: "high" });
    await s.agent.sendMessage("t1", "mode", {});
    await s.host.waitTurnEnd("t1", 2);
    expect(of(s.host.of("t1"), "message.completed")[1]!.text).toBe("mode=default model=large effort=high");
  });

  it("the agent crashes mid-turn: the turn fails, open requests are withdrawn, it restarts and the session is loaded again", { timeout: 30_000 }, async () => {
    s = await setupAcp();
    await s.agent.startThread("t1", "reply first", { cwd: s.workspace });
    await s.host.waitTurnEnd("t1");
    const pid = s.agent.agentPid;
    await s.agent.sendMessage("t1", "crash", {});
    const end = await s.host.waitTurnEnd("t1", 2);
    expect(end.status).toBe("failed");
    expect(end.error).toContain("exited unexpectedly (code 3)");
    expect(s.host.withdrawn.some((w) => w.reason.includes("exited unexpectedly"))).toBe(true);
    expect(s.host.statuses.at(-1)!.status).toBe("failed");
    await s.host.waitFor("restart", () => s.agent.agentPid !== undefined && s.agent.agentPid !== pid);
    await s.agent.sendMessage("t1", "remember", {});
    expect((await s.host.waitTurnEnd("t1", 3)).status).toBe("completed");
    expect(of(s.host.of("t1"), "message.completed").at(-1)!.text).toBe("earlier: reply first"); // it died before saving the crashed turn
    expect(s.received().filter((r) => r.method === "session/load")).toHaveLength(1);
    // Loaded sessions leave the start mode too.
    expect(s.received().filter((r) => r.method === "session/set_mode")).toHaveLength(2);
    expect(s.host.invalid).toEqual([]);
  });

  it("airlock up restarts: the thread map is persisted, session/load reattaches, the replay is history not live events", { timeout: 30_000 }, async () => {
    s = await setupAcp();
    await s.agent.startThread("t1", "reply one", { cwd: s.workspace });
    await s.host.waitTurnEnd("t1");
    await s.agent.close();
    const before = s.host.events.length;
    const again = await s.newAgent();
    expect((await again.listThreads()).map((t) => t.threadId)).toEqual(["t1"]);
    expect((await again.listModels()).length).toBe(2);
    const history = await again.readThread("t1");
    expect(history.map((e) => e.kind)).toEqual(["message.user", "message.delta", "message.completed"]);
    expect(s.host.events.length).toBe(before);
    await again.sendMessage("t1", "remember", {});
    await s.host.waitTurnEnd("t1", 2);
    expect(of(s.host.of("t1"), "message.completed").at(-1)!.text).toBe("earlier: reply one");
    await expect(again.sendMessage("nope", "x", {})).rejects.toMatchObject({ code: "THREAD_NOT_FOUND" });
  });

  it("an agent that cannot start is reported, not thrown later", { timeout: 20_000 }, async () => {
    s = await setupAcp();
    const { AcpAgent } = await import("../../../host-agent/src/agents/acp/acp-agent.ts");
    const broken = new AcpAgent({ command: "/nonexistent/acp-agent", restartDelayMs: 50 });
    await expect(broken.start({ host: s.host, dataDir: `${s.root}/broken` })).rejects.toMatchObject({ code: "AGENT_UNAVAILABLE" });
    await broken.close();
  });
});
