// Issue 18: concurrent demo turns once failed with EEXIST (two turns numbered
// their notes alike and both wrote with O_EXCL). Many turns at once, across
// threads and two devices, identical prompts, first turns and follow-ups:
// every turn completes and every note is its own file.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AppProtocolMessage } from "../../protocol/src/index.ts";
import { device, setup } from "./app-server-harness.ts";

const ends = (inbox: AppProtocolMessage[]) =>
  inbox.flatMap((m) =>
    m.type === "event" && m.body.kind === "turn.status" && m.body.status !== "started" ? [{ thread: m.thread!, status: m.body.status }] : [],
  );

describe("demo agent under concurrent turns", () => {
  it("completes every turn with a note of its own", async () => {
    const env = await setup();
    const phones = [device(env, "Phone", 1), device(env, "Tablet", 2)];
    for (const p of phones) await env.app.onSessionOpen(p.conn);
    const THREADS = 8;
    const started = await Promise.all(Array.from({ length: THREADS }, (_, i) => phones[i % 2]!.command("thread.start", { prompt: "Write a note, please" })));
    const threads = started.map((m) => (m.body as { data: { thread: string } }).data.thread);
    const allEnds = () => phones.flatMap((p) => ends(p.inbox));
    const waitEnds = async (n: number) => {
      const deadline = Date.now() + 30_000;
      while (new Set(allEnds().map((e) => JSON.stringify(e))).size < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    };
    await waitEnds(THREADS);
    // Follow-ups on every thread at once, from the other device, same prompt again.
    const sent = await Promise.all(threads.map((thread, i) => phones[(i + 1) % 2]!.command("thread.send", { thread, text: "follow up, one question please" })));
    expect(sent.map((m) => m.type)).toEqual(threads.map(() => "result"));
    // Each thread's turns: wait until both of its turns ended (as seen by the device that started it).
    const deadline = Date.now() + 30_000;
    const perThread = () => threads.map((t, i) => ends(phones[i % 2]!.inbox).filter((e) => e.thread === t));
    // The follow-up asks a question (the prompt says "question"): each device answers those in its threads.
    const answered = new Set<string>();
    while (perThread().some((list) => list.length < 2) && Date.now() < deadline) {
      for (const p of phones) {
        for (const m of [...p.inbox]) {
          if (m.type !== "event" || m.body.kind !== "question" || answered.has(m.body.questionId)) continue;
          answered.add(m.body.questionId);
          await p.command("question.answer", { thread: m.thread, questionId: m.body.questionId, answer: "To do", optionId: "todo" });
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(answered.size).toBe(THREADS);
    const outcomes = perThread()
      .flat()
      .map((e) => e.status);
    expect(outcomes).toHaveLength(THREADS * 2);
    expect(outcomes.filter((s) => s !== "completed")).toEqual([]);
    const notes = readdirSync(join(env.workspace, "notes"));
    expect(notes).toHaveLength(THREADS * 2);
    expect(new Set(notes.map((n) => n.slice(0, 3))).size).toBe(THREADS * 2);
    await env.close();
  });
});
