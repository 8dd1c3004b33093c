// Host thread id → Codex thread id (plus what a resume needs) in
// codex-threads.json (../thread-records.ts), so threads reattach after an
// app-server or host restart; also each thread's open commands.
import { ThreadRecords, parseRecordBase, type ThreadRecordBase } from "../thread-records.ts";
import { isObject } from "./json-rpc.ts";
import { str } from "./mapping.ts";

export interface ThreadRecord extends ThreadRecordBase {
  codexThreadId: string;
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

export class ThreadStore extends ThreadRecords<ThreadRecord> {
  constructor(dir: string, log: (line: string) => void) {
    super({ dir, file: "codex-threads.json", source: "codex", noun: "thread", plural: "Codex threads", parse: toRecord, log });
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
}

function toRecord(value: unknown): ThreadRecord | undefined {
  if (!isObject(value)) return undefined;
  const codexThreadId = str(value.codexThreadId);
  const base = parseRecordBase(value);
  if (!codexThreadId || !base) return undefined;
  const openCommands = toOpenCommands(value.openCommands);
  return { codexThreadId, ...base, ...(openCommands.length ? { openCommands } : {}) };
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
