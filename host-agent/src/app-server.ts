// The application protocol on the host: what a connected device may ask, and
// the delivery of thread events. Every event is appended to the event store
// (durable) before any device sees it; each device subscription is a pump that
// sends the store's events after the device's last seq, in order, exactly
// once per connection. Commands are idempotent by (device, command id).
// The app server is also the agent's AgentHost: it persists what the agent
// emits and routes approvals and questions through the ApprovalBroker.
import { hostname, platform } from "node:os";
import {
  AirlockProtocolError,
  APP_PROTOCOL_VERSION,
  appProtocol,
  MAX_APP_MESSAGE_BYTES,
  textEncoder,
  DEVICE_COMMANDS,
  strictTextDecoder,
  type AppProtocolMessage,
  type ModelInfo,
  type ThreadEvent,
  type ThreadSummary,
} from "@airlock/protocol";
import { AgentError, type Agent, type AgentHost } from "./agent.ts";
import { ApprovalBroker, BrokerError, type EmitOptions, type PendingApproval } from "./approvals/broker.ts";
import { builtinPolicy, type Policy } from "./policy/policy-file.ts";
import type { CommandLedger } from "./command-ledger.ts";
import { EventStoreError, storedEventJson, type EventStore } from "./event-store.ts";
import { resolveThreadCwd, WorkspaceError } from "./workspace.ts";
import type { DeviceConnection } from "./host-core.ts";
import { PushError, type PushNotifier } from "./push/notifier.ts";
import { messageOf } from "./error-message.ts";
import type { TokenScopes } from "./tokens/token-scope.ts";
import { startedByText, type TokenGrant } from "./tokens/token-store.ts";
import { HookRunner, withContext, type HookOutcome } from "./hooks/hooks.ts";
import { TrustStore } from "./hooks/trust-store.ts";
import { HostError } from "./host-error.ts";

export const AIRLOCK_VERSION = "0.1.0";

/** What a command produced, stored in the ledger so a resend gets the same answer. */
type AnswerBody<T extends "result" | "thread.list"> = Extract<AppProtocolMessage, { type: T }>["body"];
export type CommandOutcome =
  | { ok: true; type: "result"; body: AnswerBody<"result"> }
  | { ok: true; type: "thread.list"; body: AnswerBody<"thread.list"> }
  | { ok: false; code: string; message: string };

interface Subscription {
  /** Highest seq sent to this connection. */
  sent: number;
  /** Highest seq the device acknowledged (acks are kept for subscribed threads only, so memory stays bounded). */
  acked: number;
  pumping: boolean;
  again: boolean;
}

interface ConnState {
  conn: DeviceConnection;
  /** A device's messages are handled one at a time, in the order they arrived. */
  queue: Promise<void>;
  subscriptions: Map<string, Subscription>;
  /** device.visibility: whether the app is in the foreground (a device that never says is taken as visible). */
  visible: boolean;
  /** Sends other than streamed output on their way (answers, approval events, summaries): output waits for them. */
  urgent: number;
  /** Streamed output frames on their way. */
  bulk: number;
  /** Pumps of streamed output waiting for their turn (#bulkTurn). */
  bulkWaiters: (() => void)[];
}

export type AuditHook = (
  type: string,
  actor: { kind: "device" | "host" | "policy" | "timeout"; id?: string; name?: string },
  data: Record<string, unknown>,
) => void;

export interface AppServerOptions {
  store: EventStore;
  ledger: CommandLedger<CommandOutcome>;
  agent: Agent;
  /** The adapter's private state directory. */
  agentDataDir: string;
  /** Where new threads work; a device may only pick a cwd inside it. */
  workspace: string;
  /** The approval policy for a working directory (default: built-in). */
  policyFor?(cwd: string): Promise<Policy>;
  /** The command that runs this host's CLI in a shell on the host; devices show it with host-only requests. */
  hostCli?: string;
  /** A request only the host's terminal may decide is waiting. */
  onHostOnly?(pending: PendingApproval): void;
  log?(line: string): void;
  /** Records prompts, approvals and decisions in the audit log. */
  audit?: AuditHook;
  /** Push notifications (push.register and friends; host.info says "push"). Absent: PUSH_UNAVAILABLE. */
  push?: PushNotifier;
  /** Enforces automation tokens' limits (connections whose DeviceConnection has a `token`). Absent: tokens are refused everything. */
  tokens?: TokenScopes;
  /** Hooks from the policy files run, gated by this trust file (hooks/trust-store.ts). Absent: no hook runs. */
  hooks?: { trustFile: string };
}

/** Its code is a wire error code the device sees. */
class CommandError extends HostError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "CommandError";
  }
}

/** Event-store failures a device may learn the code of; every other one is INTERNAL (its detail can name local paths). */
const STORE_CODES: Readonly<Record<string, string>> = { THREAD_LIMIT: "THREAD_LIMIT", UNKNOWN_THREAD: "THREAD_NOT_FOUND", SEQ_AHEAD: "SEQ_AHEAD" };

/**
 * Streamed output waits while more than this many bytes are queued on the
 * relay connection, so a thread's output cannot bury another thread's
 * approval (or a command's answer) behind megabytes the relay has not taken
 * yet: everything else is sent at once, behind at most this much.
 */
