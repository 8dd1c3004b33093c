// The host's event store: per-thread seq from 1 without repeats or gaps (also
// across reopen and under concurrent appends), exact replay after any seq,
// repair of a line cut short by a crash, clear errors for any other damage,
// and bounded retention that keeps seq numbers.
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ThreadEvent } from "../../protocol/src/index.ts";
import { EventStore, EventStoreError, type EventsPage, type StoredEvent } from "../../host-agent/src/event-store.ts";
import { tempDir } from "../support/temp.ts";

const notice = (text: string): ThreadEvent => ({ kind: "notice", level: "info", text });
const delta = (i: number, size = 8): ThreadEvent => ({ kind: "message.delta", itemId: "m1", text: `${i}:`.padEnd(size, "x") });

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    return e instanceof EventStoreError ? e.code : `not an EventStoreError: ${String(e)}`;
  }
  return "no error";
}

async function messageOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  return "no error";
}

/** Every event after `afterSeq`, following `more` across pages. */
async function allAfter(
  store: EventStore,
  thread: string,
  afterSeq: number,
  limit?: number,
  maxBytes?: number,
): Promise<{ events: StoredEvent[]; first: EventsPage }> {
  const first = await store.eventsAfter(thread, afterSeq, limit, maxBytes);
  const events = [...first.events];
  let page = first;
  while (page.more) {
    page = await store.eventsAfter(thread, events.at(-1)!.seq, limit, maxBytes);
    events.push(...page.events);
  }
  return { events, first };
}

/** The thread folders in the store (one per thread). */
function threadDirs(dir: string): string[] {
  return readdirSync(join(dir, "threads")).map((name) => join(dir, "threads", name));
}

function logOf(dir: string): string {
  const dirs = threadDirs(dir);
  expect(dirs).toHaveLength(1);
  return join(dirs[0]!, "events.jsonl");
}

function seqsOnDisk(log: string): number[] {
  return readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => (JSON.parse(l) as StoredEvent).seq);
}

