// The encrypted channel after a handshake: one Channel per session and side.
//
// Frame = header (header.ts) || AES-256-GCM(key[epoch], nonce(direction,
// counter), aad = header with slot zeroed, pad(payload)). The receiver accepts
// exactly the next counter; a sender ratchets its key (epoch + 1) after
// REKEY_AFTER_MESSAGES frames or REKEY_AFTER_MS, deleting the old key. Any
// failure closes the channel for good: the session must be re-established.
import type { AeadKey, CryptoBackend } from "./backend.ts";
import { u32be, wipe } from "./bytes.ts";
import { HEADER_LENGTH, MAX_COUNTER, MAX_EPOCH, MAX_FRAME_LENGTH, MAX_MESSAGES_PER_EPOCH, REKEY_AFTER_MESSAGES, REKEY_AFTER_MS } from "./constants.ts";
import { AirlockProtocolError, fail } from "./errors.ts";
import { hkdfExpand, kdfInfo } from "./hash.ts";
import { decodeHeader, FrameType, writeHeader, type FrameHeader } from "./header.ts";
import { Direction, makeNonce } from "./nonce.ts";
import { pad, unpad } from "./padding.ts";
import { PROTOCOL_VERSION } from "./constants.ts";

/** k[e+1] = HKDF-Expand(k[e], kdfInfo("ratchet", u32 BE e+1), 32). */
export function ratchetKey(key: Uint8Array, nextEpoch: number): Uint8Array {
  return hkdfExpand(key, kdfInfo("ratchet", u32be(nextEpoch)), 32);
}

/** The header bytes used as associated data: the slot is zeroed because the relay rewrites it. */
export function associatedData(frame: Uint8Array): Uint8Array {
  const aad = frame.slice(0, HEADER_LENGTH);
  aad[2] = 0;
  aad[3] = 0;
  return aad;
}

export interface ChannelOptions {
  backend: CryptoBackend;
  role: "host" | "device";
  sendKey: Uint8Array;
  receiveKey: Uint8Array;
  /** Counters continue after the handshake frames (2 in each direction). */
  sendCounter: bigint;
  receiveCounter: bigint;
  /** Slot written into sent frames (the host addresses a device; devices send 0). */
  slot?: number;
  rekeyAfterMessages?: number;
  rekeyAfterMs?: number;
  /** Receive-side hard stop per epoch (tests lower it). */
  maxMessagesPerEpoch?: number;
  maxFrameLength?: number;
  now?: () => number;
}

class KeyState {
  epoch = 0;
  count = 0;
  startedAt: number;
  raw: Uint8Array;
  aead: Promise<AeadKey>;
  constructor(
    private backend: CryptoBackend,
    raw: Uint8Array,
    now: number,
  ) {
    this.raw = raw.slice();
    this.aead = backend.aeadKey(this.raw);
    this.startedAt = now;
  }
  /** Moves to the next epoch, deleting the old key; `derived` is passed when already computed. */
  next(now: number, derived?: { raw: Uint8Array; aead: Promise<AeadKey> }): void {
    const raw = derived?.raw ?? ratchetKey(this.raw, this.epoch + 1);
    wipe(this.raw);
    this.raw = raw;
    this.aead = derived?.aead ?? this.backend.aeadKey(raw);
    this.epoch++;
    this.count = 0;
    this.startedAt = now;
  }
}

export class Channel {
  readonly role: "host" | "device";
  #o: Required<Omit<ChannelOptions, "sendKey" | "receiveKey" | "sendCounter" | "receiveCounter">>;
  #send: KeyState;
  #receive: KeyState;
  #sendCounter: bigint;
  #receiveCounter: bigint;
  #closed: AirlockProtocolError | undefined;
  #sendDirection: Direction;
  #receiveDirection: Direction;
  /** Serialises operations so counters and ratchets never interleave. */
  #sendQueue: Promise<unknown> = Promise.resolve();
  #receiveQueue: Promise<unknown> = Promise.resolve();

  constructor(options: ChannelOptions) {
    const now = options.now ?? Date.now;
    this.role = options.role;
    this.#o = {
      backend: options.backend,
      role: options.role,
      slot: options.slot ?? 0,
      rekeyAfterMessages: options.rekeyAfterMessages ?? REKEY_AFTER_MESSAGES,
      rekeyAfterMs: options.rekeyAfterMs ?? REKEY_AFTER_MS,
      maxMessagesPerEpoch: options.maxMessagesPerEpoch ?? MAX_MESSAGES_PER_EPOCH,
      maxFrameLength: options.maxFrameLength ?? MAX_FRAME_LENGTH,
      now,
    };
    if (this.#o.rekeyAfterMessages >= this.#o.maxMessagesPerEpoch) throw new Error("rekeyAfterMessages must be below the hard limit");
    this.#send = new KeyState(options.backend, options.sendKey, now());
    this.#receive = new KeyState(options.backend, options.receiveKey, now());
    this.#sendCounter = options.sendCounter;
    this.#receiveCounter = options.receiveCounter;
    this.#sendDirection = options.role === "host" ? Direction.HOST_TO_DEVICE : Direction.DEVICE_TO_HOST;
    this.#receiveDirection = options.role === "host" ? Direction.DEVICE_TO_HOST : Direction.HOST_TO_DEVICE;
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }
  get sendEpoch(): number {
    return this.#send.epoch;
  }
  get receiveEpoch(): number {
    return this.#receive.epoch;
  }
  get nextSendCounter(): bigint {
    return this.#sendCounter;
  }
  get nextReceiveCounter(): bigint {
    return this.#receiveCounter;
  }

