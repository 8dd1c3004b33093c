// Client SDK bundle size: bundles the browser entry (client-sdk/src/index.ts)
// with esbuild as an app would (ESM, minified, code splitting so the noble
// fallback stays a lazily loaded chunk), gzips each output with node:zlib and
// reports the bytes. Target (issue): the core, crypto included, ≤ 40 kB
// min+gzip. Measured two ways: what a platform with WebCrypto loads (entry and
// its static chunks), and everything including the noble fallback chunk.
// A third row bundles the React Native entry (client-sdk/src/native.ts, noble
// wired in statically) as one file, the way Metro does.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build, type Metafile } from "esbuild";
import { now, result, summarize, type BenchContext, type SuiteReport, type TargetResult } from "./lib.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ENTRY = path.join(ROOT, "client-sdk/src/index.ts");
const NATIVE_ENTRY = path.join(ROOT, "client-sdk/src/native.ts");
const TARGET_BYTES = 40 * 1000;

interface Chunk {
  file: string;
  minified: number;
  gzipped: number;
  lazy: boolean;
}

/** Output files reachable from the entry through static imports only. */
function staticClosure(meta: Metafile, entryOut: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imp of meta.outputs[file]?.imports ?? []) if (imp.kind === "import-statement") visit(imp.path);
  };
  visit(entryOut);
  return seen;
}

/** Bytes of minified output per input package (before gzip), largest first. */
function byPackage(meta: Metafile): Array<[string, number]> {
  const totals = new Map<string, number>();
  for (const out of Object.values(meta.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(out.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const key = m ? m[1]! : input.startsWith("protocol/") ? "@airlock/protocol" : input.startsWith("client-sdk/") ? "@airlock/client-sdk" : input;
      totals.set(key, (totals.get(key) ?? 0) + bytesInOutput);
    }
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}

export async function run(ctx: BenchContext): Promise<SuiteReport> {
  const suite = ctx.suite;
  const outdir = mkdtempSync(path.join(tmpdir(), "airlock-sdk-bundle-"));
  try {
    const bundle = (entry: string, splitting: boolean, dir: string) =>
      build({
        entryPoints: [entry],
        bundle: true,
        minify: true,
        format: "esm",
        platform: "browser",
        target: "es2022",
        splitting,
        outdir: path.join(outdir, dir),
        metafile: true,
        write: true,
        logLevel: "silent",
        absWorkingDir: ROOT,
      });
    const started = now();
    const built = await bundle(ENTRY, true, "web");
    const buildMs = now() - started;
    // React Native: Metro bundles everything into one file (no lazy chunk).
    const native = await bundle(NATIVE_ENTRY, false, "native");
    const nativeMeta = native.metafile!;
    const nativeOut = Object.keys(nativeMeta.outputs).find((o) => o.endsWith(".js"))!;
    const nativeMin = readFileSync(path.join(ROOT, nativeOut));
    const nativeGz = gzipSync(nativeMin, { level: 9 }).length;
    const meta = built.metafile!;
    const entryOut = Object.keys(meta.outputs).find((o) => meta.outputs[o]!.entryPoint !== undefined)!;
    const eager = staticClosure(meta, entryOut);
    const chunks: Chunk[] = Object.keys(meta.outputs)
      .filter((o) => o.endsWith(".js"))
      .map((o) => {
        const bytes = readFileSync(path.join(ROOT, o));
        return { file: path.basename(o), minified: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length, lazy: !eager.has(o) };
      });
    const sum = (list: Chunk[], k: "minified" | "gzipped") => list.reduce((s, c) => s + c[k], 0);
    const eagerChunks = chunks.filter((c) => !c.lazy);
    const eagerGz = sum(eagerChunks, "gzipped");
    const totalGz = sum(chunks, "gzipped");
    // The UI components (@airlock/client-sdk/ui: approval card, thread, diff, markdown through
    // marked) and the push entry are outside the budgeted core; reported so their growth is seen.
    const single = async (entry: string, dir: string) => {
      const built = await bundle(entry, false, dir);
      const out = Object.keys(built.metafile!.outputs).find((o) => o.endsWith(".js"))!;
      const bytes = readFileSync(path.join(ROOT, out));
      return { minified: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length, packages: byPackage(built.metafile!) };
    };
    const ui = await single(path.join(ROOT, "client-sdk/ui/index.ts"), "ui");
    const push = await single(path.join(ROOT, "client-sdk/src/push.ts"), "push");
    ctx.log(`entry+static ${eagerGz} B gz, all ${totalGz} B gz, native ${nativeGz} B gz, ui ${ui.gzipped} B gz, push ${push.gzipped} B gz`);

    const results = [
      result(
        suite,
        "bundle/esbuild",
        {
          eagerGzipBytes: eagerGz,
          totalGzipBytes: totalGz,
          eagerMinBytes: sum(eagerChunks, "minified"),
          totalMinBytes: sum(chunks, "minified"),
          nativeGzipBytes: nativeGz,
          nativeMinBytes: nativeMin.length,
          uiGzipBytes: ui.gzipped,
          uiMinBytes: ui.minified,
          pushGzipBytes: push.gzipped,
        },
        summarize([buildMs]),
      ),
    ];
    const target = (name: string, measured: number, detail: string): TargetResult => ({
      suite,
      name,
      requirement: `≤ ${TARGET_BYTES / 1000} kB min+gzip`,
      measured: measured / 1000,
      unit: " kB",
      threshold: TARGET_BYTES / 1000,
      comparison: "<=",
      pass: measured <= TARGET_BYTES,
      detail,
    });
    return {
      results,
      targets: [
        target("core with WebCrypto (what a browser loads)", eagerGz, `${eagerGz} B gzipped: ${eagerChunks.map((c) => `${c.file} ${c.gzipped} B`).join(", ")}`),
        target(
          "core with noble (React Native entry)",
          nativeGz,
          `${nativeGz} B gzipped: client-sdk/src/native.ts bundled as one file (${nativeMin.length} B minified), no WebCrypto backend`,
        ),
      ],
      notes: [
        // Not a platform's core: the main entry plus its lazy noble chunk is what an old browser
        // without WebCrypto Ed25519/X25519 would load; such an app can use the native entry instead.
        `Main entry with its lazy noble chunk too (old browsers without WebCrypto Ed25519/X25519): ${totalGz} B gzipped over ${chunks.length} chunks; the React Native entry is the smaller choice there`,
        `Chunks (min / gzip -9): ${chunks.map((c) => `${c.file}${c.lazy ? " [lazy]" : ""} ${c.minified}/${c.gzipped} B`).join("; ")}`,
        `Minified bytes by package: ${byPackage(meta)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
        `React Native entry, minified bytes by package: ${byPackage(nativeMeta)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
        `UI components (@airlock/client-sdk/ui, not in the budgeted core): ${ui.gzipped} B gzipped (${ui.minified} B minified; with the SDK core they render from): ${ui.packages.map(([k, v]) => `${k} ${v}`).join(", ")}`,
        `Push entry (@airlock/client-sdk/push: enablePush…, pushNotification): ${push.gzipped} B gzipped (${push.minified} B minified)`,
      ],
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
