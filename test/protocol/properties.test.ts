// Property tests for the protocol's fail-closed behaviour: tampering,
// replays, ratchets, pairing limits, identity checks, downgrades, low-order
// keys and garbage input. Each property states exactly which error the
// receiving side must report, so a regression that accepts (or mis-reports) a
// forged frame fails here.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  AirlockProtocolError,
  Channel,
  DeviceSession,
  FrameType,
  HEADER_LENGTH,
  HostSession,
  MAX_COUNTER,
  MAX_PAIRING_FAILURES,
  PUBLIC_KEY_LENGTH,
  SERVER_HELLO_PUBLIC_LENGTH,
  concatBytes,
  decodeClientHello,
  decodeHeader,
  derivePairingKeys,
  encodeClientHello,
  encodeFrame,
  frameBody,
  isKnownFrameType,
  nobleBackend,
  secureRandom,
  type ChannelTuning,
  type ClientHello,
  type CryptoBackend,
  type ErrorCode,
} from "../../protocol/src/index.ts";
import { webCryptoBackend } from "../../protocol/src/backend-webcrypto.ts";
import {
  HandshakeStep,
  connect,
  flipBit,
  headerFieldAt,
  hostSession,
  makeFixture,
  pairingDevice,
  protocolError,
  readCounter,
  readEpoch,
  resumingDevice,
  runHandshake,
  trust,
  withEpoch,
  type Fixture,
  type Side,
} from "./harness.ts";

type Mode = "pair" | "resume";
const sideArb = fc.constantFrom<Side>("host", "device");
const modeArb = fc.constantFrom<Mode>("pair", "resume");
const other = (s: Side): Side => (s === "host" ? "device" : "host");
const bytesEq = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && Buffer.from(a).equals(Buffer.from(b));

/** Picks a bit position in a frame: half the runs in the 20-byte header, half in the body. */
const bitPickArb = fc.record({ inHeader: fc.boolean(), offset: fc.nat() }).map(
  ({ inHeader, offset }) =>
    (frameLength: number) =>
      inHeader ? offset % (HEADER_LENGTH * 8) : HEADER_LENGTH * 8 + (offset % ((frameLength - HEADER_LENGTH) * 8)),
);

interface Base {
  backend: CryptoBackend;
  host: Fixture["host"];
  device: Fixture["device"];
}

async function makeBase(backend: CryptoBackend): Promise<Base> {
  const f = await makeFixture(backend);
  return { backend, host: f.host, device: f.device };
}

/** A fresh registry and trust list around long-lived identities (signer generation is not what we test). */
async function fresh(base: Base): Promise<Fixture> {
  const f = await makeFixture(base.backend, { host: base.host, device: base.device });
  trust(f, base.device.publicKey);
  return f;
}

function endpoints(f: Fixture, mode: Mode, tuning: ChannelTuning = {}): { device: DeviceSession; host: HostSession } {
  const host = hostSession(f, tuning);
  const device = mode === "pair" ? pairingDevice(f, f.pairings.create().secret, { tuning }) : resumingDevice(f, { tuning });
  return { device, host };
}

async function openPair(f: Fixture, tuning: ChannelTuning = {}, mode: Mode = "resume") {
  const pair = endpoints(f, mode, tuning);
  await connect(pair.device, pair.host);
  return pair;
}

interface Expected {
  side: Side;
  codes: readonly ErrorCode[];
  remote?: boolean;
}

/**
 * What flipping `bit` of handshake message `step` must do. Header faults are
 * caught by whoever receives the frame; body faults by whoever can first tell:
 * a changed ClientHello key only shows at the device, whose transcript (and
 * so handshake key) differs from the host's.
 */
function expectedHandshakeFailure(step: HandshakeStep, frame: Uint8Array, bit: number): Expected | "unaffected" {
  const byte = bit >> 3;
  const flipped = frame[byte]! ^ (0x80 >> (bit & 7));
  const receiver: Side = step % 2 === 0 ? "host" : "device";
  const at = (side: Side, ...codes: ErrorCode[]): Expected => ({ side, codes });
  switch (headerFieldAt(byte)) {
    case "slot":
      return "unaffected";
    case "version":
    case "epoch":
    case "length":
      return at(receiver, "FRAME_MALFORMED");
    case "counter":
      return at(receiver, "COUNTER_MISMATCH");
    case "type":
      if (flipped === FrameType.ABORT) return { side: receiver, codes: ["HANDSHAKE_ABORTED"], remote: true };
      return at(receiver, isKnownFrameType(flipped) ? "UNEXPECTED_MESSAGE" : "FRAME_MALFORMED");
    case "body":
      break;
  }
  const j = byte - HEADER_LENGTH;
  if (j === 0) return at(receiver, "HANDSHAKE_MALFORMED"); // message type
  switch (step) {
    case HandshakeStep.CLIENT_HELLO:
      if (j === 1 || j === 2) return at("host", "HANDSHAKE_MALFORMED"); // mode, version count
      if (j === 3) return at("host", flipped === 0 ? "HANDSHAKE_MALFORMED" : "NO_COMMON_VERSION");
      if (j < 4 + PUBLIC_KEY_LENGTH) return at("device", "HANDSHAKE_DECRYPT_FAILED"); // ephemeral key
      return at("host", "PAIRING_UNKNOWN"); // pairing id
    case HandshakeStep.SERVER_HELLO:
      if (j === 1) return at("device", flipped === 0 ? "HANDSHAKE_MALFORMED" : "DOWNGRADE_DETECTED");
      return at("device", "HANDSHAKE_DECRYPT_FAILED"); // ephemeral key or sealed signature
    case HandshakeStep.CLIENT_AUTH:
      return at("host", "HANDSHAKE_DECRYPT_FAILED");
    case HandshakeStep.HOST_VERDICT:
      return at("device", "HANDSHAKE_DECRYPT_FAILED");
  }
}

