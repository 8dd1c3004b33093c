// The host's one outbound connection to its relay room (the host never opens
// an inbound port). It authenticates with the host key, keeps the socket alive
// with text pings, notices dead connections (laptop sleep, NAT drops, a frozen
// network) and reconnects with capped, fully jittered exponential backoff. It
// forwards end-to-end frames without looking inside them and runs the host's
// relay commands (tickets, allowlist, kicks). docs/protocol.md §9.
//
// It does not fight: when another host process takes over the room (4003) or
// the relay keeps refusing the key (4002), it stops and emits `fatal`.
import WebSocket from "ws";
import {
  allowlistExpiryMessage,
  allowlistMessage,
  backoffDelay as jitteredBackoff,
  decodeClientMessage,
  decodeHeader,
  decodeRelayMessage,
  encodeControl,
  fromBase64Url,
  isEndToEndType,
  MAX_FRAME_LENGTH,
  PING_TEXT,
  PONG_TEXT,
  relayAuthMessage,
  RelayClose,
  RelayFrame,
  roomIdBytes,
  roomIdFor,
  secureRandom,
  SignaturePurpose,
  signWithPurpose,
  textEncoder,
  toBase64Url,
  type ConnectedDevice,
  type CryptoBackend,
  type Ed25519Signer,
  type HostCommand,
  type RelayLimits,
  type RelayMessage,
} from "@airlock/protocol";
import { HostError } from "./host-error.ts";
import { messageOf } from "./error-message.ts";

/** Longest silence while connecting (the upgrade, then the relay's CHALLENGE and WELCOME). */
const CONNECT_TIMEOUT_MS = 10_000;

// ------------------------------------------------------------------ types

export type LinkState = "connecting" | "authenticating" | "online" | "offline";

export interface LinkStateEvent {
  state: LinkState;
  /** Connection attempt in the current streak of failures (1 = first try after a good connection). */
  attempt: number;
  /** When offline and a retry is scheduled: when it starts (unix ms). Absent when stopped or fatal. */
  retryAt?: number;
  /** Same as retryAt, relative (ms). */
  retryInMs?: number;
}

export type HostWelcome = Extract<RelayMessage<typeof RelayFrame.WELCOME>, { role: "host" }>;

export interface DeviceJoinedEvent {
  slot: number;
  /** The device's public key (b64u). */
  key: string;
  via: "ticket" | "allowlist";
}

export interface DeviceLeftEvent {
  slot: number;
  key?: string;
  /** "left": the relay said so; "offline": the link dropped, so every device session is over. */
  cause: "left" | "offline";
}

export interface FrameEvent {
  /** The device's slot, as stamped by the relay. */
  slot: number;
  /** The whole end-to-end frame (header included). */
  frame: Uint8Array;
}

export interface ClosedEvent {
  code: number;
  reason: string;
  /** Whether this connection had reached WELCOME. */
  wasOnline: boolean;
}

export interface FatalEvent {
  code: number;
  reason: string;
  /** What happened and what to do, for the user. */
  message: string;
}

export interface RelayLinkEvents {
  state: LinkStateEvent;
  welcome: HostWelcome;
  deviceJoined: DeviceJoinedEvent;
  deviceLeft: DeviceLeftEvent;
  frame: FrameEvent;
  closed: ClosedEvent;
  notice: RelayMessage<typeof RelayFrame.NOTICE>;
  fatal: FatalEvent;
}

/** A host command without its id (the link assigns one). */
export type HostCommandBody = HostCommand extends infer C ? (C extends { id: string } ? Omit<C, "id"> : never) : never;

export type RelayCommandErrorCode = "REJECTED" | "TIMEOUT" | "OFFLINE" | "DISCONNECTED" | "INVALID";

export class RelayCommandError extends HostError<RelayCommandErrorCode> {
  constructor(code: RelayCommandErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "RelayCommandError";
  }
}

export interface BackoffOptions {
  /** Cap of the first retry delay (default 500 ms). */
  initialMs: number;
  /** Largest cap (default 30 s). */
  maxMs: number;
  /** A connection online at least this long resets the backoff (default 30 s). */
  resetAfterMs?: number;
}

