// Builds the reference web app (web/src + client-sdk) into web/public/:
// app.js, app.css, the service worker sw.js (web/src/sw.ts: offline shell and
// push notifications) and their source maps, next to the committed
// index.html, manifest and icons. Run by `npm start`, `.ci/run` and the
// browser tests; by hand: `npx tsx scripts/build-web.ts`.
//
// For a deployment of its own (docs/web-app.md, "Serving from another origin"):
//   npx tsx scripts/build-web.ts --outdir dist/ [--relay https://relay.example.com ...]
// writes a complete static site to dist/; each --relay pins the page's CSP
// connect-src to that relay instead of any wss: origin.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";

const root = new URL("../", import.meta.url).pathname;
export const WEB_PUBLIC = `${root}web/public/`;

const common: esbuild.BuildOptions = {
  bundle: true,
  format: "esm",
  target: ["es2022", "chrome109", "safari16", "firefox115"],
  platform: "browser",
  legalComments: "none",
  logLevel: "warning",
};

/** The committed files of web/public, copied next to the build when it goes elsewhere. */
export const SHELL_FILES = ["index.html", "manifest.webmanifest", "icon.svg", "icon-192.png", "icon-512.png", "_headers"];

/** connect-src of the committed index.html: this origin, any wss: relay, and ws: relays on loopback. */
const CONNECT_SRC = /connect-src [^;"]*/;

/**
 * The WebSocket origin the page must reach for a relay URL (https → wss,
 * loopback http → ws). Throws on anything a pairing link could not name.
 */
export function relaySocketOrigin(relayUrl: string): string {
  const u = new URL(relayUrl);
  const loopback = ["127.0.0.1", "localhost"].includes(u.hostname);
  if (u.protocol === "https:") return `wss://${u.host}`;
  if (u.protocol === "http:" && loopback) return `ws://${u.host}`;
  throw new Error(`--relay must be an https:// URL (http:// only on loopback), got "${relayUrl}"`);
}

/** index.html with connect-src pinned to these relays (and the page's own origin). */
export function pinnedIndexHtml(html: string, relays: string[]): string {
  if (!CONNECT_SRC.test(html)) throw new Error("index.html has no connect-src to pin");
  return html.replace(CONNECT_SRC, `connect-src 'self' ${[...new Set(relays.map(relaySocketOrigin))].join(" ")}`);
}

/**
 * Builds app.js, app.css and sw.js; returns their Subresource Integrity
 * hashes (also written to integrity.json). With an `outdir` other than web/public the
 * committed shell files are copied there too, so it is a complete site;
 * `relays` (only with such an outdir) pins the CSP's connect-src.
 */
export async function buildWeb(options: { minify?: boolean; outdir?: string; relays?: string[] } = {}): Promise<Record<string, string>> {
  let outdir = options.outdir ? resolve(options.outdir) : WEB_PUBLIC;
  if (!outdir.endsWith("/")) outdir += "/";
  const elsewhere = outdir !== WEB_PUBLIC;
  if (options.relays?.length && !elsewhere) throw new Error("pinning relays needs an outdir other than web/public (index.html there is committed)");
  if (elsewhere) {
    mkdirSync(outdir, { recursive: true });
    for (const f of SHELL_FILES) copyFileSync(`${WEB_PUBLIC}${f}`, `${outdir}${f}`);
    if (options.relays?.length) writeFileSync(`${outdir}index.html`, pinnedIndexHtml(readFileSync(`${WEB_PUBLIC}index.html`, "utf8"), options.relays));
  }
  const [built, worker] = await Promise.all([
    esbuild.build({
      ...common,
      // main.ts imports app.css, so esbuild writes app.js and app.css.
      entryPoints: { app: `${root}web/src/main.ts` },
      outdir,
      entryNames: "[name]",
      minify: options.minify ?? true,
      sourcemap: "linked",
      write: false,
    }),
    // The service worker: one classic script (service workers cannot import() at run time,
    // so the SDK's lazily loaded noble fallback is bundled in).
    esbuild.build({
      ...common,
      format: "iife",
      entryPoints: { sw: `${root}web/src/sw.ts` },
      outdir,
      entryNames: "[name]",
      minify: options.minify ?? true,
      sourcemap: "linked",
      write: false,
    }),
  ]);
  // Each file is replaced whole (write, then rename), so a server reading web/public
  // while another build runs (the browser test files build in parallel) never sees half a file.
  for (const f of [...built.outputFiles, ...worker.outputFiles]) writeAtomic(f.path, f.contents);
  // For pages served from another origin that pin this build (docs/web-app.md).
  const integrity = Object.fromEntries(
    ["app.js", "app.css", "sw.js"].map((f) => [
      f,
      `sha384-${createHash("sha384")
        .update(readFileSync(`${outdir}${f}`))
        .digest("base64")}`,
    ]),
  );
  writeAtomic(`${outdir}integrity.json`, `${JSON.stringify(integrity, null, 2)}\n`);
  return integrity;
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** The UI components alone as one classic script, for component test pages. */
export async function bundleComponents(): Promise<string> {
  const out = await esbuild.build({
    ...common,
    format: "iife",
    globalName: "AirlockUI",
    entryPoints: [`${root}client-sdk/ui/index.ts`],
    write: false,
    minify: false,
  });
  return out.outputFiles[0]!.text;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { outdir: { type: "string" }, relay: { type: "string", multiple: true } } });
  const started = Date.now();
  await buildWeb({ ...(values.outdir ? { outdir: values.outdir } : {}), ...(values.relay ? { relays: values.relay } : {}) });
  const where = values.outdir ? resolve(values.outdir) : "web/public";
  console.log(
    `web app built into ${where}/ in ${Date.now() - started} ms${values.relay ? ` (connect-src pinned to ${values.relay.map(relaySocketOrigin).join(" ")})` : ""}`,
  );
}
