// Streamed output cannot bury another thread's events (issue 16): per device
// at most BULK_IN_FLIGHT output frames are on their way, and none start while
// anything else is; and while the
// relay connection's queue is over BULK_HIGH_WATER, a thread's
// message.delta / command.output wait, and every other event (an approval
// request on another thread, replies) still goes out; once the queue drains
// the output follows, in order and complete. Real AppServer, event store and
// ledger (app-server-harness); the relay connection's queue is the one part
// played by a number, since filling a real socket's buffer on demand is not
// something a test can do reliably.
import { afterAll, describe, expect, it, vi } from "vitest";
import { BULK_HIGH_WATER, BULK_IN_FLIGHT } from "../../host-agent/src/app-server.ts";
import { device, setup } from "./app-server-harness.ts";

describe("bulk output and the relay connection's queue", () => {
  const envs: Awaited<ReturnType<typeof setup>>[] = [];
  afterAll(async () => {
    for (const e of envs) await e.close();
  });

  it("holds output while the queue is high, sends other threads' events meanwhile, then the output in order", async () => {
    const env = await setup();
    envs.push(env);
    const phone = device(env);
    let queued = 0;
    Object.assign(phone.conn, { backlog: () => queued });
    await env.app.onSessionOpen(phone.conn);
    const busy = await env.store.createThread({ id: "busy", title: "streams output" });
    const other = await env.store.createThread({ id: "other", title: "asks" });
    for (const t of [busy, other]) expect(await phone.command("thread.subscribe", { thread: t.id, afterSeq: 0 })).toMatchObject({ type: "result" });

    queued = BULK_HIGH_WATER + 1;
    const host = env.app.agentHost;
    for (let i = 0; i < 5; i++) await host.emit("busy", { kind: "command.output", itemId: "c1", stream: "stdout", chunk: `line ${i}\n` });
    await host.emit("other", { kind: "notice", level: "warning", text: "needs you" });
    const reply = await phone.command("threads.list", {});
    await phone.until((m) => m.type === "event" && m.thread === "other" && m.body.kind === "notice");
    // The other thread's event and the command's answer went out; the output waits.
    expect(reply.type).toBe("thread.list");
    expect(phone.inbox.filter((m) => m.type === "event" && m.thread === "busy")).toEqual([]);

    queued = 0;
    await phone.until((m) => m.type === "event" && m.thread === "busy" && m.body.kind === "command.output" && m.body.chunk.includes("line 4"));
    const output = phone.inbox.flatMap((m) =>
      m.type === "event" && m.thread === "busy" && m.body.kind === "command.output" ? [{ seq: m.seq, chunk: m.body.chunk }] : [],
    );
    expect(output.map((o) => o.seq)).toEqual(output.map((_, i) => i + 1));
    expect(output.map((o) => o.chunk).join("")).toBe([0, 1, 2, 3, 4].map((i) => `line ${i}\n`).join(""));
  });

  it("does not hold an agent that awaits each chunk to one chunk per stream window", async () => {
    const env = await setup();
    envs.push(env);
    const phone = device(env);
    await env.app.onSessionOpen(phone.conn);
    await env.store.createThread({ id: "talks", title: "streams a message" });
    await phone.command("thread.subscribe", { thread: "talks", afterSeq: 0 });
    const host = env.app.agentHost;
    await host.emit("talks", { kind: "message.delta", itemId: "m1", text: "0 " }); // opens a window
    // Timers frozen: emits that waited for the window's end would never resolve.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      for (let i = 1; i < 30; i++) await host.emit("talks", { kind: "message.delta", itemId: "m1", text: `${i} ` });
      await host.emit("talks", { kind: "message.completed", itemId: "m1", text: "done" }); // durable, with what waited before it
    } finally {
      vi.useRealTimers();
    }
    await phone.until((m) => m.type === "event" && m.thread === "talks" && m.body.kind === "message.completed");
    const deltas = phone.inbox.flatMap((m) => (m.type === "event" && m.thread === "talks" && m.body.kind === "message.delta" ? [m.body.text] : []));
    expect(deltas.join("")).toBe(Array.from({ length: 30 }, (_, i) => `${i} `).join(""));
    expect(deltas.length).toBeLessThan(30); // merged while they waited
  });

  it("keeps at most BULK_IN_FLIGHT output frames on their way per device, and none while an answer or an approval is", async () => {
    const env = await setup();
    envs.push(env);
    const phone = device(env);
    // A slow session (each frame takes 2 ms to go): what is on its way at each start is recorded.
    const deliver = phone.conn.send;
    let bulkOnWay = 0;
    let urgentOnWay = 0;
    const atUrgentStart: number[] = [];
    let bulkStartedWhileUrgent = 0;
    phone.conn.send = async (payload, options) => {
      const text = new TextDecoder().decode(payload);
      const bulk = text.includes('"kind":"command.output"');
      if (bulk) {
        if (urgentOnWay > 0) bulkStartedWhileUrgent++;
        bulkOnWay++;
      } else {
        atUrgentStart.push(bulkOnWay);
        urgentOnWay++;
      }
      try {
        await new Promise((resolve) => setTimeout(resolve, 2));
        return await deliver(payload, options);
      } finally {
        if (bulk) bulkOnWay--;
        else urgentOnWay--;
      }
    };
    await env.app.onSessionOpen(phone.conn);
    const streams = ["s1", "s2", "s3", "s4"];
    for (const id of [...streams, "asks"]) {
      await env.store.createThread({ id, title: id });
      await phone.command("thread.subscribe", { thread: id, afterSeq: 0 });
    }
    const host = env.app.agentHost;
    // Four threads stream at once, each in full flow (no window: 64+ appends waiting merge into one write).
    const emits = streams.flatMap((id) =>
      Array.from({ length: 20 }, (_, i) => host.emit(id, { kind: "command.output", itemId: `c_${id}_${i}`, stream: "stdout", chunk: `${id} ${i}\n` })),
    );
    await phone.until((m) => m.type === "event" && m.body.kind === "command.output");
    atUrgentStart.length = 0;
    await host.emit("asks", { kind: "notice", level: "warning", text: "needs you" });
    const reply = await phone.command("threads.list", {});
    expect(reply.type).toBe("thread.list");
    await Promise.all(emits);
    for (const id of streams)
      await phone.until((m) => m.type === "event" && m.thread === id && m.body.kind === "command.output" && m.body.chunk === `${id} 19\n`);
    expect(atUrgentStart.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...atUrgentStart)).toBeLessThanOrEqual(BULK_IN_FLIGHT);
    expect(bulkStartedWhileUrgent).toBe(0);
    // Every thread's output arrived, in order.
    for (const id of streams) {
      const seqs = phone.inbox.flatMap((m) => (m.type === "event" && m.thread === id ? [m.seq] : []));
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(seqs).toHaveLength(20);
    }
  });
});
