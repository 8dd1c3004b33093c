// A local push service the tests own (RFC 8030 as a vendor would run it, on
// 127.0.0.1 and a random port): it hands out subscriptions whose private keys
// it keeps, checks every POST the way a real push service does — VAPID JWT
// (RFC 8292: signature, aud = its origin, exp in the future and at most 24 h
// ahead, sub), TTL, Urgency, Topic, Content-Encoding: aes128gcm, size — and
// decrypts the body (RFC 8291) with the subscription's keys, so a test sees
// exactly what reached the phone. Answers 201 unless a test asked otherwise.
//
// Statuses: 201 accepted; 400 bad TTL/Urgency/Topic or undecryptable body;
// 401 missing or invalid VAPID authorization; 403 a valid JWT from another key
// than the one subscriptions are bound to (options.vapidPublicKey); 404 unknown
// subscription; 405 not a POST; 413 body over 4096 bytes; 415 not aes128gcm;
// whatever respondWith queued (429/503 carry Retry-After: MOCK_RETRY_AFTER_SECONDS).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { toBase64Url } from "../../protocol/src/bytes.ts";
import { decryptWebPush, generateSubscriptionKeys, verifyVapidAuthorization, WEB_PUSH_MAX_BODY_BYTES } from "../../protocol/src/web-push.ts";

export interface ReceivedPush {
  endpoint: string;
  ttl: number;
  urgency?: string;
  topic?: string;
  vapid?: { publicKey: string; subject: string; expiresAt: number };
  /** The decrypted payload (when the request got that far and decryption worked). */
  payload?: Uint8Array;
  bodyBytes: number;
  /** The body exactly as received (at most 4096 + 1 bytes are kept). */
  body: Uint8Array;
  /** What the service answered. */
  status: number;
  error?: string;
}

export interface MockPushService {
  /** "http://127.0.0.1:PORT" */
  origin: string;
  /** A subscription on this service; it keeps the private key to decrypt what arrives for it. */
  subscribe(): Promise<{ endpoint: string; p256dh: string; auth: string }>;
  received: ReceivedPush[];
  /** The next answers for that endpoint, in order (then 201 again); e.g. respondWith(ep, 410). */
  respondWith(endpoint: string, ...statuses: number[]): void;
  waitFor(match: (r: ReceivedPush) => boolean, timeoutMs?: number): Promise<ReceivedPush>;
  close(): Promise<void>;
}

/** Retry-After the mock sends with a queued 429 or 503. */
export const MOCK_RETRY_AFTER_SECONDS = 30;

interface Subscription {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  auth: Uint8Array;
}

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads at most `limit` + 1 bytes of the body (enough to know it is too large), then stops. */
function readBody(req: IncomingMessage, limit: number): Promise<{ bytes: Uint8Array; total: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let total = 0;
    req.on("data", (chunk: Buffer) => {
      total += chunk.length;
      if (kept <= limit) {
        const part = chunk.subarray(0, limit + 1 - kept);
        chunks.push(part);
        kept += part.length;
      }
    });
    req.on("end", () => resolve({ bytes: new Uint8Array(Buffer.concat(chunks)), total }));
    req.on("error", reject);
  });
}

