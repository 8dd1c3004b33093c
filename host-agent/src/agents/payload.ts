// What every adapter needs to read an agent's untrusted JSON and turn it into
// events the host's schema accepts: field checks, schema-safe ids, texts cut
// to the schema's limits, and the schema check itself. The agent-specific
// shapes stay in codex/mapping.ts and acp/mapping.ts.
import { effort, threadEvent, type ThreadEvent } from "@airlock/protocol";
import type { Effort, FileChangeInfo } from "../agent.ts";

const ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const MAX_FILES = 500;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** An id the event schema accepts (agents use UUIDs and `call_…`, but nothing guarantees it). */
export function safeId(value: unknown, fallback = "unknown"): string {
  const raw = typeof value === "string" && value !== "" ? value : fallback;
  if (ID_RE.test(raw)) return raw;
  return raw.replace(/[^A-Za-z0-9_.:-]/g, "_").slice(0, 128) || fallback;
}

/** Splits a long text into schema-sized pieces (deltas and output chunks). */
export function pieces(text: string, max: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += max) out.push(text.slice(i, i + max));
  return out;
}

export function toEffort(value: unknown): Effort | undefined {
  const parsed = effort.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

export function isValidEvent(event: ThreadEvent): boolean {
  return threadEvent.safeParse(event).success;
}

/** One `file.change` event per changed file (at most 500). */
export function fileChangeEvents(itemId: string, files: FileChangeInfo[]): ThreadEvent[] {
  return files.slice(0, MAX_FILES).map((f) => ({
    kind: "file.change",
    itemId,
    path: clip(f.path, 1024),
    change: f.change,
    ...(f.oldPath ? { oldPath: clip(f.oldPath, 1024) } : {}),
    diff: clip(f.diff ?? "", 262144),
  }));
}
