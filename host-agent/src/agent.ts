// The interface every coding-agent adapter implements (demo, Codex, …).
//
// Adapters know nothing about relays, devices or policy. The host agent calls
// them (start a thread, send, steer, interrupt, change settings) and gives them
// an AgentHost to report back through:
// - emit(): thread events (messages, commands and output, file changes with
//   diffs, plan, turn status, token usage, notices). The host persists each one
//   before any device sees it.
// - requestApproval() / askQuestion(): the agent needs a human. The host
//   classifies the request, applies policy, asks devices or the host terminal,
//   enforces the timeout and resolves the promise with the verdict. The
//   adapter never decides; it only acts on the verdict.
//
// Thread ids are the host's (Airlock) ids; an adapter maps them to its own
// (e.g. Codex thread ids) and keeps that mapping under `dataDir` so threads
// resume after an app-server or host restart.
import type { ApprovalDecision, Effort, ModelInfo, ThreadEvent } from "@airlock/protocol";
import { HostError } from "./host-error.ts";

export type { Effort };
export type AgentThreadStatus = "idle" | "running" | "waiting" | "failed";

export interface TurnSettings {
  model?: string;
  effort?: Effort;
}

export interface FileChangeInfo {
  path: string;
  change: "add" | "modify" | "delete" | "rename";
  oldPath?: string;
  /** Unified diff, when the agent has one. */
  diff?: string;
}

/** What an agent asks permission for. */
export interface ApprovalAsk {
  type: "command" | "file_change" | "permission";
  /** The agent's turn, when it has one (evidence: "files changed so far in the turn"). */
  turnId?: string;
  /** The adapter's item id (ties the request to command/file events). */
  itemId?: string;
  /** type "command": the exact command line. */
  command?: string;
  /** Working directory of the action. */
  cwd: string;
  /** Why the agent wants it now (the model's justification). */
  reason?: string;
  /** type "file_change": the files it will write. */
  files?: FileChangeInfo[];
  /** type "permission": what is asked, e.g. "network", "write /etc". */
  permission?: string;
  /** What the agent will do next, when known. */
  next?: string;
  /** Decisions the agent can act on (default: all three). */
  options?: readonly ApprovalDecision[];
}

export interface ApprovalVerdict {
  /** "cancel": stop the turn (the agent interrupts it). */
  decision: ApprovalDecision | "cancel";
  /** Who decided: a device name, "policy", "host" or "timeout". */
  by: string;
}

export interface QuestionAsk {
  turnId?: string;
  text: string;
  options?: { id: string; label: string }[];
}

/** null: nobody answered before the timeout, or the question was withdrawn. */
export type QuestionReply = { answer: string; optionId?: string; by: string } | null;

/** What the host gives an adapter. */
export interface AgentHost {
  /**
   * Records an event in the thread, in call order, and delivers it once it is
   * durable. Resolves when it is durable, except streamed output (message
   * deltas, command output), which resolves once it has its place in the log
   * (the log writes a stream at most once per window) unless many wait.
   */
  emit(threadId: string, event: ThreadEvent): Promise<void>;
  status(threadId: string, status: AgentThreadStatus): Promise<void>;
  /** Resolves with the verdict; never rejects for timeouts (the policy's fallback is the verdict). */
  requestApproval(threadId: string, ask: ApprovalAsk): Promise<ApprovalVerdict>;
  askQuestion(threadId: string, ask: QuestionAsk): Promise<QuestionReply>;
  /**
   * The agent can no longer act on the thread's open requests (e.g. its process
   * died): every pending approval resolves "cancel" (by "host", with `reason` in
   * the note) and every pending question resolves null, at once instead of at
   * the timeout. Devices see approval.resolved / question.answered. A no-op when
   * nothing is pending.
   */
  withdraw(threadId: string, reason: string): void;
  /** Operator log (stderr of `airlock up`); never secrets. */
  log(line: string): void;
}

export interface AgentStartContext {
  host: AgentHost;
  /** A private directory the adapter may use for its own state. */
  dataDir: string;
}

export interface StartThreadOptions extends TurnSettings {
  /** The workspace the agent works in. */
  cwd: string;
}

/** A thread as the agent itself knows it (for listing/reading the agent's own history). */
export interface AgentThreadInfo {
  threadId: string;
  title: string;
  updatedAt: number;
}

export interface Agent {
  readonly info: { kind: string; label: string; version?: string };
  /**
   * What the agent can do beyond prompts and approvals, sent to devices in
   * host.info `capabilities` so apps hide the rest: "agent.steer" (turn.steer),
   * "agent.questions" (it asks the user), "agent.usage" (token counts),
   * "agent.interrupt", "agent.resume" (threads survive a restart). Apps
   * read it as: when any "agent." entry is present, what is not listed is
   * missing (hide it); when none is, the adapter does not say (show everything,
   * as for the demo and Codex agents, which do all of it).
   */
  readonly capabilities?: readonly string[];
  /** Spawns whatever the adapter needs; called once before any other call. */
  start(context: AgentStartContext): Promise<void>;
  listModels(): Promise<ModelInfo[]>;
  readonly defaultModel?: string;
  /** Threads this adapter has (host ids). */
  listThreads(): Promise<AgentThreadInfo[]>;
  /** A thread's history as events, rebuilt from the agent's own record (not the host's event store). */
  readThread(threadId: string): Promise<ThreadEvent[]>;
  /** Starts a thread and its first turn. Resolves once the turn is under way, not when it ends. */
  startThread(threadId: string, prompt: string, options: StartThreadOptions): Promise<void>;
  /** Reattaches a thread after a restart; sendMessage calls it on demand, so hosts rarely need to. */
  resumeThread(threadId: string): Promise<void>;
  /** A follow-up turn. Resolves once under way. */
  sendMessage(threadId: string, text: string, settings: TurnSettings): Promise<void>;
  /** Adds instructions to the running turn (a follow-up turn when none runs). */
  steer(threadId: string, text: string): Promise<void>;
  /** Stops the running turn; resolves when it has stopped (turn.status "interrupted" emitted). */
  interrupt(threadId: string): Promise<void>;
  /** Model/effort for the thread's next turns. */
  setSettings(threadId: string, settings: TurnSettings): Promise<void>;
  close(): Promise<void>;
}

/** Its code is wire-safe for the device: THREAD_NOT_FOUND, TURN_NOT_RUNNING, AGENT_UNAVAILABLE, MODEL_UNKNOWN, … */
export class AgentError extends HostError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "AgentError";
  }
}
