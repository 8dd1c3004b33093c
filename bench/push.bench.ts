// Push benchmark (issue 11): a host's `push.send` through the real relay on
// local workerd to the tests' mock push service, beside the relay's plain
// host → device → host round trip measured in the same run (interleaved, so
// machine noise lands on both alike).
//
//   push/delivered   host sends push.send → the mock push service has verified
//                    the VAPID JWT, decrypted the body and recorded it
//   push/result      host sends push.send → the host holds the RESULT (status 201)
//   rtt/relay        host DATA → relay → device → relay → host (64-byte body)
//   host/encrypt     RFC 8291 encryption of a typical payload on the host (WebCrypto)
//   relay/vapid-sign one VAPID JWT signature (the relay signs once per push service per hour)
//
// The host's body is encrypted once up front (encryption is timed on its own
// line); each push gets its own Topic so the bench can find it at the mock.
// The relay's push rate limit is raised for the run (PUSH_PER_MINUTE). The mock
// push service is test/support/mock-push-service.ts (Node http on 127.0.0.1),
// so "delivered" includes its VAPID verification and RFC 8291 decryption.
import WebSocket from "ws";
import {
  decodeHeader,
  decodeRelayMessage,
  encodeControl,
  encodeFrame,
  FrameType,
  isRelayControlType,
  RelayFrame,
  secureRandom,
  toBase64Url,
  type RelayMessage,
} from "../protocol/src/index.ts";
import { encodePushPayload } from "../protocol/src/push-payload.ts";
import { encryptWebPush, generateVapidKeys, vapidAuthorization } from "../protocol/src/web-push.ts";
import { startMockPushService, type MockPushService } from "../test/support/mock-push-service.ts";
import { formatMs, interleave, measure, now, result, summarize, type BenchContext, type BenchResult, type SuiteReport } from "./lib.ts";
import { closeSocket, openRoom, startRelay, type Relay } from "./relay-client.ts";

const WARMUP_MS = 500;
const ROUNDS = 12;
const TURN_MS = 150;
const BODY = secureRandom(64);

