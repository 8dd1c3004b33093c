// <airlock-thread> rendering what agents like Codex show beyond messages and
// commands (reasoning, tool calls, the turn's diff), in real Chromium at phone
// size: folded by default, updated in place per item, hostile text kept text.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ThreadEvent } from "../../protocol/src/index.ts";
import { bundleComponents } from "../../scripts/build-web.ts";
import { launchBrowser, screenshot, type Browser } from "./browser.ts";
import { HOSTILE } from "./fixtures.ts";

let browser: Browser;
let p: Page;

const diffOf = (...files: string[]) => files.map((f) => `diff --git a/${f} b/${f}\n--- a/${f}\n+++ b/${f}\n@@ -1 +1 @@\n-old\n+new\n`).join("");

const EVENTS: ThreadEvent[] = [
  { kind: "turn.status", turnId: "turn1", status: "started" },
  { kind: "message.user", itemId: "u1", text: "Look up airlocks and fix the docs" },
  { kind: "reasoning", itemId: "rs1", text: "**Planning** the lookup" },
  { kind: "reasoning", itemId: "rs1", text: "**Planning** the lookup\n\nThen I check the glossary server." },
  { kind: "tool.call", itemId: "ws1", name: "web_search", status: "running", input: "airlock relay protocol" },
  { kind: "tool.call", itemId: "ws1", name: "web_search", status: "completed", input: "airlock relay protocol" },
  { kind: "tool.call", itemId: "mcp1", name: "mcp:glossary/lookup", status: "running", input: '{"term":"airlock"}' },
  { kind: "tool.call", itemId: "mcp1", name: "mcp:glossary/lookup", status: "running", input: '{"term":"airlock"}', output: "searching the glossary" },
  {
    kind: "tool.call",
    itemId: "mcp1",
    name: "mcp:glossary/lookup",
    status: "completed",
    input: '{"term":"airlock"}',
    output: `airlock: a sealed room ${HOSTILE}`,
  },
  { kind: "tool.call", itemId: "mcp2", name: "mcp:glossary/lookup", status: "failed", input: '{"term":"moat"}', output: "no entry for moat" },
  { kind: "turn.diff", turnId: "turn1", diff: diffOf("docs/a.md") },
  { kind: "turn.diff", turnId: "turn1", diff: diffOf("docs/a.md", "docs/b.md") },
  { kind: "notice", level: "info", text: "Codex compacted the conversation before switching from gpt-5.5 to gpt-5.6-sol." },
  { kind: "turn.status", turnId: "turn1", status: "completed" },
];

beforeAll(async () => {
  let bundle: string;
  [bundle, browser] = await Promise.all([bundleComponents(), launchBrowser()]);
  p = await browser.newPage();
  await p.setContent(`<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>agent items</title>
    <style>body{margin:0;padding:12px;font-family:system-ui;background:#fff}</style></head><body></body></html>`);
  await p.addScriptTag({ content: bundle });
  await p.evaluate((events) => {
    const el = document.createElement("airlock-thread") as HTMLElement & { appendEvent(seq: number, e: unknown): boolean };
    document.body.append(el);
    events.forEach((e, i) => el.appendEvent(i + 1, e));
  }, EVENTS);
});
afterAll(async () => {
  await browser?.close();
});

const read = () =>
  p.evaluate(() => {
    const root = document.querySelector("airlock-thread")!.shadowRoot!;
    const block = (el: Element) => ({
      open: (el as HTMLDetailsElement).open,
      status: el.getAttribute("data-status"),
      line: el.querySelector(".cmd-line")!.textContent,
      meta: el.querySelector(".cmd-meta")!.textContent,
      body: el.querySelector(":scope > div")!.textContent,
    });
    return {
      thinking: Array.from(root.querySelectorAll("details.thinking")).map(block),
      tools: Array.from(root.querySelectorAll("details.tool")).map(block),
      diffs: Array.from(root.querySelectorAll("details.turn-diff")).map((el) => ({
        ...block(el),
        files: Array.from(el.querySelector("airlock-diff")!.shadowRoot!.querySelectorAll(".path")).map((x) => x.textContent),
      })),
      notices: Array.from(root.querySelectorAll(".notice")).map((n) => n.textContent),
      injected: root.querySelectorAll("img, script").length,
    };
  });

describe("<airlock-thread> with reasoning, tool calls and the turn's diff", () => {
  it("shows reasoning once per item, folded, with its first line as the summary", async () => {
    const { thinking } = await read();
    expect(thinking).toHaveLength(1);
    expect(thinking[0]).toMatchObject({ open: false, line: "Planning the lookup" });
    expect(thinking[0]!.body).toContain("Then I check the glossary server.");
  });

  it("shows each tool call once, folded, updated to its last state, with input and result", async () => {
    const { tools, injected } = await read();
    expect(tools.map((t) => [t.status, t.open, t.line])).toEqual([
      ["completed", false, "Searched the web: airlock relay protocol"],
      ["completed", false, 'glossary · lookup (MCP tool): {"term":"airlock"}'],
      ["failed", false, 'glossary · lookup (MCP tool): {"term":"moat"}'],
    ]);
    expect(tools[1]!.meta).toBe("Donemcp:glossary/lookup");
    expect(tools[1]!.body).toContain("Result");
    expect(tools[1]!.body).toContain(`airlock: a sealed room ${HOSTILE}`);
    expect(tools[1]!.body).not.toContain("searching the glossary");
    expect(tools[2]!.meta).toContain("Failed");
    expect(tools[2]!.body).toContain("Errorno entry for moat");
    expect(injected).toBe(0);
    expect(await p.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  });

  it("keeps one diff per turn, replaced by the latest, and unfolds on tap", async () => {
    const { diffs, notices } = await read();
    expect(diffs).toHaveLength(1);
    expect(diffs[0]).toMatchObject({ open: false, line: "Changes in this turn", meta: "2 files", files: ["docs/a.md", "docs/b.md"] });
    expect(notices).toEqual(["Codex compacted the conversation before switching from gpt-5.5 to gpt-5.6-sol."]);
    const thread = p.locator("airlock-thread");
    await thread.locator("details.turn-diff > summary").tap();
    await thread.locator("details.tool >> nth=1").locator("summary").tap();
    const after = await read();
    expect(after.diffs[0]!.open).toBe(true);
    expect(after.tools[1]!.open).toBe(true);
    await screenshot(p, "components-thread-agent-items");
    await p.emulateMedia({ colorScheme: "dark" });
    await screenshot(p, "components-thread-agent-items-dark");
    await p.emulateMedia({ colorScheme: "light" });
  });

  it("loaded without page errors", () => {
    expect(browser.errors.filter((e) => !e.includes("favicon"))).toEqual([]);
  });
});
