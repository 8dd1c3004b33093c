// Approvals through the real `codex app-server` (mock model): the adapter asks
// the host, maps the verdict and Codex acts on it.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MODEL, setupCodex, type CodexSetup } from "./helpers.ts";

let s: CodexSetup;
beforeEach(async () => {
  s = await setupCodex();
});
afterEach(async () => {
  await s.cleanup();
});

function toolOutput(i: number): string {
  const item = s.mock.requests[i]?.input.find((x) => x.type === "function_call_output" || x.type === "custom_tool_call_output");
  return JSON.stringify(item?.output ?? "");
}

describe("Codex approvals", () => {
  it("approve once: the command runs, output and exit code reach the host", { timeout: 30_000 }, async () => {
    s.mock.script({ kind: "exec", cmd: "echo hello-airlock" }, { kind: "text", text: "It printed hello." });
    await s.agent.startThread("t1", "say hello", { cwd: s.workspace, model: MODEL });
    const end = await s.host.waitTurnEnd("t1");
    expect(end.status).toBe("completed");

    expect(s.host.approvals).toHaveLength(1);
    const ask = s.host.approvals[0]!.ask;
    expect(ask).toMatchObject({ type: "command", command: "echo hello-airlock", cwd: s.workspace });
    expect(ask.itemId).toBeTruthy();
    expect(ask.turnId).toBeTruthy();

    const events = s.host.of("t1");
    const kinds = events.map((e) => e.kind);
    expect(kinds[0]).toBe("turn.status");
    expect(kinds).toContain("message.user");
    const started = events.find((e) => e.kind === "command.started");
    expect(started).toMatchObject({ command: "echo hello-airlock", itemId: ask.itemId });
    const output = events
      .filter((e) => e.kind === "command.output")
      .map((e) => (e.kind === "command.output" ? e.chunk : ""))
      .join("");
    expect(output).toContain("hello-airlock");
    expect(events.find((e) => e.kind === "command.finished")).toMatchObject({ exitCode: 0 });
    expect(events.find((e) => e.kind === "message.completed")).toMatchObject({ text: "It printed hello." });
    expect(kinds).toContain("message.delta");
    expect(kinds).toContain("usage");
    expect(s.host.statuses.map((x) => x.status)).toEqual(["running", "idle"]);
    expect(s.host.invalid).toEqual([]);
    // command.started reached the host before the approval was asked.
    expect(toolOutput(1)).toContain("hello-airlock");
  });

  it("approve for session: an identical second command does not ask again", { timeout: 30_000 }, async () => {
    s.host.decide = () => ({ decision: "approve_session", by: "phone" });
    s.mock.script({ kind: "exec", cmd: "echo once-more" }, { kind: "exec", cmd: "echo once-more" }, { kind: "text", text: "ran twice" });
    await s.agent.startThread("t1", "run it twice", { cwd: s.workspace, model: MODEL });
    expect((await s.host.waitTurnEnd("t1")).status).toBe("completed");
    expect(s.host.approvals).toHaveLength(1);
    expect(s.host.kinds("t1", "command.finished")).toHaveLength(2);
    expect(toolOutput(2)).toContain("once-more");
  });

  it("deny: the item is declined, the model is told and the turn goes on", { timeout: 30_000 }, async () => {
    s.host.decide = () => ({ decision: "deny", by: "phone" });
    s.mock.script({ kind: "exec", cmd: "touch should-not-exist" }, { kind: "text", text: "ok, I will not" });
    await s.agent.startThread("t1", "touch a file", { cwd: s.workspace, model: MODEL });
    expect((await s.host.waitTurnEnd("t1")).status).toBe("completed");
    expect(existsSync(join(s.workspace, "should-not-exist"))).toBe(false);
    expect(s.host.kinds("t1", "command.finished")).toEqual([expect.objectContaining({ exitCode: null })]);
    expect(s.mock.requests).toHaveLength(2);
    expect(toolOutput(1).toLowerCase()).toMatch(/reject|declin|denied|not approved/);
    expect(s.host.kinds("t1", "message.completed")).toEqual([expect.objectContaining({ text: "ok, I will not" })]);
  });

  it("cancel: the turn ends interrupted", { timeout: 30_000 }, async () => {
    s.host.decide = () => ({ decision: "cancel", by: "phone" });
    s.mock.script({ kind: "exec", cmd: "echo never" }, { kind: "text", text: "unreachable" });
    await s.agent.startThread("t1", "do it", { cwd: s.workspace, model: MODEL });
    expect((await s.host.waitTurnEnd("t1")).status).toBe("interrupted");
    expect(s.mock.requests).toHaveLength(1);
    expect(s.host.statuses.at(-1)?.status).toBe("idle");
  });

  it("file change: the approval carries the diff and the file is written after approval", { timeout: 30_000 }, async () => {
    const patch = "*** Begin Patch\n*** Add File: notes.txt\n+first line\n+second line\n*** End Patch\n";
    s.mock.script({ kind: "patch", patch }, { kind: "text", text: "wrote notes" });
    s.host.decide = () => {
      // The file must not exist while the approval is pending.
      expect(existsSync(join(s.workspace, "notes.txt"))).toBe(false);
      return { decision: "approve_once", by: "phone" };
    };
    await s.agent.startThread("t1", "write notes", { cwd: s.workspace, model: MODEL });
    expect((await s.host.waitTurnEnd("t1")).status).toBe("completed");

    expect(s.host.approvals).toHaveLength(1);
    const ask = s.host.approvals[0]!.ask;
    expect(ask.type).toBe("file_change");
    expect(ask.files).toEqual([expect.objectContaining({ path: join(s.workspace, "notes.txt"), change: "add" })]);
    // A unified diff from /dev/null (Codex itself sends the new file's content as `diff`).
    const added = "--- /dev/null\n+++ b/notes.txt\n@@ -0,0 +1,2 @@\n+first line\n+second line\n";
    expect(ask.files?.[0]?.diff).toBe(added);
    expect(readFileSync(join(s.workspace, "notes.txt"), "utf8")).toBe("first line\nsecond line\n");
    const change = s.host.kinds("t1", "file.change");
    expect(change).toEqual([expect.objectContaining({ path: join(s.workspace, "notes.txt"), change: "add", itemId: ask.itemId, diff: added })]);
    // The thread's own record (readThread) says the same.
    expect((await s.agent.readThread("t1")).filter((e) => e.kind === "file.change")).toEqual([expect.objectContaining({ change: "add", diff: added })]);
    expect(s.host.invalid).toEqual([]);
  });

  it("file change deleting a file: the diff is a unified diff to /dev/null", { timeout: 30_000 }, async () => {
    writeFileSync(join(s.workspace, "gone.txt"), "old one\nold two\n");
    s.mock.script({ kind: "patch", patch: "*** Begin Patch\n*** Delete File: gone.txt\n*** End Patch\n" }, { kind: "text", text: "deleted" });
    await s.agent.startThread("t1", "delete it", { cwd: s.workspace, model: MODEL });
    expect((await s.host.waitTurnEnd("t1")).status).toBe("completed");
    const removed = "--- a/gone.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-old one\n-old two\n";
    expect(s.host.approvals[0]?.ask.files).toEqual([expect.objectContaining({ change: "delete", diff: removed })]);
    expect(existsSync(join(s.workspace, "gone.txt"))).toBe(false);
    expect(s.host.kinds("t1", "file.change")).toEqual([expect.objectContaining({ change: "delete", diff: removed })]);
  });

  it("file change modifying a file: a unified diff with ---/+++ headers, and the turn's whole diff", { timeout: 30_000 }, async () => {
    writeFileSync(join(s.workspace, "kept.txt"), "one\ntwo\nthree\n");
    s.mock.script(
      { kind: "patch", patch: "*** Begin Patch\n*** Update File: kept.txt\n@@\n one\n-two\n+TWO\n three\n*** End Patch\n" },
      { kind: "text", text: "changed" },
    );
    await s.agent.startThread("t1", "change it", { cwd: s.workspace, model: MODEL });
    expect((await s.host.waitTurnEnd("t1")).status).toBe("completed");
    expect(readFileSync(join(s.workspace, "kept.txt"), "utf8")).toBe("one\nTWO\nthree\n");
    // Codex gives hunks only for a modified file; the adapter adds the headers.
    const modified = "--- a/kept.txt\n+++ b/kept.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n";
    expect(s.host.approvals[0]?.ask.files).toEqual([expect.objectContaining({ change: "modify", diff: modified })]);
    expect(s.host.kinds("t1", "file.change")).toEqual([expect.objectContaining({ change: "modify", diff: modified })]);
    expect((await s.agent.readThread("t1")).filter((e) => e.kind === "file.change")).toEqual([expect.objectContaining({ change: "modify", diff: modified })]);
    // turn/diff/updated: the turn's aggregated diff, as Codex computes it, sent once just before the turn's end.
    expect(s.host.kinds("t1", "turn.diff")).toHaveLength(1);
    const kinds = s.host.of("t1").map((e) => e.kind);
    expect(kinds.indexOf("turn.diff")).toBe(kinds.lastIndexOf("turn.status") - 1);
    const turnDiff = s.host.kinds("t1", "turn.diff").at(-1);
    expect(turnDiff).toMatchObject({ kind: "turn.diff", turnId: s.host.turnEnds("t1")[0]!.turnId });
    const diff = turnDiff?.kind === "turn.diff" ? turnDiff.diff : "";
    expect(diff).toMatch(/^--- a\/.*kept\.txt$/m);
    expect(diff).toContain("-two\n+TWO");
    expect(s.host.invalid).toEqual([]);
  });

  it("file change denied: nothing is written and no file.change is emitted", { timeout: 30_000 }, async () => {
    s.host.decide = () => ({ decision: "deny", by: "phone" });
    s.mock.script({ kind: "patch", patch: "*** Begin Patch\n*** Add File: nope.txt\n+x\n*** End Patch\n" }, { kind: "text", text: "fine" });
    await s.agent.startThread("t1", "write", { cwd: s.workspace, model: MODEL });
    expect((await s.host.waitTurnEnd("t1")).status).toBe("completed");
    expect(existsSync(join(s.workspace, "nope.txt"))).toBe(false);
    expect(s.host.kinds("t1", "file.change")).toEqual([]);
  });
});
