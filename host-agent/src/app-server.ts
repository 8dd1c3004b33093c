// The application protocol on the host: what a connected device may ask, and
// the delivery of thread events. Every event is appended to the event store
// (durable) before any device sees it; each device subscription is a pump that
// sends the store's events after the device's last seq, in order, exactly
// once per connection. Commands are idempotent by (device, command id).
import { hostname, platform } from "node:os";
import {
  AirlockProtocolError,
  appProtocol,
  DEVICE_COMMANDS,
  strictTextDecoder,
  type AppProtocolMessage,
  type ThreadEvent,
  type ThreadSummary,
} from "@airlock/protocol";
import type { Agent, EventSink } from "./agent.ts";
import type { CommandLedger } from "./command-ledger.ts";
import type { EventStore } from "./event-store.ts";
import type { DeviceConnection } from "./host-core.ts";

export const AIRLOCK_VERSION = "0.1.0";

/** What a command produced, stored in the ledger so a resend gets the same answer. */
export type CommandOutcome = { ok: true; type: "result" | "thread.list"; body: Record<string, unknown> } | { ok: false; code: string; message: string };

interface Subscription {
  /** Highest seq sent to this connection. */
  sent: number;
  pumping: boolean;
  again: boolean;
}

interface ConnState {
  conn: DeviceConnection;
  /** A device's messages are handled one at a time, in the order they arrived. */
  queue: Promise<void>;
  subscriptions: Map<string, Subscription>;
  /** Last seq each thread acknowledged by this device (for stats; delivery relies on subscribe). */
  acked: Map<string, number>;
}

export interface AppServerOptions {
  store: EventStore;
  ledger: CommandLedger<CommandOutcome>;
  agent: Agent;
  log?(line: string): void;
  /** Records prompts and instructions from devices in the audit log. */
  audit?(type: string, actor: { kind: "device"; id: string; name: string }, data: Record<string, unknown>): void;
}

class CommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class AppServer {
  #o: AppServerOptions;
  #conns = new Map<DeviceConnection, ConnState>();
  #ids = 0;
  readonly sink: EventSink;

  constructor(options: AppServerOptions) {
    this.#o = options;
    this.sink = {
      emit: async (threadId, event) => {
        await this.#o.store.append(threadId, event);
        this.#wake(threadId);
      },
      status: async (threadId, status) => {
        this.#broadcastThread(await this.#o.store.updateThread(threadId, { status }));
      },
    };
  }

