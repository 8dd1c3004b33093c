// The web app served from its own origin (a node:http static server on
// another port, as docs/web-app.md recommends when the relay's operator is not
// trusted with the app code), in Chromium at phone size, against the real relay
// and `airlock up --app-url`: the pairing link opens that origin, the page's
// CSP lets it reach the relay named in the link, a thread runs with an approval
// from the phone, a host-only approval is decided at the host's terminal, and
// the trust (device key and host) survives a reload and a fresh page.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRelay, type RelayServer } from "../relay/harness.ts";
import { launchBrowser, screenshot, SCREENSHOTS, type Browser } from "./browser.ts";
import { airlock, airlockJson, type Cli } from "../host-agent/airlock-cli.ts";
import { buildAppInto, serveStatic, type StaticServer } from "./static.ts";
import { pinnedIndexHtml } from "../../scripts/build-web.ts";
import { tempDir } from "../support/temp.ts";

let relay: RelayServer;
let app: StaticServer;
let browser: Browser;
let host: Cli;
let page: Page;
let deviceName = "";
/** Every WebSocket the pages opened. */
const sockets: string[] = [];
const home = tempDir("airlock-web-origin-home-");
const workspace = tempDir("airlock-web-origin-ws-");
/** Threads started here: title → id. */
const threads = new Map<string, string>();
const extraServers: StaticServer[] = [];

beforeAll(async () => {
  const dir = await buildAppInto();
  [relay, app, browser] = await Promise.all([startRelay(), serveStatic(dir), launchBrowser()]);
  host = airlock(["--home", home, "--json", "up", "--relay", relay.url, "--agent", "demo", "--workspace", workspace, "--app-url", `${app.url}/`]);
  await host.next("relay.online");
  // CSP violations in any page of this profile, as the page sees them.
  await browser.context.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => w.__csp.push(`${e.effectiveDirective} ${e.blockedURI}`));
  });
  browser.context.on("page", (p) => p.on("websocket", (ws) => sockets.push(ws.url())));
  page = await browser.newPage();
  page.setDefaultTimeout(20_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await app?.close();
  await Promise.all(extraServers.map((s) => s.close()));
  await relay?.dispose();
});

const approvalCard = (text: string) => page.locator("airlock-thread airlock-approval", { hasText: text }).last();
const cspViolations = (p: Page) => p.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
const unexpectedErrors = () => browser.errors.filter((e) => !/favicon|ERR_CONNECTION|WebSocket/.test(e));

async function startThread(prompt: string): Promise<string> {
  await page.getByLabel("Prompt").fill(prompt);
  await page.getByRole("button", { name: "Start thread" }).tap();
  await page.locator("airlock-thread").waitFor();
  await page.waitForFunction(() => new URLSearchParams(location.search).has("thread"));
  const id = new URL(page.url()).searchParams.get("thread")!;
  threads.set(prompt, id);
  return id;
}

/** Resolves once the page has not scrolled or grown for a few frames (the thread follows new events). */
async function settled(p: Page): Promise<void> {
  await p.waitForFunction(
    () =>
      new Promise<boolean>((resolve) => {
        const at = () => `${window.scrollY}/${document.documentElement.scrollHeight}`;
        const first = at();
        let frames = 0;
        const tick = () => (at() !== first ? resolve(false) : ++frames >= 5 ? resolve(true) : requestAnimationFrame(tick));
        requestAnimationFrame(tick);
      }),
    undefined,
    { polling: 50 },
  );
}

/**
 * Approves the card whose action mentions `text`, pinned by position: once it
 * resolves, the agent's next card may mention the same text (the check names
 * the note the previous card wrote).
 */
async function approveOnce(text: string): Promise<void> {
  const cards = page.locator("airlock-thread airlock-approval");
  await approvalCard(text).getByRole("button", { name: "Approve once" }).waitFor({ timeout: 20_000 });
  const index = await cards.evaluateAll((els, t) => {
    let found = -1;
    els.forEach((el, i) => {
      if (el.shadowRoot?.querySelector("pre.action")?.textContent?.includes(t)) found = i;
    });
    return found;
  }, text);
  expect(index, `the card for ${text}`).toBeGreaterThanOrEqual(0);
  const card = cards.nth(index);
  await settled(page);
  await card.getByRole("button", { name: "Approve once" }).tap();
  await expect.poll(() => card.locator("article").textContent(), { timeout: 20_000 }).toContain(`Approved once by ${deviceName}`);
}

