// The host's audit log: an append-only, hash-chained JSONL file recording who
// approved what (pairings, revocations, prompts, approval requests and
// decisions, answers, sessions). `airlock audit verify` re-derives every hash;
// `airlock audit tail` shows the newest records.
//
// Files (directory mode 0700, files 0600)
//   <file>        one record per line, UTF-8, each line terminated by LF (0x0a)
//   <file>.head   the anchor: canonical {"hash","seq","v"} of the newest record,
//                 replaced atomically (temp file, fsync, rename, fsync dir)
//                 after every append, so deleting or truncating the newest
//                 lines is detected too.
//
// Record (one line)
//   { "v": 1,                      format version
//     "seq": n,                    1, 2, 3, ... without gaps, line n holds seq n
//     "at": unix ms,               integer
//     "type": "pairing" | "revocation" | "prompt" | "approval.request" |
//             "approval.decision" | "question.answer" | "session" | ...
//                                  /^[a-z][a-z0-9._-]{0,63}$/
//     "actor": { "kind": "device" | "host" | "policy" | "timeout",
//                "id"?: string, "name"?: string }      (each ≤ 256 chars)
//     "data": { ... },             a JSON object, bounded (see boundData)
//     "prev": hex SHA-256 of the previous record's line (the line's UTF-8
//             bytes without its LF); 64 "0"s for seq 1
//     "hash": hex SHA-256 of canonical(record without "hash") }
//
// Canonical JSON (what is hashed, and exactly what every line must be)
//   canonical(x) is JSON with
//   - no whitespace anywhere outside strings;
//   - object keys sorted ascending by UTF-16 code units (JavaScript's default
//     Array.prototype.sort), each key once; no key with an undefined value;
//   - strings escaped exactly as ECMAScript JSON.stringify does: `"` → \",
//     `\` → \\, U+0008/0009/000A/000C/000D → \b \t \n \f \r, other
//     U+0000–U+001F → \u00xx (lowercase hex), lone surrogates → \udxxx,
//     everything else literal (encoded as UTF-8 in the file);
//   - numbers finite, written as ECMAScript Number.prototype.toString
//     (so integers are plain decimal digits; -0 is written 0);
//   - true, false, null as such; arrays in order.
//   The line of a record is canonical(record including "hash"), so a line is
//   a pure function of its record: verify re-serialises every parsed record
//   and requires the identical string, then checks
//     hash == hex(SHA-256(UTF-8(canonical(record minus "hash"))))
//     prev == hex(SHA-256(previous line bytes))   (64 zeros on line 1)
//   The anchor is canonical({"v":1,"seq":<newest seq>,"hash":<its hash>}) + LF.
//
// Durability and crashes
// - append() writes the line, fsyncs the log, then replaces the anchor; it
//   resolves only after both are durable. Appends are serialised; those that
//   arrive while a write is on its way are written together (group commit:
//   one write, one fsync, one anchor replace for up to AUDIT_MAX_BATCH records).
// - open() checks only the tail (the newest two lines and the anchor) and
//   continues the chain. A last line without its LF (a crash mid-write: that
//   append never resolved) is cut off and listed in `repairs`. An anchor one
//   record behind the log (a crash between the log fsync and the anchor
//   rename; up to AUDIT_MAX_BATCH records behind after a group commit, each of
//   them checked and chained to the anchored record) is brought forward and
//   listed too. Anything else fails with
//   AuditLogError CORRUPT; the log is never rewritten or renumbered.
// - verifyAuditLog() reads the whole log and is strict: a partial last line
//   is reported as "truncated" (open() would repair it). An anchor at most
//   AUDIT_MAX_BATCH records behind with the right hash is accepted (the crash window).
//
// What this detects, and what it does not
//   Any edit of any byte, deletion of any line (first, middle or last),
//   reordering, duplicated lines and truncation, provided the anchor is
//   intact. The chain has no secret: someone who can write the files can
//   rebuild a consistent forged log and anchor. Copy the anchor hash off the
//   machine (e.g. to the phone) to pin history against that.
//
// Problems from verifyAuditLog(): `line` is the 1-based line of the log where
// the first problem shows; 0 means the anchor file itself; lines + 1 means
// records missing after the end of the log.
//   malformed  not UTF-8 / not JSON / not a record / anchor unreadable
//   edited     not canonical, hash mismatch, broken prev link, anchor hash
//              mismatch or anchor too far behind
//   deleted    a seq is missing (nowhere later in the file), or the anchor
//              names records past the end of the log (whole lines cut off)
//   reordered  a seq out of place that does occur elsewhere: swapped or
//              moved lines, and duplicated lines (detail says "duplicate")
//   truncated  the last line has no LF (the file was cut mid-line)
import { createHash } from "node:crypto";
import { mkdir, open, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { appendDurably, OpenGuard, writeFileAtomic } from "../durable/durable-file.ts";
import { HostError } from "../host-error.ts";

export const AUDIT_VERSION = 1;
export const ZERO_HASH = "0".repeat(64);
/** Strings in data longer than this are cut and marked. */
export const MAX_DATA_STRING = 2048;
/** Arrays in data longer than this are cut and marked. */
export const MAX_DATA_ARRAY = 100;
/** Nesting deeper than this in data is replaced by a marker. */
export const MAX_DATA_DEPTH = 8;
/** The canonical data object after bounding must not exceed this. */
export const MAX_DATA_BYTES = 16 * 1024;
export const MAX_ACTOR_FIELD = 256;
/** Most records one group commit writes: after a crash the anchor is at most this far behind. */
export const AUDIT_MAX_BATCH = 8;
/** No valid line is longer than this (data + envelope). */
export const MAX_LINE_BYTES = MAX_DATA_BYTES + 4 * 1024;

const TYPE_RE = /^[a-z][a-z0-9._-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const LF = 0x0a;
const CHUNK = 256 * 1024;

export type AuditType = "pairing" | "revocation" | "prompt" | "approval.request" | "approval.decision" | "question.answer" | "session" | (string & {});

export type ActorKind = "device" | "host" | "policy" | "timeout";
const ACTOR_KINDS: readonly string[] = ["device", "host", "policy", "timeout"];

export interface AuditActor {
  kind: ActorKind;
  id?: string;
  name?: string;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface AuditRecord {
  v: 1;
  seq: number;
  at: number;
  type: string;
  actor: AuditActor;
  data: JsonObject;
  prev: string;
  hash: string;
}

export type AuditProblem = "edited" | "deleted" | "reordered" | "truncated" | "malformed";

export type VerifyResult = { ok: true; records: number; lastHash: string } | { ok: false; problem: AuditProblem; line: number; detail: string };

export interface AuditRepair {
  kind: "partial-line" | "head-behind";
  /** 1-based line of the log concerned. */
  line: number;
  detail: string;
}

export type AuditLogErrorCode = "CORRUPT" | "IN_USE" | "CLOSED" | "INVALID" | "TOO_LARGE" | "PERMISSIONS";

export class AuditLogError extends HostError<AuditLogErrorCode> {
  constructor(code: AuditLogErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "AuditLogError";
  }
}

export interface AuditLogOptions {
  /** Clock for "at" (unix ms); Date.now by default. */
  now?: () => number;
  /**
   * Wait this long after a record arrives before writing (default 0): records
   * that come meanwhile share the write, and the host's hot path (an
   * approval's decision and the agent's next event) gets the disk first.
   * append() still resolves only once its record is durable.
   */
  batchDelayMs?: number;
}

// ---------------------------------------------------------------------------
// Canonical JSON and hashing

/** Canonical JSON as documented above. Throws on values JSON cannot hold. */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new AuditLogError("INVALID", "non-finite number in audit record");
      return JSON.stringify(value);
    case "string":
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new AuditLogError("INVALID", "audit values must be plain objects");
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
    }
    default:
      throw new AuditLogError("INVALID", `a ${typeof value} cannot be stored in the audit log`);
  }
}

