// The phone-first approval surface (issue 12), in Chromium at 390×844 with
// touch, against the real relay and `airlock up --agent demo`:
//   - every request kind and tier shows its decision (buttons, or the host
//     command for host-only requests) inside the viewport when it appears,
//     above the sticky composer and not covered by anything;
//   - a file-change approval shows its diff lines before the decision;
//   - decided cards fold to one line; a denied write is not "completed";
//   - hostile markdown and HTML in agent messages stay inert;
//   - axe-core finds no serious or critical violation on any screen;
//   - screenshots of every screen, light and dark, phone and desktop, in
//     test-artifacts/screenshots/surface-*.png.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleComponents } from "../../scripts/build-web.ts";
import { join } from "node:path";
import { SCREENSHOTS, screenshot } from "./browser.ts";
import { APPROVALS, DIFF, HOSTILE } from "./fixtures.ts";
import { pairedSession, startThread, unexpectedErrors, type Session } from "./session.ts";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let s: Session;
let page: Page;
let hostUrl = "";

beforeAll(async () => {
  s = await pairedSession("surface");
  page = s.page;
  hostUrl = page.url();
}, 180_000);

afterAll(async () => {
  await s?.close();
});

/** Two animation frames: what the app does on an update (render, follow the bottom) has happened. */
const frames = (p: Page) => p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

/** axe-core on the whole page (shadow roots included): serious and critical violations, described. */
async function axe(p: Page, screen: string): Promise<void> {
  if (!(await p.evaluate(() => "axe" in window))) await p.evaluate(AXE);
  const violations = await p.evaluate(async () => {
    const w = window as unknown as {
      axe: { run(ctx: Document, o: object): Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: unknown }> }> }> };
    };
    const r = await w.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) }));
  });
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length) console.error(`axe on ${screen}:`, JSON.stringify(bad, null, 1));
  expect(bad, `${screen}: ${JSON.stringify(bad, null, 1)}`).toEqual([]);
}

/** Light and dark at phone size, and light and dark at a desktop width. */
async function shots(p: Page, name: string): Promise<void> {
  for (const scheme of ["light", "dark"] as const) {
    await p.emulateMedia({ colorScheme: scheme });
    await frames(p);
    await axe(p, `${name} (${scheme})`);
    // What the phone shows: the first screenful (a full-page capture smears the sticky bars).
    await p.screenshot({ path: join(SCREENSHOTS, `surface-${name}-phone-${scheme}.png`) });
  }
  await p.setViewportSize({ width: 1280, height: 900 });
  for (const scheme of ["light", "dark"] as const) {
    await p.emulateMedia({ colorScheme: scheme });
    await frames(p);
    await p.screenshot({ path: join(SCREENSHOTS, `surface-${name}-desktop-${scheme}.png`) });
  }
  await p.setViewportSize({ width: 390, height: 844 });
  await p.emulateMedia({ colorScheme: "light" });
  await frames(p);
}

/**
 * The element is fully inside the visible band between the sticky header and
 * the sticky composer, and it is what a tap at its centre hits.
 */
async function assertInView(p: Page, target: Locator, what: string): Promise<void> {
  const box = await target.boundingBox();
  expect(box, what).not.toBeNull();
  const band = await p.evaluate(() => {
    const top = Math.max(
      document.querySelector(".topbar")?.getBoundingClientRect().bottom ?? 0,
      document.querySelector(".sticky-state")?.getBoundingClientRect().bottom ?? 0,
    );
    const composer = document.querySelector("form.composer")?.getBoundingClientRect().top ?? innerHeight;
    return { top, bottom: Math.min(innerHeight, composer) };
  });
  expect(box!.y, `${what} top ${box!.y} below the header ${band.top}`).toBeGreaterThanOrEqual(band.top - 1);
  expect(box!.y + box!.height, `${what} bottom ${box!.y + box!.height} above the composer ${band.bottom}`).toBeLessThanOrEqual(band.bottom + 1);
  const hit = await target.evaluate((el) => {
    const r = el.getBoundingClientRect();
    let at: Element | null = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
    while (at?.shadowRoot) {
      const inner = at.shadowRoot.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
      if (!inner || inner === at) break;
      at = inner;
    }
    return at === el || el.contains(at);
  });
  expect(hit, `${what} is not covered`).toBe(true);
}

const cards = () => page.locator("airlock-thread airlock-approval");

