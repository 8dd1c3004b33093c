// @airlock/client-sdk/push: push for a device: registering its subscription
// with a host (enablePush, disablePush, testPush over HostConnection.command),
// and showing a push notification from an Airlock host, for a browser's
// service worker or a native app's notification extension. The core SDK does
// not import this (its size is budgeted); HostConnection.setVisible is in the
// core.
//
// The host encrypts the payload to the device's push subscription (RFC 8291);
// the browser (or the app, with the subscription's keys) decrypts it, and
// decodePushPayload checks it strictly. pushNotification turns it into the
// notification's text: by default only the kind of event and the host
// ("Approval needed on mac-mini"); the command, tier and thread title only
// when the device opted in to details and the host put them in.
import { decodePushPayload, MAX_PUSH_PAYLOAD_BYTES, type ApprovalDecision, type CommandResult, type PushKind, type PushPayload } from "@airlock/protocol";
import type { HostConnection } from "./host-connection.ts";

export { decodePushPayload, MAX_PUSH_PAYLOAD_BYTES, type PushKind, type PushPayload };

/** What may wake this device, and whether the lock screen may show details (the command, the tier, the thread's title). */
export interface PushSettings {
  kinds: PushKind[];
  details: boolean;
}

/**
 * A push subscription as the platform gives it: a browser's
 * `PushSubscription.toJSON()` ({ endpoint, keys: { p256dh, auth } }) or the
 * flat { endpoint, p256dh, auth }. The keys are base64url (RFC 8291).
 */
export type PushSubscriptionLike = { endpoint: string; keys: { p256dh: string; auth: string } } | { endpoint: string; p256dh: string; auth: string };

/**
 * Registers (or replaces) this device's push subscription with the host of
 * `conn`; resolves with the settings now in force ({ kinds, details }). Fails
 * with PUSH_UNAVAILABLE when the relay cannot send pushes to that push
 * service. A command: queued while offline, like the others.
 */
export function enablePush(conn: HostConnection, subscription: PushSubscriptionLike, settings: PushSettings): Promise<CommandResult<"push.register">> {
  const keys = "keys" in subscription ? subscription.keys : subscription;
  return conn.command("push.register", {
    subscription: { endpoint: subscription.endpoint, p256dh: keys.p256dh, auth: keys.auth },
    kinds: settings.kinds,
    details: settings.details,
  });
}

/** The host can send push notifications (its host.info lists the "push" capability). */
export function supportsPush(conn: HostConnection): boolean {
  return conn.hostInfo?.capabilities?.includes("push") === true;
}

/** The host forgets this device's push subscription. */
export function disablePush(conn: HostConnection): Promise<CommandResult<"push.unregister">> {
  return conn.command("push.unregister", {});
}

/** Asks the host for a test push now; resolves with the push service's HTTP { status } (PUSH_NOT_REGISTERED, PUSH_FAILED). */
export function testPush(conn: HostConnection): Promise<CommandResult<"push.test">> {
  return conn.command("push.test", {});
}

export type NotificationDecision = ApprovalDecision;

export interface PushNotification {
  title: string;
  body: string;
  /** One notification per thread: a newer one with the same tag replaces it. */
  tag: string;
  /** Buttons to decide from the notification (steer/continue-tier approvals only); `action` is the decision. */
  actions: Array<{ action: NotificationDecision; title: string }>;
  /** true: replace without alerting (a "resolved" follow-up). */
  silent: boolean;
  data: PushNotificationData;
}

/** What a click needs: where to open the app, and what to decide. */
export interface PushNotificationData {
  type: PushPayload["type"];
  host: string;
  thread?: string;
  approvalId?: string;
  questionId?: string;
  /** The app route, relative to the app's URL: `?host=…&thread=…` (or `?host=…`). */
  route: string;
}

/** The notification shown when a push cannot be read (every push must show one). */
export const GENERIC_NOTIFICATION = { title: "Airlock needs you", body: "Open Airlock to see what is waiting.", tag: "airlock" } as const;

