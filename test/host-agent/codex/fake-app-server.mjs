#!/usr/bin/env node
// A FAKE `codex app-server` for the hostile-input test only (the real binary
// cannot be made to send these): it answers the handshake, then on turn/start
// sends garbage lines, an over-long line, malformed ids and texts, and an
// unknown server request whose answer it reports on stderr as "FAKE-ANSWER …".
import { createInterface } from "node:readline";

const out = (m) => process.stdout.write(`${JSON.stringify(m)}\n`);
const threadId = "fake-thread";
let nextId = 1000;

createInterface({ input: process.stdin }).on("line", (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  if (m.method === undefined) {
    process.stderr.write(`FAKE-ANSWER ${JSON.stringify(m)}\n`);
    return;
  }
  switch (m.method) {
    case "initialize":
      return out({ id: m.id, result: { userAgent: "fake" } });
    case "model/list":
      return out({
        id: m.id,
        result: {
          data: [
            {
              model: "m1",
              displayName: "M1",
              supportedReasoningEfforts: [{ reasoningEffort: "ultra" }, { reasoningEffort: "low" }],
              defaultReasoningEffort: "ultra",
              isDefault: true,
            },
            { model: "x".repeat(500) },
            "garbage",
            { model: "hidden", hidden: true },
          ],
          nextCursor: null,
        },
      });
    case "thread/start":
      return out({ id: m.id, result: { thread: { id: threadId } } });
    case "turn/start": {
      out({ id: m.id, result: { turn: { id: "turn 1 with spaces!" } } });
      process.stdout.write('this is not json\n[1,2,3]\n{"id":{}}\n\n');
      process.stdout.write(`{"method":"warning","params":{"message":"${"y".repeat(64 * 1024)}"}}\n`);
      const note = (method, params) => out({ method, params: { threadId, turnId: "turn 1 with spaces!", ...params } });
      note("turn/started", { turn: { id: "turn 1 with spaces!" } });
      note("item/agentMessage/delta", { itemId: "bad id/../€", delta: "z".repeat(70_000) });
      note("item/completed", { item: { type: "agentMessage", id: "", text: 42 } });
      note("item/started", { item: { type: "commandExecution", id: "c1", command: "c".repeat(10_000), cwd: 7 } });
      note("item/completed", { item: { type: "commandExecution", id: "c1", exitCode: 1.5, durationMs: -3, aggregatedOutput: "out" } });
      note("turn/plan/updated", { plan: [{ step: "s".repeat(2000), status: "weird" }, null] });
      note("thread/tokenUsage/updated", { tokenUsage: { total: { inputTokens: "many" } } });
      note("item/completed", {
        item: {
          type: "fileChange",
          id: "f1",
          status: "completed",
          changes: [{ path: "/a", kind: { type: "update", move_path: "/b" }, diff: "d" }, { nope: 1 }],
        },
      });
      out({ id: nextId++, method: "item/tool/call", params: { threadId, tool: "x" } });
      out({ id: nextId++, method: "item/commandExecution/requestApproval", params: { threadId: "someone-else", itemId: "q" } });
      note("turn/completed", { turn: { id: "turn 1 with spaces!", status: "completed" } });
      return;
    }
    default:
      return out({ id: m.id, error: { code: -32601, message: "fake: unsupported" } });
  }
});
