// Builds the reference web app (web/src + client-sdk) into web/public/:
// app.js, app.css and their source maps, plus build.json (content hashes the
// service worker uses as its cache version). Run by `npm start`, `.ci/run`
// and the browser tests; `tsx scripts/build-web.ts [--watch]` by hand.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
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
  // The SDK may reference Node-only modules behind runtime checks; never bundle them.
  external: ["node:*"],
  define: { "process.env.NODE_ENV": '"production"' },
};

export async function buildWeb(options: { minify?: boolean; outdir?: string } = {}): Promise<void> {
  const outdir = options.outdir ?? WEB_PUBLIC;
  await esbuild.build({
    ...common,
    // main.ts imports app.css, so esbuild writes app.js and app.css.
    entryPoints: { app: `${root}web/src/main.ts` },
    outdir,
    entryNames: "[name]",
    minify: options.minify ?? true,
    sourcemap: "linked",
  });
  const hash = createHash("sha256");
  for (const f of ["app.js", "app.css"]) hash.update(readFileSync(`${outdir}${f}`));
  for (const f of ["index.html", "sw.js", "manifest.webmanifest"]) hash.update(readFileSync(`${WEB_PUBLIC}${f}`));
  writeFileSync(`${outdir}build.json`, JSON.stringify({ version: hash.digest("hex").slice(0, 16), builtAt: new Date().toISOString() }) + "\n");
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
  const started = Date.now();
  await buildWeb();
  console.log(`web app built into web/public/ in ${Date.now() - started} ms`);
}
