// Codex end to end: a phone (TestDevice) paired through the real relay with a
// real `airlock up --agent codex` child process, which drives the real `codex
// app-server` whose model is the local mock Responses server. Default policy
// (no policy.json). Everything the phone does goes through the relay and the
// encrypted channel; everything Codex sends to "the model" is recorded by the
// mock. Covers: approve once (output, exit code, evidence), approve for the
// session, deny (the model is told), cancel by interrupt while an approval
// waits, a file change with its diff (written only after approval), a question
// answered from the phone, per-turn model/effort from thread.settings (and the
// compaction notice), a reasoning summary and a web search, a
// commit-tier command decided only at the host, an app-server crash that
// withdraws the pending approval at once, and resuming the Codex thread after
// `airlock up` restarts.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nobleBackend, parsePairingLink, type AppProtocolMessage, type Ed25519Signer, type ThreadEvent } from "../../../protocol/src/index.ts";
import { startRelay, type RelayServer } from "../../relay/harness.ts";
import { BIN, cleanup, command, eventOf, freePort, isEvent, received, reply, startHost, until } from "../app-client.ts";
import { pairingDevice, resumingDevice, type TestDevice } from "../device.ts";
import { MODEL } from "./helpers.ts";
import { MockResponses, type RecordedRequest } from "./mock-responses.ts";
import { tempDir } from "../../support/temp.ts";

type Event<K extends ThreadEvent["kind"]> = Extract<ThreadEvent, { kind: K }>;

const body = eventOf;
const turnEnd = (m: AppProtocolMessage) => m.type === "event" && m.body.kind === "turn.status" && m.body.status !== "started";
const events = (seen: AppProtocolMessage[]) => seen.filter((m) => m.type === "event").map((m) => m.body as ThreadEvent);
const output = (seen: AppProtocolMessage[]) =>
  events(seen)
    .map((e) => (e.kind === "command.output" ? e.chunk : ""))
    .join("");

