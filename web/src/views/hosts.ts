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
        h("li", { class: "empty" }, h("p", null, "No hosts yet."), h("p", { class: "hint" }, "On the machine that runs your agent, run ", h("code", null, "airlock pair"), " and scan its QR code with this phone's camera, or paste the link here.")),
      );
      return;
    }
    replace(
      list,
      ...hosts.map((host) => {
        const open = h("a", { href: `?host=${encodeURIComponent(host.id)}`, class: "row-main" }, h("span", { class: "row-title" }, host.name), h("span", { class: "row-sub" }, `${new URL(host.relayUrl).host} · seen ${ago(host.lastSeen)}`));
        open.addEventListener("click", (e) => {
          e.preventDefault();
          ctx.navigate({ view: "host", host: host.id });
        });
        const rename = button("Rename", async () => {
          const name = prompt("Name for this host", host.name);
          if (name === null) return;
          try {
            await ctx.client.renameHost(host.id, name);
          } catch (e) {
            ctx.toast(errorText(e));
          }
        }, { class: "small", "aria-label": `Rename ${host.name}` });
        const forget = button("Forget", async () => {
          if (!confirm(`Forget ${host.name} on this device? To revoke this device on the host, run "airlock devices revoke" there.`)) return;
          await ctx.client.forgetHost(host.id);
        }, { class: "small danger", "aria-label": `Forget ${host.name}` });
        return h("li", { class: "row", "data-host": host.id }, open, h("div", { class: "row-actions" }, rename, forget));
      }),
    );
  };
  render(ctx.client.hosts());
  const off = ctx.client.on("hosts", render);
  const el = h(
    "section",
    { class: "page" },
    list,
    h("div", { class: "actions" }, button("Pair a host", () => ctx.navigate({ view: "pair" }), { class: "primary" })),
  );
  return { el, title: "Hosts", dispose: off };
}
