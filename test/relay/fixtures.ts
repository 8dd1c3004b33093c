// Helpers shared by the relay tests (on top of harness.ts, which the
// benchmarks share too): fresh rooms, paired devices, frame builders and
// waits that fail loudly instead of hanging.
import { expect } from "vitest";
import {
  decodeHeader,
  decodeRelayMessage,
  derivePairingKeys,
  encodeControl,
  encodeFrame,
  FrameType,
  nobleBackend,
  RelayFrame,
  relayTicketHash,
  roomIdFor,
  secureRandom,
  SignaturePurpose,
  signWithPurpose,
  toBase64Url,
  type Ed25519Signer,
  type FrameHeader,
  type RelayMessage,
} from "../../protocol/src/index.ts";
import { authMessage, connectDevice, connectHost, hostCommand, RelayClient, wsUrl, type Closed } from "./harness.ts";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Host {
  key: Ed25519Signer;
  room: string;
  client: RelayClient;
  welcome: RelayMessage<typeof RelayFrame.WELCOME>;
}

/** A fresh host key (so a fresh room) with its host connected and welcomed. */
export async function newHost(relayUrl: string): Promise<Host> {
  const key = await nobleBackend.generateSigner();
  const { client, welcome } = await connectHost(relayUrl, key);
  return { key, room: roomIdFor(key.publicKey), client, welcome };
}

/** Connects the host of an existing room again (the previous host connection is replaced). */
export async function reconnectHost(relayUrl: string, host: Pick<Host, "key" | "room">): Promise<Host> {
  const { client, welcome } = await connectHost(relayUrl, host.key);
  return { ...host, client, welcome };
}

export interface Device {
  key: Ed25519Signer;
  client: RelayClient;
  slot: number;
  welcome: RelayMessage<typeof RelayFrame.WELCOME>;
}

function slotOf(welcome: RelayMessage<typeof RelayFrame.WELCOME>): number {
  if (welcome.role !== "device") throw new Error(`expected a device WELCOME, got ${JSON.stringify(welcome)}`);
  return welcome.slot;
}

/** Registers a one-time ticket with the host; returns the ticket (what a pairing link carries). */
export async function addTicket(host: RelayClient, ttlMs = 60_000): Promise<Uint8Array> {
  const keys = derivePairingKeys(secureRandom(32));
  const result = await hostCommand(host, {
    op: "ticket.add",
    hash: toBase64Url(relayTicketHash(keys.relayTicket)),
    expiresAt: Date.now() + ttlMs,
  });
  expect(result).toMatchObject({ ok: true });
  return keys.relayTicket;
}

/**
 * Pairs a fresh device with a ticket and consumes the host's PRESENCE joined
 * (checking it), so the next thing the host reads is whatever comes after.
 */
export async function pairDevice(relayUrl: string, host: Host, key?: Ed25519Signer): Promise<Device> {
  const ticket = await addTicket(host.client);
  const signer = key ?? (await nobleBackend.generateSigner());
  const { client, welcome } = await connectDevice(relayUrl, host.room, signer, ticket);
  const slot = slotOf(welcome);
  expect(await host.client.nextControl(RelayFrame.PRESENCE)).toEqual({ device: "joined", slot, key: toBase64Url(signer.publicKey), via: "ticket" });
  return { key: signer, client, slot, welcome };
}

/** Connects a device admitted by the allowlist and consumes the host's PRESENCE joined. */
export async function allowlistedDevice(relayUrl: string, host: Host, key: Ed25519Signer): Promise<Device> {
  const { client, welcome } = await connectDevice(relayUrl, host.room, key);
  const slot = slotOf(welcome);
  expect(await host.client.nextControl(RelayFrame.PRESENCE)).toEqual({ device: "joined", slot, key: toBase64Url(key.publicKey), via: "allowlist" });
  return { key, client, slot, welcome };
}

/** An end-to-end frame (DATA unless told) with a body recognisable in assertions. */
export function e2e(slot: number, counter: number | bigint, body: Uint8Array | number[] = [], type: number = FrameType.DATA): Uint8Array {
  return encodeFrame(
    { type, slot, epoch: type === FrameType.DATA ? 1 : 0, counter: BigInt(counter) },
    body instanceof Uint8Array ? body : new Uint8Array(body),
  );
}

/** Next message, which must be an end-to-end frame; returns its header and body. */
export async function nextE2E(client: RelayClient, timeoutMs = 5000): Promise<{ header: FrameHeader; body: number[]; bytes: Uint8Array }> {
  const bytes = await client.next(timeoutMs);
  const header = decodeHeader(bytes);
  if (header.type >= 0x20) throw new Error(`expected an end-to-end frame, got control ${JSON.stringify(decodeRelayMessage(bytes))}`);
  return { header, body: Array.from(bytes.subarray(20)), bytes };
}

/** Resolves with the close, or fails the test if the socket stays open. */
export async function closeOf(client: RelayClient, timeoutMs = 5000): Promise<Closed> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([client.closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function expectClosed(client: RelayClient, code: number, reason?: string | RegExp, timeoutMs = 5000): Promise<void> {
  const closed = await closeOf(client, timeoutMs);
  expect(closed.code).toBe(code);
  if (typeof reason === "string") expect(closed.reason).toBe(reason);
  else if (reason) expect(closed.reason).toMatch(reason);
}

/** Waits a little and checks the socket is open and received nothing. */
export async function expectQuiet(client: RelayClient, ms = 200): Promise<void> {
  await sleep(ms);
  expect(client.isOpen).toBe(true);
  const pending = client.drain().map((f) => {
    try {
      const h = decodeHeader(f);
      return h.type >= 0x20 ? decodeRelayMessage(f) : h;
    } catch {
      return Array.from(f);
    }
  });
  expect(pending).toEqual([]);
}

/**
 * A raw connection on the host or device route that has received its CHALLENGE.
 * It sends one keepalive "ping" at once: local workerd never ends the TCP
 * connection of a WebSocket whose client sent nothing at all, so without it
 * the client sees the relay's close frame but no "close" event (ws waits 30 s).
 */
export async function pending(relayUrl: string, room: string, role: "host" | "device"): Promise<RelayClient> {
  const client = await RelayClient.connect(wsUrl(relayUrl, room, role));
  client.ping();
  return client;
}

/** An AUTH frame answering `client`'s challenge, signed by `signer` for `purpose`. */
export async function authFrame(
  client: RelayClient,
  signer: Ed25519Signer,
  purpose: (typeof SignaturePurpose)[keyof typeof SignaturePurpose],
  extra: { key?: Uint8Array; ticket?: Uint8Array } = {},
): Promise<Uint8Array> {
  const sig = await signWithPurpose(signer, purpose, await authMessage(client));
  return encodeControl(RelayFrame.AUTH, {
    key: toBase64Url(extra.key ?? signer.publicKey),
    sig: toBase64Url(sig),
    ...(extra.ticket ? { ticket: toBase64Url(extra.ticket) } : {}),
  });
}

/** Closes every client still open (test cleanup). */
export function closeAll(...clients: Array<RelayClient | undefined>): void {
  for (const c of clients) if (c?.isOpen) c.close();
}

/** Waits for the text "pong" after a "ping". */
export async function expectPong(client: RelayClient, timeoutMs = 5000): Promise<void> {
  await sleep(50);
  client.texts(); // earlier pongs
  client.ping();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const texts = client.texts();
    if (texts.length > 0) {
      expect(texts).toEqual(["pong"]);
      return;
    }
    if (Date.now() > deadline) throw new Error("no pong");
    await sleep(20);
  }
}
