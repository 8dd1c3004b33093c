// Home: the hosts this device trusts, and the way to pair another.
import type { TrustedHost } from "@airlock/client-sdk";
import { ago, errorText, type AppContext, type View } from "../context.ts";
import { button, h, replace } from "../ui.ts";

export function hostsView(ctx: AppContext): View {
  const list = h("ul", { class: "list", "aria-label": "Hosts" });
  const render = (hosts: TrustedHost[]) => {
    if (hosts.length === 0) {
      replace(
        list,
        h(
          "li",
          { class: "empty" },
          h("p", null, "No hosts yet."),
          h(
            "p",
            { class: "hint" },
            "On the machine that runs your agent, run ",
            h("code", null, "airlock pair"),
            " and scan its QR code with this phone's camera, or paste the link here.",
          ),
        ),
      );
      return;
    }
    // Hosts with something waiting for you first, then the ones online, then by last seen.
    const rows = hosts.map((host) => {
      const conn = ctx.connection(host.id);
      const pending = conn.threads.reduce((n, t) => n + (t.pending > 0 ? t.pending : 0), 0);
      const online = conn.state === "online";
      return { host, conn, pending, online };
    });
    rows.sort((a, b) => b.pending - a.pending || Number(b.online) - Number(a.online) || (b.host.lastSeen ?? 0) - (a.host.lastSeen ?? 0));
    replace(
      list,
      ...rows.map(({ host, conn, pending, online }) => {
        const state = online ? "online" : conn.state === "connecting" ? "connecting" : "offline";
        const seen = online ? "online" : state === "connecting" ? "connecting…" : `offline · seen ${ago(conn.presence.lastSeen ?? host.lastSeen)}`;
        const open = h(
          "a",
          { href: `?host=${encodeURIComponent(host.id)}`, class: "row-main" },
          h("span", { class: "row-title" }, h("span", { class: "dot", "data-state": state, "aria-hidden": "true" }), host.name),
          h("span", { class: "row-sub" }, `${seen} · ${new URL(host.relayUrl).host}`),
        );
        const badge = pending > 0 ? h("span", { class: "badge needs-you", "aria-label": `${pending} waiting for you` }, String(pending)) : null;
        open.addEventListener("click", (e) => {
          e.preventDefault();
          ctx.navigate({ view: "host", host: host.id });
        });
        const rename = button(
          "Rename",
          async () => {
            const name = prompt("Name for this host", host.name);
            if (name === null) return;
            try {
              await ctx.client.renameHost(host.id, name);
            } catch (e) {
              ctx.toast(errorText(e));
            }
          },
          { class: "small", "aria-label": `Rename ${host.name}` },
        );
        const forget = button(
          "Forget",
          async () => {
            if (!confirm(`Forget ${host.name} on this device? To revoke this device on the host, run "airlock devices revoke" there.`)) return;
            await ctx.client.forgetHost(host.id);
          },
          { class: "small danger", "aria-label": `Forget ${host.name}` },
        );
        return h("li", { class: `row${pending > 0 ? " needs" : ""}`, "data-host": host.id }, open, badge, h("div", { class: "row-actions" }, rename, forget));
      }),
    );
  };
  render(ctx.client.hosts());
  const offs = [ctx.client.on("hosts", render)];
  // Presence and waiting requests change per connection: re-render on any of them.
  const watched = new Set<string>();
  const watchAll = () => {
    for (const host of ctx.client.hosts()) {
      if (watched.has(host.id)) continue;
      watched.add(host.id);
      const conn = ctx.connection(host.id);
      const again = () => render(ctx.client.hosts());
      offs.push(conn.on("state", again), conn.on("presence", again), conn.on("threads", again));
    }
  };
  watchAll();
  offs.push(ctx.client.on("hosts", watchAll));
  const el = h(
    "section",
    { class: "page" },
    list,
    h(
      "div",
      { class: "actions" },
      button("Pair a host", () => ctx.navigate({ view: "pair" }), { class: "primary" }),
    ),
  );
  return { el, title: "Hosts", dispose: () => offs.forEach((off) => off()) };
}