export interface RelayLinkOptions {
  /** https://relay.example (or http://127.0.0.1:PORT); the link uses ws(s)://…/v1/rooms/<room>/host. */
  relayUrl: string;
  /** The host key. */
  signer: Ed25519Signer;
  /** Not needed by the link (signing goes through `signer`); accepted so callers can pass one options object. */
  backend?: CryptoBackend;
  /** Short operational log lines; never secrets or frame contents. */
  log?: (line: string) => void;
  backoff?: BackoffOptions;
  /** Keepalive "ping" period (default 20 s). No message for 2 periods ends the connection. */
  pingIntervalMs?: number;
  /** How long command() waits for its RESULT (default 10 s). */
  commandTimeoutMs?: number;
  /** Consecutive 4002 closes before giving up (default 3). */
  maxAuthFailures?: number;
  WebSocketImpl?: typeof WebSocket;
}

// ------------------------------------------------------------------ helpers

type Listener<T> = (payload: T) => void;

/**
 * The link's retry delay: uniform in [0, min(maxMs, initialMs · 2^(attempt−1))], `attempt` counting
 * from 1. The math is the one backoff all of Airlock uses (protocol/src/backoff.ts).
 */
export function backoffDelay(attempt: number, backoff: Pick<BackoffOptions, "initialMs" | "maxMs">, random: () => number = Math.random): number {
  return jitteredBackoff(attempt - 1, { baseMs: backoff.initialMs, maxMs: backoff.maxMs }, random);
}

function relayWsBase(relayUrl: string): string {
  const url = new URL(relayUrl);
  if (url.protocol !== "https:" && url.protocol !== "http:" && url.protocol !== "wss:" && url.protocol !== "ws:") {
    throw new Error(`relay URL must be http(s) or ws(s): ${url.protocol}`);
  }
  // The room path is appended to the URL's path: a query or fragment would end up in front of it.
  if (url.search || url.hash) throw new Error("relay URL must not have a query or fragment");
  url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
  return url.toString().replace(/\/+$/, "");
}

function closeMessage(code: number, reason: string): string | undefined {
  if (code === RelayClose.REPLACED) {
    return "another host process connected to this room with the same key and took over; this one stops (relay close 4003)";
  }
  if (code === RelayClose.AUTH_FAILED) {
    return `the relay keeps refusing the host key (relay close 4002: ${reason || "auth failed"}); check the identity file and the relay URL`;
  }
  return undefined;
}

/** A relay command's RESULT (push.send carries the push service's status in it). */
export interface RelayCommandResult {
  ok: boolean;
  error?: string | undefined;
  status?: number | undefined;
  retryAfter?: number | undefined;
}

/** What the relay answered to push.send: the push service's HTTP status when it reached one. */
export interface PushSendResult {
  ok: boolean;
  /** The push service's status (201 accepted; 404/410 gone; 413; 429…); absent when the relay refused before posting. */
  status?: number;
  /** Seconds, from the push service's Retry-After (429/503). */
  retryAfter?: number;
  /** The relay's reason when it refused (no VAPID key, push service not allowed, rate limit…). */
  error?: string;
}

