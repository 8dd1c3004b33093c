// The host's durable record of every thread and its events: nothing a device
// was sent is lost, and after any reconnect a device gets exactly the events it
// is missing, in order (docs/protocol.md §10).
//
// Layout (directory mode 0700, files 0600)
//   <dir>/threads/<h>/meta.json     { "v": 1, "thread": ThreadSummary }, replaced atomically
//   <dir>/threads/<h>/events.jsonl  one {"seq","at","event"} per line, append-only
// where <h> is the first 32 hex digits of SHA-256(thread id): thread ids may
// hold ':' and '.', and differ only in case, which not every filesystem allows.
//
// Durability and sequence numbers
// - append() gives an event seq = lastSeq + 1, writes its line at the end of
//   the log and fsyncs the file before it resolves; the caller sends the event
//   only after that. Appends to one thread are serialised (every operation on
//   a thread runs in one queue), so seq never repeats or skips.
// - The log is the authority on lastSeq; meta.json also records a lastSeq
//   (written at creation, updates and compaction) that the log must never be
//   behind. On open each log's tail is checked: a last line without its line
//   break (a crash mid-write: that append never resolved, so its event was
//   never sent) is cut off, the repair is listed in `repairs`, and appends
//   continue from the last complete line. Any other damage (a line that is not
//   a record, a seq out of order, a log behind its metadata) fails with
//   EventStoreError CORRUPT naming the file: logs are never silently mixed or
//   renumbered. A log is checked line by line the first time it is read or
//   compacted (or at open with `verifyOnOpen`); a thread with a damaged log
//   refuses every later operation with the same error.
// - One process owns a store directory at a time (the host agent is a single
//   instance); opening the same directory twice in one process fails IN_USE.
//
// Retention (bounded storage)
// - Per thread at most `maxEventsPerThread` events (default 50,000) and
//   `maxBytesPerThread` bytes of log (default 64 MiB). When an append takes a
//   log over either limit, the log is compacted right after that append: the
//   oldest events are dropped until at most 80 % of each limit remains (the
//   newest event is always kept). Compaction copies the kept lines to a temp
//   file, fsyncs it and renames it over the log, so a crash leaves either the
//   old or the new log; seq numbers never change.
// - Events dropped by retention are reported by eventsAfter(): its events
//   start at firstAvailableSeq and `gap` is true when afterSeq + 1 <
//   firstAvailableSeq. A device that fell that far behind gets a snapshot (the
//   thread summary and the events still held) instead of an exact replay.
// - One event is at most `maxEventBytes` as a stored line (default 512 KiB,
//   the application message limit); larger events are refused (EVENT_TOO_LARGE).
// - At most `maxThreads` threads (default 200). Creating one more deletes the
//   least recently updated archived thread, else the least recently updated
//   idle or failed one; running and waiting threads are never deleted, and when
//   every thread is running or waiting createThread fails with THREAD_LIMIT.
//   (Lowering the limit applies the same rule at open.) Thread ids should not
//   be reused after a deletion: the new thread's seq starts again at 1.
// - Worst-case disk use is therefore about maxThreads × (maxBytesPerThread +
//   maxEventBytes): 12.6 GiB with the defaults, typically far less.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  appendDurably,
  firstLineBreak,
  forEachLine,
  fsyncDir,
  lastLineBreak,
  OpenGuard,
  readRange,
  writeAll,
  writeFileAtomic,
} from "./durable/durable-file.ts";
import { MAX_APP_MESSAGE_BYTES, threadEvent, threadSummary, type Effort, type ThreadEvent, type ThreadSummary } from "@airlock/protocol";
import { HostError } from "./host-error.ts";

export type ThreadStatus = ThreadSummary["status"];
export type { Effort };

export const DEFAULT_MAX_EVENTS_PER_THREAD = 50_000;
export const DEFAULT_MAX_BYTES_PER_THREAD = 64 * 1024 * 1024;
export const DEFAULT_MAX_THREADS = 200;
export const DEFAULT_MAX_EVENT_BYTES = MAX_APP_MESSAGE_BYTES;
/** Compaction keeps at most this fraction of each per-thread limit. */
export const COMPACTION_TARGET = 0.8;
/** Default page size of eventsAfter(): events and bytes. */
export const DEFAULT_PAGE_EVENTS = 1000;
export const DEFAULT_PAGE_BYTES = 4 * 1024 * 1024;
/** Per thread, the newest events kept in memory for delivery: at most this many events and bytes. */
export const TAIL_EVENTS = 4096;
export const TAIL_BYTES = 8 * 1024 * 1024;
/** All threads' in-memory tails together (the least recently appended threads' tails go first). */
export const TAIL_TOTAL_BYTES = 32 * 1024 * 1024;
/** One group commit writes at most this many bytes (more waiting appends go in the next one). */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/**
 * How long a `durable: false` summary change waits for others to share its
 * meta.json write (a request's "waiting" and its decision's "running" come
 * milliseconds apart): off the hot path, and one write instead of two.
 */
const META_DELAY_MS = 100;
/**
 * A thread's streamed output (message deltas, command output) is written at
 * most once per this window: the first chunk after a quiet spell goes at
 * once, the ones that follow within the window wait for its end and are
 * merged (coalesce). Fewer, larger events and frames under load, for at most
 * this much delay; anything else appended flushes what waits at once.
 * 50 ms: with 8 threads streaming 100 chunks a second each to 4 devices
 * (bench/pipeline.bench.ts), 20 ms halves the frames and 50 ms cuts them
 * fivefold, which is what keeps approvals quick beside them; a person
 * reading output on a phone does not see 50 ms.
 */
export const STREAM_WINDOW_MS = 50;
/** A stream with this many appends merged and waiting is written at once (its agent is waiting on them, not trickling). */
const STREAM_FLOW_APPENDS = 64;

const THREAD_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const THREAD_DIR = /^[0-9a-f]{32}$/;
/** Every INDEX_STRIDE-th line's offset is kept in memory once a log was read. */
const INDEX_STRIDE = 64;
const READ_CHUNK = 256 * 1024;
const TAIL_CHUNK = 16 * 1024;

export interface EventStoreOptions {
  maxEventsPerThread?: number;
  maxBytesPerThread?: number;
  maxThreads?: number;
  maxEventBytes?: number;
  /** Check every log line by line at open (default: tails only; full checks on first read). */
  verifyOnOpen?: boolean;
  /** Clock for createdAt/updatedAt/at (tests). */
  now?: () => number;
}

