// `airlock-client watch` for people (issue 12): deltas joined into lines,
// diffs for file changes and approvals, hints with the real ids.
import { expect, it } from "vitest";
import { WatchView } from "../../client-sdk/src/node/cli.ts";
import type { SeqEvent } from "../../client-sdk/src/thread-subscription.ts";

const DIFF = "--- /dev/null\n+++ b/notes/001-x.md\n@@ -0,0 +1,2 @@\n+# Note\n+hello\n";

it("joins deltas into lines and prints the rest when the message completes", () => {
  const v = new WatchView("thr_1");
  let seq = 0;
  const ev = (event: SeqEvent["event"]) => v.lines({ seq: ++seq, event } as SeqEvent);
  const out = [
    ...ev({ kind: "message.delta", itemId: "m", text: "Hello " }),
    ...ev({ kind: "message.delta", itemId: "m", text: "world.\nSecond " }),
    ...ev({ kind: "message.delta", itemId: "m", text: "line" }),
    ...ev({ kind: "message.completed", itemId: "m", text: "Hello world.\nSecond line" }),
  ];
  expect(out).toEqual(["#1 message: Hello world.", "  Second line"]);
  // A message that arrives whole is printed whole.
  expect(ev({ kind: "message.completed", itemId: "n", text: "Done." })).toEqual(["#5 message.completed: Done."]);
});

it("shows diffs for approvals and file changes, with hints that name the real thread and request", () => {
  const v = new WatchView("thr_1");
  const approval = v.lines({
    seq: 7,
    event: {
      kind: "approval.request",
      approvalId: "ap_9",
      type: "file_change",
      tier: "continue",
      rule: "r",
      where: "any-device",
      diff: DIFF,
      options: ["approve_once", "deny"],
      evidence: {
        action: "add notes/001-x.md",
        reason: "Record it.",
        host: "h",
        cwd: "/w",
        filesChanged: [],
        checksRun: [],
        flags: { network: false, credentials: false, externalTools: false, writes: true },
      },
    },
  } as SeqEvent);
  expect(approval.join("\n")).toContain("    +# Note");
  expect(approval.join("\n")).toContain("uses: writes");
  expect(approval.at(-1)).toBe("  approve: airlock-client approve thr_1 ap_9  ·  deny: airlock-client deny thr_1 ap_9");
  const hostOnly = v.lines({
    seq: 8,
    event: {
      kind: "approval.request",
      approvalId: "ap_10",
      type: "command",
      tier: "commit",
      rule: "r",
      where: "host-only",
      options: ["approve_once"],
      evidence: {
        action: "git push",
        host: "h",
        cwd: "/w",
        filesChanged: [],
        checksRun: [],
        flags: { network: true, credentials: false, externalTools: false, writes: false },
      },
    },
  } as SeqEvent);
  expect(hostOnly.at(-1)).toBe("  decide at the host: airlock approve ap_10 (or airlock deny ap_10)");
  expect(v.lines({ seq: 9, event: { kind: "file.change", itemId: "f", path: "notes/001-x.md", change: "add", diff: DIFF } } as SeqEvent)).toEqual([
    "#9 file.change: add notes/001-x.md",
    "    --- /dev/null",
    "    +++ b/notes/001-x.md",
    "    @@ -0,0 +1,2 @@",
    "    +# Note",
    "    +hello",
  ]);
});

it("prints reasoning once (only what is new), tool calls with their result, and a summary of the turn's diff", () => {
  const v = new WatchView("thr_1");
  let seq = 0;
  const ev = (event: SeqEvent["event"]) => v.lines({ seq: ++seq, event } as SeqEvent);
  // Each reasoning event repeats the summary so far: the new part only is printed.
  expect(ev({ kind: "reasoning", itemId: "r", text: "**Planning** the fix" })).toEqual(["#1 reasoning: **Planning** the fix"]);
  expect(ev({ kind: "reasoning", itemId: "r", text: "**Planning** the fix\n\nReading the tests" })).toEqual(["  Reading the tests"]);
  expect(ev({ kind: "tool.call", itemId: "w", name: "web_search", status: "running", input: "vitest\nprojects" })).toEqual([
    "#3 tool.call: web_search running: vitest projects",
  ]);
  expect(ev({ kind: "tool.call", itemId: "m", name: "mcp:docs/search", status: "failed", input: '{"q":"x"}', output: "timed out\u001b[31m" })).toEqual([
    '#4 tool.call: mcp:docs/search failed: {"q":"x"}',
    "  timed out?[31m",
  ]);
  const diff = "--- a/a.ts\n+++ b/a.ts\n@@ -1 +1,2 @@\n-x\n+y\n+z\n--- /dev/null\n+++ b/b.ts\n@@ -0,0 +1 @@\n+new\n";
  expect(ev({ kind: "turn.diff", turnId: "t", diff })).toEqual(["#5 turn.diff: 2 files changed in this turn, +3 -1"]);
});
