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
import { appProtocol, fromBase64Url, toHex } from "@airlock/protocol";
import { AirlockClientError } from "./errors.ts";
import { THREAD_ID } from "./ids.ts";
import type { SavedCommand } from "./outbox.ts";
import type { Store } from "./store.ts";

export const SAVED_STATE_VERSION = 1;
export const MAX_SAVED_COMMAND_BYTES = 16 * 1024;
export const MAX_SAVED_STATE_BYTES = 512 * 1024;
export const MAX_SAVED_THREADS = 64;
/** Commands that change something on the host; a list refresh has no one to answer after a restart. */
const SAVED_TYPES = new Set(["thread.start", "thread.send", "turn.steer", "turn.interrupt", "approval.decide", "question.answer", "thread.settings"]);
const COMMAND_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SAVE_DELAY_MS = 20;

export interface SavedState {
  commands: SavedCommand[];
  threads: string[];
}

/** The store key for a host's saved state (FileStore keys are lowercase). */
export function connectionStateKey(hostId: string): string {
  const bytes = fromBase64Url(hostId);
  return `connection-${bytes ? toHex(bytes) : "unknown"}`;
}

const size = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

function validCommand(c: unknown): c is SavedCommand {
  if (typeof c !== "object" || c === null || Array.isArray(c)) return false;
  const o = c as Record<string, unknown>;
  if (typeof o.id !== "string" || !COMMAND_ID.test(o.id) || typeof o.type !== "string" || !SAVED_TYPES.has(o.type)) return false;
  if (typeof o.createdAt !== "number" || !Number.isFinite(o.createdAt) || o.createdAt <= 0) return false;
  if (o.thread !== undefined && (typeof o.thread !== "string" || !THREAD_ID.test(o.thread))) return false;
  if (typeof o.body !== "object" || o.body === null || Array.isArray(o.body) || size(c) > MAX_SAVED_COMMAND_BYTES) return false;
  try {
    appProtocol.encode({ type: o.type, id: o.id, body: o.body } as never);
  } catch {
    return false;
  }
  return true;
}

/**
 * Reads a stored record. `undefined` is an empty state; anything else that is
 * not a record for `hostId` is `corrupt` (the caller reports it). Commands
 * and threads that do not validate are dropped one by one (`dropped`).
 */
export function parseSavedState(value: unknown, hostId: string): SavedState & { corrupt?: string; dropped: number } {
  const empty = { commands: [], threads: [], dropped: 0 };
  if (value === undefined || value === null) return empty;
  if (typeof value !== "object" || Array.isArray(value)) return { ...empty, corrupt: "not a record" };
  const r = value as Record<string, unknown>;
  if (r.v !== SAVED_STATE_VERSION) return { ...empty, corrupt: `unknown version ${JSON.stringify(r.v)?.slice(0, 16)}` };
  if (r.host !== hostId) return { ...empty, corrupt: "it belongs to another host" };
  if (!Array.isArray(r.commands) || !Array.isArray(r.threads)) return { ...empty, corrupt: "commands or threads missing" };
  const commands = r.commands.filter(validCommand);
  const threads = [...new Set(r.threads.filter((t): t is string => typeof t === "string" && THREAD_ID.test(t)))].slice(0, MAX_SAVED_THREADS);
  return { commands, threads, dropped: r.commands.length - commands.length + (r.threads.length - threads.length) };
}

/** The record for `state`, within the bounds; `tooLarge` lists commands left out. */
export function savedRecord(hostId: string, state: SavedState): { record: Record<string, unknown>; tooLarge: string[] } {
  const commands: SavedCommand[] = [];
  const tooLarge: string[] = [];
  let total = 0;
  for (const c of state.commands) {
    if (!SAVED_TYPES.has(c.type)) continue;
    const n = size(c);
    if (n > MAX_SAVED_COMMAND_BYTES || total + n > MAX_SAVED_STATE_BYTES) {
      tooLarge.push(c.id);
      continue;
    }
    total += n;
    commands.push(c);
  }
  return { record: { v: SAVED_STATE_VERSION, host: hostId, commands, threads: state.threads.slice(0, MAX_SAVED_THREADS) }, tooLarge };
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
  readonly key: string;
  #o: SaverOptions;
  /** JSON of what the store holds (as far as we know). */
  #last: string;
  #dirty = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #warned = new Set<string>();

  /** `stored`: what the store held ("unreadable": a record to replace at the next write). */
  constructor(o: SaverOptions, stored: SavedState | "unreadable") {
    this.#o = o;
    this.key = connectionStateKey(o.hostId);
    this.#last = stored === "unreadable" ? "unreadable" : this.#json(savedRecord(o.hostId, stored).record);
  }

  /** Something changed: write soon (coalesced). */
  schedule(): void {
    if (this.#stopped) return;
    this.#dirty = true;
    if (this.#running || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, SAVE_DELAY_MS);
  }

  /** Writes `state` (after any write in flight) and stops saving. */
  finish(state: SavedState): Promise<void> {
    if (this.#stopped) return this.saved();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopped = true;
    const run = (this.#running ?? Promise.resolve()).then(() => this.#write(state));
    this.#running = run;
    void run.finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    return run;
  }

  /** Resolves once no write is pending. */
  async saved(): Promise<void> {
    while (this.#running || this.#timer) {
      if (this.#timer) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#run();
      }
      await this.#running;
    }
  }

  #run(): void {
    const run = (async () => {
      while (this.#dirty && !this.#stopped) {
        this.#dirty = false;
        await this.#write(this.#o.snapshot());
      }
    })();
    this.#running = run;
    void run.finally(() => {
      if (this.#running !== run) return;
      this.#running = undefined;
      if (this.#dirty) this.schedule(); // a change that came in as the last write ended
    });
  }

  #json(record: Record<string, unknown>): string {
    return (record.commands as unknown[]).length === 0 && (record.threads as unknown[]).length === 0 ? "" : JSON.stringify(record);
  }

  async #write(state: SavedState): Promise<void> {
    const { record, tooLarge } = savedRecord(this.#o.hostId, state);
    for (const id of tooLarge) {
      if (this.#warned.has(id)) continue;
      this.#warned.add(id);
      this.#o.onError(new AirlockClientError("STORAGE", `command ${id} is too large to be saved: it is kept in memory only and will not survive an app restart`));
    }
    const json = this.#json(record);
    if (json === this.#last) return;
    try {
      if (json === "") await this.#o.store.delete(this.key);
      else await this.#o.store.set(this.key, record);
      this.#last = json;
    } catch (e) {
      this.#o.onError(new AirlockClientError("STORAGE", `could not save the outbox: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
    }
  }
}