interface PendingCommand {
  resolve: (result: RelayCommandResult) => void;
  reject: (e: RelayCommandError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** One socket's life. Events of an older socket are ignored once it is not `#conn` any more. */
interface Conn {
  ws: WebSocket;
  phase: "connecting" | "authenticating" | "online";
  lastRx: number;
  /** Extra allowance after the process slept or stalled (timers fired late). */
  graceUntil: number;
  onlineAt?: number;
  pingTimer?: ReturnType<typeof setInterval>;
  watchdog?: ReturnType<typeof setTimeout>;
  watchdogAt: number;
  devices: Map<number, ConnectedDevice>;
  /** The HTTP status when the relay refused the upgrade (403: this relay does not serve this room). */
  httpStatus?: number;
  closed: Promise<void>;
  markClosed: () => void;
}

// ------------------------------------------------------------------ link

/**
 * The host's relay connection.
 *
 *   const link = new RelayLink({ relayUrl, signer });
 *   link.on("frame", ({ slot, frame }) => sessions.get(slot)?.receive(frame));
 *   link.on("deviceLeft", ({ slot }) => sessions.delete(slot));
 *   link.on("fatal", ({ message }) => exit(message));
 *   link.start();
 *
 * Every reconnect is a new relay session: the relay closes all device
 * connections (4011) and host→device counters restart, so `deviceLeft`
 * (cause "offline") is emitted for every device when a connection ends.
 */
export class RelayLink {
  readonly roomId: string;
  readonly #roomBytes: Uint8Array;
  readonly #signer: Ed25519Signer;
  readonly #url: string;
  readonly #log: (line: string) => void;
  readonly #backoff: Required<BackoffOptions>;
  readonly #pingMs: number;
  readonly #commandTimeoutMs: number;
  readonly #maxAuthFailures: number;
  readonly #WebSocket: typeof WebSocket;

  readonly #listeners = new Map<keyof RelayLinkEvents, Set<Listener<never>>>();
  #conn: Conn | undefined;
  #running = false;
  #state: LinkState = "offline";
  #attempt = 0;
  #authFailures = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pending = new Map<string, PendingCommand>();
  #commandPrefix = toBase64Url(secureRandom(6));
  #commandSeq = 0;
  #limits: RelayLimits | undefined;
  #allowlistVersion: number | undefined;

  constructor(options: RelayLinkOptions) {
    this.#signer = options.signer;
    this.roomId = roomIdFor(options.signer.publicKey);
    this.#roomBytes = roomIdBytes(options.signer.publicKey);
    this.#url = `${relayWsBase(options.relayUrl)}/v1/rooms/${this.roomId}/host`;
    this.#log = options.log ?? (() => undefined);
    this.#backoff = { initialMs: 500, maxMs: 30_000, resetAfterMs: 30_000, ...options.backoff };
    this.#pingMs = options.pingIntervalMs ?? 20_000;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 10_000;
    this.#maxAuthFailures = options.maxAuthFailures ?? 3;
    this.#WebSocket = options.WebSocketImpl ?? WebSocket;
  }

  // ---------------------------------------------------------------- events

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof RelayLinkEvents>(event: K, listener: Listener<RelayLinkEvents[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  off<K extends keyof RelayLinkEvents>(event: K, listener: Listener<RelayLinkEvents[K]>): void {
    this.#listeners.get(event)?.delete(listener as Listener<never>);
  }

  #emit<K extends keyof RelayLinkEvents>(event: K, payload: RelayLinkEvents[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<RelayLinkEvents[K]>)(payload);
      } catch (e) {
        // A listener's bug must not corrupt the link's state machine.
        this.#log(`relay-link: ${event} listener threw: ${messageOf(e)}`);
      }
    }
  }

  // ---------------------------------------------------------------- status

  get state(): LinkState {
    return this.#state;
  }

  get online(): boolean {
    return this.#conn?.phase === "online";
  }

  /** Limits announced by the relay in its last CHALLENGE. */
  get limits(): RelayLimits | undefined {
    return this.#limits;
  }

  /** The allowlist version the relay holds (from WELCOME, then from successful setAllowlist). */
  get allowlistVersion(): number | undefined {
    return this.#allowlistVersion;
  }

  /** Devices connected through the current connection, by slot. */
  get devices(): ReadonlyMap<number, ConnectedDevice> {
    return new Map(this.#conn?.phase === "online" ? this.#conn.devices : []);
  }

  /** Bytes queued on the socket and not yet sent (for backpressure). */
  get bufferedAmount(): number {
    return this.#conn?.ws.bufferedAmount ?? 0;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts connecting (and keeps reconnecting until stop() or a fatal close). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#attempt = 0;
    this.#authFailures = 0;
    // stop() then start() before the old socket closed: its close handler reconnects.
    if (!this.#conn) this.#connect();
  }

  /** Closes the connection and stops reconnecting; resolves when the socket is gone. */
  async stop(): Promise<void> {
    this.#running = false;
    const retrying = this.#retryTimer !== undefined;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const conn = this.#conn;
    if (!conn) {
      if (retrying) this.#setState("offline"); // now without a retry
      return;
    }
    try {
      conn.ws.close(RelayClose.NORMAL, "host stopping");
    } catch {
      conn.ws.terminate(); // still connecting
    }
    const timer = setTimeout(() => conn.ws.terminate(), 2000);
    await conn.closed;
    clearTimeout(timer);
  }

  #setState(state: LinkState, retry?: { retryAt: number; retryInMs: number }): void {
    this.#state = state;
    this.#emit("state", { state, attempt: this.#attempt, ...retry });
  }

  #connect(): void {
    this.#retryTimer = undefined;
    this.#attempt += 1;
    let markClosed!: () => void;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    const ws = new this.#WebSocket(this.#url, {
      perMessageDeflate: false, // frames are ciphertext
      // Masking (RFC 6455 §5.3) keeps scripts in browsers from forging bytes that
      // poison HTTP caches; the host is no browser and sends ciphertext. An
      // all-zero mask makes ws skip its per-byte XOR of every frame (a tenth of
      // the host's CPU while streaming output, without the native bufferutil).
      generateMask: (mask: Buffer) => mask.fill(0),
      maxPayload: MAX_FRAME_LENGTH,
      handshakeTimeout: this.#connectMs,
      // ws ≥ 8.19: do not wait 30 s for a peer that never finishes the close handshake.
      ...({ closeTimeout: Math.min(5000, 2 * this.#pingMs) } as object),
    });
    ws.binaryType = "nodebuffer";
    const now = Date.now();
    const conn: Conn = { ws, phase: "connecting", lastRx: now, graceUntil: 0, watchdogAt: 0, devices: new Map(), closed, markClosed };
    this.#conn = conn;
    this.#setState("connecting");
    this.#log(`relay-link: connecting to room ${this.roomId} (attempt ${this.#attempt})`);
    this.#armWatchdog(conn);

    ws.on("open", () => {
      if (this.#conn !== conn) return;
      conn.lastRx = Date.now();
      conn.phase = "authenticating";
      this.#setState("authenticating");
      conn.pingTimer = setInterval(() => {
        if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(PING_TEXT);
      }, this.#pingMs);
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (this.#conn !== conn) return;
      conn.lastRx = Date.now();
      if (!isBinary) {
        const text = data.toString("utf8");
        if (text !== PONG_TEXT) this.#log(`relay-link: ignoring unexpected text message (${data.length} bytes)`);
        return;
      }
      this.#onFrame(conn, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    ws.on("error", (e: Error) => {
      if (this.#conn === conn) this.#log(`relay-link: socket error: ${e.message.slice(0, 200)}`);
    });
    // The relay answered the upgrade with an HTTP error: remember the status (403 is final).
    ws.on("unexpected-response", (_req, res) => {
      if (res.statusCode !== undefined) conn.httpStatus = res.statusCode;
      res.resume();
      ws.terminate();
    });
    ws.on("close", (code: number, reason: Buffer) => {
      // Always, even for a socket stop() already let go of (start() may have made a new one).
      if (conn.pingTimer) clearInterval(conn.pingTimer);
      if (conn.watchdog) clearTimeout(conn.watchdog);
      conn.markClosed();
      if (this.#conn !== conn) return;
      this.#onClose(conn, code, reason.toString("utf8"));
    });
  }

  // ---------------------------------------------------------------- liveness

  /**
   * One lazily re-armed timer per socket: it fires at lastRx + 2 intervals and
   * re-arms if something arrived meanwhile. No per-message timer churn.
   */
  #armWatchdog(conn: Conn): void {
    const deadline = Math.max(conn.lastRx + this.#silenceMs(conn), conn.graceUntil);
    conn.watchdogAt = deadline;
    conn.watchdog = setTimeout(() => this.#checkWatchdog(conn), Math.max(0, deadline - Date.now()));
  }

  #checkWatchdog(conn: Conn): void {
    if (this.#conn !== conn) return;
    const now = Date.now();
    // Fired much later than asked: the machine slept or the event loop stalled.
    // Our own clock jumped, not necessarily the connection's: ping and allow one
    // more interval before declaring it dead (a reconnect kicks every device).
    if (now - conn.watchdogAt > this.#pingMs && conn.phase !== "connecting") {
      this.#log("relay-link: timers fired late (sleep?); checking the connection");
      conn.graceUntil = now + this.#pingMs;
      if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(PING_TEXT);
      this.#armWatchdog(conn);
      return;
    }
    if (now >= Math.max(conn.lastRx + this.#silenceMs(conn), conn.graceUntil)) {
      this.#log(`relay-link: no message from the relay for ${now - conn.lastRx} ms; dropping the connection`);
      conn.ws.terminate();
      return;
    }
    this.#armWatchdog(conn);
  }

  /**
   * How long a socket may stay silent: two ping intervals once online; until
   * then (upgrade, CHALLENGE, WELCOME: one round trip each) at most 10 s, so a
   * stalled attempt is retried instead of holding the host offline for 40 s.
   */
  #silenceMs(conn: Conn): number {
    return conn.phase === "online" ? 2 * this.#pingMs : this.#connectMs;
  }

  get #connectMs(): number {
    return Math.min(CONNECT_TIMEOUT_MS, 2 * this.#pingMs);
  }

  // ---------------------------------------------------------------- receiving

  #onFrame(conn: Conn, frame: Uint8Array): void {
    let type: number;
    let slot: number;
    try {
      ({ type, slot } = decodeHeader(frame));
    } catch (e) {
      this.#log(`relay-link: dropping a malformed frame from the relay: ${(e as Error).message}`);
      return;
    }
    if (isEndToEndType(type)) {
      if (conn.phase !== "online") {
        this.#log("relay-link: dropping an end-to-end frame before WELCOME");
        return;
      }
      this.#emit("frame", { slot, frame });
      return;
    }
    let msg: ReturnType<typeof decodeRelayMessage>;
    try {
      msg = decodeRelayMessage(frame);
    } catch (e) {
      this.#log(`relay-link: dropping a bad control message: ${(e as Error).message.slice(0, 200)}`);
      return;
    }
    switch (msg.type) {
      case RelayFrame.CHALLENGE:
        this.#answerChallenge(conn, msg.body).catch((e: unknown) => {
          this.#log(`relay-link: answering the challenge failed: ${messageOf(e)}`);
          conn.ws.terminate();
        });
        return;
      case RelayFrame.WELCOME: {
        const body = msg.body;
        if (body.role !== "host" || conn.phase !== "authenticating") {
          this.#log("relay-link: unexpected WELCOME; reconnecting");
          conn.ws.terminate();
          return;
        }
        conn.phase = "online";
        conn.onlineAt = Date.now();
        this.#authFailures = 0;
        this.#allowlistVersion = body.allowlistVersion;
        this.#log(`relay-link: online in room ${this.roomId}`);
        this.#setState("online");
        this.#emit("welcome", body);
        for (const d of body.devices) {
          conn.devices.set(d.slot, d);
          this.#emit("deviceJoined", { slot: d.slot, key: d.key, via: d.via });
        }
        return;
      }
      case RelayFrame.PRESENCE: {
        const body = msg.body;
        if (conn.phase !== "online" || !("device" in body)) return;
        if (body.device === "joined") {
          conn.devices.set(body.slot, { slot: body.slot, key: body.key, via: body.via });
          this.#emit("deviceJoined", { slot: body.slot, key: body.key, via: body.via });
        } else {
          const known = conn.devices.get(body.slot);
          conn.devices.delete(body.slot);
          this.#emit("deviceLeft", { slot: body.slot, cause: "left", ...(known ? { key: known.key } : {}) });
        }
        return;
      }
      case RelayFrame.NOTICE:
        this.#log(`relay-link: relay notice ${msg.body.code}`);
        this.#emit("notice", msg.body);
        return;
      case RelayFrame.RESULT: {
        const pending = this.#pending.get(msg.body.id);
        if (!pending) return; // timed out already
        this.#pending.delete(msg.body.id);
        clearTimeout(pending.timer);
        pending.resolve(msg.body);
        return;
      }
    }
  }

  async #answerChallenge(conn: Conn, challenge: RelayMessage<typeof RelayFrame.CHALLENGE>): Promise<void> {
    if (conn.phase !== "authenticating" || challenge.role !== "host" || challenge.room !== this.roomId) {
      this.#log("relay-link: unexpected CHALLENGE; reconnecting");
      conn.ws.terminate();
      return;
    }
    this.#limits = challenge.limits;
    let sig: Uint8Array;
    try {
      sig = await signWithPurpose(this.#signer, SignaturePurpose.RELAY_HOST_AUTH, relayAuthMessage(this.#roomBytes, fromBase64Url(challenge.challenge)!));
    } catch (e) {
      this.#log(`relay-link: signing failed: ${(e as Error).message}`);
      conn.ws.terminate();
      return;
    }
    if (this.#conn !== conn || conn.ws.readyState !== WebSocket.OPEN) return;
    conn.ws.send(encodeControl(RelayFrame.AUTH, { key: toBase64Url(this.#signer.publicKey), sig: toBase64Url(sig) }));
  }

  #onClose(conn: Conn, code: number, reason: string): void {
    const wasOnline = conn.phase === "online";
    this.#conn = undefined;
    this.#log(`relay-link: connection closed (${code}${reason ? ` ${reason}` : ""})`);

    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new RelayCommandError("DISCONNECTED", "the relay connection closed before the answer"));
      this.#pending.delete(id);
    }
    for (const d of conn.devices.values()) this.#emit("deviceLeft", { slot: d.slot, key: d.key, cause: "offline" });
    conn.devices.clear();
    this.#emit("closed", { code, reason, wasOnline });

    if (code === RelayClose.AUTH_FAILED) this.#authFailures += 1;
    const fatal =
      code === RelayClose.REPLACED || (code === RelayClose.AUTH_FAILED && this.#authFailures >= this.#maxAuthFailures)
        ? closeMessage(code, reason)
        : conn.httpStatus === 403
          ? `the relay does not serve this host's room ${this.roomId} (HTTP 403 ROOM_NOT_ALLOWED): ask its operator to add the room id to ALLOWED_ROOMS (docs/operations.md), or use another relay`
          : undefined;
    if (fatal !== undefined && this.#running) {
      this.#running = false;
      this.#log(`relay-link: giving up: ${fatal}`);
      this.#setState("offline");
      this.#emit("fatal", { code, reason, message: fatal });
      return;
    }
    if (!this.#running) {
      this.#setState("offline");
      return;
    }
    if (wasOnline && conn.onlineAt !== undefined && Date.now() - conn.onlineAt >= this.#backoff.resetAfterMs) this.#attempt = 0;
    const delay = backoffDelay(this.#attempt + 1, this.#backoff);
    const retryAt = Date.now() + delay;
    this.#setState("offline", { retryAt, retryInMs: delay });
    this.#retryTimer = setTimeout(() => {
      if (this.#running && !this.#conn) this.#connect();
    }, delay);
  }

  // ---------------------------------------------------------------- sending

  /**
   * Sends an end-to-end frame to the device in `slot` (the frame's own slot
   * field must say the same). Returns false when offline or when no such
   * device is connected on this connection; never throws for a closed socket.
   * Throws only for caller bugs (not an end-to-end frame, slot mismatch, over
   * the relay's frame limit), which would otherwise get the connection closed.
   */
  send(slot: number, frame: Uint8Array): boolean {
    const header = decodeHeader(frame, this.#limits?.maxFrameBytes ?? MAX_FRAME_LENGTH);
    if (!isEndToEndType(header.type)) throw new TypeError(`send() takes end-to-end frames, not type ${header.type}`);
    if (header.slot !== slot) throw new RangeError(`frame is addressed to slot ${header.slot}, not ${slot}`);
    const conn = this.#conn;
    if (!conn || conn.phase !== "online" || conn.ws.readyState !== WebSocket.OPEN) return false;
    if (!conn.devices.has(slot)) return false;
    try {
      conn.ws.send(frame);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends a relay command and resolves on its RESULT (rejects with RelayCommandError). */
  async command(body: HostCommandBody): Promise<void> {
    const result = await this.#request(body);
    if (!result.ok) throw new RelayCommandError("REJECTED", result.error ?? "command failed");
  }

  /**
   * Asks the relay to POST a push message the host already encrypted to the
   * device's subscription (RFC 8291), docs/protocol.md §9.4. Resolves with the
   * RESULT whether or not the push service accepted it (`ok` false with a
   * `status` is the push service's refusal, without one the relay's); rejects
   * with RelayCommandError when offline, on timeout, or for an invalid request.
   */
  async pushSend(request: {
    endpoint: string;
    ttl: number;
    urgency: "very-low" | "low" | "normal" | "high";
    topic?: string;
    body: Uint8Array;
  }): Promise<PushSendResult> {
    const result = await this.#request({
      op: "push.send",
      endpoint: request.endpoint,
      ttl: request.ttl,
      urgency: request.urgency,
      ...(request.topic !== undefined ? { topic: request.topic } : {}),
      body: toBase64Url(request.body),
    });
    return {
      ok: result.ok,
      ...(result.status !== undefined ? { status: result.status } : {}),
      ...(result.retryAfter !== undefined ? { retryAfter: result.retryAfter } : {}),
      ...(result.error !== undefined ? { error: result.error } : {}),
    };
  }

  #request(body: HostCommandBody): Promise<RelayCommandResult> {
    const id = `${this.#commandPrefix}-${++this.#commandSeq}`;
    const full = { id, ...body };
    const bytes = textEncoder.encode(JSON.stringify(full));
    try {
      decodeClientMessage(RelayFrame.COMMAND, bytes); // the relay would answer an invalid one with a NOTICE, not a RESULT
    } catch (e) {
      return Promise.reject(new RelayCommandError("INVALID", (e as Error).message));
    }
    const conn = this.#conn;
    if (!conn || conn.phase !== "online" || conn.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new RelayCommandError("OFFLINE", "not connected to the relay"));
    }
    return new Promise<RelayCommandResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RelayCommandError("TIMEOUT", `no answer to ${body.op} within ${this.#commandTimeoutMs} ms`));
      }, this.#commandTimeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      conn.ws.send(encodeControl(RelayFrame.COMMAND, full));
    });
  }

  /** Registers a one-time device admission: SHA-256 of the pairing link's relay ticket. */
  addTicket(hash: Uint8Array, expiresAtMs: number): Promise<void> {
    return this.command({ op: "ticket.add", hash: toBase64Url(hash), expiresAt: expiresAtMs });
  }

  /** Replaces the relay's device allowlist (version must grow); signed with the host key. */
  async setAllowlist(version: number, keys: readonly Uint8Array[], expires?: readonly number[]): Promise<void> {
    if (expires !== undefined) {
      // Keys with an expiry (automation tokens): the expiries are signed too, under their own purpose.
      const message = allowlistExpiryMessage(this.#roomBytes, version, keys, expires);
      const sig = await signWithPurpose(this.#signer, SignaturePurpose.DEVICE_ALLOWLIST_EXPIRY, message);
      await this.command({ op: "allowlist.set", version, keys: keys.map(toBase64Url), expires: [...expires], sig: toBase64Url(sig) });
    } else {
      const sig = await signWithPurpose(this.#signer, SignaturePurpose.DEVICE_ALLOWLIST, allowlistMessage(this.#roomBytes, version, keys));
      await this.command({ op: "allowlist.set", version, keys: keys.map(toBase64Url), sig: toBase64Url(sig) });
    }
    this.#allowlistVersion = Math.max(this.#allowlistVersion ?? 0, version);
  }

  /** Closes every connection of a device key (revocation, 4004) or one slot (4012). */
  kickDevice(target: { key: Uint8Array | string } | { slot: number }): Promise<void> {
    if ("slot" in target) return this.command({ op: "device.kick", slot: target.slot });
    return this.command({ op: "device.kick", key: typeof target.key === "string" ? target.key : toBase64Url(target.key) });
  }
}
