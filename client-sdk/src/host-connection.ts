// One trusted host, kept connected: relay admission with the device key,
// resume handshake, reconnect with capped exponential backoff and full jitter
// (at once when the host itself reconnected), keepalive and dead-link
// detection (relay-socket.ts). On every new session it re-subscribes each
// thread from the last seq it holds and resends unanswered commands with their
// original ids (outbox.ts). With a store, unanswered commands and followed
// threads are saved and restored after an app restart (persist.ts). State
// comes from what the relay and host say: presence frames, close codes,
// handshake verdicts — never from guesses.
import {
  decodeAppEnvelope,
  deviceAppProtocol,
  DeviceSession,
  type AirlockProtocolError,
  fromBase64Url,
  type AppProtocolMessage,
  type ApprovalDecision,
  type Effort as ProtocolEffort,
  type CryptoBackend,
  type Ed25519Signer,
  type ThreadEvent,
  type ThreadSummary,
  type DeviceCommandType,
  type DeviceCommandBody,
  type CommandResult,
  backoffDelay,
  DEFAULT_BACKOFF,
  type BackoffOptions,
} from "@airlock/protocol";
import { E2ESession } from "./e2e.ts";
import { Emitter } from "./emitter.ts";
import { AirlockClientError, closeMeaning, toClientError, messageOf } from "./errors.ts";
import type { TrustedHost } from "./hosts.ts";
import { isThreadId, newMessageId, THREAD_ID } from "./ids.ts";
import { Outbox, type OutboxEntry, type OutboxOptions } from "./outbox.ts";
import { ConnectionSaver, connectionStateKey, parseSavedState, type SavedState } from "./persist.ts";
import { DEFAULT_SOCKET_TIMING, presenceOf, RelaySocket, type Presence, type SocketTiming } from "./relay-socket.ts";
import { ThreadStream, ThreadSubscription, type SeqEvent } from "./thread-subscription.ts";
import type { Store } from "./store.ts";
import type { WebSocketConstructor } from "./websocket.ts";

export type ConnectionState = "connecting" | "online" | "host-offline" | "offline" | "refused" | "closed";

export type HostInfo = Extract<AppProtocolMessage, { type: "host.info" }>["body"];
export type Effort = ProtocolEffort;
export type Decision = ApprovalDecision;

export interface ThreadEventMessage {
  thread: string;
  seq: number;
  event: ThreadEvent;
}

export interface ConnectionEvents extends Record<string, unknown> {
  state: ConnectionState;
  presence: Presence;
  threads: ThreadSummary[];
  hostInfo: HostInfo;
  event: ThreadEventMessage;
  outbox: OutboxEntry[];
  /** A command's final entry (acknowledged or failed), restored ones included. */
  settled: OutboxEntry;
  /** Commands saved before an app restart, back in the outbox (they are resent once online). */
  restored: OutboxEntry[];
  error: AirlockClientError;
}

export interface ConnectionTiming extends SocketTiming {
  /** A host that does not finish the handshake by then is retried. */
  handshakeTimeoutMs: number;
  backoff: BackoffOptions;
  /** Acknowledgements are batched for this long. */
  ackDelayMs: number;
}

export const DEFAULT_CONNECTION_TIMING: ConnectionTiming = {
  ...DEFAULT_SOCKET_TIMING,
  handshakeTimeoutMs: 15_000,
  backoff: DEFAULT_BACKOFF,
  ackDelayMs: 300,
};

export interface HostConnectionOptions {
  host: TrustedHost;
  signer: Ed25519Signer;
  backend: CryptoBackend;
  deviceName: string;
  WebSocket: WebSocketConstructor;
  timing?: Partial<ConnectionTiming> | undefined;
  outbox?: OutboxOptions | undefined;
  /** Saves unanswered commands and followed threads here, and restores them first. */
  store?: Store | undefined;
  /** The host was seen online (unix ms). */
  onHostSeen?(at: number): void;
  onHostInfo?(info: HostInfo): void;
  onClosed?(): void;
}

/** At most this many threads are tracked (summaries or streams); a host cannot make the SDK grow without bound. */
const MAX_THREADS = 2000;
const MAX_ACKS = 64;

