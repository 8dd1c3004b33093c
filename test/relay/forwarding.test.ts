// Forwarding: slot stamping, routing by slot, edge counters on both sides,
// departed slots, an absent host, keepalives.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FrameType, RelayClose, RelayFrame, secureRandom } from "../../protocol/src/index.ts";
import { debugRoom, startRelay, type RelayServer } from "./harness.ts";
import { closeAll, e2e, expectClosed, expectPong, expectQuiet, newHost, nextE2E, pairDevice, reconnectHost, sleep } from "./fixtures.ts";

let relay: RelayServer;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  await relay?.dispose();
});

describe("slot stamping and routing", () => {
  it("stamps device frames with the sender's own slot, whatever slot it wrote", async () => {
    const host = await newHost(relay.url);
    const a = await pairDevice(relay.url, host);
    const b = await pairDevice(relay.url, host);
    // a claims to be b, b claims to be a, then slot 0 and 0xffff.
    a.client.send(e2e(b.slot, 0, [0xa0]));
    b.client.send(e2e(a.slot, 0, [0xb0]));
    const seen = [await nextE2E(host.client), await nextE2E(host.client)].map((f) => [f.header.slot, f.body[0]]);
    expect(seen.sort()).toEqual(
      [
        [a.slot, 0xa0],
        [b.slot, 0xb0],
      ].sort(),
    );
    a.client.send(e2e(0, 1, [0xa1]));
    expect(await nextE2E(host.client)).toMatchObject({ header: { slot: a.slot, counter: 1n }, body: [0xa1] });
    a.client.send(e2e(0xffff, 2, [0xa2]));
    expect(await nextE2E(host.client)).toMatchObject({ header: { slot: a.slot, counter: 2n }, body: [0xa2] });
    closeAll(host.client, a.client, b.client);
  });

  it("forwards every end-to-end type byte for byte, changing only the slot", async () => {
    const host = await newHost(relay.url);
    const d = await pairDevice(relay.url, host);
    const frames = [e2e(77, 0, secureRandom(100), FrameType.HANDSHAKE), e2e(77, 1, secureRandom(1000), FrameType.DATA), e2e(77, 2, [0x24], FrameType.ABORT)];
    frames[1]![4] = 0xde; // a non-trivial epoch on the DATA frame
    for (const f of frames) {
      d.client.send(f);
      const got = (await nextE2E(host.client)).bytes;
      const expected = Uint8Array.from(f);
      new DataView(expected.buffer).setUint16(2, d.slot);
      expect(Buffer.from(got).equals(Buffer.from(expected))).toBe(true);
    }
    for (const [i, f] of frames.entries()) {
      const down = Uint8Array.from(f);
      new DataView(down.buffer).setUint16(2, d.slot);
      host.client.send(down);
      expect(Buffer.from((await nextE2E(d.client)).bytes).equals(Buffer.from(down)), `frame ${i}`).toBe(true);
    }
    closeAll(host.client, d.client);
  });

  it("routes host frames only to the addressed slot", async () => {
    const host = await newHost(relay.url);
    const a = await pairDevice(relay.url, host);
    const b = await pairDevice(relay.url, host);
    // Frames for a first, then one for b: b's first message must be its own.
    host.client.send(e2e(a.slot, 0, [1]));
    host.client.send(e2e(a.slot, 1, [2]));
    host.client.send(e2e(b.slot, 0, [3]));
    expect((await nextE2E(b.client)).body).toEqual([3]);
    expect((await nextE2E(a.client)).body).toEqual([1]);
    expect((await nextE2E(a.client)).body).toEqual([2]);
    host.client.send(e2e(b.slot, 1, [4]));
    expect((await nextE2E(b.client)).body).toEqual([4]);
    await expectQuiet(a.client);
    await expectQuiet(b.client, 0);
    closeAll(host.client, a.client, b.client);
  });
});

