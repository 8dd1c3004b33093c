// A plain static file server (node:http) on its own 127.0.0.1 port: the web
// app served from an origin other than the relay's, as docs/web-app.md
// describes, and a page origin for SDK-only browser tests. It applies the
// `/*` block of web/public/_headers like a static host that honours it.
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { buildWeb } from "../../scripts/build-web.ts";
import { tempDir } from "../support/temp.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".webmanifest": "application/manifest+json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/**
 * Builds the app into a fresh directory (never web/public, which another test
 * file's relay may be serving while it rebuilds), as a complete site.
 */
export async function buildAppInto(options: { relays?: string[] } = {}): Promise<string> {
  const out = `${tempDir("airlock-web-build-")}/`;
  await buildWeb({ outdir: out, ...options });
  return out;
}

/** The `/*` headers of a Cloudflare-style `_headers` file. */
export function parseHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let inAll = false;
  for (const line of text.split("\n")) {
    if (!line.trim() || line.trim().startsWith("#")) continue;
    if (!/^\s/.test(line)) {
      inAll = line.trim() === "/*";
      continue;
    }
    const i = line.indexOf(":");
    if (inAll && i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export interface StaticServer {
  /** http://127.0.0.1:PORT (no trailing slash) */
  url: string;
  /** Extra routes: path → [content type, body]. */
  routes: Map<string, [string, string]>;
  close(): Promise<void>;
}

export async function serveStatic(dir: string): Promise<StaticServer> {
  const headersFile = join(dir, "_headers");
  const common = existsSync(headersFile) ? parseHeaders(readFileSync(headersFile, "utf8")) : {};
  const routes = new Map<string, [string, string]>();
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const extra = routes.get(path);
    if (extra) {
      res.writeHead(200, { ...common, "content-type": extra[0], "cache-control": "no-store" });
      res.end(extra[1]);
      return;
    }
    const rel = normalize(path === "/" ? "/index.html" : path);
    const file = join(dir, rel);
    if (rel.includes("..") || rel.endsWith("/_headers") || !file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
      return;
    }
    res.writeHead(200, { ...common, "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    routes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
