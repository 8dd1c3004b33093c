// Unit tests of what survives an app restart (persist.ts): unanswered commands
// (same ids) and followed threads, saved on change with coalescing, restored
// by the next connection on the same store, expired ones failing with
// OUTBOX_EXPIRED, bounds, and corrupt records ignored with a STORAGE error.
// The relay here is a fake that admits the device with the host offline, so
// nothing is ever sent; test/client-sdk/restart.test.ts does it for real.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeControl, nobleBackend, RelayFrame, roomIdFor, toBase64Url } from "../../protocol/src/index.ts";
import {
  AirlockClient,
  AirlockClientError,
  connectionStateKey,
  MemoryStore,
  Outbox,
  type OutboxEntry,
  type Store,
  type WebSocketLike,
} from "../../client-sdk/src/index.ts";
import { HostConnection, type HostConnectionOptions } from "../../client-sdk/src/host-connection.ts";
import { ConnectionSaver, MAX_SAVED_COMMAND_BYTES } from "../../client-sdk/src/persist.ts";
import { FileStore } from "../../client-sdk/src/node/file-store.ts";
import { tempDir, until } from "./support.ts";

/** Admits the device and says the host is offline; answers nothing else. */
class OfflineRelay implements WebSocketLike {
  binaryType = "arraybuffer";
  readyState = 0;
  onopen: WebSocketLike["onopen"] = null;
  onmessage: WebSocketLike["onmessage"] = null;
  onclose: WebSocketLike["onclose"] = null;
  onerror: WebSocketLike["onerror"] = null;
  constructor(url: string) {
    const room = url.split("/").at(-2)!;
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
      const limits = { maxFrameBytes: 1, maxDevices: 1, maxPendingTickets: 1, authTimeoutMs: 1, idleTimeoutMs: 1, rateLimit: { framesPerSecond: 1, burst: 1 } };
      this.#deliver(encodeControl(RelayFrame.CHALLENGE, { v: 1, role: "device", room, challenge: toBase64Url(new Uint8Array(32)), time: Date.now(), limits }));
    }, 1);
  }
  #deliver(frame: Uint8Array) {
    this.onmessage?.({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) });
  }
  send(data: Uint8Array | string): void {
    if (typeof data === "string") return this.onmessage?.({ data: "pong" });
    if (data[1] === RelayFrame.AUTH) this.#deliver(encodeControl(RelayFrame.WELCOME, { role: "device", slot: 1, host: { online: false } }));
  }
  close(): void {
    this.readyState = 3;
  }
}

async function fakeHost() {
  const key = (await nobleBackend.generateSigner()).publicKey;
  return { id: roomIdFor(key), name: "h", relayUrl: "https://relay.example", publicKey: toBase64Url(key), pairedAt: 1 };
}

async function connection(store: Store, host: HostConnectionOptions["host"], outbox?: HostConnectionOptions["outbox"]) {
  const conn = new HostConnection({
    host,
    signer: await nobleBackend.generateSigner(),
    backend: nobleBackend,
    deviceName: "d",
    WebSocket: OfflineRelay,
    store,
    ...(outbox ? { outbox } : {}),
  });
  const errors: AirlockClientError[] = [];
  const restored: OutboxEntry[][] = [];
  const settled: OutboxEntry[] = [];
  conn.on("error", (e) => errors.push(e));
  conn.on("restored", (r) => restored.push(r));
  conn.on("settled", (e) => settled.push(e));
  return { conn, errors, restored, settled };
}

/** A store that counts writes and can be made slow. */
class CountingStore extends MemoryStore {
  sets = 0;
  deletes = 0;
  delayMs = 0;
  override async set(key: string, value: unknown): Promise<void> {
    this.sets++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    await super.set(key, structuredClone(value));
  }
  override async delete(key: string): Promise<void> {
    this.deletes++;
    await super.delete(key);
  }
}

describe("Outbox save and restore", () => {
  it("saves unsettled commands, restores them queued ahead of new ones with the same ids", async () => {
    const box = new Outbox();
    const a = box.add("c1", "thread.send", { thread: "t", text: "a" }, "t");
    box.markSent("c1");
    const b = box.add("c2", "turn.interrupt", { thread: "t" }, "t");
    for (const p of [a, b]) p.catch(() => undefined);
    const saved = box.saved();
    expect(saved.map((c) => c.id)).toEqual(["c1", "c2"]);

    const next = new Outbox({ max: 3 });
    const fresh = next.add("c9", "thread.send", { thread: "t", text: "new" }, "t");
    const restored = next.restore([...saved, saved[0]!, { ...saved[0]!, id: "c3" }, { ...saved[0]!, id: "c4" }]);
    expect(restored.map((e) => [e.id, e.state, e.restored])).toEqual([
      ["c1", "queued", true],
      ["c2", "queued", true],
    ]); // the duplicate and what exceeds max are dropped
    expect(next.queued().map((c) => c.id)).toEqual(["c1", "c2", "c9"]);
    expect(next.queued()[0]!.body).toEqual({ thread: "t", text: "a" });
    expect(next.entries[0]).toMatchObject({ id: "c1", thread: "t", attempts: 0 });
    next.markSent("c1");
    expect(next.acknowledge("c1", { ok: true })).toBe(true);
    expect(next.entries.find((e) => e.id === "c1")).toMatchObject({ state: "acknowledged", restored: true, result: { ok: true } });
    expect(next.saved().map((c) => c.id)).toEqual(["c2", "c9"]);
    next.failAll(new AirlockClientError("CLOSED", "closed"));
    await expect(fresh).rejects.toMatchObject({ code: "CLOSED" });
  });
});