export interface StoredEvent {
  seq: number;
  /** Unix ms when the host recorded the event. */
  at: number;
  event: ThreadEvent;
}

export interface EventsPage {
  /** Consecutive events in seq order, from max(afterSeq + 1, firstAvailableSeq). */
  events: StoredEvent[];
  /** The oldest seq still stored (lastSeq + 1 when the thread has no events). */
  firstAvailableSeq: number;
  lastSeq: number;
  /** Events afterSeq + 1 … firstAvailableSeq − 1 were dropped by retention: send a snapshot. */
  gap: boolean;
  /** The page ended at the event or byte limit: ask again after the last returned seq. */
  more: boolean;
}

export interface NewThread {
  /** Generated ("t_" + 16 base64url characters) when absent. */
  id?: string;
  title: string;
  status?: ThreadStatus;
  cwd?: string;
  model?: string;
  effort?: Effort;
  pending?: number;
  /** Started by an automation token: "NAME (owner OWNER)". */
  startedBy?: string;
}

/** Fields a thread update may change; null removes an optional field. */
export interface ThreadPatch {
  title?: string;
  status?: ThreadStatus;
  cwd?: string | null;
  model?: string | null;
  effort?: Effort | null;
  pending?: number;
}

export interface ThreadStats {
  firstAvailableSeq: number;
  lastSeq: number;
  events: number;
  bytes: number;
}

export interface LogRepair {
  threadId: string;
  file: string;
  /** Bytes of the unfinished last line that were cut off. */
  droppedBytes: number;
}

export type EventStoreErrorCode =
  | "INVALID_ARGUMENT"
  | "INVALID_THREAD_ID"
  | "INVALID_EVENT"
  | "EVENT_TOO_LARGE"
  | "THREAD_EXISTS"
  | "UNKNOWN_THREAD"
  | "THREAD_LIMIT"
  | "SEQ_AHEAD"
  | "CORRUPT"
  | "WRITE_FAILED"
  | "PERMISSIONS"
  | "IN_USE"
  | "CLOSED";

export class EventStoreError extends HostError<EventStoreErrorCode> {
  constructor(code: EventStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "EventStoreError";
  }
}

interface ThreadState {
  summary: ThreadSummary;
  readonly dir: string;
  readonly log: string;
  readonly meta: string;
  /** Seq of the log's first line (lastSeq + 1 when empty). */
  firstSeq: number;
  /** Bytes in the log (all complete lines). */
  size: number;
  lastAt: number;
  /** Sparse seq → offset index; present once the whole log was checked. */
  index: { seqs: number[]; offsets: number[] } | undefined;
  /** Tail of this thread's operation queue. */
  queue: Promise<void>;
  /** Set when the log is damaged (or a failed write could not be undone): every later operation fails with it. */
  failure: EventStoreError | undefined;
  deleted: boolean;
  compactionQueued: boolean;
  /** The log, open for appends (closed around compaction and deletion). */
  fh: FileHandle | undefined;
  /** Appends waiting for the next group commit. */
  pending: PendingAppend[];
  /** A group commit is queued and has not started yet (later appends join it). */
  flushQueued: boolean;
  /** When the last group commit holding streamed output started (performance.now()). */
  lastStreamFlushAt: number;
  /** Streamed output waiting out the rest of STREAM_WINDOW_MS before its group commit. */
  streamTimer: NodeJS.Timeout | undefined;
  /** A group commit starting on the next turn of the event loop (AppendOptions.reaction). */
  nextTurn: NodeJS.Immediate | undefined;
  /** The newest durable events, in seq order, so delivery rarely reads the file. */
  tail: TailEntry[];
  tailBytes: number;
  /** meta.json writes, one at a time; `metaNext` is a write not started yet (later updates join it). */
  metaQueue: Promise<void>;
  metaNext: Promise<void> | undefined;
  /** Starts a write that is waiting out META_DELAY_MS now. */
  metaKick: (() => void) | undefined;
}

export interface AppendOptions {
  /** Merge into waiting output of the same item, and write streams once per STREAM_WINDOW_MS (see append()). */
  coalesce?: boolean;
  /**
   * Something reacts to this event at once and appends right behind it (an
   * agent acting on the verdict an approval.resolved carries): the write
   * starts on the next turn of the event loop, so both share one fsync.
   */
  reaction?: boolean;
}

interface PendingAppend {
  event: ThreadEvent;
  /** Whether later output of the same item may be merged into this event while it waits. */
  coalesce: boolean;
  /** UTF-8 bytes of its text (a delta's text, an output's chunk), for the merge limit. */
  textBytes: number;
  /** Its callers: more than one when appends were merged into it. */
  waiters: { resolve(value: { seq: number; at: number }): void; reject(error: unknown): void }[];
}

/** Longest text a merged message.delta or command.output may carry (the protocol's limit). */
const MAX_COALESCED_TEXT = 65536;
/**
 * And at most this many UTF-8 bytes: with its envelope the event then fits a
 * 64 KiB padding bucket (docs/protocol.md §6.2), where a full 65,536 characters would
 * be padded to 128 KiB, doubling what is encrypted, relayed and decrypted.
 */
const MAX_COALESCED_BYTES = 60 * 1024;

/** The UTF-8 size of the text a streamed event carries (0 for others). */
function streamedTextBytes(event: ThreadEvent): number {
  if (event.kind === "message.delta") return Buffer.byteLength(event.text, "utf8");
  if (event.kind === "command.output") return Buffer.byteLength(event.chunk, "utf8");
  return 0;
}

/** `next` appended to `last` when both are output of the same item and stream and the result stays within the limit. */
function merged(last: ThreadEvent, next: ThreadEvent): ThreadEvent | undefined {
  if (
    last.kind === "message.delta" &&
    next.kind === "message.delta" &&
    last.itemId === next.itemId &&
    last.text.length + next.text.length <= MAX_COALESCED_TEXT
  ) {
    return { ...last, text: last.text + next.text };
  }
  if (
    last.kind === "command.output" &&
    next.kind === "command.output" &&
    last.itemId === next.itemId &&
    last.stream === next.stream &&
    last.chunk.length + next.chunk.length <= MAX_COALESCED_TEXT
  ) {
    return { ...last, chunk: last.chunk + next.chunk };
  }
  return undefined;
}

interface TailEntry {
  record: StoredEvent;
  /** Bytes of its line in the log. */
  bytes: number;
}

