// Benchmark runner: `npm run bench [-- --filter NAME] [-- --json]`.
//
// Discovers every bench/*.bench.ts module (each exports `run(ctx)` returning a
// SuiteReport, see lib.ts), runs the selected ones one after another, prints a
// table per suite, the performance targets (PASS / MISSED), then the JSON
// document, which is also written to bench/results/latest.json.
//
//   --filter NAME   run suites whose name contains NAME (repeatable, or comma-separated)
//   --json          print only the JSON document on stdout (use `npm run -s bench -- --json`
//                   or `npx tsx bench/run.ts --json`: npm itself prints a banner to stdout)
//
// Progress goes to stderr. The exit code is 0 even when a target is missed
// (benchmarks measure, they do not gate); 1 if a suite throws, 2 on bad usage.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { formatMs, formatRate, now, table, type BenchModule, type BenchResult, type SuiteReport, type TargetResult } from "./lib.ts";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const RESULTS_FILE = path.join(BENCH_DIR, "results", "latest.json");
const SUFFIX = ".bench.ts";

interface Args {
  filters: string[];
  json: boolean;
}

function usage(message?: string): never {
  if (message) process.stderr.write(`bench: ${message}\n`);
  process.stderr.write("usage: npm run bench [-- --filter NAME] [-- --json]\n");
  process.exit(message ? 2 : 0);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { filters: [], json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--json") args.json = true;
    else if (a === "--help" || a === "-h") usage();
    else if (a === "--filter" || a.startsWith("--filter=")) {
      const value = a === "--filter" ? argv[++i] : a.slice("--filter=".length);
      if (!value) usage("--filter needs a suite name");
      args.filters.push(
        ...value
          .split(",")
          .map((s) => s.trim().toLowerCase())
          .filter(Boolean),
      );
    } else usage(`unknown argument ${a}`);
  }
  return args;
}

function discover(): { suite: string; file: string }[] {
  return readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith(SUFFIX))
    .sort()
    .map((f) => ({ suite: f.slice(0, -SUFFIX.length), file: path.join(BENCH_DIR, f) }));
}

