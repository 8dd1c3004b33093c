// Approvals end to end: two devices paired with a real `airlock up` (demo agent,
// default policy) through the real relay. The demo agent runs real commands and
// writes real files in its scratch workspace only after approval. Checks: the
// request's tier, rule and evidence; first decision wins between two devices;
// the diff travels with a file-change request and the file appears only after
// approval; a commit-tier request is host-only and is decided with `airlock
// deny` at the host; interrupt cancels what is waiting; stats and the audit log.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nobleBackend, type ThreadEvent } from "../../protocol/src/index.ts";
import { startRelay } from "../relay/harness.ts";
import { BIN, cleanup, command, eventOf, find, freePort, isEvent, nextApp, startHost, until, pairLink } from "./app-client.ts";
import { pairingDevice } from "./device.ts";
import { tempDir } from "../support/temp.ts";

type Approval = Extract<ThreadEvent, { kind: "approval.request" }>;

function airlock(home: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, "--home", home, ...args], { encoding: "utf8", timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("approvals through the relay (demo agent, default policy)", () => {
  it("asks, lets the first device win, carries evidence and the diff, keeps commit-tier for the host, and records it all", async () => {
    const relay = await startRelay({ port: await freePort(), persistDir: tempDir("airlock-relay-state-") });
    cleanup.push(() => relay.dispose());
    const home = tempDir("airlock-home-");
    const workspace = join(home, "demo-workspace");
    const host = startHost(home, relay.url);
    const { link } = (await host.waitFor("pairing")) as { link: string };
    const phone = await pairingDevice(link, await nobleBackend.generateSigner(), "Phone");
    await phone.handshake();
    expect((await nextApp(phone)).type).toBe("host.info");

    const tabletLink = await pairLink(home);
    const tablet = await pairingDevice(tabletLink, await nobleBackend.generateSigner(), "Tablet");
    await tablet.handshake();
    expect((await nextApp(tablet)).type).toBe("host.info");

    // 1. A read-only command: continue tier, any device may decide, full evidence.
    await command(phone, "thread.start", { prompt: "Write a release note, then push it" });
    const first = await until(phone, isEvent("approval.request"));
    const threadId = first.hit.thread!;
    const ls = eventOf(first.hit, "approval.request");
    expect(ls).toMatchObject({ type: "command", tier: "continue", where: "any-device", options: ["approve_once", "approve_session", "deny"] });
    expect(ls.evidence).toMatchObject({ action: "ls -la", cwd: workspace, filesChanged: [], flags: { network: false, credentials: false, writes: false } });
    expect(ls.evidence.reason).toBeTruthy();
    expect(ls.evidence.next).toBeTruthy();
    expect(ls.expiresAt).toBeGreaterThan(Date.now());
    // The thread summary says it is waiting, with one pending request.
    const list = await command(phone, "threads.list", {});
    const listed = await find(phone, (m) => m.type === "thread.list" && m.re === list);
    expect(listed.hit.type === "thread.list" && listed.hit.body.threads[0]).toMatchObject({ id: threadId, status: "waiting", pending: 1 });

    await command(tablet, "thread.subscribe", { thread: threadId, afterSeq: 0 });
    await until(tablet, (m) => isEvent("approval.request")(m) && eventOf(m, "approval.request").approvalId === ls.approvalId);

    // Both decide at once: exactly one wins; both see who.
    const fromPhone = await command(phone, "approval.decide", { thread: threadId, approvalId: ls.approvalId, decision: "approve_once" });
    const fromTablet = await command(tablet, "approval.decide", { thread: threadId, approvalId: ls.approvalId, decision: "deny" });
    const phoneAnswer = (await find(phone, (m) => m.re === fromPhone)).hit;
    const tabletAnswer = (await find(tablet, (m) => m.re === fromTablet)).hit;
    const answers = [phoneAnswer, tabletAnswer];
    expect(answers.filter((a) => a.type === "result")).toHaveLength(1);
    expect(answers.filter((a) => a.type === "error" && a.body.code === "NOT_PENDING")).toHaveLength(1);
    const winner = phoneAnswer.type === "result" ? "Phone" : "Tablet";
    for (const d of [phone, tablet]) {
      const r = await find(d, (m) => isEvent("approval.resolved")(m) && eventOf(m, "approval.resolved").approvalId === ls.approvalId);
      expect(eventOf(r.hit, "approval.resolved").by).toBe(winner);
    }

    // 2. If approved, the command really ran; then a file change arrives with its diff.
    const next = await until(phone, isEvent("approval.request"));
    if (winner === "Phone") {
      const kinds = next.seen.filter((m) => m.type === "event").map((m) => (m.body as ThreadEvent).kind);
      expect(kinds).toEqual(expect.arrayContaining(["command.started", "command.output", "command.finished"]));
      expect(next.seen.some((m) => isEvent("command.output")(m) && eventOf(m, "command.output").chunk.includes("README.md"))).toBe(true);
    }
    const fileReq = eventOf(next.hit, "approval.request");
    expect(fileReq).toMatchObject({ type: "file_change", tier: "continue", where: "any-device" });
    const notePath = fileReq.evidence.action.replace(/^add /, "");
    expect(notePath).toMatch(/^notes\/\d{3}-write-a-release-note-then-push-it\.md$/);
    expect(fileReq.diff).toContain(`+++ b/${notePath}`);
    expect(fileReq.diff).toContain("+Write a release note, then push it");
    expect(fileReq.evidence.flags.writes).toBe(true);
    expect(existsSync(join(workspace, notePath))).toBe(false); // nothing written before approval
    await command(phone, "approval.decide", { thread: threadId, approvalId: fileReq.approvalId, decision: "approve_once" });

    // 3. The check: the evidence now lists the file changed so far in the turn.
    const check = await until(phone, isEvent("approval.request"));
    expect(check.seen.some((m) => isEvent("file.change")(m) && eventOf(m, "file.change").path === notePath)).toBe(true);
    expect(readFileSync(join(workspace, notePath), "utf8")).toContain("Write a release note, then push it");
    const grep = eventOf(check.hit, "approval.request");
    expect(grep.evidence.filesChanged).toEqual([notePath]);
    await command(tablet, "approval.decide", { thread: threadId, approvalId: grep.approvalId, decision: "approve_session" });

    // 4. A push is commit tier: host-only. A device cannot decide it; the host's terminal can.
    const push = await until(phone, isEvent("approval.request"));
    expect(push.seen.some((m) => isEvent("test.result")(m) && eventOf(m, "test.result").status === "passed")).toBe(true);
    const pushReq: Approval = eventOf(push.hit, "approval.request");
    expect(pushReq).toMatchObject({ type: "command", tier: "commit", rule: "git.push", where: "host-only" });
    expect(pushReq.evidence.checksRun.length).toBeGreaterThan(0);
    const refused = await command(phone, "approval.decide", { thread: threadId, approvalId: pushReq.approvalId, decision: "approve_once" });
    expect((await find(phone, (m) => m.re === refused)).hit).toMatchObject({ type: "error", body: { code: "NOT_ALLOWED" } });
    await host.waitFor("approval.host-only");
    const pending = JSON.parse(airlock(home, "--json", "approvals").out) as { approvals: Array<{ approvalId: string; where: string }> };
    expect(pending.approvals).toMatchObject([{ approvalId: pushReq.approvalId, where: "host-only" }]);
    const human = airlock(home, "approvals");
    expect(human.out).toContain("git push origin main");
    expect(human.out).toContain("only this terminal may decide");
    expect(airlock(home, "deny", "ap_doesnotexist").code).toBe(7);
    const denied = airlock(home, "deny", pushReq.approvalId.slice(0, 8));
    expect(denied.code).toBe(0);
    const resolved = await find(phone, (m) => isEvent("approval.resolved")(m) && eventOf(m, "approval.resolved").approvalId === pushReq.approvalId);
    expect(eventOf(resolved.hit, "approval.resolved")).toMatchObject({ decision: "deny", by: "host" });
    await until(phone, (m) => isEvent("turn.status")(m) && eventOf(m, "turn.status").status === "completed");

    // 5. A question first: the first answer wins, then the turn goes on.
    await command(phone, "thread.send", { thread: threadId, text: "another note, question the heading" });
    const q = eventOf((await until(phone, isEvent("question"))).hit, "question");
    expect(q.options?.map((o) => o.id)).toEqual(["note", "todo"]);
    const bad = await command(phone, "question.answer", { thread: threadId, questionId: q.questionId, answer: "?", optionId: "nope" });
    expect((await find(phone, (m) => m.re === bad)).hit).toMatchObject({ type: "error", body: { code: "INVALID_DECISION" } });
    const answered = await command(tablet, "question.answer", { thread: threadId, questionId: q.questionId, answer: "To do", optionId: "todo" });
    expect((await find(tablet, (m) => m.re === answered)).hit.type).toBe("result");
    const late = await command(phone, "question.answer", { thread: threadId, questionId: q.questionId, answer: "Note", optionId: "note" });
    expect((await find(phone, (m) => m.re === late)).hit).toMatchObject({ type: "error", body: { code: "NOT_PENDING" } });
    expect(eventOf((await find(phone, isEvent("question.answered"))).hit, "question.answered")).toMatchObject({ questionId: q.questionId, by: "Tablet" });

    // 6. Interrupt while a request waits: it is cancelled, the turn ends interrupted.
    const waiting = eventOf((await until(phone, isEvent("approval.request"))).hit, "approval.request");
    await command(tablet, "turn.interrupt", { thread: threadId });
    const cancelled = await find(phone, (m) => isEvent("approval.resolved")(m) && eventOf(m, "approval.resolved").approvalId === waiting.approvalId);
    expect(eventOf(cancelled.hit, "approval.resolved")).toMatchObject({ decision: "cancel", by: "Tablet" });
    await until(phone, (m) => isEvent("turn.status")(m) && eventOf(m, "turn.status").status === "interrupted");

    // 7. Stats and audit: who decided what, how fast; the chain verifies.
    const stats = JSON.parse(airlock(home, "--json", "stats").out) as Record<string, unknown> & {
      perDevice: Array<{ device: string }>;
      decided: Record<string, number>;
    };
    expect(stats).toMatchObject({ requests: 5, threads: 1, decided: { byPolicy: 0, byHuman: 4, byTimeout: 0, cancelled: 1 }, autoDecidedShare: 0 });
    // Phone decided the file change, Tablet the check, the winner the first command.
    expect(stats.perDevice.map((d) => d.device).sort()).toEqual(["Phone", "Tablet"]);
    expect(airlock(home, "stats").out).toMatch(/idle before a person answered: p50 \d/);
    expect(airlock(home, "audit", "verify").code).toBe(0);
    const tail = JSON.parse(airlock(home, "--json", "audit", "tail", "-n", "200").out) as Array<{
      type: string;
      actor: { kind: string; name?: string };
      data: Record<string, unknown>;
    }>;
    const decisions = tail.filter((r) => r.type === "approval.decision");
    expect(decisions.map((d) => d.actor.kind)).toEqual(["device", "device", "device", "host", "device"]);
    expect(decisions[3]!.data).toMatchObject({ tier: "commit", rule: "git.push", decision: "deny" });
    expect(tail.some((r) => r.type === "approval.outcome")).toBe(true);

    phone.close();
    tablet.close();
  }, 120_000);
});
