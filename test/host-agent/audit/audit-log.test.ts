// The audit log: a hash chain that continues across reopen, verifies on an
// honest log, and detects every edit, deletion (first, middle, last),
// reordering, duplication and truncation; a crash-cut last line is repaired.
import { appendFileSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AuditLog,
  AuditLogError,
  ZERO_HASH,
  auditHeadPath,
  canonicalJson,
  lineHash,
  recordHash,
  tailAuditLog,
  verifyAuditLog,
  type AuditRecord,
  type VerifyResult,
} from "../../../host-agent/src/audit/audit-log.ts";
import { tempDir } from "../../support/temp.ts";

const tempFile = (): string => {
  const d = tempDir("airlock-audit-");
  return join(d, "audit", "audit.jsonl");
};

const TYPES = ["pairing", "revocation", "prompt", "approval.request", "approval.decision", "question.answer", "session"] as const;

async function honestLog(n: number, file = tempFile()): Promise<string> {
  let t = 1_700_000_000_000;
  const log = await AuditLog.open(file, { now: () => (t += 1000) });
  for (let i = 0; i < n; i++) {
    const type = TYPES[i % TYPES.length]!;
    const actor =
      i % 3 === 0
        ? { kind: "device" as const, id: `dev-${i % 5}`, name: `Phone ${i % 5}` }
        : i % 3 === 1
          ? { kind: "host" as const }
          : { kind: "policy" as const, id: "allow-read" };
    await log.append(type, actor, { i, command: `echo ${i} "quoted" ünïcode`, ok: i % 2 === 0, list: [i, null, "x"] });
  }
  await log.close();
  return file;
}

const lines = (file: string): string[] => {
  const text = readFileSync(file, "utf8");
  expect(text.endsWith("\n")).toBe(true);
  return text.slice(0, -1).split("\n");
};
const writeLines = (file: string, ls: string[]): void => writeFileSync(file, ls.map((l) => `${l}\n`).join(""));

function expectProblem(r: VerifyResult, problem: string, line?: number): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.problem).toBe(problem);
  if (line !== undefined) expect(r.line).toBe(line);
}

/** Replaces the first occurrence of `from` inside the given line with `to`. */
function editLine(file: string, lineNo: number, from: string, to: string): void {
  const ls = lines(file);
  const l = ls[lineNo - 1]!;
  expect(l.includes(from)).toBe(true);
  ls[lineNo - 1] = l.replace(from, to);
  writeLines(file, ls);
}

// A small honest log shared (by copying) across tamper tests.
let template: { file: string; bytes: Buffer; head: Buffer } | null = null;
async function freshCopy(): Promise<string> {
  if (template === null) {
    const file = await honestLog(20);
    template = { file, bytes: readFileSync(file), head: readFileSync(auditHeadPath(file)) };
  }
  const file = tempFile();
  const log = await AuditLog.open(file); // creates the 0700 dir
  await log.close();
  writeFileSync(file, template.bytes);
  writeFileSync(auditHeadPath(file), template.head);
  return file;
}

describe("record format", () => {
  it("writes canonical lines with a hash chain, 0600 file, 0700 dir", async () => {
    const file = tempFile();
    const log = await AuditLog.open(file, { now: () => 1234 });
    const a = await log.append("pairing", { kind: "device", id: "d1", name: "Pixel" }, { z: 1, a: { y: "b", x: [2, 1] } });
    const b = await log.append("approval.decision", { kind: "timeout" }, { decision: "deny" });
    await log.close();
    const ls = lines(file);
    expect(ls).toHaveLength(2);
    expect(ls[0]).toBe(canonicalJson(a));
    expect(ls[0]!.startsWith('{"actor":{"id":"d1","kind":"device","name":"Pixel"},"at":1234,"data":{"a":{"x":[2,1],"y":"b"},"z":1},"hash":"')).toBe(true);
    expect(a).toMatchObject({ v: 1, seq: 1, at: 1234, type: "pairing", prev: ZERO_HASH });
    expect(a.hash).toBe(recordHash(a));
    expect(b.seq).toBe(2);
    expect(b.prev).toBe(lineHash(ls[0]!));
    expect(readFileSync(auditHeadPath(file), "utf8")).toBe(`{"hash":"${b.hash}","seq":2,"v":1}\n`);
    if (process.platform !== "win32") {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(join(file, "..")).mode & 0o777).toBe(0o700);
    }
  });

  it("bounds data and refuses bad input", async () => {
    const file = tempFile();
    const log = await AuditLog.open(file);
    const r = await log.append("prompt", { kind: "host" }, { text: "x".repeat(10_000), list: Array.from({ length: 500 }, (_, i) => i) });
    expect((r.data.text as string).length).toBeLessThan(2100);
    expect((r.data.list as unknown[]).length).toBe(101);
    await expect(log.append("Bad Type", { kind: "host" }, {})).rejects.toMatchObject({ code: "INVALID" });
    await expect(log.append("prompt", { kind: "nobody" as "host" }, {})).rejects.toMatchObject({ code: "INVALID" });
    await expect(log.append("prompt", { kind: "host" }, { n: Number.NaN })).rejects.toMatchObject({ code: "INVALID" });
    const big = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "y".repeat(2000)]));
    await expect(log.append("prompt", { kind: "host" }, big)).rejects.toMatchObject({ code: "TOO_LARGE" });
    // The log keeps working after refused appends.
    expect((await log.append("session", { kind: "host" }, {})).seq).toBe(2);
    await log.close();
    expect((await verifyAuditLog(file)).ok).toBe(true);
  });

  it("refuses to open the same file twice in one process", async () => {
    const file = tempFile();
    const log = await AuditLog.open(file);
    await expect(AuditLog.open(file)).rejects.toMatchObject({ code: "IN_USE" });
    await log.close();
    await expect(log.append("session", { kind: "host" }, {})).rejects.toMatchObject({ code: "CLOSED" });
    await (await AuditLog.open(file)).close();
  });
});

