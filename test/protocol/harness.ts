// Shared fixtures for protocol tests: a host identity, a device identity, a
// pairing registry, and helpers that run the handshake between two endpoints.
import {
  AirlockProtocolError,
  DeviceSession,
  HEADER_LENGTH,
  HostSession,
  PairingRegistry,
  derivePairingKeys,
  type ChannelTuning,
  type CryptoBackend,
  type DeviceClaim,
  type Ed25519Signer,
  type ErrorCode,
} from "../../protocol/src/index.ts";

export interface Fixture {
  backend: CryptoBackend;
  host: Ed25519Signer;
  device: Ed25519Signer;
  pairings: PairingRegistry;
  trusted: Set<string>;
  clock: { now: number };
}

/** `reuse` keeps identities from an earlier fixture (property tests: cheap fresh registries). */
export async function makeFixture(backend: CryptoBackend, reuse: { host?: Ed25519Signer; device?: Ed25519Signer } = {}): Promise<Fixture> {
  const clock = { now: 1_800_000_000 };
  return {
    backend,
    host: reuse.host ?? (await backend.generateSigner()),
    device: reuse.device ?? (await backend.generateSigner()),
    pairings: new PairingRegistry({ now: () => clock.now }),
    trusted: new Set(),
    clock,
  };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export interface HostSessionOptions {
  versions?: readonly number[];
  /** Another host identity (e.g. an impostor's). */
  hostSigner?: Ed25519Signer;
}

export function hostSession(f: Fixture, tuning: ChannelTuning = {}, slot = 1, opts: HostSessionOptions = {}): HostSession {
  return new HostSession({
    backend: f.backend,
    hostSigner: opts.hostSigner ?? f.host,
    pairings: f.pairings,
    isTrustedDevice: (key) => f.trusted.has(hex(key)),
    slot,
    tuning,
    ...(opts.versions ? { versions: opts.versions } : {}),
  });
}

export function trust(f: Fixture, key: Uint8Array): void {
  f.trusted.add(hex(key));
}

export interface DeviceOptions {
  hostKey?: Uint8Array;
  tuning?: ChannelTuning;
  signer?: Ed25519Signer;
  versions?: readonly number[];
  deviceName?: string;
}

export function pairingDevice(
  f: Fixture,
  secret: Uint8Array,
  opts: DeviceOptions & {
    /** Use this PSK instead of the one derived from `secret` (the pairing id still comes from `secret`). */
    psk?: Uint8Array;
  } = {},
): DeviceSession {
  const keys = derivePairingKeys(secret);
  return new DeviceSession({
    backend: f.backend,
    hostPublicKey: opts.hostKey ?? f.host.publicKey,
    deviceSigner: opts.signer ?? f.device,
    deviceName: opts.deviceName ?? "Test phone",
    pairing: { pairingId: keys.pairingId, psk: opts.psk ?? keys.psk },
    tuning: opts.tuning ?? {},
    ...(opts.versions ? { versions: opts.versions } : {}),
  });
}

export function resumingDevice(f: Fixture, opts: DeviceOptions = {}): DeviceSession {
  return new DeviceSession({
    backend: f.backend,
    hostPublicKey: opts.hostKey ?? f.host.publicKey,
    deviceSigner: opts.signer ?? f.device,
    deviceName: opts.deviceName ?? "Test phone",
    tuning: opts.tuning ?? {},
    ...(opts.versions ? { versions: opts.versions } : {}),
  });
}

/** Runs a full handshake in memory; the host accepts whatever it verifies. */
export async function connect(device: DeviceSession, host: HostSession): Promise<{ sas: string; frames: Uint8Array[] }> {
  const frames: Uint8Array[] = [];
  const hello = await device.start();
  frames.push(hello);
  const serverHello = (await host.receive(hello)).reply!;
  frames.push(serverHello);
  const { reply: auth, sas } = await device.receive(serverHello);
  frames.push(auth!);
  const { claim } = await host.receive(auth!);
  if (claim!.sas !== sas) throw new Error("SAS differs");
  const verdict = await host.accept();
  frames.push(verdict);
  const { opened } = await device.receive(verdict);
  if (!opened) throw new Error("device did not open");
  return { sas: sas!, frames };
}

// ------------------------------------------------------- tamperable handshake

/** The four handshake messages, in order; even steps go device → host. */
export const HandshakeStep = { CLIENT_HELLO: 0, SERVER_HELLO: 1, CLIENT_AUTH: 2, HOST_VERDICT: 3 } as const;
export type HandshakeStep = (typeof HandshakeStep)[keyof typeof HandshakeStep];
export type Side = "host" | "device";

export interface HandshakeOutcome {
  deviceOpen: boolean;
  hostOpen: boolean;
  /** The first failure: which side threw, while processing which step's frame. */
  failure?: { side: Side; step: HandshakeStep; error: unknown };
  /** The genuine (untampered) frames as the sender produced them. */
  genuine: Uint8Array[];
  /** The frames actually delivered. */
  delivered: Uint8Array[];
  deviceSas?: string;
  claim?: DeviceClaim;
}

export interface RunHandshakeOptions {
  /** Rewrites a frame in transit (the relay); return the frame itself to pass it on. */
  tamper?: (step: HandshakeStep, frame: Uint8Array) => Uint8Array;
  /** The host operator's decision on a verified device; default: accept. */
  decide?: (claim: DeviceClaim) => "accept" | ErrorCode;
}

/**
 * Runs the handshake step by step through a tampering relay, stopping at the
 * first failure instead of throwing, so tests can assert who failed and how.
 */
export async function runHandshake(device: DeviceSession, host: HostSession, opts: RunHandshakeOptions = {}): Promise<HandshakeOutcome> {
  const tamper = opts.tamper ?? ((_s, f) => f);
  const out: HandshakeOutcome = { deviceOpen: false, hostOpen: false, genuine: [], delivered: [] };
  const pass = (step: HandshakeStep, frame: Uint8Array): Uint8Array => {
    out.genuine.push(frame.slice());
    const sent = tamper(step, frame.slice());
    out.delivered.push(sent);
    return sent;
  };
  const attempt = async <T>(side: Side, step: HandshakeStep, op: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await op();
    } catch (error) {
      out.failure = { side, step, error };
      return undefined;
    }
  };
  const hello = await device.start();
  const r0 = await attempt("host", 0, () => host.receive(pass(0, hello)));
  if (!r0) return out;
  if (!r0.reply) throw new Error("host did not answer ClientHello");
  const r1 = await attempt("device", 1, () => device.receive(pass(1, r0.reply!)));
  if (!r1) return out;
  if (r1.sas !== undefined) out.deviceSas = r1.sas;
  const r2 = await attempt("host", 2, () => host.receive(pass(2, r1.reply!)));
  if (!r2) return out;
  out.claim = r2.claim!;
  const decision = opts.decide ? opts.decide(r2.claim!) : "accept";
  const verdict = decision === "accept" ? await host.accept() : await host.reject(decision);
  out.hostOpen = host.currentState === "open";
  const r3 = await attempt("device", 3, () => device.receive(pass(3, verdict)));
  if (!r3) return out;
  out.deviceOpen = r3.opened !== undefined && device.currentState === "open";
  return out;
}