export const BULK_HIGH_WATER = 512 * 1024;
const BULK_POLL_MS = 5;
/**
 * Per device, at most this many frames of streamed output are on their way
 * (being encrypted or waiting to leave) at once, and none while anything else
 * is: an approval or an answer is sealed behind at most this many, whatever
 * the number of threads streaming.
 */
export const BULK_IN_FLIGHT = 2;
/** An agent's streamed output is acknowledged before it is durable while at most this many of a thread's appends wait. */
const STREAM_AHEAD = 1024;
const isBulk = (e: ThreadEvent): boolean => e.kind === "message.delta" || e.kind === "command.output";

/** The text sent with INTERNAL: the detail stays in the host's log. */
const INTERNAL_MESSAGE = "the host failed to handle this command; the detail is in the host's log";

export class AppServer {
  #o: AppServerOptions;
  #conns = new Map<DeviceConnection, ConnState>();
  #ids = 0;
  #models: ModelInfo[] = [];
  /**
   * Per thread, the names of devices whose prompts the agent has not echoed
   * yet (FIFO): the next `message.user` the agent emits is attributed to the
   * first. Bounded: a thread holds a few pending prompts at most.
   */
  #promptAuthors = new Map<string, string[]>();
  /** Threads whose summary goes out on the next turn of the event loop (#broadcastSoon). */
  #summariesDue = new Set<string>();
  readonly broker: ApprovalBroker;
  /** Hook points (hooks/hooks.ts); undefined when the host runs none. */
  readonly hooks: HookRunner | undefined;
  /** What the agent reports through. */
  readonly agentHost: AgentHost;