const ACTION_TITLES: Record<NotificationDecision, string> = { approve_once: "Approve", approve_session: "Approve for session", deny: "Deny" };

/** Text from a host is shown as plain text, but without control or bidi-override characters, and bounded. */
export function plainText(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\s\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g, " ").trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

function resolvedTitle(p: PushPayload): string {
  const verb =
    p.outcome === "approve_once" || p.outcome === "approve_session"
      ? "Approved"
      : p.outcome === "deny"
        ? "Denied"
        : p.outcome === "cancel"
          ? "Cancelled"
          : p.outcome === "answered"
            ? "Answered"
            : p.kind === "question"
              ? "Answered"
              : "Decided";
  const by = p.by === undefined ? "" : plainText(p.by, 64);
  if (by === "timeout") return verb === "Cancelled" || verb === "Decided" ? "Timed out" : `${verb} (timed out)`;
  if (by === "policy") return `${verb} by policy`;
  if (by === "host") return `${verb} at the host`;
  return by ? `${verb} on ${by}` : verb;
}

/**
 * The notification for a decoded push payload. Privacy: the host decides what
 * the payload carries (details only for a device that opted in); this shows
 * details only when they are present.
 */
export function pushNotification(payload: PushPayload): PushNotification {
  const host = plainText(payload.host.name, 64) || "your host";
  const d = payload.details;
  const detailLines = d ? [d.title && plainText(d.title, 120), d.action && `${d.tier ? `${d.tier}: ` : ""}${plainText(d.action, 300)}`].filter(Boolean) : [];
  let title: string;
  let body: string;
  switch (payload.type) {
    case "request":
      title =
        payload.kind === "approval"
          ? `Approval needed on ${host}`
          : payload.kind === "question"
            ? `Question from the agent on ${host}`
            : `The agent on ${host} is waiting for you`;
      body = detailLines.length ? detailLines.join("\n") : "Open Airlock to review it.";
      break;
    case "resolved":
      title = resolvedTitle(payload);
      body = `Nothing waits for you there on ${host}.`;
      break;
    case "turn":
      title =
        payload.outcome === "failed"
          ? `Turn failed on ${host}`
          : payload.outcome === "interrupted"
            ? `Turn interrupted on ${host}`
            : `Turn finished on ${host}`;
      body = d?.title ? plainText(d.title, 120) : "Open Airlock to see the result.";
      break;
    default:
      title = `Test notification from ${host}`;
      body = "Push notifications work on this device.";
  }
  const q = new URLSearchParams({ host: payload.host.id });
  if (payload.thread) q.set("thread", payload.thread);
  const data: PushNotificationData = { type: payload.type, host: payload.host.id, route: `?${q}` };
  if (payload.thread) data.thread = payload.thread;
  if (payload.approvalId) data.approvalId = payload.approvalId;
  if (payload.questionId) data.questionId = payload.questionId;
  const actions =
    payload.type === "request" && payload.kind === "approval" && payload.thread && payload.approvalId
      ? [...new Set(payload.actions ?? [])].slice(0, 2).map((action) => ({ action, title: ACTION_TITLES[action] }))
      : [];
  return { title, body, tag: payload.tag, actions, silent: payload.type === "resolved", data };
}

/** decodePushPayload, then pushNotification; anything unreadable gives GENERIC_NOTIFICATION (with no actions). */
export function notificationForPush(bytes: Uint8Array | undefined): PushNotification {
  try {
    if (bytes) return pushNotification(decodePushPayload(bytes));
  } catch {
    // fall through: every push must show a notification
  }
  return { ...GENERIC_NOTIFICATION, actions: [], silent: false, data: { type: "request", host: "", route: "" } };
}

/** true for an action id that pushNotification offers. */
export function isNotificationDecision(action: string): action is NotificationDecision {
  return Object.hasOwn(ACTION_TITLES, action);
}