// ------------------------------------------------------------ frame helpers

/** Byte offsets of the header fields (header.ts). */
export const HeaderField = {
  version: [0, 1],
  type: [1, 2],
  slot: [2, 4],
  epoch: [4, 8],
  counter: [8, 16],
  length: [16, 20],
} as const satisfies Record<string, readonly [number, number]>;
export type HeaderFieldName = keyof typeof HeaderField;

export function headerFieldAt(byteIndex: number): HeaderFieldName | "body" {
  if (byteIndex >= HEADER_LENGTH) return "body";
  for (const [name, [from, to]] of Object.entries(HeaderField)) if (byteIndex >= from && byteIndex < to) return name as HeaderFieldName;
  throw new Error("unreachable");
}

/** A copy of `frame` with bit `bit` (0 = most significant bit of byte 0) flipped. */
export function flipBit(frame: Uint8Array, bit: number): Uint8Array {
  const out = frame.slice();
  out[bit >> 3]! ^= 0x80 >> (bit & 7);
  return out;
}

export function readEpoch(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(4);
}

export function readCounter(frame: Uint8Array): bigint {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getBigUint64(8);
}

export function withEpoch(frame: Uint8Array, epoch: number): Uint8Array {
  const out = frame.slice();
  new DataView(out.buffer).setUint32(4, epoch);
  return out;
}

/** Awaits `p` and returns the protocol error it rejected with; fails the test on success or on any other error type. */
export async function protocolError(p: Promise<unknown>): Promise<AirlockProtocolError> {
  let value: unknown;
  try {
    value = await p;
  } catch (e) {
    if (e instanceof AirlockProtocolError) return e;
    throw new Error(`expected an AirlockProtocolError, got ${String(e)}`);
  }
  throw new Error(`expected an AirlockProtocolError, got a result: ${JSON.stringify(Object.keys(value ?? {}))}`);
}
