// The application protocol end to end: a device paired with a real `airlock up`
// (demo agent) through the real relay. Events are persisted before they are
// sent, and after a relay restart mid-stream the device receives every event
// exactly once, in order. Bad app messages get an error reply; the session lives.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nobleBackend, parsePairingLink, textEncoder, type AppProtocolMessage } from "../../protocol/src/index.ts";
import { startRelay, type RelayServer } from "../relay/harness.ts";
import { cleanup, collect, command, freePort, isTurnEnd, nextApp, startHost, summaries, pairLink } from "./app-client.ts";
import { pairingDevice, resumingDevice } from "./device.ts";
import { tempDir } from "../support/temp.ts";

describe("application protocol through the relay", () => {
  let relay: RelayServer;

  it("streams a thread, survives a relay restart mid-stream with every event exactly once, and answers bad messages", async () => {
    const port = await freePort();
    const persistDir = tempDir("airlock-relay-state-");
    relay = await startRelay({ port, persistDir });
    cleanup.push(() => relay.dispose());
    const home = tempDir("airlock-home-");
    // This test is about delivery, not approvals: the policy lets the demo agent's actions through.
    const allowAll = { version: 1, defaults: { steer: "allow", continue: "allow", expand: "allow", commit: "allow" } };
    writeFileSync(join(home, "policy.json"), JSON.stringify(allowAll));
    const host = startHost(home, relay.url);
    const { link } = (await host.waitFor("pairing")) as { link: string };
    const signer = await nobleBackend.generateSigner();
    let phone = await pairingDevice(link, signer);
    await phone.handshake();
    const info = await nextApp(phone);
    expect(info.type).toBe("host.info");
    expect(info.type === "host.info" && info.body.agent.kind).toBe("demo");

    // Start a thread; collect its first turn.
    const startId = await command(phone, "thread.start", { prompt: "Fix the flaky test" });
    const first = await collect(phone, isTurnEnd);
    const result = first.find((m) => m.type === "result" && m.re === startId);
    const threadId = first.find((m) => m.type === "event")!.thread!;
    const seqs = first.filter((m) => m.type === "event").map((m) => m.seq!);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(result ?? (await nextApp(phone))).toMatchObject({ type: "result" });

    // Every connected device hears about the thread's status changes.
    expect(
      summaries
        .get(phone)
        ?.filter((t) => t.id === threadId)
        .map((t) => t.status),
    ).toContain("running");

    // Idempotent: the same command id again creates nothing new.
    await command(phone, "thread.start", { prompt: "Fix the flaky test" }, startId);
    const again = await nextApp(phone);
    expect(again).toMatchObject({ type: "result", re: startId, body: { data: { thread: threadId } } });

    // A second turn; the relay dies mid-stream and comes back on the same port and storage.
    await command(phone, "thread.send", { thread: threadId, text: "and explain why" });
    const partial: AppProtocolMessage[] = [];
    // Wait for the turn to be streaming, then kill the relay mid-stream (the demo agent pauses between chunks).
    while (!partial.some((m) => m.type === "event" && m.body.kind === "message.delta")) partial.push(await nextApp(phone));
    await relay.dispose();
    const lastSeen = Math.max(...seqs, ...partial.filter((m) => m.type === "event").map((m) => m.seq!));
    relay = await startRelay({ port, persistDir });
    cleanup.push(() => relay.dispose());
    await host.waitFor("relay.online", 2);

    const parsed = parsePairingLink(link);
    phone = await resumingDevice(relay.url, parsed.roomId, parsed.hostPublicKey, signer);
    await phone.handshake();
    expect((await nextApp(phone)).type).toBe("host.info");
    const resubscribe = await command(phone, "thread.subscribe", { thread: threadId, afterSeq: lastSeen });
    const rest = await collect(phone, (m) => isTurnEnd(m) && m.type === "event" && (m.seq ?? 0) > lastSeen);
    // The subscribe's own answer may come after the events it started (delivery runs beside it): take it too.
    if (!rest.some((m) => m.re === resubscribe)) rest.push(...(await collect(phone, (m) => m.re === resubscribe)));
    const resumed = rest.filter((m) => m.type === "event").map((m) => m.seq!);
    // The turn went on while the relay was down: those events waited on the host.
    expect(rest.some((m) => m.type === "event" && m.body.kind === "message.delta")).toBe(true);
    // Exactly the missing events, in order, no duplicates.
    expect(resumed[0]).toBe(lastSeen + 1);
    expect(resumed).toEqual(resumed.map((_, i) => lastSeen + 1 + i));

    // Garbage and oversized app messages: an error reply, and the session goes on.
    await phone.send(textEncoder.encode("{not json"));
    expect(await nextApp(phone)).toMatchObject({ type: "error", body: { code: "APP_MESSAGE_INVALID" } });
    await phone.send(textEncoder.encode(JSON.stringify({ v: 1, type: "thread.start", id: "big", body: { prompt: "x".repeat(600_000) } })));
    expect(await nextApp(phone)).toMatchObject({ type: "error", body: { code: "APP_MESSAGE_TOO_LARGE" } });
    await command(phone, "event", { kind: "notice", level: "info", text: "spoof" }, "spoof");
    expect(await nextApp(phone)).toMatchObject({ type: "error", re: "spoof", body: { code: "NOT_ALLOWED" } });
    // A subscribe past the thread's end once killed the host (an unhandled rejection in the delivery pump):
    // it is answered, twice (a resend), and the host lives on.
    for (let i = 0; i < 2; i++) {
      await command(phone, "thread.subscribe", { thread: threadId, afterSeq: 1_000_000 }, "ahead");
      expect(await nextApp(phone)).toMatchObject({ type: "error", re: "ahead", body: { code: "SEQ_AHEAD" } });
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(host.child.exitCode).toBeNull();
    // With --json the operational log comes as JSON lines too (it used to be dropped).
    expect(host.lines.some((l) => l.type === "log" && l.source === "relay" && String(l.message).includes("online in room"))).toBe(true);
    const listId = await command(phone, "threads.list", {});
    const list = await nextApp(phone);
    expect(list).toMatchObject({ type: "thread.list", re: listId });
    expect(list.type === "thread.list" && list.body.threads.map((t) => t.id)).toEqual([threadId]);

    // A second device at the same time, with its own session, paired through `airlock pair --yes`.
    const tabletLink = await pairLink(home);
    const tablet = await pairingDevice(tabletLink, await nobleBackend.generateSigner(), "Tablet");
    await tablet.handshake();
    expect((await nextApp(tablet)).type).toBe("host.info");
    await command(tablet, "thread.subscribe", { thread: threadId, afterSeq: 0 });
    const history = await collect(tablet, (m) => m.type === "event" && m.seq === resumed.at(-1));
    const tabletSeqs = history.filter((m) => m.type === "event").map((m) => m.seq!);
    expect(tabletSeqs).toEqual(tabletSeqs.map((_, i) => i + 1));
    // Both devices see the next turn live.
    await command(tablet, "thread.send", { thread: threadId, text: "one more" });
    for (const d of [phone, tablet]) {
      const live = await collect(d, isTurnEnd);
      expect(live.some((m) => m.type === "event" && m.body.kind === "message.user" && m.body.text === "one more")).toBe(true);
    }
    tablet.close();
    phone.close();
  }, 120_000);
});
