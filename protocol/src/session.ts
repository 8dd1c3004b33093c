// Frame-level endpoints: a handshake followed by a channel, with the counters
// of every frame checked. Transports (WebSocket to the relay, an in-memory
// pipe in tests) just move the Uint8Array frames these return.
//
// Counters run per direction over the whole session: the device sends
// ClientHello (0), ClientAuth (1), then data from 2; the host sends
// ServerHello (0), HostVerdict (1), then data from 2.
import { Channel, type ChannelOptions } from "./channel.ts";
import { AirlockProtocolError, errorCodeFromWire, fail, type ErrorCode, ERRORS } from "./errors.ts";
import { DeviceHandshake, HostHandshake, type DeviceClaim, type DeviceHandshakeOptions, type HandshakeResult, type HostHandshakeOptions } from "./handshake.ts";
import { decodeHeader, encodeFrame, frameBody, FrameType, type FrameHeader } from "./header.ts";
import { u8 } from "./bytes.ts";

/** Channel tuning passed through to the Channel once the handshake completes. */
export type ChannelTuning = Partial<Pick<ChannelOptions, "rekeyAfterMessages" | "rekeyAfterMs" | "maxMessagesPerEpoch" | "maxFrameLength" | "now">>;

export type SessionState = "idle" | "handshake" | "verifying" | "open" | "closed";

/** Reads an ABORT frame's body into the error the peer reported. */
function abortError(body: Uint8Array): AirlockProtocolError {
  const code = body.length === 1 ? errorCodeFromWire(body[0]!) : undefined;
  return new AirlockProtocolError(code ?? "HANDSHAKE_ABORTED", "reported by peer", { remote: true });
}

abstract class SessionBase {
  protected state: SessionState = "idle";
  protected channel?: Channel;
  protected sendCounter = 0n;
  protected receiveCounter = 0n;
  protected slot = 0;
  protected tuning: ChannelTuning;
  #error?: AirlockProtocolError;
  /**
   * Serialises start/receive/accept/reject. A transport may call receive() for
   * each frame as it arrives without awaiting the previous call; without this,
   * a frame processed while a handshake step is suspended on crypto could fail
   * and wipe that step's keys mid-use (and the step would then reopen the
   * closed session under keys derived from zeros).
   */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(tuning: ChannelTuning = {}) {
    this.tuning = tuning;
  }

  get currentState(): SessionState {
    return this.state;
  }

  /** Why the session closed, if it did. */
  get error(): AirlockProtocolError | undefined {
    return this.#error;
  }

  /** Encrypts an application payload (only once the session is open). */
  async send(payload: Uint8Array): Promise<Uint8Array> {
    if (this.state !== "open" || !this.channel) fail("CHANNEL_CLOSED", `session is ${this.state}`);
    try {
      return await this.channel.seal(payload);
    } catch (e) {
      // A payload that is too large is the caller's mistake, not the session's end.
      if (!this.channel.closed) throw e;
      throw this.closeWith(e);
    }
  }

  /**
   * An ABORT frame telling the peer why this side gives up, and closes the
   * session. Unauthenticated by nature: the peer treats it as a hint.
   */
  abort(code: ErrorCode): Uint8Array {
    if (this.channel) this.sendCounter = this.channel.nextSendCounter;
    const frame = this.handshakeFrame(FrameType.ABORT, u8(ERRORS[code].wire));
    this.closeWith(new AirlockProtocolError(code));
    return frame;
  }

  /**
   * The frame to send the peer after `error` ended this session: its
   * authenticated refusal when there is one, otherwise an ABORT.
   */
  failureFrame(error: AirlockProtocolError): Uint8Array {
    return error.reply ?? this.abort(error.code);
  }

  close(): void {
    this.closeWith(new AirlockProtocolError("CHANNEL_CLOSED"));
  }

  protected handshakeFrame(type: number, body: Uint8Array): Uint8Array {
    const frame = encodeFrame({ type, slot: this.slot, epoch: 0, counter: this.sendCounter }, body);
    this.sendCounter++;
    return frame;
  }