  constructor(options: AppServerOptions) {
    this.#o = options;
    const audit: AuditHook = (type, actor, data) => this.#o.audit?.(type, actor, data);
    const emit = async (threadId: string, event: ThreadEvent, options?: EmitOptions) => {
      if (!this.#o.store.getThread(threadId)) return; // a thread deleted by retention while its turn ran
      if ((event.kind === "approval.request" || event.kind === "question") && event.startedBy === undefined) {
        // People deciding or answering on a token's thread see which automation asked (never the token itself: it cannot).
        const startedBy = this.#o.store.getThread(threadId)?.startedBy;
        if (startedBy !== undefined) event = { ...event, startedBy };
      }
      if (event.kind === "message.user" && event.device === undefined) {
        const device = this.#promptAuthors.get(threadId)?.shift();
        if (device !== undefined) event = { ...event, device };
      }
      // Output that comes faster than the log's writes is merged into fewer events (EventStore.append).
      // A decision's event is written once its answer is on its way: that answer goes out alone.
      if (options?.after) await options.after.catch(() => undefined);
      // An event handed on at once (a verdict) shares its write with what the agent does next.
      const appended = this.#o.store.append(threadId, event, { coalesce: true, reaction: options?.onQueued !== undefined });
      options?.onQueued?.();
      const durable = () => {
        this.broker.observe(threadId, event);
        this.hooks?.observe(threadId, event);
        this.#wake(threadId);
        this.#notify(threadId, event);
      };
      // Streamed output may wait out the log's stream window (EventStore.append): an agent that
      // awaits each chunk is not held to one chunk per window. Its place in the log is taken now;
      // it is delivered once durable, like any event. Beyond STREAM_AHEAD appends waiting, it waits.
      if (isBulk(event) && this.#o.store.waitingAppends(threadId) <= STREAM_AHEAD) {
        appended.then(durable, (e: unknown) => this.#o.log?.(`recording ${event.kind} on ${threadId} failed: ${messageOf(e)}`));
        return;
      }
      await appended;
      durable();
    };
    const policyFor = this.#o.policyFor ?? (async () => builtinPolicy());
    this.hooks = this.#o.hooks
      ? new HookRunner({
          workspace: this.#o.workspace,
          policyFor,
          trust: new TrustStore(this.#o.hooks.trustFile),
          audit,
          log: (line) => this.#o.log?.(line),
          emit,
          threadCwd: (threadId) => {
            const t = this.#o.store.getThread(threadId);
            return t ? (t.cwd ?? this.#o.workspace) : undefined;
          },
        })
      : undefined;
    this.broker = new ApprovalBroker({
      emit,
      pendingChanged: async (threadId, pending) => {
        const t = this.#o.store.getThread(threadId);
        if (!t) return;
        const status = pending > 0 ? "waiting" : t.status === "waiting" ? "running" : t.status;
        // Between running and waiting, not waiting for meta.json: after a crash #recover closes what a
        // running or waiting thread left open. Into waiting from any other status: durable, so #recover sees it.
        const active = (st: string) => st === "running" || st === "waiting";
        const durable = !(active(t.status) && active(status));
        if (t.pending === pending && t.status === status) return;
        const updated = await this.#o.store.updateThread(threadId, { pending, status }, { durable });
        // Between running and waiting the summary follows the request's own frames, not ahead of them.
        if (durable) this.#broadcastThread(updated);
        else this.#broadcastSoon(threadId);
      },
      policyFor,
      hostName: hostname(),
      ...(this.hooks ? { hooks: this.hooks } : {}),
      audit,
      ...(this.#o.hostCli ? { hostCli: this.#o.hostCli } : {}),
      log: (line) => this.#o.log?.(line),
      ...(this.#o.onHostOnly ? { onHostOnly: this.#o.onHostOnly } : {}),
    });
    this.agentHost = {
      emit,
      status: async (threadId, status) => {
        const t = this.#o.store.getThread(threadId);
        if (!t) return;
        // While a human is being asked, the summary stays "waiting".
        const shown = status === "running" && t.pending > 0 ? "waiting" : status;
        this.#broadcastThread(await this.#o.store.updateThread(threadId, { status: shown }));
      },
      requestApproval: async (threadId, ask) => {
        await this.#runningBeforeAsking(threadId);
        return this.broker.request(threadId, ask);
      },
      askQuestion: async (threadId, ask) => {
        await this.#runningBeforeAsking(threadId);
        return this.broker.ask(threadId, ask, this.#o.store.getThread(threadId)?.cwd ?? this.#o.workspace);
      },
      withdraw: (threadId, reason) => this.broker.cancelThread(threadId, { kind: "agent" }, `withdrawn by the agent: ${reason}`),
      log: (line) => this.#o.log?.(line),
    };
  }

  /**
   * A thread that asks a human is active, durably, before its request is
   * written: #recover then closes the request if the host dies while it waits.
   * Usually the thread is running already (its turn said so) and this costs nothing.
   */
  async #runningBeforeAsking(threadId: string): Promise<void> {
    const t = this.#o.store.getThread(threadId);
    if (!t || t.status === "running" || t.status === "waiting") return;
    this.#broadcastThread(await this.#o.store.updateThread(threadId, { status: "running" }));
  }

  /** Starts the agent and closes what a previous run left open. */
  async start(): Promise<void> {
    await this.#recover();
    await this.#o.agent.start({ host: this.agentHost, dataDir: this.#o.agentDataDir });
    this.#models = await this.#o.agent.listModels();
  }

  /** Cancels pending requests and stops the agent. */
  async close(): Promise<void> {
    this.broker.cancelAll();
    await this.#o.agent.close();
  }

  /**
   * After a restart nothing is waiting any more: the agent process that asked
   * is gone. Requests and turns left open in the store are closed explicitly,
   * so no device keeps showing a card nobody can answer.
   */
  async #recover(): Promise<void> {
    const { store } = this.#o;
    for (const t of store.listThreads()) {
      if (t.status !== "running" && t.status !== "waiting" && t.pending === 0) continue;
      const approvals = new Set<string>();
      const questions = new Set<string>();
      const turns = new Set<string>();
      let after = 0;
      for (;;) {
        const page = await store.eventsAfter(t.id, after);
        for (const { seq, event: e } of page.events) {
          after = seq;
          if (e.kind === "approval.request") approvals.add(e.approvalId);
          else if (e.kind === "approval.resolved") approvals.delete(e.approvalId);
          else if (e.kind === "question") questions.add(e.questionId);
          else if (e.kind === "question.answered") questions.delete(e.questionId);
          else if (e.kind === "turn.status") e.status === "started" ? turns.add(e.turnId) : turns.delete(e.turnId);
        }
        if (!page.more) break;
      }
      const note = "the host agent restarted; ask again if it is still needed";
      for (const approvalId of approvals) await store.append(t.id, { kind: "approval.resolved", approvalId, decision: "cancel", by: "host", note });
      for (const questionId of questions) await store.append(t.id, { kind: "question.answered", questionId, by: "host" });
      for (const turnId of turns) await store.append(t.id, { kind: "turn.status", turnId, status: "interrupted", error: "the host agent restarted" });
      await store.updateThread(t.id, { pending: 0, status: "idle" });
    }
  }

  async onSessionOpen(conn: DeviceConnection): Promise<void> {
    this.#conns.set(conn, { conn, queue: Promise.resolve(), subscriptions: new Map(), visible: true, urgent: 0, bulk: 0, bulkWaiters: [] });
    const agent = this.#o.agent;
    await this.#send(conn, {
      type: "host.info",
      id: this.#id(),
      body: {
        name: hostname(),
        platform: platform(),
        airlockVersion: AIRLOCK_VERSION,
        agent: agent.info,
        models: this.#models.slice(0, 64),
        ...(agent.defaultModel ? { defaultModel: agent.defaultModel } : {}),
        ...capabilityList([...(this.#o.push ? ["push"] : []), ...(agent.capabilities ?? [])]),
      },
    });
  }

  onSessionClosed(conn: DeviceConnection): void {
    const state = this.#conns.get(conn);
    this.#conns.delete(conn);
    if (state) for (const wake of state.bulkWaiters.splice(0)) wake(); // its pumps see the connection gone
  }

  /**
   * Whether a device is looking at a thread: one of its connections is
   * visible (device.visibility) and subscribed to it. Such a device gets no
   * push for the thread; the event reaches it on the open connection.
   */
  watching(deviceId: string, threadId: string): boolean {
    for (const state of this.#conns.values()) if (state.conn.device.id === deviceId && state.visible && state.subscriptions.has(threadId)) return true;
    return false;
  }

  /** Hands a persisted event to the push notifier: it decides and queues, never waits. */
  #notify(threadId: string, event: ThreadEvent): void {
    const push = this.#o.push;
    if (!push) return;
    if (
      event.kind !== "approval.request" &&
      event.kind !== "question" &&
      event.kind !== "turn.status" &&
      event.kind !== "approval.resolved" &&
      event.kind !== "question.answered"
    )
      return;
    try {
      const title = this.#o.store.getThread(threadId)?.title;
      const expiresAt =
        event.kind === "question" ? this.broker.pendingQuestions(threadId).find((q) => q.questionId === event.questionId)?.expiresAt : undefined;
      push.onEvent(threadId, event, { ...(title !== undefined ? { title } : {}), ...(expiresAt !== undefined ? { expiresAt } : {}) });
    } catch (e) {
      this.#o.log?.(`push decision failed: ${messageOf(e)}`); // the event was delivered regardless
    }
  }

  /** What the host keeps for a connection (diagnostics; every count is bounded by the threads that exist). */
  connectionStats(conn: DeviceConnection): { subscriptions: number; ackedThreads: number } | undefined {
    const state = this.#conns.get(conn);
    if (!state) return undefined;
    const subs = [...state.subscriptions.values()];
    return { subscriptions: subs.length, ackedThreads: subs.filter((s) => s.acked > 0).length };
  }

  onPayload(conn: DeviceConnection, payload: Uint8Array): Promise<void> {
    const state = this.#conns.get(conn);
    if (!state) return Promise.resolve();
    const run = state.queue.then(() => this.#handle(state, payload));
    state.queue = run.catch((e: unknown) => this.#o.log?.(`message from ${conn.device.id} failed: ${messageOf(e)}`));
    return state.queue;
  }

  async #handle(state: ConnState, payload: Uint8Array): Promise<void> {
    const conn = state.conn;
    let message: AppProtocolMessage;
    try {
      message = appProtocol.decode(payload);
    } catch (e) {
      // Answer with an error naming the message when its id can be read; the session goes on.
      const code = e instanceof AirlockProtocolError ? e.code : "APP_MESSAGE_INVALID";
      await this.#sendError(conn, peekId(payload), code, e instanceof Error ? e.message : "invalid message");
      return;
    }
    if (message.ack) {
      for (const a of message.ack) {
        const sub = state.subscriptions.get(a.thread);
        if (sub) sub.acked = Math.max(sub.acked, a.seq);
      }
    }
    if (!(DEVICE_COMMANDS as readonly string[]).includes(message.type)) {
      await this.#sendError(conn, message.id, "NOT_ALLOWED", `devices cannot send "${message.type}"`);
      return;
    }
    if (message.type === "ack") return;
    if (conn.token) {
      let refusal = this.#o.tokens
        ? this.#o.tokens.check(conn.token, conn.device.key, message, (id) => this.#o.store.getThread(id))
        : { code: "TOKEN_SCOPE", message: "this host does not accept automation tokens" };
      if (!refusal && message.type === "thread.start") refusal = await this.#tokenFolderRefusal(conn.token, message.body.cwd);
      if (refusal) {
        this.#o.audit?.("token.refused", this.#actor(conn), { command: message.type, commandId: message.id, code: refusal.code, ...tokenData(conn) });
        await this.#sendError(conn, message.id, refusal.code, refusal.message);
        return;
      }
    }
    if (message.type === "thread.start" || message.type === "thread.send" || message.type === "turn.steer" || message.type === "turn.interrupt") {
      const body = message.body as { thread?: string; prompt?: string; text?: string };
      this.#o.audit?.("prompt", this.#actor(conn), {
        ...tokenData(conn),
        command: message.type,
        commandId: message.id,
        ...(body.thread ? { thread: body.thread } : {}),
        ...((body.prompt ?? body.text) ? { text: body.prompt ?? body.text } : {}),
      });
    }
    let outcome: CommandOutcome;
    let duplicate = false;
    // Settles once this command's answer is on its way: a decision's own writes and frames wait for it (broker.decide).
    let answered!: () => void;
    const answer = new Promise<void>((resolve) => (answered = resolve));
    // The answer is encrypted while its ledger entry is written, and leaves once that entry is durable.
    let early: Promise<boolean> | undefined;
    const recording = (first: CommandOutcome, durable: Promise<unknown>) => {
      early = this.#sendOutcome(conn, message.id, first, durable);
    };
    try {
      try {
        ({ outcome, duplicate } = await this.#o.ledger.once(conn.device.id, message.id, () => this.#run(state, message, answer), { recording }));
      } catch (e) {
        // Not recorded in the ledger: a resend runs the command again (an answer sealed early never leaves: the session ends).
        this.#o.log?.(`${message.type} from ${conn.device.id} failed: ${messageOf(e)}`);
        outcome = { ok: false, code: "INTERNAL", message: INTERNAL_MESSAGE };
        early = undefined;
      }
      await (early ?? this.#sendOutcome(conn, message.id, outcome));
    } finally {
      answered();
    }
    // A resent subscribe that succeeded must still (re)start delivery on this connection.
    if (duplicate && outcome.ok && message.type === "thread.subscribe") this.#resubscribe(state, message.body.thread, message.body.afterSeq);
  }

  async #run(state: ConnState, message: AppProtocolMessage, answer: Promise<void>): Promise<CommandOutcome> {
    const { store, agent } = this.#o;
    const thread = (id: string) => {
      const t = store.getThread(id);
      if (!t) throw new CommandError("THREAD_NOT_FOUND", `no thread ${id}`);
      return t;
    };
    try {
      switch (message.type) {
        case "device.hello":
          return { ok: true, type: "result", body: {} };
        case "threads.list":
          return {
            ok: true,
            type: "thread.list",
            body: { threads: store.listThreads().filter((t) => (message.body.includeArchived || t.status !== "archived") && this.#mayRead(state.conn, t)) },
          };
        case "thread.subscribe": {
          const t = thread(message.body.thread);
          // A device cannot hold events the host never wrote (it is talking to a host that lost its state, or lying).
          if (message.body.afterSeq > t.lastSeq) {
            return { ok: false, code: "SEQ_AHEAD", message: `thread ${t.id} ends at seq ${t.lastSeq}; afterSeq ${message.body.afterSeq} is ahead of it` };
          }
          this.#subscribe(state, t.id, message.body.afterSeq);
          return { ok: true, type: "result", body: { data: { thread: t.id, lastSeq: t.lastSeq } } };
        }
        case "thread.unsubscribe":
          state.subscriptions.delete(message.body.thread);
          return { ok: true, type: "result", body: {} };
        case "thread.start": {
          const unsupported = this.#checkModel(message.body.model, message.body.effort);
          if (unsupported) return unsupported;
          const grant = state.conn.token;
          // A token works in its own workspace unless it names a folder; the folder must be one of its workspaces.
          const cwd = await this.#cwd(message.body.cwd ?? grant?.workspaces[0]);
          const record = grant && this.#o.tokens?.current(grant);
          if (grant && (!record || "code" in record || !this.#o.tokens!.canStartIn(record.record, cwd))) {
            return { ok: false, code: "TOKEN_SCOPE", message: `token ${grant.name} may start threads only in ${grant.workspaces.join(", ")}` };
          }
          // Before the thread exists: a refused prompt leaves nothing behind (not even its title).
          const submit = await this.#promptHooks(state, "UserPromptSubmit", null, cwd, message.type, message.body.prompt);
          if (submit.denied) return hookDenied(submit);
          const t = await store.createThread({
            ...(grant ? { startedBy: startedByText(grant) } : {}),
            title: message.body.prompt.split("\n")[0]!.slice(0, 120) || "New thread",
            cwd,
            ...(message.body.model ? { model: message.body.model } : {}),
            ...(message.body.effort ? { effort: message.body.effort } : {}),
          });
          if (grant) this.#o.tokens?.recordThread(grant, t.id);
          this.#subscribe(state, t.id, 0);
          this.#broadcastThread(t);
          const options = {
            cwd,
            ...(message.body.model ? { model: message.body.model } : {}),
            ...(message.body.effort ? { effort: message.body.effort } : {}),
          };
          this.#notePromptAuthor(t.id, state.conn.device.name);
          const session = await this.#promptHooks(state, "SessionStart", t.id, cwd, message.type, message.body.prompt);
          await agent.startThread(t.id, withContext(message.body.prompt, [...session.contexts, ...submit.contexts]), options);
          return { ok: true, type: "result", body: { data: { thread: t.id } } };
        }
        case "thread.send": {
          const t = thread(message.body.thread);
          const submit = await this.#promptHooks(state, "UserPromptSubmit", t.id, t.cwd ?? this.#o.workspace, message.type, message.body.text);
          if (submit.denied) return hookDenied(submit);
          this.#notePromptAuthor(t.id, state.conn.device.name);
          await agent.sendMessage(t.id, withContext(message.body.text, submit.contexts), {
            ...(t.model ? { model: t.model } : {}),
            ...(t.effort ? { effort: t.effort } : {}),
          });
          return { ok: true, type: "result", body: {} };
        }
        case "turn.steer": {
          // Steering only changes a running turn, like turn.interrupt; to start a turn, send.
          const t = thread(message.body.thread);
          if (t.status !== "running" && t.status !== "waiting") {
            return { ok: false, code: "TURN_NOT_RUNNING", message: `thread ${t.id} has no running turn; use thread.send to start one` };
          }
          const submit = await this.#promptHooks(state, "UserPromptSubmit", t.id, t.cwd ?? this.#o.workspace, message.type, message.body.text);
          if (submit.denied) return hookDenied(submit);
          this.#notePromptAuthor(t.id, state.conn.device.name);
          await agent.steer(message.body.thread, withContext(message.body.text, submit.contexts));
          return { ok: true, type: "result", body: {} };
        }
        case "turn.interrupt":
          thread(message.body.thread);
          // Unblock an agent waiting on a human first, then stop its turn.
          this.broker.cancelThread(message.body.thread, { kind: "device", id: state.conn.device.id, name: state.conn.device.name });
          await agent.interrupt(message.body.thread);
          return { ok: true, type: "result", body: {} };
        case "thread.settings": {
          const t = thread(message.body.thread);
          const patch = { ...(message.body.model ? { model: message.body.model } : {}), ...(message.body.effort ? { effort: message.body.effort } : {}) };
          const unsupported = this.#checkModel(patch.model, patch.effort, t.model);
          if (unsupported) return unsupported;
          await agent.setSettings(message.body.thread, patch);
          this.#broadcastThread(await store.updateThread(message.body.thread, patch));
          await this.agentHost.emit(message.body.thread, { kind: "settings", ...patch });
          return { ok: true, type: "result", body: {} };
        }
        case "question.answer": {
          thread(message.body.thread);
          const device = state.conn.device;
          this.broker.answer(
            message.body.questionId,
            message.body.answer,
            message.body.optionId,
            { kind: "device", id: device.id, name: device.name },
            message.body.thread,
          );
          return { ok: true, type: "result", body: {} };
        }
        case "approval.decide": {
          thread(message.body.thread);
          const device = state.conn.device;
          // Recorded in the ledger and answered first; then approval.resolved and the verdict to the agent.
          const p = this.broker.decide(
            message.body.approvalId,
            message.body.decision,
            { kind: "device", id: device.id, name: device.name },
            message.body.thread,
            answer,
          );
          return { ok: true, type: "result", body: { data: { approvalId: p.approvalId, decision: message.body.decision } } };
        }
        case "push.register": {
          const push = this.#o.push;
          if (!push) return { ok: false, code: "PUSH_UNAVAILABLE", message: "this host does not send push notifications" };
          const { subscription, kinds, details } = message.body;
          await push.checkSubscription(subscription);
          return { ok: true, type: "result", body: { data: push.register(state.conn.device.id, subscription, kinds, details) } };
        }
        case "push.unregister":
          this.#o.push?.unregister(state.conn.device.id);
          return { ok: true, type: "result", body: {} };
        case "push.test": {
          const push = this.#o.push;
          if (!push) return { ok: false, code: "PUSH_UNAVAILABLE", message: "this host does not send push notifications" };
          return { ok: true, type: "result", body: { data: await push.test(state.conn.device.id) } };
        }
        case "device.visibility":
          state.visible = message.body.visible;
          return { ok: true, type: "result", body: {} };
        default:
          return { ok: false, code: "NOT_ALLOWED", message: `unsupported command ${message.type}` };
      }
    } catch (e) {
      if (e instanceof CommandError || e instanceof BrokerError || e instanceof AgentError || e instanceof PushError)
        return { ok: false, code: e.code, message: e.message };
      if (e instanceof EventStoreError && STORE_CODES[e.code]) {
        // The store's own text can name files on this machine: send the code with a text of our own.
        return { ok: false, code: STORE_CODES[e.code]!, message: storeErrorText(e.code) };
      }
      throw e;
    }
  }

  /**
   * MODEL_UNKNOWN when the agent lists its models and the requested model is
   * not among them, or the effort is not one the model (else the thread's
   * current or the default model) offers.
   */
  #checkModel(model: string | undefined, effort: string | undefined, current?: string): CommandOutcome | undefined {
    if (this.#models.length === 0) return undefined; // the agent does not say: let it decide
    const id = model ?? current ?? this.#o.agent.defaultModel;
    const info = id === undefined ? undefined : this.#models.find((m) => m.id === id);
    if (model !== undefined && !info) return { ok: false, code: "MODEL_UNKNOWN", message: `the agent has no model "${model}"` };
    if (effort !== undefined && info && info.efforts.length > 0 && !(info.efforts as readonly string[]).includes(effort)) {
      return { ok: false, code: "MODEL_UNKNOWN", message: `model "${info.id}" has no effort "${effort}" (it offers ${info.efforts.join(", ")})` };
    }
    return undefined;
  }

  /** UserPromptSubmit / SessionStart hooks for a device's prompt (none configured: nothing runs). */
  async #promptHooks(
    state: ConnState,
    event: "UserPromptSubmit" | "SessionStart",
    threadId: string | null,
    cwd: string,
    command: string,
    prompt: string,
  ): Promise<HookOutcome> {
    if (!this.hooks) return { contexts: [] };
    const grant = state.conn.token;
    const cause = {
      id: state.conn.device.id,
      name: state.conn.device.name,
      ...(grant ? { token: { id: grant.id, name: grant.name, owner: grant.owner } } : {}),
    };
    if (threadId !== null) this.hooks.noteCause(threadId, cause);
    return this.hooks.prompt(event, threadId, cwd, cause, { command, prompt });
  }

  /** Remembers who sent a prompt so the agent's echo of it (`message.user`) names the device. */
  #notePromptAuthor(threadId: string, deviceName: string): void {
    const queue = this.#promptAuthors.get(threadId) ?? [];
    queue.push(deviceName);
    // An agent that never echoes prompts must not make this grow.
    if (queue.length > 16) queue.shift();
    this.#promptAuthors.set(threadId, queue);
  }

  /** A device may pick a working directory only inside the host's workspace (symbolic links resolved). */
  async #cwd(requested: string | undefined): Promise<string> {
    try {
      return await resolveThreadCwd(this.#o.workspace, requested);
    } catch (e) {
      if (e instanceof WorkspaceError) throw new CommandError(e.code, e.message);
      throw e;
    }
  }

  /** thread.start by a token: the folder (its first workspace unless named) must be inside its workspaces. */
  async #tokenFolderRefusal(grant: TokenGrant, requested: string | undefined): Promise<{ code: string; message: string } | undefined> {
    let cwd: string;
    try {
      cwd = await resolveThreadCwd(this.#o.workspace, requested ?? grant.workspaces[0]);
    } catch {
      return undefined; // CWD_INVALID, as for anyone
    }
    const now = this.#o.tokens?.current(grant);
    if (now && !("code" in now) && this.#o.tokens!.canStartIn(now.record, cwd)) return undefined;
    return { code: "TOKEN_SCOPE", message: `token ${grant.name} may start threads only in ${grant.workspaces.join(", ")}` };
  }

  /** How the audit log names who sent a command (a token by its id and name; its owner is in the data). */
  #actor(conn: DeviceConnection): { kind: "device"; id: string; name: string } {
    return { kind: "device", id: conn.device.id, name: conn.device.name };
  }

  /** Whether a connection may see a thread: every paired device; a token only those its scope reads. */
  #mayRead(conn: DeviceConnection, thread: ThreadSummary): boolean {
    if (!conn.token) return true;
    const now = this.#o.tokens?.current(conn.token);
    return now !== undefined && !("code" in now) && this.#o.tokens!.canRead(now.record, thread);
  }

  /**
   * Broadcasts the thread's summary as it is once the frames already on their
   * way went out (next turn of the event loop); changes meanwhile share one frame.
   */
  #broadcastSoon(threadId: string): void {
    this.#summariesDue.add(threadId);
    if (this.#summariesDue.size > 1) return;
    setImmediate(() => {
      const due = [...this.#summariesDue];
      this.#summariesDue.clear();
      for (const id of due) {
        const t = this.#o.store.getThread(id);
        if (t) this.#broadcastThread(t);
      }
    });
  }

  /** Tells every connected device that a thread's summary changed. */
  #broadcastThread(thread: ThreadSummary): void {
    for (const state of this.#conns.values())
      if (this.#mayRead(state.conn, thread))
        this.#contain(this.#send(state.conn, { type: "thread.updated", id: this.#id(), body: { thread } }), "thread.updated");
  }

  #subscribe(state: ConnState, threadId: string, afterSeq: number): void {
    state.subscriptions.set(threadId, { sent: afterSeq, acked: 0, pumping: false, again: false });
    this.#contain(this.#pump(state, threadId), `delivery of ${threadId}`);
  }

  /** A resent subscribe: restart delivery unless the seq is ahead of the thread (answered with SEQ_AHEAD then). */
  #resubscribe(state: ConnState, threadId: string, afterSeq: number): void {
    const t = this.#o.store.getThread(threadId);
    if (t && afterSeq <= t.lastSeq) this.#subscribe(state, threadId, afterSeq);
  }

  #wake(threadId: string): void {
    for (const state of this.#conns.values()) if (state.subscriptions.has(threadId)) this.#contain(this.#pump(state, threadId), `delivery of ${threadId}`);
  }

  /** Work started without awaiting it: a failure is logged and goes no further (never an unhandled rejection). */
  #contain(work: Promise<unknown>, what: string): void {
    work.catch((e: unknown) => this.#o.log?.(`${what} failed: ${messageOf(e)}`));
  }

  /** Sends everything after the subscription's last seq, in order; one pump per connection and thread. */
  async #pump(state: ConnState, threadId: string): Promise<void> {
    const sub = state.subscriptions.get(threadId);
    if (!sub) return;
    if (sub.pumping) {
      sub.again = true;
      return;
    }
    sub.pumping = true;
    try {
      do {
        sub.again = false;
        for (;;) {
          // What is durable now, from memory when recent: never an event whose append has not resolved.
          const page = await this.#o.store.durableEventsAfter(threadId, sub.sent);
          if (page.gap) {
            await this.#sendEvent(
              state.conn,
              threadId,
              page.firstAvailableSeq - 1,
              {
                kind: "notice",
                level: "warning",
                text: `events ${sub.sent + 1}-${page.firstAvailableSeq - 1} were dropped by retention`,
              },
              true,
            );
          }
          // Events other than output are handed to the session back to back (it seals them in
          // order) and awaited together: the next one does not wait for the last one to leave.
          const onTheirWay: { seq: number; sent: Promise<boolean> }[] = [];
          const landed = async (): Promise<boolean> => {
            for (const { seq, sent } of onTheirWay.splice(0)) {
              if (!(await sent)) return false;
              sub.sent = seq;
            }
            return true;
          };
          for (const e of page.events) {
            if (state.subscriptions.get(threadId) !== sub || !this.#conns.has(state.conn)) return;
            if (!isBulk(e.event)) {
              onTheirWay.push({ seq: e.seq, sent: this.#sendEvent(state.conn, threadId, e.seq, e.event, false, storedEventJson(e)) });
              continue;
            }
            if (!(await landed())) return;
            await this.#roomForBulk(state.conn);
            const release = await this.#bulkTurn(state);
            try {
              if (state.subscriptions.get(threadId) !== sub || !this.#conns.has(state.conn)) return;
              if (!(await this.#sendEvent(state.conn, threadId, e.seq, e.event, false, storedEventJson(e), true))) return;
            } finally {
              release();
            }
            sub.sent = e.seq;
          }
          if (!(await landed())) return;
          if (!page.more) break;
        }
      } while (sub.again);
    } finally {
      sub.pumping = false;
    }
  }

  /**
   * Waits until this connection has nothing urgent on its way and fewer than
   * BULK_IN_FLIGHT output frames (or is gone), then takes a place among them
   * (checked and taken with no await between); returns its release.
   */
  async #bulkTurn(state: ConnState): Promise<() => void> {
    while ((state.urgent > 0 || state.bulk >= BULK_IN_FLIGHT) && this.#conns.has(state.conn)) {
      await new Promise<void>((resolve) => state.bulkWaiters.push(resolve));
    }
    state.bulk++;
    return () => {
      state.bulk--;
      this.#wakeBulk(state);
    };
  }

  #wakeBulk(state: ConnState): void {
    if (state.urgent === 0 && state.bulk < BULK_IN_FLIGHT) for (const wake of state.bulkWaiters.splice(0)) wake();
  }

  /** Counts an urgent send on its way (output waits for it) and lets waiting output go when it is done. */
  async #tracked<T>(conn: DeviceConnection, bulk: boolean, send: () => Promise<T>): Promise<T> {
    const state = this.#conns.get(conn);
    if (!state || bulk) return send(); // output holds its place from #bulkTurn
    state.urgent++;
    try {
      return await send();
    } finally {
      state.urgent--;
      this.#wakeBulk(state);
    }
  }

  /** Waits until the relay connection's queue is below BULK_HIGH_WATER (or the connection is gone). */
  async #roomForBulk(conn: DeviceConnection): Promise<void> {
    while ((conn.backlog?.() ?? 0) > BULK_HIGH_WATER && this.#conns.has(conn)) {
      await new Promise<void>((resolve) => setTimeout(resolve, BULK_POLL_MS));
    }
  }

  async #sendEvent(
    conn: DeviceConnection,
    threadId: string,
    seq: number,
    event: ThreadEvent,
    synthetic = false,
    json?: string,
    bulk = false,
  ): Promise<boolean> {
    if (json !== undefined && !synthetic) {
      // The event was validated when it was appended and its JSON kept: no second validation and serialisation per device.
      const payload = textEncoder.encode(
        `{"v":${APP_PROTOCOL_VERSION},"type":"event","id":"e${seq}","thread":${JSON.stringify(threadId)},"seq":${seq},"body":${json}}`,
      );
      if (payload.length <= MAX_APP_MESSAGE_BYTES) return this.#sendPayload(conn, payload, bulk);
    }
    return this.#send(conn, { type: "event", id: synthetic ? this.#id() : `e${seq}`, thread: threadId, seq, body: event }, undefined, bulk);
  }

  async #send(
    conn: DeviceConnection,
    message: Parameters<typeof appProtocol.encode>[0],
    options?: { after?: Promise<unknown> },
    bulk = false,
  ): Promise<boolean> {
    let payload: Uint8Array;
    try {
      payload = appProtocol.encode(message);
    } catch (e) {
      this.#o.log?.(`send to ${conn.device.id} failed: ${messageOf(e)}`);
      return false;
    }
    return this.#sendPayload(conn, payload, bulk, options);
  }

  /** Hands a payload to the device's session; streamed output gives way to everything else (#bulkTurn). */
  async #sendPayload(conn: DeviceConnection, payload: Uint8Array, bulk: boolean, options?: { after?: Promise<unknown> }): Promise<boolean> {
    try {
      return await this.#tracked(conn, bulk, () => conn.send(payload, options));
    } catch (e) {
      this.#o.log?.(`send to ${conn.device.id} failed: ${messageOf(e)}`);
      return false;
    }
  }

  /** A command's answer: its result, or its error. */
  #sendOutcome(conn: DeviceConnection, re: string, outcome: CommandOutcome, after?: Promise<unknown>): Promise<boolean> {
    const options = after ? { after } : undefined;
    if (outcome.ok) return this.#send(conn, { type: outcome.type, id: this.#id(), re, body: outcome.body }, options);
    return this.#send(conn, errorMessage(this.#id(), re, outcome.code, outcome.message), options);
  }

  async #sendError(conn: DeviceConnection, re: string | undefined, code: string, message: string): Promise<void> {
    await this.#send(conn, errorMessage(this.#id(), re, code, message));
  }

  #id(): string {
    return `h${++this.#ids}`;
  }
}

