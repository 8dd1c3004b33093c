// Forward compatibility (docs/protocol.md, "Events a device cannot read"): a
// newer host sends an event kind this SDK does not know. The device must not
// ask for it again forever (before: every invalid event looked like a gap
// after it, so the SDK re-subscribed, got the same event, and so on). It
// reports one PROTOCOL_ERROR, takes the event as delivered (acknowledged),
// shows nothing of it, and the events after it arrive.
//
// The host here is the protocol's real HostSession behind the in-process
// relay of the malicious-relay harness (honest mode): the SDK's HostConnection
// runs its real handshake and E2E channel against it.
import { afterEach, describe, expect, it } from "vitest";
import { appProtocol, nobleBackend, roomIdFor, textEncoder, toBase64Url } from "../../protocol/src/index.ts";
import type { AirlockClientError } from "../../client-sdk/src/errors.ts";
import { HostConnection } from "../../client-sdk/src/host-connection.ts";
import { SdkRelay, type SdkRelaySocket } from "../protocol/malicious-relay.ts";
import { until, waitState } from "./support.ts";

const conns: HostConnection[] = [];
afterEach(() => {
  for (const c of conns.splice(0)) c.close();
});

const THREAD = "t_future";

async function connect() {
  const hostSigner = await nobleBackend.generateSigner();
  const device = await nobleBackend.generateSigner();
  const relay = new SdkRelay({ backend: nobleBackend, hostSigner, isTrustedDevice: () => true, behaviour: { kind: "honest" } });
  const conn = new HostConnection({
    host: { id: roomIdFor(hostSigner.publicKey), name: "h", relayUrl: "https://relay.example", publicKey: toBase64Url(hostSigner.publicKey), pairedAt: 1 },
    signer: device,
    backend: nobleBackend,
    deviceName: "Phone",
    WebSocket: relay.WebSocket,
    timing: { pingIntervalMs: 1000, deadAfterMs: 5000, connectTimeoutMs: 2000, handshakeTimeoutMs: 2000, ackDelayMs: 20, backoff: { baseMs: 20, maxMs: 160 } },
  });
  conns.push(conn);
  const errors: AirlockClientError[] = [];
  conn.on("error", (e) => errors.push(e));
  await waitState(conn, "online", 10_000);
  const socket = relay.sockets.at(-1)!;
  return { conn, errors, socket };
}

/** What the device sent to the host, decoded. */
const sent = (socket: SdkRelaySocket) =>
  socket.payloads.map(
    (p) => JSON.parse(new TextDecoder().decode(p)) as { type: string; body: Record<string, unknown>; ack?: Array<{ thread: string; seq: number }> },
  );

const event = (seq: number, body: Record<string, unknown>) => ({ v: 1, type: "event", id: `e${seq}`, thread: THREAD, seq, body });
const known = (seq: number) => appProtocol.encode(event(seq, { kind: "message.completed", itemId: `m${seq}`, text: `message ${seq}` }) as never);
/** Hand-built bytes: this version's encoder refuses kinds it does not know. */
const raw = (message: object) => textEncoder.encode(JSON.stringify(message));

describe("events a device cannot read", () => {
  it("a kind from a newer host: one error, taken as delivered and acknowledged, nothing shown, the next events arrive; no subscribe loop", async () => {
    const { conn, errors, socket } = await connect();
    const sub = conn.subscribe(THREAD);
    await until(() => sent(socket).some((m) => m.type === "thread.subscribe"), 5000, "the subscribe at the host");
    await socket.hostSend!(known(1));
    await socket.hostSend!(raw(event(2, { kind: "future.widget", anything: { nested: [1, 2, 3] } })));
    await socket.hostSend!(known(3));
    await until(() => sub.lastSeq === 3, 5000, "event 3");
    expect(sub.events.map((e) => [e.seq, e.event.kind])).toEqual([
      [1, "message.completed"],
      [3, "message.completed"],
    ]);
    expect(errors.map((e) => e.code)).toEqual(["PROTOCOL_ERROR"]);
    expect(errors[0]!.message).toMatch(/invalid message/);
    // Acknowledged up to 3 (the unread event included), and subscribed once: no loop.
    await until(() => sent(socket).some((m) => m.ack?.some((a) => a.thread === THREAD && a.seq === 3)), 5000, "the ack of seq 3");
    await new Promise((r) => setTimeout(r, 100));
    expect(sent(socket).filter((m) => m.type === "thread.subscribe")).toHaveLength(1);
  });

  it("only the next event is skipped: one after a gap is not taken as delivered (the device asks again from what it holds)", async () => {
    const { conn, socket } = await connect();
    const sub = conn.subscribe(THREAD);
    await until(() => sent(socket).some((m) => m.type === "thread.subscribe"), 5000, "the subscribe at the host");
    await socket.hostSend!(known(1));
    await until(() => sub.lastSeq === 1, 5000, "event 1");
    await socket.hostSend!(raw(event(5, { kind: "future.widget" })));
    await new Promise((r) => setTimeout(r, 100));
    expect(sub.lastSeq).toBe(1);
    // A message that is not even an envelope changes nothing either.
    await socket.hostSend!(textEncoder.encode("not json"));
    await socket.hostSend!(known(2));
    await until(() => sub.lastSeq === 2, 5000, "event 2");
    expect(sub.events.map((e) => e.seq)).toEqual([1, 2]);
  });
});
