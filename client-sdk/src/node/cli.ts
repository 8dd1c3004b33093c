// `airlock-client`: the client SDK as a terminal program. Pairs with hosts,
// lists their threads, streams events and sends commands. Output is for
// people by default and JSON with --json. Pairing links carry a one-time
// secret: pass them on stdin (process arguments are visible to other users of
// the machine); the CLI never prints or logs them.
import { homedir, hostname, platform } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Effort } from "@airlock/protocol";
import { AirlockClient } from "../client-web.ts";
import { AirlockClientError } from "../errors.ts";
import type { HostConnection } from "../host-connection.ts";
import type { TrustedHost } from "../hosts.ts";
import type { SeqEvent } from "../thread-subscription.ts";
import { execCommand, EXEC_HELP } from "./exec-cli.ts";
import { clientCommand } from "./hint.ts";
import { WatchView } from "./watch-view.ts";
import { FileStore } from "./file-store.ts";
import { NodeWebSocket } from "./index.ts";

export const Exit = { OK: 0, ERROR: 1, USAGE: 2, UNREACHABLE: 4, PAIRING_FAILED: 5, REVOKED: 6, NOT_FOUND: 7 } as const;

class UsageError extends Error {}

const HELP = `airlock-client — drive Airlock hosts from a terminal

Usage: airlock-client [--home DIR] [--json] <command> [options]

Commands:
  pair [LINK]                      pair with a host; reads the link from stdin when LINK is absent
                                   (preferred: command-line arguments are visible to other users)
       [--name NAME]               the device name the host operator sees
  hosts                            trusted hosts
  hosts rename ID NAME             rename a host (on this device only)
  hosts forget ID                  forget a host (its operator should also revoke this device)
  threads [--host ID]              the host's threads
  start PROMPT [--model M] [--effort E] [--cwd DIR]
  send THREAD TEXT                 a follow-up instruction
  steer THREAD TEXT                steer the running turn
  interrupt THREAD                 interrupt the running turn
  watch THREAD [--once]            stream a thread's events (--once: print what exists, then exit)
  approve THREAD APPROVAL [--session] [--note TEXT]
  deny THREAD APPROVAL [--note TEXT]
  answer THREAD QUESTION TEXT [--option ID]
  exec [PROMPT] [--timeout S]      run a job with an automation token ($AIRLOCK_TOKEN or
                                   --token-file FILE; never an argument): see exec --help

Options:
  --host ID     which host (an id prefix or a name); optional with a single trusted host
  --home DIR    state folder (default: $AIRLOCK_CLIENT_HOME or your config dir); keys are stored 0600
  --json        machine-readable output (one JSON object per line for watch and pair)
  -h, --help    this help

Exit codes: 0 ok, 1 error, 2 usage, 4 relay unreachable, 5 pairing refused/expired/used,
6 this device was revoked, 7 unknown host or thread.`;

export function clientHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AIRLOCK_CLIENT_HOME) return env.AIRLOCK_CLIENT_HOME;
  if (platform() === "darwin") return join(homedir(), "Library", "Application Support", "airlock-client");
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "airlock-client");
}

interface Ctx {
  json: boolean;
  /** How to run this CLI again, for hints (docs: a printed hint works when pasted). */
  command: string;
  out(line: string): void;
  err(line: string): void;
  client: AirlockClient;
  host?: string;
  flags: Record<string, string | boolean | undefined>;
}

function exitFor(e: AirlockClientError): number {
  switch (e.code) {
    case "RELAY_UNREACHABLE":
      return Exit.UNREACHABLE;
    case "LINK_EXPIRED":
    case "LINK_USED":
    case "LINK_INVALID":
    case "HOST_REFUSED":
    case "WRONG_HOST_KEY":
      return Exit.PAIRING_FAILED;
    case "DEVICE_REVOKED":
      return Exit.REVOKED;
    case "UNKNOWN_HOST":
    case "THREAD_NOT_FOUND":
      return Exit.NOT_FOUND;
    default:
      return Exit.ERROR;
  }
}

