// Device admission (one-time tickets, the signed allowlist), revocation,
// kicks and presence.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allowlistMessage,
  decodeRelayMessage,
  encodeControl,
  fromBase64Url,
  nobleBackend,
  RelayClose,
  RelayFrame,
  relayTicketHash,
  secureRandom,
  SignaturePurpose,
  signWithPurpose,
  toBase64Url,
  type Ed25519Signer,
} from "../../protocol/src/index.ts";
import { connectDevice, debugRoom, hostCommand, publishAllowlist, RelayClient, startRelay, type RelayServer } from "./harness.ts";
import {
  addTicket,
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
  type Host,
} from "./fixtures.ts";

let relay: RelayServer;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  await relay?.dispose();
});

/** Next message, decoded as a relay control message. */
async function nextControl(client: RelayClient) {
  return decodeRelayMessage(await client.next());
}

let ids = 0;
/** Sends a command without waiting, so the caller can check everything the host receives in order. */
function sendCommand(host: Host, command: Record<string, unknown>): string {
  const id = `d${++ids}`;
  host.client.send(encodeControl(RelayFrame.COMMAND, { id, ...command }));
  return id;
}

async function signedAllowlist(signer: Ed25519Signer, room: string, version: number, keys: Uint8Array[]) {
  const sig = await signWithPurpose(signer, SignaturePurpose.DEVICE_ALLOWLIST, allowlistMessage(fromBase64Url(room)!, version, keys));
  return { op: "allowlist.set", version, keys: keys.map(toBase64Url), sig: toBase64Url(sig) };
}

/** A device that tries to connect and must be refused with `code`/`reason`. */
async function refused(host: Host, signer: Ed25519Signer, code: number, reason: string, ticket?: Uint8Array): Promise<void> {
  const c = await pending(relay.url, host.room, "device");
  c.send(await authFrame(c, signer, SignaturePurpose.RELAY_DEVICE_AUTH, ticket ? { ticket } : {}));
  await expectClosed(c, code, reason);
}

describe("one-time pairing tickets", () => {
  it("a ticket admits one device once; a second use is refused with 4002", async () => {
    const host = await newHost(relay.url);
    const ticket = await addTicket(host.client);
    const key = await nobleBackend.generateSigner();
    const first = await connectDevice(relay.url, host.room, key, ticket);
    expect(first.welcome).toEqual({ role: "device", slot: 1, host: { online: true } });
    expect(await host.client.nextControl(RelayFrame.PRESENCE)).toEqual({ device: "joined", slot: 1, key: toBase64Url(key.publicKey), via: "ticket" });
    // The same ticket again, by another device or by the same one.
    await refused(host, await nobleBackend.generateSigner(), RelayClose.AUTH_FAILED, "pairing ticket unknown, used or expired", ticket);
    await refused(host, key, RelayClose.AUTH_FAILED, "pairing ticket unknown, used or expired", ticket);
    // A ticket never registered.
    await refused(host, key, RelayClose.AUTH_FAILED, "pairing ticket unknown, used or expired", secureRandom(32));
    // A ticket registered in another room does not open this one.
    const other = await newHost(relay.url);
    const foreign = await addTicket(other.client);
    await refused(host, key, RelayClose.AUTH_FAILED, "pairing ticket unknown, used or expired", foreign);
    await expectQuiet(host.client);
    expect(first.client.isOpen).toBe(true);
    closeAll(host.client, first.client, other.client);
  });

  it("a forged signature does not burn the ticket", async () => {
    const host = await newHost(relay.url);
    const ticket = await addTicket(host.client);
    const key = await nobleBackend.generateSigner();
    const c = await pending(relay.url, host.room, "device");
    c.send(await authFrame(c, await nobleBackend.generateSigner(), SignaturePurpose.RELAY_DEVICE_AUTH, { key: key.publicKey, ticket }));
    await expectClosed(c, RelayClose.AUTH_FAILED, "bad signature");
    const ok = await connectDevice(relay.url, host.room, key, ticket);
    expect(ok.welcome).toMatchObject({ role: "device" });
    closeAll(host.client, ok.client);
  });

  it("an expired ticket is refused with 4002", async () => {
    const host = await newHost(relay.url);
    const ticket = await addTicket(host.client, 800);
    await sleep(1500);
    await refused(host, await nobleBackend.generateSigner(), RelayClose.AUTH_FAILED, "pairing ticket unknown, used or expired", ticket);
    closeAll(host.client);
  });

  it("ticket.add refuses an expiry in the past or more than an hour ahead", async () => {
    const host = await newHost(relay.url);
    const hash = toBase64Url(relayTicketHash(secureRandom(32)));
    for (const expiresAt of [Date.now() - 1, 0, Date.now() + 61 * 60 * 1000]) {
      expect(await hostCommand(host.client, { op: "ticket.add", hash, expiresAt })).toMatchObject({ ok: false, error: "expiry out of range" });
    }
    expect(await hostCommand(host.client, { op: "ticket.add", hash, expiresAt: Date.now() + 59 * 60 * 1000 })).toMatchObject({ ok: true });
    closeAll(host.client);
  });
});