export function startMockPushService(options: { vapidPublicKey?: string } = {}): Promise<MockPushService> {
  const subscriptions = new Map<string, Subscription>();
  const queued = new Map<string, number[]>();
  const received: ReceivedPush[] = [];
  const waiters = new Set<() => void>();
  let origin = "";

  const record = (r: ReceivedPush) => {
    received.push(r);
    for (const wake of [...waiters]) wake();
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    const endpoint = `${origin}${path}`;
    const { bytes, total } = await readBody(req, WEB_PUSH_MAX_BODY_BYTES);
    const entry: ReceivedPush = { endpoint, ttl: -1, bodyBytes: total, body: bytes, status: 0 };
    const headers: Record<string, string> = {};
    try {
      if (req.method !== "POST") {
        headers.Allow = "POST";
        throw new Refused(405, "only POST");
      }
      const id = /^\/push\/([A-Za-z0-9_-]{22})$/.exec(path)?.[1];
      const subscription = id === undefined ? undefined : subscriptions.get(id);
      if (!subscription) throw new Refused(404, "no such subscription");

      const authorization = req.headers.authorization;
      if (authorization === undefined) throw new Refused(401, "no Authorization header");
      try {
        entry.vapid = await verifyVapidAuthorization(authorization, { audience: origin, now: Math.floor(Date.now() / 1000) });
      } catch (e) {
        throw new Refused(401, (e as Error).message);
      }
      if (options.vapidPublicKey !== undefined && entry.vapid.publicKey !== options.vapidPublicKey) {
        throw new Refused(403, "VAPID key is not the one this subscription was created with");
      }

      const ttl = req.headers.ttl;
      if (typeof ttl !== "string" || !/^\d{1,10}$/.test(ttl)) throw new Refused(400, "TTL header missing or not a number");
      entry.ttl = Number(ttl);
      const urgency = req.headers.urgency;
      if (urgency !== undefined) {
        if (typeof urgency !== "string" || !["very-low", "low", "normal", "high"].includes(urgency)) throw new Refused(400, "bad Urgency");
        entry.urgency = urgency;
      }
      const topic = req.headers.topic;
      if (topic !== undefined) {
        if (typeof topic !== "string" || !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) throw new Refused(400, "bad Topic");
        entry.topic = topic;
      }
      if (req.headers["content-encoding"] !== "aes128gcm") throw new Refused(415, "Content-Encoding must be aes128gcm");
      if (total > WEB_PUSH_MAX_BODY_BYTES) throw new Refused(413, `body of ${total} bytes is over ${WEB_PUSH_MAX_BODY_BYTES}`);
      try {
        entry.payload = await decryptWebPush(bytes, subscription);
      } catch (e) {
        throw new Refused(400, (e as Error).message);
      }
      const status = queued.get(endpoint)?.shift() ?? 201;
      if (status === 429 || status === 503) headers["Retry-After"] = String(MOCK_RETRY_AFTER_SECONDS);
      if (status === 201) headers.Location = `${origin}/message/${toBase64Url(crypto.getRandomValues(new Uint8Array(12)))}`;
      entry.status = status;
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      entry.status = e.status;
      entry.error = e.message;
    }
    record(entry);
    res.writeHead(entry.status, headers);
    res.end(entry.error ?? "");
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      record({ endpoint: `${origin}${req.url ?? ""}`, ttl: -1, bodyBytes: 0, body: new Uint8Array(0), status: 500, error: String(e) });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve({
        origin,
        received,
        async subscribe() {
          const keys = await generateSubscriptionKeys();
          const id = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
          subscriptions.set(id, keys);
          return { endpoint: `${origin}/push/${id}`, p256dh: toBase64Url(keys.publicKey), auth: toBase64Url(keys.auth) };
        },
        respondWith(endpoint, ...statuses) {
          for (const s of statuses) if (!Number.isInteger(s) || s < 200 || s > 599) throw new Error(`respondWith: bad status ${s}`);
          queued.set(endpoint, [...(queued.get(endpoint) ?? []), ...statuses]);
        },
        waitFor(match, timeoutMs = 5000) {
          return new Promise((resolveWait, rejectWait) => {
            const check = () => {
              const hit = received.find(match);
              if (!hit) return false;
              cleanup();
              resolveWait(hit);
              return true;
            };
            const timer = setTimeout(() => {
              cleanup();
              const seen = received.map((r) => `${r.status}${r.error ? ` (${r.error})` : ""}`).join(", ") || "nothing";
              rejectWait(new Error(`mock push service: no matching push within ${timeoutMs} ms (received: ${seen})`));
            }, timeoutMs);
            const cleanup = () => {
              clearTimeout(timer);
              waiters.delete(wake);
            };
            const wake = () => void check();
            if (!check()) waiters.add(wake);
          });
        },
        close() {
          return new Promise<void>((resolveClose) => {
            server.close(() => resolveClose());
            server.closeAllConnections();
          });
        },
      });
    });
  });
}
