#!/usr/bin/env node
// Airlock hook: runs a repository command (the tests, a linter) after the agent
// changes files and reports it to devices as a test result.
//
//   "command": ["node", "/path/to/validate.mjs", "--name", "unit tests", "--timeout", "300", "--", "npm", "test", "--", "--silent"]
//
// Configure it for PostToolUse (runs after each file change; other tool uses
// are skipped) or Stop (runs when a turn completes). The command runs in the
// workspace, without a shell, with the hook's minimal environment; its
// output's last 4 KiB becomes the result's summary. Give the hook's own
// timeoutSeconds a little more than --timeout.
import { spawn } from "node:child_process";

function parse(argv) {
  const opts = { name: "", timeout: 300, command: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      opts.command = argv.slice(i + 1);
      break;
    }
    if (a === "--name") opts.name = argv[++i] ?? "";
    else if (a === "--timeout") opts.timeout = Number(argv[++i]);
    else throw new Error(`unknown option ${a} (usage: validate.mjs [--name NAME] [--timeout SECONDS] -- COMMAND ARGS…)`);
  }
  if (opts.command.length === 0) throw new Error("no command given after --");
  if (!Number.isFinite(opts.timeout) || opts.timeout < 1 || opts.timeout > 3600) throw new Error("--timeout must be 1..3600 seconds");
  opts.name ||= opts.command.join(" ");
  return opts;
}

async function readInput() {
  const chunks = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += chunk.length;
    if (size > 8 * 1024 * 1024) throw new Error("input too large");
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

/** Runs the command; resolves with its exit status and the tail of its output. */
function run(command, timeoutMs) {
  return new Promise((resolve) => {
    let tail = "";
    const keep = (chunk) => (tail = (tail + chunk.toString("utf8")).slice(-4096));
    const child = spawn(command[0], command.slice(1), { stdio: ["ignore", "pipe", "pipe"], shell: false });
    const timer = setTimeout(() => {
      tail += `\n(validate: stopped after ${timeoutMs / 1000} s)`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: null, tail: `cannot run ${command[0]}: ${e.message}` });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, tail });
    });
  });
}

try {
  const opts = parse(process.argv.slice(2));
  const input = await readInput();
  const relevant = (input.event === "PostToolUse" && input.tool?.type === "file_change") || (input.event === "Stop" && input.turn?.status === "completed");
  if (!relevant) {
    process.stdout.write("{}\n");
  } else {
    const { code, tail } = await run(opts.command, opts.timeout * 1000);
    const status = code === 0 ? "passed" : "failed";
    const summary = `${opts.command.join(" ")} exited ${code === null ? "without a code" : `with ${code}`}${tail.trim() ? `\n${tail.trim()}` : ""}`.slice(
      -8192,
    );
    process.stdout.write(JSON.stringify({ testResult: { name: opts.name.slice(0, 512), status, summary } }) + "\n");
  }
} catch (e) {
  process.stderr.write(`validate: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
}
