// Crash safety of the host's pipeline (issue 16): a real `airlock up` (demo
// agent) is killed with SIGKILL at random points while it streams a turn and
// right after a device's decisions, then started again on the same home. The
// device reconnects and replays the thread from the start:
// - nothing it saw is missing, nothing is duplicated or changed (seqs 1, 2, … with
//   the same events it was sent);
// - a decision the device got an answer for is answered the same way when resent
//   (the command ledger is written before the answer), and its approval.resolved,
//   if the device saw it, is in the thread;
// - the audit log's chain verifies (`airlock audit verify`).
// The kill points come from a seeded generator; the seed is in every failure message.
import { execFile } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { nobleBackend, parsePairingLink, type AppProtocolMessage, type Ed25519Signer, type ThreadEvent } from "../../protocol/src/index.ts";
import { startRelay } from "../relay/harness.ts";
import { BIN, cleanup, command, freePort, nextApp, startHost } from "./app-client.ts";
import { pairingDevice, resumingDevice, type TestDevice } from "./device.ts";
import { tempDir } from "../support/temp.ts";

const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
let state = seed;
/** Deterministic for a seed: an integer in [lo, hi]. */
const rand = (lo: number, hi: number): number => {
  state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
  return lo + (state % (hi - lo + 1));
};
const why = (what: string) => `${what} (seed ${seed}; rerun with CRASH_SEED=${seed})`;

type Host = ReturnType<typeof startHost>;

async function kill9(host: Host): Promise<void> {
  if (host.child.exitCode !== null || host.child.signalCode !== null) return;
  const exited = new Promise((resolve) => host.child.once("exit", resolve));
  host.child.kill("SIGKILL");
  await exited;
}

async function stop(host: Host): Promise<void> {
  if (host.child.exitCode !== null || host.child.signalCode !== null) return;
  const exited = new Promise((resolve) => host.child.once("exit", resolve));
  host.child.kill("SIGTERM");
  await exited;
}

/** What one device was sent on a thread, by seq (a seq sent twice with different content fails at once). */
class Seen {
  readonly events = new Map<number, ThreadEvent>();
  answers = new Map<string, AppProtocolMessage>();

  take(m: AppProtocolMessage, thread: string): void {
    if ((m.type === "result" || m.type === "error") && m.re) this.answers.set(m.re, m);
    if (m.type !== "event" || m.thread !== thread || m.seq === undefined) return;
    const before = this.events.get(m.seq);
    if (before) expect(m.body, why(`seq ${m.seq} was sent twice with different events`)).toEqual(before);
    this.events.set(m.seq, m.body);
  }

  get last(): number {
    return Math.max(0, ...this.events.keys());
  }
}

/** Reads until `done` or the session ends (the host was killed); never throws for a lost session. */
async function readUntil(phone: TestDevice, seen: Seen, thread: string, done: (m: AppProtocolMessage) => boolean, timeoutMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let m: AppProtocolMessage;
    try {
      m = await nextApp(phone, Math.max(1, deadline - Date.now()));
    } catch {
      return false;
    }
    seen.take(m, thread);
    if (done(m)) return true;
  }
}

/** Restarts the host, reconnects the device and checks the whole thread against what the device saw. */
async function restartAndCheck(
  home: string,
  relayUrl: string,
  link: string,
  signer: Ed25519Signer,
  thread: string,
  seen: Seen,
): Promise<{ host: Host; phone: TestDevice }> {
  const host = startHost(home, relayUrl);
  let stderr = "";
  host.child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  await host.waitFor("relay.online").catch((e: unknown) => {
    throw new Error(why(`airlock up did not start again: ${String(e)}; stderr: ${stderr.slice(0, 2000)}`));
  });
  const parsed = parsePairingLink(link);
  const phone = await resumingDevice(relayUrl, parsed.roomId, parsed.hostPublicKey, signer);
  await phone.handshake();
  expect((await nextApp(phone)).type).toBe("host.info");
  const id = await command(phone, "thread.subscribe", { thread, afterSeq: 0 });
  const replay = new Map<number, ThreadEvent>();
  let lastSeq = -1;
  const order: number[] = [];
  // Until the answer (it names the thread's lastSeq) and every event up to it arrived.
  while (lastSeq < 0 || order.length < lastSeq) {
    const m = await nextApp(phone, 20_000);
    if (m.type === "result" && m.re === id) lastSeq = (m.body as { data: { lastSeq: number } }).data.lastSeq;
    else if (m.type === "error" && m.re === id) throw new Error(why(`subscribe failed: ${JSON.stringify(m.body)}`));
    else if (m.type === "event" && m.thread === thread && m.seq !== undefined) {
      order.push(m.seq);
      replay.set(m.seq, m.body);
    }
  }
  expect(order, why("the replay is seqs 1, 2, … once each")).toEqual(order.map((_, i) => i + 1));
  expect(lastSeq, why("the thread holds every event the device saw")).toBeGreaterThanOrEqual(seen.last);
  for (const [seq, event] of seen.events) expect(replay.get(seq), why(`seq ${seq} after the crash`)).toEqual(event);
  for (const [seq, event] of replay) seen.events.set(seq, event);
  return { host, phone };
}

