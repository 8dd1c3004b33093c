// The host view's "Push notifications" section: "Notify me when the agent
// needs me" (permission asked only from that tap), what may wake this device,
// whether the lock screen may show details (off by default), a test button,
// and a clear sentence when push cannot work here (unsupported browser, iOS
// outside the Home Screen, permission denied, relay or host without push).
import type { HostConnection } from "@airlock/client-sdk";
import { supportsPush, type PushKind } from "@airlock/client-sdk/push";
import { errorText, type AppContext } from "../context.ts";
import { watchNotificationPermission } from "../notify.ts";
import { pushSupport, relayVapidKey, type PushController } from "../push.ts";
import { h, replace } from "../ui.ts";

const KIND_LABELS: Array<[PushKind, string]> = [
  ["approval", "Approvals"],
  ["question", "Questions"],
  ["turn", "Finished or failed turns"],
];

function check(label: string, checked: boolean, hint?: string): { el: HTMLElement; input: HTMLInputElement } {
  const input = h("input", { type: "checkbox" });
  input.checked = checked;
  const el = h("label", { class: "check" }, input, h("span", null, label, hint ? h("span", { class: "hint" }, hint) : null));
  return { el, input };
}

export function pushSection(ctx: AppContext, push: PushController, conn: HostConnection, relayUrl: string): { el: HTMLElement; dispose(): void } {
  const hostId = conn.hostId;
  const status = h("p", { class: "hint", role: "status", "aria-live": "polite" });
  const toggle = h("button", { type: "button", class: "primary" });
  const test = h("button", { type: "button" }, "Send a test notification");
  const kinds = KIND_LABELS.map(([kind, label]) => ({ kind, ...check(label, false) }));
  const details = check("Show details on the lock screen", false, "The command and the thread's title. Off: only “Approval needed on this host”.");
  const settings = h("div", { class: "stack" }, h("fieldset", { class: "stack" }, h("legend", null, "Wake me for"), ...kinds.map((k) => k.el)), details.el);
  const el = h("section", { class: "card stack push", "aria-labelledby": `push-${hostId}` }, h("h2", { id: `push-${hostId}` }, "Push notifications"), status);

  /** undefined: not asked yet; null: the relay sends no pushes; "error": could not ask. */
  let relayKey: string | null | undefined | "error";
  let busy = false;

  const blocked = (): string | undefined => {
    const support = pushSupport();
    if (support === "ios-home-screen")
      return "On iPhone and iPad, push needs Airlock on the Home Screen (iOS 16.4 or later): tap Share, then “Add to Home Screen”, open Airlock from there and turn notifications on.";
    const denied = typeof Notification !== "undefined" && Notification.permission === "denied";
    if (denied) return "Notifications are blocked for this site. Allow them in the browser's site settings, then come back here.";
    if (support === "unsupported")
      return typeof Notification === "undefined"
        ? "This browser cannot show notifications."
        : "This browser cannot receive push notifications. While this page is open, “Notify me about approvals” below still works.";
    if (relayKey === null) return "This host's relay does not send push notifications (its operator has not set a push key).";
    if (relayKey === "error") return "Could not ask the relay whether it sends push notifications. Try again later.";
    if (conn.hostInfo && !supportsPush(conn)) return "This host cannot send push notifications yet (its airlock needs an update).";
    return undefined;
  };

  const render = () => {
    const pref = push.pref(hostId);
    const reason = blocked();
    const on = !reason && pref.on && Notification.permission === "granted";
    const parts: Array<HTMLElement | string> = [];
    if (reason) {
      status.textContent = reason;
    } else if (!conn.hostInfo || relayKey === undefined) {
      status.textContent = "Checking whether this host can send push notifications…";
    } else {
      status.textContent = on
        ? "On: this device is notified when the agent on this host needs you, also when Airlock is closed."
        : "Off. Get a notification when the agent needs you, even when Airlock is closed.";
      toggle.textContent = on ? "Turn off push notifications" : "Notify me when the agent needs me";
      toggle.className = on ? "" : "primary";
      toggle.disabled = busy;
      parts.push(toggle);
      if (!busy) {
        // (While a change is being saved, the boxes keep what the user just set.)
        for (const k of kinds) k.input.checked = pref.kinds.includes(k.kind);
        details.input.checked = pref.details;
      }
      settings.querySelectorAll("input").forEach((i) => (i.disabled = busy));
      parts.push(settings);
      if (on) {
        test.disabled = busy;
        parts.push(test);
      }
    }
    replace(el, el.firstElementChild!, status, ...parts);
  };

  const run = async (what: () => Promise<string | undefined>) => {
    if (busy) return;
    busy = true;
    render();
    try {
      const message = await what();
      if (message) ctx.toast(message);
    } catch (e) {
      ctx.toast(`Push notifications: ${errorText(e)}`);
    } finally {
      busy = false;
      render();
    }
  };

  toggle.addEventListener(
    "click",
    () =>
      void run(async () => {
        if (push.pref(hostId).on && Notification.permission === "granted") {
          await push.disable(hostId);
          return "Push notifications off for this host.";
        }
        const permission = await push.enable(hostId);
        return permission === "granted"
          ? "Push notifications on."
          : permission === "denied"
            ? "Notifications are blocked for this site in the browser's settings."
            : "Push notifications stay off.";
      }),
  );
  const saveSettings = () =>
    void run(async () => {
      await push.update(hostId, { kinds: kinds.filter((k) => k.input.checked).map((k) => k.kind), details: details.input.checked });
      return push.pref(hostId).on ? "Saved." : undefined;
    });
  for (const k of kinds) k.input.addEventListener("change", saveSettings);
  details.input.addEventListener("change", saveSettings);
  test.addEventListener(
    "click",
    () =>
      void run(async () => {
        const { status: code } = await push.test(hostId);
        return code === 201 || code === 200 ? "Test notification sent." : `The push service answered ${String(code)}.`;
      }),
  );

  let disposed = false;
  const askRelay = () => {
    if (relayKey !== undefined || pushSupport() !== "ok") return;
    // Ask ahead only a relay on this page's own origin: an app served from another origin may not be
    // allowed to read another relay (its CSP connect-src); it asks when the user turns push on.
    if (!sameOrigin(relayUrl)) return;
    relayVapidKey(relayUrl).then(
      (key) => {
        relayKey = key ?? null;
        if (!disposed) render();
      },
      () => {
        relayKey = "error";
        if (!disposed) render();
      },
    );
  };
  askRelay();
  render();
  const offs = [conn.on("hostInfo", render), watchNotificationPermission(render)];
  return {
    el,
    dispose() {
      disposed = true;
      offs.forEach((off) => off());
    },
  };
}

function sameOrigin(url: string): boolean {
  try {
    return new URL(url).origin === location.origin;
  } catch {
    return false;
  }
}
