// The audit log's group commit (issue 16): records that arrive together are
// written in one go, each resolving once durable with its place in the chain;
// a bad record fails alone; a batch delay shares writes; close() writes what
// was appended before it. The chain verifies after all of it.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AUDIT_MAX_BATCH, AuditLog, auditHeadPath, verifyAuditLog, type AuditRecord } from "../../../host-agent/src/audit/audit-log.ts";
import { tempDir } from "../../support/temp.ts";

const tempFile = (): string => {
  const d = tempDir("airlock-audit-group-");
  return join(d, "audit", "audit.jsonl");
};
const lines = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean);

describe("audit group commit", () => {
  it("records appended together get consecutive seqs in call order and one chain that verifies", async () => {
    const file = tempFile();
    const log = await AuditLog.open(file);
    const records = await Promise.all(Array.from({ length: 100 }, (_, i) => log.append("prompt", { kind: "device", id: "d_1", name: "phone" }, { i })));
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    for (let i = 1; i < records.length; i++) expect(records[i]!.prev).not.toBe(records[i - 1]!.prev);
    expect(lines(file)).toHaveLength(100);
    expect(JSON.parse(readFileSync(auditHeadPath(file), "utf8"))).toMatchObject({ seq: 100, hash: records[99]!.hash });
    await log.close();
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 100 });
  });

  it("a bad record fails alone: the rest of its batch is written and chained without it", async () => {
    const file = tempFile();
    const log = await AuditLog.open(file);
    const settled = await Promise.allSettled([
      log.append("session", { kind: "host" }, { n: 1 }),
      log.append("Not A Type", { kind: "host" }, {}),
      log.append("session", { kind: "host" }, { n: Number.NaN }),
      log.append("session", { kind: "host" }, { n: 2 }),
    ]);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "rejected", "fulfilled"]);
    expect((settled[3] as PromiseFulfilledResult<{ seq: number }>).value.seq).toBe(2);
    await log.close();
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 2 });
  });

  it("with a batch delay, appends resolve once durable; close() writes what was appended before it and refuses later ones", async () => {
    const file = tempFile();
    const log = await AuditLog.open(file, { batchDelayMs: 30_000 });
    const first = log.append("approval.request", { kind: "host" }, { approvalId: "ap_1" });
    const second = log.append("approval.decision", { kind: "device", id: "d_1", name: "phone" }, { approvalId: "ap_1" });
    // The delay is long: close() must not wait it out, and must still write both.
    await log.close();
    expect((await first).seq).toBe(1);
    expect((await second).seq).toBe(2);
    await expect(log.append("session", { kind: "host" }, {})).rejects.toMatchObject({ code: "CLOSED" });
    expect(lines(file)).toHaveLength(2);
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 2 });

    const reopened = await AuditLog.open(file, { batchDelayMs: 5 });
    expect((await reopened.append("session", { kind: "host" }, {})).seq).toBe(3);
    await reopened.close();
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 3 });
    await expect(AuditLog.open(file, { batchDelayMs: -1 })).rejects.toMatchObject({ code: "INVALID" });
    // A refused open releases the file.
    await (await AuditLog.open(file)).close();
  });

  it("a crash between a group commit's fsync and its anchor (up to AUDIT_MAX_BATCH behind) is repaired at open; further behind is damage", async () => {
    const file = tempFile();
    const log = await AuditLog.open(file);
    const records: AuditRecord[] = [];
    for (let i = 0; i < 3 * AUDIT_MAX_BATCH; i++) records.push(await log.append("session", { kind: "host" }, { i }));
    await log.close();
    const anchorAt = (r: AuditRecord | undefined) =>
      writeFileSync(auditHeadPath(file), r ? `{"hash":"${r.hash}","seq":${r.seq},"v":1}\n` : `{"hash":"${"0".repeat(64)}","seq":0,"v":1}\n`);
    const n = records.length;

    // The anchor as it was before the last batch of AUDIT_MAX_BATCH records: the crash window.
    anchorAt(records[n - 1 - AUDIT_MAX_BATCH]);
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: n });
    const reopened = await AuditLog.open(file);
    expect(reopened.repairs).toEqual([expect.objectContaining({ kind: "head-behind", line: n })]);
    await reopened.close();
    expect(JSON.parse(readFileSync(auditHeadPath(file), "utf8"))).toMatchObject({ seq: n });

    // One record further behind than a batch can be: refused by open and reported by verify.
    anchorAt(records[n - 2 - AUDIT_MAX_BATCH]);
    expect(await verifyAuditLog(file)).toMatchObject({ ok: false, problem: "edited", line: 0 });
    await expect(AuditLog.open(file)).rejects.toMatchObject({ code: "CORRUPT" });
    // Right distance, wrong hash: refused too.
    writeFileSync(auditHeadPath(file), `{"hash":"${"ab".repeat(32)}","seq":${n - 1},"v":1}\n`);
    await expect(AuditLog.open(file)).rejects.toMatchObject({ code: "CORRUPT" });
    anchorAt(records[n - 1]);
  });

  it("a crash during the very first group commit (no anchor yet) is repaired at open", async () => {
    const file = tempFile();
    const log = await AuditLog.open(file);
    await Promise.all(Array.from({ length: AUDIT_MAX_BATCH }, (_, i) => log.append("session", { kind: "host" }, { i })));
    await log.close();
    rmSync(auditHeadPath(file));
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: AUDIT_MAX_BATCH });
    const reopened = await AuditLog.open(file);
    expect(reopened.repairs.map((r) => r.kind)).toEqual(["head-behind"]);
    await reopened.close();
  });
});
