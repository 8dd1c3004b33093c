// Runs one hook program: JSON on stdin, JSON on stdout, bounded in time and
// output. Spawned without a shell (argv array), in the workspace, with a
// minimal environment (the host's own secrets, e.g. model API keys, are not
// passed on). The whole process group is killed on timeout or oversized
// output, so a hook's children (a test runner's workers) do not outlive it.
import { spawn } from "node:child_process";
import * as z from "zod/mini";

/** Largest stdout accepted; more is a failure (fail closed where the hook blocks). */
export const MAX_HOOK_OUTPUT = 64 * 1024;
/** stderr kept for the host's log when a hook fails. */
const MAX_STDERR = 4096;

export const hookOutputSchema = z.strictObject({
  decision: z.optional(z.enum(["allow", "deny"])),
  reason: z.optional(z.string().check(z.maxLength(2048))),
  /** Text added to the prompt (UserPromptSubmit, SessionStart). */
  context: z.optional(z.string().check(z.maxLength(16384))),
  /** Reported to devices as a test.result event (PostToolUse, Stop). */
  testResult: z.optional(
    z.strictObject({
      name: z.string().check(z.minLength(1), z.maxLength(512)),
      status: z.enum(["passed", "failed", "skipped"]),
      summary: z.optional(z.string().check(z.maxLength(8192))),
    }),
  ),
});
export type HookOutput = z.infer<typeof hookOutputSchema>;

export type HookFailure = "timeout" | "crash" | "oversized" | "invalid-output" | "spawn-failed";

export type HookRun =
  { ok: true; output: HookOutput; durationMs: number } | { ok: false; failure: HookFailure; detail: string; durationMs: number; stderr: string };

export interface RunHookOptions {
  argv: readonly string[];
  cwd: string;
  input: unknown;
  timeoutMs: number;
  env: Record<string, string>;
  maxOutput?: number;
}

/** The environment a hook gets: enough to find programs and a home, nothing else of the host's. */
export function minimalEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", LANG: "C.UTF-8" };
  for (const k of ["HOME", "TMPDIR", "SystemRoot"]) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Process groups of hooks still running: killed if the host exits first (a hook is detached, so it would outlive it). */
const running = new Set<number>();
let exitHandler = false;
function track(pid: number): void {
  running.add(pid);
  if (exitHandler) return;
  exitHandler = true;
  process.once("exit", () => {
    for (const p of running) {
      try {
        process.kill(-p, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

export function runHook(o: RunHookOptions): Promise<HookRun> {
  const started = performance.now();
  const max = o.maxOutput ?? MAX_HOOK_OUTPUT;
  return new Promise<HookRun>((resolve) => {
    let settled = false;
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = "";
    let failure: { failure: HookFailure; detail: string } | undefined;
    const elapsed = () => Math.round(performance.now() - started);
    const finish = (r: HookRun) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.pid !== undefined) running.delete(child.pid);
      resolve(r);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(o.argv[0]!, o.argv.slice(1), {
        cwd: o.cwd,
        env: o.env,
        stdio: ["pipe", "pipe", "pipe"],
        shell: false,
        detached: process.platform !== "win32",
      });
    } catch (e) {
      resolve({ ok: false, failure: "spawn-failed", detail: (e as Error).message, durationMs: elapsed(), stderr: "" });
      return;
    }
    const kill = (why: { failure: HookFailure; detail: string }) => {
      failure ??= why;
      try {
        if (child.pid !== undefined && process.platform !== "win32") process.kill(-child.pid, "SIGKILL");
        else child.kill("SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    if (child.pid !== undefined && process.platform !== "win32") track(child.pid);
    const timer = setTimeout(() => kill({ failure: "timeout", detail: `no answer within ${o.timeoutMs} ms` }), o.timeoutMs);
    timer.unref?.();
    child.on("error", (e) => {
      // ENOENT and friends: the program could not be started.
      failure ??= { failure: "spawn-failed", detail: e.message };
      finish({ ok: false, ...failure, durationMs: elapsed(), stderr });
    });
    child.stdout!.on("data", (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > max) kill({ failure: "oversized", detail: `wrote more than ${max} bytes to stdout` });
      else out.push(chunk);
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr = (stderr + chunk.toString("utf8")).slice(0, MAX_STDERR);
    });
    // A hook that exits without reading its input must not crash the host (EPIPE).
    child.stdin!.on("error", () => undefined);
    child.stdin!.end(JSON.stringify(o.input));
    child.on("close", (code, signal) => {
      if (failure) return finish({ ok: false, ...failure, durationMs: elapsed(), stderr });
      if (code !== 0)
        return finish({ ok: false, failure: "crash", detail: signal ? `killed by ${signal}` : `exited with code ${code}`, durationMs: elapsed(), stderr });
      const text = Buffer.concat(out).toString("utf8").trim();
      if (text === "") return finish({ ok: true, output: {}, durationMs: elapsed() });
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return finish({ ok: false, failure: "invalid-output", detail: "stdout is not JSON", durationMs: elapsed(), stderr });
      }
      const parsed = hookOutputSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return finish({
          ok: false,
          failure: "invalid-output",
          detail: `stdout is not a hook answer (${issue ? `${issue.path.join(".") || "(top level)"}: ${issue.message}` : "invalid"})`,
          durationMs: elapsed(),
          stderr,
        });
      }
      finish({ ok: true, output: parsed.data, durationMs: elapsed() });
    });
  });
}
