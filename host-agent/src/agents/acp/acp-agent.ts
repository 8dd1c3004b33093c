// The ACP adapter: drives any Agent Client Protocol agent (a subprocess that
// speaks JSON-RPC over stdio) with the official SDK, `@agentclientprotocol/sdk`.
//
// - Host thread ids map to ACP session ids (session-store.ts, under dataDir).
//   A session not loaded in the current agent process is reattached lazily
//   with `session/load` (its replayed history is kept for readThread, never
//   re-emitted) or `session/resume`.
// - Right after `session/new`/`session/load`, a session in a mode that runs
//   tools without asking (Claude Code starts in "auto") is switched to the
//   asking mode ("default"); a later switch to such a mode is undone. Without
//   that, tool calls would bypass Airlock's approvals.
// - `session/update` notifications become ThreadEvents, emitted strictly in
//   arrival order through one queue: message chunks are assembled into
//   message.delta/message.completed, execute tool calls into command.*, diffs
//   (old/new text) into unified diffs, plan entries into plan.update.
// - `session/request_permission` goes to the host's broker (approvals.ts maps
//   the tool call onto an ask and the verdict onto the agent's options).
//   Requests open when a turn is cancelled are answered `cancelled`.
// - If the agent process dies, running turns fail, open requests are
//   withdrawn, and the supervisor (../supervisor.ts) restarts it with backoff.
// ACP has no steering, no questions to the user and no token counts: the
// adapter declares what it can do in `capabilities` so apps hide the rest.
import { spawn, type ChildProcess } from "node:child_process";
import { Readable, Writable } from "node:stream";
import type { ModelInfo, ThreadEvent } from "@airlock/protocol";
import { client, ndJsonStream, PROTOCOL_VERSION, RequestError, type ClientConnection } from "@agentclientprotocol/sdk";
import {
  AgentError,
  type Agent,
  type AgentHost,
  type AgentStartContext,
  type AgentThreadInfo,
  type StartThreadOptions,
  type TurnSettings,
} from "../../agent.ts";
import { isValidEvent, pieces } from "../payload.ts";
import {
  chunkText,
  clip,
  commandOf,
  configSelects,
  diffsOf,
  exitCodeOf,
  fileChangeEvents,
  fileChanges,
  isObject,
  locationsOf,
  modelsOf,
  modesOf,
  NON_ASKING_MODES,
  planEvent,
  reasonOf,
  safeId,
  str,
  textOf,
  toolKind,
  toolStatus,
  type ConfigSelect,
  type ToolKind,
  type ToolStatus,
} from "./mapping.ts";
import { SessionStore, type SessionRecord } from "./session-store.ts";
import { pipeLines } from "../stderr-lines.ts";
import { CANCELLED, permissionAsk, permissionOptions, permissionOutcome, type PermissionOutcome } from "./approvals.ts";
import { ProcessSupervisor } from "../supervisor.ts";
import { HostEventQueue, type ThreadStatus } from "../event-queue.ts";
import { ensureLoaded, LoadedThreads, type LoadedThread } from "../loaded-threads.ts";
import { settlesWithin } from "../settles-within.ts";

export interface AcpAgentOptions {
  /** The agent's executable and arguments (it must speak ACP on stdio). */
  command: string;
  args?: string[];
  /** Agent kind in host.info ("acp", "claude", …). */
  kind?: string;
  /** Human-readable name ("Claude Code"). Default: the command's name. */
  label?: string;
  /** Environment of the child; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The mode that asks before running tools; default "default". */
  askMode?: string;
  /** Bound of the first restart delay after a crash (full jitter); doubles per consecutive crash up to 30 s. Default 500. */
  restartDelayMs?: number;
  /** Timeout of one request other than session/prompt. Default 60 s. */
  requestTimeoutMs?: number;
  /** How long interrupt() waits for the agent to end the turn. Default 15 s. */
  interruptTimeoutMs?: number;
}

const VERSION = "0.1.0";
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const MAX_TOOLS = 1000;
const MAX_OUTPUT = 1024 * 1024;
const MAX_MESSAGE_TEXT = 262144;
const MAX_HISTORY = 5000;

interface Tool {
  itemId: string;
  kind?: ToolKind | undefined;
  title: string;
  status: ToolStatus;
  rawInput?: unknown;
  rawOutput?: unknown;
  content?: unknown;
  locations: string[];
  startedAt?: number | undefined;
  /** Output already emitted (a prefix of the tool's text content). */
  sent: string;
  finished: boolean;
  changesEmitted: boolean;
}

