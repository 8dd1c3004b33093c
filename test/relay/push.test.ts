// The relay as a blind Web Push sender (docs/protocol.md §9.4), on real local
// workerd, against the tests' mock push service: the host encrypts to the
// subscription, the relay adds VAPID and POSTs; the mock verifies the JWT,
// decrypts, and answers as told. Negative paths: origins off the allowlist,
// oversized bodies, floods, devices, a relay without (valid) VAPID keys.
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeControl, RelayClose, RelayFrame, toBase64Url, type RelayMessage } from "../../protocol/src/index.ts";
import { encodePushPayload } from "../../protocol/src/push-payload.ts";
import { encryptWebPush, generateVapidKeys, WEB_PUSH_MAX_PLAINTEXT_BYTES, type VapidKeyPair } from "../../protocol/src/web-push.ts";
import { MOCK_RETRY_AFTER_SECONDS, startMockPushService, type MockPushService } from "../support/mock-push-service.ts";
import { closeAll, expectClosed, newHost, pairDevice, sleep, type Host } from "./fixtures.ts";
import { debugRoom, hostCommand, startRelay, type RelayServer } from "./harness.ts";

const SUBJECT = "mailto:relay-ops@example.net";
const PER_MINUTE = 60;
const BURST = 5;

let vapid: VapidKeyPair;
let mock: MockPushService;
let relay: RelayServer;
let plainRelay: RelayServer;
let mismatchedRelay: RelayServer;
/** An allowed origin where nothing listens. */
let deadOrigin: string;
/** An allowed origin that accepts the request and never answers. */
let hanging: Server;
let hangingOrigin: string;
const hosts: Host[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  vapid = await generateVapidKeys();
  const other = await generateVapidKeys();
  mock = await startMockPushService({ vapidPublicKey: vapid.publicKey });
  deadOrigin = `http://127.0.0.1:${await freePort()}`;
  hanging = createHttpServer(() => undefined);
  await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
  hangingOrigin = `http://127.0.0.1:${(hanging.address() as { port: number }).port}`;
  [relay, plainRelay, mismatchedRelay] = await Promise.all([
    startRelay({
      push: { vapid: { ...vapid, subject: SUBJECT }, origins: [mock.origin, deadOrigin, hangingOrigin] },
      vars: { PUSH_PER_MINUTE: String(PER_MINUTE), PUSH_BURST: String(BURST), PUSH_TIMEOUT_MS: "1000" },
    }),
    startRelay(),
    // A public key that is not the private key's: the relay must not publish it nor send.
    startRelay({ push: { vapid: { publicKey: other.publicKey, privateKey: vapid.privateKey, subject: SUBJECT }, origins: [mock.origin] } }),
  ]);
}, 60_000);

afterAll(async () => {
  closeAll(...hosts.map((h) => h.client));
  await Promise.all([
    relay?.dispose(),
    plainRelay?.dispose(),
    mismatchedRelay?.dispose(),
    mock?.close(),
    new Promise<void>((resolve) => {
      if (!hanging) return resolve();
      hanging.close(() => resolve());
      hanging.closeAllConnections();
    }),
  ]);
});

async function host(url = relay.url): Promise<Host> {
  const h = await newHost(url);
  hosts.push(h);
  return h;
}

let payloadCount = 0;
/** What a host does: encode a push payload and encrypt it to the subscription (RFC 8291). */
async function hostEncrypts(h: Host, subscription: { p256dh: string; auth: string }, options: { padding?: number } = {}) {
  const plaintext = encodePushPayload({
    v: 1,
    type: "request",
    kind: "approval",
    host: { id: h.room, name: "mac-mini" },
    thread: "t1",
    approvalId: `a${++payloadCount}`,
    tag: "thread:t1",
    at: Date.now(),
  });
  const body = await encryptWebPush(subscription, plaintext, options);
  return { plaintext, body };
}

