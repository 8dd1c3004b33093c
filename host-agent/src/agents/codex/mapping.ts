// Codex app-server shapes → Airlock shapes. Everything here reads untrusted
// JSON: fields are checked one by one, ids are made schema-safe, texts are cut
// to the event schema's limits, so a strange payload yields fewer events,
// never an exception or an event the host's schema rejects.
import { isAbsolute, relative } from "node:path";
import { createTwoFilesPatch } from "diff";
import type { ModelInfo, ThreadEvent } from "@airlock/protocol";
import type { Effort, FileChangeInfo } from "../../agent.ts";
import { clip, fileChangeEvents, isObject, isValidEvent, pieces, safeId, str, toEffort } from "../payload.ts";

export { clip, fileChangeEvents, isValidEvent, pieces, safeId, str, toEffort };

/** model/list entries → ModelInfo; hidden models and efforts Airlock has no name for are dropped. */
export function toModels(data: unknown): { models: ModelInfo[]; defaultModel?: string } {
  const models: ModelInfo[] = [];
  let defaultModel: string | undefined;
  if (!Array.isArray(data)) return { models };
  for (const m of data) {
    if (!isObject(m) || m.hidden === true) continue;
    const id = str(m.model) ?? str(m.id);
    if (!id || id.length > 128) continue;
    const efforts: Effort[] = [];
    if (Array.isArray(m.supportedReasoningEfforts)) {
      for (const e of m.supportedReasoningEfforts) {
        const effort = toEffort(isObject(e) ? e.reasoningEffort : undefined);
        if (effort && !efforts.includes(effort)) efforts.push(effort);
      }
    }
    const defaultEffort = toEffort(m.defaultReasoningEffort);
    models.push({
      id,
      name: clip(str(m.displayName) || id, 128),
      efforts: efforts.slice(0, 8),
      ...(defaultEffort && efforts.includes(defaultEffort) ? { defaultEffort } : {}),
    });
    if (m.isDefault === true && defaultModel === undefined) defaultModel = id;
    if (models.length >= 64) break;
  }
  return defaultModel === undefined ? { models } : { models, defaultModel };
}

/** Codex wraps shell calls as `/bin/bash -c '<cmd>'`; reviewers and the classifier want <cmd>. */
export function displayCommand(command: string): string {
  const m = /^(?:\/(?:usr\/)?bin\/)?(?:ba|z)?sh -l?c (.+)$/s.exec(command);
  if (!m) return command;
  const inner = unquoteSingle(m[1]!);
  return inner ?? command;
}

