// `airlock stats`: how the approval loop is doing, computed from the audit log
// (the broker records approval.request, approval.decision and
// approval.outcome). What it measures (docs/host-agent.md, `airlock stats`):
// - idle time before a reviewer responds (p50/p90 of human decision latency),
// - approvals per thread,
// - the share decided by policy without asking anyone,
// - the failure rate of commands a human approved,
// - all of it per device as well,
// - pushes (push.sent / push.failed / push.gone, recorded by the push
//   notifier) and the time before a person answered, split by whether a
//   push was sent for the request.
import type { AuditRecord } from "./audit-log.ts";
import { tableLines } from "../terminal-text.ts";

export interface LatencySummary {
  count: number;
  p50Ms: number | null;
  p90Ms: number | null;
}

export interface DeviceStats {
  device: string;
  decisions: number;
  approved: number;
  denied: number;
  latency: LatencySummary;
  approvedCommands: number;
  approvedCommandsFailed: number;
}

export interface ApprovalStats {
  since: number | null;
  requests: number;
  threads: number;
  approvalsPerThread: number | null;
  decided: { byPolicy: number; byHuman: number; byTimeout: number; cancelled: number };
  /** Share of decided requests the policy decided alone (0..1). */
  autoDecidedShare: number | null;
  humanLatency: LatencySummary;
  approvedCommands: number;
  approvedCommandsFailed: number;
  approvedCommandFailureRate: number | null;
  byTier: Record<string, number>;
  perDevice: DeviceStats[];
  /** Push messages the host sent (accepted by the push service), that failed, and subscriptions found gone (404/410). */
  push: { sent: number; failed: number; gone: number };
  /** Time before a person answered requests a push was sent for ("request" push accepted), and the others. */
  humanLatencyPushed: LatencySummary;
  humanLatencyNotPushed: LatencySummary;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function latency(values: number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: percentile(sorted, 50), p90Ms: percentile(sorted, 90) };
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

export function approvalStats(records: readonly AuditRecord[], since?: number): ApprovalStats {
  const threads = new Set<string>();
  const byTier: Record<string, number> = {};
  let requests = 0;
  const decided = { byPolicy: 0, byHuman: 0, byTimeout: 0, cancelled: 0 };
  const humanLatencies: number[] = [];
  const devices = new Map<string, { d: DeviceStats; latencies: number[] }>();
  /** approvalId → who approved it (device name), for outcomes. */
  const approvedBy = new Map<string, string | null>();
  let approvedCommands = 0;
  let approvedCommandsFailed = 0;
  const push = { sent: 0, failed: 0, gone: 0 };
  const pushedLatencies: number[] = [];
  const notPushedLatencies: number[] = [];
  // Requests a push was sent for; the push may be recorded after the decision (it is sent in the background).
  const pushed = new Set<string>();
  for (const r of records) {
    if (r.type !== "push.sent") continue;
    const data = r.data as Record<string, unknown>;
    const approvalId = str(data.approvalId);
    if (data.push === "request" && approvalId) pushed.add(approvalId);
  }

  const device = (name: string) => {
    let e = devices.get(name);
    if (!e)
      devices.set(
        name,
        (e = {
          d: { device: name, decisions: 0, approved: 0, denied: 0, latency: latency([]), approvedCommands: 0, approvedCommandsFailed: 0 },
          latencies: [],
        }),
      );
    return e;
  };

  for (const r of records) {
    if (since !== undefined && r.at < since) continue;
    const data = r.data as Record<string, unknown>;
    if (r.type === "approval.request") {
      requests++;
      const thread = str(data.thread);
      if (thread) threads.add(thread);
      const tier = str(data.tier) ?? "unknown";
      byTier[tier] = (byTier[tier] ?? 0) + 1;
    } else if (r.type === "approval.decision") {
      const decision = str(data.decision);
      const approvalId = str(data.approvalId);
      const approved = decision === "approve_once" || decision === "approve_session";
      if (r.actor.kind === "policy") decided.byPolicy++;
      else if (r.actor.kind === "timeout") decided.byTimeout++;
      else if (decision === "cancel") decided.cancelled++;
      else {
        decided.byHuman++;
        const ms = num(data.latencyMs);
        if (ms !== undefined) {
          humanLatencies.push(ms);
          (approvalId && pushed.has(approvalId) ? pushedLatencies : notPushedLatencies).push(ms);
        }
        if (r.actor.kind === "device") {
          const e = device(r.actor.name ?? r.actor.id ?? "device");
          e.d.decisions++;
          if (approved) e.d.approved++;
          else e.d.denied++;
          if (ms !== undefined) e.latencies.push(ms);
        }
      }
      if (approved && approvalId && data.type === "command")
        approvedBy.set(approvalId, r.actor.kind === "device" ? (r.actor.name ?? r.actor.id ?? "device") : null);
    } else if (r.type === "approval.outcome") {
      const approvalId = str(data.approvalId);
      if (!approvalId || !approvedBy.has(approvalId)) continue;
      const failed = data.ok !== true;
      approvedCommands++;
      if (failed) approvedCommandsFailed++;
      const who = approvedBy.get(approvalId);
      if (who) {
        const e = device(who);
        e.d.approvedCommands++;
        if (failed) e.d.approvedCommandsFailed++;
      }
      approvedBy.delete(approvalId);
    } else if (r.type === "push.sent") push.sent++;
    else if (r.type === "push.failed") push.failed++;
    else if (r.type === "push.gone") push.gone++;
  }
  const decidedTotal = decided.byPolicy + decided.byHuman + decided.byTimeout;
  return {
    since: since ?? null,
    requests,
    threads: threads.size,
    approvalsPerThread: threads.size === 0 ? null : requests / threads.size,
    decided,
    autoDecidedShare: decidedTotal === 0 ? null : decided.byPolicy / decidedTotal,
    humanLatency: latency(humanLatencies),
    approvedCommands,
    approvedCommandsFailed,
    approvedCommandFailureRate: approvedCommands === 0 ? null : approvedCommandsFailed / approvedCommands,
    byTier,
    perDevice: [...devices.values()].map(({ d, latencies }) => ({ ...d, latency: latency(latencies) })).sort((a, b) => b.decisions - a.decisions),
    push,
    humanLatencyPushed: latency(pushedLatencies),
    humanLatencyNotPushed: latency(notPushedLatencies),
  };
}

const pct = (v: number | null) => (v === null ? "—" : `${(v * 100).toFixed(0)}%`);
const dur = (ms: number | null) =>
  ms === null ? "—" : ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;

export function formatStats(s: ApprovalStats): string {
  const lines = [
    `Approvals${s.since ? ` since ${new Date(s.since).toISOString().slice(0, 16).replace("T", " ")}` : ""}: ${s.requests} in ${s.threads} thread${s.threads === 1 ? "" : "s"}${s.approvalsPerThread === null ? "" : ` (${s.approvalsPerThread.toFixed(1)} per thread)`}`,
    `  by tier:          ${
      Object.entries(s.byTier)
        .map(([t, n]) => `${t} ${n}`)
        .join(", ") || "—"
    }`,
    `  decided by:       policy ${s.decided.byPolicy}, people ${s.decided.byHuman}, timeout ${s.decided.byTimeout}; cancelled ${s.decided.cancelled}`,
    `  auto-decided:     ${pct(s.autoDecidedShare)}`,
    `  idle before a person answered: p50 ${dur(s.humanLatency.p50Ms)}, p90 ${dur(s.humanLatency.p90Ms)} (${s.humanLatency.count} answers)`,
    `  approved commands that failed: ${s.approvedCommandsFailed} of ${s.approvedCommands} (${pct(s.approvedCommandFailureRate)})`,
    `  pushes:           sent ${s.push.sent}, failed ${s.push.failed}, subscriptions gone ${s.push.gone}`,
    `  idle with a push: p50 ${dur(s.humanLatencyPushed.p50Ms)}, p90 ${dur(s.humanLatencyPushed.p90Ms)} (${s.humanLatencyPushed.count} answers); without: p50 ${dur(s.humanLatencyNotPushed.p50Ms)}, p90 ${dur(s.humanLatencyNotPushed.p90Ms)} (${s.humanLatencyNotPushed.count})`,
  ];
  if (s.perDevice.length > 0) {
    lines.push("", "Per device:");
    const rows = s.perDevice.map((d) => [
      d.device,
      String(d.decisions),
      String(d.approved),
      String(d.denied),
      dur(d.latency.p50Ms),
      dur(d.latency.p90Ms),
      `${d.approvedCommandsFailed}/${d.approvedCommands}`,
    ]);
    const header = ["DEVICE", "DECISIONS", "APPROVED", "DENIED", "P50", "P90", "FAILED CMDS"];
    for (const line of tableLines(header, rows)) lines.push(`  ${line}`);
  }
  return lines.join("\n");
}