export async function main(
  argv: string[],
  io: { stdin?: NodeJS.ReadableStream; stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream; env?: NodeJS.ProcessEnv } = {},
): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  // A token on the command line is visible to every user of the machine (ps) and lands in shell history: refuse it, without echoing it.
  if (argv.some((a) => a.includes("airlock_tok_"))) {
    stderr.write(
      "airlock-client: a token was passed as a command-line argument, which other users of this machine can read; pass it in $AIRLOCK_TOKEN or --token-file FILE, and rotate it (airlock tokens rotate) if this machine is shared\n",
    );
    return Exit.USAGE;
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    stderr.write(`airlock-client: ${e instanceof Error ? e.message : String(e)}\nRun 'airlock-client --help'.\n`);
    return Exit.USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help && positionals[0] === "exec") {
    stdout.write(EXEC_HELP + "\n");
    return Exit.OK;
  }
  if (values.help || positionals.length === 0) {
    stdout.write(HELP + "\n");
    return values.help ? Exit.OK : Exit.USAGE;
  }
  // A reader that goes away (`… | head`) must not crash the CLI with EPIPE.
  stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") stderr.write(`airlock-client: ${e.message}\n`);
  });
  const json = values.json === true;
  // exec runs on the token alone: no state folder, no identity of this machine.
  if (positionals[0] === "exec")
    return execCommand(positionals.slice(1), values, { stdin: io.stdin ?? process.stdin, stdout, stderr, env: io.env ?? process.env });
  const home = typeof values.home === "string" ? values.home : clientHome();
  let client: AirlockClient | undefined;
  try {
    client = await AirlockClient.create({
      store: new FileStore(home),
      WebSocket: NodeWebSocket,
      // One shot: each command's outcome is reported (or its failure is), so a
      // later invocation must not resend it behind the user's back.
      persist: false,
      deviceName: typeof values.name === "string" ? values.name : `airlock-client on ${hostname()}`,
    });
    const env = io.env ?? process.env;
    const ctx: Ctx = {
      json,
      command: clientCommand(home, clientHome(env), env),
      out: (line) => {
        if (!(stdout as { destroyed?: boolean }).destroyed && !(stdout as { writableEnded?: boolean }).writableEnded) stdout.write(line + "\n");
      },
      err: (line) => stderr.write(line + "\n"),
      client,
      ...(typeof values.host === "string" ? { host: values.host } : {}),
      flags: values,
    };
    return await run(ctx, positionals, io.stdin ?? process.stdin, stdout);
  } catch (e) {
    if (e instanceof UsageError) {
      stderr.write(`airlock-client: ${e.message}\n`);
      return Exit.USAGE;
    }
    const error = e instanceof AirlockClientError ? e : new AirlockClientError("INTERNAL", e instanceof Error ? e.message : String(e));
    if (json) stdout.write(JSON.stringify({ type: "error", code: error.code, message: error.message }) + "\n");
    else stderr.write(`airlock-client: ${error.message} [${error.code}]\n`);
    return exitFor(error);
  } finally {
    await client?.close();
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      home: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      host: { type: "string" },
      name: { type: "string" },
      session: { type: "boolean" },
      note: { type: "string" },
      option: { type: "string" },
      model: { type: "string" },
      effort: { type: "string" },
      cwd: { type: "string" },
      once: { type: "boolean" },
      "token-file": { type: "string" },
      timeout: { type: "string" },
    },
  });
}

function need(args: string[], n: number, usage: string): string[] {
  if (args.length !== n) throw new UsageError(`usage: airlock-client ${usage}`);
  return args;
}

