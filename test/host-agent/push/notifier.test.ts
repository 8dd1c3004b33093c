// The push notifier's decisions with a fake relay (docs/host-agent.md "Push"):
// who is woken (not a device looking at the thread; only the kinds it asked
// for; never a revoked device), what the payload says with and without
// details, the Topic and tag, the "resolved" follow-up, 410 forgetting the
// subscription, 429 backing off, push.test answers, the bounded queue, and
// push.json (0600, strict, trusted devices only). Payloads are checked with
// the protocol's own strict decoder.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PushNotifier, PushError, pushTopic, paddingFor, type PushSendOutcome, type PushSendRequest } from "../../../host-agent/src/push/notifier.ts";
import { PushStore, PushStoreError } from "../../../host-agent/src/push/push-store.ts";
import { pushSupportOf } from "../../../host-agent/src/push/relay-info.ts";
import { decodePushPayload, type PushPayload, type ThreadEvent } from "../../../protocol/src/index.ts";
import { tempDir } from "../../support/temp.ts";

const HOST = { id: "AAAAAAAAAAAAAAAAAAAAAA", name: "mac-mini" };
const PHONE = "d_phone00001";
const TABLET = "d_tablet0001";
const sub = (n: number) => ({ endpoint: `http://127.0.0.1:9/push/secret-endpoint-${n}`, p256dh: "B".repeat(87), auth: `${n}`.padEnd(22, "a") });

interface Sent extends Omit<PushSendRequest, "body"> {
  payload: PushPayload;
  padding: number;
}

/** A fake relay: records what it was asked to send; answers 201 unless told otherwise. */
function fakeRelay() {
  const sent: Sent[] = [];
  const answers: Array<PushSendOutcome | "hang" | "offline"> = [];
  const hanging: Array<() => void> = [];
  const paddings = new Map<Uint8Array, number>();
  return {
    sent,
    answers,
    hanging,
    /** Releases the first `n` hanging pushes once they reached the relay. */
    async release(n: number): Promise<void> {
      while (hanging.length < n) await new Promise((r) => setTimeout(r, 1));
      for (const resolve of hanging.splice(0, n)) resolve();
    },
    encrypt: async (_s: { p256dh: string; auth: string }, plaintext: Uint8Array, options: { padding: number }) => {
      const body = plaintext.slice();
      paddings.set(body, options.padding);
      return body;
    },
    transport: {
      pushSend: async (req: PushSendRequest): Promise<PushSendOutcome> => {
        const { body, ...rest } = req;
        sent.push({ ...rest, payload: decodePushPayload(body), padding: paddings.get(body)! });
        const answer = answers.shift() ?? { ok: true, status: 201 };
        if (answer === "offline") throw Object.assign(new Error("not connected to the relay"), { code: "OFFLINE" });
        if (answer === "hang") return new Promise((resolve) => hanging.push(() => resolve({ ok: true, status: 201 })));
        return answer;
      },
    },
  };
}

