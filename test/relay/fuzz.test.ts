// Fuzz: more than 10,000 random and mutated frames thrown at a real relay from
// pending, host and device connections at once, checked against a model of the
// relay. The relay must never crash or wedge:
//
// - Room lanes own a room (a host and three allowlisted devices). Each step
//   one of them sends a batch: valid frames, harmless noise (host frames for
//   absent slots, random or nearly valid commands, pings) and often one fuzzed
//   frame (random bytes, random header fields, bit flips, truncation, huge
//   length fields, control frames with random JSON, oversize, text). The model
//   predicts exactly what the relay does with each frame: forward (with the
//   slot stamped and counters enforced), drop, kick, or close with which code.
//   A barrier ends every step (the last forwarded frame arrives, a command's
//   RESULT comes back, or the predicted close), so a stuck relay times out.
// - Pending lanes open unauthenticated connections (host and device routes, in
//   the lanes' rooms and in throwaway rooms) whose first frame is fuzzed; the
//   close code must be exactly the predicted one.
// Afterwards every fuzzed room, a fresh room and /health still work.
// - Route fuzz: mutated spellings of room paths (percent-escapes, bad room
//   ids, dot segments, queries, other methods) must each get exactly the
//   predicted answer; only a canonical path is upgraded, and no room that
//   never had a host stores anything.
//
// Seeded: the seed is printed; rerun one with RELAY_FUZZ_SEED=<seed>.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeClientMessage,
  decodeHeader,
  decodeRelayMessage,
  encodeControl,
  encodeFrame,
  frameBody,
  isEndToEndType,
  PING_TEXT,
  RelayClose,
  RelayFrame,
  roomIdFor,
  SignaturePurpose,
  toBase64Url,
  type Ed25519Signer,
  type FrameHeader,
  type HostCommand,
} from "../../protocol/src/index.ts";
import { webCryptoBackend } from "../../protocol/src/backend-webcrypto.ts";
import { connectDevice, debugRoom, publishAllowlist, rawRequest, RelayClient, startRelay, wsUrl, type Closed, type RelayServer } from "./harness.ts";
import { isRoomId } from "../../durable-objects/paths.ts";
import { allowlistedDevice, authFrame, closeOf, e2e, newHost, nextE2E, pairDevice, reconnectHost, sleep, type Host } from "./fixtures.ts";

const SEED = process.env.RELAY_FUZZ_SEED !== undefined ? Number(process.env.RELAY_FUZZ_SEED) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
const MAX_FRAME_BYTES = 4096;
const ROOM_LANES = 3;
const DEVICES_PER_ROOM = 3;
const PENDING_LANES = 3;
/** Fuzzed frames (not counting valid ones) each lane throws. */
const BUDGET = { room: 2300, pending: 1200 };
const WAIT_MS = 5000;

// ------------------------------------------------------------------ PRNG

/** sfc32: small, fast, good enough, and reproducible across platforms. */
function prng(seed: number) {
  let a = 0x9e3779b9,
    b = 0x243f6a88,
    c = 0xb7e15162,
    d = seed >>> 0;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 20; i++) next();
  const int = (n: number) => Math.floor(next() * n);
  const r = {
    next,
    int,
    chance: (p: number) => next() < p,
    pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]!,
    bytes: (n: number) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = int(256);
      return out;
    },
    u64: () => (BigInt(int(2 ** 32)) << 32n) | BigInt(int(2 ** 32)),
  };
  return r;
}
type Rng = ReturnType<typeof prng>;

// ------------------------------------------------------------------ generators

const KEY_POOL = ["id", "op", "key", "sig", "ticket", "hash", "expiresAt", "version", "keys", "slot", "v", "role", "__proto__", "constructor", ""];

function randomString(rng: Rng): string {
  switch (rng.int(5)) {
    case 0:
      return toBase64Url(rng.bytes(rng.pick([16, 31, 32, 33, 64])));
    case 1:
      return rng.pick(["ticket.add", "allowlist.set", "device.kick", "host", "device", "ping", "", "null"]);
    case 2:
      return String.fromCharCode(...Array.from({ length: rng.int(20) }, () => rng.int(0xd800)));
    case 3:
      return "x".repeat(rng.int(300));
    default:
      return toBase64Url(rng.bytes(rng.int(40)));
  }
}

