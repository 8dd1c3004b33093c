// Push end to end in Chromium at phone size: the web app's "Notify me when the
// agent needs me" flow registers with the real host (`airlock up --agent
// demo`) over the real relay on workerd, which has a VAPID key and allows the
// tests' mock push service. The host's pushes are encrypted to the
// subscription, relayed, and decrypted by the mock; the test hands each
// decrypted payload to the app's service worker (ServiceWorker.deliverPushMessage),
// as the browser would, and checks the notification it shows.
//
// Headless Chromium cannot create a real push subscription offline, so the
// test (and only the test) replaces PushManager's subscribe/getSubscription
// with ones that return a subscription from the mock push service, before the
// app loads. Everything after that is the app's own code.
import type { CDPSession, Page, Worker } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePushPayload, type PushPayload } from "../../protocol/src/push-payload.ts";
import { generateVapidKeys } from "../../protocol/src/web-push.ts";
import { startMockPushService, type MockPushService, type ReceivedPush } from "../support/mock-push-service.ts";
import { airlockJson } from "../host-agent/airlock-cli.ts";
import { screenshot, setHidden } from "./browser.ts";
import { deliverPush, notifications, serviceWorkerOf } from "./push-support.ts";
import { approvalCard, pairedSession, startThread, unexpectedErrors, type Session } from "./session.ts";

let s: Session;
let mock: MockPushService;
let page: Page;
let cdp: CDPSession;
let worker: Worker;
let registrationId = "";
let hostName = "";
let subscription: { endpoint: string; p256dh: string; auth: string };

beforeAll(async () => {
  const vapid = await generateVapidKeys();
  mock = await startMockPushService({ vapidPublicKey: vapid.publicKey });
  s = await pairedSession("push-e2e", { relay: { push: { vapid: { ...vapid, subject: "mailto:ops@example.com" }, origins: [mock.origin] } } });
  page = s.page;
  await s.browser.context.grantPermissions(["notifications"], { origin: s.relay.url });
  subscription = await mock.subscribe();
  // Test-only: the browser's push subscription is the mock's (see the header).
  await s.browser.context.addInitScript((sub) => {
    const b64 = (x: string) => Uint8Array.from(atob(x.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    let current: unknown = null;
    const make = (key: ArrayBuffer) => ({
      endpoint: sub.endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: key },
      getKey: (name: string) => b64(name === "auth" ? sub.auth : sub.p256dh).buffer,
      toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: { p256dh: sub.p256dh, auth: sub.auth } }),
      unsubscribe: async () => ((current = null), true),
    });
    PushManager.prototype.subscribe = async function (options?: PushSubscriptionOptionsInit) {
      const key = options?.applicationServerKey;
      const bytes = typeof key === "string" ? b64(key) : new Uint8Array(key as ArrayBuffer);
      (window as unknown as { __subscribedWith: number[] }).__subscribedWith = [...bytes];
      return (current = make(bytes.slice().buffer)) as unknown as PushSubscription;
    };
    PushManager.prototype.getSubscription = async () => current as PushSubscription | null;
  }, subscription);
  await page.reload();
  await page.locator("form[aria-label='New thread']").waitFor();
  hostName = (await page.locator("#title").textContent()) ?? "";
  ({ cdp, worker, registrationId } = await serviceWorkerOf(page, s.relay.url));
}, 180_000);

afterAll(async () => {
  await cdp?.detach().catch(() => undefined);
  await s?.close();
  await mock?.close();
});

const section = () => page.locator("section.push");
const payloadOf = (r: ReceivedPush) => decodePushPayload(r.payload!);
/** The next push the mock decrypted for our subscription that matches. */
const nextPush = (match: (p: PushPayload) => boolean) =>
  mock.waitFor((r) => r.endpoint === subscription.endpoint && r.status === 201 && !!r.payload && match(payloadOf(r))).then(payloadOf);

