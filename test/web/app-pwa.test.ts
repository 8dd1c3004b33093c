// The web app as an installable app, in Chromium at phone size, served by the
// real relay and paired with the real `airlock up --agent demo`: the manifest
// is linked, valid and its icons load; the service worker controls the page
// after a reload; it caches the app shell only (no relay API response, no
// query-string variants), and the shell opens offline.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screenshot } from "./browser.ts";
import { pairedSession, unexpectedErrors, type Session } from "./session.ts";

let s: Session;
let page: Page;

beforeAll(async () => {
  s = await pairedSession("pwa");
  page = s.page;
}, 180_000);

afterAll(async () => {
  await s?.close();
});

/** Every cached request URL, by cache name. */
const cached = (p: Page) =>
  p.evaluate(async () => {
    const out: Record<string, string[]> = {};
    for (const name of await caches.keys()) out[name] = (await (await caches.open(name)).keys()).map((r) => r.url).sort();
    return out;
  });

describe("installable web app", () => {
  it("links a valid manifest: name, start_url, standalone, 192 and 512 px icons that load", async () => {
    const href = await page.locator("link[rel='manifest']").getAttribute("href");
    expect(href).toBe("manifest.webmanifest");
    const manifestUrl = new URL(href!, page.url()).href;
    const res = await page.request.get(manifestUrl);
    expect(res.status()).toBe(200);
    expect(res.headers()["content-type"]).toMatch(/^application\/(manifest\+)?json/);
    const m = JSON.parse(await res.text()) as {
      name: string;
      short_name: string;
      start_url: string;
      scope: string;
      display: string;
      icons: Array<{ src: string; sizes: string; type: string }>;
    };
    expect(m.name).toBe("Airlock");
    expect(m.short_name.length).toBeLessThanOrEqual(12);
    expect(m.display).toBe("standalone");
    // start_url and scope resolve inside the app's origin and cover the page.
    const start = new URL(m.start_url, manifestUrl);
    expect(start.origin).toBe(new URL(page.url()).origin);
    expect(page.url().startsWith(new URL(m.scope, manifestUrl).href)).toBe(true);
    for (const size of ["192x192", "512x512"]) {
      const icon = m.icons.find((i) => i.sizes === size && i.type === "image/png");
      expect(icon, size).toBeDefined();
      // The image loads (CSP img-src 'self') and really has that size.
      const dims = await page.evaluate(async (src) => {
        const img = new Image();
        img.src = src;
        await img.decode();
        return `${img.naturalWidth}x${img.naturalHeight}`;
      }, new URL(icon!.src, manifestUrl).href);
      expect(dims).toBe(size);
    }
    // Chromium's own reading of the manifest finds no errors.
    const cdp = await page.context().newCDPSession(page);
    try {
      const { url, errors } = await cdp.send("Page.getAppManifest");
      expect(url).toBe(manifestUrl);
      expect(errors.filter((e) => e.critical)).toEqual([]);
    } finally {
      await cdp.detach();
    }
  });

  it("the service worker registers and controls the page after a reload", async () => {
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    expect(scope).toBe(`${s.relay.url}/`);
    await page.reload();
    await page.locator("form[aria-label='New thread']").waitFor();
    await page.waitForFunction(() => navigator.serviceWorker.controller?.state === "activated");
    expect(await page.evaluate(() => navigator.serviceWorker.controller!.scriptURL)).toBe(`${s.relay.url}/sw.js`);
    await page.locator(".banner").waitFor({ state: "hidden" });
  });

  it("caches the app shell only: no relay API response, no routes with their query", async () => {
    // Traffic the shell's SW sees while the app runs: the host's route, the relay's HTTP endpoints.
    expect(new URL(page.url()).searchParams.get("host")).toBeTruthy();
    expect(unexpectedErrors(s.browser).join("\n")).toBe(""); // (the 404s below are expected)
    const statuses = await page.evaluate(async () => {
      const out: Record<string, number> = {};
      for (const path of ["health", "v1/rooms/nope", "v1/unknown", "app.js?x=1"]) out[path] = (await fetch(path).catch(() => ({ status: -1 }))).status;
      return out;
    });
    expect(statuses.health).toBe(200);
    const base = `${s.relay.url}/`;
    const shell = ["", "index.html", "app.js", "app.css", "manifest.webmanifest", "icon.svg", "icon-192.png", "icon-512.png"].map((p) => base + p).sort();
    const all = await cached(page);
    expect(Object.keys(all)).toEqual(["airlock-shell-v1"]);
    expect(all["airlock-shell-v1"]).toEqual(shell);
    // The cached page is the shell, not a route's response with its query (a host id).
    const html = await page.evaluate(async () => (await (await caches.match("./"))?.text()) ?? "");
    expect(html).toContain('<script type="module" src="app.js">');
  });

  it("opens offline from the cache: the app shell and the trusted host, not the browser's offline page", async () => {
    await s.browser.context.setOffline(true);
    try {
      await page.reload();
      await page.locator("header.topbar h1").waitFor();
      // The app ran: the host's view from IndexedDB, saying the relay cannot be reached.
      await page.locator("form[aria-label='New thread']").waitFor();
      await expect.poll(() => page.locator(".banner").textContent(), { timeout: 30_000 }).toMatch(/No connection to the relay|Connecting/);
      expect(await page.evaluate(() => document.querySelector("link[rel='manifest']") !== null)).toBe(true);
      await screenshot(page, "app-offline-shell");
      // A navigation to the start URL works offline too.
      await page.goto(`${s.relay.url}/`);
      await page.locator("form[aria-label='New thread']").waitFor();
      // API paths are not served from the cache: offline they fail.
      expect(
        await page.evaluate(
          async () =>
            await fetch("health").then(
              (r) => r.status,
              () => -1,
            ),
        ),
      ).toBe(-1);
    } finally {
      await s.browser.context.setOffline(false);
    }
    await expect.poll(() => page.locator(".banner").isHidden(), { timeout: 30_000 }).toBe(true);
  });
});