  async onSessionOpen(conn: DeviceConnection): Promise<void> {
    this.#conns.set(conn, { conn, queue: Promise.resolve(), subscriptions: new Map(), acked: new Map() });
    const agent = this.#o.agent;
    await this.#send(conn, {
      type: "host.info",
      id: this.#id(),
      body: {
        name: hostname(),
        platform: platform(),
        airlockVersion: AIRLOCK_VERSION,
        agent: agent.info,
        models: agent.models,
        ...(agent.defaultModel ? { defaultModel: agent.defaultModel } : {}),
      },
    });
  }

  onSessionClosed(conn: DeviceConnection): void {
    this.#conns.delete(conn);
  }

  onPayload(conn: DeviceConnection, payload: Uint8Array): Promise<void> {
    const state = this.#conns.get(conn);
    if (!state) return Promise.resolve();
    const run = state.queue.then(() => this.#handle(state, payload));
    state.queue = run.catch((e: unknown) => this.#o.log?.(`message from ${conn.device.id} failed: ${String(e)}`));
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
    if (message.ack) for (const a of message.ack) state.acked.set(a.thread, Math.max(state.acked.get(a.thread) ?? 0, a.seq));
    if (!(DEVICE_COMMANDS as readonly string[]).includes(message.type)) {
      await this.#sendError(conn, message.id, "NOT_ALLOWED", `devices cannot send "${message.type}"`);
      return;
    }
    if (message.type === "ack") return;
    if (message.type === "thread.start" || message.type === "thread.send" || message.type === "turn.steer" || message.type === "turn.interrupt") {
      const body = message.body as { thread?: string; prompt?: string; text?: string };
      this.#o.audit?.("prompt", { kind: "device", id: conn.device.id, name: conn.device.name }, {
        command: message.type,
        commandId: message.id,
        ...(body.thread ? { thread: body.thread } : {}),
        ...(body.prompt ?? body.text ? { text: body.prompt ?? body.text } : {}),
      });
    }
    let outcome: CommandOutcome;
    let duplicate = false;
    try {
      ({ outcome, duplicate } = await this.#o.ledger.once(conn.device.id, message.id, () => this.#run(state, message)));
    } catch (e) {
      outcome = { ok: false, code: "INTERNAL", message: e instanceof Error ? e.message : String(e) };
    }
    if (outcome.ok) await this.#send(conn, { type: outcome.type, id: this.#id(), re: message.id, body: outcome.body } as never);
    else await this.#sendError(conn, message.id, outcome.code, outcome.message);
    // A resent subscribe must still (re)start delivery on this connection.
    if (duplicate && message.type === "thread.subscribe") this.#subscribe(state, message.body.thread, message.body.afterSeq);
  }

  async #run(state: ConnState, message: AppProtocolMessage): Promise<CommandOutcome> {
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
            body: { threads: store.listThreads().filter((t) => message.body.includeArchived || t.status !== "archived") },
          };
        case "thread.subscribe": {
          const t = thread(message.body.thread);
          this.#subscribe(state, t.id, message.body.afterSeq);
          return { ok: true, type: "result", body: { data: { thread: t.id, lastSeq: t.lastSeq } } };
        }
        case "thread.unsubscribe":
          state.subscriptions.delete(message.body.thread);
          return { ok: true, type: "result", body: {} };
        case "thread.start": {
          const t = await store.createThread({
            title: message.body.prompt.split("\n")[0]!.slice(0, 120) || "New thread",
            ...(message.body.model ? { model: message.body.model } : {}),
            ...(message.body.effort ? { effort: message.body.effort } : {}),
          });
          this.#subscribe(state, t.id, 0);
          this.#broadcastThread(t);
          const options = {
            ...(message.body.model ? { model: message.body.model } : {}),
            ...(message.body.effort ? { effort: message.body.effort } : {}),
          };
          await agent.startThread(t.id, message.body.prompt, options, this.sink);
          return { ok: true, type: "result", body: { data: { thread: t.id } } };
        }
        case "thread.send":
          thread(message.body.thread);
          await agent.sendMessage(message.body.thread, message.body.text, this.sink);
          return { ok: true, type: "result", body: {} };
        case "turn.steer":
          thread(message.body.thread);
          await agent.steer(message.body.thread, message.body.text, this.sink);
          return { ok: true, type: "result", body: {} };
        case "turn.interrupt":
          thread(message.body.thread);
          await agent.interrupt(message.body.thread, this.sink);
          return { ok: true, type: "result", body: {} };
        case "thread.settings": {
          thread(message.body.thread);
          const patch = { ...(message.body.model ? { model: message.body.model } : {}), ...(message.body.effort ? { effort: message.body.effort } : {}) };
          this.#broadcastThread(await store.updateThread(message.body.thread, patch));
          await this.sink.emit(message.body.thread, { kind: "settings", ...patch });
          return { ok: true, type: "result", body: {} };
        }
        case "question.answer":
        case "approval.decide":
          thread(message.body.thread);
          return { ok: false, code: "NOT_PENDING", message: "nothing is waiting for an answer in this thread" };
        default:
          return { ok: false, code: "NOT_ALLOWED", message: `unsupported command ${message.type}` };
      }
    } catch (e) {
      if (e instanceof CommandError) return { ok: false, code: e.code, message: e.message };
      throw e;
    }
  }

  /** Tells every connected device that a thread's summary changed. */
  #broadcastThread(thread: ThreadSummary): void {
    for (const state of this.#conns.values()) void this.#send(state.conn, { type: "thread.updated", id: this.#id(), body: { thread } });
  }

  #subscribe(state: ConnState, threadId: string, afterSeq: number): void {
    state.subscriptions.set(threadId, { sent: afterSeq, pumping: false, again: false });
    void this.#pump(state, threadId);
  }

  #wake(threadId: string): void {
    for (const state of this.#conns.values()) if (state.subscriptions.has(threadId)) void this.#pump(state, threadId);
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
          const page = await this.#o.store.eventsAfter(threadId, sub.sent);
          if (page.gap) {
            await this.#sendEvent(state.conn, threadId, page.firstAvailableSeq - 1, {
              kind: "notice",
              level: "warning",
              text: `events ${sub.sent + 1}-${page.firstAvailableSeq - 1} were dropped by retention`,
            }, true);
          }
          for (const e of page.events) {
            if (state.subscriptions.get(threadId) !== sub || !this.#conns.has(state.conn)) return;
            if (!(await this.#sendEvent(state.conn, threadId, e.seq, e.event))) return;
            sub.sent = e.seq;
          }
          if (!page.more) break;
        }
      } while (sub.again);
    } finally {
      sub.pumping = false;
    }
  }

  async #sendEvent(conn: DeviceConnection, threadId: string, seq: number, event: ThreadEvent, synthetic = false): Promise<boolean> {
    return this.#send(conn, { type: "event", id: synthetic ? this.#id() : `e${seq}`, thread: threadId, seq, body: event });
  }

  async #send(conn: DeviceConnection, message: Parameters<typeof appProtocol.encode>[0]): Promise<boolean> {
    try {
      return await conn.send(appProtocol.encode(message));
    } catch (e) {
      this.#o.log?.(`send to ${conn.device.id} failed: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  }

  async #sendError(conn: DeviceConnection, re: string | undefined, code: string, message: string): Promise<void> {
    const safeCode = /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : "APP_MESSAGE_INVALID";
    await this.#send(conn, { type: "error", id: this.#id(), ...(re ? { re } : {}), body: { code: safeCode, message: message.slice(0, 1024) } });
  }

  #id(): string {
    return `h${++this.#ids}`;
  }
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
