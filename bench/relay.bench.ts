// Relay benchmarks: round trips host → relay → device → relay → host through
// the real relay on local workerd, against plain Node `ws` baselines on
// loopback measured in the same run.
//
// Targets (issue): the relay adds ≤ 1 ms to the median round trip, sustains
// ≥ 3,000 pipelined round trips/s for one room, and 100 concurrent rooms keep
// p99 under 20 ms.
//
// Paths compared (every one is driven by the same client code in this process):
//   ws-echo          host ↔ a Node `ws` server that is the device (one loopback hop each way)
//   ws-relay         host ↔ a plain Node `ws` relay ↔ device (two hops each way, no checks)
//   relay            host ↔ the Worker + Room Durable Object on workerd ↔ device, clients
//                    offering permessage-deflate as `ws` and browsers do (accepted: locally
//                    by miniflare's entry worker, whatever the relay's compatibility settings)
//   relay-nodeflate  the same with clients that do not offer compression
//   relay-devproxy   relay through wrangler's dev proxy (the URL unstable_startWorker
//                    hands out: an extra workerd process that deployments do not have)
// The Node servers run in a child process (bench/relay-baseline-server.ts), as
// workerd runs in its own.
import { fork, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import WebSocket from "ws";
import { encodeFrame, FrameType, HEADER_LENGTH, RelayClose, secureRandom, type RelayLimits } from "../protocol/src/index.ts";
import { formatMs, formatRate, interleave, now, result, summarize, type BenchContext, type BenchResult, type SuiteReport, type TargetResult } from "./lib.ts";
import { closeSocket, openRoom, startRelay, type Relay } from "./relay-client.ts";

const BODY_BYTES = 64;
const FRAME_BYTES = HEADER_LENGTH + BODY_BYTES;
const BODY = secureRandom(BODY_BYTES);
const DATA = FrameType.DATA;
/** Data frames carry a key epoch; any value ≥ 1 will do, the relay only checks counters. */
const EPOCH = 1;

const SEQ_WARMUP_MS = 300;
const SEQ_TURN_MS = 100;
const SEQ_ROUNDS = 15; // 1.5 s of sampling per path, interleaved

const WINDOW = 64;
const PIPE_WARMUP_MS = 500;
const PIPE_MEASURE_MS = 2000;

const ROOMS = 100;
const ROOMS_WARMUP_MS = 500;
const ROOMS_MEASURE_MS = 2000;
/** Second load shape for the rooms: each room starts a round trip every 1/PACED_HZ s (open loop, below saturation). */
const PACED_HZ = 10;
const PACED_WARMUP_MS = 300;
const PACED_MEASURE_MS = 2000;
const ROOM_SETUP_CONCURRENCY = 16;

/** Rate limit for the second pipelined run, when the default one caps it (durable-objects/config.ts allows up to 10^6). */
const RAISED_LIMIT = { RATE_LIMIT_FRAMES_PER_SECOND: "1000000", RATE_LIMIT_BURST: "1000000" };

const ADDED_P50_TARGET_MS = 1;
const PIPELINED_TARGET = 3000;
const ROOMS_P99_TARGET_MS = 20;

// ------------------------------------------------------------------ round trips

interface Closed {
  who: "host" | "device";
  code: number;
  reason: string;
  /** now() when the close was seen. */
  at: number;
}

interface PipelineOutcome {
  latencies: number[];
  /** Round trips completed inside the measuring window. */
  count: number;
  /** Length of the measuring window actually covered (shorter if a socket closed). */
  measuredMs: number;
  startedAt: number;
  closed?: Closed;
}

/**
 * A host socket and, unless the server plays the device, a device socket that
 * answers every DATA frame from the host with a DATA frame of its own. Frames
 * carry real headers (type DATA, the device's slot, per-direction counters from
 * 0) and a 64-byte body; round-trip time runs from just before the host builds
 * its frame to the host's message handler for the answer.
 */
class RoundTrips {
  readonly #host: WebSocket;
  readonly #slot: number;
  #hostCounter = 0n;
  #deviceCounter = 0n;
  /** Send times of the frames in flight (answers come back in order). */
  #sentAt: number[] = [];
  #head = 0;
  #onReply: ((latencyMs: number, at: number) => void) | undefined;
  #onClose: ((closed: Closed) => void) | undefined;
  closed: Closed | undefined;

  constructor(host: WebSocket, slot: number, device?: WebSocket) {
    this.#host = host;
    this.#slot = slot;
    host.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary && data[1] === DATA) this.#reply();
    });
    device?.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary && data[1] === DATA) device.send(encodeFrame({ type: DATA, slot: 0, epoch: EPOCH, counter: this.#deviceCounter++ }, BODY));
    });
    const watch = (who: Closed["who"], ws: WebSocket) => ws.on("close", (code: number, reason: Buffer) => this.#closed(who, code, reason.toString()));
    watch("host", host);
    if (device) watch("device", device);
  }

  #closed(who: Closed["who"], code: number, reason: string): void {
    if (this.closed) return;
    this.closed = { who, code, reason, at: now() };
    this.#onClose?.(this.closed);
  }

  #send(): void {
    this.#sentAt.push(now());
    this.#host.send(encodeFrame({ type: DATA, slot: this.#slot, epoch: EPOCH, counter: this.#hostCounter++ }, BODY));
  }

  #reply(): void {
    const at = now();
    const sent = this.#sentAt[this.#head];
    if (sent === undefined) {
      this.#closed("host", 0, "an answer arrived for a frame that was never sent");
      this.#host.terminate();
      return;
    }
    this.#head++;
    if (this.#head === this.#sentAt.length) {
      this.#sentAt.length = 0;
      this.#head = 0;
    }
    this.#onReply?.(at - sent, at);
  }

  #done(): void {
    this.#onReply = undefined;
    this.#onClose = undefined;
  }

  /** One round trip with nothing else in flight. */
  roundTrip(): Promise<{ op: number }> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(closedError(this.closed));
      this.#onReply = (latencyMs) => {
        this.#done();
        resolve({ op: latencyMs });
      };
      this.#onClose = (closed) => {
        this.#done();
        reject(closedError(closed));
      };
      this.#send();
    });
  }

  /**
   * Keeps `window` frames in flight: every answer releases the next frame.
   * Counts answers that arrive within [warm-up end, warm-up end + measureMs];
   * stops early (and says so) if the relay closes a socket.
   */
  pipelined(window: number, warmupMs: number, measureMs: number): Promise<PipelineOutcome> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(closedError(this.closed));
      const startedAt = now();
      const from = startedAt + warmupMs;
      const stopAt = from + measureMs;
      const latencies: number[] = [];
      let count = 0;
      let inFlight = 0;
      const finish = (closed?: Closed) => {
        this.#done();
        const end = closed ? Math.min(closed.at, stopAt) : stopAt;
        resolve({ latencies, count, measuredMs: Math.max(0, end - from), startedAt, ...(closed ? { closed } : {}) });
      };
      this.#onReply = (latencyMs, at) => {
        inFlight--;
        if (at >= from && at <= stopAt) {
          count++;
          latencies.push(latencyMs);
        }
        if (at < stopAt) {
          inFlight++;
          this.#send();
        } else if (inFlight === 0) finish();
      };
      this.#onClose = finish;
      for (let i = 0; i < window; i++) {
        inFlight++;
        this.#send();
      }
    });
  }
}

