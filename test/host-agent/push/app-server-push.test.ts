// Push through a real AppServer (demo agent, default policy) with a fake relay:
// push.register / unregister / test / device.visibility answer exactly once
// with documented codes (hostile bodies included), host.info says "push", a
// device in the background (visibility false) is woken by an approval request
// while a visible subscribed one is not, and a push service that never answers
// adds nothing to the approval path (measured).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AppServer, type CommandOutcome } from "../../../host-agent/src/app-server.ts";
import { DemoAgent } from "../../../host-agent/src/agents/demo.ts";
import { CommandLedger } from "../../../host-agent/src/command-ledger.ts";
import { EventStore } from "../../../host-agent/src/event-store.ts";
import { PushNotifier, type PushSendOutcome, type PushSendRequest } from "../../../host-agent/src/push/notifier.ts";
import { PushStore } from "../../../host-agent/src/push/push-store.ts";
import { builtinPolicy } from "../../../host-agent/src/policy/policy-file.ts";
import { APP_ERRORS, COMMAND_ANSWERS, decodePushPayload, toBase64Url, type AppProtocolMessage, type PushPayload } from "../../../protocol/src/index.ts";
import { decryptWebPush, encryptWebPush, generateSubscriptionKeys } from "../../../protocol/src/web-push.ts";
import { device, type Env } from "../app-server-harness.ts";
import { tempDir } from "../../support/temp.ts";

type Answer = PushSendOutcome | "hang";

async function setup(options: { push?: boolean; answer?: () => Answer } = {}) {
  const dir = tempDir("airlock-app-push-");
  const workspace = join(dir, "ws");
  mkdirSync(workspace);
  const store = await EventStore.open(join(dir, "events"));
  const ledger = await CommandLedger.open<CommandOutcome>(join(dir, "commands.jsonl"));
  const logs: string[] = [];
  const sent: Array<{ request: Omit<PushSendRequest, "body">; payload: PushPayload }> = [];
  const hanging: Array<() => void> = [];
  let app!: AppServer;
  const push =
    options.push === false
      ? undefined
      : new PushNotifier({
          store: PushStore.open(join(dir, "push.json")),
          encrypt: encryptWebPush, // the real RFC 8291 encryption; the fake relay decrypts as the phone would
          transport: {
            pushSend: async ({ body, ...request }) => {
              sent.push({ request, payload: decodePushPayload(await decryptWebPush(body, keys)) });
              const answer = options.answer?.() ?? { ok: true, status: 201 };
              if (answer === "hang") return new Promise((resolve) => hanging.push(() => resolve({ ok: true, status: 201 })));
              return answer;
            },
          },
          host: { id: "AAAAAAAAAAAAAAAAAAAAAA", name: "mac-mini" },
          isTrusted: () => true,
          isWatching: (d, t) => app.watching(d, t),
          log: (line) => logs.push(line),
        });
  app = new AppServer({
    store,
    ledger,
    agent: new DemoAgent({ workspace, chunkDelayMs: 0 }),
    agentDataDir: join(dir, "agent"),
    workspace,
    policyFor: async () => builtinPolicy(), // continue tier (ls -la) asks any device
    log: (line) => logs.push(line),
    ...(push ? { push } : {}),
  });
  await app.start();
  const env: Env = {
    app,
    store,
    workspace,
    logs,
    async close() {
      push?.close();
      for (const release of hanging.splice(0)) release();
      await app.close();
      await ledger.close();
      await store.close();
    },
  };
  return { env, push, sent, hanging };
}

const keys = await generateSubscriptionKeys();
const subscription = { endpoint: "http://127.0.0.1:9/push/secret-endpoint", p256dh: toBase64Url(keys.publicKey), auth: toBase64Url(keys.auth) };
const isEvent = (kind: string) => (m: AppProtocolMessage) => m.type === "event" && m.body.kind === kind;