/**
 * The code a receiver reports for a frame that is not the one it expects
 * (foreign, reflected or forged), from its receive state: the counter is
 * checked first, then the epoch, then authentication.
 */
function expectedForeignFrame(frame: Uint8Array, receiver: { nextCounter: bigint; epoch: number }): ErrorCode {
  if (readCounter(frame) !== receiver.nextCounter) return "COUNTER_MISMATCH";
  const e = readEpoch(frame);
  if (e !== receiver.epoch && e !== receiver.epoch + 1) return "EPOCH_MISMATCH";
  return "FRAME_DECRYPT_FAILED";
}

/** The code for a DATA frame with one bit flipped, given the receiver's key epoch. */
function expectedDataFailure(tampered: Uint8Array, bit: number, receiverEpoch: number): Expected | "unaffected" {
  const byte = bit >> 3;
  const r = (...codes: ErrorCode[]): Expected => ({ side: "host", codes }); // side is filled in by the caller
  switch (headerFieldAt(byte)) {
    case "slot":
      return "unaffected";
    case "version":
    case "length":
      return r("FRAME_MALFORMED");
    case "type":
      // DATA→ABORT is an (unauthenticated) abort in sequence when the epoch is 0; anything else is malformed.
      if (tampered[1] === FrameType.ABORT && readEpoch(tampered) === 0) return { side: "host", codes: ["HANDSHAKE_ABORTED"], remote: true };
      return r("FRAME_MALFORMED");
    case "epoch": {
      const e = readEpoch(tampered);
      return r(e === receiverEpoch || e === receiverEpoch + 1 ? "FRAME_DECRYPT_FAILED" : "EPOCH_MISMATCH");
    }
    case "counter":
      return r("COUNTER_MISMATCH");
    case "body":
      return r("FRAME_DECRYPT_FAILED");
  }
}

/** Tracks what one direction's receiver has accepted, to predict its verdict on foreign frames. */
class Link {
  sent = 0;
  received = 0;
  lastEpoch = 0;
  constructor(
    readonly sender: DeviceSession | HostSession,
    readonly receiver: DeviceSession | HostSession,
  ) {}
  get receiverState() {
    return { nextCounter: 2n + BigInt(this.received), epoch: this.lastEpoch };
  }
  async send(payload: Uint8Array = secureRandom(1 + (this.sent % 40))): Promise<Uint8Array> {
    this.sent++;
    return this.sender.send(payload);
  }
  async deliver(frame: Uint8Array, payload?: Uint8Array): Promise<void> {
    const got = await this.receiver.receive(frame);
    if (payload) expect(bytesEq(got.payload, payload)).toBe(true);
    else expect(got.payload).toBeInstanceOf(Uint8Array);
    this.received++;
    this.lastEpoch = readEpoch(frame);
  }
  async roundTrip(): Promise<void> {
    const payload = secureRandom(this.sent % 50);
    await this.deliver(await this.send(payload), payload);
  }
}

function links(pair: { device: DeviceSession; host: HostSession }): Record<Side, Link> {
  // Keyed by sender.
  return { device: new Link(pair.device, pair.host), host: new Link(pair.host, pair.device) };
}

const sessionOf = (pair: { device: DeviceSession; host: HostSession }, side: Side) => (side === "host" ? pair.host : pair.device);

// Low-order X25519 u-coordinates (RFC 7748 §5 / libsodium's blocklist), plus
// the same values with the ignored top bit set and non-canonical encodings.
const LOW_ORDER_POINTS = [
  "0000000000000000000000000000000000000000000000000000000000000000", // 0
  "0100000000000000000000000000000000000000000000000000000000000000", // 1
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p - 1
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p (≡ 0)
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p + 1 (≡ 1)
  "0000000000000000000000000000000000000000000000000000000000000080", // 0, top bit set
  "0100000000000000000000000000000000000000000000000000000000000080", // 1, top bit set
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // p - 1, top bit set
].map((h) => Uint8Array.from(Buffer.from(h, "hex")));

/** Replaces the ephemeral key inside a ClientHello or ServerHello frame (the header is unchanged). */
function withEphemeral(step: HandshakeStep, frame: Uint8Array, key: Uint8Array): Uint8Array {
  const out = frame.slice();
  const body = frameBody(out);
  const at = step === HandshakeStep.CLIENT_HELLO ? 3 + body[2]! : SERVER_HELLO_PUBLIC_LENGTH - PUBLIC_KEY_LENGTH;
  body.set(key, at);
  return out;
}

/** Re-encodes a ClientHello frame with another version list (the relay can rewrite lengths too). */
function withOfferedVersions(frame: Uint8Array, versions: number[]): Uint8Array {
  const header = decodeHeader(frame);
  const hello: ClientHello = { ...decodeClientHello(frameBody(frame)), versions };
  return encodeFrame({ type: header.type, slot: header.slot, epoch: header.epoch, counter: header.counter }, encodeClientHello(hello));
}

const BACKENDS = [
  { backend: nobleBackend, scale: 1 },
  { backend: webCryptoBackend, scale: 0.3 },
] as const;