function closedError(c: Closed): Error {
  return new Error(`${c.who} socket closed: ${c.code} ${c.reason}`);
}

/** `pairs` each loop sequential round trips at the same time; latencies of round trips inside the window. */
async function concurrent(pairs: RoundTrips[], warmupMs: number, measureMs: number) {
  const from = now() + warmupMs;
  const stopAt = from + measureMs;
  const latencies: number[] = [];
  let count = 0;
  await Promise.all(
    pairs.map(async (pair) => {
      for (;;) {
        const t0 = now();
        if (t0 >= stopAt) return;
        const { op } = await pair.roundTrip();
        const t1 = now();
        if (t1 >= from && t1 <= stopAt) count++;
        if (t0 >= from && t1 <= stopAt) latencies.push(op);
      }
    }),
  );
  return { stats: summarize(latencies), opsPerSec: count / (measureMs / 1000) };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Every pair starts one round trip per period (the rooms' phases spread evenly
 * over the period) instead of back to back: a load the system can keep up
 * with, so latencies show the path rather than the queue. A room that falls
 * behind skips ahead instead of bursting to catch up.
 */
async function paced(pairs: RoundTrips[], hz: number, warmupMs: number, measureMs: number) {
  const period = 1000 / hz;
  const start = now();
  const from = start + warmupMs;
  const stopAt = from + measureMs;
  const latencies: number[] = [];
  let behind = 0;
  await Promise.all(
    pairs.map(async (pair, i) => {
      let next = start + (i * period) / pairs.length;
      for (;;) {
        const wait = next - now();
        if (wait > 0) await sleep(wait);
        const t0 = now();
        if (t0 >= stopAt) return;
        const { op } = await pair.roundTrip();
        if (t0 >= from && t0 + op <= stopAt) latencies.push(op);
        next += period;
        if (next < now()) {
          if (t0 >= from) behind++;
          next = now();
        }
      }
    }),
  );
  return { stats: summarize(latencies), opsPerSec: latencies.length / (measureMs / 1000), behind };
}

// ------------------------------------------------------------------ baselines

interface Baseline {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function startBaseline(): Promise<Baseline> {
  const child = fork(new URL("./relay-baseline-server.ts", import.meta.url), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("baseline server did not start")), 30_000);
    child.once("message", (m: { port: number }) => {
      clearTimeout(timer);
      resolve(m.port);
    });
    child.once("exit", (code) => reject(new Error(`baseline server exited (${code})`)));
  });
  return {
    url: `ws://127.0.0.1:${port}`,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.send("stop");
        const timer = setTimeout(() => child.kill(), 3000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

function openWs(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = "nodebuffer";
    ws.once("open", () => {
      ws.off("error", reject);
      ws.on("error", () => undefined);
      resolve(ws);
    });
    ws.once("error", reject);
  });
}