describe("chain and verify", () => {
  it("continues the chain across reopen", async () => {
    const file = tempFile();
    let log = await AuditLog.open(file);
    const r1 = await log.append("pairing", { kind: "device", id: "d" }, {});
    const r2 = await log.append("prompt", { kind: "device", id: "d" }, { text: "hi" });
    await log.close();
    log = await AuditLog.open(file);
    expect(log.repairs).toEqual([]);
    expect(log.lastSeq).toBe(2);
    expect(log.lastHash).toBe(r2.hash);
    const r3 = await log.append("session", { kind: "host" }, { event: "end" });
    await log.close();
    log = await AuditLog.open(file);
    const r4 = await log.append("revocation", { kind: "host" }, { device: "d" });
    await log.close();
    const ls = lines(file);
    expect([r1.seq, r2.seq, r3.seq, r4.seq]).toEqual([1, 2, 3, 4]);
    expect(r3.prev).toBe(lineHash(ls[1]!));
    expect(r4.prev).toBe(lineHash(ls[2]!));
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 4, lastHash: r4.hash });
  });

  it("serialises concurrent appends", async () => {
    const file = tempFile();
    const log = await AuditLog.open(file);
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => log.append("prompt", { kind: "host" }, { i })));
    await log.close();
    expect(rs.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect((await verifyAuditLog(file)).ok).toBe(true);
  });

  it("verifies an honest log of 200 records", async () => {
    const file = await honestLog(200);
    const r = await verifyAuditLog(file);
    expect(r).toEqual({ ok: true, records: 200, lastHash: JSON.parse(lines(file)[199]!).hash });
  });

  it("verifies an empty or missing log", async () => {
    expect(await verifyAuditLog(tempFile())).toEqual({ ok: true, records: 0, lastHash: ZERO_HASH });
    const file = tempFile();
    await (await AuditLog.open(file)).close();
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 0, lastHash: ZERO_HASH });
  });

  it("tails the newest records", async () => {
    const file = await honestLog(50);
    const t = await tailAuditLog(file, 5);
    expect(t.map((r) => r.seq)).toEqual([46, 47, 48, 49, 50]);
    expect((await tailAuditLog(file, 500)).map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await tailAuditLog(file, 0)).toEqual([]);
    expect(await tailAuditLog(tempFile(), 3)).toEqual([]);
    appendFileSync(file, '{"partial');
    expect((await tailAuditLog(file, 2)).map((r) => r.seq)).toEqual([49, 50]);
  });
});