const sha256Hex = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** hash field of a record: SHA-256 over canonical(record without "hash"). */
export function recordHash(record: Omit<AuditRecord, "hash"> | AuditRecord): string {
  const { hash: _omit, ...rest } = record as AuditRecord;
  return sha256Hex(canonicalJson(rest));
}

/** prev field of the record after this line: SHA-256 of the line's bytes (no LF). */
export function lineHash(line: string | Uint8Array): string {
  return sha256Hex(line);
}

// ---------------------------------------------------------------------------
// Bounding data

/** Cuts long strings and arrays and deep nesting so a record stays small. */
export function boundData(data: Record<string, unknown>): JsonObject {
  const walk = (v: unknown, depth: number): JsonValue => {
    if (v === null || typeof v === "boolean") return v;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw new AuditLogError("INVALID", "non-finite number in audit data");
      return v;
    }
    if (typeof v === "string") {
      return v.length > MAX_DATA_STRING ? `${v.slice(0, MAX_DATA_STRING)}…[+${v.length - MAX_DATA_STRING} chars]` : v;
    }
    if (typeof v === "bigint") return v.toString();
    if (typeof v !== "object") throw new AuditLogError("INVALID", `a ${typeof v} cannot be stored in the audit log`);
    if (depth >= MAX_DATA_DEPTH) return "…[nested too deep]";
    if (Array.isArray(v)) {
      const out = v.slice(0, MAX_DATA_ARRAY).map((x) => walk(x === undefined ? null : x, depth + 1));
      if (v.length > MAX_DATA_ARRAY) out.push(`…[+${v.length - MAX_DATA_ARRAY} items]`);
      return out;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new AuditLogError("INVALID", "audit data must be plain objects");
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x === undefined) continue;
      out[k] = walk(x, depth + 1);
    }
    return out;
  };
  const bounded = walk(data, 0);
  if (bounded === null || typeof bounded !== "object" || Array.isArray(bounded)) {
    throw new AuditLogError("INVALID", "audit data must be an object");
  }
  const size = Buffer.byteLength(canonicalJson(bounded));
  if (size > MAX_DATA_BYTES) throw new AuditLogError("TOO_LARGE", `audit data is ${size} bytes (limit ${MAX_DATA_BYTES})`);
  return bounded;
}

