// Protocol benchmarks: handshake time per side and channel throughput, for
// each crypto backend (noble, webcrypto). Targets (issue): a full handshake
// under 5 ms per side with noble; WebCrypto at least 10× noble on 64 KiB frames.
import {
  AEAD_TAG_LENGTH,
  Channel,
  DeviceSession,
  HEADER_LENGTH,
  HostSession,
  PADDING_PREFIX_LENGTH,
  PairingRegistry,
  bytesEqual,
  nobleBackend,
  paddedLength,
  secureRandom,
  type CryptoBackend,
  type Ed25519Signer,
} from "../protocol/src/index.ts";
import { webCryptoBackend } from "../protocol/src/backend-webcrypto.ts";
import { nodeCryptoBackend } from "../protocol/src/node/backend-node.ts";
import { formatMs, interleave, now, result, summarize, type BenchContext, type BenchResult, type SuiteReport, type TargetResult } from "./lib.ts";

const BACKENDS: readonly CryptoBackend[] = [nobleBackend, webCryptoBackend];
/** Channels also on the host's backend (webcrypto keys, node:crypto frames); its handshakes are webcrypto's. */
const CHANNEL_BACKENDS: readonly CryptoBackend[] = [...BACKENDS, nodeCryptoBackend];
const MODES = ["pair", "resume"] as const;
type Mode = (typeof MODES)[number];

const HANDSHAKE_WARMUP = 20;
const HANDSHAKES = 200;
const PRIMITIVE_SAMPLES = 150;

/**
 * Frame sizes are padding buckets: the payload fills the bucket exactly
 * (bucket − 4-byte length prefix), so a "64 KiB frame" encrypts 64 KiB of
 * plaintext. (A payload of exactly 65,536 bytes would pad to 128 KiB.)
 */
const FRAME_SIZES = [
  { label: "1KiB", padded: 1024 },
  { label: "64KiB", padded: 64 * 1024 },
] as const;
const THROUGHPUT_WARMUP_MS = 300;
/** Sampling time per case, spread over turns of THROUGHPUT_TURN_MS. */
const THROUGHPUT_TIME_MS = 2000;
const THROUGHPUT_TURN_MS = 100;
const IN_FLIGHT = 32;

const HANDSHAKE_TARGET_MS = 5;
const THROUGHPUT_RATIO_TARGET = 10;

// ------------------------------------------------------------------ handshake