function airlock(home: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, "--home", home, ...args], { encoding: "utf8", timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** What Codex sent back for the latest tool call in request `r` (function or custom tool output). */
function toolOutput(r: RecordedRequest | undefined): string {
  const item = [...(r?.input ?? [])].reverse().find((x) => x.type === "function_call_output" || x.type === "custom_tool_call_output");
  return JSON.stringify(item?.output ?? "");
}

/** The pid of the `codex app-server` child of `airlock up` (Linux /proc). */
function appServerPid(hostPid: number): number | undefined {
  for (const task of readdirSync(`/proc/${hostPid}/task`)) {
    const children = readFileSync(`/proc/${hostPid}/task/${task}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    for (const pid of children) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("app-server")) return pid;
      } catch {
        // exited meanwhile
      }
    }
  }
  return undefined;
}

/** Codex's config in a private CODEX_HOME: the mock model, offline, no retries. */
function writeCodexConfig(codexHome: string, baseUrl: string): void {
  mkdirSync(codexHome, { recursive: true });
  writeFileSync(
    join(codexHome, "config.toml"),
    [
      `model = "${MODEL}"`,
      `model_provider = "mock"`,
      ``,
      `[model_providers.mock]`,
      `name = "mock"`,
      `base_url = ${JSON.stringify(baseUrl)}`,
      `wire_api = "responses"`,
      `request_max_retries = 0`,
      `stream_max_retries = 0`,
      `supports_websockets = false`,
      ``,
      `[features]`,
      `plugins = false`,
      `remote_plugin = false`,
      `apps = false`,
      ``,
      `[analytics]`,
      `enabled = false`,
      ``,
      `[feedback]`,
      `enabled = false`,
      ``,
    ].join("\n"),
  );
}

// Shared by both tests (they run in order): one relay, one mock, one host home.
let relay: RelayServer;
let mock: MockResponses;
let home: string;
let workspace: string;
let env: NodeJS.ProcessEnv;
let host: ReturnType<typeof startHost>;
let phone: TestDevice;
let signer: Ed25519Signer;
let link: string;
let threadId: string;

async function send(type: string, payload: Record<string, unknown>): Promise<AppProtocolMessage> {
  return reply(phone, await command(phone, type, payload));
}

/** Sends a follow-up turn and returns the next approval request of this thread. */
async function nextApproval(): Promise<{ req: Event<"approval.request">; seen: AppProtocolMessage[] }> {
  const { hit, seen } = await until(phone, isEvent("approval.request"));
  expect(hit.thread).toBe(threadId);
  return { req: body(hit, "approval.request"), seen };
}

async function decide(approvalId: string, decision: string): Promise<AppProtocolMessage> {
  return send("approval.decide", { thread: threadId, approvalId, decision });
}

describe("Codex through the relay (airlock up --agent codex, default policy)", () => {
  it("approvals, questions, settings and host-only requests from a phone", { timeout: 180_000 }, async () => {
    relay = await startRelay({ port: await freePort(), persistDir: tempDir("airlock-relay-state-") });
    cleanup.push(() => relay.dispose());
    mock = new MockResponses();
    await mock.start();
    cleanup.push(() => mock.stop());
    const root = tempDir("airlock-codex-e2e-");
    // Runs after app-client's SIGTERM to the host (cleanups run in reverse): wait for it to exit first.
    cleanup.push(async () => {
      const child = host?.child;
      if (child && child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once("exit", resolve));
      rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    });
    home = join(root, "home");
    workspace = join(root, "ws");
    const codexHome = join(root, "codex-home");
    mkdirSync(home, { mode: 0o700 });
    mkdirSync(workspace);
    writeCodexConfig(codexHome, mock.baseUrl);
    env = { ...process.env, CODEX_HOME: codexHome };

    host = startHost(home, relay.url, ["--agent", "codex", "--workspace", workspace], env);
    ({ link } = (await host.waitFor("pairing", 1, 60_000)) as { link: string });
    signer = await nobleBackend.generateSigner();
    phone = await pairingDevice(link, signer, "Phone");
    await phone.handshake();
    const info = await until(phone, (m) => m.type === "host.info");
    expect(info.hit).toMatchObject({ type: "host.info", body: { agent: { kind: "codex", label: "Codex" } } });
    expect(info.hit.type === "host.info" && info.hit.body.models.map((m) => m.id)).toContain(MODEL);

    // 1. Approve once: the request carries the command, cwd, the model's justification,
    //    tier and rule; after approval the command's output and exit code arrive.
    mock.script(
      { kind: "exec", cmd: "echo hello-airlock", sandboxPermissions: "require_escalated", justification: "to greet the user" },
      { kind: "text", text: "It printed hello." },
    );
    const started = await send("thread.start", { prompt: "say hello", model: MODEL });
    expect(started.type).toBe("result");
    threadId = (started as unknown as { body: { data: { thread: string } } }).body.data.thread;
    const once = await nextApproval();
    expect(once.req).toMatchObject({
      type: "command",
      tier: "continue",
      rule: "read.echo",
      where: "any-device",
      options: ["approve_once", "approve_session", "deny"],
    });
    expect(once.req.evidence).toMatchObject({ action: "echo hello-airlock", cwd: workspace, reason: "to greet the user" });
    expect(once.req.expiresAt).toBeGreaterThan(Date.now());
    // The command was announced before the request (the phone sees what it approves).
    expect(events(once.seen).some((e) => e.kind === "command.started" && e.command === "echo hello-airlock")).toBe(true);
    expect(events(once.seen).some((e) => e.kind === "command.output")).toBe(false);
    expect(await decide(once.req.approvalId, "approve_once")).toMatchObject({ type: "result" });
    let turn = await until(phone, turnEnd);
    expect(body(turn.hit, "turn.status").status).toBe("completed");
    expect(events(turn.seen)).toContainEqual(
      expect.objectContaining({ kind: "approval.resolved", approvalId: once.req.approvalId, decision: "approve_once", by: "Phone" }),
    );
    expect(output(turn.seen)).toContain("hello-airlock");
    expect(events(turn.seen)).toContainEqual(expect.objectContaining({ kind: "command.finished", exitCode: 0 }));
    expect(events(turn.seen)).toContainEqual(expect.objectContaining({ kind: "message.completed", text: "It printed hello." }));
    expect(toolOutput(mock.requests[1])).toContain("hello-airlock");

    // 2. Approve for the session: the identical second command runs without asking.
    let before = mock.requests.length;
    mock.script({ kind: "exec", cmd: "echo once-more" }, { kind: "exec", cmd: "echo once-more" }, { kind: "text", text: "ran twice" });
    expect(await send("thread.send", { thread: threadId, text: "run it twice" })).toMatchObject({ type: "result" });
    const session = await nextApproval();
    expect(session.req.evidence.action).toBe("echo once-more");
    await decide(session.req.approvalId, "approve_session");
    turn = await until(phone, turnEnd);
    expect(body(turn.hit, "turn.status").status).toBe("completed");
    expect(events(turn.seen).filter((e) => e.kind === "approval.request")).toHaveLength(0);
    expect(events(turn.seen).filter((e) => e.kind === "command.finished")).toEqual([
      expect.objectContaining({ exitCode: 0 }),
      expect.objectContaining({ exitCode: 0 }),
    ]);
    expect(mock.requests.length - before).toBe(3);
    expect(toolOutput(mock.requests[before + 2])).toContain("once-more");

    // 3. Deny: nothing runs, the model is told, the turn goes on.
    before = mock.requests.length;
    mock.script({ kind: "exec", cmd: "touch should-not-exist" }, { kind: "text", text: "ok, I will not" });
    await send("thread.send", { thread: threadId, text: "touch a file" });
    const denied = await nextApproval();
    await decide(denied.req.approvalId, "deny");
    turn = await until(phone, turnEnd);
    expect(body(turn.hit, "turn.status").status).toBe("completed");
    expect(existsSync(join(workspace, "should-not-exist"))).toBe(false);
    expect(events(turn.seen)).toContainEqual(expect.objectContaining({ kind: "command.finished", exitCode: null }));
    expect(events(turn.seen)).toContainEqual(expect.objectContaining({ kind: "message.completed", text: "ok, I will not" }));
    expect(mock.requests.length - before).toBe(2);
    expect(toolOutput(mock.requests[before + 1]).toLowerCase()).toMatch(/reject|declin|denied|not approved/);

    // 4. Cancel: turn.interrupt while an approval waits resolves it "cancel" and stops the turn.
    before = mock.requests.length;
    mock.script({ kind: "exec", cmd: "echo never" });
    await send("thread.send", { thread: threadId, text: "do something" });
    const pendingCancel = await nextApproval();
    const interrupted = await send("turn.interrupt", { thread: threadId });
    turn = await until(phone, turnEnd);
    expect(body(turn.hit, "turn.status").status).toBe("interrupted");
    expect(events(turn.seen)).toContainEqual(
      expect.objectContaining({ kind: "approval.resolved", approvalId: pendingCancel.req.approvalId, decision: "cancel", by: "Phone" }),
    );
    // Either Codex confirmed the interrupt, or the cancelled approval had already ended the turn.
    if (interrupted.type === "error") expect(interrupted.body.code).toBe("TURN_NOT_RUNNING");
    expect(output(turn.seen)).not.toContain("never");
    expect(mock.requests.length - before).toBe(1);

    // 5. A file change: the request carries the diff; the file exists only after approval.
    mock.script(
      { kind: "patch", patch: "*** Begin Patch\n*** Add File: notes.txt\n+first line\n+second line\n*** End Patch\n" },
      { kind: "text", text: "wrote notes" },
    );
    await send("thread.send", { thread: threadId, text: "write notes" });
    const file = await nextApproval();
    const notes = join(workspace, "notes.txt");
    expect(file.req).toMatchObject({ type: "file_change", where: "any-device" });
    expect(file.req.evidence.action).toBe(`add ${notes}`);
    expect(file.req.evidence.flags.writes).toBe(true);
    expect(file.req.diff).toContain("first line");
    expect(file.req.diff).toContain("second line");
    expect(existsSync(notes)).toBe(false);
    await decide(file.req.approvalId, "approve_once");
    turn = await until(phone, turnEnd);
    expect(body(turn.hit, "turn.status").status).toBe("completed");
    expect(readFileSync(notes, "utf8")).toBe("first line\nsecond line\n");
    expect(events(turn.seen)).toContainEqual(expect.objectContaining({ kind: "file.change", path: notes, change: "add" }));

    // 6. A question from the model, answered on the phone; Codex passes the answer on.
    before = mock.requests.length;
    mock.script(
      {
        kind: "ask",
        questions: [
          {
            id: "color",
            header: "Colour",
            question: "Which colour?",
            options: [
              { label: "Red", description: "warm" },
              { label: "Blue", description: "cool" },
            ],
          },
        ],
      },
      { kind: "text", text: "Blue it is" },
    );
    await send("thread.send", { thread: threadId, text: "pick a colour" });
    const q = body((await until(phone, isEvent("question"))).hit, "question");
    expect(q.text).toBe("Colour: Which colour?");
    const blue = q.options?.find((o) => o.label === "Blue");
    expect(blue).toBeDefined();
    expect(await send("question.answer", { thread: threadId, questionId: q.questionId, answer: "Blue", optionId: blue!.id })).toMatchObject({ type: "result" });
    turn = await until(phone, turnEnd);
    expect(body(turn.hit, "turn.status").status).toBe("completed");
    expect(events(turn.seen)).toContainEqual(expect.objectContaining({ kind: "question.answered", questionId: q.questionId, by: "Phone" }));
    expect(toolOutput(mock.requests[before + 1])).toContain("Blue");

    // 7. thread.settings: model and effort reach the next model request. (A model switch
    //    makes Codex compact the history first with the old model; the mock answers
    //    unscripted requests with "done".)
    before = mock.requests.length;
    expect(await send("thread.settings", { thread: threadId, model: "gpt-5.6-sol", effort: "high" })).toMatchObject({ type: "result" });
    expect(await send("thread.settings", { thread: threadId, model: "no-such-model" })).toMatchObject({ type: "error", body: { code: "MODEL_UNKNOWN" } });
    await send("thread.send", { thread: threadId, text: "think harder" });
    turn = await until(phone, turnEnd);
    expect(body(turn.hit, "turn.status").status).toBe("completed");
    const last = mock.requests.at(-1)!;
    expect(mock.requests.length).toBeGreaterThan(before);
    expect(JSON.stringify(last.input)).toContain("think harder");
    expect([last.body.model, (last.body.reasoning as { effort?: string } | undefined)?.effort]).toEqual(["gpt-5.6-sol", "high"]);
    // The switch made Codex compact the history first, and the phone is told.
    expect(events(turn.seen)).toContainEqual({ kind: "notice", level: "info", text: expect.stringContaining(`before switching from ${MODEL} to gpt-5.6-sol`) });

    // 7b. What the Codex TUI shows beyond commands reaches the phone: a reasoning summary, a web search.
    mock.script({ kind: "reasoning", summary: ["Weighing the options", "Picking the simplest"], text: "simple it is" });
    await send("thread.send", { thread: threadId, text: "choose" });
    turn = await until(phone, turnEnd);
    expect(
      events(turn.seen)
        .filter((e) => e.kind === "reasoning")
        .at(-1),
    ).toMatchObject({ text: "Weighing the options\n\nPicking the simplest" });
    mock.script({ kind: "search", action: { type: "search", query: "airlock relay" }, text: "found" });
    await send("thread.send", { thread: threadId, text: "search" });
    turn = await until(phone, turnEnd);
    expect(events(turn.seen).filter((e) => e.kind === "tool.call")).toEqual([
      expect.objectContaining({ name: "web_search", status: "running", input: "airlock relay" }),
      expect.objectContaining({ name: "web_search", status: "completed", input: "airlock relay" }),
    ]);

    // 8. Commit tier: the phone cannot decide a push; the host's terminal can.
    mock.script({ kind: "exec", cmd: "git push origin main" }, { kind: "text", text: "pushed (or not)" });
    await send("thread.send", { thread: threadId, text: "push it" });
    const push = await nextApproval();
    expect(push.req).toMatchObject({ type: "command", tier: "commit", rule: "git.push", where: "host-only" });
    expect(push.req.evidence.action).toBe("git push origin main");
    expect(await decide(push.req.approvalId, "approve_once")).toMatchObject({ type: "error", body: { code: "NOT_ALLOWED" } });
    expect(await host.waitFor("approval.host-only")).toMatchObject({ approvalId: push.req.approvalId, rule: "git.push" });
    const approved = airlock(home, "--json", "approve", push.req.approvalId);
    expect(approved.code).toBe(0);
    turn = await until(phone, turnEnd);
    expect(body(turn.hit, "turn.status").status).toBe("completed");
    expect(events(turn.seen)).toContainEqual(
      expect.objectContaining({ kind: "approval.resolved", approvalId: push.req.approvalId, decision: "approve_once", by: "host" }),
    );
    // It really ran (and failed: the workspace is no git repository).
    expect(events(turn.seen).find((e) => e.kind === "command.finished")).toMatchObject({ exitCode: expect.any(Number) });
    expect(events(turn.seen).find((e) => e.kind === "command.finished")).not.toMatchObject({ exitCode: 0 });
  });

  it("an app-server crash withdraws the pending approval at once; the thread resumes after airlock up restarts", { timeout: 180_000 }, async () => {
    expect(threadId, "needs the first test's thread").toBeTruthy();

    // 9. Crash with an approval waiting: it resolves "cancel" right away (policy timeout: 600 s).
    mock.script({ kind: "exec", cmd: "echo before-crash" });
    await send("thread.send", { thread: threadId, text: "remember the word pelican, then echo" });
    const pending = await nextApproval();
    const pid = appServerPid(host.child.pid!);
    expect(pid).toBeDefined();
    process.kill(pid!, "SIGKILL");
    const t0 = Date.now();
    const resolved = await until(phone, (m) => isEvent("approval.resolved")(m) && body(m, "approval.resolved").approvalId === pending.req.approvalId, 15_000);
    expect(body(resolved.hit, "approval.resolved")).toMatchObject({ decision: "cancel", by: "host", note: expect.stringMatching(/exited unexpectedly/) });
    expect(Date.now() - t0).toBeLessThan(15_000);
    const failed = await until(phone, turnEnd);
    expect(body(failed.hit, "turn.status")).toMatchObject({ status: "failed", error: expect.stringMatching(/exited unexpectedly/) });
    const pendingAfter = airlock(home, "--json", "approvals");
    expect(JSON.parse(pendingAfter.out)).toMatchObject({ approvals: [], questions: [] });

    // 10. Restart airlock up on the same home; the phone reconnects without a link and
    //     the next message continues the same Codex thread with its history.
    const lastSeq = Math.max(
      0,
      ...received(phone)
        .filter((m) => m.type === "event" && m.thread === threadId)
        .map((m) => m.seq ?? 0),
    );
    phone.close();
    const exited = new Promise<void>((resolve) => host.child.once("exit", () => resolve()));
    host.child.kill("SIGTERM");
    await exited;
    host = startHost(home, relay.url, ["--agent", "codex", "--workspace", workspace], env);
    await host.waitFor("relay.online", 1, 60_000);
    const parsed = parsePairingLink(link);
    phone = await resumingDevice(relay.url, parsed.roomId, parsed.hostPublicKey, signer);
    await phone.handshake();
    expect((await until(phone, (m) => m.type === "host.info")).hit).toMatchObject({ body: { agent: { kind: "codex" } } });
    expect(await send("thread.subscribe", { thread: threadId, afterSeq: lastSeq })).toMatchObject({ type: "result" });

    const before = mock.requests.length;
    mock.script({ kind: "text", text: "the word was pelican" });
    expect(await send("thread.send", { thread: threadId, text: "what was the word?" })).toMatchObject({ type: "result" });
    const turn = await until(phone, turnEnd);
    expect(body(turn.hit, "turn.status").status).toBe("completed");
    expect(events(turn.seen)).toContainEqual(expect.objectContaining({ kind: "message.completed", text: "the word was pelican" }));
    expect(turn.seen.every((m) => m.type !== "event" || (m.seq ?? 0) > lastSeq)).toBe(true);
    expect(mock.requests.length - before).toBe(1);
    const history = JSON.stringify(mock.requests.at(-1)!.input);
    // (The model switch in step 7 compacted the history: earlier user messages stay, earlier replies became a summary.)
    for (const earlier of ["say hello", "pick a colour", "pushed (or not)", "remember the word pelican", "what was the word?"])
      expect(history.includes(earlier), `history has "${earlier}"`).toBe(true);
    phone.close();
  });
});
