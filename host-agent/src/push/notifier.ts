// What wakes whom (docs/host-agent.md "Push", docs/protocol.md §10.6). The app
// server hands every thread event it persists to onEvent(); for an approval
// request, a question, or the end of a turn, each device that registered for
// that kind is sent a push unless it is looking at the thread (connected,
// visible, subscribed). A push the host sent for a request is followed by a
// "resolved" push once the request is decided or answered, so a stale
// "approval needed" does not stay on a lock screen.
//
// onEvent() only decides and queues: encryption and the relay round trip
// happen in a small bounded queue, so a slow push service never delays the
// event path. The payload is encrypted to the device's subscription here (RFC
// 8291); the relay adds the VAPID authorization and posts it, and can read
// nothing. Endpoints and payloads never reach a log or the audit log.
import {
  encodePushPayload,
  MAX_PUSH_PAYLOAD_BYTES,
  sha256,
  textEncoder,
  toBase64Url,
  type PushKind,
  type PushPayload,
  type ThreadEvent,
} from "@airlock/protocol";
import type { PushRegistration, PushStore } from "./push-store.ts";
import { normalizeKinds, PushStoreError } from "./push-store.ts";
import { HostError } from "../host-error.ts";
import { messageOf } from "../error-message.ts";

export type PushUrgency = "very-low" | "low" | "normal" | "high";

export interface PushSendRequest {
  endpoint: string;
  ttl: number;
  urgency: PushUrgency;
  topic?: string;
  /** aes128gcm body, already encrypted to the subscription. */
  body: Uint8Array;
}

export interface PushSendOutcome {
  ok: boolean;
  status?: number;
  retryAfter?: number;
  error?: string;
}

/** The relay (RelayLink.pushSend) or a test's fake. Rejects when the relay cannot be asked (offline, timeout). */
export interface PushTransport {
  pushSend(request: PushSendRequest): Promise<PushSendOutcome>;
}

/**
 * RFC 8291 encryption to a subscription's keys (encryptWebPush from
 * @airlock/protocol/web-push); `padding` zero bytes go inside the record
 * (RFC 8188), so the body's length says less about the payload.
 */
export type PushEncrypt = (subscription: { p256dh: string; auth: string }, plaintext: Uint8Array, options: { padding: number }) => Promise<Uint8Array>;

export type PushAudit = (type: string, actor: { kind: "host" }, data: Record<string, unknown>) => void;

export interface PushNotifierOptions {
  store: PushStore;
  transport: PushTransport;
  encrypt: PushEncrypt;
  /** The host as the payload names it: its room id and its name. */
  host: { id: string; name: string };
  /** Whether the device is still trusted (a revoked device is never pushed). */
  isTrusted(deviceId: string): boolean;
  /** Whether the device is looking at the thread: a connection that is visible and subscribed to it. */
  isWatching(deviceId: string, threadId: string): boolean;
  audit?: PushAudit;
  /** Operational lines: no endpoint, no payload. */
  log?(line: string): void;
  now?: () => number;
  /** Most pushes waiting to be sent (default 128); beyond it the oldest is dropped. */
  maxQueue?: number;
  /** Pushes in flight at once (default 2; one per device). */
  concurrency?: number;
}

export type PushErrorCode = "PUSH_UNAVAILABLE" | "PUSH_NOT_REGISTERED" | "PUSH_FAILED" | "APP_MESSAGE_INVALID";

export class PushError extends HostError<PushErrorCode> {
  constructor(code: PushErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "PushError";
  }
}

export interface PushCounters {
  sent: number;
  failed: number;
  gone: number;
  /** Dropped before sending: queue full, or replaced by a newer push for the same thread. */
  dropped: number;
}

/** Context the app server adds to an event. */
export interface PushEventContext {
  /** The thread's title (only shown to devices that opted in to details). */
  title?: string;
  /** A question's expiry (unix ms); an approval carries its own. */
  expiresAt?: number;
}

interface Job {
  deviceId: string;
  type: PushPayload["type"];
  kind?: PushKind;
  thread?: string;
  /** approvalId or questionId. */
  requestId?: string;
  topic: string;
  ttl: number;
  urgency: PushUrgency;
  /** Built at send time, so a device's current details setting applies. */
  build(registration: PushRegistration): PushPayload;
  /** Sent again once after a 429/503 backoff. */
  retried?: boolean;
}

/** A request some devices were pushed: they get the "resolved" follow-up. */
interface Pushed {
  kind: PushKind;
  thread: string;
  devices: Set<string>;
  ttl: number;
}