describe("edge counters", () => {
  it("closes a device that replays a counter with 4007", async () => {
    const host = await newHost(relay.url);
    const d = await pairDevice(relay.url, host);
    d.client.send(e2e(0, 0));
    d.client.send(e2e(0, 1));
    d.client.send(e2e(0, 1));
    await expectClosed(d.client, RelayClose.COUNTER_VIOLATION, "expected counter 2, got 1");
    expect((await nextE2E(host.client)).header.counter).toBe(0n);
    expect((await nextE2E(host.client)).header.counter).toBe(1n);
    expect(await host.client.nextControl(RelayFrame.PRESENCE)).toEqual({ device: "left", slot: d.slot });
    expect(host.client.isOpen).toBe(true);
    closeAll(host.client);
  });

  it("closes a device that regresses, skips, or does not start at 0 with 4007", async () => {
    const host = await newHost(relay.url);
    const cases: Array<[bigint[], string]> = [
      [[0n, 1n, 2n, 0n], "expected counter 3, got 0"],
      [[0n, 2n], "expected counter 1, got 2"],
      [[1n], "expected counter 0, got 1"],
      [[0n, 0xffffffffffffffffn], "expected counter 1, got 18446744073709551615"],
      [[0n, 1n + 2n ** 32n], "expected counter 1, got 4294967297"],
    ];
    for (const [counters, reason] of cases) {
      const d = await pairDevice(relay.url, host);
      for (const c of counters) d.client.send(e2e(0, c));
      await expectClosed(d.client, RelayClose.COUNTER_VIOLATION, reason);
      for (let i = 0; i < counters.length - 1; i++) expect((await nextE2E(host.client)).header.counter).toBe(BigInt(i));
      expect(await host.client.nextControl(RelayFrame.PRESENCE)).toEqual({ device: "left", slot: d.slot });
    }
    closeAll(host.client);
  });

  it("counts counters per slot on the host side and closes the host with 4007 on a replay", async () => {
    const host = await newHost(relay.url);
    const a = await pairDevice(relay.url, host);
    const b = await pairDevice(relay.url, host);
    host.client.send(e2e(a.slot, 0, [1]));
    host.client.send(e2e(b.slot, 0, [2])); // b's counters are independent of a's
    host.client.send(e2e(a.slot, 1, [3]));
    host.client.send(e2e(a.slot, 1, [4])); // replay
    await expectClosed(host.client, RelayClose.COUNTER_VIOLATION, `slot ${a.slot}: expected counter 2, got 1`);
    expect((await nextE2E(a.client)).body).toEqual([1]);
    expect((await nextE2E(a.client)).body).toEqual([3]);
    expect((await nextE2E(b.client)).body).toEqual([2]);
    // The replay was not delivered; devices hear the host left.
    expect(await a.client.nextControl(RelayFrame.PRESENCE)).toMatchObject({ host: "offline" });
    expect(await b.client.nextControl(RelayFrame.PRESENCE)).toMatchObject({ host: "offline" });
    closeAll(a.client, b.client);
  });

  it("closes a host that regresses or skips with 4007", async () => {
    for (const [counters, reason] of [
      [[0n, 1n, 2n, 1n], "expected counter 3, got 1"],
      [[0n, 3n], "expected counter 1, got 3"],
      [[5n], "expected counter 0, got 5"],
    ] as Array<[bigint[], string]>) {
      const host = await newHost(relay.url);
      const d = await pairDevice(relay.url, host);
      for (const c of counters) host.client.send(e2e(d.slot, c));
      await expectClosed(host.client, RelayClose.COUNTER_VIOLATION, `slot ${d.slot}: ${reason}`);
      for (let i = 0; i < counters.length - 1; i++) expect((await nextE2E(d.client)).header.counter).toBe(BigInt(i));
      expect(await d.client.nextControl(RelayFrame.PRESENCE)).toMatchObject({ host: "offline" });
      closeAll(d.client);
    }
  });

  it("a new device connection starts at counter 0 in both directions, even for the same key", async () => {
    const host = await newHost(relay.url);
    const d1 = await pairDevice(relay.url, host);
    d1.client.send(e2e(0, 0));
    host.client.send(e2e(d1.slot, 0));
    await nextE2E(host.client);
    await nextE2E(d1.client);
    d1.client.close();
    await host.client.nextControl(RelayFrame.PRESENCE);
    const d2 = await pairDevice(relay.url, host, d1.key);
    expect(d2.slot).not.toBe(d1.slot);
    d2.client.send(e2e(0, 0, [5]));
    expect(await nextE2E(host.client)).toMatchObject({ header: { slot: d2.slot, counter: 0n }, body: [5] });
    host.client.send(e2e(d2.slot, 0, [6]));
    expect((await nextE2E(d2.client)).body).toEqual([6]);
    closeAll(host.client, d2.client);
  });
});

