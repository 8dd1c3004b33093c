// Idempotency for device commands (docs/protocol.md §7, §10): a command's
// envelope id is its idempotency key, so a resend after a dropped connection or
// a host restart is answered with the outcome of the first run and the command
// is not executed again.
//
// - Entries are keyed by (device id, command id) and hold the outcome as JSON.
//   Every caller (the first one, a resend, a lookup after a restart) gets an
//   equal copy of that JSON.
// - The ledger is an append-only JSONL file (mode 0600), one
//   {"d","c","at","o"} per line, each written and fsynced before the outcome
//   is handed out. A last line cut short by a crash is dropped at open (its
//   command's answer was never sent); any other damage fails with LedgerError
//   CORRUPT naming the file.
// - Bounded: an entry lives `ttlMs` (default 7 days) and the ledger keeps the
//   newest `maxEntries` (default 10,000); older ones are forgotten, and a
//   resend of a forgotten command runs as a new one. The file holds at most
//   2 × maxEntries lines: beyond that (and at open when it holds dead lines)
//   it is rewritten with only the live entries (temp file, fsync, rename).
//   Outcomes over `maxOutcomeBytes` of JSON (default 4 KiB) are kept in memory
//   only, until the process ends: keep outcomes of side-effecting commands small.
// - once(device, command, run) runs `run` at most once per key: a concurrent
//   duplicate awaits the first run's outcome. `run` should turn failures into
//   error outcomes; if it throws, nothing is recorded and a resend runs again.
//   `recording` hands the caller the outcome while its write is on its way
//   (to prepare the answer meanwhile, and send it once the write is done).
import { mkdir, open, readFile, type FileHandle } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { appendDurably, OpenGuard, SerialQueue, writeFileAtomic } from "./durable/durable-file.ts";
import { HostError } from "./host-error.ts";

export const DEFAULT_LEDGER_MAX_ENTRIES = 10_000;
export const DEFAULT_LEDGER_TTL_MS = 7 * 24 * 60 * 60 * 1000;
export const DEFAULT_LEDGER_MAX_OUTCOME_BYTES = 4096;

const DEVICE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const COMMAND_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface CommandLedgerOptions {
  maxEntries?: number;
  ttlMs?: number;
  maxOutcomeBytes?: number;
  /** Clock (tests). */
  now?: () => number;
}

export type LedgerErrorCode = "INVALID_ARGUMENT" | "INVALID_OUTCOME" | "CORRUPT" | "WRITE_FAILED" | "IN_USE" | "CLOSED";

export class LedgerError extends HostError<LedgerErrorCode> {
  constructor(code: LedgerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "LedgerError";
  }
}

interface Entry {
  device: string;
  command: string;
  at: number;
  /** The outcome as JSON. */
  json: string;
  /** False for outcomes too large for the file. */
  persisted: boolean;
}

const openFiles = new OpenGuard();
const noop = (): void => {};
const utf8 = new TextDecoder("utf-8", { fatal: true });

function keyOf(device: string, command: string): string {
  return `${device}\n${command}`;
}

function checkIds(device: unknown, command: unknown): void {
  if (typeof device !== "string" || !DEVICE_ID.test(device))
    throw new LedgerError("INVALID_ARGUMENT", `invalid device id ${JSON.stringify(device)?.slice(0, 200)}`);
  if (typeof command !== "string" || !COMMAND_ID.test(command))
    throw new LedgerError("INVALID_ARGUMENT", `invalid command id ${JSON.stringify(command)?.slice(0, 200)}`);
}

function lineOf(e: Entry): string {
  return `{"d":${JSON.stringify(e.device)},"c":${JSON.stringify(e.command)},"at":${e.at},"o":${e.json}}\n`;
}

export interface OnceOptions<O> {
  /**
   * Called when a first run's outcome is known and its write has started,
   * with a promise that settles once the write did (rejects if it failed):
   * the caller can prepare its answer meanwhile, and send it only after.
   */
  recording?(outcome: O, durable: Promise<unknown>): void;
}

export class CommandLedger<O = unknown> {
  readonly file: string;
  /** Bytes of an unfinished last line cut off at open (0 when the file was intact). */
  readonly repairedBytes: number;
  readonly #key: string;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<O>>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #maxOutcomeBytes: number;
  readonly #now: () => number;
  readonly #queue = new SerialQueue();
  /** The file, open for appends between writes (reopened after a compaction replaced it). */
  #fh: FileHandle | undefined;
  #size = 0;
  #lines = 0;
  #closed = false;

