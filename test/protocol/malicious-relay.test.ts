// A malicious relay between a real host and a real device (malicious-relay.ts).
// Every attack must be detected — a side fails with a specific protocol error
// and nothing reaches the application — and an honest run through the same
// harness must deliver every payload exactly once and in order.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  AirlockProtocolError,
  DeviceSession,
  FrameType,
  HEADER_LENGTH,
  HostSession,
  PROTOCOL_NAME,
  SERVER_HELLO_PUBLIC_LENGTH,
  Direction,
  derivePairingKeys,
  encodeFrame,
  encodeHostVerdict,
  makeNonce,
  nobleBackend,
  roomIdFor,
  secureRandom,
  sha256,
  textEncoder,
  toBase64Url,
  u8,
  type ChannelTuning,
  type CryptoBackend,
  type ErrorCode,
} from "../../protocol/src/index.ts";
import { webCryptoBackend } from "../../protocol/src/backend-webcrypto.ts";
import { gcm } from "@noble/ciphers/aes.js";
import { hostSession, makeFixture, pairingDevice, protocolError, resumingDevice, trust, type Fixture } from "./harness.ts";
import {
  ManInTheMiddle,
  MaliciousRelay,
  substituteEphemeral,
  tactics,
  SdkRelay,
  type EndpointReport,
  type RelayOptions,
  type SdkRelayBehaviour,
  type Side,
} from "./malicious-relay.ts";
import { AirlockClientError } from "../../client-sdk/src/errors.ts";
import { HostConnection, type ConnectionTiming } from "../../client-sdk/src/host-connection.ts";
import { until, waitState } from "../client-sdk/support.ts";

type Mode = "pair" | "resume";

const text = (s: string) => textEncoder.encode(s);
const hexOf = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Distinct payloads of assorted sizes (some cross padding buckets). */
function payloads(from: Side, n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const head = text(`${from} #${i}|`);
    const out = new Uint8Array(head.length + ((i * 97) % 700));
    out.set(head);
    return out;
  });
}

interface Setup {
  f: Fixture;
  relay: MaliciousRelay;
  sent: Record<Side, Uint8Array[]>;
  secret: Uint8Array;
}

async function setup(
  backend: CryptoBackend,
  mode: Mode,
  opts: Omit<RelayOptions, "device" | "host" | "outbox"> & { tuning?: ChannelTuning; messages?: number; f?: Fixture } = {},
): Promise<Setup> {
  const f = opts.f ?? (await makeFixture(backend));
  const { secret } = f.pairings.create();
  if (mode === "resume") trust(f, f.device.publicKey);
  const tuning = opts.tuning ?? {};
  const device = mode === "pair" ? pairingDevice(f, secret, { tuning }) : resumingDevice(f, { tuning });
  const host = hostSession(f, tuning);
  const n = opts.messages ?? 0;
  const sent = { host: payloads("host", n), device: payloads("device", n) };
  const { tuning: _t, messages: _m, f: _f, ...relayOptions } = opts;
  const relay = new MaliciousRelay({ device, host, outbox: sent, ...relayOptions });
  return { f, relay, sent, secret };
}

function expectNoCrashes(...reports: EndpointReport[]): void {
  for (const r of reports) expect(r.crashes).toEqual([]);
}

/** The first error a report recorded. */
function firstError(report: EndpointReport): { code: ErrorCode; remote: boolean } | undefined {
  const e = report.error;
  return e && { code: e.code, remote: e.remote };
}

/** `received` is an in-order prefix of `sent`, each element exactly once. */
function expectInOrderPrefix(received: Uint8Array[], sent: Uint8Array[], length?: number): void {
  expect(received.map(hexOf)).toEqual(sent.slice(0, received.length).map(hexOf));
  if (length !== undefined) expect(received).toHaveLength(length);
}

/**
 * The attack was detected: `side` failed first with `code` and the peer heard
 * about it as a remote error (or heard nothing).
 */
function expectDetected(relay: MaliciousRelay, side: Side, code: ErrorCode, peerHears: ErrorCode | "nothing" = code): void {
  const peer: Side = side === "host" ? "device" : "host";
  expectNoCrashes(relay.reports.host, relay.reports.device);
  expect(firstError(relay.reports[side])).toEqual({ code, remote: false });
  if (peerHears === "nothing") expect(relay.reports[peer].error).toBeUndefined();
  else expect(firstError(relay.reports[peer])).toEqual({ code: peerHears, remote: true });
  // Nothing after the fault reached the application on the failing side.
  expect(relay.reports[side].errors.slice(1).every((e) => e.code === "CHANNEL_CLOSED")).toBe(true);
}

