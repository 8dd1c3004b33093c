// The event store's fast paths (issue 16) keep its promises: appends that
// arrive together share one fsync but each resolves only once durable, in
// order; coalescing merges only queued output of one item and keeps the text;
// delivery from memory (durableEventsAfter) returns exactly what is durable
// and matches the file after a reopen; summary changes not awaited
// (`durable: false`) still reach meta.json.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { paddedLength, type ThreadEvent } from "../../protocol/src/index.ts";
import { EventStore, storedEventJson, TAIL_EVENTS, type StoredEvent } from "../../host-agent/src/event-store.ts";
import { tempDir } from "../support/temp.ts";

const stores: EventStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});
async function openStore(dir: string): Promise<EventStore> {
  const store = await EventStore.open(dir);
  stores.push(store);
  return store;
}

const delta = (i: number, itemId = "m1"): ThreadEvent => ({ kind: "message.delta", itemId, text: `<${i}>` });
const output = (i: number, stream: "stdout" | "stderr" = "stdout"): ThreadEvent => ({ kind: "command.output", itemId: "c1", stream, chunk: `[${i}]` });
const notice = (text: string): ThreadEvent => ({ kind: "notice", level: "info", text });

function logLines(dir: string): StoredEvent[] {
  const threads = join(dir, "threads");
  const [folder] = readdirSync(threads);
  return readFileSync(join(threads, folder!, "events.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StoredEvent);
}

/** Counts fsyncs and fdatasyncs of any file handle while `fn` runs (the store syncs files only through FileHandle). */
async function countSyncs(dir: string, fn: () => Promise<unknown>): Promise<number> {
  const probe = await open(join(dir, "probe"), "w");
  const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void>; datasync: () => Promise<void> };
  await probe.close();
  const spies = [vi.spyOn(proto, "sync"), vi.spyOn(proto, "datasync")];
  try {
    await fn();
    return spies.reduce((n, spy) => n + spy.mock.calls.length, 0);
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

describe("group commit", () => {
  it("appends that arrive together share one fsync, get consecutive seqs in call order, and resolve once on disk", async () => {
    const dir = tempDir("airlock-events-pipeline-");
    const store = await openStore(dir);
    await store.createThread({ id: "t", title: "group" });
    let results: { seq: number }[] = [];
    const syncs = await countSyncs(dir, async () => {
      results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.append("t", notice(`n${i}`))));
    });
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThanOrEqual(2);
    // Resolved means on disk: every line is in the log, in order.
    const lines = logLines(dir);
    expect(lines.map((l) => l.seq)).toEqual(results.map((r) => r.seq));
    expect(lines.map((l) => (l.event as { text: string }).text)).toEqual(Array.from({ length: 200 }, (_, i) => `n${i}`));
  });

  it("an append marked `reaction` shares its write with what its caller appends right behind it (after a few promise hops)", async () => {
    const dir = tempDir("airlock-events-pipeline-");
    const store = await openStore(dir);
    await store.createThread({ id: "t", title: "reaction" });
    await store.append("t", notice("before"));
    let seqs: number[] = [];
    const syncs = await countSyncs(dir, async () => {
      const resolved = store.append("t", notice("resolved"), { reaction: true });
      // The agent hears the verdict a few promise hops later and acts.
      await Promise.resolve();
      await Promise.resolve();
      const acting = store.append("t", notice("acting"));
      seqs = [(await resolved).seq, (await acting).seq];
    });
    expect(seqs).toEqual([2, 3]);
    expect(syncs).toBe(1);
    // Alone, it is still written (on the next turn of the event loop).
    expect(await store.append("t", notice("alone"), { reaction: true })).toMatchObject({ seq: 4 });
  });

  it("an event over the size limit fails alone; the others of its batch are written", async () => {
    const dir = tempDir("airlock-events-pipeline-");
    const store = await EventStore.open(dir, { maxEventBytes: 200 });
    stores.push(store);
    await store.createThread({ id: "t", title: "limits" });
    const settled = await Promise.allSettled([store.append("t", notice("a")), store.append("t", notice("x".repeat(500))), store.append("t", notice("b"))]);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: "EVENT_TOO_LARGE" });
    expect(logLines(dir).map((l) => [l.seq, (l.event as { text: string }).text])).toEqual([
      [1, "a"],
      [2, "b"],
    ]);
  });
});

describe("a failed write", () => {
  it("fails the batch's appends with WRITE_FAILED and leaves the thread usable once the log can be written again", async () => {
    const dir = tempDir("airlock-events-pipeline-");
    const store = await openStore(dir);
    await store.createThread({ id: "t", title: "failing" });
    const threads = join(dir, "threads");
    const log = join(threads, readdirSync(threads)[0]!, "events.jsonl");
    // The log cannot be opened for writing (a directory in its place): nothing was written, nothing to undo.
    rmSync(log);
    mkdirSync(log);
    const failed = await Promise.allSettled([store.append("t", notice("a")), store.append("t", notice("b"))]);
    expect(failed.map((r) => r.status === "rejected" && (r.reason as { code?: string }).code)).toEqual(["WRITE_FAILED", "WRITE_FAILED"]);
    expect(store.getThread("t")!.lastSeq).toBe(0);
    rmSync(log, { recursive: true });
    writeFileSync(log, "");
    expect(await store.append("t", notice("c"))).toMatchObject({ seq: 1 });
    expect(logLines(dir).map((l) => l.seq)).toEqual([1]);
  });
});