interface Waiter {
  resolve(data: Record<string, unknown>): void;
  reject(error: AirlockClientError): void;
}

export class HostConnection {
  readonly hostId: string;
  state: ConnectionState = "connecting";
  presence: Presence;
  hostInfo?: HostInfo;
  threads: ThreadSummary[] = [];
  /** Why the connection last failed (kept while offline or refused). */
  error: AirlockClientError | undefined;

  #o: HostConnectionOptions;
  #timing: ConnectionTiming;
  #emitter = new Emitter<ConnectionEvents>();
  #outbox: Outbox;
  #streams = new Map<string, ThreadStream>();
  #socket: RelaySocket | undefined;
  #e2e: E2ESession | undefined;
  #waiters = new Map<string, Waiter>();
  #attempt = 0;
  #retryTimer?: ReturnType<typeof setTimeout>;
  #handshakeTimer?: ReturnType<typeof setTimeout>;
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  #expiryTimer: ReturnType<typeof setInterval>;
  #acked = new Map<string, number>();
  #saver: ConnectionSaver | undefined;
  /** Followed threads restored from the store that no view has claimed yet. */
  #held = new Set<string>();
  #restoring: Promise<void> = Promise.resolve();
  /** What to save when close() came before the restore finished. */
  #closedState: SavedState | undefined;
  /** The last setVisible(), re-sent on every new session. */
  #visible: boolean | undefined;

  constructor(options: HostConnectionOptions) {
    this.#o = options;
    this.hostId = options.host.id;
    this.#timing = { ...DEFAULT_CONNECTION_TIMING, ...options.timing };
    this.presence = presenceOf(false, options.host.lastSeen);
    this.#outbox = new Outbox(options.outbox);
    this.#outbox.onChange = () => this.#emitter.emit("outbox", this.#outbox.entries);
    this.#outbox.onPendingChange = () => this.#saver?.schedule();
    this.#outbox.onSettled = (entry) => this.#emitter.emit("settled", entry);
    this.#expiryTimer = setInterval(() => this.#outbox.expire(), Math.min(30_000, Math.max(1000, this.#outbox.ttlMs / 4)));
    (this.#expiryTimer as { unref?: () => void }).unref?.();
    if (options.store) this.#restoring = this.#restore(options.store);
    void this.#restoring.then(() => this.#connect());
  }

  on<K extends keyof ConnectionEvents>(event: K, listener: (payload: ConnectionEvents[K]) => void): () => void {
    return this.#emitter.on(event, listener);
  }

  get outbox(): OutboxEntry[] {
    return this.#outbox.entries;
  }

  /**
   * Threads this connection follows for the app: open subscriptions, and ones
   * restored after a restart (`subscribe(id)` claims one; closing its last view lets it go).
   */
  get followedThreads(): string[] {
    return [...this.#streams.values()].filter((s) => s.views.size > 0 || this.#held.has(s.thread)).map((s) => s.thread);
  }

  /** Resolves once the outbox and followed threads, as they are now, are in the store. */
  async saved(): Promise<void> {
    await this.#restoring;
    await this.#saver?.saved();
  }

  // ---------------------------------------------------------------- commands

  startThread(options: { prompt: string; model?: string; effort?: Effort; cwd?: string }): Promise<CommandResult<"thread.start">> {
    // Absent options stay undefined: the encoder drops them.
    const { prompt, model, effort, cwd } = options;
    return this.#command("thread.start", { prompt, model, effort, cwd }).then((data) => {
      const thread = data.thread;
      if (!isThreadId(thread)) throw new AirlockClientError("PROTOCOL_ERROR", "thread.start answered without a thread id");
      return { thread };
    });
  }

  // Each method resolves with its command's result as the protocol types it
  // (CommandResult, protocol/src/app-results.ts): `{}` for most, the approval
  // and its decision for decide.

  send(thread: string, text: string): Promise<CommandResult<"thread.send">> {
    return this.#command("thread.send", { thread, text }, thread);
  }

