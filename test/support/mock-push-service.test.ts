// The mock push service must be able to fail: it refuses what a real push
// service refuses, and decrypts exactly what was encrypted to it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textEncoder } from "../../protocol/src/bytes.ts";
import { encryptWebPush, generateVapidKeys, vapidAuthorization, type VapidKeyPair } from "../../protocol/src/web-push.ts";
import { MOCK_RETRY_AFTER_SECONDS, startMockPushService, type MockPushService } from "./mock-push-service.ts";

let service: MockPushService;
let keys: VapidKeyPair;
let otherKeys: VapidKeyPair;

beforeAll(async () => {
  keys = await generateVapidKeys();
  otherKeys = await generateVapidKeys();
  service = await startMockPushService({ vapidPublicKey: keys.publicKey });
});
afterAll(async () => {
  await service.close();
});

const exp = () => Math.floor(Date.now() / 1000) + 3600;
const auth = (k = keys, audience = service.origin) => vapidAuthorization({ keys: k, audience, subject: "mailto:test@example.net", expiresAt: exp() });

async function post(endpoint: string, body: Uint8Array, headers: Record<string, string>): Promise<Response> {
  return fetch(endpoint, { method: "POST", body: body as Uint8Array<ArrayBuffer>, headers });
}

async function validRequest() {
  const sub = await service.subscribe();
  const body = await encryptWebPush(sub, textEncoder.encode("hello phone"));
  const headers: Record<string, string> = { TTL: "60", Urgency: "high", Topic: "thread-1", "Content-Encoding": "aes128gcm", Authorization: await auth() };
  return { sub, body, headers };
}

describe("mock push service", () => {
  it("listens on 127.0.0.1 only and hands out endpoints on its origin", async () => {
    expect(service.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const sub = await service.subscribe();
    expect(sub.endpoint.startsWith(`${service.origin}/push/`)).toBe(true);
  });

  it("accepts a valid push (201), verifies VAPID, decrypts, records TTL/Urgency/Topic and the exact body", async () => {
    const { sub, body, headers } = await validRequest();
    const res = await post(sub.endpoint, body, headers);
    expect(res.status).toBe(201);
    const r = await service.waitFor((x) => x.endpoint === sub.endpoint);
    expect(r).toMatchObject({
      status: 201,
      ttl: 60,
      urgency: "high",
      topic: "thread-1",
      bodyBytes: body.length,
      vapid: { publicKey: keys.publicKey, subject: "mailto:test@example.net" },
    });
    expect(new TextDecoder().decode(r.payload)).toBe("hello phone");
    expect(r.body).toEqual(body);
  });

  it("refuses missing, invalid or foreign VAPID authorization (401/403)", async () => {
    const { sub, body, headers } = await validRequest();
    const without = { ...headers };
    delete (without as Record<string, string | undefined>).Authorization;
    expect((await post(sub.endpoint, body, without)).status).toBe(401);
    expect((await post(sub.endpoint, body, { ...headers, Authorization: await auth(keys, "http://127.0.0.1:1") })).status).toBe(401);
    expect(
      (
        await post(sub.endpoint, body, {
          ...headers,
          Authorization: headers.Authorization!.replace(/(.)(, k=)/, (_m, c: string, k: string) => `${c === "A" ? "Q" : "A"}${k}`),
        })
      ).status,
    ).toBe(401);
    expect((await post(sub.endpoint, body, { ...headers, Authorization: await auth(otherKeys) })).status).toBe(403);
    const refused = service.received.filter((x) => x.endpoint === sub.endpoint);
    expect(refused.map((x) => x.status)).toEqual([401, 401, 401, 403]);
    expect(refused.every((x) => x.payload === undefined && x.error)).toBe(true);
  });

  it("refuses a missing TTL, a bad Urgency/Topic, another encoding, a tampered or oversized body, an unknown endpoint", async () => {
    const { sub, body, headers } = await validRequest();
    const noTtl = { ...headers };
    delete (noTtl as Record<string, string | undefined>).TTL;
    expect((await post(sub.endpoint, body, noTtl)).status).toBe(400);
    expect((await post(sub.endpoint, body, { ...headers, Urgency: "urgent" })).status).toBe(400);
    expect((await post(sub.endpoint, body, { ...headers, Topic: "x".repeat(33) })).status).toBe(400);
    expect((await post(sub.endpoint, body, { ...headers, "Content-Encoding": "aesgcm" })).status).toBe(415);
    const tampered = body.slice();
    tampered[tampered.length - 1]! ^= 1;
    expect((await post(sub.endpoint, tampered, headers)).status).toBe(400);
    expect((await post(sub.endpoint, new Uint8Array(4097), headers)).status).toBe(413);
    expect((await post(`${service.origin}/push/AAAAAAAAAAAAAAAAAAAAAA`, body, headers)).status).toBe(404);
    expect((await fetch(sub.endpoint)).status).toBe(405);
  });

  it("answers what respondWith queued, in order, then 201 again; 429 carries Retry-After", async () => {
    const { sub, body, headers } = await validRequest();
    service.respondWith(sub.endpoint, 410, 429);
    expect((await post(sub.endpoint, body, headers)).status).toBe(410);
    const limited = await post(sub.endpoint, body, headers);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe(String(MOCK_RETRY_AFTER_SECONDS));
    expect((await post(sub.endpoint, body, headers)).status).toBe(201);
  });

  it("waitFor times out with what it saw", async () => {
    await expect(service.waitFor(() => false, 50)).rejects.toThrow(/no matching push within 50 ms/);
  });
});
