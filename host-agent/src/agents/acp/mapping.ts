// ACP shapes → Airlock shapes. An ACP agent is a peer Airlock does not
// control: everything here reads untrusted JSON field by field, cuts texts to
// the event schema's limits and makes ids schema-safe, so a strange payload
// yields fewer events, never an exception or an event the host rejects.
import { relative, isAbsolute } from "node:path";
import { createTwoFilesPatch } from "diff";
import type { ModelInfo, ThreadEvent } from "@airlock/protocol";
import type { Effort, FileChangeInfo } from "../../agent.ts";
import { displayCommand } from "../codex/mapping.ts";
import { clip, fileChangeEvents, isObject, safeId, str, toEffort } from "../payload.ts";

export { clip, fileChangeEvents, isObject, safeId, str };

/** The ACP tool kinds (anything else is "other"). */
export const TOOL_KINDS = ["read", "edit", "delete", "move", "search", "execute", "think", "fetch", "switch_mode", "other"] as const;
export type ToolKind = (typeof TOOL_KINDS)[number];

export function toolKind(value: unknown): ToolKind | undefined {
  return TOOL_KINDS.find((k) => k === value);
}

export type ToolStatus = "pending" | "in_progress" | "completed" | "failed";
export function toolStatus(value: unknown): ToolStatus | undefined {
  return value === "pending" || value === "in_progress" || value === "completed" || value === "failed" ? value : undefined;
}

const MAX_COMMAND = 65536;
const MAX_DIFF_INPUT = 2 * 1024 * 1024;

/**
 * The command line of an execute tool call from its rawInput, when the shape
 * is one Airlock knows: `{command: "…"}` (Claude Code's Bash, Gemini, most
 * agents), `{cmd: "…"}`, or an argv array under either key (Codex's adapter).
 * undefined: unknown shape; the caller classifies conservatively and says so.
 */
export function commandOf(rawInput: unknown): string | undefined {
  if (!isObject(rawInput)) return undefined;
  const c = rawInput.command ?? rawInput.cmd;
  if (typeof c === "string") return c.trim() !== "" && c.length <= MAX_COMMAND ? c : undefined;
  if (Array.isArray(c) && c.length > 0 && c.length <= 1000 && c.every((w) => typeof w === "string")) {
    const line = (c as string[]).map(shellWord).join(" ");
    return line.length <= MAX_COMMAND ? displayCommand(line) : undefined;
  }
  return undefined;
}

