// The end-to-end session over one relay socket: runs the device side of the
// handshake (surfacing the SAS), then seals and opens application payloads.
// Frames are processed strictly in arrival order; any failure ends the session
// with an AirlockClientError and, where the protocol says so, an ABORT frame.
import { AirlockProtocolError, DeviceSession, type HandshakeResult } from "@airlock/protocol";
import { AirlockClientError, toClientError } from "./errors.ts";

export interface E2EHandlers {
  onSas?(sas: string): void;
  onOpen(result: HandshakeResult): void;
  onPayload(payload: Uint8Array): void;
  /**
   * Called once when the session fails (not after close()). A refusal the host
   * sealed in its HostVerdict is DEVICE_REVOKED; the same code in a plaintext
   * ABORT frame (which any relay can forge) is only RELAY_REFUSED, a hint.
   */
  onError(error: AirlockClientError): void;
}

export class E2ESession {
  #session: DeviceSession;
  #sendFrame: (frame: Uint8Array) => void;
  #h: E2EHandlers;
  #queue: Promise<void> = Promise.resolve();
  #done = false;

  constructor(session: DeviceSession, sendFrame: (frame: Uint8Array) => void, handlers: E2EHandlers) {
    this.#session = session;
    this.#sendFrame = sendFrame;
    this.#h = handlers;
  }

  get open(): boolean {
    return !this.#done && this.#session.currentState === "open";
  }

  start(): void {
    // Failures are reported through onError; the promise itself is not needed.
    this.#enqueue(async () => this.#sendFrame(await this.#session.start())).catch(() => undefined);
  }

  receive(frame: Uint8Array): void {
    this.#enqueue(async () => {
      const r = await this.#session.receive(frame);
      if (this.#done) return;
      if (r.reply) this.#sendFrame(r.reply);
      if (r.sas !== undefined) this.#h.onSas?.(r.sas);
      if (r.opened) this.#h.onOpen(r.opened);
      if (r.payload) this.#h.onPayload(r.payload);
    }, frame[1] === 3 /* FrameType.ABORT: unauthenticated */).catch(() => undefined);
  }

  /** Seals and sends one application payload (in order with everything else). */
  send(payload: Uint8Array): Promise<void> {
    return this.#enqueue(async () => this.#sendFrame(await this.#session.send(payload)));
  }

  close(): void {
    this.#done = true;
    this.#session.close();
  }

  #enqueue(step: () => Promise<void>, abort?: boolean): Promise<void> {
    const run = this.#queue.then(async () => {
      if (this.#done) throw new AirlockClientError("CONNECTION_LOST", "the session is closed");
      try {
        await step();
      } catch (e) {
        // A payload that is too large fails alone; anything else ends the session.
        if (this.#session.currentState !== "open") this.#failWith(e, abort);
        throw toClientError(e);
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #failWith(e: unknown, abort?: boolean): void {
    if (this.#done) return;
    this.#done = true;
    // Tell the host why, when the failure is ours and the protocol allows it.
    if (e instanceof AirlockProtocolError && !e.remote) {
      try {
        this.#sendFrame(this.#session.failureFrame(e));
      } catch {
        // the session could not even frame its ABORT; the socket closes anyway
      }
    }
    this.#h.onError(
      abort && (e as AirlockProtocolError | undefined)?.code === "DEVICE_NOT_TRUSTED"
        ? new AirlockClientError("RELAY_REFUSED", "the relay refused this device; retrying", { protocolCode: "DEVICE_NOT_TRUSTED", cause: e })
        : toClientError(e),
    );
  }
}
