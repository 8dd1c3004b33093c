// Chromium for the browser tests: Debian's /usr/bin/chromium driven by
// playwright-core, a fresh profile per launch, phone-sized by default, and a
// close() that always returns and always removes the profile.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.AIRLOCK_CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** An iPhone-13-sized phone. */
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } as const;

export const SCREENSHOTS = new URL("../../test-artifacts/screenshots/", import.meta.url).pathname;

export interface Browser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  /** Page errors and console errors seen so far, for assertions. */
  errors: string[];
  close(): Promise<void>;
}

export async function launchBrowser(options: { permissions?: string[] } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "airlock-chromium-"));
  mkdirSync(SCREENSHOTS, { recursive: true });
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      ...PHONE,
      permissions: options.permissions ?? [],
      timeout: 30_000,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
  };
  context.pages().forEach(watch);
  context.on("page", watch);
  let closed = false;
  return {
    context,
    errors,
    newPage: () => context.newPage(),
    async close() {
      if (closed) return;
      closed = true;
      // A wedged browser must not hang the suite: give close() 10 s.
      await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 10_000).unref())]);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot under test-artifacts/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Puts a page in the background (or back) as switching tabs or locking the phone does: the document becomes hidden. */
export async function setHidden(p: Page, hidden: boolean): Promise<void> {
  await p.evaluate((h) => {
    // Headless Chromium keeps every tab visible; emulate the switch the OS would make.
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (h ? "hidden" : "visible") });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}
