// Unit tests of the SDK's pure parts: outbox states and bounds, backoff,
// thread streams (no gaps, no duplicates), close-code and error mapping, the
// stores, and dead-link detection against a fake relay that stops answering.
import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AirlockProtocolError, encodeControl, encodeFrame, nobleBackend, RelayClose, RelayFrame, roomIdFor, toBase64Url } from "../../protocol/src/index.ts";
import { AirlockClientError, backoffDelay, MemoryStore, Outbox, type WebSocketConstructor, type WebSocketLike } from "../../client-sdk/src/index.ts";
import { closeMeaning, fromProtocolError } from "../../client-sdk/src/errors.ts";
import { HostConnection } from "../../client-sdk/src/host-connection.ts";
import { loadOrCreateIdentity } from "../../client-sdk/src/identity.ts";
import { TrustedHosts } from "../../client-sdk/src/hosts.ts";
import { ThreadStream, ThreadSubscription } from "../../client-sdk/src/thread-subscription.ts";
import { FileStore } from "../../client-sdk/src/node/file-store.ts";
import * as native from "../../client-sdk/src/native.ts";
import * as main from "../../client-sdk/src/index.ts";
import { tempDir, until, waitState } from "./support.ts";

describe("Outbox", () => {
  it("moves commands queued → sent → acknowledged, resends unanswered ones with the same id after a reconnect", async () => {
    const box = new Outbox();
    const changes: number[] = [];
    box.onChange = () => changes.push(box.size);
    const a = box.add("c1", "thread.send", { thread: "t", text: "a" }, "t");
    const b = box.add("c2", "turn.interrupt", { thread: "t" });
    expect(box.queued().map((c) => c.id)).toEqual(["c1", "c2"]);
    box.markSent("c1");
    box.markSent("c2");
    expect(box.queued()).toEqual([]);
    expect(box.entries.map((e) => e.state)).toEqual(["sent", "sent"]);
    box.requeue(); // the session dropped before any answer
    expect(box.queued().map((c) => c.id)).toEqual(["c1", "c2"]);
    box.markSent("c1");
    expect(box.acknowledge("c1", { ok: 1 })).toBe(true);
    expect(box.fail("c2", new AirlockClientError("NOT_PENDING", "nothing", { remote: true }))).toBe(true);
    await expect(a).resolves.toEqual({ ok: 1 });
    await expect(b).rejects.toMatchObject({ code: "NOT_PENDING", remote: true });
    expect(box.entries.map((e) => [e.id, e.state, e.attempts])).toEqual([
      ["c1", "acknowledged", 2],
      ["c2", "failed", 1],
    ]);
    expect(box.acknowledge("c1", {})).toBe(false); // a late duplicate answer is ignored
    expect(changes.length).toBeGreaterThan(4);
  });

  it("fails a command beyond its bound with OUTBOX_FULL and leaves the others queued", async () => {
    const box = new Outbox({ max: 2 });
    const kept = [box.add("a", "x.y", {}), box.add("b", "x.y", {})];
    await expect(box.add("c", "x.y", {})).rejects.toMatchObject({ code: "OUTBOX_FULL" });
    expect(box.size).toBe(2);
    expect(box.entries.find((e) => e.id === "c")?.state).toBe("failed");
    box.failAll(new AirlockClientError("CLOSED", "closed"));
    for (const p of kept) await expect(p).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("expires commands still queued after the TTL, not ones already sent", async () => {
    let now = 1000;
    const box = new Outbox({ ttlMs: 100, now: () => now });
    const queued = box.add("q", "x.y", {});
    const sent = box.add("s", "x.y", {});
    box.markSent("s");
    now += 100;
    expect(box.expire()).toBe(1);
    await expect(queued).rejects.toMatchObject({ code: "OUTBOX_EXPIRED" });
    expect(box.entries.find((e) => e.id === "s")?.state).toBe("sent");
    box.acknowledge("s", {});
    await sent;
  });

  it("keeps a bounded history of settled entries", () => {
    const box = new Outbox({ keepSettled: 3 });
    for (let i = 0; i < 10; i++) {
      void box.add(`c${i}`, "x.y", {});
      box.acknowledge(`c${i}`, {});
    }
    expect(box.entries.map((e) => e.id)).toEqual(["c7", "c8", "c9"]);
  });
});

describe("backoff", () => {
  it("is full jitter under a capped exponential bound", () => {
    const o = { baseMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 10, 1e9].map((a) => backoffDelay(a, o, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999, 999]);
    expect(backoffDelay(5, o, () => 0)).toBe(0);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(i % 8, o);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(Math.min(1000, 100 * 2 ** (i % 8)));
    }
  });
});

describe("ThreadStream", () => {
  const ev = (text: string) => ({ kind: "message.delta" as const, itemId: "i", text });

  it("drops duplicates, reports gaps, lets a retention notice jump ahead", () => {
    const s = new ThreadStream("t");
    expect(s.push(1, ev("a"))).toBe("ok");
    expect(s.push(1, ev("a"))).toBe("dup");
    expect(s.push(3, ev("c"))).toBe("gap");
    expect(s.push(2, ev("b"))).toBe("ok");
    expect(s.push(10, { kind: "notice", level: "warning", text: "events 3-9 were dropped" })).toBe("ok");
    expect(s.events.map((e) => e.seq)).toEqual([1, 2, 10]);
    expect(s.lastSeq).toBe(10);
  });

  it("gives each view history then live events, through listeners and async iterators, until closed", async () => {
    const s = new ThreadStream("t");
    s.push(1, ev("a"));
    let closed = 0;
    const view = new ThreadSubscription(s, () => closed++);
    s.views.add(view);
    const heard: number[] = [];
    view.on("event", (e) => heard.push(e.seq));
    const seen: number[] = [];
    const iterating = (async () => {
      for await (const e of view) seen.push(e.seq);
    })();
    s.push(2, ev("b"));
    s.push(3, ev("c"));
    await new Promise((r) => setTimeout(r, 10));
    view.close();
    await iterating;
    expect(seen).toEqual([1, 2, 3]);
    expect(heard).toEqual([2, 3]);
    expect(closed).toBe(1);
    s.push(4, ev("d"));
    expect(heard).toEqual([2, 3]);
  });
});

describe("error mapping", () => {
  it("maps relay close codes (§9.6); the relay's refusals (4002, 4004) are hints, never DEVICE_REVOKED", () => {
    expect(closeMeaning(RelayClose.AUTH_FAILED, "", true)).toMatchObject({ error: { code: "LINK_USED" } });
    expect(closeMeaning(RelayClose.AUTH_FAILED, "", false)).toMatchObject({ error: { code: "RELAY_REFUSED", closeCode: 4002 } });
    expect(closeMeaning(RelayClose.REVOKED, "revoked", false)).toMatchObject({ error: { code: "RELAY_REFUSED", closeCode: 4004 } });
    expect(closeMeaning(RelayClose.REVOKED, "revoked", false).error.message).toBe("the relay refused this device; retrying (close 4004: revoked)");
    expect(closeMeaning(RelayClose.HOST_RESTARTED, "", false)).toMatchObject({ immediate: true });
    expect(closeMeaning(RelayClose.ROOM_FULL, "", false)).toMatchObject({ error: { code: "ROOM_FULL" } });
    expect(closeMeaning(RelayClose.ROOM_FULL, "", false).immediate).toBeFalsy();
    expect(closeMeaning(RelayClose.RATE_LIMITED, "", false).error.code).toBe("RATE_LIMITED");
    expect(closeMeaning(RelayClose.COUNTER_VIOLATION, "", false).error.code).toBe("PROTOCOL_ERROR");
    expect(closeMeaning(1006, "", false)).toMatchObject({ error: { code: "CONNECTION_LOST" } });
  });

  it("maps protocol errors to client codes", () => {
    const map = (code: ConstructorParameters<typeof AirlockProtocolError>[0]) => fromProtocolError(new AirlockProtocolError(code)).code;
    expect(map("PAIRING_UNKNOWN")).toBe("LINK_USED");
    expect(map("PAIRING_EXPIRED")).toBe("LINK_EXPIRED");
    expect(map("HOST_SIGNATURE_INVALID")).toBe("WRONG_HOST_KEY");
    expect(map("SAS_REJECTED")).toBe("HOST_REFUSED");
    expect(map("DEVICE_NOT_TRUSTED")).toBe("DEVICE_REVOKED");
    expect(map("NO_COMMON_VERSION")).toBe("PROTOCOL_VERSION");
    expect(map("LINK_INSECURE_URL")).toBe("LINK_INVALID");
    expect(map("FRAME_DECRYPT_FAILED")).toBe("PROTOCOL_ERROR");
  });
});

describe("stores", () => {
  it("FileStore writes 0600 files in a 0700 directory and round-trips values; the identity is stable", async () => {
    const dir = join(tempDir("airlock-client-"), "state");
    const store = new FileStore(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const signer = await loadOrCreateIdentity(store, nobleBackend);
    expect(statSync(join(dir, "device-identity.json")).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateIdentity(new FileStore(dir), nobleBackend);
    expect(toBase64Url(again.publicKey)).toBe(toBase64Url(signer.publicKey));
    expect(await store.get("missing")).toBeUndefined();
    await expect(store.set("../escape", 1)).rejects.toThrow();
  });

  it("MemoryStore keeps a non-extractable WebCrypto identity", async () => {
    const { webCryptoBackend } = await import("../../protocol/src/backend-webcrypto.ts");
    const { webCryptoKeys } = await import("../../client-sdk/src/crypto.ts");
    const store = new MemoryStore();
    const signer = await loadOrCreateIdentity(store, webCryptoBackend, webCryptoKeys);
    const stored = (await store.get("device-identity")) as { kind: string; privateKey: CryptoKey };
    expect(stored.kind).toBe("cryptokey");
    expect(stored.privateKey.extractable).toBe(false);
    const again = await loadOrCreateIdentity(store, webCryptoBackend, webCryptoKeys);
    const sig = await again.sign(new Uint8Array([1, 2, 3]));
    expect(await webCryptoBackend.verify(signer.publicKey, new Uint8Array([1, 2, 3]), sig)).toBe(true);
  });

  it("the React Native entry: same exports but IndexedDbStore, noble only, a seed identity that survives a restart", async () => {
    expect(Object.keys(native).sort()).toEqual(
      Object.keys(main)
        .filter((k) => k !== "IndexedDbStore")
        .sort(),
    );
    const ws = (() => undefined) as unknown as WebSocketConstructor;
    const store = new MemoryStore(); // can store CryptoKeys, but the native entry has no WebCrypto identities
    const keys = new Set<string>();
    for (const crypto of [undefined, "auto", "noble"] as const) {
      const client = await native.AirlockClient.create({ store, WebSocket: ws, ...(crypto ? { crypto } : {}) });
      expect(client.crypto).toBe("noble");
      expect(client).toBeInstanceOf(main.AirlockClientCore);
      keys.add(client.devicePublicKey);
      await client.close();
    }
    expect(keys.size).toBe(1); // created once, then loaded
    expect(((await store.get("device-identity")) as { kind: string }).kind).toBe("seed");
    await expect(native.AirlockClient.create({ store, WebSocket: ws, crypto: "webcrypto" })).rejects.toThrow(/noble backend only/);
    // A WebCrypto identity saved by the main entry is reported, not silently replaced.
    const webStore = new MemoryStore();
    await main.AirlockClient.create({ store: webStore, WebSocket: ws, crypto: "webcrypto" });
    await expect(native.AirlockClient.create({ store: webStore, WebSocket: ws })).rejects.toMatchObject({ code: "STORAGE" });
  });

  it("skips trusted-host records that do not validate", async () => {
    const key = (await nobleBackend.generateSigner()).publicKey;
    const good = { id: roomIdFor(key), name: "ok", relayUrl: "https://relay.example", publicKey: toBase64Url(key), pairedAt: 1 };
    const store = new MemoryStore();
    await store.set("trusted-hosts", [good, { ...good, id: "forged-room-id-000000a" }, { ...good, relayUrl: "http://evil.example" }, null, 7]);
    expect((await TrustedHosts.load(store)).list()).toEqual([good]);
  });
});

/** A relay that admits the device, says the host is offline, then never answers a ping (or answers with garbage). */
class SilentRelay implements WebSocketLike {
  static opened = 0;
  static garbage = false;
  binaryType = "arraybuffer";
  readyState = 0;
  onopen: WebSocketLike["onopen"] = null;
  onmessage: WebSocketLike["onmessage"] = null;
  onclose: WebSocketLike["onclose"] = null;
  onerror: WebSocketLike["onerror"] = null;
  constructor(url: string) {
    SilentRelay.opened++;
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
    if (typeof data !== "string" && data[1] === RelayFrame.AUTH)
      this.#deliver(encodeControl(RelayFrame.WELCOME, { role: "device", slot: 1, host: { online: false, lastSeen: 5 } }));
    if (typeof data === "string" && SilentRelay.garbage) this.onmessage?.({ data: new Uint8Array([1, 2, 3]).buffer });
  }
  close(): void {
    this.readyState = 3;
  }
}

describe("dead-link detection", () => {
  it("gives up on a relay that stops answering pings and reconnects with backoff", async () => {
    const signer = await nobleBackend.generateSigner();
    const hostKey = (await nobleBackend.generateSigner()).publicKey;
    const conn = new HostConnection({
      host: { id: roomIdFor(hostKey), name: "h", relayUrl: "https://relay.example", publicKey: toBase64Url(hostKey), pairedAt: 1 },
      signer,
      backend: nobleBackend,
      deviceName: "d",
      WebSocket: SilentRelay,
      timing: { pingIntervalMs: 50, deadAfterMs: 200, backoff: { baseMs: 10, maxMs: 20 } },
    });
    const errors: string[] = [];
    conn.on("error", (e) => errors.push(e.code));
    await waitState(conn, "host-offline", 2000);
    expect(conn.presence).toEqual({ hostOnline: false, lastSeen: 5 });
    await waitState(conn, "offline", 2000);
    expect(errors).toContain("CONNECTION_LOST");
    await waitState(conn, "host-offline", 2000);
    expect(SilentRelay.opened).toBeGreaterThanOrEqual(2);
    conn.close();
    expect(conn.state).toBe("closed");
  });

  it("drops a connection on which the relay sends a malformed frame, and reconnects", async () => {
    SilentRelay.garbage = true;
    SilentRelay.opened = 0;
    const signer = await nobleBackend.generateSigner();
    const hostKey = (await nobleBackend.generateSigner()).publicKey;
    const conn = new HostConnection({
      host: { id: roomIdFor(hostKey), name: "h", relayUrl: "https://relay.example", publicKey: toBase64Url(hostKey), pairedAt: 1 },
      signer,
      backend: nobleBackend,
      deviceName: "d",
      WebSocket: SilentRelay,
      timing: { pingIntervalMs: 50, deadAfterMs: 10_000, backoff: { baseMs: 10, maxMs: 20 } },
    });
    const errors: string[] = [];
    conn.on("error", (e) => errors.push(e.code));
    await waitState(conn, "offline", 2000);
    expect(errors).toEqual(["PROTOCOL_ERROR"]);
    await waitState(conn, "host-offline", 2000);
    expect(SilentRelay.opened).toBeGreaterThanOrEqual(2);
    conn.close();
    SilentRelay.garbage = false;
  });
});

/** A relay that admits the device with the host online, then answers every frame with random bytes. */
class NoiseRelay implements WebSocketLike {
  static opened = 0;
  binaryType = "arraybuffer";
  readyState = 0;
  onopen: WebSocketLike["onopen"] = null;
  onmessage: WebSocketLike["onmessage"] = null;
  onclose: WebSocketLike["onclose"] = null;
  onerror: WebSocketLike["onerror"] = null;
  #n = 0;
  constructor(url: string) {
    NoiseRelay.opened++;
    const room = url.split("/").at(-2)!;
    setTimeout(() => {
      this.onopen?.({});
      const limits = { maxFrameBytes: 1, maxDevices: 1, maxPendingTickets: 1, authTimeoutMs: 1, idleTimeoutMs: 1, rateLimit: { framesPerSecond: 1, burst: 1 } };
      this.#deliver(encodeControl(RelayFrame.CHALLENGE, { v: 1, role: "device", room, challenge: toBase64Url(new Uint8Array(32)), time: 1, limits }));
    }, 1);
  }
  #deliver(frame: Uint8Array) {
    this.onmessage?.({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) });
  }
  send(data: Uint8Array | string): void {
    if (typeof data === "string") return;
    if (data[1] === RelayFrame.AUTH) return this.#deliver(encodeControl(RelayFrame.WELCOME, { role: "device", slot: 1, host: { online: true } }));
    // Noise shaped like frames: a valid header with a random body, or random bytes, or nonsense events.
    const n = this.#n++;
    const body = crypto.getRandomValues(new Uint8Array(n % 3 === 0 ? 114 : 1 + (n % 300)));
    const kinds = [
      () => encodeFrame({ type: 1 + (n % 3), slot: 1, epoch: 0, counter: 0n }, body),
      () => body,
      () => encodeControl(RelayFrame.PRESENCE, { host: "sideways" }),
      () => new TextEncoder().encode("pong"),
    ];
    this.#deliver(kinds[n % kinds.length]!());
    if (n % 5 === 4) this.onmessage?.({ data: "pong" });
    if (n % 7 === 6) this.onmessage?.(undefined);
  }
  close(): void {
    this.readyState = 3;
  }
}

describe("hostile input", () => {
  it("a relay or host sending garbage never crashes the client: the connection just retries", async () => {
    const signer = await nobleBackend.generateSigner();
    const hostKey = (await nobleBackend.generateSigner()).publicKey;
    const conn = new HostConnection({
      host: { id: roomIdFor(hostKey), name: "h", relayUrl: "https://relay.example", publicKey: toBase64Url(hostKey), pairedAt: 1 },
      signer,
      backend: nobleBackend,
      deviceName: "d",
      WebSocket: NoiseRelay,
      timing: { pingIntervalMs: 20, deadAfterMs: 1000, handshakeTimeoutMs: 200, backoff: { baseMs: 1, maxMs: 5 } },
    });
    const errors = new Set<string>();
    conn.on("error", (e) => errors.add(e.code));
    const sent = conn.send("t", "queued while nothing works");
    await until(() => NoiseRelay.opened >= 20, 10_000, "20 connection attempts");
    expect(conn.state).not.toBe("online");
    expect(conn.outbox.map((o) => o.state)).toEqual(["queued"]);
    expect([...errors].every((c) => ["PROTOCOL_ERROR", "HANDSHAKE_FAILED", "TIMEOUT", "CONNECTION_LOST"].includes(c))).toBe(true);
    conn.close();
    await expect(sent).rejects.toMatchObject({ code: "CLOSED" });
  });
});
