// Builds the golden handshake vectors (test/vectors/handshake-v1.json) from
// fixed inputs. generate-golden.ts writes the file with the noble backend;
// golden.test.ts rebuilds it from the stored inputs with both backends and
// replays the stored frames against each side.
//
// Everything here is deterministic: Ed25519 signatures (RFC 8032) and
// AES-GCM are, the X25519 ephemerals come from the inputs through the
// sessions' `random` option, the pairing registry and the channels run on a
// fixed clock, and JSON key order is fixed by construction.
import {
  DeviceSession,
  FrameType,
  HandshakeMode,
  HostSession,
  PairingRegistry,
  PROTOCOL_VERSION,
  bytesEqual,
  decodeHeader,
  derivePairingKeys,
  encodePairingLink,
  fromHex,
  ratchetKey,
  relayTicketHash,
  roomIdFor,
  sha256,
  textEncoder,
  toHex,
  type ChannelTuning,
  type CryptoBackend,
  type HandshakeResult,
  type RandomSource,
} from "../../protocol/src/index.ts";

// ------------------------------------------------------------------ inputs

/** How a payload is given in the JSON: literal hex, UTF-8 text, or a byte pattern. */
export type PayloadSpec =
  | { name: string; length: number; sha256: string; hex: string }
  | { name: string; length: number; sha256: string; utf8: string }
  | {
      name: string;
      length: number;
      sha256: string;
      pattern: { formula: string; multiplier: number; offset: number };
    };

export interface DataStep {
  from: "device" | "host";
  payload: string;
}

export interface SectionInputs {
  /** 32-byte X25519 private scalars returned by each side's `random(32)` (the only call it makes). */
  deviceEphemeralPrivateKey: string;
  hostEphemeralPrivateKey: string;
  /** Data frames sent after the handshake, in order. */
  data: DataStep[];
}

export interface GoldenInputs {
  description: string;
  hostEd25519Seed: string;
  deviceEd25519Seed: string;
  pairingSecret: string;
  /** Unix seconds: the host's and device's clock when the vectors were made. */
  clockSeconds: number;
  pairingExpiresAt: number;
  deviceName: string;
  appUrl: string;
  relayUrl: string;
  /** Relay slot the host addresses the device with (device→host frames are sent with slot 0). */
  hostSlot: number;
  tuning: { rekeyAfterMessages: number };
  payloads: PayloadSpec[];
  pair: SectionInputs;
  resume: SectionInputs;
}

// ----------------------------------------------------------------- outputs

export interface GoldenFrame {
  index: number;
  direction: "device->host" | "host->device";
  kind: "ClientHello" | "ServerHello" | "ClientAuth" | "HostVerdict" | "Data";
  counter: string;
  epoch: number;
  slot: number;
  length: number;
  /** Data frames: the payload name (inputs.payloads) the frame carries. */
  payload?: string;
  hex: string;
}

export interface SideKeys {
  sendKey: string;
  receiveKey: string;
}

export interface GoldenSection {
  description: string;
  mode: "pair" | "resume";
  derived: {
    description: string;
    version: number;
    deviceEphemeralPublicKey: string;
    hostEphemeralPublicKey: string;
    sas: string;
    sessionId: string;
    device: SideKeys;
    host: SideKeys;
    /** k[1] = ratchetKey(k[0], 1) per direction: the keys of the epoch-1 frames. */
    epoch1: { deviceToHost: string; hostToDevice: string };
  };
  frames: GoldenFrame[];
}

export interface GoldenFile {
  description: string;
  protocolVersion: number;
  inputs: GoldenInputs;
  identity: {
    description: string;
    hostPublicKey: string;
    devicePublicKey: string;
    roomId: string;
    pairingId: string;
    psk: string;
    relayTicket: string;
    relayTicketHash: string;
    pairingLink: string;
  };
  pair: GoldenSection;
  resume: GoldenSection;
}

// ------------------------------------------------------------- fixed inputs

const label = (s: string): string => toHex(sha256(textEncoder.encode(`airlock golden v1: ${s}`)));