describe("departed devices and an absent host", () => {
  it("drops host frames for a departed slot without closing the host", async () => {
    const host = await newHost(relay.url);
    const gone = await pairDevice(relay.url, host);
    const stays = await pairDevice(relay.url, host);
    host.client.send(e2e(gone.slot, 0));
    await nextE2E(gone.client);
    gone.client.close();
    expect(await host.client.nextControl(RelayFrame.PRESENCE)).toEqual({ device: "left", slot: gone.slot });
    // Any counter for the departed slot (and for a slot never used) is dropped.
    for (const c of [1n, 0n, 99n]) host.client.send(e2e(gone.slot, c));
    host.client.send(e2e(4242, 7));
    host.client.send(e2e(0, 0));
    host.client.send(e2e(stays.slot, 0, [8]));
    expect((await nextE2E(stays.client)).body).toEqual([8]);
    await expectQuiet(host.client);
    await expectQuiet(stays.client, 0);
    // A newcomer never gets the departed slot (slots move forward).
    const newcomer = await pairDevice(relay.url, host);
    expect([gone.slot, stays.slot]).not.toContain(newcomer.slot);
    expect(newcomer.slot).toBeGreaterThan(stays.slot);
    closeAll(host.client, stays.client, newcomer.client);
  });

  it("drops device frames while the host is offline: no close, no buffering", async () => {
    const host = await newHost(relay.url);
    const d = await pairDevice(relay.url, host);
    d.client.send(e2e(0, 0, [1]));
    await nextE2E(host.client);
    host.client.close();
    expect(await d.client.nextControl(RelayFrame.PRESENCE)).toMatchObject({ host: "offline" });
    for (let i = 1; i <= 5; i++) d.client.send(e2e(0, i, [i]));
    await sleep(200);
    expect(d.client.isOpen).toBe(true);
    // The frames were counted, not buffered: the counter moved on, and a replay is still caught.
    expect((await debugRoom(relay.url, host.room)).sockets).toEqual([{ kind: "device", slot: d.slot, via: "ticket", next: "6" }]);
    d.client.send(e2e(0, 3));
    await expectClosed(d.client, RelayClose.COUNTER_VIOLATION, "expected counter 6, got 3");
    // A returning host receives nothing of them.
    const back = await reconnectHost(relay.url, host);
    await expectQuiet(back.client, 300);
    closeAll(back.client);
  });

  it("a returning host gets none of the frames sent while it was away", async () => {
    const host = await newHost(relay.url);
    const d = await pairDevice(relay.url, host);
    host.client.close();
    await d.client.nextControl(RelayFrame.PRESENCE);
    for (let i = 0; i < 3; i++) d.client.send(e2e(0, i, [i]));
    await sleep(100);
    const back = await reconnectHost(relay.url, host);
    await expectClosed(d.client, RelayClose.HOST_RESTARTED, "host reconnected; reconnect");
    await expectQuiet(back.client, 300);
    closeAll(back.client);
  });
});

describe("misdirected frame types and keepalive", () => {
  it("closes a device that sends a control frame with 4005", async () => {
    const host = await newHost(relay.url);
    for (const type of [RelayFrame.COMMAND, RelayFrame.AUTH, RelayFrame.WELCOME, 0x3f]) {
      const d = await pairDevice(relay.url, host);
      d.client.send(e2e(0, 0, [], type));
      await expectClosed(d.client, RelayClose.FRAME_INVALID, `frame type ${type} not allowed from a device`);
      await host.client.nextControl(RelayFrame.PRESENCE);
    }
    closeAll(host.client);
  });

  it("answers the text ping with pong on host and device sockets, without disturbing counters", async () => {
    const host = await newHost(relay.url);
    const d = await pairDevice(relay.url, host);
    d.client.send(e2e(0, 0));
    await expectPong(d.client);
    await expectPong(host.client);
    d.client.send(e2e(0, 1));
    expect((await nextE2E(host.client)).header.counter).toBe(0n);
    expect((await nextE2E(host.client)).header.counter).toBe(1n);
    closeAll(host.client, d.client);
  });
});