/** The JSON of events written by this process (validated when appended), so delivery need not serialise them again. */
const eventJsons = new WeakMap<StoredEvent, string>();

/**
 * The exact JSON of a stored event's `event` as validated and written by
 * append() in this process, for records durableEventsAfter() served from
 * memory; undefined for records read back from the file.
 */
export function storedEventJson(record: StoredEvent): string | undefined {
  return eventJsons.get(record);
}

/** The parts of a ThreadState that only live in memory. */
function runtimeState(): Pick<
  ThreadState,
  | "queue"
  | "failure"
  | "deleted"
  | "compactionQueued"
  | "fh"
  | "pending"
  | "flushQueued"
  | "lastStreamFlushAt"
  | "streamTimer"
  | "nextTurn"
  | "tail"
  | "tailBytes"
  | "metaQueue"
  | "metaNext"
  | "metaKick"
> {
  return {
    queue: Promise.resolve(),
    failure: undefined,
    deleted: false,
    compactionQueued: false,
    fh: undefined,
    pending: [],
    flushQueued: false,
    lastStreamFlushAt: -Infinity,
    streamTimer: undefined,
    nextTurn: undefined,
    tail: [],
    tailBytes: 0,
    metaQueue: Promise.resolve(),
    metaNext: undefined,
    metaKick: undefined,
  };
}

interface MetaFile {
  v: 1;
  thread: ThreadSummary;
}

const openDirs = new OpenGuard();
const utf8 = new TextDecoder("utf-8", { fatal: true });
const noop = (): void => {};

export function isValidThreadId(id: unknown): id is string {
  return typeof id === "string" && THREAD_ID.test(id);
}

export function newThreadId(): string {
  return "t_" + randomBytes(12).toString("base64url");
}

function threadDirName(id: string): string {
  return createHash("sha256").update(id, "utf8").digest("hex").slice(0, 32);
}

function checkThreadId(id: unknown): asserts id is string {
  if (!isValidThreadId(id)) {
    throw new EventStoreError("INVALID_THREAD_ID", `invalid thread id ${JSON.stringify(id)?.slice(0, 200)}: 1-128 of A-Z a-z 0-9 _ . : -`);
  }
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new EventStoreError("INVALID_ARGUMENT", `${name} must be an integer ≥ ${min} (got ${value})`);
}

function issues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`)
    .join("; ");
}

function corrupt(file: string, detail: string): EventStoreError {
  return new EventStoreError("CORRUPT", `${file} is corrupt: ${detail}. Move the thread's folder aside to start it afresh.`);
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

// ------------------------------------------------------------------ file helpers

// Kept as exports of this module for existing importers; they live in durable/durable-file.ts.
export { fsyncDir, writeFileAtomic };

/** Every complete line in [start, end) (see forEachLine); a line over maxLine is CORRUPT. */
function scanLines(
  fh: FileHandle,
  start: number,
  end: number,
  maxLine: number,
  file: string,
  onLine: (line: Buffer, offset: number) => boolean | void,
): Promise<number> {
  return forEachLine(fh, start, end, maxLine, (at) => corrupt(file, `the line at byte ${at} is longer than ${maxLine} bytes`), onLine);
}

function isStoredEvent(x: unknown): x is StoredEvent {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const r = x as Record<string, unknown>;
  const event = r.event as Record<string, unknown> | null | undefined;
  return (
    Object.keys(r).length === 3 &&
    Number.isSafeInteger(r.seq) &&
    (r.seq as number) >= 1 &&
    Number.isSafeInteger(r.at) &&
    (r.at as number) >= 0 &&
    typeof event === "object" &&
    event !== null &&
    !Array.isArray(event) &&
    typeof event.kind === "string"
  );
}

function parseRecord(line: Uint8Array, file: string, offset: number, expectedSeq?: number): StoredEvent {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(line));
  } catch {
    throw corrupt(file, `the line at byte ${offset} is not UTF-8 JSON`);
  }
  if (!isStoredEvent(value)) throw corrupt(file, `the line at byte ${offset} is not an event record`);
  if (expectedSeq !== undefined && value.seq !== expectedSeq) {
    throw corrupt(file, `the line at byte ${offset} has seq ${value.seq} where ${expectedSeq} was expected`);
  }
  return value;
}

function sparseIndex(firstSeq: number, offsets: readonly number[], shift = 0): { seqs: number[]; offsets: number[] } {
  const index = { seqs: [] as number[], offsets: [] as number[] };
  for (let i = 0; i < offsets.length; i += INDEX_STRIDE) {
    index.seqs.push(firstSeq + i);
    index.offsets.push(offsets[i]! - shift);
  }
  return index;
}

// ------------------------------------------------------------------ the store

export class EventStore {
  readonly dir: string;
  /** Unfinished last lines cut off at open (crash mid-write). */
  readonly repairs: LogRepair[] = [];
  readonly #threadsDir: string;
  readonly #threads = new Map<string, ThreadState>();
  /** Ids being created (reserved before their files exist). */
  readonly #creating = new Set<string>();
  /** Serialises thread creation, deletion and eviction. */
  #structure: Promise<void> = Promise.resolve();
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #maxThreads: number;
  readonly #maxEventBytes: number;
  /** Longest acceptable line when reading (the event limit plus the record's own fields). */
  readonly #maxLine: number;
  readonly #now: () => number;
  /** Threads with events in memory, least recently appended first, and their tails' bytes. */
  readonly #tailed = new Map<ThreadState, number>();
  #tailTotal = 0;
  #closed = false;
  #key: string;