function patternBytes(length: number, multiplier: number, offset: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * multiplier + offset) & 0xff;
  return out;
}

const PATTERN_FORMULA = "byte[i] = (multiplier * i + offset) mod 256, i = 0 .. length-1";

function hexPayload(name: string, bytes: Uint8Array): PayloadSpec {
  return { name, length: bytes.length, sha256: toHex(sha256(bytes)), hex: toHex(bytes) };
}

function utf8Payload(name: string, text: string): PayloadSpec {
  const bytes = textEncoder.encode(text);
  return { name, length: bytes.length, sha256: toHex(sha256(bytes)), utf8: text };
}

function patternPayload(name: string, length: number, multiplier: number, offset: number): PayloadSpec {
  return {
    name,
    length,
    sha256: toHex(sha256(patternBytes(length, multiplier, offset))),
    pattern: { formula: PATTERN_FORMULA, multiplier, offset },
  };
}

export function fixedInputs(): GoldenInputs {
  return {
    description:
      "Fixed inputs. Seeds, secret and ephemeral private keys are SHA-256('airlock golden v1: <what>') " +
      "(any 32 bytes would do). Ed25519 seeds are RFC 8032 private keys; ephemeral private keys are the " +
      "32 bytes each side's random(32) returns (X25519 clamps them, RFC 7748). Both sessions run with " +
      "tuning.rekeyAfterMessages so each sender ratchets to epoch 1 on its third data frame, and on a " +
      "fixed clock (clockSeconds) so no time-based rekey happens.",
    hostEd25519Seed: label("host ed25519 seed"),
    deviceEd25519Seed: label("device ed25519 seed"),
    pairingSecret: label("pairing secret"),
    clockSeconds: 1_800_000_000,
    pairingExpiresAt: 1_800_000_300,
    deviceName: "Golden phone",
    appUrl: "https://app.airlock.example/pair",
    relayUrl: "https://relay.airlock.example",
    hostSlot: 3,
    tuning: { rekeyAfterMessages: 2 },
    payloads: [
      hexPayload("empty", new Uint8Array(0)),
      hexPayload("ten", patternBytes(10, 1, 0x30)),
      utf8Payload("envelope", '{"v":1,"type":"thread.start","id":"c1","body":{"prompt":"fix the failing test"}}'),
      hexPayload("bucket-edge-252", patternBytes(252, 7, 1)),
      hexPayload("three-hundred", patternBytes(300, 13, 5)),
      patternPayload("kilobyte-1020", 1020, 3, 0x11),
      patternPayload("large-70000", 70_000, 31, 7),
    ],
    pair: {
      deviceEphemeralPrivateKey: label("pair device x25519 ephemeral"),
      hostEphemeralPrivateKey: label("pair host x25519 ephemeral"),
      data: [
        { from: "device", payload: "empty" },
        { from: "host", payload: "three-hundred" },
        { from: "device", payload: "ten" },
        { from: "host", payload: "envelope" },
        { from: "device", payload: "three-hundred" },
        { from: "host", payload: "large-70000" },
        { from: "host", payload: "ten" },
      ],
    },
    resume: {
      deviceEphemeralPrivateKey: label("resume device x25519 ephemeral"),
      hostEphemeralPrivateKey: label("resume host x25519 ephemeral"),
      data: [
        { from: "device", payload: "envelope" },
        { from: "host", payload: "empty" },
        { from: "device", payload: "bucket-edge-252" },
        { from: "host", payload: "kilobyte-1020" },
        { from: "device", payload: "empty" },
        { from: "host", payload: "ten" },
        { from: "device", payload: "ten" },
      ],
    },
  };
}

// ------------------------------------------------------------------ helpers

/** Strict hex of a fixed length (the test feeds JSON back through this). */
export function hexBytes(hex: string, length?: number): Uint8Array {
  const bytes = fromHex(hex);
  if (length !== undefined && bytes.length !== length) throw new Error(`expected ${length} bytes of hex, got ${bytes.length}`);
  return bytes;
}