function randomJson(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 4 : 6)) {
    case 0:
      return rng.pick([null, true, false]);
    case 1:
      return rng.pick([0, -1, 1, 65535, 65536, 2 ** 53, -(2 ** 63), 1e308, 0.5, Date.now(), Date.now() + rng.int(7_200_000) - 600_000]);
    case 2:
    case 3:
      return randomString(rng);
    case 4:
      return Array.from({ length: rng.int(5) }, () => randomJson(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(6); i > 0; i--) o[rng.chance(0.8) ? rng.pick(KEY_POOL) : randomString(rng)] = randomJson(rng, depth + 1);
      return o;
    }
  }
}

/** A command that is valid, or nearly (kicks sometimes name a live slot). */
function nearlyValidCommand(rng: Rng, liveSlots: readonly number[] = []): Record<string, unknown> {
  const id = rng.chance(0.9) ? `f${rng.int(1e6)}` : randomString(rng);
  const b64 = (n: number) => (rng.chance(0.9) ? toBase64Url(rng.bytes(n)) : randomString(rng));
  const cmd: Record<string, unknown> = (() => {
    switch (rng.int(3)) {
      case 0:
        return { id, op: "ticket.add", hash: b64(32), expiresAt: Date.now() + rng.int(7_200_000) - 600_000 };
      case 1:
        return { id, op: "allowlist.set", version: rng.int(5), keys: Array.from({ length: rng.int(4) }, () => b64(32)), sig: b64(64) };
      default: {
        if (rng.chance(0.3)) return { id, op: "device.kick" };
        const slot = liveSlots.length > 0 && rng.chance(0.3) ? rng.pick(liveSlots) : rng.int(70_000);
        return rng.chance(0.6) ? { id, op: "device.kick", slot } : { id, op: "device.kick", key: b64(32), ...(rng.chance(0.3) ? { slot } : {}) };
      }
    }
  })();
  if (rng.chance(0.2)) cmd[rng.pick(KEY_POOL)] = randomJson(rng);
  return cmd;
}

function randomHeaderFrame(rng: Rng): Uint8Array {
  const body = rng.bytes(rng.chance(0.8) ? rng.int(64) : rng.int(1200));
  const frame = new Uint8Array(20 + body.length);
  const v = new DataView(frame.buffer);
  v.setUint8(0, rng.chance(0.9) ? 1 : rng.int(256));
  v.setUint8(1, rng.pick([1, 2, 3, 0x20, 0x21, 0x24, 0x30, 0x31, 0x3f, 0x40, 0, rng.int(256)]));
  v.setUint16(2, rng.pick([0, 1, 2, 3, 0xffff, rng.int(0x10000)]));
  v.setUint32(4, rng.chance(0.5) ? 0 : rng.int(2 ** 32));
  v.setBigUint64(8, rng.pick([0n, 1n, 2n, 0xffffffffffffffffn, rng.u64()]));
  v.setUint32(16, rng.chance(0.9) ? body.length : rng.int(2 ** 32));
  frame.set(body, 20);
  return frame;
}

/** Mutations of a valid frame, and frames made from scratch. */
function fuzzFrame(rng: Rng, base: Uint8Array, liveSlots: readonly number[] = []): Uint8Array | string {
  const roll = rng.int(100);
  if (roll < 12) return rng.bytes(rng.chance(0.8) ? rng.int(64) : rng.int(600)); // random bytes
  if (roll < 30) return randomHeaderFrame(rng); // valid header shape, random fields
  if (roll < 48) {
    // bit flips, mostly in the header
    const f = Uint8Array.from(base);
    for (let i = 1 + rng.int(3); i > 0; i--) {
      const at = rng.chance(0.7) ? rng.int(Math.min(20, f.length)) : rng.int(f.length);
      f[at]! ^= 1 << rng.int(8);
    }
    return f;
  }
  if (roll < 58) return base.slice(0, rng.int(base.length)); // truncated
  if (roll < 64) {
    // huge or wrong length field
    const f = Uint8Array.from(base);
    new DataView(f.buffer).setUint32(16, rng.pick([0xffffffff, 0x7fffffff, MAX_FRAME_BYTES, base.length, rng.int(2 ** 32)]));
    return f;
  }
  if (roll < 68) {
    // trailing garbage
    const f = new Uint8Array(base.length + 1 + rng.int(30));
    f.set(base);
    f.set(rng.bytes(f.length - base.length), base.length);
    return f;
  }
  if (roll < 86) {
    // control frames with random or nearly valid JSON
    const type = rng.pick([RelayFrame.AUTH, RelayFrame.COMMAND, RelayFrame.COMMAND, RelayFrame.WELCOME, RelayFrame.PRESENCE, 0x2f, 0x3f]);
    if (rng.chance(0.1)) return encodeFrame({ type, slot: 0, epoch: 0, counter: 0n }, rng.bytes(rng.int(40))); // not UTF-8/JSON
    const body = rng.chance(0.5) ? nearlyValidCommand(rng, liveSlots) : randomJson(rng);
    return encodeControl(type as never, body);
  }
  if (roll < 88) return new Uint8Array(MAX_FRAME_BYTES + 1 + rng.int(3000)); // oversize
  if (roll < 92) return rng.pick(["ping", "pong", "", "PING", randomString(rng)]); // text
  return base; // the valid frame itself (replays, for stateful lanes)
}

