// Host thread id → ACP session id (plus what a reload needs) in
// acp-sessions.json (../thread-records.ts), so threads reattach after the
// agent or `airlock up` restarts. Also remembers the last models the agent
// offered (ACP offers them per session; host.info needs them before the first one).
import type { ModelInfo } from "@airlock/protocol";
import { modelInfo } from "@airlock/protocol";
import { ThreadRecords, parseRecordBase, type ThreadRecordBase } from "../thread-records.ts";
import { isObject, str } from "./mapping.ts";

export interface SessionRecord extends ThreadRecordBase {
  sessionId: string;
  /** Which agent created it (the preset or the command's name). */
  agent: string;
}

export class SessionStore extends ThreadRecords<SessionRecord> {
  models: ModelInfo[] = [];

  constructor(dir: string, log: (line: string) => void) {
    super({ dir, file: "acp-sessions.json", source: "acp", noun: "session", plural: "ACP sessions", parse: toRecord, log });
  }

  override async load(): Promise<Record<string, unknown> | undefined> {
    const parsed = await super.load();
    if (parsed && Array.isArray(parsed.models)) {
      this.models = parsed.models.slice(0, 64).filter((m): m is ModelInfo => modelInfo.safeParse(m).success);
    }
    return parsed;
  }

  async setModels(models: ModelInfo[]): Promise<void> {
    if (JSON.stringify(models) === JSON.stringify(this.models)) return;
    this.models = models;
    await this.save();
  }

  protected override extra(): Record<string, unknown> {
    return { models: this.models };
  }
}

function toRecord(value: unknown): SessionRecord | undefined {
  if (!isObject(value)) return undefined;
  const sessionId = str(value.sessionId);
  const base = parseRecordBase(value);
  if (!sessionId || sessionId.length > 512 || !base) return undefined;
  return { sessionId, agent: (str(value.agent) ?? "").slice(0, 128), ...base, title: base.title.slice(0, 200) };
}
