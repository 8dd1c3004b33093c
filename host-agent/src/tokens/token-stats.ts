// `airlock stats`, per automation token: what each token did, from the audit
// log (the app server records a token's prompts with data.token and every
// refusal as token.refused; airlock tokens records created/rotated/revoked).
import type { AuditRecord } from "../audit/audit-log.ts";

export interface TokenUsage {
  id: string;
  name: string;
  owner: string;
  /** Prompts sent (thread.start, thread.send, turn.steer, turn.interrupt). */
  prompts: number;
  threadsStarted: number;
  /** Commands the host refused (out of scope, expired, revoked). */
  refused: number;
  /** Unix ms of its latest prompt or refusal. */
  lastActivity: number | null;
}

function tokenOf(data: Record<string, unknown>): { id: string; name: string; owner: string } | undefined {
  const t = data.token as Record<string, unknown> | undefined;
  if (typeof t !== "object" || t === null) return undefined;
  return typeof t.id === "string" && typeof t.name === "string" && typeof t.owner === "string" ? { id: t.id, name: t.name, owner: t.owner } : undefined;
}

export function tokenUsage(records: readonly AuditRecord[], since?: number): TokenUsage[] {
  const byId = new Map<string, TokenUsage>();
  for (const r of records) {
    if (since !== undefined && r.at < since) continue;
    if (r.type !== "prompt" && r.type !== "token.refused") continue;
    const t = tokenOf(r.data);
    if (!t) continue;
    const u = byId.get(t.id) ?? { ...t, prompts: 0, threadsStarted: 0, refused: 0, lastActivity: null };
    // The latest name and owner win (they never change today; rotation keeps them).
    u.name = t.name;
    u.owner = t.owner;
    if (r.type === "prompt") {
      u.prompts += 1;
      if (r.data.command === "thread.start") u.threadsStarted += 1;
    } else u.refused += 1;
    u.lastActivity = Math.max(u.lastActivity ?? 0, r.at);
    byId.set(t.id, u);
  }
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function formatTokenUsage(usage: readonly TokenUsage[]): string {
  if (usage.length === 0) return "";
  const lines = ["", "Automation tokens:"];
  for (const u of usage) {
    lines.push(
      `  ${u.name} (${u.id}, owner ${u.owner}): ${u.threadsStarted} thread${u.threadsStarted === 1 ? "" : "s"} started, ${u.prompts} prompt${u.prompts === 1 ? "" : "s"}, ${u.refused} refused${u.lastActivity ? `, last ${new Date(u.lastActivity).toISOString().slice(0, 16).replace("T", " ")}` : ""}`,
    );
  }
  return lines.join("\n");
}
