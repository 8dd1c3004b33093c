// First contact with a host: parse the pairing link, get admitted by the relay
// with the link's one-time ticket, run the pair handshake, show the SAS, and
// wait for the host operator to confirm. The link's secret never leaves this
// function and never appears in an error message.
import {
  AirlockProtocolError,
  deviceAppProtocol,
  derivePairingKeys,
  DeviceSession,
  parsePairingLink,
  type CryptoBackend,
  type Ed25519Signer,
  type PairingLink,
} from "@airlock/protocol";
import { E2ESession } from "./e2e.ts";
import { AirlockClientError, closeMeaning, fromProtocolError, toClientError } from "./errors.ts";
import type { HostInfo } from "./host-connection.ts";
import { RelaySocket, type SocketTiming } from "./relay-socket.ts";
import type { WebSocketConstructor } from "./websocket.ts";

export interface PairOptions {
  /** Called with the 6-digit code ("123 456") as soon as it is known; show it until pair() settles. */
  onSas?: (sas: string) => void;
  signal?: AbortSignal;
  /** Overrides the client's device name for this pairing. */
  deviceName?: string | undefined;
  /** How long to wait for the host operator (default 5 minutes). */
  timeoutMs?: number;
}

export interface PairingOutcome {
  link: Omit<PairingLink, "secret">;
  sas: string;
  hostInfo?: HostInfo | undefined;
}

interface PairContext {
  signer: Ed25519Signer;
  backend: CryptoBackend;
  deviceName: string;
  WebSocket: WebSocketConstructor;
  timing?: Partial<SocketTiming> | undefined;
}

/** Parses a link, mapping protocol errors to client errors (LINK_INVALID, LINK_EXPIRED, PROTOCOL_VERSION). */
export function parseLink(link: string): PairingLink {
  try {
    return parsePairingLink(link);
  } catch (e) {
    if (e instanceof AirlockProtocolError) throw fromProtocolError(e);
    throw new AirlockClientError("LINK_INVALID", "the pairing link is malformed");
  }
}

const HOST_INFO_WAIT_MS = 3000;

export async function runPairing(linkText: string, ctx: PairContext, options: PairOptions = {}): Promise<PairingOutcome> {
  const link = parseLink(linkText);
  const { secret, ...publicPart } = link;
  const keys = derivePairingKeys(secret);
  const signal = options.signal;
  const aborted = () => new AirlockClientError("ABORTED", "pairing was cancelled");
  if (signal?.aborted) throw aborted();

  let e2e: E2ESession | undefined;
  let fail: (error: AirlockClientError) => void = () => undefined;
  let sas = "";
  let hostInfo: HostInfo | undefined;
  let gotInfo: () => void = () => undefined;
  const infoArrived = new Promise<void>((resolve) => (gotInfo = resolve));
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;

  const connecting = RelaySocket.connect({
    relayUrl: link.relayUrl,
    roomId: link.roomId,
    signer: ctx.signer,
    ticket: keys.relayTicket,
    WebSocket: ctx.WebSocket,
    timing: ctx.timing,
    onFrame: (frame) => e2e?.receive(frame),
    onPresence: (p) => {
      if (!p.hostOnline) fail(new AirlockClientError("HOST_OFFLINE", "the host left the relay during pairing; ask for a new link"));
    },
    onClose: (closed) => fail(closeMeaning(closed.code, closed.reason, true).error),
  });
  // Cancelling must not wait for the relay connection to succeed or time out;
  // a socket that opens after all is closed at once.
  const { socket, presence } = await new Promise<Awaited<typeof connecting>>((resolve, reject) => {
    const stop = () => {
      reject(aborted());
      connecting.then(
        (c) => c.socket.close(1000, "cancelled"),
        () => undefined,
      );
    };
    signal?.addEventListener("abort", stop, { once: true });
    connecting.then(resolve, reject).finally(() => signal?.removeEventListener("abort", stop));
  });

  try {
    if (signal?.aborted) throw aborted();
    // The ticket is spent on admission, so a host that is not there cannot be waited for.
    if (!presence.hostOnline) throw new AirlockClientError("HOST_OFFLINE", "the host is not at the relay; start it and ask for a new link");
    await new Promise<void>((resolve, reject) => {
      fail = reject;
      timer = setTimeout(() => reject(new AirlockClientError("TIMEOUT", "the host did not confirm the pairing in time")), options.timeoutMs ?? 5 * 60_000);
      onAbort = () => reject(aborted());
      signal?.addEventListener("abort", onAbort, { once: true });
      const session = new DeviceSession({
        backend: ctx.backend,
        hostPublicKey: link.hostPublicKey,
        deviceSigner: ctx.signer,
        deviceName: options.deviceName ?? ctx.deviceName,
        pairing: { pairingId: keys.pairingId, psk: keys.psk },
      });
      e2e = new E2ESession(session, (frame) => socket.send(frame), {
        onSas: (code) => {
          sas = code;
          try {
            options.onSas?.(code);
          } catch {
            // the UI's problem; pairing goes on
          }
        },
        onOpen: () => resolve(),
        onPayload: (payload) => {
          try {
            const m = deviceAppProtocol.decode(payload);
            if (m.type === "host.info") {
              hostInfo = m.body;
              gotInfo();
            }
          } catch {
            // anything else can wait for the real connection
          }
        },
        onError: (error) => reject(error),
      });
      e2e.start();
    });
    // host.info is the first message of every session: take the host's name from it.
    clearTimeout(timer);
    await Promise.race([infoArrived, new Promise((r) => (timer = setTimeout(r, HOST_INFO_WAIT_MS)))]);
  } catch (e) {
    throw toClientError(e);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
    e2e?.close();
    socket.close(1000, "paired");
  }
  return { link: publicPart, sas, hostInfo };
}
