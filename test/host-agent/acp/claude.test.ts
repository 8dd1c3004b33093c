// The real Claude Code through its ACP adapter (@agentclientprotocol/claude-agent-acp,
// installed with `npm run install:claude`), fully offline: a mock of the
// Anthropic Messages API the test owns answers every model request.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ThreadEvent } from "../../../protocol/src/index.ts";
import { AcpAgent } from "../../../host-agent/src/agents/acp/acp-agent.ts";
import { CLAUDE_INSTALL, resolveClaudeAcp } from "../../../host-agent/src/agents/index.ts";
import { RecordingHost } from "./helpers.ts";
import { lastToolResult, MockAnthropic } from "./mock-anthropic.ts";

const found = resolveClaudeAcp();
// CI installs it (.ci/run); elsewhere the suite says how to get it instead of failing on a missing optional install.
const run = found || process.env.CI ? describe : describe.skip;

/** Files Claude Code leaves in /tmp whatever HOME is: removed after the suite if it created them. */
const TMP_LEFTOVERS = ["/tmp/claude-0", "/tmp/cc-socks"];
const preexisting = new Set(TMP_LEFTOVERS.filter((p) => existsSync(p)));

let mock: MockAnthropic;
let root: string;
let workspace: string;
let host: RecordingHost;
let agent: AcpAgent;

const of = <K extends ThreadEvent["kind"]>(events: ThreadEvent[], kind: K) => events.filter((e): e is Extract<ThreadEvent, { kind: K }> => e.kind === kind);

beforeAll(() => {
  if (!found && process.env.CI) throw new Error(`claude-agent-acp is not installed: ${CLAUDE_INSTALL}`);
});

afterAll(() => {
  for (const p of TMP_LEFTOVERS) if (!preexisting.has(p)) rmSync(p, { recursive: true, force: true });
});

beforeEach(async () => {
  mock = new MockAnthropic();
  await mock.start();
  root = mkdtempSync(join(tmpdir(), "airlock-claude-"));
  workspace = join(root, "ws");
  const home = join(root, "home");
  mkdirSync(workspace);
  mkdirSync(join(home, ".claude"), { recursive: true });
  host = new RecordingHost();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    CLAUDE_CONFIG_DIR: join(home, ".claude"),
    ANTHROPIC_BASE_URL: mock.baseUrl,
    ANTHROPIC_API_KEY: "test-key-not-a-secret",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_AUTOUPDATER: "1",
  };
  agent = new AcpAgent({
    command: found!.command,
    args: found!.args,
    kind: "claude",
    label: "Claude Code",
    env,
    restartDelayMs: 200,
    interruptTimeoutMs: 10_000,
  });
  await agent.start({ host, dataDir: join(root, "data") });
});