// ---------------------------------------------------------------------------
// Parsing and checking one line

const utf8 = new TextDecoder("utf-8", { fatal: true });
const RECORD_KEYS = ["actor", "at", "data", "hash", "prev", "seq", "type", "v"].join(",");

type Parsed = { ok: true; record: AuditRecord } | { ok: false; detail: string };

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** Parses a line into a well-shaped record (no hash or chain checks). */
export function parseRecordLine(bytes: Uint8Array): Parsed {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, detail: "not valid UTF-8" };
  }
  let x: JsonValue;
  try {
    x = JSON.parse(text);
  } catch {
    return { ok: false, detail: "not JSON" };
  }
  if (!isPlainObject(x)) return { ok: false, detail: "not a JSON object" };
  if (Object.keys(x).sort().join(",") !== RECORD_KEYS) return { ok: false, detail: "wrong set of fields" };
  const { v, seq, at, type, prev, hash, data, actor } = x;
  if (v !== AUDIT_VERSION) return { ok: false, detail: `unknown version ${String(v)}` };
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) return { ok: false, detail: "bad seq" };
  if (typeof at !== "number" || !Number.isSafeInteger(at) || at < 0) return { ok: false, detail: "bad at" };
  if (typeof type !== "string" || !TYPE_RE.test(type)) return { ok: false, detail: "bad type" };
  if (typeof prev !== "string" || !HEX64.test(prev)) return { ok: false, detail: "bad prev" };
  if (typeof hash !== "string" || !HEX64.test(hash)) return { ok: false, detail: "bad hash" };
  if (!isPlainObject(data)) return { ok: false, detail: "bad data" };
  if (!isAuditActor(actor)) return { ok: false, detail: "bad actor" };
  // The fields in canonical (sorted) order, the order an intact line holds them in.
  return { ok: true, record: { actor, at, data, hash, prev, seq, type, v } };
}

const isActorKind = (kind: string): kind is ActorKind => ACTOR_KINDS.includes(kind);

/** A known kind, and an id and a name only if they are strings. */
function isAuditActor(a: JsonValue | undefined): a is JsonObject & AuditActor {
  if (!isPlainObject(a) || typeof a.kind !== "string" || !isActorKind(a.kind)) return false;
  return Object.keys(a).every((k) => k === "kind" || ((k === "id" || k === "name") && typeof a[k] === "string"));
}