let wsRooms = 0;

async function wsRelayPair(baseline: Baseline): Promise<{ pair: RoundTrips; sockets: WebSocket[] }> {
  const id = `r${++wsRooms}`;
  const [host, device] = await Promise.all([openWs(`${baseline.url}/room/${id}/host`), openWs(`${baseline.url}/room/${id}/device`)]);
  return { pair: new RoundTrips(host, 1, device), sockets: [host, device] };
}

async function wsEchoPair(baseline: Baseline): Promise<{ pair: RoundTrips; sockets: WebSocket[] }> {
  const host = await openWs(`${baseline.url}/echo`);
  return { pair: new RoundTrips(host, 1), sockets: [host] };
}

async function relayPair(url: string, deflate = true): Promise<{ pair: RoundTrips; sockets: WebSocket[]; limits: RelayLimits }> {
  const { host, device } = await openRoom(url, { deflate });
  return { pair: new RoundTrips(host.ws, device.slot, device.ws), sockets: [host.ws, device.ws], limits: host.limits };
}

async function inBatches<T>(n: number, concurrency: number, make: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += concurrency) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(concurrency, n - i) }, make))));
  }
  return out;
}

// ------------------------------------------------------------------ CPU accounting

/** CPU time (ms) of this process, of its workerd children (all of them) and of the baseline server. */
interface Cpu {
  client: number;
  workerd: number;
  baseline: number;
}

const TICK_MS = 10; // Linux USER_HZ is 100 on every mainstream build

function procCpuMs(pid: number): { ppid: number; comm: string; ms: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" "); // fields[0] is field 3 (state)
    return { ppid: Number(fields[1]), comm, ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS };
  } catch {
    return undefined;
  }
}

function cpuNow(baseline: Baseline | undefined): Cpu | undefined {
  if (process.platform !== "linux") return undefined;
  let workerd = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const p = procCpuMs(Number(entry));
    if (p && p.ppid === process.pid && p.comm === "workerd") workerd += p.ms;
  }
  const usage = process.cpuUsage();
  return {
    client: (usage.user + usage.system) / 1000,
    workerd,
    baseline: baseline?.child.pid !== undefined ? (procCpuMs(baseline.child.pid)?.ms ?? 0) : 0,
  };
}

/** CPU µs per round trip spent by the client and by the server side between two snapshots. */
function cpuPerRoundTrip(before: Cpu | undefined, after: Cpu | undefined, roundTrips: number, server: "workerd" | "baseline") {
  if (!before || !after || roundTrips === 0) return undefined;
  return {
    clientUs: ((after.client - before.client) * 1000) / roundTrips,
    serverUs: ((after[server] - before[server]) * 1000) / roundTrips,
  };
}

// ------------------------------------------------------------------ the suite

type PathName = "ws-echo" | "ws-relay" | "relay" | "relay-nodeflate" | "relay-devproxy";

const PATH_NOTE: Record<PathName, string> = {
  "ws-echo": "Node ws echo server as the device, 1 loopback hop each way",
  "ws-relay": "plain Node ws relay, 2 hops each way",
  relay: "Worker + Room DO on local workerd, 2 hops each way; clients offer permessage-deflate (ws default, as browsers do) and it is negotiated",
  "relay-nodeflate": "the same with clients not offering compression (perMessageDeflate: false)",
  "relay-devproxy": "relay through wrangler's dev proxy (extra workerd), compression as for relay",
};