function setup(options: { watching?: (d: string, t: string) => boolean; trusted?: Set<string>; maxQueue?: number; now?: () => number } = {}) {
  const dir = tempDir("airlock-push-");
  const store = PushStore.open(join(dir, "push.json"));
  const relay = fakeRelay();
  const audit: Array<{ type: string; data: Record<string, unknown> }> = [];
  const logs: string[] = [];
  const trusted = options.trusted ?? new Set([PHONE, TABLET]);
  const notifier = new PushNotifier({
    store,
    transport: relay.transport,
    encrypt: relay.encrypt,
    host: HOST,
    isTrusted: (d) => trusted.has(d),
    isWatching: options.watching ?? (() => false),
    audit: (type, _actor, data) => audit.push({ type, data }),
    log: (line) => logs.push(line),
    ...(options.maxQueue ? { maxQueue: options.maxQueue } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  return { dir, store, relay, audit, logs, trusted, notifier };
}

const approval = (approvalId: string, over: Partial<Extract<ThreadEvent, { kind: "approval.request" }>> = {}): ThreadEvent => ({
  kind: "approval.request",
  approvalId,
  type: "command",
  tier: "continue",
  rule: "read-only",
  where: "any-device",
  evidence: {
    action: "ls -la ~/secret-project",
    host: "mac-mini",
    cwd: "/w",
    filesChanged: [],
    checksRun: [],
    flags: { network: false, credentials: false, externalTools: false, writes: false },
  },
  options: ["approve_once", "approve_session", "deny"],
  expiresAt: Date.now() + 600_000,
  ...over,
});

describe("push notifier: who is woken", () => {
  it("pushes a device in the background, not one looking at the thread", async () => {
    const watching = new Set<string>([`${TABLET}/t1`]);
    const t = setup({ watching: (d, th) => watching.has(`${d}/${th}`) });
    t.notifier.register(PHONE, sub(1), ["approval"], false);
    t.notifier.register(TABLET, sub(2), ["approval"], false);
    t.notifier.onEvent("t1", approval("ap_1"), { title: "Fix the login bug" });
    await t.notifier.idle();
    // The tablet is connected, visible and subscribed to t1: it sees the event live; the phone is woken.
    expect(t.relay.sent.map((s) => s.endpoint)).toEqual([sub(1).endpoint]);
    // The tablet looks at t1 only: a request in t2 wakes both.
    t.notifier.onEvent("t2", approval("ap_2"));
    await t.notifier.idle();
    expect(
      t.relay.sent
        .slice(1)
        .map((s) => s.endpoint)
        .sort(),
    ).toEqual([sub(1).endpoint, sub(2).endpoint]);
  });

  it("wakes a device only for the kinds it asked for", async () => {
    const t = setup();
    t.notifier.register(PHONE, sub(1), ["turn"], false);
    t.notifier.register(TABLET, sub(2), ["approval", "question"], false);
    t.notifier.onEvent("t1", approval("ap_1"));
    t.notifier.onEvent("t2", { kind: "question", questionId: "q_1", text: "Which heading?" });
    t.notifier.onEvent("t3", { kind: "turn.status", turnId: "u1", status: "started" });
    t.notifier.onEvent("t3", { kind: "turn.status", turnId: "u1", status: "failed", error: "boom" });
    t.notifier.onEvent("t3", { kind: "message.delta", itemId: "i", text: "hello" });
    await t.notifier.idle();
    const got = t.relay.sent.map((s) => [s.endpoint === sub(1).endpoint ? "phone" : "tablet", s.payload.type, s.payload.kind]);
    expect(got.filter((g) => g[0] === "tablet")).toEqual([
      ["tablet", "request", "approval"],
      ["tablet", "request", "question"],
    ]);
    expect(got.filter((g) => g[0] === "phone")).toEqual([["phone", "turn", "turn"]]);
    const turn = t.relay.sent.find((s) => s.payload.type === "turn")!;
    expect(turn).toMatchObject({ urgency: "normal", ttl: 86_400 });
    expect(turn.payload).toMatchObject({ outcome: "failed", thread: "t3" });
  });

  it("never pushes a device that is no longer trusted, and forgets a revoked one", async () => {
    const t = setup();
    t.notifier.register(PHONE, sub(1), ["approval"], false);
    t.notifier.register(TABLET, sub(2), ["approval"], false);
    t.trusted.delete(TABLET); // revoked by another process: not trusted any more
    t.notifier.onEvent("t1", approval("ap_1"));
    await t.notifier.idle();
    expect(t.relay.sent.map((s) => s.endpoint)).toEqual([sub(1).endpoint]);
    // Revoked through airlock up: the subscription is deleted from push.json.
    t.notifier.onRevoked(PHONE);
    expect(t.store.get(PHONE)).toBeUndefined();
    expect(JSON.parse(readFileSync(join(t.dir, "push.json"), "utf8")).devices.map((d: { deviceId: string }) => d.deviceId)).toEqual([TABLET]);
    t.notifier.onEvent("t1", approval("ap_2"));
    await t.notifier.idle();
    expect(t.relay.sent).toHaveLength(1);
    // A device revoked while its push waits in the queue is not pushed either.
    t.trusted.add(PHONE);
    t.notifier.register(PHONE, sub(1), ["approval"], false);
    t.relay.answers.push("hang");
    t.notifier.onEvent("t5", approval("ap_5"));
    t.notifier.onEvent("t6", approval("ap_6"));
    t.notifier.onEvent("t7", approval("ap_7"));
    t.notifier.onRevoked(PHONE);
    await t.relay.release(1);
    await t.notifier.idle();
    expect(t.relay.sent.map((s) => s.payload.approvalId)).toEqual(["ap_1", "ap_5"]); // ap_5 was already in flight
  });

  it("does not push a request the policy decided at once", async () => {
    const t = setup();
    t.notifier.register(PHONE, sub(1), ["approval"], true);
    const { expiresAt: _, ...decided } = approval("ap_1") as Extract<ThreadEvent, { kind: "approval.request" }>;
    t.notifier.onEvent("t1", decided);
    t.notifier.onEvent("t1", { kind: "approval.resolved", approvalId: "ap_1", decision: "approve_once", by: "policy" });
    await t.notifier.idle();
    expect(t.relay.sent).toEqual([]);
  });
});

describe("push notifier: what a push says", () => {
  it("without details: kind, host, ids, tag and actions only; Topic per thread hides the thread id", async () => {
    const now = Date.now();
    const t = setup({ now: () => now });
    t.notifier.register(PHONE, sub(1), ["approval", "question", "turn"], false);
    t.notifier.onEvent("thread-42", approval("ap_1", { expiresAt: now + 90_000 }), { title: "Fix the login bug" });
    await t.notifier.idle();
    const [push] = t.relay.sent;
    expect(push!.payload).toEqual({
      v: 1,
      type: "request",
      kind: "approval",
      host: HOST,
      thread: "thread-42",
      approvalId: "ap_1",
      tag: `${HOST.id}:thread-42`,
      actions: ["approve_once", "deny"],
      at: now,
    });
    expect(push).toMatchObject({ urgency: "high", ttl: 90, topic: pushTopic(HOST.id, "thread-42") });
    expect(push!.topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(push!.topic).not.toContain("thread");
    expect(pushTopic(HOST.id, "thread-43")).not.toBe(push!.topic);
    const text = JSON.stringify(push!.payload);
    for (const secret of ["ls -la", "secret-project", "continue", "Fix the login"]) expect(text).not.toContain(secret);
    // Padded inside the encrypted record to a size bucket.
    const length = new TextEncoder().encode(JSON.stringify(push!.payload)).length;
    expect(push!.padding).toBe(paddingFor(length));
    expect(length + push!.padding).toBe(256);
  });

  it("with details: title, the action (cut) and the tier; no actions beyond steer/continue from any device", async () => {
    const t = setup();
    t.notifier.register(PHONE, sub(1), ["approval", "question", "turn"], true);
    const long = "echo " + "é".repeat(2000);
    t.notifier.onEvent(
      "t1",
      approval("ap_1", { evidence: { ...(approval("x") as Extract<ThreadEvent, { kind: "approval.request" }>).evidence, action: long } }),
      { title: "Fix the login bug" },
    );
    t.notifier.onEvent("t2", approval("ap_2", { tier: "commit", rule: "git.push", where: "host-only" }), { title: "Ship it" });
    t.notifier.onEvent("t3", approval("ap_3", { tier: "continue", where: "host-only" }));
    t.notifier.onEvent("t4", approval("ap_4", { tier: "expand", options: ["approve_once", "deny"] }));
    t.notifier.onEvent("t5", { kind: "question", questionId: "q_1", text: "Which heading?" }, { title: "Notes", expiresAt: Date.now() + 120_000 });
    t.notifier.onEvent("t6", { kind: "turn.status", turnId: "u", status: "completed" }, { title: "Done thread" });
    await t.notifier.idle();
    const [a1, a2, a3, a4, q, turn] = t.relay.sent.map((s) => s.payload);
    expect(a1!.details).toMatchObject({ title: "Fix the login bug", tier: "continue" });
    expect(Array.from(a1!.details!.action!)).toHaveLength(300);
    expect(a1!.details!.action!.endsWith("…")).toBe(true);
    expect(a1!.actions).toEqual(["approve_once", "deny"]);
    expect(a2).toMatchObject({ details: { title: "Ship it", action: "ls -la ~/secret-project", tier: "commit" } });
    expect(a2!.actions).toBeUndefined();
    expect(a3!.actions).toBeUndefined(); // host-only: decided at the host's terminal
    expect(a4!.actions).toBeUndefined(); // expand: needs the app open
    expect(q).toMatchObject({ type: "request", kind: "question", questionId: "q_1", details: { title: "Notes", action: "Which heading?", tier: "steer" } });
    expect(t.relay.sent[4]!.ttl).toBe(120);
    expect(turn).toMatchObject({ type: "turn", outcome: "completed", details: { title: "Done thread" } });
  });

  it("follows a pushed request with 'resolved' on the same Topic once it is decided or answered", async () => {
    const watching = new Set<string>();
    const t = setup({ watching: (d, th) => watching.has(`${d}/${th}`) });
    t.notifier.register(PHONE, sub(1), ["approval", "question"], false);
    t.notifier.register(TABLET, sub(2), ["approval", "question"], false);
    watching.add(`${TABLET}/t1`);
    t.notifier.onEvent("t1", approval("ap_1"));
    await t.notifier.idle();
    watching.clear(); // whatever the tablet does now, it was never pushed this request
    t.notifier.onEvent("t1", { kind: "approval.resolved", approvalId: "ap_1", decision: "approve_once", by: "Tablet" });
    t.notifier.onEvent("t1", { kind: "approval.resolved", approvalId: "ap_unknown", decision: "deny", by: "host" });
    await t.notifier.idle();
    expect(t.relay.sent.map((s) => [s.endpoint, s.payload.type])).toEqual([
      [sub(1).endpoint, "request"],
      [sub(1).endpoint, "resolved"],
    ]);
    const [request, resolved] = t.relay.sent;
    expect(resolved).toMatchObject({ topic: request!.topic, urgency: "normal" });
    expect(resolved!.payload).toMatchObject({
      type: "resolved",
      kind: "approval",
      approvalId: "ap_1",
      tag: request!.payload.tag,
      outcome: "approve_once",
      by: "Tablet",
    });
    // Questions too.
    t.notifier.onEvent("t2", { kind: "question", questionId: "q_1", text: "?" });
    await t.notifier.idle();
    t.notifier.onEvent("t2", { kind: "question.answered", questionId: "q_1", by: "Phone" });
    await t.notifier.idle();
    expect(t.relay.sent.slice(2).map((s) => [s.payload.type, s.payload.questionId, s.payload.outcome ?? null])).toEqual([
      ["request", "q_1", null],
      ["request", "q_1", null],
      ["resolved", "q_1", "answered"],
      ["resolved", "q_1", "answered"],
    ]);
  });

  it("a request decided before its push left sends neither", async () => {
    const t = setup();
    t.notifier.register(PHONE, sub(1), ["approval"], false);
    t.relay.answers.push("hang", "hang");
    t.notifier.onEvent("t0", approval("ap_0")); // in flight
    t.notifier.onEvent("t00", approval("ap_00")); // queued: one push in flight per device
    t.notifier.onEvent("t1", approval("ap_1")); // queued
    t.notifier.onEvent("t1", { kind: "approval.resolved", approvalId: "ap_1", decision: "deny", by: "host" });
    await t.relay.release(1);
    await t.relay.release(1);
    await t.notifier.idle();
    expect(t.relay.sent.map((s) => s.payload.approvalId)).toEqual(["ap_0", "ap_00"]);
    expect(t.notifier.counters).toMatchObject({ sent: 2, dropped: 1 });
  });
});

describe("push notifier: the push service's answers", () => {
  it("410 forgets the subscription (audited without the endpoint); nothing more is sent to it", async () => {
    const t = setup();
    t.notifier.register(PHONE, sub(1), ["approval", "turn"], false);
    t.relay.answers.push({ ok: false, status: 410 });
    t.notifier.onEvent("t1", approval("ap_1"));
    await t.notifier.idle();
    expect(t.store.get(PHONE)).toBeUndefined();
    expect(t.notifier.counters).toMatchObject({ sent: 0, gone: 1 });
    t.notifier.onEvent("t1", { kind: "approval.resolved", approvalId: "ap_1", decision: "deny", by: "host" });
    t.notifier.onEvent("t1", { kind: "turn.status", turnId: "u", status: "completed" });
    await t.notifier.idle();
    expect(t.relay.sent).toHaveLength(1);
    expect(t.audit.find((a) => a.type === "push.gone")?.data).toEqual({
      deviceId: PHONE,
      push: "request",
      kind: "approval",
      thread: "t1",
      approvalId: "ap_1",
      status: 410,
    });
    const everything = JSON.stringify([t.audit, t.logs]);
    expect(everything).not.toContain("secret-endpoint");
    expect(everything).not.toContain("127.0.0.1");
  });

  it("429 pauses that device's pushes for Retry-After and then sends the latest one", async () => {
    const t = setup();
    t.notifier.register(PHONE, sub(1), ["approval"], false);
    t.notifier.register(TABLET, sub(2), ["approval"], false);
    t.relay.answers.push({ ok: false, status: 429, retryAfter: 1 });
    t.notifier.onEvent("t1", approval("ap_1"));
    await t.notifier.idle();
    const phoneFirst = t.relay.sent[0]!.endpoint;
    const slowed = phoneFirst === sub(1).endpoint ? PHONE : TABLET;
    // During the pause: the other device is pushed; the slowed one is not.
    t.notifier.onEvent("t2", approval("ap_2"));
    t.notifier.onEvent("t3", approval("ap_3"));
    await t.notifier.idle();
    const slowedEndpoint = slowed === PHONE ? sub(1).endpoint : sub(2).endpoint;
    expect(t.relay.sent.slice(2).filter((s) => s.endpoint === slowedEndpoint)).toEqual([]);
    await expect(t.notifier.test(slowed)).rejects.toMatchObject({ code: "PUSH_FAILED" });
    const before = t.relay.sent.length;
    await new Promise((r) => setTimeout(r, 1300));
    await t.notifier.idle();
    const after = t.relay.sent.slice(before);
    expect(after.map((s) => [s.endpoint, s.payload.approvalId])).toEqual([[slowedEndpoint, "ap_3"]]);
    expect(t.audit.filter((a) => a.type === "push.failed").map((a) => a.data.status)).toEqual([429]);
    expect(t.logs.join("\n")).toContain("slow down");
  });

  it("a relay that cannot be asked is a failure without an endpoint in the log", async () => {
    const t = setup();
    t.notifier.register(PHONE, sub(1), ["approval"], false);
    t.relay.answers.push("offline", { ok: false, error: `push service not allowed: ${sub(1).endpoint}` });
    t.notifier.onEvent("t1", approval("ap_1"));
    t.notifier.onEvent("t2", approval("ap_2"));
    await t.notifier.idle();
    expect(t.notifier.counters).toMatchObject({ failed: 2, sent: 0 });
    expect(t.audit.filter((a) => a.type === "push.failed").map((a) => a.data.error)).toEqual(["the relay is not connected", "push service not allowed: <url>"]);
    expect(JSON.stringify([t.audit, t.logs])).not.toContain("secret-endpoint");
    expect(t.store.get(PHONE)).toBeDefined();
  });

  it("sends one push at a time per device, in order, while other devices go on", async () => {
    const t = setup();
    t.notifier.register(PHONE, sub(1), ["approval"], false);
    t.notifier.register(TABLET, sub(2), ["approval"], false);
    t.relay.answers.push("hang");
    t.notifier.onEvent("t1", approval("ap_1")); // phone: hangs; tablet: 201
    await new Promise((r) => setTimeout(r, 20));
    t.notifier.onEvent("t1", { kind: "approval.resolved", approvalId: "ap_1", decision: "deny", by: "host" });
    t.notifier.onEvent("t2", approval("ap_2"));
    await new Promise((r) => setTimeout(r, 20));
    const phoneSent = () => t.relay.sent.filter((s) => s.endpoint === sub(1).endpoint).map((s) => `${s.payload.type}:${s.payload.approvalId}`);
    const tabletSent = () => t.relay.sent.filter((s) => s.endpoint === sub(2).endpoint).map((s) => `${s.payload.type}:${s.payload.approvalId}`);
    expect(phoneSent()).toEqual(["request:ap_1"]); // the phone's next pushes wait for the first
    expect(tabletSent()).toEqual(["request:ap_1", "resolved:ap_1", "request:ap_2"]);
    await t.relay.release(1);
    await t.notifier.idle();
    expect(phoneSent()).toEqual(["request:ap_1", "resolved:ap_1", "request:ap_2"]);
  });

  it("never waits on a slow push service: onEvent returns at once and the queue stays bounded", async () => {
    const t = setup({ maxQueue: 8 });
    t.notifier.register(PHONE, sub(1), ["approval", "turn"], false);
    for (let i = 0; i < 50; i++) t.relay.answers.push("hang");
    // onEvent returns nothing to wait for: 200 approvals go through while every push hangs.
    for (let i = 0; i < 200; i++) expect(t.notifier.onEvent(`t${i}`, approval(`ap_${i}`))).toBeUndefined();
    expect(t.notifier.pending).toBe(8 + 1); // queue bound + one in flight (one per device)
    expect(t.notifier.counters.dropped).toBe(191);
    for (;;) {
      const release = t.relay.hanging.shift();
      if (release) release();
      else if (t.notifier.pending === 0) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    // The newest requests are the ones sent.
    expect(t.relay.sent.map((s) => s.payload.approvalId).slice(-8)).toEqual(Array.from({ length: 8 }, (_, i) => `ap_${192 + i}`));
  });
});

describe("push.test and registration", () => {
  it("answers the push service's status, or PUSH_NOT_REGISTERED / PUSH_FAILED / PUSH_UNAVAILABLE", async () => {
    const t = setup();
    await expect(t.notifier.test(PHONE)).rejects.toMatchObject({ code: "PUSH_NOT_REGISTERED" });
    t.notifier.register(PHONE, sub(1), ["approval"], false);
    expect(await t.notifier.test(PHONE)).toEqual({ status: 201 });
    expect(t.relay.sent[0]!.payload).toMatchObject({ type: "test", host: HOST, tag: `${HOST.id}:test` });
    expect(t.relay.sent[0]!.payload.kind).toBeUndefined();
    t.relay.answers.push({ ok: false, error: "no VAPID key" });
    await expect(t.notifier.test(PHONE)).rejects.toMatchObject({ code: "PUSH_UNAVAILABLE" });
    t.relay.answers.push("offline");
    await expect(t.notifier.test(PHONE)).rejects.toMatchObject({ code: "PUSH_UNAVAILABLE" });
    t.relay.answers.push({ ok: false, status: 413 });
    await expect(t.notifier.test(PHONE)).rejects.toMatchObject({ code: "PUSH_FAILED", message: expect.stringContaining("413") });
    t.relay.answers.push({ ok: false, status: 410 });
    await expect(t.notifier.test(PHONE)).rejects.toMatchObject({ code: "PUSH_FAILED", message: expect.stringContaining("410") });
    expect(t.store.get(PHONE)).toBeUndefined();
    await expect(t.notifier.test(PHONE)).rejects.toMatchObject({ code: "PUSH_NOT_REGISTERED" });
    // A relay without a VAPID key: registering and testing are refused.
    t.notifier.setRelaySupport("no");
    expect(() => t.notifier.register(PHONE, sub(1), ["approval"], false)).toThrow(PushError);
    await expect(t.notifier.test(TABLET)).rejects.toMatchObject({ code: "PUSH_UNAVAILABLE" });
  });

  it("registers one subscription per device, deduplicates kinds, and audits no endpoint", () => {
    const t = setup();
    expect(t.notifier.register(PHONE, sub(1), ["turn", "approval", "turn"], true)).toEqual({ kinds: ["approval", "turn"], details: true });
    expect(t.notifier.register(PHONE, sub(3), [], false)).toEqual({ kinds: [], details: false });
    expect(t.store.list()).toHaveLength(1);
    expect(t.store.get(PHONE)!.subscription.endpoint).toBe(sub(3).endpoint);
    expect(() => t.notifier.register("d_stranger01", sub(4), ["approval"], false)).toThrow(PushError);
    expect(t.notifier.unregister(PHONE)).toBe(true);
    expect(t.notifier.unregister(PHONE)).toBe(false);
    expect(t.audit.map((a) => a.type)).toEqual(["push.register", "push.register", "push.unregister"]);
    expect(JSON.stringify(t.audit)).not.toContain("secret-endpoint");
  });

  it("reads the relay's VAPID key from /v1/info strictly", () => {
    expect(pushSupportOf({ name: "airlock-relay", push: { vapidPublicKey: "B".repeat(87) } })).toBe("yes");
    expect(pushSupportOf({ name: "airlock-relay" })).toBe("no");
    expect(pushSupportOf({ push: { vapidPublicKey: "short" } })).toBe("no");
    expect(pushSupportOf({ push: null })).toBe("no");
    expect(pushSupportOf("nope")).toBe("unknown");
  });
});

describe("push.json", () => {
  it("is 0600, replaced atomically, read back strictly, and keeps trusted devices only", () => {
    const dir = tempDir("airlock-push-");
    const path = join(dir, "push.json");
    const store = PushStore.open(path);
    store.register(PHONE, sub(1), ["approval"], true, 1000);
    store.register(TABLET, sub(2), ["turn"], false, 2000);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = PushStore.open(path);
    expect(again.list()).toEqual([
      { deviceId: PHONE, subscription: sub(1), kinds: ["approval"], details: true, registeredAt: 1000 },
      { deviceId: TABLET, subscription: sub(2), kinds: ["turn"], details: false, registeredAt: 2000 },
    ]);
    expect(again.retainOnly((id) => id === TABLET)).toEqual([PHONE]);
    expect(
      PushStore.open(path)
        .list()
        .map((r) => r.deviceId),
    ).toEqual([TABLET]);

    const bad = (content: string) => {
      writeFileSync(path, content);
      return () => PushStore.open(path);
    };
    const good = JSON.parse(readFileSync(path, "utf8")) as { devices: Array<Record<string, unknown>> };
    expect(bad("{")).toThrow(PushStoreError);
    expect(bad(JSON.stringify({ ...good, extra: 1 }))).toThrow(PushStoreError);
    expect(bad(JSON.stringify({ version: 1, devices: [{ ...good.devices[0], subscription: { ...sub(1), endpoint: "ftp://x/y" } }] }))).toThrow(PushStoreError);
    expect(bad(JSON.stringify({ version: 1, devices: [{ ...good.devices[0], kinds: ["everything"] }] }))).toThrow(PushStoreError);
    expect(bad(JSON.stringify({ version: 1, devices: [good.devices[0], good.devices[0]] }))).toThrow(PushStoreError);
    expect(bad(" ".repeat(600 * 1024))).toThrow(/larger/);
    expect(() => store.register(PHONE, { ...sub(1), p256dh: "short" }, ["approval"], false)).toThrow();
  });

  it("holds at most one subscription per allowlisted device (64)", () => {
    const store = PushStore.open(join(tempDir("airlock-push-"), "push.json"));
    for (let i = 0; i < 64; i++) store.register(`d_${String(i).padStart(10, "0")}`, sub(i), ["approval"], false);
    expect(() => store.register("d_overflow00", sub(99), ["approval"], false)).toThrow(/at most 64/);
    store.register("d_0000000001", sub(100), ["turn"], false); // replacing is fine
    expect(store.size).toBe(64);
  });
});