  steer(thread: string, text: string): Promise<CommandResult<"turn.steer">> {
    return this.#command("turn.steer", { thread, text }, thread);
  }

  interrupt(thread: string): Promise<CommandResult<"turn.interrupt">> {
    return this.#command("turn.interrupt", { thread }, thread);
  }

  decide(thread: string, approvalId: string, decision: Decision, note?: string): Promise<CommandResult<"approval.decide">> {
    return this.#command("approval.decide", { thread, approvalId, decision, note }, thread);
  }

  answer(thread: string, questionId: string, answer: string, optionId?: string): Promise<CommandResult<"question.answer">> {
    return this.#command("question.answer", { thread, questionId, answer, optionId }, thread);
  }

  settings(thread: string, settings: { model?: string; effort?: Effort }): Promise<CommandResult<"thread.settings">> {
    return this.#command("thread.settings", { thread, ...settings }, thread);
  }

  // ---------------------------------------------------------------- push (docs/client-sdk.md, "Push notifications")

  /**
   * Sends any device command (docs/protocol.md §10.3) like the methods above:
   * queued while offline, resolved with the result's data, rejected with the
   * host's error. For commands without a method here, such as the push
   * commands (`@airlock/client-sdk/push`: enablePush, disablePush, testPush).
   * The body and the result are typed per command by the protocol.
   */
  command<T extends DeviceCommandType>(type: T, body: DeviceCommandBody<T>): Promise<CommandResult<T>> {
    return this.#command(type, body);
  }

  /**
   * Tells the host whether the app is in the foreground (a visible device
   * following a thread gets no push for it). Sent now if online, and again on
   * every new session.
   */
  setVisible(visible: boolean): void {
    this.#visible = visible;
    this.#sendVisibility();
  }

  #sendVisibility(): void {
    if (this.#visible !== undefined) this.#request("device.visibility", { visible: this.#visible }).catch(() => undefined);
  }

  /** Asks the host for its thread list (also done on every new session). */
  refreshThreads(options: { includeArchived?: boolean } = {}): Promise<ThreadSummary[]> {
    // An absent flag stays out of the JSON.
    return this.#command("threads.list", { includeArchived: options.includeArchived || undefined }).then(() => this.threads);
  }

  // ---------------------------------------------------------------- threads

