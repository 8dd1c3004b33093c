// Resume across a relay restart (same port and Durable Object storage) in the
// middle of a turn: the device reconnects with backoff and a resume handshake
// (no link), re-subscribes from the last seq it holds, and ends up with every
// event exactly once, in order. A decision made while the relay was down waits
// in the outbox (queued), goes out after the reconnect and is acknowledged;
// beyond the outbox bound a command fails at once with OUTBOX_FULL.
import { afterAll, expect, it } from "vitest";
import { AirlockClient, AirlockClientError, MemoryStore, type ThreadEventMessage } from "../../client-sdk/src/index.ts";
import { NodeWebSocket } from "../../client-sdk/src/node/index.ts";
import { startRelay, type RelayServer } from "../relay/harness.ts";
import { driveTurn, FAST_TIMING, freePort, startHost, tempDir, until, waitState, type HostProcess } from "./support.ts";

const cleanup: Array<() => Promise<unknown> | void> = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

it("resumes after a relay restart mid-turn with no lost or duplicate events; offline commands are queued, then delivered", async () => {
  const port = await freePort();
  const persistDir = tempDir("airlock-relay-state-");
  let relay: RelayServer = await startRelay({ port, persistDir });
  cleanup.push(() => relay.dispose());
  const host: HostProcess = startHost(relay.url, ["--pair", "--yes"]);
  cleanup.push(() => host.stop());
  const { link } = (await host.waitFor("pairing")) as { link: string };

  const client = await AirlockClient.create({ store: new MemoryStore(), WebSocket: NodeWebSocket, timing: FAST_TIMING, outbox: { max: 3 } });
  cleanup.push(() => client.close());
  const { host: trusted } = await client.pair(link);
  const conn = client.connect(trusted.id);
  await waitState(conn, "online");
  const states: string[] = [];
  conn.on("state", (s) => states.push(s));
  const received: ThreadEventMessage[] = [];
  conn.on("event", (e) => received.push(e));

  // First turn, start to end.
  const { thread } = await conn.startThread({ prompt: "First turn" });
  const sub = conn.subscribe(thread);
  const first = await driveTurn(conn, sub);
  const firstEnd = first.at(-1)!.seq;

  // Second turn: wait for its first approval request, then take the relay away.
  await conn.send(thread, "Second turn");
  await until(() => sub.events.some((e) => e.seq > firstEnd && e.event.kind === "approval.request"), 20_000, "an approval request in turn 2");
  const request = sub.events.find((e) => e.seq > firstEnd && e.event.kind === "approval.request")!;
  const approvalId = request.event.kind === "approval.request" ? request.event.approvalId : "";
  await relay.dispose();
  await waitState(conn, "offline", 15_000);
  expect(conn.presence.hostOnline).toBe(true); // nothing said the host left; only the relay is gone

  // While offline: the decision and a settings change wait in the outbox; one more overflows it.
  const decided = conn.decide(thread, approvalId, "approve_once");
  const settled = conn.settings(thread, { effort: "low" });
  const third = conn.settings(thread, { effort: "medium" });
  const overflow = conn.settings(thread, { effort: "high" });
  for (const p of [decided, settled, third]) p.catch(() => undefined); // awaited below
  await expect(overflow).rejects.toMatchObject({ code: "OUTBOX_FULL" });
  expect(conn.outbox.filter((o) => o.state === "queued").map((o) => o.type)).toEqual(["approval.decide", "thread.settings", "thread.settings"]);
  expect(conn.outbox.find((o) => o.state === "failed")?.error).toBeInstanceOf(AirlockClientError);

  // The relay comes back on the same port and storage; the device resumes without a link.
  relay = await startRelay({ port, persistDir });
  await waitState(conn, "online", 30_000);
  await expect(decided).resolves.toBeTypeOf("object");
  await Promise.all([settled, third]);
  const decide = conn.outbox.find((o) => o.type === "approval.decide")!;
  expect(decide).toMatchObject({ state: "acknowledged", attempts: 1 });

  // The turn goes on (its events waited on the host) and ends.
  await driveTurn(conn, sub, request.seq);
  const summary = (await conn.refreshThreads()).find((t) => t.id === thread)!;
  await until(() => sub.lastSeq >= summary.lastSeq, 10_000, "all events");

  // Every event exactly once, in order, on the listener and in the subscription.
  const seqs = received.filter((e) => e.thread === thread).map((e) => e.seq);
  expect(seqs).toEqual(Array.from({ length: summary.lastSeq }, (_, i) => i + 1));
  expect(sub.events.map((e) => e.seq)).toEqual(seqs);
  expect(sub.events.some((e) => e.event.kind === "approval.resolved" && e.event.approvalId === approvalId)).toBe(true);
  expect(states).toContain("offline");
}, 120_000);