// ------------------------------------------------------------------ honest runs

describe.each([nobleBackend, webCryptoBackend])("an honest run through the relay harness ($name)", (backend) => {
  it.each([
    ["pair", "sequential"],
    ["pair", "concurrent"],
    ["resume", "sequential"],
    ["resume", "concurrent"],
  ] as const)("%s mode, %s delivery: every payload exactly once, in order, across ratchets", async (mode, delivery) => {
    const { f, relay, sent } = await setup(backend, mode, { delivery, messages: 12, tuning: { rekeyAfterMessages: 3 } });
    await relay.run();
    const { host, device } = relay.reports;
    expectNoCrashes(host, device);
    expect(host.errors).toEqual([]);
    expect(device.errors).toEqual([]);
    expect(host.opened && device.opened).toBe(true);
    expect(host.sas).toBe(device.sas);
    expect(hexOf(host.claim!.devicePublicKey)).toBe(hexOf(f.device.publicKey));
    expectInOrderPrefix(host.payloads, sent.device, 12);
    expectInOrderPrefix(device.payloads, sent.host, 12);

    // Interleaved traffic afterwards, still through the relay.
    const more = { host: payloads("host", 10), device: payloads("device", 10) };
    for (let i = 0; i < 10; i++) {
      await relay.send("device", more.device[i]!);
      await relay.send("host", more.host[i]!);
    }
    expectInOrderPrefix(host.payloads, [...sent.device, ...more.device], 22);
    expectInOrderPrefix(device.payloads, [...sent.host, ...more.host], 22);
    expect(relay.log.filter((e) => e.from === "relay")).toEqual([]);
    // Epochs advanced (the ratchet ran) and every frame went through exactly once.
    const epochs = relay.log.filter((e) => e.label === "DATA").map((e) => new DataView(e.frame.buffer, e.frame.byteOffset).getUint32(4));
    expect(Math.max(...epochs)).toBe(Math.floor(21 / 3));
    expect(relay.log.filter((e) => e.label === "DATA")).toHaveLength(44);
  });

  it("the relay stamping its own slot numbers on every frame changes nothing", async () => {
    const { relay, sent } = await setup(backend, "pair", { messages: 5 });
    relay.always(
      () => true,
      tactics.mutate((frame, m) => {
        new DataView(frame.buffer).setUint16(2, m.from === "device" ? 0x1234 : m.index);
        return frame;
      }),
    );
    await relay.run();
    expect(relay.reports.host.opened && relay.reports.device.opened).toBe(true);
    expectInOrderPrefix(relay.reports.host.payloads, sent.device, 5);
    expectInOrderPrefix(relay.reports.device.payloads, sent.host, 5);
  });
});

// ------------------------------------------------------------ tampered frames

