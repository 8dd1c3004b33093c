// The Codex adapter: drives a real `codex app-server` child over JSON-RPC.
//
// - Host thread ids map to Codex thread ids (thread-store.ts, under dataDir);
//   a thread not loaded in the current app-server process is resumed lazily
//   with `thread/resume`, so restarts of either side are invisible to devices.
// - Codex notifications become ThreadEvents (mapping.ts), emitted strictly in
//   arrival order through one queue; approvals wait for that queue so the
//   host has persisted e.g. command.started before it shows the approval.
// - Codex server requests (approvals, user input) go to the host's broker
//   through approvals.ts; the adapter never decides, it only translates.
// - If app-server dies, running turns are reported failed and the supervisor
//   (../supervisor.ts) restarts it with backoff; verdicts still in flight for
//   the dead process are dropped.
import type { ThreadEvent } from "@airlock/protocol";
import {
  AgentError,
  type Agent,
  type AgentHost,
  type AgentStartContext,
  type AgentThreadInfo,
  type FileChangeInfo,
  type StartThreadOptions,
  type TurnSettings,
} from "../../agent.ts";
import { CodexProcess, describeExit, resolveCodexBinary } from "./codex-process.ts";
import { ProcessSupervisor } from "../supervisor.ts";
import { HostEventQueue, type ThreadStatus } from "../event-queue.ts";
import { ensureLoaded, LoadedThreads, type LoadedThread } from "../loaded-threads.ts";
import { isObject, logName, PEER_CLOSED, REQUEST_TIMEOUT, RpcError } from "./json-rpc.ts";
import { answerRequest, checkRequest } from "./approvals.ts";
import { OpenCommands } from "./open-commands.ts";
import { settlesWithin } from "../settles-within.ts";
import {
  clip,
  displayCommand,
  exitCode,
  fileChangeEvents,
  isValidEvent,
  nonNegInt,
  pieces,
  planEvent,
  safeId,
  str,
  toFileChanges,
  toModels,
  turnError,
  usageEvent,
  userText,
} from "./mapping.ts";
import {
  base64Image,
  compactionNotice,
  imageEvents,
  rateLimitNotices,
  readImageFile,
  reasoningText,
  rerouteNotice,
  toolCallEvent,
  turnDiffEvent,
} from "./items.ts";
import { ThreadStore, type ThreadRecord } from "./thread-store.ts";
import { readThreadEvents } from "./history.ts";
import type { ModelInfo } from "@airlock/protocol";

export type CodexApprovalPolicy = "untrusted" | "on-request" | "never";
export type CodexSandbox = "read-only" | "workspace-write" | "danger-full-access";

export interface CodexAgentOptions {
  /** The codex executable; default: the native binary of an installed @openai/codex, else `codex` on PATH. */
  binary?: string;
  /** CODEX_HOME for the child (config, sessions, auth); default: the inherited one (~/.codex). */
  codexHome?: string;
  /** Extra `-c key=value` overrides; values are TOML (strings need quotes: `'"mock"'`). */
  config?: Record<string, string>;
  /** Environment for the child; default process.env. RUST_LOG is always `warn`. */
  env?: NodeJS.ProcessEnv;
  /** Default "untrusted": every command asks (given per thread: in config.toml it is fatal in 0.169). */
  approvalPolicy?: CodexApprovalPolicy;
  /** Default "read-only": file changes ask too ("workspace-write" applies patches in the workspace silently). */
  sandbox?: CodexSandbox;
  /** Bound of the first restart delay after a crash (full jitter); doubles per consecutive crash up to 30 s. Default 500. */
  restartDelayMs?: number;
  /** Let the model ask the user questions (`default_mode_request_user_input`). Default true. */
  userInput?: boolean;
  /** Timeout of one JSON-RPC request to app-server. Default 60 s. */
  requestTimeoutMs?: number;
  /** How long interrupt() waits for Codex to confirm. Default 15 s. */
  interruptTimeoutMs?: number;
}

const VERSION = "0.1.0";
const MAX_TRACKED_ITEMS = 1000;
const MAX_STREAMED_OUTPUT = 1024 * 1024;
/** How long interrupt() waits for Codex to end the commands it stopped before closing them itself. */
const COMMAND_END_GRACE_MS = 2000;

