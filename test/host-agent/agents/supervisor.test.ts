// The agent-process supervisor both adapters use (host-agent/src/agents/
// supervisor.ts), with real child processes (node): a crash is handed to the
// adapter and the process restarts; a failed restart is retried; an exit
// between handshake and going live still restarts; after close() nothing
// restarts. The Codex and ACP suites cover it again through their adapters.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { ProcessSupervisor } from "../../../host-agent/src/agents/supervisor.ts";

interface Child {
  gen: number;
  proc: ChildProcess;
  open: boolean;
}

/** A child that stays up until it is killed (or exits at once with `exitCode`). */
function nodeChild(gen: number, onExit: (how: string) => void, exitCode?: number): Child {
  const code = exitCode === undefined ? "setInterval(() => {}, 1000)" : `process.exit(${exitCode})`;
  const proc = spawn(process.execPath, ["-e", code], { stdio: "ignore" });
  const child: Child = { gen, proc, open: true };
  proc.once("exit", (c, signal) => {
    child.open = false;
    onExit(signal ? `signal ${signal}` : `code ${c ?? "unknown"}`);
  });
  return child;
}

const live: ChildProcess[] = [];
afterEach(() => {
  for (const p of live.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
});

function setup(plan: { fail?: number[]; exitEarly?: number[]; handshake?: Record<number, Promise<void>> } = {}) {
  const logs: string[] = [];
  const children: Child[] = [];
  const crashes: Array<{ gen: number; why: string }> = [];
  const spawned: number[] = [];
  const supervisor = new ProcessSupervisor<Child>({
    adapter: "Test",
    name: () => "Test agent",
    child: "agent",
    logPrefix: "test",
    restartDelayMs: 5,
    async spawn(gen, onExit) {
      spawned.push(gen);
      if (plan.exitEarly?.includes(gen)) {
        // Exits after its handshake, before the supervisor makes it live.
        const child = nodeChild(gen, onExit, 7);
        live.push(child.proc);
        await once(child.proc, "exit");
        return child;
      }
      const child = nodeChild(gen, onExit);
      live.push(child.proc);
      children.push(child);
      await plan.handshake?.[gen];
      if (plan.fail?.includes(gen)) {
        child.proc.kill("SIGKILL");
        throw new Error(`handshake ${gen} failed`);
      }
      return child;
    },
    isOpen: (c) => c.open,
    pid: (c) => c.proc.pid,
    async stop(c) {
      if (!c.open) return;
      const exited = once(c.proc, "exit");
      c.proc.kill("SIGTERM");
      await exited;
    },
    onCrash: (c, why) => crashes.push({ gen: c.gen, why }),
    log: (line) => logs.push(line),
  });
  return { supervisor, logs, crashes, spawned, children };
}

describe("ProcessSupervisor", () => {
  it("hands a crash to the adapter and restarts the process", async () => {
    const { supervisor, logs, crashes } = setup();
    const first = await supervisor.start();
    expect(first.gen).toBe(1);
    expect(await supervisor.current()).toBe(first);
    first.proc.kill("SIGKILL");
    await once(first.proc, "exit");
    const second = await supervisor.current();
    expect(second.gen).toBe(2);
    expect(second.open).toBe(true);
    expect(supervisor.running).toBe(second);
    expect(crashes).toEqual([{ gen: 1, why: "Test agent exited unexpectedly (signal SIGKILL)" }]);
    expect(logs).toContain("test: Test agent exited unexpectedly (signal SIGKILL); restarting");
    expect(logs).toContainEqual(`test: agent restarted (pid ${second.proc.pid})`);
    await supervisor.close();
  });

  it("retries a restart that fails until one starts", async () => {
    const { supervisor, logs, spawned } = setup({ fail: [2, 3] });
    const first = await supervisor.start();
    first.proc.kill("SIGKILL");
    await once(first.proc, "exit");
    const next = await supervisor.current();
    expect(next.gen).toBe(4);
    expect(spawned).toEqual([1, 2, 3, 4]);
    expect(logs.filter((l) => l.startsWith("test: restart failed"))).toEqual([
      "test: restart failed: handshake 2 failed",
      "test: restart failed: handshake 3 failed",
    ]);
    await supervisor.close();
  });

  it("rejects a first start that fails, and says it was not started", async () => {
    const { supervisor } = setup({ fail: [1] });
    await expect(supervisor.start()).rejects.toThrow("handshake 1 failed");
    expect(supervisor.running).toBeUndefined();
    const fresh = setup().supervisor;
    await expect(fresh.current()).rejects.toMatchObject({ code: "AGENT_UNAVAILABLE", message: "the Test adapter was not started" });
  });

  it("restarts a process that exited between its handshake and going live", async () => {
    const { supervisor, crashes } = setup({ exitEarly: [1] });
    const first = await supervisor.start();
    expect(first.open).toBe(false);
    const next = await supervisor.current();
    expect(next.gen).toBe(2);
    expect(crashes).toEqual([{ gen: 1, why: "Test agent exited unexpectedly (code 7)" }]);
    await supervisor.close();
  });

  it("close() during a restart waits for the process that is starting and stops it", async () => {
    let finishHandshake!: () => void;
    const handshake = new Promise<void>((resolve) => (finishHandshake = resolve));
    const { supervisor, children } = setup({ handshake: { 2: handshake } });
    const first = await supervisor.start();
    first.proc.kill("SIGKILL");
    await once(first.proc, "exit");
    // Wait until the restart has spawned process 2 (its handshake is held).
    while (children.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const closed = supervisor.close();
    finishHandshake();
    await closed;
    expect(children[1]!.open).toBe(false);
    expect(supervisor.running).toBeUndefined();
  });

  it("stops the live process on close and restarts nothing after", async () => {
    const { supervisor, crashes, spawned } = setup();
    const first = await supervisor.start();
    await supervisor.close();
    expect(first.open).toBe(false);
    expect(crashes).toEqual([]);
    expect(spawned).toEqual([1]);
    expect(supervisor.running).toBeUndefined();
    await expect(supervisor.current()).rejects.toMatchObject({ code: "AGENT_UNAVAILABLE", message: "the Test adapter is closed" });
  });
});
