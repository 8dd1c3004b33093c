// A phone for the pipeline benchmark (bench/pipeline.bench.ts and the other
// phones' process, bench/pipeline-phones.ts): relay admission, the end-to-end
// session, app messages with their arrival time, and a checker of streams.
import type WebSocket from "ws";
import {
  appProtocol,
  decodeHeader,
  derivePairingKeys,
  DeviceSession,
  isRelayControlType,
  nobleBackend,
  parsePairingLink,
  textEncoder,
  type AppProtocolMessage,
} from "../protocol/src/index.ts";
import { webCryptoBackend } from "../protocol/src/backend-webcrypto.ts";
import { now } from "./lib.ts";
import { streamChunk } from "./pipeline-shared.ts";
import { admitDevice, closeSocket } from "./relay-client.ts";

type Listener = (m: AppProtocolMessage, at: number) => void;

/** A paired phone: relay admission, the end-to-end session, app messages with their arrival time. */
export class BenchDevice {
  #ids = 0;
  #listeners = new Set<Listener>();
  #incoming: Promise<void> = Promise.resolve();
  #failure: Error | undefined;

  private constructor(
    readonly ws: WebSocket,
    readonly session: DeviceSession,
  ) {}

  static async pair(relayUrl: string, link: string, name: string): Promise<BenchDevice> {
    const parsed = parsePairingLink(link);
    const keys = derivePairingKeys(parsed.secret);
    const signer = await nobleBackend.generateSigner();
    // No permessage-deflate, as with the deployed relay (wrangler.toml: no_web_socket_compression);
    // local workerd would accept it and spend its CPU deflating ciphertext (see bench/relay.bench.ts).
    const admitted = await admitDevice(relayUrl, parsed.roomId, signer, keys.relayTicket, { deflate: false });
    const session = new DeviceSession({
      backend: webCryptoBackend,
      hostPublicKey: parsed.hostPublicKey,
      deviceSigner: signer,
      deviceName: name,
      pairing: { pairingId: keys.pairingId, psk: keys.psk },
    });
    const device = new BenchDevice(admitted.ws, session);
    const opened = new Promise<void>((resolve, reject) => {
      device.#onFrame = async (frame) => {
        const r = await session.receive(frame);
        if (r.reply) admitted.ws.send(r.reply);
        if (r.opened) resolve();
        if (r.payload) device.#dispatch(r.payload);
      };
      admitted.ws.once("close", (code, reason) => reject(new Error(`device socket closed ${code} ${reason.toString()}`)));
    });
    admitted.ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (isRelayControlType(decodeHeader(frame).type)) return;
      // Frames are opened one at a time, in arrival order.
      device.#incoming = device.#incoming
        .then(() => device.#onFrame(frame))
        .catch((e: unknown) => {
          device.#failure ??= e as Error;
        });
    });
    admitted.ws.send(await session.start());
    const info = device.next((m) => m.type === "host.info");
    await opened;
    await info;
    return device;
  }

  #onFrame: (frame: Uint8Array) => Promise<void> = async () => undefined;

  #dispatch(payload: Uint8Array): void {
    const at = now();
    const m = appProtocol.decode(payload);
    for (const l of [...this.#listeners]) l(m, at);
  }

  on(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The next message matching `match`, with its arrival time. */
  next(match: (m: AppProtocolMessage) => boolean, timeoutMs = 60_000): Promise<{ m: AppProtocolMessage; at: number }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`device: nothing matching within ${timeoutMs} ms${this.#failure ? ` (${this.#failure.message})` : ""}`));
      }, timeoutMs);
      const off = this.on((m, at) => {
        if (!match(m)) return;
        clearTimeout(timer);
        off();
        resolve({ m, at });
      });
    });
  }

  async sendRaw(json: unknown): Promise<void> {
    this.ws.send(await this.session.send(textEncoder.encode(JSON.stringify(json))));
  }

  /** Sends a command; resolves with its answer (result, thread.list or error) and when it arrived. */
  async command(type: string, body: unknown): Promise<{ m: AppProtocolMessage; at: number }> {
    const id = `b${++this.#ids}`;
    const answer = this.next((m) => (m.type === "result" || m.type === "error" || m.type === "thread.list") && m.re === id);
    await this.sendRaw({ v: 1, type, id, body });
    return answer;
  }

  close(): Promise<void> {
    return closeSocket(this.ws);
  }
}

export interface StreamOutcome {
  events: number;
  bytes: number;
  ms: number;
  /** Problems with the device's view (missing, duplicate or out-of-order seqs, wrong content). */
  problems: string[];
}

/** Checks and counts what `device` receives on `thread` until the stream's end event. */
export function watchStream(
  device: BenchDevice,
  kind: "delta" | "output",
  n: number,
  size: number,
): { thread: (id: string) => void; done: Promise<{ at: number; outcome: Omit<StreamOutcome, "ms"> }> } {
  let id = "";
  const early: { m: AppProtocolMessage; at: number }[] = [];
  let lastSeq = 0;
  let index = 0;
  let carry = "";
  let bytes = 0;
  let events = 0;
  const problems: string[] = [];
  const expect = (text: string) => {
    // Coalesced events carry several chunks: compare the concatenation.
    carry += text;
    for (;;) {
      const want = streamChunk(index, size);
      if (carry.length < want.length) return;
      if (!carry.startsWith(want)) {
        if (problems.length < 5) problems.push(`chunk ${index} differs`);
        carry = "";
        return;
      }
      carry = carry.slice(want.length);
      index++;
    }
  };
  let finish!: (v: { at: number; outcome: Omit<StreamOutcome, "ms"> }) => void;
  const done = new Promise<{ at: number; outcome: Omit<StreamOutcome, "ms"> }>((resolve) => (finish = resolve));
  const handle = (m: AppProtocolMessage, at: number) => {
    if (m.type !== "event" || m.thread !== id) return;
    const seq = m.seq ?? 0;
    if (seq !== lastSeq + 1 && problems.length < 5) problems.push(`seq ${seq} after ${lastSeq}`);
    lastSeq = Math.max(lastSeq, seq);
    const e = m.body;
    if (e.kind === "message.delta" && kind === "delta") {
      events++;
      bytes += e.text.length;
      expect(e.text);
    } else if (e.kind === "command.output" && kind === "output") {
      events++;
      bytes += e.chunk.length;
      expect(e.chunk);
    } else if ((kind === "delta" && e.kind === "message.completed") || (kind === "output" && e.kind === "command.finished")) {
      off();
      if (index !== n && problems.length < 5) problems.push(`${index} of ${n} chunks arrived`);
      finish({ at, outcome: { events, bytes, problems } });
    }
  };
  const off = device.on((m, at) => {
    if (!id) early.push({ m, at });
    else handle(m, at);
  });
  return {
    thread: (threadId) => {
      id = threadId;
      for (const e of early.splice(0)) handle(e.m, e.at);
    },
    done,
  };
}
