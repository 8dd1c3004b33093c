// Command idempotency: a device command (keyed by device and envelope id) runs
// at most once, sequentially or concurrently, and a resend after a drop or a
// host restart gets the first outcome; the ledger stays bounded.
import { appendFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CommandLedger, LedgerError } from "../../host-agent/src/command-ledger.ts";
import { tempDir } from "../support/temp.ts";

type Outcome = { type: "result"; data: { thread: string; n: number } } | { type: "error"; code: string };

const ledgerFile = (): string => {
  const d = tempDir("airlock-ledger-");
  return join(d, "state", "commands.jsonl");
};
const result = (n: number): Outcome => ({ type: "result", data: { thread: `t${n}`, n } });

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    return e instanceof LedgerError ? e.code : `not a LedgerError: ${String(e)}`;
  }
  return "no error";
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("command ledger", () => {
  it("runs a command once when it arrives twice in a row, answering the resend with the same outcome", async () => {
    const file = ledgerFile();
    const ledger = await CommandLedger.open<Outcome>(file);
    if (process.platform !== "win32") expect(statSync(file).mode & 0o777).toBe(0o600);
    let runs = 0;
    const run = async (): Promise<Outcome> => result(++runs);
    const first = await ledger.once("d_abc", "c7", run);
    const again = await ledger.once("d_abc", "c7", run);
    expect(runs).toBe(1);
    expect(first).toEqual({ outcome: result(1), duplicate: false });
    expect(again).toEqual({ outcome: result(1), duplicate: true });
    expect(ledger.lookup("d_abc", "c7")).toEqual(result(1));
    // Callers get copies: changing one does not change the record.
    (first.outcome as { type: "result"; data: { n: number } }).data.n = 99;
    expect(ledger.lookup("d_abc", "c7")).toEqual(result(1));
    // The same command id from another device is another command.
    expect(await ledger.once("d_other", "c7", run)).toEqual({ outcome: result(2), duplicate: false });
    expect(ledger.lookup("d_abc", "c8")).toBeUndefined();
    await ledger.close();
  });

  it("runs a command once when it arrives twice concurrently: the second awaits the first", async () => {
    const ledger = await CommandLedger.open<Outcome>(ledgerFile());
    const gate = deferred<Outcome>();
    let runs = 0;
    const run = (): Promise<Outcome> => {
      runs++;
      return gate.promise;
    };
    const a = ledger.once("d_abc", "c1", run);
    const b = ledger.once("d_abc", "c1", run);
    const c = ledger.once("d_abc", "c1", run);
    gate.resolve(result(7));
    expect(await Promise.all([a, b, c])).toEqual([
      { outcome: result(7), duplicate: false },
      { outcome: result(7), duplicate: true },
      { outcome: result(7), duplicate: true },
    ]);
    expect(runs).toBe(1);
    await ledger.close();
  });

  it("records nothing when the run throws: waiters see the failure and a resend runs again", async () => {
    const ledger = await CommandLedger.open<Outcome>(ledgerFile());
    const gate = deferred<Outcome>();
    const a = ledger.once("d_abc", "c1", () => gate.promise);
    const b = ledger.once("d_abc", "c1", () => Promise.resolve(result(0)));
    gate.reject(new Error("agent crashed"));
    await expect(a).rejects.toThrow("agent crashed");
    await expect(b).rejects.toThrow("agent crashed");
    expect(ledger.lookup("d_abc", "c1")).toBeUndefined();
    expect(await ledger.once("d_abc", "c1", async () => result(2))).toEqual({ outcome: result(2), duplicate: false });
    await ledger.close();
  });

  it("survives a restart: the resend is answered from the file and not executed", async () => {
    const file = ledgerFile();
    const ledger = await CommandLedger.open<Outcome>(file);
    await ledger.once("d_abc", "c1", async () => result(1));
    expect(await ledger.record("d_abc", "c2", { type: "error", code: "NOT_FOUND" })).toEqual({ type: "error", code: "NOT_FOUND" });
    // The first recorded outcome wins.
    expect(await ledger.record("d_abc", "c2", result(5))).toEqual({ type: "error", code: "NOT_FOUND" });
    expect(await Promise.all([ledger.record("d_x", "c3", result(3)), ledger.record("d_x", "c3", result(4))])).toEqual([result(3), result(3)]);
    await ledger.close();
    expect(readFileSync(file, "utf8").trim().split("\n")).toHaveLength(3);

    const again = await CommandLedger.open<Outcome>(file);
    let runs = 0;
    expect(await again.once("d_abc", "c1", async () => result(++runs))).toEqual({ outcome: result(1), duplicate: true });
    expect(runs).toBe(0);
    expect(again.lookup("d_abc", "c2")).toEqual({ type: "error", code: "NOT_FOUND" });
    expect(again.lookup("d_x", "c3")).toEqual(result(3));
    expect(again.size).toBe(3);
    await again.close();
  });

  it("hands the outcome to `recording` once its write has started, with a promise that settles when it is durable", async () => {
    const file = ledgerFile();
    const ledger = await CommandLedger.open<Outcome>(file);
    await ledger.once("d_abc", "c1", async () => result(1));
    const before = statSync(file).size;
    const seen: { size: number; outcome: Outcome; durable: Promise<unknown> }[] = [];
    const done = ledger.once("d_abc", "c2", async () => result(2), {
      recording: (outcome, durable) => seen.push({ size: statSync(file).size, outcome, durable }),
    });
    await done;
    expect(seen).toHaveLength(1);
    expect(seen[0]!.outcome).toEqual(result(2));
    // The line was already in the file when the caller got the outcome: it prepares its answer while the sync runs.
    expect(seen[0]!.size).toBeGreaterThan(before);
    await expect(seen[0]!.durable).resolves.toBeUndefined();
    // A resend is not recorded again.
    await ledger.once("d_abc", "c2", async () => result(3), { recording: () => seen.push({ size: 0, outcome: result(3), durable: Promise.resolve() }) });
    expect(seen).toHaveLength(1);
    await ledger.close();
  });

  it("keeps at most maxEntries, forgetting the oldest, and the file at most 2 × maxEntries lines", async () => {
    const file = ledgerFile();
    const ledger = await CommandLedger.open<Outcome>(file, { maxEntries: 5 });
    for (let i = 1; i <= 30; i++) {
      await ledger.record("d_abc", `c${i}`, result(i));
      expect(ledger.size).toBeLessThanOrEqual(5);
      expect(ledger.fileLines).toBeLessThanOrEqual(10);
      expect(readFileSync(file, "utf8").split("\n").length - 1).toBe(ledger.fileLines);
    }
    expect(ledger.lookup("d_abc", "c25")).toBeUndefined();
    for (let i = 26; i <= 30; i++) expect(ledger.lookup("d_abc", `c${i}`)).toEqual(result(i));
    await ledger.close();
    const again = await CommandLedger.open<Outcome>(file, { maxEntries: 5 });
    expect(again.size).toBe(5);
    for (let i = 26; i <= 30; i++) expect(again.lookup("d_abc", `c${i}`)).toEqual(result(i));
    await again.close();
    // At open, dead lines are compacted away.
    expect(readFileSync(file, "utf8").trim().split("\n")).toHaveLength(5);
  });

  it("forgets entries after ttlMs, in memory and across reopen", async () => {
    const file = ledgerFile();
    let now = 1_000_000;
    const ledger = await CommandLedger.open<Outcome>(file, { ttlMs: 1000, now: () => now });
    await ledger.record("d_abc", "old", result(1));
    now += 600;
    await ledger.record("d_abc", "new", result(2));
    now += 500;
    expect(ledger.lookup("d_abc", "old")).toBeUndefined();
    expect(ledger.lookup("d_abc", "new")).toEqual(result(2));
    expect(await ledger.once("d_abc", "old", async () => result(3))).toEqual({ outcome: result(3), duplicate: false });
    await ledger.close();
    const again = await CommandLedger.open<Outcome>(file, { ttlMs: 1000, now: () => now });
    expect(again.lookup("d_abc", "old")).toEqual(result(3)); // the re-run's record, not the expired one
    expect(again.size).toBe(2);
    now += 2000;
    expect(again.size).toBe(0);
    await again.close();
  });

  it("drops a last line cut short by a crash; other damage is a clear error naming the file", async () => {
    const file = ledgerFile();
    const ledger = await CommandLedger.open<Outcome>(file);
    await ledger.record("d_abc", "c1", result(1));
    await ledger.record("d_abc", "c2", result(2));
    await ledger.close();
    const intact = readFileSync(file);
    appendFileSync(file, '{"d":"d_abc","c":"c3","at":1,"o":{"ty');
    const repaired = await CommandLedger.open<Outcome>(file);
    expect(repaired.repairedBytes).toBeGreaterThan(0);
    expect(repaired.lookup("d_abc", "c3")).toBeUndefined();
    await repaired.record("d_abc", "c3", result(3));
    await repaired.close();
    const reread = await CommandLedger.open<Outcome>(file);
    expect([1, 2, 3].map((n) => reread.lookup("d_abc", `c${n}`))).toEqual([result(1), result(2), result(3)]);
    await reread.close();

    const lines = intact.toString("utf8").split("\n");
    lines[0] = "{not json";
    writeFileSync(file, lines.join("\n"));
    const err = await CommandLedger.open(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LedgerError);
    expect((err as LedgerError).code).toBe("CORRUPT");
    expect((err as LedgerError).message).toContain(file);
    expect((err as LedgerError).message).toContain("line 1");
    writeFileSync(file, JSON.stringify({ d: "d_abc", c: "bad id!", at: 1, o: 1 }) + "\n");
    expect(await codeOf(CommandLedger.open(file))).toBe("CORRUPT");
  });

  it("keeps outcomes too large for the file in memory only", async () => {
    const file = ledgerFile();
    const ledger = await CommandLedger.open<unknown>(file, { maxOutcomeBytes: 100 });
    const big = { threads: "x".repeat(200) };
    expect(await ledger.once("d_abc", "list", async () => big)).toEqual({ outcome: big, duplicate: false });
    expect(await ledger.once("d_abc", "list", async () => "other")).toEqual({ outcome: big, duplicate: true });
    await ledger.close();
    expect(readFileSync(file, "utf8")).toBe("");
    const again = await CommandLedger.open(file, { maxOutcomeBytes: 100 });
    expect(again.lookup("d_abc", "list")).toBeUndefined();
    await again.close();
  });

  it("validates ids and outcomes, and refuses a second open or use after close", async () => {
    const file = ledgerFile();
    const ledger = await CommandLedger.open<unknown>(file);
    expect(await codeOf(() => ledger.lookup("bad device", "c1"))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(() => ledger.lookup("d_abc", "c.1"))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(() => ledger.lookup("d_abc", "x".repeat(65)))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(ledger.record("d_abc", "c1", undefined))).toBe("INVALID_OUTCOME");
    expect(await codeOf(ledger.record("d_abc", "c1", 10n))).toBe("INVALID_OUTCOME");
    expect(await codeOf(CommandLedger.open(file))).toBe("IN_USE");
    expect(await codeOf(CommandLedger.open(ledgerFile(), { maxEntries: 0 }))).toBe("INVALID_ARGUMENT");
    await ledger.close();
    expect(await codeOf(() => ledger.lookup("d_abc", "c1"))).toBe("CLOSED");
    await (await CommandLedger.open(file)).close();
  });
});