  /** Validates a frame that arrives before the channel opens. Returns its body. */
  protected handshakeBody(frame: Uint8Array): Uint8Array {
    let header: FrameHeader;
    try {
      header = decodeHeader(frame, this.tuning.maxFrameLength);
    } catch (e) {
      throw this.closeWith(e);
    }
    if (header.counter !== this.receiveCounter) {
      throw this.closeWith(new AirlockProtocolError("COUNTER_MISMATCH", `expected ${this.receiveCounter}, got ${header.counter}`));
    }
    this.receiveCounter++;
    if (header.type === FrameType.ABORT) throw this.closeWith(abortError(frameBody(frame)));
    if (header.type !== FrameType.HANDSHAKE) {
      throw this.closeWith(new AirlockProtocolError("UNEXPECTED_MESSAGE", `frame type ${header.type} during handshake`));
    }
    return frameBody(frame);
  }

  /** Decrypts a data frame on the open channel; an ABORT closes the session. */
  protected async openData(frame: Uint8Array): Promise<Uint8Array> {
    if (frame.length >= 2 && frame[1] === FrameType.ABORT) {
      // Only an ABORT in sequence counts; anything else is a channel violation.
      this.receiveCounter = this.channel!.nextReceiveCounter;
      this.handshakeBody(frame);
    }
    try {
      return await this.channel!.open(frame);
    } catch (e) {
      throw this.closeWith(e);
    }
  }

  protected openChannel(result: HandshakeResult, role: "host" | "device", backend: ChannelOptions["backend"]): void {
    this.channel = new Channel({
      ...this.tuning,
      backend,
      role,
      sendKey: result.sendKey,
      receiveKey: result.receiveKey,
      sendCounter: this.sendCounter,
      receiveCounter: this.receiveCounter,
      slot: this.slot,
    });
    this.state = "open";
  }

  protected closeWith(e: unknown): AirlockProtocolError {
    const err = e instanceof AirlockProtocolError ? e : new AirlockProtocolError("INTERNAL", String(e));
    if (this.state !== "closed") {
      this.state = "closed";
      this.#error = err;
      this.channel?.close(err);
    }
    return err;
  }

