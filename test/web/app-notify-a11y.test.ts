// Notifications while the page is open, and an accessibility smoke test, in
// Chromium at phone size against the real relay and `airlock up --agent demo`.
//
// Two pages of one browser profile: "watcher" sits on another view or in the
// background with notifications turned on through the app's control, "driver"
// runs a thread (a question, then approvals). Every `new Notification(…)` is
// recorded by wrapping window.Notification (it still constructs the real one).
import type { CDPSession, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screenshot, setHidden } from "./browser.ts";
import { approvalCard, pairedSession, startThread, unexpectedErrors, type Session } from "./session.ts";

let s: Session;
let watcher: Page;
let driver: Page;
let hostName = "";
let threadId = "";

interface Recorded {
  title: string;
  body: string;
  tag: string;
  at: string;
}

beforeAll(async () => {
  s = await pairedSession("notify");
  watcher = s.page;
  await s.browser.context.grantPermissions(["notifications"], { origin: s.relay.url });
  await s.browser.context.addInitScript(() => {
    const Real = window.Notification;
    const w = window as unknown as { __notes: Recorded[]; __noteObjects: Notification[] };
    w.__notes = [];
    w.__noteObjects = [];
    class Recording extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        w.__notes.push({ title, body: options?.body ?? "", tag: options?.tag ?? "", at: location.search });
        w.__noteObjects.push(this);
      }
    }
    window.Notification = Recording;
  });
  // The init script applies from the next load on.
  await watcher.reload();
  await watcher.locator("form[aria-label='New thread']").waitFor();
  hostName = (await watcher.locator("#title").textContent()) ?? "";
  expect(hostName).not.toBe("");
  driver = await s.browser.newPage();
  driver.setDefaultTimeout(20_000);
  await driver.goto(`${s.relay.url}/`); // the one trusted host opens by itself
  await driver.locator("form[aria-label='New thread']").waitFor();
}, 180_000);

afterAll(async () => {
  await s?.close();
});

const notes = (p: Page) => p.evaluate(() => (window as unknown as { __notes: Recorded[] }).__notes);
/** Resolves when `p` has recorded exactly `n` notifications (fails if more come). */
async function notesCount(p: Page, n: number): Promise<Recorded[]> {
  await expect.poll(async () => (await notes(p)).length, { timeout: 20_000 }).toBeGreaterThanOrEqual(n);
  const got = await notes(p);
  expect(got.length, JSON.stringify(got)).toBe(n);
  return got;
}
/** Two animation frames: anything the app does synchronously on an update has happened. */
const frames = (p: Page) => p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
const notifyToggle = (p: Page) => p.getByRole("button", { name: "Notify me about approvals" });