describe("the signed device allowlist", () => {
  it("admits listed devices and refuses others with 4002", async () => {
    const host = await newHost(relay.url);
    const [a, b, stranger] = (await Promise.all([1, 2, 3].map(() => nobleBackend.generateSigner()))) as [Ed25519Signer, Ed25519Signer, Ed25519Signer];
    // Before any allowlist, nobody is allowed.
    await refused(host, a, RelayClose.AUTH_FAILED, "device not allowed by the host");
    expect(await publishAllowlist(host.client, host.key, 1, [a.publicKey, b.publicKey])).toMatchObject({ ok: true });
    const da = await allowlistedDevice(relay.url, host, a);
    expect(da.welcome).toEqual({ role: "device", slot: da.slot, host: { online: true } });
    await refused(host, stranger, RelayClose.AUTH_FAILED, "device not allowed by the host");
    // A listed key with someone else's signature.
    const c = await pending(relay.url, host.room, "device");
    c.send(await authFrame(c, stranger, SignaturePurpose.RELAY_DEVICE_AUTH, { key: b.publicKey }));
    await expectClosed(c, RelayClose.AUTH_FAILED, "bad signature");
    // A listed key signing with the host purpose.
    const c2 = await pending(relay.url, host.room, "device");
    c2.send(await authFrame(c2, b, SignaturePurpose.RELAY_HOST_AUTH));
    await expectClosed(c2, RelayClose.AUTH_FAILED, "bad signature");
    await expectQuiet(host.client);
    closeAll(host.client, da.client);
  });

  it("refuses stale versions, bad signatures and duplicate keys, keeping the current list", async () => {
    const host = await newHost(relay.url);
    const [a, b] = (await Promise.all([1, 2].map(() => nobleBackend.generateSigner()))) as [Ed25519Signer, Ed25519Signer];
    const v1 = await signedAllowlist(host.key, host.room, 1, [a.publicKey]);
    expect(await hostCommand(host.client, v1)).toMatchObject({ ok: true });
    expect(await hostCommand(host.client, v1)).toMatchObject({ ok: false, error: "stale version (current 1)" });
    const attempts = [
      // Signed by another key.
      await signedAllowlist(await nobleBackend.generateSigner(), host.room, 2, [b.publicKey]),
      // Signed for another room.
      await signedAllowlist(host.key, (await newHost(relay.url)).room, 2, [b.publicKey]),
      // Signed for another version.
      { ...(await signedAllowlist(host.key, host.room, 2, [b.publicKey])), version: 3 },
      // Keys swapped after signing.
      { ...(await signedAllowlist(host.key, host.room, 2, [a.publicKey, b.publicKey])), keys: [b.publicKey, a.publicKey].map(toBase64Url) },
      // A key added after signing.
      { ...(await signedAllowlist(host.key, host.room, 2, [a.publicKey])), keys: [a.publicKey, b.publicKey].map(toBase64Url) },
    ];
    for (const attempt of attempts) expect(await hostCommand(host.client, attempt)).toMatchObject({ ok: false, error: "bad allowlist signature" });
    expect(await hostCommand(host.client, await signedAllowlist(host.key, host.room, 2, [b.publicKey, b.publicKey]))).toMatchObject({
      ok: false,
      error: "duplicate keys",
    });
    // Nothing of that took effect: a is still allowed, b is not, and the version is still 1.
    await refused(host, b, RelayClose.AUTH_FAILED, "device not allowed by the host");
    const da = await allowlistedDevice(relay.url, host, a);
    expect(await hostCommand(host.client, v1)).toMatchObject({ ok: false, error: "stale version (current 1)" });
    // A higher version, even with a gap, is accepted.
    expect(await publishAllowlist(host.client, host.key, 7, [a.publicKey, b.publicKey])).toMatchObject({ ok: true });
    const db = await allowlistedDevice(relay.url, host, b);
    closeAll(host.client, da.client, db.client);
  });

  it("answers an invalid command by its id with RESULT ok:false (NOTICE BAD_COMMAND without an id) and stays connected", async () => {
    const host = await newHost(relay.url);
    const tooMany = Array.from({ length: 65 }, () => toBase64Url(secureRandom(32))); // MAX_ALLOWLIST_KEYS is 64
    for (const body of [
      { id: "x", op: "allowlist.set", version: 0, keys: [], sig: toBase64Url(new Uint8Array(64)) },
      { id: "x", op: "allowlist.set", version: 2, keys: tooMany, sig: toBase64Url(new Uint8Array(64)) },
      { id: "x", op: "nope" },
      { op: "device.kick", slot: 1 },
      { id: "x", op: "device.kick", slot: 0 },
      [1, 2],
    ]) {
      host.client.send(encodeControl(RelayFrame.COMMAND, body));
      const answer = await nextControl(host.client);
      const message = expect.stringMatching(/^a frame is malformed \(control body: /);
      if (!Array.isArray(body) && "id" in body) {
        expect(answer.type).toBe(RelayFrame.RESULT);
        expect(answer.body).toEqual({ id: "x", ok: false, error: message });
      } else {
        expect(answer.type).toBe(RelayFrame.NOTICE);
        expect(answer.body).toMatchObject({ code: "BAD_COMMAND", message });
      }
    }
    expect(await hostCommand(host.client, { op: "device.kick", slot: 5 })).toMatchObject({ ok: true });
    closeAll(host.client);
  });
});

describe("revocation and kicks", () => {
  it("a new allowlist without a connected device closes it at once with 4004, and it cannot come back", async () => {
    const host = await newHost(relay.url);
    const [a, b, t] = (await Promise.all([1, 2, 3].map(() => nobleBackend.generateSigner()))) as [Ed25519Signer, Ed25519Signer, Ed25519Signer];
    expect(await publishAllowlist(host.client, host.key, 1, [a.publicKey, b.publicKey])).toMatchObject({ ok: true });
    const da = await allowlistedDevice(relay.url, host, a);
    const db = await allowlistedDevice(relay.url, host, b);
    const dt = await pairDevice(relay.url, host, t); // admitted by ticket, not on the list

    const id = sendCommand(host, await signedAllowlist(host.key, host.room, 2, [b.publicKey]));
    // The host hears that a left, then the result: the socket was closed before the command was answered.
    expect(await nextControl(host.client)).toEqual({ type: RelayFrame.PRESENCE, body: { device: "left", slot: da.slot } });
    expect(await nextControl(host.client)).toEqual({ type: RelayFrame.RESULT, body: { id, ok: true } });
    await expectClosed(da.client, RelayClose.REVOKED, "device revoked by the host");
    await refused(host, a, RelayClose.AUTH_FAILED, "device not allowed by the host");
    // The others are untouched (a ticket admission is not an allowlist admission).
    for (const d of [db, dt]) {
      d.client.send(e2e(0, 0, [d.slot]));
      expect((await nextE2E(host.client)).header.slot).toBe(d.slot);
    }
    expect((await debugRoom(relay.url, host.room)).sockets.map((s) => (s as { slot?: number }).slot)).toEqual([undefined, db.slot, dt.slot]);
    closeAll(host.client, db.client, dt.client);
  });

  it("device.kick by key closes every connection of that key with 4004", async () => {
    const host = await newHost(relay.url);
    const [a, b] = (await Promise.all([1, 2].map(() => nobleBackend.generateSigner()))) as [Ed25519Signer, Ed25519Signer];
    expect(await publishAllowlist(host.client, host.key, 1, [a.publicKey, b.publicKey])).toMatchObject({ ok: true });
    const a1 = await allowlistedDevice(relay.url, host, a);
    const a2 = await pairDevice(relay.url, host, a); // the same key, admitted by a ticket
    const b1 = await allowlistedDevice(relay.url, host, b);
    const id = sendCommand(host, { op: "device.kick", key: toBase64Url(a.publicKey) });
    expect(await nextControl(host.client)).toEqual({ type: RelayFrame.PRESENCE, body: { device: "left", slot: a1.slot } });
    expect(await nextControl(host.client)).toEqual({ type: RelayFrame.PRESENCE, body: { device: "left", slot: a2.slot } });
    expect(await nextControl(host.client)).toEqual({ type: RelayFrame.RESULT, body: { id, ok: true } });
    await expectClosed(a1.client, RelayClose.REVOKED, "device revoked by the host");
    await expectClosed(a2.client, RelayClose.REVOKED, "device revoked by the host");
    await expectQuiet(b1.client, 0);
    closeAll(host.client, b1.client);
  });

  it("device.kick by slot closes that slot only with 4012", async () => {
    const host = await newHost(relay.url);
    const key = await nobleBackend.generateSigner();
    const d1 = await pairDevice(relay.url, host, key);
    const d2 = await pairDevice(relay.url, host, key);
    const id = sendCommand(host, { op: "device.kick", slot: d1.slot });
    expect(await nextControl(host.client)).toEqual({ type: RelayFrame.PRESENCE, body: { device: "left", slot: d1.slot } });
    expect(await nextControl(host.client)).toEqual({ type: RelayFrame.RESULT, body: { id, ok: true } });
    await expectClosed(d1.client, RelayClose.KICKED, "disconnected by the host");
    await expectQuiet(d2.client);
    // Kicking a slot nobody holds is a no-op; naming nothing is an error.
    expect(await hostCommand(host.client, { op: "device.kick", slot: 999 })).toMatchObject({ ok: true });
    expect(await hostCommand(host.client, { op: "device.kick" })).toMatchObject({ ok: false, error: "name a key or a slot" });
    await expectQuiet(d2.client, 0);
    closeAll(host.client, d2.client);
  });
});

describe("presence", () => {
  it("devices learn host online/offline with lastSeen; the host learns joins and leaves", async () => {
    const host = await newHost(relay.url);
    const key = await nobleBackend.generateSigner();
    expect(await publishAllowlist(host.client, host.key, 1, [key.publicKey])).toMatchObject({ ok: true });
    const d1 = await pairDevice(relay.url, host); // checks PRESENCE joined {slot, key, via: "ticket"}
    expect(d1.welcome).toEqual({ role: "device", slot: d1.slot, host: { online: true } });
    const d2 = await allowlistedDevice(relay.url, host, key); // checks PRESENCE joined {…, via: "allowlist"}

    d1.client.close();
    expect(await nextControl(host.client)).toEqual({ type: RelayFrame.PRESENCE, body: { device: "left", slot: d1.slot } });

    const before = Date.now();
    host.client.close();
    const offline = await nextControl(d2.client);
    expect(offline).toEqual({ type: RelayFrame.PRESENCE, body: { host: "offline", lastSeen: expect.any(Number) } });
    const lastSeen = (offline.body as { lastSeen: number }).lastSeen;
    expect(lastSeen).toBeGreaterThanOrEqual(before - 1000);
    expect(lastSeen).toBeLessThanOrEqual(Date.now() + 1000);

    // A device arriving while the host is away is told when it was last seen.
    await sleep(100);
    const d3 = await connectDevice(relay.url, host.room, key);
    expect(d3.welcome).toEqual({ role: "device", slot: expect.any(Number), host: { online: false, lastSeen } });
    expect(d2.client.isOpen).toBe(true);

    // When the host comes back, devices reconnect (4011) and see it online.
    const back = await reconnectHost(relay.url, host);
    await expectClosed(d2.client, RelayClose.HOST_RESTARTED, "host reconnected; reconnect");
    await expectClosed(d3.client, RelayClose.HOST_RESTARTED, "host reconnected; reconnect");
    const d4 = await allowlistedDevice(relay.url, back, key);
    expect(d4.welcome).toEqual({ role: "device", slot: d4.slot, host: { online: true } });
    closeAll(back.client, d4.client);
  });

  it("a host that drops without a close handshake is reported offline too", async () => {
    const host = await newHost(relay.url);
    const d = await pairDevice(relay.url, host);
    host.client.ws.terminate();
    expect(await nextControl(d.client)).toEqual({ type: RelayFrame.PRESENCE, body: { host: "offline", lastSeen: expect.any(Number) } });
    await expectQuiet(d.client, 0);
    closeAll(d.client);
  });

  it("a device that drops without a close handshake is reported left", async () => {
    const host = await newHost(relay.url);
    const d = await pairDevice(relay.url, host);
    d.client.ws.terminate();
    expect(await nextControl(host.client)).toEqual({ type: RelayFrame.PRESENCE, body: { device: "left", slot: d.slot } });
    closeAll(host.client);
  });
});
