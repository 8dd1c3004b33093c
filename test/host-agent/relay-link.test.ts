// RelayLink against the real relay (local workerd): admission, presence,
// frames both ways, commands, a relay restart on the same port and storage,
// a takeover by another host process (4003), a key the relay refuses (4002),
// and a frozen network (a TCP proxy that stops forwarding without closing).
import { createServer, connect, type AddressInfo, type Socket } from "node:net";
import WebSocket from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  derivePairingKeys,
  FrameType,
  nobleBackend,
  RelayClose,
  relayTicketHash,
  secureRandom,
  toBase64Url,
  type Ed25519Signer,
} from "../../protocol/src/index.ts";
import { backoffDelay, RelayCommandError, RelayLink, type RelayLinkEvents, type RelayLinkOptions } from "../../host-agent/src/relay-link.ts";
import { connectDevice, startRelay, type RelayClient, type RelayServer } from "../relay/harness.ts";
import { closeAll, e2e, expectClosed, nextE2E, sleep } from "../relay/fixtures.ts";
import { tempDir } from "../support/temp.ts";

const EVENTS: Array<keyof RelayLinkEvents> = ["state", "welcome", "deviceJoined", "deviceLeft", "frame", "closed", "notice", "fatal"];

/** Records every event of a link; waits fail loudly instead of hanging. */
class Recorder {
  readonly entries: Array<{ event: keyof RelayLinkEvents; payload: unknown; at: number }> = [];

  constructor(link: RelayLink) {
    for (const event of EVENTS) link.on(event, (payload) => this.entries.push({ event, payload, at: Date.now() }));
  }

  mark(): number {
    return this.entries.length;
  }

  of<K extends keyof RelayLinkEvents>(event: K, after = 0): Array<RelayLinkEvents[K]> {
    return this.entries
      .slice(after)
      .filter((e) => e.event === event)
      .map((e) => e.payload as RelayLinkEvents[K]);
  }

  async waitFor<K extends keyof RelayLinkEvents>(
    event: K,
    pred: (p: RelayLinkEvents[K]) => boolean = () => true,
    { after = 0, timeoutMs = 5000 }: { after?: number; timeoutMs?: number } = {},
  ): Promise<RelayLinkEvents[K] & { at: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const e of this.entries.slice(after)) {
        if (e.event === event && pred(e.payload as RelayLinkEvents[K])) return { ...(e.payload as RelayLinkEvents[K]), at: e.at };
      }
      if (Date.now() > deadline) {
        throw new Error(`no ${event} event in ${timeoutMs} ms; saw ${JSON.stringify(this.entries.slice(after).map((e) => [e.event, e.payload]))}`);
      }
      await sleep(10);
    }
  }
}

let relay: RelayServer;
const links: RelayLink[] = [];
const clients: RelayClient[] = [];

function newLink(signer: Ed25519Signer, options: Partial<RelayLinkOptions> = {}): { link: RelayLink; rec: Recorder; lines: string[] } {
  const lines: string[] = [];
  const link = new RelayLink({
    relayUrl: relay.url,
    signer,
    backoff: { initialMs: 50, maxMs: 400 },
    pingIntervalMs: 2000, // connection deadline 4 s: generous for a cold workerd on a loaded machine
    log: (line) => lines.push(line),
    ...options,
  });
  links.push(link);
  return { link, rec: new Recorder(link), lines };
}

async function onlineLink(signer?: Ed25519Signer, options: Partial<RelayLinkOptions> = {}) {
  const made = newLink(signer ?? (await nobleBackend.generateSigner()), options);
  made.link.start();
  const welcome = await made.rec.waitFor("welcome");
  return { ...made, welcome };
}

/** A paired device: a ticket registered through the link, then connected with it. */
async function ticketDevice(link: RelayLink, relayUrl = relay.url) {
  const { relayTicket } = derivePairingKeys(secureRandom(32));
  await link.addTicket(relayTicketHash(relayTicket), Date.now() + 60_000);
  const key = await nobleBackend.generateSigner();
  const { client, welcome } = await connectDevice(relayUrl, link.roomId, key, relayTicket);
  clients.push(client);
  if (welcome.role !== "device") throw new Error("expected a device welcome");
  return { key, client, slot: welcome.slot };
}

