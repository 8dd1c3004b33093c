// The SDK's client: this device's identity, its trusted hosts, pairing, and
// one HostConnection per host (several hosts at once). AirlockClientCore does
// everything but choose the crypto; each entry point subclasses it as
// AirlockClient with its own ClientCrypto (client-web.ts: WebCrypto with the
// noble fallback; native.ts: noble only), so an entry bundles only its own.
import { textEncoder, toBase64Url, type CryptoBackend, type Ed25519Signer } from "@airlock/protocol";
import { Emitter } from "./emitter.ts";
import { AirlockClientError } from "./errors.ts";
import { HostConnection, type ConnectionTiming } from "./host-connection.ts";
import { cleanName, TrustedHosts, type TrustedHost } from "./hosts.ts";
import { loadOrCreateIdentity, type CryptoKeyIdentities } from "./identity.ts";
import type { OutboxOptions } from "./outbox.ts";
import { connectionStateKey } from "./persist.ts";
import { runPairing, type PairOptions } from "./pairing.ts";
import type { Store } from "./store.ts";
import { resolveWebSocket, type WebSocketConstructor } from "./websocket.ts";

export interface AirlockClientOptions {
  store: Store;
  /** Shown to the host operator when pairing (1–64 bytes of UTF-8). */
  deviceName?: string;
  /** Needed where globalThis.WebSocket is missing (Node < 22): e.g. the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** "auto" (default): WebCrypto when the platform supports Ed25519/X25519, else noble. */
  crypto?: CryptoChoice;
  /** Connection tuning (tests shorten these). */
  timing?: Partial<ConnectionTiming>;
  outbox?: OutboxOptions;
  /**
   * Save unanswered commands and followed threads in `store` so they survive
   * an app restart (default true). Use one client per store at a time.
   */
  persist?: boolean;
}

export interface PairResult {
  host: TrustedHost;
  /** The code both screens showed, "123 456". */
  sas: string;
}

export interface ClientEvents extends Record<string, unknown> {
  hosts: TrustedHost[];
}

const DEFAULT_DEVICE_NAME = "Airlock device";

/** A device name the handshake accepts: no control characters, 1–64 UTF-8 bytes (cut at a character boundary). */
export function deviceNameFor(name: string | undefined): string {
  let out = "";
  let bytes = 0;
  for (const ch of cleanName(name ?? "")) {
    const n = textEncoder.encode(ch).length;
    if (bytes + n > 64) break;
    out += ch;
    bytes += n;
  }
  return out || DEFAULT_DEVICE_NAME;
}

export type CryptoChoice = "webcrypto" | "noble" | "auto";

/** How an entry point provides crypto: the backend for a CryptoChoice, and CryptoKey identities where it has WebCrypto. */
export interface ClientCrypto {
  backend(choice: CryptoChoice | undefined): Promise<CryptoBackend>;
  keys?: CryptoKeyIdentities;
}

/** What a client is made of once its store is read (see openClient). */
export interface ClientParts {
  backend: CryptoBackend;
  signer: Ed25519Signer;
  hosts: TrustedHosts;
  ws: WebSocketConstructor;
}

/** Resolves the WebSocket and the backend, then loads (or creates) the identity and the trusted hosts. */
export async function openClient(options: AirlockClientOptions, crypto: ClientCrypto): Promise<ClientParts> {
  const ws = resolveWebSocket(options.WebSocket);
  const backend = await crypto.backend(options.crypto);
  const signer = await loadOrCreateIdentity(options.store, backend, crypto.keys);
  const hosts = await TrustedHosts.load(options.store);
  return { backend, signer, hosts, ws };
}

/** AirlockClient without its `create` (which each entry point adds). */
export class AirlockClientCore {
  readonly deviceName: string;
  /** The crypto backend in use. */
  readonly crypto: CryptoBackend["name"];
  /** This device's public key (base64url), as hosts list it. */
  readonly devicePublicKey: string;
  #signer: Ed25519Signer;
  #backend: CryptoBackend;
  #hosts: TrustedHosts;
  #WebSocket: WebSocketConstructor;
  #o: AirlockClientOptions;
  #connections = new Map<string, HostConnection>();
  #emitter = new Emitter<ClientEvents>();
  #closed = false;

  protected constructor(o: AirlockClientOptions, { backend, signer, hosts, ws }: ClientParts) {
    this.#o = o;
    this.deviceName = deviceNameFor(o.deviceName);
    this.#backend = backend;
    this.crypto = backend.name;
    this.#signer = signer;
    this.devicePublicKey = toBase64Url(signer.publicKey);
    this.#hosts = hosts;
    this.#WebSocket = ws;
  }