// ------------------------------------------------------------------ the relay, modelled

type Verdict = { close: number } | { ping: true } | { e2e: FrameHeader } | { command: HostCommand | null };

/** What the relay does with one frame from an authenticated connection (durable-objects/room.ts). */
function classify(frame: Uint8Array | string, role: "host" | "device"): Verdict {
  if (typeof frame === "string") return frame === PING_TEXT ? { ping: true } : { close: RelayClose.FRAME_INVALID };
  if (frame.length > MAX_FRAME_BYTES) return { close: RelayClose.FRAME_TOO_LARGE };
  let header: FrameHeader;
  try {
    header = decodeHeader(frame, MAX_FRAME_BYTES);
  } catch {
    return { close: RelayClose.FRAME_INVALID };
  }
  if (isEndToEndType(header.type)) return { e2e: header };
  if (role === "host" && header.type === RelayFrame.COMMAND) {
    try {
      return { command: decodeClientMessage(RelayFrame.COMMAND, frameBody(frame)) };
    } catch {
      return { command: null }; // answered with NOTICE BAD_COMMAND
    }
  }
  return { close: RelayClose.FRAME_INVALID };
}

/** What the relay must answer to a pending connection's first frame. */
function expectedFirstClose(frame: Uint8Array | string): number | "open" {
  if (typeof frame === "string") return frame === PING_TEXT ? "open" : RelayClose.FRAME_INVALID;
  if (frame.length > MAX_FRAME_BYTES) return RelayClose.FRAME_TOO_LARGE;
  try {
    decodeHeader(frame, MAX_FRAME_BYTES);
  } catch {
    return RelayClose.FRAME_INVALID;
  }
  return RelayClose.AUTH_FAILED; // not AUTH, or an AUTH that cannot be valid
}

function stamped(frame: Uint8Array, slot: number): Uint8Array {
  const out = Uint8Array.from(frame);
  new DataView(out.buffer).setUint16(2, slot);
  return out;
}

function describeFrame(f: Uint8Array | string): string {
  if (typeof f === "string") return `text ${JSON.stringify(f.slice(0, 20))}`;
  return `${f.length} bytes [${Array.from(f.subarray(0, 24)).join(",")}${f.length > 24 ? ",…" : ""}]`;
}

// ------------------------------------------------------------------ lanes

let relay: RelayServer;
beforeAll(async () => {
  relay = await startRelay({ vars: { MAX_FRAME_BYTES: String(MAX_FRAME_BYTES) } });
  console.log(`relay fuzz seed ${SEED} (rerun with RELAY_FUZZ_SEED=${SEED})`);
});
afterAll(async () => {
  await relay?.dispose();
});

class Failure extends Error {}

/** Next end-to-end frame, skipping relay control messages. */
async function nextForwarded(client: RelayClient, what: string): Promise<Uint8Array> {
  for (;;) {
    let f: Uint8Array;
    try {
      f = await client.next(WAIT_MS);
    } catch (e) {
      throw new Failure(`${what}: ${(e as Error).message}`);
    }
    if (f[1]! < 0x20) return f;
  }
}

async function expectClose(client: RelayClient, code: number, what: string): Promise<Closed> {
  let closed: Closed;
  try {
    closed = await closeOf(client, WAIT_MS);
  } catch (e) {
    throw new Failure(`${what}: ${(e as Error).message} (expected close ${code})`);
  }
  if (closed.code !== code) throw new Failure(`${what}: closed ${closed.code} (${closed.reason}), expected ${code}`);
  return closed;
}

interface LaneDevice {
  key: Ed25519Signer;
  client: RelayClient | undefined;
  slot: number;
  /** Next counter the relay expects from the device. */
  up: bigint;
  /** Next counter the relay expects from the host for the device's slot. */
  down: bigint;
  /** Frames the device must receive, in order. */
  expect: Uint8Array[];
  /** The close the device must see (kicked by a command). */
  closing: number | undefined;
}

class RoomLane {
  fuzz = 0;
  valid = 0;
  steps = 0;
  hostConnections = 0;
  deviceConnections = 0;
  readonly closes: Record<string, number> = {};
  host: RelayClient | undefined;
  hostExpect: Uint8Array[] = [];
  readonly devices: LaneDevice[];
  #barriers = 0;