describe("crash safety: kill -9 during a stream and during decisions", () => {
  it("loses nothing a device saw, duplicates nothing, keeps answers idempotent and the audit chain intact", async () => {
    const relay = await startRelay({ port: await freePort() });
    cleanup.push(() => relay.dispose());
    const home = tempDir("airlock-crash-home-");
    const signer = await nobleBackend.generateSigner();

    // Part 1, streams: the policy lets the demo agent act, so a turn is a stream of events.
    writeFileSync(join(home, "policy.json"), JSON.stringify({ version: 1, defaults: { steer: "allow", continue: "allow", expand: "allow", commit: "allow" } }));
    let host = startHost(home, relay.url);
    const { link } = (await host.waitFor("pairing")) as { link: string };
    let phone = await pairingDevice(link, signer);
    await phone.handshake();
    expect((await nextApp(phone)).type).toBe("host.info");
    const seen = new Seen();
    const startId = await command(phone, "thread.start", { prompt: "Crash test: write a note" });
    let thread = "";
    await readUntil(phone, seen, "", (m) => {
      if (m.type === "event" && m.thread) thread = m.thread;
      return thread !== "";
    });
    expect(thread).not.toBe("");
    for (let round = 0; round < 3; round++) {
      if (round > 0) await command(phone, "thread.send", { thread, text: `round ${round}: keep going` });
      // Kill after a random number of this turn's events (the demo pauses between chunks, so this lands mid-stream).
      const killAfter = seen.last + rand(1, 12);
      await readUntil(phone, seen, thread, () => seen.last >= killAfter);
      await kill9(host);
      phone.close();
      ({ host, phone } = await restartAndCheck(home, relay.url, link, signer, thread, seen));
    }
    expect(seen.answers.get(startId)?.type === "result" || !seen.answers.has(startId)).toBe(true);

    // Part 2, decisions: the built-in policy asks a device before the demo agent runs a command.
    await stop(host);
    phone.close();
    rmSync(join(home, "policy.json"));
    ({ host, phone } = await restartAndCheck(home, relay.url, link, signer, thread, seen));
    for (let round = 0; round < 4; round++) {
      await command(phone, "thread.send", { thread, text: `decision round ${round}` });
      let request: Extract<ThreadEvent, { kind: "approval.request" }> | undefined;
      await readUntil(phone, seen, thread, (m) => {
        if (m.type === "event" && m.thread === thread && m.body.kind === "approval.request") request = m.body;
        return request !== undefined;
      });
      expect(request, why("an approval request")).toBeDefined();
      const decideId = `decide${round}`;
      await command(phone, "approval.decide", { thread, approvalId: request!.approvalId, decision: "approve_once" }, decideId);
      // Kill right after the decision: at once, after its answer, or a few events later.
      const mode = rand(0, 2);
      if (mode >= 1) await readUntil(phone, seen, thread, (m) => m.re === decideId, 10_000);
      if (mode === 2) {
        const after = seen.last + rand(1, 3);
        await readUntil(phone, seen, thread, () => seen.last >= after, 10_000);
      }
      await kill9(host);
      phone.close();
      const answer = seen.answers.get(decideId);
      ({ host, phone } = await restartAndCheck(home, relay.url, link, signer, thread, seen));
      if (answer) {
        // The same command again (a device that did not keep the answer resends it): the same answer.
        await command(phone, "approval.decide", { thread, approvalId: request!.approvalId, decision: "approve_once" }, decideId);
        const again = new Seen();
        await readUntil(phone, again, thread, (m) => m.re === decideId, 10_000);
        const resent = again.answers.get(decideId);
        expect({ type: resent?.type, body: resent?.body }, why("a resent decision gets the answer it got before the crash")).toEqual({
          type: answer.type,
          body: answer.body,
        });
      }
      const resolved = [...seen.events.values()].some((e) => e.kind === "approval.resolved" && e.approvalId === request!.approvalId);
      if (answer?.type === "result")
        expect(resolved, why("a decision the device was told of has its approval.resolved in the thread, or the restart closed it")).toBe(true);
    }

    // The audit chain verifies after every kill (the host repairs a cut last line when it opens the log).
    await stop(host);
    phone.close();
    const verify = await promisify(execFile)(process.execPath, [BIN, "--home", home, "--json", "audit", "verify"]);
    expect(JSON.parse(verify.stdout), why("audit verify")).toMatchObject({ ok: true });
  }, 240_000);
});
