// The agents `airlock up --agent NAME` can drive.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Agent } from "../agent.ts";
import { AcpAgent } from "./acp/acp-agent.ts";
import { createCodexAgent } from "./codex/codex-agent.ts";
import { resolveCodexBinary } from "./codex/codex-process.ts";
import { DemoAgent } from "./demo.ts";
import { messageOf } from "../error-message.ts";

export const AGENT_NAMES = ["demo", "codex", "claude", "acp"] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

export interface CreatedAgent {
  agent: Agent;
  /** Where threads work unless a device picks a folder inside it. */
  workspace: string;
}

/** The one command that installs Claude Code's ACP adapter (pinned, in its own lockfile), in a checkout. */
export const CLAUDE_INSTALL = "npm run install:claude";
/** The same pinned version for an installed airlock (not a checkout): on PATH as claude-agent-acp. */
export const CLAUDE_INSTALL_GLOBAL = "npm install -g @agentclientprotocol/claude-agent-acp@0.101.0";

/** The install command that works where this airlock runs from: the checkout's script, or a global install. */
export function claudeInstallHint(): string {
  return existsSync(fileURLToPath(new URL("../../claude-code/package.json", import.meta.url)))
    ? `${CLAUDE_INSTALL} (in the Airlock checkout)`
    : CLAUDE_INSTALL_GLOBAL;
}

/**
 * `home` is the state folder; `workspace` the folder given with --workspace;
 * `command` the agent's command line after `--` (for --agent acp).
 */
export function createAgent(name: string, options: { home: string; workspace?: string; command?: string[] }): CreatedAgent {
  switch (name) {
    case "demo": {
      const workspace = options.workspace ?? join(options.home, "demo-workspace");
      return { agent: new DemoAgent({ workspace }), workspace };
    }
    case "codex": {
      // Codex works in the folder airlock up was started from, with its own CODEX_HOME (~/.codex).
      const workspace = options.workspace ?? process.cwd();
      return { agent: createCodexAgent(process.env.CODEX_HOME ? { codexHome: process.env.CODEX_HOME } : {}), workspace };
    }
    case "claude": {
      const found = resolveClaudeAcp();
      if (!found) throw new Error(`Claude Code's ACP adapter is not installed: run ${claudeInstallHint()} (or put claude-agent-acp on PATH)`);
      const workspace = options.workspace ?? process.cwd();
      return { agent: new AcpAgent({ command: found.command, args: found.args, kind: "claude", label: "Claude Code", askMode: "default" }), workspace };
    }
    case "acp": {
      const [command, ...args] = options.command ?? [];
      if (!command) throw new Error("--agent acp needs the agent's command after --, e.g. airlock up --agent acp -- gemini --acp");
      const workspace = options.workspace ?? process.cwd();
      return { agent: new AcpAgent({ command, args, kind: "acp" }), workspace };
    }
  }
  throw new Error(`unknown agent "${name}" (available: ${AGENT_NAMES.join(", ")})`);
}

/**
 * claude-agent-acp: the pinned copy `npm run install:claude` puts under
 * host-agent/claude-code (run with this Node), one in the root node_modules,
 * else `claude-agent-acp` on PATH.
 */
export function resolveClaudeAcp(): { command: string; args: string[]; where: string } | undefined {
  const pkg = "node_modules/@agentclientprotocol/claude-agent-acp/dist/index.js";
  for (const base of ["../../claude-code/", "../../../"]) {
    const script = fileURLToPath(new URL(base + pkg, import.meta.url));
    if (existsSync(script)) return { command: process.execPath, args: [script], where: script };
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const bin = join(dir, "claude-agent-acp");
    if (existsSync(bin)) return { command: bin, args: [], where: bin };
  }
  return undefined;
}

/** `airlock doctor`: which agents can run here, and why not. */
export function agentChecks(): Array<{ name: string; ok: boolean; detail: string }> {
  const checks = [{ name: "demo", ok: true, detail: "built in" }];
  try {
    const binary = resolveCodexBinary();
    const r = spawnSync(binary, ["--version"], { encoding: "utf8", timeout: 10_000 });
    checks.push(
      r.status === 0
        ? { name: "codex", ok: true, detail: r.stdout.trim().slice(0, 200) }
        : { name: "codex", ok: false, detail: `${binary} did not run (${r.error?.message ?? `exit ${String(r.status)}`}); install @openai/codex` },
    );
  } catch (e) {
    checks.push({ name: "codex", ok: false, detail: `not found (${messageOf(e)})` });
  }
  const claude = resolveClaudeAcp();
  if (!claude) checks.push({ name: "claude", ok: false, detail: `not installed: run ${claudeInstallHint()}` });
  else {
    const key =
      process.env.ANTHROPIC_API_KEY || process.env.ANTHROPIC_AUTH_TOKEN
        ? "an API key in the environment"
        : "no ANTHROPIC_API_KEY; needs a Claude login (claude /login)";
    checks.push({ name: "claude", ok: true, detail: `${claude.where} (${key})` });
  }
  checks.push({ name: "acp", ok: true, detail: "any ACP agent: airlock up --agent acp -- <command> [args…]" });
  return checks;
}