/** An error message answering `re` (a code that is not a valid code name becomes APP_MESSAGE_INVALID). */
function errorMessage(id: string, re: string | undefined, code: string, message: string): Parameters<typeof appProtocol.encode>[0] {
  const safeCode = /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : "APP_MESSAGE_INVALID";
  return { type: "error", id, ...(re ? { re } : {}), body: { code: safeCode, message: message.slice(0, 1024) } };
}

/** The answer to a prompt a UserPromptSubmit hook refused. */
function hookDenied(outcome: HookOutcome): CommandOutcome {
  const d = outcome.denied!;
  return { ok: false, code: "HOOK_DENIED", message: `denied by hook ${d.hook}: ${d.reason}`.slice(0, 1024) };
}

/** Audit data naming the token and its owner, for commands a token sent. */
function tokenData(conn: DeviceConnection): Record<string, unknown> {
  return conn.token ? { token: { id: conn.token.id, name: conn.token.name, owner: conn.token.owner } } : {};
}

function storeErrorText(code: string): string {
  if (code === "THREAD_LIMIT") return "the host's thread limit is reached and every thread is running or waiting; finish or archive one first";
  if (code === "SEQ_AHEAD") return "afterSeq is ahead of the thread's last event";
  return "no such thread";
}

/** Best-effort read of an invalid message's id, to address the error reply. */
function peekId(payload: Uint8Array): string | undefined {
  if (payload.length > 1024 * 1024) return undefined;
  try {
    const json = JSON.parse(strictTextDecoder.decode(payload)) as { id?: unknown };
    return typeof json.id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(json.id) ? json.id : undefined;
  } catch {
    return undefined;
  }
}

/** host.info `capabilities`: the host's and the agent's (e.g. "agent.steer"), valid names only; absent when none. */
function capabilityList(names: readonly string[]): { capabilities?: string[] } {
  const valid = [...new Set(names)].filter((n) => /^[a-z][a-z0-9_.-]{0,63}$/.test(n)).slice(0, 32);
  return valid.length > 0 ? { capabilities: valid } : {};
}