describe("tamper detection", () => {
  it("detects an edit of one char in data", async () => {
    const f = await freshCopy();
    editLine(f, 7, '"i":6', '"i":7');
    expectProblem(await verifyAuditLog(f), "edited", 7);
  });

  it("detects an edit of one char in actor", async () => {
    const f = await freshCopy();
    editLine(f, 10, '"id":"dev-4"', '"id":"dev-5"');
    expectProblem(await verifyAuditLog(f), "edited", 10);
  });

  it("detects an edit of one char in at", async () => {
    const f = await freshCopy();
    editLine(f, 3, '"at":1700000003000', '"at":1700000003001');
    expectProblem(await verifyAuditLog(f), "edited", 3);
  });

  it("detects an edit of one char in type", async () => {
    const f = await freshCopy();
    editLine(f, 5, '"type":"approval.decision"', '"type":"approval.decisioN"');
    expectProblem(await verifyAuditLog(f), "malformed", 5); // not a valid type at all
    const g = await freshCopy();
    editLine(g, 5, '"type":"approval.decision"', '"type":"approval.decisiom"');
    expectProblem(await verifyAuditLog(g), "edited", 5);
  });

  it("detects an edit whose hash was recomputed (broken link)", async () => {
    const f = await freshCopy();
    const ls = lines(f);
    const rec = JSON.parse(ls[8]!) as AuditRecord;
    rec.data = { ...rec.data, command: "rm -rf /" };
    rec.hash = recordHash(rec);
    ls[8] = canonicalJson(rec);
    writeLines(f, ls);
    expectProblem(await verifyAuditLog(f), "edited", 10);
  });

  it("detects a non-canonical rewrite (whitespace)", async () => {
    const f = await freshCopy();
    editLine(f, 4, '"v":1', '"v": 1');
    expectProblem(await verifyAuditLog(f), "edited", 4);
  });

  it("detects deletion of a middle line", async () => {
    const f = await freshCopy();
    const ls = lines(f);
    ls.splice(9, 1);
    writeLines(f, ls);
    expectProblem(await verifyAuditLog(f), "deleted", 10);
  });

  it("detects deletion of the first line", async () => {
    const f = await freshCopy();
    writeLines(f, lines(f).slice(1));
    expectProblem(await verifyAuditLog(f), "deleted", 1);
  });

  it("detects deletion of the last line through the anchor", async () => {
    const f = await freshCopy();
    writeLines(f, lines(f).slice(0, -1));
    const r = await verifyAuditLog(f);
    expectProblem(r, "deleted", 20);
    await expect(AuditLog.open(f)).rejects.toMatchObject({ code: "CORRUPT" });
  });

  it("detects truncation of whole lines at the end", async () => {
    const f = await freshCopy();
    writeLines(f, lines(f).slice(0, 12));
    expectProblem(await verifyAuditLog(f), "deleted", 13);
    const g = await freshCopy();
    writeFileSync(g, "");
    expectProblem(await verifyAuditLog(g), "deleted", 1);
    await expect(AuditLog.open(g)).rejects.toMatchObject({ code: "CORRUPT" });
  });

  it("detects truncation mid-line", async () => {
    const f = await freshCopy();
    const size = statSync(f).size;
    truncateSync(f, size - 40);
    expectProblem(await verifyAuditLog(f), "truncated", 20);
    // open() cuts the partial line, but the anchor shows the record existed.
    await expect(AuditLog.open(f)).rejects.toMatchObject({ code: "CORRUPT" });
  });

  it("detects reordering of two lines", async () => {
    const f = await freshCopy();
    const ls = lines(f);
    [ls[4], ls[11]] = [ls[11]!, ls[4]!];
    writeLines(f, ls);
    expectProblem(await verifyAuditLog(f), "reordered", 5);
    const g = await freshCopy();
    const gs = lines(g);
    [gs[18], gs[19]] = [gs[19]!, gs[18]!];
    writeLines(g, gs);
    expectProblem(await verifyAuditLog(g), "reordered", 19);
  });

  it("detects a duplicated line", async () => {
    const f = await freshCopy();
    const ls = lines(f);
    ls.splice(8, 0, ls[7]!); // line 8 twice in a row
    writeLines(f, ls);
    const r = await verifyAuditLog(f);
    expectProblem(r, "reordered", 9);
    if (!r.ok) expect(r.detail).toMatch(/duplicate/);
    const g = await freshCopy();
    const gs = lines(g);
    writeLines(g, [...gs, gs[19]!]); // the last line repeated at the end
    expectProblem(await verifyAuditLog(g), "reordered", 21);
  });

  it("detects a replaced or removed anchor", async () => {
    const f = await freshCopy();
    const ls = lines(f);
    const rec19 = JSON.parse(ls[18]!) as AuditRecord;
    const head = auditHeadPath(f);
    // Wrong hash for the right seq.
    writeFileSync(head, `{"hash":"${"ab".repeat(32)}","seq":20,"v":1}\n`);
    expectProblem(await verifyAuditLog(f), "edited", 0);
    await expect(AuditLog.open(f)).rejects.toMatchObject({ code: "CORRUPT" });
    // Anchor rolled back far.
    writeFileSync(head, `{"hash":"${(JSON.parse(ls[4]!) as AuditRecord).hash}","seq":5,"v":1}\n`);
    expectProblem(await verifyAuditLog(f), "edited", 0);
    // Anchor naming records that are not there.
    writeFileSync(head, `{"hash":"${"cd".repeat(32)}","seq":25,"v":1}\n`);
    expectProblem(await verifyAuditLog(f), "deleted", 21);
    // Garbage.
    writeFileSync(head, "not json");
    expectProblem(await verifyAuditLog(f), "malformed", 0);
    // Empty.
    writeFileSync(head, "");
    expectProblem(await verifyAuditLog(f), "malformed", 0);
    // Missing.
    rmSync(head);
    expectProblem(await verifyAuditLog(f), "deleted", 0);
    await expect(AuditLog.open(f)).rejects.toMatchObject({ code: "CORRUPT" });
    // One behind with the right hash is the crash window: accepted, and open() moves it on.
    writeFileSync(head, `{"hash":"${rec19.hash}","seq":19,"v":1}\n`);
    expect((await verifyAuditLog(f)).ok).toBe(true);
    const log = await AuditLog.open(f);
    expect(log.repairs).toEqual([expect.objectContaining({ kind: "head-behind", line: 20 })]);
    await log.close();
    expect(readFileSync(head, "utf8")).toContain('"seq":20');
  });
});

