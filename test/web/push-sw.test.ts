// The service worker's push handling (web/src/sw.ts), in Chromium at phone
// size against the real relay and `airlock up --agent demo`. Pushes are handed
// to the service worker with the DevTools protocol
// (ServiceWorker.deliverPushMessage), as a push service would after the
// browser decrypted them; the payloads here are built by the test (the host's
// own pushes, end to end through the relay and a mock push service, are in
// push-e2e.test.ts). Clicks call the handlers the service worker exposes
// (self.airlock.onClick), evaluated in its target, with the real notification.
import type { CDPSession, Page, Worker } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PushPayload } from "../../protocol/src/push-payload.ts";
import { airlockJson } from "../host-agent/airlock-cli.ts";
import { screenshot } from "./browser.ts";
import { approvalCard, pairedSession, startThread, unexpectedErrors, type Session } from "./session.ts";
import { deliverPush, notifications, serviceWorkerOf, type Shown } from "./push-support.ts";

let s: Session;
let page: Page;
let cdp: CDPSession;
let worker: Worker;
let registrationId = "";
let hostId = "";
let hostName = "";

beforeAll(async () => {
  s = await pairedSession("push-sw");
  page = s.page;
  await s.browser.context.grantPermissions(["notifications"], { origin: s.relay.url });
  hostId = new URL(page.url()).searchParams.get("host") ?? "";
  hostName = (await page.locator("#title").textContent()) ?? "";
  expect(hostId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  ({ cdp, worker, registrationId } = await serviceWorkerOf(page, s.relay.url));
}, 180_000);

afterAll(async () => {
  await cdp?.detach().catch(() => undefined);
  await s?.close();
});

const payload = (over: Partial<PushPayload>): PushPayload => ({
  v: 1,
  type: "request",
  kind: "approval",
  host: { id: hostId, name: hostName },
  tag: "t-thread-x",
  at: Date.now(),
  ...over,
});

const push = (data: PushPayload | string) => deliverPush(cdp, s.relay.url, registrationId, typeof data === "string" ? data : JSON.stringify(data));
const shown = (tag?: string) => notifications(page, tag);
async function clearNotifications(): Promise<void> {
  // A push an earlier step delivered may still be on its way to the screen (slow machine): close until none is left.
  const closeAll = () => page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).forEach((n) => n.close()));
  await expect
    .poll(
      async () => {
        const list = await shown();
        if (list.length > 0) await closeAll();
        return list;
      },
      { timeout: 15_000 },
    )
    .toEqual([]);
}
/** Calls the service worker's click handler with its notification of this tag. */
const click = (tag: string, action: string) =>
  worker.evaluate(
    async ([t, a]) => {
      const sw = self as unknown as { registration: ServiceWorkerRegistration; airlock: { onClick(n: Notification, a: string): Promise<void> } };
      const [n] = await sw.registration.getNotifications({ tag: t });
      if (!n) throw new Error(`no notification tagged ${t}`);
      await sw.airlock.onClick(n, a);
    },
    [tag, action] as const,
  );

