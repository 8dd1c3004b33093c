// An app restart with a command still in the outbox, against the real relay
// (workerd) and a real `airlock up` host: the command is issued while the
// relay is down, the client is closed, a new client is created on the same
// FileStore, the relay comes back → the restored command goes out with its
// original id and the host acts on it exactly once. Then the same saved record
// is put back (as if the app had crashed after sending, before it learned the
// answer): the resend is answered with the first outcome and the thread still
// holds the message once.
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { AirlockClient, connectionStateKey, type OutboxEntry, type SeqEvent } from "../../client-sdk/src/index.ts";
import { FileStore, NodeWebSocket } from "../../client-sdk/src/node/index.ts";
import { startRelay, type RelayServer } from "../relay/harness.ts";
import { driveTurn, FAST_TIMING, freePort, startHost, tempDir, until, waitState, type HostProcess } from "./support.ts";

const cleanup: Array<() => Promise<unknown> | void> = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const TEXT = "sent while the relay was down, then the app restarted";

async function client(dir: string): Promise<AirlockClient> {
  const c = await AirlockClient.create({ store: new FileStore(dir), WebSocket: NodeWebSocket, timing: FAST_TIMING, deviceName: "Restarting phone" });
  cleanup.push(() => c.close());
  return c;
}

/** The thread's events from seq 1 up to what the host says it holds. */
async function history(c: AirlockClient, hostId: string, thread: string): Promise<SeqEvent[]> {
  const conn = c.connect(hostId);
  await waitState(conn, "online", 30_000);
  const sub = conn.subscribe(thread);
  const last = (await conn.refreshThreads()).find((t) => t.id === thread)!.lastSeq;
  await until(() => sub.lastSeq >= last, 15_000, `events up to ${last}`);
  return [...sub.events];
}

const userMessages = (events: SeqEvent[]) => events.filter((e) => e.event.kind === "message.user" && e.event.text === TEXT);

it("a command queued before an app restart is restored from the FileStore, resent once online, and acted on exactly once", async () => {
  const port = await freePort();
  const persistDir = tempDir("airlock-relay-state-");
  let relay: RelayServer = await startRelay({ port, persistDir });
  cleanup.push(() => relay.dispose());
  const host: HostProcess = startHost(relay.url, ["--pair", "--yes"]);
  cleanup.push(() => host.stop());
  const { link } = (await host.waitFor("pairing")) as { link: string };
  const dir = join(tempDir("airlock-client-"), "state");

  // App run 1: pair, run a turn to its end, lose the relay, issue a command, quit.
  const first = await client(dir);
  const { host: trusted } = await first.pair(link);
  const conn1 = first.connect(trusted.id);
  await waitState(conn1, "online");
  const { thread } = await conn1.startThread({ prompt: "First turn" });
  await driveTurn(conn1, conn1.subscribe(thread));
  await relay.dispose();
  await waitState(conn1, "offline", 15_000);
  const sent = conn1.send(thread, TEXT);
  sent.catch(() => undefined);
  const id = conn1.outbox.find((e) => e.type === "thread.send" && e.state === "queued")!.id;
  await first.close();
  await expect(sent).rejects.toMatchObject({ code: "CLOSED" }); // run 1's promise; the command is saved
  const file = join(dir, `${connectionStateKey(trusted.id)}.json`);
  const snapshot = `${file}.snapshot`;
  copyFileSync(file, snapshot);

  // App run 2: same directory; the command is back, queued, and waits for the relay.
  const second = await client(dir);
  expect(second.hosts().map((h) => h.id)).toEqual([trusted.id]);
  const conn2 = second.connect(trusted.id);
  const settled: OutboxEntry[] = [];
  conn2.on("settled", (e) => settled.push(e));
  await until(() => conn2.outbox.length > 0, 5000, "restored outbox");
  expect(conn2.outbox.map((e) => [e.id, e.type, e.state, e.restored])).toEqual([[id, "thread.send", "queued", true]]);
  relay = await startRelay({ port, persistDir });
  await waitState(conn2, "online", 30_000);
  await until(() => settled.some((e) => e.id === id), 20_000, "the restored command's answer");
  expect(settled.find((e) => e.id === id)).toMatchObject({ state: "acknowledged", attempts: 1, restored: true });
  expect(userMessages(await history(second, trusted.id, thread))).toHaveLength(1);
  await conn2.saved();
  await second.close();

  // App run 3: the record as it was before delivery (a crash between sending and the answer):
  // the resend carries the same id, so the host answers with its first outcome and does nothing twice.
  copyFileSync(snapshot, file);
  const third = await client(dir);
  const conn3 = third.connect(trusted.id);
  const settled3: OutboxEntry[] = [];
  conn3.on("settled", (e) => settled3.push(e));
  await waitState(conn3, "online", 30_000);
  await until(() => settled3.some((e) => e.id === id), 20_000, "the resend's answer");
  expect(settled3.find((e) => e.id === id)).toMatchObject({ state: "acknowledged", restored: true });
  expect(userMessages(await history(third, trusted.id, thread))).toHaveLength(1);
}, 150_000);