describe("notifications while the page is open", () => {
  it("are off until turned on with the app's control, even with the browser's permission granted", async () => {
    expect(await watcher.evaluate(() => Notification.permission)).toBe("granted");
    const toggle = notifyToggle(watcher);
    expect(await toggle.getAttribute("aria-pressed")).toBe("false");
    await toggle.tap();
    await expect.poll(() => toggle.getAttribute("aria-pressed")).toBe("true");
    expect(await watcher.locator(".toast.show").textContent()).toBe("Notifications on while this page is open.");
    await screenshot(watcher, "app-notifications-on");
    // The choice holds for the driver page too (same origin), which stays on the thread it runs.
    await driver.reload();
    await expect.poll(() => notifyToggle(driver).getAttribute("aria-pressed")).toBe("true");
  });

  it("a question on another view: one notification naming its kind and the host, nothing of the thread", async () => {
    threadId = await startThread(driver, "a question first, then a note");
    const question = driver.locator("airlock-thread airlock-question").last();
    await question.getByRole("button", { name: "To do" }).waitFor();
    const questionText = (await question.locator("p.text").textContent()) ?? "";
    const [n] = await notesCount(watcher, 1);
    expect(n).toEqual({
      title: `Question from the agent on ${hostName}`,
      body: "Open Airlock to review it.",
      tag: expect.stringContaining(threadId),
      at: expect.not.stringContaining("thread="),
    });
    // Nothing a lock screen should show: not the thread's title (the prompt), not the question.
    for (const secret of ["a question first", "note", questionText.slice(0, 20)].filter(Boolean)) {
      expect(`${n!.title} ${n!.body}`).not.toContain(secret);
    }
    // The page that is looking at the thread does not notify itself.
    expect(await notes(driver)).toEqual([]);
  });

  it("clicking the notification opens the thread", async () => {
    await watcher.evaluate(() => (window as unknown as { __noteObjects: Notification[] }).__noteObjects[0]!.dispatchEvent(new Event("click")));
    await watcher.waitForFunction((id) => new URLSearchParams(location.search).get("thread") === id, threadId);
    await watcher.locator("airlock-thread airlock-question").last().getByRole("button", { name: "To do" }).waitFor();
    await screenshot(watcher, "app-notification-opened-thread");
  });

  it("no notification for the thread you are looking at; one per approval once the page is in the background", async () => {
    // Both pages look at the thread: answering brings the first approval, which nobody is told about.
    await driver.locator("airlock-thread airlock-question").last().getByRole("button", { name: "To do" }).tap();
    await approvalCard(watcher, "ls -la").getByRole("button", { name: "Approve once" }).waitFor();
    await watcher.waitForFunction(() => document.title.startsWith("(1) "));
    await frames(watcher);
    await notesCount(watcher, 1);

    // The watcher goes to the background; approving `ls` brings the note's approval.
    await setHidden(watcher, true);
    await approvalCard(driver, "ls -la").getByRole("button", { name: "Approve once" }).tap();
    const got = await notesCount(watcher, 2);
    expect(got[1]).toMatchObject({ title: `Approval needed on ${hostName}`, body: "Open Airlock to review it." });
    expect(JSON.stringify(got[1])).not.toMatch(/notes\/|ls -la|question first/);
    await setHidden(watcher, false);
  });

  it("on another view: one notification per approval; none once turned off", async () => {
    await watcher.getByRole("button", { name: "Back" }).tap();
    await watcher.locator("form[aria-label='New thread']").waitFor();
    await approvalCard(driver, "notes/").getByRole("button", { name: "Approve once" }).tap();
    const got = await notesCount(watcher, 3);
    expect(got[2]!.title).toBe(`Approval needed on ${hostName}`);

    // Off: the grep check's denial ends the turn; a follow-up's approval notifies nobody.
    await notifyToggle(watcher).tap();
    await expect.poll(() => notifyToggle(watcher).getAttribute("aria-pressed")).toBe("false");
    await approvalCard(driver, "grep -c").getByRole("button", { name: "Deny" }).tap();
    await driver.locator("airlock-thread .turn.completed").waitFor();
    await watcher.waitForFunction(() => !document.title.startsWith("("));
    await driver.getByLabel("Message", { exact: true }).fill("another one");
    await driver.getByRole("button", { name: "Send" }).tap();
    await approvalCard(driver, "ls -la").getByRole("button", { name: "Approve once" }).waitFor();
    await watcher.waitForFunction(() => document.title.startsWith("(1) "));
    await frames(watcher);
    await notesCount(watcher, 3);
    expect(await notes(driver)).toEqual([]);
    expect(unexpectedErrors(s.browser).join("\n")).toBe("");
  });
});

describe("notifications blocked in the browser's settings", () => {
  it("the host's view says so once and offers no button that would fail; allowing them again brings the button back", async () => {
    await watcher.locator("form[aria-label='New thread']").waitFor();
    const pushStatus = watcher.locator("section.push [role='status']");
    expect(await notifyToggle(watcher).count()).toBe(1);
    // As the user would in the site settings. The session stays attached: Chromium drops its overrides when it detaches.
    const cdp = await watcher.context().newCDPSession(watcher);
    const setPermission = (setting: "denied" | "granted") =>
      cdp.send("Browser.setPermission", { permission: { name: "notifications" }, setting, origin: new URL(s.relay.url).origin });
    try {
      await setPermission("denied");
      // Blocked while the page is open: the view follows without a reload.
      await expect.poll(() => notifyToggle(watcher).count()).toBe(0);
      await expect
        .poll(() => pushStatus.textContent())
        .toBe("Notifications are blocked for this site. Allow them in the browser's site settings, then come back here.");
      expect(await watcher.locator("section.push button").count()).toBe(0);
      await screenshot(watcher, "app-host-notifications-blocked");

      await setPermission("granted");
      await expect.poll(() => notifyToggle(watcher).count()).toBe(1);
      await expect.poll(() => pushStatus.textContent()).not.toContain("blocked");
      expect(await notifyToggle(watcher).getAttribute("aria-pressed")).toBe("false");
    } finally {
      // Detaching drops every override, the context's grant too: grant it again for the tests after this one.
      await cdp.detach();
      await s.browser.context.grantPermissions(["notifications"], { origin: s.relay.url });
    }
    expect(await watcher.evaluate(() => Notification.permission)).toBe("granted");
  });
});