describe("push notifications in the service worker", () => {
  it("an approval without details: its kind and the host only, Approve and Deny buttons, the thread's tag", async () => {
    await clearNotifications();
    await push(payload({ thread: "th-1", approvalId: "ap-1", tag: "th-1", actions: ["approve_once", "deny"] }));
    const [n] = await expect
      .poll(() => shown("th-1"))
      .toHaveLength(1)
      .then(() => shown("th-1"));
    expect(n).toMatchObject<Partial<Shown>>({
      title: `Approval needed on ${hostName}`,
      body: "Open Airlock to review it.",
      tag: "th-1",
      actions: [
        { action: "approve_once", title: "Approve" },
        { action: "deny", title: "Deny" },
      ],
      silent: false,
    });
    expect(n!.data).toMatchObject({ host: hostId, thread: "th-1", approvalId: "ap-1", route: `?host=${hostId}&thread=th-1` });
  });

  it("with details (the device opted in): the command, its tier and the thread's title; a newer push of the thread replaces the older", async () => {
    await push(
      payload({ thread: "th-1", approvalId: "ap-2", tag: "th-1", details: { title: "Fix the parser", action: "npm test -- parser", tier: "continue" } }),
    );
    await expect.poll(async () => (await shown("th-1"))[0]?.body).toBe("Fix the parser\ncontinue: npm test -- parser");
    const all = await shown("th-1");
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ title: `Approval needed on ${hostName}`, actions: [] });
  });

  it("questions, finished and failed turns, the test push; hostile text is shown as plain text without controls", async () => {
    await clearNotifications();
    // One at a time, as pushes come (seconds apart): four at once into the service worker lost
    // one now and then on the loaded 2-core CI machine (3 of 4 shown, never the fourth).
    for (const p of [
      payload({ kind: "question", thread: "th-2", questionId: "q-1", tag: "th-2" }),
      payload({ type: "turn", kind: "turn", thread: "th-3", tag: "th-3", outcome: "completed" }),
      payload({ type: "turn", kind: "turn", thread: "th-4", tag: "th-4", outcome: "failed", details: { title: "Deploy docs" } }),
      payload({ type: "test", kind: undefined, tag: "test", host: { id: hostId, name: "evil\u202Egnp.exe\u0007 box" } }),
    ]) {
      await push(p);
      await expect.poll(async () => (await shown(p.tag)).length).toBe(1);
    }
    await expect.poll(async () => (await shown()).length).toBe(4);
    const byTag = Object.fromEntries((await shown()).map((n) => [n.tag, `${n.title} | ${n.body}`]));
    expect(byTag).toEqual({
      "th-2": `Question from the agent on ${hostName} | Open Airlock to review it.`,
      "th-3": `Turn finished on ${hostName} | Open Airlock to see the result.`,
      "th-4": `Turn failed on ${hostName} | Deploy docs`,
      test: "Test notification from evil gnp.exe box | Push notifications work on this device.",
    });
  });

  it("every push shows a notification: one it cannot read gives the generic one (no actions, no details)", async () => {
    await clearNotifications();
    for (const bad of ["not json", JSON.stringify({ ...payload({}), v: 2 }), JSON.stringify({ ...payload({}), extra: 1 }), "x".repeat(5000)]) {
      await push(bad);
    }
    await expect.poll(async () => (await shown("airlock")).length).toBe(1); // one tag: each replaced the previous
    expect((await shown("airlock"))[0]).toMatchObject({ title: "Airlock needs you", body: "Open Airlock to see what is waiting.", actions: [] });
  });

  it("a decision elsewhere replaces the stale notification quietly", async () => {
    await clearNotifications();
    await push(payload({ thread: "th-5", approvalId: "ap-5", tag: "th-5", actions: ["approve_once", "deny"] }));
    await expect.poll(async () => (await shown("th-5"))[0]?.title).toBe(`Approval needed on ${hostName}`);
    await push(payload({ type: "resolved", thread: "th-5", approvalId: "ap-5", tag: "th-5", outcome: "approve_once", by: "Pixel 8" }));
    await expect.poll(async () => (await shown("th-5"))[0]?.title).toBe("Approved on Pixel 8");
    const now = await shown("th-5");
    expect(now).toHaveLength(1);
    expect(now[0]).toMatchObject({ silent: true, actions: [] });
    await push(payload({ type: "resolved", kind: "question", thread: "th-6", questionId: "q-6", tag: "th-6", outcome: "answered", by: "host" }));
    await expect.poll(async () => (await shown("th-6"))[0]?.title).toBe("Answered at the host");
  });

  it("a tap opens the exact thread in the open app", async () => {
    await clearNotifications();
    const thread = await startThread(page, "push tap test");
    await page.getByRole("button", { name: "Back" }).tap();
    await page.locator("form[aria-label='New thread']").waitFor();
    await push(payload({ thread, approvalId: "ap-x", tag: thread }));
    await expect.poll(async () => (await shown(thread)).length).toBe(1);
    await click(thread, "");
    await page.waitForFunction((id) => new URLSearchParams(location.search).get("thread") === id, thread);
    expect(new URL(page.url()).searchParams.get("host")).toBe(hostId);
    await page.locator("airlock-thread").waitFor();
    expect(await shown(thread)).toEqual([]); // the tapped notification is gone
    // Done with this thread: stop its turn.
    await page.getByRole("button", { name: "Stop the running turn" }).tap();
    await page.locator("airlock-thread .turn.interrupted").waitFor();
  });

  it("a tap with no app window open opens one at the thread", async () => {
    await push(payload({ thread: "th-open", tag: "th-open" }));
    await expect.poll(async () => (await shown("th-open")).length).toBe(1);
    // As if no window of the app were open (closing the test's page would let Chrome stop the
    // worker mid-test): the worker sees no window. clients.openWindow needs the user's real tap on
    // the notification, which the DevTools protocol cannot make: record what the worker asks to open.
    const opened = await worker.evaluate(async (tag) => {
      const sw = self as unknown as {
        registration: ServiceWorkerRegistration;
        clients: { openWindow(u: string): Promise<unknown>; matchAll(o: unknown): Promise<unknown[]> };
        airlock: { onClick(n: Notification, a: string): Promise<void> };
      };
      const urls: string[] = [];
      sw.clients.matchAll = async () => [];
      sw.clients.openWindow = async (u: string) => {
        urls.push(u);
        return null;
      };
      try {
        const [n] = await sw.registration.getNotifications({ tag });
        await sw.airlock.onClick(n!, "");
      } finally {
        delete (sw.clients as { openWindow?: unknown }).openWindow;
        delete (sw.clients as { matchAll?: unknown }).matchAll;
      }
      return urls;
    }, "th-open");
    expect(opened).toEqual([`${s.relay.url}/?host=${hostId}&thread=th-open`]);
    expect(await notifications(worker, "th-open")).toEqual([]);
    // The page never left the app: it is still at the previous thread, and still works.
    await page.goto(`${s.relay.url}/?host=${hostId}`);
    await page.locator("form[aria-label='New thread']").waitFor();
  });

  it("Approve from the notification decides once, from the service worker, without opening the app; a second tap is refused", async () => {
    await clearNotifications();
    const thread = await startThread(page, "push approve from the lock screen");
    await approvalCard(page, "ls -la").getByRole("button", { name: "Approve once" }).waitFor();
    const { approvals } = (await airlockJson(["--home", s.home, "--json", "approvals"])) as {
      approvals: Array<{ approvalId: string; threadId: string; evidence: { action: string } }>;
    };
    const waiting = approvals.find((a) => a.threadId === thread && a.evidence.action === "ls -la");
    expect(waiting).toBeDefined();
    const tag = thread;
    await push(payload({ thread, approvalId: waiting!.approvalId, tag, actions: ["approve_once", "deny"] }));
    await expect.poll(async () => (await shown(tag)).length).toBe(1);
    const pagesBefore = s.browser.context.pages().length;
    await click(tag, "approve_once");
    // The app (open on the thread) sees the host's decision, made by this device.
    const card = approvalCard(page, "ls -la");
    await expect.poll(() => card.locator("article").textContent(), { timeout: 20_000 }).toContain(`Approved once by ${s.deviceName}`);
    expect(s.browser.context.pages().length).toBe(pagesBefore); // no window opened
    expect(await shown(tag)).toEqual([]); // the notification is gone, no failure shown
    // Exactly once: one resolution in the thread, and a second Approve (a stale notification) changes nothing.
    await push(payload({ thread, approvalId: waiting!.approvalId, tag, actions: ["approve_once", "deny"] }));
    await expect.poll(async () => (await shown(tag)).length).toBe(1);
    await click(tag, "deny");
    await expect.poll(async () => (await shown(tag))[0]?.title, { timeout: 20_000 }).toBe(`Already decided on ${hostName}`);
    expect((await card.locator("article").textContent())!.split("Approved once by").length - 1).toBe(1);
    const left = (await airlockJson(["--home", s.home, "--json", "approvals"])) as { approvals: Array<{ approvalId: string }> };
    expect(left.approvals.some((a) => a.approvalId === waiting!.approvalId)).toBe(false);
    await screenshot(page, "push-approved-from-notification");
    expect(unexpectedErrors(s.browser).join("\n")).toBe("");
  });

  it("Approve that cannot reach the host says so and to open the app", async () => {
    await clearNotifications();
    await push(payload({ thread: "th-gone", approvalId: "ap-gone", tag: "th-gone", actions: ["approve_once", "deny"] }));
    await expect.poll(async () => (await shown("th-gone")).length).toBe(1);
    await click("th-gone", "approve_once");
    const [n] = await shown("th-gone");
    expect(n).toMatchObject({ title: `Could not approve on ${hostName}`, body: "Open Airlock to decide." });
  });
});