interface LiveThread extends LoadedThread {
  codexId: string;
  /** The running turn, if any. */
  turnId?: string | undefined;
  /** Recently finished turns (a turn/completed can overtake the turn/start answer). */
  finished: string[];
  stopWaiters: Array<() => void>;
  /** The model the last turn started with (a switch makes Codex compact first). */
  model?: string | undefined;
  /** Set for a turn that switches model, until it ends. */
  switching?: { from: string; to: string } | undefined;
}

interface Running {
  proc: CodexProcess;
  gen: number;
}

export class CodexAgent implements Agent {
  readonly info: { kind: string; label: string; version?: string } = { kind: "codex", label: "Codex" };
  defaultModel?: string;

  private readonly binary: string;
  private readonly approvalPolicy: CodexApprovalPolicy;
  private readonly sandbox: CodexSandbox;
  private host!: AgentHost;
  private store!: ThreadStore;
  private readonly child: ProcessSupervisor<Running>;
  private readonly events = new HostEventQueue(() => this.host, "codex");
  private readonly threads = new LoadedThreads<LiveThread>((hostId, codexId) => ({ hostId, codexId, finished: [], stopWaiters: [] }));
  /** fileChange items seen in item/started, for the approval that follows. */
  private readonly fileItems = new Map<string, FileChangeInfo[]>();
  /** Output streamed per command item, to fill in what deltas missed. */
  private readonly streamed = new Map<string, string>();
  private readonly commands = new OpenCommands({
    emit: (hostId, event) => this.emit(hostId, event),
    save: (hostId, open) => {
      if (!this.store.get(hostId)) return;
      this.store.setOpenCommands(hostId, open).catch((error: Error) => this.host.log(`codex: saving threads failed: ${error.message}`));
    },
    closed: (itemId) => this.streamed.delete(itemId),
  });
  /** Reasoning summary parts streamed so far, per item (emitted as each part ends), and their length. */
  private readonly reasoning = new Map<string, { parts: string[]; length: number }>();
  /** The tool.call last emitted per running MCP call, for its progress events. */
  private readonly toolCalls = new Map<string, Extract<ThreadEvent, { kind: "tool.call" }>>();
  /**
   * The running turn's latest aggregated diff, per host thread: Codex resends the whole
   * diff after every change, so it is sent once, when the turn ends.
   */
  private readonly turnDiffs = new Map<string, ThreadEvent>();
  /** Rate-limit warnings already given (account-wide). */
  private readonly rateLimitState = new Map<string, number>();

  constructor(private readonly options: CodexAgentOptions = {}) {
    this.binary = options.binary ?? resolveCodexBinary();
    this.approvalPolicy = options.approvalPolicy ?? "untrusted";
    this.sandbox = options.sandbox ?? "read-only";
    this.child = new ProcessSupervisor<Running>({
      adapter: "Codex",
      name: () => "Codex app-server",
      child: "app-server",
      logPrefix: "codex",
      restartDelayMs: options.restartDelayMs ?? 500,
      spawn: (gen, onExit) => this.spawn(gen, onExit),
      isOpen: (running) => !running.proc.peer.closed,
      pid: (running) => running.proc.pid,
      stop: (running, graceMs) => running.proc.stop(graceMs),
      onCrash: (running, why) => this.onCrash(running, why),
      log: (line) => this.host.log(line),
    });
    for (const key of Object.keys(options.config ?? {})) {
      if (!/^[A-Za-z0-9_.-]{1,200}$/.test(key)) throw new Error(`codex: invalid config key ${JSON.stringify(key)}`);
    }
  }

  // ---------------------------------------------------------------- lifecycle

