// Streamed output cannot bury another thread's events (issue 16): while the
// relay connection's queue is over BULK_HIGH_WATER, a thread's
// message.delta / command.output wait, and every other event (an approval
// request on another thread, replies) still goes out; once the queue drains
// the output follows, in order and complete. Real AppServer, event store and
// ledger (app-server-harness); the relay connection's queue is the one part
// played by a number, since filling a real socket's buffer on demand is not
// something a test can do reliably.
import { afterAll, describe, expect, it } from "vitest";
import { BULK_HIGH_WATER } from "../../host-agent/src/app-server.ts";
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
    const output = phone.inbox.flatMap((m) => (m.type === "event" && m.thread === "busy" && m.body.kind === "command.output" ? [{ seq: m.seq, chunk: m.body.chunk }] : []));
    expect(output.map((o) => o.seq)).toEqual(output.map((_, i) => i + 1));
    expect(output.map((o) => o.chunk).join("")).toBe([0, 1, 2, 3, 4].map((i) => `line ${i}\n`).join(""));
  });
});