/** A TCP proxy in front of the relay that can stop forwarding without closing anything. */
async function startProxy(target: number) {
  let frozen = false;
  const sockets = new Set<Socket>();
  const server = createServer((down) => {
    const up = connect(target, "127.0.0.1");
    for (const s of [down, up]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => sockets.delete(s));
    }
    down.on("data", (d) => void (frozen || up.write(d)));
    up.on("data", (d) => void (frozen || down.write(d)));
    // A frozen network delivers nothing, not even a FIN.
    down.on("close", () => frozen || up.destroy());
    up.on("close", () => frozen || down.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    freeze: () => void (frozen = true),
    thaw: () => void (frozen = false),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

beforeAll(async () => {
  relay = await startRelay();
});

afterEach(async () => {
  closeAll(...clients.splice(0));
  await Promise.all(links.splice(0).map((l) => l.stop()));
});

afterAll(async () => {
  await relay?.dispose();
});

describe("RelayLink", () => {
  it("refuses a relay URL with a query or fragment (the room path would land after it)", async () => {
    const signer = await nobleBackend.generateSigner();
    for (const relayUrl of ["https://relay.example/base?x=1", "https://relay.example/#frag"]) {
      expect(() => new RelayLink({ relayUrl, signer })).toThrow(/query or fragment/);
    }
    expect(new RelayLink({ relayUrl: "https://relay.example/base/", signer }).roomId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("connects with perMessageDeflate off, authenticates and goes online at WELCOME", async () => {
    const signer = await nobleBackend.generateSigner();
    const options: unknown[] = [];
    class SpyWebSocket extends WebSocket {
      constructor(url: string, opts: WebSocket.ClientOptions) {
        options.push({ url, perMessageDeflate: opts.perMessageDeflate });
        super(url, opts);
      }
    }
    const { link, rec, welcome } = await onlineLink(signer, { WebSocketImpl: SpyWebSocket as typeof WebSocket });
    expect(options).toEqual([{ url: `${relay.url.replace(/^http/, "ws")}/v1/rooms/${link.roomId}/host`, perMessageDeflate: false }]);
    expect(welcome).toMatchObject({ role: "host", devices: [], allowlistVersion: 0 });
    expect(rec.of("state").map((s) => s.state)).toEqual(["connecting", "authenticating", "online"]);
    expect(rec.of("state").every((s) => s.attempt === 1)).toBe(true);
    expect(link.online).toBe(true);
    expect(link.state).toBe("online");
    expect(link.limits?.maxDevices).toBe(16);

    await link.stop();
    expect(link.state).toBe("offline");
    expect(rec.of("closed")).toEqual([{ code: RelayClose.NORMAL, reason: expect.any(String), wasOnline: true }]);
    expect(rec.of("state").at(-1)).toEqual({ state: "offline", attempt: 1 }); // no retry after stop()
    await sleep(200);
    expect(rec.of("state").at(-1)?.state).toBe("offline");
  });

  it("can be stopped and started again, also before the old socket has closed", async () => {
    const { link, rec } = await onlineLink();
    let mark = rec.mark();
    const stopping = link.stop();
    link.start(); // the closing socket's close handler reconnects
    await stopping;
    await rec.waitFor("welcome", () => true, { after: mark });
    expect(rec.of("closed", mark)).toHaveLength(1);
    expect(link.online).toBe(true);
    mark = rec.mark();
    await link.stop();
    link.start();
    await rec.waitFor("welcome", () => true, { after: mark });
    expect(rec.of("welcome")).toHaveLength(3);
    expect(rec.of("fatal")).toEqual([]);
  });

  it("reports devices joining (ticket and allowlist) and leaving, and kicks them", async () => {
    const { link, rec } = await onlineLink();

    const paired = await ticketDevice(link);
    const pairedKey = toBase64Url(paired.key.publicKey);
    expect(await rec.waitFor("deviceJoined")).toMatchObject({ slot: paired.slot, key: pairedKey, via: "ticket" });
    expect([...link.devices.keys()]).toEqual([paired.slot]);
    paired.client.close();
    expect(await rec.waitFor("deviceLeft")).toMatchObject({ slot: paired.slot, key: pairedKey, cause: "left" });
    expect(link.devices.size).toBe(0);

    const phone = await nobleBackend.generateSigner();
    await link.setAllowlist(1, [phone.publicKey]);
    expect(link.allowlistVersion).toBe(1);
    const mark = rec.mark();
    const first = await connectDevice(relay.url, link.roomId, phone);
    const second = await connectDevice(relay.url, link.roomId, phone); // same key, second connection
    clients.push(first.client, second.client);
    const slots = [first.welcome, second.welcome].map((w) => (w.role === "device" ? w.slot : -1));
    await rec.waitFor("deviceJoined", (d) => d.slot === slots[1], { after: mark });
    expect(rec.of("deviceJoined", mark)).toEqual(slots.map((slot) => ({ slot, key: toBase64Url(phone.publicKey), via: "allowlist" })));

    await link.kickDevice({ slot: slots[0]! });
    await expectClosed(first.client, RelayClose.KICKED);
    await rec.waitFor("deviceLeft", (d) => d.slot === slots[0], { after: mark });
    await link.kickDevice({ key: phone.publicKey });
    await expectClosed(second.client, RelayClose.REVOKED);
    await rec.waitFor("deviceLeft", (d) => d.slot === slots[1], { after: mark });
    expect(link.devices.size).toBe(0);
  });

  it("carries end-to-end frames both ways; send() refuses what the relay would punish", async () => {
    const { link, rec } = await onlineLink();
    const a = await ticketDevice(link);
    const b = await ticketDevice(link);
    await rec.waitFor("deviceJoined", (d) => d.slot === b.slot);

    // Device → host: the relay stamps the device's slot over whatever it sent.
    a.client.send(e2e(777, 0, [1, 2, 3], FrameType.HANDSHAKE));
    b.client.send(e2e(0, 0, [4], FrameType.HANDSHAKE));
    for (let i = 1; i < 5; i++) a.client.send(e2e(0, i, [i]));
    await rec.waitFor("frame", (f) => f.slot === a.slot && f.frame.length === 21 && f.frame[20] === 4);
    const frames = rec.of("frame").map((f) => ({ slot: f.slot, headerSlot: (f.frame[2]! << 8) | f.frame[3]!, body: Array.from(f.frame.subarray(20)) }));
    expect(frames.filter((f) => f.slot === a.slot)).toEqual([
      { slot: a.slot, headerSlot: a.slot, body: [1, 2, 3] },
      ...[1, 2, 3, 4].map((i) => ({ slot: a.slot, headerSlot: a.slot, body: [i] })),
    ]);
    expect(frames.filter((f) => f.slot === b.slot)).toEqual([{ slot: b.slot, headerSlot: b.slot, body: [4] }]);

    // Host → device, addressed by slot, counters per slot.
    expect(link.send(a.slot, e2e(a.slot, 0, [9, 8], FrameType.HANDSHAKE))).toBe(true);
    expect(link.send(b.slot, e2e(b.slot, 0, [7], FrameType.HANDSHAKE))).toBe(true);
    expect(link.send(a.slot, e2e(a.slot, 1, [6]))).toBe(true);
    expect((await nextE2E(a.client)).body).toEqual([9, 8]);
    expect(await nextE2E(a.client)).toMatchObject({ header: { slot: a.slot, counter: 1n, type: FrameType.DATA }, body: [6] });
    expect((await nextE2E(b.client)).body).toEqual([7]);

    // Caller bugs throw; runtime conditions return false.
    expect(() => link.send(a.slot, e2e(b.slot, 2, []))).toThrow(RangeError);
    expect(() => link.send(a.slot, e2e(a.slot, 2, [], 0x31))).toThrow(TypeError);
    expect(() => link.send(a.slot, new Uint8Array(5))).toThrow();
    expect(link.send(a.slot + 1000, e2e(a.slot + 1000, 0, []))).toBe(false); // no such device
    await link.stop();
    expect(link.send(a.slot, e2e(a.slot, 2, []))).toBe(false); // offline
    expect(rec.of("deviceLeft").map((d) => d.cause)).toEqual(["offline", "offline"]);
  });

  it("rejects commands with the relay's error text, and locally when offline or invalid", async () => {
    const { link } = await onlineLink();
    await link.setAllowlist(5, []);
    const stale = await link.setAllowlist(5, []).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(RelayCommandError);
    expect(stale).toMatchObject({ code: "REJECTED", message: "stale version (current 5)" });
    await expect(link.setAllowlist(4, [])).rejects.toThrow("stale version (current 5)");
    await expect(link.addTicket(new Uint8Array(32), Date.now() - 1)).rejects.toThrow("expiry out of range");
    await expect(link.addTicket(new Uint8Array(32), Date.now() + 2 * 3600_000)).rejects.toThrow("expiry out of range");
    await expect(link.command({ op: "device.kick" })).rejects.toThrow("name a key or a slot");
    await expect(link.kickDevice({ slot: 0 })).rejects.toMatchObject({ code: "INVALID" });
    await expect(link.addTicket(new Uint8Array(31), Date.now() + 1000)).rejects.toMatchObject({ code: "INVALID" });
    expect(link.online).toBe(true); // none of that cost the connection

    const idle = newLink(await nobleBackend.generateSigner()).link;
    await expect(idle.addTicket(new Uint8Array(32), Date.now() + 1000)).rejects.toMatchObject({ code: "OFFLINE" });
  });

  it("4003: another host process with the same key takes over; the first one stops with `fatal`", async () => {
    const signer = await nobleBackend.generateSigner();
    const first = await onlineLink(signer);
    const device = await ticketDevice(first.link);
    await first.rec.waitFor("deviceJoined");

    const second = await onlineLink(signer);
    const fatal = await first.rec.waitFor("fatal");
    expect(fatal).toMatchObject({ code: RelayClose.REPLACED, message: expect.stringContaining("another host process") });
    expect(first.rec.of("closed")).toEqual([{ code: RelayClose.REPLACED, reason: expect.any(String), wasOnline: true }]);
    expect(first.rec.of("state").at(-1)).toEqual({ state: "offline", attempt: 1 });
    expect(first.rec.of("deviceLeft")).toEqual([{ slot: device.slot, key: toBase64Url(device.key.publicKey), cause: "offline" }]);
    await expectClosed(device.client, RelayClose.HOST_RESTARTED);

    await sleep(600); // several backoff periods: the first link must not come back
    expect(first.rec.of("state").filter((s) => s.state === "connecting")).toHaveLength(1);
    expect(second.link.online).toBe(true);
    expect(second.rec.of("closed")).toEqual([]);
    await second.link.addTicket(new Uint8Array(32), Date.now() + 60_000);
  });

  it("4002: gives up after a few refused authentications (wrong key)", async () => {
    const claimed = await nobleBackend.generateSigner();
    const actual = await nobleBackend.generateSigner();
    const wrong: Ed25519Signer = { publicKey: claimed.publicKey, sign: (m) => actual.sign(m) };
    const { link, rec } = newLink(wrong);
    link.start();
    const fatal = await rec.waitFor("fatal");
    expect(fatal).toMatchObject({ code: RelayClose.AUTH_FAILED, reason: "bad signature", message: expect.stringContaining("refusing the host key") });
    expect(rec.of("closed").map((c) => c.code)).toEqual([4002, 4002, 4002]);
    expect(rec.of("welcome")).toEqual([]);
    expect(link.state).toBe("offline");
  });

  it("notices a frozen connection within ~2 ping intervals and reconnects after it thaws", async () => {
    const proxy = await startProxy(Number(new URL(relay.url).port));
    try {
      const ping = 300;
      const { link, rec, lines } = await onlineLink(undefined, { relayUrl: proxy.url, pingIntervalMs: ping });
      await sleep(4 * ping); // pongs keep a healthy connection up
      expect(rec.of("closed")).toEqual([]);

      const mark = rec.mark();
      proxy.freeze();
      const frozenAt = Date.now();
      const answer = link.addTicket(new Uint8Array(32), Date.now() + 60_000).catch((e: unknown) => e);
      const closed = await rec.waitFor("closed", () => true, { after: mark });
      const detectedIn = closed.at - frozenAt;
      expect(detectedIn).toBeGreaterThanOrEqual(ping / 2); // the last pong may have been up to a ping interval before the freeze
      expect(detectedIn).toBeLessThan(2 * ping + 600);
      expect(closed).toMatchObject({ code: 1006, wasOnline: true });
      expect(await answer).toMatchObject({ code: "DISCONNECTED" });
      expect(lines.some((l) => l.includes("no message from the relay"))).toBe(true);

      await sleep(4 * ping); // attempts through the frozen proxy time out too
      expect(rec.of("state", mark).some((s) => s.state === "online")).toBe(false);
      const offline = rec.of("state", mark).filter((s) => s.state === "offline");
      expect(offline.length).toBeGreaterThanOrEqual(2);
      expect(offline.every((s) => s.retryAt !== undefined && s.retryInMs! >= 0 && s.retryInMs! <= 400)).toBe(true);

      const thawMark = rec.mark();
      proxy.thaw();
      await rec.waitFor("welcome", () => true, { after: thawMark, timeoutMs: 5000 });
      const device = await ticketDevice(link);
      await rec.waitFor("deviceJoined", (d) => d.slot === device.slot, { after: thawMark });
      device.client.send(e2e(0, 0, [42], FrameType.HANDSHAKE));
      await rec.waitFor("frame", (f) => f.slot === device.slot, { after: thawMark });
      expect(link.send(device.slot, e2e(device.slot, 0, [43], FrameType.HANDSHAKE))).toBe(true);
      expect((await nextE2E(device.client)).body).toEqual([43]);
    } finally {
      await Promise.all(links.splice(0).map((l) => l.stop()));
      await proxy.close();
    }
  });

  it("a relay that accepts the WebSocket but never sends CHALLENGE: the attempt is dropped after 10 s and retried (not after 2 ping intervals)", async () => {
    const { WebSocketServer } = await import("ws");
    const silent = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((r) => silent.once("listening", r));
    const port = (silent.address() as AddressInfo).port;
    try {
      // The default ping interval, 20 s: before, a connecting socket waited 2 intervals (40 s).
      const { link, rec, lines } = newLink(await nobleBackend.generateSigner(), { relayUrl: `http://127.0.0.1:${port}`, pingIntervalMs: 20_000 });
      const started = Date.now();
      link.start();
      await rec.waitFor("state", (s) => s.state === "authenticating");
      const retried = await rec.waitFor("state", (s) => s.state === "connecting" && s.attempt === 2, { timeoutMs: 25_000 });
      expect(retried.at - started).toBeGreaterThanOrEqual(9_000);
      expect(lines.some((l) => l.includes("no message from the relay"))).toBe(true);
      await link.stop();
    } finally {
      silent.close();
    }
  }, 40_000);

  it("survives a relay restart on the same port and storage", async () => {
    const persistDir = tempDir("airlock-link-restart-");
    let own = await startRelay({ persistDir });
    const port = Number(new URL(own.url).port);
    try {
      const phone = await nobleBackend.generateSigner();
      const { link, rec } = await onlineLink(undefined, { relayUrl: own.url, backoff: { initialMs: 100, maxMs: 500 } });
      await link.setAllowlist(1, [phone.publicKey]);

      const mark = rec.mark();
      await own.dispose();
      await rec.waitFor("closed", () => true, { after: mark });
      own = await startRelay({ persistDir, port });
      const welcome = await rec.waitFor("welcome", () => true, { after: mark, timeoutMs: 10_000 });
      expect(welcome.allowlistVersion).toBe(1); // same storage
      const states = rec.of("state", mark).map((s) => s.state);
      expect(states[0]).toBe("offline");
      expect(states.at(-1)).toBe("online");
      expect(rec.of("fatal")).toEqual([]);

      const { client, welcome: dw } = await connectDevice(own.url, link.roomId, phone);
      clients.push(client);
      const slot = dw.role === "device" ? dw.slot : -1;
      await rec.waitFor("deviceJoined", (d) => d.slot === slot && d.via === "allowlist", { after: mark });
      client.send(e2e(0, 0, [5], FrameType.HANDSHAKE));
      await rec.waitFor("frame", (f) => f.slot === slot, { after: mark });
      expect(link.send(slot, e2e(slot, 0, [6], FrameType.HANDSHAKE))).toBe(true);
      expect((await nextE2E(client)).body).toEqual([6]);
    } finally {
      closeAll(...clients.splice(0));
      await Promise.all(links.splice(0).map((l) => l.stop()));
      await own.dispose();
    }
  });

  it("backoff is capped exponential with full jitter", () => {
    const b = { initialMs: 500, maxMs: 30_000 };
    expect([1, 2, 3, 4, 7, 8, 50].map((n) => backoffDelay(n, b, () => 0.999999))).toEqual([499, 999, 1999, 3999, 29_999, 29_999, 29_999]);
    expect(backoffDelay(5, b, () => 0)).toBe(0);
  });
});