/** Waits for the newest undecided card whose action contains `text`. */
async function waitCard(text: string): Promise<Locator> {
  const open = page
    .locator("airlock-thread airlock-approval")
    .filter({ has: page.locator("article[data-state='pending'] pre.action, article[data-state='host-only'] pre.action", { hasText: text }) })
    .last();
  await open.locator("article").waitFor({ timeout: 30_000 });
  await frames(page);
  await frames(page);
  // Pinned by position, so the locator still finds the card once it folds.
  const index = await cards().evaluateAll((els, t) => {
    let found = -1;
    els.forEach((el, i) => {
      const a = el.shadowRoot?.querySelector("article");
      if (a && a.getAttribute("data-state") !== "resolved" && a.querySelector("pre.action")?.textContent?.includes(t)) found = i;
    });
    return found;
  }, text);
  expect(index, `the card for ${text}`).toBeGreaterThanOrEqual(0);
  return cards().nth(index);
}

async function decide(card: Locator, name: "Approve once" | "Deny"): Promise<void> {
  await card.getByRole("button", { name }).tap();
  await expect.poll(() => card.locator("article").getAttribute("data-state"), { timeout: 20_000 }).toBe("resolved");
}

describe("the approval surface on a phone, against the real host", () => {
  it("hosts list: a dot and words for online, the host's state, axe clean", async () => {
    // The only host opens by itself; the list is one tap back.
    await page.getByRole("button", { name: "Back" }).tap();
    await page.locator("ul[aria-label='Hosts'] li[data-host]").waitFor();
    const row = page.locator("ul[aria-label='Hosts'] li[data-host]").first();
    await expect.poll(() => row.locator(".dot").getAttribute("data-state"), { timeout: 20_000 }).toBe("online");
    expect(await row.locator(".row-sub").textContent()).toMatch(/^online · /);
    await shots(page, "hosts");
  });

  it("pair view and host view, axe clean", async () => {
    await page.getByRole("button", { name: "Pair a host" }).tap();
    await page.locator(".page").first().waitFor();
    await shots(page, "pair");
    await page.goto(hostUrl);
    await page.locator("form[aria-label='New thread']").waitFor();
    await shots(page, "host");
  });

  it("a question (steer tier) shows its options in view; the picked answer is named after answering", async () => {
    await startThread(page, "question, then install and push");
    const question = page.locator("airlock-thread airlock-question").last();
    const option = question.getByRole("button", { name: "To do" });
    await option.waitFor({ timeout: 30_000 });
    await frames(page);
    await assertInView(page, option, "the question's option");
    await shots(page, "thread-question");
    await option.tap();
    await expect.poll(() => question.locator("article").getAttribute("data-state"), { timeout: 20_000 }).toBe("answered");
    expect(await question.locator(".status").textContent()).toBe(`Answered by ${s.deviceName}: “To do”`);
  });

  it("a command (continue tier): decision buttons in view when the card appears, evidence one tap away", async () => {
    const card = await waitCard("ls -la");
    for (const name of ["Approve once", "Deny"]) await assertInView(page, card.getByRole("button", { name }), `ls -la: ${name}`);
    expect(await card.locator(".badge").first().textContent()).toBe("Continue");
    // No risk chip for a read-only command; the evidence opens with one tap.
    expect(await card.locator(".chip").count()).toBe(0);
    const evidence = card.locator("details.evidence");
    expect(await evidence.locator("dl").isVisible()).toBe(false);
    await shots(page, "thread-approval-command");
    await evidence.locator("summary").tap();
    expect(await evidence.locator("dl").isVisible()).toBe(true);
    expect(await evidence.locator("dl").textContent()).toContain("Network: no");
    await screenshot(page, "surface-thread-approval-evidence-phone-light");
    await evidence.locator("summary").tap();
    await decide(card, "Approve once");
  });

  it("a file change shows the diff lines before the decision, with +/− counts, and the buttons stay in view", async () => {
    const card = await waitCard("notes/");
    const title = (await card.locator("h3").first().textContent()) ?? "";
    expect(title).toMatch(/^Write 1 file \(\+\d+ −0\)\?$/);
    const diff = card.locator("airlock-diff");
    const firstAdded = diff.locator(".line.add").first();
    await firstAdded.waitFor();
    await assertInView(page, firstAdded, "the first diff line");
    expect(await firstAdded.textContent()).toContain("# To do");
    const approve = card.getByRole("button", { name: "Approve once" });
    await assertInView(page, approve, "file change: Approve once");
    // The diff comes before the decision, on screen and in reading order.
    expect((await firstAdded.boundingBox())!.y).toBeLessThan((await approve.boundingBox())!.y);
    expect(await diff.locator(".stat-add").textContent()).toMatch(/^\+\d+$/);
    await shots(page, "thread-approval-diff");
    await decide(card, "Approve once");
    await page.locator("airlock-thread section.file").last().waitFor();
  });

  it("the check and the package install (expand tier, network chip) are decided from their first screenful", async () => {
    const check = await waitCard("grep -c");
    await assertInView(page, check.getByRole("button", { name: "Approve once" }), "grep: Approve once");
    await decide(check, "Approve once");
    const install = await waitCard("npm install");
    expect(await install.locator(".badge").first().textContent()).toBe("Expand");
    expect(await install.locator(".chip").allTextContents()).toContain("⚠ Network");
    for (const name of ["Approve once", "Deny"]) await assertInView(page, install.getByRole("button", { name }), `npm install: ${name}`);
    await shots(page, "thread-approval-expand");
    // Offline here: deny the install rather than reach the network.
    await decide(install, "Deny");
  });

  it("a host-only push (commit tier) says, in view, the exact command that decides it at the host — and that command works", async () => {
    const card = await waitCard("git push");
    expect(await card.locator("article").getAttribute("data-state")).toBe("host-only");
    expect(await card.getByRole("button").count()).toBe(0);
    const note = card.getByRole("note");
    const command = note.locator("code", { hasText: " deny " });
    await assertInView(page, command, "the host-only command");
    const text = (await command.textContent()) ?? "";
    // The host sent how its CLI runs there: this test host's own --home, so the command works as shown.
    expect(text).toContain(`--home ${s.home}`);
    expect(text.split(" deny ")[1]).toMatch(/\S{6,}/);
    await shots(page, "thread-approval-host-only");
    // Exactly what the card says, pasted into a shell on the host (plus --json to read the answer).
    const { execFile } = await import("node:child_process");
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        "/bin/sh",
        ["-c", `${text.replace(" deny ", " --json deny ")}`],
        { cwd: new URL("../..", import.meta.url).pathname, timeout: 30_000 },
        (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout)),
      ),
    );
    expect(JSON.parse(out.trim().split("\n").pop()!)).toMatchObject({ type: "decided", decision: "deny" });
    await expect.poll(() => card.locator("article").getAttribute("data-state"), { timeout: 20_000 }).toBe("resolved");
    await page.locator("airlock-thread .turn.completed").last().waitFor({ timeout: 30_000 });
  });

  it("decided cards fold to one line each, naming the outcome, who and the action", async () => {
    const all = cards();
    const n = await all.count();
    expect(n).toBeGreaterThanOrEqual(5);
    for (let i = 0; i < n; i++) {
      const article = all.nth(i).locator("article");
      expect(await article.getAttribute("data-state")).toBe("resolved");
      const box = (await article.boundingBox())!;
      const line = await article.locator("details.fold > summary").evaluate((el) => {
        const r = el.getBoundingClientRect();
        const range = document.createRange();
        range.selectNodeContents(el);
        // Pieces of one line sit a few px apart (icon, label, code and time differ in size); a second line is a line-height below.
        const tops = Array.from(range.getClientRects())
          .filter((x) => x.height > 0)
          .map((x) => x.top)
          .sort((a, b) => a - b);
        const lines = tops.filter((t, k) => k === 0 || t - tops[k - 1]! > 10).length;
        return { h: r.height, lines };
      });
      expect(line.lines, `card ${i} text lines`).toBe(1);
      expect(box.height, `card ${i} height`).toBeLessThanOrEqual(50);
    }
    const summary = await all.first().locator("details.fold > summary").textContent();
    expect(summary).toContain(`Approved once by ${s.deviceName}`);
    expect(summary).toContain("ls -la");
    expect(await cards().locator("article .status.resolved-deny").first().textContent()).toBe(`Denied by ${s.deviceName}`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shots(page, "thread-done");
    expect(unexpectedErrors(s.browser)).toEqual([]);
  });

  it("a denied write is not shown as completed, and an interrupted turn shows no running step", async () => {
    await page.goto(hostUrl);
    await startThread(page, "a note to deny");
    await decide(await waitCard("ls -la"), "Approve once");
    const write = await waitCard("notes/");
    await decide(write, "Deny");
    const plan = page.locator("airlock-thread section.plan").last();
    await expect.poll(() => plan.locator("li", { hasText: "Write notes/" }).getAttribute("data-status"), { timeout: 20_000 }).toBe("denied");
    expect(await page.locator("airlock-thread section.file").count()).toBe(0);
    // Interrupt at the next request: the step that was running is shown stopped.
    await waitCard("grep -c");
    await page.getByRole("button", { name: "Stop the running turn" }).tap();
    await page.locator("airlock-thread .turn.interrupted").waitFor({ timeout: 20_000 });
    await expect.poll(() => plan.locator("li[data-status='in_progress']").count()).toBe(0);
    expect(await plan.locator("li[data-status='stopped']").count()).toBe(1);
    await shots(page, "thread-denied-interrupted");
  });
});