type RunId = PathName | `${PathName}-raised-limit`;

interface Measured {
  r: BenchResult;
  cpu: ReturnType<typeof cpuPerRoundTrip>;
}

interface PipelineRun extends Measured {
  outcome: PipelineOutcome;
}

export async function run(ctx: BenchContext): Promise<SuiteReport> {
  const results: BenchResult[] = [];
  const sockets: WebSocket[] = [];
  let relay: Relay | undefined;
  let raised: Relay | undefined;
  let baseline: Baseline | undefined;
  const keep = <T extends { sockets: WebSocket[] }>(x: T): T => {
    sockets.push(...x.sockets);
    return x;
  };
  const closeAll = (list: WebSocket[]) => Promise.all(list.splice(0).map((ws) => closeSocket(ws)));
  const params = (path: RunId, ws: WebSocket, extra: Record<string, string | number | boolean> = {}) => ({
    path,
    bodyBytes: BODY_BYTES,
    frameBytes: FRAME_BYTES,
    /** Negotiated WebSocket extensions on the host's socket. */
    extensions: ws.extensions || "none",
    ...extra,
  });

  try {
    ctx.log("starting the relay (unstable_startWorker, local workerd) and the Node ws baseline server");
    const t0 = now();
    [relay, baseline] = await Promise.all([startRelay(), startBaseline()]);
    const relayUrl = relay.directUrl;
    relay.onRebuild = () =>
      ctx.log("WARNING: the relay's sources changed on disk and wrangler rebuilt it mid-run: every relay socket is dropped, the run will fail");
    ctx.log(`relay up in ${formatMs(now() - t0)}: ${relayUrl} (dev proxy ${relay.proxyUrl})`);

    const relayDefault = keep(await relayPair(relayUrl));
    const limits = relayDefault.limits;
    const single = new Map<PathName, { pair: RoundTrips; sockets: WebSocket[] }>([
      ["ws-echo", keep(await wsEchoPair(baseline))],
      ["ws-relay", keep(await wsRelayPair(baseline))],
      ["relay", relayDefault],
      ["relay-nodeflate", keep(await relayPair(relayUrl, false))],
      ["relay-devproxy", keep(await relayPair(relay.proxyUrl))],
    ]);
    const hostSocket = (id: PathName) => single.get(id)!.sockets[0]!;

    // ---------------------------------------------------------- sequential
    const seqIds = [...single.keys()];
    ctx.log(`sequential round trips: ${seqIds.join(", ")} interleaved, ${SEQ_ROUNDS} turns of ${SEQ_TURN_MS} ms each`);
    const seq = await interleave(
      seqIds.map((id) => ({ id, sample: () => single.get(id)!.pair.roundTrip() })),
      { warmupMs: SEQ_WARMUP_MS, rounds: SEQ_ROUNDS, turn: { ms: SEQ_TURN_MS } },
    );
    const rtt = new Map<PathName, BenchResult>();
    for (const id of seqIds) {
      const r = result(ctx.suite, `rtt/${id}`, params(id, hostSocket(id), { kind: "sequential", inFlight: 1 }), summarize(seq.get(id)!.op));
      rtt.set(id, r);
      results.push(r);
    }

    // ---------------------------------------------------------- pipelined
    const pipelined = new Map<RunId, PipelineRun>();
    const pipeline = async (id: RunId, pair: RoundTrips, host: WebSocket, server: "workerd" | "baseline"): Promise<PipelineRun> => {
      ctx.log(`pipelined ${id}: window ${WINDOW}, ${PIPE_WARMUP_MS} ms warm-up + ${PIPE_MEASURE_MS} ms`);
      const before = cpuNow(baseline);
      const outcome = await pair.pipelined(WINDOW, PIPE_WARMUP_MS, PIPE_MEASURE_MS);
      const after = cpuNow(baseline);
      const opsPerSec = outcome.measuredMs > 0 ? outcome.count / (outcome.measuredMs / 1000) : 0;
      // The CPU snapshots span warm-up and window alike: divide by all answers seen.
      const cpu = cpuPerRoundTrip(before, after, outcome.count + Math.round((opsPerSec * PIPE_WARMUP_MS) / 1000), server);
      const r = result(
        ctx.suite,
        `pipelined/${id}/w${WINDOW}`,
        params(id, host, {
          kind: "pipelined",
          inFlight: WINDOW,
          ...(outcome.closed ? { closedAfterMs: Math.round(outcome.closed.at - outcome.startedAt), closeCode: outcome.closed.code } : {}),
          ...(cpu ? { clientCpuUsPerRt: Math.round(cpu.clientUs), serverCpuUsPerRt: Math.round(cpu.serverUs) } : {}),
        }),
        summarize(outcome.latencies),
        { opsPerSec },
      );
      results.push(r);
      if (outcome.closed) ctx.log(`pipelined ${id}: ${outcome.closed.who} socket closed ${outcome.closed.code} "${outcome.closed.reason}"`);
      const run = { r, outcome, cpu };
      pipelined.set(id, run);
      return run;
    };
    for (const id of ["ws-echo", "ws-relay", "relay", "relay-nodeflate"] as const) {
      await pipeline(id, single.get(id)!.pair, hostSocket(id), id.startsWith("ws-") ? "baseline" : "workerd");
    }
    await closeAll(sockets);

    // ---------------------------------------------------------- 100 rooms
    const rooms = new Map<string, Measured>();
    let setupMs = 0;
    for (const id of ["ws-relay", "relay", "relay-nodeflate"] as const) {
      ctx.log(`${ROOMS} rooms ${id}: admitting ${ROOMS} hosts and ${ROOMS} devices (${ROOM_SETUP_CONCURRENCY} rooms at a time)`);
      const tSetup = now();
      const pairs = (
        await inBatches(ROOMS, ROOM_SETUP_CONCURRENCY, () => (id === "ws-relay" ? wsRelayPair(baseline!) : relayPair(relayUrl, id === "relay")))
      ).map(keep);
      if (id === "relay") setupMs = now() - tSetup;
      const server = id === "ws-relay" ? "baseline" : "workerd";
      const host = pairs[0]!.sockets[0]!;

      ctx.log(`${ROOMS} rooms ${id}: back-to-back round trips in every room at once, ${ROOMS_WARMUP_MS} ms warm-up + ${ROOMS_MEASURE_MS} ms`);
      let before = cpuNow(baseline);
      const loop = await concurrent(
        pairs.map((p) => p.pair),
        ROOMS_WARMUP_MS,
        ROOMS_MEASURE_MS,
      );
      let cpu = cpuPerRoundTrip(before, cpuNow(baseline), Math.round((loop.opsPerSec * (ROOMS_WARMUP_MS + ROOMS_MEASURE_MS)) / 1000), server);
      const loopResult = result(
        ctx.suite,
        `rooms${ROOMS}/loop/${id}`,
        params(id, host, {
          kind: "concurrent rooms, back to back",
          rooms: ROOMS,
          inFlightPerRoom: 1,
          ...(cpu ? { clientCpuUsPerRt: Math.round(cpu.clientUs), serverCpuUsPerRt: Math.round(cpu.serverUs) } : {}),
        }),
        loop.stats,
        { opsPerSec: loop.opsPerSec },
      );
      results.push(loopResult);
      rooms.set(`loop/${id}`, { r: loopResult, cpu });

      ctx.log(`${ROOMS} rooms ${id}: one round trip per room every ${1000 / PACED_HZ} ms, ${PACED_WARMUP_MS} ms warm-up + ${PACED_MEASURE_MS} ms`);
      before = cpuNow(baseline);
      const open = await paced(
        pairs.map((p) => p.pair),
        PACED_HZ,
        PACED_WARMUP_MS,
        PACED_MEASURE_MS,
      );
      cpu = cpuPerRoundTrip(before, cpuNow(baseline), Math.round((open.opsPerSec * (PACED_WARMUP_MS + PACED_MEASURE_MS)) / 1000), server);
      const pacedResult = result(
        ctx.suite,
        `rooms${ROOMS}/paced/${id}`,
        params(id, host, {
          kind: "concurrent rooms, paced",
          rooms: ROOMS,
          perRoomHz: PACED_HZ,
          fellBehind: open.behind,
          ...(cpu ? { clientCpuUsPerRt: Math.round(cpu.clientUs), serverCpuUsPerRt: Math.round(cpu.serverUs) } : {}),
        }),
        open.stats,
        { opsPerSec: open.opsPerSec },
      );
      results.push(pacedResult);
      rooms.set(`paced/${id}`, { r: pacedResult, cpu });
      await closeAll(sockets);
    }

    // ---------------------------------------------------------- rate limit
    // A pipelined relay run is capped by the default limit if the relay closed
    // it (4008) or if it ran faster than the sustained rate (it only finished
    // because the burst outlasted the window): repeat it with the limit raised.
    const capped = (run: PipelineRun) => run.outcome.closed?.code === RelayClose.RATE_LIMITED || run.r.opsPerSec > limits.rateLimit.framesPerSecond;
    for (const id of ["relay", "relay-nodeflate"] as const) {
      if (!capped(pipelined.get(id)!)) continue;
      if (!raised) {
        ctx.log(
          `the default rate limit (${limits.rateLimit.framesPerSecond}/s, burst ${limits.rateLimit.burst}) caps a pipelined run: starting a relay with ${JSON.stringify(RAISED_LIMIT)}`,
        );
        raised = await startRelay(RAISED_LIMIT);
        raised.onRebuild = relay.onRebuild;
      }
      const p = keep(await relayPair(raised.directUrl, id === "relay"));
      if (p.limits.rateLimit.framesPerSecond !== Number(RAISED_LIMIT.RATE_LIMIT_FRAMES_PER_SECOND)) {
        throw new Error(`binding override not applied: the relay announced ${JSON.stringify(p.limits.rateLimit)}`);
      }
      await pipeline(`${id}-raised-limit`, p.pair, p.sockets[0]!, "workerd");
      await closeAll(sockets);
    }

    return { results, ...report(ctx.suite, rtt, pipelined, rooms, limits, setupMs) };
  } finally {
    await closeAll(sockets);
    await Promise.all([relay?.dispose(), raised?.dispose(), baseline?.stop()]);
  }
}