interface Turn {
  id: string;
  cancelling: boolean;
  ended: boolean;
  done: Promise<void>;
  /** Resolvers of permission requests open in this turn (answered "cancelled" on interrupt). */
  open: Set<() => void>;
}

interface LiveSession extends LoadedThread {
  sessionId: string;
  /** session/load in progress: updates are history, not live events. */
  replaying: boolean;
  history: ThreadEvent[];
  turn?: Turn | undefined;
  message?: { itemId: string; text: string } | undefined;
  tools: Map<string, Tool>;
  selects: ConfigSelect[];
  mode?: string | undefined;
  modeIds: string[];
  /** How the agent offers modes: `modes` (session/set_mode) or a "mode" config option. */
  modeVia?: "modes" | "config" | undefined;
}

interface Running {
  proc: ChildProcess;
  conn: ClientConnection;
  gen: number;
  stopping: boolean;
  exited: Promise<void>;
  loadSession: boolean;
  resume: boolean;
}

let idCounter = 0;
function newId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${(++idCounter).toString(36)}`;
}

export class AcpAgent implements Agent {
  readonly info: { kind: string; label: string; version?: string };
  private host!: AgentHost;
  private store!: SessionStore;
  private readonly child: ProcessSupervisor<Running>;
  private readonly events: HostEventQueue;
  private canResume = false;
  private readonly sessions = new LoadedThreads<LiveSession>((hostId, sessionId) => ({
    hostId,
    sessionId,
    replaying: false,
    history: [],
    tools: new Map(),
    selects: [],
    modeIds: [],
  }));
  private readonly askMode: string;

  constructor(private readonly options: AcpAgentOptions) {
    if (!options.command) throw new Error("acp: no agent command given");
    const name = options.command.split(/[\\/]/).pop() || "acp";
    this.info = { kind: options.kind ?? "acp", label: clip(options.label ?? name, 128) };
    this.events = new HostEventQueue(() => this.host, "acp");
    this.child = new ProcessSupervisor<Running>({
      adapter: "ACP",
      name: () => this.info.label,
      child: "agent",
      logPrefix: this.info.kind,
      restartDelayMs: options.restartDelayMs ?? 500,
      spawn: (gen, onExit) => this.spawn(gen, onExit),
      isOpen: (running) => !running.conn.signal.aborted,
      pid: (running) => running.proc.pid,
      stop: (running, graceMs) => this.stopProcess(running, graceMs),
      onCrash: (running, why) => this.onCrash(running, why),
      log: (line) => this.host.log(line),
    });
    this.askMode = options.askMode ?? "default";
  }

  /** What this agent can do beyond the base protocol (host.info capabilities): no steering, questions or token usage in ACP. */
  get capabilities(): string[] {
    return ["agent.interrupt", ...(this.canResume ? ["agent.resume"] : [])];
  }

  // ---------------------------------------------------------------- lifecycle

  async start(context: AgentStartContext): Promise<void> {
    this.host = context.host;
    this.store = new SessionStore(context.dataDir, (line) => this.host.log(line));
    await this.store.load();
    for (const [hostId, record] of this.store.all()) this.sessions.link(record.sessionId, hostId);
    try {
      await this.child.start();
    } catch (error) {
      throw new AgentError("AGENT_UNAVAILABLE", `${this.info.label} did not start: ${(error as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await this.child.close();
    await this.events.settled;
    // Session writes still in flight land before close() resolves (as in the Codex adapter).
    await this.store?.flush();
  }

  /** Test hook: the agent process's pid. */
  get agentPid(): number | undefined {
    return this.child.running?.proc.pid;
  }

  private async spawn(gen: number, onExit: (how: string) => void): Promise<Running> {
    const proc = spawn(this.options.command, this.options.args ?? [], {
      env: this.options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: process.platform !== "win32",
    });
    const { stdin, stdout, stderr } = proc;
    if (!stdin || !stdout || !stderr) throw new Error("no stdio pipes");
    stdin.on("error", () => undefined); // EPIPE after the agent died: its exit is handled below
    pipeLines(stderr, (line) => this.host.log(`${this.info.kind}: ${line}`));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: string }>((resolve) => {
      proc.once("error", (error) => resolve({ code: null, signal: null, error: error.message }));
      proc.once("exit", (code, signal) => resolve({ code, signal }));
    });
    const stream = ndJsonStream(Writable.toWeb(stdin) as WritableStream<Uint8Array>, Readable.toWeb(stdout) as ReadableStream<Uint8Array>, {
      maxMessageBytes: MAX_MESSAGE_BYTES,
    });
    const app = client({ name: "airlock" })
      .onRequest("session/request_permission", ({ params, signal }) => this.onPermission(gen, params, signal))
      .onNotification("session/update", ({ params }) => this.onUpdate(gen, params));
    const conn = app.connect(stream);
    const running: Running = {
      proc,
      conn,
      gen,
      stopping: false,
      exited: Promise.resolve(),
      loadSession: false,
      resume: false,
    };
    // Settles once the exit is handled (turns failed with the reason, restart scheduled).
    running.exited = exited
      .then((info) => {
        conn.close(new Error("the agent exited"));
        onExit(info.error ? `could not run ${this.options.command}: ${info.error}` : info.signal ? `signal ${info.signal}` : `code ${info.code ?? "unknown"}`);
      })
      .catch((error: unknown) => this.host.log(`acp: handling the agent's exit failed: ${String(error)}`));
    try {
      const res = await this.request<unknown>(
        running,
        "initialize",
        {
          protocolVersion: PROTOCOL_VERSION,
          clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
          clientInfo: { name: "airlock", title: "Airlock", version: VERSION },
        },
        30_000,
      );
      if (isObject(res)) {
        const caps = isObject(res.agentCapabilities) ? res.agentCapabilities : {};
        running.loadSession = caps.loadSession === true;
        running.resume = isObject(caps.sessionCapabilities) && isObject(caps.sessionCapabilities.resume);
        const info = isObject(res.agentInfo) ? res.agentInfo : undefined;
        const version = info ? str(info.version) : undefined;
        if (version && /^[0-9A-Za-z.+-]{1,64}$/.test(version)) this.info.version = version;
        if (!this.options.label && info && str(info.title)) this.info.label = clip(str(info.title)!, 128);
      }
      this.canResume = running.loadSession || running.resume;
    } catch (error) {
      this.kill(running);
      throw error;
    }
    return running;
  }

  private kill(running: Running, signal: NodeJS.Signals = "SIGKILL"): void {
    running.stopping = true;
    const pid = running.proc.pid;
    if (pid === undefined) return;
    try {
      // The agent's own children (its model CLI, commands it runs) go with it.
      if (process.platform !== "win32") process.kill(-pid, signal);
      else running.proc.kill(signal);
    } catch {
      running.proc.kill(signal);
    }
  }

  private async stopProcess(running: Running, graceMs: number): Promise<void> {
    running.stopping = true;
    running.conn.close();
    running.proc.stdin?.end();
    this.kill(running, "SIGTERM");
    const timer = setTimeout(() => this.kill(running, "SIGKILL"), graceMs);
    await running.exited;
    clearTimeout(timer);
    // Whatever is left of its process group.
    this.kill(running, "SIGKILL");
  }

  /** The agent died: its turns fail and what it asked can no longer be answered. */
  private onCrash(running: Running, why: string): void {
    for (const live of this.sessions.unload(running.gen)) {
      this.host.withdraw(live.hostId, why);
      const turn = live.turn;
      if (!turn) continue;
      this.emit(live.hostId, { kind: "notice", level: "error", text: `${why}; it is restarting and the thread will resume.` });
      this.endTurn(live, turn, "failed", why);
    }
  }

  private current(): Promise<Running> {
    return this.child.current();
  }

  /** One request with a timeout; errors become AgentErrors. timeoutMs 0: none (session/prompt). */
  private async request<T>(running: Running, method: string, params: unknown, timeoutMs = this.options.requestTimeoutMs ?? 60_000): Promise<T> {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs > 0) timer = setTimeout(() => abort.abort(new Error(`${method} timed out after ${timeoutMs} ms`)), timeoutMs);
    try {
      return await running.conn.agent.request<T>(method, params, { cancellationSignal: abort.signal, stopWaitingOnCancel: true });
    } catch (error) {
      if (abort.signal.aborted || running.conn.signal.aborted)
        throw new AgentError("AGENT_UNAVAILABLE", `${this.info.label}: ${method} failed (${abort.signal.aborted ? "timed out" : "the agent exited"})`);
      if (error instanceof RequestError) throw new AgentError("AGENT_ERROR", clip(`${this.info.label}: ${error.message}`, 1024));
      throw new AgentError("AGENT_ERROR", clip(`${this.info.label}: ${(error as Error).message}`, 1024));
    } finally {
      clearTimeout(timer);
    }
  }

  // ---------------------------------------------------------------- Agent API

  async listModels(): Promise<ModelInfo[]> {
    return this.store.models;
  }

  async listThreads(): Promise<AgentThreadInfo[]> {
    return this.store.all().map(([threadId, r]) => ({ threadId, title: r.title, updatedAt: r.updatedAt }));
  }

  /** The history the agent replayed when the session was last loaded (empty when it was created or resumed here). */
  async readThread(threadId: string): Promise<ThreadEvent[]> {
    await this.ensureLoaded(threadId);
    return [...(this.sessions.get(threadId)?.history ?? [])];
  }

  async startThread(threadId: string, prompt: string, options: StartThreadOptions): Promise<void> {
    if (this.store.get(threadId)) throw new AgentError("THREAD_EXISTS", `thread ${threadId} already exists`);
    const running = await this.current();
    const res = await this.request<unknown>(running, "session/new", { cwd: options.cwd, mcpServers: [] });
    const sessionId = isObject(res) ? str(res.sessionId) : undefined;
    if (!sessionId || sessionId.length > 512) throw new AgentError("AGENT_ERROR", "session/new returned no session id");
    const now = Date.now();
    await this.store.put(threadId, {
      sessionId,
      agent: this.info.kind,
      cwd: options.cwd,
      title: clip(prompt.split("\n")[0]?.trim() || `${this.info.label} thread`, 200),
      ...(options.model ? { model: options.model } : {}),
      ...(options.effort ? { effort: options.effort } : {}),
      createdAt: now,
      updatedAt: now,
    });
    const live = this.sessions.open(threadId, sessionId);
    live.loadedIn = running.gen;
    await this.sessionState(running, live, res);
    await this.applySettings(running, live, this.store.get(threadId)!);
    this.beginTurn(running, live, prompt);
  }

  async resumeThread(threadId: string): Promise<void> {
    await this.ensureLoaded(threadId);
  }

  async sendMessage(threadId: string, text: string, settings: TurnSettings): Promise<void> {
    const { running, live } = await this.ensureLoaded(threadId);
    if (live.turn) throw new AgentError("TURN_RUNNING", "a turn is running; interrupt it first (this agent cannot be steered)");
    const record = this.record(threadId);
    await this.applySettings(running, live, { ...record, ...settings });
    this.beginTurn(running, live, text);
  }

  async steer(threadId: string, _text: string): Promise<void> {
    this.record(threadId);
    if (this.sessions.get(threadId)?.turn) {
      throw new AgentError(
        "UNSUPPORTED",
        `${this.info.label} cannot take instructions during a turn (ACP has no steering): interrupt the turn, then send them`,
      );
    }
    // The protocol's rule (docs/protocol.md §10.3): steering changes a running turn only; to start one, send.
    throw new AgentError("TURN_NOT_RUNNING", "no turn is running in this thread; send the message instead");
  }

  async interrupt(threadId: string): Promise<void> {
    this.record(threadId);
    const live = this.sessions.get(threadId);
    const turn = live?.turn;
    const running = this.child.running;
    if (!live || !turn || !running || live.loadedIn !== running.gen) throw new AgentError("TURN_NOT_RUNNING", "no turn is running in this thread");
    turn.cancelling = true;
    // ACP: the client answers every open permission request "cancelled" and notifies session/cancel.
    for (const answer of [...turn.open]) answer();
    this.host.withdraw(threadId, "the turn was interrupted");
    try {
      await running.conn.agent.notify("session/cancel", { sessionId: live.sessionId });
    } catch (error) {
      this.host.log(`${this.info.kind}: session/cancel failed: ${(error as Error).message}`);
    }
    const timeoutMs = this.options.interruptTimeoutMs ?? 15_000;
    const ended = await settlesWithin(turn.done, timeoutMs);
    if (!ended && !turn.ended) {
      this.host.log(`${this.info.kind}: the agent did not end the turn within ${timeoutMs} ms of session/cancel`);
      this.endTurn(live, turn, "interrupted", `${this.info.label} did not confirm the interrupt`);
    }
    await this.events.settled;
  }

  async setSettings(threadId: string, settings: TurnSettings): Promise<void> {
    this.record(threadId);
    await this.store.setSettings(threadId, settings);
  }

  // ---------------------------------------------------------------- sessions

  private record(threadId: string): SessionRecord {
    const record = this.store?.get(threadId);
    if (!record) throw new AgentError("THREAD_NOT_FOUND", `no ${this.info.label} session for ${threadId}`);
    return record;
  }

  private async ensureLoaded(threadId: string): Promise<{ running: Running; live: LiveSession }> {
    const record = this.record(threadId);
    const live = this.sessions.open(threadId, record.sessionId);
    const running = await ensureLoaded(live, {
      current: () => this.current(),
      isLive: (running) => this.child.running === running,
      load: (running) => this.load(running, live, record),
      failure: `could not reattach the ${this.info.label} session`,
    });
    return { running, live };
  }

  private async load(running: Running, live: LiveSession, record: SessionRecord): Promise<void> {
    const params = { sessionId: record.sessionId, cwd: record.cwd, mcpServers: [] };
    let res: unknown;
    if (running.loadSession) {
      live.replaying = true;
      live.history = [];
      live.message = undefined;
      live.tools.clear();
      try {
        res = await this.request<unknown>(running, "session/load", params);
        // Updates queued before the answer belong to the replay.
        await this.events.settled;
      } finally {
        this.closeMessage(live);
        live.replaying = false;
        live.message = undefined;
        live.tools.clear();
      }
    } else if (running.resume) {
      res = await this.request<unknown>(running, "session/resume", params);
    } else {
      throw new AgentError("THREAD_LOST", `${this.info.label} cannot reload sessions after a restart; start a new thread`);
    }
    if (this.child.running !== running) return;
    live.loadedIn = running.gen;
    await this.sessionState(running, live, res);
  }

  /** Modes and config options of a new or loaded session; leaves it in the asking mode. */
  private async sessionState(running: Running, live: LiveSession, res: unknown): Promise<void> {
    if (!isObject(res)) return;
    if (res.configOptions !== undefined) this.setSelects(live, configSelects(res.configOptions));
    const modes = modesOf(res.modes);
    const modeSelect = live.selects.find((s) => s.category === "mode");
    if (modes.current !== undefined) {
      live.modeVia = "modes";
      live.modeIds = modes.ids;
      live.mode = modes.current;
    } else if (modeSelect) {
      live.modeVia = "config";
      live.modeIds = modeSelect.values.map((v) => v.value);
      live.mode = modeSelect.current;
    }
    await this.ensureAskingMode(running, live);
  }

  private setSelects(live: LiveSession, selects: ConfigSelect[]): void {
    live.selects = selects;
    const { models } = modelsOf(selects);
    if (models.length > 0) this.store.setModels(models).catch((error: Error) => this.host.log(`acp: saving models failed: ${error.message}`));
  }

  private async ensureAskingMode(running: Running, live: LiveSession): Promise<void> {
    if (live.mode === undefined || live.mode === this.askMode) return;
    if (!live.modeIds.includes(this.askMode)) {
      if (NON_ASKING_MODES.has(live.mode)) {
        this.emit(live.hostId, {
          kind: "notice",
          level: "warning",
          text: clip(`${this.info.label} is in mode "${live.mode}", which may run tools without asking, and offers no "${this.askMode}" mode`, 4096),
        });
      }
      return;
    }
    const modeSelect = live.selects.find((s) => s.category === "mode");
    if (live.modeVia === "config" && modeSelect) {
      const res = await this.request<unknown>(running, "session/set_config_option", {
        sessionId: live.sessionId,
        configId: modeSelect.id,
        value: this.askMode,
      });
      if (isObject(res) && res.configOptions !== undefined) this.setSelects(live, configSelects(res.configOptions));
    } else {
      await this.request<unknown>(running, "session/set_mode", { sessionId: live.sessionId, modeId: this.askMode });
    }
    live.mode = this.askMode;
    this.host.log(`${this.info.kind}: session ${clip(live.sessionId, 64)} switched to mode "${this.askMode}" so tools ask first`);
  }

  /** Model and effort through the session's config options, when it offers them. */
  private async applySettings(running: Running, live: LiveSession, settings: TurnSettings): Promise<void> {
    const wanted: Array<[string, string | undefined]> = [
      ["model", settings.model],
      ["thought_level", settings.effort],
    ];
    for (const [category, value] of wanted) {
      if (!value) continue;
      const select = live.selects.find((s) => s.category === category);
      if (!select || select.current === value) continue;
      if (!select.values.some((v) => v.value === value)) {
        this.emit(live.hostId, {
          kind: "notice",
          level: "warning",
          text: clip(`${this.info.label} does not offer ${category === "model" ? "model" : "effort"} "${value}" here`, 4096),
        });
        continue;
      }
      const res = await this.request<unknown>(running, "session/set_config_option", { sessionId: live.sessionId, configId: select.id, value });
      if (isObject(res) && res.configOptions !== undefined) this.setSelects(live, configSelects(res.configOptions));
      else select.current = value;
    }
  }

  // ---------------------------------------------------------------- turns

  private beginTurn(running: Running, live: LiveSession, text: string): void {
    const turn: Turn = { id: newId("turn"), cancelling: false, ended: false, done: Promise.resolve(), open: new Set() };
    live.turn = turn;
    live.tools.clear();
    live.message = undefined;
    this.emit(live.hostId, { kind: "turn.status", turnId: turn.id, status: "started" });
    this.emit(live.hostId, { kind: "message.user", itemId: newId("user"), text: clip(text, 65536) });
    this.setStatus(live.hostId, "running");
    void this.store.update(live.hostId, {}).catch((error: Error) => this.host.log(`acp: saving sessions failed: ${error.message}`));
    turn.done = this.request<unknown>(running, "session/prompt", { sessionId: live.sessionId, prompt: [{ type: "text", text }] }, 0).then(
      (res) => {
        const reason = isObject(res) ? str(res.stopReason) : undefined;
        if (reason === "cancelled" || turn.cancelling) return this.endTurn(live, turn, "interrupted");
        if (reason === "max_tokens" || reason === "max_turn_requests" || reason === "refusal") {
          const why =
            reason === "refusal"
              ? "the model refused to continue"
              : reason === "max_tokens"
                ? "the model hit its token limit"
                : "the turn hit its request limit";
          this.emit(live.hostId, { kind: "notice", level: "warning", text: `${this.info.label}: ${why}` });
        }
        this.endTurn(live, turn, "completed");
      },
      async (error: Error) => {
        if (turn.cancelling) return this.endTurn(live, turn, "interrupted");
        if (running.conn.signal.aborted && !running.stopping) {
          // The pipe closed: the exit handler ends the turn with the exit's reason (bounded wait).
          await settlesWithin(running.exited, 2000);
        }
        this.endTurn(live, turn, "failed", clip(error.message, 2048));
      },
    );
  }

  private endTurn(live: LiveSession, turn: Turn, status: "completed" | "interrupted" | "failed", error?: string): void {
    if (turn.ended) return;
    turn.ended = true;
    for (const answer of [...turn.open]) answer();
    if (live.turn === turn) live.turn = undefined;
    this.closeMessage(live);
    // Commands the agent never reported finished: closed, with the reason.
    for (const tool of live.tools.values()) {
      if (tool.startedAt !== undefined && !tool.finished) {
        tool.finished = true;
        this.out(live, {
          kind: "notice",
          level: "warning",
          text: clip(
            `Command did not finish: ${status === "interrupted" ? "the turn was interrupted" : status === "failed" ? (error ?? "the turn failed") : "the turn ended"}`,
            4096,
          ),
        });
        this.out(live, { kind: "command.finished", itemId: tool.itemId, exitCode: null, durationMs: Date.now() - tool.startedAt });
      }
    }
    live.tools.clear();
    this.emit(live.hostId, { kind: "turn.status", turnId: turn.id, status, ...(error ? { error: clip(error, 2048) } : {}) });
    this.setStatus(live.hostId, status === "failed" ? "failed" : "idle");
  }

  // ---------------------------------------------------------------- output to the host

  private emit(hostId: string, event: ThreadEvent): void {
    this.events.emit(hostId, event);
  }

  /** A live event, or history while a session/load replays. */
  private out(live: LiveSession, event: ThreadEvent): void {
    if (!live.replaying) return this.emit(live.hostId, event);
    if (live.history.length < MAX_HISTORY && isValidEvent(event)) live.history.push(event);
  }

  private setStatus(hostId: string, status: ThreadStatus): void {
    this.events.status(hostId, status);
  }

  private closeMessage(live: LiveSession): void {
    const m = live.message;
    if (!m) return;
    live.message = undefined;
    this.out(live, { kind: "message.completed", itemId: m.itemId, text: clip(m.text, MAX_MESSAGE_TEXT) });
  }

  // ---------------------------------------------------------------- session/update

  private onUpdate(gen: number, params: unknown): void {
    if (gen !== this.child.gen || !isObject(params) || !isObject(params.update)) return;
    const sessionId = str(params.sessionId);
    const hostId = this.sessions.hostIdOf(sessionId);
    const live = hostId === undefined ? undefined : this.sessions.get(hostId);
    if (!live) return;
    // Outside a turn or a load, an agent has nothing to report (late updates of a cancelled turn).
    if (!live.turn && !live.replaying) return;
    const u = params.update;
    switch (u.sessionUpdate) {
      case "agent_message_chunk": {
        const text = chunkText(u.content);
        if (!text) return;
        const messageId = str(u.messageId);
        if (live.message && messageId && live.message.itemId !== safeId(messageId)) this.closeMessage(live);
        if (!live.message) live.message = { itemId: messageId ? safeId(messageId) : newId("msg"), text: "" };
        const m = live.message;
        if (m.text.length < MAX_MESSAGE_TEXT) m.text += text;
        for (const piece of pieces(text, 65536)) this.out(live, { kind: "message.delta", itemId: m.itemId, text: piece });
        return;
      }
      case "user_message_chunk": {
        // Only in a replay: the host records live prompts itself.
        if (!live.replaying) return;
        const text = chunkText(u.content);
        if (text) this.out(live, { kind: "message.user", itemId: newId("user"), text: clip(text, 65536) });
        return;
      }
      case "tool_call":
      case "tool_call_update":
        this.closeMessage(live);
        this.onTool(live, u, u.sessionUpdate === "tool_call");
        return;
      case "plan": {
        const event = planEvent(u.entries);
        if (event) this.out(live, event);
        return;
      }
      case "current_mode_update": {
        const mode = str(u.currentModeId);
        if (!mode) return;
        live.mode = mode;
        if (!live.replaying && mode !== this.askMode && NON_ASKING_MODES.has(mode)) this.restoreAskingMode(live, mode);
        return;
      }
      case "config_option_update":
        if (u.configOptions !== undefined) this.setSelects(live, configSelects(u.configOptions));
        return;
      case "notice": {
        const title = str(u.title);
        if (!title) return;
        const level = u.severity === "error" ? "error" : u.severity === "warning" ? "warning" : "info";
        const description = str(u.description);
        this.out(live, { kind: "notice", level, text: clip(`${this.info.label}: ${title}${description ? ` — ${description}` : ""}`, 4096) });
        return;
      }
      default:
        // agent_thought_chunk, available_commands_update, session_info_update, usage_update (context size, not tokens), …
        return;
    }
  }

  /** The agent switched itself to a mode that skips approvals (e.g. after "approve for session" of a plan): undo it. */
  private restoreAskingMode(live: LiveSession, mode: string): void {
    const running = this.child.running;
    if (!running || live.loadedIn !== running.gen) return;
    this.emit(live.hostId, {
      kind: "notice",
      level: "info",
      text: clip(`${this.info.label} switched to mode "${mode}"; Airlock keeps it in "${this.askMode}" so every tool still asks`, 4096),
    });
    this.ensureAskingMode(running, live).catch((error: Error) => this.host.log(`${this.info.kind}: restoring mode "${this.askMode}" failed: ${error.message}`));
  }

  private tool(live: LiveSession, u: Record<string, unknown>, create: boolean): Tool | undefined {
    const id = str(u.toolCallId);
    if (!id || id.length > 512) return undefined;
    let tool = live.tools.get(id);
    if (!tool) {
      if (live.tools.size >= MAX_TOOLS) live.tools.delete(live.tools.keys().next().value as string);
      tool = { itemId: safeId(id), title: "", status: "pending", locations: [], sent: "", finished: false, changesEmitted: false };
      live.tools.set(id, tool);
    } else if (create && tool.finished) {
      return tool;
    }
    const kind = toolKind(u.kind);
    if (kind) tool.kind = kind;
    const title = str(u.title);
    if (title !== undefined) tool.title = clip(title, 8192);
    const status = toolStatus(u.status);
    if (status) tool.status = status;
    if (u.rawInput !== undefined && u.rawInput !== null) tool.rawInput = u.rawInput;
    if (u.rawOutput !== undefined && u.rawOutput !== null) tool.rawOutput = u.rawOutput;
    if (Array.isArray(u.content)) tool.content = u.content;
    if (u.locations !== undefined) tool.locations = locationsOf(u.locations);
    return tool;
  }

  private onTool(live: LiveSession, u: Record<string, unknown>, create: boolean): void {
    const tool = this.tool(live, u, create);
    if (!tool || tool.finished) return;
    const cwd = this.store.get(live.hostId)?.cwd ?? "";
    const done = tool.status === "completed" || tool.status === "failed";
    if (tool.kind === "execute") {
      const command = commandOf(tool.rawInput);
      if (tool.startedAt === undefined && (command !== undefined || tool.status !== "pending")) this.startCommand(live, tool, cwd);
      if (tool.startedAt !== undefined) {
        const text = textOf(tool.content, MAX_OUTPUT, reasonOf(tool.rawInput));
        if (text.length > tool.sent.length) {
          const chunk = text.startsWith(tool.sent) ? text.slice(tool.sent.length) : text;
          tool.sent = text;
          for (const piece of pieces(chunk, 65536)) this.out(live, { kind: "command.output", itemId: tool.itemId, stream: "stdout", chunk: piece });
        }
      }
      if (done && tool.startedAt !== undefined) {
        tool.finished = true;
        const code = exitCodeOf(tool.rawOutput);
        this.out(live, {
          kind: "command.finished",
          itemId: tool.itemId,
          exitCode: code ?? (tool.status === "completed" ? 0 : null),
          durationMs: Math.max(0, Date.now() - tool.startedAt),
        });
      }
      return;
    }
    const diffs = diffsOf(tool.content);
    if (diffs.length > 0 || tool.kind === "edit" || tool.kind === "delete" || tool.kind === "move") {
      if (!done) return;
      tool.finished = true;
      if (tool.status === "completed" && diffs.length > 0) {
        tool.changesEmitted = true;
        for (const event of fileChangeEvents(tool.itemId, fileChanges(tool.kind, diffs, cwd, tool.locations))) this.out(live, event);
      } else {
        const paths = diffs
          .map((d) => d.path)
          .concat(tool.locations)
          .slice(0, 20);
        this.out(live, {
          kind: "notice",
          level: "info",
          text: clip(
            `${tool.status === "failed" ? "Not applied" : "Changed"}: ${tool.title || "file change"}${paths.length ? ` (${[...new Set(paths)].join(", ")})` : ""}`,
            4096,
          ),
        });
      }
      return;
    }
    if (done && (tool.kind === "fetch" || tool.kind === "other" || tool.kind === undefined || tool.status === "failed")) {
      tool.finished = true;
      if (tool.kind !== "think")
        this.out(live, {
          kind: "notice",
          level: "info",
          text: clip(`${tool.kind === "fetch" ? "Fetched" : "Tool"}${tool.status === "failed" ? " (failed)" : ""}: ${tool.title || "(untitled)"}`, 4096),
        });
    }
  }

  private startCommand(live: LiveSession, tool: Tool, cwd: string): void {
    tool.startedAt = Date.now();
    const explicitCwd = isObject(tool.rawInput) ? str(tool.rawInput.cwd) : undefined;
    this.out(live, {
      kind: "command.started",
      itemId: tool.itemId,
      command: clip(commandOf(tool.rawInput) ?? (tool.title || "(command not shown)"), 8192),
      cwd: clip(explicitCwd ?? cwd, 1024),
    });
  }

  // ---------------------------------------------------------------- permissions

  private async onPermission(gen: number, params: unknown, signal: AbortSignal): Promise<PermissionOutcome> {
    const cancelled = CANCELLED;
    if (gen !== this.child.gen || !isObject(params) || !isObject(params.toolCall)) return cancelled;
    const sessionId = str(params.sessionId);
    const hostId = this.sessions.hostIdOf(sessionId);
    const live = hostId === undefined ? undefined : this.sessions.get(hostId);
    const turn = live?.turn;
    if (!live || !turn || turn.cancelling || live.replaying) return cancelled;
    const options = permissionOptions(params.options);
    // The request updates the tool call it is about (Claude Code fills in the command here).
    this.onTool(live, params.toolCall, false);
    const toolCallId = str(params.toolCall.toolCallId);
    const tool = toolCallId ? live.tools.get(toolCallId) : undefined;
    const kind = toolKind(params.toolCall.kind) ?? tool?.kind;
    if (kind === "execute" && tool && tool.startedAt === undefined) this.startCommand(live, tool, this.record(live.hostId).cwd);
    await this.events.settled;
    const ask = permissionAsk({
      label: this.info.label,
      cwd: this.record(live.hostId).cwd,
      turnId: live.turn?.id,
      kind,
      tool,
      toolCall: params.toolCall,
      options,
    });

    let answer!: () => void;
    const stop = new Promise<"cancelled">((resolve) => (answer = () => resolve("cancelled")));
    const onAbort = () => answer();
    turn.open.add(answer);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const verdict = await Promise.race([this.host.requestApproval(live.hostId, ask), stop]);
      if (verdict === "cancelled" || turn.cancelling) {
        // The agent withdrew it or the turn is being cancelled: close it at the host too.
        if (signal.aborted) this.host.withdraw(live.hostId, `${this.info.label} withdrew the request`);
        return cancelled;
      }
      if (verdict.decision === "cancel") {
        this.cancelLater(live, turn);
        return cancelled;
      }
      return permissionOutcome(options, verdict);
    } finally {
      turn.open.delete(answer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** A "cancel" verdict stops the turn (after answering the request). */
  private cancelLater(live: LiveSession, turn: Turn): void {
    setTimeout(() => {
      if (turn.ended || turn.cancelling) return;
      this.interrupt(live.hostId).catch((error: Error) => this.host.log(`${this.info.kind}: interrupt after cancel failed: ${error.message}`));
    }, 0);
  }
}
