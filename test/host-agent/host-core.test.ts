// HostCore over an in-memory transport (the relay path is covered by the
// relay-link and end-to-end tests): pairing with SAS confirmation, refusal,
// resume of a trusted device, revocation of a live session.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { derivePairingKeys, DeviceSession, nobleBackend, parsePairingLink, textEncoder, toBase64Url, type Ed25519Signer } from "../../protocol/src/index.ts";
import { DeviceStore } from "../../host-agent/src/device-store.ts";
import { HostCore, type HostTransport, type PairingRequest } from "../../host-agent/src/host-core.ts";
import { loadOrCreateIdentity } from "../../host-agent/src/identity.ts";
import { tempDir } from "../support/temp.ts";

class MemoryTransport implements HostTransport {
  /** While set, relay commands fail as they do when the relay is unreachable or refuses. */
  failing: string | undefined;
  sent: Array<{ slot: number; frame: Uint8Array }> = [];
  tickets: string[] = [];
  allowlists: Array<{ version: number; keys: string[] }> = [];
  kicked: unknown[] = [];
  send(slot: number, frame: Uint8Array) {
    this.sent.push({ slot, frame });
    return true;
  }
  async addTicket(hash: Uint8Array) {
    this.tickets.push(toBase64Url(hash));
  }
  async setAllowlist(version: number, keys: Uint8Array[]) {
    if (this.failing) throw new Error(this.failing);
    this.allowlists.push({ version, keys: keys.map(toBase64Url) });
  }
  async kickDevice(target: unknown) {
    this.kicked.push(target);
  }
  take(slot: number): Uint8Array {
    const i = this.sent.findIndex((s) => s.slot === slot);
    if (i < 0) throw new Error(`nothing sent to slot ${slot}`);
    return this.sent.splice(i, 1)[0]!.frame;
  }
}

async function setup(confirm: (r: PairingRequest) => Promise<boolean>, devicesPath?: (home: string) => string) {
  const home = tempDir("airlock-core-");
  const { identity } = await loadOrCreateIdentity(join(home, "identity.json"), nobleBackend);
  const devices = DeviceStore.open(devicesPath ? devicesPath(home) : join(home, "devices.json"));
  const transport = new MemoryTransport();
  const payloads: string[] = [];
  const requests: PairingRequest[] = [];
  const audits: Array<{ type: string; data: Record<string, unknown> }> = [];
  const logs: string[] = [];
  const core = new HostCore({
    identity,
    backend: nobleBackend,
    devices,
    transport,
    relayUrl: "http://127.0.0.1:8787",
    confirmPairing: async (r) => {
      requests.push(r);
      return confirm(r);
    },
    onPayload: (_c, p) => payloads.push(new TextDecoder().decode(p)),
    audit: (type, _actor, data) => audits.push({ type, data }),
    allowlistRetryMs: 20,
    log: (line) => logs.push(line),
  });
  return { core, transport, devices, identity, payloads, requests, audits, logs, home };
}

/** Drives a device through the handshake against the core on `slot`. */
async function handshake(
  env: Awaited<ReturnType<typeof setup>>,
  slot: number,
  device: DeviceSession,
  signer: Ed25519Signer,
): Promise<{ sas?: string; error?: { code: string; remote: boolean } }> {
  env.core.onDeviceJoined(slot, toBase64Url(signer.publicKey));
  await env.core.onFrame(slot, await device.start());
  const { reply, sas } = await device.receive(env.transport.take(slot));
  await env.core.onFrame(slot, reply!);
  try {
    await device.receive(env.transport.take(slot));
    return { sas: sas! };
  } catch (e) {
    const err = e as { code: string; remote: boolean };
    return { error: { code: err.code, remote: err.remote } };
  }
}

function pairingSession(link: string, signer: Ed25519Signer) {
  const parsed = parsePairingLink(link);
  const keys = derivePairingKeys(parsed.secret);
  return new DeviceSession({
    backend: nobleBackend,
    hostPublicKey: parsed.hostPublicKey,
    deviceSigner: signer,
    deviceName: "Ana's phone",
    pairing: { pairingId: keys.pairingId, psk: keys.psk },
  });
}

/** A paired device on slot 4: its connection on the host, and the next frame it opens, as text. */
async function pairedOnSlot4() {
  const env = await setup(async () => true);
  const { link } = await env.core.createPairing();
  const signer = await nobleBackend.generateSigner();
  const device = pairingSession(link, signer);
  await handshake(env, 4, device, signer);
  const conn = env.core.connections[0]!;
  const opened = async () => new TextDecoder().decode((await device.receive(env.transport.take(4))).payload);
  return { env, device, conn, opened };
}

