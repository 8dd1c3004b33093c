// A Codex thread's own record (`thread/read` with turns) → ThreadEvents, for
// readThread(): what a device sees when the host's event store lacks it.
import type { ThreadEvent } from "@airlock/protocol";
import { isObject } from "./json-rpc.ts";
import { base64Image, compactionNotice, imageEvents, reasoningText, toolCallEvent } from "./items.ts";
import { clip, displayCommand, exitCode, fileChangeEvents, nonNegInt, pieces, safeId, str, toFileChanges, turnError, userText } from "./mapping.ts";

const MAX_EVENTS = 20_000;

export function readThreadEvents(response: unknown, cwd?: string): ThreadEvent[] {
  const out: ThreadEvent[] = [];
  const thread = isObject(response) && isObject(response.thread) ? response.thread : undefined;
  const turns = thread && Array.isArray(thread.turns) ? thread.turns : [];
  for (const turn of turns) {
    if (!isObject(turn)) continue;
    const turnId = safeId(turn.id);
    out.push({ kind: "turn.status", turnId, status: "started" });
    for (const item of Array.isArray(turn.items) ? turn.items : []) {
      if (isObject(item)) out.push(...itemEvents(item, cwd));
      if (out.length > MAX_EVENTS) return out.slice(0, MAX_EVENTS);
    }
    if (turn.status === "completed" || turn.status === "interrupted" || turn.status === "failed") {
      const error = turnError(turn);
      out.push({ kind: "turn.status", turnId, status: turn.status, ...(error ? { error } : {}) });
    }
  }
  return out;
}

function itemEvents(item: Record<string, unknown>, cwd: string | undefined): ThreadEvent[] {
  const itemId = safeId(item.id);
  switch (item.type) {
    case "userMessage":
      return [{ kind: "message.user", itemId, text: clip(userText(item.content), 65536) }];
    case "agentMessage":
      return [{ kind: "message.completed", itemId, text: clip(str(item.text) ?? "", 262144) }];
    case "commandExecution": {
      const output = str(item.aggregatedOutput) ?? "";
      return [
        { kind: "command.started", itemId, command: clip(displayCommand(str(item.command) ?? ""), 8192), cwd: clip(str(item.cwd) ?? "", 1024) },
        ...pieces(output, 65536).map((chunk): ThreadEvent => ({ kind: "command.output", itemId, stream: "stdout", chunk })),
        { kind: "command.finished", itemId, exitCode: exitCode(item.exitCode), durationMs: nonNegInt(item.durationMs, 0) },
      ];
    }
    case "fileChange":
      return item.status === "completed" ? fileChangeEvents(itemId, toFileChanges(item.changes, cwd)) : [];
    case "reasoning": {
      const text = reasoningText(item.summary);
      return text ? [{ kind: "reasoning", itemId, text }] : [];
    }
    case "webSearch":
    case "mcpToolCall":
    case "imageView":
    case "imageGeneration": {
      // A generated image given inline comes back with it; files viewed or saved are not re-read here.
      const event = toolCallEvent(item, false);
      const image = item.type === "imageGeneration" ? base64Image(item.result) : undefined;
      return event ? [event, ...(image ? imageEvents(itemId, image) : [])] : [];
    }
    case "contextCompaction":
      return [compactionNotice()];
    default:
      return [];
  }
}
