// Automation tokens end to end: a real `airlock up` (demo agent) behind the
// real relay on workerd, `airlock tokens` run as the operator would, and
// `airlock-client exec` as a separate process that gets the token only in its
// environment. Covers: create (shown once, not stored), exec → completed,
// scope refusals (another workspace, deciding an approval, answering a
// question, reading another thread), the approval going to a paired phone
// that sees who started the thread, revocation mid-run, rotation, expiry as
// the host sees it (the test moves the token's expiry into the past in the
// host's token list; the relay's own clock is covered by relay-expiry.test.ts),
// audit attribution, stats per token and the expiry warning in status.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { beforeAll, describe, expect, it } from "vitest";
import { nobleBackend, parsePairingLink, type AppProtocolMessage } from "../../../protocol/src/index.ts";
import { parseAutomationToken } from "../../../protocol/src/automation-token.ts";
import { startRelay, type RelayServer } from "../../relay/harness.ts";
import { BIN, cleanup, command, reply, startHost, until } from "../app-client.ts";
import { pairingDevice, resumingDevice, type TestDevice } from "../device.ts";

const CLIENT_BIN = new URL("../../../client-sdk/bin/airlock-client.js", import.meta.url).pathname;
const allowAll = { version: 1, defaults: { steer: "allow", continue: "allow", expand: "allow", commit: "allow" } };
// Reading is fine; writing the note needs a person's yes.
const askToWrite = { version: 1, defaults: { steer: "allow", continue: "ask", expand: "ask", commit: "host-only" }, rules: [] };

interface Exec {
  lines: Array<Record<string, unknown>>;
  /** stdout lines that are not JSON (the human-readable output). */
  text: string[];
  exited: Promise<number | null>;
  args: string[];
  stderr: () => string;
}

/** `airlock-client exec` with the token in its environment only (plus PATH to find tools). */
function exec(token: string, args: string[], extraEnv: Record<string, string> = {}, json = true): Exec {
  const full = [CLIENT_BIN, "exec", ...(json ? ["--json"] : []), ...args];
  const child = spawn(process.execPath, full, { env: { PATH: process.env.PATH ?? "", AIRLOCK_TOKEN: token, ...extraEnv } });
  child.stdin.end();
  const lines: Array<Record<string, unknown>> = [];
  const text: string[] = [];
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  createInterface({ input: child.stdout }).on("line", (l) => {
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      text.push(l);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  cleanup.push(() => {
    child.kill("SIGKILL");
  });
  return { lines, text, exited, args: full, stderr: () => stderr };
}

/** One-shot `airlock … --json`; returns the parsed stdout (or the exit code and text when it fails). */
function airlock(home: string, args: string[]): { code: number | null; json: unknown; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, "--home", home, "--json", ...args], { encoding: "utf8" });
  let json: unknown = null;
  try {
    json = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "null");
  } catch {
    json = null;
  }
  return { code: r.status, json, stdout: r.stdout, stderr: r.stderr };
}

const result = (e: Exec) => e.lines.find((l) => l.type === "result" || l.type === "error");

type Summary = Extract<AppProtocolMessage, { type: "thread.list" }>["body"]["threads"][number];

/** The host's threads as a device sees them (threads.list). */
async function threadsOf(device: TestDevice): Promise<Summary[]> {
  const id = await command(device, "threads.list", {});
  const answer = await reply(device, id);
  if (answer.type !== "thread.list") throw new Error(`threads.list answered ${JSON.stringify(answer)}`);
  return answer.body.threads;
}

/** Asks again until a thread matches (a token's job starts in another process). */
async function waitForThread(device: TestDevice, match: (t: Summary) => boolean, timeoutMs = 60_000): Promise<Summary> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = (await threadsOf(device)).find(match);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error("no matching thread on the host");
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The phone decides every request of a thread until the job ends (the demo agent asks several
 * times per turn); returns the requests it saw.
 */
