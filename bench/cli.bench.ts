// CLI start time and the host agent's idle memory, as a user gets them.
//
// The packages are built, packed and installed into a temporary folder
// (scripts/build-packages.mjs --install: npm install --omit=dev of the
// tarballs), then compared with the checkout's bins, which run the TypeScript
// sources through tsx, and with `node -e 0` (Node's own floor):
//   start/…     wall time from spawn to exit of `<command> --help` (interleaved
//               rounds, so load on the machine lands on every case alike)
//   idle-rss/…  resident memory of `airlock up --agent demo` connected to a
//               local relay (wrangler's workerd) and idle for a few seconds,
//               beside an idle `node` process; the row's time is spawn → relay.online
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { formatMs, interleave, now, result, summarize, type BenchContext, type BenchResult, type SuiteReport } from "./lib.ts";
import { startRelay } from "./relay-client.ts";

const exec = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = 8;
const IDLE_MS = 5000;

/** Resident set size in KiB (Linux /proc; `ps` elsewhere). */
async function rssKiB(pid: number): Promise<number> {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  const { stdout } = await exec("ps", ["-o", "rss=", "-p", String(pid)]);
  return Number(stdout.trim());
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once("exit", r));
}

/** Spawn → exit of one command, in ms; a non-zero exit is an error (the number would mean nothing). */
async function timeCommand(command: string, args: string[]): Promise<number> {
  const t0 = now();
  const child = spawn(command, args, { stdio: "ignore" });
  const code = await exitOf(child);
  const ms = now() - t0;
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} exited ${String(code)}`);
  return ms;
}

/** Starts `command`, waits for its "relay.online" JSON line, idles, reads RSS, stops it. */
async function idleHost(command: string, args: string[], home: string, relayUrl: string): Promise<{ rssKiB: number; onlineMs: number }> {
  const t0 = now();
  const child = spawn(command, [...args, "--home", home, "--json", "up", "--agent", "demo", "--relay", relayUrl], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  child.stderr!.resume();
  try {
    const onlineMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${command}: no relay.online within 60 s`)), 60_000);
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (line.includes(`"type":"relay.online"`)) {
          clearTimeout(timer);
          resolve(now() - t0);
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${command} exited ${String(code)} before connecting`));
      });
    });
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return { rssKiB: await rssKiB(child.pid!), onlineMs };
  } finally {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exitOf(child);
  }
}

export async function run(ctx: BenchContext): Promise<SuiteReport> {
  const suite = ctx.suite;
  const tmp = mkdtempSync(path.join(tmpdir(), "airlock-cli-bench-"));
  try {
    ctx.log("building, packing and installing the packages");
    const installed = path.join(tmp, "installed");
    await exec(process.execPath, [path.join(ROOT, "scripts/build-packages.mjs"), "--out", path.join(tmp, "packages"), "--install", installed, "--json"], {
      cwd: ROOT,
      maxBuffer: 16 << 20,
    });
    const bin = (name: string) => path.join(installed, "node_modules", ".bin", name);
    const cases = [
      { id: "node -e 0", build: "-", command: process.execPath, args: ["-e", "0"] },
      { id: "airlock --help", build: "js", command: bin("airlock"), args: ["--help"] },
      { id: "airlock --help", build: "tsx", command: process.execPath, args: [path.join(ROOT, "host-agent/bin/airlock.js"), "--help"] },
      { id: "airlock-client --help", build: "js", command: bin("airlock-client"), args: ["--help"] },
      { id: "airlock-client --help", build: "tsx", command: process.execPath, args: [path.join(ROOT, "client-sdk/bin/airlock-client.js"), "--help"] },
    ];
    ctx.log(`start time: ${ROUNDS} interleaved rounds of ${cases.length} commands`);
    const times = await interleave(
      cases.map((c) => ({ id: `${c.id}/${c.build}`, sample: async () => ({ ms: await timeCommand(c.command, c.args) }) })),
      { warmupIterations: 1, rounds: ROUNDS, turn: { samples: 1 } },
    );
    const results: BenchResult[] = cases.map((c) =>
      result(suite, `start/${c.id}/${c.build}`, { command: c.id, build: c.build }, summarize(times.get(`${c.id}/${c.build}`)!.ms)),
    );

    ctx.log("idle memory: airlock up --agent demo against a local relay");
    const relay = await startRelay();
    const idle: Array<{ build: string; rssKiB: number; onlineMs: number }> = [];
    try {
      const node = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
      await new Promise((r) => setTimeout(r, IDLE_MS));
      const nodeRss = await rssKiB(node.pid!);
      node.kill("SIGTERM");
      await exitOf(node);
      idle.push({ build: "-", rssKiB: nodeRss, onlineMs: NaN });
      for (const [build, command, args] of [
        ["js", bin("airlock"), []],
        ["tsx", process.execPath, [path.join(ROOT, "host-agent/bin/airlock.js")]],
      ] as const) {
        idle.push({ build, ...(await idleHost(command, [...args], path.join(tmp, `home-${build}`), relay.proxyUrl)) });
      }
    } finally {
      await relay.dispose();
    }
    for (const i of idle) {
      const name = i.build === "-" ? "idle-rss/node (idle timer)" : `idle-rss/airlock up/${i.build}`;
      results.push(
        result(suite, name, { build: i.build, rssMiB: Math.round((i.rssKiB / 1024) * 10) / 10 }, summarize(Number.isNaN(i.onlineMs) ? [] : [i.onlineMs])),
      );
    }
    const median = (id: string) => summarize(times.get(id)!.ms).medianMs;
    const mib = (b: string) => ((idle.find((i) => i.build === b)?.rssKiB ?? NaN) / 1024).toFixed(1);
    const notes = [
      `start (median of ${ROUNDS}): node -e 0 ${formatMs(median("node -e 0/-"))}; airlock --help ${formatMs(median("airlock --help/js"))} built vs ${formatMs(median("airlock --help/tsx"))} through tsx; airlock-client --help ${formatMs(median("airlock-client --help/js"))} built vs ${formatMs(median("airlock-client --help/tsx"))} through tsx`,
      `idle RSS after ${IDLE_MS / 1000} s connected: airlock up --agent demo ${mib("js")} MiB built vs ${mib("tsx")} MiB through tsx; an idle node process ${mib("-")} MiB`,
    ];
    return { results, notes };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