describe("tampering is detected", () => {
  const backend = nobleBackend;
  const bodyBit = (byte: number, bit = 0) => (HEADER_LENGTH + byte) * 8 + bit;

  it.each([
    // message, bit, who detects it, code
    ["ClientHello", bodyBit(4 + 7), "device", "HANDSHAKE_DECRYPT_FAILED"], // ephemeral key: the transcripts differ
    ["ClientHello", bodyBit(36 + 3), "host", "PAIRING_UNKNOWN"], // pairing id
    ["ClientHello", bodyBit(3, 6), "host", "NO_COMMON_VERSION"], // offered version 1 → 3
    ["ServerHello", bodyBit(1, 6), "device", "DOWNGRADE_DETECTED"], // selected version 1 → 3
    ["ServerHello", bodyBit(2 + 5), "device", "HANDSHAKE_DECRYPT_FAILED"], // ephemeral key
    ["ServerHello", -1, "device", "HANDSHAKE_DECRYPT_FAILED"], // sealed signature
    ["ClientAuth", bodyBit(40), "host", "HANDSHAKE_DECRYPT_FAILED"],
    ["HostVerdict", -1, "device", "HANDSHAKE_DECRYPT_FAILED"],
    ["ServerHello", 8 * 8 + 7, "device", "COUNTER_MISMATCH"], // header counter
    ["ClientAuth", 4 * 8, "host", "FRAME_MALFORMED"], // header epoch on a handshake frame
    ["HostVerdict", 0, "device", "FRAME_MALFORMED"], // header version
  ] as const)("%s with bit %i flipped: %s fails %s", async (label, bit, side, code) => {
    const { relay } = await setup(backend, "pair", { messages: 3 });
    relay.on({ label }, tactics.flipBit(bit));
    await relay.run();
    expectDetected(relay, side, code);
    expect(relay.reports.device.opened).toBe(false);
    expect(relay.reports.host.payloads).toEqual([]);
    expect(relay.reports.device.payloads).toEqual([]);
  });

  it("a flipped bit in a DATA frame stops delivery at that frame", async () => {
    const { relay, sent } = await setup(backend, "resume", { messages: 6 });
    relay.on({ from: "device", index: 4 }, tactics.flipBit(-9)); // device frames: 0 hello, 1 auth, 2.. data
    await relay.run();
    expectDetected(relay, "host", "FRAME_DECRYPT_FAILED");
    expectInOrderPrefix(relay.reports.host.payloads, sent.device, 2);
    // Later frames are refused too: the channel is closed for good.
    expect(relay.reports.host.errors.slice(1).map((e) => e.code)).toEqual(["CHANNEL_CLOSED", "CHANNEL_CLOSED", "CHANNEL_CLOSED"]);
    expectInOrderPrefix(relay.reports.device.payloads, sent.host);
  });

  it("a DATA frame with a forged epoch bump fails authentication", async () => {
    const { relay, sent } = await setup(backend, "resume", { messages: 4 });
    relay.on(
      { from: "host", index: 3 },
      tactics.mutate((frame) => {
        new DataView(frame.buffer).setUint32(4, 1);
        return frame;
      }),
    );
    await relay.run();
    expectDetected(relay, "device", "FRAME_DECRYPT_FAILED");
    expectInOrderPrefix(relay.reports.device.payloads, sent.host, 1);
  });

  it("a replayed ClientHello is refused (COUNTER_MISMATCH) and the handshake dies", async () => {
    const { relay } = await setup(backend, "pair");
    relay.on({ label: "ClientHello" }, tactics.replay(2));
    await relay.run();
    expectDetected(relay, "host", "COUNTER_MISMATCH");
    expect(relay.reports.device.opened || relay.reports.host.opened).toBe(false);
  });

  it("a replayed DATA frame is delivered once; the copy is refused", async () => {
    const { relay, sent } = await setup(backend, "pair", { messages: 5 });
    relay.on({ from: "device", index: 3 }, tactics.replay(2));
    await relay.run();
    expectDetected(relay, "host", "COUNTER_MISMATCH");
    expectInOrderPrefix(relay.reports.host.payloads, sent.device, 2);
  });

  it("reordered DATA frames are refused (COUNTER_MISMATCH), nothing is delivered out of order", async () => {
    const { relay, sent } = await setup(backend, "pair", { messages: 5 });
    relay.on({ from: "host", index: 3 }, tactics.hold);
    await relay.run();
    expectDetected(relay, "device", "COUNTER_MISMATCH");
    expectInOrderPrefix(relay.reports.device.payloads, sent.host, 1);
    expect(relay.log.filter((e) => e.from === "host" && e.label === "DATA").map((e) => new DataView(e.frame.buffer).getBigUint64(8))).toEqual([
      2n,
      4n,
      3n,
      5n,
      6n,
    ]);
  });

  it("a dropped DATA frame is noticed at the next one", async () => {
    const { relay, sent } = await setup(backend, "pair", { messages: 5 });
    relay.on({ from: "device", index: 2 }, tactics.drop);
    await relay.run();
    expectDetected(relay, "host", "COUNTER_MISMATCH");
    expect(relay.reports.host.payloads).toEqual([]);
    expect(sent.device).toHaveLength(5);
  });

  it("reflected frames are refused: the device's ClientHello back to the device, the host's data back to the host", async () => {
    {
      const { relay } = await setup(backend, "pair");
      relay.on({ label: "ClientHello" }, tactics.reflect);
      await relay.run();
      // Counter 0 is what the device expects, but a ClientHello is no ServerHello.
      expect(firstError(relay.reports.device)).toEqual({ code: "HANDSHAKE_MALFORMED", remote: false });
      // Its ABORT (counter 1) reaches a host that never saw counter 0: a gap, refused as such.
      expect(firstError(relay.reports.host)).toEqual({ code: "COUNTER_MISMATCH", remote: false });
      expect(relay.log[0]).toMatchObject({ from: "device", to: "device", label: "ClientHello" });
    }
    {
      const { relay } = await setup(backend, "pair");
      relay.on({ label: "ServerHello" }, tactics.reflect);
      await relay.run();
      expect(firstError(relay.reports.host)).toEqual({ code: "COUNTER_MISMATCH", remote: false });
      // The host's ABORT (its counter 1) cannot even be read by a device still waiting for counter 0.
      expect(firstError(relay.reports.device)).toEqual({ code: "COUNTER_MISMATCH", remote: false });
      expectNoCrashes(relay.reports.host, relay.reports.device);
    }
    {
      const { relay } = await setup(backend, "resume");
      relay.on({ from: "host", index: 2 }, tactics.reflect);
      await relay.run();
      await relay.send("host", text("for the device"));
      // Same counter (2) as the host expects next, but the d2h key and nonce direction differ.
      expect(firstError(relay.reports.host)).toEqual({ code: "FRAME_DECRYPT_FAILED", remote: false });
      // The device never got counter 2, so the host's ABORT (counter 3) shows as a gap.
      expect(firstError(relay.reports.device)).toEqual({ code: "COUNTER_MISMATCH", remote: false });
      expect(relay.reports.device.payloads).toEqual([]);
    }
  });

  it("injected frames: random bytes, a forged DATA frame, a forged verdict", async () => {
    {
      const { relay } = await setup(backend, "pair");
      const junk = secureRandom(120);
      junk[0] = 0xff;
      relay.on(
        { label: "ClientAuth" },
        tactics.injectBefore(() => [junk]),
      );
      await relay.run();
      expectDetected(relay, "host", "FRAME_MALFORMED");
    }
    {
      const { relay } = await setup(backend, "resume");
      await relay.run();
      // Right header, right counter, random ciphertext.
      relay.inject("device", encodeFrame({ type: FrameType.DATA, slot: 0, epoch: 0, counter: 2n }, secureRandom(16 + 256)));
      await relay.flush();
      expectDetected(relay, "device", "FRAME_DECRYPT_FAILED");
    }
    {
      const { relay } = await setup(backend, "pair");
      relay.on(
        { label: "HostVerdict" },
        tactics.replaceWith(() => encodeFrame({ type: FrameType.HANDSHAKE, slot: 0, epoch: 0, counter: 1n }, encodeHostVerdict(secureRandom(17)))),
      );
      await relay.run();
      expectDetected(relay, "device", "HANDSHAKE_DECRYPT_FAILED");
      expect(relay.reports.device.opened).toBe(false);
    }
  });

  it("a forged ABORT can end a handshake (a hint, by design) but never opens anything", async () => {
    const { relay } = await setup(backend, "pair");
    relay.on({ label: "ServerHello" }, tactics.replaceWith(encodeFrame({ type: FrameType.ABORT, slot: 0, epoch: 0, counter: 0n }, u8(0x1e))));
    await relay.run();
    expect(firstError(relay.reports.device)).toEqual({ code: "HOST_BUSY", remote: true });
    expect(relay.reports.device.opened).toBe(false);
    expect(relay.reports.host.opened).toBe(false);
  });

  it.each(["ClientHello", "ServerHello"] as const)("substituting the relay's own ephemeral key in %s is detected", async (label) => {
    const { relay } = await setup(backend, "pair");
    const mine = await backend.x25519FromPrivate(secureRandom(32));
    relay.on(
      { label },
      tactics.mutate((frame) => substituteEphemeral(frame, mine.publicKey)),
    );
    await relay.run();
    expectDetected(relay, "device", "HANDSHAKE_DECRYPT_FAILED");
    expect(relay.reports.host.opened || relay.reports.device.opened).toBe(false);
  });
});