/** The payload bytes a spec describes; checks its length and SHA-256. */
export function payloadBytes(spec: PayloadSpec): Uint8Array {
  let bytes: Uint8Array;
  if ("hex" in spec) bytes = fromHex(spec.hex);
  else if ("utf8" in spec) bytes = textEncoder.encode(spec.utf8);
  else bytes = patternBytes(spec.length, spec.pattern.multiplier, spec.pattern.offset);
  if (bytes.length !== spec.length) throw new Error(`payload ${spec.name}: length ${bytes.length} != ${spec.length}`);
  if (toHex(sha256(bytes)) !== spec.sha256) throw new Error(`payload ${spec.name}: SHA-256 mismatch`);
  return bytes;
}

export function payloadsByName(inputs: GoldenInputs): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const spec of inputs.payloads) {
    if (out.has(spec.name)) throw new Error(`duplicate payload ${spec.name}`);
    out.set(spec.name, payloadBytes(spec));
  }
  return out;
}

/** A RandomSource that returns `bytes` for exactly one call of random(32). */
export function oneShotRandom(bytes: Uint8Array, what: string): RandomSource {
  let used = false;
  return (length) => {
    if (used) throw new Error(`${what}: random() called more than once`);
    if (length !== 32) throw new Error(`${what}: random(${length}), expected 32`);
    used = true;
    return bytes.slice();
  };
}

export function tuningFor(inputs: GoldenInputs): ChannelTuning {
  return { rekeyAfterMessages: inputs.tuning.rekeyAfterMessages, now: () => inputs.clockSeconds * 1000 };
}

/** The host's pairing registry holding exactly the golden pairing secret. */
export function goldenRegistry(inputs: GoldenInputs): { registry: PairingRegistry; expiresAt: number } {
  const registry = new PairingRegistry({
    random: oneShotRandom(hexBytes(inputs.pairingSecret, 32), "pairing registry"),
    now: () => inputs.clockSeconds,
  });
  const pending = registry.create(inputs.pairingExpiresAt - inputs.clockSeconds);
  if (pending.expiresAt !== inputs.pairingExpiresAt) throw new Error("pairing expiry mismatch");
  return { registry, expiresAt: pending.expiresAt };
}

export interface Endpoints {
  device: DeviceSession;
  host: HostSession;
}

/** Builds the two sessions of a section exactly as the vectors were made. */
export async function goldenEndpoints(backend: CryptoBackend, inputs: GoldenInputs, mode: "pair" | "resume"): Promise<Endpoints> {
  const section = inputs[mode];
  const hostSigner = await backend.signerFromSeed(hexBytes(inputs.hostEd25519Seed, 32));
  const deviceSigner = await backend.signerFromSeed(hexBytes(inputs.deviceEd25519Seed, 32));
  const { registry } = goldenRegistry(inputs);
  const keys = derivePairingKeys(hexBytes(inputs.pairingSecret, 32));
  const tuning = tuningFor(inputs);
  const device = new DeviceSession({
    backend,
    hostPublicKey: hostSigner.publicKey,
    deviceSigner,
    deviceName: inputs.deviceName,
    ...(mode === "pair" ? { pairing: { pairingId: keys.pairingId, psk: keys.psk } } : {}),
    random: oneShotRandom(hexBytes(section.deviceEphemeralPrivateKey, 32), "device"),
    tuning,
  });
  const host = new HostSession({
    backend,
    hostSigner,
    pairings: registry,
    // Resume mode: the device paired earlier (the pair section) and is trusted.
    isTrustedDevice: (key) => mode === "resume" && bytesEqual(key, deviceSigner.publicKey),
    random: oneShotRandom(hexBytes(section.hostEphemeralPrivateKey, 32), "host"),
    slot: inputs.hostSlot,
    tuning,
  });
  return { device, host };
}

function frameEntry(index: number, direction: GoldenFrame["direction"], kind: GoldenFrame["kind"], frame: Uint8Array, payload?: string): GoldenFrame {
  const h = decodeHeader(frame);
  return {
    index,
    direction,
    kind,
    counter: h.counter.toString(),
    epoch: h.epoch,
    slot: h.slot,
    length: frame.length,
    ...(payload === undefined ? {} : { payload }),
    hex: toHex(frame),
  };
}

