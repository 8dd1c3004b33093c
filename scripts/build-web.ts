// Builds the reference web app (web/src + client-sdk) into web/public/:
// app.js, app.css and their source maps, next to the committed index.html,
// manifest, icons and service worker. Run by `npm start`, `.ci/run` and the
// browser tests; by hand: `npx tsx scripts/build-web.ts`.
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
};

/** Builds app.js and app.css; returns their Subresource Integrity hashes (also written to integrity.json). */
export async function buildWeb(options: { minify?: boolean; outdir?: string } = {}): Promise<Record<string, string>> {
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
  // For pages served from another origin that pin this build (docs/web-app.md).
  const integrity = Object.fromEntries(
    ["app.js", "app.css"].map((f) => [f, `sha384-${createHash("sha384").update(readFileSync(`${outdir}${f}`)).digest("base64")}`]),
  );
  writeFileSync(`${outdir}integrity.json`, `${JSON.stringify(integrity, null, 2)}\n`);
  return integrity;
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
