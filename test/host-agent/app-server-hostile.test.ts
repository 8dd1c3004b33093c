// A paired device is trusted to ask, not to crash the host. Every device
// command is sent with hostile bodies (wrong types, out-of-range numbers,
// unknown ids, paths out of the workspace, models the agent lacks…) to a real
// AppServer with the demo agent. Each command gets exactly one answer, no
// promise rejection goes unhandled, and the host still runs a normal turn
// afterwards. Also: the rules the protocol documents for SEQ_AHEAD, steer on an
// idle thread, MODEL_UNKNOWN at thread.start, message.user.device, bounded ack
// bookkeeping, and INTERNAL answers that carry no local detail.
import { symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { APP_ERRORS, DEVICE_COMMANDS } from "../../protocol/src/index.ts";
import { device, isTurnEnd, setup } from "./app-server-harness.ts";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => process.on("unhandledRejection", onUnhandled));
afterAll(() => process.off("unhandledRejection", onUnhandled));
afterEach(() => expect(unhandled).toEqual([]));

describe("hostile device commands", () => {
  it("answers every command type with hostile bodies exactly once and keeps serving", async () => {
    const env = await setup();
    const phone = device(env);
    await env.app.onSessionOpen(phone.conn);
    const started = await phone.command("thread.start", { prompt: "list the workspace" });
    expect(started).toMatchObject({ type: "result" });
    const thread = (started.body as { data: { thread: string } }).data.thread;
    await phone.until(isTurnEnd);

    const long = "x".repeat(70_000);
    const hostile: unknown[] = [
      undefined,
      null,
      0,
      -1,
      "text",
      [],
      [1, 2],
      { extra: true },
      { __proto__: { polluted: 1 } },
      JSON.parse('{"constructor":{"prototype":{"polluted":1}}}'),
    ];
    const specific: Record<string, unknown[]> = {
      "device.hello": [{ app: long, appVersion: "1" }],
      "threads.list": [{ includeArchived: "yes" }],
      "thread.subscribe": [
        { thread, afterSeq: 1_000_000 },
        { thread, afterSeq: Number.MAX_SAFE_INTEGER },
        { thread, afterSeq: -1 },
        { thread, afterSeq: 1.5 },
        { thread, afterSeq: 1e300 },
        { thread: "no-such-thread", afterSeq: 0 },
        { thread: "../../etc", afterSeq: 0 },
      ],
      "thread.unsubscribe": [{ thread: "no-such-thread" }, { thread: "" }],
      "thread.start": [
        { prompt: "x", cwd: "../.." },
        { prompt: "x", cwd: "/etc" },
        { prompt: "x", cwd: "link-out" },
        { prompt: "x", cwd: "a\u0000b" },
        { prompt: "x", cwd: "missing/folder" },
        { prompt: "x", model: "gpt-nonexistent" },
        { prompt: "x", model: "demo-fast", effort: "high" },
        { prompt: "x", effort: "ultra" },
        { prompt: long },
      ],
      "thread.send": [
        { thread: "no-such-thread", text: "hi" },
        { thread, text: long },
      ],
      "turn.steer": [
        { thread, text: "steer an idle thread" },
        { thread: "no-such-thread", text: "x" },
      ],
      "turn.interrupt": [{ thread }, { thread: "no-such-thread" }],
      "question.answer": [
        { thread, questionId: "q_none", answer: "yes" },
        { thread: "no-such-thread", questionId: "q", answer: "" },
      ],
      "approval.decide": [
        { thread, approvalId: "ap_none", decision: "approve_once" },
        { thread, approvalId: "ap_none", decision: "approve_forever" },
        { thread: "no-such-thread", approvalId: "ap", decision: "deny" },
      ],
      "thread.settings": [
        { thread, model: "nope" },
        { thread, effort: "xhigh" },
        { thread: "no-such-thread", effort: "low" },
      ],
      ack: [],
    };
    symlinkSync("/etc", join(env.workspace, "link-out"));
    let sent = 0;
    for (const type of DEVICE_COMMANDS) {
      if (type === "ack") continue; // never answered; covered below
      for (const body of [...hostile, ...(specific[type] ?? [])]) {
        const answer = await phone.command(type, body);
        sent += 1;
        expect(["result", "error", "thread.list"]).toContain(answer.type);
        if (answer.type === "error") {
          // Only documented codes, and nothing from this machine's file system in the text.
          expect(Object.keys(APP_ERRORS)).toContain(answer.body.code);
          expect(answer.body.message).not.toContain(env.workspace);
        }
      }
    }
    expect(sent).toBeGreaterThan(60);
    // Exactly one answer per command id.
    const answered = phone.inbox.filter((m) => m.re !== undefined).map((m) => m.re);
    expect(new Set(answered).size).toBe(answered.length);

    // Still serving: a normal follow-up turn runs to completion.
    const before = phone.inbox.length;
    expect(await phone.command("thread.send", { thread, text: "and once more" })).toMatchObject({ type: "result" });
    await phone.until((m) => phone.inbox.indexOf(m) >= before && isTurnEnd(m));
    await env.close();
  });

  it("answers thread.subscribe past the thread's end with SEQ_AHEAD, also when resent", async () => {
    const env = await setup();
    const phone = device(env);
    await env.app.onSessionOpen(phone.conn);
    const started = await phone.command("thread.start", { prompt: "hello" });
    const thread = (started.body as { data: { thread: string } }).data.thread;
    await phone.until(isTurnEnd);
    const lastSeq = env.store.getThread(thread)!.lastSeq;
    // The same command id twice: the ledger answers the resend; it must not restart delivery either.
    for (let i = 0; i < 2; i++) {
      await phone.raw({ v: 1, type: "thread.subscribe", id: "sub-ahead", body: { thread, afterSeq: 1_000_000 } });
    }
    const errors = () => phone.inbox.filter((m) => m.re === "sub-ahead");
    await phone.until(() => errors().length === 2);
    for (const e of errors()) expect(e).toMatchObject({ type: "error", body: { code: "SEQ_AHEAD" } });
    // At the end exactly: fine, nothing to send.
    expect(await phone.command("thread.subscribe", { thread, afterSeq: lastSeq })).toMatchObject({ type: "result", body: { data: { thread, lastSeq } } });
    await env.close();
  });

  it("steer needs a running turn; thread.start checks model and effort; message.user names the device", async () => {
    const env = await setup();
    const phone = device(env, "Pixel 9");
    await env.app.onSessionOpen(phone.conn);
    expect(await phone.command("thread.start", { prompt: "x", model: "gpt-nonexistent" })).toMatchObject({ type: "error", body: { code: "MODEL_UNKNOWN" } });
    expect(await phone.command("thread.start", { prompt: "x", model: "demo-fast", effort: "high" })).toMatchObject({
      type: "error",
      body: { code: "MODEL_UNKNOWN" },
    });
    expect(env.store.listThreads()).toEqual([]); // nothing was created for a refused start
    const started = await phone.command("thread.start", { prompt: "write a note", model: "demo-fast", effort: "low" });
    const thread = (started.body as { data: { thread: string } }).data.thread;
    await phone.until(isTurnEnd);
    // The summary turns idle just after the turn's last event.
    while (env.store.getThread(thread)!.status !== "idle") await new Promise((r) => setTimeout(r, 10));
    const user = await phone.until((m) => m.type === "event" && m.body.kind === "message.user");
    expect(user.type === "event" && user.body.kind === "message.user" && user.body.device).toBe("Pixel 9");
    expect(await phone.command("turn.steer", { thread, text: "go left" })).toMatchObject({ type: "error", body: { code: "TURN_NOT_RUNNING" } });
    expect(await phone.command("turn.interrupt", { thread })).toMatchObject({ type: "error", body: { code: "TURN_NOT_RUNNING" } });
    expect(await phone.command("thread.settings", { thread, effort: "high" })).toMatchObject({ type: "error", body: { code: "MODEL_UNKNOWN" } });
    await env.close();
  });

  it("keeps acks only for subscribed threads, so a device cannot grow the host's memory", async () => {
    const env = await setup();
    const phone = device(env);
    await env.app.onSessionOpen(phone.conn);
    const started = await phone.command("thread.start", { prompt: "hello" });
    const thread = (started.body as { data: { thread: string } }).data.thread;
    await phone.until(isTurnEnd);
    for (let batch = 0; batch < 50; batch++) {
      const ack = Array.from({ length: 64 }, (_, i) => ({ thread: `t_${batch}_${i}_${"z".repeat(100)}`, seq: 1 }));
      await phone.raw({ v: 1, type: "ack", id: `a${batch}`, body: {}, ack });
    }
    await phone.raw({ v: 1, type: "ack", id: "a-real", body: {}, ack: [{ thread, seq: 2 }] });
    expect(env.app.connectionStats(phone.conn)).toEqual({ subscriptions: 1, ackedThreads: 1 });
    // ack is never answered.
    expect(phone.inbox.filter((m) => m.re?.startsWith("a"))).toEqual([]);
    await env.close();
  });

  it("answers THREAD_LIMIT when every thread is busy, and INTERNAL without local detail", async () => {
    const env = await setup({ maxThreads: 1 });
    const phone = device(env);
    await env.app.onSessionOpen(phone.conn);
    // The only thread stays running: its turn waits on a question nobody answers.
    const first = await phone.command("thread.start", { prompt: "question: which heading?" });
    expect(first).toMatchObject({ type: "result" });
    await phone.until((m) => m.type === "event" && m.body.kind === "question");
    const second = await phone.command("thread.start", { prompt: "another" });
    expect(second).toMatchObject({ type: "error", body: { code: "THREAD_LIMIT" } });

    // A store failure the device cannot name: the code is INTERNAL, the detail stays in the host's log.
    const thread = (first.body as { data: { thread: string } }).data.thread;
    await env.store.close();
    const broken = await phone.command("thread.settings", { thread, effort: "low" });
    expect(broken).toMatchObject({ type: "error", body: { code: "INTERNAL" } });
    expect(JSON.stringify(broken)).not.toContain(tmpdir());
    expect(env.logs.some((l) => l.includes("thread.settings"))).toBe(true);
    await env.app.close();
  });
});
