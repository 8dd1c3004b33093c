// Starts the real relay (scripts/local-relay.ts: local workerd) and
// drives it with real WebSocket clients (the `ws` package), as a host or a
// device would. Shared by the relay tests and benchmarks.
import { request } from "node:http";
import WebSocket from "ws";
import {
  allowlistMessage,
  decodeHeader,
  decodeRelayMessage,
  encodeControl,
  fromBase64Url,
  PING_TEXT,
  relayAuthMessage,
  RelayFrame,
  roomIdFor,
  SignaturePurpose,
  signWithPurpose,
  toBase64Url,
  type Ed25519Signer,
  type RelayMessage,
} from "../../protocol/src/index.ts";
import type { VapidKeyPair } from "../../protocol/src/web-push.ts";
import { startLocalRelay } from "../../scripts/local-relay.ts";

export interface RelayServer {
  /** http://127.0.0.1:PORT */
  url: string;
  dispose(): Promise<void>;
}

export interface StartRelayOptions {
  /** Overrides for wrangler.toml [vars]. */
  vars?: Record<string, string>;
  /**
   * Web Push: the relay's VAPID key pair and subject (VAPID_PUBLIC_KEY,
   * VAPID_PRIVATE_KEY as a secret binding, VAPID_SUBJECT) and the push-service
   * origins it may POST to (PUSH_ORIGINS; tests list the mock's http origin).
   */
  push?: { vapid: VapidKeyPair & { subject: string }; origins: string[] };
  /** Directory for Durable Object storage; a fresh temp dir by default. */
  persistDir?: string;
  port?: number;
}

export async function startRelay(options: StartRelayOptions = {}): Promise<RelayServer> {
  const push = options.push;
  const pushVars = push ? { VAPID_PUBLIC_KEY: push.vapid.publicKey, VAPID_SUBJECT: push.vapid.subject, PUSH_ORIGINS: push.origins.join(",") } : {};
  const relay = await startLocalRelay({
    vars: { AIRLOCK_DEBUG: "1", ...pushVars, ...options.vars },
    ...(push ? { bindings: { VAPID_PRIVATE_KEY: { type: "secret_text" as const, value: push.vapid.privateKey } } } : {}),
    ...(options.persistDir ? { persistDir: options.persistDir } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  return { url: relay.url, dispose: () => relay.dispose() };
}

export function wsUrl(relayUrl: string, room: string, role: "host" | "device"): string {
  return `${relayUrl.replace(/^http/, "ws")}/v1/rooms/${room}/${role}`;
}

export interface Closed {
  code: number;
  reason: string;
}

/** A raw relay connection with a message queue. */
export class RelayClient {
  readonly ws: WebSocket;
  readonly closed: Promise<Closed>;
  #queue: Uint8Array[] = [];
  #texts: string[] = [];
  #waiters: Array<() => void> = [];
  challenge?: RelayMessage<typeof RelayFrame.CHALLENGE>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.binaryType = "nodebuffer";
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.#queue.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      else this.#texts.push(data.toString("utf8"));
      this.#wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        resolve({ code, reason: reason.toString("utf8") });
        this.#wake();
      });
    });
    ws.on("error", () => undefined);
  }

  /** `headers` go on the upgrade request (e.g. CF-Connecting-IP, which local workerd passes through). */
  static async connect(url: string, headers?: Record<string, string>): Promise<RelayClient> {
    const ws = new WebSocket(url, headers ? { headers } : undefined);
    const client = new RelayClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once("error", reject);
    });
    const first = decodeRelayMessage(await client.next());
    if (first.type !== RelayFrame.CHALLENGE) throw new Error(`expected CHALLENGE, got ${first.type}`);
    client.challenge = first.body;
    return client;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Next binary message; rejects if the socket closes or nothing arrives in time. */
  async next(timeoutMs = 5000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const msg = this.#queue.shift();
      if (msg) return msg;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error("socket closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a message");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Next relay control message of the given type, skipping other control messages. */
  async nextControl<T extends keyof typeof import("../../protocol/src/relay.ts").relayToClient>(type: T, timeoutMs = 5000): Promise<RelayMessage<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = await this.next(Math.max(1, deadline - Date.now()));
      const header = decodeHeader(frame);
      if (header.type < 0x20 || header.type > 0x2f) throw new Error(`expected control ${type}, got frame type ${header.type}`);
      const msg = decodeRelayMessage(frame);
      if (msg.type === type) return msg.body as RelayMessage<T>;
    }
  }

  /** Messages received so far, without waiting. */
  drain(): Uint8Array[] {
    return this.#queue.splice(0);
  }

  texts(): string[] {
    return this.#texts.splice(0);
  }

  send(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  ping(): void {
    this.ws.send(PING_TEXT);
  }

  close(): void {
    this.ws.close(1000);
  }
}

