// `airlock`: the host agent's command line. This file only reads the global
// options and dispatches: each command lives in cli/<command>.ts and is
// imported when it runs, so `airlock --help`, `--version` and usage errors
// start without loading the agents, the app server, push or the QR code
// library. Output is for people by default and JSON with --json.
import { hostname, platform } from "node:os";
import { airlockCommand } from "./hint.ts";
import { airlockHome, statePaths } from "./paths.ts";
import { CliError, configuredRelay, Exit, pickBackend, VERSION, type Context } from "./cli/context.ts";
import { HELP, helpFor } from "./cli/help.ts";
import { messageOf } from "./error-message.ts";

export { DEFAULT_RELAY, Exit, VERSION } from "./cli/context.ts";

type Command = (ctx: Context, args: string[], command: string) => Promise<number>;

/** Each command's module, loaded when the command runs. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  up: async () => (await import("./cli/up.ts")).cmdUp,
  pair: async () => (await import("./cli/pair.ts")).cmdPair,
  devices: async () => (await import("./cli/devices.ts")).cmdDevices,
  status: async () => (await import("./cli/status.ts")).cmdStatus,
  doctor: async () => (await import("./cli/doctor.ts")).cmdDoctor,
  audit: async () => (await import("./cli/audit.ts")).cmdAudit,
  stats: async () => (await import("./cli/audit.ts")).cmdStats,
  approvals: async () => (await import("./cli/approvals.ts")).cmdApprovals,
  approve: async () => {
    const { cmdDecide } = await import("./cli/approvals.ts");
    return (ctx, args) => cmdDecide(ctx, "approve", args);
  },
  deny: async () => {
    const { cmdDecide } = await import("./cli/approvals.ts");
    return (ctx, args) => cmdDecide(ctx, "deny", args);
  },
  tokens: async () => {
    const { tokensCommand } = await import("./tokens/token-cli.ts");
    return (ctx, args) =>
      tokensCommand(
        {
          home: ctx.paths.home,
          json: ctx.json,
          out: ctx.out,
          err: ctx.err,
          backend: ctx.backend,
          relayUrl: configuredRelay(ctx.paths),
          cli: airlockCommand(ctx.paths.home),
        },
        args,
      );
  },
  hooks: async () => {
    const { hooksCommand, HooksCliError } = await import("./hooks/hooks-cli.ts");
    return async (ctx, args) => {
      try {
        return await hooksCommand({ home: ctx.paths.home, json: ctx.json, out: ctx.out }, args);
      } catch (e) {
        if (e instanceof HooksCliError) throw new CliError(e.usage ? "USAGE" : "ERROR", e.message);
        throw e;
      }
    };
  },
};

export async function main(argv: string[], io: { out?: (s: string) => void; err?: (s: string) => void } = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(s + "\n"));
  const err = io.err ?? ((s: string) => process.stderr.write(s + "\n"));
  const global = { home: undefined as string | undefined, json: false, help: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--home") global.home = argv[++i];
    else if (a.startsWith("--home=")) global.home = a.slice(7);
    else if (a === "--json") global.json = true;
    else if (a === "-h" || a === "--help") global.help = true;
    else if (a === "--version") {
      out(VERSION);
      return Exit.OK;
    } else rest.push(a);
  }
  const [command, ...args] = rest;
  if (global.help) {
    const help = command ? await helpFor(command) : undefined;
    out(help ?? HELP.main!);
    return command && !help ? Exit.USAGE : Exit.OK;
  }
  if (!command) {
    out(HELP.main!);
    return Exit.USAGE;
  }
  const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!load) {
    err(`unknown command "${command}"\n`);
    out(HELP.main!);
    return Exit.USAGE;
  }
  try {
    const [run, backend] = await Promise.all([load(), pickBackend()]);
    const ctx: Context = { paths: statePaths(global.home ?? airlockHome()), json: global.json, out, err, backend };
    return await run(ctx, args, command);
  } catch (e) {
    if (e instanceof CliError) {
      err(`airlock: ${e.message}`);
      return e.exitCode;
    }
    if (e instanceof TypeError && "code" in e && String((e as { code: unknown }).code).startsWith("ERR_PARSE_ARGS")) {
      err(`airlock: ${e.message}\n\n${(await helpFor(command)) ?? ""}`);
      return Exit.USAGE;
    }
    err(`airlock: ${messageOf(e)}`);
    // The stores' and the identity's errors have exit codes of their own; their classes load only here.
    return (await import("./cli/exit-code.ts")).exitCodeOf(e) ?? Exit.ERROR;
  }
}

export const hostInfo = { name: hostname(), platform: platform() };