describe("coalescing", () => {
  it("merges queued output of the same item (and stream) into one event, in order, and only when asked", async () => {
    const dir = tempDir("airlock-events-pipeline-");
    const store = await openStore(dir);
    await store.createThread({ id: "t", title: "coalesce" });
    const appends = [
      ...Array.from({ length: 50 }, (_, i) => store.append("t", delta(i), { coalesce: true })),
      store.append("t", delta(50, "m2"), { coalesce: true }), // another item: a new event
      store.append("t", notice("between")),
      ...Array.from({ length: 10 }, (_, i) => store.append("t", output(i), { coalesce: true })),
      store.append("t", output(10, "stderr"), { coalesce: true }), // another stream: a new event
      store.append("t", delta(51)), // not asked: its own event
      store.append("t", delta(52)),
    ];
    const seqs = (await Promise.all(appends)).map((r) => r.seq);
    expect(seqs).toEqual([...Array(50).fill(1), 2, 3, ...Array(10).fill(4), 5, 6, 7]);
    const events = logLines(dir).map((l) => l.event);
    expect(events).toEqual([
      { kind: "message.delta", itemId: "m1", text: Array.from({ length: 50 }, (_, i) => `<${i}>`).join("") },
      delta(50, "m2"),
      notice("between"),
      { kind: "command.output", itemId: "c1", stream: "stdout", chunk: Array.from({ length: 10 }, (_, i) => `[${i}]`).join("") },
      output(10, "stderr"),
      delta(51),
      delta(52),
    ]);
  });

  it("writes a stream at most once per window: the first chunk at once, the next ones merged at the window's end or when another event comes", async () => {
    const dir = tempDir("airlock-events-pipeline-");
    const store = await openStore(dir);
    await store.createThread({ id: "t", title: "window" });
    // After a quiet spell: written at once, alone.
    expect(await store.append("t", output(0), { coalesce: true })).toMatchObject({ seq: 1 });
    expect(logLines(dir).map((l) => l.seq)).toEqual([1]);
    // Frozen timers: whatever resolves below did not wait out a window.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      // Within the window of that write: they wait, and merge, even one at a time.
      const second = store.append("t", output(1), { coalesce: true });
      await new Promise((resolve) => setImmediate(resolve));
      const third = store.append("t", output(2), { coalesce: true });
      await new Promise((resolve) => setImmediate(resolve));
      expect(logLines(dir).map((l) => l.seq)).toEqual([1]);
      // Anything else flushes what waits, at once and before itself.
      expect(await store.append("t", notice("done"))).toMatchObject({ seq: 3 });
      expect((await second).seq).toBe(2);
      expect((await third).seq).toBe(2);
      expect(logLines(dir).map((l) => l.event)).toEqual([
        output(0),
        { kind: "command.output", itemId: "c1", stream: "stdout", chunk: "[1][2]" },
        notice("done"),
      ]);
      // Waiting out its window when the store closes: close() writes it.
      const last = store.append("t", output(3), { coalesce: true });
      await new Promise((resolve) => setImmediate(resolve));
      expect(logLines(dir).map((l) => l.seq)).toEqual([1, 2, 3]);
      await store.close();
      expect((await last).seq).toBe(4);
      expect(logLines(dir).map((l) => l.seq)).toEqual([1, 2, 3, 4]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("merges at most 60 KiB of UTF-8, so a merged event with its envelope stays in the 64 KiB padding bucket", async () => {
    const dir = tempDir("airlock-events-pipeline-");
    const store = await openStore(dir);
    await store.createThread({ id: "t", title: "bucket" });
    const piece = "é".repeat(8 * 1024); // 16 KiB of UTF-8 in 8,192 characters
    await Promise.all(
      Array.from({ length: 8 }, () => store.append("t", { kind: "command.output", itemId: "c1", stream: "stdout", chunk: piece }, { coalesce: true })),
    );
    const sizes = logLines(dir).map((l) => Buffer.byteLength((l.event as { chunk: string }).chunk, "utf8"));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(8 * 16 * 1024);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(60 * 1024);
    expect(sizes.length).toBeLessThan(8); // still merged
    for (const l of logLines(dir)) {
      const envelope = `{"v":1,"type":"event","id":"e${l.seq}","thread":"t","seq":${l.seq},"body":${JSON.stringify(l.event)}}`;
      expect(paddedLength(Buffer.byteLength(envelope, "utf8"))).toBe(64 * 1024);
    }
  });

  it("never merges past the protocol's 65,536 characters", async () => {
    const dir = tempDir("airlock-events-pipeline-");
    const store = await openStore(dir);
    await store.createThread({ id: "t", title: "big" });
    const piece = "z".repeat(30_000);
    await Promise.all(Array.from({ length: 5 }, () => store.append("t", { kind: "message.delta", itemId: "m", text: piece }, { coalesce: true })));
    const texts = logLines(dir).map((l) => (l.event as { text: string }).text.length);
    expect(texts.every((n) => n <= 65_536)).toBe(true);
    expect(texts.reduce((a, b) => a + b, 0)).toBe(150_000);
  });
});

describe("delivery from memory", () => {
  it("durableEventsAfter returns exactly the durable events, without waiting for writes on their way", async () => {
    const dir = tempDir("airlock-events-pipeline-");
    const store = await openStore(dir);
    await store.createThread({ id: "t", title: "tail" });
    for (let i = 0; i < 5; i++) await store.append("t", notice(`d${i}`));
    const inflight = store.append("t", notice("not yet"));
    const page = await store.durableEventsAfter("t", 2);
    expect(page.events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(page.lastSeq).toBe(5);
    expect(page.more).toBe(false);
    await inflight;
    expect((await store.durableEventsAfter("t", 5)).events.map((e) => (e.event as { text: string }).text)).toEqual(["not yet"]);
  });

  it("serves recent events from memory (the file is not read) and the same events from the file after a reopen", async () => {
    const dir = tempDir("airlock-events-pipeline-");
    let store = await openStore(dir);
    await store.createThread({ id: "t", title: "tail" });
    const n = Math.ceil((TAIL_EVENTS + 300) / 100) * 100; // more than memory holds
    for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => store.append("t", notice(`e${i + j}`))));
    const fromMemory = await store.durableEventsAfter("t", n - 50);
    expect(fromMemory.events.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => n - 49 + i));
    // Older than the memory holds: read from the log, complete and in order.
    const old = await store.durableEventsAfter("t", 0, 100_000);
    expect(old.events.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));

    // Proof that the recent page came from memory: with the log's content replaced on disk, memory still answers.
    const threads = join(dir, "threads");
    const log = join(threads, readdirSync(threads)[0]!, "events.jsonl");
    const original = readFileSync(log);
    writeFileSync(log, original.toString("utf8").replace(/"e(\d+)"/g, '"f$1"'));
    expect((await store.durableEventsAfter("t", n - 1)).events[0]!.event).toEqual(notice(`e${n - 1}`));
    writeFileSync(log, original);

    // Their JSON as written (delivery sends it without serialising again); none for records read back from the file.
    for (const e of fromMemory.events) expect(storedEventJson(e)).toBe(JSON.stringify(e.event));
    expect(old.events.slice(0, 10).map(storedEventJson)).toEqual(Array(10).fill(undefined));

    await store.close();
    stores.splice(stores.indexOf(store), 1);
    store = await openStore(dir);
    const reread = await store.durableEventsAfter("t", n - 50);
    expect(reread.events).toEqual(fromMemory.events);
    expect(reread.events.map(storedEventJson)).toEqual(Array(50).fill(undefined));
  });
});

