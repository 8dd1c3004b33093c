// Routes live in the query string (?host=…&thread=…, ?pair), never in the
// fragment, which is reserved for pairing links.
export type Route = { view: "hosts" } | { view: "pair" } | { view: "host"; host: string } | { view: "thread"; host: string; thread: string };

export function parseRoute(search: string): Route {
  const q = new URLSearchParams(search);
  const host = q.get("host");
  const thread = q.get("thread");
  if (q.has("pair")) return { view: "pair" };
  if (host && thread) return { view: "thread", host, thread };
  if (host) return { view: "host", host };
  return { view: "hosts" };
}

export function routeUrl(route: Route): string {
  const q = new URLSearchParams();
  if (route.view === "pair") return `${location.pathname}?pair`;
  if (route.view === "host" || route.view === "thread") q.set("host", route.host);
  if (route.view === "thread") q.set("thread", route.thread);
  const s = q.toString();
  return s ? `${location.pathname}?${s}` : location.pathname;
}
