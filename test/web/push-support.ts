// Browser-test helpers for push: the page's service worker as a DevTools
// target (its registration id for ServiceWorker.deliverPushMessage, and a
// Playwright Worker to evaluate in it), delivering a push, and reading the
// notifications it shows.
import type { CDPSession, Page, Worker } from "playwright-core";

export interface Shown {
  title: string;
  body: string;
  tag: string;
  silent: boolean | null;
  actions: Array<{ action: string; title: string }>;
  data: Record<string, unknown>;
}

/** The service worker controlling `origin`'s app: its registration id and a Worker handle. */
export async function serviceWorkerOf(page: Page, origin: string): Promise<{ cdp: CDPSession; worker: Worker; registrationId: string }> {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  const cdp = await page.context().newCDPSession(page);
  const scope = `${origin}/`;
  const registrationId = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no service worker registration for ${scope}`)), 15_000);
    cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
      const r = registrations.find((x) => x.scopeURL === scope && !x.isDeleted);
      if (r) {
        clearTimeout(timer);
        resolve(r.registrationId);
      }
    });
    void cdp.send("ServiceWorker.enable").catch(reject);
  });
  const worker =
    page
      .context()
      .serviceWorkers()
      .find((w) => w.url() === `${origin}/sw.js`) ??
    (await page.context().waitForEvent("serviceworker", { predicate: (w) => w.url() === `${origin}/sw.js`, timeout: 15_000 }));
  return { cdp, worker, registrationId };
}

/** Hands `data` to the service worker as a push message (what the browser does once it decrypted a push). */
export async function deliverPush(cdp: CDPSession, origin: string, registrationId: string, data: string): Promise<void> {
  await cdp.send("ServiceWorker.deliverPushMessage", { origin: `${origin}/`, registrationId, data });
}

/** The notifications the service worker shows now (of one tag, or all), read from a page of the app or in the worker. */
export function notifications(target: Page | Worker, tag?: string): Promise<Shown[]> {
  return (target as Page).evaluate(async (t) => {
    const reg = (self as unknown as { registration?: ServiceWorkerRegistration }).registration ?? (await navigator.serviceWorker.ready);
    const list = await reg.getNotifications(t === undefined ? undefined : { tag: t });
    return list.map((n) => ({
      title: n.title,
      body: n.body,
      tag: n.tag,
      silent: n.silent,
      actions: [...((n as unknown as { actions?: Array<{ action: string; title: string }> }).actions ?? [])].map((a) => ({ action: a.action, title: a.title })),
      data: (n.data ?? {}) as Record<string, unknown>,
    }));
  }, tag);
}