const HOUR = 3600;
/** A request's push lives as long as the request (its expiry), else an hour. */
const REQUEST_TTL = HOUR;
/** A finished turn is worth knowing for a day. */
const TURN_TTL = 24 * HOUR;
/** The follow-up must outlive the request's push it replaces. */
const RESOLVED_TTL = 24 * HOUR;
const TEST_TTL = 300;
/** Without a Retry-After, a 429/503 pauses a device's pushes this long. */
const DEFAULT_BACKOFF_S = 60;
const MAX_BACKOFF_S = 3600;
/** Requests remembered for their follow-up (oldest forgotten first). */
const MAX_PUSHED = 512;
/** Plaintext sizes a payload is padded up to inside the encrypted record, so its length says less. */
const PAD_BUCKETS = [256, 512, 1024, 2048, MAX_PUSH_PAYLOAD_BYTES];

/** RFC 8030 Topic for a thread: 32 base64url chars of SHA-256 over (host, thread); it names neither. */
export function pushTopic(hostId: string, threadId: string): string {
  return toBase64Url(sha256(textEncoder.encode(`airlock push topic\u0000${hostId}\u0000${threadId}`))).slice(0, 32);
}

/** The notification tag: one notification per host and thread. */
export function pushTag(hostId: string, threadId: string): string {
  return `${hostId}:${threadId}`;
}

/** Padding bytes that bring a plaintext of `length` bytes up to its size bucket (256, 512, 1024, 2048, 3072). */
export function paddingFor(length: number): number {
  const target = PAD_BUCKETS.find((b) => b >= length) ?? length;
  return target - length;
}

/** Cuts text to `max` code points, marking the cut. */
function cut(text: string, max: number): string {
  const chars = Array.from(text.length > max * 2 ? text.slice(0, max * 2) : text);
  return chars.length <= max ? chars.join("") : chars.slice(0, max - 1).join("") + "…";
}

/** A relay or push-service text with anything URL-like removed (an endpoint must not reach a log). */
export function scrub(text: string): string {
  return text
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S*/gi, "<url>")
    .replace(/[^\x20-\x7e]/g, "?")
    .slice(0, 200);
}

export class PushNotifier {
  #o: PushNotifierOptions;
  #now: () => number;
  #queue: Job[] = [];
  #active = 0;
  /** Devices with a push in flight. */
  #busy = new Set<string>();
  #maxQueue: number;
  #concurrency: number;
  /** Per device: no push before this time (429/503). */
  #backoffUntil = new Map<string, number>();
  /** Per device in backoff: the latest push waiting for the backoff to end. */
  #deferred = new Map<string, Job>();
  #deferTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #pushed = new Map<string, Pushed>();
  /** Whether the relay can send pushes: from its /v1/info; "unknown" tries. */
  #relaySupport: "yes" | "no" | "unknown" = "unknown";
  #idle: Array<() => void> = [];
  #closed = false;
  readonly counters: PushCounters = { sent: 0, failed: 0, gone: 0, dropped: 0 };

  constructor(options: PushNotifierOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#maxQueue = options.maxQueue ?? 128;
    this.#concurrency = options.concurrency ?? 2;
  }

  /** What the relay's /v1/info said: a VAPID public key (push works), none (it does not), or nothing known. */
  setRelaySupport(support: "yes" | "no" | "unknown"): void {
    this.#relaySupport = support;
  }

  get relaySupport(): "yes" | "no" | "unknown" {
    return this.#relaySupport;
  }

  /** Pushes queued, deferred or in flight (diagnostics and tests). */
  get pending(): number {
    return this.#queue.length + this.#deferred.size + this.#active;
  }