  constructor(
    readonly name: string,
    readonly rng: Rng,
    readonly key: Ed25519Signer,
    readonly room: string,
    deviceKeys: Ed25519Signer[],
  ) {
    this.devices = deviceKeys.map((key) => ({ key, client: undefined, slot: 0, up: 0n, down: 0n, expect: [], closing: undefined }));
  }

  #noted(code: number): void {
    this.closes[code] = (this.closes[code] ?? 0) + 1;
  }

  #live(): LaneDevice[] {
    return this.devices.filter((d) => d.client !== undefined && d.closing === undefined);
  }

  /** (Re)connects the host (devices then get 4011) and any device that is gone. */
  async ensure(): Promise<void> {
    if (!this.host) {
      this.host = (await reconnectHost(relay.url, { key: this.key, room: this.room })).client;
      this.hostConnections++;
      for (const d of this.devices) {
        if (!d.client) continue;
        await expectClose(d.client, RelayClose.HOST_RESTARTED, `${this.name}: device ${d.slot} after a host reconnect`);
        this.#noted(RelayClose.HOST_RESTARTED);
        d.client = undefined;
      }
    }
    for (const d of this.devices) {
      if (d.client) continue;
      const { client, welcome } = await connectDevice(relay.url, this.room, d.key);
      if (welcome.role !== "device") throw new Failure("not a device welcome");
      Object.assign(d, { client, slot: welcome.slot, up: 0n, down: 0n, expect: [], closing: undefined });
      this.deviceConnections++;
    }
  }

  async step(): Promise<void> {
    this.steps++;
    if (this.rng.chance(0.4)) await this.#hostStep();
    else await this.#deviceStep();
  }

  async #deviceStep(): Promise<void> {
    const rng = this.rng;
    const d = rng.pick(this.devices);
    const frames: Array<Uint8Array | string> = [];
    let closed: number | undefined;
    let fuzzed: Uint8Array | string | undefined;
    const apply = (f: Uint8Array | string, fuzz: boolean) => {
      frames.push(f);
      if (fuzz) this.fuzz++;
      else this.valid++;
      if (closed !== undefined) return; // the relay closed the socket: nothing after counts
      const v = classify(f, "device");
      if ("close" in v) closed = v.close;
      else if ("e2e" in v) {
        if (v.e2e.counter !== d.up) closed = RelayClose.COUNTER_VIOLATION;
        else {
          this.hostExpect.push(stamped(f as Uint8Array, d.slot));
          d.up++;
        }
      }
    };
    const valid = () => e2e(rng.pick([0, d.slot, 1, 0xffff, rng.int(0x10000)]), d.up, rng.bytes(rng.int(200)), rng.pick([1, 2, 2, 3]));
    for (let i = 1 + rng.int(8); i > 0; i--) apply(valid(), false);
    if (rng.chance(0.6)) {
      fuzzed = fuzzFrame(rng, valid());
      apply(fuzzed, true);
      // A few more after a fatal one: the relay gets them on a closed socket.
      if (closed !== undefined) for (let i = rng.int(4); i > 0; i--) apply(fuzzFrame(rng, valid()), true);
    }
    if (closed === undefined) apply(valid(), false); // the barrier: it must reach the host
    for (const f of frames) d.client!.send(f);

    const what = `${this.name} step ${this.steps}, device ${d.slot}${fuzzed !== undefined ? ` after ${describeFrame(fuzzed)}` : ""}`;
    await this.#hostReceives(what);
    if (closed !== undefined) {
      await expectClose(d.client!, closed, what);
      this.#noted(closed);
      d.client = undefined;
    }
  }

  async #hostStep(): Promise<void> {
    const rng = this.rng;
    const frames: Array<Uint8Array | string> = [];
    let closed: number | undefined;
    let fuzzed: Uint8Array | string | undefined;
    const apply = (f: Uint8Array | string, fuzz: boolean) => {
      frames.push(f);
      if (fuzz) this.fuzz++;
      else this.valid++;
      if (closed !== undefined) return;
      const v = classify(f, "host");
      if ("close" in v) closed = v.close;
      else if ("e2e" in v) {
        const d = this.#live().find((x) => x.slot === v.e2e.slot);
        if (!d) return; // no such device: dropped
        if (v.e2e.counter !== d.down) closed = RelayClose.COUNTER_VIOLATION;
        else {
          d.expect.push(f as Uint8Array);
          d.down++;
        }
      } else if ("command" in v && v.command?.op === "device.kick") {
        const { key, slot } = v.command;
        for (const d of this.#live()) {
          if (key !== undefined && key === toBase64Url(d.key.publicKey)) d.closing = RelayClose.REVOKED;
          else if (slot !== undefined && slot === d.slot) d.closing = RelayClose.KICKED;
        }
      }
    };
    const liveSlots = () => this.#live().map((d) => d.slot);
    const toLive = (): Uint8Array | undefined => {
      const live = this.#live();
      if (live.length === 0) return undefined;
      const d = rng.pick(live);
      return e2e(d.slot, d.down, rng.bytes(rng.int(200)), rng.pick([1, 2, 2, 3]));
    };
    const noise = (): Uint8Array | string => {
      switch (rng.int(5)) {
        case 0:
        case 1: {
          // A well-formed frame with random fields for a slot nobody holds: dropped.
          let slot = rng.int(0x10000);
          while (liveSlots().includes(slot)) slot = rng.int(0x10000);
          const type = rng.pick([1, 2, 3]);
          return encodeFrame({ type, slot, epoch: type === 2 ? rng.int(2 ** 32) : 0, counter: rng.u64() }, rng.bytes(rng.int(300)));
        }
        case 2:
          return encodeControl(RelayFrame.COMMAND, randomJson(rng));
        case 3: {
          const cmd = nearlyValidCommand(rng, liveSlots());
          if (cmd.op === "device.kick" && "key" in cmd && rng.chance(0.2) && this.#live().length > 0)
            cmd.key = toBase64Url(rng.pick(this.#live()).key.publicKey);
          return encodeControl(RelayFrame.COMMAND, cmd);
        }
        default:
          return PING_TEXT;
      }
    };
    for (let i = 1 + rng.int(20); i > 0; i--) {
      const f = rng.chance(0.4) ? toLive() : undefined;
      if (f) apply(f, false);
      else apply(noise(), true);
    }
    if (rng.chance(0.3)) {
      fuzzed = fuzzFrame(rng, toLive() ?? (noise() as Uint8Array), liveSlots());
      apply(fuzzed, true);
      if (closed !== undefined) for (let i = rng.int(4); i > 0; i--) apply(fuzzFrame(rng, toLive() ?? e2e(1, 0)), true);
    }
    const barrier = closed === undefined ? `barrier${++this.#barriers}` : undefined;
    if (barrier) apply(encodeControl(RelayFrame.COMMAND, { id: barrier, op: "device.kick", slot: 0xffff }), false);
    for (const f of frames) this.host!.send(f);

    const what = `${this.name} step ${this.steps}, host${fuzzed !== undefined ? ` after ${describeFrame(fuzzed)}` : ""}`;
    if (barrier) await this.#hostResult(barrier, what);
    else {
      await expectClose(this.host!, closed!, what);
      this.#noted(closed!);
      this.host = undefined;
    }
    for (const d of this.devices) {
      if (!d.client) continue;
      for (const f of d.expect.splice(0)) {
        const got = await nextForwarded(d.client, `${what}: device ${d.slot}`);
        if (Buffer.compare(got, f) !== 0) throw new Failure(`${what}: device ${d.slot} got ${describeFrame(got)}, expected ${describeFrame(f)}`);
      }
      if (d.closing !== undefined) {
        await expectClose(d.client, d.closing, `${what}: device ${d.slot} kicked`);
        this.#noted(d.closing);
        d.client = undefined;
      }
    }
  }

  /** The host receives exactly the expected forwarded frames, in order. */
  async #hostReceives(what: string): Promise<void> {
    for (const f of this.hostExpect.splice(0)) {
      const got = await nextForwarded(this.host!, `${what}: host`);
      if (Buffer.compare(got, f) !== 0) throw new Failure(`${what}: host got ${describeFrame(got)}, expected ${describeFrame(f)}`);
    }
  }

  /** Waits for the barrier's RESULT; no device frame may reach the host meanwhile. */
  async #hostResult(id: string, what: string): Promise<void> {
    for (;;) {
      let f: Uint8Array;
      try {
        f = await this.host!.next(WAIT_MS);
      } catch (e) {
        throw new Failure(`${what}: waiting for RESULT ${id}: ${(e as Error).message}`);
      }
      if (f[1]! < 0x20) throw new Failure(`${what}: unexpected device frame at the host: ${describeFrame(f)}`);
      const m = decodeRelayMessage(f);
      if (m.type === RelayFrame.RESULT && m.body.id === id) return;
    }
  }

  /** Nothing unexpected left in any queue; then everything is closed. */
  async finish(): Promise<void> {
    await sleep(200);
    for (const c of [this.host, ...this.devices.map((d) => d.client)]) {
      if (!c) continue;
      const stray = c.drain().filter((f) => f[1]! < 0x20);
      if (stray.length > 0) throw new Failure(`${this.name}: stray frames at the end: ${stray.map(describeFrame).join("; ")}`);
      c.ws.terminate();
    }
  }
}