function git(...args: string[]): string | undefined {
  try {
    return execFileSync("git", args, { cwd: BENCH_DIR, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

function environment() {
  const cpus = os.cpus();
  const commit = git("rev-parse", "HEAD");
  const status = commit === undefined ? undefined : git("status", "--porcelain");
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    cpuModel: cpus[0]?.model ?? "unknown",
    cpuCount: cpus.length,
    totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
    /** 1-minute load average at the end of the run: other work on the machine skews the numbers. */
    loadAverage1m: os.loadavg()[0] ?? 0,
    ...(commit !== undefined ? { gitCommit: commit, gitDirty: status !== undefined && status !== "" } : {}),
  };
}

interface SuiteOutcome {
  suite: string;
  file: string;
  durationMs: number;
  results: BenchResult[];
  targets: TargetResult[];
  notes: string[];
  error?: string;
}

function isSuiteReport(x: unknown): x is SuiteReport {
  return typeof x === "object" && x !== null && Array.isArray((x as SuiteReport).results);
}

async function runSuite(suite: string, file: string): Promise<SuiteOutcome> {
  const started = now();
  const log = (message: string) => process.stderr.write(`[${suite}] ${message}\n`);
  try {
    const mod = (await import(pathToFileURL(file).href)) as Partial<BenchModule>;
    if (typeof mod.run !== "function") throw new Error(`${path.basename(file)} does not export run(ctx)`);
    const report: unknown = await mod.run({ suite, log });
    if (!isSuiteReport(report)) throw new Error(`${path.basename(file)}: run() must resolve to { results, targets?, notes? }`);
    return {
      suite,
      file: path.relative(process.cwd(), file),
      durationMs: now() - started,
      results: report.results,
      targets: report.targets ?? [],
      notes: report.notes ?? [],
    };
  } catch (e) {
    log(`FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return {
      suite,
      file: path.relative(process.cwd(), file),
      durationMs: now() - started,
      results: [],
      targets: [],
      notes: [],
      error: e instanceof Error ? e.message : String(e),
    };
  }
}

function formatMeasured(t: TargetResult): string {
  return t.unit === "ms" ? formatMs(t.measured) : `${t.measured.toFixed(1)}${t.unit}`;
}

function formatThreshold(t: TargetResult): string {
  return t.unit === "ms" ? formatMs(t.threshold) : `${t.threshold}${t.unit}`;
}

function printSuite(o: SuiteOutcome): void {
  const out: string[] = [`\n== ${o.suite} (${(o.durationMs / 1000).toFixed(1)} s) ==`];
  if (o.error) out.push(`SUITE FAILED: ${o.error}`);
  if (o.results.length) {
    out.push(
      table(
        ["benchmark", "median", "p99", "ops/s", "MB/s", "samples"],
        o.results.map((r) => [
          r.name,
          formatMs(r.medianMs),
          formatMs(r.p99Ms),
          formatRate(r.opsPerSec),
          r.mbPerSec === undefined ? "" : r.mbPerSec.toFixed(1),
          r.opsPerSample > 1 ? `${r.samples}×${r.opsPerSample}` : String(r.samples),
        ]),
        [false, true, true, true, true, true],
      ),
    );
  }
  for (const n of o.notes) out.push(`  note: ${n}`);
  if (o.targets.length) {
    out.push("", "Targets:");
    for (const t of o.targets) {
      out.push(
        `  ${t.pass ? "PASS  " : "MISSED"}  ${t.name}: ${formatMeasured(t)} (target ${t.comparison} ${formatThreshold(t)}; ${t.requirement})`,
        `          ${t.detail}`,
      );
    }
  }
  process.stdout.write(out.join("\n") + "\n");
}

/** JSON with floats trimmed to 6 significant digits. */
function toJson(doc: unknown): string {
  return JSON.stringify(doc, (_k, v: unknown) => (typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v), 2);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const all = discover();
  const selected = args.filters.length ? all.filter((s) => args.filters.some((f) => s.suite.toLowerCase().includes(f))) : all;
  if (selected.length === 0) {
    usage(`no suite matches ${args.filters.join(", ")} (available: ${all.map((s) => s.suite).join(", ") || "none"})`);
  }

  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg()[0] ?? 0;
  const started = now();
  const suites: SuiteOutcome[] = [];
  for (const { suite, file } of selected) {
    process.stderr.write(`[${suite}] running ${path.relative(process.cwd(), file)}\n`);
    const outcome = await runSuite(suite, file);
    suites.push(outcome);
    if (!args.json) printSuite(outcome);
  }

  const targets = suites.flatMap((s) => s.targets);
  const missed = targets.filter((t) => !t.pass);
  const failed = suites.filter((s) => s.error !== undefined);
  const doc = {
    schema: 1,
    startedAt,
    durationMs: now() - started,
    args: { filters: args.filters },
    loadAverage1mAtStart: loadAtStart,
    environment: environment(),
    suites,
    targets,
    allTargetsMet: missed.length === 0,
  };
  const json = toJson(doc);
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, json + "\n");

  if (args.json) {
    process.stdout.write(json + "\n");
  } else {
    const summary: string[] = ["", "== summary =="];
    if (targets.length === 0) summary.push("No performance targets in the selected suites.");
    else if (missed.length === 0) summary.push(`All ${targets.length} performance targets met.`);
    else {
      const bar = "!".repeat(72);
      summary.push(bar, `!!! ${missed.length} OF ${targets.length} PERFORMANCE TARGETS MISSED`);
      for (const t of missed) summary.push(`!!!   MISSED ${t.suite}: ${t.name}: ${formatMeasured(t)} (target ${t.comparison} ${formatThreshold(t)})`);
      summary.push(bar);
    }
    if (failed.length) summary.push(`SUITES FAILED: ${failed.map((s) => s.suite).join(", ")}`);
    const env = doc.environment;
    summary.push(
      `Node ${env.node}, ${env.cpuCount}× ${env.cpuModel}, load average ${env.loadAverage1m.toFixed(2)} (start ${loadAtStart.toFixed(2)})`,
      `Total ${(doc.durationMs / 1000).toFixed(1)} s; JSON written to ${path.relative(process.cwd(), RESULTS_FILE)}`,
      "",
    );
    process.stdout.write(summary.join("\n") + "\n" + json + "\n");
  }
  // A missed target is a measurement, not a failure; a crashed suite is.
  process.exitCode = failed.length ? 1 : 0;
}

await main();
