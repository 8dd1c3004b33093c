// Shared types and timing helpers for the benchmarks. Every bench/*.bench.ts
// module exports `run(ctx): Promise<SuiteReport>`; bench/run.ts discovers the
// modules, runs them one after another and prints/records what they return.
//
// Benchmarks measure; they never assert. A missed performance target is
// reported (PASS/MISSED) and the process still exits 0.
import { performance } from "node:perf_hooks";

/** Summary statistics of per-operation durations, in milliseconds. */
export interface Stats {
  /** Number of timed samples the statistics are computed over. */
  samples: number;
  /** Operations per sample (>1 when fast operations are timed in batches). */
  opsPerSample: number;
  medianMs: number;
  p99Ms: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
}

/** One measured line: a named operation with its parameters and statistics. */
export interface BenchResult extends Stats {
  /** Suite the result belongs to (the module's file name without `.bench.ts`). */
  suite: string;
  /** Short identifier, unique within the suite, e.g. "handshake/pair/device/noble". */
  name: string;
  /** What was varied: backend, mode, side, payload size, concurrency… */
  params: Record<string, string | number | boolean>;
  /** Typical rate: 1000 / medianMs, or operations / wall time where operations overlap (see result()). */
  opsPerSec: number;
  /** Application bytes processed per operation, when throughput matters. */
  bytesPerOp?: number;
  /** bytesPerOp × opsPerSec / 10^6 (decimal megabytes per second). */
  mbPerSec?: number;
}

/** A performance target from an issue, evaluated against numbers measured in the same run. */
export interface TargetResult {
  suite: string;
  name: string;
  /** Human-readable requirement, e.g. "median < 5 ms per side". */
  requirement: string;
  measured: number;
  unit: string;
  threshold: number;
  comparison: "<" | "<=" | ">" | ">=";
  pass: boolean;
  /** How the measured value was obtained (which results, which statistic). */
  detail: string;
}

export interface SuiteReport {
  results: BenchResult[];
  targets?: TargetResult[];
  /** Free-form remarks printed under the suite's table and kept in the JSON. */
  notes?: string[];
}

export interface BenchContext {
  /** Suite name (file name without `.bench.ts`). */
  suite: string;
  /** Progress output (stderr, so `--json` keeps stdout clean). */
  log(message: string): void;
}

export type BenchModule = { run(ctx: BenchContext): Promise<SuiteReport> };

// ------------------------------------------------------------------ statistics

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Statistics over per-op durations (each entry already divided by opsPerSample). */
export function summarize(perOpMs: readonly number[], opsPerSample = 1): Stats {
  const sorted = [...perOpMs].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    samples: sorted.length,
    opsPerSample,
    medianMs: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    meanMs: sorted.length ? sum / sorted.length : NaN,
    minMs: sorted[0] ?? NaN,
    maxMs: sorted[sorted.length - 1] ?? NaN,
  };
}

/**
 * Builds a result line from statistics. The rate is 1000 / medianMs: on a
 * shared 2-core machine the median is stable from run to run where the mean
 * follows whatever else was scheduled (meanMs stays in the JSON). Callers that
 * measured a rate directly pass it (`opsPerSec`, e.g. frames / wall time when
 * operations overlap).
 */
export function result(
  suite: string,
  name: string,
  params: BenchResult["params"],
  stats: Stats,
  options: { bytesPerOp?: number; opsPerSec?: number } = {},
): BenchResult {
  const opsPerSec = options.opsPerSec ?? 1000 / stats.medianMs;
  return {
    suite,
    name,
    params,
    ...stats,
    opsPerSec,
    ...(options.bytesPerOp !== undefined ? { bytesPerOp: options.bytesPerOp, mbPerSec: (options.bytesPerOp * opsPerSec) / 1e6 } : {}),
  };
}

// --------------------------------------------------------------------- timing

