// Codex's server requests (approvals of commands, file changes and
// permissions; questions to the user) translated to the host's approval broker
// and back. The broker decides; this module only maps Codex's request onto an
// ApprovalAsk or a question, and the verdict onto Codex's answer.
import type { AgentHost, ApprovalAsk, ApprovalVerdict, FileChangeInfo } from "../../agent.ts";
import { isObject, logName, METHOD_NOT_FOUND, RpcError } from "./json-rpc.ts";
import { clip, displayCommand, safeId, str } from "./mapping.ts";

const MAX_QUESTIONS = 20;

/** The server requests Airlock answers; any other is refused with METHOD_NOT_FOUND. */
export const SERVER_REQUESTS: readonly string[] = [
  "item/commandExecution/requestApproval",
  "item/fileChange/requestApproval",
  "item/permissions/requestApproval",
  "item/tool/requestUserInput",
];

/** The request's thread and turn as Codex names them. */
export interface RequestTarget {
  codexId: string | undefined;
  turnId: string | undefined;
}

/** Refuses what Airlock does not handle; returns the object params and who they are about. */
export function checkRequest(method: string, params: unknown): { params: Record<string, unknown> } & RequestTarget {
  if (!isObject(params)) throw new RpcError(-32602, "params must be an object");
  if (!SERVER_REQUESTS.includes(method)) throw new RpcError(METHOD_NOT_FOUND, `Airlock does not handle ${logName(method)}`);
  return { params, codexId: str(params.threadId), turnId: str(params.turnId) };
}

export interface RequestContext {
  host: AgentHost;
  hostId: string;
  /** The thread's folder, when the request names none. */
  cwd: string;
  /** The files a fileChange item announced in item/started (its approval carries none). */
  files(itemId: string): FileChangeInfo[];
  /** The reviewer cancelled: stop the turn once the request is answered. */
  cancelTurn(turnId: string): void;
}

/** Asks the host and returns Codex's answer to the request (checked by checkRequest). */
export async function answerRequest(method: string, params: Record<string, unknown>, ctx: RequestContext): Promise<unknown> {
  const { host, hostId } = ctx;
  const turnId = str(params.turnId);
  const itemId = str(params.itemId);
  const base = {
    cwd: clip(str(params.cwd) ?? ctx.cwd, 4096),
    ...(turnId ? { turnId: safeId(turnId) } : {}),
    ...(itemId ? { itemId: safeId(itemId) } : {}),
  };
  const reason = str(params.reason);
  switch (method) {
    case "item/commandExecution/requestApproval": {
      const ask: ApprovalAsk = {
        type: "command",
        ...base,
        command: clip(displayCommand(str(params.command) ?? ""), 65536),
        ...(reason ? { reason: clip(reason, 4096) } : {}),
      };
      return { decision: codexDecision(await host.requestApproval(hostId, ask)) };
    }
    case "item/fileChange/requestApproval": {
      const files = itemId ? ctx.files(safeId(itemId)) : [];
      const grantRoot = str(params.grantRoot);
      const why = [reason, grantRoot ? `asks to write under ${grantRoot} for the rest of the session` : undefined].filter(Boolean).join("; ");
      const ask: ApprovalAsk = { type: "file_change", ...base, files, ...(why ? { reason: clip(why, 4096) } : {}) };
      return { decision: codexDecision(await host.requestApproval(hostId, ask)) };
    }
    case "item/permissions/requestApproval": {
      const requested = isObject(params.permissions) ? params.permissions : {};
      const ask: ApprovalAsk = {
        type: "permission",
        ...base,
        permission: clip(describePermissions(requested), 4096),
        ...(reason ? { reason: clip(reason, 4096) } : {}),
      };
      const verdict = await host.requestApproval(hostId, ask);
      if (verdict.decision === "cancel" && turnId) ctx.cancelTurn(turnId);
      return permissionsResponse(verdict, requested);
    }
    default:
      return askUser(host, hostId, turnId, params.questions);
  }
}

async function askUser(host: AgentHost, hostId: string, turnId: string | undefined, questions: unknown): Promise<unknown> {
  const answers: Record<string, { answers: string[] }> = {};
  if (!Array.isArray(questions)) return { answers };
  for (const q of questions.slice(0, MAX_QUESTIONS)) {
    if (!isObject(q)) continue;
    const id = str(q.id);
    if (!id) continue;
    const labels = Array.isArray(q.options)
      ? q.options
          .map((o) => (isObject(o) ? str(o.label) : undefined))
          .filter((l): l is string => !!l)
          .slice(0, 20)
      : [];
    const header = str(q.header);
    const question = str(q.question) ?? "";
    const reply = await host.askQuestion(hostId, {
      ...(turnId ? { turnId: safeId(turnId) } : {}),
      text: clip(header ? `${header}: ${question}` : question, 8192),
      ...(labels.length ? { options: labels.map((label, i) => ({ id: `o${i}`, label: clip(label, 512) })) } : {}),
    });
    // No reply (timeout, withdrawn): an empty answer, so Codex goes on instead of waiting.
    if (!reply) answers[id] = { answers: [] };
    else {
      const picked = reply.optionId ? labels[Number(reply.optionId.slice(1))] : undefined;
      answers[id] = { answers: [clip(picked ?? reply.answer, 65536)] };
    }
  }
  return { answers };
}

function codexDecision(verdict: ApprovalVerdict): "accept" | "acceptForSession" | "decline" | "cancel" {
  switch (verdict.decision) {
    case "approve_once":
      return "accept";
    case "approve_session":
      return "acceptForSession";
    case "cancel":
      return "cancel";
    default:
      return "decline";
  }
}

function describePermissions(p: Record<string, unknown>): string {
  const parts: string[] = [];
  if (isObject(p.network) && p.network.enabled === true) parts.push("network");
  const fs = isObject(p.fileSystem) ? p.fileSystem : undefined;
  const paths = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string").slice(0, 50) : []);
  if (fs) {
    const write = paths(fs.write);
    const read = paths(fs.read);
    if (write.length) parts.push(`write ${write.join(", ")}`);
    if (read.length) parts.push(`read ${read.join(", ")}`);
    if (!write.length && !read.length) parts.push("file system access");
  }
  return parts.join("; ") || "additional permissions";
}

/** Approve grants exactly what was asked (turn or session); deny and cancel grant nothing. */
function permissionsResponse(verdict: ApprovalVerdict, requested: Record<string, unknown>): unknown {
  if (verdict.decision !== "approve_once" && verdict.decision !== "approve_session") return { permissions: {}, scope: "turn" };
  const permissions: Record<string, unknown> = {};
  if (isObject(requested.network)) permissions.network = requested.network;
  if (isObject(requested.fileSystem)) permissions.fileSystem = requested.fileSystem;
  return { permissions, scope: verdict.decision === "approve_session" ? "session" : "turn" };
}
