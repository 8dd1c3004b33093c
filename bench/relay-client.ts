// Minimal relay plumbing for the benchmarks: start the real relay on local
// workerd (scripts/local-relay.ts, as the tests and npm start do) and admit
// hosts and devices over `ws`. Written for measuring: after admission the
// caller installs its own message handlers.
import WebSocket from "ws";
import {
  decodeHeader,
  decodeRelayMessage,
  derivePairingKeys,
  encodeControl,
  fromBase64Url,
  isRelayControlType,
  nobleBackend,
  relayAuthMessage,
  RelayFrame,
  relayTicketHash,
  roomIdFor,
  secureRandom,
  SignaturePurpose,
  signWithPurpose,
  toBase64Url,
  type Ed25519Signer,
  type RelayLimits,
  type RelayMessage,
} from "../protocol/src/index.ts";
import { startLocalRelay } from "../scripts/local-relay.ts";

export interface Relay {
  /**
   * wrangler's bundler watches the Worker's sources whatever dev.watch says:
   * editing them during a run restarts the relay and drops every socket.
   * Called when that happens.
   */
  onRebuild?: () => void;
  /** What unstable_startWorker hands out: wrangler's dev proxy (a second workerd) in front of the Worker. */
  proxyUrl: string;
  /** The Worker's own workerd socket, without the dev proxy hop (miniflare's entry worker → the Worker → the Durable Object). */
  directUrl: string;
  dispose(): Promise<void>;
}

/** Starts wrangler.toml's Worker on local workerd (scripts/local-relay.ts) with a fresh persist dir; `vars` override [vars]. */
export async function startRelay(vars: Record<string, string> = {}): Promise<Relay> {
  const local = await startLocalRelay({ vars });
  const directUrl = await local.directUrl().catch(async (e: unknown) => {
    await local.dispose();
    throw e;
  });
  const relay: Relay = { proxyUrl: local.url, directUrl, dispose: () => local.dispose() };
  local.onRebuild = () => relay.onRebuild?.();
  return relay;
}

export interface Admitted {
  ws: WebSocket;
  /** Limits the relay announced in its CHALLENGE. */
  limits: RelayLimits;
}

export interface AdmittedDevice extends Admitted {
  slot: number;
}

export interface ClientOptions {
  /**
   * Offer permessage-deflate, as `ws` does by default and browsers always do
   * (workerd accepts it since compatibility date 2023-08-15). Default true.
   */
  deflate?: boolean;
}

/** Opens a socket and resolves with it once `first` accepted a binary message. */
function open<T>(url: string, options: ClientOptions, first: (frame: Uint8Array) => T | undefined, timeoutMs = 10_000): Promise<{ ws: WebSocket; value: T }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: options.deflate ?? true });
    ws.binaryType = "nodebuffer";
    const timer = setTimeout(() => fail(new Error(`timed out connecting to ${url}`)), timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on("error", () => undefined);
      ws.terminate();
      reject(e);
    };
    ws.on("error", fail);
    ws.once("unexpected-response", (_req, res) => fail(new Error(`HTTP ${res.statusCode} from ${url}`)));
    ws.once("close", (code, reason) => fail(new Error(`closed ${code} ${reason.toString()} before admission`)));
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      let value: T | undefined;
      try {
        value = first(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } catch (e) {
        return fail(e as Error);
      }
      if (value === undefined) return;
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on("error", () => undefined);
      resolve({ ws, value });
    });
  });
}