describe.each(BACKENDS)("protocol properties over $backend.name", ({ backend, scale }) => {
  // AIRLOCK_PROPERTY_SCALE=10 runs ten times as many cases (a deeper local run).
  const runs = (n: number) => Math.max(5, Math.round(n * scale * Number(process.env.AIRLOCK_PROPERTY_SCALE ?? 1)));

  // ---------------------------------------------------------------- handshake tampering

  /** Runs one handshake with bit `pick(frame.length)` of message `step` flipped and checks the outcome. */
  async function checkHandshakeFlip(base: Base, mode: Mode, step: HandshakeStep, pick: (frameLength: number) => number): Promise<void> {
    const f = await fresh(base);
    const { device, host } = endpoints(f, mode);
    let bit = -1;
    let original: Uint8Array = new Uint8Array(0);
    const out = await runHandshake(device, host, {
      tamper: (s, frame) => {
        if (s !== step) return frame;
        original = frame;
        bit = pick(frame.length);
        return flipBit(frame, bit);
      },
    });
    const expected = expectedHandshakeFailure(step, original, bit);
    if (expected === "unaffected") {
      expect(out.failure).toBeUndefined();
      expect(out.deviceOpen && out.hostOpen).toBe(true);
      return;
    }
    // The attack succeeds only if both sides open a session: they never do.
    expect(out.deviceOpen && out.hostOpen).toBe(false);
    const failure = out.failure!;
    expect(failure).toBeDefined();
    expect(failure.error).toBeInstanceOf(AirlockProtocolError);
    const err = failure.error as AirlockProtocolError;
    expect(failure.side).toBe(expected.side);
    expect(expected.codes).toContain(err.code);
    expect(err.remote).toBe(expected.remote ?? false);
    const failing = failure.side === "host" ? host : device;
    expect(failing.currentState).toBe("closed");
    expect(failing.error?.code).toBe(err.code);
    // Fail closed: the genuine frame is refused afterwards.
    expect((await protocolError(failing.receive(out.genuine[failure.step]!))).code).toBe("CHANNEL_CLOSED");
    expect(out.deviceOpen).toBe(false);
  }

  it("a single flipped bit in any handshake message fails closed with the expected code at the expected side", async () => {
    const base = await makeBase(backend);
    await fc.assert(
      fc.asyncProperty(modeArb, fc.constantFrom<HandshakeStep>(0, 1, 2, 3), bitPickArb, (mode, step, pick) => checkHandshakeFlip(base, mode, step, pick)),
      { numRuns: runs(120) },
    );
  });

  it("every bit of the structural fields (frame type, message type, mode, versions) is covered exhaustively", async () => {
    const base = await makeBase(backend);
    // Body bytes before the first key or ciphertext, per message.
    const structural: Record<HandshakeStep, number> = { 0: 4, 1: 2, 2: 1, 3: 1 };
    for (const step of [0, 1, 2, 3] as const) {
      for (const mode of step === 0 ? (["pair", "resume"] as const) : (["pair"] as const)) {
        const bytes = [1, ...Array.from({ length: structural[step] }, (_, j) => HEADER_LENGTH + j)]; // header type, then body
        for (const byte of bytes) for (let b = 0; b < 8; b++) await checkHandshakeFlip(base, mode, step, () => byte * 8 + b);
      }
    }
  });

  it("the relay may rewrite the slot of any handshake and data frame: it is outside the transcript and the AAD", async () => {
    const base = await makeBase(backend);
    await fc.assert(
      fc.asyncProperty(
        modeArb,
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 0xffff }), { minLength: 1, maxLength: 6 }),
        async (mode, handshakeMasks, dataMasks) => {
          const f = await fresh(base);
          const { device, host } = endpoints(f, mode);
          const xorSlot = (frame: Uint8Array, mask: number) => {
            const out = frame.slice();
            new DataView(out.buffer).setUint16(2, new DataView(out.buffer).getUint16(2) ^ mask);
            return out;
          };
          const out = await runHandshake(device, host, { tamper: (s, frame) => xorSlot(frame, handshakeMasks[s]!) });
          expect(out.failure).toBeUndefined();
          expect(out.deviceOpen && out.hostOpen).toBe(true);
          expect(out.claim!.sas).toBe(out.deviceSas);
          expect(device.result!.sessionId).toEqual(host.result!.sessionId);
          for (const [i, mask] of dataMasks.entries()) {
            const payload = secureRandom(i * 7);
            const [from, to] = i % 2 === 0 ? [device, host] : [host, device];
            const got = await to.receive(xorSlot(await from.send(payload), mask));
            expect(bytesEq(got.payload, payload)).toBe(true);
          }
        },
      ),
      { numRuns: runs(40) },
    );
  });

  it("offered versions are bound to the transcript: a relay stripping or rewriting versions is detected", async () => {
    const base = await makeBase(backend);
    // ServerHello naming a version the device never offered: DOWNGRADE_DETECTED (0 is malformed).
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 255 }).filter((v) => v !== 1),
        modeArb,
        async (v, mode) => {
          const f = await fresh(base);
          const { device, host } = endpoints(f, mode);
          const out = await runHandshake(device, host, {
            tamper: (s, frame) => {
              if (s !== HandshakeStep.SERVER_HELLO) return frame;
              const t = frame.slice();
              t[HEADER_LENGTH + 1] = v;
              return t;
            },
          });
          expect(out.failure?.side).toBe("device");
          expect((out.failure?.error as AirlockProtocolError).code).toBe(v === 0 ? "HANDSHAKE_MALFORMED" : "DOWNGRADE_DETECTED");
        },
      ),
      { numRuns: runs(30) },
    );
  });

  it("replacing an ephemeral key with a low-order X25519 point fails LOW_ORDER_KEY", async () => {
    const base = await makeBase(backend);
    for (const point of LOW_ORDER_POINTS) {
      for (const step of [HandshakeStep.CLIENT_HELLO, HandshakeStep.SERVER_HELLO] as const) {
        const f = await fresh(base);
        const { device, host } = endpoints(f, step === 0 ? "pair" : "resume");
        const out = await runHandshake(device, host, { tamper: (s, frame) => (s === step ? withEphemeral(step, frame, point) : frame) });
        expect(out.failure?.side).toBe(step === 0 ? "host" : "device");
        expect((out.failure?.error as AirlockProtocolError).code).toBe("LOW_ORDER_KEY");
        expect(out.deviceOpen || out.hostOpen).toBe(false);
      }
    }
  });

  // --------------------------------------------------------------- data-phase tampering

  it("a single flipped bit in a DATA frame fails closed; the genuine frame is then refused (CHANNEL_CLOSED)", async () => {
    const base = await makeBase(backend);
    await fc.assert(
      fc.asyncProperty(fc.array(sideArb, { maxLength: 9 }), sideArb, fc.uint8Array({ maxLength: 600 }), bitPickArb, async (prior, sender, payload, pick) => {
        const f = await fresh(base);
        const pair = await openPair(f, { rekeyAfterMessages: 3 });
        const l = links(pair);
        for (const s of prior) await l[s].roundTrip();
        const frame = await l[sender].send(payload);
        const bit = pick(frame.length);
        const tampered = flipBit(frame, bit);
        const receiver = sessionOf(pair, other(sender));
        const expected = expectedDataFailure(tampered, bit, l[sender].lastEpoch);
        if (expected === "unaffected") {
          expect(bytesEq((await receiver.receive(tampered)).payload, payload)).toBe(true);
          return;
        }
        const err = await protocolError(receiver.receive(tampered));
        expect(expected.codes).toContain(err.code);
        expect(err.remote).toBe(expected.remote ?? false);
        expect(receiver.currentState).toBe("closed");
        expect((await protocolError(receiver.receive(frame))).code).toBe("CHANNEL_CLOSED");
        expect((await protocolError(receiver.send(payload))).code).toBe("CHANNEL_CLOSED");
      }),
      { numRuns: runs(80) },
    );
  });

  it("replayed, reordered, dropped and reflected DATA frames are rejected with the predicted code", async () => {
    const base = await makeBase(backend);
    await fc.assert(
      fc.asyncProperty(fc.array(sideArb, { maxLength: 9 }), sideArb, fc.constantFrom("replay", "reorder", "drop", "reflect"), async (prior, sender, attack) => {
        const f = await fresh(base);
        const pair = await openPair(f, { rekeyAfterMessages: 3 });
        const l = links(pair);
        for (const s of prior) await l[s].roundTrip();
        const link = l[sender];
        const receiver = link.receiver;
        const first = await link.send();
        switch (attack) {
          case "replay": {
            await link.deliver(first);
            expect((await protocolError(receiver.receive(first))).code).toBe("COUNTER_MISMATCH");
            break;
          }
          case "reorder": {
            const second = await link.send();
            expect((await protocolError(receiver.receive(second))).code).toBe("COUNTER_MISMATCH");
            expect((await protocolError(receiver.receive(first))).code).toBe("CHANNEL_CLOSED");
            break;
          }
          case "drop": {
            const second = await link.send();
            const third = await link.send();
            expect((await protocolError(receiver.receive(third))).code).toBe("COUNTER_MISMATCH");
            expect((await protocolError(receiver.receive(second))).code).toBe("CHANNEL_CLOSED");
            break;
          }
          case "reflect": {
            // A frame fed back to its own sender: the counter may even line
            // up, but the key and nonce direction differ.
            const back = l[other(sender)]; // what the original sender has received so far
            const code = expectedForeignFrame(first, back.receiverState);
            expect((await protocolError(link.sender.receive(first))).code).toBe(code);
            break;
          }
        }
        expect(receiver.currentState === "closed" || link.sender.currentState === "closed").toBe(true);
      }),
      { numRuns: runs(60) },
    );
  });

  it("frames from another session between the same host and device are rejected", async () => {
    const base = await makeBase(backend);
    await fc.assert(
      fc.asyncProperty(fc.array(sideArb, { maxLength: 5 }), fc.array(sideArb, { maxLength: 5 }), sideArb, async (priorA, priorB, sender) => {
        const f = await fresh(base);
        const a = links(await openPair(f, { rekeyAfterMessages: 2 }));
        const b = links(await openPair(f, { rekeyAfterMessages: 2 }));
        for (const s of priorA) await a[s].roundTrip();
        for (const s of priorB) await b[s].roundTrip();
        const foreign = await a[sender].send();
        const code = expectedForeignFrame(foreign, b[sender].receiverState);
        expect((await protocolError(b[sender].receiver.receive(foreign))).code).toBe(code);
      }),
      { numRuns: runs(25) },
    );
    // And every handshake message: session B's endpoints given session A's frame.
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<HandshakeStep>(0, 1, 2, 3), async (step) => {
        const f = await fresh(base);
        const a = endpoints(f, "resume");
        const recorded = await runHandshake(a.device, a.host);
        expect(recorded.deviceOpen && recorded.hostOpen).toBe(true);
        const b = endpoints(f, "resume");
        const out = await runHandshake(b.device, b.host, { tamper: (s, frame) => (s === step ? recorded.genuine[s]! : frame) });
        expect(out.deviceOpen && out.hostOpen).toBe(false);
        // A replayed ClientHello is answered, but the device's transcript differs.
        expect(out.failure?.side).toBe(step === HandshakeStep.CLIENT_AUTH ? "host" : "device");
        expect((out.failure?.error as AirlockProtocolError).code).toBe("HANDSHAKE_DECRYPT_FAILED");
      }),
      { numRuns: runs(12) },
    );
  });

  // ----------------------------------------------------------------------- ratchet

  it("random interleaved traffic with frequent ratchets decrypts in order with the expected epochs", async () => {
    const base = await makeBase(backend);
    const command = fc.oneof(
      fc.record({ kind: fc.constant("send" as const), from: sideArb, size: fc.integer({ min: 0, max: 700 }) }),
      fc.record({ kind: fc.constant("deliver" as const), from: sideArb, count: fc.integer({ min: 1, max: 4 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 40 }), async (commands) => {
        const f = await fresh(base);
        const pair = await openPair(f, { rekeyAfterMessages: 3 });
        const queues: Record<Side, { frame: Uint8Array; payload: Uint8Array }[]> = { host: [], device: [] };
        const sent: Record<Side, number> = { host: 0, device: 0 };
        const delivered: Record<Side, number> = { host: 0, device: 0 };
        const deliver = async (from: Side, count: number) => {
          for (let i = 0; i < count && queues[from].length > 0; i++) {
            const { frame, payload } = queues[from].shift()!;
            const got = await sessionOf(pair, other(from)).receive(frame);
            expect(bytesEq(got.payload, payload)).toBe(true);
            delivered[from]++;
          }
        };
        for (const c of commands) {
          if (c.kind === "send") {
            const payload = secureRandom(c.size);
            const frame = await sessionOf(pair, c.from).send(payload);
            // A sender ratchets after every 3 frames: frame i (from 0) uses epoch ⌊i/3⌋.
            expect(readEpoch(frame)).toBe(Math.floor(sent[c.from] / 3));
            expect(readCounter(frame)).toBe(2n + BigInt(sent[c.from]));
            sent[c.from]++;
            queues[c.from].push({ frame, payload });
          } else {
            await deliver(c.from, c.count);
          }
        }
        await deliver("host", Infinity);
        await deliver("device", Infinity);
        expect(delivered).toEqual(sent);
      }),
      { numRuns: runs(50) },
    );
  });

  it("a forged epoch on an otherwise genuine frame is rejected (epoch+1: authentication, epoch+2: EPOCH_MISMATCH)", async () => {
    const base = await makeBase(backend);
    await fc.assert(
      fc.asyncProperty(fc.array(sideArb, { maxLength: 10 }), sideArb, fc.constantFrom(1, 2, -1), async (prior, sender, delta) => {
        const f = await fresh(base);
        const pair = await openPair(f, { rekeyAfterMessages: 3 });
        const l = links(pair);
        for (const s of prior) await l[s].roundTrip();
        const frame = await l[sender].send();
        const epoch = readEpoch(frame) + delta;
        fc.pre(epoch >= 0);
        const forged = withEpoch(frame, epoch);
        const expected = expectedForeignFrame(forged, l[sender].receiverState);
        if (delta === 2) expect(expected).toBe("EPOCH_MISMATCH");
        const err = await protocolError(l[sender].receiver.receive(forged));
        expect(err.code).toBe(expected);
        expect((await protocolError(l[sender].receiver.receive(frame))).code).toBe("CHANNEL_CLOSED");
      }),
      { numRuns: runs(40) },
    );
  });

  it("a receiver stops a sender that never ratchets: KEY_EXHAUSTED after maxMessagesPerEpoch frames in one epoch", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 40 }), async (max, senderRekey, frames) => {
        const k1 = secureRandom(32);
        const k2 = secureRandom(32);
        const sender = new Channel({
          backend,
          role: "device",
          sendKey: k1,
          receiveKey: k2,
          sendCounter: 2n,
          receiveCounter: 2n,
          rekeyAfterMessages: senderRekey,
          maxMessagesPerEpoch: senderRekey + 1,
        });
        const receiver = new Channel({
          backend,
          role: "host",
          sendKey: k2,
          receiveKey: k1,
          sendCounter: 2n,
          receiveCounter: 2n,
          rekeyAfterMessages: max - 1,
          maxMessagesPerEpoch: max,
        });
        for (let i = 0; i < frames; i++) {
          const payload = Uint8Array.of(i);
          const frame = await sender.seal(payload);
          // Frame i sits at position i mod senderRekey of its epoch; the receiver allows `max` per epoch.
          if (senderRekey > max && i % senderRekey >= max) {
            expect(i).toBe(max); // the first frame over the limit
            expect((await protocolError(receiver.open(frame))).code).toBe("KEY_EXHAUSTED");
            expect(receiver.closed).toBe(true);
            expect((await protocolError(receiver.open(await sender.seal(payload)))).code).toBe("CHANNEL_CLOSED");
            return;
          }
          expect(bytesEq(await receiver.open(frame), payload)).toBe(true);
          expect(receiver.receiveEpoch).toBe(Math.floor(i / senderRekey));
        }
      }),
      { numRuns: runs(100) },
    );
  });

  it("the send counter stops at 2^63-1 with KEY_EXHAUSTED instead of wrapping", async () => {
    const k1 = secureRandom(32);
    const k2 = secureRandom(32);
    const sender = new Channel({ backend, role: "device", sendKey: k1, receiveKey: k2, sendCounter: MAX_COUNTER, receiveCounter: 2n });
    const receiver = new Channel({ backend, role: "host", sendKey: k2, receiveKey: k1, sendCounter: 2n, receiveCounter: MAX_COUNTER });
    const last = await sender.seal(Uint8Array.of(1));
    expect(readCounter(last)).toBe(MAX_COUNTER);
    expect(bytesEq(await receiver.open(last), Uint8Array.of(1))).toBe(true);
    expect((await protocolError(sender.seal(Uint8Array.of(2)))).code).toBe("KEY_EXHAUSTED");
    expect(sender.closed).toBe(true);
  });

  // ----------------------------------------------------------------------- pairing

  it("pairing attempts are capped per link; wrong-PSK attempts do not consume it", async () => {
    const base = await makeBase(backend);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: MAX_PAIRING_FAILURES + 2 }), async (failed) => {
        const f = await fresh(base);
        const { secret } = f.pairings.create();
        // The i-th ClientHello (from 0) for a link: below the cap it is answered,
        // the one at the cap is refused and burns the link, later ones find nothing.
        const hostVerdictOn = (i: number): ErrorCode | undefined =>
          i < MAX_PAIRING_FAILURES ? undefined : i === MAX_PAIRING_FAILURES ? "PAIRING_RATE_LIMITED" : "PAIRING_UNKNOWN";
        for (let i = 0; i < failed; i++) {
          const attacker = pairingDevice(f, secret, { psk: secureRandom(32) });
          const out = await runHandshake(attacker, hostSession(f));
          const expected = hostVerdictOn(i);
          expect(out.failure?.side).toBe(expected ? "host" : "device");
          expect((out.failure?.error as AirlockProtocolError).code).toBe(expected ?? "HANDSHAKE_DECRYPT_FAILED");
        }
        const out = await runHandshake(pairingDevice(f, secret), hostSession(f));
        const expected = hostVerdictOn(failed);
        if (expected) {
          expect(out.failure?.side).toBe("host");
          expect((out.failure?.error as AirlockProtocolError).code).toBe(expected);
        } else {
          expect(out.failure).toBeUndefined();
          expect(out.deviceOpen && out.hostOpen).toBe(true);
        }
      }),
      { numRuns: runs(16) },
    );
  });

  it("a pairing link expires: a ClientHello at or after expiresAt fails PAIRING_EXPIRED", async () => {
    const base = await makeBase(backend);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3600 }), fc.integer({ min: -5, max: 5 }), async (ttl, skew) => {
        const f = await fresh(base);
        const pending = f.pairings.create(ttl);
        expect(pending.expiresAt).toBe(f.clock.now + ttl);
        f.clock.now = pending.expiresAt + skew;
        const out = await runHandshake(pairingDevice(f, pending.secret), hostSession(f));
        if (skew >= 0) {
          expect(out.failure?.side).toBe("host");
          expect((out.failure?.error as AirlockProtocolError).code).toBe("PAIRING_EXPIRED");
          // Expired links are dropped: the next attempt finds nothing.
          const again = await runHandshake(pairingDevice(f, pending.secret), hostSession(f));
          expect((again.failure?.error as AirlockProtocolError).code).toBe("PAIRING_UNKNOWN");
        } else {
          expect(out.deviceOpen && out.hostOpen).toBe(true);
        }
      }),
      { numRuns: runs(16) },
    );
  });

  // ------------------------------------------------------------------ robustness

  describe("garbage from a peer only ever raises AirlockProtocolError", () => {
    const anyBody = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      // Bodies shaped like each handshake message, so decoding gets past the length checks.
      fc
        .tuple(fc.constantFrom(1, 2, 3), fc.integer({ min: 0, max: 9 }), fc.uint8Array({ minLength: 0, maxLength: 60 }))
        .map(([mode, n, rest]) => concatBytes(Uint8Array.of(1, mode, n), rest)),
      fc
        .tuple(fc.constantFrom(1, 2), fc.integer({ min: 1, max: 8 }), fc.uint8Array({ minLength: 48, maxLength: 48 }))
        .map(([mode, v, rest]) => concatBytes(Uint8Array.of(1, mode, 1, v), rest.subarray(0, mode === 1 ? 48 : 32))),
      fc.tuple(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 112, maxLength: 112 })).map(([v, r]) => concatBytes(Uint8Array.of(2, v), r)),
      fc.uint8Array({ minLength: 177, maxLength: 177 }).map((r) => concatBytes(Uint8Array.of(3), r)),
      fc.uint8Array({ minLength: 17, maxLength: 17 }).map((r) => concatBytes(Uint8Array.of(4), r)),
      fc.uint8Array({ minLength: 1, maxLength: 1 }),
      fc.uint8Array({ minLength: 272, maxLength: 600 }),
    );
    const frameArb = (expectedCounter: bigint) =>
      fc.oneof(
        fc.uint8Array({ maxLength: 400 }),
        fc
          .record({
            type: fc.oneof(fc.constantFrom(FrameType.HANDSHAKE, FrameType.DATA, FrameType.ABORT), fc.integer({ min: 0, max: 255 })),
            slot: fc.integer({ min: 0, max: 0xffff }),
            epoch: fc.oneof(fc.constant(0), fc.constant(1), fc.nat()),
            counter: fc.oneof(fc.constant(expectedCounter), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
            body: anyBody,
          })
          .map(({ type, slot, epoch, counter, body }) => encodeFrame({ type, slot, epoch, counter }, body)),
      );

    type DeviceState = "idle" | "handshake" | "verifying" | "open" | "closed";
    type HostState = "fresh" | "sent-hello" | "verifying" | "open" | "closed";
    const nextCounter = { idle: 0n, handshake: 0n, verifying: 1n, open: 2n, closed: 0n, fresh: 0n, "sent-hello": 1n } as const;

    async function deviceAt(base: Base, state: DeviceState, mode: Mode): Promise<DeviceSession> {
      const f = await fresh(base);
      const { device, host } = endpoints(f, mode);
      if (state === "idle") return device;
      const hello = await device.start();
      if (state === "handshake") return device;
      if (state === "closed") {
        device.close();
        return device;
      }
      const { reply } = await device.receive((await host.receive(hello)).reply!);
      if (state === "verifying") return device;
      await host.receive(reply!);
      await device.receive(await host.accept());
      return device;
    }

    async function hostAt(base: Base, state: HostState, mode: Mode): Promise<HostSession> {
      const f = await fresh(base);
      const { device, host } = endpoints(f, mode);
      if (state === "fresh") return host;
      if (state === "closed") {
        host.close();
        return host;
      }
      const serverHello = (await host.receive(await device.start())).reply!;
      if (state === "sent-hello") return host;
      await host.receive((await device.receive(serverHello)).reply!);
      if (state === "verifying") return host;
      await host.accept();
      return host;
    }

    async function feed(session: DeviceSession | HostSession, frame: Uint8Array): Promise<void> {
      let result: { payload?: unknown; opened?: unknown; claim?: unknown };
      try {
        result = await session.receive(frame);
      } catch (e) {
        expect(e).toBeInstanceOf(AirlockProtocolError);
        expect(session.currentState).toBe("closed");
        return;
      }
      // Garbage never authenticates: no payload, no verified claim, no open session.
      expect(result.payload).toBeUndefined();
      expect(result.opened).toBeUndefined();
      expect(result.claim).toBeUndefined();
    }

    it("device at every state", async () => {
      const base = await makeBase(backend);
      const states: DeviceState[] = ["idle", "handshake", "verifying", "open", "closed"];
      await fc.assert(
        fc.asyncProperty(
          fc
            .constantFrom(...states)
            .chain((state) => fc.tuple(fc.constant(state), modeArb, fc.array(frameArb(nextCounter[state]), { minLength: 1, maxLength: 3 }))),
          async ([state, mode, frames]) => {
            const device = await deviceAt(base, state, mode);
            for (const frame of frames) await feed(device, frame);
          },
        ),
        { numRuns: runs(150) },
      );
    });

    it("host at every state", async () => {
      const base = await makeBase(backend);
      const states: HostState[] = ["fresh", "sent-hello", "verifying", "open", "closed"];
      await fc.assert(
        fc.asyncProperty(
          fc
            .constantFrom(...states)
            .chain((state) => fc.tuple(fc.constant(state), modeArb, fc.array(frameArb(nextCounter[state]), { minLength: 1, maxLength: 3 }))),
          async ([state, mode, frames]) => {
            const host = await hostAt(base, state, mode);
            for (const frame of frames) await feed(host, frame);
          },
        ),
        { numRuns: runs(150) },
      );
    });
  });
});