export async function authMessage(client: RelayClient): Promise<Uint8Array> {
  const c = client.challenge!;
  return relayAuthMessage(fromBase64Url(c.room)!, fromBase64Url(c.challenge)!);
}

/** Connects and authenticates a host; resolves after WELCOME. */
export async function connectHost(relayUrl: string, signer: Ed25519Signer): Promise<{ client: RelayClient; welcome: RelayMessage<typeof RelayFrame.WELCOME> }> {
  const client = await RelayClient.connect(wsUrl(relayUrl, roomIdFor(signer.publicKey), "host"));
  const sig = await signWithPurpose(signer, SignaturePurpose.RELAY_HOST_AUTH, await authMessage(client));
  client.send(encodeControl(RelayFrame.AUTH, { key: toBase64Url(signer.publicKey), sig: toBase64Url(sig) }));
  const welcome = await client.nextControl(RelayFrame.WELCOME);
  return { client, welcome };
}

/** Connects and authenticates a device (with a pairing ticket or via the allowlist). */
export async function connectDevice(
  relayUrl: string,
  room: string,
  signer: Ed25519Signer,
  ticket?: Uint8Array,
): Promise<{ client: RelayClient; welcome: RelayMessage<typeof RelayFrame.WELCOME> }> {
  const client = await RelayClient.connect(wsUrl(relayUrl, room, "device"));
  const sig = await signWithPurpose(signer, SignaturePurpose.RELAY_DEVICE_AUTH, await authMessage(client));
  client.send(
    encodeControl(RelayFrame.AUTH, {
      key: toBase64Url(signer.publicKey),
      sig: toBase64Url(sig),
      ...(ticket ? { ticket: toBase64Url(ticket) } : {}),
    }),
  );
  const welcome = await client.nextControl(RelayFrame.WELCOME);
  return { client, welcome };
}

let commandIds = 0;

/** Sends a host command and waits for its RESULT. */
export async function hostCommand(host: RelayClient, command: Record<string, unknown>): Promise<RelayMessage<typeof RelayFrame.RESULT>> {
  const id = `c${++commandIds}`;
  host.send(encodeControl(RelayFrame.COMMAND, { id, ...command }));
  for (;;) {
    const result = await host.nextControl(RelayFrame.RESULT);
    if (result.id === id) return result;
  }
}

export async function publishAllowlist(host: RelayClient, signer: Ed25519Signer, version: number, keys: Uint8Array[]) {
  const room = fromBase64Url(roomIdFor(signer.publicKey))!;
  const sig = await signWithPurpose(signer, SignaturePurpose.DEVICE_ALLOWLIST, allowlistMessage(room, version, keys));
  return hostCommand(host, { op: "allowlist.set", version, keys: keys.map(toBase64Url), sig: toBase64Url(sig) });
}

export async function debugRoom(relayUrl: string, room: string): Promise<{ instanceId: string; constructedAt: number; sockets: unknown[] }> {
  const res = await fetch(`${relayUrl}/v1/rooms/${room}/debug`);
  return (await res.json()) as never;
}

/** Headers of a WebSocket upgrade request (for raw requests that must look like one). */
export const UPGRADE_HEADERS = { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13" };

/**
 * A raw HTTP request whose path is sent exactly as given (fetch and ws would
 * normalise it). Resolves with the status, Allow header and body; an accepted
 * upgrade resolves with status 101 and its socket is closed at once.
 */
export function rawRequest(
  relayUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = UPGRADE_HEADERS,
): Promise<{ status: number; allow?: string | undefined; body: string }> {
  const { port } = new URL(relayUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, body }));
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, body: "" });
    });
    req.on("error", reject);
    req.end();
  });
}