describe("crash repair", () => {
  it("cuts a partial last line on open, reports it and continues the chain", async () => {
    const file = await honestLog(10);
    const before = readFileSync(file);
    appendFileSync(file, '{"actor":{"kind":"host"},"at":17000'); // the 11th append died mid-write
    expectProblem(await verifyAuditLog(file), "truncated", 11);
    const log = await AuditLog.open(file);
    expect(log.repairs).toEqual([expect.objectContaining({ kind: "partial-line", line: 11 })]);
    expect(readFileSync(file).equals(before)).toBe(true);
    const r = await log.append("session", { kind: "host" }, { event: "recovered" });
    expect(r.seq).toBe(11);
    await log.close();
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 11 });
  });

  it("repairs a crash after the log fsync but before the anchor update", async () => {
    const file = await honestLog(5);
    const head5 = readFileSync(auditHeadPath(file));
    let log = await AuditLog.open(file);
    await log.append("prompt", { kind: "host" }, {});
    await log.close();
    writeFileSync(auditHeadPath(file), head5); // anchor still at seq 5
    log = await AuditLog.open(file);
    expect(log.repairs.map((r) => r.kind)).toEqual(["head-behind"]);
    expect(log.lastSeq).toBe(6);
    await log.close();
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 6 });
  });

  it("repairs a crash during the very first append", async () => {
    const file = tempFile();
    await (await AuditLog.open(file)).close();
    appendFileSync(file, '{"actor"');
    const log = await AuditLog.open(file);
    expect(log.repairs.map((r) => r.kind)).toEqual(["partial-line"]);
    expect((await log.append("pairing", { kind: "device" }, {})).prev).toBe(ZERO_HASH);
    await log.close();
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 1 });
  });

  it("refuses to open a log whose tail was edited", async () => {
    const file = await honestLog(5);
    editLine(file, 5, '"i":4', '"i":5');
    await expect(AuditLog.open(file)).rejects.toBeInstanceOf(AuditLogError);
  });
});

describe("property: any single mutation is detected", () => {
  it("edit / delete / swap / duplicate / truncate of an honest log never verifies", async () => {
    const base = await honestLog(12);
    const original = readFileSync(base, "utf8");
    const head = readFileSync(auditHeadPath(base));
    const work = tempFile();
    await (await AuditLog.open(work)).close();
    const n = 12;
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("edit" as const), pos: fc.nat(original.length - 1), ch: fc.constantFrom(...'0123456789abcdefxyz"{}:,\n []-._A') }),
      fc.record({ kind: fc.constant("delete" as const), i: fc.nat(n - 1) }),
      fc.record({ kind: fc.constant("swap" as const), i: fc.nat(n - 1), j: fc.nat(n - 1) }).filter((m) => m.i !== m.j),
      fc.record({ kind: fc.constant("duplicate" as const), i: fc.nat(n - 1), at: fc.nat(n) }),
      fc.record({ kind: fc.constant("truncate" as const), size: fc.nat(original.length - 1) }),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        let text: string;
        const ls = original.slice(0, -1).split("\n");
        switch (m.kind) {
          case "edit": {
            fc.pre(original[m.pos] !== m.ch);
            text = original.slice(0, m.pos) + m.ch + original.slice(m.pos + 1);
            break;
          }
          case "delete":
            ls.splice(m.i, 1);
            text = ls.map((l) => `${l}\n`).join("");
            break;
          case "swap":
            [ls[m.i], ls[m.j]] = [ls[m.j]!, ls[m.i]!];
            text = ls.map((l) => `${l}\n`).join("");
            break;
          case "duplicate":
            ls.splice(m.at, 0, ls[m.i]!);
            text = ls.map((l) => `${l}\n`).join("");
            break;
          case "truncate":
            text = original.slice(0, m.size);
            break;
        }
        expect(text).not.toBe(original);
        writeFileSync(work, text);
        writeFileSync(auditHeadPath(work), head);
        const r = await verifyAuditLog(work);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