// ------------------------------------------------------------------ targets and notes

function report(
  suite: string,
  rtt: Map<PathName, BenchResult>,
  pipelined: Map<RunId, PipelineRun>,
  rooms: Map<string, Measured>,
  limits: RelayLimits,
  setupMs: number,
): { targets: TargetResult[]; notes: string[] } {
  const s = (id: PathName) => rtt.get(id)!;
  const added = (id: PathName, base: PathName = "ws-echo") => s(id).medianMs - s(base).medianMs;
  const targets: TargetResult[] = [];

  targets.push({
    suite,
    name: "relay added latency (p50)",
    requirement: `relay round-trip median − direct ws echo median ≤ ${ADDED_P50_TARGET_MS} ms`,
    measured: added("relay-nodeflate"),
    unit: "ms",
    threshold: ADDED_P50_TARGET_MS,
    comparison: "<=",
    pass: added("relay-nodeflate") <= ADDED_P50_TARGET_MS,
    detail:
      `shipped configuration (no WebSocket compression): rtt/relay-nodeflate p50 ${formatMs(s("relay-nodeflate").medianMs)} p99 ${formatMs(s("relay-nodeflate").p99Ms)} − rtt/ws-echo p50 ${formatMs(s("ws-echo").medianMs)} (p99 ${formatMs(s("ws-echo").p99Ms)}); ` +
      `with compression negotiated +${formatMs(added("relay"))}; vs the plain ws relay +${formatMs(added("relay-nodeflate", "ws-relay"))}`,
  });

  const pRelay = pipelined.get("relay")!;
  const pShipped = pipelined.get("relay-nodeflate")!;
  const pRaised = pipelined.get("relay-nodeflate-raised-limit");
  const pTarget = pShipped.outcome.closed?.code === RelayClose.RATE_LIMITED && pRaised ? pRaised : pShipped;
  const pEcho = pipelined.get("ws-echo")!.r;
  const pWsRelay = pipelined.get("ws-relay")!.r;
  const pNoDeflate = pipelined.get("relay-nodeflate-raised-limit") ?? pipelined.get("relay-nodeflate")!;
  targets.push({
    suite,
    name: "single-room pipelined round trips/s",
    requirement: `≥ ${PIPELINED_TARGET} round trips/s, one room, ${WINDOW} in flight`,
    measured: pTarget.r.opsPerSec,
    unit: " rt/s",
    threshold: PIPELINED_TARGET,
    comparison: ">=",
    pass: pTarget.r.opsPerSec >= PIPELINED_TARGET,
    detail:
      `${pTarget.r.name}` +
      (pTarget === pRaised ? " (the default rate limit disconnected the default-limits run; rate limit raised)" : " (default limits)") +
      `; relay/ws-echo ${(pTarget.r.opsPerSec / pEcho.opsPerSec).toFixed(2)}× (ws-echo ${formatRate(pEcho.opsPerSec)}/s, ws-relay ${formatRate(pWsRelay.opsPerSec)}/s); ` +
      `with compression negotiated ${formatRate(pRelay.r.opsPerSec)}/s; ${pNoDeflate.r.name} ${formatRate(pNoDeflate.r.opsPerSec)}/s`,
  });

  const room = (shape: "loop" | "paced", id: PathName) => rooms.get(`${shape}/${id}`)!.r;
  const rRelay = room("loop", "relay");
  const rNoDeflate = room("loop", "relay-nodeflate");
  const rWs = room("loop", "ws-relay");
  const rPaced = room("paced", "relay-nodeflate");
  const brief = (r: BenchResult) => `p50 ${formatMs(r.medianMs)} p99 ${formatMs(r.p99Ms)}`;
  targets.push({
    suite,
    name: `${ROOMS} concurrent rooms p99`,
    requirement: `p99 round trip < ${ROOMS_P99_TARGET_MS} ms with ${ROOMS} rooms active at once (each ${PACED_HZ} round trips/s, shipped configuration)`,
    measured: rPaced.p99Ms,
    unit: "ms",
    threshold: ROOMS_P99_TARGET_MS,
    comparison: "<",
    pass: rPaced.p99Ms < ROOMS_P99_TARGET_MS,
    detail:
      `${rPaced.name} ${brief(rPaced)}; with compression negotiated ${brief(room("paced", "relay"))}; plain ws relay ${brief(room("paced", "ws-relay"))}. ` +
      `Saturation (every room back to back, latency ≈ ${ROOMS} in flight / throughput, informational): relay ${brief(rRelay)} at ${formatRate(rRelay.opsPerSec)} rt/s, ` +
      `without compression ${brief(rNoDeflate)} at ${formatRate(rNoDeflate.opsPerSec)} rt/s, plain ws relay ${brief(rWs)} at ${formatRate(rWs.opsPerSec)} rt/s`,
  });

  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const notes = [
    `Round trip: the host sends a ${FRAME_BYTES}-byte DATA frame (real 20-byte header: the device's slot, the next host→device counter; ${BODY_BYTES}-byte body) to the device, which answers with its own DATA frame (next device→host counter); timed from before the host builds its frame to the host's handler for the answer. Bodies are random bytes, not encrypted: the relay reads headers only, and encryption would add the same client-side cost to every path.`,
    `Paths: ${Object.entries(PATH_NOTE)
      .map(([k, v]) => `${k} = ${v}`)
      .join(
        "; ",
      )}. Targets use the shipped configuration, "relay-nodeflate": the Worker's own socket (as deployed) without WebSocket compression — wrangler.toml sets the no_web_socket_compression flag for deployments and Airlock's Node clients do not offer it; "relay" shows what negotiated compression costs (local miniflare always accepts it). The ws servers run in a child process and decline compression (ws default); every client runs in this process.`,
    `Sequential (rtt/*): one frame in flight; the paths take ${SEQ_TURN_MS} ms turns (${SEQ_ROUNDS} each); ops/s = 1000 / median. ` +
      `Added p50 vs ws-echo: relay ${formatMs(added("relay"))}, relay-nodeflate ${formatMs(added("relay-nodeflate"))}, ws-relay ${formatMs(added("ws-relay"))}; compression costs ${formatMs(s("relay").medianMs - s("relay-nodeflate").medianMs)} per round trip, the dev proxy ${formatMs(s("relay-devproxy").medianMs - s("relay").medianMs)}. ` +
      `Ratios p50 relay/ws-echo ${ratio(s("relay").medianMs, s("ws-echo").medianMs)}, relay/ws-relay ${ratio(s("relay").medianMs, s("ws-relay").medianMs)}, relay-nodeflate/ws-relay ${ratio(s("relay-nodeflate").medianMs, s("ws-relay").medianMs)}; p99 relay/ws-echo ${ratio(s("relay").p99Ms, s("ws-echo").p99Ms)}.`,
    `Pipelined (pipelined/*): ${WINDOW} frames in flight, each answer releases the next; ${PIPE_WARMUP_MS} ms warm-up, then answers counted for ${PIPE_MEASURE_MS} ms; median/p99 = latency under that load; one path after another. ` +
      `Ratios rt/s: relay/ws-echo ${ratio(pRelay.r.opsPerSec, pEcho.opsPerSec)}, relay/ws-relay ${ratio(pRelay.r.opsPerSec, pWsRelay.opsPerSec)}, ${pNoDeflate.r.name.split("/")[1]}/ws-relay ${ratio(pNoDeflate.r.opsPerSec, pWsRelay.opsPerSec)}.`,
    `Compression: ws (like every browser) offers permessage-deflate; locally it is accepted by miniflare's entry worker whatever the relay's own compatibility date or flags (checked: compatibility date 2023-01-01 and the no_web_socket_compression flag both still negotiate it), so relay-nodeflate is the only way to see the relay without it here. Frames are ciphertext in real use and do not compress.`,
    rateLimitNote(limits, pipelined),
    `${ROOMS} rooms (rooms${ROOMS}/*): ${ROOMS} host+device pairs (relay: ${ROOMS} Room Durable Objects, each admitted with a host-registered ticket; ${formatMs(setupMs)} to admit all ${ROOMS}); ops/s = round trips/s over all rooms. loop = every pair runs round trips back to back (${ROOMS_WARMUP_MS} ms warm-up + ${ROOMS_MEASURE_MS} ms): a saturation test, latency ≈ ${ROOMS} / throughput; paced = each room starts one round trip every ${1000 / PACED_HZ} ms (${ROOMS * PACED_HZ} rt/s offered; ${PACED_WARMUP_MS} ms warm-up + ${PACED_MEASURE_MS} ms). One client thread drives all ${2 * ROOMS} sockets, so ws-relay is the floor this client can see; with compression, ws's zlib work (at most 10 operations at once per process) also queues in the client.`,
  ];
  const cpu = cpuSummary(pipelined, rooms);
  if (cpu) notes.push(cpu);
  return { targets, notes };
}