function sideKeys(r: HandshakeResult): SideKeys {
  return { sendKey: toHex(r.sendKey), receiveKey: toHex(r.receiveKey) };
}

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`golden vectors: ${what}`);
}

const SECTION_DESCRIPTIONS = {
  pair:
    "Pair mode: the device scanned the pairing link, so ClientHello carries the pairing id and the " +
    "handshake keys mix in the PSK. frames[] lists every frame in the order it was sent: ClientHello " +
    "(device counter 0), ServerHello (host counter 0), ClientAuth (device counter 1), HostVerdict " +
    "accepting (host counter 1), then DATA frames whose counters continue from 2 in each direction. " +
    "Each hex string is the complete frame (20-byte header || body) as its sender emitted it: host " +
    "frames carry slot inputs.hostSlot, device frames slot 0 (the relay stamps the device's slot in " +
    "transit; the slot is not authenticated). A DATA body is AES-256-GCM(key[epoch], nonce = u32 BE " +
    "direction (1 device->host, 2 host->device) || u64 BE counter, aad = header with slot zeroed, " +
    "u32 BE payload length || payload || zero padding to the size bucket).",
  resume:
    "Resume mode: the same device (now trusted by the host) reconnects with fresh ephemerals and no " +
    "pairing id or PSK. Frame layout and ordering as in the pair section.",
} as const;

const DERIVED_DESCRIPTION =
  "Read from each side's HandshakeResult (both sides agree; device.sendKey = host.receiveKey is the " +
  "device->host application key at epoch 0). Ephemeral public keys are X25519(private, 9) of the " +
  "inputs. epoch1 holds ratchetKey(k0, 1) per direction, the keys of the frames with epoch 1.";

async function runSection(backend: CryptoBackend, inputs: GoldenInputs, mode: "pair" | "resume", payloads: Map<string, Uint8Array>): Promise<GoldenSection> {
  const { device, host } = await goldenEndpoints(backend, inputs, mode);
  const frames: GoldenFrame[] = [];
  const push = (direction: GoldenFrame["direction"], kind: GoldenFrame["kind"], frame: Uint8Array, payload?: string) =>
    frames.push(frameEntry(frames.length, direction, kind, frame, payload));

  const hello = await device.start();
  push("device->host", "ClientHello", hello);
  const serverHello = (await host.receive(hello)).reply;
  check(serverHello !== undefined, "no ServerHello");
  push("host->device", "ServerHello", serverHello);
  const { reply: auth, sas } = await device.receive(serverHello);
  check(auth !== undefined && sas !== undefined, "no ClientAuth");
  push("device->host", "ClientAuth", auth);
  const { claim } = await host.receive(auth);
  check(claim !== undefined && claim.sas === sas, "host claim / SAS");
  const verdict = await host.accept();
  push("host->device", "HostVerdict", verdict);
  const { opened } = await device.receive(verdict);
  check(opened !== undefined && host.result !== undefined, "session did not open");
  const d = opened;
  const h = host.result;
  check(bytesEqual(d.sendKey, h.receiveKey) && bytesEqual(d.receiveKey, h.sendKey), "app keys differ");
  check(bytesEqual(d.sessionId, h.sessionId) && d.sas === h.sas, "session id / SAS differ");
  check(d.mode === (mode === "pair" ? HandshakeMode.PAIR : HandshakeMode.RESUME) && h.mode === d.mode, "mode");
  check(d.version === PROTOCOL_VERSION && h.version === PROTOCOL_VERSION, "version");

  for (const step of inputs[mode].data) {
    const payload = payloads.get(step.payload);
    check(payload !== undefined, `unknown payload ${step.payload}`);
    if (step.from === "device") {
      const frame = await device.send(payload);
      const got = (await host.receive(frame)).payload;
      check(got !== undefined && bytesEqual(got, payload), `host decrypts ${step.payload}`);
      push("device->host", "Data", frame, step.payload);
    } else {
      const frame = await host.send(payload);
      const got = (await device.receive(frame)).payload;
      check(got !== undefined && bytesEqual(got, payload), `device decrypts ${step.payload}`);
      push("host->device", "Data", frame, step.payload);
    }
  }
  for (const f of frames) check(f.kind !== "Data" || decodeHeader(hexBytes(f.hex)).type === FrameType.DATA, "data type");

  const section = inputs[mode];
  const deviceEphemeral = await backend.x25519FromPrivate(hexBytes(section.deviceEphemeralPrivateKey, 32));
  const hostEphemeral = await backend.x25519FromPrivate(hexBytes(section.hostEphemeralPrivateKey, 32));
  return {
    description: SECTION_DESCRIPTIONS[mode],
    mode,
    derived: {
      description: DERIVED_DESCRIPTION,
      version: d.version,
      deviceEphemeralPublicKey: toHex(deviceEphemeral.publicKey),
      hostEphemeralPublicKey: toHex(hostEphemeral.publicKey),
      sas: d.sas,
      sessionId: toHex(d.sessionId),
      device: sideKeys(d),
      host: sideKeys(h),
      epoch1: {
        deviceToHost: toHex(ratchetKey(d.sendKey, 1)),
        hostToDevice: toHex(ratchetKey(d.receiveKey, 1)),
      },
    },
    frames,
  };
}

