// runHook (host-agent/src/hooks/run-hook.ts): one hook process, bounded in time
// and output, without a shell, with a minimal environment.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { minimalEnv, runHook } from "../../../host-agent/src/hooks/run-hook.ts";
import { tempDir } from "./harness.ts";

const dir = tempDir();
const node = (code: string, input: unknown = {}, timeoutMs = 20_000, env = minimalEnv({})) =>
  runHook({ argv: ["node", "-e", code], cwd: dir, input, timeoutMs, env });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("runHook", () => {
  it("passes the input on stdin and parses the answer", async () => {
    const r = await node(
      "let d='';process.stdin.on('data',c=>d+=c).on('end',()=>process.stdout.write(JSON.stringify({decision:'deny',reason:JSON.parse(d).why})))",
      { why: "because" },
    );
    expect(r).toMatchObject({ ok: true, output: { decision: "deny", reason: "because" } });
  });

  it("no shell: event text stays one argument, metacharacters and all", async () => {
    const arg = "$(touch pwned); `id` | cat > x";
    const r = await runHook({
      argv: ["node", "-e", "process.stdout.write(JSON.stringify({reason:process.argv[1]}))", arg],
      cwd: dir,
      input: {},
      timeoutMs: 20_000,
      env: minimalEnv({}),
    });
    expect(r).toMatchObject({ ok: true, output: { reason: arg } });
  });

  it("gives the hook a minimal environment, not the host's secrets", async () => {
    process.env.AIRLOCK_TEST_SECRET = "do-not-pass";
    try {
      const r = await node(
        "process.stdout.write(JSON.stringify({reason:Object.keys(process.env).sort().join(',')}))",
        {},
        20_000,
        minimalEnv({ AIRLOCK_HOOK: "x" }),
      );
      expect(r.ok).toBe(true);
      const keys = r.ok ? r.output.reason!.split(",") : [];
      expect(keys).toContain("PATH");
      expect(keys).toContain("AIRLOCK_HOOK");
      expect(keys).not.toContain("AIRLOCK_TEST_SECRET");
    } finally {
      delete process.env.AIRLOCK_TEST_SECRET;
    }
  });

  it("a timeout kills the hook's whole process group", async () => {
    const pids = join(dir, "pids");
    const code = `const {spawn}=require('node:child_process');const c=spawn('sleep',['60'],{stdio:'ignore'});require('node:fs').writeFileSync(${JSON.stringify(pids)},process.pid+' '+c.pid);setInterval(()=>{},1000)`;
    const r = await node(code, {}, 1500);
    expect(r).toMatchObject({ ok: false, failure: "timeout" });
    const [hook, grandchild] = readFileSync(pids, "utf8").split(" ").map(Number);
    expect(alive(hook!)).toBe(false);
    await expect.poll(() => alive(grandchild!)).toBe(false);
  });

  it("a hook that ignores a large input does not break the host (EPIPE)", async () => {
    const r = await node("process.exit(0)", { big: "x".repeat(4 * 1024 * 1024) });
    expect(r).toMatchObject({ ok: true, output: {} });
  });

  it("failures: non-zero exit, missing program, oversized or invalid output", async () => {
    expect(await node("process.exit(4)")).toMatchObject({ ok: false, failure: "crash", detail: "exited with code 4" });
    expect(await runHook({ argv: ["/nonexistent/airlock-hook"], cwd: dir, input: {}, timeoutMs: 5000, env: minimalEnv({}) })).toMatchObject({
      ok: false,
      failure: "spawn-failed",
    });
    expect(await node("process.stdout.write('y'.repeat(65537))")).toMatchObject({ ok: false, failure: "oversized" });
    expect(await node("process.stdout.write('y'.repeat(65536 - 20) + '')")).toMatchObject({ ok: false, failure: "invalid-output" });
    expect(await node("process.stdout.write(JSON.stringify({decision:'maybe'}))")).toMatchObject({ ok: false, failure: "invalid-output" });
    expect(await node("process.stdout.write('[]')")).toMatchObject({ ok: false, failure: "invalid-output" });
    expect(await node("process.stdout.write('  \\n')")).toMatchObject({ ok: true, output: {} });
  });
});
