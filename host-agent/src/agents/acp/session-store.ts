// Host thread id → ACP session id (plus what a reload needs), persisted as one
// JSON file under the adapter's dataDir so threads reattach after the agent or
// `airlock up` restarts. Also remembers the last models the agent offered (ACP
// offers them per session; host.info needs them before the first one).
// Writes are atomic (temp file + rename) and serialised; a damaged file is
// set aside and reported, never fatal.
import type { ModelInfo } from "@airlock/protocol";
import { modelInfo } from "@airlock/protocol";
import type { Effort } from "../../agent.ts";
import { AdapterStateFile } from "../state-file.ts";
import { toEffort } from "../codex/mapping.ts";
import { isObject, str } from "./mapping.ts";

export interface SessionRecord {
  sessionId: string;
  /** Which agent created it (the preset or the command's name). */
  agent: string;
  cwd: string;
  title: string;
  model?: string;
  effort?: Effort;
  createdAt: number;
  updatedAt: number;
}

const FILE = "acp-sessions.json";
const MAX_THREADS = 10_000;

export class SessionStore {
  private readonly records = new Map<string, SessionRecord>();
  private readonly file: AdapterStateFile;
  models: ModelInfo[] = [];

  constructor(
    dir: string,
    private readonly log: (line: string) => void,
  ) {
    this.file = new AdapterStateFile(dir, FILE, "acp", log);
  }

  async load(): Promise<void> {
    const parsed = await this.file.read();
    const threads = isObject(parsed) && isObject(parsed.threads) ? parsed.threads : {};
    for (const [hostId, r] of Object.entries(threads).slice(0, MAX_THREADS)) {
      const record = toRecord(r);
      if (record) this.records.set(hostId, record);
      else this.log(`acp: ignoring a malformed session record in ${FILE}`);
    }
    if (isObject(parsed) && Array.isArray(parsed.models)) {
      this.models = parsed.models.slice(0, 64).filter((m): m is ModelInfo => modelInfo.safeParse(m).success);
    }
  }

  get(hostId: string): SessionRecord | undefined {
    return this.records.get(hostId);
  }

  all(): Array<[string, SessionRecord]> {
    return [...this.records];
  }

  async put(hostId: string, record: SessionRecord): Promise<void> {
    if (!this.records.has(hostId) && this.records.size >= MAX_THREADS) throw new Error(`more than ${MAX_THREADS} ACP sessions`);
    this.records.set(hostId, record);
    await this.save();
  }

  async update(hostId: string, patch: Partial<SessionRecord>): Promise<void> {
    const record = this.records.get(hostId);
    if (!record) return;
    this.records.set(hostId, { ...record, ...patch, updatedAt: Date.now() });
    await this.save();
  }

  async setModels(models: ModelInfo[]): Promise<void> {
    if (JSON.stringify(models) === JSON.stringify(this.models)) return;
    this.models = models;
    await this.save();
  }

  save(): Promise<void> {
    return this.file.write(() => ({ version: 1, threads: Object.fromEntries(this.records), models: this.models }));
  }
}

function toRecord(value: unknown): SessionRecord | undefined {
  if (!isObject(value)) return undefined;
  const sessionId = str(value.sessionId);
  const cwd = str(value.cwd);
  if (!sessionId || sessionId.length > 512 || !cwd) return undefined;
  const num = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : 0);
  const model = str(value.model);
  const effort = toEffort(value.effort);
  return {
    sessionId,
    agent: (str(value.agent) ?? "").slice(0, 128),
    cwd,
    title: (str(value.title) ?? "").slice(0, 200),
    ...(model ? { model } : {}),
    ...(effort ? { effort } : {}),
    createdAt: num(value.createdAt),
    updatedAt: num(value.updatedAt),
  };
}