async function run(ctx: Ctx, positionals: string[], stdin: NodeJS.ReadableStream, stdout: NodeJS.WritableStream): Promise<number> {
  const [command, ...args] = positionals;
  const str = (k: string) => (typeof ctx.flags[k] === "string" ? (ctx.flags[k] as string) : undefined);
  switch (command) {
    case "pair":
      if (args.length > 1) throw new UsageError("usage: airlock-client pair [LINK]  (or the link on stdin)");
      return pair(ctx, args[0] ?? (await readLink(stdin)));
    case "hosts":
      return hosts(ctx, args);
    case "threads": {
      need(args, 0, "threads [--host ID]");
      const conn = await online(ctx);
      const threads = await conn.refreshThreads();
      if (ctx.json) ctx.out(JSON.stringify(threads));
      else if (threads.length === 0) ctx.out(`No threads yet. Start one with: ${ctx.command} start PROMPT`);
      else for (const t of threads) ctx.out(`${t.id}  ${t.status.padEnd(8)} ${t.pending ? `${t.pending} waiting  ` : ""}${t.title}`);
      return Exit.OK;
    }
    case "start": {
      const [prompt] = need(args, 1, "start PROMPT [--model M] [--effort E] [--cwd DIR]");
      const effort = str("effort");
      const conn = await online(ctx);
      const result = await conn.startThread({
        prompt: prompt!,
        ...(str("model") ? { model: str("model")! } : {}),
        ...(effort ? { effort: effort as Effort } : {}), // unchecked here: the host refuses an unknown effort
        ...(str("cwd") ? { cwd: str("cwd")! } : {}),
      });
      ctx.out(ctx.json ? JSON.stringify(result) : `Started thread ${result.thread}`);
      return Exit.OK;
    }
    case "send":
    case "steer": {
      const [thread, text] = need(args, 2, `${command} THREAD TEXT`);
      const conn = await online(ctx);
      await (command === "send" ? conn.send(thread!, text!) : conn.steer(thread!, text!));
      return done(ctx, command === "send" ? "Sent." : "Steered.");
    }
    case "interrupt": {
      const [thread] = need(args, 1, "interrupt THREAD");
      await (await online(ctx)).interrupt(thread!);
      return done(ctx, "Interrupted.");
    }
    case "approve":
    case "deny": {
      const [thread, approval] = need(args, 2, `${command} THREAD APPROVAL`);
      const decision = command === "deny" ? "deny" : ctx.flags.session ? "approve_session" : "approve_once";
      await (await online(ctx)).decide(thread!, approval!, decision, str("note"));
      return done(ctx, command === "deny" ? "Denied." : decision === "approve_session" ? "Approved for the session." : "Approved once.");
    }
    case "answer": {
      const [thread, question, text] = need(args, 3, "answer THREAD QUESTION TEXT [--option ID]");
      await (await online(ctx)).answer(thread!, question!, text!, str("option"));
      return done(ctx, "Answered.");
    }
    case "watch": {
      const [thread] = need(args, 1, "watch THREAD [--once]");
      return watch(ctx, thread!, stdout);
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

function done(ctx: Ctx, text: string): number {
  ctx.out(ctx.json ? JSON.stringify({ ok: true }) : text);
  return Exit.OK;
}

/** The first line of stdin, bounded: the link need never appear in argv. */
async function readLink(stdin: NodeJS.ReadableStream): Promise<string> {
  if ((stdin as { isTTY?: boolean }).isTTY) process.stderr.write("Paste the pairing link and press Enter: ");
  let text = "";
  for await (const chunk of stdin) {
    text += chunk.toString();
    // Stop at the first complete non-empty line; never buffer unbounded input.
    if (/\S[^\n]*\n/.test(text) || text.length > 8192) break;
  }
  const line = text
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  if (!line) throw new UsageError("no pairing link on stdin");
  return line.slice(0, 4096);
}

async function pair(ctx: Ctx, link: string): Promise<number> {
  const result = await ctx.client.pair(link, {
    onSas: (sas) => {
      if (ctx.json) ctx.out(JSON.stringify({ type: "sas", sas }));
      else ctx.out(`Pairing code: ${sas}\nCheck that the host shows the same code and confirm there. Waiting…`);
    },
  });
  if (ctx.json) ctx.out(JSON.stringify({ type: "paired", host: publicHost(result.host) }));
  else ctx.out(`Paired with "${result.host.name}" (${result.host.id}).`);
  return Exit.OK;
}

function publicHost(h: TrustedHost) {
  return { id: h.id, name: h.name, relayUrl: h.relayUrl, publicKey: h.publicKey, pairedAt: h.pairedAt, lastSeen: h.lastSeen ?? null };
}

async function hosts(ctx: Ctx, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) {
    const list = ctx.client.hosts();
    if (ctx.json) ctx.out(JSON.stringify(list.map(publicHost)));
    else if (list.length === 0) ctx.out(`No trusted hosts. Pair with: ${ctx.command} pair < link.txt`);
    else for (const h of list) ctx.out(`${h.id}  ${h.name}  ${h.relayUrl}  last seen ${h.lastSeen ? new Date(h.lastSeen).toISOString() : "never"}`);
    return Exit.OK;
  }
  if (sub === "rename") {
    const [id, name] = need(rest, 2, "hosts rename ID NAME");
    const host = findHost(ctx, id!);
    await ctx.client.renameHost(host.id, name!);
    return done(ctx, `Renamed ${host.id}.`);
  }
  if (sub === "forget") {
    const [id] = need(rest, 1, "hosts forget ID");
    const host = findHost(ctx, id!);
    await ctx.client.forgetHost(host.id);
    return done(ctx, `Forgot ${host.name}. Ask its operator to revoke this device too (airlock devices revoke).`);
  }
  throw new UsageError(`unknown hosts command ${JSON.stringify(sub)}`);
}

function findHost(ctx: Ctx, query: string | undefined): TrustedHost {
  const all = ctx.client.hosts();
  if (query === undefined) {
    if (all.length === 1) return all[0]!;
    throw new AirlockClientError("UNKNOWN_HOST", all.length === 0 ? "no trusted host: pair first" : "several trusted hosts: choose one with --host ID");
  }
  const matches = all.filter((h) => h.id === query || h.name === query);
  const byPrefix = matches.length ? matches : all.filter((h) => h.id.startsWith(query));
  if (byPrefix.length !== 1) throw new AirlockClientError("UNKNOWN_HOST", byPrefix.length ? `"${query}" matches several hosts` : `no trusted host "${query}"`);
  return byPrefix[0]!;
}

/** Connects to the chosen host and waits until the session is open. */
async function online(ctx: Ctx, timeoutMs = 20_000): Promise<HostConnection> {
  const conn = ctx.client.connect(findHost(ctx, ctx.host).id);
  if (conn.state === "online") return conn;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(
        conn.error ??
          new AirlockClientError(
            conn.state === "host-offline" ? "HOST_OFFLINE" : "TIMEOUT",
            conn.state === "host-offline" ? "the host is offline" : "could not connect to the host in time",
          ),
      );
    }, timeoutMs);
    const off = conn.on("state", (s) => {
      if (s === "online") {
        clearTimeout(timer);
        off();
        resolve();
      } else if (s === "refused") {
        clearTimeout(timer);
        off();
        reject(conn.error);
      }
    });
  });
  return conn;
}