/** null when the line is the canonical form of its record and the hash is right. */
function integrityProblem(bytes: Uint8Array, record: AuditRecord): string | null {
  if (!Buffer.from(canonicalJson(record)).equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) {
    return "line is not in canonical form";
  }
  if (recordHash(record) !== record.hash) return "hash does not match the record";
  return null;
}

// ---------------------------------------------------------------------------
// The anchor (<file>.head)

interface Head {
  seq: number;
  hash: string;
}

const headPath = (file: string): string => `${file}.head`;

type HeadRead = { kind: "missing" } | { kind: "bad"; detail: string } | { kind: "ok"; head: Head };

async function readHead(file: string): Promise<HeadRead> {
  let fh: FileHandle;
  try {
    fh = await open(headPath(file), "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    throw e;
  }
  let text: string;
  try {
    const buf = await fh.readFile();
    if (buf.length > 1024) return { kind: "bad", detail: "anchor file too large" };
    text = buf.toString("utf8");
  } finally {
    await fh.close();
  }
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch {
    return { kind: "bad", detail: "anchor is not JSON" };
  }
  if (
    !isPlainObject(x) ||
    Object.keys(x).sort().join(",") !== "hash,seq,v" ||
    x.v !== AUDIT_VERSION ||
    typeof x.seq !== "number" ||
    !Number.isSafeInteger(x.seq) ||
    x.seq < 0 ||
    typeof x.hash !== "string" ||
    !(HEX64.test(x.hash) || (x.seq === 0 && x.hash === ZERO_HASH))
  ) {
    return { kind: "bad", detail: "anchor is not {v,seq,hash}" };
  }
  if (text !== `${canonicalJson(x)}\n`) return { kind: "bad", detail: "anchor is not in canonical form" };
  return { kind: "ok", head: { seq: x.seq, hash: x.hash } };
}

async function writeHead(file: string, head: Head): Promise<void> {
  await writeFileAtomic(headPath(file), `${canonicalJson({ v: AUDIT_VERSION, seq: head.seq, hash: head.hash })}\n`);
}

// ---------------------------------------------------------------------------
// Reading lines

interface Line {
  /** 1-based. */
  no: number;
  bytes: Buffer;
  /** false only for a last line without LF. */
  terminated: boolean;
}

async function* readLines(file: string): AsyncGenerator<Line> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let carry: Buffer = Buffer.alloc(0);
    let no = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      let chunk = Buffer.concat([carry, buf.subarray(0, bytesRead)]);
      let i: number;
      while ((i = chunk.indexOf(LF)) !== -1) {
        yield { no: ++no, bytes: Buffer.from(chunk.subarray(0, i)), terminated: true };
        chunk = chunk.subarray(i + 1);
      }
      carry = Buffer.from(chunk);
    }
    if (carry.length > 0) yield { no: ++no, bytes: carry, terminated: false };
  } finally {
    await fh.close();
  }
}

interface Tail {
  size: number;
  /** Complete (LF-terminated) lines at the end, oldest first, at most `count`. */
  lines: Buffer[];
  /** Offset just after the last LF (== size when there is no partial line). */
  completeEnd: number;
  /** True when `lines` reaches the start of the file. */
  fromStart: boolean;
}

/** The last `count` complete lines, reading backwards in chunks. */
async function readTail(fh: FileHandle, count: number): Promise<Tail> {
  const size = (await fh.stat()).size;
  let start = size;
  let data = Buffer.alloc(0);
  for (;;) {
    // Enough when data holds count+1 LFs (count complete lines after the
    // first LF, plus possibly a partial line after the last LF) or the start.
    let lfs = 0;
    for (let i = 0; i < data.length; i++) if (data[i] === LF) lfs++;
    if (start === 0 || lfs > count) break;
    const n = Math.min(CHUNK, start);
    start -= n;
    const b = Buffer.allocUnsafe(n);
    const { bytesRead } = await fh.read(b, 0, n, start);
    data = Buffer.concat([b.subarray(0, bytesRead), data]);
  }
  const lastLf = data.lastIndexOf(LF);
  const completeEnd = lastLf === -1 ? start : start + lastLf + 1;
  const body = lastLf === -1 ? Buffer.alloc(0) : data.subarray(0, lastLf); // without the final LF
  let parts = lastLf === -1 ? [] : splitLf(body);
  let fromStart = start === 0;
  if (start > 0) parts = parts.slice(1); // the first piece may be a partial line
  if (parts.length > count) {
    parts = parts.slice(parts.length - count);
    fromStart = false;
  }
  return { size, lines: parts, completeEnd, fromStart };
}

