// The real `airlock` CLI as a child process, for end-to-end tests (host agent
// and browser): `up` against a relay, `pair` with the SAS confirmation on
// stdin, and one-shot `--json` commands.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";

const BIN = new URL("../../host-agent/bin/airlock.js", import.meta.url).pathname;

export interface Cli {
  child: ChildProcessWithoutNullStreams;
  /** The next JSON line with this `type` (earlier ones of other types stay queued). */
  next(type: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
  exited: Promise<number | null>;
}

export function airlock(args: string[], env: NodeJS.ProcessEnv = {}): Cli {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: "1", ...env } });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  createInterface({ input: child.stdout }).on("line", (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
      for (const w of waiters) w();
    } catch {
      // human-readable output
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    exited,
    async next(type, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = lines.findIndex((l) => l.type === type);
        if (i >= 0) return lines.splice(i, 1)[0]!;
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`no "${type}" line from airlock ${args.join(" ")}; got ${JSON.stringify(lines)}; stderr: ${stderr.slice(-2000)}`);
        }
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 200);
        });
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a one-shot `airlock … --json` command and parses its single JSON line. */
export async function airlockJson(args: string[]): Promise<unknown> {
  const { execFile } = await import("node:child_process");
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: "1" }, timeout: 20_000 }, (err, out, errOut) =>
      err ? reject(new Error(`airlock ${args.join(" ")}: ${err.message}\n${errOut}`)) : resolve(out),
    ),
  );
  const line = stdout.split("\n").find((l) => l.startsWith("{") || l.startsWith("["));
  if (!line) throw new Error(`airlock ${args.join(" ")} printed no JSON: ${stdout}`);
  return JSON.parse(line) as unknown;
}
