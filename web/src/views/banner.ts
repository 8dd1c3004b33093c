// Connection banner: says plainly whether commands can reach the host now,
// and what happens to ones sent meanwhile (they wait in the outbox).
import type { HostConnection } from "@airlock/client-sdk";
import { ago } from "../context.ts";
import { button, h, replace } from "../ui.ts";

export function connectionBanner(conn: HostConnection, hostName: () => string): { el: HTMLElement; dispose(): void } {
  const el = h("div", { class: "banner", role: "status", "aria-live": "polite" });
  const render = () => {
    const queued = conn.outbox.filter((e) => e.state === "queued" || e.state === "sent").length;
    const waiting = queued ? ` ${queued} message${queued === 1 ? "" : "s"} will be sent when it is back.` : "";
    el.dataset.state = conn.state;
    // The relay refused this device (its close 4002/4004, or an unauthenticated ABORT): perhaps the
    // host revoked it, perhaps the relay misbehaves. Only the host's own verdict is final, so the
    // connection keeps retrying; say so through the attempts instead of flickering "Connecting…".
    if ((conn.state === "offline" || conn.state === "connecting") && conn.error?.code === "RELAY_REFUSED") {
      el.dataset.state = "relay-refused";
      replace(
        el,
        h(
          "p",
          null,
          h("strong", null, "The relay refused this device; retrying."),
          ` If ${hostName()} revoked it, pair again; otherwise the relay may be misbehaving.${waiting}`,
        ),
        button("Retry now", () => conn.reconnectNow(), { class: "small" }),
      );
      el.hidden = false;
      return;
    }
    switch (conn.state) {
      case "online":
        replace(el, queued ? h("p", null, `Sending ${queued} queued message${queued === 1 ? "" : "s"}…`) : null);
        break;
      case "connecting":
        replace(el, h("p", null, `Connecting to ${hostName()}…`));
        break;
      case "host-offline":
        replace(el, h("p", null, h("strong", null, `${hostName()} is offline`), ` (last seen ${ago(conn.presence.lastSeen)}).${waiting}`));
        break;
      case "offline":
        replace(
          el,
          h("p", null, h("strong", null, "No connection to the relay."), ` Retrying…${waiting}`),
          button("Retry now", () => conn.reconnectNow(), { class: "small" }),
        );
        break;
      case "refused":
        if (conn.error?.code === "WRONG_HOST_KEY") {
          // Not a revocation: whatever answered could not prove it is the paired host.
          replace(
            el,
            h(
              "p",
              null,
              h("strong", null, `Warning: ${hostName()} could not prove its identity.`),
              " Someone, such as the relay, may be impersonating it. The app stopped connecting and did not send it your messages.",
            ),
            button("Try again", () => conn.reconnectNow(), { class: "small" }),
          );
        } else {
          // DEVICE_REVOKED: the host's own authenticated verdict.
          replace(el, h("p", null, h("strong", null, `${hostName()} revoked this device.`), ` ${conn.error?.message ?? ""} Pair again to use it.`));
        }
        break;
      default:
        replace(el, h("p", null, "Disconnected."));
    }
    el.hidden = el.childElementCount === 0;
  };
  render();
  const offs = [conn.on("state", render), conn.on("presence", render), conn.on("outbox", render)];
  return { el, dispose: () => offs.forEach((off) => off()) };
}
