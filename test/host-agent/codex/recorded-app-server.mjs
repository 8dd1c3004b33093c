#!/usr/bin/env node
// A FAKE `codex app-server` that replays notifications the real binary cannot
// be made to send offline (the image generation and model reroutes are decided
// by OpenAI's servers; rate limits come from ChatGPT accounts; 0.171 does not
// forward MCP progress for our test server). Their shapes are copied from the
// pinned binary's own schema (`codex app-server generate-ts`, v2: ThreadItem
// imageGeneration, McpToolCallProgressNotification, ModelReroutedNotification,
// AccountRateLimitsUpdatedNotification). Each turn/start replays one scenario
// named by the prompt.
import { createInterface } from "node:readline";

const out = (m) => process.stdout.write(`${JSON.stringify(m)}\n`);
const threadId = "rec-thread";
// A 1×1 PNG.
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
let turns = 0;

const scenarios = {
  imagegen(note) {
    const base = { type: "imageGeneration", id: "ig_1", revisedPrompt: "a red dot on white", generationId: null, failure: null };
    note("item/started", { item: { ...base, status: "in_progress", result: "" } });
    note("item/completed", { item: { ...base, status: "completed", result: PNG } });
  },
  imagefail(note) {
    note("item/completed", {
      item: {
        type: "imageGeneration",
        id: "ig_2",
        status: "failed",
        revisedPrompt: "a cat",
        generationId: null,
        failure: { type: "usageLimitExceeded", limitId: "images", resetsAt: null },
        result: "",
      },
    });
  },
  mcpprogress(note) {
    const item = {
      type: "mcpToolCall",
      id: "call_9",
      server: "docs",
      environmentId: null,
      tool: "search",
      arguments: { q: "relay" },
      appContext: null,
      mcpAppUi: null,
      pluginId: null,
      readOnlyHint: true,
      error: null,
      durationMs: null,
    };
    note("item/started", { item: { ...item, status: "inProgress", result: null } });
    note("item/mcpToolCall/progress", { itemId: "call_9", message: "indexing 3 of 10 pages" });
    note("item/completed", { item: { ...item, status: "failed", result: null, error: { message: "docs server timed out" }, durationMs: 1200 } });
  },
  reroute(note) {
    note("model/rerouted", { fromModel: "gpt-5.5", toModel: "gpt-5.5-safe", reason: "highRiskCyberActivity" });
  },
  ratelimits(_note) {
    const snapshot = (used, reached = null) => ({
      rateLimits: {
        limitId: "codex",
        limitName: null,
        normalModelSlug: null,
        credits: null,
        individualLimit: null,
        spendControlReached: null,
        planType: "plus",
        primary: { usedPercent: used, windowDurationMins: 300, resetsAt: 1796410800 },
        secondary: { usedPercent: 12, windowDurationMins: 10080, resetsAt: null },
        rateLimitReachedType: reached,
      },
    });
    // Account-wide: no threadId.
    out({ method: "account/rateLimits/updated", params: snapshot(50) });
    out({ method: "account/rateLimits/updated", params: snapshot(80) });
    out({ method: "account/rateLimits/updated", params: snapshot(82) });
    out({ method: "account/rateLimits/updated", params: snapshot(100, "rate_limit_reached") });
  },
};

createInterface({ input: process.stdin }).on("line", (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined || m.method === undefined) return;
  switch (m.method) {
    case "initialize":
      return out({ id: m.id, result: { userAgent: "recorded/0.171.0" } });
    case "model/list":
      return out({
        id: m.id,
        result: { data: [{ model: "gpt-5.5", displayName: "GPT-5.5", supportedReasoningEfforts: [], isDefault: true }], nextCursor: null },
      });
    case "thread/start":
      return out({ id: m.id, result: { thread: { id: threadId } } });
    case "turn/start": {
      const turnId = `turn-${++turns}`;
      const prompt = m.params?.input?.[0]?.text ?? "";
      out({ id: m.id, result: { turn: { id: turnId } } });
      const note = (method, params) => out({ method, params: { threadId, turnId, ...params } });
      note("turn/started", { turn: { id: turnId, status: "inProgress" } });
      scenarios[prompt]?.(note);
      note("turn/completed", { turn: { id: turnId, status: "completed", error: null } });
      return;
    }
    default:
      return out({ id: m.id, error: { code: -32601, message: "recorded: unsupported" } });
  }
});
