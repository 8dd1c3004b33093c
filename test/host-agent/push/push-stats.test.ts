// `airlock stats` and push: pushes sent / failed / gone, and the time before a
// person answered split by whether a push was sent for the request (the push
// may be recorded after the decision: it is sent in the background).
import { describe, expect, it } from "vitest";
import { approvalStats, formatStats } from "../../../host-agent/src/audit/stats.ts";
import type { AuditRecord } from "../../../host-agent/src/audit/audit-log.ts";

let seq = 0;
const rec = (type: string, actor: AuditRecord["actor"], data: Record<string, unknown>, at = 1_000_000): AuditRecord =>
  ({ v: 1, seq: ++seq, at, prev: "", hash: "", type, actor, data }) as unknown as AuditRecord;
const phone = { kind: "device" as const, id: "d_phone00001", name: "Phone" };
const host = { kind: "host" as const };

describe("approval stats with pushes", () => {
  it("counts pushes and splits human latency by whether a push was sent", () => {
    const records = [
      rec("approval.request", host, { thread: "t1", approvalId: "ap_1", tier: "continue" }),
      rec("push.sent", host, { deviceId: "d_phone00001", push: "request", kind: "approval", thread: "t1", approvalId: "ap_1", status: 201 }),
      rec("approval.decision", phone, { thread: "t1", approvalId: "ap_1", decision: "approve_once", latencyMs: 60_000 }),
      rec("push.sent", host, { deviceId: "d_phone00001", push: "resolved", kind: "approval", thread: "t1", approvalId: "ap_1", status: 201 }),
      rec("approval.request", host, { thread: "t1", approvalId: "ap_2", tier: "continue" }),
      rec("approval.decision", phone, { thread: "t1", approvalId: "ap_2", decision: "deny", latencyMs: 2_000 }),
      // Decided before its push was recorded: still a pushed request.
      rec("approval.request", host, { thread: "t1", approvalId: "ap_3", tier: "expand" }),
      rec("approval.decision", phone, { thread: "t1", approvalId: "ap_3", decision: "deny", latencyMs: 500 }),
      rec("push.sent", host, { deviceId: "d_phone00001", push: "request", kind: "approval", thread: "t1", approvalId: "ap_3", status: 201 }),
      // A failed push and a gone subscription do not count as pushed.
      rec("approval.request", host, { thread: "t2", approvalId: "ap_4", tier: "continue" }),
      rec("push.failed", host, { deviceId: "d_phone00001", push: "request", approvalId: "ap_4", status: 429 }),
      rec("push.gone", host, { deviceId: "d_tablet0001", push: "request", approvalId: "ap_4", status: 410 }),
      rec("approval.decision", phone, { thread: "t2", approvalId: "ap_4", decision: "approve_once", latencyMs: 9_000 }),
      // "resolved" pushes alone do not make a request pushed.
      rec("approval.request", host, { thread: "t2", approvalId: "ap_5", tier: "continue" }),
      rec("push.sent", host, { deviceId: "d_phone00001", push: "resolved", approvalId: "ap_5", status: 201 }),
      rec("approval.decision", phone, { thread: "t2", approvalId: "ap_5", decision: "approve_once", latencyMs: 4_000 }),
    ];
    const s = approvalStats(records);
    expect(s.push).toEqual({ sent: 4, failed: 1, gone: 1 });
    expect(s.humanLatencyPushed).toEqual({ count: 2, p50Ms: 500, p90Ms: 60_000 });
    expect(s.humanLatencyNotPushed).toEqual({ count: 3, p50Ms: 4_000, p90Ms: 9_000 });
    expect(s.humanLatency.count).toBe(5);
    const text = formatStats(s);
    expect(text).toContain("pushes:           sent 4, failed 1, subscriptions gone 1");
    expect(text).toContain("idle with a push: p50 500 ms, p90 60.0 s (2 answers); without: p50 4.0 s, p90 9.0 s (3)");
    // Nothing about pushes: zeros and dashes.
    const none = approvalStats([]);
    expect(none.push).toEqual({ sent: 0, failed: 0, gone: 0 });
    expect(none.humanLatencyPushed).toEqual({ count: 0, p50Ms: null, p90Ms: null });
  });
});
