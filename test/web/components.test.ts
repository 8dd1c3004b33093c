// The UI components in real Chromium at phone size: DOM and ARIA, events,
// hostile input rendered as text, ANSI parsing, diff rendering, thread merging.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleComponents } from "../../scripts/build-web.ts";
import { launchBrowser, screenshot, type Browser } from "./browser.ts";
import { ANSI, APPROVALS, DIFF, HOSTILE, threadEvents } from "./fixtures.ts";

let browser: Browser;
let bundle: string;

beforeAll(async () => {
  [bundle, browser] = await Promise.all([bundleComponents(), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
});

async function page(title: string): Promise<Page> {
  const p = await browser.newPage();
  await p.setContent(`<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>
    <style>body{margin:0;padding:12px;font-family:system-ui;background:#fff} airlock-approval,airlock-question{margin-bottom:12px}</style></head><body></body></html>`);
  await p.addScriptTag({ content: bundle });
  return p;
}

/** Everything hostile must stay text: no element, no script run. */
async function assertNoInjection(p: Page): Promise<void> {
  expect(await p.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  const injected = await p.evaluate(() => {
    const found: string[] = [];
    const walk = (root: Document | ShadowRoot) => {
      root.querySelectorAll("script, img[onerror], svg, iframe, a").forEach((el) => found.push(el.outerHTML));
      root.querySelectorAll("*").forEach((el) => el.shadowRoot && walk(el.shadowRoot));
    };
    walk(document);
    return found.filter((s) => !s.startsWith("<script>") || s.includes("__pwned"));
  });
  expect(injected.filter((s) => s.includes("__pwned") || s.includes("onerror") || s.includes("javascript:"))).toEqual([]);
}

describe("<airlock-approval>", () => {
  let p: Page;
  beforeAll(async () => {
    p = await page("approvals");
    await p.evaluate((list) => {
      (window as unknown as { decisions: unknown[] }).decisions = [];
      document.addEventListener("decide", (e) => (window as unknown as { decisions: unknown[] }).decisions.push((e as CustomEvent).detail));
      for (const req of list) {
        const el = document.createElement("airlock-approval");
        el.id = req.approvalId;
        el.request = req;
        document.body.append(el);
      }
    }, APPROVALS);
  });

  it("renders each tier with its label, colour, evidence and only the offered buttons", async () => {
    const tiers = await p.evaluate(() =>
      Array.from(document.querySelectorAll("airlock-approval")).map((el) => {
        const root = el.shadowRoot!;
        const card = root.querySelector("article")!;
        return {
          id: el.id,
          badge: root.querySelector(".badge")!.textContent,
          border: getComputedStyle(card).borderLeftColor,
          labelledBy: root.getElementById(card.getAttribute("aria-labelledby")!)?.textContent,
          buttons: Array.from(root.querySelectorAll("button")).map((b) => ({
            text: b.textContent,
            h: b.getBoundingClientRect().height,
            w: b.getBoundingClientRect().width,
          })),
          dl: root.querySelector("dl")!.textContent,
        };
      }),
    );
    const byId = Object.fromEntries(tiers.map((t) => [t.id, t]));
    expect(byId["ap-steer"]!.badge).toBe("Steer");
    expect(byId["ap-continue"]!.badge).toBe("Continue");
    expect(byId["ap-expand"]!.badge).toBe("Expand");
    expect(byId["ap-commit"]!.badge).toBe("Commit");
    expect(new Set(["ap-steer", "ap-continue", "ap-expand", "ap-commit"].map((id) => byId[id]!.border)).size).toBe(4);
    expect(byId["ap-continue"]!.labelledBy).toBe("Run a command?");
    expect(byId["ap-steer"]!.buttons.map((b) => b.text)).toEqual(["Approve once", "Deny"]);
    expect(byId["ap-continue"]!.buttons.map((b) => b.text)).toEqual(["Approve once", "Approve for session", "Deny"]);
    for (const t of tiers) for (const b of t.buttons) expect(b.h).toBeGreaterThanOrEqual(44);
    const dl = byId["ap-expand"]!.dl;
    for (const s of [
      "The formatter needs padding helpers.",
      "devbox",
      "/home/dev/project",
      "Network: yes",
      "Credentials: no",
      "External tools: yes",
      "Writes files: yes",
      "Adds a dependency",
      "src/parser.ts",
      "tsc --noEmit",
      "failed",
      "Commit the fix",
    ]) {
      expect(dl).toContain(s);
    }
    expect(await p.locator("#ap-expand").getByRole("timer").textContent()).toMatch(/^Expires in [45]:\d\d$/);
    // Accessible via roles from outside the shadow root.
    await expect(p.getByRole("article", { name: "Run a command?" }).count()).resolves.toBeGreaterThan(3);
  });

  it("shows host-only requests without buttons and tells how to decide at the host", async () => {
    const el = p.locator("#ap-hostonly");
    expect(await el.getByRole("button").count()).toBe(0);
    const note = await el.getByRole("note").textContent();
    expect(note).toContain("Needs the host's terminal");
    expect(note).toContain("airlock approvals");
  });

  it("dispatches decide with the approval id and decision, then waits for the host", async () => {
    await p.locator("#ap-continue").getByRole("button", { name: "Approve for session" }).click();
    expect(await p.evaluate(() => (window as unknown as { decisions: unknown[] }).decisions)).toEqual([
      { approvalId: "ap-continue", decision: "approve_session" },
    ]);
    expect(await p.locator("#ap-continue").getByRole("button", { name: "Deny" }).isDisabled()).toBe(true);
    expect(await p.locator("#ap-continue").getByRole("status").textContent()).toMatch(/Sending/);
    // A failed send re-enables the buttons with the reason.
    await p.evaluate(() => ((document.getElementById("ap-continue") as HTMLElement & { error: string }).error = "host offline"));
    expect(await p.locator("#ap-continue").getByRole("button", { name: "Deny" }).isDisabled()).toBe(false);
    expect(await p.locator("#ap-continue").getByRole("status").textContent()).toContain("host offline");
    // Resolution names who decided and removes the buttons.
    await p.evaluate(() => {
      (document.getElementById("ap-continue") as HTMLElement & { resolved: unknown }).resolved = {
        kind: "approval.resolved",
        approvalId: "ap-continue",
        decision: "deny",
        by: "Pixel 8",
      };
    });
    expect(await p.locator("#ap-continue").getByRole("button").count()).toBe(0);
    expect(await p.locator("#ap-continue article").textContent()).toContain("Denied by Pixel 8");
  });

  it("renders hostile evidence as text and flags a missing reason", async () => {
    const text = await p.locator("#ap-hostile article").textContent();
    expect(text).toContain(HOSTILE);
    expect(text).toContain("⟦U+202E⟧evil⟦U+202C⟧");
    expect(text).toContain("The agent gave no reason");
    await assertNoInjection(p);
  });

  it("accepts the request as a JSON attribute (frameworks that only set attributes)", async () => {
    const badge = await p.evaluate((req) => {
      const el = document.createElement("airlock-approval");
      el.setAttribute("request", JSON.stringify(req));
      document.body.append(el);
      return el.shadowRoot!.querySelector(".badge")!.textContent;
    }, APPROVALS[0]!);
    expect(badge).toBe("Steer");
    await screenshot(p, "components-approvals");
  });
});

describe("<airlock-diff>", () => {
  let p: Page;
  beforeAll(async () => {
    p = await page("diff");
    await p.evaluate((diff) => {
      const el = document.createElement("airlock-diff");
      el.diff = diff;
      document.body.append(el);
    }, DIFF);
  });

  it("renders files with counts, line numbers, signs and highlighting", async () => {
    const info = await p.evaluate(() => {
      const root = document.querySelector("airlock-diff")!.shadowRoot!;
      const files = Array.from(root.querySelectorAll("details"));
      return {
        paths: files.map((d) => d.querySelector(".path")!.textContent),
        stats: files.map((d) => [d.querySelector(".stat-add")!.textContent, d.querySelector(".stat-del")!.textContent]),
        added: Array.from(files[0]!.querySelectorAll(".line.add")).map((l) => [l.querySelector(".no.new")!.textContent, l.querySelector(".src")!.textContent]),
        removed: Array.from(files[0]!.querySelectorAll(".line.del")).map((l) => [
          l.querySelector(".no.old")!.textContent,
          l.querySelector(".src")!.textContent,
        ]),
        keywords: Array.from(files[0]!.querySelectorAll(".t-keyword")).map((k) => k.textContent),
        comments: Array.from(files[0]!.querySelectorAll(".t-comment")).map((k) => k.textContent),
        strings: Array.from(files[0]!.querySelectorAll(".t-string")).map((k) => k.textContent),
        note: files[1]!.querySelector(".note")?.textContent,
        summaryHeight: files[0]!.querySelector("summary")!.getBoundingClientRect().height,
      };
    });
    expect(info.paths).toEqual(["src/parser.ts", "README.md"]);
    expect(info.stats).toEqual([
      ["+3", "−2"],
      ["+1", "−1"],
    ]);
    expect(info.added).toEqual([
      ["2", "added: export function parse(input: string): Token[] {"],
      ["4", "added:   /* skip the BOM */"],
      ["22", "added: ++ and this added one with pluses"],
    ]);
    expect(info.removed[1]).toEqual(["21", "removed: -- this removed line starts with dashes"]);
    expect(info.keywords).toEqual(expect.arrayContaining(["export", "function", "const", "for", "if", "break", "return"]));
    expect(info.comments).toEqual(expect.arrayContaining(["// Tokenizer for the config language.", "/* skip the BOM */"]));
    expect(info.strings).toContain('"#"');
    expect(info.note).toBe("No newline at end of file");
    expect(info.summaryHeight).toBeGreaterThanOrEqual(44);
    await assertNoInjection(p);
  });

  it("collapses a file when its header is tapped", async () => {
    const summary = p.locator("airlock-diff summary").first();
    await summary.tap();
    expect(await p.evaluate(() => document.querySelector("airlock-diff")!.shadowRoot!.querySelector("details")!.open)).toBe(false);
    await summary.tap();
    expect(await p.evaluate(() => document.querySelector("airlock-diff")!.shadowRoot!.querySelector("details")!.open)).toBe(true);
    await screenshot(p, "components-diff");
  });
});

describe("<airlock-terminal>", () => {
  let p: Page;
  beforeAll(async () => {
    p = await page("terminal");
    await p.evaluate((ansi) => {
      const el = document.createElement("airlock-terminal");
      document.body.append(el);
      // Split every few bytes: escape sequences arrive across chunks.
      for (let i = 0; i < ansi.length; i += 3) el.write(ansi.slice(i, i + 3));
      el.write("error: something failed\n", "stderr");
    }, ANSI);
  });

  it("parses SGR colours (16, 256, truecolor) strictly and drops other sequences", async () => {
    const spans = await p.evaluate(() =>
      Array.from(document.querySelector("airlock-terminal")!.shadowRoot!.querySelectorAll(".ln span")).map((s) => ({
        text: s.textContent,
        color: getComputedStyle(s).color,
        bg: getComputedStyle(s).backgroundColor,
        weight: getComputedStyle(s).fontWeight,
      })),
    );
    const find = (t: string) => spans.find((s) => s.text!.includes(t))!;
    expect(find("Bold").weight).toBe("700");
    expect(find("red").color).toBe("rgb(205, 49, 49)");
    expect(find("bright green").color).toBe("rgb(35, 209, 139)");
    expect(find("orange-256").color).toBe("rgb(255, 135, 0)");
    expect(find("truecolor").color).toBe("rgb(10, 200, 30)");
    expect(find("blue-bg").bg).toBe("rgb(0, 0, 255)");
    const plain = find("not-red").color;
    expect(plain).toBe("rgb(230, 230, 230)");
    expect(find("broken").color).toBe(plain);
    expect(find("error: something failed").color).toBe("rgb(255, 158, 158)");
  });

  it("shows only visible text: no titles, no links, hostile markup as text, CR overwrites", async () => {
    const text = await p.evaluate(() => (document.querySelector("airlock-terminal") as unknown as { text: string }).text);
    expect(text).not.toContain("window title");
    expect(text).not.toContain("javascript:");
    // eslint-disable-next-line no-control-regex -- asserts no escape or bell character got through
    expect(text).not.toMatch(/\x1b|\x07/);
    expect(text).toContain(`link ${HOSTILE}`);
    expect(text).toContain("progress 100%");
    expect(text).not.toContain("progress 10%");
    await assertNoInjection(p);
  });

  it("follows output unless the user scrolled up", async () => {
    const state = await p.evaluate(async () => {
      const el = document.querySelector("airlock-terminal") as HTMLElement & { write(s: string): void; following: boolean };
      const screen = el.shadowRoot!.querySelector(".screen")!;
      const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      for (let i = 0; i < 200; i++) el.write(`line ${i}\n`);
      await frame();
      const atBottom = Math.abs(screen.scrollTop + screen.clientHeight - screen.scrollHeight) < 10;
      screen.scrollTop = 0;
      screen.dispatchEvent(new Event("scroll"));
      el.write("more output\n");
      await frame();
      const stayed = screen.scrollTop === 0;
      const jumpVisible = !(el.shadowRoot!.querySelector(".jump") as HTMLElement).hidden;
      return { atBottom, stayed, jumpVisible, following: el.following };
    });
    expect(state).toEqual({ atBottom: true, stayed: true, jumpVisible: true, following: false });
    await p.locator("airlock-terminal .jump").tap();
    expect(await p.evaluate(() => (document.querySelector("airlock-terminal") as unknown as { following: boolean }).following)).toBe(true);
    await screenshot(p, "components-terminal");
  });
});

describe("<airlock-thread>", () => {
  let p: Page;
  beforeAll(async () => {
    p = await page("thread");
    await p.evaluate((events) => {
      const w = window as unknown as { seen: unknown[] };
      w.seen = [];
      const el = document.createElement("airlock-thread");
      el.addEventListener("decide", (e) => w.seen.push(["decide", (e as CustomEvent).detail]));
      el.addEventListener("answer", (e) => w.seen.push(["answer", (e as CustomEvent).detail]));
      document.body.append(el);
      el.events = events.slice(0, 10).map((event, i) => ({ seq: i + 1, event }));
      events.slice(10).forEach((event, i) => el.appendEvent(i + 11, event));
      // A replayed event changes nothing.
      el.appendEvent(3, events[2]!);
    }, threadEvents());
    await p.waitForFunction(() => document.querySelector("airlock-thread")!.shadowRoot!.querySelector("figure img"));
  });

  it("merges message deltas per item and renders every kind", async () => {
    const info = await p.evaluate(() => {
      const root = document.querySelector("airlock-thread")!.shadowRoot!;
      const term = root.querySelector("airlock-terminal") as unknown as { text: string };
      return {
        agent: Array.from(root.querySelectorAll(".msg.agent")).map((m) => m.textContent),
        user: root.querySelector(".msg.user")!.textContent,
        command: root.querySelector(".cmd-line")!.textContent,
        exit: root.querySelector(".cmd-meta")!.textContent,
        output: term.text,
        diffPath: root.querySelector("airlock-diff")!.shadowRoot!.querySelector(".path")!.textContent,
        plan: Array.from(root.querySelectorAll(".plan li")).map((l) => l.getAttribute("data-status")),
        tests: Array.from(root.querySelectorAll(".test")).map((t) => t.className),
        figures: Array.from(root.querySelectorAll("figure")).map((f) => ({
          img: f.querySelector("img")?.getAttribute("src")?.slice(0, 5),
          caption: f.querySelector("figcaption")!.textContent,
        })),
        approvals: Array.from(root.querySelectorAll("airlock-approval")).map((a) => a.shadowRoot!.querySelector("article")!.getAttribute("data-state")),
        questions: root.querySelectorAll("airlock-question").length,
        notices: Array.from(root.querySelectorAll(".notice")).map((n) => n.textContent),
        usage: root.querySelector(".usage")!.textContent,
        lastSeq: (document.querySelector("airlock-thread") as unknown as { lastSeq: number }).lastSeq,
        streaming: root.querySelectorAll(".streaming").length,
      };
    });
    expect(info.agent).toEqual([`AgentLooking at the parser… done. ${HOSTILE}`]);
    expect(info.user).toBe("You · Pixel 8Fix the parser test, then push.");
    expect(info.command).toBe("$ npm test");
    expect(info.exit).toContain("exit 1");
    expect(info.exit).toContain("2.3 s");
    expect(info.output).toContain("✓ parser.test.ts (3 tests)");
    expect(info.output).toContain("warning: deprecated API");
    expect(info.diffPath).toBe("src/parser.ts");
    expect(info.plan).toEqual(["completed", "in_progress", "pending"]);
    expect(info.tests).toEqual(["test passed", "test failed"]);
    expect(info.figures[0]).toEqual({ img: "blob:", caption: "Image from the agent (PNG)" });
    expect(info.figures[1]!.img).toBeUndefined();
    expect(info.figures[1]!.caption).toMatch(/not a image\/png image/);
    expect(info.figures[2]!.caption).toMatch(/not allowed/);
    expect(info.approvals).toEqual(["resolved", "pending"]);
    expect(info.questions).toBe(1);
    expect(info.notices).toEqual(["Host is low on disk space", "Settings: model gpt-5-codex, effort high"]);
    expect(info.usage).toBe("Tokens: 12,345 in · 678 out");
    expect(info.lastSeq).toBe(25);
    expect(info.streaming).toBe(0);
    await assertNoInjection(p);
  });

  it("lets decide and answer events bubble out of the thread", async () => {
    await p.locator("airlock-thread").getByRole("button", { name: "Approve once" }).tap();
    await p.locator("airlock-thread").getByRole("button", { name: "No, break it" }).tap();
    expect(await p.evaluate(() => (window as unknown as { seen: unknown[] }).seen)).toEqual([
      ["decide", { approvalId: "ap-thread-2", decision: "approve_once" }],
      ["answer", { questionId: "q1", answer: "No, break it", optionId: "no" }],
    ]);
    expect(await p.locator("airlock-thread").getByRole("status").last().textContent()).not.toBe("");
    await screenshot(p, "components-thread");
  });

  it("loaded without page errors", () => {
    expect(browser.errors.filter((e) => !e.includes("favicon"))).toEqual([]);
  });
});