// ------------------------------------------------------------ man in the middle

describe.each([nobleBackend, webCryptoBackend])("a relay running its own handshakes with both sides ($name)", (backend) => {
  async function mitmSetup(mode: Mode, mitm: { psk?: "leaked"; hostOnly?: boolean } = {}) {
    const s = await setup(backend, mode, { messages: 3 });
    const attacker = await ManInTheMiddle.create({
      backend,
      hostPublicKey: s.f.host.publicKey,
      ...(mitm.psk ? { psk: derivePairingKeys(s.secret).psk } : {}),
      ...(mitm.hostOnly ? { hostOnly: true } : {}),
    });
    s.relay.always(() => true, attacker.tactic);
    await s.relay.run();
    return { ...s, attacker };
  }

  function expectNobodyCompletesWithTheAttacker(relay: MaliciousRelay, attacker: ManInTheMiddle): void {
    expectNoCrashes(relay.reports.host, relay.reports.device, attacker.reports.asHost, attacker.reports.asDevice);
    expect(relay.reports.device.opened).toBe(false);
    expect(relay.reports.host.opened).toBe(false);
    expect(attacker.reports.asHost.opened).toBe(false);
    expect(attacker.reports.asDevice.opened).toBe(false);
    expect(attacker.reports.asHost.claim).toBeUndefined(); // the real device never revealed itself
    expect(attacker.reports.asHost.payloads.length + attacker.reports.asDevice.payloads.length).toBe(0);
  }

  it("pair mode, attacker without the PSK: the device cannot open the attacker's ServerHello, nor can the attacker open the host's", async () => {
    const { relay, attacker } = await mitmSetup("pair");
    expectNobodyCompletesWithTheAttacker(relay, attacker);
    expect(firstError(relay.reports.device)).toEqual({ code: "HANDSHAKE_DECRYPT_FAILED", remote: false });
    expect(firstError(attacker.reports.asDevice)).toEqual({ code: "HANDSHAKE_DECRYPT_FAILED", remote: false });
    expect(relay.reports.host.claim).toBeUndefined();
  });

  it("resume mode: the device rejects the attacker's host signature; the host refuses the attacker's device key", async () => {
    const { relay, attacker } = await mitmSetup("resume");
    expectNobodyCompletesWithTheAttacker(relay, attacker);
    expect(firstError(relay.reports.device)).toEqual({ code: "HOST_SIGNATURE_INVALID", remote: false });
    expect(firstError(relay.reports.host)).toEqual({ code: "DEVICE_NOT_TRUSTED", remote: false });
    // The attacker proved its own key, so it got the authenticated refusal.
    expect(firstError(attacker.reports.asDevice)).toEqual({ code: "DEVICE_NOT_TRUSTED", remote: true });
  });

  it("pair mode with a leaked PSK: the host signature still stops it toward the device, the SAS comparison toward the host", async () => {
    const { f, relay, attacker, secret } = await mitmSetup("pair", { psk: "leaked" });
    expectNobodyCompletesWithTheAttacker(relay, attacker);
    expect(firstError(relay.reports.device)).toEqual({ code: "HOST_SIGNATURE_INVALID", remote: false });
    expect(relay.reports.device.sas).toBeUndefined(); // the phone shows no code...
    const claim = relay.reports.host.claim!;
    expect(hexOf(claim.devicePublicKey)).toBe(hexOf(attacker.signer.publicKey)); // ...the host sees the attacker's
    expect(firstError(attacker.reports.asDevice)).toEqual({ code: "SAS_REJECTED", remote: true });
    // And the link is spent: the real phone cannot retry with it, and neither can the attacker.
    const again = new MaliciousRelay({ device: pairingDevice(f, secret), host: hostSession(f) });
    await again.run();
    expect(firstError(again.reports.host)).toEqual({ code: "PAIRING_UNKNOWN", remote: false });
    expect(firstError(again.reports.device)).toEqual({ code: "PAIRING_UNKNOWN", remote: true });
  });

  it("a relay posing as the host with its own signing key (it cannot change the QR): HANDSHAKE_DECRYPT_FAILED, or HOST_SIGNATURE_INVALID with the PSK", async () => {
    {
      const { relay, attacker } = await mitmSetup("pair", { hostOnly: true });
      expectNobodyCompletesWithTheAttacker(relay, attacker);
      expect(firstError(relay.reports.device)).toEqual({ code: "HANDSHAKE_DECRYPT_FAILED", remote: false });
      expect(relay.log.filter((e) => e.to === "host")).toEqual([]);
    }
    {
      const { relay, attacker } = await mitmSetup("pair", { hostOnly: true, psk: "leaked" });
      expectNobodyCompletesWithTheAttacker(relay, attacker);
      expect(firstError(relay.reports.device)).toEqual({ code: "HOST_SIGNATURE_INVALID", remote: false });
    }
    {
      const { relay, attacker } = await mitmSetup("resume", { hostOnly: true });
      expectNobodyCompletesWithTheAttacker(relay, attacker);
      expect(firstError(relay.reports.device)).toEqual({ code: "HOST_SIGNATURE_INVALID", remote: false });
    }
  });
});