describe("push commands on the app server", () => {
  it("answer exactly once with documented codes, hostile bodies included", async () => {
    for (const withPush of [true, false]) {
      const { env } = await setup({ push: withPush });
      const phone = device(env);
      await env.app.onSessionOpen(phone.conn);
      const info = phone.inbox[0]!;
      expect(info.type).toBe("host.info");
      expect((info.body as { capabilities?: string[] }).capabilities).toEqual(withPush ? ["push"] : undefined);
      const hostile: unknown[] = [undefined, null, 0, "x", [], { extra: true }, JSON.parse('{"__proto__":{"polluted":1}}')];
      const specific: Record<string, unknown[]> = {
        "push.register": [
          { subscription, kinds: ["approval", "sms"], details: false },
          { subscription: { ...subscription, endpoint: "ftp://x/y" }, kinds: [], details: false },
          { subscription: { ...subscription, endpoint: "http://evil.example/push" }, kinds: [], details: false },
          { subscription: { ...subscription, p256dh: "B".repeat(86) }, kinds: [], details: false },
          { subscription, kinds: ["approval", "approval", "approval", "approval"], details: false },
          { subscription, kinds: [], details: "yes" },
          { subscription: { ...subscription, extra: 1 }, kinds: [], details: false },
        ],
        "push.unregister": [{ all: true }],
        "push.test": [{ now: true }],
        "device.visibility": [{ visible: "no" }, { visible: 1 }, {}],
      };
      const codes = new Set<string>();
      for (const type of ["push.register", "push.unregister", "push.test", "device.visibility"] as const) {
        for (const body of [...hostile, ...specific[type]!]) {
          const answer = await phone.command(type, body);
          expect(answer.type).toBe("error");
          expect(Object.keys(APP_ERRORS)).toContain((answer.body as { code: string }).code);
          codes.add((answer.body as { code: string }).code);
        }
      }
      expect([...codes]).toEqual(["APP_MESSAGE_INVALID"]);
      // Valid bodies.
      // Well formed, but not a point on P-256: nothing could ever be encrypted to it.
      const offCurve = await phone.command("push.register", { subscription: { ...subscription, p256dh: "B".repeat(87) }, kinds: ["approval"], details: false });
      expect(offCurve).toMatchObject({ type: "error", body: { code: withPush ? "APP_MESSAGE_INVALID" : "PUSH_UNAVAILABLE" } });
      const registered = await phone.command("push.register", { subscription, kinds: ["turn", "approval"], details: true });
      if (withPush) {
        expect(registered).toMatchObject({ type: "result", body: { data: { kinds: ["approval", "turn"], details: true } } });
        expect(COMMAND_ANSWERS["push.register"].data.safeParse((registered.body as { data: unknown }).data).success).toBe(true);
        expect(await phone.command("push.test", {})).toMatchObject({ type: "result", body: { data: { status: 201 } } });
      } else {
        expect(registered).toMatchObject({ type: "error", body: { code: "PUSH_UNAVAILABLE" } });
        expect(await phone.command("push.test", {})).toMatchObject({ type: "error", body: { code: "PUSH_UNAVAILABLE" } });
      }
      expect(await phone.command("device.visibility", { visible: false })).toMatchObject({ type: "result", body: {} });
      expect(await phone.command("push.unregister", {})).toMatchObject({ type: "result", body: {} });
      if (withPush) expect(await phone.command("push.test", {})).toMatchObject({ type: "error", body: { code: "PUSH_NOT_REGISTERED" } });
      const answered = phone.inbox.filter((m) => m.re !== undefined).map((m) => m.re);
      expect(new Set(answered).size).toBe(answered.length);
      await env.close();
    }
  });

  it("wakes a device in the background, not one looking at the thread; follows up when decided", async () => {
    const { env, push, sent } = await setup();
    const phone = device(env, "Phone", 1);
    const tablet = device(env, "Tablet", 2);
    await env.app.onSessionOpen(phone.conn);
    await env.app.onSessionOpen(tablet.conn);
    for (const d of [phone, tablet])
      expect(await d.command("push.register", { subscription, kinds: ["approval", "turn"], details: false })).toMatchObject({ type: "result" });
    // The tablet's app goes to the background.
    expect(await tablet.command("device.visibility", { visible: false })).toMatchObject({ type: "result" });
    const started = await phone.command("thread.start", { prompt: "Write a release note" });
    const thread = (started.body as { data: { thread: string } }).data.thread;
    expect(await tablet.command("thread.subscribe", { thread, afterSeq: 0 })).toMatchObject({ type: "result" });
    const request = await phone.until(isEvent("approval.request"));
    await tablet.until(isEvent("approval.request")); // the tablet still receives it on its connection
    await push!.idle();
    // Only the tablet (connected, subscribed, not visible) was pushed; the phone is looking at the thread.
    expect(sent.map((s) => s.payload.type)).toEqual(["request"]);
    const approvalId = (request.body as { approvalId: string }).approvalId;
    expect(sent[0]!.payload).toMatchObject({
      type: "request",
      kind: "approval",
      thread,
      approvalId,
      actions: ["approve_once", "deny"],
      host: { name: "mac-mini" },
    });
    expect(sent[0]!.payload.details).toBeUndefined();
    expect(sent[0]!.request.urgency).toBe("high");
    expect(sent[0]!.request.ttl).toBeGreaterThan(500); // the approval's expiry (600 s)
    // The phone decides and leaves at once, before the agent (which acts on the verdict as soon as it
    // is recorded) can ask again: the tablet gets the "resolved" follow-up on the same Topic, and the
    // next request wakes the phone too.
    await phone.command("approval.decide", { thread, approvalId, decision: "approve_once" });
    env.app.onSessionClosed(phone.conn);
    await tablet.until(isEvent("approval.resolved"));
    await push!.idle();
    expect(sent[1]!.payload).toMatchObject({ type: "resolved", approvalId, outcome: "approve_once", by: "Phone" });
    expect(sent[1]!.request.topic).toBe(sent[0]!.request.topic);
    const next = await tablet.until((m) => isEvent("approval.request")(m) && (m.body as { approvalId: string }).approvalId !== approvalId);
    await push!.idle();
    const nextId = (next.body as { approvalId: string }).approvalId;
    expect(sent.filter((s) => s.payload.approvalId === nextId && s.payload.type === "request")).toHaveLength(2);
    // A visible tablet subscribed to the thread is not woken any more.
    await tablet.command("device.visibility", { visible: true });
    await tablet.command("approval.decide", { thread, approvalId: nextId, decision: "approve_once" });
    await tablet.until((m) => isEvent("approval.resolved")(m) && (m.body as { approvalId: string }).approvalId === nextId);
    await push!.idle();
    const resolvedNext = sent.filter((s) => s.payload.approvalId === nextId && s.payload.type === "resolved");
    expect(resolvedNext).toHaveLength(2); // both were pushed the request: both get the follow-up
    const third = await tablet.until((m) => isEvent("approval.request")(m) && ![approvalId, nextId].includes((m.body as { approvalId: string }).approvalId));
    await push!.idle();
    const thirdId = (third.body as { approvalId: string }).approvalId;
    // One push for it: the phone only. (Counted by approval: the agent may ask before the tablet's decision returns.)
    expect(sent.filter((s) => s.payload.approvalId === thirdId).map((s) => s.payload.type)).toEqual(["request"]);
    await env.close();
  });

  it("a push service that never answers adds nothing to the approval path", async () => {
    // Time from thread.start to the approval request reaching a connected device, and from the
    // decision to approval.resolved: without push, and with every push hanging forever.
    const measure = async (withPush: boolean) => {
      const { env, sent, hanging } = await setup({ push: withPush, answer: () => "hang" });
      const phone = device(env, "Phone", 1);
      const tablet = device(env, "Tablet", 2);
      await env.app.onSessionOpen(phone.conn);
      await env.app.onSessionOpen(tablet.conn);
      if (withPush) {
        await tablet.command("push.register", { subscription, kinds: ["approval", "turn"], details: true });
        await phone.command("push.register", { subscription, kinds: ["approval", "turn"], details: true });
        await phone.command("device.visibility", { visible: false });
      }
      const times: number[] = [];
      for (let round = 0; round < 5; round++) {
        const before = phone.inbox.length;
        const t0 = performance.now();
        const started = await phone.command("thread.start", { prompt: `round ${round}` });
        const thread = (started.body as { data: { thread: string } }).data.thread;
        const request = await phone.until((m) => phone.inbox.indexOf(m) >= before && isEvent("approval.request")(m));
        const t1 = performance.now();
        const approvalId = (request.body as { approvalId: string }).approvalId;
        await phone.command("approval.decide", { thread, approvalId, decision: "deny" });
        await phone.until((m) => isEvent("approval.resolved")(m) && (m.body as { approvalId: string }).approvalId === approvalId);
        times.push(t1 - t0, performance.now() - t1);
        await phone.command("turn.interrupt", { thread });
      }
      const pushes = sent.length;
      const stillHanging = hanging.length; // env.close() releases them
      await env.close();
      return { median: times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!, pushes, stillHanging };
    };
    const plain = await measure(false);
    const pushed = await measure(true);
    console.log(
      `approval path median: ${plain.median.toFixed(1)} ms without push, ${pushed.median.toFixed(1)} ms with every push hanging (${pushed.pushes} pushes started)`,
    );
    // Every round's request reached the device and its decision resolved while the pushes it started
    // were still hanging: nothing on the approval path waits for the push service. (How long it takes
    // is bench/push.bench.ts's job, not a timed assertion here.)
    expect(pushed.pushes).toBeGreaterThanOrEqual(2);
    expect(pushed.stillHanging).toBeGreaterThanOrEqual(2);
  });
});
