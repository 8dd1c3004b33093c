// The app shell: header with back button and title, the current view, a toast
// line, connections to every trusted host, and notifications when something
// starts waiting for the user.
import { AirlockClient, IndexedDbStore, type HostConnection, type ThreadSummary } from "@airlock/client-sdk";
import { errorText, type AppContext, type View } from "./context.ts";
import { Notifier, openRequests } from "./notify.ts";
import { PushController } from "./push.ts";
import { parseRoute, routeUrl, type Route } from "./router.ts";
import { h, replace } from "./ui.ts";
import { hostsView } from "./views/hosts.ts";
import { hostView } from "./views/host.ts";
import { pairView } from "./views/pair.ts";
import { threadView } from "./views/thread.ts";

export async function startApp(root: HTMLElement, pairingLink: string | undefined): Promise<void> {
  const back = h("button", { type: "button", class: "back", "aria-label": "Back", hidden: true }, "‹");
  const title = h("h1", { id: "title", tabindex: -1 }, "Airlock");
  const main = h("main", { id: "main", "aria-labelledby": "title" });
  const toastEl = h("div", { class: "toast", role: "status", "aria-live": "polite" });
  replace(root, h("header", { class: "topbar" }, back, title), main, toastEl);

  let client: AirlockClient;
  try {
    client = await AirlockClient.create({
      store: new IndexedDbStore("airlock-web"),
      ...(localStorage.getItem("airlock.deviceName") ? { deviceName: localStorage.getItem("airlock.deviceName")! } : {}),
    });
  } catch (e) {
    replace(main, h("p", { class: "error", role: "alert" }, `Airlock cannot start in this browser: ${errorText(e)}`));
    return;
  }

  let route: Route = parseRoute(location.search);
  let view: View | undefined;
  let toastTimer: ReturnType<typeof setTimeout> | undefined;
  let viewTitle = "Airlock";
  /** The tab's title: requests waiting for you anywhere, then the view. */
  const renderDocumentTitle = () => {
    const total = [...pending.values()].reduce((a, b) => a + b, 0);
    document.title = `${total ? `(${total}) ` : ""}${viewTitle === "Airlock" ? "Airlock" : `${viewTitle} · Airlock`}`;
  };
  const pending = new Map<string, number>(); // "host/thread" → pending count seen

  const ctx: AppContext = {
    client,
    notifier: new Notifier((host, thread) => ctx.navigate({ view: "thread", host, thread })),
    push: new PushController(client, (hostId) => ctx.connection(hostId)),
    navigate(next, options = {}) {
      if (options.replace) history.replaceState(null, "", routeUrl(next));
      else history.pushState(null, "", routeUrl(next));
      show(next);
    },
    connection(hostId) {
      return watch(client.connect(hostId));
    },
    retitle(text) {
      viewTitle = text;
      title.textContent = text;
      renderDocumentTitle();
    },
    toast(text) {
      toastEl.textContent = text;
      toastEl.classList.add("show");
      clearTimeout(toastTimer);
      toastTimer = setTimeout(() => toastEl.classList.remove("show"), 4000);
    },
  };

  const watched = new WeakSet<HostConnection>();
  /** Requests already notified ("host/requestId"): one notification per approval or question. */
  const notified = new Set<string>();
  const lookingAt = (threadId: string) => document.visibilityState === "visible" && route.view === "thread" && route.thread === threadId;
  function watch(conn: HostConnection): HostConnection {
    if (watched.has(conn)) return conn;
    watched.add(conn);
    const check = (threads: ThreadSummary[]) => {
      for (const t of threads) {
        const key = `${conn.hostId}/${t.id}`;
        const before = pending.get(key);
        pending.set(key, t.pending);
        if (before !== undefined && t.pending > before && !lookingAt(t.id) && ctx.notifier.enabled) void notifyWaiting(conn, t);
      }
      renderDocumentTitle();
    };
    conn.on("threads", check);
    // Push: the host sends none for a thread this device is looking at; keep its registration current.
    conn.setVisible(document.visibilityState === "visible");
    conn.on("state", (state) => state === "online" && void ctx.push.sync(conn));
    conn.on("hostInfo", () => void ctx.push.sync(conn));
    return conn;
  }

  /** Notifies each request of this thread that is still open and not notified yet (the text names only its kind and the host). */
  async function notifyWaiting(conn: HostConnection, t: ThreadSummary): Promise<void> {
    const open = await openRequests(conn, t);
    if (lookingAt(t.id)) return; // opened meanwhile
    const fresh = open.filter((r) => !notified.has(`${conn.hostId}/${r.id}`));
    fresh.forEach((r) => notified.add(`${conn.hostId}/${r.id}`));
    const hostName = client.hosts().find((x) => x.id === conn.hostId)?.name ?? "your host";
    if (open.length === 0) ctx.notifier.notify(conn.hostId, t.id, undefined, hostName); // could not tell which: say something waits
    for (const r of fresh) ctx.notifier.notify(conn.hostId, t.id, r.kind, hostName);
  }

  function show(next: Route, pairLink?: string): void {
    view?.dispose();
    // A toast belongs to the screen it was shown on: don't let it cover the next one.
    clearTimeout(toastTimer);
    toastEl.classList.remove("show");
    toastEl.textContent = "";
    route = next;
    if (next.view === "host" || next.view === "thread") {
      const id = next.host;
      if (!client.hosts().some((x) => x.id === id)) next = { view: "hosts" };
    }
    view =
      next.view === "pair"
        ? pairView(ctx, pairLink)
        : next.view === "host"
          ? hostView(ctx, next.host)
          : next.view === "thread"
            ? threadView(ctx, next.host, next.thread)
            : hostsView(ctx);
    ctx.retitle(view.title);
    const target = view.back;
    back.hidden = !target;
    back.onclick = target ? () => ctx.navigate(target) : null;
    replace(main, view.el);
    window.scrollTo(0, 0);
    title.focus({ preventScroll: true });
  }

  window.addEventListener("popstate", () => show(parseRoute(location.search)));
  document.addEventListener("visibilitychange", () => client.connections().forEach((c) => c.setVisible(document.visibilityState === "visible")));
  // A tapped push notification (sw.ts) takes an open app to its thread.
  navigator.serviceWorker?.addEventListener("message", (e: MessageEvent<{ type?: unknown; url?: unknown }>) => {
    if (e.data?.type !== "airlock.open" || typeof e.data.url !== "string") return;
    const url = new URL(e.data.url, location.href);
    if (url.origin !== location.origin) return;
    ctx.navigate(parseRoute(url.search));
  });
  // Keep every trusted host connected, so waiting approvals are noticed anywhere.
  for (const host of client.hosts()) ctx.connection(host.id);
  client.on("hosts", (hosts) => hosts.forEach((host) => ctx.connection(host.id)));

  if (pairingLink) {
    history.replaceState(null, "", routeUrl({ view: "pair" }));
    show({ view: "pair" }, pairingLink);
  } else if (route.view === "hosts" && client.hosts().length === 1) {
    ctx.navigate({ view: "host", host: client.hosts()[0]!.id }, { replace: true });
  } else {
    show(route);
  }
}