/** The model's reason for a command, where the input carries one (Claude Code: `description`). */
export function reasonOf(rawInput: unknown): string | undefined {
  if (!isObject(rawInput)) return undefined;
  const r = str(rawInput.description) ?? str(rawInput.reason) ?? str(rawInput.justification);
  return r && r.trim() ? clip(r.trim(), 4096) : undefined;
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_/.,:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface DiffContent {
  path: string;
  oldText: string | null;
  newText: string;
}

/** `diff` entries of a tool call's content (bounded). */
export function diffsOf(content: unknown): DiffContent[] {
  const out: DiffContent[] = [];
  if (!Array.isArray(content)) return out;
  for (const c of content.slice(0, 200)) {
    if (!isObject(c) || c.type !== "diff") continue;
    const path = str(c.path);
    const newText = str(c.newText);
    if (!path || newText === undefined || path.length > 4096) continue;
    const oldText = c.oldText === null || c.oldText === undefined ? null : str(c.oldText);
    if (oldText === undefined) continue;
    out.push({ path, oldText, newText });
  }
  return out;
}

/**
 * Text of a tool call's `content` blocks (command output, results), bounded.
 * `skip`: a block that only repeats the tool's description (Claude Code sends
 * it first). A block fenced as code (```console … ```) is unwrapped.
 */
export function textOf(content: unknown, max = 1024 * 1024, skip?: string): string {
  if (!Array.isArray(content)) return "";
  let out = "";
  for (const c of content.slice(0, 200)) {
    if (!isObject(c) || c.type !== "content" || !isObject(c.content)) continue;
    const block = c.content;
    if (block.type !== "text" || typeof block.text !== "string" || (skip !== undefined && block.text === skip)) continue;
    const fenced = /^```[a-z]*\n([\s\S]*?)\n?```\s*$/.exec(block.text);
    const text = fenced ? `${fenced[1]!}\n` : block.text;
    out += out && !out.endsWith("\n") ? `\n${text}` : text;
    if (out.length >= max) return out.slice(0, max);
  }
  return out;
}

/** A path as reviewers read it: relative to the workspace when inside it. */
export function displayPath(path: string, cwd: string): string {
  if (!isAbsolute(path) || !cwd) return path;
  const rel = relative(cwd, path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

/**
 * old/new text → a unified diff (jsdiff), with a/ b/ headers and /dev/null for
 * an added (or deleted) file. Bounded: inputs over 2 MiB, or a diff that takes
 * too long, give a one-line note instead.
 */
export function unifiedDiff(path: string, oldText: string | null, newText: string | null, cwd: string): string {
  const name = displayPath(path, cwd);
  if ((oldText?.length ?? 0) + (newText?.length ?? 0) > MAX_DIFF_INPUT) return `# ${name}: too large to diff here\n`;
  const patch = createTwoFilesPatch(
    oldText === null ? "/dev/null" : `a/${name}`,
    newText === null ? "/dev/null" : `b/${name}`,
    oldText ?? "",
    newText ?? "",
    undefined,
    undefined,
    {
      context: 3,
      timeout: 1000,
      headerOptions: { includeIndex: false, includeUnderline: false, includeFileHeaders: true },
    },
  );
  return patch ?? `# ${name}: the diff took too long to compute\n`;
}

/** A tool call's diffs as FileChangeInfo (kind decides delete/rename). */
export function fileChanges(kind: ToolKind | undefined, diffs: DiffContent[], cwd: string, locations: string[] = []): FileChangeInfo[] {
  return diffs.map((d, i) => {
    const change: FileChangeInfo["change"] = kind === "delete" ? "delete" : d.oldText === null ? "add" : "modify";
    const info: FileChangeInfo = {
      path: d.path,
      change,
      diff: unifiedDiff(d.path, d.oldText, change === "delete" ? null : d.newText, cwd),
    };
    if (kind === "move" && locations[i + 1] && locations[i + 1] !== d.path) return { ...info, change: "rename", oldPath: d.path, path: locations[i + 1]! };
    return info;
  });
}

/** `locations[].path` of a tool call (bounded). */
export function locationsOf(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value
    .slice(0, 50)
    .map((l) => (isObject(l) ? str(l.path) : undefined))
    .filter((p): p is string => !!p && p.length <= 4096);
}

export function planEvent(entries: unknown): ThreadEvent | undefined {
  if (!Array.isArray(entries)) return undefined;
  const steps: Array<{ text: string; status: "pending" | "in_progress" | "completed" }> = [];
  for (const e of entries.slice(0, 100)) {
    if (!isObject(e)) continue;
    const text = str(e.content);
    if (text === undefined) continue;
    const status = e.status === "completed" ? "completed" : e.status === "in_progress" ? "in_progress" : "pending";
    steps.push({ text: clip(text, 1024), status });
  }
  return { kind: "plan.update", steps };
}

/** The text of a ContentBlock (text blocks only; others are described). */
export function chunkText(content: unknown): string {
  if (!isObject(content)) return "";
  if (content.type === "text") return str(content.text) ?? "";
  if (content.type === "resource_link") return `[${clip(str(content.name) ?? str(content.uri) ?? "resource", 200)}]`;
  return "";
}

/** An exit code from a tool's rawOutput, when the agent gives one. */
export function exitCodeOf(rawOutput: unknown): number | undefined {
  if (!isObject(rawOutput)) return undefined;
  for (const key of ["exitCode", "exit_code", "code", "returncode"]) {
    const v = rawOutput[key];
    if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  }
  return undefined;
}

export interface ConfigSelect {
  id: string;
  category: string;
  current: string;
  values: Array<{ value: string; name: string }>;
}

/** Select-type session config options (model, mode, thought_level, …), bounded. */
export function configSelects(options: unknown): ConfigSelect[] {
  const out: ConfigSelect[] = [];
  if (!Array.isArray(options)) return out;
  for (const o of options.slice(0, 32)) {
    if (!isObject(o) || o.type !== "select") continue;
    const id = str(o.id);
    const current = str(o.currentValue);
    if (!id || id.length > 128 || current === undefined) continue;
    const values: ConfigSelect["values"] = [];
    const add = (v: unknown) => {
      if (!isObject(v) || values.length >= 64) return;
      const value = str(v.value);
      if (!value || value.length > 128) return;
      values.push({ value, name: clip(str(v.name) || value, 128) });
    };
    for (const v of Array.isArray(o.options) ? o.options.slice(0, 64) : []) {
      if (isObject(v) && Array.isArray(v.options)) for (const g of v.options.slice(0, 64)) add(g);
      else add(v);
    }
    out.push({ id, category: str(o.category) ?? "", current, values });
  }
  return out;
}

/** The model select (category "model") as ModelInfo; thought levels named like Airlock's efforts become efforts. */
export function modelsOf(selects: ConfigSelect[]): { models: ModelInfo[]; current?: string } {
  const model = selects.find((s) => s.category === "model");
  if (!model) return { models: [] };
  const thought = selects.find((s) => s.category === "thought_level");
  const efforts: Effort[] = [];
  for (const v of thought?.values ?? []) {
    const e = toEffort(v.value);
    if (e && !efforts.includes(e)) efforts.push(e);
  }
  const defaultEffort = thought ? toEffort(thought.current) : undefined;
  const models = model.values.map((v) => ({
    id: v.value,
    name: v.name,
    efforts: efforts.slice(0, 8),
    ...(defaultEffort && efforts.includes(defaultEffort) ? { defaultEffort } : {}),
  }));
  return { models, current: model.current };
}

/** Session modes from a `modes` state: ids and the current one. */
export function modesOf(state: unknown): { current?: string; ids: string[] } {
  if (!isObject(state)) return { ids: [] };
  const ids = Array.isArray(state.availableModes)
    ? state.availableModes
        .slice(0, 32)
        .map((m) => (isObject(m) ? str(m.id) : undefined))
        .filter((m): m is string => !!m && m.length <= 128)
    : [];
  const current = str(state.currentModeId);
  return current ? { current, ids } : { ids };
}

/** Modes in which an agent runs tools without asking: Airlock never leaves a session in one. */
export const NON_ASKING_MODES = new Set(["auto", "bypassPermissions", "acceptEdits", "dontAsk", "yolo", "autoEdit", "auto_edit", "full-access", "full_access"]);
