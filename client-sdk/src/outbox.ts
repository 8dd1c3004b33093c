// Commands on their way to one host. Every command passes through here, online
// or not: queued → sent → acknowledged (with the host's result) | failed. The
// envelope id never changes, so resending after a reconnect is safe (the host
// answers a repeated id with its first outcome and does not act twice).
// Bounded: beyond `max` unsettled commands a new one fails with OUTBOX_FULL,
// and a command still queued after `ttlMs` fails with OUTBOX_EXPIRED.
// Unsettled commands can be saved and restored (persist.ts) so they survive an
// app restart; a restored command has no promise, only its entry and events.
import { AirlockClientError } from "./errors.ts";

export type OutboxState = "queued" | "sent" | "acknowledged" | "failed";

export interface OutboxEntry {
  readonly id: string;
  /** The command's message type, e.g. "approval.decide". */
  readonly type: string;
  readonly thread?: string | undefined;
  readonly state: OutboxState;
  readonly createdAt: number;
  readonly sentAt?: number;
  readonly settledAt?: number;
  /** How many times it went out (more than 1 after a reconnect). */
  readonly attempts: number;
  readonly error?: AirlockClientError;
  /** The host's result data, once acknowledged. */
  readonly result?: Record<string, unknown>;
  /** Issued before an app restart and restored from the store (no promise; watch the entry). */
  readonly restored?: boolean;
}

export interface OutboxCommand {
  id: string;
  type: string;
  body: Record<string, unknown>;
}

/** What is saved of an unsettled command (its id is kept, so a resend stays idempotent). */
export interface SavedCommand {
  id: string;
  type: string;
  body: Record<string, unknown>;
  createdAt: number;
}

export interface OutboxOptions {
  max?: number;
  ttlMs?: number;
  /** Settled entries kept for display. */
  keepSettled?: number;
  now?: () => number;
}

interface Item {
  entry: { -readonly [K in keyof OutboxEntry]: OutboxEntry[K] };
  body: Record<string, unknown>;
  resolve: (data: Record<string, unknown>) => void;
  reject: (error: AirlockClientError) => void;
}

export const DEFAULT_OUTBOX_MAX = 100;
export const DEFAULT_OUTBOX_TTL_MS = 15 * 60_000;

export class Outbox {
  readonly max: number;
  readonly ttlMs: number;
  #keepSettled: number;
  #now: () => number;
  /** Unsettled, in the order they were issued. */
  #pending = new Map<string, Item>();
  #settled: OutboxEntry[] = [];
  /** Called after any state change. */
  onChange: () => void = () => undefined;
  /** Called when the set of unsettled commands changes (added, settled, restored): what is worth saving. */
  onPendingChange: () => void = () => undefined;
  /** Called with each command's final entry. */
  onSettled: (entry: OutboxEntry) => void = () => undefined;

  constructor(options: OutboxOptions = {}) {
    this.max = options.max ?? DEFAULT_OUTBOX_MAX;
    this.ttlMs = options.ttlMs ?? DEFAULT_OUTBOX_TTL_MS;
    this.#keepSettled = options.keepSettled ?? 50;
    this.#now = options.now ?? Date.now;
  }

  /** Unsettled commands. */
  get size(): number {
    return this.#pending.size;
  }

  /** Snapshot: settled entries (oldest first) then unsettled ones in issue order. */
  get entries(): OutboxEntry[] {
    return [...this.#settled, ...[...this.#pending.values()].map((i) => ({ ...i.entry }))];
  }

  /** Adds a command; the promise settles with the host's answer (or a failure). */
  add(id: string, type: string, body: Record<string, unknown>, thread?: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const entry: Item["entry"] = { id, type, state: "queued", createdAt: this.#now(), attempts: 0, thread };
      const item: Item = { entry, body, resolve, reject };
      if (this.#pending.size >= this.max) {
        this.#finish(item, "failed", new AirlockClientError("OUTBOX_FULL", `${this.max} commands already wait for this host`));
        return;
      }
      this.#pending.set(id, item);
      this.onPendingChange();
      this.onChange();
    });
  }

