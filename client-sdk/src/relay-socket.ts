// One device connection to a relay room: admission (CHALLENGE → AUTH →
// WELCOME), host presence, keepalive pings and dead-link detection. It hands
// end-to-end frames up without looking inside them. docs/protocol.md §9.
import {
  decodeHeader,
  decodeRelayMessageForDevice,
  encodeControl,
  fromBase64Url,
  isEndToEndType,
  isRelayControlType,
  PING_TEXT,
  relayAuthMessage,
  RelayFrame,
  SignaturePurpose,
  signWithPurpose,
  toBase64Url,
  type Ed25519Signer,
} from "@airlock/protocol";
import { AirlockClientError, closeMeaning, messageOf } from "./errors.ts";
import { relayRoute, type WebSocketConstructor, type WebSocketLike } from "./websocket.ts";

export interface Presence {
  hostOnline: boolean;
  /** Unix ms: when the host was last online (relay clock), if the relay knows. */
  lastSeen?: number;
}

export interface SocketTiming {
  /** Give up on a connection that has not been admitted (WELCOME) by then. */
  connectTimeoutMs: number;
  /** Text ping interval; the relay answers each with "pong" (and counts it as activity). */
  pingIntervalMs: number;
  /** No message at all (frames or pongs) for this long: the link is dead. */
  deadAfterMs: number;
}

export const DEFAULT_SOCKET_TIMING: SocketTiming = { connectTimeoutMs: 15_000, pingIntervalMs: 20_000, deadAfterMs: 45_000 };

export interface SocketClosed {
  /** The relay's close code, or 1006 when the SDK gave up on a silent link (no pong). */
  code: number;
  reason: string;
}

export interface RelaySocketOptions {
  relayUrl: string;
  roomId: string;
  signer: Ed25519Signer;
  /** Pairing: the link's relay ticket (one-time admission). */
  ticket?: Uint8Array;
  WebSocket: WebSocketConstructor;
  timing?: Partial<SocketTiming> | undefined;
  onFrame(frame: Uint8Array): void;
  onPresence(presence: Presence): void;
  /** Called once, for a socket that was admitted. */
  onClose(closed: SocketClosed): void;
}

export class RelaySocket {
  #ws: WebSocketLike;
  #o: RelaySocketOptions;
  #timing: SocketTiming;
  #lastReceived = Date.now();
  #timer?: ReturnType<typeof setInterval>;
  #closed = false;
  #admitted = false;
  #onWelcome?: (presence: Presence) => void;
  #onFail?: (error: AirlockClientError) => void;

  private constructor(o: RelaySocketOptions) {
    this.#o = o;
    this.#timing = { ...DEFAULT_SOCKET_TIMING, ...o.timing };
    this.#ws = new o.WebSocket(relayRoute(o.relayUrl, o.roomId, "device"));
    this.#ws.binaryType = "arraybuffer";
  }

