// A paired setup for the browser tests: the real relay serving web/public, the
// real `airlock up --agent demo`, Chromium at phone size, and a page paired
// with the host by opening `airlock pair`'s link (SAS confirmed at the host),
// as app-e2e.test.ts does step by step.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { expect } from "vitest";
import { buildWeb } from "../../scripts/build-web.ts";
import { startRelay, type RelayServer } from "../relay/harness.ts";
import { launchBrowser, type Browser } from "./browser.ts";
import { airlock, type Cli } from "../host-agent/airlock-cli.ts";

export interface Session {
  relay: RelayServer;
  browser: Browser;
  host: Cli;
  /** The `airlock` home of the host. */
  home: string;
  /** The paired page, on the host's view. */
  page: Page;
  /** What the host calls this device. */
  deviceName: string;
  close(): Promise<void>;
}

export interface SessionOptions {
  permissions?: string[];
  relay?: Parameters<typeof startRelay>[0];
  /** Another agent than the demo: `airlock up` arguments after `--workspace`, and its environment. */
  agent?: { args: string[]; env?: NodeJS.ProcessEnv };
}

export async function pairedSession(name: string, options: SessionOptions = {}): Promise<Session> {
  const home = mkdtempSync(join(tmpdir(), `airlock-web-${name}-home-`));
  const workspace = mkdtempSync(join(tmpdir(), `airlock-web-${name}-ws-`));
  const s: Partial<Session> = { home };
  const close = async () => {
    await s.browser?.close();
    await s.host?.stop();
    await s.relay?.dispose();
    // No temp folders left behind.
    for (const dir of [home, workspace]) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await buildWeb();
    [s.relay, s.browser] = await Promise.all([startRelay(options.relay), launchBrowser(options)]);
    const agentArgs = options.agent?.args ?? ["--agent", "demo"];
    s.host = airlock(["--home", home, "--json", "up", "--relay", s.relay.url, "--workspace", workspace, ...agentArgs], options.agent?.env);
    await s.host.next("relay.online");
    const page = (s.page = await s.browser.newPage());
    page.setDefaultTimeout(20_000);
    const pair = airlock(["--home", home, "--json", "pair"]);
    try {
      const { link } = (await pair.next("pairing")) as { link: string };
      await page.goto(link);
      const sas = await page.locator(".sas").textContent();
      const confirm = await pair.next("confirm");
      expect(confirm.sas).toBe(sas);
      s.deviceName = String(confirm.deviceName);
      pair.child.stdin.write("y\n");
      await pair.next("paired");
    } finally {
      await pair.stop();
    }
    await page.locator("form[aria-label='New thread']").waitFor();
    await page.locator(".banner").waitFor({ state: "hidden" });
  } catch (err) {
    await close();
    throw err;
  }
  return { ...(s as Session), close };
}

/** Starts a thread from the host's view; resolves with its id once the thread's view shows. */
export async function startThread(page: Page, prompt: string): Promise<string> {
  await page.getByLabel("Prompt").fill(prompt);
  await page.getByRole("button", { name: "Start thread" }).tap();
  await page.locator("airlock-thread").waitFor();
  await page.waitForFunction(() => new URLSearchParams(location.search).has("thread"));
  return new URL(page.url()).searchParams.get("thread")!;
}

/** The newest approval card whose text contains `text`. */
export const approvalCard = (page: Page, text: string) => page.locator("airlock-thread airlock-approval", { hasText: text }).last();

/** Page and console errors, less the expected ones of reconnecting sockets. */
export const unexpectedErrors = (browser: Browser) => browser.errors.filter((e) => !/favicon|ERR_CONNECTION|ERR_INTERNET_DISCONNECTED|WebSocket/.test(e));
