// HTTP routes and the configurable limits, on a relay started with low limits
// (and the debug route off, as in production).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AirlockProtocolError,
  encodeControl,
  nobleBackend,
  PROTOCOL_VERSION,
  RelayClose,
  RelayFrame,
  SignaturePurpose,
  toBase64Url,
} from "../../protocol/src/index.ts";
import { connectDevice, hostCommand, publishAllowlist, RelayClient, startRelay, wsUrl, type RelayServer } from "./harness.ts";
import {
  addTicket,
  allowlistedDevice,
  authFrame,
  closeAll,
  closeOf,
  e2e,
  expectClosed,
  expectQuiet,
  newHost,
  nextE2E,
  pairDevice,
  pending,
  sleep,
} from "./fixtures.ts";

const VARS = {
  AIRLOCK_DEBUG: "0",
  MAX_FRAME_BYTES: "2048",
  MAX_DEVICES: "2",
  MAX_PENDING_TICKETS: "2",
  AUTH_TIMEOUT_MS: "1000",
  IDLE_TIMEOUT_MS: "5000",
  RATE_LIMIT_FRAMES_PER_SECOND: "20",
  RATE_LIMIT_BURST: "40",
};
const LIMITS = {
  maxFrameBytes: 2048,
  maxDevices: 2,
  maxPendingTickets: 2,
  authTimeoutMs: 1000,
  idleTimeoutMs: 5000,
  rateLimit: { framesPerSecond: 20, burst: 40 },
};
/** A syntactically valid room id (16 zero bytes). */
const SOME_ROOM = "AAAAAAAAAAAAAAAAAAAAAA";

let relay: RelayServer;
beforeAll(async () => {
  relay = await startRelay({ vars: VARS });
});
afterAll(async () => {
  await relay?.dispose();
});

async function getJson(path: string): Promise<{ status: number; body: unknown; type: string | null }> {
  const res = await fetch(relay.url + path);
  return { status: res.status, type: res.headers.get("content-type"), body: await res.json() };
}

