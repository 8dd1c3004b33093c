// A thread's event stream as held by one host connection: events in seq order
// with no gaps or duplicates (anything at or below lastSeq is dropped), kept up
// to a bound, delivered to listeners and async iterators. Several
// ThreadSubscription views may share one stream; the host is told to stop only
// when the last view closes.
import type { ThreadEvent } from "@airlock/protocol";
import { Emitter } from "./emitter.ts";

export interface SeqEvent {
  seq: number;
  event: ThreadEvent;
}

/** Events kept per thread in memory (the host keeps the full history). */
export const MAX_EVENTS_PER_THREAD = 10_000;

export class ThreadStream {
  readonly thread: string;
  events: SeqEvent[] = [];
  lastSeq = 0;
  /** The host has been asked to deliver this thread (on every session). */
  subscribed = false;
  views = new Set<ThreadSubscription>();
  readonly emitter = new Emitter<{ event: SeqEvent }>();

  constructor(thread: string) {
    this.thread = thread;
  }

  /**
   * Accepts the next event. Returns "dup" for one already held, "gap" when
   * events are missing (the caller resubscribes), "ok" otherwise. A retention
   * notice may jump ahead: the host says which range it no longer has.
   */
  push(seq: number, event: ThreadEvent): "ok" | "dup" | "gap" {
    if (seq <= this.lastSeq) return "dup";
    if (seq !== this.lastSeq + 1 && event.kind !== "notice") return "gap";
    this.lastSeq = seq;
    const item = { seq, event };
    this.events.push(item);
    if (this.events.length > MAX_EVENTS_PER_THREAD) this.events.splice(0, this.events.length - MAX_EVENTS_PER_THREAD);
    this.emitter.emit("event", item);
    return "ok";
  }
}

export class ThreadSubscription implements AsyncIterable<SeqEvent> {
  readonly thread: string;
  #stream: ThreadStream;
  #onClose: (view: ThreadSubscription) => void;
  #closed = false;
  #stops = new Set<() => void>();

  constructor(stream: ThreadStream, onClose: (view: ThreadSubscription) => void) {
    this.thread = stream.thread;
    this.#stream = stream;
    this.#onClose = onClose;
  }

  /** Events held so far, oldest first. */
  get events(): readonly SeqEvent[] {
    return this.#stream.events;
  }

  get lastSeq(): number {
    return this.#stream.lastSeq;
  }

  get closed(): boolean {
    return this.#closed;
  }

  on(event: "event", listener: (e: SeqEvent) => void): () => void {
    if (this.#closed) return () => undefined;
    const off = this.#stream.emitter.on(event, listener);
    this.#stops.add(off);
    return () => {
      off();
      this.#stops.delete(off);
    };
  }

  /** Yields the events held so far, then live ones, until close(). */
  [Symbol.asyncIterator](): AsyncIterator<SeqEvent> {
    const queue: SeqEvent[] = [...this.#stream.events];
    let wake: (() => void) | undefined;
    let done = this.#closed;
    const off = this.#stream.emitter.on("event", (e) => {
      queue.push(e);
      wake?.();
    });
    const stop = () => {
      done = true;
      off();
      wake?.();
    };
    this.#stops.add(stop);
    return {
      next: async (): Promise<IteratorResult<SeqEvent>> => {
        for (;;) {
          const item = queue.shift();
          if (item) return { value: item, done: false };
          if (done) return { value: undefined, done: true };
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      },
      return: async (): Promise<IteratorResult<SeqEvent>> => {
        stop();
        this.#stops.delete(stop);
        return { value: undefined, done: true };
      },
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stop of [...this.#stops]) stop();
    this.#stops.clear();
    this.#onClose(this);
  }
}
