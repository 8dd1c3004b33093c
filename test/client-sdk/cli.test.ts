// `airlock-client` end to end, as a person runs it: pair with the link on
// stdin (never in argv) against `airlock up --pair --yes`, list hosts and
// threads, start a thread, send a follow-up, watch events, approve; --json
// output everywhere; keys in 0600 files; the link's secret is never printed.
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { startRelay, type RelayServer } from "../relay/harness.ts";
import { CLIENT_BIN, startHost, tempDir, type HostProcess } from "./support.ts";

let relay: RelayServer | undefined;
let host: HostProcess | undefined;
afterAll(async () => {
  await host?.stop();
  await relay?.dispose();
});

function cli(home: string, args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLIENT_BIN, "--home", home, ...args]);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  child.stdin.end(stdin ?? "");
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
}

const lines = (text: string) =>
  text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

it("pairs via stdin, lists hosts and threads, starts, sends, watches and approves", async () => {
  relay = await startRelay();
  host = startHost(relay.url, ["--pair", "--yes"]);
  const { link } = (await host.waitFor("pairing")) as { link: string };
  const secret = link.match(/secret=([^&]+)/)![1]!;
  const home = join(tempDir("airlock-client-cli-"), "state");

  const paired = await cli(home, ["--json", "pair", "--name", "CLI test"], `${link}\n`);
  expect(paired.code, paired.stderr).toBe(0);
  const [sas, done] = lines(paired.stdout);
  expect(sas).toMatchObject({ type: "sas", sas: expect.stringMatching(/^\d{3} \d{3}$/) });
  expect(done).toMatchObject({ type: "paired", host: { relayUrl: relay.url } });
  expect(paired.stdout + paired.stderr).not.toContain(secret);
  for (const f of readdirSync(home)) expect(statSync(join(home, f)).mode & 0o777, f).toBe(0o600);

  // The same link again: used.
  const reused = await cli(join(tempDir("airlock-client-cli-"), "state"), ["--json", "pair"], `${link}\n`);
  expect(reused.code).toBe(5);
  expect(lines(reused.stdout)[0]).toMatchObject({ type: "error", code: "LINK_USED" });

  const hosts = JSON.parse((await cli(home, ["--json", "hosts"])).stdout) as Array<{ id: string }>;
  expect(hosts).toHaveLength(1);

  const started = await cli(home, ["--json", "start", "Note from the CLI"]);
  expect(started.code, started.stderr).toBe(0);
  const { thread } = JSON.parse(started.stdout) as { thread: string };

  const threads = JSON.parse((await cli(home, ["--json", "threads", "--host", hosts[0]!.id.slice(0, 6)])).stdout) as Array<{ id: string; title: string }>;
  expect(threads.map((t) => t.title)).toContain("Note from the CLI");

  // Watch until the first approval request shows up, then approve it from another invocation.
  let approval: { seq: number; approvalId: string } | undefined;
  for (let i = 0; i < 40 && !approval; i++) {
    const watched = lines((await cli(home, ["--json", "watch", thread, "--once"])).stdout) as Array<{
      seq: number;
      event: { kind: string; approvalId?: string };
    }>;
    const req = watched.find((e) => e.event.kind === "approval.request");
    if (req) approval = { seq: req.seq, approvalId: req.event.approvalId! };
    else await new Promise((r) => setTimeout(r, 250));
  }
  expect(approval).toBeDefined();
  const approved = await cli(home, ["--json", "approve", thread, approval!.approvalId]);
  expect(approved.code, approved.stdout + approved.stderr).toBe(0);
  expect(JSON.parse(approved.stdout)).toEqual({ ok: true });
  const again = await cli(home, ["approve", thread, approval!.approvalId]);
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/NOT_PENDING/);

  const sent = await cli(home, ["send", thread, "and a follow-up"]);
  expect(sent.code, sent.stderr).toBe(0);
  expect(sent.stdout.trim()).toBe("Sent.");

  const human = await cli(home, ["watch", thread, "--once"]);
  expect(human.stdout).toMatch(/#1 turn\.status: started/);
  expect(human.stdout).toContain(`approval.resolved: ${approval!.approvalId}: approve_once`);
  // Deltas joined into one line, hints with the real ids (no placeholders).
  expect(human.stdout).toMatch(/message(\.completed)?: Demo agent \(offline, a fixed script, not a model\)\. I will list the workspace/);
  expect(human.stdout).not.toContain("message.delta");
  expect(human.stdout).not.toMatch(/\bTHREAD\b/);
  // … and the state folder this CLI ran with, so the hint works when pasted (not the default home).
  expect(human.stdout).toContain(`airlock-client --home ${home} approve ${thread} `);

  // A reader that goes away (`watch … | head`) ends the watch quietly: no EPIPE crash.
  const piped = spawn(process.execPath, [CLIENT_BIN, "--home", home, "watch", thread, "--once"]);
  piped.stdout.destroy();
  let pipedErr = "";
  piped.stderr.on("data", (d) => (pipedErr += d));
  const pipedCode = await new Promise((resolve) => piped.on("exit", (code) => resolve(code)));
  expect(pipedErr).not.toMatch(/EPIPE|Unhandled|at /);
  expect(pipedCode).toBe(0);

  const usage = await cli(home, ["frobnicate"]);
  expect(usage.code).toBe(2);
  expect((await cli(home, ["--help"])).stdout).toContain("airlock-client");
}, 120_000);
