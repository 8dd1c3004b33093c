// What the Codex TUI shows beyond messages and commands, through the real
// `codex app-server` (mock model): reasoning summaries, a web search, an MCP
// tool call (a real MCP server over stdio), an image the agent viewed, the
// compaction a model switch causes. What the offline binary cannot produce
// (image generation, model reroutes, account rate limits, MCP progress) is
// replayed with the pinned binary's recorded shapes by recorded-app-server.mjs.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { ThreadEvent } from "../../../protocol/src/index.ts";
import { CodexAgent } from "../../../host-agent/src/agents/codex/codex-agent.ts";
import { rateLimitNotices, turnDiffEvent } from "../../../host-agent/src/agents/codex/items.ts";
import { withHeaders } from "../../../host-agent/src/agents/codex/mapping.ts";
import { MODEL, RecordingHost, setupCodex, type CodexSetup } from "./helpers.ts";

// A 1×1 PNG.
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const MCP_SERVER = fileURLToPath(new URL("./mcp-server.mjs", import.meta.url));

let s: CodexSetup | undefined;
afterEach(async () => {
  await s?.cleanup();
  s = undefined;
});

type Of<K extends ThreadEvent["kind"]> = Extract<ThreadEvent, { kind: K }>;
const of = <K extends ThreadEvent["kind"]>(events: ThreadEvent[], kind: K) => events.filter((e): e is Of<K> => e.kind === kind);

describe("Codex items through the real app-server", () => {
  it("reasoning summaries: shown as each part ends, then whole; readThread has them", { timeout: 30_000 }, async () => {
    s = await setupCodex();
    s.mock.script({ kind: "reasoning", summary: ["**Planning** the answer", "Checking the glossary"], text: "thought it through" });
    await s.agent.startThread("t1", "think", { cwd: s.workspace, model: MODEL });
    await s.host.waitTurnEnd("t1");
    const events = s.host.of("t1");
    const reasoning = of(events, "reasoning");
    expect(reasoning.map((e) => e.text)).toEqual(["**Planning** the answer", "**Planning** the answer\n\nChecking the glossary"]);
    expect(new Set(reasoning.map((e) => e.itemId)).size).toBe(1);
    // Reasoning comes before the answer it led to.
    expect(events.findIndex((e) => e.kind === "reasoning")).toBeLessThan(events.findIndex((e) => e.kind === "message.completed"));
    expect(of(await s.agent.readThread("t1"), "reasoning")).toEqual([reasoning.at(-1)]);
    expect(s.host.invalid).toEqual([]);
  });

  it("a web search: a tool.call running, then completed, with the query", { timeout: 30_000 }, async () => {
    s = await setupCodex();
    s.mock.script({ kind: "search", action: { type: "search", query: "airlock relay protocol" }, text: "found it" });
    await s.agent.startThread("t1", "search", { cwd: s.workspace, model: MODEL });
    await s.host.waitTurnEnd("t1");
    const calls = of(s.host.of("t1"), "tool.call");
    expect(calls.map((c) => [c.name, c.status, c.input])).toEqual([
      ["web_search", "running", "airlock relay protocol"],
      ["web_search", "completed", "airlock relay protocol"],
    ]);
    expect(of(await s.agent.readThread("t1"), "tool.call")).toEqual([calls[1]]);
  });

  it("an MCP server's tool call: arguments, then the tool's result (a real MCP server over stdio)", { timeout: 30_000 }, async () => {
    s = await setupCodex({
      config: {
        "mcp_servers.glossary.command": JSON.stringify(process.execPath),
        "mcp_servers.glossary.args": JSON.stringify([MCP_SERVER]),
      },
    });
    // Codex keeps MCP tools deferred: the model searches for them first, then calls one in its namespace.
    s.mock.script(
      { kind: "toolSearch", query: "glossary lookup" },
      { kind: "call", namespace: "mcp__glossary", name: "lookup", args: { term: "airlock" } },
      { kind: "call", namespace: "mcp__glossary", name: "lookup", args: { term: "moat", fail: true } },
      { kind: "text", text: "looked it up" },
    );
    await s.agent.startThread("t1", "look up airlock", { cwd: s.workspace, model: MODEL });
    await s.host.waitTurnEnd("t1");
    const calls = of(s.host.of("t1"), "tool.call");
    expect(calls.map((c) => [c.name, c.status, c.input, c.output])).toEqual([
      ["mcp:glossary/lookup", "running", '{"term":"airlock"}', undefined],
      ["mcp:glossary/lookup", "completed", '{"term":"airlock"}', "airlock: a sealed room between two doors"],
      ["mcp:glossary/lookup", "running", '{"term":"moat","fail":true}', undefined],
      // The tool answered with an error result (isError): Codex reports the call failed, with that text.
      ["mcp:glossary/lookup", "failed", '{"term":"moat","fail":true}', "no entry for moat"],
    ]);
    expect(JSON.stringify(s.mock.requests[2]!.input.at(-1))).toContain("a sealed room");
    expect(s.host.invalid).toEqual([]);
  });

  it("an image the agent viewed: a view_image tool.call and the image itself, in base64 chunks", { timeout: 30_000 }, async () => {
    s = await setupCodex();
    const path = join(s.workspace, "dot.png");
    writeFileSync(path, Buffer.from(PNG, "base64"));
    s.mock.script({ kind: "call", name: "view_image", args: { path } }, { kind: "text", text: "a dot" });
    await s.agent.startThread("t1", "look at dot.png", { cwd: s.workspace, model: MODEL });
    await s.host.waitTurnEnd("t1");
    const events = s.host.of("t1");
    const call = of(events, "tool.call").at(-1);
    expect(call).toMatchObject({ name: "view_image", status: "completed", input: path });
    const images = of(events, "image");
    expect(images).toEqual([{ kind: "image", itemId: call!.itemId, mime: "image/png", chunk: 0, chunks: 1, data: PNG }]);
    // The image follows its tool call and precedes the answer.
    expect(events.indexOf(images[0]!)).toBeLessThan(events.findIndex((e) => e.kind === "message.completed"));
  });

  it("a model switch: Codex compacts first, and the notice says so", { timeout: 30_000 }, async () => {
    s = await setupCodex();
    s.mock.script(...["one", "summary of the thread", "two"].map((text) => ({ kind: "text" as const, text })));
    await s.agent.startThread("t1", "first", { cwd: s.workspace, model: MODEL });
    await s.host.waitTurnEnd("t1");
    await s.agent.sendMessage("t1", "second", { model: "gpt-5.6-sol" });
    await s.host.waitTurnEnd("t1", 2);
    const notices = of(s.host.of("t1"), "notice");
    expect(notices).toEqual([
      { kind: "notice", level: "info", text: expect.stringContaining(`compacted the conversation before switching from ${MODEL} to gpt-5.6-sol`) },
    ]);
    expect(of(await s.agent.readThread("t1"), "notice")).toEqual([{ kind: "notice", level: "info", text: expect.stringContaining("compacted") }]);
  });
});

