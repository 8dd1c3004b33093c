// Test setup for the client SDK: a real relay (workerd) and real `airlock up`
// host processes with the demo agent, plus small helpers to wait on SDK state.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import type { ConnectionState, HostConnection } from "../../client-sdk/src/index.ts";
import { tempDir } from "../support/temp.ts";
import { AIRLOCK_BIN, spawnAirlock, type AirlockProcess } from "../support/airlock-process.ts";

export { AIRLOCK_BIN };
export const CLIENT_BIN = new URL("../../client-sdk/bin/airlock-client.js", import.meta.url).pathname;

/** Short timers so reconnects and dead-link detection happen within a test. */
export const FAST_TIMING = {
  pingIntervalMs: 1000,
  deadAfterMs: 4000,
  connectTimeoutMs: 8000,
  handshakeTimeoutMs: 8000,
  backoff: { baseMs: 100, maxMs: 1000 },
  ackDelayMs: 50,
};

/** A fresh folder under the system temp dir, removed after the test file (after its own afterAll hooks stop the hosts). */
export { tempDir };

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface HostProcess extends AirlockProcess {
  home: string;
}

/** `airlock up` with the demo agent; extra args e.g. "--pair", "--yes". Stdin stays open for SAS answers. */
export function startHost(relayUrl: string, extra: string[] = [], home = tempDir("airlock-host-")): HostProcess {
  const host = spawnAirlock(["--home", home, "--json", "up", "--relay", relayUrl, ...extra], { ...process.env, NO_COLOR: "1" });
  return { home, ...host };
}

/** A fresh one-time link from a running host (`airlock pair --yes`). */
export async function newLink(home: string): Promise<{ link: string; done: Promise<unknown> }> {
  const pair = spawnAirlock(["--home", home, "--json", "pair", "--yes"]);
  const done = new Promise((r) => pair.child.once("exit", r));
  const { link } = (await pair.waitFor("pairing", 1, 20_000)) as { link: string };
  return { link, done };
}

export async function runAirlock(home: string, ...args: string[]): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [AIRLOCK_BIN, "--home", home, "--json", ...args]);
  let stdout = "";
  child.stdout.on("data", (d) => (stdout += d));
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  return { code, stdout };
}

/** Resolves when the connection reaches `state`. */
export function waitState(conn: HostConnection, state: ConnectionState, timeoutMs = 20_000): Promise<void> {
  if (conn.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`connection stayed ${conn.state}, wanted ${state}${conn.error ? ` (${conn.error.code}: ${conn.error.message})` : ""}`));
    }, timeoutMs);
    const off = conn.on("state", (s) => {
      if (s !== state) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

export async function until(check: () => boolean, timeoutMs = 20_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Drives a thread's current turn to its end the way a reviewer on a phone
 * would: approves every request any device may decide, answers questions with
 * their first option. Returns every event seen (from the subscription).
 */
export async function driveTurn(conn: HostConnection, sub: import("../../client-sdk/src/index.ts").ThreadSubscription, afterSeq = 0, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  const iterator = sub[Symbol.asyncIterator]();
  const seen: import("../../client-sdk/src/index.ts").SeqEvent[] = [];
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`turn did not end; saw ${seen.map((e) => `${e.seq}:${e.event.kind}`).join(" ")}`);
      const next = await Promise.race([iterator.next(), new Promise<null>((r) => setTimeout(() => r(null), left))]);
      if (next === null || next.done) continue;
      const { seq, event } = next.value;
      seen.push(next.value);
      if (seq <= afterSeq) continue;
      if (event.kind === "approval.request" && event.where === "any-device")
        void conn.decide(sub.thread, event.approvalId, "approve_once").catch(() => undefined);
      if (event.kind === "question")
        void conn.answer(sub.thread, event.questionId, event.options?.[0]?.label ?? "ok", event.options?.[0]?.id).catch(() => undefined);
      if (event.kind === "turn.status" && event.status !== "started") return seen;
    }
  } finally {
    await iterator.return?.();
  }
}
