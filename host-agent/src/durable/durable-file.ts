// The host's durable-file primitives, in one place: every store (event store,
// command ledger, audit log, device list, push subscriptions, agent state
// files) writes through these, so a fix lands everywhere at once.
//
// - writeAll: a positioned write that loops until every byte is written.
// - appendDurably: writeAll + fdatasync, the small ones written synchronously.
// - fsyncDir: makes a directory's entries (created, renamed, removed files)
//   durable; filesystems that cannot fsync a directory (EINVAL, ENOTSUP,
//   EISDIR on some) are tolerated, Windows is skipped.
// - writeFileAtomic(Sync): temp file → write → fsync → rename → fsync of the
//   directory: a reader (or a crash) sees the old or the new content, never a mix.
// - Line scanning: forEachLine / lastLineBreak / firstLineBreak / readRange for
//   JSONL logs read in bounded chunks.
// - OpenGuard: "already open in this process" for files or directories one
//   object must own.
// - SerialQueue: runs async jobs one after another; a failed job does not stop
//   the ones after it.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname, resolve } from "node:path";

const LF = 0x0a;
const SCAN_CHUNK = 256 * 1024;
const TAIL_CHUNK = 16 * 1024;

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** Errors of fsync on a directory that mean "this filesystem does not do that", not "the data is lost". */
export function isDirSyncUnsupported(e: unknown): boolean {
  const code = errno(e);
  return code === "EINVAL" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "EISDIR";
}

/** Writes all of `data` at `position` (a short write is continued, never silently dropped). */
export async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw new Error("write made no progress");
    done += bytesWritten;
  }
}

function writeAllSync(fd: number, data: Uint8Array, position = 0): void {
  let done = 0;
  while (done < data.length) {
    const n = writeSync(fd, data, done, data.length - done, position + done);
    if (n <= 0) throw new Error("write made no progress");
    done += n;
  }
}

/**
 * Appends below this size are copied into the page cache synchronously: that
 * costs microseconds, less than a round trip to the thread pool and back.
 */
const SYNC_WRITE_MAX = 64 * 1024;

/**
 * Writes `data` at `position` and resolves once it is durable: fdatasync
 * flushes the data and what reading it back needs (the file's size), not
 * timestamps. The hot path of every log (events, command ledger, audit), so a
 * small append costs one thread-pool round trip (the sync), not two.
 */
export async function appendDurably(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  if (data.length <= SYNC_WRITE_MAX) writeAllSync(fh.fd, data, position);
  else await writeAll(fh, data, position);
  await fh.datasync();
}

/** Makes a directory's entries (created, renamed, removed files) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === "win32") return; // directories cannot be fsynced there
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } catch (e) {
    if (!isDirSyncUnsupported(e)) throw e;
  } finally {
    await fh.close();
  }
}

export function fsyncDirSync(dir: string): void {
  if (process.platform === "win32") return;
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } catch (e) {
    if (!isDirSyncUnsupported(e)) throw e;
  } finally {
    closeSync(fd);
  }
}

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0600). */
  mode?: number;
  /**
   * A temp name of its own per write (<file>.<pid>.<random>.tmp) for files
   * other processes may replace too; default <file>.tmp, which the owner
   * removes at open (a crash leftover).
   */
  uniqueTemp?: boolean;
}

function tempName(file: string, options: AtomicWriteOptions): string {
  return options.uniqueTemp ? `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp` : `${file}.tmp`;
}

const bytesOf = (data: string | Uint8Array): Uint8Array => (typeof data === "string" ? Buffer.from(data, "utf8") : data);