describe("threads", () => {
  it("creates, updates, lists and reloads thread summaries; the folder is 0700", async () => {
    const dir = join(tempDir("airlock-events-"), "state", "events");
    let t = 1000;
    const store = await EventStore.open(dir, { now: () => t });
    if (process.platform !== "win32") expect(statSync(dir).mode & 0o777).toBe(0o700);
    const a = await store.createThread({ id: "thr:A.1", title: "Fix the build", cwd: "/src/app", model: "gpt-5", effort: "high" });
    expect(a).toEqual({
      id: "thr:A.1",
      title: "Fix the build",
      status: "idle",
      createdAt: 1000,
      updatedAt: 1000,
      cwd: "/src/app",
      model: "gpt-5",
      effort: "high",
      lastSeq: 0,
      pending: 0,
    });
    t = 2000;
    const b = await store.createThread({ title: "Second" });
    expect(b.id).toMatch(/^t_[A-Za-z0-9_-]{16}$/);
    // Ids differing only in case are distinct threads (folders are hashed).
    t = 2500;
    await store.createThread({ id: "thr:a.1", title: "lower case" });
    t = 3000;
    const updated = await store.updateThread("thr:A.1", { status: "running", pending: 2, cwd: null, title: "Fix the build now" });
    expect(updated).toMatchObject({ status: "running", pending: 2, updatedAt: 3000, title: "Fix the build now" });
    expect(updated).not.toHaveProperty("cwd");
    expect(store.listThreads().map((s) => s.id)).toEqual(["thr:A.1", "thr:a.1", b.id]);
    await store.close();

    const again = await EventStore.open(dir, { now: () => t });
    expect(again.getThread("thr:A.1")).toEqual(updated);
    expect(again.getThread("thr:a.1")?.title).toBe("lower case");
    expect(again.listThreads()).toHaveLength(3);
    expect(again.getThread("nope")).toBeUndefined();
    await again.close();
  });

  it("refuses bad ids, duplicates, invalid summaries and unknown threads", async () => {
    const store = await EventStore.open(tempDir("airlock-events-"));
    for (const id of ["", "a b", "x".repeat(129), "../etc", "é"]) {
      expect(await codeOf(store.createThread({ id, title: "t" }))).toBe("INVALID_THREAD_ID");
    }
    await store.createThread({ id: "one", title: "t" });
    expect(await codeOf(store.createThread({ id: "one", title: "t" }))).toBe("THREAD_EXISTS");
    expect(await codeOf(Promise.all([store.createThread({ id: "two", title: "t" }), store.createThread({ id: "two", title: "t" })]))).toBe("THREAD_EXISTS");
    expect(await codeOf(store.createThread({ title: "x".repeat(201) }))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(store.updateThread("one", { pending: -1 }))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(() => store.updateThread("missing", { title: "x" }))).toBe("UNKNOWN_THREAD");
    expect(await codeOf(store.append("missing", notice("x")))).toBe("UNKNOWN_THREAD");
    expect(await codeOf(store.eventsAfter("one", 1))).toBe("SEQ_AHEAD");
    expect(await codeOf(store.eventsAfter("one", -1))).toBe("INVALID_ARGUMENT");
    await store.close();
    expect(await codeOf(() => store.listThreads())).toBe("CLOSED");
  });

  it("refuses a second open of the same folder and a folder others can read", async () => {
    const dir = tempDir("airlock-events-");
    const store = await EventStore.open(dir);
    expect(await codeOf(EventStore.open(dir))).toBe("IN_USE");
    await store.close();
    await (await EventStore.open(dir)).close();
    if (process.platform !== "win32") {
      const open = join(tempDir("airlock-events-"), "shared");
      mkdirSync(open, { mode: 0o755 });
      chmodSync(open, 0o755);
      expect(await messageOf(EventStore.open(open))).toContain("chmod 700");
    }
  });

  it("keeps at most maxThreads: evicts archived, then idle or failed, never running or waiting", async () => {
    const dir = tempDir("airlock-events-");
    let t = 0;
    const store = await EventStore.open(dir, { maxThreads: 3, now: () => ++t });
    await store.createThread({ id: "run", title: "r", status: "running" });
    await store.createThread({ id: "idle", title: "i" });
    await store.createThread({ id: "arch", title: "a", status: "archived" });
    await store.append("arch", notice("old"));
    await store.createThread({ id: "four", title: "4", status: "waiting" });
    expect(store.getThread("arch")).toBeUndefined();
    expect(threadDirs(dir)).toHaveLength(3);
    await store.createThread({ id: "five", title: "5", status: "running" });
    expect(store.getThread("idle")).toBeUndefined();
    expect(await codeOf(store.createThread({ id: "six", title: "6" }))).toBe("THREAD_LIMIT");
    expect(await codeOf(store.append("arch", notice("x")))).toBe("UNKNOWN_THREAD");
    await store.deleteThread("run");
    expect(
      store
        .listThreads()
        .map((s) => s.id)
        .sort(),
    ).toEqual(["five", "four"]);
    expect(threadDirs(dir)).toHaveLength(2);
    await store.close();
    const again = await EventStore.open(dir, { maxThreads: 3 });
    expect(
      again
        .listThreads()
        .map((s) => s.id)
        .sort(),
    ).toEqual(["five", "four"]);
    await again.close();
  });
});