describe("push end to end", () => {
  it("turns on from the host's page: the relay's VAPID key, the subscription registered with the host, a test notification", async () => {
    const button = section().getByRole("button", { name: "Notify me when the agent needs me" });
    await button.waitFor();
    expect(
      await section()
        .getByRole("checkbox", { name: /Show details on the lock screen/ })
        .isChecked(),
    ).toBe(false);
    expect(await section().getByRole("checkbox", { name: "Approvals" }).isChecked()).toBe(true);
    await screenshot(page, "push-off");
    await button.tap();
    await section().getByRole("button", { name: "Turn off push notifications" }).waitFor();
    expect(await page.locator(".toast.show").textContent()).toBe("Push notifications on.");
    // Subscribed with the relay's key, as /v1/info publishes it.
    const info = (await (await fetch(`${s.relay.url}/v1/info`)).json()) as { push: { vapidPublicKey: string } };
    const usedKey = await page.evaluate(() => (window as unknown as { __subscribedWith: number[] }).__subscribedWith);
    expect(Buffer.from(usedKey).toString("base64url")).toBe(info.push.vapidPublicKey);

    await section().getByRole("button", { name: "Send a test notification" }).tap();
    const test = await nextPush((p) => p.type === "test");
    expect(test.host.name).toBe(hostName);
    await deliverPush(cdp, s.relay.url, registrationId, JSON.stringify(test));
    await expect.poll(async () => (await notifications(page, test.tag))[0]?.title).toBe(`Test notification from ${hostName}`);
    expect(await page.locator(".toast.show").textContent()).toBe("Test notification sent.");
    await screenshot(page, "push-on");
  });

  it("controls are labelled and at least 44 px tall", async () => {
    for (const loc of [
      section().getByRole("button", { name: "Turn off push notifications" }),
      section().getByRole("button", { name: "Send a test notification" }),
      section().getByRole("checkbox", { name: "Approvals" }).locator(".."),
      section()
        .getByRole("checkbox", { name: /Show details/ })
        .locator(".."),
    ]) {
      const box = await loc.boundingBox();
      expect(box!.height).toBeGreaterThanOrEqual(44);
    }
  });

  it("the host pushes an approval while the app is hidden: kind and host only; Approve from the notification decides once", async () => {
    await setHidden(page, true);
    const thread = await startThread(page, "push e2e approval");
    const request = await nextPush((p) => p.type === "request" && p.thread === thread);
    expect(request).toMatchObject({ kind: "approval", host: { name: hostName }, actions: ["approve_once", "deny"] });
    expect(request.details).toBeUndefined();
    await deliverPush(cdp, s.relay.url, registrationId, JSON.stringify(request));
    await expect.poll(async () => (await notifications(page, request.tag)).length).toBe(1);
    const [n] = await notifications(page, request.tag);
    expect(n).toMatchObject({ title: `Approval needed on ${hostName}`, body: "Open Airlock to review it." });
    expect(JSON.stringify(n)).not.toMatch(/ls -la|push e2e/);

    // Approve from the notification (the service worker decides through the SDK).
    await worker.evaluate(async (tag) => {
      const sw = self as unknown as { registration: ServiceWorkerRegistration; airlock: { onClick(n: Notification, a: string): Promise<void> } };
      const [note] = await sw.registration.getNotifications({ tag });
      await sw.airlock.onClick(note!, "approve_once");
    }, request.tag);
    const card = approvalCard(page, "ls -la");
    await expect.poll(() => card.locator("article").textContent(), { timeout: 20_000 }).toContain(`Approved once by ${s.deviceName}`);
    expect((await card.locator("article").textContent())!.split("Approved once by").length - 1).toBe(1);
    // The host's follow-up replaces the notification quietly.
    const resolved = await nextPush((p) => p.type === "resolved" && p.approvalId === request.approvalId);
    expect(resolved).toMatchObject({ outcome: "approve_once", by: s.deviceName, tag: request.tag });
  });

  it("with details on: the next approval shows the action; decided at the host, the stale notification is replaced", async () => {
    await setHidden(page, false);
    await page.getByRole("button", { name: "Back" }).tap();
    await section()
      .getByRole("checkbox", { name: /Show details on the lock screen/ })
      .check();
    await expect.poll(() => page.locator(".toast.show").textContent()).toBe("Saved.");
    await setHidden(page, true);
    const thread = await startThread(page, "push e2e details");
    const request = await nextPush((p) => p.type === "request" && p.thread === thread);
    expect(request.details).toMatchObject({ action: "ls -la", tier: "continue", title: "push e2e details" });
    await deliverPush(cdp, s.relay.url, registrationId, JSON.stringify(request));
    await expect.poll(async () => (await notifications(page, request.tag))[0]?.body).toBe("push e2e details\ncontinue: ls -la");

    // Decided at the host's terminal: the follow-up replaces the stale notification.
    expect(await airlockJson(["--home", s.home, "--json", "approve", request.approvalId!])).toMatchObject({ type: "decided" });
    const resolved = await nextPush((p) => p.type === "resolved" && p.approvalId === request.approvalId);
    await deliverPush(cdp, s.relay.url, registrationId, JSON.stringify(resolved));
    await expect.poll(async () => (await notifications(page, request.tag))[0]?.title).toBe("Approved at the host");
    const now = await notifications(page, request.tag);
    expect(now).toHaveLength(1);
    expect(now[0]).toMatchObject({ silent: true, actions: [] });
    await setHidden(page, false);
    await page.getByRole("button", { name: "Stop the running turn" }).tap();
    expect(unexpectedErrors(s.browser).join("\n")).toBe("");
  });

  it("turned off: the host forgets the subscription", async () => {
    await page.getByRole("button", { name: "Back" }).tap();
    await section().getByRole("button", { name: "Turn off push notifications" }).tap();
    await section().getByRole("button", { name: "Notify me when the agent needs me" }).waitFor();
    const before = mock.received.length;
    await setHidden(page, true);
    await startThread(page, "push e2e after off");
    await approvalCard(page, "ls -la").getByRole("button", { name: "Approve once" }).waitFor();
    await new Promise((r) => setTimeout(r, 1500));
    expect(mock.received.slice(before).filter((r) => r.endpoint === subscription.endpoint)).toEqual([]);
    await setHidden(page, false);
  });
});