  /** Opens and authenticates; resolves with the host's presence once admitted. */
  static connect(o: RelaySocketOptions): Promise<{ socket: RelaySocket; presence: Presence }> {
    return new Promise((resolve, reject) => {
      let socket: RelaySocket;
      try {
        socket = new RelaySocket(o);
      } catch (e) {
        reject(new AirlockClientError("RELAY_UNREACHABLE", `cannot open a WebSocket to the relay: ${messageOf(e)}`, { cause: e }));
        return;
      }
      const timeout = setTimeout(
        () => socket.#fail(new AirlockClientError("TIMEOUT", "the relay did not admit this device in time")),
        socket.#timing.connectTimeoutMs,
      );
      socket.#onWelcome = (presence) => {
        clearTimeout(timeout);
        resolve({ socket, presence });
      };
      socket.#onFail = (error) => {
        clearTimeout(timeout);
        reject(error);
      };
      socket.#wire();
    });
  }

  send(frame: Uint8Array): void {
    this.#raw(frame);
  }

  #raw(data: Uint8Array | string): void {
    if (this.#closed) return;
    try {
      this.#ws.send(data);
    } catch {
      this.#terminate(1006, "send failed");
    }
  }

  close(code = 1000, reason = ""): void {
    if (this.#closed) return;
    this.#finish();
    try {
      this.#ws.close(code, reason);
    } catch {
      // already closing
    }
  }

  #wire(): void {
    let opened = false;
    this.#ws.onopen = () => {
      opened = true;
    };
    this.#ws.onerror = () => undefined; // onclose follows and says more
    this.#ws.onclose = (event) => {
      if (this.#closed) return;
      const code = typeof event?.code === "number" ? event.code : 1006;
      const reason = typeof event?.reason === "string" ? event.reason : "";
      if (!this.#admitted) {
        const error = !opened
          ? new AirlockClientError("RELAY_UNREACHABLE", `cannot reach the relay at ${this.#o.relayUrl}`, { closeCode: code })
          : closeMeaning(code, reason, this.#o.ticket !== undefined).error;
        this.#fail(error);
        return;
      }
      this.#finish();
      this.#o.onClose({ code, reason });
    };
    this.#ws.onmessage = (event) => this.#message(event?.data);
  }

  #message(data: unknown): void {
    if (this.#closed) return;
    this.#lastReceived = Date.now();
    if (typeof data === "string") return; // "pong"; the relay sends no other text
    let frame: Uint8Array;
    if (data instanceof ArrayBuffer) frame = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else return;
    let type: number;
    try {
      type = decodeHeader(frame).type;
    } catch {
      return this.#protocolError("the relay sent a malformed frame");
    }
    if (isEndToEndType(type)) {
      if (this.#admitted) this.#o.onFrame(frame);
      return;
    }
    if (!isRelayControlType(type)) return;
    let message: ReturnType<typeof decodeRelayMessageForDevice>;
    try {
      // Only what a relay sends devices; NOTICE and RESULT are for hosts (undefined).
      message = decodeRelayMessageForDevice(frame);
    } catch {
      return this.#protocolError("the relay sent an invalid control message");
    }
    switch (message?.type) {
      case RelayFrame.CHALLENGE:
        if (!this.#admitted) void this.#authenticate(message.body.challenge);
        return;
      case RelayFrame.WELCOME:
        if (this.#admitted) return;
        this.#admitted = true;
        this.#startPings();
        this.#onWelcome?.(presenceOf(message.body.host.online, message.body.host.lastSeen));
        return;
      case RelayFrame.PRESENCE:
        if (this.#admitted) this.#o.onPresence(presenceOf(message.body.host === "online", message.body.lastSeen));
        return;
    }
  }

  async #authenticate(challengeB64: string): Promise<void> {
    try {
      const room = fromBase64Url(this.#o.roomId);
      const challenge = fromBase64Url(challengeB64);
      if (!room || !challenge) throw new Error("bad room or challenge");
      const sig = await signWithPurpose(this.#o.signer, SignaturePurpose.RELAY_DEVICE_AUTH, relayAuthMessage(room, challenge));
      this.#raw(
        encodeControl(RelayFrame.AUTH, {
          key: toBase64Url(this.#o.signer.publicKey),
          sig: toBase64Url(sig),
          ticket: this.#o.ticket && toBase64Url(this.#o.ticket), // JSON drops it when absent
        }),
      );
    } catch (e) {
      this.#fail(new AirlockClientError("PROTOCOL_ERROR", `cannot answer the relay challenge: ${messageOf(e)}`));
    }
  }

  #startPings(): void {
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastReceived > this.#timing.deadAfterMs) this.#terminate(1006, "the relay stopped answering");
      else this.#raw(PING_TEXT);
    }, this.#timing.pingIntervalMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #protocolError(message: string): void {
    if (!this.#admitted) return this.#fail(new AirlockClientError("PROTOCOL_ERROR", message));
    this.#terminate(4013, message);
  }

  /** Ends an admitted socket from this side and reports it at once (a dead socket may never fire close). */
  #terminate(code: number, reason: string): void {
    if (this.#closed) return;
    const admitted = this.#admitted;
    this.close(code === 1006 ? 4000 : 1000, reason);
    if (admitted) this.#o.onClose({ code, reason });
  }

  #fail(error: AirlockClientError): void {
    if (this.#closed) return;
    this.close();
    this.#onFail?.(error);
  }

  #finish(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
  }
}

/** A Presence without an undefined lastSeen (also used by host-connection.ts). */
export function presenceOf(online: boolean, lastSeen: number | undefined): Presence {
  return lastSeen === undefined ? { hostOnline: online } : { hostOnline: online, lastSeen };
}
