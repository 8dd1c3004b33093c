// An adapter's output to the host, strictly in arrival order through one
// queue: events (checked against the schema first), events that take I/O to
// make, and thread status. A failure is logged, never thrown, so one bad event
// cannot stall the queue. Adapters await `settled` before what must follow
// everything queued so far (an approval after its command.started).
import type { ThreadEvent } from "@airlock/protocol";
import type { AgentHost } from "../agent.ts";
import { isValidEvent } from "./payload.ts";

export type ThreadStatus = "idle" | "running" | "waiting" | "failed";

export class HostEventQueue {
  #chain: Promise<void> = Promise.resolve();

  constructor(
    /** The host (read on each use: adapters get it only at start()). */
    private readonly host: () => AgentHost,
    /** Prefix of log lines ("codex", "acp"). */
    private readonly source: string,
  ) {}

  /** Resolves once everything queued so far has been handed to the host. */
  get settled(): Promise<void> {
    return this.#chain;
  }

  emit(hostId: string, event: ThreadEvent): void {
    if (!this.#valid(event)) return;
    this.#chain = this.#chain.then(() => this.#send(hostId, event));
  }

  /** Events that take I/O to make (an image file), kept in arrival order with the rest. */
  emitLater(hostId: string, make: () => Promise<ThreadEvent[]>): void {
    this.#chain = this.#chain.then(async () => {
      let events: ThreadEvent[] = [];
      try {
        events = await make();
      } catch (error) {
        this.host().log(`${this.source}: preparing events failed: ${(error as Error).message}`);
      }
      for (const event of events) if (this.#valid(event)) await this.#send(hostId, event);
    });
  }

  status(hostId: string, status: ThreadStatus): void {
    this.#chain = this.#chain.then(() =>
      this.host()
        .status(hostId, status)
        .catch((error: Error) => this.host().log(`${this.source}: status failed: ${error.message}`)),
    );
  }

  #valid(event: ThreadEvent): boolean {
    if (isValidEvent(event)) return true;
    this.host().log(`${this.source}: dropped an invalid ${event.kind} event`);
    return false;
  }

  #send(hostId: string, event: ThreadEvent): Promise<void> {
    return this.host()
      .emit(hostId, event)
      .catch((error: Error) => this.host().log(`${this.source}: emit ${event.kind} failed: ${error.message}`));
  }
}
