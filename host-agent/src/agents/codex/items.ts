// Codex items and notifications beyond messages, commands and file changes:
// reasoning summaries, web searches, MCP tool calls, images, the turn's diff,
// compaction, model reroutes and rate limits → Airlock events. Like
// mapping.ts, every input is untrusted JSON: fields are read one by one and
// cut to the event schema's limits; what does not fit yields no event.
import { open } from "node:fs/promises";
import type { ThreadEvent } from "@airlock/protocol";
import { isObject } from "./json-rpc.ts";
import { clip, safeId, str } from "./mapping.ts";

/** Images larger than this (bytes) are not sent to devices (the tool call still is). */
export const MAX_IMAGE_BYTES = 8 * 1024 * 1024;
/** base64 characters per `image` event (the schema's limit: 192 KiB of text). */
const IMAGE_CHUNK = 196_608;
const MAX_REASONING = 65_536;
const MAX_DIFF = 262_144;

/** A reasoning item's summary parts (strings) as one text. */
export function reasoningText(summary: unknown): string {
  if (!Array.isArray(summary)) return "";
  return clip(
    summary
      .filter((p): p is string => typeof p === "string")
      .join("\n\n")
      .trim(),
    MAX_REASONING,
  );
}

/** JSON of a value, cut (arguments of a tool call). */
function json(value: unknown, max: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  try {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return text === undefined ? undefined : clip(text, max);
  } catch {
    return undefined;
  }
}

/** What a web search did, as the Codex TUI says it: the query, the page opened, the text looked for. */
function webSearchInput(item: Record<string, unknown>): string | undefined {
  const action = isObject(item.action) ? item.action : undefined;
  switch (action?.type) {
    case "search": {
      const queries = Array.isArray(action.queries) ? action.queries.filter((q): q is string => typeof q === "string") : [];
      return str(action.query) || queries.join(" | ") || str(item.query) || undefined;
    }
    case "openPage":
      return str(action.url) ? `open ${str(action.url)}` : undefined;
    case "findInPage":
      return `find ${JSON.stringify(str(action.pattern) ?? "")}${str(action.url) ? ` in ${str(action.url)}` : ""}`;
    default:
      return str(item.query) || undefined;
  }
}

/** The text an MCP tool returned (its text content; other content kinds are named). */
export function mcpOutput(result: unknown, error: unknown): string | undefined {
  if (isObject(error)) return str(error.message) ?? "the tool call failed";
  if (!isObject(result)) return undefined;
  const parts: string[] = [];
  for (const c of Array.isArray(result.content) ? result.content.slice(0, 100) : []) {
    if (!isObject(c)) continue;
    if (c.type === "text" && typeof c.text === "string") parts.push(c.text);
    else if (typeof c.type === "string") parts.push(`[${clip(c.type, 32)}]`);
  }
  if (parts.length === 0 && result.structuredContent !== undefined && result.structuredContent !== null) return json(result.structuredContent, 65_536);
  return parts.join("\n");
}

type ToolCall = Extract<ThreadEvent, { kind: "tool.call" }>;

function toolCall(itemId: string, name: string, status: ToolCall["status"], input?: string, output?: string): ToolCall {
  return {
    kind: "tool.call",
    itemId,
    name: clip(name, 512),
    status,
    ...(input ? { input: clip(input, 8192) } : {}),
    ...(output ? { output: clip(output, 65_536) } : {}),
  };
}

/**
 * The tool.call event for a webSearch, mcpToolCall, imageView or
 * imageGeneration item (started: running; completed: its outcome), else undefined.
 */
export function toolCallEvent(item: Record<string, unknown>, started: boolean): ToolCall | undefined {
  const itemId = safeId(item.id);
  switch (item.type) {
    case "webSearch":
      return toolCall(itemId, "web_search", started ? "running" : "completed", webSearchInput(item));
    case "mcpToolCall": {
      const name = `mcp:${str(item.server) ?? "?"}/${str(item.tool) ?? "?"}`;
      const status = started || item.status === "inProgress" ? "running" : item.status === "failed" || isObject(item.error) ? "failed" : "completed";
      return toolCall(itemId, name, status, json(item.arguments, 8192), started ? undefined : mcpOutput(item.result, item.error));
    }
    case "imageView":
      return toolCall(itemId, "view_image", started ? "running" : "completed", str(item.path));
    case "imageGeneration": {
      if (started) return toolCall(itemId, "image_generation", "running", str(item.revisedPrompt) ?? undefined);
      const failure = isObject(item.failure) ? `failed: ${str(item.failure.type) ?? "unknown reason"}` : undefined;
      const failed = failure !== undefined || item.status === "failed";
      return toolCall(itemId, "image_generation", failed ? "failed" : "completed", str(item.revisedPrompt) ?? undefined, failure ?? str(item.savedPath));
    }
    default:
      return undefined;
  }
}

/** The image's type from its first bytes (only the kinds the `image` event carries). */
export function imageMime(bytes: Uint8Array): "image/png" | "image/jpeg" | "image/webp" | undefined {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b.length >= 12 && String.fromCharCode(...b.subarray(0, 4)) === "RIFF" && String.fromCharCode(...b.subarray(8, 12)) === "WEBP") return "image/webp";
  return undefined;
}