export interface SamplingOptions {
  /** Untimed runs first (JIT, key caches, allocator). */
  warmupIterations?: number;
  /** Keep warming up until at least this long has passed. */
  warmupMs?: number;
  /** Stop after this many samples… */
  maxSamples: number;
  /** …or once this much time has been spent sampling, provided minSamples were taken. */
  maxTimeMs?: number;
  minSamples?: number;
}

export const now = (): number => performance.now();

/**
 * Runs `sample` repeatedly: warm-up first, then timed samples. Each call
 * returns its own named durations in ms (so one run can time several parties,
 * e.g. both sides of a handshake). Returns the durations per name.
 */
export async function collect<K extends string>(options: SamplingOptions, sample: () => Promise<Record<K, number>>): Promise<Record<K, number[]>> {
  const warmupStart = now();
  for (let i = 0; i < (options.warmupIterations ?? 0) || now() - warmupStart < (options.warmupMs ?? 0); i++) {
    await sample();
  }
  const out = {} as Record<K, number[]>;
  const start = now();
  const minSamples = options.minSamples ?? Math.min(10, options.maxSamples);
  for (let i = 0; i < options.maxSamples; i++) {
    const times = await sample();
    for (const key of Object.keys(times) as K[]) (out[key] ??= []).push(times[key]);
    if (options.maxTimeMs !== undefined && i + 1 >= minSamples && now() - start >= options.maxTimeMs) break;
  }
  return out;
}

export interface InterleaveOptions {
  /** Untimed runs of each case first. */
  warmupIterations?: number;
  /** …continuing until each case has warmed up for at least this long. */
  warmupMs?: number;
  /** Number of rounds; every round gives each case one turn, in order. */
  rounds: number;
  /** Length of a turn: this many samples, or as many as fit in `ms` (at least one). */
  turn: { samples: number } | { ms: number };
}

/**
 * Like collect(), for several cases that will be compared with each other:
 * the cases take turns (round robin) instead of running one after another, so
 * whatever else the machine is doing (another process, a CPU frequency change)
 * lands on all of them alike and ratios stay meaningful.
 */
export async function interleave<K extends string>(
  cases: readonly { id: string; sample: () => Promise<Record<K, number>> }[],
  options: InterleaveOptions,
): Promise<Map<string, Record<K, number[]>>> {
  for (const c of cases) {
    const warmupStart = now();
    for (let i = 0; i < (options.warmupIterations ?? 0) || now() - warmupStart < (options.warmupMs ?? 0); i++) await c.sample();
  }
  const out = new Map(cases.map((c) => [c.id, {} as Record<K, number[]>]));
  for (let round = 0; round < options.rounds; round++) {
    for (const c of cases) {
      const acc = out.get(c.id)!;
      const turnStart = now();
      for (let i = 0; ; i++) {
        const times = await c.sample();
        for (const key of Object.keys(times) as K[]) (acc[key] ??= []).push(times[key]);
        if ("samples" in options.turn ? i + 1 >= options.turn.samples : now() - turnStart >= options.turn.ms) break;
      }
    }
  }
  return out;
}

/**
 * Times one operation: warm-up, then samples of `batch` consecutive calls.
 * Per-op duration of a sample = sample time / batch.
 */
export async function measure(options: SamplingOptions & { batch?: number }, op: () => Promise<unknown> | unknown): Promise<Stats> {
  const batch = options.batch ?? 1;
  const { op: perOp } = await collect(options, async () => {
    const t0 = now();
    for (let i = 0; i < batch; i++) await op();
    return { op: (now() - t0) / batch };
  });
  return summarize(perOp, batch);
}

// ----------------------------------------------------------------- formatting

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  if (ms >= 0.001) return `${(ms * 1000).toFixed(ms >= 0.1 ? 0 : 1)} µs`;
  return `${(ms * 1e6).toFixed(0)} ns`;
}

export function formatRate(n: number): string {
  if (!Number.isFinite(n)) return "-";
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  if (n >= 100) return n.toFixed(0);
  return n.toFixed(1);
}

/** Plain-text table with right-aligned numeric columns. */
export function table(headers: string[], rows: string[][], alignRight: boolean[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (alignRight[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
