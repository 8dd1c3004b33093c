// Real eviction: local workerd evicts an idle Durable Object (~10–20 s with
// no events) while its hibernatable WebSockets stay open. The debug route's
// instanceId changes when the object was rebuilt. Everything a socket needs
// must then come back from its attachment. Both tests idle at the same time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nobleBackend, RelayClose, RelayFrame, SignaturePurpose, type Ed25519Signer } from "../../protocol/src/index.ts";
import { debugRoom, publishAllowlist, type RelayClient, startRelay, type RelayServer } from "./harness.ts";
import {
  allowlistedDevice,
  authFrame,
  closeAll,
  e2e,
  expectClosed,
  expectQuiet,
  newHost,
  nextE2E,
  pairDevice,
  pending,
  reconnectHost,
  sleep,
} from "./fixtures.ts";

/** No frames, no debug calls: long enough for local workerd to evict the room. */
const IDLE_MS = 20_000;

let relay: RelayServer;
beforeAll(async () => {
  // A long auth deadline: no alarm may wake the room while it idles.
  relay = await startRelay({ vars: { AUTH_TIMEOUT_MS: "60000" } });
});
afterAll(async () => {
  await relay?.dispose();
});

type Socket = { kind: string; slot?: number };
const byKindAndSlot = (sockets: unknown[]) => [...(sockets as Socket[])].sort((a, b) => `${a.kind}${a.slot ?? ""}`.localeCompare(`${b.kind}${b.slot ?? ""}`));