interface Identities {
  backend: CryptoBackend;
  host: Ed25519Signer;
  device: Ed25519Signer;
  pairings: PairingRegistry;
  trusted: Set<string>;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

async function identities(backend: CryptoBackend): Promise<Identities> {
  const device = await backend.generateSigner();
  return {
    backend,
    host: await backend.generateSigner(),
    device,
    // Generous pending bound: one link is created per pair-mode handshake and consumed by it.
    pairings: new PairingRegistry({ maxPending: 64 }),
    trusted: new Set([hex(device.publicKey)]),
  };
}

/**
 * One full in-memory handshake. The clock runs only inside each side's own
 * calls, so the two totals are that side's work (message passing is free).
 * Outside the timing: creating the pairing link (host, before the QR is shown)
 * and deriving its keys (device, when scanning it).
 */
async function handshakeOnce(id: Identities, mode: Mode): Promise<{ device: number; host: number }> {
  const pairing = mode === "pair" ? id.pairings.create().keys : undefined;
  let device = 0;
  let host = 0;
  let t = now();
  const d = new DeviceSession({
    backend: id.backend,
    hostPublicKey: id.host.publicKey,
    deviceSigner: id.device,
    deviceName: "Bench phone",
    ...(pairing ? { pairing: { pairingId: pairing.pairingId, psk: pairing.psk } } : {}),
  });
  const hello = await d.start();
  device += now() - t;

  t = now();
  const h = new HostSession({
    backend: id.backend,
    hostSigner: id.host,
    pairings: id.pairings,
    isTrustedDevice: (key) => id.trusted.has(hex(key)),
    slot: 1,
  });
  const serverHello = (await h.receive(hello)).reply!;
  host += now() - t;

  t = now();
  const { reply: auth, sas } = await d.receive(serverHello);
  device += now() - t;

  t = now();
  const { claim } = await h.receive(auth!);
  const verdict = await h.accept();
  host += now() - t;

  t = now();
  const { opened } = await d.receive(verdict);
  device += now() - t;

  if (!opened || claim?.sas !== sas || !bytesEqual(opened.sendKey, h.result!.receiveKey)) {
    throw new Error(`${id.backend.name} ${mode} handshake did not complete`);
  }
  return { device, host };
}

async function benchHandshakes(ctx: BenchContext): Promise<BenchResult[]> {
  const cases: { id: string; backend: CryptoBackend; mode: Mode; sample: () => Promise<{ device: number; host: number }> }[] = [];
  for (const backend of BACKENDS) {
    const id = await identities(backend);
    for (const mode of MODES) cases.push({ id: `${mode}/${backend.name}`, backend, mode, sample: () => handshakeOnce(id, mode) });
  }
  ctx.log(`handshakes: ${cases.map((c) => c.id).join(", ")} interleaved, ${HANDSHAKE_WARMUP} warm-up + ${HANDSHAKES} each`);
  const times = await interleave(cases, { warmupIterations: HANDSHAKE_WARMUP, rounds: HANDSHAKES, turn: { samples: 1 } });
  const out: BenchResult[] = [];
  for (const backend of BACKENDS) {
    for (const mode of MODES) {
      const t = times.get(`${mode}/${backend.name}`)!;
      for (const side of ["device", "host"] as const) {
        out.push(result(ctx.suite, `handshake/${mode}/${side}/${backend.name}`, { kind: "handshake", backend: backend.name, mode, side }, summarize(t[side])));
      }
    }
  }
  return out;
}

// ----------------------------------------------------------------- primitives

/**
 * The public-key operations each side performs once per handshake, through the
 * CryptoBackend interface: they explain (and bound from below) the handshake
 * numbers above. Each side: one X25519 key generation, one DH, one Ed25519
 * sign and one verify (plus hashing and a few short AEAD calls).
 */
async function benchPrimitives(ctx: BenchContext): Promise<BenchResult[]> {
  const cases: { id: string; op: string; backend: CryptoBackend; sample: () => Promise<{ op: number }> }[] = [];
  const timed = (f: () => Promise<unknown>) => async () => {
    const t0 = now();
    await f();
    return { op: now() - t0 };
  };
  for (const backend of BACKENDS) {
    const signer = await backend.generateSigner();
    const message = secureRandom(96);
    const signature = await signer.sign(message);
    const mine = await backend.x25519FromPrivate(secureRandom(32));
    const peer = (await backend.x25519FromPrivate(secureRandom(32))).publicKey;
    const ops: [string, () => Promise<unknown>][] = [
      ["x25519-keygen", () => backend.x25519FromPrivate(secureRandom(32))],
      ["x25519-dh", () => mine.dh(peer)],
      ["ed25519-sign", () => signer.sign(message)],
      [
        "ed25519-verify",
        async () => {
          if (!(await backend.verify(signer.publicKey, message, signature))) throw new Error("verify failed");
        },
      ],
    ];
    for (const [op, f] of ops) cases.push({ id: `${op}/${backend.name}`, op, backend, sample: timed(f) });
  }
  ctx.log(`primitives: ${cases.length} cases interleaved, ${PRIMITIVE_SAMPLES} each`);
  const times = await interleave(cases, { warmupIterations: 20, rounds: PRIMITIVE_SAMPLES, turn: { samples: 1 } });
  return cases.map((c) => result(ctx.suite, `primitive/${c.id}`, { kind: "primitive", backend: c.backend.name, op: c.op }, summarize(times.get(c.id)!.op)));
}

// ------------------------------------------------------------------- channel

/** A device→host channel pair with fresh random keys, counters after the handshake. */
function channelPair(backend: CryptoBackend): { tx: Channel; rx: Channel } {
  const d2h = secureRandom(32);
  const h2d = secureRandom(32);
  return {
    tx: new Channel({ backend, role: "device", sendKey: d2h, receiveKey: h2d, sendCounter: 2n, receiveCounter: 2n }),
    rx: new Channel({ backend, role: "host", sendKey: h2d, receiveKey: d2h, sendCounter: 2n, receiveCounter: 2n, slot: 1 }),
  };
}

function payloadFor(padded: number): Uint8Array {
  const payload = secureRandom(padded - PADDING_PREFIX_LENGTH);
  if (paddedLength(payload.length) !== padded) throw new Error(`payload does not fill the ${padded}-byte bucket`);
  return payload;
}

async function roundTrip(pair: { tx: Channel; rx: Channel }, payload: Uint8Array): Promise<Uint8Array> {
  return pair.rx.open(await pair.tx.seal(payload));
}

async function checkRoundTrip(pair: { tx: Channel; rx: Channel }, payload: Uint8Array): Promise<void> {
  if (!bytesEqual(await roundTrip(pair, payload), payload)) throw new Error("channel round trip corrupted the payload");
}

/** Sequential: each frame is sealed, then opened, before the next one starts. */
async function sequentialCase(backend: CryptoBackend, padded: number) {
  const pair = channelPair(backend);
  const payload = payloadFor(padded);
  await checkRoundTrip(pair, payload);
  return async () => {
    const t0 = now();
    await roundTrip(pair, payload);
    return { op: now() - t0 };
  };
}

/**
 * `concurrency` channel pairs, each running seal→open in a loop (a Channel
 * serialises its own sends, so overlap needs several channels). Latency is per
 * frame under that load; the rate is frames completed / wall time.
 */
async function inFlight(backend: CryptoBackend, padded: number, concurrency: number) {
  const pairs = Array.from({ length: concurrency }, () => channelPair(backend));
  const payload = payloadFor(padded);
  for (const pair of pairs) await checkRoundTrip(pair, payload);
  const latencies: number[] = [];
  const start = now();
  const recordFrom = start + THROUGHPUT_WARMUP_MS;
  const stopAt = recordFrom + THROUGHPUT_TIME_MS;
  let frames = 0;
  await Promise.all(
    pairs.map(async (pair) => {
      for (;;) {
        const t0 = now();
        if (t0 >= stopAt) return;
        await roundTrip(pair, payload);
        const t1 = now();
        if (t1 >= recordFrom && t1 <= stopAt) frames++; // completed inside the window
        if (t0 >= recordFrom && t1 <= stopAt) latencies.push(t1 - t0); // entirely inside it
      }
    }),
  );
  return { stats: summarize(latencies), opsPerSec: frames / (THROUGHPUT_TIME_MS / 1000) };
}

async function benchChannels(ctx: BenchContext): Promise<BenchResult[]> {
  const cases = [];
  for (const size of FRAME_SIZES) {
    for (const backend of CHANNEL_BACKENDS) {
      cases.push({ id: `${size.label}/${backend.name}`, size, backend, sample: await sequentialCase(backend, size.padded) });
    }
  }
  const rounds = Math.round(THROUGHPUT_TIME_MS / THROUGHPUT_TURN_MS);
  ctx.log(`channel sequential seal+open: ${cases.map((c) => c.id).join(", ")} interleaved, ${rounds} turns of ${THROUGHPUT_TURN_MS} ms each`);
  const times = await interleave(cases, { warmupMs: THROUGHPUT_WARMUP_MS, rounds, turn: { ms: THROUGHPUT_TURN_MS } });

  const out: BenchResult[] = [];
  for (const size of FRAME_SIZES) {
    const bytesPerOp = size.padded - PADDING_PREFIX_LENGTH;
    const frameBytes = HEADER_LENGTH + size.padded + AEAD_TAG_LENGTH;
    for (const backend of CHANNEL_BACKENDS) {
      out.push(
        result(
          ctx.suite,
          `channel/${size.label}/${backend.name}`,
          { kind: "channel", backend: backend.name, frame: size.label, payloadBytes: bytesPerOp, frameBytes, inFlight: 1 },
          summarize(times.get(`${size.label}/${backend.name}`)!.op),
          { bytesPerOp },
        ),
      );
    }
    ctx.log(`channel ${size.label} webcrypto: ${IN_FLIGHT} in flight`);
    const { stats, opsPerSec } = await inFlight(webCryptoBackend, size.padded, IN_FLIGHT);
    out.push(
      result(
        ctx.suite,
        `channel/${size.label}/webcrypto/x${IN_FLIGHT}`,
        { kind: "channel", backend: "webcrypto", frame: size.label, payloadBytes: bytesPerOp, frameBytes, inFlight: IN_FLIGHT },
        stats,
        { bytesPerOp, opsPerSec },
      ),
    );
  }
  return out;
}

// -------------------------------------------------------------------- targets

function find(results: BenchResult[], name: string): BenchResult {
  const r = results.find((x) => x.name === name);
  if (!r) throw new Error(`missing result ${name}`);
  return r;
}

function targets(suite: string, results: BenchResult[]): { targets: TargetResult[]; notes: string[] } {
  const nobleHandshakes = MODES.flatMap((mode) => (["device", "host"] as const).map((side) => find(results, `handshake/${mode}/${side}/noble`)));
  const worst = nobleHandshakes.reduce((a, b) => (b.medianMs > a.medianMs ? b : a));
  const handshake: TargetResult = {
    suite,
    name: "noble handshake per side",
    requirement: `median < ${HANDSHAKE_TARGET_MS} ms per side (pair and resume)`,
    measured: worst.medianMs,
    unit: "ms",
    threshold: HANDSHAKE_TARGET_MS,
    comparison: "<",
    pass: worst.medianMs < HANDSHAKE_TARGET_MS,
    detail:
      `worst median: ${worst.name}; ` +
      nobleHandshakes.map((r) => `${r.params.mode}/${r.params.side} median ${formatMs(r.medianMs)} p99 ${formatMs(r.p99Ms)}`).join(", "),
  };

  const floor = (backend: string) =>
    ["x25519-keygen", "x25519-dh", "ed25519-sign", "ed25519-verify"].reduce((sum, op) => sum + find(results, `primitive/${op}/${backend}`).medianMs, 0);

  const noble64 = find(results, "channel/64KiB/noble");
  const web64 = find(results, "channel/64KiB/webcrypto");
  const ratio = web64.mbPerSec! / noble64.mbPerSec!;
  const throughput: TargetResult = {
    suite,
    name: "webcrypto/noble at 64 KiB",
    requirement: `webcrypto ≥ ${THROUGHPUT_RATIO_TARGET}× noble, encrypt+decrypt MB/s, sequential`,
    measured: ratio,
    unit: "×",
    threshold: THROUGHPUT_RATIO_TARGET,
    comparison: ">=",
    pass: ratio >= THROUGHPUT_RATIO_TARGET,
    detail: `webcrypto ${web64.mbPerSec!.toFixed(1)} MB/s / noble ${noble64.mbPerSec!.toFixed(1)} MB/s`,
  };

  const noble1 = find(results, "channel/1KiB/noble");
  const web1 = find(results, "channel/1KiB/webcrypto");
  const webX = find(results, `channel/64KiB/webcrypto/x${IN_FLIGHT}`);
  const notes = [
    `Handshake: time inside each side's own calls per handshake (device: start + ServerHello + verdict; host: ClientHello + ClientAuth + accept), ${HANDSHAKES} handshakes per case after ${HANDSHAKE_WARMUP} warm-up, cases interleaved; same identities throughout (WebCrypto's verify-key cache is warm, as for a returning device).`,
    `Channel: one op = seal + open of one frame (one channel pair per row, sequential rows interleaved in ${THROUGHPUT_TURN_MS} ms turns); the payload fills the padding bucket (1020 B / 65,532 B); MB/s = payload bytes (10^6) / median op time. x${IN_FLIGHT} rows: ${IN_FLIGHT} channel pairs looping concurrently, latency per frame under that load, rate = frames / wall time.`,
    `Public-key floor per handshake side (sum of primitive medians: keygen + DH + sign + verify): noble ${formatMs(floor("noble"))}, webcrypto ${formatMs(floor("webcrypto"))}.`,
    `Ratios (informational): 1 KiB webcrypto/noble ${(web1.mbPerSec! / noble1.mbPerSec!).toFixed(1)}×; 64 KiB webcrypto ${IN_FLIGHT} in flight / noble ${(webX.mbPerSec! / noble64.mbPerSec!).toFixed(1)}×.`,
  ];
  return { targets: [handshake, throughput], notes };
}

export async function run(ctx: BenchContext): Promise<SuiteReport> {
  const results = [...(await benchHandshakes(ctx)), ...(await benchPrimitives(ctx)), ...(await benchChannels(ctx))];
  return { results, ...targets(ctx.suite, results) };
}
