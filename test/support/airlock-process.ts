// The real `airlock` CLI as a child process for end-to-end tests: `up`, `pair`
// and the other `--json` commands, with their JSON lines collected so a test
// can wait for the n-th line of a type. One spawner for the host-agent and
// client-SDK tests (test/host-agent/app-client.ts, test/client-sdk/support.ts).
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";

export const AIRLOCK_BIN = new URL("../../host-agent/bin/airlock.js", import.meta.url).pathname;

export interface AirlockProcess {
  child: ChildProcessWithoutNullStreams;
  /** Every JSON line printed so far, in order (human-readable lines are skipped). */
  lines: Array<Record<string, unknown>>;
  /** The `count`-th JSON line with this `type` (waits for it). */
  waitFor(type: string, count?: number, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM (SIGKILL after 10 s) and wait for the exit. */
  stop(): Promise<void>;
}

/** `node host-agent/bin/airlock.js ARGS` with `env` as its whole environment. Stdin stays open (SAS answers). */
export function spawnAirlock(args: string[], env: NodeJS.ProcessEnv = process.env): AirlockProcess {
  const child = spawn(process.execPath, [AIRLOCK_BIN, ...args], { env });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString("utf8")).slice(-2000)));
  createInterface({ input: child.stdout }).on("line", (l) => {
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // human-readable output
    }
  });
  const what = `airlock ${args.filter((a) => !a.startsWith("/")).join(" ")}`;
  return {
    child,
    lines,
    async waitFor(type, count = 1, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const matches = lines.filter((l) => l.type === type);
        if (matches.length >= count) return matches[count - 1]!;
        if (Date.now() > deadline) throw new Error(`no ${count}× "${type}" from ${what}: ${JSON.stringify(lines).slice(0, 2000)}; stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: () => stopChild(child),
  };
}

/** SIGTERM, then SIGKILL if it has not exited within 10 s; resolves once it has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