/** `image` events (base64 chunks) for an image's bytes; none for an unknown format or one too large. */
export function imageEvents(itemId: string, bytes: Uint8Array): ThreadEvent[] {
  const mime = imageMime(bytes);
  if (!mime || bytes.length > MAX_IMAGE_BYTES) return [];
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  const chunks = Math.ceil(data.length / IMAGE_CHUNK);
  if (chunks < 1 || chunks > 256) return [];
  const out: ThreadEvent[] = [];
  for (let i = 0; i < chunks; i++) out.push({ kind: "image", itemId, mime, chunk: i, chunks, data: data.slice(i * IMAGE_CHUNK, (i + 1) * IMAGE_CHUNK) });
  return out;
}

/** A generated image given inline as base64 (imageGeneration `result`), decoded strictly. */
export function base64Image(value: unknown): Uint8Array | undefined {
  if (typeof value !== "string" || value.length === 0 || value.length > Math.ceil(MAX_IMAGE_BYTES / 3) * 4 + 4) return undefined;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) return undefined;
  return Buffer.from(value, "base64");
}

/**
 * An image file the agent viewed or saved: a regular file of at most
 * MAX_IMAGE_BYTES, read through one descriptor (no check-then-read race);
 * undefined when it is missing, too large or not a file.
 */
export async function readImageFile(path: string): Promise<Uint8Array | undefined> {
  let handle;
  try {
    handle = await open(path, "r");
    const info = await handle.stat();
    if (!info.isFile() || info.size > MAX_IMAGE_BYTES) return undefined;
    const buffer = Buffer.alloc(info.size);
    const { bytesRead } = await handle.read(buffer, 0, info.size, 0);
    return buffer.subarray(0, bytesRead);
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** The turn's aggregated diff; a diff over the limit is cut at a line end and says so. */
export function turnDiffEvent(turnId: unknown, diff: unknown): ThreadEvent | undefined {
  if (typeof diff !== "string") return undefined;
  let text = diff;
  if (text.length > MAX_DIFF) {
    const note = "\n# … the rest of the turn's diff is too large to show here\n";
    const cut = text.lastIndexOf("\n", MAX_DIFF - note.length);
    text = text.slice(0, Math.max(0, cut)) + note;
  }
  return { kind: "turn.diff", turnId: safeId(turnId), diff: text };
}

/** The notice for a `model/rerouted` notification. */
export function rerouteNotice(params: Record<string, unknown>): ThreadEvent | undefined {
  const from = str(params.fromModel);
  const to = str(params.toModel);
  if (!from || !to) return undefined;
  const reason = str(params.reason);
  const why = reason === "highRiskCyberActivity" ? "high-risk cyber activity" : reason ? reason.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`) : undefined;
  return {
    kind: "notice",
    level: "warning",
    text: clip(`Codex rerouted this turn from ${from} to ${to}${why ? ` (reason: ${why})` : ""}.`, 4096),
  };
}

/** The notice for a contextCompaction item (with the model switch that caused it, when known). */
export function compactionNotice(switching?: { from: string; to: string }): ThreadEvent {
  const text = switching
    ? `Codex compacted the conversation before switching from ${switching.from} to ${switching.to}: the new model continues from a summary of the thread so far.`
    : "Codex compacted the conversation: earlier turns were replaced by a summary to fit the model's context window.";
  return { kind: "notice", level: "info", text: clip(text, 4096) };
}

const RATE_THRESHOLDS = [75, 90] as const;

/**
 * Rate-limit warnings like the Codex TUI's: once per window when its use
 * crosses 75 % and 90 %, and when a limit is reached. `state` remembers what
 * was said (a window whose use falls back, i.e. resets, may warn again).
 */
export function rateLimitNotices(state: Map<string, number>, rateLimits: unknown): ThreadEvent[] {
  if (!isObject(rateLimits)) return [];
  const out: ThreadEvent[] = [];
  const limit = str(rateLimits.limitName) ?? "Codex";
  let windows = 0;
  let low = 0;
  for (const key of ["primary", "secondary"] as const) {
    const w = rateLimits[key];
    if (!isObject(w) || typeof w.usedPercent !== "number" || !Number.isFinite(w.usedPercent)) continue;
    const used = Math.max(0, Math.min(100, w.usedPercent));
    const crossed = RATE_THRESHOLDS.filter((t) => used >= t).at(-1) ?? 0;
    windows++;
    if (crossed === 0) low++;
    const said = state.get(key) ?? 0;
    state.set(key, crossed);
    if (crossed <= said) continue;
    const mins = typeof w.windowDurationMins === "number" && w.windowDurationMins > 0 ? w.windowDurationMins : undefined;
    const window = mins === undefined ? key : mins % 1440 === 0 ? `${mins / 1440}-day` : mins % 60 === 0 ? `${mins / 60}-hour` : `${mins}-minute`;
    const resets =
      typeof w.resetsAt === "number" && w.resetsAt > 0 ? `; it resets at ${new Date(w.resetsAt * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC` : "";
    out.push({ kind: "notice", level: "warning", text: clip(`${limit} rate limit: ${Math.round(used)}% of the ${window} limit used${resets}.`, 4096) });
  }
  const reached = rateLimits.rateLimitReachedType;
  const wasReached = state.get("reached") === 1;
  if (reached !== null && reached !== undefined && !wasReached) {
    const what = (isObject(reached) ? str(reached.type) : str(reached))?.replace(/_/g, " ");
    out.push({ kind: "notice", level: "error", text: clip(`${limit} rate limit reached${what ? ` (${what})` : ""}: turns fail until it resets.`, 4096) });
    state.set("reached", 1);
  } else if (wasReached && windows > 0 && low === windows) {
    // Updates are sparse (a null does not clear a limit): a window that reset ends it.
    state.set("reached", 0);
  }
  return out;
}