/** Replaces `file` via a fsynced temp file, a rename and a fsync of its directory. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempName(file, options);
  try {
    const fh = await open(tmp, "w", options.mode ?? 0o600);
    try {
      await writeAll(fh, bytesOf(data), 0);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dirname(file));
}

/** writeFileAtomic for synchronous callers (small files: device list, push subscriptions). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const tmp = tempName(file, options);
  try {
    const fd = openSync(tmp, "w", options.mode ?? 0o600);
    try {
      writeAllSync(fd, bytesOf(data));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDirSync(dirname(file));
}

// ------------------------------------------------------------------ line scanning

/** Position of the last line break in [lowest, end), or -1. */
export async function lastLineBreak(fh: FileHandle, end: number, lowest: number): Promise<number> {
  const buf = Buffer.allocUnsafe(TAIL_CHUNK);
  let hi = end;
  while (hi > lowest) {
    const lo = Math.max(lowest, hi - TAIL_CHUNK);
    const { bytesRead } = await fh.read(buf, 0, hi - lo, lo);
    const i = buf.subarray(0, bytesRead).lastIndexOf(LF);
    if (i !== -1) return lo + i;
    hi = lo;
  }
  return -1;
}

/** Position of the first line break in [start, highest), or -1. */
export async function firstLineBreak(fh: FileHandle, start: number, highest: number): Promise<number> {
  const buf = Buffer.allocUnsafe(TAIL_CHUNK);
  let lo = start;
  while (lo < highest) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(TAIL_CHUNK, highest - lo), lo);
    if (bytesRead === 0) break;
    const i = buf.subarray(0, bytesRead).indexOf(LF);
    if (i !== -1) return lo + i;
    lo += bytesRead;
  }
  return -1;
}

/** Exactly the bytes [start, end); a file that ends early is an error. */
export async function readRange(fh: FileHandle, start: number, end: number): Promise<Buffer> {
  const buf = Buffer.alloc(end - start);
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, start + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at ${start + done}`);
    done += bytesRead;
  }
  return buf;
}

/**
 * Calls onLine(line, offset) for every complete line in [start, end), in order;
 * onLine returning false stops early. `line` is only valid during the call. A
 * line longer than maxLine throws tooLong(offset). Returns the offset after the
 * last line delivered.
 */
export async function forEachLine(
  fh: FileHandle,
  start: number,
  end: number,
  maxLine: number,
  tooLong: (offset: number) => Error,
  onLine: (line: Buffer, offset: number) => boolean | void,
): Promise<number> {
  const buf = Buffer.allocUnsafe(SCAN_CHUNK);
  let pos = start;
  let carry: Buffer | undefined;
  let carryAt = start;
  let next = start;
  while (pos < end) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(SCAN_CHUNK, end - pos), pos);
    if (bytesRead === 0) break;
    const chunk = buf.subarray(0, bytesRead);
    let from = 0;
    for (let nl = chunk.indexOf(LF); nl !== -1; nl = chunk.indexOf(LF, from)) {
      let line: Buffer;
      let at: number;
      if (carry) {
        line = Buffer.concat([carry, chunk.subarray(from, nl)]);
        at = carryAt;
        carry = undefined;
      } else {
        line = chunk.subarray(from, nl);
        at = pos + from;
      }
      if (line.length > maxLine) throw tooLong(at);
      next = at + line.length + 1;
      if (onLine(line, at) === false) return next;
      from = nl + 1;
    }
    if (from < bytesRead) {
      const rest = chunk.subarray(from);
      if (carry) carry = Buffer.concat([carry, rest]);
      else {
        carry = Buffer.from(rest);
        carryAt = pos + from;
      }
      if (carry.length > maxLine) throw tooLong(carryAt);
    }
    pos += bytesRead;
  }
  return next;
}

// ------------------------------------------------------------------ ownership and order

/** Paths owned by one object of this process; a second open of the same path is refused. */
export class OpenGuard {
  readonly #held = new Set<string>();

  /** Claims `path` (resolved) or throws busy(); returns the key to release. */
  claim(path: string, busy: () => Error): string {
    const key = resolve(path);
    if (this.#held.has(key)) throw busy();
    this.#held.add(key);
    return key;
  }

  release(key: string): void {
    this.#held.delete(key);
  }

  has(path: string): boolean {
    return this.#held.has(resolve(path));
  }
}

/** Runs jobs one at a time in the order they were added; a failed job does not stop the next. */
export class SerialQueue {
  #tail: Promise<void> = Promise.resolve();

  run<T>(job: () => Promise<T> | T): Promise<T> {
    const result = this.#tail.then(job);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Resolves once every job added so far has finished (or failed). */
  idle(): Promise<void> {
    return this.#tail;
  }
}