describe("ConnectionSaver", () => {
  it("coalesces a burst of changes into few writes, never loses the last state, and deletes an empty record", async () => {
    const store = new CountingStore();
    store.delayMs = 20;
    const host = await fakeHost();
    let commands: Array<{ id: string; type: string; body: Record<string, unknown>; createdAt: number }> = [];
    const saver = new ConnectionSaver(
      { store, hostId: host.id, snapshot: () => ({ commands, threads: [] }), onError: (e) => expect.fail(e.message) },
      { commands: [], threads: [] },
    );
    const key = connectionStateKey(host.id);
    for (let i = 0; i < 200; i++) {
      commands = [...commands, { id: `c${i}`, type: "turn.interrupt", body: { thread: "t" }, createdAt: 1 }];
      saver.schedule();
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5)); // some changes land while a write is in flight
    }
    await saver.saved();
    expect(store.sets).toBeLessThanOrEqual(6);
    const record = (await store.get(key)) as { commands: Array<{ id: string }> };
    expect(record.commands.map((c) => c.id)).toEqual(commands.map((c) => c.id));
    saver.schedule(); // nothing changed: no write
    await saver.saved();
    const writes = store.sets;
    expect(writes).toBe(store.sets);
    commands = [];
    saver.schedule();
    await saver.saved();
    expect(await store.get(key)).toBeUndefined();
    expect(store.deletes).toBe(1);
    expect(store.sets).toBe(writes);
  });

  it("uses a store key FileStore accepts", async () => {
    const key = connectionStateKey((await fakeHost()).id);
    expect(key).toMatch(/^[a-z0-9-]{1,64}$/);
  });
});