describe("appends and replay", () => {
  it("numbers events from 1, continues after reopen and replays exactly the missing ones", async () => {
    const dir = tempDir("airlock-events-");
    let t = 5000;
    const store = await EventStore.open(dir, { now: () => t });
    await store.createThread({ id: "th", title: "t" });
    for (let i = 1; i <= 5; i++) expect(await store.append("th", notice(`e${i}`))).toEqual({ seq: i, at: 5000 });
    t = 6000;
    expect(store.getThread("th")).toMatchObject({ lastSeq: 5 });
    await store.close();

    const again = await EventStore.open(dir, { now: () => t });
    expect(again.getThread("th")).toMatchObject({ lastSeq: 5, updatedAt: 5000 });
    expect(await again.append("th", notice("e6"))).toEqual({ seq: 6, at: 6000 });
    const page = await again.eventsAfter("th", 3);
    expect(page).toEqual({
      events: [
        { seq: 4, at: 5000, event: notice("e4") },
        { seq: 5, at: 5000, event: notice("e5") },
        { seq: 6, at: 6000, event: notice("e6") },
      ],
      firstAvailableSeq: 1,
      lastSeq: 6,
      gap: false,
      more: false,
    });
    expect((await again.eventsAfter("th", 6)).events).toEqual([]);
    expect(again.getThread("th")).toMatchObject({ lastSeq: 6, updatedAt: 6000 });
    await again.close();
  });

  it("refuses invalid and oversized events without using a seq", async () => {
    const store = await EventStore.open(tempDir("airlock-events-"), { maxEventBytes: 200 });
    await store.createThread({ id: "th", title: "t" });
    expect(await codeOf(store.append("th", { kind: "notice", level: "loud", text: "x" } as unknown as ThreadEvent))).toBe("INVALID_EVENT");
    expect(await codeOf(store.append("th", { kind: "nope" } as unknown as ThreadEvent))).toBe("INVALID_EVENT");
    expect(await codeOf(store.append("th", notice("x".repeat(300))))).toBe("EVENT_TOO_LARGE");
    expect(await store.append("th", notice("fits"))).toMatchObject({ seq: 1 });
    await store.close();
  });

  it("serialises concurrent appends: seqs follow call order, none repeats or skips", async () => {
    const dir = tempDir("airlock-events-");
    const store = await EventStore.open(dir);
    await store.createThread({ id: "a", title: "a" });
    await store.createThread({ id: "b", title: "b" });
    const calls = Array.from({ length: 120 }, (_, i) => ({ thread: i % 3 === 0 ? "b" : "a", text: `c${i}` }));
    const results = await Promise.all(calls.map((c) => store.append(c.thread, notice(c.text))));
    for (const thread of ["a", "b"]) {
      const mine = calls.map((c, i) => ({ ...c, seq: results[i]!.seq })).filter((c) => c.thread === thread);
      expect(mine.map((c) => c.seq)).toEqual(mine.map((_, i) => i + 1));
      const { events } = await allAfter(store, thread, 0);
      expect(events.map((e) => (e.event as { text: string }).text)).toEqual(mine.map((c) => c.text));
    }
    await store.close();
  });

  it("pages by event count and bytes, always at least one event", async () => {
    const store = await EventStore.open(tempDir("airlock-events-"));
    await store.createThread({ id: "th", title: "t" });
    for (let i = 1; i <= 10; i++) await store.append("th", delta(i, 100));
    const p1 = await store.eventsAfter("th", 2, 3);
    expect(p1.events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(p1.more).toBe(true);
    const tiny = await store.eventsAfter("th", 0, 100, 1);
    expect(tiny.events.map((e) => e.seq)).toEqual([1]);
    expect(tiny.more).toBe(true);
    const bytes = await store.eventsAfter("th", 0, 100, 350);
    expect(bytes.events.length).toBeGreaterThan(1);
    expect(bytes.events.length).toBeLessThan(10);
    await store.close();
  });

  it("replays exactly the missing events from every afterSeq of a long log (index checkpoints)", async () => {
    const dir = tempDir("airlock-events-");
    const store = await EventStore.open(dir);
    await store.createThread({ id: "long", title: "t" });
    for (let i = 1; i <= 200; i++) await store.append("long", delta(i, 1 + (i % 7) * 30));
    await store.close();
    const again = await EventStore.open(dir);
    for (let after = 0; after <= 200; after += 1) {
      const page = await again.eventsAfter("long", after, 7);
      expect(page.events.map((e) => e.seq)).toEqual(Array.from({ length: Math.min(7, 200 - after) }, (_, i) => after + 1 + i));
      for (const e of page.events) expect(e.event).toEqual(delta(e.seq, 1 + (e.seq % 7) * 30));
    }
    // Appends after the index was built keep it correct.
    for (let i = 201; i <= 260; i++) await again.append("long", delta(i));
    for (const after of [0, 63, 64, 65, 199, 200, 220, 255, 256, 259]) {
      const { events } = await allAfter(again, "long", after, 50);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 260 - after }, (_, i) => after + 1 + i));
    }
    await again.close();
  });

  it("property: random appends across threads, with reopens, replay exactly the events after any seq", async () => {
    const op = fc.oneof(
      {
        weight: 12,
        arbitrary: fc.record({ kind: fc.constant("append" as const), thread: fc.integer({ min: 0, max: 2 }), size: fc.integer({ min: 1, max: 300 }) }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("reopen" as const) }) },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant("read" as const),
          thread: fc.integer({ min: 0, max: 2 }),
          after: fc.nat(),
          limit: fc.integer({ min: 1, max: 40 }),
        }),
      },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 90 }), fc.boolean(), async (ops, tight) => {
        const dir = tempDir("airlock-events-");
        // With `tight` retention drops old events: replay then starts at firstAvailableSeq with gap set.
        const options = tight ? { maxEventsPerThread: 12, maxBytesPerThread: 2000 } : {};
        let store = await EventStore.open(dir, options);
        const ids = ["t0", "t:1", "T.2"];
        const model: ThreadEvent[][] = [[], [], []];
        for (const id of ids) await store.createThread({ id, title: id });
        for (const o of ops) {
          if (o.kind === "append") {
            const event = delta(model[o.thread]!.length + 1, o.size);
            model[o.thread]!.push(event);
            expect((await store.append(ids[o.thread]!, event)).seq).toBe(model[o.thread]!.length);
          } else if (o.kind === "reopen") {
            await store.close();
            store = await EventStore.open(dir, options);
          } else {
            const all = model[o.thread]!;
            const after = o.after % (all.length + 1);
            const { events, first } = await allAfter(store, ids[o.thread]!, after, o.limit);
            const start = Math.max(after + 1, first.firstAvailableSeq);
            expect(first.lastSeq).toBe(all.length);
            expect(first.gap).toBe(after + 1 < first.firstAvailableSeq);
            if (!tight) expect(first.firstAvailableSeq).toBe(1);
            else {
              const stats = await store.stats(ids[o.thread]!);
              expect(stats.events).toBeLessThanOrEqual(12);
              expect(stats.bytes).toBeLessThanOrEqual(2000);
            }
            expect(events.map((e) => e.seq)).toEqual(Array.from({ length: all.length - start + 1 }, (_, i) => start + i));
            expect(events.map((e) => e.event)).toEqual(all.slice(start - 1));
          }
        }
        await store.close();
      }),
      { numRuns: 40 },
    );
  });
});