describe(`relay fuzz (seed ${SEED})`, () => {
  it("survives more than 10,000 random and mutated frames from pending, host and device connections", { timeout: 150_000 }, async () => {
    const root = prng(SEED);
    const laneSeed = () => root.int(2 ** 32);
    const lanes: RoomLane[] = [];
    const spareKeys: Ed25519Signer[] = [];
    for (let i = 0; i < ROOM_LANES; i++) {
      const setup = await newHost(relay.url);
      const keys = await Promise.all(Array.from({ length: DEVICES_PER_ROOM + 1 }, () => webCryptoBackend.generateSigner()));
      expect(
        (
          await publishAllowlist(
            setup.client,
            setup.key,
            1,
            keys.map((k) => k.publicKey),
          )
        ).ok,
      ).toBe(true);
      lanes.push(new RoomLane(`room ${i}`, prng(laneSeed()), setup.key, setup.room, keys.slice(0, DEVICES_PER_ROOM)));
      spareKeys.push(keys[DEVICES_PER_ROOM]!);
      setup.client.ws.terminate();
    }
    await sleep(100); // let the setup hosts' sockets go

    async function runRoomLane(lane: RoomLane): Promise<void> {
      while (lane.fuzz < BUDGET.room) {
        await lane.ensure();
        await lane.step();
      }
      await lane.finish();
    }

    interface PendingReport {
      name: string;
      fuzz: number;
      connections: number;
      closes: Record<string, number>;
    }
    const otherSigner = await webCryptoBackend.generateSigner();

    // Unauthenticated connections whose first frame is fuzzed. In the lanes'
    // rooms AUTH frames become COMMANDs (failed authentications would trip the
    // room's 429 limit, tested elsewhere) and nobody lingers (lingering pending
    // connections push out the lanes' own). Throwaway rooms take everything.
    // Each pending lane comes from its own address (CF-Connecting-IP), as
    // strangers would: the relay caps pending sockets per address, and the
    // lanes' hosts and devices come from 127.0.0.1.
    async function runPendingLane(rng: Rng, n: number): Promise<PendingReport> {
      const address = { "CF-Connecting-IP": `198.51.100.${10 + n}` };
      const r: PendingReport = { name: `pending ${n}`, fuzz: 0, connections: 0, closes: {} };
      const noted = (code: number) => (r.closes[code] = (r.closes[code] ?? 0) + 1);
      let throwaway = roomIdFor(rng.bytes(32));
      const lingering: RelayClient[] = [];
      while (r.fuzz < BUDGET.pending) {
        const lane = rng.chance(0.3) ? rng.pick(lanes) : undefined;
        const room = lane?.room ?? throwaway;
        let client: RelayClient;
        try {
          client = await RelayClient.connect(wsUrl(relay.url, room, rng.chance(0.5) ? "host" : "device"), address);
        } catch (e) {
          if (lane || !String(e).includes("HTTP 429")) throw new Failure(`${r.name}: connecting to ${room}: ${String(e)}`);
          noted(429); // this throwaway room saw 30 failed authentications: take another
          throwaway = roomIdFor(rng.bytes(32));
          continue;
        }
        r.connections++;
        if (!lane && rng.chance(0.08)) {
          client.ping();
          lingering.push(client);
          continue;
        }
        const base = lane
          ? e2e(rng.int(4), rng.int(3), rng.bytes(rng.int(50)))
          : await authFrame(
              client,
              rng.chance(0.5) ? lanes[0]!.key : otherSigner,
              rng.chance(0.5) ? SignaturePurpose.RELAY_HOST_AUTH : SignaturePurpose.RELAY_DEVICE_AUTH,
            );
        const first = fuzzFrame(rng, base);
        const frames: Array<Uint8Array | string> = [first];
        // A few more after it; never after an AUTH, which the relay checks asynchronously.
        if (typeof first === "string" || first[1] !== RelayFrame.AUTH) for (let i = rng.int(3); i > 0; i--) frames.push(fuzzFrame(rng, base));
        if (lane) for (const f of frames) if (typeof f !== "string" && f[1] === RelayFrame.AUTH) f[1] = RelayFrame.COMMAND;
        r.fuzz += frames.length;
        for (const f of frames) client.send(f);
        const expected = expectedFirstClose(first);
        if (expected === "open") {
          // A ping is answered by the runtime; what follows it is then the first frame.
          await sleep(20);
        } else {
          const what = `${r.name}: first frame ${describeFrame(first)}`;
          let closed: Closed;
          try {
            closed = await closeOf(client, WAIT_MS);
          } catch (e) {
            throw new Failure(`${what}: ${(e as Error).message} (expected close ${expected})`);
          }
          // In a throwaway room, the lane's own lingering connections may push this one out (4009) before its frame arrives.
          const pushedOut = !lane && closed.code === RelayClose.ROOM_FULL;
          if (closed.code !== expected && !pushedOut) throw new Failure(`${what}: closed ${closed.code} (${closed.reason}), expected ${expected}`);
          noted(closed.code);
        }
        client.ws.terminate();
      }
      for (const c of lingering) c.ws.terminate();
      return r;
    }

    const started = Date.now();
    let pendingReports: PendingReport[];
    try {
      [pendingReports] = await Promise.all([
        Promise.all(Array.from({ length: PENDING_LANES }, (_, i) => runPendingLane(prng(laneSeed()), i))),
        ...lanes.map(runRoomLane),
      ]);
    } catch (e) {
      if (e instanceof Failure) throw new Error(`seed ${SEED}: ${e.message}`);
      throw e;
    }
    const total = lanes.reduce((n, l) => n + l.fuzz, 0) + pendingReports.reduce((n, r) => n + r.fuzz, 0);
    console.log(
      `relay fuzz seed ${SEED}: ${total} fuzzed frames (+${lanes.reduce((n, l) => n + l.valid, 0)} valid) in ${Date.now() - started} ms\n` +
        lanes
          .map(
            (l) =>
              `  ${l.name}: ${l.fuzz} fuzzed, ${l.valid} valid, ${l.steps} steps, ${l.hostConnections} host and ${l.deviceConnections} device connections, closes ${JSON.stringify(l.closes)}`,
          )
          .concat(pendingReports.map((r) => `  ${r.name}: ${r.fuzz} fuzzed, ${r.connections} connections, closes ${JSON.stringify(r.closes)}`))
          .join("\n"),
    );
    expect(total).toBeGreaterThanOrEqual(10_000);

    // Afterwards: /health, every fuzzed room and a fresh room work end to end.
    const health = await fetch(`${relay.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    for (const [i, lane] of lanes.entries()) {
      const host: Host = await reconnectHost(relay.url, { key: lane.key, room: lane.room });
      expect(host.welcome).toEqual({ role: "host", devices: [], allowlistVersion: 1 });
      const device = await allowlistedDevice(relay.url, host, spareKeys[i]!);
      await exchange(host, device);
      // Nothing of the fuzz is left in the room's index once its sockets are gone.
      await waitFor(async () => {
        const kinds = (await debugRoom(relay.url, lane.room)).sockets.map((s) => (s as { kind: string }).kind).sort();
        return JSON.stringify(kinds) === JSON.stringify(["device", "host"]);
      }, `seed ${SEED}: ${lane.name}'s index kept stale sockets`);
      host.client.close();
      device.client.close();
    }
    const fresh = await newHost(relay.url);
    const freshDevice = await pairDevice(relay.url, fresh);
    await exchange(fresh, freshDevice);
    fresh.client.close();
    freshDevice.client.close();
  });
});

