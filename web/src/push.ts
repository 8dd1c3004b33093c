// Push notifications for the web app (docs/web-app.md, "Push notifications").
//
// The browser's push subscription (one per app install, bound to the relay's
// VAPID public key from <relay>/v1/info) is registered with each trusted host
// over the end-to-end channel (enablePush from @airlock/client-sdk/push) with that host's
// settings: which kinds may wake the device, and whether the lock screen may
// show details (off by default). The host encrypts each push to the
// subscription; the relay and the push service see only ciphertext. The
// service worker (sw.ts) shows the notification.
//
// Permission is requested only from the "Notify me" tap. Settings are kept
// per host in localStorage; the subscription itself lives in the browser.
import type { AirlockClient, CommandResult, HostConnection } from "@airlock/client-sdk";
import { disablePush, enablePush, supportsPush, testPush, type PushKind, type PushSettings } from "@airlock/client-sdk/push";

const PREF = "airlock.push";
const KINDS: readonly PushKind[] = ["approval", "question", "turn"];
export const DEFAULT_SETTINGS: PushSettings = { kinds: ["approval", "question"], details: false };

export interface HostPushPref extends PushSettings {
  on: boolean;
}

/** Why push cannot be offered on this device, or "ok". */
export type PushSupport = "ok" | "unsupported" | "ios-home-screen";

export function pushSupport(): PushSupport {
  const nav = navigator as Navigator & { standalone?: boolean };
  const ios = /iPad|iPhone|iPod/.test(nav.userAgent) || (nav.platform === "MacIntel" && nav.maxTouchPoints > 1);
  const standalone = nav.standalone === true || matchMedia("(display-mode: standalone)").matches;
  // iOS/iPadOS 16.4+ offers Web Push only to a web app opened from the Home Screen.
  if (ios && !standalone) return "ios-home-screen";
  const ok = "serviceWorker" in nav && typeof PushManager !== "undefined" && typeof Notification !== "undefined" && isSecureContext;
  return ok ? "ok" : ios ? "ios-home-screen" : "unsupported";
}

// ------------------------------------------------------------------ settings

function readPrefs(): Record<string, HostPushPref> {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(PREF) ?? "{}");
    if (!v || typeof v !== "object" || Array.isArray(v)) return {};
    const out: Record<string, HostPushPref> = {};
    for (const [id, p] of Object.entries(v as Record<string, unknown>).slice(0, 200)) {
      if (!/^[A-Za-z0-9_-]{22}$/.test(id) || !p || typeof p !== "object") continue;
      const { on, kinds, details } = p as Record<string, unknown>;
      if (typeof on !== "boolean" || typeof details !== "boolean" || !Array.isArray(kinds)) continue;
      out[id] = { on, details, kinds: KINDS.filter((k) => kinds.includes(k)) };
    }
    return out;
  } catch {
    return {};
  }
}

let memoryPrefs: Record<string, HostPushPref> | undefined;

export function hostPref(hostId: string): HostPushPref {
  const p = (memoryPrefs ??= readPrefs())[hostId];
  return p ? { ...p, kinds: [...p.kinds] } : { on: false, ...DEFAULT_SETTINGS, kinds: [...DEFAULT_SETTINGS.kinds] };
}

function savePref(hostId: string, pref: HostPushPref): void {
  memoryPrefs = { ...(memoryPrefs ??= readPrefs()), [hostId]: pref };
  try {
    localStorage.setItem(PREF, JSON.stringify(memoryPrefs));
  } catch {
    // Storage blocked: the choice lasts as long as the page.
  }
}

// ------------------------------------------------------------------ relay key and subscription

const MAX_INFO_BYTES = 16 * 1024;
const VAPID_KEY = /^[A-Za-z0-9_-]{87}$/; // an uncompressed P-256 public key (65 bytes), base64url

/** The relay's VAPID public key from `<relay>/v1/info`, or undefined when the relay sends no pushes. Throws when the relay cannot be read. */
export async function relayVapidKey(relayUrl: string): Promise<string | undefined> {
  const res = await fetch(`${relayUrl.replace(/\/+$/, "")}/v1/info`, { cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" });
  if (!res.ok) throw new Error(`the relay answered ${res.status}`);
  const text = await res.text();
  if (text.length > MAX_INFO_BYTES) throw new Error("the relay's info is too large");
  const info: unknown = JSON.parse(text);
  const push = info && typeof info === "object" ? (info as { push?: unknown }).push : undefined;
  if (push === undefined || push === null) return undefined;
  const key = typeof push === "object" ? (push as { vapidPublicKey?: unknown }).vapidPublicKey : undefined;
  if (typeof key !== "string" || !VAPID_KEY.test(key)) throw new Error("the relay's push key is malformed");
  return key;
}

function base64UrlBytes(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function sameBytes(a: ArrayBuffer | null | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
}

async function registration(): Promise<ServiceWorkerRegistration> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      navigator.serviceWorker.ready,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("the service worker is not running")), 10_000))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export class PushKeyConflict extends Error {}

/**
 * This browser's push subscription for the relay's key: the existing one, or
 * a new one. A subscription is bound to one key, so with `replace` false a
 * subscription made for another relay's key is an error (PushKeyConflict).
 */