  private constructor(file: string, options: CommandLedgerOptions, repairedBytes: number) {
    this.file = file;
    this.#key = resolve(file);
    this.repairedBytes = repairedBytes;
    this.#maxEntries = options.maxEntries ?? DEFAULT_LEDGER_MAX_ENTRIES;
    this.#ttlMs = options.ttlMs ?? DEFAULT_LEDGER_TTL_MS;
    this.#maxOutcomeBytes = options.maxOutcomeBytes ?? DEFAULT_LEDGER_MAX_OUTCOME_BYTES;
    this.#now = options.now ?? Date.now;
    for (const [name, v] of [
      ["maxEntries", this.#maxEntries],
      ["ttlMs", this.#ttlMs],
      ["maxOutcomeBytes", this.#maxOutcomeBytes],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 1) throw new LedgerError("INVALID_ARGUMENT", `${name} must be a positive integer (got ${v})`);
    }
  }

  /** Opens (creating) the ledger file, dropping a last line cut short by a crash. */
  static async open<O = unknown>(file: string, options: CommandLedgerOptions = {}): Promise<CommandLedger<O>> {
    const key = openFiles.claim(file, () => new LedgerError("IN_USE", `${file} is already open in this process`));
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const fh = await open(file, "a+", 0o600);
      let bytes: Buffer;
      try {
        bytes = await readFile(fh);
        const end = bytes.lastIndexOf(0x0a) + 1;
        if (end < bytes.length) {
          // An append that never completed: its outcome was never handed out.
          await fh.truncate(end);
          await fh.sync();
        }
        const ledger = new CommandLedger<O>(file, options, bytes.length - end);
        ledger.#load(bytes.subarray(0, end));
        return ledger;
      } finally {
        await fh.close();
      }
    } catch (e) {
      openFiles.release(key);
      throw e;
    }
  }

  #load(bytes: Buffer): void {
    this.#size = bytes.length;
    let start = 0;
    let lineNo = 0;
    while (start < bytes.length) {
      const end = bytes.indexOf(0x0a, start);
      lineNo++;
      const entry = this.#parseLine(bytes.subarray(start, end), lineNo);
      const key = keyOf(entry.device, entry.command);
      this.#entries.delete(key); // a later line for the same key (recorded after expiry) wins
      this.#entries.set(key, entry);
      start = end + 1;
    }
    this.#lines = lineNo;
    this.#prune();
    if (this.#lines > this.#entries.size) this.#enqueue(() => this.#compact()).catch(noop);
  }

  #parseLine(line: Uint8Array, lineNo: number): Entry {
    const bad = (why: string): LedgerError => new LedgerError("CORRUPT", `${this.file} is corrupt: line ${lineNo} ${why}`);
    let value: unknown;
    try {
      value = JSON.parse(utf8.decode(line));
    } catch {
      throw bad("is not UTF-8 JSON");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("is not a ledger entry");
    const r = value as Record<string, unknown>;
    if (
      Object.keys(r).length !== 4 ||
      typeof r.d !== "string" ||
      !DEVICE_ID.test(r.d) ||
      typeof r.c !== "string" ||
      !COMMAND_ID.test(r.c) ||
      !Number.isSafeInteger(r.at) ||
      (r.at as number) < 0 ||
      !("o" in r)
    ) {
      throw bad("is not a ledger entry");
    }
    return { device: r.d, command: r.c, at: r.at as number, json: JSON.stringify(r.o), persisted: true };
  }

  #check(): void {
    if (this.#closed) throw new LedgerError("CLOSED", "the command ledger is closed");
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    return this.#queue.run(fn);
  }

  /** Forgets expired entries and the oldest beyond maxEntries. */
  #prune(): void {
    const cutoff = this.#now() - this.#ttlMs;
    for (const [key, e] of this.#entries) {
      // Map order is insertion order, which is recording order.
      if (e.at > cutoff && this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(key);
    }
  }

  #live(key: string): Entry | undefined {
    const e = this.#entries.get(key);
    if (e && e.at <= this.#now() - this.#ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Live entries (recorded, not expired, not evicted). */
  get size(): number {
    this.#prune();
    return this.#entries.size;
  }

  /** The recorded outcome of this device's command, or undefined if it was never recorded (or was forgotten). */
  lookup(deviceId: string, commandId: string): O | undefined {
    this.#check();
    checkIds(deviceId, commandId);
    const e = this.#live(keyOf(deviceId, commandId));
    return e ? (JSON.parse(e.json) as O) : undefined;
  }

  /**
   * Records a command's outcome durably and returns the recorded outcome: the
   * first one recorded for the key wins, a later record() returns that one.
   */
  async record(deviceId: string, commandId: string, outcome: O): Promise<O> {
    this.#check();
    checkIds(deviceId, commandId);
    const json = this.#serialise(outcome);
    const key = keyOf(deviceId, commandId);
    const entry = this.#entryOf(deviceId, commandId, json);
    const put = async (): Promise<O> => {
      const existing = this.#live(key);
      if (existing) return JSON.parse(existing.json) as O;
      if (entry.persisted) await this.#append(entry);
      this.#insert(key, entry);
      await this.#compactIfDue();
      return JSON.parse(json) as O;
    };
    // In the write queue, so two concurrent records of one key write one line.
    return entry.persisted ? this.#enqueue(put) : put();
  }

  /**
   * Runs `run` at most once for this device's command and returns its outcome;
   * `duplicate` is true when the outcome comes from an earlier or concurrent
   * run. If recording the outcome fails, the outcome is still remembered in
   * memory (a resend gets it) and the returned promise rejects with WRITE_FAILED.
   */
  async once(deviceId: string, commandId: string, run: () => Promise<O>, options: OnceOptions<O> = {}): Promise<{ outcome: O; duplicate: boolean }> {
    this.#check();
    checkIds(deviceId, commandId);
    const key = keyOf(deviceId, commandId);
    const existing = this.#live(key);
    if (existing) return { outcome: JSON.parse(existing.json) as O, duplicate: true };
    const inflight = this.#inflight.get(key);
    if (inflight) return { outcome: await inflight, duplicate: true };
    let failed: LedgerError | undefined;
    const first = (async (): Promise<O> => {
      const outcome = await run();
      const recorded = this.#live(key); // record() was called for this key meanwhile: it wins
      if (recorded) return JSON.parse(recorded.json) as O;
      const json = this.#serialise(outcome);
      const entry = this.#entryOf(deviceId, commandId, json);
      this.#insert(key, entry); // before the write: a resend is answered even if the write fails
      if (entry.persisted) {
        try {
          const durable = this.#enqueue(async () => {
            await this.#append(entry);
            await this.#compactIfDue();
          });
          // A microtask later, once the queue has issued the write (an idle queue starts it first):
          // the caller prepares its answer while the sync is on its way, not before it starts.
          const handedOver = Promise.resolve().then(() => options.recording?.(JSON.parse(json) as O, durable));
          await Promise.all([durable, handedOver]);
        } catch (e) {
          // Waiters still get the outcome; only the first caller learns of the failure.
          failed = e instanceof LedgerError ? e : new LedgerError("WRITE_FAILED", `${this.file}: ${(e as Error).message}`, { cause: e });
        }
      }
      return JSON.parse(json) as O;
    })();
    this.#inflight.set(key, first);
    try {
      const outcome = await first;
      if (failed) throw failed;
      return { outcome, duplicate: false };
    } finally {
      this.#inflight.delete(key);
    }
  }

  #serialise(outcome: O): string {
    let json: string | undefined;
    try {
      json = JSON.stringify(outcome);
    } catch (e) {
      throw new LedgerError("INVALID_OUTCOME", `the outcome is not JSON: ${(e as Error).message}`);
    }
    if (json === undefined) throw new LedgerError("INVALID_OUTCOME", "the outcome is not JSON");
    return json;
  }

  #entryOf(device: string, command: string, json: string): Entry {
    return { device, command, at: this.#now(), json, persisted: Buffer.byteLength(json, "utf8") <= this.#maxOutcomeBytes };
  }

  #insert(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#prune();
  }

