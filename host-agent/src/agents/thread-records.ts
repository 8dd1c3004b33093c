// An adapter's saved threads: host thread id → the agent's own thread (Codex
// thread, ACP session) and what reattaching it needs, in one JSON file under
// the adapter's dataDir (state-file.ts: atomic, serialised, a damaged file set
// aside) so threads survive a restart of the agent process or of the host.
// The adapter's store adds its own record fields and parsing.
import type { Effort, TurnSettings } from "../agent.ts";
import { AdapterStateFile } from "./state-file.ts";
import { isObject, str, toEffort } from "./payload.ts";

const MAX_THREADS = 10_000;

/** What every adapter keeps per thread. */
export interface ThreadRecordBase {
  cwd: string;
  title: string;
  model?: string;
  effort?: Effort;
  createdAt: number;
  updatedAt: number;
}

export interface ThreadRecordsOptions<R> {
  dir: string;
  file: string;
  /** Prefix of log lines ("codex", "acp"). */
  source: string;
  /** A record in messages ("thread", "session"). */
  noun: string;
  /** The records in messages ("Codex threads", "ACP sessions"). */
  plural: string;
  /** A saved record, or undefined when it is malformed (then it is dropped with a log line). */
  parse(value: unknown): R | undefined;
  log(line: string): void;
}

export class ThreadRecords<R extends ThreadRecordBase> {
  protected readonly records = new Map<string, R>();
  private readonly file: AdapterStateFile;

  constructor(private readonly options: ThreadRecordsOptions<R>) {
    this.file = new AdapterStateFile(options.dir, options.file, options.source, options.log);
  }

  /** Reads the file; returns it parsed (for fields a subclass keeps beside the threads). */
  async load(): Promise<Record<string, unknown> | undefined> {
    const parsed = await this.file.read();
    const threads = isObject(parsed) && isObject(parsed.threads) ? parsed.threads : {};
    for (const [hostId, r] of Object.entries(threads).slice(0, MAX_THREADS)) {
      const record = this.options.parse(r);
      if (record) this.records.set(hostId, record);
      else this.options.log(`${this.options.source}: ignoring a malformed ${this.options.noun} record in ${this.options.file}`);
    }
    return isObject(parsed) ? parsed : undefined;
  }

  get(hostId: string): R | undefined {
    return this.records.get(hostId);
  }

  all(): Array<[string, R]> {
    return [...this.records];
  }

  async put(hostId: string, record: R): Promise<void> {
    if (!this.records.has(hostId) && this.records.size >= MAX_THREADS) throw new Error(`more than ${MAX_THREADS} ${this.options.plural}`);
    this.records.set(hostId, record);
    await this.save();
  }

  /** Changes fields and counts as activity (updatedAt). */
  update(hostId: string, patch: Partial<R>): Promise<void> {
    return this.patch(hostId, patch);
  }

  /** The model and effort later turns start with (Agent.setSettings). */
  setSettings(hostId: string, settings: TurnSettings): Promise<void> {
    return this.patch(hostId, {
      ...(settings.model ? { model: settings.model } : {}),
      ...(settings.effort ? { effort: settings.effort } : {}),
    });
  }

  private async patch(hostId: string, patch: Partial<R> | Partial<ThreadRecordBase>): Promise<void> {
    const record = this.records.get(hostId);
    if (!record) return;
    this.records.set(hostId, { ...record, ...patch, updatedAt: Date.now() });
    await this.save();
  }

  /** Resolves once every write started so far has landed (or failed). */
  flush(): Promise<void> {
    return this.file.flush();
  }

  protected save(): Promise<void> {
    return this.file.write(() => ({ version: 1, threads: Object.fromEntries(this.records), ...this.extra() }));
  }

  /** Fields saved beside the threads. */
  protected extra(): Record<string, unknown> {
    return {};
  }
}

/** The fields of ThreadRecordBase from a saved record; undefined without a cwd. */
export function parseRecordBase(value: Record<string, unknown>): ThreadRecordBase | undefined {
  const cwd = str(value.cwd);
  if (!cwd) return undefined;
  const num = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : 0);
  const model = str(value.model);
  const effort = toEffort(value.effort);
  return {
    cwd,
    title: str(value.title) ?? "",
    ...(model ? { model } : {}),
    ...(effort ? { effort } : {}),
    createdAt: num(value.createdAt),
    updatedAt: num(value.updatedAt),
  };
}