describe("crash recovery and corruption", () => {
  async function storeWith(n: number, dir = tempDir("airlock-events-")): Promise<{ dir: string; log: string }> {
    const store = await EventStore.open(dir, { now: () => 1 });
    await store.createThread({ id: "th", title: "t" });
    for (let i = 1; i <= n; i++) await store.append("th", notice(`e${i}`));
    await store.close();
    return { dir, log: logOf(dir) };
  }

  it.each([
    ["a record cut mid-line", (log: string) => truncateSync(log, statSync(log).size - 9)],
    ["a partial record appended", (log: string) => appendFileSync(log, '{"seq":6,"at":1,"event":{"kind":"no')],
    ["a complete record without its line break", (log: string) => appendFileSync(log, JSON.stringify({ seq: 6, at: 1, event: notice("e6") }))],
    ["zero bytes after a crash", (log: string) => appendFileSync(log, Buffer.alloc(4096))],
  ])("drops %s and continues with the right seq", async (_name, damage) => {
    const { dir, log } = await storeWith(5);
    const before = readFileSync(log);
    damage(log);
    const cut = !readFileSync(log).subarray(0, before.length).equals(before); // the damage removed part of seq 5
    const store = await EventStore.open(dir);
    const last = cut ? 4 : 5;
    expect(store.repairs).toEqual([{ threadId: "th", file: log, droppedBytes: expect.any(Number) }]);
    expect(store.getThread("th")?.lastSeq).toBe(last);
    expect(await store.append("th", notice("after"))).toMatchObject({ seq: last + 1 });
    const { events } = await allAfter(store, "th", 0);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: last + 1 }, (_, i) => i + 1));
    expect(events.at(-1)?.event).toEqual(notice("after"));
    expect(seqsOnDisk(log)).toEqual(events.map((e) => e.seq));
    await store.close();
    // The repaired log opens cleanly.
    const again = await EventStore.open(dir, { verifyOnOpen: true });
    expect(again.repairs).toEqual([]);
    await again.close();
  });

  it("drops a first record cut short and starts at seq 1", async () => {
    const { dir, log } = await storeWith(1);
    truncateSync(log, 10);
    const store = await EventStore.open(dir);
    expect(store.getThread("th")?.lastSeq).toBe(0);
    expect(await store.append("th", notice("x"))).toMatchObject({ seq: 1 });
    await store.close();
  });

  it("a corrupted middle line is a clear error naming the file, at first read or at open with verifyOnOpen", async () => {
    const { dir, log } = await storeWith(5);
    const lines = readFileSync(log, "utf8").split("\n");
    lines[2] = lines[2]!.replace('"seq":3', '"seq":3,').replace("e3", "??"); // not JSON any more
    writeFileSync(log, lines.join("\n"));
    const verify = await messageOf(EventStore.open(dir, { verifyOnOpen: true }));
    expect(verify).toContain(log);
    expect(verify).toContain("corrupt");
    const store = await EventStore.open(dir);
    expect(store.getThread("th")?.lastSeq).toBe(5); // the tail is intact
    expect(await codeOf(store.eventsAfter("th", 0))).toBe("CORRUPT");
    expect(await messageOf(store.eventsAfter("th", 4))).toContain(log);
    // The damaged thread refuses further work rather than mixing logs, but can be deleted.
    expect(await codeOf(store.append("th", notice("x")))).toBe("CORRUPT");
    await store.deleteThread("th");
    await store.close();
  });

  it.each([
    ["a repeated line", (lines: string[]) => lines.splice(2, 0, lines[2]!)],
    ["a missing line", (lines: string[]) => lines.splice(2, 1)],
    ["a record with extra fields", (lines: string[]) => (lines[1] = lines[1]!.replace("{", '{"x":1,'))],
  ])("%s in the middle is CORRUPT", async (_name, damage) => {
    const { dir, log } = await storeWith(5);
    const lines = readFileSync(log, "utf8").split("\n");
    damage(lines);
    writeFileSync(log, lines.join("\n"));
    expect(await codeOf(EventStore.open(dir, { verifyOnOpen: true }))).toBe("CORRUPT");
  });

  it("a damaged complete last line, a log behind its metadata or a missing log is CORRUPT at open", async () => {
    const a = await storeWith(3);
    appendFileSync(a.log, "not json\n");
    expect(await messageOf(EventStore.open(a.dir))).toContain(a.log);

    const b = await storeWith(3);
    const store = await EventStore.open(b.dir);
    await store.updateThread("th", { title: "records lastSeq 3 in meta.json" });
    await store.close();
    const lines = readFileSync(b.log, "utf8").split("\n");
    writeFileSync(b.log, lines.slice(0, 2).join("\n") + "\n");
    expect(await messageOf(EventStore.open(b.dir))).toMatch(/ends at seq 2 but .* records seq 3/);

    const c = await storeWith(3);
    writeFileSync(join(threadDirs(c.dir)[0]!, "meta.json"), "{");
    expect(await codeOf(EventStore.open(c.dir))).toBe("CORRUPT");
  });

  it("cleans up what an interrupted creation, deletion or rewrite left behind", async () => {
    const { dir } = await storeWith(2);
    const threads = join(dir, "threads");
    mkdirSync(join(threads, "0123456789abcdef0123456789abcdef"));
    writeFileSync(join(threads, "0123456789abcdef0123456789abcdef", "events.jsonl"), "");
    mkdirSync(join(threads, ".trash-1234"));
    const thDir = threadDirs(dir).find((d) => existsSync(join(d, "meta.json")))!;
    writeFileSync(join(thDir, "events.jsonl.tmp"), "half a compaction");
    writeFileSync(join(thDir, "meta.json.tmp"), "half an update");
    const store = await EventStore.open(dir);
    expect(store.listThreads().map((s) => s.id)).toEqual(["th"]);
    expect(readdirSync(threads)).toEqual([thDir.split(/[\\/]/).at(-1)]);
    expect(readdirSync(thDir).sort()).toEqual(["events.jsonl", "meta.json"]);
    expect(store.getThread("th")?.lastSeq).toBe(2);
    await store.close();
  });
});

