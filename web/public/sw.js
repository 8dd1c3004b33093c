// Airlock web app service worker: caches the app shell so the app opens
// offline, and nothing else. API calls (/v1/…, /health) and WebSockets never
// pass through it (WebSocket connections don't reach service workers at all).
// Network first: a deployed update is used as soon as it is reachable.
const CACHE = "airlock-shell-v1";
const SHELL = ["./", "index.html", "app.js", "app.css", "manifest.webmanifest", "icon.svg", "icon-192.png", "icon-512.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))).then(() => self.clients.claim()),
  );
});

const shellUrls = () => new Set(SHELL.map((p) => new URL(p, self.registration.scope).href));

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  const scope = new URL(self.registration.scope);
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