describe("components at 390×844", () => {
  let p: Page;
  beforeAll(async () => {
    p = await s.browser.newPage();
    await p.setContent(`<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>components</title>
      <style>body{margin:0;padding:12px;font-family:system-ui}</style></head><body><main></main></body></html>`);
    await p.addScriptTag({ content: await bundleComponents() });
  });

  it("every tier and kind: the decision fits the first screenful (header, state bar and composer taken off)", async () => {
    const fileChange = {
      ...APPROVALS[1]!,
      approvalId: "ap-file",
      type: "file_change" as const,
      tier: "expand" as const,
      diff: DIFF,
      evidence: { ...APPROVALS[1]!.evidence, action: "modify src/parser.ts\nmodify README.md" },
    };
    const permission = {
      ...APPROVALS[2]!,
      approvalId: "ap-perm",
      type: "permission" as const,
      evidence: { ...APPROVALS[2]!.evidence, action: "permission: network access" },
    };
    const all = [...APPROVALS, fileChange, permission];
    const room = 844 - 56 - 45 - 80; // topbar, sticky state bar, composer
    for (const req of all) {
      const bottom = await p.evaluate((r) => {
        const main = document.querySelector("main")!;
        main.replaceChildren();
        const el = document.createElement("airlock-approval") as HTMLElement & { request: unknown };
        el.request = r;
        main.append(el);
        const root = el.shadowRoot!;
        const decision = root.querySelector(".actions, .host-only")!;
        return decision.getBoundingClientRect().bottom - el.getBoundingClientRect().top;
      }, req);
      expect(bottom, `${req.approvalId} decision bottom`).toBeLessThanOrEqual(room);
    }
    await screenshot(p, "surface-component-file-change");
  });

  it("hostile markdown and HTML in an agent message stay inert; links show their URL and are not links", async () => {
    const md = [
      '# Title <img src=x onerror="window.__pwned=1">',
      "Some **bold** and `code` and [click me](javascript:window.__pwned=3) and https://example.com/a?b=1",
      "<script>window.__pwned=2</script>",
      "![tracker](http://127.0.0.1:9/pixel.png)",
      '<a href="javascript:window.__pwned=4">raw link</a> <iframe src="javascript:window.__pwned=5"></iframe>',
      "- [x] done\n- item &lt;b&gt;",
      "```\n" + HOSTILE + "\n```",
    ].join("\n\n");
    const info = await p.evaluate((text) => {
      const main = document.querySelector("main")!;
      main.replaceChildren();
      const el = document.createElement("airlock-thread") as HTMLElement & { events: unknown };
      main.append(el);
      el.events = [{ seq: 1, event: { kind: "message.completed", itemId: "m1", text } }];
      const md = el.shadowRoot!.querySelector(".md")!;
      return {
        tags: Array.from(md.querySelectorAll("*")).map((n) => n.tagName.toLowerCase()),
        text: md.textContent,
        strong: md.querySelector("strong")?.textContent,
        heading: md.querySelector("h3")?.textContent,
      };
    }, md);
    await frames(p);
    expect(await p.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    for (const tag of ["a", "img", "script", "iframe", "svg", "object", "embed", "style"]) expect(info.tags, tag).not.toContain(tag);
    expect(info.strong).toBe("bold");
    expect(info.heading).toContain("Title");
    expect(info.text).toContain("click me (javascript:window.__pwned=3)");
    expect(info.text).toContain("https://example.com/a?b=1");
    expect(info.text).toContain("<script>window.__pwned=2</script>");
    expect(info.text).toContain("[image: tracker] (http://127.0.0.1:9/pixel.png)");
    expect(info.text).toContain("item <b>");
    expect(info.text).toContain(HOSTILE);
    await screenshot(p, "surface-component-markdown");
  });
});