function rateLimitNote(limits: RelayLimits, pipelined: Map<RunId, PipelineRun>): string {
  const { framesPerSecond, burst } = limits.rateLimit;
  const parts: string[] = [];
  for (const id of ["relay", "relay-nodeflate"] as const) {
    const run = pipelined.get(id)!;
    const rate = run.r.opsPerSec;
    const c = run.outcome.closed;
    let what: string;
    if (c) {
      what =
        `disconnected after ${formatMs(c.at - run.outcome.startedAt)} (${c.who} socket, ${c.code} "${c.reason}")` +
        (c.code === RelayClose.RATE_LIMITED ? ` at ${formatRate(rate)} rt/s` : "");
    } else if (rate > framesPerSecond) {
      what = `finished at ${formatRate(rate)} rt/s, above the sustained limit: at that rate the burst lasts ≈${(burst / (rate - framesPerSecond)).toFixed(1)} s before the relay closes the socket (4008)`;
    } else {
      what = `${formatRate(rate)} rt/s, under the limit, not disconnected`;
    }
    const raised = pipelined.get(`${id}-raised-limit`);
    if (raised)
      what += `; limit raised: ${formatRate(raised.r.opsPerSec)} rt/s, p50 ${formatMs(raised.r.medianMs)}, p99 ${formatMs(raised.r.p99Ms)}${raised.outcome.closed ? `, closed ${raised.outcome.closed.code}` : ""}`;
    parts.push(`${id}: ${what}`);
  }
  return (
    `Rate limit (default ${framesPerSecond} frames/s per connection, burst ${burst}; a round trip is one frame on each of the host's and the device's connections), pipelined with default limits: ${parts.join("; ")}.` +
    (pipelined.has("relay-raised-limit") || pipelined.has("relay-nodeflate-raised-limit")
      ? ` "-raised-limit" rows: a second relay instance with RATE_LIMIT_FRAMES_PER_SECOND=${RAISED_LIMIT.RATE_LIMIT_FRAMES_PER_SECOND}, RATE_LIMIT_BURST=${RAISED_LIMIT.RATE_LIMIT_BURST} as binding overrides (wrangler.toml untouched).`
      : "")
  );
}

function cpuSummary(pipelined: Map<RunId, Measured>, rooms: Map<string, Measured>): string | undefined {
  const parts: string[] = [];
  // Paced rows are left out: at their low rate, fixed background work (timers, wrangler) dominates.
  for (const [label, runs] of [
    ["pipelined", pipelined],
    [`${ROOMS} rooms`, rooms],
  ] as const) {
    const entries = [...(runs as Map<string, Measured>)].filter(([id, v]) => v.cpu && !id.startsWith("paced/"));
    if (entries.length) {
      parts.push(`${label}: ` + entries.map(([id, v]) => `${id} server ${v.cpu!.serverUs.toFixed(0)} µs + client ${v.cpu!.clientUs.toFixed(0)} µs`).join(", "));
    }
  }
  if (!parts.length) return undefined;
  return `CPU per round trip (/proc, 10 ms ticks; server = every workerd process of this run, or the Node ws server; client = this process, which also hosts wrangler): ${parts.join(". ")}.`;
}