  private constructor(dir: string, options: EventStoreOptions) {
    this.dir = dir;
    this.#key = resolve(dir);
    this.#threadsDir = join(dir, "threads");
    this.#maxEvents = options.maxEventsPerThread ?? DEFAULT_MAX_EVENTS_PER_THREAD;
    this.#maxBytes = options.maxBytesPerThread ?? DEFAULT_MAX_BYTES_PER_THREAD;
    this.#maxThreads = options.maxThreads ?? DEFAULT_MAX_THREADS;
    this.#maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.#maxLine = Math.max(this.#maxEventBytes, DEFAULT_MAX_EVENT_BYTES) + 1024;
    this.#now = options.now ?? Date.now;
    checkCount("maxEventsPerThread", this.#maxEvents, 1);
    checkCount("maxBytesPerThread", this.#maxBytes, 1);
    checkCount("maxThreads", this.#maxThreads, 1);
    checkCount("maxEventBytes", this.#maxEventBytes, 64);
  }

  /** Opens (creating with mode 0700) the store in `dir`, repairing logs cut short by a crash. */
  static async open(dir: string, options: EventStoreOptions = {}): Promise<EventStore> {
    const store = new EventStore(dir, options);
    openDirs.claim(store.#key, () => new EventStoreError("IN_USE", `${dir} is already open in this process`));
    try {
      await store.#load(options.verifyOnOpen === true);
    } catch (e) {
      openDirs.release(store.#key);
      throw e;
    }
    return store;
  }

  async #load(verify: boolean): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    if (process.platform !== "win32") {
      const mode = (await stat(this.dir)).mode & 0o777;
      if ((mode & 0o077) !== 0) {
        throw new EventStoreError(
          "PERMISSIONS",
          `${this.dir} is accessible by other users (mode ${mode.toString(8).padStart(3, "0")}); run: chmod 700 ${this.dir}`,
        );
      }
    }
    await mkdir(this.#threadsDir, { recursive: true, mode: 0o700 });
    for (const name of (await readdir(this.#threadsDir)).sort()) {
      const path = join(this.#threadsDir, name);
      if (name.startsWith(".trash-")) {
        await rm(path, { recursive: true, force: true }); // a deletion interrupted by a crash
        continue;
      }
      if (!THREAD_DIR.test(name)) continue; // not ours (.DS_Store and the like)
      const st = await this.#loadThread(path, name);
      if (!st) continue;
      if (verify) await this.#scan(st);
      this.#threads.set(st.summary.id, st);
    }
    while (this.#threads.size > this.#maxThreads) {
      const victim = this.#evictionCandidate();
      if (!victim) break;
      await this.#deleteState(victim);
    }
  }

  async #loadThread(dir: string, name: string): Promise<ThreadState | undefined> {
    const meta = join(dir, "meta.json");
    const log = join(dir, "events.jsonl");
    await rm(meta + ".tmp", { force: true });
    await rm(log + ".tmp", { force: true });
    let text: string;
    try {
      text = await readFile(meta, "utf8");
    } catch (e) {
      if (errno(e) !== "ENOENT") throw e;
      // createThread writes meta.json last: without it the thread was never
      // created (and never had events), so the folder is a crash leftover.
      const size = await stat(log).then(
        (s) => s.size,
        () => 0,
      );
      if (size > 0) throw corrupt(log, "its thread has no meta.json");
      await rm(dir, { recursive: true, force: true });
      return undefined;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw corrupt(meta, "not JSON");
    }
    const file = parsed as Partial<MetaFile> | null;
    const summary = threadSummary.safeParse(file?.thread);
    if (file?.v !== 1 || Object.keys(file).length !== 2 || !summary.success) {
      throw corrupt(meta, summary.success ? "not an Airlock thread record" : issues(summary.error));
    }
    const thread = summary.data;
    if (threadDirName(thread.id) !== name) throw corrupt(meta, `thread ${thread.id} is stored under the wrong folder`);

    const st: ThreadState = {
      summary: thread,
      dir,
      log,
      meta,
      firstSeq: thread.lastSeq + 1,
      size: 0,
      lastAt: thread.updatedAt,
      index: undefined,
      ...runtimeState(),
    };
    let fh: FileHandle;
    try {
      fh = await open(log, "r+");
    } catch (e) {
      if (errno(e) !== "ENOENT") throw e;
      if (thread.lastSeq > 0) throw corrupt(log, `missing, but ${meta} records events up to seq ${thread.lastSeq}`);
      await this.#createEmptyLog(log, dir);
      return st;
    }
    try {
      const size = (await fh.stat()).size;
      const tailLimit = this.#maxLine + TAIL_CHUNK;
      const lastBreak = await lastLineBreak(fh, size, Math.max(0, size - tailLimit));
      if (lastBreak === -1 && size > tailLimit) throw corrupt(log, `no line break in its last ${tailLimit} bytes`);
      const end = lastBreak + 1;
      if (end < size) {
        // An append that never completed (and so was never acknowledged or sent).
        await fh.truncate(end);
        await fh.sync();
        this.repairs.push({ threadId: thread.id, file: log, droppedBytes: size - end });
      }
      st.size = end;
      let lastSeq = 0;
      if (end > 0) {
        const prevBreak = await lastLineBreak(fh, lastBreak, Math.max(0, lastBreak - this.#maxLine - 1));
        if (prevBreak === -1 && lastBreak > this.#maxLine) throw corrupt(log, `the line ending at byte ${lastBreak} is too long`);
        const last = parseRecord(await readRange(fh, prevBreak + 1, lastBreak), log, prevBreak + 1);
        const firstBreak = prevBreak === -1 ? lastBreak : await firstLineBreak(fh, 0, Math.min(end, this.#maxLine + 1));
        if (firstBreak === -1) throw corrupt(log, "its first line is too long");
        const first = parseRecord(await readRange(fh, 0, firstBreak), log, 0);
        if (first.seq > last.seq) throw corrupt(log, `its first seq ${first.seq} is after its last seq ${last.seq}`);
        if (last.seq - first.seq > end) throw corrupt(log, `seq ${first.seq}…${last.seq} cannot fit in ${end} bytes`);
        st.firstSeq = first.seq;
        st.lastAt = Math.max(st.lastAt, last.at);
        lastSeq = last.seq;
      }
      if (lastSeq < thread.lastSeq) throw corrupt(log, `it ends at seq ${lastSeq} but ${meta} records seq ${thread.lastSeq}`);
      if (end === 0) st.firstSeq = lastSeq + 1;
      thread.lastSeq = lastSeq;
      thread.updatedAt = Math.max(thread.updatedAt, st.lastAt);
    } finally {
      await fh.close();
    }
    return st;
  }

  async #createEmptyLog(log: string, dir: string): Promise<void> {
    const fh = await open(log, "w", 0o600);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsyncDir(dir);
  }

  // ---------------------------------------------------------------- queues

  #check(): void {
    if (this.#closed) throw new EventStoreError("CLOSED", "the event store is closed");
  }

  #state(threadId: string): ThreadState {
    this.#check();
    checkThreadId(threadId);
    const st = this.#threads.get(threadId);
    if (!st) throw new EventStoreError("UNKNOWN_THREAD", `unknown thread ${threadId}`);
    return st;
  }

  /** Runs fn after every earlier operation on the thread (a damaged thread only admits deletion). */
  #exclusive<T>(st: ThreadState, fn: () => Promise<T>, evenIfFailed = false): Promise<T> {
    const run = async (): Promise<T> => {
      if (st.deleted) throw new EventStoreError("UNKNOWN_THREAD", `unknown thread ${st.summary.id}`);
      if (st.failure && !evenIfFailed) throw st.failure;
      return fn();
    };
    const result = st.queue.then(run);
    st.queue = result.then(noop, noop);
    return result;
  }

  #structural<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#structure.then(fn);
    this.#structure = result.then(noop, noop);
    return result;
  }

  // ---------------------------------------------------------------- threads

  /** Creates a thread (lastSeq 0). Beyond maxThreads, evicts per the retention policy first. */
  async createThread(init: NewThread): Promise<ThreadSummary> {
    this.#check();
    const id = init.id ?? newThreadId();
    checkThreadId(id);
    if (this.#threads.has(id) || this.#creating.has(id)) throw new EventStoreError("THREAD_EXISTS", `thread ${id} exists`);
    const now = this.#now();
    const candidate: Record<string, unknown> = {
      id,
      title: init.title,
      status: init.status ?? "idle",
      createdAt: now,
      updatedAt: now,
      lastSeq: 0,
      pending: init.pending ?? 0,
    };
    if (init.cwd !== undefined) candidate.cwd = init.cwd;
    if (init.model !== undefined) candidate.model = init.model;
    if (init.effort !== undefined) candidate.effort = init.effort;
    if (init.startedBy !== undefined) candidate.startedBy = init.startedBy;
    const parsed = threadSummary.safeParse(candidate);
    if (!parsed.success) throw new EventStoreError("INVALID_ARGUMENT", `invalid thread: ${issues(parsed.error)}`);
    const summary = parsed.data;

    this.#creating.add(id);
    try {
      return await this.#structural(async () => {
        this.#check();
        while (this.#threads.size >= this.#maxThreads) {
          const victim = this.#evictionCandidate();
          if (!victim) {
            throw new EventStoreError("THREAD_LIMIT", `${this.#threads.size} threads are running or waiting (limit ${this.#maxThreads})`);
          }
          await this.#exclusive(victim, () => this.#deleteState(victim), true);
        }
        const dir = join(this.#threadsDir, threadDirName(id));
        // A folder left by a failed earlier attempt holds no meta.json: clear it.
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { mode: 0o700 });
        const st: ThreadState = {
          summary,
          dir,
          log: join(dir, "events.jsonl"),
          meta: join(dir, "meta.json"),
          firstSeq: 1,
          size: 0,
          lastAt: now,
          index: { seqs: [], offsets: [] },
          ...runtimeState(),
        };
        await this.#createEmptyLog(st.log, dir);
        await this.#writeMeta(st, summary); // last: meta.json marks the thread as created
        await fsyncDir(this.#threadsDir);
        this.#threads.set(id, st);
        return { ...summary };
      });
    } finally {
      this.#creating.delete(id);
    }
  }

  /**
   * Changes a thread's summary fields (updatedAt becomes now) and persists
   * them. The change is visible (getThread, listThreads) at once; the promise
   * resolves once meta.json holds it, or at once with `{ durable: false }` (the
   * write still happens, in the background: for fields the host recovers
   * after a crash anyway, such as the pending count). meta.json writes do not
   * wait for appends, and updates that come together share one write.
   */
  updateThread(threadId: string, patch: ThreadPatch, options: { durable?: boolean } = {}): Promise<ThreadSummary> {
    const st = this.#state(threadId);
    if (st.failure) return Promise.reject(st.failure);
    const next: Record<string, unknown> = { ...st.summary, updatedAt: Math.max(st.summary.updatedAt, this.#now()) };
    for (const key of ["title", "status", "pending", "cwd", "model", "effort"] as const) {
      if (!(key in patch)) continue;
      const value = patch[key];
      if (value === null) delete next[key];
      else if (value !== undefined) next[key] = value;
    }
    const parsed = threadSummary.safeParse(next);
    if (!parsed.success) return Promise.reject(new EventStoreError("INVALID_ARGUMENT", `invalid thread update: ${issues(parsed.error)}`));
    // lastSeq and updatedAt may have moved on while parsing (appends run meanwhile): keep the newest.
    st.summary = { ...parsed.data, lastSeq: st.summary.lastSeq, updatedAt: Math.max(parsed.data.updatedAt, st.summary.updatedAt) };
    const summary = { ...st.summary };
    const written = this.#persistMeta(st, options.durable === false ? META_DELAY_MS : 0);
    if (options.durable === false) {
      written.catch(noop); // retried by the next write of this thread's meta.json
      return Promise.resolve(summary);
    }
    return written.then(() => summary);
  }

  /**
   * Writes the thread's current summary to meta.json (atomically). A call
   * while a write is waiting to start joins it: that write takes the summary
   * as it is when it starts. The summary's lastSeq is always durable in the
   * log (it moves only after the fsync), so meta.json never gets ahead of it.
   */
  #persistMeta(st: ThreadState, delayMs = 0): Promise<void> {
    if (st.metaNext) {
      if (delayMs === 0) st.metaKick?.(); // a durable change does not wait out another's delay
      return st.metaNext;
    }
    const start =
      delayMs === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delayMs);
            st.metaKick = () => {
              clearTimeout(timer);
              resolve();
            };
          });
    const run = Promise.all([start, st.metaQueue]).then(async () => {
      st.metaNext = undefined;
      st.metaKick = undefined;
      if (st.deleted) return;
      const file: MetaFile = { v: 1, thread: st.summary };
      await writeFileAtomic(st.meta, JSON.stringify(file) + "\n");
    });
    st.metaNext = run;
    st.metaQueue = run.then(noop, noop);
    return run;
  }

  /** Deletes a thread and all its events. */
  deleteThread(threadId: string): Promise<void> {
    const st = this.#state(threadId);
    return this.#structural(() => this.#exclusive(st, () => this.#deleteState(st), true));
  }

  getThread(threadId: string): ThreadSummary | undefined {
    this.#check();
    const st = isValidThreadId(threadId) ? this.#threads.get(threadId) : undefined;
    return st ? { ...st.summary } : undefined;
  }

  /** Every thread, most recently updated first. */
  listThreads(): ThreadSummary[] {
    this.#check();
    return [...this.#threads.values()].map((st) => ({ ...st.summary })).sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? -1 : 1));
  }

  /** What a thread's log holds, after every earlier operation on it (including compaction). */
  stats(threadId: string): Promise<ThreadStats> {
    let st: ThreadState;
    try {
      st = this.#state(threadId);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#exclusive(st, async () => ({
      firstAvailableSeq: st.firstSeq,
      lastSeq: st.summary.lastSeq,
      events: st.summary.lastSeq - st.firstSeq + 1,
      bytes: st.size,
    }));
  }

  async #writeMeta(st: ThreadState, summary: ThreadSummary): Promise<void> {
    const file: MetaFile = { v: 1, thread: summary };
    await writeFileAtomic(st.meta, JSON.stringify(file) + "\n");
  }

  async #closeLog(st: ThreadState): Promise<void> {
    const fh = st.fh;
    st.fh = undefined;
    await fh?.close().catch(noop);
  }

  #evictionCandidate(): ThreadState | undefined {
    let best: ThreadState | undefined;
    const rank = (s: ThreadStatus): number => (s === "archived" ? 0 : s === "idle" || s === "failed" ? 1 : 2);
    for (const st of this.#threads.values()) {
      const r = rank(st.summary.status);
      if (r === 2) continue;
      if (!best) best = st;
      else {
        const rb = rank(best.summary.status);
        if (r < rb || (r === rb && st.summary.updatedAt < best.summary.updatedAt)) best = st;
      }
    }
    return best;
  }

  async #deleteState(st: ThreadState): Promise<void> {
    st.deleted = true;
    this.#threads.delete(st.summary.id);
    this.#dropTail(st);
    st.metaKick?.();
    await st.metaQueue; // a meta.json write in progress lands in the folder before it moves
    await this.#closeLog(st);
    const trash = join(this.#threadsDir, `.trash-${randomBytes(8).toString("hex")}`);
    await rename(st.dir, trash);
    await fsyncDir(this.#threadsDir);
    await rm(trash, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------- events

  /**
   * Records an event durably (written and fsynced) and returns its seq.
   * Send the event only after this resolves. Appends to a thread that arrive
   * while its previous write is on its way are written together and share one
   * fsync (group commit); each still resolves only once its own line is durable.
   *
   * `coalesce`: a message.delta or command.output that arrives while an
   * earlier one of the same item (and stream) still waits for its write is
   * merged into it (text concatenated, up to 60 KiB of UTF-8 and the protocol's 65,536
   * characters), and a thread's stream is written at most once per
   * STREAM_WINDOW_MS: the first chunk after a quiet spell goes at once, the
   * ones within the window of the last write wait for its end (any other
   * event flushes them at once). Under load a stream becomes fewer, larger
   * events. Merged appends resolve with the merged event's seq.
   */
  append(threadId: string, event: ThreadEvent, options: AppendOptions = {}): Promise<{ seq: number; at: number }> {
    let st: ThreadState;
    try {
      st = this.#state(threadId);
    } catch (e) {
      return Promise.reject(e);
    }
    const parsed = threadEvent.safeParse(event);
    if (!parsed.success) return Promise.reject(new EventStoreError("INVALID_EVENT", `invalid event: ${issues(parsed.error)}`));
    const coalesce = options.coalesce === true && (parsed.data.kind === "message.delta" || parsed.data.kind === "command.output");
    return new Promise((resolve, reject) => {
      const last = st.pending.at(-1);
      const textBytes = coalesce ? streamedTextBytes(parsed.data) : 0;
      const joined = coalesce && last?.coalesce && last.textBytes + textBytes <= MAX_COALESCED_BYTES ? merged(last.event, parsed.data) : undefined;
      if (joined && last) {
        last.event = joined;
        last.textBytes += textBytes;
        last.waiters.push({ resolve, reject });
      } else {
        st.pending.push({ event: parsed.data, coalesce, textBytes, waiters: [{ resolve, reject }] });
      }
      // A stream in full flow (many appends already waiting) gains nothing from waiting longer.
      const wait =
        coalesce && st.pending.length === 1 && st.pending[0]!.waiters.length < STREAM_FLOW_APPENDS
          ? st.lastStreamFlushAt + STREAM_WINDOW_MS - performance.now()
          : 0;
      if (wait > 0) this.#flushAfter(st, wait);
      else if (options.reaction) this.#flushNextTurn(st);
      else this.#flushNow(st);
    });
  }

  /** Appends of the thread waiting for their write (merged ones counted one by one). */
  waitingAppends(threadId: string): number {
    const st = this.#threads.get(threadId);
    return st ? st.pending.reduce((n, p) => n + p.waiters.length, 0) : 0;
  }

  /** Streamed output in the window of the thread's last one: written when the window ends (unless something flushes first). */
  #flushAfter(st: ThreadState, ms: number): void {
    if (st.streamTimer || st.flushQueued) return;
    st.streamTimer = setTimeout(() => this.#flushNow(st), ms);
  }

  /** Starts the group commit on the next turn of the event loop: what the caller's code appends meanwhile shares it. */
  #flushNextTurn(st: ThreadState): void {
    if (st.streamTimer || st.nextTurn || st.flushQueued) return;
    st.nextTurn = setImmediate(() => this.#flushNow(st));
  }

  #flushNow(st: ThreadState): void {
    if (st.streamTimer) clearTimeout(st.streamTimer);
    if (st.nextTurn) clearImmediate(st.nextTurn);
    st.streamTimer = undefined;
    st.nextTurn = undefined;
    this.#scheduleFlush(st);
  }

  /** Queues a group commit of the thread's waiting appends, unless one is queued and not started yet. */
  #scheduleFlush(st: ThreadState): void {
    if (st.flushQueued) return;
    st.flushQueued = true;
    this.#exclusive(st, () => this.#flush(st)).catch((e: unknown) => {
      // The thread refused it (deleted, damaged): every waiting append fails the same way.
      st.flushQueued = false;
      for (const p of st.pending.splice(0)) for (const w of p.waiters) w.reject(e);
    });
  }

  async #flush(st: ThreadState): Promise<void> {
    st.flushQueued = false;
    const at = Math.max(this.#now(), st.lastAt);
    const batch: { p: PendingAppend; record: StoredEvent; line: Buffer }[] = [];
    let bytes = 0;
    let seq = st.summary.lastSeq;
    while (st.pending.length > 0 && bytes < MAX_BATCH_BYTES) {
      const p = st.pending.shift()!;
      const record: StoredEvent = { seq: seq + 1, at, event: p.event };
      const json = JSON.stringify(p.event);
      // Byte for byte JSON.stringify(record): the key order is seq, at, event.
      const line = Buffer.from(`{"seq":${record.seq},"at":${at},"event":${json}}\n`, "utf8");
      if (line.length > this.#maxEventBytes) {
        const error = new EventStoreError("EVENT_TOO_LARGE", `a ${p.event.kind} event of ${line.length} bytes is over the ${this.#maxEventBytes}-byte limit`);
        for (const w of p.waiters) w.reject(error);
        continue;
      }
      seq += 1;
      eventJsons.set(record, json);
      batch.push({ p, record, line });
      bytes += line.length;
    }
    if (st.pending.length > 0) this.#scheduleFlush(st); // the rest: the next commit, right after this one
    if (batch.length === 0) return;
    if (batch.some((b) => b.p.coalesce)) st.lastStreamFlushAt = performance.now();
    const offset = st.size;
    try {
      st.fh ??= await open(st.log, "r+");
      await appendDurably(
        st.fh,
        batch.length === 1
          ? batch[0]!.line
          : Buffer.concat(
              batch.map((b) => b.line),
              bytes,
            ),
        offset,
      );
    } catch (e) {
      // Undo a partial write so the next append does not follow a torn line (nothing to undo when the log did not open).
      const fh = st.fh;
      if (fh) {
        try {
          await fh.truncate(offset);
          await fh.sync();
        } catch {
          st.failure = new EventStoreError("WRITE_FAILED", `${st.log}: a failed append could not be undone; reopen the store to repair it`, { cause: e });
        }
      }
      await this.#closeLog(st);
      const error = new EventStoreError("WRITE_FAILED", `${st.log}: append failed: ${(e as Error).message}`, { cause: e });
      for (const b of batch) for (const w of b.p.waiters) w.reject(error);
      return;
    }
    let position = offset;
    for (const { record, line } of batch) {
      if (st.index && (record.seq - st.firstSeq) % INDEX_STRIDE === 0) {
        st.index.seqs.push(record.seq);
        st.index.offsets.push(position);
      }
      position += line.length;
      st.tail.push({ record, bytes: line.length });
      st.tailBytes += line.length;
    }
    st.size = position;
    st.summary.lastSeq = seq;
    st.summary.updatedAt = Math.max(st.summary.updatedAt, at);
    st.lastAt = at;
    this.#trimTail(st);
    for (const { p, record } of batch) for (const w of p.waiters) w.resolve({ seq: record.seq, at });
    if (this.#overLimits(st) && !st.compactionQueued) {
      // Queued now: it runs before any operation on this thread requested
      // after these appends resolve. A CORRUPT log found while compacting is
      // kept in st.failure; other errors (disk full) are retried on the next append.
      st.compactionQueued = true;
      void this.#exclusive(st, () => {
        st.compactionQueued = false;
        return this.#compact(st);
      }).catch(noop);
    }
  }

  /** Keeps the thread's tail within its bounds and all tails within TAIL_TOTAL_BYTES (most recently appended kept). */
  #trimTail(st: ThreadState): void {
    let drop = 0;
    let dropped = 0;
    while (st.tail.length - drop > 1 && (st.tail.length - drop > TAIL_EVENTS || st.tailBytes - dropped > TAIL_BYTES)) dropped += st.tail[drop++]!.bytes;
    if (drop > 0) {
      st.tail.splice(0, drop);
      st.tailBytes -= dropped;
    }
    // #tailed holds what each thread's tail counted for last time; this thread moves to the recent end.
    this.#tailTotal += st.tailBytes - (this.#tailed.get(st) ?? 0);
    this.#tailed.delete(st);
    this.#tailed.set(st, st.tailBytes);
    for (const [other] of this.#tailed) {
      if (this.#tailTotal <= TAIL_TOTAL_BYTES || other === st) break;
      this.#dropTail(other);
    }
  }

  #dropTail(st: ThreadState): void {
    this.#tailTotal -= this.#tailed.get(st) ?? 0;
    this.#tailed.delete(st);
    st.tail = [];
    st.tailBytes = 0;
  }

  /** The tail's events from `from` on, or undefined when the tail does not reach back that far. */
  #fromTail(st: ThreadState, afterSeq: number, limit: number, maxBytes: number): EventsPage | undefined {
    const lastSeq = st.summary.lastSeq;
    const from = Math.max(afterSeq + 1, st.firstSeq);
    const page: EventsPage = { events: [], firstAvailableSeq: st.firstSeq, lastSeq, gap: afterSeq + 1 < st.firstSeq, more: false };
    if (from > lastSeq) return page;
    const first = st.tail[0]?.record.seq;
    if (first === undefined || from < first) return undefined;
    let bytes = 0;
    for (let i = from - first; i < st.tail.length && page.events.length < limit && bytes < maxBytes; i++) {
      page.events.push(st.tail[i]!.record);
      bytes += st.tail[i]!.bytes;
    }
    page.more = (page.events.at(-1)?.seq ?? from - 1) < lastSeq;
    return page;
  }

  /** The thread of a page request, with the page's bounds checked (throws EventStoreError). */
  #pageState(threadId: string, afterSeq: number, limit: number, maxBytes: number): ThreadState {
    const st = this.#state(threadId);
    checkCount("afterSeq", afterSeq, 0);
    checkCount("limit", limit, 1);
    checkCount("maxBytes", maxBytes, 1);
    return st;
  }

  /**
   * Like eventsAfter(), for delivery: the events that are durable now, without
   * waiting behind writes still on their way (their appends have not
   * resolved, so nobody may send them yet). Served from memory when the
   * thread's recent events reach back to afterSeq + 1; otherwise the same as eventsAfter().
   */
  durableEventsAfter(threadId: string, afterSeq: number, limit: number = DEFAULT_PAGE_EVENTS, maxBytes: number = DEFAULT_PAGE_BYTES): Promise<EventsPage> {
    let st: ThreadState;
    try {
      st = this.#pageState(threadId, afterSeq, limit, maxBytes);
    } catch (e) {
      return Promise.reject(e);
    }
    if (st.failure) return Promise.reject(st.failure);
    if (afterSeq <= st.summary.lastSeq && !st.deleted) {
      const page = this.#fromTail(st, afterSeq, limit, maxBytes);
      if (page) return Promise.resolve(page);
    }
    return this.eventsAfter(threadId, afterSeq, limit, maxBytes);
  }

  /**
   * The events after `afterSeq`, in order and without gaps, at most `limit`
   * events and about `maxBytes` bytes (always at least one event when any
   * follows). When retention dropped some of them, the page starts at
   * firstAvailableSeq and `gap` is set.
   */
  eventsAfter(threadId: string, afterSeq: number, limit: number = DEFAULT_PAGE_EVENTS, maxBytes: number = DEFAULT_PAGE_BYTES): Promise<EventsPage> {
    let st: ThreadState;
    try {
      st = this.#pageState(threadId, afterSeq, limit, maxBytes);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#exclusive(st, async () => {
      const lastSeq = st.summary.lastSeq;
      if (afterSeq > lastSeq) {
        throw new EventStoreError("SEQ_AHEAD", `thread ${threadId} ends at seq ${lastSeq}; nothing can follow seq ${afterSeq}`);
      }
      const cached = this.#fromTail(st, afterSeq, limit, maxBytes);
      if (cached) return cached;
      const from = Math.max(afterSeq + 1, st.firstSeq);
      const page: EventsPage = { events: [], firstAvailableSeq: st.firstSeq, lastSeq, gap: afterSeq + 1 < st.firstSeq, more: false };
      const index = st.index ?? (await this.#scan(st));
      // The last checkpoint at or before `from`.
      let lo = 0;
      let hi = index.seqs.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (index.seqs[mid]! <= from) lo = mid;
        else hi = mid - 1;
      }
      let expected = index.seqs[lo]!;
      let bytes = 0;
      const fh = await open(st.log, "r");
      try {
        await scanLines(fh, index.offsets[lo]!, st.size, this.#maxLine, st.log, (line, offset) => {
          const record = parseRecord(line, st.log, offset, expected++);
          if (record.seq < from) return true;
          page.events.push(record);
          bytes += line.length + 1;
          return page.events.length < limit && bytes < maxBytes;
        });
      } catch (e) {
        if (e instanceof EventStoreError && e.code === "CORRUPT") st.failure = e;
        throw e;
      } finally {
        await fh.close();
      }
      const got = page.events.at(-1)?.seq ?? from - 1;
      if (page.events.length === 0 || page.events[0]!.seq !== from) throw corrupt(st.log, `seq ${from} is missing`);
      page.more = got < lastSeq;
      return page;
    });
  }

  #overLimits(st: ThreadState): boolean {
    return st.summary.lastSeq - st.firstSeq + 1 > this.#maxEvents || st.size > this.#maxBytes;
  }

  /** Checks the whole log line by line and builds its index; returns every line's offset. */
  async #scanOffsets(st: ThreadState): Promise<number[]> {
    const offsets: number[] = [];
    let expected = st.firstSeq;
    const fh = await open(st.log, "r");
    try {
      const end = await scanLines(fh, 0, st.size, this.#maxLine, st.log, (line, offset) => {
        parseRecord(line, st.log, offset, expected++);
        offsets.push(offset);
      });
      if (end !== st.size) throw corrupt(st.log, `its last ${st.size - end} bytes are not a complete line`);
      if (expected - 1 !== st.summary.lastSeq) {
        throw corrupt(st.log, `it ends at seq ${expected - 1} where ${st.summary.lastSeq} was expected`);
      }
    } catch (e) {
      if (e instanceof EventStoreError && e.code === "CORRUPT") st.failure = e;
      throw e;
    } finally {
      await fh.close();
    }
    st.index = sparseIndex(st.firstSeq, offsets);
    return offsets;
  }

  async #scan(st: ThreadState): Promise<{ seqs: number[]; offsets: number[] }> {
    await this.#scanOffsets(st);
    return st.index!;
  }

  /** Drops the oldest events until the log is within COMPACTION_TARGET of both limits. */
  async #compact(st: ThreadState): Promise<void> {
    if (!this.#overLimits(st)) return;
    const offsets = await this.#scanOffsets(st);
    const count = offsets.length;
    const keepEvents = Math.max(1, Math.floor(this.#maxEvents * COMPACTION_TARGET));
    const keepBytes = Math.floor(this.#maxBytes * COMPACTION_TARGET);
    let drop = Math.max(0, count - keepEvents);
    while (drop < count - 1 && st.size - offsets[drop]! > keepBytes) drop++;
    if (drop === 0) return;
    const cut = offsets[drop]!;
    const tmp = st.log + ".tmp";
    const src = await open(st.log, "r");
    try {
      const dst = await open(tmp, "w", 0o600);
      try {
        const buf = Buffer.allocUnsafe(READ_CHUNK);
        for (let pos = cut; pos < st.size;) {
          const { bytesRead } = await src.read(buf, 0, Math.min(READ_CHUNK, st.size - pos), pos);
          if (bytesRead === 0) throw new Error(`${st.log} ended early while compacting`);
          await writeAll(dst, buf.subarray(0, bytesRead), pos - cut);
          pos += bytesRead;
        }
        await dst.sync();
      } finally {
        await dst.close();
      }
    } finally {
      await src.close();
    }
    await this.#closeLog(st); // the handle would point at the replaced file
    await rename(tmp, st.log);
    await fsyncDir(st.dir);
    const firstSeq = st.firstSeq + drop;
    st.index = sparseIndex(firstSeq, offsets.slice(drop), cut);
    st.firstSeq = firstSeq;
    st.size -= cut;
    const stale = st.tail.findIndex((e) => e.record.seq >= firstSeq);
    if (stale > 0) {
      const bytes = st.tail.slice(0, stale).reduce((n, e) => n + e.bytes, 0);
      st.tail.splice(0, stale);
      st.tailBytes -= bytes;
      this.#tailTotal -= bytes;
      this.#tailed.set(st, st.tailBytes);
    }
    await this.#persistMeta(st); // refreshes the lastSeq the log must never fall behind
  }

  /** Waits for every queued operation, then releases the directory. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const st of this.#threads.values()) if (st.streamTimer || st.nextTurn) this.#flushNow(st); // appends waiting for their write to start
    await this.#structure;
    // Operations may queue follow-ups (compaction): wait until every queue is still.
    for (;;) {
      const tails = [...this.#threads.values()].map((st) => st.queue);
      await Promise.all(tails);
      if ([...this.#threads.values()].every((st, i) => st.queue === tails[i])) break;
    }
    for (const st of this.#threads.values()) {
      st.metaKick?.();
      await st.metaQueue;
      await this.#closeLog(st);
    }
    openDirs.release(this.#key);
  }
}