async function decideAll(phone: TestDevice, thread: string, decision: "approve_once" | "deny", job: Exec) {
  await command(phone, "thread.subscribe", { thread, afterSeq: 0 });
  const seen: Array<Extract<AppProtocolMessage, { type: "event" }>["body"]> = [];
  let ended = false;
  void job.exited.then(() => (ended = true));
  while (!ended) {
    // Short waits, one reader at a time: a read left pending would swallow the next test step's replies.
    const next = await until(phone, (m) => m.type === "event" && m.thread === thread && m.body.kind === "approval.request", 1000).catch(() => null);
    if (next === null || next.hit.type !== "event" || next.hit.body.kind !== "approval.request") continue;
    seen.push(next.hit.body);
    await command(phone, "approval.decide", { thread, approvalId: next.hit.body.approvalId, decision });
  }
  return seen;
}

describe("automation tokens through the relay", () => {
  let relay: RelayServer;
  let home: string;
  let workspace: string;
  let docs: string;
  let other: string;
  let phone: TestDevice;
  let host: ReturnType<typeof startHost>;
  const temp: string[] = [];

  beforeAll(async () => {
    relay = await startRelay();
    cleanup.push(() => relay.dispose());
    home = mkdtempSync(join(tmpdir(), "airlock-tokens-home-"));
    workspace = realpathSync(mkdtempSync(join(tmpdir(), "airlock-tokens-ws-")));
    temp.push(home, workspace);
    docs = join(workspace, "docs");
    other = join(workspace, "other");
    mkdirSync(docs);
    mkdirSync(other);
    writeFileSync(join(home, "policy.json"), JSON.stringify(allowAll));
    host = startHost(home, relay.url, ["--agent", "demo", "--workspace", workspace]);
    // Runs before the shared cleanup's kill: stop the host, wait until it has exited, then remove its folders.
    cleanup.push(async () => {
      if (host.child.exitCode === null && host.child.signalCode === null) {
        const exited = new Promise((resolve) => host.child.once("exit", resolve));
        host.child.kill("SIGTERM");
        await exited;
      }
      for (const dir of temp) rmSync(dir, { recursive: true, force: true });
    });
    const { link } = (await host.waitFor("pairing")) as { link: string };
    phone = await pairingDevice(link, await nobleBackend.generateSigner(), "Alice's phone");
    await phone.handshake();
    await until(phone, (m) => m.type === "host.info");
  }, 60_000);

  it("create → exec completes from another process; the token is shown once and never stored; scope refusals; audit", async () => {
    const created = airlock(home, [
      "tokens",
      "create",
      "--name",
      "nightly-docs",
      "--owner",
      "alice",
      "--scope",
      "run",
      "--workspace",
      docs,
      "--expires",
      "30d",
    ]);
    expect(created.code, created.stderr).toBe(0);
    const info = created.json as { type: string; id: string; token: string; expiresAt: string; hostRunning: boolean; relayUpdated: boolean };
    expect(info).toMatchObject({
      type: "token.created",
      name: "nightly-docs",
      owner: "alice",
      scopes: ["run"],
      workspaces: [docs],
      hostRunning: true,
      relayUpdated: true,
    });
    const token = info.token;
    const parsed = parseAutomationToken(token);
    expect(parsed.name).toBe("nightly-docs");
    expect(Math.abs(parsed.expiresAt - (Date.now() + 30 * 86_400_000))).toBeLessThan(600_000);
    // Never stored on the host: not the token, not its seed.
    const stored = readFileSync(join(home, "tokens.json"), "utf8");
    expect(stored).not.toContain(token.slice(12, 60));
    expect(stored).not.toContain(Buffer.from(parsed.seed).toString("base64url"));
    // The list never shows it again.
    const listed = airlock(home, ["tokens", "list"]);
    expect(listed.stdout).not.toContain("airlock_tok_");
    expect(listed.json).toEqual([expect.objectContaining({ id: info.id, name: "nightly-docs", owner: "alice", state: "active", lastUsed: null })]);
    // Bad arguments: no expiry, too long an expiry, an unknown scope.
    expect(airlock(home, ["tokens", "create", "--name", "x", "--owner", "a", "--scope", "run", "--workspace", docs]).code).toBe(2);
    expect(airlock(home, ["tokens", "create", "--name", "x", "--owner", "a", "--scope", "run", "--workspace", docs, "--expires", "365d"]).stderr).toContain(
      "no token lives longer than 90 days",
    );
    expect(airlock(home, ["tokens", "create", "--name", "x", "--owner", "a", "--scope", "admin", "--workspace", docs, "--expires", "7d"]).code).toBe(2);

    // The phone hears about the token's thread and sees who started it.
    const job = exec(token, ["Update the docs index"]);
    expect(job.args.join(" ")).not.toContain("airlock_tok_");
    expect(await job.exited, job.stderr()).toBe(0);
    const thread = (job.lines.find((l) => l.type === "thread") as { thread: string }).thread;
    expect(result(job)).toMatchObject({ type: "result", outcome: "completed", thread, exitCode: 0 });
    expect(job.lines.some((l) => l.type === "event" && (l.event as { kind: string }).kind === "message.completed")).toBe(true);
    expect((await waitForThread(phone, (t) => t.id === thread)).startedBy).toBe("nightly-docs (owner alice)");
    expect((airlock(home, ["tokens", "list"]).json as Array<{ lastUsed: string | null }>)[0]!.lastUsed).not.toBeNull();

    // Another workspace than the token's: denied (9) with TOKEN_SCOPE, nothing started.
    const outside = exec(token, ["--cwd", other, "Tidy up"]);
    expect(await outside.exited).toBe(9);
    expect(result(outside)).toMatchObject({ outcome: "denied", code: "TOKEN_SCOPE" });
    // No token: a clear usage error. A token in argv: refused without echoing it.
    const none = spawnSync(process.execPath, [CLIENT_BIN, "exec", "hi"], { encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain("set AIRLOCK_TOKEN");
    const leaked = spawnSync(process.execPath, [CLIENT_BIN, "exec", `--token=${token}`, "hi"], { encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
    expect(leaked.status).toBe(2);
    expect(leaked.stderr + leaked.stdout).not.toContain(token.slice(12));
    // From a file works too; for people, the events as lines and the outcome on stderr.
    const file = join(home, "token.txt");
    writeFileSync(file, token + "\n", { mode: 0o600 });
    const fromFile = exec("", ["--token-file", file, "Check the docs links"], {}, false);
    expect(await fromFile.exited, fromFile.stderr()).toBe(0);
    expect(fromFile.stderr()).toMatch(/^Started thread t_\S+\n[\s\S]*Completed\n$/);
    expect(
      fromFile.text.some((l) => /^#\d+ message(\.completed)?: Demo agent/.test(l)),
      fromFile.text.join("\n"),
    ).toBe(true);
    expect(fromFile.text.join("\n") + fromFile.stderr()).not.toContain("airlock_tok_");
    const fileThread = /Started thread (t_\S+)/.exec(fromFile.stderr())![1]!;
    rmSync(file);

    // As a raw device with the token's key: what the host refuses.
    const { roomId, hostPublicKey } = parsePairingLink((host.lines.find((l) => l.type === "pairing") as { link: string }).link);
    const bot = await resumingDevice(relay.url, roomId, hostPublicKey, await nobleBackend.signerFromSeed(parsed.seed));
    await bot.handshake();
    await until(bot, (m) => m.type === "host.info");
    // The phone's own thread, which the token must not read.
    const phoneStart = await command(phone, "thread.start", { prompt: "Phone's private work" });
    const phoneThread = ((await reply(phone, phoneStart)) as Extract<AppProtocolMessage, { type: "result" }>).body.data!.thread as string;
    const refusals: Array<[string, Record<string, unknown>]> = [
      ["approval.decide", { thread, approvalId: "a1", decision: "approve_once" }],
      ["question.answer", { thread, questionId: "q1", answer: "yes" }],
      ["thread.subscribe", { thread: phoneThread, afterSeq: 0 }],
      ["thread.send", { thread: phoneThread, text: "and more" }],
      ["turn.interrupt", { thread: phoneThread }],
      ["push.test", {}],
    ];
    for (const [type, body] of refusals) {
      const id = await command(bot, type, body);
      expect(await reply(bot, id), type).toMatchObject({ type: "error", body: { code: "TOKEN_SCOPE" } });
    }
    // Its own thread it may read and follow up on; the list holds only its own threads.
    const listId = await command(bot, "threads.list", {});
    const list = (await reply(bot, listId)) as Extract<AppProtocolMessage, { type: "thread.list" }>;
    expect(list.body.threads.map((t) => t.id).sort()).toEqual([thread, fileThread].sort());
    const sub = await command(bot, "thread.subscribe", { thread, afterSeq: 0 });
    expect(await reply(bot, sub)).toMatchObject({ type: "result" });
    bot.close();

    // Audit: the prompts are the token's (id and name) with its owner; refusals and creation are recorded.
    const audit = airlock(home, ["audit", "tail", "-n", "500"]);
    const records = audit.stdout
      .trim()
      .split("\n")
      .flatMap((l) => {
        try {
          const v = JSON.parse(l) as unknown;
          return Array.isArray(v) ? v : [v];
        } catch {
          return [];
        }
      }) as Array<{ type: string; actor: { kind: string; id?: string; name?: string }; data: Record<string, unknown> }>;
    const prompt = records.find((r) => r.type === "prompt" && r.data.thread === undefined && r.actor.id === info.id);
    expect(prompt).toMatchObject({
      actor: { kind: "device", id: info.id, name: "nightly-docs" },
      data: { command: "thread.start", token: { id: info.id, name: "nightly-docs", owner: "alice" } },
    });
    expect(records.some((r) => r.type === "token.created" && r.data.tokenId === info.id && r.data.owner === "alice")).toBe(true);
    expect(records.some((r) => r.type === "token.refused" && r.data.command === "approval.decide" && r.actor.id === info.id)).toBe(true);
    // Stats: usage per token.
    const stats = airlock(home, ["stats"]).json as { tokens?: Array<{ id: string; name: string; owner: string; threadsStarted: number; refused: number }> };
    expect(stats.tokens).toEqual([expect.objectContaining({ id: info.id, name: "nightly-docs", owner: "alice", threadsStarted: 2, prompts: 2, refused: 7 })]);
  }, 180_000);

  it("approvals go to the phone, which sees who started the thread; revocation mid-run ends the job; rotation; expiry", async () => {
    writeFileSync(join(home, "policy.json"), JSON.stringify(askToWrite));
    const created = airlock(home, [
      "tokens",
      "create",
      "--name",
      "release-notes",
      "--owner",
      "bob",
      "--scope",
      "run",
      "--workspace",
      workspace,
      "--expires",
      "7d",
    ]);
    expect(created.code, created.stderr).toBe(0);
    const { token, id } = created.json as { token: string; id: string };
    // A token that expires within a week: airlock status warns.
    const status = airlock(home, ["status"]).json as { expiringTokens: Array<{ id: string; name: string; owner: string }> };
    expect(status.expiringTokens).toEqual([expect.objectContaining({ id, name: "release-notes", owner: "bob" })]);

    // The agent asks to write its note: the phone gets the request, with who started the thread, and approves.
    const job = exec(token, ["Draft the release notes"]);
    const thread = (await waitForThread(phone, (t) => t.startedBy === "release-notes (owner bob)")).id;
    const asked = await decideAll(phone, thread, "approve_once", job);
    expect(asked.length).toBeGreaterThan(0);
    for (const a of asked) expect(a).toMatchObject({ where: "any-device", startedBy: "release-notes (owner bob)" });
    expect(await job.exited, job.stderr()).toBe(0);
    expect(result(job)).toMatchObject({ outcome: "completed" });
    // The decision is the phone's in the audit log, not the token's.
    const records = airlock(home, ["audit", "tail", "-n", "500"]).stdout;
    expect(records).toContain("Alice's phone");

    // A person denies: exec says denied (9).
    const denied = exec(token, ["Draft more notes"]);
    const thread2 = (await waitForThread(phone, (t) => t.startedBy === "release-notes (owner bob)" && t.id !== thread)).id;
    expect((await decideAll(phone, thread2, "deny", denied)).length).toBeGreaterThan(0);
    expect(await denied.exited, denied.stderr()).toBe(9);
    expect(result(denied)).toMatchObject({ outcome: "denied" });

    // Revocation mid-run: the job waits on a request; the operator revokes the token; exec ends with 6 at once.
    const running = exec(token, ["Draft the changelog"]);
    await waitForThread(phone, (t) => t.startedBy === "release-notes (owner bob)" && t.id !== thread && t.id !== thread2 && t.status === "waiting");
    const revoked = airlock(home, ["tokens", "revoke", "release-notes"]);
    expect(revoked.json).toMatchObject({ type: "token.revoked", id, state: "revoked", hostRunning: true, relayUpdated: true });
    expect(await running.exited, running.stderr()).toBe(6);
    expect(result(running)).toMatchObject({ type: "error", code: "TOKEN_REVOKED" });
    // And it cannot come back: the relay refuses it.
    const again = exec(token, ["One more"]);
    expect(await again.exited).toBe(6);

    // Rotation: a new secret for the same token; the old one stops working at once.
    writeFileSync(join(home, "policy.json"), JSON.stringify(allowAll));
    const first = airlock(home, ["tokens", "create", "--name", "weekly-deps", "--owner", "carol", "--scope", "run", "--workspace", docs, "--expires", "60d"])
      .json as { token: string; id: string };
    const rotated = airlock(home, ["tokens", "rotate", "weekly-deps"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const second = rotated.json as { token: string; id: string; expiresAt: string };
    expect(second.id).toBe(first.id);
    expect(second.token).not.toBe(first.token);
    expect(await exec(first.token, ["Check deps"]).exited).toBe(6);
    const fresh = exec(second.token, ["Check deps"]);
    expect(await fresh.exited, fresh.stderr()).toBe(0);

    // Expiry as the host sees it: the test moves the token's expiry into the past in the host's list.
    // A connected session of the token is refused from then on with TOKEN_EXPIRED.
    const { roomId, hostPublicKey } = parsePairingLink((host.lines.find((l) => l.type === "pairing") as { link: string }).link);
    const bot = await resumingDevice(relay.url, roomId, hostPublicKey, await nobleBackend.signerFromSeed(parseAutomationToken(second.token).seed));
    await bot.handshake();
    await until(bot, (m) => m.type === "host.info");
    const file = join(home, "tokens.json");
    const list = JSON.parse(readFileSync(file, "utf8")) as { tokens: Array<{ id: string; expiresAt: string }> };
    list.tokens.find((t) => t.id === second.id)!.expiresAt = new Date(Date.now() - 1000).toISOString();
    writeFileSync(file, JSON.stringify(list));
    const late = await command(bot, "threads.list", {});
    expect(await reply(bot, late)).toMatchObject({ type: "error", body: { code: "TOKEN_EXPIRED" } });
    bot.close();
    const listed = airlock(home, ["tokens", "list"]).json as Array<{ id: string; state: string }>;
    expect(listed.find((t) => t.id === second.id)?.state).toBe("expired");
    expect(listed.find((t) => t.id === id)?.state).toBe("revoked");
  }, 240_000);

  it("exec's other outcomes: timed out (the turn is interrupted on the host), interrupted by a person", async () => {
    writeFileSync(join(home, "policy.json"), JSON.stringify(askToWrite));
    const created = airlock(home, ["tokens", "create", "--name", "slow-job", "--owner", "dave", "--scope", "run", "--workspace", docs, "--expires", "30d"]);
    expect(created.code, created.stderr).toBe(0);
    const { token } = created.json as { token: string };
    // Nobody answers the agent's request: --timeout ends the job with 10 and stops the turn.
    const slow = exec(token, ["--timeout", "3", "Wait for me"]);
    expect(await slow.exited, slow.stderr()).toBe(10);
    expect(result(slow)).toMatchObject({ outcome: "timed_out" });
    const timedOut = (slow.lines.find((l) => l.type === "thread") as { thread: string }).thread;
    const stopped = await waitForThread(phone, (t) => t.id === timedOut && t.status !== "running" && t.status !== "waiting");
    expect(stopped.pending).toBe(0);
    // The agent asks a question: the phone sees who started the thread. Then the person stops the turn: exec ends with 8.
    const job = exec(token, ["Wait again, with a question first"]);
    const thread = (await waitForThread(phone, (t) => t.startedBy === "slow-job (owner dave)" && t.id !== timedOut && t.status === "waiting")).id;
    await command(phone, "thread.subscribe", { thread, afterSeq: 0 });
    const asked = await until(phone, (m) => m.type === "event" && m.thread === thread && m.body.kind === "question");
    expect(asked.hit.type === "event" && asked.hit.body.kind === "question" && asked.hit.body.startedBy).toBe("slow-job (owner dave)");
    const stop = await command(phone, "turn.interrupt", { thread });
    expect(await reply(phone, stop)).toMatchObject({ type: "result" });
    expect(await job.exited, job.stderr()).toBe(8);
    expect(result(job)).toMatchObject({ outcome: "interrupted", thread });
    writeFileSync(join(home, "policy.json"), JSON.stringify(allowAll));
  }, 120_000);
});