describe("retention", () => {
  it("compacts to 80 % of the event limit, keeps seq numbers and reports firstAvailableSeq", async () => {
    const dir = tempDir("airlock-events-");
    const store = await EventStore.open(dir, { maxEventsPerThread: 10 });
    await store.createThread({ id: "th", title: "t" });
    for (let i = 1; i <= 11; i++) await store.append("th", notice(`e${i}`));
    // 11 > 10: the 3 oldest go, 8 remain.
    expect(await store.stats("th")).toMatchObject({ firstAvailableSeq: 4, lastSeq: 11, events: 8 });
    for (let i = 12; i <= 25; i++) await store.append("th", notice(`e${i}`));
    const stats = await store.stats("th");
    expect(stats.events).toBeLessThanOrEqual(10);
    expect(stats.lastSeq).toBe(25);
    const behind = await store.eventsAfter("th", 2);
    expect(behind.gap).toBe(true);
    expect(behind.firstAvailableSeq).toBe(stats.firstAvailableSeq);
    expect(behind.events.map((e) => e.seq)).toEqual(Array.from({ length: 25 - stats.firstAvailableSeq + 1 }, (_, i) => stats.firstAvailableSeq + i));
    expect(behind.events.map((e) => e.event)).toEqual(behind.events.map((e) => notice(`e${e.seq}`)));
    const recent = await store.eventsAfter("th", 22);
    expect(recent.gap).toBe(false);
    expect(recent.events.map((e) => e.seq)).toEqual([23, 24, 25]);
    await store.close();

    const log = logOf(dir);
    expect(seqsOnDisk(log)).toEqual(behind.events.map((e) => e.seq));
    const again = await EventStore.open(dir, { maxEventsPerThread: 10, verifyOnOpen: true });
    expect(await again.stats("th")).toEqual(stats);
    expect(await again.append("th", notice("e26"))).toMatchObject({ seq: 26 });
    // 16…25 held 10 events; 26 makes 11, so compaction keeps 19…26.
    expect(stats).toEqual({ firstAvailableSeq: 16, lastSeq: 25, events: 10, bytes: expect.any(Number) });
    expect(await again.eventsAfter("th", 0)).toMatchObject({ firstAvailableSeq: 19, lastSeq: 26, gap: true });
    await again.close();
  });

  it("bounds a thread's bytes, always keeping the newest event", async () => {
    const dir = tempDir("airlock-events-");
    const store = await EventStore.open(dir, { maxBytesPerThread: 2000, maxEventBytes: 1500 });
    await store.createThread({ id: "th", title: "t" });
    for (let i = 1; i <= 40; i++) {
      await store.append("th", delta(i, 100));
      // Compaction runs right after the append that went over, before the next operation.
      expect((await store.stats("th")).bytes).toBeLessThanOrEqual(2000);
    }
    expect((await store.stats("th")).bytes).toBeGreaterThan(1000);
    await store.append("th", delta(41, 1400));
    expect(await store.stats("th")).toMatchObject({ lastSeq: 41, events: 1, firstAvailableSeq: 41 });
    const page = await store.eventsAfter("th", 0);
    expect(page).toMatchObject({ gap: true, firstAvailableSeq: 41, lastSeq: 41 });
    expect(page.events.map((e) => e.seq)).toEqual([41]);
    await store.close();
    expect(statSync(logOf(dir)).size).toBeLessThanOrEqual(2000);
  });
});
