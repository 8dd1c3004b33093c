// The text of `airlock --help` and of each command's --help. Plain strings, so
// help and usage errors load nothing heavy; the few texts that come from a
// command's own module (the agent list, tokens, hooks) load it when asked.
import { DEFAULT_RELAY, VERSION } from "./context.ts";

export const HELP: Record<string, string> = {
  main: `airlock ${VERSION} — supervise your coding agent from your phone

Usage: airlock <command> [options]

Commands:
  up                 connect to the relay and serve paired devices (keeps running)
  pair               show a one-time pairing QR code and confirm the device
  devices            list trusted devices
  devices revoke ID  revoke a device (takes effect on live sessions at once)
  devices rename ID NAME
  status             identity, relay, devices, whether \`airlock up\` is running
  doctor             check that everything needed works
  approvals          list requests waiting for a decision (incl. host-only ones)
  approve ID         approve a waiting request at this terminal (--session: for the session)
  deny ID            deny a waiting request
  tokens             automation tokens (create, list, revoke, rotate) for airlock-client exec
  stats              approval loop metrics: response time, auto-decided share, failures
  audit verify       check the audit log's hash chain (edits, deletions, reordering)
  audit tail [-n N]  show the latest audit records
  hooks              hooks the policy files declare, their hashes; trust / untrust

Global options:
  --home DIR   state folder (default: $AIRLOCK_HOME or your config dir)
  --json       machine-readable output
  -h, --help   help for a command
  --version    print the version

Run 'airlock <command> --help' for a command's options.`,
  pair: `Usage: airlock pair [--ttl SECONDS] [--yes] [--json]

Shows a one-time pairing QR code and link (valid 5 minutes by default). When a
device uses it, shows the device's name and a 6-digit code: pair only if the
code matches the one on your phone. Needs \`airlock up\` running.

  --ttl SECONDS  link lifetime, 1..3600 (default 300)
  --yes          trust the device without asking
  --json         print the link and the outcome as JSON`,
  devices: `Usage: airlock devices [--json]
       airlock devices revoke ID
       airlock devices rename ID NAME

IDs may be shortened to any unambiguous prefix.`,
  status: `Usage: airlock status [--json]`,
  audit: `Usage: airlock audit verify [--json]
       airlock audit tail [-n N] [--json]

The audit log records pairings, refusals, revocations, device sessions and
every prompt or instruction a device sent, hash-chained so that any edit,
deletion or reordering is detected by 'verify' (exit code 1).`,
  approvals: `Usage: airlock approvals [--json]

Lists requests waiting for a decision in the running airlock up, with the
evidence devices see. "host-only" ones can only be decided here.`,
  approve: `Usage: airlock approve ID [--session] [--json]

Approves a waiting request (ID from airlock approvals; any unambiguous prefix).
--session also approves identical requests for the rest of the session.`,
  deny: `Usage: airlock deny ID [--json]`,
  stats: `Usage: airlock stats [--days N] [--json]

Approval loop metrics from the audit log: time before a person answered
(p50/p90), approvals per thread, share decided by policy alone, failure rate of
approved commands, and the same per device. --days limits to the last N days.`,
  doctor: `Usage: airlock doctor [--relay URL] [--json]

Checks the identity file, the relay as this host would use it (reachable,
protocol version, clock skew, the WebSocket upgrade on this host's room,
whether the relay's admission list serves it, push), and the agents.
--relay checks another relay than the configured one (e.g. a new deployment).`,
};

const upHelp = (
  agentNames: readonly string[],
) => `Usage: airlock up [--relay URL] [--agent NAME] [--workspace DIR] [--app-url URL] [--pair] [--yes] [--json] [-- AGENT COMMAND…]

Connects out to the relay (no inbound ports), keeps the link up with
reconnects, and serves paired devices. Creates the host identity on first run.
Approval requests follow the policy (<home>/policy.json and the workspace's
.airlock/policy.json; see docs/host-agent.md); requests only this terminal may
decide are printed here: answer them with airlock approve/deny.

  --relay URL      relay base URL (saved for next time; default ${DEFAULT_RELAY})
  --agent NAME     the coding agent to drive: ${agentNames.join(", ")} (default: demo,
                   an offline scripted stand-in that runs real commands in a scratch folder;
                   claude: Claude Code, after npm run install:claude; acp: any ACP agent,
                   its command after --, e.g. airlock up --agent acp -- gemini --acp)
  --workspace DIR  where the agent works (demo default: <home>/demo-workspace)
  --app-url URL  where pairing links open the web app (default: the relay)
  --pair         show a pairing QR code once connected
  --yes          trust pairing devices without asking (unattended use, tests)
  --json         one JSON object per line for each event`;

export const DEVICES_HELP = HELP.devices!;

/** The help of `command`, or undefined for an unknown command. */
export async function helpFor(command: string): Promise<string | undefined> {
  switch (command) {
    case "up":
      return upHelp((await import("../agents/index.ts")).AGENT_NAMES);
    case "tokens":
      return (await import("../tokens/token-cli.ts")).TOKENS_HELP;
    case "hooks":
      return (await import("../hooks/hooks-cli.ts")).HOOKS_HELP;
    default:
      return Object.hasOwn(HELP, command) ? HELP[command] : undefined;
  }
}