  /** Encrypts one payload into a complete frame. */
  seal(payload: Uint8Array): Promise<Uint8Array> {
    const run = this.#sendQueue.then(() => this.#seal(payload));
    this.#sendQueue = run.catch(() => undefined);
    return run;
  }

  /** Authenticates and decrypts one complete frame; throws and closes on any violation. */
  open(frame: Uint8Array): Promise<Uint8Array> {
    const run = this.#receiveQueue.then(() => this.#open(frame));
    this.#receiveQueue = run.catch(() => undefined);
    return run;
  }

  /** Closes the channel and wipes its keys. */
  close(reason: AirlockProtocolError = new AirlockProtocolError("CHANNEL_CLOSED")): void {
    if (!this.#closed) this.#closed = reason;
    wipe(this.#send.raw, this.#receive.raw);
  }

  async #seal(payload: Uint8Array): Promise<Uint8Array> {
    this.#checkOpen();
    const padded = pad(payload); // throws PAYLOAD_TOO_LARGE before touching state
    if (HEADER_LENGTH + padded.length + 16 > this.#o.maxFrameLength) fail("PAYLOAD_TOO_LARGE");
    const now = this.#o.now();
    const k = this.#send;
    if (k.count >= this.#o.rekeyAfterMessages || now - k.startedAt >= this.#o.rekeyAfterMs) {
      if (k.epoch >= MAX_EPOCH) this.#fail("KEY_EXHAUSTED", "epoch limit");
      k.next(now);
    }
    if (this.#sendCounter > MAX_COUNTER) this.#fail("KEY_EXHAUSTED", "counter limit");
    const header: FrameHeader = {
      version: PROTOCOL_VERSION,
      type: FrameType.DATA,
      slot: this.#o.slot,
      epoch: k.epoch,
      counter: this.#sendCounter,
      length: padded.length + 16,
    };
    const frame = new Uint8Array(HEADER_LENGTH + header.length);
    writeHeader(frame, header);
    const ciphertext = await (await k.aead).seal(makeNonce(this.#sendDirection, header.counter), associatedData(frame), padded);
    frame.set(ciphertext, HEADER_LENGTH);
    this.#sendCounter++;
    k.count++;
    return frame;
  }

  async #open(frame: Uint8Array): Promise<Uint8Array> {
    this.#checkOpen();
    let header: FrameHeader;
    try {
      header = decodeHeader(frame, this.#o.maxFrameLength);
    } catch (e) {
      throw this.#closeWith(e);
    }
    if (header.type !== FrameType.DATA) this.#fail("FRAME_MALFORMED", `frame type ${header.type} on an open channel`);
    if (header.counter !== this.#receiveCounter) {
      this.#fail("COUNTER_MISMATCH", `expected ${this.#receiveCounter}, got ${header.counter}`);
    }
    if (header.length < 16 + 256) this.#fail("FRAME_MALFORMED", "shorter than the smallest padded frame");
    const k = this.#receive;
    let aead = k.aead;
    let ratcheted: Uint8Array | undefined;
    if (header.epoch === k.epoch + 1) {
      ratcheted = ratchetKey(k.raw, header.epoch);
      aead = this.#o.backend.aeadKey(ratcheted);
    } else if (header.epoch !== k.epoch) {
      this.#fail("EPOCH_MISMATCH", `expected ${k.epoch} or ${k.epoch + 1}, got ${header.epoch}`);
    } else if (k.count >= this.#o.maxMessagesPerEpoch) {
      this.#fail("KEY_EXHAUSTED", "peer did not ratchet");
    }
    const padded = await (await aead).open(makeNonce(this.#receiveDirection, header.counter), associatedData(frame), frame.subarray(HEADER_LENGTH));
    if (!padded) this.#fail("FRAME_DECRYPT_FAILED");
    let payload: Uint8Array;
    try {
      payload = unpad(padded);
    } catch (e) {
      throw this.#closeWith(e);
    }
    // Commit only after the frame authenticated: a forged epoch bump changes nothing.
    if (ratcheted) k.next(this.#o.now(), { raw: ratcheted, aead });
    k.count++;
    this.#receiveCounter++;
    return payload;
  }

  #checkOpen(): void {
    if (this.#closed) throw new AirlockProtocolError("CHANNEL_CLOSED", this.#closed.code);
  }

  #closeWith(e: unknown): AirlockProtocolError {
    const err = e instanceof AirlockProtocolError ? e : new AirlockProtocolError("INTERNAL", String(e));
    this.close(err);
    return err;
  }

  #fail(code: ConstructorParameters<typeof AirlockProtocolError>[0], detail?: string): never {
    throw this.#closeWith(new AirlockProtocolError(code, detail));
  }
}