afterEach(async () => {
  await agent?.close();
  await mock?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

run("Claude Code through ACP (offline, mock Messages API)", () => {
  it("a reply", { timeout: 60_000 }, async () => {
    mock.script({ kind: "text", text: "Hello from the mock model." });
    await agent.startThread("t1", "say hello", { cwd: workspace });
    const end = await host.waitTurnEnd("t1", 1, 45_000);
    if (process.env.ACP_TEST_LOG)
      console.error(JSON.stringify({ events: host.of("t1"), logs: host.logs, requests: mock.requests.map((r) => ({ path: r.path, main: r.main })) }, null, 1));
    expect(end.status).toBe("completed");
    expect(of(host.of("t1"), "message.completed").map((m) => m.text)).toContain("Hello from the mock model.");
    expect(agent.info.kind).toBe("claude");
    expect(host.invalid).toEqual([]);
  });

  it("a command approved: Bash asks (the session is in 'default', not 'auto'), runs, output reaches the host", { timeout: 60_000 }, async () => {
    // A command that writes: Claude Code itself lets read-only ones (echo, ls, sleep, …) run without asking.
    const command = "mkdir -p out && echo airlock-was-here > out/marker.txt && cat out/marker.txt";
    mock.script({ kind: "tool", name: "Bash", input: { command, description: "Write a marker" } }, { kind: "text", text: "Printed it." });
    await agent.startThread("t1", "print a marker", { cwd: workspace });
    const end = await host.waitTurnEnd("t1", 1, 45_000);
    if (process.env.ACP_TEST_LOG) console.error(JSON.stringify({ events: host.of("t1"), approvals: host.approvals, logs: host.logs }, null, 1));
    expect(end.status).toBe("completed");
    expect(host.approvals).toHaveLength(1);
    expect(host.approvals[0]!.ask).toMatchObject({ type: "command", command, reason: "Write a marker", cwd: workspace });
    const events = host.of("t1");
    expect(of(events, "command.started")[0]).toMatchObject({ command });
    expect(
      of(events, "command.output")
        .map((o) => o.chunk)
        .join(""),
    ).toBe("airlock-was-here\n");
    expect(readFileSync(join(workspace, "out/marker.txt"), "utf8")).toBe("airlock-was-here\n");
    expect(of(events, "command.finished")[0]).toMatchObject({ exitCode: 0 });
    expect(lastToolResult(mock.mainRequests[1])).toContain("airlock-was-here");
    expect(host.invalid).toEqual([]);
  });

  it("a command denied: it does not run and the model is told", { timeout: 60_000 }, async () => {
    host.decide = () => ({ decision: "deny", by: "phone" });
    const marker = join(workspace, "must-not-exist");
    mock.script({ kind: "tool", name: "Bash", input: { command: `touch ${marker}`, description: "Create a file" } }, { kind: "text", text: "Understood." });
    await agent.startThread("t1", "make a file", { cwd: workspace });
    expect((await host.waitTurnEnd("t1", 1, 45_000)).status).toBe("completed");
    expect(host.approvals).toHaveLength(1);
    expect(existsSync(marker)).toBe(false);
    expect(lastToolResult(mock.mainRequests[1])).toMatch(/denied|reject|permission/i);
    expect(of(host.of("t1"), "command.finished")[0]).toMatchObject({ exitCode: null });
  });

  it("a file edit: asked with its unified diff, applied, file.change carries the diff", { timeout: 60_000 }, async () => {
    const file = join(workspace, "notes.txt");
    writeFileSync(file, "alpha\nbeta\ngamma\n");
    mock.script(
      { kind: "tool", name: "Read", input: { file_path: file } },
      { kind: "tool", name: "Edit", input: { file_path: file, old_string: "beta", new_string: "BETA" } },
      { kind: "text", text: "Edited." },
    );
    await agent.startThread("t1", "uppercase beta", { cwd: workspace });
    const end = await host.waitTurnEnd("t1", 1, 45_000);
    if (process.env.ACP_TEST_LOG) console.error(JSON.stringify({ events: host.of("t1"), approvals: host.approvals, logs: host.logs }, null, 1));
    expect(end.status).toBe("completed");
    expect(readFileSync(file, "utf8")).toBe("alpha\nBETA\ngamma\n");
    const ask = host.approvals.find((a) => a.ask.type === "file_change")?.ask;
    expect(ask?.files?.[0]).toMatchObject({ path: file, change: "modify" });
    expect(ask?.files?.[0]?.diff).toMatch(/-beta\n(\\ No newline at end of file\n)?\+BETA/);
    const change = of(host.of("t1"), "file.change")[0];
    expect(change).toMatchObject({ path: file, change: "modify" });
    expect(change?.diff).toContain("--- a/notes.txt\n+++ b/notes.txt");
    expect(change?.diff).toContain(" alpha\n-beta\n+BETA\n gamma");
  });

  it("interrupt while a permission is open: answered cancelled, the turn ends interrupted quickly", { timeout: 60_000 }, async () => {
    host.decide = () => new Promise(() => undefined);
    mock.script({ kind: "tool", name: "Bash", input: { command: "touch started && sleep 30", description: "Wait" } });
    await agent.startThread("t1", "wait a bit", { cwd: workspace });
    await host.waitFor("the approval", () => host.approvals.length === 1, 45_000);
    const t0 = Date.now();
    await agent.interrupt("t1");
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(host.turnEnds("t1")).toEqual([expect.objectContaining({ status: "interrupted" })]);
    expect(of(host.of("t1"), "command.finished")).toEqual([expect.objectContaining({ exitCode: null })]);
  });

  it("interrupt while the model streams: the turn ends interrupted", { timeout: 60_000 }, async () => {
    mock.script({ kind: "hang" });
    await agent.startThread("t1", "think long", { cwd: workspace });
    await host.waitFor("the model request", () => mock.mainRequests.length === 1, 45_000);
    await agent.interrupt("t1");
    expect(host.turnEnds("t1")).toEqual([expect.objectContaining({ status: "interrupted" })]);
  });
});
