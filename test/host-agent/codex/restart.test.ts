// Restarts with the real `codex app-server` (mock model): threads resume in a
// new app-server process and in a new CodexAgent (host restart) with their
// history; a crash mid-turn is reported and the next message works.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MODEL, setupCodex, type CodexSetup } from "./helpers.ts";

let s: CodexSetup;
beforeEach(async () => {
  s = await setupCodex();
});
afterEach(async () => {
  await s.cleanup();
});

function kill(pid: number | undefined): void {
  if (pid === undefined) throw new Error("no app-server pid");
  process.kill(pid, "SIGKILL");
}

async function waitRestarted(count = 1): Promise<void> {
  await s.host.waitFor("app-server restart", () => s.host.logs.filter((l) => l.includes("app-server restarted")).length >= count);
}

/** All input text the mock got in request i (the conversation history Codex sent). */
function inputText(i: number): string {
  return JSON.stringify(s.mock.requests[i]?.input ?? []);
}

describe("Codex restarts", () => {
  it("resumes the same Codex thread after the app-server is killed", { timeout: 30_000 }, async () => {
    s.mock.script({ kind: "text", text: "remember the word pelican" }, { kind: "text", text: "pelican" });
    await s.agent.startThread("t1", "first message", { cwd: s.workspace, model: MODEL });
    await s.host.waitTurnEnd("t1");
    const pid = s.agent.appServerPid;
    kill(pid);
    await waitRestarted();
    expect(s.agent.appServerPid).not.toBe(pid);
    // Idle thread: nothing to report to devices.
    expect(s.host.kinds("t1", "notice")).toEqual([]);

    await s.agent.sendMessage("t1", "what was the word?", {});
    expect((await s.host.waitTurnEnd("t1", 2)).status).toBe("completed");
    const history = inputText(1);
    expect(history).toContain("first message");
    expect(history).toContain("remember the word pelican");
    expect(history).toContain("what was the word?");
  });

  it("a new CodexAgent on the same dataDir resumes the thread (host restart)", { timeout: 30_000 }, async () => {
    s.mock.script({ kind: "text", text: "the answer is 42" }, { kind: "text", text: "still 42" });
    await s.agent.startThread("t1", "compute", { cwd: s.workspace, model: MODEL });
    await s.host.waitTurnEnd("t1");
    await s.agent.close();

    const again = await s.newAgent();
    expect(await again.listThreads()).toEqual([expect.objectContaining({ threadId: "t1", title: "compute" })]);
    await again.sendMessage("t1", "repeat it", {});
    expect((await s.host.waitTurnEnd("t1", 2)).status).toBe("completed");
    expect(inputText(1)).toContain("the answer is 42");
    expect(inputText(1)).toContain("repeat it");
  });

  it("a crash mid-turn is reported (notice + failed), then the thread goes on", { timeout: 30_000 }, async () => {
    s.mock.script({ kind: "hang", text: "working" });
    await s.agent.startThread("t1", "long job", { cwd: s.workspace, model: MODEL });
    await s.host.waitFor("delta", () => s.host.kinds("t1", "message.delta").length > 0);
    kill(s.agent.appServerPid);

    const end = await s.host.waitTurnEnd("t1");
    expect(end.status).toBe("failed");
    expect(end.error).toMatch(/exited unexpectedly/);
    expect(s.host.kinds("t1", "notice")).toEqual([expect.objectContaining({ level: "error" })]);
    expect(s.host.statuses.at(-1)?.status).toBe("failed");
    await waitRestarted();

    s.mock.release();
    s.mock.script({ kind: "text", text: "recovered" });
    await s.agent.sendMessage("t1", "try again", {});
    expect((await s.host.waitTurnEnd("t1", 2)).status).toBe("completed");
    expect(inputText(s.mock.requests.length - 1)).toContain("long job");
    expect(s.host.statuses.at(-1)?.status).toBe("idle");
    expect(s.host.invalid).toEqual([]);
  });

  it("a crash while a command runs closes the command (exit code unknown, with the reason)", { timeout: 30_000 }, async () => {
    s.mock.script({ kind: "exec", cmd: "echo started; sleep 30" });
    await s.agent.startThread("t1", "long command", { cwd: s.workspace, model: MODEL });
    await s.host.waitFor("command.started", () => s.host.kinds("t1", "command.started").length > 0);
    await new Promise((r) => setTimeout(r, 300));
    kill(s.agent.appServerPid);
    expect((await s.host.waitTurnEnd("t1")).status).toBe("failed");
    const events = s.host.of("t1");
    const finished = events.findIndex((e) => e.kind === "command.finished");
    expect(events[finished]).toMatchObject({ exitCode: null });
    // Closed before the turn is reported failed.
    expect(finished).toBeLessThan(events.findIndex((e) => e.kind === "turn.status" && e.status === "failed"));
    expect(s.host.kinds("t1", "notice")).toContainEqual(
      expect.objectContaining({ level: "warning", text: expect.stringMatching(/without an exit code: Codex app-server exited unexpectedly/) }),
    );
    await waitRestarted();
    s.mock.release();
    s.mock.script({ kind: "text", text: "fine" });
    await s.agent.sendMessage("t1", "go on", {});
    expect((await s.host.waitTurnEnd("t1", 2)).status).toBe("completed");
    expect(s.host.kinds("t1", "command.finished")).toHaveLength(1);
    expect(s.host.invalid).toEqual([]);
  });

  it("a host restart while a command runs closes the command once (exit code unknown, with the reason)", { timeout: 30_000 }, async () => {
    s.mock.script({ kind: "exec", cmd: "echo started; sleep 30" });
    await s.agent.startThread("t1", "long command", { cwd: s.workspace, model: MODEL });
    await s.host.waitFor("command.started", () => s.host.kinds("t1", "command.started").length > 0);
    await new Promise((r) => setTimeout(r, 300));
    await s.agent.close();
    expect(s.host.kinds("t1", "command.finished")).toEqual([]);

    const again = await s.newAgent();
    const itemId = s.host.kinds("t1", "command.started")[0]!;
    expect(s.host.kinds("t1", "command.finished")).toEqual([expect.objectContaining({ exitCode: null, itemId: "itemId" in itemId ? itemId.itemId : "?" })]);
    expect(s.host.kinds("t1", "notice")).toEqual([expect.objectContaining({ level: "warning", text: expect.stringMatching(/host restarted/) })]);
    await again.close();
    await s.newAgent();
    expect(s.host.kinds("t1", "command.finished")).toHaveLength(1);
    expect(s.host.invalid).toEqual([]);
  });

  it("a crash withdraws the thread's pending approval at once (not at the timeout)", { timeout: 30_000 }, async () => {
    // The host double holds the approval until the adapter withdraws it (as the broker would).
    let withdraw!: () => void;
    s.host.decide = () => new Promise((resolve) => (withdraw = () => resolve({ decision: "cancel", by: "host" })));
    const hostWithdraw = s.host.withdraw.bind(s.host);
    s.host.withdraw = (threadId, reason) => {
      hostWithdraw(threadId, reason);
      withdraw?.();
    };
    s.mock.script({ kind: "exec", cmd: "echo pending" });
    await s.agent.startThread("t1", "ask me", { cwd: s.workspace, model: MODEL });
    await s.host.waitFor("approval", () => s.host.approvals.length === 1);
    expect(s.host.withdrawn).toEqual([]);
    kill(s.agent.appServerPid);
    await s.host.waitFor("withdraw", () => s.host.withdrawn.length > 0, 5_000);
    expect(s.host.withdrawn).toEqual([{ threadId: "t1", reason: expect.stringMatching(/exited unexpectedly/) }]);
    expect((await s.host.waitTurnEnd("t1")).status).toBe("failed");
    await s.host.waitFor("drop log", () => s.host.logs.some((l) => l.includes("dropping the answer")));
  });

  it("a verdict for an approval of a dead app-server is dropped safely", { timeout: 30_000 }, async () => {
    let release!: () => void;
    const decided = new Promise<void>((r) => (release = r));
    s.host.decide = async () => {
      await decided;
      return { decision: "approve_once", by: "phone" };
    };
    s.mock.script({ kind: "exec", cmd: "echo late" });
    await s.agent.startThread("t1", "ask me", { cwd: s.workspace, model: MODEL });
    await s.host.waitFor("approval", () => s.host.approvals.length === 1);
    kill(s.agent.appServerPid);
    expect((await s.host.waitTurnEnd("t1")).status).toBe("failed");
    release();
    await s.host.waitFor("drop log", () => s.host.logs.some((l) => l.includes("dropping the answer")));
    await waitRestarted();

    s.host.decide = () => ({ decision: "deny", by: "phone" });
    s.mock.script({ kind: "text", text: "fine" });
    await s.agent.sendMessage("t1", "never mind", {});
    expect((await s.host.waitTurnEnd("t1", 2)).status).toBe("completed");
  });
});