  async #append(entry: Entry): Promise<void> {
    this.#check();
    const line = Buffer.from(lineOf(entry), "utf8");
    const offset = this.#size;
    try {
      this.#fh ??= await open(this.file, "r+");
      await appendDurably(this.#fh, line, offset);
    } catch (e) {
      // Undo a partial write so later lines do not follow a torn one; the next write reopens the file.
      const fh = this.#fh;
      this.#fh = undefined;
      await fh
        ?.truncate(offset)
        .then(() => fh.sync())
        .catch(noop);
      await fh?.close().catch(noop);
      throw new LedgerError("WRITE_FAILED", `${this.file}: recording a command failed: ${(e as Error).message}`, { cause: e });
    }
    this.#size = offset + line.length;
    this.#lines++;
  }

  /** Compacts once the file holds more than 2 × maxEntries lines (call after the new entry is in memory). */
  async #compactIfDue(): Promise<void> {
    if (this.#lines <= 2 * this.#maxEntries) return;
    // A failed rewrite leaves the old file intact; it is tried again after the next record.
    await this.#compact().catch(noop);
  }

  /** Rewrites the file with the live, persisted entries only. */
  async #compact(): Promise<void> {
    this.#prune();
    const text = [...this.#entries.values()]
      .filter((e) => e.persisted)
      .map(lineOf)
      .join("");
    const data = Buffer.from(text, "utf8");
    await writeFileAtomic(this.file, data);
    // The open handle points at the replaced file.
    await this.#fh?.close().catch(noop);
    this.#fh = undefined;
    this.#size = data.length;
    this.#lines = text === "" ? 0 : text.split("\n").length - 1;
  }

  /** Lines in the file (bounded by 2 × maxEntries). */
  get fileLines(): number {
    return this.#lines;
  }

  /** Waits for pending writes, then releases the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#queue.idle();
    this.#closed = true;
    await this.#queue.idle();
    await this.#fh?.close().catch(noop);
    this.#fh = undefined;
    openFiles.release(this.#key);
  }
}