  /** Resolves once nothing is queued or in flight (deferred pushes wait for their backoff and do not count). */
  idle(): Promise<void> {
    if (this.#queue.length === 0 && this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  // ---------------------------------------------------------------- registration

  /**
   * Whether the host can encrypt to these keys (p256dh a point on P-256): a
   * probe encryption, so a subscription nothing could ever be sent to is
   * refused at push.register instead of failing every push later.
   */
  async checkSubscription(subscription: { p256dh: string; auth: string }): Promise<void> {
    try {
      await this.#o.encrypt({ p256dh: subscription.p256dh, auth: subscription.auth }, new Uint8Array(1), { padding: 0 });
    } catch {
      throw new PushError("APP_MESSAGE_INVALID", "subscription.p256dh is not an uncompressed P-256 public key the host can encrypt to");
    }
  }

  /** A device's push.register: stored (replacing an older one); answers the settings in force. */
  register(
    deviceId: string,
    subscription: { endpoint: string; p256dh: string; auth: string },
    kinds: readonly PushKind[],
    details: boolean,
  ): { kinds: PushKind[]; details: boolean } {
    if (this.#relaySupport === "no") throw new PushError("PUSH_UNAVAILABLE", "the relay has no VAPID key: it cannot send pushes");
    if (!this.#o.isTrusted(deviceId)) throw new PushError("PUSH_UNAVAILABLE", "this device is not trusted any more");
    let entry: PushRegistration;
    try {
      entry = this.#o.store.register(deviceId, subscription, kinds, details, this.#now());
    } catch (e) {
      if (e instanceof PushStoreError) throw new PushError("PUSH_UNAVAILABLE", e.message);
      throw e;
    }
    this.#o.audit?.("push.register", { kind: "host" }, { deviceId, kinds: entry.kinds, details: entry.details });
    return { kinds: entry.kinds, details: entry.details };
  }

  /** A device's push.unregister (true when it had a subscription). */
  unregister(deviceId: string): boolean {
    const had = this.#o.store.remove(deviceId);
    this.#forgetDevice(deviceId);
    if (had) this.#o.audit?.("push.unregister", { kind: "host" }, { deviceId });
    return had;
  }

  /** The device was revoked: its subscription is deleted and nothing queued for it is sent. */
  onRevoked(deviceId: string): void {
    const had = this.#o.store.remove(deviceId);
    this.#forgetDevice(deviceId);
    if (had) this.#o.audit?.("push.unregister", { kind: "host" }, { deviceId, reason: "revoked" });
  }

  #forgetDevice(deviceId: string): void {
    this.#queue = this.#queue.filter((j) => j.deviceId !== deviceId);
    this.#deferred.delete(deviceId);
    clearTimeout(this.#deferTimers.get(deviceId));
    this.#deferTimers.delete(deviceId);
    this.#backoffUntil.delete(deviceId);
    for (const p of this.#pushed.values()) p.devices.delete(deviceId);
  }

  // ---------------------------------------------------------------- deciding

  /**
   * Called with every event the host persisted. Decides and queues; never
   * throws, never waits (a failure is logged).
   */
  onEvent(threadId: string, event: ThreadEvent, context: PushEventContext = {}): void {
    if (this.#closed) return;
    try {
      this.#decide(threadId, event, context);
    } catch (e) {
      this.#o.log?.(`push: deciding on a ${event.kind} event failed: ${e instanceof Error ? scrub(e.message) : "error"}`);
    }
  }

  #decide(threadId: string, event: ThreadEvent, context: PushEventContext): void {
    const host = this.#o.host;
    const tag = pushTag(host.id, threadId);
    const topic = pushTopic(host.id, threadId);
    const base = (type: PushPayload["type"], kind: PushKind) => ({
      v: 1 as const,
      type,
      kind,
      host: { id: host.id, name: cut(host.name, 128) },
      thread: threadId,
      tag,
      at: this.#now(),
    });
    switch (event.kind) {
      case "approval.request": {
        if (event.expiresAt === undefined) return; // decided by policy at once: nobody is asked
        const ttl = this.#ttlUntil(event.expiresAt);
        const offersActions = (event.tier === "steer" || event.tier === "continue") && event.where === "any-device";
        const actions = offersActions ? (["approve_once", "deny"] as const).filter((d) => event.options.includes(d)) : [];
        const targets = this.#targets("approval", threadId);
        if (targets.length === 0) return;
        this.#remember(event.approvalId, { kind: "approval", thread: threadId, devices: new Set(targets), ttl });
        for (const deviceId of targets) {
          this.#enqueue({
            deviceId,
            type: "request",
            kind: "approval",
            thread: threadId,
            requestId: event.approvalId,
            topic,
            ttl,
            urgency: "high",
            build: (r) => ({
              ...base("request", "approval"),
              approvalId: event.approvalId,
              ...(actions.length > 0 ? { actions: [...actions] } : {}),
              ...(r.details
                ? { details: { ...(context.title ? { title: cut(context.title, 120) } : {}), action: cut(event.evidence.action, 300), tier: event.tier } }
                : {}),
            }),
          });
        }
        return;
      }
      case "question": {
        const ttl = context.expiresAt !== undefined ? this.#ttlUntil(context.expiresAt) : REQUEST_TTL;
        const targets = this.#targets("question", threadId);
        if (targets.length === 0) return;
        this.#remember(event.questionId, { kind: "question", thread: threadId, devices: new Set(targets), ttl });
        for (const deviceId of targets) {
          this.#enqueue({
            deviceId,
            type: "request",
            kind: "question",
            thread: threadId,
            requestId: event.questionId,
            topic,
            ttl,
            urgency: "high",
            build: (r) => ({
              ...base("request", "question"),
              questionId: event.questionId,
              ...(r.details
                ? { details: { ...(context.title ? { title: cut(context.title, 120) } : {}), action: cut(event.text, 300), tier: "steer" as const } }
                : {}),
            }),
          });
        }
        return;
      }
      case "turn.status": {
        if (event.status === "started") return;
        const outcome = event.status;
        for (const deviceId of this.#targets("turn", threadId)) {
          this.#enqueue({
            deviceId,
            type: "turn",
            kind: "turn",
            thread: threadId,
            topic,
            ttl: TURN_TTL,
            urgency: "normal",
            build: (r) => ({ ...base("turn", "turn"), outcome, ...(r.details && context.title ? { details: { title: cut(context.title, 120) } } : {}) }),
          });
        }
        return;
      }
      case "approval.resolved":
      case "question.answered": {
        const requestId = event.kind === "approval.resolved" ? event.approvalId : event.questionId;
        const pushed = this.#pushed.get(requestId);
        if (!pushed || pushed.thread !== threadId) return;
        this.#pushed.delete(requestId);
        const outcome = event.kind === "approval.resolved" ? event.decision : ("answered" as const);
        const by = cut(event.by, 128);
        for (const deviceId of pushed.devices) {
          this.#enqueue({
            deviceId,
            type: "resolved",
            kind: pushed.kind,
            thread: threadId,
            requestId,
            topic,
            ttl: RESOLVED_TTL,
            urgency: "normal",
            build: () => ({
              ...base("resolved", pushed.kind),
              ...(event.kind === "approval.resolved" ? { approvalId: requestId } : { questionId: requestId }),
              outcome,
              by,
            }),
          });
        }
        return;
      }
      default:
        return;
    }
  }

  /** Devices registered for `kind`, still trusted, and not looking at the thread. */
  #targets(kind: PushKind, threadId: string): string[] {
    return this.#o.store
      .list()
      .filter((r) => r.kinds.includes(kind) && this.#o.isTrusted(r.deviceId) && !this.#o.isWatching(r.deviceId, threadId))
      .map((r) => r.deviceId);
  }

  #remember(requestId: string, pushed: Pushed): void {
    this.#pushed.set(requestId, pushed);
    while (this.#pushed.size > MAX_PUSHED) this.#pushed.delete(this.#pushed.keys().next().value!);
  }

  #ttlUntil(expiresAt: number): number {
    const seconds = Math.ceil((expiresAt - this.#now()) / 1000);
    return Math.max(60, Math.min(Number.isFinite(seconds) ? seconds : REQUEST_TTL, 7 * 24 * HOUR));
  }

  // ---------------------------------------------------------------- queue

  /**
   * Newer replaces older like the push service's Topic does: a queued push
   * for the same device and thread is replaced by the newer one, except that
   * a "resolved" never replaces another request's push, and a "resolved" for
   * a request whose push was never sent cancels both. Returns what stays.
   */
  #collapse(older: Job, newer: Job): Job | undefined {
    if (newer.type === "resolved" && older.type === "request") {
      if (older.requestId !== newer.requestId) return older;
      this.#unsent(older);
      return undefined;
    }
    this.#unsent(older);
    return newer;
  }

  /** A request push that will never be sent: that device needs no follow-up for it. */
  #unsent(job: Job): void {
    if (job.type === "request" && job.requestId !== undefined) this.#pushed.get(job.requestId)?.devices.delete(job.deviceId);
  }

  #enqueue(job: Job): void {
    const i = this.#queue.findIndex((j) => j.deviceId === job.deviceId && j.topic === job.topic);
    if (i >= 0) {
      const kept = this.#collapse(this.#queue[i]!, job);
      this.counters.dropped += 1;
      if (kept) this.#queue[i] = kept;
      else this.#queue.splice(i, 1);
      return;
    }
    const deferred = this.#deferred.get(job.deviceId);
    if (deferred && deferred.topic === job.topic) {
      const kept = this.#collapse(deferred, job);
      this.counters.dropped += 1;
      if (kept) this.#deferred.set(job.deviceId, kept);
      else this.#deferred.delete(job.deviceId);
      return;
    }
    if (this.#queue.length >= this.#maxQueue) {
      this.#unsent(this.#queue.shift()!);
      this.counters.dropped += 1;
      this.#o.log?.(`push: queue full (${this.#maxQueue}); dropped the oldest push`);
    }
    this.#queue.push(job);
    this.#drain();
  }

  /**
   * Starts queued pushes, one at a time per device (so a device's pushes reach
   * its push service in order: a "resolved" never overtakes the next request).
   */
  #drain(): void {
    while (!this.#closed && this.#active < this.#concurrency) {
      const i = this.#queue.findIndex((j) => !this.#busy.has(j.deviceId));
      if (i < 0) break;
      const job = this.#queue.splice(i, 1)[0]!;
      const until = this.#backoffUntil.get(job.deviceId) ?? 0;
      if (until > this.#now()) {
        this.#defer(job, until);
        continue;
      }
      this.#active += 1;
      this.#busy.add(job.deviceId);
      this.#run(job)
        .catch((e: unknown) => this.#o.log?.(`push: sending failed: ${e instanceof Error ? scrub(e.message) : "error"}`))
        .finally(() => {
          this.#active -= 1;
          this.#busy.delete(job.deviceId);
          this.#drain();
        });
    }
    if (this.#queue.length === 0 && this.#active === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Keeps the latest push for a device that must wait (429/503), and sends it when the wait ends. */
  #defer(job: Job, until: number): void {
    const older = this.#deferred.get(job.deviceId);
    let kept: Job | undefined = job;
    if (older) {
      this.counters.dropped += 1;
      if (older.topic === job.topic) kept = this.#collapse(older, job);
      else if (job.type === "resolved" && older.type !== "resolved")
        kept = older; // a request outranks a follow-up
      else this.#unsent(older);
    }
    if (kept) this.#deferred.set(job.deviceId, kept);
    else this.#deferred.delete(job.deviceId);
    if (this.#deferTimers.has(job.deviceId)) return;
    const timer = setTimeout(
      () => {
        this.#deferTimers.delete(job.deviceId);
        const next = this.#deferred.get(job.deviceId);
        this.#deferred.delete(job.deviceId);
        if (next && !this.#closed) {
          this.#queue.push(next);
          this.#drain();
        }
      },
      Math.max(0, until - this.#now()),
    );
    timer.unref?.();
    this.#deferTimers.set(job.deviceId, timer);
  }

  async #run(job: Job): Promise<void> {
    const registration = this.#o.store.get(job.deviceId);
    // Unregistered, revoked or no longer interested since it was queued: nothing to send.
    if (!registration || !this.#o.isTrusted(job.deviceId) || this.#relaySupport === "no") {
      this.#unsent(job);
      return;
    }
    if (job.kind && job.type !== "resolved" && !registration.kinds.includes(job.kind)) return;
    const result = await this.#post(registration, job);
    this.#account(registration, job, result);
    const until = this.#backoffUntil.get(job.deviceId) ?? 0;
    const slowDown = result.status === 429 || result.status === 503 || (result.status === undefined && result.retryAfter !== undefined);
    if (slowDown && !job.retried && until > this.#now()) this.#defer({ ...job, retried: true }, until);
    else if (result.status === undefined || result.status >= 300) this.#unsent(job);
  }

  /** Encrypts and hands the push to the relay; a relay that cannot be asked is a failure without status. */
  async #post(registration: PushRegistration, job: Pick<Job, "ttl" | "urgency" | "topic" | "build">): Promise<PushSendOutcome> {
    const plaintext = encodePushPayload(job.build(registration));
    const body = await this.#o.encrypt(registration.subscription, plaintext, { padding: paddingFor(plaintext.length) });
    try {
      return await this.#o.transport.pushSend({ endpoint: registration.subscription.endpoint, ttl: job.ttl, urgency: job.urgency, topic: job.topic, body });
    } catch (e) {
      const code = e && typeof e === "object" && "code" in e && typeof e.code === "string" ? e.code : "";
      return { ok: false, error: code === "OFFLINE" ? "the relay is not connected" : code === "TIMEOUT" ? "the relay did not answer" : scrub(messageOf(e)) };
    }
  }

  /** Counts, audits and acts on the push service's answer (410 forgets, 429 backs off). */
  #account(
    registration: PushRegistration,
    job: Pick<Job, "deviceId" | "type" | "kind" | "thread" | "requestId">,
    result: PushSendOutcome,
  ): "sent" | "gone" | "failed" {
    const deviceId = job.deviceId;
    const about = {
      deviceId,
      push: job.type,
      ...(job.kind ? { kind: job.kind } : {}),
      ...(job.thread ? { thread: job.thread } : {}),
      ...(job.requestId ? { [job.kind === "question" ? "questionId" : "approvalId"]: job.requestId } : {}),
    };
    const status = result.status;
    if (status !== undefined && status >= 200 && status < 300) {
      this.counters.sent += 1;
      this.#o.audit?.("push.sent", { kind: "host" }, { ...about, status });
      return "sent";
    }
    if (status === 404 || status === 410) {
      this.counters.gone += 1;
      // Only if the device did not register a new subscription meanwhile.
      if (this.#o.store.get(deviceId)?.subscription.endpoint === registration.subscription.endpoint) {
        this.#o.store.remove(deviceId);
        this.#forgetDevice(deviceId);
      }
      this.#o.log?.(`push: the subscription of ${deviceId} is gone (${status}); forgotten`);
      this.#o.audit?.("push.gone", { kind: "host" }, { ...about, status });
      return "gone";
    }
    this.counters.failed += 1;
    if (status === 429 || status === 503 || (status === undefined && result.retryAfter !== undefined)) {
      // The push service (429/503) or the relay's per-room rate limit asks to wait.
      const seconds = Math.min(MAX_BACKOFF_S, result.retryAfter ?? DEFAULT_BACKOFF_S);
      this.#backoffUntil.set(deviceId, this.#now() + seconds * 1000);
      this.#o.log?.(
        `push: the ${status !== undefined ? "push service" : "relay"} asks to slow down pushes to ${deviceId} (${status ?? "rate limit"}); pausing them for ${seconds} s`,
      );
    } else {
      this.#o.log?.(`push to ${deviceId} failed: ${status !== undefined ? `push service answered ${status}` : scrub(result.error ?? "the relay refused")}`);
    }
    this.#o.audit?.(
      "push.failed",
      { kind: "host" },
      {
        ...about,
        ...(status !== undefined ? { status } : { error: scrub(result.error ?? "the relay refused") }),
        ...(result.retryAfter !== undefined ? { retryAfter: result.retryAfter } : {}),
      },
    );
    return "failed";
  }

  // ---------------------------------------------------------------- push.test

  /** Sends the device a "test" push now (not queued) and answers the push service's status. */
  async test(deviceId: string): Promise<{ status: number }> {
    if (this.#relaySupport === "no") throw new PushError("PUSH_UNAVAILABLE", "the relay has no VAPID key: it cannot send pushes");
    const registration = this.#o.store.get(deviceId);
    if (!registration || !this.#o.isTrusted(deviceId))
      throw new PushError("PUSH_NOT_REGISTERED", "this device has no push subscription with this host; send push.register first");
    const wait = (this.#backoffUntil.get(deviceId) ?? 0) - this.#now();
    if (wait > 0) throw new PushError("PUSH_FAILED", `the push service answered 429 (slow down); try again in ${Math.ceil(wait / 1000)} s`);
    const host = this.#o.host;
    const job = {
      deviceId,
      type: "test" as const,
      ttl: TEST_TTL,
      urgency: "high" as const,
      topic: pushTopic(host.id, "test"),
      build: (): PushPayload => ({ v: 1, type: "test", host: { id: host.id, name: cut(host.name, 128) }, tag: `${host.id}:test`, at: this.#now() }),
    };
    const result = await this.#post(registration, job);
    const outcome = this.#account(registration, job, result);
    if (outcome === "sent") return { status: result.status! };
    if (result.status !== undefined) {
      throw new PushError(
        "PUSH_FAILED",
        `the push service answered ${result.status}${outcome === "gone" ? " (the subscription is gone and was forgotten; register again)" : ""}`,
      );
    }
    throw new PushError("PUSH_UNAVAILABLE", `the relay did not send it: ${scrub(result.error ?? "refused")}`);
  }

  /** Stops sending (the host is shutting down): queued and deferred pushes are dropped. */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#deferred.clear();
    for (const t of this.#deferTimers.values()) clearTimeout(t);
    this.#deferTimers.clear();
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}

export { normalizeKinds };