async function watch(ctx: Ctx, thread: string, stdout: NodeJS.WritableStream): Promise<number> {
  const conn = await online(ctx);
  const threads = await conn.refreshThreads();
  const summary = threads.find((t) => t.id === thread);
  if (!summary) throw new AirlockClientError("THREAD_NOT_FOUND", `no thread ${thread}`);
  const sub = conn.subscribe(thread);
  // The reader went away (`watch … | head`): stop quietly instead of dying on EPIPE.
  let closed = false;
  let onClosed: () => void = () => {};
  const stdoutClosed = new Promise<void>((resolve) => (onClosed = resolve));
  const onError = (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE" && e.code !== "ERR_STREAM_DESTROYED") ctx.err(`airlock-client: ${e.message}`);
    closed = true;
    onClosed();
  };
  stdout.on("error", onError);
  const stop = new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  const view = new WatchView(thread, ctx.command);
  const print = (e: SeqEvent) => {
    if (closed) return;
    if (ctx.json) ctx.out(JSON.stringify({ thread, seq: e.seq, event: e.event }));
    else for (const line of view.lines(e)) ctx.out(line);
  };
  const iterator = sub[Symbol.asyncIterator]();
  try {
    for (;;) {
      if (closed || (ctx.flags.once && sub.lastSeq >= summary.lastSeq)) break;
      const next = await Promise.race([iterator.next(), stop.then(() => null), stdoutClosed.then(() => null)]);
      if (next === null || next.done) break;
      print(next.value);
      if (ctx.flags.once && next.value.seq >= summary.lastSeq) break;
    }
    if (!closed && !ctx.json) for (const line of view.flush()) ctx.out(line);
  } finally {
    sub.close();
  }
  return Exit.OK;
}

export { WatchView };