/** Whether the anchor names a record of `records` (seq and hash), or the start of the log when `fromStart`. */
function anchoredAt(records: readonly { record: AuditRecord }[], fromStart: boolean, head: Head): boolean {
  if (head.seq === 0) return fromStart && head.hash === ZERO_HASH;
  return records.some((r) => r.record.seq === head.seq && r.record.hash === head.hash);
}

function splitLf(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (;;) {
    const i = b.indexOf(LF, from);
    if (i === -1) {
      out.push(b.subarray(from));
      return out;
    }
    out.push(b.subarray(from, i));
    from = i + 1;
  }
}

// ---------------------------------------------------------------------------
// The log

const openFiles = new OpenGuard();

interface PendingRecord {
  type: string;
  actor: AuditActor;
  data: Record<string, unknown>;
  resolve(record: AuditRecord): void;
  reject(error: unknown): void;
}

export class AuditLog {
  readonly file: string;
  /** Repairs made when the log was opened (empty when it was clean). */
  readonly repairs: readonly AuditRepair[];
  #fh: FileHandle | null;
  #seq: number;
  #prevLine: string;
  #lastHash: string;
  #now: () => number;
  /** Bytes in the log (positioned writes go at the end). */
  #size: number;
  /** Appends waiting for the next group commit, and the commit in progress (if any). */
  #pending: PendingRecord[] = [];
  #flushing: Promise<void> | null = null;
  #closing = false;
  #failed: Error | null = null;
  #batchDelayMs: number;
  /** Ends a batch delay early (close()). */
  #kick: (() => void) | null = null;

  private constructor(file: string, fh: FileHandle, size: number, seq: number, prevLine: string, lastHash: string, repairs: AuditRepair[], now: () => number) {
    this.file = file;
    this.#size = size;
    this.#fh = fh;
    this.#seq = seq;
    this.#prevLine = prevLine;
    this.#lastHash = lastHash;
    this.repairs = repairs;
    this.#now = now;
    this.#batchDelayMs = 0;
  }

  /** Seq of the newest record (0 when empty). */
  get lastSeq(): number {
    return this.#seq;
  }

  /** Hash of the newest record (64 zeros when empty). */
  get lastHash(): string {
    return this.#lastHash;
  }

  static async open(file: string, options: AuditLogOptions = {}): Promise<AuditLog> {
    const path = resolve(file);
    openFiles.claim(path, () => new AuditLogError("IN_USE", `${path} is already open in this process`));
    try {
      return await AuditLog.#open(path, options);
    } catch (e) {
      openFiles.release(path);
      throw e;
    }
  }