// ------------------------------------------------------------------ leaked QR

describe("a leaked QR screenshot reused later", () => {
  const backend = nobleBackend;

  it("after the link was used: PAIRING_UNKNOWN, reported to the attacker's device", async () => {
    const { f, relay, secret } = await setup(backend, "pair", { messages: 2 });
    await relay.run();
    expect(relay.reports.host.opened && relay.reports.device.opened).toBe(true);
    const thief = await backend.generateSigner();
    const later = new MaliciousRelay({ device: pairingDevice(f, secret, { signer: thief }), host: hostSession(f) });
    await later.run();
    expectDetected(later, "host", "PAIRING_UNKNOWN");
    expect(later.reports.host.claim).toBeUndefined();
  });

  it("after the link expired: PAIRING_EXPIRED", async () => {
    const f = await makeFixture(backend);
    const pending = f.pairings.create(300);
    f.clock.now = pending.expiresAt + 3600;
    const thief = await backend.generateSigner();
    const later = new MaliciousRelay({ device: pairingDevice(f, pending.secret, { signer: thief }), host: hostSession(f) });
    await later.run();
    expectDetected(later, "host", "PAIRING_EXPIRED");
  });

  it("within its lifetime but without the operator confirming: SAS_REJECTED (the operator's phone shows no code)", async () => {
    const f = await makeFixture(backend);
    const pending = f.pairings.create();
    const thief = await backend.generateSigner();
    // The operator compares the host's SAS with their own phone, which is not pairing.
    const later = new MaliciousRelay({ device: pairingDevice(f, pending.secret, { signer: thief }), host: hostSession(f), decide: () => "SAS_REJECTED" });
    await later.run();
    expectNoCrashes(later.reports.host, later.reports.device);
    expect(later.reports.host.error).toBeUndefined();
    expect(firstError(later.reports.device)).toEqual({ code: "SAS_REJECTED", remote: true });
    expect(later.reports.host.opened).toBe(false);
  });
});