/** Exactly one shell word made of '…' runs and \' escapes (what shlex quoting produces), else undefined. */
function unquoteSingle(word: string): string | undefined {
  let out = "";
  let i = 0;
  while (i < word.length) {
    if (word[i] === "'") {
      const end = word.indexOf("'", i + 1);
      if (end === -1) return undefined;
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (word[i] === "\\" && word[i + 1] === "'") {
      out += "'";
      i += 2;
    } else {
      return undefined;
    }
  }
  return out;
}

/** A fileChange item's `changes` → FileChangeInfo (paths as Codex gives them: absolute). */
/** Larger added files are not diffed (a placeholder line says so). */
const MAX_DIFF_INPUT = 2 * 1024 * 1024;

/**
 * Codex's changes → FileChangeInfo. For an added or deleted file Codex's
 * `diff` is the file's content, not a diff: it becomes a unified diff from or
 * to /dev/null (paths shown relative to cwd when inside it).
 */
export function toFileChanges(changes: unknown, cwd?: string): FileChangeInfo[] {
  const out: FileChangeInfo[] = [];
  if (!Array.isArray(changes)) return out;
  for (const c of changes.slice(0, 500)) {
    if (!isObject(c)) continue;
    const path = str(c.path);
    if (!path) continue;
    const kind = isObject(c.kind) ? str(c.kind.type) : str(c.kind);
    const diff = str(c.diff);
    const movePath = isObject(c.kind) ? str(c.kind.move_path) : undefined;
    if (kind === "add") out.push({ path, change: "add", ...(diff === undefined ? {} : { diff: wholeFileDiff(path, diff, "add", cwd) }) });
    else if (kind === "delete") out.push({ path, change: "delete", ...(diff === undefined ? {} : { diff: wholeFileDiff(path, diff, "delete", cwd) }) });
    else if (movePath)
      out.push({ path: movePath, change: "rename", oldPath: path, ...(diff === undefined ? {} : { diff: withHeaders(diff, path, movePath, cwd) }) });
    else out.push({ path, change: "modify", ...(diff === undefined ? {} : { diff: withHeaders(diff, path, path, cwd) }) });
  }
  return out;
}

export function planEvent(plan: unknown): ThreadEvent | undefined {
  if (!Array.isArray(plan)) return undefined;
  const steps: Array<{ text: string; status: "pending" | "in_progress" | "completed" }> = [];
  for (const s of plan.slice(0, 100)) {
    if (!isObject(s)) continue;
    const text = str(s.step);
    if (text === undefined) continue;
    const status = s.status === "completed" ? "completed" : s.status === "inProgress" ? "in_progress" : "pending";
    steps.push({ text: clip(text, 1024), status });
  }
  return { kind: "plan.update", steps };
}

/** Thread-cumulative usage (tokenUsage.total). */
export function usageEvent(tokenUsage: unknown): ThreadEvent | undefined {
  const total = isObject(tokenUsage) && isObject(tokenUsage.total) ? tokenUsage.total : undefined;
  if (!total) return undefined;
  const int = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : undefined);
  const inputTokens = int(total.inputTokens);
  const outputTokens = int(total.outputTokens);
  if (inputTokens === undefined || outputTokens === undefined) return undefined;
  const totalTokens = int(total.totalTokens);
  return { kind: "usage", inputTokens, outputTokens, ...(totalTokens === undefined ? {} : { totalTokens }) };
}

export function turnError(turn: Record<string, unknown>): string | undefined {
  const error = isObject(turn.error) ? str(turn.error.message) : undefined;
  return error === undefined ? undefined : clip(error, 2048);
}

/** Text of a userMessage item (its text inputs, joined). */
export function userText(content: unknown): string {
  if (!Array.isArray(content)) return "";
  return content
    .filter((c): c is Record<string, unknown> => isObject(c) && c.type === "text" && typeof c.text === "string")
    .map((c) => c.text as string)
    .join("\n");
}

/** Non-negative safe integer or fallback. */
export function nonNegInt(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.min(Math.round(value), Number.MAX_SAFE_INTEGER) : fallback;
}

/** A safe integer exit code, or null. */
export function exitCode(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) ? value : null;
}

/** A unified diff that creates (add) or removes (delete) `path` whose content is `content`. */
export function wholeFileDiff(path: string, content: string, change: "add" | "delete", cwd?: string): string {
  const name = cwd && isAbsolute(path) ? relativeInside(cwd, path) : path;
  if (content.length > MAX_DIFF_INPUT) return `# ${name}: ${change === "add" ? "new" : "deleted"} file, too large to show here\n`;
  const add = change === "add";
  const patch = createTwoFilesPatch(
    add ? "/dev/null" : `a/${name}`,
    add ? `b/${name}` : "/dev/null",
    add ? "" : content,
    add ? content : "",
    undefined,
    undefined,
    {
      context: 3,
      headerOptions: { includeIndex: false, includeUnderline: false, includeFileHeaders: true },
    },
  );
  return patch;
}

/**
 * Codex gives a modified (or moved) file's diff as hunks only: put the
 * `--- a/<old>` / `+++ b/<new>` lines in front, so every file.change diff is a
 * unified diff tools and the diff view can read. A diff that has them is kept.
 */
export function withHeaders(diff: string, oldPath: string, newPath: string, cwd?: string): string {
  if (diff === "" || /^(?:diff --git |--- )/.test(diff)) return diff;
  const name = (p: string) => (cwd && isAbsolute(p) ? relativeInside(cwd, p) : p);
  return `--- a/${name(oldPath)}\n+++ b/${name(newPath)}\n${diff}`;
}

function relativeInside(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}
