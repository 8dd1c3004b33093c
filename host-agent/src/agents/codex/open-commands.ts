// Commands Codex started and has not finished, per host thread. They are saved
// with the thread (thread-store.ts) because a command whose app-server died, or
// that a previous run of the host left running, will never finish through
// Codex: the adapter reports it ended (exit code unknown) once, with a notice
// saying why, and drops a late item/completed for it.
import type { ThreadEvent } from "@airlock/protocol";
import type { OpenCommand } from "./thread-store.ts";
import { clip } from "./mapping.ts";

/** Bound of the closed-command memory (a late item/completed is rare and recent). */
const MAX_CLOSED = 1000;
/** Bound of one thread's open commands (the oldest goes first). */
const MAX_OPEN = 1000;

export interface OpenCommandsOptions {
  emit(hostId: string, event: ThreadEvent): void;
  /** Persists the thread's open commands. */
  save(hostId: string, open: OpenCommand[]): void;
  /** The adapter reported this command ended: drop what else it keeps about it. */
  closed(itemId: string): void;
}

export class OpenCommands {
  /** Per host thread: item id → start time. */
  readonly #open = new Map<string, Map<string, number>>();
  readonly #closed = new Set<string>();
  #waiters: Array<() => void> = [];

  constructor(private readonly options: OpenCommandsOptions) {}

  /** The threads that have open commands. */
  threads(): string[] {
    return [...this.#open.keys()];
  }

  /** Commands a previous run of the host saved as open: reported ended now, once. */
  restore(hostId: string, open: OpenCommand[], reason: string): void {
    if (open.length === 0) return;
    this.#open.set(hostId, new Map(open.map((c) => [c.itemId, c.startedAt])));
    this.close(hostId, reason);
  }

  started(hostId: string, itemId: string): void {
    let open = this.#open.get(hostId);
    if (!open) this.#open.set(hostId, (open = new Map()));
    open.set(itemId, Date.now());
    if (open.size > MAX_OPEN) open.delete(open.keys().next().value as string);
    this.#save(hostId);
  }

  /** Codex reports it finished; false when the adapter already reported it (interrupt, crash): once is enough. */
  finished(hostId: string, itemId: string): boolean {
    if (this.#closed.delete(itemId)) return false;
    const open = this.#open.get(hostId);
    if (!open?.delete(itemId)) return true;
    if (open.size === 0) this.#open.delete(hostId);
    this.#save(hostId);
    this.#wake();
    return true;
  }

  /** Resolves when the thread has no open command or after timeoutMs. */
  async waitEnd(hostId: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#open.has(hostId) && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      });
      clearTimeout(timer);
    }
  }

  /** Reports the thread's open commands finished (exit code unknown), with a notice saying why. */
  close(hostId: string, reason: string): void {
    const open = this.#open.get(hostId);
    if (!open) return;
    this.#open.delete(hostId);
    this.#save(hostId);
    const now = Date.now();
    for (const [itemId, startedAt] of open) {
      this.options.closed(itemId);
      this.#closed.add(itemId);
      if (this.#closed.size > MAX_CLOSED) this.#closed.delete(this.#closed.values().next().value as string);
      this.options.emit(hostId, { kind: "command.finished", itemId, exitCode: null, durationMs: Math.max(0, now - startedAt) });
    }
    const n = open.size;
    this.options.emit(hostId, {
      kind: "notice",
      level: "warning",
      text: clip(`${n === 1 ? "A command" : `${n} commands`} ended without an exit code: ${reason}`, 4096),
    });
    this.#wake();
  }

  #save(hostId: string): void {
    this.options.save(
      hostId,
      [...(this.#open.get(hostId) ?? [])].map(([itemId, startedAt]) => ({ itemId, startedAt })),
    );
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}
