// Shared by the end-to-end tests of the host agent: a real `airlock up` child
// process, and app-protocol helpers for a TestDevice.
import { createServer } from "node:net";
import { afterAll } from "vitest";
// First, so its afterAll (removing temp homes) runs after the cleanup below has stopped the hosts.
import "../support/temp.ts";
import { appProtocol, type AppProtocolMessage, type ThreadEvent } from "../../protocol/src/index.ts";
import type { TestDevice } from "./device.ts";
import { AIRLOCK_BIN, spawnAirlock, type AirlockProcess } from "../support/airlock-process.ts";

export const BIN = AIRLOCK_BIN;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const cleanup: Array<() => Promise<unknown> | void> = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

/** `airlock up --pair --yes` on `home` against the relay; stopped (and waited for) in the file's cleanup. */
export function startHost(home: string, relayUrl: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = process.env): AirlockProcess {
  const host = spawnAirlock(["--home", home, "--json", "up", "--relay", relayUrl, "--pair", "--yes", ...extraArgs], env);
  // Waits for the exit: the host's home is removed after the cleanups (test/support/temp.ts).
  cleanup.push(() => host.stop());
  return host;
}

/** `airlock pair --yes` on a running host's home: its one-time link; stopped in the file's cleanup. */
export async function pairLink(home: string): Promise<string> {
  const pair = spawnAirlock(["--home", home, "--json", "pair", "--yes"]);
  cleanup.push(() => pair.stop());
  return (await pair.waitFor("pairing")).link as string;
}

let ids = 0;
export async function command(device: TestDevice, type: string, body: unknown, id = `c${++ids}`): Promise<string> {
  await device.send(appProtocol.encode({ type, id, body } as never));
  return id;
}

/** thread.updated summaries each device received (kept aside so tests can read messages in order). */
export const summaries = new Map<TestDevice, Array<{ id: string; status: string }>>();

export async function nextApp(device: TestDevice, timeoutMs = 10_000): Promise<AppProtocolMessage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = appProtocol.decode(await device.receive(Math.max(1, deadline - Date.now())));
    if (m.type !== "thread.updated") return m;
    const list = summaries.get(device) ?? [];
    list.push({ id: m.body.thread.id, status: m.body.thread.status });
    summaries.set(device, list);
  }
}

/** Collects messages until `done` says stop; returns all of them. */
export async function collect(device: TestDevice, done: (m: AppProtocolMessage) => boolean, timeoutMs = 15_000): Promise<AppProtocolMessage[]> {
  const out: AppProtocolMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await nextApp(device, Math.max(1, deadline - Date.now()));
    out.push(m);
    if (done(m)) return out;
  }
}

export const isTurnEnd = (m: AppProtocolMessage) => m.type === "event" && m.body.kind === "turn.status" && m.body.status !== "started";

/**
 * Every message a device received, in order. `until` returns the next match
 * after the previous `until` hit (and what came between); `find` searches all
 * messages so far without moving that position (answers and resolutions may
 * arrive while a test waits for something else).
 */
const logs = new Map<TestDevice, { all: AppProtocolMessage[]; pos: number }>();
function logOf(device: TestDevice) {
  let l = logs.get(device);
  if (!l) logs.set(device, (l = { all: [], pos: 0 }));
  return l;
}
const label = (m: AppProtocolMessage) => (m.type === "event" ? m.body.kind : m.type);

async function readUntil(device: TestDevice, from: number, match: (m: AppProtocolMessage) => boolean, timeoutMs: number): Promise<number> {
  const log = logOf(device);
  for (let i = from; i < log.all.length; i++) if (match(log.all[i]!)) return i;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      log.all.push(await nextApp(device, Math.max(1, deadline - Date.now())));
    } catch (e) {
      throw new Error(`${String(e)}; received: ${JSON.stringify(log.all.slice(from).map(label))}`);
    }
    if (match(log.all.at(-1)!)) return log.all.length - 1;
  }
}

export async function until(
  device: TestDevice,
  match: (m: AppProtocolMessage) => boolean,
  timeoutMs = 30_000,
): Promise<{ hit: AppProtocolMessage; seen: AppProtocolMessage[] }> {
  const log = logOf(device);
  const i = await readUntil(device, log.pos, match, timeoutMs);
  const seen = log.all.slice(log.pos, i + 1);
  log.pos = i + 1;
  return { hit: log.all[i]!, seen };
}

export async function find(device: TestDevice, match: (m: AppProtocolMessage) => boolean, timeoutMs = 30_000): Promise<{ hit: AppProtocolMessage }> {
  return { hit: logOf(device).all[await readUntil(device, 0, match, timeoutMs)]! };
}

/** The reply to command `id` (searched from the start: it may arrive while a test waits for an event). */
export async function reply(device: TestDevice, id: string, timeoutMs = 30_000): Promise<AppProtocolMessage> {
  return (await find(device, (m) => (m.type === "result" || m.type === "error" || m.type === "thread.list") && m.re === id, timeoutMs)).hit;
}

export const isEvent =
  (kind: ThreadEvent["kind"]) =>
  (m: AppProtocolMessage): boolean =>
    m.type === "event" && m.body.kind === kind;
export const eventOf = <K extends ThreadEvent["kind"]>(m: AppProtocolMessage, _kind: K) => (m as unknown as { body: Extract<ThreadEvent, { kind: K }> }).body;

/** Everything a device received so far (through until/find/reply). */
export const received = (device: TestDevice): readonly AppProtocolMessage[] => logOf(device).all;
