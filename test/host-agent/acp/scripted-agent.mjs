#!/usr/bin/env node
// A scripted ACP agent built with the official SDK, for the ACP adapter's
// tests. The first word of each prompt picks what it does:
//   reply <text>       streams <text> in three chunks
//   exec <command>     an execute tool call (Claude Code's shape: pending with
//                      empty input, then the command), asks permission, "runs"
//   rawexec <command>  the same, with an argv array as input
//   oddexec            an execute tool call whose input shape is unknown
//   long <command>     like exec, then keeps running until session/cancel
//   edit <path>        an edit tool call with old/new text; add <path>: new file
//   plan               plan entries in three updates
//   crash              exits mid-turn
//   remember           answers with the session's earlier prompts
//   mode               answers with the session's mode at prompt time
// Sessions are saved under $SCRIPTED_ACP_STATE so session/load works across
// restarts, replaying the history as updates. $SCRIPTED_ACP_MODE: the mode a
// new session starts in (like Claude Code's "auto"); in "auto", exec runs
// without asking. Everything it received is appended to $SCRIPTED_ACP_LOG.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { agent, ndJsonStream, PROTOCOL_VERSION, RequestError } from "@agentclientprotocol/sdk";

const STATE = process.env.SCRIPTED_ACP_STATE;
const LOG = process.env.SCRIPTED_ACP_LOG;
const START_MODE = process.env.SCRIPTED_ACP_MODE ?? "default";
const MODES = [
  { id: "default", name: "Ask" },
  { id: "auto", name: "Auto" },
  { id: "plan", name: "Plan" },
];
const MODELS = [
  { value: "small", name: "Small" },
  { value: "large", name: "Large" },
];

/** sessionId → { cwd, mode, model, history: [{role, text}] } */
const sessions = new Map();
/** sessionId → AbortController of the running prompt */
const running = new Map();
let counter = 0;

function log(entry) {
  if (LOG) appendFileSync(LOG, JSON.stringify(entry) + "\n");
}
function save(id) {
  if (!STATE) return;
  mkdirSync(STATE, { recursive: true });
  writeFileSync(join(STATE, `${id}.json`), JSON.stringify(sessions.get(id)));
}
function restore(id) {
  if (!STATE) return undefined;
  try {
    return JSON.parse(readFileSync(join(STATE, `${id}.json`), "utf8"));
  } catch {
    return undefined;
  }
}
function configOptions(s) {
  return [
    { id: "model", name: "Model", type: "select", category: "model", currentValue: s.model, options: MODELS },
    {
      id: "effort",
      name: "Effort",
      type: "select",
      category: "thought_level",
      currentValue: s.effort,
      options: ["low", "medium", "high"].map((v) => ({ value: v, name: v })),
    },
  ];
}
function sessionResponse(id, s) {
  return { sessionId: id, modes: { currentModeId: s.mode, availableModes: MODES }, configOptions: configOptions(s) };
}
const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