describe("HostConnection across a restart", () => {
  it("restores queued commands and followed threads on the same store; they wait for a session; forgetting nothing else", async () => {
    const store = new MemoryStore();
    const host = await fakeHost();
    const first = await connection(store, host);
    await until(() => first.conn.state === "host-offline", 5000, "host-offline");
    const sent = [first.conn.send("t1", "hello"), first.conn.decide("t1", "a1", "approve_once"), first.conn.refreshThreads()];
    for (const p of sent) p.catch(() => undefined);
    const sub = first.conn.subscribe("t1");
    first.conn.subscribe("t2").close(); // opened and closed: not followed
    await first.conn.saved();
    const ids = first.conn.outbox.filter((e) => e.type !== "threads.list").map((e) => e.id);
    expect(first.conn.followedThreads).toEqual(["t1"]);
    first.conn.close();
    await expect(sent[0]).rejects.toMatchObject({ code: "CLOSED" }); // this process's promise; the command stays saved
    expect(sub.closed).toBe(true);
    await first.conn.saved();

    const second = await connection(store, host);
    await until(() => second.restored.length > 0, 5000, "restored event");
    expect(second.restored[0]!.map((e) => e.id)).toEqual(ids); // the list refresh is not worth saving
    expect(second.conn.outbox.map((e) => [e.id, e.state, e.restored])).toEqual(ids.map((id) => [id, "queued", true]));
    expect(second.conn.followedThreads).toEqual(["t1"]);
    expect(second.errors).toEqual([]);
    await until(() => second.conn.state === "host-offline", 5000, "host-offline");
    expect(second.conn.outbox.every((e) => e.state === "queued")).toBe(true);

    // The app claims the restored thread, then lets it go: it is no longer saved.
    const view = second.conn.subscribe("t1");
    expect(second.conn.followedThreads).toEqual(["t1"]);
    view.close();
    expect(second.conn.followedThreads).toEqual([]);
    await second.conn.saved();
    const record = (await store.get(connectionStateKey(host.id))) as { commands: Array<{ id: string }>; threads: string[] };
    expect(record.commands.map((c) => c.id)).toEqual(ids);
    expect(record.threads).toEqual([]);
    second.conn.close();
  });

  it("fails a restored command older than the outbox TTL with OUTBOX_EXPIRED, observable on the entry and the settled event", async () => {
    const store = new MemoryStore();
    const host = await fakeHost();
    const old = { id: "cOld", type: "thread.send", body: { thread: "t", text: "late" }, createdAt: Date.now() - 60_000 };
    const recent = { ...old, id: "cNew", createdAt: Date.now() };
    await store.set(connectionStateKey(host.id), { v: 1, host: host.id, commands: [old, recent], threads: [] });
    const c = await connection(store, host, { ttlMs: 30_000 });
    await until(() => c.settled.length > 0, 5000, "settled");
    expect(c.settled[0]).toMatchObject({ id: "cOld", state: "failed", restored: true });
    expect(c.settled[0]!.error).toBeInstanceOf(AirlockClientError);
    expect(c.settled[0]!.error!.code).toBe("OUTBOX_EXPIRED");
    expect(c.conn.outbox.map((e) => [e.id, e.state])).toEqual([
      ["cOld", "failed"],
      ["cNew", "queued"],
    ]);
    await c.conn.saved();
    expect(((await store.get(connectionStateKey(host.id))) as { commands: unknown[] }).commands).toEqual([recent]);
    c.conn.close();
  });

  it("ignores corrupt or foreign records with a STORAGE error (never a crash) and replaces them at the next write", async () => {
    const host = await fakeHost();
    const key = connectionStateKey(host.id);
    const good = { id: "cGood", type: "turn.interrupt", body: { thread: "t" }, createdAt: Date.now() };
    for (const [value, restoredIds] of [
      ["garbage", []],
      [{ v: 2, host: host.id, commands: [], threads: [] }, []],
      [{ v: 1, host: "someone-else", commands: [good], threads: [] }, []],
      [{ v: 1, host: host.id, commands: "no", threads: [] }, []],
      // Record-level fine, some entries not: the valid ones are kept.
      [
        {
          v: 1,
          host: host.id,
          commands: [good, { ...good, id: "c2", type: "host.info" }, { ...good, id: "c3", body: { thread: 7 } }, null],
          threads: ["t1", 5, "bad thread id!"],
        },
        ["cGood"],
      ],
    ] as const) {
      const store = new MemoryStore();
      await store.set(key, value);
      const c = await connection(store, host);
      await until(() => c.errors.length > 0, 5000, "a STORAGE error");
      expect(c.errors.map((e) => e.code)).toEqual(["STORAGE"]);
      expect(c.conn.outbox.map((e) => e.id)).toEqual(restoredIds);
      await c.conn.saved();
      const now = await store.get(key);
      if (restoredIds.length === 0) expect(now).toBeUndefined();
      else expect(now).toEqual({ v: 1, host: host.id, commands: [good], threads: ["t1"] });
      c.conn.close();
    }
  });

  it("keeps an oversized command in memory only, with a STORAGE error; bounded by the outbox size", async () => {
    const store = new MemoryStore();
    const host = await fakeHost();
    const c = await connection(store, host, { max: 3 });
    await until(() => c.conn.state === "host-offline", 5000, "host-offline");
    const big = c.conn.send("t", "x".repeat(MAX_SAVED_COMMAND_BYTES));
    const small = [c.conn.send("t", "a"), c.conn.send("t", "b")];
    const overflow = c.conn.send("t", "c");
    for (const p of [big, ...small]) p.catch(() => undefined);
    await expect(overflow).rejects.toMatchObject({ code: "OUTBOX_FULL" });
    await c.conn.saved();
    const record = (await store.get(connectionStateKey(host.id))) as { commands: Array<{ body: { text: string } }> };
    expect(record.commands.map((x) => x.body.text)).toEqual(["a", "b"]);
    expect(c.errors.map((e) => e.code)).toEqual(["STORAGE"]);
    expect(c.errors[0]!.message).toContain("too large");
    c.conn.close();
  });
});

describe("AirlockClient with a FileStore", () => {
  it("a closed client's queued command is restored by the next client on the same directory; corrupt files are reported; forgetting the host deletes it", async () => {
    const dir = join(tempDir("airlock-client-"), "state");
    const host = await fakeHost();
    await new FileStore(dir).set("trusted-hosts", [host]);
    const file = join(dir, `${connectionStateKey(host.id)}.json`);

    const a = await AirlockClient.create({ store: new FileStore(dir), WebSocket: OfflineRelay, crypto: "noble" });
    const connA = a.connect(host.id);
    const sent = connA.send("t1", "survive me");
    sent.catch(() => undefined);
    const id = connA.outbox[0]!.id;
    await a.close(); // resolves once saved
    expect(JSON.parse(readFileSync(file, "utf8")).commands.map((c: { id: string }) => c.id)).toEqual([id]);

    const b = await AirlockClient.create({ store: new FileStore(dir), WebSocket: OfflineRelay, crypto: "noble" });
    const connB = b.connect(host.id);
    await until(() => connB.outbox.length === 1, 5000, "restored outbox");
    expect(connB.outbox[0]).toMatchObject({ id, type: "thread.send", state: "queued", restored: true, thread: "t1" });
    await b.close();

    writeFileSync(file, "{ not json");
    const c = await AirlockClient.create({ store: new FileStore(dir), WebSocket: OfflineRelay, crypto: "noble" });
    const connC = c.connect(host.id);
    const errors: string[] = [];
    connC.on("error", (e) => errors.push(e.code));
    await until(() => errors.length > 0, 5000, "STORAGE error");
    expect(errors).toEqual(["STORAGE"]);
    expect(connC.outbox).toEqual([]);
    connC.send("t1", "after the corruption").catch(() => undefined);
    await connC.saved();
    expect(JSON.parse(readFileSync(file, "utf8")).commands).toHaveLength(1);
    await c.forgetHost(host.id);
    expect(existsSync(file)).toBe(false);
    await c.close();
  });
});
