// Shared setup for the Codex adapter tests: a recording AgentHost (a test
// double of Airlock's own host interface) and a CodexAgent wired to the real
// `codex app-server` binary with a private CODEX_HOME and the mock model.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { threadEvent, type ThreadEvent } from "../../../protocol/src/index.ts";
import type { AgentHost, AgentThreadStatus, ApprovalAsk, ApprovalVerdict, QuestionAsk, QuestionReply } from "../../../host-agent/src/agent.ts";
import { CodexAgent, type CodexAgentOptions } from "../../../host-agent/src/agents/codex/codex-agent.ts";
import { MockResponses, mockProviderConfig } from "./mock-responses.ts";

/** A slug Codex knows (so it offers apply_patch); the mock answers whatever is asked. */
export const MODEL = "gpt-5.5";

export class RecordingHost implements AgentHost {
  readonly events: Array<{ threadId: string; event: ThreadEvent }> = [];
  readonly statuses: Array<{ threadId: string; status: AgentThreadStatus }> = [];
  readonly approvals: Array<{ threadId: string; ask: ApprovalAsk }> = [];
  readonly questions: Array<{ threadId: string; ask: QuestionAsk }> = [];
  readonly logs: string[] = [];
  /** Events the protocol schema rejected (must stay empty). */
  readonly invalid: unknown[] = [];
  decide: (ask: ApprovalAsk) => ApprovalVerdict | Promise<ApprovalVerdict> = () => ({ decision: "approve_once", by: "test" });
  answer: (ask: QuestionAsk) => QuestionReply | Promise<QuestionReply> = () => null;

  async emit(threadId: string, event: ThreadEvent): Promise<void> {
    if (!threadEvent.safeParse(event).success) this.invalid.push(event);
    this.events.push({ threadId, event });
  }
  async status(threadId: string, status: AgentThreadStatus): Promise<void> {
    this.statuses.push({ threadId, status });
  }
  async requestApproval(threadId: string, ask: ApprovalAsk): Promise<ApprovalVerdict> {
    this.approvals.push({ threadId, ask });
    return this.decide(ask);
  }
  async askQuestion(threadId: string, ask: QuestionAsk): Promise<QuestionReply> {
    this.questions.push({ threadId, ask });
    return this.answer(ask);
  }
  /** withdraw() calls, in order. */
  readonly withdrawn: Array<{ threadId: string; reason: string }> = [];
  withdraw(threadId: string, reason: string): void {
    this.withdrawn.push({ threadId, reason });
  }
  log(line: string): void {
    this.logs.push(line);
    if (process.env.CODEX_TEST_LOG) console.error(line);
  }

  of(threadId: string): ThreadEvent[] {
    return this.events.filter((e) => e.threadId === threadId).map((e) => e.event);
  }

  kinds(threadId: string, kind: ThreadEvent["kind"]): ThreadEvent[] {
    return this.of(threadId).filter((e) => e.kind === kind);
  }

  /** Turn ends (turn.status other than "started") seen so far. */
  turnEnds(threadId: string): Array<Extract<ThreadEvent, { kind: "turn.status" }>> {
    return this.of(threadId).filter((e): e is Extract<ThreadEvent, { kind: "turn.status" }> => e.kind === "turn.status" && e.status !== "started");
  }

  async waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events.map((e) => e.event.kind))}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Waits for the n-th turn end (1-based) and returns it. */
  waitTurnEnd(threadId: string, n = 1, timeoutMs?: number) {
    return this.waitFor(`turn end #${n}`, () => this.turnEnds(threadId)[n - 1], timeoutMs);
  }
}

export interface CodexSetup {
  mock: MockResponses;
  host: RecordingHost;
  agent: CodexAgent;
  root: string;
  workspace: string;
  dataDir: string;
  codexHome: string;
  /** A new CodexAgent on the same CODEX_HOME and dataDir (a "host restart"). */
  newAgent(): Promise<CodexAgent>;
  cleanup(): Promise<void>;
}

export async function setupCodex(options: Partial<CodexAgentOptions> = {}): Promise<CodexSetup> {
  const mock = new MockResponses();
  await mock.start();
  const root = mkdtempSync(join(tmpdir(), "airlock-codex-"));
  const workspace = join(root, "ws");
  const dataDir = join(root, "data");
  const codexHome = join(root, "codex-home");
  mkdirSync(workspace);
  mkdirSync(codexHome);
  const host = new RecordingHost();
  const agents: CodexAgent[] = [];
  const make = async () => {
    // Extra config (an MCP server, …) goes on top of the mock provider's.
    const agent = new CodexAgent({ codexHome, restartDelayMs: 100, ...options, config: { ...mockProviderConfig(mock.baseUrl), ...options.config } });
    agents.push(agent);
    await agent.start({ host, dataDir });
    return agent;
  };
  const agent = await make();
  return {
    mock,
    host,
    agent,
    root,
    workspace,
    dataDir,
    codexHome,
    newAgent: make,
    async cleanup() {
      await Promise.all(agents.map((a) => a.close()));
      await mock.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
