// `airlock-client exec`: one job with an automation token, for CI and scripts.
// The token comes from $AIRLOCK_TOKEN or --token-file, never from argv (other
// users of the machine can read process arguments); it is never printed.
import { readFile, stat } from "node:fs/promises";
import type { Effort } from "@airlock/protocol";
import { AirlockClientError, toClientError } from "../errors.ts";
import { WatchView } from "./watch-view.ts";
import { EXEC_EXIT, execExitCode, runJob, type JobResult } from "./exec.ts";
import { NodeWebSocket } from "./index.ts";

export const EXEC_HELP = `Usage: airlock-client exec [PROMPT] [--token-file FILE] [--cwd DIR] [--model M] [--effort E]
                          [--timeout SECONDS] [--json]

Runs one job on a host with an automation token (made there with airlock tokens
create): starts a thread with PROMPT (or stdin when PROMPT is absent or "-"),
prints its events, waits for the turn to end, and exits with its outcome.
Approvals the agent asks for go to the people paired with the host, never to
the token; exec waits for them.

The token: $AIRLOCK_TOKEN, or --token-file FILE (first line). Never pass it as
an argument: other users of the machine can read process arguments.

  --cwd DIR         a folder inside the token's workspaces (default: its first)
  --timeout S       give up after S seconds: the turn is interrupted (default 3600)
  --json            one JSON object per line: {"type":"thread"}, {"type":"event"}, {"type":"result"}

Exit codes: 0 completed, 1 failed, 2 usage or an unreadable token, 4 relay or
host unreachable, 6 token expired, revoked or rotated, 8 interrupted,
9 denied (out of the token's scope, refused by a hook, or a person denied a
request of the agent), 10 timed out.`;

const MAX_PROMPT_BYTES = 64 * 1024;
const MAX_TOKEN_FILE_BYTES = 8192;

interface ExecIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

class ExecUsage extends Error {}

async function tokenText(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<string> {
  const file = flags["token-file"];
  if (typeof file === "string") {
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch {
      throw new ExecUsage(`--token-file ${file}: cannot read it`);
    }
    if (size > MAX_TOKEN_FILE_BYTES) throw new ExecUsage(`--token-file ${file}: larger than a token (${MAX_TOKEN_FILE_BYTES} bytes)`);
    const text = (await readFile(file, "utf8"))
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l.length > 0);
    if (!text) throw new ExecUsage(`--token-file ${file} is empty`);
    return text;
  }
  const fromEnv = env.AIRLOCK_TOKEN;
  if (fromEnv && fromEnv.trim()) return fromEnv;
  throw new ExecUsage("no token: set AIRLOCK_TOKEN (e.g. from your CI's secret store) or pass --token-file FILE");
}

async function promptText(args: string[], stdin: NodeJS.ReadableStream): Promise<string> {
  if (args.length > 1) throw new ExecUsage("exec takes one PROMPT argument (quote it), or the prompt on stdin");
  if (args.length === 1 && args[0] !== "-") return args[0]!;
  let text = "";
  for await (const chunk of stdin) {
    text += chunk.toString();
    if (Buffer.byteLength(text) > MAX_PROMPT_BYTES) throw new ExecUsage(`the prompt on stdin is larger than ${MAX_PROMPT_BYTES / 1024} KiB`);
  }
  if (!text.trim()) throw new ExecUsage("no prompt: give it as an argument or on stdin");
  return text.trim();
}

export async function execCommand(args: string[], flags: Record<string, unknown>, io: ExecIo): Promise<number> {
  const json = flags.json === true;
  const out = (line: string) => io.stdout.write(line + "\n");
  const fail = (error: AirlockClientError, code: number) => {
    if (json) out(JSON.stringify({ type: "error", code: error.code, message: error.message, exitCode: code }));
    else io.stderr.write(`airlock-client exec: ${error.message} [${error.code}]\n`);
    return code;
  };
  let token: string;
  let prompt: string;
  let timeoutMs: number;
  try {
    const timeout = flags.timeout === undefined ? 3600 : Number(flags.timeout);
    if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 7 * 86_400) throw new ExecUsage("--timeout must be a number of seconds, up to a week");
    timeoutMs = Math.round(timeout * 1000);
    token = await tokenText(flags, io.env);
    prompt = await promptText(args, io.stdin);
  } catch (e) {
    if (e instanceof ExecUsage) return fail(new AirlockClientError("INVALID_ARGUMENT", e.message), EXEC_EXIT.usage);
    throw e;
  }
  const str = (k: string) => (typeof flags[k] === "string" ? (flags[k] as string) : undefined);
  let view: WatchView | undefined;
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let result: JobResult;
  try {
    result = await runJob({
      token,
      prompt,
      timeoutMs,
      WebSocket: NodeWebSocket,
      signal: abort.signal,
      ...(str("cwd") ? { cwd: str("cwd")! } : {}),
      ...(str("model") ? { model: str("model")! } : {}),
      ...(str("effort") ? { effort: str("effort") as Effort } : {}), // unchecked here: the host refuses an unknown effort
      onThread: (thread) => {
        view = new WatchView(thread, null);
        if (json) out(JSON.stringify({ type: "thread", thread }));
        else io.stderr.write(`Started thread ${thread}\n`);
      },
      onEvent: (e) => {
        if (json) out(JSON.stringify({ type: "event", thread: e.thread, seq: e.seq, event: e.event }));
        else for (const line of view!.lines(e)) out(line);
      },
    });
  } catch (e) {
    const error = toClientError(e, "INTERNAL");
    return fail(error, execExitCode(error));
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  if (!json && view) for (const line of view.flush()) out(line);
  const exitCode = execExitCode(result);
  if (json) out(JSON.stringify({ type: "result", ...result, exitCode }));
  else
    io.stderr.write(
      `${result.outcome === "completed" ? "Completed" : `${result.outcome[0]!.toUpperCase()}${result.outcome.slice(1).replace("_", " ")}`}${result.reason ? `: ${result.reason}` : ""}${result.code ? ` [${result.code}]` : ""}\n`,
    );
  return exitCode;
}