export async function run(ctx: BenchContext): Promise<SuiteReport> {
  const results: BenchResult[] = [];
  const notes: string[] = [];
  let relay: Relay | undefined;
  let mock: MockPushService | undefined;
  const sockets: WebSocket[] = [];
  try {
    const vapid = await generateVapidKeys();
    mock = await startMockPushService({ vapidPublicKey: vapid.publicKey });
    ctx.log("starting the relay (local workerd) with push configured for the mock push service");
    relay = await startRelay({
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: "mailto:bench@example.net",
      PUSH_ORIGINS: mock.origin,
      PUSH_PER_MINUTE: "100000",
      PUSH_BURST: "10000",
    });
    const { room, host, device } = await openRoom(relay.directUrl);
    sockets.push(host.ws, device.ws);

    // Host side: RESULTs by id, and answers from the device.
    type Result = RelayMessage<typeof RelayFrame.RESULT>;
    const results_ = new Map<string, (r: Result) => void>();
    let onData: (() => void) | undefined;
    host.ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const type = decodeHeader(frame).type;
      if (type === FrameType.DATA) return onData?.();
      if (!isRelayControlType(type)) return;
      const msg = decodeRelayMessage(frame);
      if (msg.type === RelayFrame.RESULT) results_.get(msg.body.id)?.(msg.body);
    });
    let deviceCounter = 0n;
    device.ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary && data[1] === FrameType.DATA) device.ws.send(encodeFrame({ type: FrameType.DATA, slot: 0, epoch: 1, counter: deviceCounter++ }, BODY));
    });
    let hostCounter = 0n;
    const roundTrip = () =>
      new Promise<{ op: number }>((resolve) => {
        const t0 = now();
        onData = () => {
          onData = undefined;
          resolve({ op: now() - t0 });
        };
        host.ws.send(encodeFrame({ type: FrameType.DATA, slot: device.slot, epoch: 1, counter: hostCounter++ }, BODY));
      });

    const subscription = await mock.subscribe();
    const plaintext = encodePushPayload({
      v: 1,
      type: "request",
      kind: "approval",
      host: { id: room, name: "mac-mini" },
      thread: "t1",
      approvalId: "a1",
      tag: "thread:t1",
      at: Date.now(),
    });
    const body = toBase64Url(await encryptWebPush(subscription, plaintext));
    const bodyBytes = Math.ceil((body.length * 3) / 4);
    let seq = 0;
    const push = async () => {
      const id = `p${++seq}`;
      const topic = `b${seq}`;
      const answered = new Promise<Result>((resolve) => results_.set(id, resolve));
      const delivered = mock!.waitFor((r) => r.topic === topic, 15_000);
      const t0 = now();
      host.ws.send(encodeControl(RelayFrame.COMMAND, { id, op: "push.send", endpoint: subscription.endpoint, ttl: 60, urgency: "high", topic, body }));
      const [tDelivered, r] = await Promise.all([delivered.then((got) => ({ at: now(), got })), answered.then((x) => ({ at: now(), x }))]);
      results_.delete(id);
      if (!r.x.ok || r.x.status !== 201) throw new Error(`push.send failed: ${JSON.stringify(r.x)}`);
      if (tDelivered.got.status !== 201) throw new Error(`the mock push service answered ${tDelivered.got.status}: ${tDelivered.got.error ?? ""}`);
      return { delivered: tDelivered.at - t0, result: r.at - t0 };
    };

    ctx.log(`push.send vs plain round trip, interleaved: ${ROUNDS} turns of ${TURN_MS} ms each`);
    const runs = await interleave<"delivered" | "result" | "op">(
      [
        { id: "push", sample: async () => ({ ...(await push()), op: 0 }) },
        { id: "rtt", sample: async () => ({ ...(await roundTrip()), delivered: 0, result: 0 }) },
      ],
      { warmupMs: WARMUP_MS, rounds: ROUNDS, turn: { ms: TURN_MS } },
    );
    const p = runs.get("push")!;
    const delivered = result(ctx.suite, "push/delivered", { path: "relay", bodyBytes, to: "mock push service (verify + decrypt)" }, summarize(p.delivered));
    const answered = result(ctx.suite, "push/result", { path: "relay", bodyBytes, status: 201 }, summarize(p.result));
    const rtt = result(ctx.suite, "rtt/relay", { path: "relay", bodyBytes: BODY.length, kind: "sequential" }, summarize(runs.get("rtt")!.op));
    results.push(delivered, answered, rtt);

    ctx.log("host-side encryption and VAPID signing");
    results.push(
      result(
        ctx.suite,
        "host/encrypt",
        { bytes: plaintext.length, backend: "webcrypto" },
        await measure({ warmupIterations: 50, maxSamples: 400, maxTimeMs: 1500 }, () => encryptWebPush(subscription, plaintext)),
      ),
    );
    const audience = mock.origin;
    results.push(
      result(
        ctx.suite,
        "relay/vapid-sign",
        { backend: "webcrypto", note: "cached per push service for 1 h in the relay" },
        await measure({ warmupIterations: 50, maxSamples: 400, maxTimeMs: 1000 }, () =>
          vapidAuthorization({ keys: vapid, audience, subject: "mailto:bench@example.net", expiresAt: Math.floor(Date.now() / 1000) + 3600 }),
        ),
      ),
    );
    notes.push(
      `push delivered p50 ${formatMs(delivered.medianMs)} / p99 ${formatMs(delivered.p99Ms)} vs plain relay round trip p50 ${formatMs(rtt.medianMs)} / p99 ${formatMs(rtt.p99Ms)} in the same run (${(delivered.medianMs / rtt.medianMs).toFixed(1)}× at p50): the push path adds the Durable Object's outbound HTTP request and the push service's VAPID check and decryption.`,
      "Locally the push service is a Node process on loopback; a real one (FCM, Mozilla, Apple) adds an Internet round trip and its own queueing, typically tens to hundreds of ms.",
    );
    return { results, notes };
  } finally {
    await Promise.all(sockets.map((ws) => closeSocket(ws)));
    await relay?.dispose();
    await mock?.close();
  }
}