// --------------------------------------------------- racing a handshake step

describe("a relay racing frames against a suspended handshake step", () => {
  /** A backend whose signature checks wait for the test: the window WebCrypto opens naturally. */
  function gated(): { backend: CryptoBackend; release: () => void; reached: Promise<void> } {
    let release!: () => void;
    let reach!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const reached = new Promise<void>((r) => (reach = r));
    const backend: CryptoBackend = {
      ...nobleBackend,
      verify: async (...args) => {
        reach();
        await gate;
        return nobleBackend.verify(...args);
      },
    };
    return { backend, release, reached };
  }

  it("a junk frame delivered while the device verifies ServerHello cannot wipe its keys and reopen it under known keys", async () => {
    const g = gated();
    const f = await makeFixture(nobleBackend);
    const { secret } = f.pairings.create();
    const keys = derivePairingKeys(secret);
    const device = new DeviceSession({
      backend: g.backend,
      hostPublicKey: f.host.publicKey,
      deviceSigner: f.device,
      deviceName: "Test phone",
      pairing: { pairingId: keys.pairingId, psk: keys.psk },
    });
    const host = hostSession(f);
    const hello = await device.start();
    const serverHello = (await host.receive(hello)).reply!;

    // Like a WebSocket onmessage handler: each frame handed over without waiting.
    const first = device.receive(serverHello).catch((e: unknown) => e);
    await g.reached; // the device derived its handshake keys and is checking the host's signature
    const junk = encodeFrame({ type: FrameType.HANDSHAKE, slot: 0, epoch: 0, counter: 1n }, u8(9));
    const second = device.receive(junk).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 5));
    g.release();
    const r1 = await first;
    const r2 = await second;

    // The junk is handled after ServerHello, as the verdict it pretends to be.
    expect(r2).toBeInstanceOf(AirlockProtocolError);
    expect((r2 as AirlockProtocolError).code).toBe("HANDSHAKE_MALFORMED");
    expect(device.currentState).toBe("closed");

    // The ClientAuth (if any) is sealed under the real key, not under zeros.
    const auth = (r1 as { reply?: Uint8Array }).reply;
    expect(auth).toBeInstanceOf(Uint8Array);
    let h = sha256(textEncoder.encode(PROTOCOL_NAME));
    h = sha256(h, hello.subarray(HEADER_LENGTH));
    const sh = serverHello.subarray(HEADER_LENGTH);
    h = sha256(h, sh.subarray(0, SERVER_HELLO_PUBLIC_LENGTH));
    h = sha256(h, f.host.publicKey);
    const beforeAuth = sha256(h, sh.subarray(SERVER_HELLO_PUBLIC_LENGTH));
    const zero = new Uint8Array(32);
    const ciphertext = auth!.subarray(HEADER_LENGTH + 1);
    expect(() => gcm(zero, makeNonce(Direction.DEVICE_TO_HOST, 0n), beforeAuth).decrypt(ciphertext)).toThrow();

    // A verdict forged under an all-zero handshake key (what a wiped key would be) is refused.
    const finalHash = sha256(sha256(beforeAuth, f.device.publicKey), ciphertext);
    const forged = gcm(zero, makeNonce(Direction.HOST_TO_DEVICE, 1n), finalHash).encrypt(u8(0));
    for (const counter of [1n, 2n]) {
      const err = await protocolError(device.receive(encodeFrame({ type: FrameType.HANDSHAKE, slot: 0, epoch: 0, counter }, encodeHostVerdict(forged))));
      expect(err.code).toBe("CHANNEL_CLOSED");
    }
    expect(device.currentState).toBe("closed");
  });

  it("a session closed by the application while a step is suspended stays closed", async () => {
    const g = gated();
    const f = await makeFixture(nobleBackend);
    trust(f, f.device.publicKey);
    const device = new DeviceSession({ backend: g.backend, hostPublicKey: f.host.publicKey, deviceSigner: f.device, deviceName: "Test phone" });
    const host = hostSession(f);
    const serverHello = (await host.receive(await device.start())).reply!;
    const pending = device.receive(serverHello);
    await g.reached;
    device.close();
    g.release();
    expect((await protocolError(pending)).code).toBe("CHANNEL_CLOSED");
    expect(device.currentState).toBe("closed");
  });

  it("the host side: a junk frame racing ClientAuth verification does not leave a claim on a closed session", async () => {
    const g = gated();
    const f = await makeFixture(nobleBackend);
    trust(f, f.device.publicKey);
    const device = resumingDevice(f);
    const host = new HostSession({
      backend: g.backend,
      hostSigner: f.host,
      pairings: f.pairings,
      isTrustedDevice: (k) => f.trusted.has(hexOf(k)),
    });
    const serverHello = (await host.receive(await device.start())).reply!;
    const auth = (await device.receive(serverHello)).reply!;
    const first = host.receive(auth);
    await g.reached;
    const second = host.receive(encodeFrame({ type: FrameType.HANDSHAKE, slot: 0, epoch: 0, counter: 2n }, u8(3)));
    g.release();
    expect((await first).claim).toBeDefined();
    // Processed after ClientAuth: the host is verifying and expects no frame now.
    expect((await protocolError(second)).code).toBe("UNEXPECTED_MESSAGE");
    expect(host.currentState).toBe("closed");
    expect((await protocolError(host.accept())).code).toBe("CHANNEL_CLOSED");
  });
});

