// Host thread id → Codex thread id (plus what a resume needs), persisted as
// one JSON file under the adapter's dataDir so threads reattach after an
// app-server or host restart. Writes are atomic (temp file + rename) and
// serialised; a damaged file is reported and set aside, never fatal.
import type { Effort } from "../../agent.ts";
import { AdapterStateFile } from "../state-file.ts";
import { isObject } from "./json-rpc.ts";
import { str, toEffort } from "./mapping.ts";

export interface ThreadRecord {
  codexThreadId: string;
  cwd: string;
  title: string;
  model?: string;
  effort?: Effort;
  createdAt: number;
  updatedAt: number;
  /**
   * Commands started and not finished yet. After a host restart nothing will
   * finish them (their app-server is gone), so the adapter closes them.
   */
  openCommands?: OpenCommand[];
}

export interface OpenCommand {
  itemId: string;
  startedAt: number;
}

const MAX_OPEN_COMMANDS = 100;

const FILE = "codex-threads.json";
const MAX_THREADS = 10_000;

export class ThreadStore {
  private readonly records = new Map<string, ThreadRecord>();
  private readonly file: AdapterStateFile;

  constructor(
    dir: string,
    private readonly log: (line: string) => void,
  ) {
    this.file = new AdapterStateFile(dir, FILE, "codex", log);
  }

  async load(): Promise<void> {
    const parsed = await this.file.read();
    const threads = isObject(parsed) && isObject(parsed.threads) ? parsed.threads : {};
    for (const [hostId, r] of Object.entries(threads).slice(0, MAX_THREADS)) {
      const record = toRecord(r);
      if (record) this.records.set(hostId, record);
      else this.log(`codex: ignoring a malformed thread record in ${FILE}`);
    }
  }

  get(hostId: string): ThreadRecord | undefined {
    return this.records.get(hostId);
  }

  hostIdOf(codexThreadId: string): string | undefined {
    for (const [hostId, r] of this.records) if (r.codexThreadId === codexThreadId) return hostId;
    return undefined;
  }

  all(): Array<[string, ThreadRecord]> {
    return [...this.records];
  }

  async put(hostId: string, record: ThreadRecord): Promise<void> {
    if (!this.records.has(hostId) && this.records.size >= MAX_THREADS) throw new Error(`more than ${MAX_THREADS} Codex threads`);
    this.records.set(hostId, record);
    await this.save();
  }

  async update(hostId: string, patch: Partial<ThreadRecord>): Promise<void> {
    const record = this.records.get(hostId);
    if (!record) return;
    this.records.set(hostId, { ...record, ...patch, updatedAt: Date.now() });
    await this.save();
  }

  /** Replaces the thread's open commands; does not count as activity (updatedAt stays). */
  async setOpenCommands(hostId: string, open: OpenCommand[]): Promise<void> {
    const record = this.records.get(hostId);
    if (!record) return;
    const { openCommands: _old, ...rest } = record;
    const kept = open.slice(-MAX_OPEN_COMMANDS);
    this.records.set(hostId, kept.length ? { ...rest, openCommands: kept } : rest);
    await this.save();
  }

  /** Resolves once every write started so far has landed (or failed). */
  flush(): Promise<void> {
    return this.file.flush();
  }

  private save(): Promise<void> {
    return this.file.write(() => ({ version: 1, threads: Object.fromEntries(this.records) }));
  }
}

function toRecord(value: unknown): ThreadRecord | undefined {
  if (!isObject(value)) return undefined;
  const codexThreadId = str(value.codexThreadId);
  const cwd = str(value.cwd);
  if (!codexThreadId || !cwd) return undefined;
  const num = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : 0);
  const model = str(value.model);
  const effort = toEffort(value.effort);
  const openCommands = toOpenCommands(value.openCommands);
  return {
    codexThreadId,
    cwd,
    title: str(value.title) ?? "",
    ...(model ? { model } : {}),
    ...(effort ? { effort } : {}),
    createdAt: num(value.createdAt),
    updatedAt: num(value.updatedAt),
    ...(openCommands.length ? { openCommands } : {}),
  };
}

function toOpenCommands(value: unknown): OpenCommand[] {
  if (!Array.isArray(value)) return [];
  const out: OpenCommand[] = [];
  for (const c of value.slice(-MAX_OPEN_COMMANDS)) {
    if (!isObject(c)) continue;
    const itemId = str(c.itemId);
    const startedAt = c.startedAt;
    if (!itemId || itemId.length > 256 || typeof startedAt !== "number" || !Number.isSafeInteger(startedAt) || startedAt < 0) continue;
    out.push({ itemId, startedAt });
  }
  return out;
}