export async function pushSubscription(vapidKey: string, replace: boolean): Promise<PushSubscription> {
  const reg = await registration();
  const key = base64UrlBytes(vapidKey);
  const existing = await reg.pushManager.getSubscription();
  if (existing) {
    if (sameBytes(existing.options.applicationServerKey, key)) return existing;
    if (!replace) throw new PushKeyConflict("push is already set up for another relay's hosts");
    await existing.unsubscribe();
  }
  return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
}

export async function currentSubscription(): Promise<PushSubscription | null> {
  if (pushSupport() !== "ok") return null;
  return (await registration()).pushManager.getSubscription();
}

/** The subscription as enablePush takes it. */
function subscriptionJson(sub: PushSubscription): { endpoint: string; keys: { p256dh: string; auth: string } } {
  const j = sub.toJSON();
  const p256dh = j.keys?.["p256dh"];
  const auth = j.keys?.["auth"];
  if (!j.endpoint || !p256dh || !auth) throw new Error("the browser's push subscription has no keys");
  return { endpoint: j.endpoint, keys: { p256dh, auth } };
}

// ------------------------------------------------------------------ per host

export class PushController {
  readonly #client: AirlockClient;
  readonly #connection: (hostId: string) => HostConnection;
  /** Hosts already re-registered this page load. */
  readonly #synced = new Set<string>();

  constructor(client: AirlockClient, connection: (hostId: string) => HostConnection) {
    this.#client = client;
    this.#connection = connection;
  }

  pref(hostId: string): HostPushPref {
    return hostPref(hostId);
  }

  /**
   * From the "Notify me" tap: asks for the permission (first, while the tap
   * counts as a user gesture), subscribes with this host's relay key, then
   * registers with this host and with every other trusted host on the same
   * relay that has not been turned off. Resolves with the permission.
   */
  async enable(hostId: string): Promise<NotificationPermission> {
    const permission = Notification.permission === "default" ? await Notification.requestPermission() : Notification.permission;
    if (permission !== "granted") return permission;
    const host = this.#client.hosts().find((h) => h.id === hostId);
    if (!host) throw new Error("unknown host");
    const key = await relayVapidKey(host.relayUrl);
    if (!key) throw new Error("this host's relay does not send push notifications");
    // Replacing a subscription of another relay's key is fine when no host uses it.
    const othersOn = this.#client.hosts().some((h) => h.id !== hostId && h.relayUrl !== host.relayUrl && hostPref(h.id).on);
    const sub = await pushSubscription(key, !othersOn);
    const json = subscriptionJson(sub);
    const pref = { ...hostPref(hostId), on: true };
    await enablePush(this.#connection(hostId), json, pref);
    savePref(hostId, pref);
    this.#synced.add(hostId);
    // The other hosts of this relay (never explicitly turned off) follow.
    for (const h of this.#client.hosts()) {
      if (h.id === hostId || h.relayUrl !== host.relayUrl || localPrefExists(h.id)) continue;
      const conn = this.#connection(h.id);
      const p = { ...hostPref(h.id), on: true };
      savePref(h.id, p);
      enablePush(conn, json, p).then(
        () => this.#synced.add(h.id),
        () => undefined,
      );
    }
    return permission;
  }

  /** Turns push off for this host (the host forgets the subscription); the subscription goes once no host uses it. */
  async disable(hostId: string): Promise<void> {
    savePref(hostId, { ...hostPref(hostId), on: false });
    this.#synced.delete(hostId);
    const done = disablePush(this.#connection(hostId));
    if (!this.#client.hosts().some((h) => hostPref(h.id).on)) {
      await (await currentSubscription().catch(() => null))?.unsubscribe().catch(() => false);
    }
    await done;
  }

  /** New settings for a host: saved, and sent to it when push is on. */
  async update(hostId: string, settings: PushSettings): Promise<void> {
    const pref = { ...hostPref(hostId), kinds: KINDS.filter((k) => settings.kinds.includes(k)), details: settings.details };
    savePref(hostId, pref);
    if (!pref.on) return;
    const sub = await currentSubscription();
    if (!sub) throw new Error("this browser has no push subscription any more: turn notifications on again");
    await enablePush(this.#connection(hostId), subscriptionJson(sub), pref);
  }

  test(hostId: string): Promise<CommandResult<"push.test">> {
    return testPush(this.#connection(hostId));
  }

  /**
   * Once per page load and host, when it is online: registers the current
   * subscription again (the browser may have replaced it) if push is on for
   * it, so the host's copy stays current.
   */
  async sync(conn: HostConnection): Promise<void> {
    const pref = hostPref(conn.hostId);
    if (!pref.on || this.#synced.has(conn.hostId) || !supportsPush(conn)) return;
    if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
    this.#synced.add(conn.hostId);
    try {
      const sub = await currentSubscription();
      if (sub) await enablePush(conn, subscriptionJson(sub), pref);
    } catch {
      this.#synced.delete(conn.hostId);
    }
  }
}

function localPrefExists(hostId: string): boolean {
  return Object.hasOwn((memoryPrefs ??= readPrefs()), hostId);
}