  on<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): () => void {
    return this.#emitter.on(event, listener);
  }

  /**
   * Pairs with the host that showed `link`: resolves once its operator
   * confirmed the SAS (shown through onSas and returned), with the host now
   * trusted and stored.
   */
  async pair(link: string, options: PairOptions = {}): Promise<PairResult> {
    this.#checkOpen();
    const outcome = await runPairing(
      link,
      { signer: this.#signer, backend: this.#backend, deviceName: this.deviceName, WebSocket: this.#WebSocket, timing: this.#o.timing },
      { ...options, deviceName: options.deviceName === undefined ? undefined : deviceNameFor(options.deviceName) },
    );
    const previous = this.#hosts.get(outcome.link.roomId);
    const now = Date.now();
    const host: TrustedHost = {
      id: outcome.link.roomId,
      name: previous?.renamed ? previous.name : cleanName(outcome.hostInfo?.name ?? "") || `Host ${outcome.link.roomId.slice(0, 6)}`,
      relayUrl: outcome.link.relayUrl,
      publicKey: toBase64Url(outcome.link.hostPublicKey),
      pairedAt: now,
      lastSeen: now,
      ...(previous?.renamed ? { renamed: true } : {}),
    };
    await this.#hosts.put(host);
    // A connection that the host had refused (say, before a re-pairing) starts over.
    const existing = this.#connections.get(host.id);
    if (existing && (existing.state === "refused" || existing.state === "closed")) existing.close();
    this.#emitHosts();
    return { host, sas: outcome.sas };
  }

  hosts(): TrustedHost[] {
    return this.#hosts.list();
  }

  async renameHost(id: string, name: string): Promise<void> {
    this.#hosts.mustGet(id);
    const clean = cleanName(name);
    if (!clean) throw new AirlockClientError("INVALID_ARGUMENT", "a host name cannot be empty");
    await this.#hosts.update(id, { name: clean, renamed: true });
    this.#emitHosts();
  }

  /** Forgets a host on this device (the host still lists the device until its operator revokes it). */
  async forgetHost(id: string): Promise<void> {
    const conn = this.#connections.get(id);
    conn?.close();
    await conn?.saved();
    // Its saved commands and threads go too: nothing more is sent to a forgotten host.
    await this.#o.store.delete(connectionStateKey(id)).catch(() => undefined);
    if (await this.#hosts.remove(id)) this.#emitHosts();
  }

  /** The connection to a trusted host, opened on first call (idempotent). */
  connect(hostId: string): HostConnection {
    this.#checkOpen();
    const existing = this.#connections.get(hostId);
    if (existing) return existing;
    const host = this.#hosts.mustGet(hostId);
    const conn = new HostConnection({
      host,
      signer: this.#signer,
      backend: this.#backend,
      deviceName: this.deviceName,
      WebSocket: this.#WebSocket,
      timing: this.#o.timing,
      outbox: this.#o.outbox,
      store: this.#o.persist !== false ? this.#o.store : undefined,
      onHostSeen: (at) => {
        const h = this.#hosts.get(hostId);
        if (h && (h.lastSeen ?? 0) < at)
          void this.#hosts.update(hostId, { lastSeen: at }).then(
            () => this.#emitHosts(),
            () => undefined,
          );
      },
      onHostInfo: (info) => {
        const h = this.#hosts.get(hostId);
        const name = cleanName(info.name);
        if (h && !h.renamed && name && h.name !== name)
          void this.#hosts.update(hostId, { name }).then(
            () => this.#emitHosts(),
            () => undefined,
          );
      },
      onClosed: () => {
        if (this.#connections.get(hostId) === conn) this.#connections.delete(hostId);
      },
    });
    this.#connections.set(hostId, conn);
    return conn;
  }

  connection(hostId: string): HostConnection | undefined {
    return this.#connections.get(hostId);
  }

  connections(): HostConnection[] {
    return [...this.#connections.values()];
  }

  /** Closes every connection; resolves once their unanswered commands are saved (they are resent by the next client on this store). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const conns = [...this.#connections.values()];
    for (const conn of conns) conn.close();
    this.#connections.clear();
    this.#emitter.clear();
    await Promise.all(conns.map((c) => c.saved()));
  }

  #emitHosts(): void {
    this.#emitter.emit("hosts", this.hosts());
  }

  #checkOpen(): void {
    if (this.#closed) throw new AirlockClientError("CLOSED", "the client is closed");
  }
}
