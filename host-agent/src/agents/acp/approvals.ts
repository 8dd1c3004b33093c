// An ACP `session/request_permission` translated to the host's approval broker
// and back: the tool call becomes an ApprovalAsk (a command, a file change or
// a permission), offering only the decisions the agent's options can carry
// out; the verdict becomes one of those options. The broker decides.
import type { ApprovalDecision } from "@airlock/protocol";
import type { ApprovalAsk, ApprovalVerdict } from "../../agent.ts";
import { clip, commandOf, diffsOf, fileChanges, isObject, locationsOf, reasonOf, str, type DiffContent, type ToolKind } from "./mapping.ts";

export type PermissionOutcome = { outcome: { outcome: "cancelled" } | { outcome: "selected"; optionId: string } };

export const CANCELLED: PermissionOutcome = { outcome: { outcome: "cancelled" } };

export interface PermissionOption {
  optionId: string;
  kind: "allow_once" | "allow_always" | "reject_once" | "reject_always";
}

/** What the adapter already knows of the tool call the request is about. */
export interface KnownTool {
  itemId: string;
  title: string;
  rawInput?: unknown;
  content?: unknown;
}

export interface AskContext {
  /** The agent's name in reasons ("Claude Code"). */
  label: string;
  cwd: string;
  turnId: string | undefined;
  kind: ToolKind | undefined;
  tool: KnownTool | undefined;
  toolCall: Record<string, unknown>;
  options: PermissionOption[];
}

export function permissionOptions(value: unknown): PermissionOption[] {
  const out: PermissionOption[] = [];
  if (!Array.isArray(value)) return out;
  for (const o of value.slice(0, 16)) {
    if (!isObject(o)) continue;
    const optionId = str(o.optionId);
    const kind = o.kind;
    if (!optionId || optionId.length > 256) continue;
    if (kind === "allow_once" || kind === "allow_always" || kind === "reject_once" || kind === "reject_always") out.push({ optionId, kind });
  }
  return out;
}

/** The request as the broker sees it. */
export function permissionAsk(ctx: AskContext): ApprovalAsk {
  const { label, kind, tool, toolCall } = ctx;
  const rawInput = toolCall.rawInput ?? tool?.rawInput;
  const title = clip(str(toolCall.title) ?? tool?.title ?? "", 2048);
  const base = {
    cwd: clip(ctx.cwd, 4096),
    ...(ctx.turnId ? { turnId: ctx.turnId } : {}),
    ...(tool ? { itemId: tool.itemId } : {}),
    options: decisionsOf(ctx.options),
  };
  const reason = reasonOf(rawInput);
  const diffs: DiffContent[] = diffsOf(Array.isArray(toolCall.content) ? toolCall.content : tool?.content);
  if (kind === "execute") {
    const command = commandOf(rawInput);
    if (command !== undefined) return { type: "command", ...base, command, ...(reason ? { reason } : {}) };
    return {
      type: "permission",
      ...base,
      permission: "exec",
      reason: clip(
        `Airlock cannot read the exact command from ${label}'s tool input (an input shape it does not know), so it is classified as expand. The agent describes it as: ${title || "(no description)"}`,
        4096,
      ),
    };
  }
  if (diffs.length > 0 || kind === "edit" || kind === "delete" || kind === "move") {
    const files = fileChanges(kind, diffs, ctx.cwd, locationsOf(toolCall.locations));
    if (files.length === 0) {
      for (const path of locationsOf(toolCall.locations).slice(0, 50)) files.push({ path, change: kind === "delete" ? "delete" : "modify" });
    }
    return { type: "file_change", ...base, files, ...(title ? { reason: `${label}: ${title}` } : {}) };
  }
  const permission = kind === "read" || kind === "search" ? "read" : kind === "fetch" ? "fetch" : kind === "switch_mode" || kind === "think" ? "plan" : "tool";
  return { type: "permission", ...base, permission, reason: clip(`${label} asks to use ${kind ?? "a tool"}: ${title || "(no description)"}`, 4096) };
}

/** The agent's answer to an approve or deny verdict ("cancel" stops the turn instead: the adapter's business). */
export function permissionOutcome(options: PermissionOption[], verdict: ApprovalVerdict): PermissionOutcome {
  const optionId = pickOption(options, verdict);
  return optionId ? { outcome: { outcome: "selected", optionId } } : CANCELLED;
}

/** The decisions a reviewer gets: only what the agent's options can carry out (deny is always possible: "cancelled"). */
function decisionsOf(options: PermissionOption[]): ApprovalDecision[] {
  const kinds = new Set(options.map((o) => o.kind));
  const out: ApprovalDecision[] = [];
  if (kinds.has("allow_once")) out.push("approve_once");
  if (kinds.has("allow_always")) out.push("approve_session");
  out.push("deny");
  return out;
}

function pickOption(options: PermissionOption[], verdict: ApprovalVerdict): string | undefined {
  const find = (...kinds: PermissionOption["kind"][]) => {
    for (const k of kinds) {
      const o = options.find((x) => x.kind === k);
      if (o) return o.optionId;
    }
    return undefined;
  };
  switch (verdict.decision) {
    case "approve_once":
      return find("allow_once");
    case "approve_session":
      return find("allow_always", "allow_once");
    default:
      return find("reject_once", "reject_always");
  }
}
