// What one supervised session costs the relay, in the units Cloudflare bills:
// WebSocket messages the room's Durable Object receives (each direction of a
// forwarded frame arrives at the room once: host → room → device and
// device → room → host), connections (each WebSocket upgrade is a request),
// beside the session's application events. docs/operations.md turns these
// counts into a monthly bill.
//
// The session: the real relay on local workerd (AIRLOCK_DEBUG=1 for its
// per-socket frame counters), the checkout's `airlock up --agent demo`, and a
// device on the client SDK that pairs, opens a thread whose prompt walks the
// demo through a question and an install (so approvals of several tiers), and
// approves and answers as a person would, then sends one follow-up turn.
// Relay-level pings are not counted here: the room answers them with an
// auto-response that never wakes it (their cost is computed in the docs from
// the ping interval).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createNodeClient, FileStore } from "../client-sdk/src/node/index.ts";
import type { HostConnection, ThreadSubscription } from "../client-sdk/src/index.ts";
import { now, result, summarize, type BenchContext, type SuiteReport } from "./lib.ts";
import { startRelay } from "./relay-client.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const AIRLOCK = path.join(ROOT, "host-agent/bin/airlock.js");
const TURN_TIMEOUT_MS = 60_000;

interface DebugSocket {
  kind: string;
  slot?: number;
  next?: string;
  counters?: Record<string, string>;
}

/** Host → device and device → host data frames the room has forwarded, from its debug view. */
async function frameCounts(relayUrl: string, room: string): Promise<{ toDevice: number; fromDevice: number }> {
  const res = await fetch(`${relayUrl}/v1/rooms/${room}/debug`);
  if (!res.ok) throw new Error(`debug view: HTTP ${res.status}`);
  const { sockets } = (await res.json()) as { sockets: DebugSocket[] };
  const host = sockets.find((s) => s.kind === "host");
  const toDevice = Object.values(host?.counters ?? {}).reduce((sum, n) => sum + Number(n), 0);
  const fromDevice = sockets.filter((s) => s.kind === "device").reduce((sum, s) => sum + Number(s.next ?? 0), 0);
  return { toDevice, fromDevice };
}

function waitOnline(conn: HostConnection): Promise<void> {
  if (conn.state === "online") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connection stayed ${conn.state}`)), 30_000);
    const off = conn.on("state", (s) => {
      if (s !== "online") return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** Follows a turn to its end, approving what a device may approve and answering questions; counts what it saw. */
async function driveTurn(conn: HostConnection, sub: ThreadSubscription, fromSeq: number): Promise<{ events: number; approvals: number; questions: number }> {
  const seen = { events: 0, approvals: 0, questions: 0 };
  const iterator = sub[Symbol.asyncIterator]();
  const deadline = Date.now() + TURN_TIMEOUT_MS;
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("the demo turn did not end");
      let timer: NodeJS.Timeout | undefined;
      const next = await Promise.race([iterator.next(), new Promise<null>((r) => (timer = setTimeout(() => r(null), left)))]).finally(() =>
        clearTimeout(timer),
      );
      if (next === null || next.done) continue;
      const { seq, event } = next.value;
      if (seq <= fromSeq) continue;
      seen.events++;
      if (event.kind === "approval.request" && event.where === "any-device") {
        seen.approvals++;
        await conn.decide(sub.thread, event.approvalId, "approve_once");
      }
      if (event.kind === "question") {
        seen.questions++;
        await conn.answer(sub.thread, event.questionId, event.options?.[0]?.label ?? "ok", event.options?.[0]?.id);
      }
      if (event.kind === "turn.status" && event.status !== "started") return seen;
    }
  } finally {
    await iterator.return?.();
  }
}

export async function run(ctx: BenchContext): Promise<SuiteReport> {
  const suite = ctx.suite;
  const tmp = mkdtempSync(path.join(tmpdir(), "airlock-session-cost-"));
  const relay = await startRelay({ AIRLOCK_DEBUG: "1" });
  const host = spawn(
    process.execPath,
    [AIRLOCK, "--home", path.join(tmp, "host"), "--json", "up", "--agent", "demo", "--relay", relay.proxyUrl, "--pair", "--yes"],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    },
  );
  host.stderr.resume();
  try {
    const started = now();
    const { link, room } = await new Promise<{ link: string; room: string }>((resolve, reject) => {
      let room = "";
      createInterface({ input: host.stdout }).on("line", (line) => {
        try {
          const msg = JSON.parse(line) as { type?: string; link?: string; room?: string };
          if (msg.type === "host" && msg.room) room = msg.room;
          if (msg.type === "pairing" && msg.link) resolve({ link: msg.link, room });
        } catch {
          // not a JSON line
        }
      });
      host.once("exit", (code) => reject(new Error(`airlock up exited ${String(code)}`)));
    });
    const client = await createNodeClient({ store: new FileStore(path.join(tmp, "device")), deviceName: "Bench phone" });
    try {
      const { host: trusted } = await client.pair(link);
      const conn = client.connect(trusted.id);
      await waitOnline(conn);
      const afterPairing = await frameCounts(relay.proxyUrl, room);
      const { thread } = await conn.startThread({ prompt: "Add a question heading, then install the helper" });
      const sub = conn.subscribe(thread);
      const first = await driveTurn(conn, sub, 0);
      await conn.send(thread, "Thanks, now write a short summary");
      const second = await driveTurn(conn, sub, sub.lastSeq);
      const total = await frameCounts(relay.proxyUrl, room);
      sub.close();
      const elapsed = now() - started;
      const turns = [first, second];
      const events = turns.reduce((s, t) => s + t.events, 0);
      const approvals = turns.reduce((s, t) => s + t.approvals, 0);
      const questions = turns.reduce((s, t) => s + t.questions, 0);
      const incoming = total.toDevice + total.fromDevice;
      ctx.log(
        `pairing+connect ${afterPairing.toDevice}+${afterPairing.fromDevice} frames; session ${total.toDevice} host→device, ${total.fromDevice} device→host; ${events} events, ${approvals} approvals, ${questions} questions`,
      );
      return {
        results: [
          result(
            suite,
            "session/demo: pair, 2 turns",
            {
              framesHostToDevice: total.toDevice,
              framesDeviceToHost: total.fromDevice,
              messagesIntoRoom: incoming,
              pairingFrames: afterPairing.toDevice + afterPairing.fromDevice,
              events,
              approvals,
              questions,
              turns: turns.length,
            },
            summarize([elapsed]),
          ),
        ],
        notes: [
          `a paired device's session with 2 demo turns (${events} events, ${approvals} approvals, ${questions} question): ${incoming} messages into the room (${total.toDevice} host → device, ${total.fromDevice} device → host; pairing and the first sync ${afterPairing.toDevice + afterPairing.fromDevice}), i.e. ${(incoming / Math.max(1, events)).toFixed(2)} per event; plus 2 WebSocket upgrades (host, device) and the relay's admission messages`,
        ],
      };
    } finally {
      await client.close();
    }
  } finally {
    if (host.exitCode === null) host.kill("SIGTERM");
    await new Promise((r) => (host.exitCode !== null ? r(undefined) : host.once("exit", r)));
    await relay.dispose();
    rmSync(tmp, { recursive: true, force: true });
  }
}