/** What the app stored for this device in IndexedDB ("airlock-web" → "kv" → "device-identity"). */
function storedIdentity(p: Page) {
  return p.evaluate(
    () =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const req = indexedDB.open("airlock-web");
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const db = req.result;
          const get = db.transaction("kv", "readonly").objectStore("kv").get("device-identity");
          get.onerror = () => reject(get.error);
          get.onsuccess = async () => {
            const v = get.result as { kind?: string; publicKey?: string; privateKey?: unknown } | undefined;
            db.close();
            const key = v?.privateKey;
            let exportError = "";
            if (key instanceof CryptoKey) {
              try {
                await crypto.subtle.exportKey("pkcs8", key);
                exportError = "exported!";
              } catch (e) {
                exportError = (e as Error).name;
              }
            }
            resolve({
              kind: v?.kind,
              publicKey: v?.publicKey,
              isCryptoKey: key instanceof CryptoKey,
              extractable: key instanceof CryptoKey ? key.extractable : "n/a",
              algorithm: key instanceof CryptoKey ? key.algorithm.name : "n/a",
              usages: key instanceof CryptoKey ? key.usages : "n/a",
              exportError,
            });
          };
        };
      }),
  );
}

describe("web app served from another origin", () => {
  it("pairing links open the app's own origin; it pairs with the relay named in the link", async () => {
    expect(new URL(app.url).origin).not.toBe(new URL(relay.url).origin);
    const pair = airlock(["--home", home, "--json", "pair"]);
    try {
      const { link } = (await pair.next("pairing")) as { link: string };
      // (`airlock up` drops the trailing slash of --app-url: fine at the root of an origin.)
      expect(link, "the pairing link").toMatch(new RegExp(`^${app.url}/?#v=1&relay=`));
      expect(new URLSearchParams(new URL(link).hash.slice(1)).get("relay")).toBe(relay.url);
      await page.goto(link);
      await page.waitForFunction(() => location.hash === "");
      const sas = await page.locator(".sas").textContent();
      const confirm = await pair.next("confirm");
      expect(confirm.sas).toBe(sas);
      deviceName = String(confirm.deviceName);
      pair.child.stdin.write("y\n");
      await pair.next("paired");
    } finally {
      await pair.stop();
    }
    await page.locator("form[aria-label='New thread']").waitFor();
    // The pairing is confirmed on the host's screen (only there: see the next test).
    expect(await page.locator(".toast.show").textContent()).toMatch(/^Paired with .+ \(code \d{3} \d{3}\)$/);
    await page.locator(".banner").waitFor({ state: "hidden" });
    expect(new URL(page.url()).origin).toBe(app.url);
    // The page reached the relay (another origin) over WebSockets only.
    expect(sockets.length).toBeGreaterThan(0);
    for (const url of sockets) expect(url.startsWith(`${relay.url.replace(/^http/, "ws")}/v1/`)).toBe(true);
    expect(await cspViolations(page)).toEqual([]);
    expect(unexpectedErrors().join("\n")).toBe("");
  });

  it("starts a thread and approves a request from that origin", async () => {
    await startThread("hello from another origin");
    // A toast from the previous screen does not cover this one.
    expect(await page.locator(".toast").getAttribute("class")).toBe("toast");
    await approveOnce("ls -la");
    await approveOnce("notes/001-hello-from-another-origin.md");
    await approveOnce("grep -c");
    await page.locator("airlock-thread .turn.completed").waitFor();
    expect(await cspViolations(page)).toEqual([]);
  });

  it("a host-only approval shows no buttons, and the host's terminal decides it", async () => {
    await page.getByRole("button", { name: "Back" }).tap();
    await page.locator("form[aria-label='New thread']").waitFor();
    const threadId = await startThread("push the branch");
    await approveOnce("ls -la");
    await approveOnce("notes/002-push-the-branch.md");
    await approveOnce("grep -c");

    const push = approvalCard("git push origin main");
    const article = push.locator("article");
    await expect.poll(() => article.getAttribute("data-state"), { timeout: 20_000 }).toBe("host-only");
    expect(await push.locator(".badge").textContent()).toBe("Commit");
    expect(await push.getByRole("note").textContent()).toContain("Needs the host's terminal");
    // The host's own command line for its CLI, with this test host's --home.
    expect(await push.getByRole("note").textContent()).toContain(`airlock --home ${home} approvals`);
    expect(await push.locator("button").count()).toBe(0);
    expect(await push.getByRole("group", { name: "Decision" }).count()).toBe(0);
    await push.screenshot({ path: `${SCREENSHOTS}app-host-only-waiting.png` });

    // At the host: find it among the waiting requests and deny it there.
    const { approvals } = (await airlockJson(["--home", home, "--json", "approvals"])) as {
      approvals: Array<{ approvalId: string; threadId: string; where: string; tier: string; evidence: { action: string } }>;
    };
    const waiting = approvals.find((a) => a.evidence.action === "git push origin main");
    expect(waiting).toMatchObject({ threadId, where: "host-only", tier: "commit" });
    expect(await airlockJson(["--home", home, "--json", "deny", waiting!.approvalId])).toMatchObject({ type: "decided", decision: "deny" });

    await expect.poll(() => article.getAttribute("data-state"), { timeout: 20_000 }).toBe("resolved");
    expect(await article.locator(".status.resolved-deny").textContent()).toBe("Denied by host");
    expect(await push.locator("button").count()).toBe(0);
    await page.locator("airlock-thread .notice", { hasText: "Skipped `git push origin main`: denied by host." }).waitFor();
    await page.locator("airlock-thread .turn.completed").waitFor();
    await push.screenshot({ path: `${SCREENSHOTS}app-host-only-denied.png` });
  });

  it("trust persists: after a reload and in a fresh page the host connects from IndexedDB, with threads and history", async () => {
    const threadId = threads.get("push the branch")!;
    const before = await storedIdentity(page);
    expect(before).toMatchObject({
      kind: "cryptokey",
      isCryptoKey: true,
      extractable: false,
      algorithm: "Ed25519",
      usages: ["sign"],
      exportError: "InvalidAccessError",
    });
    // The host trusts exactly this key, and only one device.
    const devices = (await airlockJson(["--home", home, "--json", "devices"])) as Array<{ key: string; name: string }>;
    expect(devices.map((d) => d.name)).toEqual([deviceName]);
    const hostKey = devices[0]!.key;

    // 1. Reload the thread's page: no link, just the route in the query string.
    const socketsBefore = sockets.length;
    await page.reload();
    expect(page.url()).not.toContain("#");
    await page.locator("airlock-thread").waitFor();
    await page.locator(".banner").waitFor({ state: "hidden" });
    expect(sockets.length).toBeGreaterThan(socketsBefore); // connected again after the reload
    const push = approvalCard("git push origin main");
    await expect.poll(() => push.locator("article .status.resolved-deny").textContent(), { timeout: 20_000 }).toBe("Denied by host");
    expect(await page.locator("airlock-thread airlock-approval").count()).toBe(4);
    expect(await page.locator("airlock-thread .msg.user").first().textContent()).toContain("push the branch");
    await page.locator("airlock-thread .turn.completed").waitFor();
    expect(new URL(page.url()).searchParams.get("thread")).toBe(threadId);

    // 2. A fresh page at the app's start URL: the one trusted host opens by itself.
    const fresh = await browser.newPage();
    fresh.setDefaultTimeout(20_000);
    await fresh.goto(`${app.url}/`);
    await fresh.locator("form[aria-label='New thread']").waitFor();
    await fresh.locator(".banner").waitFor({ state: "hidden" });
    const rows = fresh.getByRole("list", { name: "Threads" }).locator("li.row");
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(2);
    expect((await rows.locator(".row-title").allTextContents()).sort()).toEqual(["hello from another origin", "push the branch"]);
    // Its history is there too.
    await rows.filter({ hasText: "hello from another origin" }).locator("a").tap();
    await fresh.locator("airlock-thread .turn.completed").waitFor();
    await expect.poll(() => fresh.locator("airlock-thread airlock-approval").count()).toBe(3);
    // And the hosts list shows it, from storage, with no link involved.
    await fresh.getByRole("button", { name: "Back" }).tap();
    await fresh.getByRole("button", { name: "Back" }).tap();
    await fresh.getByRole("list", { name: "Hosts" }).locator("li.row").first().waitFor();
    expect(await fresh.getByRole("list", { name: "Hosts" }).locator("li.row").count()).toBe(1);
    await screenshot(fresh, "app-hosts-after-reload");

    // Same non-extractable key as before, still the only device the host knows.
    const after = await storedIdentity(fresh);
    expect(after).toEqual(before);
    const devicesAfter = (await airlockJson(["--home", home, "--json", "devices"])) as Array<{ key: string }>;
    expect(devicesAfter.map((d) => d.key)).toEqual([hostKey]);
    expect(await cspViolations(fresh)).toEqual([]);
    expect(unexpectedErrors().join("\n")).toBe("");
    await fresh.close();
  });

  it("the default CSP allows only WebSocket connections (no fetch to other origins)", async () => {
    const csp = await page.locator("meta[http-equiv='Content-Security-Policy']").getAttribute("content");
    expect(csp).toMatch(/connect-src 'self' wss: ws:\/\/127\.0\.0\.1:\* ws:\/\/localhost:\*;/);
    const blocked = await page.evaluate(async () => {
      const w = window as unknown as { __csp: string[] };
      const before = w.__csp.length;
      const res = await fetch("https://example.invalid/x").then(
        () => "fetched",
        (e: Error) => e.name,
      );
      await new Promise((r) => setTimeout(r, 100)); // the violation event is queued as a task
      return { res, violations: w.__csp.slice(before) };
    });
    expect(blocked.res).toBe("TypeError");
    expect(blocked.violations).toEqual(["connect-src https://example.invalid/x"]);
  });

  it("a build pinned to one relay (--relay) pairs with it and refuses links naming another relay", async () => {
    expect(pinnedIndexHtml("<meta content=\"connect-src 'self' wss:; x\">", ["https://relay.example.com/base", "http://127.0.0.1:8787"])).toBe(
      `<meta content="connect-src 'self' wss://relay.example.com ws://127.0.0.1:8787; x">`,
    );
    expect(() => pinnedIndexHtml("connect-src 'self'", ["http://relay.example.com"])).toThrow(/https/);
    const [elsewhere, pinned] = await Promise.all([buildAppInto({ relays: ["https://relay.example.com"] }), buildAppInto({ relays: [relay.url] })]);
    const [wrongApp, rightApp] = await Promise.all([serveStatic(elsewhere), serveStatic(pinned)]);
    extraServers.push(wrongApp, rightApp);

    const pair = airlock(["--home", home, "--json", "pair"]);
    const p = await browser.newPage();
    p.setDefaultTimeout(20_000);
    try {
      const { link } = (await pair.next("pairing")) as { link: string };
      const fragment = new URL(link).hash;
      // Pinned to another relay: the page may not open a socket to this one.
      await p.goto(`${wrongApp.url}/${fragment}`);
      const alert = p.locator(".error[role='alert']");
      await expect.poll(() => alert.textContent(), { timeout: 10_000 }).toContain(`does not allow connecting to ${relay.url.replace(/^http/, "ws")}`);
      await screenshot(p, "app-pair-relay-not-allowed");
      const violations = await cspViolations(p);
      expect(violations.length).toBeGreaterThan(0);
      for (const v of violations) expect(v).toMatch(new RegExp(`^connect-src ${relay.url.replace(/^http/, "ws")}`));
      // Pinned to this relay: the same link (never used: nothing reached the relay) pairs.
      await p.goto(`${rightApp.url}/${fragment}`);
      const sas = await p.locator(".sas").textContent();
      expect((await pair.next("confirm")).sas).toBe(sas);
      pair.child.stdin.write("y\n");
      await pair.next("paired");
      await p.locator("form[aria-label='New thread']").waitFor();
      await p.locator(".banner").waitFor({ state: "hidden" });
      expect(await cspViolations(p)).toEqual([]);
    } finally {
      await pair.stop();
      await p.close();
    }
  });
});
