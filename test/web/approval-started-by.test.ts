// <airlock-approval> and <airlock-question> for a thread an automation token started (issue 15): the
// person deciding sees which token and owner asked, as text (the name comes
// from the host's operator, but is still data), and can decide as usual.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleComponents } from "../../scripts/build-web.ts";
import { launchBrowser, screenshot, type Browser } from "./browser.ts";
import { approval, HOSTILE } from "./fixtures.ts";

let browser: Browser;
let p: Page;

beforeAll(async () => {
  let bundle: string;
  [bundle, browser] = await Promise.all([bundleComponents(), launchBrowser()]);
  p = await browser.newPage();
  await p.setContent(
    `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>started by</title></head><body></body></html>`,
  );
  await p.addScriptTag({ content: bundle });
  await p.evaluate(
    (list) => {
      (window as unknown as { decisions: unknown[] }).decisions = [];
      document.addEventListener("decide", (e) => (window as unknown as { decisions: unknown[] }).decisions.push((e as CustomEvent).detail));
      for (const req of list) {
        const el = document.createElement("airlock-approval");
        el.id = req.approvalId;
        (el as HTMLElement & { request: unknown }).request = req;
        document.body.append(el);
      }
      const q = document.createElement("airlock-question");
      q.id = "question-by-token";
      (q as HTMLElement & { question: unknown }).question = {
        kind: "question",
        questionId: "q1",
        text: "Which heading?",
        startedBy: "nightly-docs (owner alice)",
      };
      document.body.append(q);
    },
    [
      approval({ tier: "continue", approvalId: "by-token", startedBy: "nightly-docs (owner alice)" }),
      approval({ tier: "continue", approvalId: "by-person" }),
      approval({ tier: "continue", approvalId: "by-hostile", startedBy: `${HOSTILE} (owner x)` }),
    ],
  );
});

afterAll(async () => {
  await browser?.close();
});

describe("<airlock-approval> startedBy", () => {
  it("names the token and its owner, and still offers the decision to the person", async () => {
    const card = p.locator("#by-token article");
    expect(await card.textContent()).toContain("Started by nightly-docs (owner alice) (an automation token; it cannot decide this)");
    await screenshot(p, "components-started-by");
    await card.getByRole("button", { name: "Approve once" }).click();
    expect(await p.evaluate(() => (window as unknown as { decisions: unknown[] }).decisions)).toEqual([{ approvalId: "by-token", decision: "approve_once" }]);
  });

  it("a question card says it too", async () => {
    expect(await p.locator("#question-by-token article").textContent()).toContain(
      "Started by nightly-docs (owner alice) (an automation token; it cannot answer this)",
    );
  });

  it("says nothing of the kind for a person's thread, and renders a hostile name as text", async () => {
    expect(await p.locator("#by-person article").textContent()).not.toContain("Started by");
    expect(await p.locator("#by-hostile article").textContent()).toContain(`Started by ${HOSTILE} (owner x)`);
    expect(await p.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  });
});