function pushSend(h: Host, endpoint: string, body: Uint8Array | string, extra: Record<string, unknown> = {}) {
  return hostCommand(h.client, {
    op: "push.send",
    endpoint,
    ttl: 3600,
    urgency: "high",
    body: typeof body === "string" ? body : toBase64Url(body),
    ...extra,
  });
}

const forEndpoint = (endpoint: string) => mock.received.filter((r) => r.endpoint === endpoint);

describe("push.send delivers through the relay", () => {
  it("the mock receives the host's ciphertext byte for byte, VAPID verifies, the payload decrypts, TTL/Urgency/Topic arrive; RESULT 201", async () => {
    const h = await host();
    const sub = await mock.subscribe();
    const { plaintext, body } = await hostEncrypts(h, sub);
    const before = Math.floor(Date.now() / 1000);
    const result = await pushSend(h, sub.endpoint, body, { ttl: 600, urgency: "normal", topic: "thread-t1" });
    expect(result).toEqual({ id: expect.any(String), ok: true, status: 201 });
    const got = await mock.waitFor((r) => r.endpoint === sub.endpoint);
    expect(got).toMatchObject({ status: 201, ttl: 600, urgency: "normal", topic: "thread-t1", bodyBytes: body.length });
    expect(got.error).toBeUndefined();
    // The relay passed the host's bytes through untouched: it never had anything else.
    expect(got.body).toEqual(body);
    expect(got.payload).toEqual(plaintext);
    expect(got.vapid?.publicKey).toBe(vapid.publicKey);
    expect(got.vapid?.subject).toBe(SUBJECT);
    // exp is 12 h ahead (within the 24 h RFC 8292 allows).
    expect(got.vapid!.expiresAt).toBeGreaterThanOrEqual(before + 12 * 3600 - 5);
    expect(got.vapid!.expiresAt).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 12 * 3600 + 5);
  });

  it("sends no Topic when none is given, and reuses its signed JWT for the same push service", async () => {
    const h = await host();
    const sub = await mock.subscribe();
    const first = await pushSend(h, sub.endpoint, (await hostEncrypts(h, sub)).body, { urgency: "low" });
    const second = await pushSend(h, sub.endpoint, (await hostEncrypts(h, sub)).body);
    expect([first.ok, second.ok]).toEqual([true, true]);
    const got = forEndpoint(sub.endpoint);
    expect(got.map((r) => [r.status, r.urgency, r.topic, r.ttl])).toEqual([
      [201, "low", undefined, 3600],
      [201, "high", undefined, 3600],
    ]);
    expect(got[0]!.vapid!.expiresAt).toBe(got[1]!.vapid!.expiresAt);
  });

  it("a body of exactly 4096 bytes is delivered", async () => {
    const h = await host();
    const sub = await mock.subscribe();
    const { body } = await hostEncrypts(h, sub, { padding: 0 });
    const big = await encryptWebPush(sub, new Uint8Array(WEB_PUSH_MAX_PLAINTEXT_BYTES).fill(0x41));
    expect(big.length).toBe(4096);
    expect(await pushSend(h, sub.endpoint, big)).toMatchObject({ ok: true, status: 201 });
    expect(body.length).toBeLessThan(4096);
  });

  it("relays 410 (subscription gone), 429 with Retry-After, and a redirect it does not follow", async () => {
    const h = await host();
    const sub = await mock.subscribe();
    mock.respondWith(sub.endpoint, 410, 429, 301);
    const body = (await hostEncrypts(h, sub)).body;
    expect(await pushSend(h, sub.endpoint, body)).toEqual({ id: expect.any(String), ok: false, status: 410, error: "push service answered 410" });
    expect(await pushSend(h, sub.endpoint, body)).toEqual({
      id: expect.any(String),
      ok: false,
      status: 429,
      retryAfter: MOCK_RETRY_AFTER_SECONDS,
      error: "push service answered 429",
    });
    expect(await pushSend(h, sub.endpoint, body)).toMatchObject({ ok: false, status: 301, error: expect.stringMatching(/redirected.*not followed/) });
    expect(forEndpoint(sub.endpoint).map((r) => r.status)).toEqual([410, 429, 301]);
  });

  it("a push service that cannot be reached: ok false, an error, no status", async () => {
    const h = await host();
    const sub = await mock.subscribe();
    const result = await pushSend(h, `${deadOrigin}/push/x`, (await hostEncrypts(h, sub)).body);
    expect(result).toEqual({ id: expect.any(String), ok: false, error: "push service unreachable" });
  });

  it("a push service that does not answer in time (PUSH_TIMEOUT_MS, here 1 s): ok false, an error, no status; other pushes go on meanwhile", async () => {
    const h = await host();
    const sub = await mock.subscribe();
    const body = toBase64Url((await hostEncrypts(h, sub)).body);
    const started = Date.now();
    const send = (id: string, endpoint: string) =>
      h.client.send(encodeControl(RelayFrame.COMMAND, { id, op: "push.send", endpoint, ttl: 60, urgency: "high", body }));
    send("slow", `${hangingOrigin}/push/x`);
    send("quick", sub.endpoint);
    const first = await h.client.nextControl(RelayFrame.RESULT, 5000);
    // The quick push is answered while the slow one still waits (the slow one is answered only at its 1 s timeout).
    expect(first).toEqual({ id: "quick", ok: true, status: 201 });
    const second = await h.client.nextControl(RelayFrame.RESULT, 5000);
    expect(second).toEqual({ id: "slow", ok: false, error: "push service did not answer within 1 s" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("stores nothing about pushes in the room", async () => {
    const h = await host();
    const sub = await mock.subscribe();
    const before = (await debugRoom(relay.url, h.room)) as unknown as { storage: string[] };
    expect((await pushSend(h, sub.endpoint, (await hostEncrypts(h, sub)).body, { topic: "t" })).ok).toBe(true);
    const after = (await debugRoom(relay.url, h.room)) as unknown as { storage: string[] };
    expect(after.storage).toEqual(before.storage);
  });
});

describe("push.send refusals", () => {
  it("refuses endpoints off the allowlist, with credentials, a fragment or another scheme; the mock receives nothing", async () => {
    const h = await host();
    const sub = await mock.subscribe();
    const body = (await hostEncrypts(h, sub)).body;
    const path = new URL(sub.endpoint).pathname;
    const port = Number(new URL(mock.origin).port);
    const count = mock.received.length;
    const cases: Array<[string, RegExp]> = [
      [`http://localhost:${port}${path}`, /not on a push service/],
      [`http://127.0.0.1:${port === 65535 ? 65534 : port + 1}${path}`, /not on a push service/],
      [`https://127.0.0.1:${port}${path}`, /not on a push service/],
      [`https://fcm.googleapis.com/fcm/send/abc`, /not on a push service/], // the defaults are replaced by PUSH_ORIGINS
      [`http://user:secret@127.0.0.1:${port}${path}`, /credentials/],
      [`${sub.endpoint}#frag`, /fragment/],
      [`ftp://127.0.0.1:${port}${path}`, /https URL/],
      [`not a url`, /not a URL/],
    ];
    for (const [endpoint, error] of cases) {
      const result = await pushSend(h, endpoint, body);
      expect(result, endpoint).toMatchObject({ ok: false, error: expect.stringMatching(error) });
      expect(result.status, endpoint).toBeUndefined();
    }
    await sleep(100);
    expect(mock.received.length).toBe(count);
  });

  it("refuses a body over 4096 bytes or not base64url, and a malformed command", async () => {
    const h = await host();
    const sub = await mock.subscribe();
    const count = mock.received.length;
    const over = await pushSend(h, sub.endpoint, new Uint8Array(4097));
    expect(over).toMatchObject({ ok: false, error: expect.stringMatching(/malformed/) });
    expect(over.status).toBeUndefined();
    expect(await pushSend(h, sub.endpoint, "a+b/")).toMatchObject({ ok: false, error: expect.stringMatching(/malformed/) });
    expect(await pushSend(h, sub.endpoint, "A")).toMatchObject({ ok: false, error: "body is not base64url" });
    expect(await pushSend(h, sub.endpoint, new Uint8Array(8), { ttl: -1 })).toMatchObject({ ok: false, error: expect.stringMatching(/malformed/) });
    expect(await pushSend(h, sub.endpoint, new Uint8Array(8), { urgency: "urgent" })).toMatchObject({ ok: false, error: expect.stringMatching(/malformed/) });
    expect(await pushSend(h, sub.endpoint, new Uint8Array(8), { topic: "x".repeat(33) })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/malformed/),
    });
    await sleep(100);
    expect(mock.received.length).toBe(count);
  });

  it("rate-limits a flood per room (burst, then refusals with retryAfter); another room is unaffected", async () => {
    const h = await host();
    const sub = await mock.subscribe();
    const body = toBase64Url((await hostEncrypts(h, sub)).body);
    const n = BURST + 6;
    for (let i = 0; i < n; i++) {
      h.client.send(encodeControl(RelayFrame.COMMAND, { id: `flood${i}`, op: "push.send", endpoint: sub.endpoint, ttl: 60, urgency: "normal", body }));
    }
    const results: Array<RelayMessage<typeof RelayFrame.RESULT>> = [];
    while (results.length < n) results.push(await h.client.nextControl(RelayFrame.RESULT, 15_000));
    const ok = results.filter((r) => r.ok);
    const limited = results.filter((r) => !r.ok);
    // One token may refill (1 per second at 60/min) while the flood is processed.
    expect(ok.length).toBeGreaterThanOrEqual(BURST);
    expect(ok.length).toBeLessThanOrEqual(BURST + 1);
    for (const r of limited) {
      expect(r).toMatchObject({ ok: false, error: `push rate limit (${PER_MINUTE} per minute) exceeded` });
      expect(r.status).toBeUndefined();
      expect(r.retryAfter).toBeGreaterThanOrEqual(1);
      expect(r.retryAfter).toBeLessThanOrEqual(2);
    }
    expect(forEndpoint(sub.endpoint).length).toBe(ok.length);
    // Rates are per room.
    const other = await host();
    expect(await pushSend(other, sub.endpoint, body)).toMatchObject({ ok: true, status: 201 });
  });

  it("a device cannot send push.send: the relay closes it (4005) and sends nothing", async () => {
    const h = await host();
    const device = await pairDevice(relay.url, h);
    const sub = await mock.subscribe();
    const body = toBase64Url((await hostEncrypts(h, sub)).body);
    device.client.send(encodeControl(RelayFrame.COMMAND, { id: "d1", op: "push.send", endpoint: sub.endpoint, ttl: 60, urgency: "high", body }));
    await expectClosed(device.client, RelayClose.FRAME_INVALID, /not allowed from a device/);
    await sleep(200);
    expect(forEndpoint(sub.endpoint)).toEqual([]);
  });
});

describe("push configuration", () => {
  it("/v1/info publishes the VAPID public key only when push is configured with a matching key pair", async () => {
    const info = async (url: string) => (await (await fetch(`${url}/v1/info`)).json()) as { push?: unknown };
    expect((await info(relay.url)).push).toEqual({ vapidPublicKey: vapid.publicKey });
    expect(await info(plainRelay.url)).not.toHaveProperty("push");
    expect(await info(mismatchedRelay.url)).not.toHaveProperty("push");
    // The private key is never served.
    expect(JSON.stringify(await info(relay.url))).not.toContain(vapid.privateKey);
  });

  it("a relay without push, or with a mismatched key pair, refuses push.send and sends nothing", async () => {
    const sub = await mock.subscribe();
    for (const url of [plainRelay.url, mismatchedRelay.url]) {
      const h = await host(url);
      const result = await pushSend(h, sub.endpoint, (await hostEncrypts(h, sub)).body);
      expect(result).toEqual({ id: expect.any(String), ok: false, error: "push is not configured on this relay" });
    }
    await sleep(100);
    expect(forEndpoint(sub.endpoint)).toEqual([]);
  });
});
