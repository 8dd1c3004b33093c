// After a host restart nothing is waiting any more (the agent that asked is
// gone): the app server closes requests, questions and turns a previous run
// left open, so no device keeps showing a card nobody can answer.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AppServer, type CommandOutcome } from "../../../host-agent/src/app-server.ts";
import { DemoAgent } from "../../../host-agent/src/agents/demo.ts";
import { CommandLedger } from "../../../host-agent/src/command-ledger.ts";
import { EventStore } from "../../../host-agent/src/event-store.ts";
import type { ThreadEvent } from "../../../protocol/src/index.ts";
import { tempDir } from "../../support/temp.ts";

describe("app server start-up recovery", () => {
  it("cancels approvals and questions left open and ends the interrupted turn", async () => {
    const dir = tempDir("airlock-recovery-");
    const store = await EventStore.open(join(dir, "events"));
    const t = await store.createThread({ title: "left open", status: "waiting", pending: 2 });
    const done = await store.createThread({ title: "finished", status: "idle" });
    await store.append(t.id, { kind: "turn.status", turnId: "turn_1", status: "started" });
    const evidence = {
      action: "ls",
      host: "h",
      cwd: "/w",
      filesChanged: [],
      checksRun: [],
      flags: { network: false, credentials: false, externalTools: false, writes: false },
    };
    const request = (approvalId: string): ThreadEvent => ({
      kind: "approval.request",
      approvalId,
      type: "command",
      tier: "continue",
      rule: "read.ls",
      where: "any-device",
      evidence,
      options: ["approve_once", "deny"],
    });
    await store.append(t.id, request("ap_done"));
    await store.append(t.id, { kind: "approval.resolved", approvalId: "ap_done", decision: "approve_once", by: "Phone" });
    await store.append(t.id, request("ap_open"));
    await store.append(t.id, { kind: "question", questionId: "q_open", text: "?" });
    const before = (await store.eventsAfter(done.id, 0)).events.length;

    const ledger = await CommandLedger.open<CommandOutcome>(join(dir, "commands.jsonl"));
    const app = new AppServer({ store, ledger, agent: new DemoAgent(), agentDataDir: join(dir, "agent"), workspace: join(dir, "ws") });
    await app.start();
    const events = (await store.eventsAfter(t.id, 0)).events.map((e) => e.event);
    expect(events.slice(5)).toEqual([
      { kind: "approval.resolved", approvalId: "ap_open", decision: "cancel", by: "host", note: "the host agent restarted; ask again if it is still needed" },
      { kind: "question.answered", questionId: "q_open", by: "host" },
      { kind: "turn.status", turnId: "turn_1", status: "interrupted", error: "the host agent restarted" },
    ]);
    expect(store.getThread(t.id)).toMatchObject({ status: "idle", pending: 0 });
    expect((await store.eventsAfter(done.id, 0)).events.length).toBe(before);
    await app.close();
    await ledger.close();
    await store.close();
  });
});