// ------------------------------------------------------ identity and verdict checks

describe("identity checks", () => {
  const backend = nobleBackend;

  it("a device holding the wrong host key fails HOST_SIGNATURE_INVALID (pair and resume)", async () => {
    const f = await makeFixture(backend);
    trust(f, f.device.publicKey);
    const impostor = await backend.generateSigner();
    for (const device of [pairingDevice(f, f.pairings.create().secret, { hostKey: impostor.publicKey }), resumingDevice(f, { hostKey: impostor.publicKey })]) {
      const host = hostSession(f);
      const out = await runHandshake(device, host);
      expect(out.failure?.side).toBe("device");
      expect((out.failure?.error as AirlockProtocolError).code).toBe("HOST_SIGNATURE_INVALID");
      // The device never revealed its identity: it never sent ClientAuth.
      expect(out.delivered).toHaveLength(2);
    }
  });

  it("a device with the right pairing id but the wrong PSK fails HANDSHAKE_DECRYPT_FAILED", async () => {
    const f = await makeFixture(backend);
    const real = f.pairings.create();
    const other = f.pairings.create();
    const psk = derivePairingKeys(other.secret).psk;
    const out = await runHandshake(pairingDevice(f, real.secret, { psk }), hostSession(f));
    expect(out.failure?.side).toBe("device");
    expect((out.failure?.error as AirlockProtocolError).code).toBe("HANDSHAKE_DECRYPT_FAILED");
  });

  it("an untrusted device resuming fails DEVICE_NOT_TRUSTED at the host and gets an authenticated refusal", async () => {
    const f = await makeFixture(backend); // nothing trusted
    const device = resumingDevice(f);
    const host = hostSession(f);
    const out = await runHandshake(device, host);
    expect(out.failure?.side).toBe("host");
    const err = out.failure?.error as AirlockProtocolError;
    expect(err.code).toBe("DEVICE_NOT_TRUSTED");
    expect(host.currentState).toBe("closed");
    // The device proved its key, so the host's refusal is a sealed HostVerdict, not a bare ABORT.
    expect(err.reply).toBeInstanceOf(Uint8Array);
    expect(host.failureFrame(err)).toBe(err.reply);
    const seen = await protocolError(device.receive(err.reply!));
    expect(seen.code).toBe("DEVICE_NOT_TRUSTED");
    expect(seen.remote).toBe(true);
    expect(device.currentState).toBe("closed");
  });

  it("the refusal is authenticated: a relay cannot forge or alter it, only replace it with an ABORT", async () => {
    const f = await makeFixture(backend);
    const device = resumingDevice(f);
    const host = hostSession(f);
    const out = await runHandshake(device, host);
    const reply = (out.failure?.error as AirlockProtocolError).reply!;
    // Any bit of the sealed status flipped: the device cannot read it as any verdict.
    for (const bit of [(HEADER_LENGTH + 1) * 8, (HEADER_LENGTH + 1) * 8 + 7, reply.length * 8 - 1]) {
      const d = resumingDevice(f);
      const h = hostSession(f);
      const o = await runHandshake(d, h);
      const r = (o.failure?.error as AirlockProtocolError).reply!;
      expect((await protocolError(d.receive(flipBit(r, bit)))).code).toBe("HANDSHAKE_DECRYPT_FAILED");
    }
    // The genuine refusal still works for the original device.
    expect((await protocolError(device.receive(reply))).remote).toBe(true);
  });

  it("an operator rejecting the SAS sends an authenticated SAS_REJECTED", async () => {
    const f = await makeFixture(backend);
    const device = pairingDevice(f, f.pairings.create().secret);
    const out = await runHandshake(device, hostSession(f), { decide: () => "SAS_REJECTED" });
    expect(out.hostOpen).toBe(false);
    expect(out.failure?.side).toBe("device");
    const err = out.failure?.error as AirlockProtocolError;
    expect(err.code).toBe("SAS_REJECTED");
    expect(err.remote).toBe(true);
  });

  it("a device signature that does not verify fails DEVICE_SIGNATURE_INVALID, trusted key or not", async () => {
    const f = await makeFixture(backend);
    trust(f, f.device.publicKey);
    const stranger = await backend.generateSigner();
    // Claims the trusted device's key but signs with another one.
    const liar = { publicKey: f.device.publicKey, sign: (m: Uint8Array) => stranger.sign(m) };
    for (const device of [resumingDevice(f, { signer: liar }), pairingDevice(f, f.pairings.create().secret, { signer: liar })]) {
      const out = await runHandshake(device, hostSession(f));
      expect(out.failure?.side).toBe("host");
      expect((out.failure?.error as AirlockProtocolError).code).toBe("DEVICE_SIGNATURE_INVALID");
    }
    // A device presenting the host's own key is refused too.
    const out = await runHandshake(pairingDevice(f, f.pairings.create().secret, { signer: f.host }), hostSession(f));
    expect((out.failure?.error as AirlockProtocolError).code).toBe("DEVICE_SIGNATURE_INVALID");
  });

  it("a pairing link is single use, even for two handshakes racing on it", async () => {
    const f = await makeFixture(backend);
    const { secret } = f.pairings.create();
    await connect(pairingDevice(f, secret), hostSession(f));
    const late = await runHandshake(pairingDevice(f, secret), hostSession(f));
    expect(late.failure?.side).toBe("host");
    expect((late.failure?.error as AirlockProtocolError).code).toBe("PAIRING_UNKNOWN");

    // Two devices start with one link before either finishes: only the first ClientAuth wins.
    const link = f.pairings.create();
    const [d1, d2] = [pairingDevice(f, link.secret), pairingDevice(f, link.secret)];
    const [h1, h2] = [hostSession(f), hostSession(f)];
    const auth1 = (await d1.receive((await h1.receive(await d1.start())).reply!)).reply!;
    const auth2 = (await d2.receive((await h2.receive(await d2.start())).reply!)).reply!;
    expect((await h1.receive(auth1)).claim).toBeDefined();
    expect((await protocolError(h2.receive(auth2))).code).toBe("PAIRING_UNKNOWN");
  });

  it("a link expiring between ClientHello and ClientAuth is not consumed late", async () => {
    const f = await makeFixture(backend);
    const pending = f.pairings.create(60);
    const device = pairingDevice(f, pending.secret);
    const host = hostSession(f);
    const serverHello = (await host.receive(await device.start())).reply!;
    const auth = (await device.receive(serverHello)).reply!;
    f.clock.now = pending.expiresAt;
    // consume() refuses an expired link and the handshake says so.
    expect((await protocolError(host.receive(auth))).code).toBe("PAIRING_EXPIRED");
    // …and the link is gone: a fresh attempt finds nothing.
    expect(() => f.pairings.begin(derivePairingKeys(pending.secret).pairingId)).toThrow(/unknown or was already used/);
  });
});

