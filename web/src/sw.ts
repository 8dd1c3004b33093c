// Airlock web app service worker (built by scripts/build-web.ts into
// web/public/sw.js, one classic script). Two jobs:
//
// 1. Offline shell: caches the app shell so the app opens offline, and
//    nothing else. API calls (/v1/…, /health) and WebSockets never pass
//    through it (WebSocket connections don't reach service workers at all).
//    Network first: a deployed update is used as soon as it is reachable.
// 2. Push (docs/web-app.md, "Push notifications"): shows a notification for
//    every push a host sent (the browser decrypted it; decodePushPayload checks
//    it; anything unreadable shows a generic one), one per thread (tag), a
//    "resolved" follow-up replaces it quietly. A tap opens the app at the
//    thread; Approve/Deny decide from here through the SDK (the identity and
//    trusted hosts are the app's, in IndexedDB "airlock-web") without opening
//    the app.
import { AirlockClient, IndexedDbStore, type Decision } from "@airlock/client-sdk";
import { isNotificationDecision, notificationForPush, type PushNotification, type PushNotificationData } from "@airlock/client-sdk/push";

// The few service-worker types used here (tsconfig.web.json has the DOM lib, not WebWorker).
interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface PushEvent extends ExtendableEvent {
  readonly data: { arrayBuffer(): ArrayBuffer } | null;
}
interface NotificationEvent extends ExtendableEvent {
  readonly notification: Notification;
  readonly action: string;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(r: Response | Promise<Response>): void;
}
interface WindowClient {
  readonly url: string;
  focus(): Promise<WindowClient>;
  postMessage(message: unknown): void;
}
interface SwGlobal {
  registration: ServiceWorkerRegistration;
  location: Location;
  clients: {
    matchAll(o: { type: "window"; includeUncontrolled: boolean }): Promise<WindowClient[]>;
    openWindow(url: string): Promise<WindowClient | null>;
    claim(): Promise<void>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: string, listener: (e: never) => void): void;
  airlock?: unknown;
}
const sw = self as unknown as SwGlobal;

// ------------------------------------------------------------------ offline shell

const CACHE = "airlock-shell-v1";
const SHELL = ["./", "index.html", "app.js", "app.css", "manifest.webmanifest", "icon.svg", "icon-192.png", "icon-512.png"];

sw.addEventListener("install", (event: ExtendableEvent) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(SHELL))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener("activate", (event: ExtendableEvent) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

const shellUrls = () => new Set(SHELL.map((p) => new URL(p, sw.registration.scope).href));

sw.addEventListener("fetch", (event: FetchEvent) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== sw.location.origin) return;
  const scope = new URL(sw.registration.scope);
  // Only the app's own page counts as a shell navigation (not /health or /v1/…).
  const isNavigation = req.mode === "navigate" && (url.pathname === scope.pathname || url.pathname === `${scope.pathname}index.html`);
  const shellKey = isNavigation ? scope.href : url.origin + url.pathname;
  if (!isNavigation && !shellUrls().has(shellKey)) return; // API and anything else: straight to the network
  event.respondWith(
    fetch(req)
      .then((res) => {
        if (res.ok && res.type === "basic") {
          const copy = res.clone();
          // Navigations are stored without their query, so ?host=… opens offline too.
          void caches.open(CACHE).then((c) => c.put(shellKey, copy));
        }
        return res;
      })
      .catch(() => caches.match(shellKey).then((hit) => hit || Response.error())),
  );
});

// ------------------------------------------------------------------ push

/** Longest an Approve/Deny from a notification may take (connect, handshake, answer). */
const DECIDE_TIMEOUT_MS = 25_000;

async function show(n: Pick<PushNotification, "title" | "body" | "tag" | "actions" | "silent" | "data">): Promise<void> {
  const reg = sw.registration;
  if (n.silent) {
    // A follow-up: the stale notification goes, a quiet one says what happened.
    for (const old of await reg.getNotifications({ tag: n.tag })) old.close();
  }
  await reg.showNotification(n.title, {
    body: n.body,
    tag: n.tag,
    data: n.data,
    icon: "icon-192.png",
    badge: "icon-192.png",
    silent: n.silent,
    // Chromium's extension of NotificationOptions (not in TypeScript's DOM lib).
    ...({ renotify: !n.silent, actions: n.actions } as object),
  });
}