describe("HTTP routes", () => {
  it("GET /health answers ok", async () => {
    expect(await getJson("/health")).toMatchObject({ status: 200, body: { ok: true } });
  });

  it("GET /v1/info reports version, protocol and the configured limits", async () => {
    const before = Date.now();
    const { status, body } = await getJson("/v1/info");
    expect(status).toBe(200);
    expect(body).toEqual({ name: "airlock-relay", version: "0.1.0", protocol: PROTOCOL_VERSION, time: expect.any(Number), limits: LIMITS, admission: "open" });
    expect(Math.abs((body as { time: number }).time - before)).toBeLessThan(60_000);
  });

  it("the CHALLENGE carries the same limits", async () => {
    const c = await pending(relay.url, SOME_ROOM, "device");
    expect(c.challenge).toMatchObject({ v: 1, role: "device", room: SOME_ROOM, limits: LIMITS });
    c.close();
  });

  it("rejects malformed room ids with 400, over HTTP and WebSocket", async () => {
    for (const room of ["abc", "!".repeat(22), `${SOME_ROOM}A`, SOME_ROOM.slice(1)]) {
      expect(await getJson(`/v1/rooms/${room}/host`)).toEqual({
        status: 400,
        type: "application/json",
        body: { error: "BAD_ROOM", message: "room id must be 22 base64url characters" },
      });
      await expect(RelayClient.connect(wsUrl(relay.url, room, "device"))).rejects.toThrow("HTTP 400");
    }
  });

  it("answers 426 to a room route without Upgrade: websocket", async () => {
    for (const role of ["host", "device"]) {
      expect(await getJson(`/v1/rooms/${SOME_ROOM}/${role}`)).toEqual({
        status: 426,
        type: "application/json",
        body: { error: "UPGRADE_REQUIRED", message: "this route only accepts WebSocket upgrades" },
      });
    }
  });

  it("answers 404 JSON to unknown routes, including debug when AIRLOCK_DEBUG is off", async () => {
    const notFound = { status: 404, type: "application/json", body: { error: "NOT_FOUND", message: "unknown route" } };
    for (const path of ["/v1/nope", "/v1/rooms", `/v1/rooms/${SOME_ROOM}`, `/v1/rooms/${SOME_ROOM}/admin`, `/v1/rooms/${SOME_ROOM}/debug`, "/nope.txt"]) {
      expect({ path, ...(await getJson(path)) }).toEqual({ path, ...notFound });
    }
    const post = await fetch(`${relay.url}/health`, { method: "POST" });
    expect(post.status).toBe(404);
  });

  it("serves the static web app from web/public at /", async () => {
    const file = readFileSync(new URL("../../web/public/index.html", import.meta.url), "utf8");
    for (const path of ["/", "/index.html"]) {
      const res = await fetch(relay.url + path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(await res.text()).toBe(file);
    }
  });
});

describe("authentication deadline and idle sockets (room alarm)", () => {
  it("closes a connection that does not authenticate in time with 4001, but not one that did", async () => {
    const host = await newHost(relay.url);
    const late = await pending(relay.url, host.room, "device");
    const lateHost = await pending(relay.url, host.room, "host");
    // AUTH_TIMEOUT_MS is 1 s; the alarm fires at the deadline. Allow a few seconds.
    await expectClosed(late, RelayClose.AUTH_TIMEOUT, "authentication deadline passed", 6000);
    await expectClosed(lateHost, RelayClose.AUTH_TIMEOUT, "authentication deadline passed", 6000);
    expect(host.client.isOpen).toBe(true);
    // The authenticated host still works.
    expect((await hostCommand(host.client, { op: "device.kick", slot: 7 })).ok).toBe(true);
    closeAll(host.client);
  });

  it("closes a silent socket with 4010 while pings and frames keep others alive", async () => {
    const silent = await newHost(relay.url);
    const pinging = await newHost(relay.url);
    const talking = await newHost(relay.url);
    const device = await pairDevice(relay.url, talking);
    let counter = 0;
    const keepAlive = setInterval(() => {
      if (pinging.client.isOpen) pinging.client.ping();
      if (device.client.isOpen) device.client.send(e2e(0, counter++, [1]));
      if (talking.client.isOpen) talking.client.ping();
    }, 700);
    try {
      // IDLE_TIMEOUT_MS is 5 s; the alarm checks every ~1.7 s.
      await expectClosed(silent.client, RelayClose.IDLE, "idle: no frame or ping in time", 12_000);
      await sleep(1500);
      const why = async (c: { isOpen: boolean; closed: Promise<unknown> }) => (c.isOpen ? "open" : JSON.stringify(await c.closed));
      expect(await why(pinging.client)).toBe("open");
      expect(await why(device.client)).toBe("open");
      expect(await why(talking.client)).toBe("open");
      const pongs = pinging.client.texts();
      expect(pongs.length).toBeGreaterThan(3);
      expect(new Set(pongs)).toEqual(new Set(["pong"]));
    } finally {
      clearInterval(keepAlive);
      closeAll(pinging.client, talking.client, device.client);
    }
  });
});

describe("frame size limit", () => {
  it("forwards a frame of exactly MAX_FRAME_BYTES and closes a device that sends one byte more with 4006", async () => {
    const host = await newHost(relay.url);
    const device = await pairDevice(relay.url, host);
    const full = e2e(device.slot, 0, new Uint8Array(2048 - 20).fill(7));
    expect(full.length).toBe(2048);
    device.client.send(full);
    const got = await nextE2E(host.client);
    expect(got.bytes.length).toBe(2048);
    device.client.send(e2e(device.slot, 1, new Uint8Array(2049 - 20)));
    await expectClosed(device.client, RelayClose.FRAME_TOO_LARGE, "frame larger than 2048 bytes");
    expect(await host.client.nextControl(RelayFrame.PRESENCE)).toEqual({ device: "left", slot: device.slot });
    closeAll(host.client);
  });

  it("closes an oversize host frame and an oversize first frame with 4006", async () => {
    const host = await newHost(relay.url);
    const device = await pairDevice(relay.url, host);
    host.client.send(e2e(device.slot, 0, new Uint8Array(4000)));
    await expectClosed(host.client, RelayClose.FRAME_TOO_LARGE, "frame larger than 2048 bytes");
    // The device hears that the host left, and nothing of the oversize frame.
    expect(await device.client.nextControl(RelayFrame.PRESENCE)).toMatchObject({ host: "offline" });
    const p = await pending(relay.url, host.room, "device");
    p.send(new Uint8Array(100_000));
    await expectClosed(p, RelayClose.FRAME_TOO_LARGE, "frame larger than 2048 bytes");
    closeAll(device.client);
  });
});

describe("rate limit", () => {
  it("closes a device that exceeds the token bucket with 4008, after forwarding what the bucket allowed", async () => {
    const host = await newHost(relay.url);
    const device = await pairDevice(relay.url, host);
    for (let i = 0; i < 150; i++) device.client.send(e2e(0, i, [i & 0xff]));
    await expectClosed(device.client, RelayClose.RATE_LIMITED, "rate limit exceeded");
    const received: number[] = [];
    for (;;) {
      const f = await host.client.next();
      if (f[1] === RelayFrame.PRESENCE) break; // the device left
      received.push(Number(new DataView(f.buffer, f.byteOffset).getBigUint64(8)));
    }
    // Burst 40 (one token went to AUTH), plus whatever refilled meanwhile; in order, none skipped.
    expect(received.length).toBeGreaterThanOrEqual(39);
    expect(received.length).toBeLessThan(150);
    expect(received).toEqual(received.map((_, i) => i));
    closeAll(host.client);
  });

  it("closes a host that exceeds the token bucket with 4008", async () => {
    const host = await newHost(relay.url);
    const device = await pairDevice(relay.url, host);
    for (let i = 0; i < 150; i++) host.client.send(e2e(device.slot, i));
    await expectClosed(host.client, RelayClose.RATE_LIMITED, "rate limit exceeded");
    closeAll(device.client);
  });

  it("refills: a sender under the rate is never closed, though it sends more than the burst", async () => {
    const host = await newHost(relay.url);
    const device = await pairDevice(relay.url, host);
    let counter = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) device.client.send(e2e(0, counter++));
      for (let i = 0; i < 20; i++) expect((await nextE2E(host.client)).header.counter).toBe(BigInt(counter - 20 + i));
      await sleep(1200);
    }
    expect(counter).toBeGreaterThan(LIMITS.rateLimit.burst);
    await expectQuiet(device.client, 0);
    closeAll(host.client, device.client);
  });
});