  static async #open(path: string, options: AuditLogOptions): Promise<AuditLog> {
    const dir = dirname(path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (process.platform !== "win32") {
      const mode = (await stat(dir)).mode & 0o777;
      if ((mode & 0o077) !== 0) {
        throw new AuditLogError("PERMISSIONS", `${dir} is accessible by other users (mode ${mode.toString(8).padStart(3, "0")}); run: chmod 700 ${dir}`);
      }
    }
    const fh = await open(path, "a+", 0o600);
    try {
      if (process.platform !== "win32") {
        const mode = (await fh.stat()).mode & 0o777;
        if ((mode & 0o077) !== 0) {
          throw new AuditLogError("PERMISSIONS", `${path} is accessible by other users (mode ${mode.toString(8).padStart(3, "0")}); run: chmod 600 ${path}`);
        }
      }
      const corrupt = (detail: string): AuditLogError => new AuditLogError("CORRUPT", `audit log ${path} is damaged: ${detail}; run: airlock audit verify`);
      const repairs: AuditRepair[] = [];
      // The newest records back to where the anchor may be (a group commit cut short before its anchor).
      const window = AUDIT_MAX_BATCH + 1;
      let tail = await readTail(fh, window);
      if (tail.completeEnd < tail.size) {
        // A last line without LF: an append that crashed mid-write. Cut it.
        const cut = tail.size - tail.completeEnd;
        await fh.truncate(tail.completeEnd);
        await fh.sync();
        tail = await readTail(fh, window);
        const last = tail.lines.length > 0 ? parseRecordLine(tail.lines[tail.lines.length - 1]!) : null;
        const line = last?.ok ? last.record.seq + 1 : tail.lines.length + 1;
        repairs.push({ kind: "partial-line", line, detail: `cut ${cut} bytes of an unfinished last line` });
      }
      const records: { record: AuditRecord; bytes: Buffer }[] = [];
      for (const bytes of tail.lines) {
        const p = parseRecordLine(bytes);
        if (!p.ok) throw corrupt(`last lines: ${p.detail}`);
        const bad = integrityProblem(bytes, p.record);
        if (bad !== null) throw corrupt(`seq ${p.record.seq}: ${bad}`);
        records.push({ record: p.record, bytes });
      }
      const last = records[records.length - 1];
      for (let i = 1; i < records.length; i++) {
        const [a, b] = [records[i - 1]!, records[i]!];
        if (b.record.seq !== a.record.seq + 1) throw corrupt(`seq ${a.record.seq} is followed by seq ${b.record.seq}`);
        if (b.record.prev !== lineHash(a.bytes)) throw corrupt(`seq ${b.record.seq} does not link to seq ${a.record.seq}`);
      }
      if (records[0] && tail.fromStart && (records[0].record.seq !== 1 || records[0].record.prev !== ZERO_HASH)) {
        throw corrupt(records.length === 1 ? "the only record is not a first record" : "the first record is not a first record");
      }
      const seq = last?.record.seq ?? 0;
      const lastHash = last?.record.hash ?? ZERO_HASH;
      const head = await readHead(path);
      if (head.kind === "bad") throw corrupt(`${basename(headPath(path))}: ${head.detail}`);
      const h = head.kind === "ok" ? head.head : { seq: 0, hash: ZERO_HASH };
      if (h.seq === seq && h.hash === lastHash) {
        if (head.kind === "missing" && seq > 0) throw corrupt("anchor file is missing");
        if (head.kind === "missing") await writeHead(path, { seq, hash: lastHash });
      } else if (h.seq < seq && seq - h.seq <= AUDIT_MAX_BATCH && anchoredAt(records, tail.fromStart, h)) {
        // Crash after the log fsync, before the anchor was replaced (the records after it are chained to it, checked above).
        await writeHead(path, { seq, hash: lastHash });
        repairs.push({ kind: "head-behind", line: seq, detail: `anchor moved from seq ${h.seq} to seq ${seq}` });
      } else if (h.seq > seq) {
        throw corrupt(`anchor names seq ${h.seq} but the log ends at seq ${seq}: records were deleted`);
      } else {
        throw corrupt(`anchor (seq ${h.seq}) does not match the log (seq ${seq})`);
      }
      const prevLine = last ? lineHash(last.bytes) : ZERO_HASH;
      const log = new AuditLog(path, fh, tail.completeEnd, seq, prevLine, lastHash, repairs, options.now ?? Date.now);
      const delay = options.batchDelayMs ?? 0;
      if (!Number.isFinite(delay) || delay < 0 || delay > 60_000) throw new AuditLogError("INVALID", `batchDelayMs must be 0-60000 (got ${delay})`);
      log.#batchDelayMs = delay;
      return log;
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Appends one record; resolves once it and the anchor are on disk. */
  append(type: AuditType, actor: AuditActor, data: Record<string, unknown> = {}): Promise<AuditRecord> {
    if (this.#fh === null || this.#closing) return Promise.reject(new AuditLogError("CLOSED", "audit log is closed"));
    return new Promise((resolve, reject) => {
      this.#pending.push({ type, actor, data, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  /** Writes every waiting record, batch after batch, until none is left. */
  async #flush(): Promise<void> {
    if (this.#batchDelayMs > 0 && !this.#closing) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#batchDelayMs);
        this.#kick = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#kick = null;
    }
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, AUDIT_MAX_BATCH);
      await this.#commit(batch).catch(() => undefined); // each record's caller hears of its failure
    }
    this.#flushing = null;
  }

  /** One group commit: builds the chained records, writes them in one go, fsyncs, moves the anchor. */
  async #commit(batch: PendingRecord[]): Promise<void> {
    const fh = this.#fh;
    const built: { p: PendingRecord; record: AuditRecord; line: string }[] = [];
    let seq = this.#seq;
    let prevLine = this.#prevLine;
    for (const p of batch) {
      try {
        if (fh === null) throw new AuditLogError("CLOSED", "audit log is closed");
        if (this.#failed) throw new AuditLogError("CLOSED", `an earlier append failed: ${this.#failed.message}`);
        const record = this.#record(p.type, p.actor, p.data, seq + 1, prevLine);
        const line = canonicalJson(record);
        built.push({ p, record, line });
        seq = record.seq;
        prevLine = lineHash(line);
      } catch (e) {
        p.reject(e); // only this record: the chain goes on without it
      }
    }
    const last = built.at(-1);
    if (!last || fh === null) return;
    try {
      const data = Buffer.from(built.map((b) => `${b.line}\n`).join(""), "utf8");
      await appendDurably(fh, data, this.#size);
      this.#size += data.length;
      this.#seq = seq;
      this.#prevLine = prevLine;
      this.#lastHash = last.record.hash;
      await writeHead(this.file, { seq, hash: last.record.hash });
    } catch (e) {
      // The log may hold a partial line or lead the anchor; reopening repairs both.
      this.#failed = e as Error;
      for (const b of built) b.p.reject(e);
      return;
    }
    for (const b of built) b.p.resolve(b.record);
  }

  #record(type: string, actor: AuditActor, data: Record<string, unknown>, seq: number, prev: string): AuditRecord {
    if (!TYPE_RE.test(type)) throw new AuditLogError("INVALID", `bad audit record type ${JSON.stringify(type)}`);
    if (!ACTOR_KINDS.includes(actor.kind)) throw new AuditLogError("INVALID", `bad actor kind ${JSON.stringify(actor.kind)}`);
    const cleanActor: AuditActor = { kind: actor.kind };
    for (const k of ["id", "name"] as const) {
      const v = actor[k];
      if (v === undefined) continue;
      if (typeof v !== "string") throw new AuditLogError("INVALID", `actor.${k} must be a string`);
      cleanActor[k] = v.length > MAX_ACTOR_FIELD ? v.slice(0, MAX_ACTOR_FIELD) : v;
    }
    const body: Omit<AuditRecord, "hash"> = {
      v: AUDIT_VERSION,
      seq,
      at: Math.trunc(this.#now()),
      type,
      actor: cleanActor,
      data: boundData(data),
      prev,
    };
    return { ...body, hash: recordHash(body) };
  }

  /** Writes the records appended before this call, then releases the file; later appends fail CLOSED. */
  async close(): Promise<void> {
    const fh = this.#fh;
    if (fh === null || this.#closing) return;
    this.#closing = true;
    this.#kick?.();
    await this.#flushing;
    this.#fh = null;
    await fh.close();
    openFiles.release(this.file);
  }
}

// ---------------------------------------------------------------------------
// Verify and tail

/** Reads the whole log and checks every line, the chain and the anchor. */
export async function verifyAuditLog(file: string): Promise<VerifyResult> {
  const path = resolve(file);
  const fail = (problem: AuditProblem, line: number, detail: string): VerifyResult => ({ ok: false, problem, line, detail });
  const seen = new Map<number, number>(); // seq → line
  let prevBytes: Buffer | null = null;
  let prevRecord: AuditRecord | null = null;
  let count = 0;
  try {
    await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    const head = await readHead(path);
    if (head.kind === "ok" && head.head.seq > 0) return fail("deleted", 1, `the log file is missing but the anchor names seq ${head.head.seq}`);
    return { ok: true, records: 0, lastHash: ZERO_HASH };
  }
  for await (const { no, bytes, terminated } of readLines(path)) {
    if (!terminated) return fail("truncated", no, `the last line has no line break (${bytes.length} bytes): the file was cut mid-line`);
    const p = parseRecordLine(bytes);
    if (!p.ok) return fail("malformed", no, p.detail);
    const r = p.record;
    const bad = integrityProblem(bytes, r);
    if (bad !== null) return fail("edited", no, `seq ${r.seq}: ${bad}`);
    if (r.seq !== no) {
      const earlier = seen.get(r.seq);
      if (earlier !== undefined) return fail("reordered", no, `duplicate of line ${earlier} (seq ${r.seq})`);
      const later = await findSeq(path, no, no);
      if (later !== null) return fail("reordered", no, `expected seq ${no} here, found seq ${r.seq}; seq ${no} is on line ${later}`);
      if (r.seq > no) {
        const missing = r.seq - 1 === no ? `seq ${no}` : `seqs ${no}..${r.seq - 1}`;
        return fail("deleted", no, `${missing} missing (line ${no} holds seq ${r.seq})`);
      }
      return fail("reordered", no, `expected seq ${no}, found seq ${r.seq}`);
    }
    const expectedPrev = prevBytes === null ? ZERO_HASH : lineHash(prevBytes);
    if (r.prev !== expectedPrev) {
      return fail("edited", no, no === 1 ? "the first record's prev is not zero" : `seq ${r.seq} does not link to line ${no - 1} (one of them was rewritten)`);
    }
    seen.set(r.seq, no);
    prevBytes = bytes;
    prevRecord = r;
    count = no;
  }
  const lastHash = prevRecord?.hash ?? ZERO_HASH;
  const head = await readHead(path);
  if (head.kind === "bad") return fail("malformed", 0, head.detail);
  if (head.kind === "missing") {
    if (count <= AUDIT_MAX_BATCH) return { ok: true, records: count, lastHash }; // fresh, or a crash before the first anchor
    return fail("deleted", 0, "the anchor file is missing");
  }
  const h = head.head;
  if (h.seq > count) {
    const n = h.seq - count;
    return fail("deleted", count + 1, `the anchor names seq ${h.seq} but the log ends at seq ${count}: ${n} record${n === 1 ? "" : "s"} missing at the end`);
  }
  if (h.seq === count) {
    if (h.hash !== lastHash) return fail("edited", 0, `the anchor's hash for seq ${h.seq} does not match the log`);
    return { ok: true, records: count, lastHash };
  }
  if (h.seq < count && count - h.seq <= AUDIT_MAX_BATCH) {
    // Crash window: the newest lines (one group commit) are durable, the anchor not yet replaced.
    const hashOf = h.seq === 0 ? ZERO_HASH : await hashAtSeq(path, h.seq);
    if (h.hash === hashOf) return { ok: true, records: count, lastHash };
    return fail("edited", 0, `the anchor's hash for seq ${h.seq} does not match the log`);
  }
  return fail("edited", 0, `the anchor names seq ${h.seq} but the log holds ${count} records`);
}

async function findSeq(path: string, seq: number, afterLine: number): Promise<number | null> {
  for await (const { no, bytes } of readLines(path)) {
    if (no <= afterLine) continue;
    const p = parseRecordLine(bytes);
    if (p.ok && p.record.seq === seq) return no;
  }
  return null;
}

async function hashAtSeq(path: string, seq: number): Promise<string | null> {
  for await (const { no, bytes } of readLines(path)) {
    if (no !== seq) continue;
    const p = parseRecordLine(bytes);
    return p.ok ? p.record.hash : null;
  }
  return null;
}

/** The newest `n` complete records, oldest first (a partial last line is skipped). */
export async function tailAuditLog(file: string, n: number): Promise<AuditRecord[]> {
  if (!Number.isSafeInteger(n) || n < 0) throw new AuditLogError("INVALID", "tail count must be a non-negative integer");
  if (n === 0) return [];
  let fh: FileHandle;
  try {
    fh = await open(resolve(file), "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  try {
    const tail = await readTail(fh, n);
    return tail.lines.map((bytes) => {
      const p = parseRecordLine(bytes);
      if (!p.ok) throw new AuditLogError("CORRUPT", `audit log ${file} has a damaged line: ${p.detail}; run: airlock audit verify`);
      return p.record;
    });
  } finally {
    await fh.close();
  }
}

/** Path of the anchor file of a log. */
export const auditHeadPath = headPath;