  /**
   * Puts saved commands back ahead of any issued since (issue order), queued,
   * marked `restored`. Ids already held are skipped; beyond `max` the rest are
   * dropped. Returns the restored entries.
   */
  restore(saved: readonly SavedCommand[]): OutboxEntry[] {
    const restored = new Map<string, Item>();
    for (const c of saved) {
      if (this.#pending.has(c.id) || restored.has(c.id) || restored.size + this.#pending.size >= this.max) continue;
      const thread = c.body.thread;
      const entry: Item["entry"] = {
        id: c.id,
        type: c.type,
        state: "queued",
        createdAt: c.createdAt,
        attempts: 0,
        restored: true,
        thread: typeof thread === "string" ? thread : undefined,
      };
      restored.set(c.id, { entry, body: c.body, resolve: () => undefined, reject: () => undefined });
    }
    if (restored.size === 0) return [];
    this.#pending = new Map([...restored, ...this.#pending]);
    this.onPendingChange();
    this.onChange();
    return [...restored.values()].map((i) => ({ ...i.entry }));
  }

  /** Unsettled commands as saved for a restart, in issue order. */
  saved(): SavedCommand[] {
    return [...this.#pending.values()].map((i) => ({ id: i.entry.id, type: i.entry.type, body: i.body, createdAt: i.entry.createdAt }));
  }

  /** Commands to send now, in issue order. */
  queued(): OutboxCommand[] {
    return [...this.#pending.values()].filter((i) => i.entry.state === "queued").map((i) => ({ id: i.entry.id, type: i.entry.type, body: i.body }));
  }

  has(id: string): boolean {
    return this.#pending.has(id);
  }

  /** The type of an unsettled command, if `id` is one. */
  pendingType(id: string): string | undefined {
    return this.#pending.get(id)?.entry.type;
  }

  markSent(id: string): void {
    const item = this.#pending.get(id);
    if (!item || item.entry.state !== "queued") return;
    item.entry.state = "sent";
    item.entry.sentAt = this.#now();
    item.entry.attempts++;
    this.onChange();
  }

  /** After a lost session: commands that went out without an answer go again. */
  requeue(): void {
    let changed = false;
    for (const item of this.#pending.values()) {
      if (item.entry.state === "sent") {
        item.entry.state = "queued";
        changed = true;
      }
    }
    if (changed) this.onChange();
  }

  /** The host acknowledged `id`. Returns false for an id this outbox does not hold. */
  acknowledge(id: string, result: Record<string, unknown>): boolean {
    const item = this.#pending.get(id);
    if (!item) return false;
    this.#finish(item, "acknowledged", undefined, result);
    return true;
  }

  fail(id: string, error: AirlockClientError): boolean {
    const item = this.#pending.get(id);
    if (!item) return false;
    this.#finish(item, "failed", error);
    return true;
  }

  /** Fails queued commands older than ttlMs. Returns how many expired. */
  expire(): number {
    const limit = this.#now() - this.ttlMs;
    let n = 0;
    for (const item of [...this.#pending.values()]) {
      if (item.entry.state === "queued" && item.entry.createdAt <= limit) {
        this.#finish(
          item,
          "failed",
          new AirlockClientError("OUTBOX_EXPIRED", `"${item.entry.type}" could not be delivered within ${Math.round(this.ttlMs / 1000)} s`),
        );
        n++;
      }
    }
    return n;
  }

  failAll(error: AirlockClientError): void {
    for (const item of [...this.#pending.values()]) this.#finish(item, "failed", error);
  }

  #finish(item: Item, state: "acknowledged" | "failed", error?: AirlockClientError, result?: Record<string, unknown>): void {
    this.#pending.delete(item.entry.id);
    item.entry.state = state;
    item.entry.settledAt = this.#now();
    if (error) item.entry.error = error;
    if (result) item.entry.result = result;
    const final = { ...item.entry };
    this.#settled.push(final);
    if (this.#settled.length > this.#keepSettled) this.#settled.splice(0, this.#settled.length - this.#keepSettled);
    this.onPendingChange();
    this.onChange();
    this.onSettled({ ...final });
    if (error) item.reject(error);
    else item.resolve(result ?? {});
  }
}