describe("accessibility smoke test (thread with an approval waiting, and the host's view)", () => {
  let cdp: CDPSession;

  /** Interactive nodes of the page's accessibility tree (shadow roots included) and their names. */
  async function interactive(p: Page): Promise<Array<{ role: string; name: string }>> {
    cdp = await p.context().newCDPSession(p);
    try {
      await cdp.send("Accessibility.enable");
      const { nodes } = await cdp.send("Accessibility.getFullAXTree");
      const roles = new Set(["button", "textbox", "combobox", "checkbox", "link", "DisclosureTriangle", "radio", "switch", "searchbox", "spinbutton"]);
      return nodes
        .filter((n) => !n.ignored && roles.has(String(n.role?.value)))
        .map((n) => ({ role: String(n.role?.value), name: String(n.name?.value ?? "").trim() }));
    } finally {
      await cdp.detach();
    }
  }

  /** The focused element, through shadow roots, described by its accessible-ish name. */
  const focused = (p: Page) =>
    p.evaluate(() => {
      let el: Element | null = document.activeElement;
      while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
      if (!el) return "";
      const label = el.getAttribute("aria-label") ?? (el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null) ?? el.textContent ?? "";
      return `${el.tagName.toLowerCase()}:${label.trim().replace(/\s+/g, " ").slice(0, 40)}`;
    });

  it("every control has an accessible name", async () => {
    const onThread = await interactive(driver);
    expect(onThread.filter((n) => n.role === "button").map((n) => n.name)).toEqual(
      expect.arrayContaining(["Approve once", "Deny", "Stop the running turn", "Steer", "Back"]),
    );
    expect(
      onThread.filter((n) => !n.name),
      JSON.stringify(onThread),
    ).toEqual([]);
    await screenshot(driver, "app-a11y-thread");

    const onHost = await interactive(watcher);
    expect(onHost.map((n) => n.name)).toEqual(expect.arrayContaining(["Prompt", "Model", "Effort", "Start thread", "Notify me about approvals"]));
    expect(
      onHost.filter((n) => !n.name),
      JSON.stringify(onHost),
    ).toEqual([]);
  });

  it("Tab reaches the approval's buttons, then the composer, in reading order", async () => {
    await driver.locator("#title").focus();
    const order: string[] = [];
    for (let i = 0; i < 60; i++) {
      await driver.keyboard.press("Tab");
      const f = await focused(driver);
      order.push(f);
      if (/^button:(Send|Steer)$/.test(f)) break;
    }
    const at = (re: RegExp) => order.findIndex((f) => re.test(f));
    const approve = order.lastIndexOf("button:Approve once");
    const deny = order.lastIndexOf("button:Deny");
    const message = at(/^textarea:Message$/);
    const stop = at(/^button:Stop the running turn$/);
    const steer = at(/^button:(Steer|Send)$/);
    expect(approve, order.join("\n")).toBeGreaterThan(-1);
    expect(approve).toBeLessThan(deny);
    expect(deny).toBeLessThan(message);
    expect(message).toBeLessThan(stop);
    expect(stop).toBeLessThan(steer);
    // The focused approval button is on screen (above the sticky composer) when it gets focus.
    await driver.locator("#title").focus();
    for (let i = 0; i <= approve; i++) await driver.keyboard.press("Tab");
    expect(await focused(driver)).toBe("button:Approve once");
    const box = await approvalCard(driver, "ls -la").getByRole("button", { name: "Approve once" }).boundingBox();
    const composer = await driver.locator("form.composer").boundingBox();
    expect(box!.y).toBeGreaterThanOrEqual(0);
    expect(box!.y + box!.height).toBeLessThanOrEqual(composer!.y + 1);
    await screenshot(driver, "app-a11y-focus-approve");
  });

  it("main controls are at least 44×44 CSS px", async () => {
    const card = approvalCard(driver, "ls -la");
    const onThread = {
      Back: driver.getByRole("button", { name: "Back" }),
      "Approve once": card.getByRole("button", { name: "Approve once" }),
      Deny: card.getByRole("button", { name: "Deny" }),
      Message: driver.getByLabel("Message", { exact: true }),
      Stop: driver.getByRole("button", { name: "Stop the running turn" }),
      Steer: driver.getByRole("button", { name: "Steer" }),
      Settings: driver.locator("details.settings summary"),
    };
    const onHost = {
      Back: watcher.getByRole("button", { name: "Back" }),
      Prompt: watcher.getByLabel("Prompt"),
      Model: watcher.getByLabel("Model"),
      Effort: watcher.getByLabel("Effort"),
      "Start thread": watcher.getByRole("button", { name: "Start thread" }),
      Notify: notifyToggle(watcher),
      "Thread row": watcher.getByRole("list", { name: "Threads" }).locator("a.row-main").first(),
    };
    const small: string[] = [];
    for (const [name, loc] of [...Object.entries(onThread), ...Object.entries(onHost)]) {
      const box = await loc.boundingBox();
      expect(box, name).not.toBeNull();
      if (box!.width < 44 || box!.height < 44) small.push(`${name}: ${box!.width}×${box!.height}`);
    }
    expect(small).toEqual([]);
    // Done: stop the turn so the host has nothing waiting when it shuts down.
    await driver.getByRole("button", { name: "Stop the running turn" }).tap();
    await driver.locator("airlock-thread .turn.interrupted").waitFor();
  });
});