/** Builds the whole vector file from `inputs` with `backend`. */
export async function buildGolden(backend: CryptoBackend, inputs: GoldenInputs = fixedInputs()): Promise<GoldenFile> {
  const payloads = payloadsByName(inputs);
  const hostSigner = await backend.signerFromSeed(hexBytes(inputs.hostEd25519Seed, 32));
  const deviceSigner = await backend.signerFromSeed(hexBytes(inputs.deviceEd25519Seed, 32));
  const secret = hexBytes(inputs.pairingSecret, 32);
  const keys = derivePairingKeys(secret);
  const { expiresAt } = goldenRegistry(inputs);
  const pairingLink = encodePairingLink({
    appUrl: inputs.appUrl,
    relayUrl: inputs.relayUrl,
    hostPublicKey: hostSigner.publicKey,
    secret,
    expiresAt,
  });
  return {
    description:
      "Airlock protocol v1 golden handshake vectors: fixed inputs, the values derived from them, and the " +
      "exact bytes of a pair-mode and a resume-mode session (handshake plus DATA frames both ways, " +
      "crossing a key ratchet). All byte strings are lower-case hex. Generated with the noble backend; the " +
      "WebCrypto backend produces identical bytes. Regenerate with `npm run vectors:golden`; " +
      "test/vectors/golden.test.ts checks them against both crypto backends.",
    protocolVersion: PROTOCOL_VERSION,
    inputs,
    identity: {
      description:
        "hostPublicKey/devicePublicKey: Ed25519 public keys of the seeds. roomId: base64url of the first 16 " +
        "bytes of SHA-256(kdfInfo('room id') || host public key). pairingId, psk, relayTicket: HKDF-Expand of " +
        "HKDF-Extract(salt = empty, ikm = pairing secret) under the labels 'pairing id' (16 bytes), 'pairing psk' " +
        "and 'relay ticket' (32 bytes). relayTicketHash = SHA-256(relayTicket), what the host registers with the " +
        "relay. pairingLink: the QR payload for appUrl, relayUrl, host key, secret and pairingExpiresAt.",
      hostPublicKey: toHex(hostSigner.publicKey),
      devicePublicKey: toHex(deviceSigner.publicKey),
      roomId: roomIdFor(hostSigner.publicKey),
      pairingId: toHex(keys.pairingId),
      psk: toHex(keys.psk),
      relayTicket: toHex(keys.relayTicket),
      relayTicketHash: toHex(relayTicketHash(keys.relayTicket)),
      pairingLink,
    },
    pair: await runSection(backend, inputs, "pair", payloads),
    resume: await runSection(backend, inputs, "resume", payloads),
  };
}

/** The file's exact text: stable key order, two-space indent, trailing newline. */
export function serializeGolden(golden: GoldenFile): string {
  return `${JSON.stringify(golden, null, 2)}\n`;
}