/** Waits for the next control message of `type` (skipping other control messages). */
function nextControl<T extends keyof typeof import("../protocol/src/relay.ts").relayToClient>(
  ws: WebSocket,
  type: T,
  timeoutMs = 10_000,
): Promise<RelayMessage<T>> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      ws.off("message", onMessage);
      ws.off("close", onClose);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out waiting for relay message ${type}`));
    }, timeoutMs);
    const onClose = (code: number, reason: Buffer) => {
      done();
      reject(new Error(`closed ${code} ${reason.toString()}`));
    };
    const onMessage = (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (!isRelayControlType(decodeHeader(frame).type)) return;
      const msg = decodeRelayMessage(frame);
      if (msg.type !== type) return;
      done();
      resolve(msg.body as RelayMessage<T>);
    };
    ws.on("message", onMessage);
    ws.on("close", onClose);
  });
}

type Challenge = RelayMessage<typeof RelayFrame.CHALLENGE>;

async function connect(url: string, options: ClientOptions): Promise<{ ws: WebSocket; challenge: Challenge }> {
  const { ws, value } = await open(url, options, (frame) => {
    const msg = decodeRelayMessage(frame);
    if (msg.type !== RelayFrame.CHALLENGE) throw new Error(`expected CHALLENGE, got ${msg.type}`);
    return msg.body;
  });
  return { ws, challenge: value };
}

async function answer(
  ws: WebSocket,
  challenge: Challenge,
  signer: Ed25519Signer,
  purpose: SignaturePurpose,
  ticket?: Uint8Array,
): Promise<RelayMessage<typeof RelayFrame.WELCOME>> {
  const message = relayAuthMessage(fromBase64Url(challenge.room)!, fromBase64Url(challenge.challenge)!);
  const sig = await signWithPurpose(signer, purpose, message);
  const welcome = nextControl(ws, RelayFrame.WELCOME);
  ws.send(
    encodeControl(RelayFrame.AUTH, {
      key: toBase64Url(signer.publicKey),
      sig: toBase64Url(sig),
      ...(ticket ? { ticket: toBase64Url(ticket) } : {}),
    }),
  );
  return welcome;
}

const roomUrl = (relayUrl: string, room: string, role: "host" | "device") => `${relayUrl.replace(/^http/, "ws")}/v1/rooms/${room}/${role}`;

let commandIds = 0;

async function hostCommand(ws: WebSocket, command: Record<string, unknown>): Promise<void> {
  const id = `b${++commandIds}`;
  const result = new Promise<RelayMessage<typeof RelayFrame.RESULT>>((resolve, reject) => {
    const loop = (): void => {
      nextControl(ws, RelayFrame.RESULT).then((r) => (r.id === id ? resolve(r) : loop()), reject);
    };
    loop();
  });
  ws.send(encodeControl(RelayFrame.COMMAND, { id, ...command }));
  const r = await result;
  if (!r.ok) throw new Error(`host command ${String(command.op)} failed: ${r.error ?? "?"}`);
}

/**
 * One room: a fresh host key authenticates as host, registers a pairing ticket
 * (ticket.add), and a fresh device key is admitted with it. Resolves once both
 * sockets are welcomed and the host has seen the device join (so nothing from
 * admission is still in flight when measuring starts).
 */
export async function openRoom(relayUrl: string, options: ClientOptions = {}): Promise<{ room: string; host: Admitted; device: AdmittedDevice }> {
  const hostKey = await nobleBackend.generateSigner();
  const room = roomIdFor(hostKey.publicKey);
  const opened: WebSocket[] = [];
  try {
    const h = await connect(roomUrl(relayUrl, room, "host"), options);
    opened.push(h.ws);
    await answer(h.ws, h.challenge, hostKey, SignaturePurpose.RELAY_HOST_AUTH);
    const pairing = derivePairingKeys(secureRandom(32));
    await hostCommand(h.ws, { op: "ticket.add", hash: toBase64Url(relayTicketHash(pairing.relayTicket)), expiresAt: Date.now() + 10 * 60_000 });

    const joined = nextControl(h.ws, RelayFrame.PRESENCE);
    joined.catch(() => undefined); // awaited below; a failure before that is reported by the step that failed
    const d = await connect(roomUrl(relayUrl, room, "device"), options);
    opened.push(d.ws);
    const welcome = await answer(d.ws, d.challenge, await nobleBackend.generateSigner(), SignaturePurpose.RELAY_DEVICE_AUTH, pairing.relayTicket);
    if (welcome.role !== "device") throw new Error("device was welcomed as a host");
    const presence = await joined;
    if (!("device" in presence) || presence.device !== "joined" || presence.slot !== welcome.slot) {
      throw new Error(`unexpected presence ${JSON.stringify(presence)}`);
    }
    return { room, host: { ws: h.ws, limits: h.challenge.limits }, device: { ws: d.ws, limits: d.challenge.limits, slot: welcome.slot } };
  } catch (e) {
    for (const ws of opened) ws.terminate(); // also ends pending waits (their close handlers run)
    throw e;
  }
}

/** Closes a socket and resolves when the close handshake is over (or after a grace period). */
export function closeSocket(ws: WebSocket, graceMs = 2000): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, graceMs);
    ws.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    if (ws.readyState !== WebSocket.CLOSING) ws.close(1000);
  });
}

/**
 * A device socket admitted to `room` (with a pairing ticket, or as a trusted
 * device without one). After admission the caller installs its own handlers.
 */
export async function admitDevice(
  relayUrl: string,
  room: string,
  signer: Ed25519Signer,
  ticket?: Uint8Array,
  options: ClientOptions = {},
): Promise<AdmittedDevice> {
  const d = await connect(roomUrl(relayUrl, room, "device"), options);
  try {
    const welcome = await answer(d.ws, d.challenge, signer, SignaturePurpose.RELAY_DEVICE_AUTH, ticket);
    if (welcome.role !== "device") throw new Error("device was welcomed as a host");
    return { ws: d.ws, limits: d.challenge.limits, slot: welcome.slot };
  } catch (e) {
    d.ws.terminate();
    throw e;
  }
}
