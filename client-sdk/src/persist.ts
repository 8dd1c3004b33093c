// What one host connection must not lose to an app restart, kept in the Store
// under "connection-<room id in hex>": the commands not yet answered (same ids,
// so a resend stays idempotent on the host) and the threads the app follows.
// Event cursors are NOT saved: events live in memory only, so after a restart a
// followed thread is fetched again from seq 0 (the host holds the history);
// a cursor without the events before it would leave the app nothing to render.
//
// Writes happen on change, coalesced: at most one write in flight and one
// pending, each with the state as it is when it starts, and nothing is written
// when the state did not change (events never cause a write). Bounded: at most
// MAX_SAVED_THREADS threads, commands up to MAX_SAVED_COMMAND_BYTES each and
// MAX_SAVED_STATE_BYTES together (larger ones live in memory only). A record
// that does not validate is ignored (reported, never trusted, never a crash).
import { deviceAppProtocol, fromBase64Url, textEncoder, toHex } from "@airlock/protocol";
import { AirlockClientError, messageOf } from "./errors.ts";
import { isThreadId } from "./ids.ts";
import type { SavedCommand } from "./outbox.ts";
import type { Store } from "./store.ts";

export const SAVED_STATE_VERSION = 1;
export const MAX_SAVED_COMMAND_BYTES = 16 * 1024;
export const MAX_SAVED_STATE_BYTES = 512 * 1024;
export const MAX_SAVED_THREADS = 64;
/** Commands that change something on the host; a list refresh has no one to answer after a restart. */
const SAVED_TYPES = new Set(["thread.start", "thread.send", "turn.steer", "turn.interrupt", "approval.decide", "question.answer", "thread.settings"]);
const SAVE_DELAY_MS = 20;

export interface SavedState {
  commands: SavedCommand[];
  threads: string[];
}

/** The store key for a host's saved state (FileStore keys are lowercase). */
export function connectionStateKey(hostId: string): string {
  return "connection-" + toHex(fromBase64Url(hostId) ?? new Uint8Array());
}

const size = (value: unknown) => textEncoder.encode(JSON.stringify(value)).length;

function validCommand(c: unknown): c is SavedCommand {
  const o = (c ?? {}) as Record<string, unknown>;
  try {
    // Cast: fields of unknown type on purpose, encode checks the id and the envelope (the host checks the body).
    deviceAppProtocol.encode({ type: o.type, id: o.id, body: o.body } as { type: string; id: string; body: unknown });
  } catch {
    return false;
  }
  // A thread the command names must be a thread id: the outbox routes by it (the host checks the rest of the body).
  return SAVED_TYPES.has(o.type as string) && typeof o.createdAt === "number" && o.createdAt > 0 && isThreadId((o.body as { thread?: unknown }).thread ?? "t");
}

/**
 * Reads a stored record (`undefined`: nothing saved). `bad` says why a record
 * was ignored, or that some of its entries were (the valid ones are kept).
 */
export function parseSavedState(value: unknown, hostId: string): SavedState & { bad?: string | undefined } {
  const r = (value ?? {}) as Record<string, unknown>;
  if (value === undefined) return { commands: [], threads: [] };
  if (r.v !== SAVED_STATE_VERSION || r.host !== hostId || !Array.isArray(r.commands) || !Array.isArray(r.threads)) {
    return { commands: [], threads: [], bad: "not a version 1 record for this host" };
  }
  const commands = r.commands.filter(validCommand);
  const threads = r.threads.filter(isThreadId);
  const dropped = r.commands.length - commands.length + r.threads.length - threads.length;
  return { commands, threads: [...new Set(threads)].slice(0, MAX_SAVED_THREADS), bad: dropped ? `${dropped} entries did not validate` : undefined };
}

export interface SaverOptions {
  store: Store;
  hostId: string;
  /** The state to save, read when a write starts. */
  snapshot(): SavedState;
  onError(error: AirlockClientError): void;
}

/** Coalescing writer of one host's saved state. */
export class ConnectionSaver {
  #o: SaverOptions;
  #key: string;
  /** JSON of what the store holds, as far as we know ("" for nothing). */
  #last: string;
  #dirty = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #busy: Promise<void> | undefined;
  /** Set by finish(): the last state to write. */
  #final: SavedState | undefined;
  #warned = new Set<string>();

  /** `stored`: what the store held; `undefined` when it held something unusable (replaced at the next write). */
  constructor(o: SaverOptions, stored: SavedState | undefined) {
    this.#o = o;
    this.#key = connectionStateKey(o.hostId);
    this.#last = stored ? this.#record(stored)[0] : "?";
  }

  /** Something changed: write soon (coalesced). */
  schedule(): void {
    if (this.#final) return;
    this.#dirty = true;
    this.#timer ??= setTimeout(() => this.#kick(), SAVE_DELAY_MS);
  }

  /** Writes `state` (after any write in flight) and stops saving. */
  finish(state: SavedState): Promise<void> {
    if (!this.#final) {
      this.#final = state;
      this.#dirty = true;
      this.#kick();
    }
    return this.saved();
  }

  /** Resolves once no write is pending. */
  async saved(): Promise<void> {
    while (this.#timer || this.#busy) {
      this.#kick();
      await this.#busy;
    }
  }

  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#dirty || this.#busy) return;
    this.#busy = (async () => {
      // At least one await before #busy is cleared, so it is never left set.
      while (this.#dirty) {
        this.#dirty = false;
        await this.#write(this.#final ?? this.#o.snapshot());
      }
      this.#busy = undefined;
    })();
  }

  /** The record's JSON ("" when empty) and the record, within the bounds. */
  #record(state: SavedState): [string, Record<string, unknown>] {
    const commands: SavedCommand[] = [];
    let total = 0;
    for (const c of state.commands) {
      const n = size(c);
      if (!SAVED_TYPES.has(c.type)) continue;
      if (n > MAX_SAVED_COMMAND_BYTES || total + n > MAX_SAVED_STATE_BYTES) {
        if (!this.#warned.has(c.id)) this.#o.onError(new AirlockClientError("STORAGE", `command ${c.id} is too large to save`));
        this.#warned.add(c.id);
        continue;
      }
      total += n;
      commands.push(c);
    }
    const record = { v: SAVED_STATE_VERSION, host: this.#o.hostId, commands, threads: state.threads.slice(0, MAX_SAVED_THREADS) };
    return [commands.length + record.threads.length ? JSON.stringify(record) : "", record];
  }

  async #write(state: SavedState): Promise<void> {
    const [json, record] = this.#record(state);
    if (json === this.#last) return;
    try {
      await (json ? this.#o.store.set(this.#key, record) : this.#o.store.delete(this.#key));
      this.#last = json;
    } catch (e) {
      this.#o.onError(new AirlockClientError("STORAGE", `could not save the outbox: ${messageOf(e)}`, { cause: e }));
    }
  }
}