  async start(context: AgentStartContext): Promise<void> {
    this.host = context.host;
    this.store = new ThreadStore(context.dataDir, (line) => this.host.log(line));
    await this.store.load();
    for (const [hostId, record] of this.store.all()) this.threads.link(record.codexThreadId, hostId);
    this.closeLeftoverCommands();
    try {
      await this.child.start();
    } catch (error) {
      throw new AgentError("AGENT_UNAVAILABLE", `codex app-server did not start: ${(error as Error).message}`);
    }
    try {
      await this.listModels();
    } catch (error) {
      this.host.log(`codex: model/list failed: ${(error as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await this.child.close();
    await this.events.settled;
    await this.store?.flush();
  }

  /**
   * Commands a previous run of the host left running: their app-server is gone,
   * they will never finish through Codex. Report them ended, once.
   */
  private closeLeftoverCommands(): void {
    for (const [hostId, record] of this.store.all()) {
      this.commands.restore(hostId, record.openCommands ?? [], "the host restarted while it ran, so Codex cannot report how it ended.");
    }
  }

  /** Test hook: the current app-server's pid (to simulate crashes). */
  get appServerPid(): number | undefined {
    return this.child.running?.proc.pid;
  }

  private args(): string[] {
    const args: string[] = [];
    for (const [key, value] of Object.entries(this.options.config ?? {})) args.push("-c", `${key}=${value}`);
    if (this.options.userInput !== false) {
      args.push("--enable", "default_mode_request_user_input", "-c", "suppress_unstable_features_warning=true");
    }
    return args;
  }

  private async spawn(gen: number, onExit: (how: string) => void): Promise<Running> {
    const env: NodeJS.ProcessEnv = { ...(this.options.env ?? process.env), RUST_LOG: "warn" };
    if (this.options.codexHome) env.CODEX_HOME = this.options.codexHome;
    const proc = new CodexProcess({
      binary: this.binary,
      args: this.args(),
      env,
      log: (line) => this.host.log(line),
      onNotification: (method, params) => this.onNotification(gen, method, params),
      onRequest: (method, params) => this.onRequest(gen, method, params),
      ...(this.options.requestTimeoutMs ? { requestTimeoutMs: this.options.requestTimeoutMs } : {}),
    });
    proc.exited
      .then((info) => onExit(describeExit(info)))
      .catch((error: unknown) => this.host.log(`codex: handling the app-server's exit failed: ${String(error)}`));
    try {
      const version = await proc.initialize(VERSION);
      if (version) this.info.version = version;
    } catch (error) {
      proc.kill();
      throw error;
    }
    return { proc, gen };
  }

  /** The app-server died: what it ran and asked can no longer finish or be answered. */
  private onCrash(running: Running, why: string): void {
    // Commands the dead process ran will never finish through Codex.
    for (const hostId of this.commands.threads()) this.commands.close(hostId, `${why}.`);
    for (const live of this.threads.unload(running.gen)) {
      // Approvals and questions the dead process asked can no longer be acted on:
      // close them now instead of leaving them open until the policy's timeout.
      this.host.withdraw(live.hostId, why);
      const turnId = live.turnId;
      if (turnId === undefined) continue;
      this.flushTurnDiff(live.hostId);
      this.finishTurn(live, turnId);
      this.emit(live.hostId, { kind: "notice", level: "error", text: `${why}; it is restarting and the thread will resume.` });
      this.emit(live.hostId, { kind: "turn.status", turnId: safeId(turnId), status: "failed", error: why });
      this.setStatus(live.hostId, "failed");
    }
    this.fileItems.clear();
    this.streamed.clear();
    this.reasoning.clear();
    this.toolCalls.clear();
  }

  /** The live process, waiting (bounded) for a restart in progress. */
  private current(): Promise<Running> {
    return this.child.current();
  }

  private async rpc<T>(running: Running, method: string, params: unknown, timeoutMs?: number): Promise<T> {
    try {
      return await running.proc.peer.request<T>(method, params, timeoutMs);
    } catch (error) {
      if (error instanceof RpcError && (error.code === PEER_CLOSED || error.code === REQUEST_TIMEOUT)) {
        throw new AgentError("AGENT_UNAVAILABLE", error.message);
      }
      if (error instanceof RpcError) throw new AgentError("AGENT_ERROR", clip(error.message, 1024));
      throw error;
    }
  }

  // ---------------------------------------------------------------- Agent API

  async listModels(): Promise<ModelInfo[]> {
    const running = await this.current();
    const all: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await this.rpc<unknown>(running, "model/list", cursor ? { cursor } : {});
      if (!isObject(res) || !Array.isArray(res.data)) break;
      all.push(...res.data);
      cursor = str(res.nextCursor);
      if (!cursor) break;
    }
    const { models, defaultModel } = toModels(all);
    if (defaultModel) this.defaultModel = defaultModel;
    return models;
  }

  async listThreads(): Promise<AgentThreadInfo[]> {
    return this.store.all().map(([threadId, r]) => ({ threadId, title: r.title, updatedAt: r.updatedAt }));
  }

  async readThread(threadId: string): Promise<ThreadEvent[]> {
    const record = this.record(threadId);
    const running = await this.current();
    const res = await this.rpc<unknown>(running, "thread/read", { threadId: record.codexThreadId, includeTurns: true });
    return readThreadEvents(res, record.cwd).filter(isValidEvent);
  }

  async startThread(threadId: string, prompt: string, options: StartThreadOptions): Promise<void> {
    if (this.store.get(threadId)) throw new AgentError("THREAD_EXISTS", `thread ${threadId} already exists`);
    const running = await this.current();
    const res = await this.rpc<unknown>(running, "thread/start", {
      cwd: options.cwd,
      approvalPolicy: this.approvalPolicy,
      sandbox: this.sandbox,
      ...(options.model ? { model: options.model } : {}),
    });
    const codexId = isObject(res) && isObject(res.thread) ? str(res.thread.id) : undefined;
    if (!codexId) throw new AgentError("AGENT_ERROR", "thread/start returned no thread id");
    const now = Date.now();
    await this.store.put(threadId, {
      codexThreadId: codexId,
      cwd: options.cwd,
      title: clip(prompt.split("\n")[0]?.trim() || "Codex thread", 200),
      ...(options.model ? { model: options.model } : {}),
      ...(options.effort ? { effort: options.effort } : {}),
      createdAt: now,
      updatedAt: now,
    });
    const live = this.threads.open(threadId, codexId);
    live.loadedIn = running.gen;
    await this.startTurn(running, live, prompt, {});
  }

  async resumeThread(threadId: string): Promise<void> {
    await this.ensureLoaded(threadId);
  }

  async sendMessage(threadId: string, text: string, settings: TurnSettings): Promise<void> {
    const { running, live } = await this.ensureLoaded(threadId);
    if (live.turnId !== undefined) throw new AgentError("TURN_RUNNING", "a turn is running; steer or interrupt it");
    await this.startTurn(running, live, text, settings);
  }

  async steer(threadId: string, text: string): Promise<void> {
    const { running, live } = await this.ensureLoaded(threadId);
    const turnId = live.turnId;
    if (turnId !== undefined) {
      try {
        await running.proc.peer.request("turn/steer", { threadId: live.codexId, input: textInput(text), expectedTurnId: turnId });
        return;
      } catch (error) {
        // The turn may have ended between our check and Codex's: fall through to a new turn.
        if (!(error instanceof RpcError) || error.code === PEER_CLOSED || error.code === REQUEST_TIMEOUT)
          throw new AgentError("AGENT_UNAVAILABLE", (error as Error).message);
        this.host.log(`codex: turn/steer refused (${clip(error.message, 200)}); starting a new turn`);
      }
    }
    await this.startTurn(running, live, text, {});
  }

  async interrupt(threadId: string): Promise<void> {
    this.record(threadId);
    const live = this.threads.get(threadId);
    const turnId = live?.turnId;
    const running = this.child.running;
    if (!live || turnId === undefined || !running || live.loadedIn !== running.gen) {
      throw new AgentError("TURN_NOT_RUNNING", "no turn is running in this thread");
    }
    const stopped = new Promise<void>((resolve) => live.stopWaiters.push(resolve));
    await this.rpc(running, "turn/interrupt", { threadId: live.codexId, turnId });
    // turn/interrupt does not stop a command that already runs in the background (past
    // its yield time): Codex keeps it as a background terminal. Cleaning those kills it,
    // and its item completes as failed.
    try {
      await this.rpc(running, "thread/backgroundTerminals/clean", { threadId: live.codexId });
    } catch (error) {
      this.host.log(`codex: stopping the thread's running commands failed: ${clip((error as Error).message, 300)}`);
    }
    const timeoutMs = this.options.interruptTimeoutMs ?? 15_000;
    const confirmed = await settlesWithin(stopped, timeoutMs);
    if (!confirmed && live.turnId === turnId) {
      // Codex never confirmed: report it stopped so the device is not stuck on "running".
      this.host.log(`codex: turn/interrupt not confirmed within ${timeoutMs} ms`);
      this.flushTurnDiff(threadId);
      this.finishTurn(live, turnId);
      this.emit(threadId, { kind: "turn.status", turnId: safeId(turnId), status: "interrupted", error: "Codex did not confirm the interrupt" });
      this.setStatus(threadId, "idle");
    }
    // A command stopped inside its yield time is killed without an item/completed:
    // close what Codex does not end itself, so devices do not show it running forever.
    await this.commands.waitEnd(threadId, COMMAND_END_GRACE_MS);
    this.commands.close(threadId, "The interrupt stopped this command; Codex did not report how it ended.");
    await this.events.settled;
  }

  async setSettings(threadId: string, settings: TurnSettings): Promise<void> {
    this.record(threadId);
    await this.store.setSettings(threadId, settings);
  }

  // ---------------------------------------------------------------- threads and turns

  private record(threadId: string): ThreadRecord {
    const record = this.store?.get(threadId);
    if (!record) throw new AgentError("THREAD_NOT_FOUND", `no Codex thread for ${threadId}`);
    return record;
  }

  /** The thread loaded in the current app-server (thread/resume when it is not). */
  private async ensureLoaded(threadId: string): Promise<{ running: Running; live: LiveThread }> {
    const record = this.record(threadId);
    const live = this.threads.open(threadId, record.codexThreadId);
    const running = await ensureLoaded(live, {
      current: () => this.current(),
      isLive: (running) => this.child.running === running,
      load: (running) =>
        this.rpc(running, "thread/resume", {
          threadId: record.codexThreadId,
          cwd: record.cwd,
          approvalPolicy: this.approvalPolicy,
          sandbox: this.sandbox,
          excludeTurns: true,
        }).then(() => {
          if (this.child.running === running) live.loadedIn = running.gen;
        }),
      failure: "could not resume the Codex thread",
    });
    return { running, live };
  }

  private async startTurn(running: Running, live: LiveThread, text: string, settings: TurnSettings): Promise<void> {
    const record = this.record(live.hostId);
    const model = settings.model ?? record.model;
    const effort = settings.effort ?? record.effort;
    const res = await this.rpc<unknown>(running, "turn/start", {
      threadId: live.codexId,
      input: textInput(text),
      ...(model ? { model } : {}),
      ...(effort ? { effort } : {}),
    });
    const turnId = isObject(res) && isObject(res.turn) ? str(res.turn.id) : undefined;
    if (turnId && !live.finished.includes(turnId) && this.child.running === running) live.turnId = turnId;
    if (model) {
      live.switching = live.model !== undefined && live.model !== model ? { from: live.model, to: model } : undefined;
      live.model = model;
    }
    void this.store.update(live.hostId, {}).catch((error: Error) => this.host.log(`codex: saving threads failed: ${error.message}`));
  }

  private finishTurn(live: LiveThread, turnId: string): void {
    if (live.turnId === turnId) live.turnId = undefined;
    live.switching = undefined;
    live.finished.push(turnId);
    if (live.finished.length > 20) live.finished.shift();
    for (const wake of live.stopWaiters.splice(0)) wake();
  }

  // ---------------------------------------------------------------- output to the host

  /** Queued in arrival order; an event the schema rejects is logged, never thrown. */
  private emit(hostId: string, event: ThreadEvent): void {
    this.events.emit(hostId, event);
  }

  private emitLater(hostId: string, make: () => Promise<ThreadEvent[]>): void {
    this.events.emitLater(hostId, make);
  }

  private setStatus(hostId: string, status: ThreadStatus): void {
    this.events.status(hostId, status);
  }

  // ---------------------------------------------------------------- notifications

  private onNotification(gen: number, method: string, params: unknown): void {
    if (gen !== this.child.gen || !isObject(params)) return;
    const codexId = str(params.threadId);
    const hostId = this.threads.hostIdOf(codexId);
    if (method === "configWarning" || method === "deprecationNotice" || (method === "warning" && !hostId)) {
      const text = str(params.summary) ?? str(params.message);
      // eslint-disable-next-line no-control-regex -- controls in a Codex message become spaces in the log line
      if (text) this.host.log(`codex: ${logName(method)}: ${clip(text.replace(/[\x00-\x1f\x7f]/g, " "), 500)}`);
      return;
    }
    if (method === "account/rateLimits/updated") {
      this.onRateLimits(params.rateLimits);
      return;
    }
    if (!hostId) return;
    const live = this.threads.get(hostId);
    switch (method) {
      case "turn/started":
      case "turn/completed":
        if (live) this.onTurn(live, method, params);
        return;
      case "item/started":
      case "item/completed":
        this.onItem(hostId, method === "item/started", params.item);
        return;
      case "item/agentMessage/delta": {
        const itemId = safeId(params.itemId);
        for (const text of pieces(str(params.delta) ?? "", 65536)) this.emit(hostId, { kind: "message.delta", itemId, text });
        return;
      }
      case "item/commandExecution/outputDelta": {
        const itemId = safeId(params.itemId);
        const delta = str(params.delta) ?? "";
        const seen = this.streamed.get(itemId);
        if (seen !== undefined && seen.length < MAX_STREAMED_OUTPUT) this.streamed.set(itemId, seen + delta);
        for (const chunk of pieces(delta, 65536)) this.emit(hostId, { kind: "command.output", itemId, stream: "stdout", chunk });
        return;
      }
      case "item/reasoning/summaryPartAdded": {
        // A new part starts: the parts before it are complete, show them.
        const itemId = safeId(params.itemId);
        const r = this.reasoning.get(itemId) ?? { parts: [], length: 0 };
        const text = reasoningText(r.parts);
        if (text) this.emit(hostId, { kind: "reasoning", itemId, text });
        if (r.parts.length < 100) r.parts.push("");
        this.track(this.reasoning, itemId, r);
        return;
      }
      case "item/reasoning/summaryTextDelta": {
        const itemId = safeId(params.itemId);
        const r = this.reasoning.get(itemId) ?? { parts: [""], length: 0 };
        const delta = str(params.delta) ?? "";
        // Past the event's limit the rest is dropped (the completed item still carries the whole summary).
        if (r.length < 65_536) {
          r.parts[r.parts.length - 1] += delta;
          r.length += delta.length;
        }
        this.track(this.reasoning, itemId, r);
        return;
      }
      case "item/mcpToolCall/progress": {
        const itemId = safeId(params.itemId);
        const call = this.toolCalls.get(itemId);
        const message = str(params.message);
        if (call && message) this.emit(hostId, { ...call, status: "running", output: clip(message, 65_536) });
        return;
      }
      case "turn/diff/updated": {
        const event = turnDiffEvent(params.turnId, params.diff);
        if (event) this.turnDiffs.set(hostId, event);
        return;
      }
      case "model/rerouted": {
        const event = rerouteNotice(params);
        if (event) this.emit(hostId, event);
        return;
      }
      case "item/fileChange/patchUpdated":
        this.rememberFiles(safeId(params.itemId), toFileChanges(params.changes, this.store.get(hostId)?.cwd));
        return;
      case "turn/plan/updated": {
        const event = planEvent(params.plan);
        if (event) this.emit(hostId, event);
        return;
      }
      case "thread/tokenUsage/updated": {
        const event = usageEvent(params.tokenUsage);
        if (event) this.emit(hostId, event);
        return;
      }
      case "error": {
        const message = isObject(params.error) ? str(params.error.message) : undefined;
        const retry = params.willRetry === true;
        this.emit(hostId, {
          kind: "notice",
          level: retry ? "warning" : "error",
          text: clip(`Codex: ${message ?? "error"}${retry ? " (retrying)" : ""}`, 4096),
        });
        return;
      }
      case "warning":
        this.emit(hostId, { kind: "notice", level: "warning", text: clip(`Codex: ${str(params.message) ?? "warning"}`, 4096) });
        return;
      default:
        return;
    }
  }

  private onTurn(live: LiveThread, method: string, params: Record<string, unknown>): void {
    const turn = isObject(params.turn) ? params.turn : undefined;
    const turnId = turn ? str(turn.id) : undefined;
    if (!turn || !turnId) return;
    if (method === "turn/started") {
      if (!live.finished.includes(turnId)) live.turnId = turnId;
      this.emit(live.hostId, { kind: "turn.status", turnId: safeId(turnId), status: "started" });
      this.setStatus(live.hostId, "running");
      return;
    }
    const status = turn.status === "interrupted" ? "interrupted" : turn.status === "failed" ? "failed" : "completed";
    const error = turnError(turn);
    this.flushTurnDiff(live.hostId);
    this.finishTurn(live, turnId);
    this.emit(live.hostId, { kind: "turn.status", turnId: safeId(turnId), status, ...(error ? { error } : {}) });
    this.setStatus(live.hostId, status === "failed" ? "failed" : "idle");
  }

  private onItem(hostId: string, started: boolean, item: unknown): void {
    if (!isObject(item)) return;
    const itemId = safeId(item.id);
    switch (item.type) {
      case "userMessage":
        if (started) this.emit(hostId, { kind: "message.user", itemId, text: clip(userText(item.content), 65536) });
        return;
      case "agentMessage":
        if (!started) this.emit(hostId, { kind: "message.completed", itemId, text: clip(str(item.text) ?? "", 262144) });
        return;
      case "commandExecution":
        if (started) {
          this.track(this.streamed, itemId, "");
          this.commands.started(hostId, itemId);
          this.emit(hostId, {
            kind: "command.started",
            itemId,
            command: clip(displayCommand(str(item.command) ?? ""), 8192),
            cwd: clip(str(item.cwd) ?? "", 1024),
          });
        } else {
          this.finishCommand(hostId, itemId, item);
        }
        return;
      case "reasoning": {
        if (started) return;
        const streamed = this.reasoning.get(itemId);
        this.reasoning.delete(itemId);
        const text = reasoningText(item.summary) || reasoningText(streamed?.parts);
        if (text) this.emit(hostId, { kind: "reasoning", itemId, text });
        return;
      }
      case "webSearch":
      case "mcpToolCall":
      case "imageView":
      case "imageGeneration": {
        const event = toolCallEvent(item, started);
        if (!event) return;
        if (item.type === "mcpToolCall") {
          if (started) this.track(this.toolCalls, itemId, event);
          else this.toolCalls.delete(itemId);
        }
        this.emit(hostId, event);
        if (!started) this.emitImage(hostId, itemId, item);
        return;
      }
      case "contextCompaction": {
        if (started) return;
        const live = this.threads.get(hostId);
        this.emit(hostId, compactionNotice(live?.switching));
        return;
      }
      case "fileChange": {
        const files = toFileChanges(item.changes, this.store.get(hostId)?.cwd);
        if (started) {
          this.rememberFiles(itemId, files);
          return;
        }
        this.fileItems.delete(itemId);
        if (item.status === "completed") for (const event of fileChangeEvents(itemId, files)) this.emit(hostId, event);
        else
          this.emit(hostId, {
            kind: "notice",
            level: "info",
            text: `File change ${item.status === "declined" ? "declined" : "not applied"}: ${clip(files.map((f) => f.path).join(", "), 3000)}`,
          });
        return;
      }
      default:
        return;
    }
  }

  private flushTurnDiff(hostId: string): void {
    const diff = this.turnDiffs.get(hostId);
    this.turnDiffs.delete(hostId);
    if (diff) this.emit(hostId, diff);
  }

  /** The image an imageView or imageGeneration item showed or made, as `image` events. */
  private emitImage(hostId: string, itemId: string, item: Record<string, unknown>): void {
    const inline = item.type === "imageGeneration" ? base64Image(item.result) : undefined;
    const path = item.type === "imageView" ? str(item.path) : item.type === "imageGeneration" ? str(item.savedPath) : undefined;
    if (!inline && !path) return;
    this.emitLater(hostId, async () => {
      const bytes = inline ?? (path ? await readImageFile(path) : undefined);
      const events = bytes ? imageEvents(itemId, bytes) : [];
      if (bytes && events.length === 0) this.host.log(`codex: image of ${itemId} not sent (not PNG, JPEG or WebP, or too large)`);
      return events;
    });
  }

  /** Account-wide rate-limit warnings go to the threads with a running turn (else only to the log). */
  private onRateLimits(rateLimits: unknown): void {
    const notices = rateLimitNotices(this.rateLimitState, rateLimits);
    if (notices.length === 0) return;
    const running = [...this.threads.values()].filter((t) => t.turnId !== undefined);
    for (const notice of notices) {
      if (notice.kind === "notice") this.host.log(`codex: ${notice.text}`);
      for (const live of running) this.emit(live.hostId, notice);
    }
  }

  private finishCommand(hostId: string, itemId: string, item: Record<string, unknown>): void {
    if (!this.commands.finished(hostId, itemId)) {
      // Already reported finished by the adapter (interrupt, crash): once is enough.
      this.streamed.delete(itemId);
      return;
    }
    // Codex does not stream every chunk as a delta (the first one often comes only in
    // aggregatedOutput): emit what the deltas missed so the device sees the whole output.
    const aggregated = str(item.aggregatedOutput) ?? "";
    const seen = this.streamed.get(itemId) ?? "";
    this.streamed.delete(itemId);
    let missing = "";
    if (aggregated.length > seen.length) {
      if (aggregated.startsWith(seen)) missing = aggregated.slice(seen.length);
      else if (aggregated.endsWith(seen)) missing = aggregated.slice(0, aggregated.length - seen.length);
      else if (seen === "") missing = aggregated;
    }
    for (const chunk of pieces(missing, 65536)) this.emit(hostId, { kind: "command.output", itemId, stream: "stdout", chunk });
    this.emit(hostId, {
      kind: "command.finished",
      itemId,
      exitCode: item.status === "declined" ? null : exitCode(item.exitCode),
      durationMs: nonNegInt(item.durationMs, 0),
    });
  }

  private rememberFiles(itemId: string, files: FileChangeInfo[]): void {
    if (files.length > 0) this.track(this.fileItems, itemId, files);
  }

  /** Bounded per-item state: the oldest entry goes when a turn leaves items unfinished. */
  private track<V>(map: Map<string, V>, key: string, value: V): void {
    map.set(key, value);
    if (map.size > MAX_TRACKED_ITEMS) map.delete(map.keys().next().value as string);
  }

  // ---------------------------------------------------------------- server requests

  /** A Codex server request, answered through the host's broker (approvals.ts). */
  private async onRequest(gen: number, method: string, rawParams: unknown): Promise<unknown> {
    const { params, codexId } = checkRequest(method, rawParams);
    const hostId = this.threads.hostIdOf(codexId);
    if (!hostId || codexId === undefined) throw new RpcError(-32602, "unknown thread");
    const record = this.record(hostId);
    // Events that precede the request (command.started, …) reach the host first.
    await this.events.settled;
    const result = await answerRequest(method, params, {
      host: this.host,
      hostId,
      cwd: record.cwd,
      files: (itemId) => this.fileItems.get(itemId) ?? [],
      cancelTurn: (turnId) => this.interruptLater(gen, codexId, turnId),
    });
    if (gen !== this.child.gen || this.child.running?.gen !== gen) {
      // The app-server that asked is gone: its pipe is closed, the answer goes nowhere.
      this.host.log(`codex: dropping the answer to ${logName(method)}: its app-server has exited`);
    }
    return result;
  }

  private interruptLater(gen: number, codexId: string, turnId: string): void {
    setTimeout(() => {
      const running = this.child.running;
      if (!running || running.gen !== gen) return;
      running.proc.peer
        .request("turn/interrupt", { threadId: codexId, turnId })
        .catch((error: Error) => this.host.log(`codex: interrupt after cancel failed: ${error.message}`));
    }, 0);
  }
}

export function createCodexAgent(options: CodexAgentOptions = {}): CodexAgent {
  return new CodexAgent(options);
}

function textInput(text: string): unknown[] {
  return [{ type: "text", text, text_elements: [] }];
}
