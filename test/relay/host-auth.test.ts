// Host admission: challenge signatures, room ownership, replays, and what an
// attacker without the host key can (not) do to a connected host.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AirlockProtocolError,
  encodeControl,
  fromBase64Url,
  nobleBackend,
  relayAuthMessage,
  RelayClose,
  RelayFrame,
  roomIdFor,
  secureRandom,
  SignaturePurpose,
  signWithPurpose,
  toBase64Url,
} from "../../protocol/src/index.ts";
import { debugRoom, publishAllowlist, RelayClient, startRelay, wsUrl, type RelayServer } from "./harness.ts";
import {
  allowlistedDevice,
  authFrame,
  closeAll,
  e2e,
  expectClosed,
  expectPong,
  expectQuiet,
  newHost,
  nextE2E,
  pairDevice,
  pending,
  reconnectHost,
  type Device,
  type Host,
} from "./fixtures.ts";

let relay: RelayServer;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  await relay?.dispose();
});

const DEFAULT_LIMITS = {
  maxFrameBytes: 1048576,
  maxDevices: 16,
  maxPendingTickets: 8,
  authTimeoutMs: 10000,
  idleTimeoutMs: 90000,
  rateLimit: { framesPerSecond: 4000, burst: 8000 },
};

const malformed = (detail: string) => new AirlockProtocolError("FRAME_MALFORMED", detail).message;

/** Checks that host and device still forward both ways, continuing their counters. */
async function stillForwards(host: Host, device: Device, counters: { up: number; down: number }, tag: number): Promise<void> {
  device.client.send(e2e(0, counters.up++, [tag, 1]));
  const up = await nextE2E(host.client);
  expect(up.header.slot).toBe(device.slot);
  expect(up.body).toEqual([tag, 1]);
  host.client.send(e2e(device.slot, counters.down++, [tag, 2]));
  expect((await nextE2E(device.client)).body).toEqual([tag, 2]);
}