/** Shows the notification for one push (never none: the browser requires one per push). */
async function onPush(data: Uint8Array | undefined): Promise<void> {
  const n = notificationForPush(data);
  try {
    await show(n);
  } catch {
    // renotify needs a tag, actions may be unsupported: fall back to the plainest form.
    await sw.registration.showNotification(n.title, { body: n.body, tag: n.tag, data: n.data, silent: n.silent });
  }
}

/** The app's URL for a route (`?host=…&thread=…`), within this service worker's scope. */
const appUrl = (route: string) => new URL(/^\?[A-Za-z0-9_.:%=&-]*$/.test(route) ? route : "", sw.registration.scope).href;

/** Focuses an open window of the app and takes it to the route, or opens one there. */
async function open(route: string): Promise<void> {
  const url = appUrl(route);
  const windows = await sw.clients.matchAll({ type: "window", includeUncontrolled: true });
  const scope = sw.registration.scope;
  const win = windows.find((w) => w.url.startsWith(scope));
  if (win) {
    // The app navigates itself (no reload, its connections stay up).
    win.postMessage({ type: "airlock.open", url });
    await win.focus().catch(() => undefined);
    return;
  }
  await sw.clients.openWindow(url);
}

/**
 * Decides an approval from a notification: opens the app's store, connects
 * that host, sends the decision once (the SDK's command id makes a resend
 * harmless), waits for the host's answer and closes. On failure a notification
 * says so.
 */
async function decideFromNotification(data: PushNotificationData, decision: Decision, tag: string): Promise<"decided" | "failed"> {
  const { host, thread, approvalId } = data;
  let client: AirlockClient | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let hostName = "your host";
  try {
    if (!thread || !approvalId) throw new Error("no approval in this notification");
    // persist: false: the app (if open) owns the saved outbox of this store.
    client = await AirlockClient.create({ store: new IndexedDbStore("airlock-web"), persist: false });
    hostName = client.hosts().find((h) => h.id === host)?.name ?? hostName;
    const conn = client.connect(host);
    await Promise.race([
      conn.decide(thread, approvalId, decision),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("the host did not answer in time")), DECIDE_TIMEOUT_MS))),
    ]);
    return "decided";
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const already = code === "NOT_PENDING";
    await sw.registration.showNotification(
      already ? `Already decided on ${hostName}` : `Could not ${decision === "deny" ? "deny" : "approve"} on ${hostName}`,
      {
        body: already ? "This request was decided elsewhere." : "Open Airlock to decide.",
        tag,
        data,
        icon: "icon-192.png",
        silent: already,
      },
    );
    return "failed";
  } finally {
    clearTimeout(timer);
    await client?.close().catch(() => undefined);
  }
}

/** A tap on a notification (or one of its buttons). */
async function onClick(notification: Pick<Notification, "data" | "tag" | "close">, action: string): Promise<void> {
  notification.close();
  const data = (notification.data ?? {}) as Partial<PushNotificationData>;
  if (action && isNotificationDecision(action) && typeof data.host === "string" && data.host) {
    await decideFromNotification(data as PushNotificationData, action, notification.tag);
    return;
  }
  await open(typeof data.route === "string" ? data.route : "");
}

sw.addEventListener("push", (event: PushEvent) => {
  let bytes: Uint8Array | undefined;
  try {
    bytes = event.data ? new Uint8Array(event.data.arrayBuffer()) : undefined;
  } catch {
    bytes = undefined;
  }
  event.waitUntil(onPush(bytes));
});

sw.addEventListener("notificationclick", (event: NotificationEvent) => {
  event.waitUntil(onClick(event.notification, event.action));
});

// For the browser tests (called through the DevTools protocol) and for debugging.
sw.airlock = { onPush, onClick, decideFromNotification };
