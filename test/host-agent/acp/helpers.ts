// Shared setup for the ACP adapter tests: the recording AgentHost of the Codex
// tests and an AcpAgent driving the scripted ACP agent (scripted-agent.mjs).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AcpAgent, type AcpAgentOptions } from "../../../host-agent/src/agents/acp/acp-agent.ts";
import { RecordingHost } from "../codex/helpers.ts";

export { RecordingHost };

export const SCRIPTED_AGENT = new URL("./scripted-agent.mjs", import.meta.url).pathname;

export interface AcpSetup {
  host: RecordingHost;
  agent: AcpAgent;
  root: string;
  workspace: string;
  dataDir: string;
  /** What the scripted agent received, in order. */
  received(): Array<Record<string, unknown>>;
  /** A new AcpAgent on the same dataDir and agent state (an `airlock up` restart). */
  newAgent(): Promise<AcpAgent>;
  cleanup(): Promise<void>;
}

export async function setupAcp(options: Partial<AcpAgentOptions> & { mode?: string } = {}): Promise<AcpSetup> {
  const root = mkdtempSync(join(tmpdir(), "airlock-acp-"));
  const workspace = join(root, "ws");
  const dataDir = join(root, "data");
  const logFile = join(root, "agent.log");
  mkdirSync(workspace);
  const host = new RecordingHost();
  const agents: AcpAgent[] = [];
  const { mode, ...rest } = options;
  const make = async () => {
    const agent = new AcpAgent({
      command: process.execPath,
      args: [SCRIPTED_AGENT],
      kind: "acp",
      env: { ...process.env, SCRIPTED_ACP_STATE: join(root, "agent-state"), SCRIPTED_ACP_LOG: logFile, SCRIPTED_ACP_MODE: mode ?? "auto" },
      restartDelayMs: 100,
      interruptTimeoutMs: 5000,
      ...rest,
    });
    agents.push(agent);
    await agent.start({ host, dataDir });
    return agent;
  };
  const agent = await make();
  return {
    host,
    agent,
    root,
    workspace,
    dataDir,
    received: () =>
      existsSync(logFile)
        ? readFileSync(logFile, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [],
    newAgent: make,
    async cleanup() {
      await Promise.all(agents.map((a) => a.close()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