describe("host authentication", () => {
  it("admits a host that signs the challenge for its own room", async () => {
    const key = await nobleBackend.generateSigner();
    const room = roomIdFor(key.publicKey);
    const before = Date.now();
    const c = await RelayClient.connect(wsUrl(relay.url, room, "host"));
    expect(c.challenge).toEqual({ v: 1, role: "host", room, challenge: expect.any(String), time: expect.any(Number), limits: DEFAULT_LIMITS });
    expect(fromBase64Url(c.challenge!.challenge)).toHaveLength(32);
    expect(Math.abs(c.challenge!.time - before)).toBeLessThan(60_000);
    c.send(await authFrame(c, key, SignaturePurpose.RELAY_HOST_AUTH));
    expect(await c.nextControl(RelayFrame.WELCOME)).toEqual({ role: "host", devices: [], allowlistVersion: 0 });
    const d = await debugRoom(relay.url, room);
    expect(d.sockets).toEqual([{ kind: "host", counters: {} }]);
    c.close();
  });

  it("every connection gets a fresh challenge", async () => {
    const room = roomIdFor((await nobleBackend.generateSigner()).publicKey);
    const a = await pending(relay.url, room, "host");
    const b = await pending(relay.url, room, "host");
    expect(a.challenge!.challenge).not.toBe(b.challenge!.challenge);
    closeAll(a, b);
  });

  it("closes 4002 on a bad signature", async () => {
    const key = await nobleBackend.generateSigner();
    const room = roomIdFor(key.publicKey);
    // Signed by the right key over the wrong bytes.
    const c1 = await pending(relay.url, room, "host");
    const wrong = await signWithPurpose(key, SignaturePurpose.RELAY_HOST_AUTH, relayAuthMessage(fromBase64Url(room)!, secureRandom(32)));
    c1.send(encodeControl(RelayFrame.AUTH, { key: toBase64Url(key.publicKey), sig: toBase64Url(wrong) }));
    await expectClosed(c1, RelayClose.AUTH_FAILED, "bad signature");
    // Right bytes, wrong purpose (a device-auth signature is not a host-auth one).
    const c2 = await pending(relay.url, room, "host");
    c2.send(await authFrame(c2, key, SignaturePurpose.RELAY_DEVICE_AUTH));
    await expectClosed(c2, RelayClose.AUTH_FAILED, "bad signature");
    // A flipped bit in a good signature.
    const c3 = await pending(relay.url, room, "host");
    const good = await signWithPurpose(key, SignaturePurpose.RELAY_HOST_AUTH, relayAuthMessage(fromBase64Url(room)!, fromBase64Url(c3.challenge!.challenge)!));
    good[10]! ^= 0x01;
    c3.send(encodeControl(RelayFrame.AUTH, { key: toBase64Url(key.publicKey), sig: toBase64Url(good) }));
    await expectClosed(c3, RelayClose.AUTH_FAILED, "bad signature");
    expect((await debugRoom(relay.url, room)).sockets).toEqual([]);
  });

  it("closes 4002 when the key does not own the room, even with a valid signature", async () => {
    const victim = await newHost(relay.url);
    const attacker = await nobleBackend.generateSigner();
    const c = await pending(relay.url, victim.room, "host");
    c.send(await authFrame(c, attacker, SignaturePurpose.RELAY_HOST_AUTH));
    await expectClosed(c, RelayClose.AUTH_FAILED, "key does not own this room");
    // Naming the victim's key with the attacker's signature fails on the signature.
    const c2 = await pending(relay.url, victim.room, "host");
    c2.send(await authFrame(c2, attacker, SignaturePurpose.RELAY_HOST_AUTH, { key: victim.key.publicKey }));
    await expectClosed(c2, RelayClose.AUTH_FAILED, "bad signature");
    await expectQuiet(victim.client);
    closeAll(victim.client);
  });

  it("closes 4002 on a replayed challenge answer", async () => {
    const key = await nobleBackend.generateSigner();
    const room = roomIdFor(key.publicKey);
    const first = await pending(relay.url, room, "host");
    const answer = await authFrame(first, key, SignaturePurpose.RELAY_HOST_AUTH);
    first.send(answer);
    await first.nextControl(RelayFrame.WELCOME);
    // Someone who recorded the answer presents it on a new connection (challenge B).
    const replay = await pending(relay.url, room, "host");
    replay.send(answer);
    await expectClosed(replay, RelayClose.AUTH_FAILED, "bad signature");
    // The original host was not replaced.
    await expectQuiet(first);
    expect((await debugRoom(relay.url, room)).sockets).toEqual([{ kind: "host", counters: {} }]);
    // Presenting it again on the already authenticated socket is a misdirected frame.
    first.send(answer);
    await expectClosed(first, RelayClose.FRAME_INVALID, "frame type 48 not allowed from a host");
  });

  it("closes 4002 when the first frame is not AUTH", async () => {
    const room = roomIdFor((await nobleBackend.generateSigner()).publicKey);
    const cases = [
      e2e(0, 0, [1]),
      e2e(1, 0, [], 0x01),
      encodeControl(RelayFrame.COMMAND, { id: "x", op: "device.kick", slot: 1 }),
      encodeControl(RelayFrame.WELCOME, {}),
    ];
    for (const frame of cases) {
      for (const role of ["host", "device"] as const) {
        const c = await pending(relay.url, room, role);
        c.send(frame);
        await expectClosed(c, RelayClose.AUTH_FAILED, "authenticate first");
      }
    }
  });

  it("closes 4002 on malformed AUTH bodies and a host that presents a ticket", async () => {
    const key = await nobleBackend.generateSigner();
    const room = roomIdFor(key.publicKey);
    const bodies: Array<[Uint8Array, string | RegExp]> = [
      [encodeControl(RelayFrame.AUTH, "hello"), malformed("control body: (root) expected an object")],
      [encodeControl(RelayFrame.AUTH, { key: toBase64Url(key.publicKey) }), /^a frame is malformed \(control body: sig /],
      [encodeControl(RelayFrame.AUTH, { key: "AAAA", sig: toBase64Url(new Uint8Array(64)) }), malformed("control body: key must be 32 bytes of base64url")],
      [
        encodeControl(RelayFrame.AUTH, { key: toBase64Url(key.publicKey), sig: toBase64Url(new Uint8Array(64)), extra: 1 }),
        /^a frame is malformed \(control body: /,
      ],
      [new Uint8Array([1, RelayFrame.AUTH, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0xff, 0xfe]), malformed("control body is not UTF-8 JSON")],
    ];
    for (const [frame, reason] of bodies) {
      const c = await pending(relay.url, room, "host");
      c.send(frame);
      await expectClosed(c, RelayClose.AUTH_FAILED, reason);
    }
    const c = await pending(relay.url, room, "host");
    c.send(await authFrame(c, key, SignaturePurpose.RELAY_HOST_AUTH, { ticket: secureRandom(32) }));
    await expectClosed(c, RelayClose.AUTH_FAILED, "hosts do not use tickets");
  });

  it("closes 4005 on a text message, before and after authentication; ping is answered pong", async () => {
    const host = await newHost(relay.url);
    await expectPong(host.client);
    host.client.send("hello");
    await expectClosed(host.client, RelayClose.FRAME_INVALID, 'text messages are not allowed (send "ping" to keep alive)');
    const p = await pending(relay.url, host.room, "device");
    await expectPong(p);
    p.send("PING");
    await expectClosed(p, RelayClose.FRAME_INVALID, 'text messages are not allowed (send "ping" to keep alive)');
  });

  it("closes 4005 on a malformed header before authentication", async () => {
    const room = roomIdFor((await nobleBackend.generateSigner()).publicKey);
    const cases: Array<[Uint8Array, string]> = [
      [new Uint8Array(5), malformed("shorter than the header")],
      [
        (() => {
          const f = e2e(0, 0, [1]);
          f[0] = 9;
          return f;
        })(),
        malformed("unknown version 9"),
      ],
      [
        (() => {
          const f = e2e(0, 0, [1]);
          f[1] = 0x10;
          return f;
        })(),
        malformed("unknown frame type 16"),
      ],
      [
        (() => {
          const f = e2e(0, 0, [1]);
          f[19] = 2;
          return f;
        })(),
        malformed("length field does not match"),
      ],
      [
        (() => {
          const f = e2e(0, 0, [1], 0x01);
          f[7] = 1;
          return f;
        })(),
        malformed("non-data frame with an epoch"),
      ],
    ];
    for (const [frame, reason] of cases) {
      const c = await pending(relay.url, room, "host");
      c.send(frame);
      await expectClosed(c, RelayClose.FRAME_INVALID, reason);
    }
  });
});

describe("an attacker cannot disturb the connected host", () => {
  it("bad authentications, garbage and a flood of pending connections leave host and device untouched", async () => {
    const host = await newHost(relay.url);
    const device = await pairDevice(relay.url, host);
    const counters = { up: 0, down: 0 };
    await stillForwards(host, device, counters, 1);
    const attacker = await nobleBackend.generateSigner();

    // Bad authentications on the host route: wrong key, wrong signature, wrong purpose.
    for (const purpose of [SignaturePurpose.RELAY_HOST_AUTH, SignaturePurpose.RELAY_DEVICE_AUTH]) {
      const c = await pending(relay.url, host.room, "host");
      c.send(await authFrame(c, attacker, purpose, { key: host.key.publicKey }));
      await expectClosed(c, RelayClose.AUTH_FAILED, "bad signature");
      const c2 = await pending(relay.url, host.room, "host");
      c2.send(await authFrame(c2, attacker, purpose));
      await expectClosed(c2, RelayClose.AUTH_FAILED, "key does not own this room");
    }
    // Devices that are not allowed, and a made-up ticket.
    const d1 = await pending(relay.url, host.room, "device");
    d1.send(await authFrame(d1, attacker, SignaturePurpose.RELAY_DEVICE_AUTH));
    await expectClosed(d1, RelayClose.AUTH_FAILED, "device not allowed by the host");
    const d2 = await pending(relay.url, host.room, "device");
    d2.send(await authFrame(d2, attacker, SignaturePurpose.RELAY_DEVICE_AUTH, { ticket: secureRandom(32) }));
    await expectClosed(d2, RelayClose.AUTH_FAILED, "pairing ticket unknown, used or expired");
    // Garbage frames addressed at the host's slot space, sent before authenticating.
    for (const frame of [e2e(device.slot, 0, [9]), e2e(device.slot, counters.down, [9]), secureRandom(64)]) {
      const c = await pending(relay.url, host.room, "host");
      c.send(frame);
      await closeOfAny(c);
    }
    // A flood of pending connections from one address: each route keeps that
    // address's newest (2 on the host route, up to 8 on the device route).
    const flood: RelayClient[] = [];
    for (let i = 0; i < 12; i++) flood.push(await pending(relay.url, host.room, i % 2 ? "host" : "device"));
    const hostRoute = flood.filter((_, i) => i % 2 === 1);
    for (const c of hostRoute.slice(0, 4)) await expectClosed(c, RelayClose.ROOM_FULL, "too many unauthenticated connections");
    for (const c of [...hostRoute.slice(4), ...flood.filter((_, i) => i % 2 === 0)]) expect(c.isOpen).toBe(true);

    // The host heard nothing of it, and both still forward with their counters.
    await expectQuiet(host.client);
    await expectQuiet(device.client, 0);
    await stillForwards(host, device, counters, 2);
    const sockets = (await debugRoom(relay.url, host.room)).sockets;
    expect(sockets.filter((s) => (s as { kind: string }).kind !== "pending")).toEqual([
      { kind: "host", counters: { [device.slot]: String(counters.down) } },
      { kind: "device", slot: device.slot, via: "ticket", next: String(counters.up) },
    ]);
    expect(sockets.filter((s) => (s as { kind: string }).kind === "pending")).toHaveLength(8);
    closeAll(host.client, device.client, ...flood);
  });

  it("the real host can still authenticate during a flood of pending connections", async () => {
    const host = await newHost(relay.url);
    const flood: RelayClient[] = [];
    for (let i = 0; i < 10; i++) flood.push(await pending(relay.url, host.room, "host"));
    const again = await reconnectHost(relay.url, host);
    expect(again.welcome).toEqual({ role: "host", devices: [], allowlistVersion: 0 });
    await expectClosed(host.client, RelayClose.REPLACED, "another host connection authenticated");
    closeAll(again.client, ...flood);
  });

  it("refuses new device connections with 429 after 30 failed authentications in a minute, never the host", async () => {
    const host = await newHost(relay.url);
    const device = await pairDevice(relay.url, host);
    const counters = { up: 0, down: 0 };
    const attacker = await nobleBackend.generateSigner();
    // Failed host logins do not count toward the device lockout…
    for (let i = 0; i < 30; i++) {
      const c = await pending(relay.url, host.room, "host");
      c.send(await authFrame(c, attacker, SignaturePurpose.RELAY_HOST_AUTH));
      await expectClosed(c, RelayClose.AUTH_FAILED);
    }
    const stillOpen = await RelayClient.connect(wsUrl(relay.url, host.room, "device"));
    stillOpen.close();
    // …failed device logins do.
    for (let i = 0; i < 30; i++) {
      const c = await pending(relay.url, host.room, "device");
      c.send(await authFrame(c, attacker, SignaturePurpose.RELAY_DEVICE_AUTH));
      await expectClosed(c, RelayClose.AUTH_FAILED);
    }
    await expect(RelayClient.connect(wsUrl(relay.url, host.room, "device"))).rejects.toThrow("HTTP 429");
    // The host route stays open: an attacker failing logins cannot lock the host out.
    const hostRoute = await RelayClient.connect(wsUrl(relay.url, host.room, "host"));
    expect(hostRoute.challenge?.role).toBe("host");
    // Other rooms are not affected.
    const other = await newHost(relay.url);
    await stillForwards(host, device, counters, 3);
    await expectQuiet(host.client);
    closeAll(host.client, device.client, other.client, hostRoute);
  });
});

describe("host replacement", () => {
  it("a newly authenticated host replaces the old one: old host 4003, devices 4011", async () => {
    const host = await newHost(relay.url);
    const key = await nobleBackend.generateSigner();
    expect((await publishAllowlist(host.client, host.key, 3, [key.publicKey])).ok).toBe(true);
    const a = await pairDevice(relay.url, host);
    const b = await allowlistedDevice(relay.url, host, key);
    host.client.send(e2e(a.slot, 0, [1]));
    expect((await nextE2E(a.client)).body).toEqual([1]);

    const next = await reconnectHost(relay.url, host);
    expect(next.welcome).toEqual({ role: "host", devices: [], allowlistVersion: 3 });
    await expectClosed(host.client, RelayClose.REPLACED, "another host connection authenticated");
    await expectClosed(a.client, RelayClose.HOST_RESTARTED, "host reconnected; reconnect");
    await expectClosed(b.client, RelayClose.HOST_RESTARTED, "host reconnected; reconnect");
    // The new host has a clean room: nothing left over, fresh counters for newcomers.
    await expectQuiet(next.client);
    expect((await debugRoom(relay.url, host.room)).sockets).toEqual([{ kind: "host", counters: {} }]);
    const b2 = await allowlistedDevice(relay.url, next, key);
    expect(b2.slot).not.toBe(b.slot);
    expect(b2.welcome).toEqual({ role: "device", slot: b2.slot, host: { online: true } });
    await stillForwards(next, b2, { up: 0, down: 0 }, 4);
    closeAll(next.client, b2.client);
  });
});

/** Waits for any close (garbage may fail in different ways). */
async function closeOfAny(c: RelayClient): Promise<void> {
  const closed = await Promise.race([c.closed, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
  expect(closed).not.toBeNull();
  expect([RelayClose.AUTH_FAILED, RelayClose.FRAME_INVALID]).toContain(closed!.code);
}
