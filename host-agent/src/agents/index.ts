// The agents `airlock up --agent NAME` can drive.
import { join } from "node:path";
import type { Agent } from "../agent.ts";
import { createCodexAgent } from "./codex/codex-agent.ts";
import { DemoAgent } from "./demo.ts";

export const AGENT_NAMES = ["demo", "codex"] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

export interface CreatedAgent {
  agent: Agent;
  /** Where threads work unless a device picks a folder inside it. */
  workspace: string;
}

/** `home` is the state folder; `workspace` the folder given with --workspace. */
export function createAgent(name: string, options: { home: string; workspace?: string }): CreatedAgent {
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
  }
  throw new Error(`unknown agent "${name}" (available: ${AGENT_NAMES.join(", ")})`);
}