describe("MAX_DEVICES", () => {
  it("refuses a device beyond the limit with 4009 and admits one again after a device leaves", async () => {
    const host = await newHost(relay.url);
    const a = await pairDevice(relay.url, host);
    const b = await pairDevice(relay.url, host);
    const ticket = await addTicket(host.client);
    const c = await pending(relay.url, host.room, "device");
    c.send(await authFrame(c, await nobleBackend.generateSigner(), SignaturePurpose.RELAY_DEVICE_AUTH, { ticket }));
    await expectClosed(c, RelayClose.ROOM_FULL, "too many devices");
    await expectQuiet(host.client);
    a.client.close();
    expect(await host.client.nextControl(RelayFrame.PRESENCE)).toEqual({ device: "left", slot: a.slot });
    const d = await pairDevice(relay.url, host);
    expect(d.slot).not.toBe(a.slot);
    expect(d.slot).not.toBe(b.slot);
    closeAll(host.client, b.client, d.client);
  });

  it("admits exactly MAX_DEVICES of many devices authenticating at once, with distinct slots", async () => {
    const host = await newHost(relay.url);
    const keys = await Promise.all(Array.from({ length: 6 }, () => nobleBackend.generateSigner()));
    expect(
      (
        await publishAllowlist(
          host.client,
          host.key,
          1,
          keys.map((k) => k.publicKey),
        )
      ).ok,
    ).toBe(true);
    const clients = await Promise.all(keys.map(() => pending(relay.url, host.room, "device")));
    const auths = await Promise.all(clients.map((c, i) => authFrame(c, keys[i]!, SignaturePurpose.RELAY_DEVICE_AUTH)));
    clients.forEach((c, i) => c.send(auths[i]!));
    const outcomes = await Promise.all(
      clients.map((c) =>
        c.nextControl(RelayFrame.WELCOME).then(
          (w) => ({ slot: (w as { slot: number }).slot }),
          async () => ({ closed: await closeOf(c) }),
        ),
      ),
    );
    const admitted = outcomes.flatMap((o) => ("slot" in o ? [o.slot] : []));
    const refused = outcomes.flatMap((o) => ("closed" in o ? [o.closed] : []));
    expect(admitted).toHaveLength(2);
    expect(new Set(admitted).size).toBe(2);
    expect(refused).toEqual(Array(4).fill({ code: RelayClose.ROOM_FULL, reason: "too many devices" }));
    closeAll(host.client, ...clients);
  });

  it("a device admitted by the allowlist also counts", async () => {
    const host = await newHost(relay.url);
    const key = await nobleBackend.generateSigner();
    expect((await publishAllowlist(host.client, host.key, 1, [key.publicKey])).ok).toBe(true);
    const a = await allowlistedDevice(relay.url, host, key);
    const b = await allowlistedDevice(relay.url, host, key); // a second connection of the same device
    expect(b.slot).not.toBe(a.slot);
    const c = await pending(relay.url, host.room, "device");
    c.send(await authFrame(c, key, SignaturePurpose.RELAY_DEVICE_AUTH));
    await expectClosed(c, RelayClose.ROOM_FULL, "too many devices");
    closeAll(host.client, a.client, b.client);
  });
});

