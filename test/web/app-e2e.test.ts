// The reference web app end to end, in Chromium at phone size: the real relay
// (serving the freshly built web/public), the real `airlock up` with the demo
// agent, pairing by opening the link (SAS confirmed at the host), a thread with
// approvals (approve and deny), command output and a diff, and the host going
// offline and coming back.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWeb } from "../../scripts/build-web.ts";
import { startRelay, type RelayServer } from "../relay/harness.ts";
import { launchBrowser, screenshot, type Browser } from "./browser.ts";
import { airlock, type Cli } from "../host-agent/airlock-cli.ts";
import { tempDir } from "../support/temp.ts";

let relay: RelayServer;
let browser: Browser;
let host: Cli;
let page: Page;
/** What the app calls this device (from the browser's user agent). */
let deviceName = "";
const home = tempDir("airlock-web-home-");
const workspace = tempDir("airlock-web-ws-");
const hostArgs = () => ["--home", home, "--json", "up", "--relay", relay.url, "--agent", "demo", "--workspace", workspace];

beforeAll(async () => {
  await buildWeb();
  [relay, browser] = await Promise.all([startRelay(), launchBrowser({ permissions: ["notifications"] })]);
  host = airlock(hostArgs());
  await host.next("relay.online");
  page = await browser.newPage();
  page.setDefaultTimeout(20_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await relay?.dispose();
});

/** The approval card in the thread whose action contains `text`. */
const approvalCard = (text: string) => page.locator("airlock-thread airlock-approval", { hasText: text }).last();

describe("web app against the real relay and host", () => {
  it("serves the app shell from the relay", async () => {
    const res = await fetch(`${relay.url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('src="app.js"');
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect((await fetch(`${relay.url}/app.js`)).status).toBe(200);
    expect((await fetch(`${relay.url}/manifest.webmanifest`)).status).toBe(200);
  });

  it("pairs by opening the link: scrubs the secret from the URL, shows the SAS, lands in the host", async () => {
    const pair = airlock(["--home", home, "--json", "pair"]);
    try {
      const { link } = (await pair.next("pairing")) as { link: string };
      expect(link.startsWith(`${relay.url}/#v=1&`)).toBe(true);
      await page.goto(link);
      // The fragment (with the secret) is gone from the address bar and from history.
      await page.waitForFunction(() => location.hash === "");
      expect(page.url()).not.toContain("secret=");
      const sasText = await page.locator(".sas").textContent({ timeout: 20_000 });
      const confirm = await pair.next("confirm");
      expect(confirm.sas).toBe(sasText);
      deviceName = String(confirm.deviceName);
      expect(deviceName).toMatch(/^Chrome on /);
      await screenshot(page, "app-pairing-sas");
      pair.child.stdin.write("y\n");
      await pair.next("paired");
    } finally {
      await pair.stop();
    }
    await page.locator("form[aria-label='New thread']").waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => history.length)).toBeGreaterThan(0);
    expect(await page.evaluate(() => location.href)).not.toContain("#");
    await page.locator(".banner").waitFor({ state: "hidden", timeout: 20_000 });
    await screenshot(page, "app-host");
  });

  it("starts a thread, approves a command and a file change, denies a check", async () => {
    await page.getByLabel("Prompt").fill("hello from the phone");
    // Model and effort come from the host's info.
    expect(await page.getByLabel("Model").locator("option").allTextContents()).toEqual(["Demo", "Demo (fast)"]);
    await page.getByLabel("Effort").selectOption("high");
    await page.getByRole("button", { name: "Start thread" }).tap();
    await page.locator("airlock-thread").waitFor();

    // 1. `ls -la` (continue tier): approve once; its output appears.
    const ls = approvalCard("ls -la");
    await ls.getByRole("button", { name: "Approve once" }).waitFor({ timeout: 20_000 });
    expect(await ls.locator(".badge").textContent()).toBe("Continue");
    await screenshot(page, "app-approval");
    await ls.getByRole("button", { name: "Approve once" }).tap();
    await expect.poll(() => ls.locator("article").textContent(), { timeout: 20_000 }).toContain(`Approved once by ${deviceName}`);
    const term = page.locator("airlock-thread airlock-terminal").first();
    await expect.poll(() => term.evaluate((t) => (t as unknown as { text: string }).text), { timeout: 20_000 }).toMatch(/total \d+/);
    await expect.poll(() => page.locator("airlock-thread .cmd-meta").first().textContent(), { timeout: 20_000 }).toContain("exit 0");

    // 2. The note (a file change): approve; the diff appears.
    const note = approvalCard("notes/001-hello-from-the-phone.md");
    await note.getByRole("button", { name: "Approve once" }).tap({ timeout: 20_000 });
    const diff = page.locator("airlock-thread airlock-diff").first();
    await diff.waitFor({ timeout: 20_000 });
    expect(await diff.locator(".path").textContent()).toBe("notes/001-hello-from-the-phone.md");
    expect(await diff.locator(".line.add").allTextContents()).toContain("1+added: # Note");

    // 3. The check: deny; the agent reports it skipped the command.
    const check = approvalCard("grep -c");
    await check.getByRole("button", { name: "Deny" }).tap({ timeout: 20_000 });
    await expect.poll(() => check.locator("article").textContent(), { timeout: 20_000 }).toContain(`Denied by ${deviceName}`);
    await page.locator("airlock-thread .notice", { hasText: `denied by ${deviceName}` }).waitFor({ timeout: 20_000 });
    await page.locator("airlock-thread .turn.completed").waitFor({ timeout: 20_000 });
    expect(await page.locator("airlock-thread .msg.agent").last().textContent()).toContain("Done. Wrote notes/001-hello-from-the-phone.md");
    await screenshot(page, "app-thread-done");
  });

  it("sends a follow-up, answers the agent's question, and interrupts the turn", async () => {
    await page.getByLabel("Message", { exact: true }).fill("one more note, question first");
    await page.getByRole("button", { name: "Send" }).tap();
    await page.locator("airlock-thread .msg.user", { hasText: "one more note" }).waitFor();
    const question = page.locator("airlock-thread airlock-question").last();
    await question.getByRole("button", { name: "To do" }).tap();
    await expect.poll(() => question.locator("article").getAttribute("data-state")).toBe("answered");
    await approvalCard("ls -la").getByRole("button", { name: "Approve once" }).waitFor();
    await screenshot(page, "app-question-answered");
    // The turn now waits for an approval: stop it from the phone instead.
    await page.getByRole("button", { name: "Stop the running turn" }).tap();
    await page.locator("airlock-thread .turn.interrupted").waitFor();
    await expect.poll(() => page.getByRole("button", { name: "Send" }).isVisible()).toBe(true);
  });

  it("shows the host going offline and coming back", async () => {
    await host.stop();
    const banner = page.locator(".banner");
    await expect.poll(() => banner.textContent(), { timeout: 30_000 }).toMatch(/is offline/);
    await screenshot(page, "app-host-offline");
    host = airlock(hostArgs());
    await host.next("relay.online");
    await banner.waitFor({ state: "hidden", timeout: 30_000 });
    // Still usable: the thread's history is intact after the reconnect.
    expect(await page.locator("airlock-thread .turn.completed").count()).toBe(1);
    expect(browser.errors.filter((e) => !/favicon|ERR_CONNECTION|WebSocket/.test(e)).join("\n")).toBe("");
  });
});
