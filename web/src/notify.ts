// Notifications while the page is open (no push: nothing leaves the device).
// They are opt-in from the app's own control: a permission the browser already
// granted (site settings, a policy, another app on this origin) does not turn
// them on by itself, and the control also turns them off. Permission is only
// requested from that tap (a user gesture).
//
// A notification can show on a locked screen, so it says what kind of request
// waits and on which host ("Approval needed on build-box"), never the thread's
// title, the command or the question.
import type { HostConnection, ThreadSummary } from "@airlock/client-sdk";

const PREF = "airlock.notifications";

export type WaitingKind = "approval" | "question" | undefined;

/** The notification's title and body for a request of this kind on this host. */
export function notificationText(kind: WaitingKind, hostName: string): { title: string; body: string } {
  const title =
    kind === "approval"
      ? `Approval needed on ${hostName}`
      : kind === "question"
        ? `Question from the agent on ${hostName}`
        : `The agent on ${hostName} is waiting for you`;
  return { title, body: "Open Airlock to review it." };
}

export class Notifier {
  #onOpen: (hostId: string, threadId: string) => void;
  /** The choice made in this page (also when storage is blocked). */
  #pref: string | null = null;

  constructor(onOpen: (hostId: string, threadId: string) => void) {
    this.#onOpen = onOpen;
  }

  get supported(): boolean {
    return typeof Notification !== "undefined";
  }

  get permission(): NotificationPermission | "unsupported" {
    return this.supported ? Notification.permission : "unsupported";
  }

  /** The user turned them on here, and the browser allows them. */
  get enabled(): boolean {
    return this.permission === "granted" && (this.#pref ?? readPref()) === "on";
  }

  /** Call from a click handler: asks for permission if needed, then turns notifications on. */
  async enable(): Promise<NotificationPermission | "unsupported"> {
    if (!this.supported) return "unsupported";
    const result = Notification.permission === "default" ? await Notification.requestPermission() : Notification.permission;
    if (result === "granted") writePref((this.#pref = "on"));
    return result;
  }

  disable(): void {
    writePref((this.#pref = "off"));
  }

  notify(hostId: string, threadId: string, kind: WaitingKind, hostName: string): void {
    if (!this.enabled) return;
    const { title, body } = notificationText(kind, hostName);
    try {
      // One per thread on the lock screen: a newer request replaces the older notification.
      const n = new Notification(title, { body, tag: `${hostId}/${threadId}`, icon: "icon-192.png" });
      n.onclick = () => {
        window.focus();
        this.#onOpen(hostId, threadId);
        n.close();
      };
    } catch {
      // Some mobile browsers only allow notifications from a service worker; the in-app badge remains.
    }
  }
}

/**
 * Calls `onChange` when the browser's notification permission changes while
 * the page is open (the user allows or blocks the site in its settings);
 * returns the function that stops watching. Browsers without the Permissions
 * API for notifications are not watched (the page shows the new state on its
 * next render).
 */
export function watchNotificationPermission(onChange: () => void): () => void {
  let stopped = false;
  let status: PermissionStatus | undefined;
  const changed = () => {
    if (!stopped) onChange();
  };
  navigator.permissions
    ?.query({ name: "notifications" })
    .then((s) => {
      if (stopped) return;
      status = s;
      s.addEventListener("change", changed);
    })
    .catch(() => undefined);
  return () => {
    stopped = true;
    status?.removeEventListener("change", changed);
  };
}

function readPref(): string | null {
  try {
    return localStorage.getItem(PREF);
  } catch {
    return null;
  }
}

function writePref(value: "on" | "off"): void {
  try {
    localStorage.setItem(PREF, value);
  } catch {
    // Storage blocked: the choice lasts as long as the page does not reload.
  }
}

/**
 * The approvals and questions still open in a thread, oldest first, read from
 * its events (held already when a view follows the thread, otherwise fetched
 * by following it until the summary's count of waiting requests is reached,
 * for at most `timeoutMs`).
 */
export function openRequests(conn: HostConnection, t: ThreadSummary, timeoutMs = 5000): Promise<Array<{ id: string; kind: "approval" | "question" }>> {
  const sub = conn.subscribe(t.id);
  const open = new Map<string, "approval" | "question">();
  const take = ({ event }: { event: (typeof sub.events)[number]["event"] }) => {
    if (event.kind === "approval.request") open.set(event.approvalId, "approval");
    else if (event.kind === "approval.resolved") open.delete(event.approvalId);
    else if (event.kind === "question") open.set(event.questionId, "question");
    else if (event.kind === "question.answered") open.delete(event.questionId);
  };
  sub.events.forEach(take);
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sub.close();
      resolve([...open].map(([id, kind]) => ({ id, kind })));
    };
    const caughtUp = () => sub.lastSeq >= t.lastSeq && open.size >= t.pending;
    const timer = setTimeout(finish, timeoutMs);
    sub.on("event", (e) => {
      take(e);
      if (caughtUp()) finish();
    });
    if (caughtUp()) finish();
  });
}