describe("HostCore", () => {
  it("pairs after the operator confirms the SAS, publishes the allowlist, and carries payloads", async () => {
    const env = await setup(async () => true);
    const { link } = await env.core.createPairing();
    expect(env.transport.tickets).toHaveLength(1);
    const signer = await nobleBackend.generateSigner();
    const device = pairingSession(link, signer);
    const { sas } = await handshake(env, 4, device, signer);
    expect(env.requests).toEqual([{ deviceName: "Ana's phone", deviceId: expect.stringMatching(/^d_/), sas }]);
    expect(env.devices.list().map((d) => d.name)).toEqual(["Ana's phone"]);
    expect(env.transport.allowlists.at(-1)!.keys).toEqual([toBase64Url(signer.publicKey)]);
    await env.core.onFrame(4, await device.send(textEncoder.encode("hello")));
    expect(env.payloads).toEqual(["hello"]);
    expect(env.core.connections.map((c) => c.slot)).toEqual([4]);
  });

  it("sends frames in counter order: a frame held by `after` holds the ones after it; if `after` fails, none leave and the session ends", async () => {
    const { env, device, conn, opened } = await pairedOnSlot4();
    let release!: () => void;
    const held = conn.send(textEncoder.encode("answer"), { after: new Promise<void>((resolve) => (release = resolve)) });
    const later = conn.send(textEncoder.encode("event"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(env.transport.sent).toHaveLength(0);
    release();
    expect(await held).toBe(true);
    expect(await later).toBe(true);
    expect([await opened(), await opened()]).toEqual(["answer", "event"]);

    let fail!: (e: Error) => void;
    const failed = conn.send(textEncoder.encode("never"), { after: new Promise<void>((_resolve, reject) => (fail = reject)) });
    const behind = conn.send(textEncoder.encode("never either"));
    fail(new Error("disk full"));
    expect(await failed).toBe(false);
    expect(await behind).toBe(false);
    expect(env.core.connections).toHaveLength(0);
    // Only the session's end went out (the host's failure frame), not the held payloads: the device's session ends too.
    expect(env.transport.sent).toHaveLength(1);
    await expect(device.receive(env.transport.take(4))).rejects.toHaveProperty("code");
  });

  it("logs a device's first session of the run only: every airlock-client call is a session, the audit keeps them all", async () => {
    const env = await setup(async () => true);
    const signer = await nobleBackend.generateSigner();
    await handshake(env, 1, pairingSession((await env.core.createPairing()).link, signer), signer);
    const resume = () =>
      new DeviceSession({ backend: nobleBackend, hostPublicKey: env.identity.signer.publicKey, deviceSigner: signer, deviceName: "Ana's phone" });
    for (const slot of [2, 3]) expect((await handshake(env, slot, resume(), signer)).error).toBeUndefined();
    expect(env.logs.filter((l) => /^(paired|connected):/.test(l))).toEqual([expect.stringMatching(/^paired: Ana's phone \(d_/)]);
    expect(env.audits.filter((a) => a.type === "session")).toHaveLength(3);
    // The next run (a new HostCore on the same state) says "connected" at the device's first session, once.
    const next = new HostCore({
      identity: env.identity,
      backend: nobleBackend,
      devices: env.devices,
      transport: env.transport,
      relayUrl: "http://127.0.0.1:8787",
      confirmPairing: async () => false,
      log: (l) => env.logs.push(l),
    });
    for (const slot of [4, 5]) {
      next.onDeviceJoined(slot, toBase64Url(signer.publicKey));
      const device = resume();
      await next.onFrame(slot, await device.start());
      const { reply } = await device.receive(env.transport.take(slot));
      await next.onFrame(slot, reply!);
      await device.receive(env.transport.take(slot));
    }
    expect(env.logs.filter((l) => l.startsWith("connected:"))).toEqual([expect.stringMatching(/^connected: Ana's phone \(d_/)]);
  });

  it("refuses the device when the operator says no, and the link is spent", async () => {
    const env = await setup(async () => false);
    const { link } = await env.core.createPairing();
    const signer = await nobleBackend.generateSigner();
    const result = await handshake(env, 2, pairingSession(link, signer), signer);
    expect(result.error).toEqual({ code: "SAS_REJECTED", remote: true });
    expect(env.devices.list()).toEqual([]);
    // A second attempt with the same link fails: single use.
    const again = await nobleBackend.generateSigner();
    const second = pairingSession(link, again);
    env.core.onDeviceJoined(3, toBase64Url(again.publicKey));
    await env.core.onFrame(3, await second.start());
    await expect(second.receive(env.transport.take(3))).rejects.toMatchObject({ code: "PAIRING_UNKNOWN", remote: true });
  });

  it("resumes a trusted device without a link, and revocation closes its live session at once", async () => {
    const env = await setup(async () => true);
    const signer = await nobleBackend.generateSigner();
    const device = pairingSession((await env.core.createPairing()).link, signer);
    await handshake(env, 1, device, signer);

    const resumed = new DeviceSession({ backend: nobleBackend, hostPublicKey: env.identity.signer.publicKey, deviceSigner: signer, deviceName: "Ana's phone" });
    const ok = await handshake(env, 7, resumed, signer);
    expect(ok.error).toBeUndefined();

    const id = env.devices.list()[0]!.id;
    await env.core.revoke(id);
    expect(env.devices.list()).toEqual([]);
    expect(env.transport.kicked).toHaveLength(1);
    expect(env.core.connections).toEqual([]);
    // The device learns why.
    await expect(resumed.receive(env.transport.take(7))).rejects.toMatchObject({ code: "DEVICE_NOT_TRUSTED", remote: true });
    // And cannot resume any more: an authenticated refusal.
    const after = new DeviceSession({ backend: nobleBackend, hostPublicKey: env.identity.signer.publicKey, deviceSigner: signer, deviceName: "Ana's phone" });
    expect((await handshake(env, 8, after, signer)).error).toEqual({ code: "DEVICE_NOT_TRUSTED", remote: true });
  });

  it("revokes even when the relay cannot be told: sessions end, the audit says so, and the allowlist is published on retry", async () => {
    const env = await setup(async () => true);
    const signer = await nobleBackend.generateSigner();
    await handshake(env, 1, pairingSession((await env.core.createPairing()).link, signer), signer);
    const resumed = new DeviceSession({ backend: nobleBackend, hostPublicKey: env.identity.signer.publicKey, deviceSigner: signer, deviceName: "Ana's phone" });
    expect((await handshake(env, 2, resumed, signer)).error).toBeUndefined();
    const published = env.transport.allowlists.length;

    env.transport.failing = "the relay refused: stale version";
    const result = await env.core.revoke(env.devices.list()[0]!.id);
    expect(result).toMatchObject({ relayUpdated: false, relayError: expect.stringContaining("stale version") });
    expect(env.devices.list()).toEqual([]);
    expect(env.core.connections).toEqual([]);
    await expect(resumed.receive(env.transport.take(2))).rejects.toMatchObject({ code: "DEVICE_NOT_TRUSTED", remote: true });
    expect(env.audits.filter((a) => a.type === "revocation").map((a) => a.data.relayUpdated)).toEqual([false]);
    // The host itself refuses the device meanwhile (the relay may still admit it).
    const again = new DeviceSession({ backend: nobleBackend, hostPublicKey: env.identity.signer.publicKey, deviceSigner: signer, deviceName: "Ana's phone" });
    expect((await handshake(env, 3, again, signer)).error).toEqual({ code: "DEVICE_NOT_TRUSTED", remote: true });

    // The relay comes back: the retry publishes the list without the revoked key.
    env.transport.failing = undefined;
    const deadline = Date.now() + 5000;
    while (env.transport.allowlists.length === published && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(env.transport.allowlists.at(-1)!.keys).toEqual([]);
    env.core.close();
  });

  it("never rejects from onFrame: a device store that cannot save ends that pairing only", async () => {
    // devices.json is a folder: every save fails.
    const env = await setup(
      async () => true,
      (home) => {
        mkdirSync(join(home, "devices.json"));
        return join(home, "devices.json");
      },
    );
    const { link } = await env.core.createPairing();
    const signer = await nobleBackend.generateSigner();
    const result = await handshake(env, 5, pairingSession(link, signer), signer);
    expect(result.error).toMatchObject({ code: "HOST_BUSY", remote: true });
    expect(env.core.connections).toEqual([]);
    // Garbage on a slot that is gone, and on an unknown slot: no rejection.
    await expect(env.core.onFrame(5, new Uint8Array([1, 2, 3]))).resolves.toBeUndefined();
    env.core.onDeviceJoined(6, "x");
    await expect(env.core.onFrame(6, new Uint8Array(40))).resolves.toBeUndefined();
  });
});