// ------------------------------------------------------------------ route fuzz

const ROOM_PATH = /^\/v1\/rooms\/([^/]+)\/([^/]+)$/; // Hono params are never empty

/** What the Worker answers (src/index.ts): status and JSON error code, or 101. */
function expectedRoute(method: string, rawPath: string, upgrade: boolean): { status: number; error?: string } {
  // The URL parser resolves dot segments ("%2e" included) before the Worker sees the path.
  const path = new URL(rawPath, "http://relay").pathname;
  if (path.includes("%")) return { status: 400, error: "BAD_PATH" };
  const m = ROOM_PATH.exec(path);
  if (!m || (m[2] !== "host" && m[2] !== "device")) return { status: 404, error: "NOT_FOUND" };
  if (method !== "GET") return { status: 405, error: "METHOD_NOT_ALLOWED" };
  if (!isRoomId(m[1]!)) return { status: 400, error: "BAD_ROOM" };
  return upgrade ? { status: 101 } : { status: 426, error: "UPGRADE_REQUIRED" };
}

/** A spelling of /v1/rooms/<room>/<role>, mutated or not. */
function mutatedPath(rng: Rng, room: string): string {
  const role = rng.pick(["host", "device"]);
  let path = `/v1/rooms/${room}/${role}`;
  const escape = (text: string, at: number) => {
    const hex = text.charCodeAt(at).toString(16).padStart(2, "0");
    return `${text.slice(0, at)}%${rng.chance(0.5) ? hex.toUpperCase() : hex}${text.slice(at + 1)}`;
  };
  for (let i = rng.chance(0.3) ? 0 : 1 + rng.int(3); i > 0; i--) {
    switch (rng.int(9)) {
      case 0:
      case 1:
        path = escape(path, 4 + rng.int(path.length - 4));
        break; // anywhere after "/v1/"
      case 2:
        path = path.replace(room, escape(room, rng.int(room.length)));
        break;
      case 3:
        path = path.replace(room, room.slice(0, rng.int(room.length)));
        break; // too short
      case 4:
        path = path.replace(room, room + rng.pick(["A", "-", "_", "AA"]));
        break; // too long
      case 5:
        path = path.replace(room, room.slice(0, 21) + rng.pick(["B", "Z", "_", "+", "="]));
        break; // trailing bits, alphabet
      case 6:
        path = path.replace(
          `/${role}`,
          rng.pick([`/${role.toUpperCase()}`, `/${role}/`, `/${role};x`, `/./${role}`, `/x/../${role}`, `//${role}`, "/debugx", "/"]),
        );
        break;
      case 7:
        path += rng.pick(["?v=1", "?", "#x", "?room=AAAA"]);
        break;
      default:
        path = path.replace("/rooms/", rng.pick(["/Rooms/", "/rooms//", "/room/", "/rooms/./"]));
        break;
    }
  }
  return path;
}