// ------------------------------------------------------- the client SDK behind a malicious relay
// Only the host's sealed HostVerdict may tell the SDK it is revoked. A plaintext
// ABORT (which any relay can forge) and a relay's close codes (4004 REVOKED, 4002
// AUTH_FAILED) are hints: the SDK reports RELAY_REFUSED, closes the socket and
// keeps retrying with its backoff, and comes back once the relay behaves.
describe("the client SDK through a malicious relay", () => {
  const FAST = {
    pingIntervalMs: 1000,
    deadAfterMs: 5000,
    connectTimeoutMs: 2000,
    handshakeTimeoutMs: 2000,
    ackDelayMs: 20,
    backoff: { baseMs: 20, maxMs: 160 },
  };
  const conns: HostConnection[] = [];
  afterEach(() => {
    for (const c of conns.splice(0)) c.close();
    vi.restoreAllMocks();
  });

  async function sdkSetup(behaviour: SdkRelayBehaviour, trusted = true, timing: Partial<ConnectionTiming> = FAST) {
    const backend = nobleBackend;
    const hostSigner = await backend.generateSigner();
    const device = await backend.generateSigner();
    const relay = new SdkRelay({ backend, hostSigner, isTrustedDevice: (key) => trusted && hexOf(key) === hexOf(device.publicKey), behaviour });
    const conn = new HostConnection({
      host: { id: roomIdFor(hostSigner.publicKey), name: "h", relayUrl: "https://relay.example", publicKey: toBase64Url(hostSigner.publicKey), pairedAt: 1 },
      signer: device,
      backend,
      deviceName: "Phone",
      WebSocket: relay.WebSocket,
      timing,
    });
    conns.push(conn);
    const states: string[] = [];
    const errors: AirlockClientError[] = [];
    conn.on("state", (s) => states.push(s));
    conn.on("error", (e) => errors.push(e));
    return { relay, conn, states, errors };
  }

  it.each([
    ["in answer to ClientHello", "abort-handshake"],
    ["on an open session", "abort-session"],
  ] as const)(
    "a forged plaintext ABORT(DEVICE_NOT_TRUSTED) %s: RELAY_REFUSED, the socket is closed, retries with backoff, online again once the relay behaves",
    async (_, kind) => {
      const { relay, conn, states, errors } = await sdkSetup({ kind, code: "DEVICE_NOT_TRUSTED" });
      const sent = conn.send("t_1", "written while the relay refuses");
      sent.catch(() => undefined); // unanswered by this host: failed with CLOSED in afterEach
      await until(() => relay.opens >= 4, 10_000, "4 connection attempts");
      expect(states).not.toContain("refused");
      expect(conn.state).not.toBe("refused");
      expect(conn.error).toMatchObject({ code: "RELAY_REFUSED", protocolCode: "DEVICE_NOT_TRUSTED" });
      expect(conn.error!.message).toMatch(/relay refused this device; retrying/);
      const refusals = errors.filter((e) => e.code === "RELAY_REFUSED");
      expect(refusals.length).toBeGreaterThanOrEqual(3);
      expect(errors.filter((e) => e.code === "DEVICE_REVOKED")).toEqual([]);
      // The command waits in the outbox; it is not failed.
      expect(conn.outbox.map((e) => e.state)).toEqual(["queued"]);
      // After each forged ABORT the SDK closed the socket itself (the relay left it open).
      const forged = relay.sockets.filter((s) => s.forged > 0);
      expect(forged.length).toBeGreaterThanOrEqual(3);
      await until(() => forged.every((s) => s.closedByDevice !== undefined), 5000, "the device to close every aborted socket");
      for (const s of forged) {
        expect(s.closedByRelay).toBeUndefined();
        expect(s.closedByDevice).toMatchObject({ code: 1000 });
      }
      // The relay behaves again: the next attempt opens, and the queued command goes out.
      relay.behaviour = { kind: "honest" };
      await waitState(conn, "online", 10_000);
      expect(conn.error).toBeUndefined();
      await until(() => relay.sockets.at(-1)!.payloads.length >= 1, 5000, "the queued command at the host");
      expect(relay.crashes).toEqual([]);
    },
  );

  it("relay close codes are hints too: 4004 REVOKED on an open session, then 4002 AUTH_FAILED at admission; the SDK retries and reconnects", async () => {
    const { relay, conn, states, errors } = await sdkSetup({ kind: "close-session", code: 4004, reason: "revoked" });
    await until(() => relay.opens >= 1 && relay.sockets[0]!.closedByRelay === 4004, 10_000, "the relay's 4004");
    relay.behaviour = { kind: "refuse-admission", code: 4002 };
    await until(() => relay.sockets.filter((s) => s.closedByRelay === 4002).length >= 3, 10_000, "three 4002 refusals");
    expect(states).not.toContain("refused");
    expect(errors.find((e) => e.closeCode === 4004)).toMatchObject({ code: "RELAY_REFUSED" });
    expect(errors.find((e) => e.closeCode === 4002)).toMatchObject({ code: "RELAY_REFUSED" });
    expect(errors.filter((e) => e.code === "DEVICE_REVOKED")).toEqual([]);
    expect(conn.error?.code).toBe("RELAY_REFUSED");
    relay.behaviour = { kind: "honest" };
    await waitState(conn, "online", 10_000);
    expect(conn.error).toBeUndefined();
  });

  it("retrying after refusals backs off (the delay grows to the cap; no hammering)", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999); // every delay is its bound: 20, 40, 80, 160, 160 … ms
    const { relay, conn } = await sdkSetup({ kind: "abort-handshake", code: "DEVICE_NOT_TRUSTED" });
    await until(() => relay.opens >= 7, 10_000, "7 connection attempts");
    conn.close();
    const gaps = relay.sockets.slice(1, 7).map((s, i) => s.openedAt - relay.sockets[i]!.openedAt);
    const bounds = [20, 40, 80, 160, 160, 160];
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(Math.floor(bounds[i]! * 0.999) - 2));
  });

  it("an authenticated refusal (the host's sealed HostVerdict DEVICE_NOT_TRUSTED) still ends retrying: refused, DEVICE_REVOKED", async () => {
    const { relay, conn, states, errors } = await sdkSetup({ kind: "honest" }, false);
    const sent = conn.send("t_1", "to a host that revoked this device");
    await waitState(conn, "refused", 10_000);
    expect(conn.error).toMatchObject({ code: "DEVICE_REVOKED", protocolCode: "DEVICE_NOT_TRUSTED" });
    expect(relay.sockets[0]!.hostErrors).toEqual(["DEVICE_NOT_TRUSTED"]);
    await expect(sent).rejects.toMatchObject({ code: "DEVICE_REVOKED" });
    // No further attempts over several maximum backoff delays, and the socket was closed.
    const opens = relay.opens;
    await new Promise((r) => setTimeout(r, 4 * FAST.backoff.maxMs));
    expect(relay.opens).toBe(opens);
    expect(relay.sockets.every((s) => s.closedByDevice !== undefined || s.closedByRelay !== undefined)).toBe(true);
    expect(states.at(-1)).toBe("refused");
    expect(errors.map((e) => e.code)).toEqual(["DEVICE_REVOKED"]);
    // reconnectNow() does not undo a revocation.
    conn.reconnectNow();
    expect(conn.state).toBe("refused");
    expect(relay.opens).toBe(opens);
  });
});