describe("Codex items the offline binary cannot produce (recorded shapes, fake app-server)", () => {
  const binary = fileURLToPath(new URL("./recorded-app-server.mjs", import.meta.url));
  let dataDir = "";
  let agent: CodexAgent | undefined;
  afterEach(async () => {
    await agent?.close();
    agent = undefined;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  async function run(scenario: string): Promise<RecordingHost> {
    chmodSync(binary, 0o755);
    dataDir = mkdtempSync(join(tmpdir(), "airlock-codex-recorded-"));
    const host = new RecordingHost();
    agent = new CodexAgent({ binary, userInput: false });
    await agent.start({ host, dataDir });
    await agent.startThread("t1", scenario, { cwd: dataDir });
    await host.waitTurnEnd("t1");
    await agent.close();
    expect(host.invalid).toEqual([]);
    return host;
  }

  it("image generation: the prompt, then the generated image; a failed one says why", { timeout: 30_000 }, async () => {
    let host = await run("imagegen");
    expect(host.of("t1").filter((e) => e.kind === "tool.call" || e.kind === "image")).toEqual([
      { kind: "tool.call", itemId: "ig_1", name: "image_generation", status: "running", input: "a red dot on white" },
      { kind: "tool.call", itemId: "ig_1", name: "image_generation", status: "completed", input: "a red dot on white" },
      { kind: "image", itemId: "ig_1", mime: "image/png", chunk: 0, chunks: 1, data: PNG },
    ]);
    rmSync(dataDir, { recursive: true, force: true });
    host = await run("imagefail");
    expect(host.kinds("t1", "tool.call")).toEqual([
      { kind: "tool.call", itemId: "ig_2", name: "image_generation", status: "failed", input: "a cat", output: "failed: usageLimitExceeded" },
    ]);
    expect(host.kinds("t1", "image")).toEqual([]);
  });

  it("MCP progress updates the running call; a failed call carries its error", { timeout: 30_000 }, async () => {
    const host = await run("mcpprogress");
    expect(host.kinds("t1", "tool.call").map((c) => (c.kind === "tool.call" ? [c.status, c.output] : []))).toEqual([
      ["running", undefined],
      ["running", "indexing 3 of 10 pages"],
      ["failed", "docs server timed out"],
    ]);
  });

  it("a model reroute is a warning notice", { timeout: 30_000 }, async () => {
    const host = await run("reroute");
    expect(host.kinds("t1", "notice")).toEqual([
      { kind: "notice", level: "warning", text: "Codex rerouted this turn from gpt-5.5 to gpt-5.5-safe (reason: high-risk cyber activity)." },
    ]);
  });

  it("rate limits: a warning when a window crosses 75 %, once, and an error when the limit is reached", { timeout: 30_000 }, async () => {
    const host = await run("ratelimits");
    expect(host.kinds("t1", "notice")).toEqual([
      { kind: "notice", level: "warning", text: "Codex rate limit: 80% of the 5-hour limit used; it resets at 2026-12-04 19:00 UTC." },
      { kind: "notice", level: "warning", text: "Codex rate limit: 100% of the 5-hour limit used; it resets at 2026-12-04 19:00 UTC." },
      { kind: "notice", level: "error", text: "Codex rate limit reached (rate limit reached): turns fail until it resets." },
    ]);
  });
});

describe("Codex mapping helpers", () => {
  it("modified files get ---/+++ headers (paths relative to the thread's folder); complete diffs are kept", () => {
    expect(withHeaders("@@ -1 +1 @@\n-a\n+b\n", "/w/src/x.ts", "/w/src/x.ts", "/w")).toBe("--- a/src/x.ts\n+++ b/src/x.ts\n@@ -1 +1 @@\n-a\n+b\n");
    expect(withHeaders("@@ -1 +1 @@\n-a\n+b\n", "/w/old.ts", "/w/new.ts", "/w")).toMatch(/^--- a\/old\.ts\n\+\+\+ b\/new\.ts\n@@/);
    expect(withHeaders("--- a/x\n+++ b/x\n@@ -1 +1 @@\n", "/w/x", "/w/x", "/w")).toBe("--- a/x\n+++ b/x\n@@ -1 +1 @@\n");
    expect(withHeaders("", "/w/x", "/w/x", "/w")).toBe("");
  });

  it("a turn diff over the schema's limit is cut at a line end and says so", () => {
    const line = "+".repeat(99) + "\n";
    const event = turnDiffEvent("turn 1", `--- a/big\n+++ b/big\n${line.repeat(3000)}`);
    expect(event?.kind).toBe("turn.diff");
    const diff = event?.kind === "turn.diff" ? event.diff : "";
    expect(diff.length).toBeLessThanOrEqual(262_144);
    expect(diff.endsWith("# … the rest of the turn's diff is too large to show here\n")).toBe(true);
    expect(event).toMatchObject({ turnId: "turn_1" });
  });

  it("rate-limit warnings: again after the window resets; strange input yields nothing", () => {
    const state = new Map<string, number>();
    const at = (usedPercent: number) => ({ primary: { usedPercent, windowDurationMins: 60, resetsAt: null }, secondary: null, rateLimitReachedType: null });
    expect(rateLimitNotices(state, at(91))).toHaveLength(1);
    expect(rateLimitNotices(state, at(95))).toHaveLength(0);
    expect(rateLimitNotices(state, at(5))).toHaveLength(0);
    expect(rateLimitNotices(state, at(76))).toEqual([{ kind: "notice", level: "warning", text: "Codex rate limit: 76% of the 1-hour limit used." }]);
    expect(rateLimitNotices(state, "nope")).toEqual([]);
    expect(rateLimitNotices(state, { primary: { usedPercent: "lots" } })).toEqual([]);
  });
});