describe(`relay route fuzz (seed ${SEED})`, () => {
  it(
    "answers every spelling of a room path exactly as predicted; only canonical paths upgrade, and nothing is stored for rooms without a host",
    { timeout: 60_000 },
    async () => {
      const rng = prng(SEED ^ 0x5eed);
      const host = await newHost(relay.url);
      const rooms = [host.room, roomIdFor(rng.bytes(32)), roomIdFor(rng.bytes(32))];
      const counts: Record<string, number> = {};
      for (let i = 0; i < 600; i++) {
        const room = rng.pick(rooms);
        const path = mutatedPath(rng, room);
        // Non-GET upgrades cannot be sent through local workerd's dev proxy (it turns them into GETs).
        const upgrade = rng.chance(0.7);
        const method = upgrade ? "GET" : rng.pick(["GET", "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);
        const expected = expectedRoute(method, path, upgrade);
        const res = await rawRequest(relay.url, method, path, upgrade ? undefined : { "Content-Length": "0" });
        const got: { status: number; error?: string } = { status: res.status };
        if (res.status !== 101) got.error = (JSON.parse(res.body) as { error: string }).error;
        if (res.status === 405) expect(res.allow).toBe("GET");
        expect({ seed: SEED, method, path, upgrade, ...got }).toEqual({ seed: SEED, method, path, upgrade, ...expected });
        counts[got.error ?? "101"] = (counts[got.error ?? "101"] ?? 0) + 1;
      }
      console.log(`relay route fuzz seed ${SEED}: ${JSON.stringify(counts)}`);
      expect(Object.keys(counts).sort()).toEqual(["101", "BAD_PATH", "BAD_ROOM", "METHOD_NOT_ALLOWED", "NOT_FOUND", "UPGRADE_REQUIRED"]);
      // Rooms that never had a host store nothing; the hosted room kept its one name.
      for (const room of rooms.slice(1)) expect(((await debugRoom(relay.url, room)) as unknown as { storage: string[] }).storage).toEqual([]);
      host.client.close();
      const again = await reconnectHost(relay.url, host);
      expect((await publishAllowlist(again.client, host.key, 1, [rng.bytes(32)])).ok).toBe(true);
      again.client.close();
    },
  );
});

/** Frames both ways with counters from 0, slot stamped, bodies intact. */
async function exchange(host: Host, device: { client: RelayClient; slot: number }): Promise<void> {
  for (let i = 0; i < 5; i++) {
    device.client.send(e2e(9999, i, [i, 0xd]));
    expect(await nextE2E(host.client)).toMatchObject({ header: { slot: device.slot, counter: BigInt(i) }, body: [i, 0xd] });
    host.client.send(e2e(device.slot, i, [i, 0xb]));
    expect(await nextE2E(device.client)).toMatchObject({ header: { counter: BigInt(i) }, body: [i, 0xb] });
  }
}

async function waitFor(check: () => Promise<boolean>, message: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(message);
    await sleep(100);
  }
}