describe("version negotiation", () => {
  const backend = nobleBackend;

  it("a device offering [2, 1] to a host speaking only 1 agrees on 1", async () => {
    const f = await makeFixture(backend);
    const device = pairingDevice(f, f.pairings.create().secret, { versions: [2, 1] });
    const host = hostSession(f, {}, 1, { versions: [1] });
    await connect(device, host);
    expect(device.result!.version).toBe(1);
    expect(host.result!.version).toBe(1);
  });

  it("a host with no version in common fails NO_COMMON_VERSION", async () => {
    const f = await makeFixture(backend);
    const out = await runHandshake(pairingDevice(f, f.pairings.create().secret, { versions: [1] }), hostSession(f, {}, 1, { versions: [2] }));
    expect(out.failure?.side).toBe("host");
    expect((out.failure?.error as AirlockProtocolError).code).toBe("NO_COMMON_VERSION");
  });

  it("a relay stripping the best version from ClientHello is caught by the transcript", async () => {
    const f = await makeFixture(backend);
    const device = pairingDevice(f, f.pairings.create().secret, { versions: [2, 1] });
    const host = hostSession(f, {}, 1, { versions: [2, 1] });
    const out = await runHandshake(device, host, {
      tamper: (s, frame) => (s === HandshakeStep.CLIENT_HELLO ? withOfferedVersions(frame, [1]) : frame),
    });
    // The host happily picks 1, but the device's transcript has [2, 1].
    expect(out.failure?.side).toBe("device");
    expect((out.failure?.error as AirlockProtocolError).code).toBe("HANDSHAKE_DECRYPT_FAILED");
  });

  it("a relay rewriting the selected version to a lower offered one is caught by the transcript", async () => {
    const f = await makeFixture(backend);
    const device = pairingDevice(f, f.pairings.create().secret, { versions: [3, 2, 1] });
    const host = hostSession(f, {}, 1, { versions: [2, 1] });
    const out = await runHandshake(device, host, {
      tamper: (s, frame) => {
        if (s !== HandshakeStep.SERVER_HELLO) return frame;
        expect(frame[HEADER_LENGTH + 1]).toBe(2);
        const t = frame.slice();
        t[HEADER_LENGTH + 1] = 1;
        return t;
      },
    });
    expect(out.failure?.side).toBe("device");
    expect((out.failure?.error as AirlockProtocolError).code).toBe("HANDSHAKE_DECRYPT_FAILED");
  });
});

describe("key exhaustion through sessions", () => {
  it("a device with a low per-epoch limit stops a host that ratchets too rarely", async () => {
    const f = await makeFixture(nobleBackend);
    trust(f, f.device.publicKey);
    const device = resumingDevice(f, { tuning: { rekeyAfterMessages: 3, maxMessagesPerEpoch: 4 } });
    const host = hostSession(f, { rekeyAfterMessages: 10 });
    await connect(device, host);
    for (let i = 0; i < 4; i++) expect((await device.receive(await host.send(Uint8Array.of(i)))).payload).toEqual(Uint8Array.of(i));
    expect((await protocolError(device.receive(await host.send(Uint8Array.of(4))))).code).toBe("KEY_EXHAUSTED");
    expect(device.error?.code).toBe("KEY_EXHAUSTED");
  });
});