  /** Follows a thread's events: everything after what this connection holds, then live, across reconnects. */
  subscribe(thread: string): ThreadSubscription {
    if (!THREAD_ID.test(thread)) throw new AirlockClientError("INVALID_ARGUMENT", "not a thread id");
    if (this.state === "closed") throw new AirlockClientError("CLOSED", "the connection is closed");
    const stream = this.#stream(thread);
    if (!stream) throw new AirlockClientError("INVALID_ARGUMENT", `more than ${MAX_THREADS} threads followed`);
    const view = new ThreadSubscription(stream, (v) => this.#unsubscribe(stream, v));
    stream.views.add(view);
    // A restored thread is now the app's: it stops being followed when its last view closes.
    if (stream.views.size === 1 && !this.#held.delete(thread)) this.#saver?.schedule();
    if (!stream.subscribed) {
      stream.subscribed = true;
      if (this.#e2e?.open) this.#subscribeOnHost(stream);
    }
    return view;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Skips the backoff wait (e.g. when the platform reports the network is back). */
  reconnectNow(): void {
    // Also the explicit retry after a host-authentication refusal (WRONG_HOST_KEY).
    if (!(this.state === "offline" || (this.state === "refused" && this.error?.code === "WRONG_HOST_KEY"))) return;
    clearTimeout(this.#retryTimer);
    this.#setState("connecting");
    void this.#connect();
  }

  /**
   * Ends the connection: unsettled commands fail with CLOSED here, but stay
   * saved in the store (a client created later with it resends them).
   */
  close(): void {
    if (this.state === "closed") return;
    // What the store keeps is the state before the CLOSED failures below.
    if (this.#saver) void this.#saver.finish(this.#savedState());
    else this.#closedState = this.#savedState();
    this.#setState("closed");
    this.#teardown();
    clearTimeout(this.#retryTimer);
    clearInterval(this.#expiryTimer);
    this.#socket?.close(1000, "closed by the device");
    this.#socket = undefined;
    this.#outbox.failAll(new AirlockClientError("CLOSED", "the connection was closed"));
    for (const stream of this.#streams.values()) for (const view of [...stream.views]) view.close();
    this.#emitter.clear();
    this.#o.onClosed?.();
  }

  // ---------------------------------------------------------------- internals

  #setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.#emitter.emit("state", state);
  }

  #setPresence(presence: Presence): void {
    this.presence = presenceOf(presence.hostOnline, presence.lastSeen ?? this.presence.lastSeen);
    if (presence.lastSeen !== undefined) this.#o.onHostSeen?.(presence.lastSeen);
    this.#emitter.emit("presence", this.presence);
  }

  /** Puts back what was saved before an app restart; runs before the first connection attempt. */
  async #restore(store: Store): Promise<void> {
    let parsed: ReturnType<typeof parseSavedState>;
    try {
      parsed = parseSavedState(await store.get(connectionStateKey(this.hostId)), this.hostId);
    } catch (e) {
      parsed = { commands: [], threads: [], bad: messageOf(e) };
    }
    const saver = new ConnectionSaver(
      { store, hostId: this.hostId, snapshot: () => this.#savedState(), onError: (e) => this.#emitter.emit("error", e) },
      parsed.bad ? undefined : parsed,
    );
    this.#saver = saver;
    const closed = this.#closedState;
    if (closed) {
      // Closed while loading: keep what was saved plus what was issued meanwhile.
      await saver.finish({ commands: [...parsed.commands, ...closed.commands], threads: [...new Set([...parsed.threads, ...closed.threads])] });
      return;
    }
    if (parsed.bad) this.#emitter.emit("error", new AirlockClientError("STORAGE", `saved outbox ignored: ${parsed.bad.slice(0, 200)}`));
    for (const thread of parsed.threads) {
      const stream = this.#stream(thread);
      if (!stream || stream.views.size > 0) continue;
      this.#held.add(thread);
      stream.subscribed = true;
    }
    const restored = this.#outbox.restore(parsed.commands);
    if (restored.length > 0) this.#emitter.emit("restored", restored);
    this.#outbox.expire(); // a restored command older than the TTL fails with OUTBOX_EXPIRED
    saver.schedule(); // also catches up with commands issued while this was loading
  }

  #savedState(): SavedState {
    return { commands: this.#outbox.saved(), threads: this.followedThreads };
  }

  async #connect(): Promise<void> {
    if (this.state === "closed" || this.state === "refused") return;
    this.#setState("connecting");
    const host = this.#o.host;
    let socket: RelaySocket;
    let presence: Presence;
    try {
      ({ socket, presence } = await RelaySocket.connect({
        relayUrl: host.relayUrl,
        roomId: host.id,
        signer: this.#o.signer,
        WebSocket: this.#o.WebSocket,
        timing: this.#timing,
        onFrame: (frame) => {
          if (this.#socket === socket) this.#e2e?.receive(frame);
        },
        onPresence: (p) => {
          if (this.#socket === socket) this.#onPresence(p);
        },
        onClose: (closed) => {
          if (this.#socket !== socket) return; // (this socket is already closed)
          // Every relay close is retried: 4002/4004 included (RELAY_REFUSED), as the relay is not the host.
          const meaning = closeMeaning(closed.code, closed.reason, false);
          if (meaning.immediate) this.#setPresence({ hostOnline: true });
          this.#lost(meaning.error, true, undefined, meaning.immediate);
        },
      }));
    } catch (e) {
      this.#lost(toClientError(e, "RELAY_UNREACHABLE"));
      return;
    }
    if ((this.state as ConnectionState) === "closed") return socket.close();
    this.#socket = socket;
    this.#setPresence(presence);
    if (presence.hostOnline) this.#handshake();
    else this.#setState("host-offline");
  }

  #onPresence(p: Presence): void {
    this.#setPresence(p);
    if (!p.hostOnline) {
      // The host's side of the session is gone with its connection.
      this.#teardown();
      this.#setState("host-offline");
    } else if (!this.#e2e) {
      this.#handshake();
    }
  }

  #handshake(): void {
    const socket = this.#socket;
    if (!socket) return;
    this.#setState("connecting");
    const session = new DeviceSession({
      backend: this.#o.backend,
      hostPublicKey: fromBase64Url(this.#o.host.publicKey)!,
      deviceSigner: this.#o.signer,
      deviceName: this.#o.deviceName,
    });
    const e2e: E2ESession = new E2ESession(session, (frame) => socket.send(frame), {
      onOpen: () => {
        if (this.#e2e === e2e) this.#opened();
      },
      onPayload: (payload) => {
        if (this.#e2e === e2e) this.#onPayload(payload);
      },
      onError: (error) => {
        if (this.#e2e !== e2e) return;
        // A failed session needs a fresh connection (counters start again at 0): #lost closes the
        // socket, also after an ABORT (the relay keeps that socket open; later frames mean nothing).
        // Two verdicts stop the retries. The host's sealed HostVerdict refused this device
        // (DEVICE_REVOKED; a plaintext ABORT saying so is RELAY_REFUSED, a hint: retried). Or our own
        // check of the host's signature failed: something answered for this host without its key;
        // stop until the app asks again with reconnectNow().
        const impostor = error.protocolCode === "HOST_SIGNATURE_INVALID" && !(error.cause as AirlockProtocolError).remote;
        this.#lost(
          impostor
            ? new AirlockClientError("WRONG_HOST_KEY", "the host's identity did not verify: maybe an impostor", {
                protocolCode: "HOST_SIGNATURE_INVALID",
                cause: error,
              })
            : error,
          !impostor && error.code !== "DEVICE_REVOKED",
          "session failed",
        );
      },
    });
    this.#e2e = e2e;
    clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = setTimeout(() => {
      if (this.#e2e !== e2e || e2e.open) return;
      this.#lost(new AirlockClientError("TIMEOUT", "the host did not complete the handshake in time"), true, "handshake timeout");
    }, this.#timing.handshakeTimeoutMs);
    e2e.start();
  }

  #opened(): void {
    clearTimeout(this.#handshakeTimer);
    this.#attempt = 0;
    this.error = undefined;
    this.#acked.clear();
    this.#setPresence({ hostOnline: true });
    this.#o.onHostSeen?.(Date.now());
    this.#setState("online");
    this.#sendVisibility();
    this.#request("threads.list", {}).catch(() => undefined);
    for (const stream of this.#streams.values()) if (stream.subscribed) this.#subscribeOnHost(stream);
    this.#flush();
  }

  /** Ends the current session (not the socket): unanswered commands go back to the queue. */
  #teardown(): void {
    clearTimeout(this.#handshakeTimer);
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    this.#e2e?.close();
    this.#e2e = undefined;
    this.#outbox.requeue();
    const lost = new AirlockClientError("CONNECTION_LOST", "the session ended before the host answered");
    for (const w of this.#waiters.values()) w.reject(lost);
    this.#waiters.clear();
  }

  /** Ends the session and closes the socket (with `reason`); then retries with backoff, or refuses when `retry` is false. */
  #lost(error: AirlockClientError, retry = true, reason?: string, immediate?: boolean): void {
    if (this.state === "closed") return;
    this.#teardown();
    this.#socket?.close(1000, reason); // RelaySocket reports no close it caused itself
    this.#socket = undefined;
    this.error = error;
    this.#emitter.emit("error", error);
    if (!retry) {
      this.#setState("refused");
      this.#outbox.failAll(error);
      return;
    }
    this.#setState("offline");
    const delay = immediate ? 0 : backoffDelay(this.#attempt++, this.#timing.backoff);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#connect(), delay);
  }

  /**
   * The host's answer is trusted to be the protocol's CommandResult<T> (its
   * envelope and body were checked on arrival; startThread checks its thread
   * id): this is the one place the SDK says so.
   */
  #command<T extends DeviceCommandType>(type: T, body: DeviceCommandBody<T>, thread?: string): Promise<CommandResult<T>> {
    if (this.state === "closed" || this.state === "refused") {
      return Promise.reject(this.error ?? new AirlockClientError("CLOSED", "the connection is closed"));
    }
    const id = newMessageId();
    try {
      // Validate now: a malformed command fails at once instead of waiting in the outbox.
      deviceAppProtocol.encode({ type, id, body });
    } catch (e) {
      return Promise.reject(new AirlockClientError("INVALID_ARGUMENT", messageOf(e)));
    }
    const done = this.#outbox.add(id, type, body, thread) as Promise<CommandResult<T>>;
    this.#flush();
    return done;
  }

  #flush(): void {
    const e2e = this.#e2e;
    if (!e2e?.open) return;
    this.#outbox.expire();
    for (const cmd of this.#outbox.queued()) {
      this.#outbox.markSent(cmd.id);
      this.#sendMessage(e2e, cmd.type, cmd.id, cmd.body);
    }
  }

  /** Internal requests (subscriptions, list refreshes) are sent only online and never queued. */
  #request(type: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const e2e = this.#e2e;
    if (!e2e?.open) return Promise.reject(new AirlockClientError("CONNECTION_LOST", "not connected"));
    const id = newMessageId("r");
    const answer = new Promise<Record<string, unknown>>((resolve, reject) => this.#waiters.set(id, { resolve, reject }));
    this.#sendMessage(e2e, type, id, body);
    return answer;
  }

  #sendMessage(e2e: E2ESession, type: string, id: string, body: Record<string, unknown>, ack?: Array<{ thread: string; seq: number }>): void {
    let bytes: Uint8Array;
    try {
      bytes = deviceAppProtocol.encode({ type, id, body, ack }); // an absent ack stays out of the JSON
    } catch (e) {
      const error = new AirlockClientError("INVALID_ARGUMENT", messageOf(e));
      if (!this.#outbox.fail(id, error)) this.#waiters.get(id)?.reject(error);
      return;
    }
    // A send failure ends the session; E2ESession reports it through onError.
    e2e.send(bytes).catch(() => undefined);
  }

  #subscribeOnHost(stream: ThreadStream): void {
    this.#request("thread.subscribe", { thread: stream.thread, afterSeq: stream.lastSeq }).catch((e: unknown) => {
      const error = toClientError(e);
      if (error.code === "CONNECTION_LOST") return; // resubscribed on the next session
      stream.subscribed = false;
      this.#emitter.emit("error", error);
    });
  }

  #unsubscribe(stream: ThreadStream, view: ThreadSubscription): void {
    stream.views.delete(view);
    if (stream.views.size > 0 || this.state === "closed") return;
    this.#saver?.schedule();
    stream.subscribed = false;
    this.#streams.delete(stream.thread);
    if (this.#e2e?.open) this.#request("thread.unsubscribe", { thread: stream.thread }).catch(() => undefined);
  }

  #stream(thread: string): ThreadStream | undefined {
    let stream = this.#streams.get(thread);
    if (!stream) {
      if (this.#streams.size >= MAX_THREADS) return undefined;
      stream = new ThreadStream(thread);
      this.#streams.set(thread, stream);
    }
    return stream;
  }

  // ---------------------------------------------------------------- incoming

  #onPayload(payload: Uint8Array): void {
    let m: AppProtocolMessage;
    try {
      m = deviceAppProtocol.decode(payload);
    } catch (e) {
      this.#emitter.emit("error", new AirlockClientError("PROTOCOL_ERROR", `the host sent an invalid message: ${messageOf(e)}`, { cause: e }));
      this.#skipUnreadableEvent(payload);
      return;
    }
    switch (m.type) {
      case "host.info":
        this.hostInfo = m.body;
        this.#o.onHostInfo?.(m.body);
        this.#emitter.emit("hostInfo", m.body);
        return;
      case "thread.list":
        this.#setThreads(m.body.threads);
        if (m.re) this.#answer(m.re, { threads: m.body.threads });
        return;
      case "thread.updated":
        this.#upsertThread(m.body.thread);
        return;
      case "event":
        if (m.thread !== undefined && m.seq !== undefined) this.#onEvent(m.thread, m.seq, m.body);
        return;
      case "result":
        if (m.re) this.#answer(m.re, m.body.data ?? {});
        return;
      case "error": {
        const error = new AirlockClientError(m.body.code, m.body.message || m.body.code, { remote: true });
        if (m.re && (this.#outbox.fail(m.re, error) || this.#settleWaiter(m.re, undefined, error))) return;
        this.#emitter.emit("error", error);
        return;
      }
      // device-side message types from a host mean nothing here
    }
  }

  #answer(re: string, data: Record<string, unknown>): void {
    if (this.#outbox.pendingType(re) === "thread.start" && isThreadId(data.thread)) this.#started(data.thread);
    if (!this.#outbox.acknowledge(re, data)) this.#settleWaiter(re, data);
  }

  /** A thread this device started: follow it (a resent start is not re-subscribed by the host). */
  #started(thread: string): void {
    if (this.#streams.has(thread)) return;
    const stream = this.#stream(thread);
    if (!stream) return;
    stream.subscribed = true;
    if (this.#e2e?.open) this.#subscribeOnHost(stream);
  }

  #settleWaiter(re: string, data?: Record<string, unknown>, error?: AirlockClientError): boolean {
    const w = this.#waiters.get(re);
    if (!w) return false;
    this.#waiters.delete(re);
    if (error) w.reject(error);
    else w.resolve(data ?? {});
    return true;
  }

  /**
   * An event this SDK cannot read (a kind a newer host sends, or one it got
   * wrong): taken as delivered — sequence advanced, acknowledged — and never
   * shown, after the error above. Asking again would get the same event forever.
   */
  #skipUnreadableEvent(payload: Uint8Array): void {
    let m;
    try {
      m = decodeAppEnvelope(payload);
    } catch {
      return;
    }
    const stream = m.type === "event" && m.thread !== undefined ? this.#streams.get(m.thread) : undefined;
    if (stream?.subscribed && m.seq === stream.lastSeq + 1) {
      stream.lastSeq = m.seq;
      this.#scheduleAck();
    }
  }

  #onEvent(thread: string, seq: number, event: ThreadEvent): void {
    let stream = this.#streams.get(thread);
    if (!stream) {
      // Only a thread this device just started may stream before we know its id
      // (the host subscribes the starter); late events of a closed thread are dropped.
      if (!this.#outbox.entries.some((e) => e.type === "thread.start" && e.state === "sent")) return;
      stream = this.#stream(thread);
      if (!stream) return;
      stream.subscribed = true;
    }
    if (!stream.subscribed) return;
    const outcome = stream.push(seq, event);
    if (outcome === "gap") {
      // Never skip events: ask again from the last one held.
      this.#subscribeOnHost(stream);
      return;
    }
    if (outcome === "dup") return;
    this.#emitter.emit("event", { thread, seq, event } satisfies SeqEvent & { thread: string });
    this.#scheduleAck();
  }

  #scheduleAck(): void {
    if (this.#ackTimer) return;
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = undefined;
      const e2e = this.#e2e;
      if (!e2e?.open) return;
      const ack: Array<{ thread: string; seq: number }> = [];
      for (const s of this.#streams.values()) {
        if (s.lastSeq > (this.#acked.get(s.thread) ?? 0) && ack.length < MAX_ACKS) ack.push({ thread: s.thread, seq: s.lastSeq });
      }
      if (ack.length === 0) return;
      for (const a of ack) this.#acked.set(a.thread, a.seq);
      this.#sendMessage(e2e, "ack", newMessageId("a"), {}, ack);
      if (ack.length === MAX_ACKS) this.#scheduleAck();
    }, this.#timing.ackDelayMs);
  }

  #setThreads(threads: ThreadSummary[]): void {
    this.threads = threads.slice(0, MAX_THREADS).sort((a, b) => b.updatedAt - a.updatedAt); // newest first
    this.#emitter.emit("threads", this.threads);
  }

  #upsertThread(thread: ThreadSummary): void {
    const others = this.threads.filter((t) => t.id !== thread.id);
    if (others.length >= MAX_THREADS) return;
    this.#setThreads([thread, ...others]);
  }
}