describe("thread summaries", () => {
  it("a `durable: false` change is visible at once and reaches meta.json (by close at the latest)", async () => {
    const dir = tempDir("airlock-events-pipeline-");
    const store = await openStore(dir);
    await store.createThread({ id: "t", title: "summary" });
    const shown = await store.updateThread("t", { pending: 2, status: "waiting" }, { durable: false });
    expect(shown).toMatchObject({ pending: 2, status: "waiting" });
    expect(store.getThread("t")).toMatchObject({ pending: 2, status: "waiting" });
    // A durable change right after joins the same write and does not wait out the delay.
    await store.updateThread("t", { title: "renamed" });
    const meta = () => {
      const threads = join(dir, "threads");
      return JSON.parse(readFileSync(join(threads, readdirSync(threads)[0]!, "meta.json"), "utf8")) as { thread: Record<string, unknown> };
    };
    expect(meta().thread).toMatchObject({ title: "renamed", pending: 2, status: "waiting" });
    await store.updateThread("t", { pending: 0, status: "running" }, { durable: false });
    await store.close();
    stores.splice(stores.indexOf(store), 1);
    expect(meta().thread).toMatchObject({ pending: 0, status: "running" });
  });

  it("meta.json never records a lastSeq the log does not hold", async () => {
    const dir = tempDir("airlock-events-pipeline-");
    const store = await openStore(dir);
    await store.createThread({ id: "t", title: "order" });
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      writes.push(store.append("t", notice(`n${i}`)));
      writes.push(store.updateThread("t", { pending: i % 3 }, { durable: i % 2 === 0 }));
    }
    await Promise.all(writes);
    await store.close();
    stores.splice(stores.indexOf(store), 1);
    const reopened = await openStore(dir);
    expect(reopened.getThread("t")!.lastSeq).toBe(30);
  });
});
