// Supervision of an adapter's agent process (Codex's app-server, an ACP agent):
// one live process at a time, numbered by generation; an unexpected exit is
// handed to the adapter (fail its turns, withdraw its requests) and the
// process is restarted with the shared backoff until one starts; callers wait
// (bounded) for a restart in progress. Spawning, the handshake and what a
// crash means for threads stay with the adapter.
import { backoffDelay } from "@airlock/protocol";
import { AgentError } from "../agent.ts";

/** Max bound of the restart delay. */
const MAX_RESTART_DELAY_MS = 30_000;
/** A process that lived this long resets the backoff. */
const STABLE_AFTER_MS = 30_000;
/** How long a caller waits for a restart in progress. */
const READY_TIMEOUT_MS = 20_000;
/** Grace before a process being stopped is killed. */
const STOP_GRACE_MS = 2000;

export interface SupervisorOptions<R extends { gen: number }> {
  /** Names in messages: "the {adapter} adapter is closed". */
  adapter: string;
  /** The process in messages ("Codex app-server", the agent's label); read each time (a label may change once the agent introduces itself). */
  name: () => string;
  /** The process in restart log lines: "{logPrefix}: {child} restarted". */
  child: string;
  logPrefix: string;
  /** Bound of the first restart delay (ms). */
  restartDelayMs: number;
  /**
   * Spawns and initialises process number `gen`; on failure it kills what it spawned and
   * rejects. `onExit(how)` must be called once the process has exited, `how` saying why
   * ("code 3", "signal SIGKILL").
   */
  spawn(gen: number, onExit: (how: string) => void): Promise<R>;
  /** False once its pipe closed (its exit may not be handled yet). */
  isOpen(running: R): boolean;
  pid(running: R): number | undefined;
  stop(running: R, graceMs: number): Promise<void>;
  /** The live process died unexpectedly, `why` saying so; called before the restart is scheduled. */
  onCrash(running: R, why: string): void;
  log(line: string): void;
}

export class ProcessSupervisor<R extends { gen: number }> {
  #running: { process: R; startedAt: number } | undefined;
  #ready: Promise<R> | undefined;
  /** A launch in progress (close() waits for it, so no process outlives the adapter). */
  #launching: Promise<R> | undefined;
  #gen = 0;
  #attempt = 0;
  #closing = false;

  constructor(private readonly options: SupervisorOptions<R>) {}

  /** The live process, if one is up. */
  get running(): R | undefined {
    return this.#running?.process;
  }

  /** The newest generation launched (events of older ones are stale). */
  get gen(): number {
    return this.#gen;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Launches the first process; rejects when it does not start. */
  start(): Promise<R> {
    this.#ready = this.#launch();
    return this.#ready;
  }

  /** The live process, waiting (bounded) for a restart in progress. */
  async current(): Promise<R> {
    if (this.#closing) throw this.#closed();
    const running = this.running;
    if (running && this.options.isOpen(running)) return running;
    if (!this.#ready) throw new AgentError("AGENT_UNAVAILABLE", `the ${this.options.adapter} adapter was not started`);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const restarting = () => new AgentError("AGENT_UNAVAILABLE", `${this.options.name()} is restarting; try again`);
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(restarting()), Math.max(0, deadline - Date.now()));
      });
      try {
        const next = await Promise.race([this.#ready, timeout]);
        if (this.options.isOpen(next)) return next;
      } finally {
        clearTimeout(timer);
      }
      // Its pipe closed but the exit (which starts the restart) is not handled yet.
      if (Date.now() > deadline) throw restarting();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Stops the live process and one still starting; no restart after this. */
  async close(): Promise<void> {
    this.#closing = true;
    const running = this.#running;
    this.#running = undefined;
    if (running) await this.options.stop(running.process, STOP_GRACE_MS);
    // A launch that sees #closing stops its process before it settles.
    await this.#launching?.catch(() => undefined);
  }

  async #launch(): Promise<R> {
    const launching = this.#spawnAndGoLive();
    this.#launching = launching;
    try {
      return await launching;
    } finally {
      if (this.#launching === launching) this.#launching = undefined;
    }
  }

  async #spawnAndGoLive(): Promise<R> {
    const gen = ++this.#gen;
    const startedAt = Date.now();
    let entry: { process: R; startedAt: number } | undefined;
    let exitedEarly: string | undefined;
    // An exit during the handshake fails the spawn (whoever launched handles that); one
    // between the handshake and this process going live is handled once it is live.
    const process = await this.options.spawn(gen, (how) => {
      if (entry) this.#exited(entry, how);
      else exitedEarly = how;
    });
    entry = { process, startedAt };
    if (this.#closing) {
      await this.options.stop(process, STOP_GRACE_MS);
      throw this.#closed();
    }
    this.#running = entry;
    if (exitedEarly !== undefined) this.#exited(entry, exitedEarly);
    return process;
  }

  #exited(entry: { process: R; startedAt: number }, how: string): void {
    // Only the live process restarts (a stopped one is no longer live).
    if (this.#closing || this.#running !== entry) return;
    this.#running = undefined;
    const why = `${this.options.name()} exited unexpectedly (${how})`;
    this.options.log(`${this.options.logPrefix}: ${why}; restarting`);
    if (Date.now() - entry.startedAt > STABLE_AFTER_MS) this.#attempt = 0;
    this.options.onCrash(entry.process, why);
    this.#ready = this.#restartLoop();
    this.#ready.catch(() => undefined);
  }

  async #restartLoop(): Promise<R> {
    for (;;) {
      const delay = backoffDelay(this.#attempt++, { baseMs: this.options.restartDelayMs, maxMs: MAX_RESTART_DELAY_MS });
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
      if (this.#closing) throw this.#closed();
      try {
        const running = await this.#launch();
        this.options.log(`${this.options.logPrefix}: ${this.options.child} restarted (pid ${this.options.pid(running) ?? "?"})`);
        return running;
      } catch (error) {
        this.options.log(`${this.options.logPrefix}: restart failed: ${(error as Error).message}`);
      }
    }
  }

  #closed(): AgentError {
    return new AgentError("AGENT_UNAVAILABLE", `the ${this.options.adapter} adapter is closed`);
  }
}