/** A ws client that stops reading: it never sees (nor answers) the relay's close frame. */
function stopReading(client: RelayClient): void {
  (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
}

describe.concurrent("after eviction", () => {
  it("rebuilds state from attachments: sockets stay open, counters, routing and stamping continue exactly", async () => {
    const host = await newHost(relay.url);
    const kb = await nobleBackend.generateSigner();
    const kp = await nobleBackend.generateSigner();
    expect((await publishAllowlist(host.client, host.key, 1, [kb.publicKey, kp.publicKey])).ok).toBe(true);
    const a = await pairDevice(relay.url, host);
    const b = await allowlistedDevice(relay.url, host, kb);
    // Mid-session: a sent 0..2, b sent 0; the host sent a 0..1 and b 0..2.
    for (let i = 0; i < 3; i++) a.client.send(e2e(0, i, [0xa0 + i]));
    b.client.send(e2e(0, 0, [0xb0]));
    for (let i = 0; i < 4; i++) await nextE2E(host.client);
    for (let i = 0; i < 2; i++) host.client.send(e2e(a.slot, i, [i]));
    for (let i = 0; i < 3; i++) host.client.send(e2e(b.slot, i, [i]));
    for (let i = 0; i < 2; i++) await nextE2E(a.client);
    for (let i = 0; i < 3; i++) await nextE2E(b.client);
    // A device that connected but has not answered its challenge yet.
    const late = await pending(relay.url, host.room, "device");

    const before = await debugRoom(relay.url, host.room);
    const expected = byKindAndSlot([
      { kind: "host", counters: { [a.slot]: "2", [b.slot]: "3" } },
      { kind: "device", slot: a.slot, via: "ticket", next: "3" },
      { kind: "device", slot: b.slot, via: "allowlist", next: "1" },
      { kind: "pending", role: "device", addr: "127.0.0.1" },
    ]);
    expect(byKindAndSlot(before.sockets)).toEqual(expected);

    await sleep(IDLE_MS);

    const after = await debugRoom(relay.url, host.room);
    expect(after.instanceId, "the room was not evicted; the test proves nothing").not.toBe(before.instanceId);
    expect(byKindAndSlot(after.sockets)).toEqual(expected);
    for (const c of [host.client, a.client, b.client, late]) expect(c.isOpen).toBe(true);

    // Next expected counters are accepted, slots are stamped and routed as before.
    a.client.send(e2e(b.slot, 3, [0xa3])); // a pretends to be b
    expect(await nextE2E(host.client)).toMatchObject({ header: { slot: a.slot, counter: 3n }, body: [0xa3] });
    b.client.send(e2e(a.slot, 1, [0xb1]));
    expect(await nextE2E(host.client)).toMatchObject({ header: { slot: b.slot, counter: 1n }, body: [0xb1] });
    host.client.send(e2e(b.slot, 3, [0x13]));
    host.client.send(e2e(a.slot, 2, [0x12]));
    expect(await nextE2E(b.client)).toMatchObject({ header: { counter: 3n }, body: [0x13] });
    expect(await nextE2E(a.client)).toMatchObject({ header: { counter: 2n }, body: [0x12] });

    // The pending connection's challenge survived too.
    late.send(await authFrame(late, kp, SignaturePurpose.RELAY_DEVICE_AUTH));
    const welcome = await late.nextControl(RelayFrame.WELCOME);
    expect(welcome).toEqual({ role: "device", slot: expect.any(Number), host: { online: true } });
    const lateSlot = (welcome as { slot: number }).slot;
    expect([a.slot, b.slot]).not.toContain(lateSlot);
    expect(await host.client.nextControl(RelayFrame.PRESENCE)).toMatchObject({ device: "joined", slot: lateSlot, via: "allowlist" });

    // Replays of lower counters are still caught, on both sides.
    a.client.send(e2e(0, 1, [0xff]));
    await expectClosed(a.client, RelayClose.COUNTER_VIOLATION, "expected counter 4, got 1");
    expect(await host.client.nextControl(RelayFrame.PRESENCE)).toEqual({ device: "left", slot: a.slot });
    host.client.send(e2e(b.slot, 0, [0xff]));
    await expectClosed(host.client, RelayClose.COUNTER_VIOLATION, `slot ${b.slot}: expected counter 4, got 0`);
    expect(await b.client.nextControl(RelayFrame.PRESENCE)).toMatchObject({ host: "offline" });
    closeAll(b.client, late);
  });

  it("sockets the relay closed stay closed, even when their peer never completes the close handshake", async () => {
    const old = await newHost(relay.url);
    stopReading(old.client);
    // A new host connection replaces the old one (4003, which the old client never reads).
    const host = await reconnectHost(relay.url, old);
    const [kd, kz] = (await Promise.all([1, 2].map(() => nobleBackend.generateSigner()))) as [Ed25519Signer, Ed25519Signer];
    expect((await publishAllowlist(host.client, host.key, 1, [kd.publicKey, kz.publicKey])).ok).toBe(true);
    const d = await allowlistedDevice(relay.url, host, kd);
    const z = await allowlistedDevice(relay.url, host, kz);
    stopReading(z.client);
    // Revoke z (4004, which it never reads).
    expect((await publishAllowlist(host.client, host.key, 2, [kd.publicKey])).ok).toBe(true);
    const before = await debugRoom(relay.url, host.room);
    const expected = byKindAndSlot([
      { kind: "host", counters: {} },
      { kind: "device", slot: d.slot, via: "allowlist", next: "0" },
    ]);
    expect(byKindAndSlot(before.sockets)).toEqual(expected);

    await sleep(IDLE_MS);

    const after = await debugRoom(relay.url, host.room);
    expect(after.instanceId, "the room was not evicted; the test proves nothing").not.toBe(before.instanceId);
    // The replaced host and the revoked device did not come back.
    expect(byKindAndSlot(after.sockets)).toEqual(expected);
    // The revoked device's frames reach nobody; the real device's reach the current host.
    z.client.send(e2e(0, 0, [0xee]));
    d.client.send(e2e(0, 0, [0xd0]));
    expect(await nextE2E(host.client)).toMatchObject({ header: { slot: d.slot, counter: 0n }, body: [0xd0] });
    // The replaced host's frames reach nobody; the current host's reach the device.
    old.client.send(e2e(d.slot, 0, [0xee]));
    host.client.send(e2e(d.slot, 0, [0x10]));
    expect(await nextE2E(d.client)).toMatchObject({ header: { counter: 0n }, body: [0x10] });
    await expectQuiet(host.client);
    await expectQuiet(d.client, 0);
    closeAll(host.client, d.client);
    old.client.ws.terminate();
    z.client.ws.terminate();
  });
});