  protected serialize<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** After an awaited handshake step: a session closed meanwhile (close()/abort()) stays closed. */
  protected checkNotClosed(): void {
    if (this.state === "closed") throw new AirlockProtocolError("CHANNEL_CLOSED", this.#error?.code);
  }

  protected expectState(...states: SessionState[]): void {
    if (!states.includes(this.state)) {
      if (this.state === "closed") throw new AirlockProtocolError("CHANNEL_CLOSED", this.#error?.code);
      throw this.closeWith(new AirlockProtocolError("UNEXPECTED_MESSAGE", `session is ${this.state}`));
    }
  }
}

export interface DeviceReceiveResult {
  /** Frames to send back (ClientAuth after ServerHello). */
  reply?: Uint8Array;
  /** The SAS to display while the host operator confirms (pair mode). */
  sas?: string;
  /** Set once the host accepted: the session is open. */
  opened?: HandshakeResult;
  /** A decrypted application payload. */
  payload?: Uint8Array;
}

export class DeviceSession extends SessionBase {
  #handshake: DeviceHandshake;
  #backend: DeviceHandshakeOptions["backend"];
  result?: HandshakeResult;

  constructor(options: DeviceHandshakeOptions & { tuning?: ChannelTuning }) {
    super(options.tuning);
    this.#handshake = new DeviceHandshake(options);
    this.#backend = options.backend;
  }

  get sas(): string | undefined {
    return this.#handshake.sas;
  }

  /** The ClientHello frame that opens the session. */
  start(): Promise<Uint8Array> {
    return this.serialize(() => this.#start());
  }

  async #start(): Promise<Uint8Array> {
    this.expectState("idle");
    this.state = "handshake";
    try {
      const hello = await this.#handshake.start();
      this.checkNotClosed();
      return this.handshakeFrame(FrameType.HANDSHAKE, hello);
    } catch (e) {
      throw this.closeWith(e);
    }
  }

  receive(frame: Uint8Array): Promise<DeviceReceiveResult> {
    return this.serialize(() => this.#receive(frame));
  }

  async #receive(frame: Uint8Array): Promise<DeviceReceiveResult> {
    this.expectState("handshake", "verifying", "open");
    if (this.state === "open") return { payload: await this.openData(frame) };
    const body = this.handshakeBody(frame);
    try {
      if (this.state === "handshake") {
        const auth = await this.#handshake.onServerHello(body);
        this.checkNotClosed();
        this.state = "verifying";
        return { reply: this.handshakeFrame(FrameType.HANDSHAKE, auth), sas: this.#handshake.sas! };
      }
      const result = await this.#handshake.onHostVerdict(body);
      this.checkNotClosed();
      this.result = result;
      this.openChannel(this.result, "device", this.#backend);
      return { opened: this.result };
    } catch (e) {
      throw this.closeWith(e);
    }
  }
}

export interface HostReceiveResult {
  /** ServerHello to send after ClientHello. */
  reply?: Uint8Array;
  /** A verified device awaiting accept()/reject(). */
  claim?: DeviceClaim;
  payload?: Uint8Array;
}

export class HostSession extends SessionBase {
  #handshake: HostHandshake;
  #backend: HostHandshakeOptions["backend"];
  claim?: DeviceClaim;
  result?: HandshakeResult;

  /** `slot` is the relay slot of the device this session talks to. */
  constructor(options: HostHandshakeOptions & { slot?: number; tuning?: ChannelTuning }) {
    super(options.tuning);
    this.slot = options.slot ?? 0;
    this.#handshake = new HostHandshake(options);
    this.#backend = options.backend;
    this.state = "handshake";
  }

  receive(frame: Uint8Array): Promise<HostReceiveResult> {
    return this.serialize(() => this.#receive(frame));
  }

  async #receive(frame: Uint8Array): Promise<HostReceiveResult> {
    this.expectState("handshake", "open");
    if (this.state === "open") return { payload: await this.openData(frame) };
    const body = this.handshakeBody(frame);
    try {
      if (this.receiveCounter === 1n) {
        const hello = await this.#handshake.onClientHello(body);
        this.checkNotClosed();
        return { reply: this.handshakeFrame(FrameType.HANDSHAKE, hello) };
      }
      const claim = await this.#handshake.onClientAuth(body);
      this.checkNotClosed();
      this.claim = claim;
      this.state = "verifying";
      return { claim: this.claim };
    } catch (e) {
      if (e instanceof AirlockProtocolError && e.reply) {
        // The refusal's HostVerdict takes this side's next counter; re-frame it.
        const frame = this.handshakeFrame(FrameType.HANDSHAKE, e.reply);
        const err = new AirlockProtocolError(e.code, undefined, { reply: frame });
        throw this.closeWith(err);
      }
      throw this.closeWith(e);
    }
  }

  /** Trusts the verified device: returns the verdict frame; the channel is open. */
  accept(): Promise<Uint8Array> {
    return this.serialize(() => this.#accept());
  }

  async #accept(): Promise<Uint8Array> {
    this.expectState("verifying");
    const { verdict, result } = await this.#handshake.accept();
    this.checkNotClosed();
    this.result = result;
    const frame = this.handshakeFrame(FrameType.HANDSHAKE, verdict);
    this.openChannel(result, "host", this.#backend);
    return frame;
  }

  /** Refuses the verified device with an authenticated reason; the session closes. */
  reject(code: ErrorCode): Promise<Uint8Array> {
    return this.serialize(() => this.#reject(code));
  }

  async #reject(code: ErrorCode): Promise<Uint8Array> {
    this.expectState("verifying");
    const frame = this.handshakeFrame(FrameType.HANDSHAKE, await this.#handshake.reject(code));
    this.closeWith(new AirlockProtocolError(code));
    return frame;
  }
}
