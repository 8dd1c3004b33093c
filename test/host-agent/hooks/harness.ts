// Hook tests' host: a real AppServer (demo agent unless another is given) with
// the real policy loader reading a user policy file and the workspace's
// .airlock/policy.json, the real trust store and a real audit log, all in a
// temp folder removed after the file's tests. Hooks are small Node scripts
// written into that folder (scriptedHook).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Agent } from "../../../host-agent/src/agent.ts";
import { DemoAgent } from "../../../host-agent/src/agents/demo.ts";
import type { TokenScopes } from "../../../host-agent/src/tokens/token-scope.ts";
import { AppServer, type CommandOutcome } from "../../../host-agent/src/app-server.ts";
import { AuditLog, tailAuditLog, type AuditRecord } from "../../../host-agent/src/audit/audit-log.ts";
import { main } from "../../../host-agent/src/cli.ts";
import { CommandLedger } from "../../../host-agent/src/command-ledger.ts";
import { EventStore } from "../../../host-agent/src/event-store.ts";
import { loadWorkspacePolicy } from "../../../host-agent/src/workspace.ts";
import { tempDir as sharedTempDir } from "../../support/temp.ts";

/** A temp folder removed after the file's tests. */
export function tempDir(prefix = "airlock-hooks-"): string {
  return sharedTempDir(prefix);
}

/**
 * A Node hook script driven by its argv: `node hook.mjs LOG MODE [ARG…]`. It
 * appends the input it got to LOG (one JSON line per run), then answers by
 * MODE: allow|deny REASON, context TEXT, none, test NAME STATUS, deny-if
 * WORD REASON (deny when the input contains WORD), sleep, crash, big, garbage.
 */
export const SCRIPTED_HOOK = `
import { appendFileSync } from "node:fs";
let data = "";
for await (const c of process.stdin) data += c;
const [log, mode, a, b] = process.argv.slice(2);
appendFileSync(log, data.replace(/\\n/g, " ") + "\\n");
const say = (o) => process.stdout.write(JSON.stringify(o));
switch (mode) {
  case "allow": say({ decision: "allow", reason: a }); break;
  case "deny": say({ decision: "deny", reason: a }); break;
  case "context": say({ context: a }); break;
  case "none": break;
  case "test": say({ testResult: { name: a, status: b, summary: "from the hook" } }); break;
  case "deny-if": say(data.includes(a) ? { decision: "deny", reason: b } : {}); break;
  case "sleep": setTimeout(() => say({ decision: "allow" }), 60000); break;
  case "crash": process.stderr.write("boom\\n"); process.exit(3);
  case "big": process.stdout.write("x".repeat(100 * 1024)); break;
  case "garbage": process.stdout.write("this is not json"); break;
  case "extra": say({ decision: "allow", run: "rm -rf /" }); break;
}
`;

export interface HookEnv {
  app: AppServer;
  store: EventStore;
  home: string;
  workspace: string;
  /** The scripted hook's path. */
  script: string;
  logs: string[];
  /** Writes the user's policy file. */
  userPolicy(policy: unknown): void;
  /** Writes the workspace root's .airlock/policy.json. */
  repoPolicy(policy: unknown): void;
  /** A hook definition running the scripted hook, logging its inputs to <dir>/<name>.log. */
  hook(name: string, events: string[], mode: string, ...args: string[]): { name: string; events: string[]; command: string[]; timeoutSeconds?: number };
  /** Inputs the named hook received, parsed. */
  inputs(name: string): Array<Record<string, any>>;
  /** Runs `airlock --home HOME hooks ARGS… --workspace WS --json`; returns exit code and output. */
  cli(...args: string[]): Promise<{ code: number; out: string; err: string }>;
  /** Audit records written so far. */
  audit(): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

export async function setupHooks(options: { agent?: (workspace: string) => Agent; tokens?: TokenScopes } = {}): Promise<HookEnv> {
  const dir = tempDir();
  const home = join(dir, "home");
  const workspace = join(dir, "ws");
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(workspace);
  const script = join(dir, "hook.mjs");
  writeFileSync(script, SCRIPTED_HOOK);
  const store = await EventStore.open(join(dir, "events"));
  const ledger = await CommandLedger.open<CommandOutcome>(join(dir, "commands.jsonl"));
  const auditLog = await AuditLog.open(join(home, "audit.jsonl"));
  const writes: Promise<unknown>[] = [];
  const logs: string[] = [];
  const userFile = join(home, "policy.json");
  const app = new AppServer({
    store,
    ledger,
    agent: options.agent ? options.agent(workspace) : new DemoAgent({ workspace, chunkDelayMs: 0 }),
    agentDataDir: join(dir, "agent"),
    workspace,
    policyFor: (cwd) => loadWorkspacePolicy(userFile, workspace, cwd),
    audit: (type, actor, data) => void writes.push(auditLog.append(type, actor, data)),
    log: (line) => logs.push(line),
    hooks: { trustFile: join(home, "hooks-trust.json") },
    ...(options.tokens ? { tokens: options.tokens } : {}),
  });
  await app.start();
  return {
    app,
    store,
    home,
    workspace,
    script,
    logs,
    userPolicy: (p) => writeFileSync(userFile, JSON.stringify(p)),
    repoPolicy: (p) => {
      mkdirSync(join(workspace, ".airlock"), { recursive: true });
      writeFileSync(join(workspace, ".airlock", "policy.json"), JSON.stringify(p));
    },
    hook: (name, events, mode, ...args) => ({ name, events, command: ["node", script, join(dir, `${name}.log`), mode, ...args] }),
    inputs: (name) => {
      let text = "";
      try {
        text = readFileSync(join(dir, `${name}.log`), "utf8");
      } catch {
        return [];
      }
      return text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, any>);
    },
    async cli(...args) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(["--home", home, "hooks", ...args, "--workspace", workspace, "--json"], { out: (s) => out.push(s), err: (s) => err.push(s) });
      return { code, out: out.join("\n"), err: err.join("\n") };
    },
    async audit() {
      await Promise.all(writes);
      return tailAuditLog(join(home, "audit.jsonl"), 10_000);
    },
    async close() {
      await app.close();
      await app.hooks?.idle();
      await Promise.all(writes);
      await auditLog.close();
      await ledger.close();
      await store.close();
    },
  };
}
