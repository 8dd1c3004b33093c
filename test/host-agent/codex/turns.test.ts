// Turns through the real `codex app-server` (mock model): interrupt, user
// questions, per-turn model/effort, steer, models and the thread's own record.
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentError } from "../../../host-agent/src/agent.ts";
import { MODEL, setupCodex, type CodexSetup } from "./helpers.ts";

let s: CodexSetup;
beforeEach(async () => {
  s = await setupCodex();
});
afterEach(async () => {
  await s.cleanup();
});

/** A sleep command no other process runs, to find it in /proc. */
function uniqueSleep(): string {
  return `sleep 30.${process.pid}${Math.floor(Math.random() * 1e6)}`;
}

/** Whether a process whose command line contains `needle` runs (read from /proc, Linux only). */
function running(needle: string): boolean {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").includes(needle)) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

const question = {
  id: "color",
  header: "Colour",
  question: "Which colour?",
  options: [
    { label: "Red", description: "warm" },
    { label: "Blue", description: "cool" },
  ],
};

describe("Codex turns", () => {
  it("lists models with Airlock efforts only and a default", { timeout: 30_000 }, async () => {
    const models = await s.agent.listModels();
    expect(models.length).toBeGreaterThan(0);
    const known = new Set(["minimal", "low", "medium", "high", "xhigh"]);
    for (const m of models) for (const e of m.efforts) expect(known.has(e)).toBe(true);
    expect(models.find((m) => m.id === MODEL)?.efforts).toEqual(["low", "medium", "high", "xhigh"]);
    expect(models.map((m) => m.id)).toContain(s.agent.defaultModel);
    // The version the app-server reports is the installed package's (pinned in package.json).
    const pinned = (JSON.parse(readFileSync("node_modules/@openai/codex/package.json", "utf8")) as { version: string }).version;
    expect(s.agent.info).toEqual({ kind: "codex", label: "Codex", version: pinned });
  });

  it("interrupt while a command runs: resolves when Codex reports the turn interrupted", { timeout: 30_000 }, async () => {
    s.mock.script({ kind: "exec", cmd: "echo started; sleep 20" }, { kind: "text", text: "unreachable" });
    await s.agent.startThread("t1", "sleep", { cwd: s.workspace, model: MODEL });
    await s.host.waitFor("command.output", () => s.host.kinds("t1", "command.started").length > 0);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await s.agent.interrupt("t1");
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(s.host.turnEnds("t1")).toEqual([expect.objectContaining({ status: "interrupted" })]);
    await expect(s.agent.interrupt("t1")).rejects.toMatchObject({ code: "TURN_NOT_RUNNING" });
  });

  it("interrupt stops an approved command running in the background (past its yield time)", { timeout: 30_000 }, async () => {
    const sleep = uniqueSleep();
    // The command yields after 300 ms (Codex keeps it as a background terminal) and the model goes on.
    s.mock.script({ kind: "exec", cmd: `echo started; ${sleep}`, yieldTimeMs: 300 }, { kind: "hang", text: "waiting" });
    await s.agent.startThread("t1", "sleep long", { cwd: s.workspace, model: MODEL });
    await s.mock.waitForRequests(2);
    await s.host.waitFor("a delta", () => s.host.kinds("t1", "message.delta").length > 0);
    expect(running(sleep)).toBe(true);
    const t0 = Date.now();
    await s.agent.interrupt("t1");
    expect(s.host.turnEnds("t1")).toEqual([expect.objectContaining({ status: "interrupted" })]);
    const finished = await s.host.waitFor("command.finished", () => s.host.kinds("t1", "command.finished")[0], 5_000);
    expect(Date.now() - t0).toBeLessThan(6_000);
    const started = s.host.kinds("t1", "command.started")[0];
    expect(finished).toMatchObject({ itemId: started?.kind === "command.started" ? started.itemId : "?" });
    expect(finished.kind === "command.finished" && finished.exitCode).not.toBe(0);
    await s.host.waitFor("the sleep to end", () => !running(sleep), 2_000);
    expect(s.host.kinds("t1", "command.finished")).toHaveLength(1);
    expect(s.host.invalid).toEqual([]);
  });

  it("interrupt inside a command's yield time: the command is closed even though Codex never ends its item", { timeout: 30_000 }, async () => {
    const sleep = uniqueSleep();
    s.mock.script({ kind: "exec", cmd: `echo started; ${sleep}` }, { kind: "text", text: "unreachable" });
    await s.agent.startThread("t1", "sleep long", { cwd: s.workspace, model: MODEL });
    await s.host.waitFor("the sleep", () => running(sleep), 5_000);
    const t0 = Date.now();
    await s.agent.interrupt("t1");
    expect(Date.now() - t0).toBeLessThan(6_000);
    expect(s.host.turnEnds("t1")).toEqual([expect.objectContaining({ status: "interrupted" })]);
    expect(s.host.kinds("t1", "command.finished")).toEqual([expect.objectContaining({ exitCode: null })]);
    expect(s.host.kinds("t1", "notice")).toEqual([expect.objectContaining({ level: "warning", text: expect.stringMatching(/interrupt/) })]);
    expect(running(sleep)).toBe(false);
    expect(s.mock.requests).toHaveLength(1);
    expect(s.host.invalid).toEqual([]);
  });

  it("interrupt while the model streams, then the thread continues", { timeout: 30_000 }, async () => {
    s.mock.script({ kind: "hang", text: "thinking hard" });
    await s.agent.startThread("t1", "think", { cwd: s.workspace, model: MODEL });
    await s.host.waitFor("a delta", () => s.host.kinds("t1", "message.delta").length > 0);
    await s.agent.interrupt("t1");
    expect(s.host.turnEnds("t1")[0]?.status).toBe("interrupted");
    s.mock.script({ kind: "text", text: "back again" });
    await s.agent.sendMessage("t1", "continue", {});
    expect((await s.host.waitTurnEnd("t1", 2)).status).toBe("completed");
    expect(s.host.kinds("t1", "message.completed").at(-1)).toMatchObject({ text: "back again" });
  });

  it("a user-input question is answered by the host", { timeout: 30_000 }, async () => {
    s.host.answer = (ask) => ({ answer: "Blue", optionId: ask.options?.find((o) => o.label === "Blue")?.id ?? "", by: "phone" });
    s.mock.script({ kind: "ask", questions: [question] }, { kind: "text", text: "Blue it is" });
    await s.agent.startThread("t1", "pick", { cwd: s.workspace, model: MODEL });
    expect((await s.host.waitTurnEnd("t1")).status).toBe("completed");
    expect(s.host.questions).toHaveLength(1);
    expect(s.host.questions[0]!.ask).toMatchObject({ text: "Colour: Which colour?", options: [{ label: "Red" }, { label: "Blue" }] });
    const output = s.mock.requests[1]!.input.find((x) => x.type === "function_call_output");
    expect(JSON.stringify(output)).toContain("Blue");
  });

  it("a question nobody answers (null) does not hang the turn", { timeout: 30_000 }, async () => {
    s.host.answer = () => null;
    s.mock.script({ kind: "ask", questions: [question] }, { kind: "text", text: "no answer, moving on" });
    await s.agent.startThread("t1", "pick", { cwd: s.workspace, model: MODEL });
    expect((await s.host.waitTurnEnd("t1")).status).toBe("completed");
    expect(s.mock.requests).toHaveLength(2);
    expect(s.host.kinds("t1", "message.completed").at(-1)).toMatchObject({ text: "no answer, moving on" });
  });

  it("per-turn model and effort, and thread settings, reach the model request", { timeout: 30_000 }, async () => {
    // A model switch makes Codex compact the history first (a request with the old
    // model): script enough replies and look only at the turns' requests.
    s.mock.script(...["one", "two", "three", "four", "five"].map((text) => ({ kind: "text" as const, text })));
    await s.agent.startThread("t1", "first", { cwd: s.workspace, model: MODEL, effort: "low" });
    await s.host.waitTurnEnd("t1", 1);
    await s.agent.sendMessage("t1", "second", { model: "gpt-5.6-sol", effort: "high" });
    await s.host.waitTurnEnd("t1", 2);
    await s.agent.setSettings("t1", { model: "gpt-6-luna", effort: "medium" });
    await s.agent.sendMessage("t1", "third", {});
    await s.host.waitTurnEnd("t1", 3);
    const turnRequests = s.mock.requests.filter((r) => !JSON.stringify(r.input.at(-1)).includes("CONTEXT CHECKPOINT COMPACTION"));
    const sent = turnRequests.map((r) => [r.body.model, (r.body.reasoning as { effort?: string } | undefined)?.effort]);
    expect(sent).toEqual([
      [MODEL, "low"],
      ["gpt-5.6-sol", "high"],
      ["gpt-6-luna", "medium"],
    ]);
  });

  it("steer adds to the running turn; without one it starts a turn", { timeout: 30_000 }, async () => {
    s.mock.script({ kind: "exec", cmd: "sleep 1; echo slept" }, { kind: "text", text: "steered" });
    await s.agent.startThread("t1", "work", { cwd: s.workspace, model: MODEL });
    await s.host.waitFor("command.started", () => s.host.kinds("t1", "command.started").length > 0);
    await s.agent.steer("t1", "also mention bananas");
    expect((await s.host.waitTurnEnd("t1")).status).toBe("completed");
    expect(JSON.stringify(s.mock.requests[1]!.input)).toContain("also mention bananas");
    expect(s.host.turnEnds("t1")).toHaveLength(1);

    s.mock.script({ kind: "text", text: "new turn" });
    await s.agent.steer("t1", "one more thing");
    expect((await s.host.waitTurnEnd("t1", 2)).status).toBe("completed");
    const users = s.host.kinds("t1", "message.user").map((e) => (e.kind === "message.user" ? e.text : ""));
    expect(users).toEqual(["work", "also mention bananas", "one more thing"]);
  });

  it("readThread rebuilds the thread from Codex's record; unknown threads are refused", { timeout: 30_000 }, async () => {
    s.mock.script({ kind: "exec", cmd: "echo recorded" }, { kind: "text", text: "final words" });
    await s.agent.startThread("t1", "record this", { cwd: s.workspace, model: MODEL });
    await s.host.waitTurnEnd("t1");
    const history = await s.agent.readThread("t1");
    const kinds = history.map((e) => e.kind);
    expect(kinds[0]).toBe("turn.status");
    expect(history).toContainEqual(expect.objectContaining({ kind: "message.user", text: "record this" }));
    expect(history).toContainEqual(expect.objectContaining({ kind: "message.completed", text: "final words" }));
    expect(await s.agent.listThreads()).toEqual([expect.objectContaining({ threadId: "t1", title: "record this" })]);
    await expect(s.agent.sendMessage("nope", "x", {})).rejects.toBeInstanceOf(AgentError);
    await expect(s.agent.sendMessage("nope", "x", {})).rejects.toMatchObject({ code: "THREAD_NOT_FOUND" });
  });
});