describe("MAX_PENDING_TICKETS", () => {
  it("refuses a ticket beyond the limit until one is redeemed or expires", async () => {
    const host = await newHost(relay.url);
    const hash = () => toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
    const first = await addTicket(host.client);
    expect(await hostCommand(host.client, { op: "ticket.add", hash: hash(), expiresAt: Date.now() + 1500 })).toMatchObject({ ok: true });
    const refused = await hostCommand(host.client, { op: "ticket.add", hash: hash(), expiresAt: Date.now() + 60_000 });
    expect(refused).toEqual({ id: refused.id, ok: false, error: "too many pending tickets" });
    // Redeeming one frees its place.
    const device = await connectDevice(relay.url, host.room, await nobleBackend.generateSigner(), first);
    expect(device.welcome).toMatchObject({ role: "device" });
    await host.client.nextControl(RelayFrame.PRESENCE);
    expect(await hostCommand(host.client, { op: "ticket.add", hash: hash(), expiresAt: Date.now() + 60_000 })).toMatchObject({ ok: true });
    expect(await hostCommand(host.client, { op: "ticket.add", hash: hash(), expiresAt: Date.now() + 60_000 })).toMatchObject({
      ok: false,
      error: "too many pending tickets",
    });
    // An expired ticket frees its place too.
    await sleep(2000);
    expect(await hostCommand(host.client, { op: "ticket.add", hash: hash(), expiresAt: Date.now() + 60_000 })).toMatchObject({ ok: true });
    closeAll(host.client, device.client);
  });
});

describe("malformed frames on an authenticated connection", () => {
  it("closes with 4005 and the header error", async () => {
    const host = await newHost(relay.url);
    const bad = e2e(1, 0, [1, 2]);
    bad[0] = 2;
    host.client.send(bad);
    await expectClosed(host.client, RelayClose.FRAME_INVALID, new AirlockProtocolError("FRAME_MALFORMED", "unknown version 2").message);
    const again = await newHost(relay.url);
    again.client.send(encodeControl(RelayFrame.WELCOME, { role: "host" }));
    await expectClosed(again.client, RelayClose.FRAME_INVALID, "frame type 33 not allowed from a host");
  });
});