const app = agent({ name: "scripted" })
  .onRequest("initialize", () => ({
    protocolVersion: PROTOCOL_VERSION,
    agentCapabilities: { loadSession: true },
    agentInfo: { name: "scripted-acp", title: "Scripted ACP agent", version: "1.2.3" },
  }))
  .onRequest("session/new", ({ params }) => {
    const id = `sess-${process.pid}-${++counter}`;
    sessions.set(id, { cwd: params.cwd, mode: START_MODE, model: "small", effort: "medium", history: [] });
    save(id);
    log({ method: "session/new", cwd: params.cwd });
    return sessionResponse(id, sessions.get(id));
  })
  .onRequest("session/load", async ({ params, client }) => {
    const s = sessions.get(params.sessionId) ?? restore(params.sessionId);
    if (!s) throw RequestError.resourceNotFound?.(params.sessionId) ?? new RequestError(-32002, "no such session");
    s.mode = START_MODE;
    sessions.set(params.sessionId, s);
    log({ method: "session/load", sessionId: params.sessionId });
    for (const h of s.history) {
      await client.notify("session/update", {
        sessionId: params.sessionId,
        update: { sessionUpdate: h.role === "user" ? "user_message_chunk" : "agent_message_chunk", content: { type: "text", text: h.text } },
      });
    }
    return sessionResponse(params.sessionId, s);
  })
  .onRequest("session/set_mode", ({ params }) => {
    const s = sessions.get(params.sessionId);
    log({ method: "session/set_mode", modeId: params.modeId });
    if (!s) throw new RequestError(-32602, "no such session");
    s.mode = params.modeId;
    return {};
  })
  .onRequest("session/set_config_option", ({ params }) => {
    const s = sessions.get(params.sessionId);
    log({ method: "session/set_config_option", configId: params.configId, value: params.value });
    if (!s) throw new RequestError(-32602, "no such session");
    if (params.configId === "model") s.model = params.value;
    if (params.configId === "effort") s.effort = params.value;
    return { configOptions: configOptions(s) };
  })
  .onNotification("session/cancel", ({ params }) => {
    log({ method: "session/cancel" });
    running.get(params.sessionId)?.abort();
  })
  .onRequest("session/prompt", async ({ params, client }) => {
    const sessionId = params.sessionId;
    const s = sessions.get(sessionId);
    if (!s) throw new RequestError(-32602, "no such session");
    const text = params.prompt.map((b) => (b.type === "text" ? b.text : "")).join("");
    log({ method: "session/prompt", text, mode: s.mode, model: s.model, effort: s.effort });
    const abort = new AbortController();
    running.set(sessionId, abort);
    const update = (u) => client.notify("session/update", { sessionId, update: u });
    const say = async (t) => {
      const id = `m${++counter}`;
      const parts = [
        t.slice(0, Math.ceil(t.length / 3)),
        t.slice(Math.ceil(t.length / 3), Math.ceil((2 * t.length) / 3)),
        t.slice(Math.ceil((2 * t.length) / 3)),
      ];
      for (const p of parts) if (p) await update({ sessionUpdate: "agent_message_chunk", messageId: id, content: { type: "text", text: p } });
      reply += t;
    };
    let reply = "";
    const ask = async (toolCall) => {
      if (s.mode === "auto") return "allow-once";
      const res = await client
        .request(
          "session/request_permission",
          {
            sessionId,
            toolCall,
            options: [
              { optionId: "allow-once", name: "Allow", kind: "allow_once" },
              { optionId: "allow-always", name: "Always allow", kind: "allow_always" },
              { optionId: "reject", name: "Reject", kind: "reject_once" },
            ],
          },
          { cancellationSignal: abort.signal },
        )
        .catch((e) => ({ outcome: { outcome: "cancelled" }, error: String(e) }));
      log({ method: "permission.outcome", outcome: res.outcome });
      return res.outcome.outcome === "selected" ? res.outcome.optionId : "cancelled";
    };
    const [word, ...rest] = text.trim().split(" ");
    const arg = rest.join(" ");
    let stop = "end_turn";
    try {
      switch (word) {
        case "reply":
          await say(arg || "hello from the scripted agent");
          break;
        case "mode":
          await say(`mode=${s.mode} model=${s.model} effort=${s.effort}`);
          break;
        case "remember":
          await say(
            `earlier: ${s.history
              .filter((h) => h.role === "user")
              .map((h) => h.text)
              .join(" | ")}`,
          );
          break;
        case "plan":
          await update({
            sessionUpdate: "plan",
            entries: [
              { content: "read", priority: "high", status: "in_progress" },
              { content: "write", priority: "medium", status: "pending" },
            ],
          });
          await update({
            sessionUpdate: "plan",
            entries: [
              { content: "read", priority: "high", status: "completed" },
              { content: "write", priority: "medium", status: "in_progress" },
            ],
          });
          await update({
            sessionUpdate: "plan",
            entries: [
              { content: "read", priority: "high", status: "completed" },
              { content: "write", priority: "medium", status: "completed" },
            ],
          });
          await say("planned");
          break;
        case "crash":
          await say("about to crash");
          await sleep(50);
          process.exit(3);
          break;
        case "exec":
        case "rawexec":
        case "oddexec":
        case "long": {
          const toolCallId = `call-${++counter}`;
          const rawInput =
            word === "oddexec"
              ? { script: { lines: ["rm -rf build"] } }
              : word === "rawexec"
                ? { command: ["bash", "-lc", arg] }
                : { command: arg, description: `because the test said ${word}` };
          await update({ sessionUpdate: "tool_call", toolCallId, title: "Terminal", kind: "execute", status: "pending", rawInput: {} });
          await update({ sessionUpdate: "tool_call_update", toolCallId, title: word === "oddexec" ? "run the build script" : arg, rawInput });
          const choice = await ask({ toolCallId, kind: "execute", title: word === "oddexec" ? "run the build script" : arg, rawInput });
          if (choice === "cancelled") {
            await update({ sessionUpdate: "tool_call_update", toolCallId, status: "failed" });
            stop = "cancelled";
            break;
          }
          if (choice === "reject") {
            await update({
              sessionUpdate: "tool_call_update",
              toolCallId,
              status: "failed",
              content: [{ type: "content", content: { type: "text", text: "The user denied this command." } }],
            });
            await say("The command was denied.");
            break;
          }
          await update({
            sessionUpdate: "tool_call_update",
            toolCallId,
            status: "in_progress",
            content: [{ type: "content", content: { type: "text", text: `$ ${arg}\n` } }],
          });
          if (word === "long") {
            await update({
              sessionUpdate: "tool_call_update",
              toolCallId,
              content: [{ type: "content", content: { type: "text", text: `$ ${arg}\ntick 1\n` } }],
            });
            await sleep(60_000, abort.signal);
            await update({
              sessionUpdate: "tool_call_update",
              toolCallId,
              status: "failed",
              content: [{ type: "content", content: { type: "text", text: `$ ${arg}\ntick 1\nkilled\n` } }],
            });
            stop = abort.signal.aborted ? "cancelled" : "end_turn";
            break;
          }
          await update({
            sessionUpdate: "tool_call_update",
            toolCallId,
            status: "completed",
            rawOutput: { exitCode: 0 },
            content: [{ type: "content", content: { type: "text", text: `$ ${arg}\nran: ${arg}\n` } }],
          });
          await say(`It ran (${choice}).`);
          break;
        }
        case "edit":
        case "add": {
          const toolCallId = `call-${++counter}`;
          const path = join(s.cwd, arg || "notes.txt");
          const diff = {
            type: "diff",
            path,
            oldText: word === "add" ? null : "alpha\nbeta\ngamma\n",
            newText: word === "add" ? "brand new\n" : "alpha\nBETA\ngamma\n",
          };
          await update({
            sessionUpdate: "tool_call",
            toolCallId,
            title: `Edit ${arg}`,
            kind: "edit",
            status: "pending",
            locations: [{ path }],
            content: [diff],
            rawInput: { file_path: path },
          });
          const choice = await ask({ toolCallId, kind: "edit", title: `Edit ${arg}`, locations: [{ path }], content: [diff], rawInput: { file_path: path } });
          if (choice === "cancelled") {
            stop = "cancelled";
            break;
          }
          if (choice === "reject") {
            await update({ sessionUpdate: "tool_call_update", toolCallId, status: "failed" });
            await say("Not edited.");
            break;
          }
          await update({ sessionUpdate: "tool_call_update", toolCallId, status: "completed", content: [diff] });
          await say("Edited.");
          break;
        }
        default:
          await say(`unknown script ${word}`);
      }
    } finally {
      running.delete(sessionId);
    }
    if (abort.signal.aborted) stop = "cancelled";
    s.history.push({ role: "user", text }, { role: "agent", text: reply });
    save(sessionId);
    log({ method: "stop", stopReason: stop });
    return { stopReason: stop };
  });

const stream = ndJsonStream(Writable.toWeb(process.stdout), Readable.toWeb(process.stdin));
const conn = app.connect(stream);
await conn.closed;
