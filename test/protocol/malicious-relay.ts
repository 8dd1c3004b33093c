// An in-memory relay that an attacker controls. It sits between one host
// endpoint and one device endpoint and moves their frames through a queue;
// per-frame rules let a test tamper with, drop, replay, reorder, reflect or
// inject frames, or hand them to the attacker's own handshake endpoints (a
// man in the middle). Endpoints behave like real transports: each side
// reports its failure to the peer (an authenticated refusal or an ABORT), the
// host operator compares SAS codes before accepting a pairing, and every
// outcome is recorded for assertions.
import {
  AirlockProtocolError,
  DeviceSession,
  ERRORS,
  FrameType,
  HEADER_LENGTH,
  HandshakeMode,
  HandshakeType,
  HostSession,
  PUBLIC_KEY_LENGTH,
  SERVER_HELLO_PUBLIC_LENGTH,
  RelayFrame,
  decodeClientHello,
  encodeControl,
  encodeFrame,
  frameBody,
  secureRandom,
  toBase64Url,
  u8,
  type CryptoBackend,
  type DeviceClaim,
  type Ed25519Signer,
  type ErrorCode,
} from "../../protocol/src/index.ts";
import { flipBit, type Side } from "./harness.ts";

export type { Side } from "./harness.ts";
export const peerOf = (side: Side): Side => (side === "host" ? "device" : "host");

export type FrameLabel = "ClientHello" | "ServerHello" | "ClientAuth" | "HostVerdict" | "DATA" | "ABORT" | "other";

const HANDSHAKE_LABELS: Record<number, FrameLabel> = {
  [HandshakeType.CLIENT_HELLO]: "ClientHello",
  [HandshakeType.SERVER_HELLO]: "ServerHello",
  [HandshakeType.CLIENT_AUTH]: "ClientAuth",
  [HandshakeType.HOST_VERDICT]: "HostVerdict",
};

/** What a frame looks like to the relay (header type, and the handshake message type in the clear). */
export function labelOf(frame: Uint8Array): FrameLabel {
  if (frame.length < HEADER_LENGTH) return "other";
  if (frame[1] === FrameType.DATA) return "DATA";
  if (frame[1] === FrameType.ABORT) return "ABORT";
  if (frame[1] === FrameType.HANDSHAKE) return HANDSHAKE_LABELS[frame[HEADER_LENGTH] ?? -1] ?? "other";
  return "other";
}

/** A frame one endpoint handed to the relay. */
export interface InFlight {
  from: Side;
  to: Side;
  /** Position among the frames `from` has sent, from 0 (ABORTs and refusals included). */
  index: number;
  label: FrameLabel;
  frame: Uint8Array;
}

export interface Delivery {
  to: Side;
  frame: Uint8Array;
}

/** Decides what the relay does with one frame: the deliveries it makes instead. */
export type Tactic = (m: InFlight, relay: MaliciousRelay) => Delivery[] | Promise<Delivery[]>;
export type Match = Partial<Pick<InFlight, "from" | "index" | "label">> | ((m: InFlight) => boolean);

export const tactics = {
  forward: ((m) => [{ to: m.to, frame: m.frame }]) as Tactic,
  drop: (() => []) as Tactic,
  /** Flips one bit (0 = most significant bit of byte 0); negative counts from the end. */
  flipBit:
    (bit: number): Tactic =>
    (m) => [{ to: m.to, frame: flipBit(m.frame, bit < 0 ? m.frame.length * 8 + bit : bit) }],
  mutate:
    (fn: (frame: Uint8Array, m: InFlight) => Uint8Array): Tactic =>
    (m) => [{ to: m.to, frame: fn(m.frame.slice(), m) }],
  replaceWith:
    (frame: Uint8Array | ((m: InFlight) => Uint8Array)): Tactic =>
    (m) => [{ to: m.to, frame: typeof frame === "function" ? frame(m) : frame }],
  /** Delivers the frame `times` times in a row. */
  replay:
    (times = 2): Tactic =>
    (m) =>
      Array.from({ length: times }, () => ({ to: m.to, frame: m.frame.slice() })),
  /** Sends the frame back to the endpoint that sent it. */
  reflect: ((m) => [{ to: m.from, frame: m.frame }]) as Tactic,
  /** Holds the frame back until the next frame in the same direction has been delivered (a reorder). */
  hold: ((m, relay) => {
    relay.holdBack(m);
    return [];
  }) as Tactic,
  injectBefore:
    (frames: (m: InFlight) => Uint8Array[]): Tactic =>
    (m) => [...frames(m).map((frame) => ({ to: m.to, frame })), { to: m.to, frame: m.frame }],
  injectAfter:
    (frames: (m: InFlight) => Uint8Array[]): Tactic =>
    (m) => [{ to: m.to, frame: m.frame }, ...frames(m).map((frame) => ({ to: m.to, frame }))],
};

/** Replaces the ephemeral X25519 key of a ClientHello or ServerHello frame. */
export function substituteEphemeral(frame: Uint8Array, key: Uint8Array): Uint8Array {
  const out = frame.slice();
  const body = frameBody(out);
  const label = labelOf(frame);
  if (label === "ClientHello") body.set(key, 3 + body[2]!);
  else if (label === "ServerHello") body.set(key, SERVER_HELLO_PUBLIC_LENGTH - PUBLIC_KEY_LENGTH);
  else throw new Error(`no ephemeral key in a ${label} frame`);
  return out;
}

export class EndpointReport {
  opened = false;
  /** The SAS this endpoint displayed (device) or was asked to confirm (host). */
  sas: string | undefined;
  claim: DeviceClaim | undefined;
  /** Every protocol error this endpoint raised, in order. */
  readonly errors: AirlockProtocolError[] = [];
  /** Anything thrown that is not an AirlockProtocolError (should stay empty). */
  readonly crashes: unknown[] = [];
  readonly payloads: Uint8Array[] = [];
  /** Payloads this endpoint sealed and handed to the relay. */
  readonly sent: Uint8Array[] = [];
  get error(): AirlockProtocolError | undefined {
    return this.errors[0];
  }
}

/** The host operator: sees a verified claim and what the device's screen shows. */
export type Decide = (claim: DeviceClaim, deviceScreen: string | undefined) => "accept" | ErrorCode;

/** Pair mode: accept only when the SAS matches the device's screen (the operator compares); resume: accept. */
export const compareSas: Decide = (claim, screen) => (claim.mode === HandshakeMode.RESUME || claim.sas === screen ? "accept" : "SAS_REJECTED");

export interface RelayOptions {
  device: DeviceSession;
  host: HostSession;
  decide?: Decide;
  /** A failing side sends the peer its refusal or an ABORT (default true). */
  reportFailures?: boolean;
  /** Payloads each side sends as soon as its session opens. */
  outbox?: Partial<Record<Side, Uint8Array[]>>;
  /**
   * "sequential" hands an endpoint one frame and awaits it before the next;
   * "concurrent" hands every frame over as it arrives, like a WebSocket
   * onmessage handler that does not wait for the previous frame.
   */
  delivery?: "sequential" | "concurrent";
}

interface Rule {
  match: Match;
  tactic: Tactic;
  remaining: number;
}

export interface LogEntry {
  from: Side | "relay";
  to: Side;
  label: FrameLabel;
  frame: Uint8Array;
}

export class MaliciousRelay {
  readonly device: DeviceSession;
  readonly host: HostSession;
  readonly reports: Record<Side, EndpointReport> = { host: new EndpointReport(), device: new EndpointReport() };
  /** Every delivery made, in order. */
  readonly log: LogEntry[] = [];
  #o: Required<Omit<RelayOptions, "device" | "host" | "outbox">> & { outbox: Partial<Record<Side, Uint8Array[]>> };
  #rules: Rule[] = [];
  #queue: (Delivery & { from: Side | "relay" })[] = [];
  #held: Record<Side, InFlight[]> = { host: [], device: [] };
  #sentCount: Record<Side, number> = { host: 0, device: 0 };
  #pending = new Set<Promise<void>>();
  /** Wakes a concurrent flush when a frame is queued while endpoints are busy. */
  #wake: (() => void) | undefined;

  constructor(options: RelayOptions) {
    this.device = options.device;
    this.host = options.host;
    this.#o = {
      decide: options.decide ?? compareSas,
      reportFailures: options.reportFailures ?? true,
      outbox: options.outbox ?? {},
      delivery: options.delivery ?? "sequential",
    };
  }

  /** Applies `tactic` to the next `times` frames matching `match` (first matching rule wins). */
  on(match: Match, tactic: Tactic, times = 1): this {
    this.#rules.push({ match, tactic, remaining: times });
    return this;
  }

  always(match: Match, tactic: Tactic): this {
    return this.on(match, tactic, Infinity);
  }

  /** Starts the handshake (device → ClientHello) and runs until nothing moves. */
  async run(): Promise<this> {
    let hello: Uint8Array;
    try {
      hello = await this.device.start();
    } catch (e) {
      this.#failed("device", e);
      return this;
    }
    await this.#emit("device", hello);
    await this.flush();
    return this;
  }

  /** Has `side` seal a payload now and delivers everything pending. */
  async send(side: Side, payload: Uint8Array): Promise<void> {
    await this.#sendFrom(side, payload);
    await this.flush();
  }

  /** Puts a frame of the relay's own making on the wire to `to` (no rules apply). */
  inject(to: Side, frame: Uint8Array): void {
    this.#push({ to, frame, from: "relay" });
  }

  #push(d: Delivery & { from: Side | "relay" }): void {
    this.#queue.push(d);
    this.#wake?.();
  }

  /** Used by tactics.hold. */
  holdBack(m: InFlight): void {
    this.#held[m.from].push(m);
  }

  /** Delivers queued frames until the queue is empty and every endpoint is idle. */
  async flush(): Promise<void> {
    for (;;) {
      while (this.#queue.length > 0) {
        const d = this.#queue.shift()!;
        this.log.push({ from: d.from, to: d.to, label: labelOf(d.frame), frame: d.frame });
        const run = this.#deliver(d.to, d.frame);
        if (this.#o.delivery === "sequential") {
          await run;
        } else {
          this.#pending.add(run);
          void run.finally(() => this.#pending.delete(run));
        }
      }
      if (this.#pending.size > 0) {
        // Concurrent delivery: hand over the next frame as soon as one is queued.
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          void Promise.race(this.#pending).then(() => resolve());
        });
        this.#wake = undefined;
        continue;
      }
      // Nothing left to push a held frame behind: release it now.
      const held = [...this.#held.device, ...this.#held.host];
      if (held.length === 0) return;
      this.#held = { host: [], device: [] };
      for (const m of held) this.#queue.push({ to: m.to, frame: m.frame, from: m.from });
    }
  }

  /** An endpoint hands a frame to the relay; the rules decide what gets delivered. */
  async #emit(from: Side, frame: Uint8Array): Promise<void> {
    const m: InFlight = { from, to: peerOf(from), index: this.#sentCount[from]++, label: labelOf(frame), frame };
    const rule = this.#rules.find((r) => r.remaining > 0 && matches(r.match, m));
    if (rule) rule.remaining--;
    const heldBefore = this.#held[from].length;
    const deliveries = await (rule?.tactic ?? tactics.forward)(m, this);
    for (const d of deliveries) this.#push({ ...d, from });
    // A frame held back goes out right behind the next frame in its direction.
    if (this.#held[from].length === heldBefore && heldBefore > 0) {
      for (const h of this.#held[from].splice(0)) this.#push({ to: h.to, frame: h.frame, from });
    }
  }

  async #deliver(to: Side, frame: Uint8Array): Promise<void> {
    if (to === "device") await this.#toDevice(frame);
    else await this.#toHost(frame);
  }

  async #toDevice(frame: Uint8Array): Promise<void> {
    const report = this.reports.device;
    try {
      const r = await this.device.receive(frame);
      if (r.sas !== undefined) report.sas = r.sas;
      if (r.reply) await this.#emit("device", r.reply);
      if (r.payload) report.payloads.push(r.payload);
      if (r.opened) {
        report.opened = true;
        for (const p of this.#o.outbox.device ?? []) await this.#sendFrom("device", p);
      }
    } catch (e) {
      await this.#failed("device", e);
    }
  }

  async #toHost(frame: Uint8Array): Promise<void> {
    const report = this.reports.host;
    try {
      const r = await this.host.receive(frame);
      if (r.reply) await this.#emit("host", r.reply);
      if (r.payload) report.payloads.push(r.payload);
      if (r.claim) {
        report.claim = r.claim;
        report.sas = r.claim.sas;
        const decision = this.#o.decide(r.claim, this.reports.device.sas);
        if (decision !== "accept") {
          await this.#emit("host", await this.host.reject(decision));
          return;
        }
        const verdict = await this.host.accept();
        report.opened = true;
        await this.#emit("host", verdict);
        for (const p of this.#o.outbox.host ?? []) await this.#sendFrom("host", p);
      }
    } catch (e) {
      await this.#failed("host", e);
    }
  }

  async #sendFrom(side: Side, payload: Uint8Array): Promise<void> {
    try {
      const frame = await (side === "host" ? this.host : this.device).send(payload);
      this.reports[side].sent.push(payload);
      await this.#emit(side, frame);
    } catch (e) {
      await this.#failed(side, e);
    }
  }

  async #failed(side: Side, e: unknown): Promise<void> {
    const report = this.reports[side];
    if (!(e instanceof AirlockProtocolError)) {
      report.crashes.push(e);
      return;
    }
    report.errors.push(e);
    // Tell the peer once, about the first failure (never echo the peer's own report).
    if (this.#o.reportFailures && report.errors.length === 1 && !e.remote && e.code !== "CHANNEL_CLOSED") {
      await this.#emit(side, (side === "host" ? this.host : this.device).failureFrame(e));
    }
  }
}

function matches(match: Match, m: InFlight): boolean {
  if (typeof match === "function") return match(m);
  return (
    (match.from === undefined || match.from === m.from) &&
    (match.index === undefined || match.index === m.index) &&
    (match.label === undefined || match.label === m.label)
  );
}

// ------------------------------------------------------------- man in the middle

export interface MitmOptions {
  backend: CryptoBackend;
  /** The real host's public key: public knowledge (it is in the QR and names the room). */
  hostPublicKey: Uint8Array;
  /** A PSK the attacker learned (a leaked QR); otherwise it can only guess. */
  psk?: Uint8Array;
  /** Only impersonate the host toward the device; never contact the real host. */
  hostOnly?: boolean;
  /** The attacker's own identity (used as its host key and its device key). */
  signer?: Ed25519Signer;
}

/**
 * The relay runs its own handshakes: as a host toward the device (its own
 * signing key, its own ephemeral) and as a device toward the host (reusing
 * the pairing id it saw in ClientHello, or resuming with its own key).
 * Install with `relay.always(() => true, mitm.tactic)`.
 */
export class ManInTheMiddle {
  /** The attacker's endpoint facing the real device. */
  asHost: HostSession | undefined;
  /** The attacker's endpoint facing the real host. */
  asDevice: DeviceSession | undefined;
  readonly reports = { asHost: new EndpointReport(), asDevice: new EndpointReport() };
  readonly signer: Ed25519Signer;
  #o: MitmOptions;

  private constructor(options: MitmOptions, signer: Ed25519Signer) {
    this.#o = options;
    this.signer = signer;
  }

  static async create(options: MitmOptions): Promise<ManInTheMiddle> {
    return new ManInTheMiddle(options, options.signer ?? (await options.backend.generateSigner()));
  }

  readonly tactic: Tactic = async (m) => {
    const out: Delivery[] = [];
    if (m.from === "device") {
      if (!this.asHost && m.label === "ClientHello") await this.#begin(m.frame, out);
      else if (this.asHost) await this.#step("asHost", this.asHost, m.frame, out, "device");
    } else if (this.asDevice) {
      await this.#step("asDevice", this.asDevice, m.frame, out, "host");
    }
    return out;
  };

  async #begin(clientHello: Uint8Array, out: Delivery[]): Promise<void> {
    const o = this.#o;
    const hello = decodeClientHello(frameBody(clientHello));
    const psk = () => o.psk?.slice() ?? secureRandom(32);
    this.asHost = new HostSession({
      backend: o.backend,
      hostSigner: this.signer,
      pairings: { begin: () => ({ psk: psk() }), consume: () => "consumed" as const },
      isTrustedDevice: () => true,
    });
    if (!o.hostOnly) {
      this.asDevice = new DeviceSession({
        backend: o.backend,
        hostPublicKey: o.hostPublicKey,
        deviceSigner: this.signer,
        deviceName: "Relay",
        ...(hello.pairingId ? { pairing: { pairingId: hello.pairingId, psk: psk() } } : {}),
      });
      out.push({ to: "host", frame: await this.asDevice.start() });
    }
    await this.#step("asHost", this.asHost, clientHello, out, "device");
  }

  async #step(who: "asHost" | "asDevice", session: HostSession | DeviceSession, frame: Uint8Array, out: Delivery[], replyTo: Side): Promise<void> {
    const report = this.reports[who];
    try {
      const r = await session.receive(frame);
      if (r.reply) out.push({ to: replyTo, frame: r.reply });
      if (r.payload) report.payloads.push(r.payload);
      if ("sas" in r && r.sas !== undefined) report.sas = r.sas;
      if ("opened" in r && r.opened) report.opened = true;
      if ("claim" in r && r.claim && session instanceof HostSession) {
        // The attacker accepts whatever the device proves.
        report.claim = r.claim;
        out.push({ to: replyTo, frame: await session.accept() });
        report.opened = true;
      }
    } catch (e) {
      if (e instanceof AirlockProtocolError) report.errors.push(e);
      else report.crashes.push(e);
    }
  }
}

// ------------------------------------------------------- a relay for the client SDK
//
// The same attacker, seen from the client SDK: an in-memory WebSocket
// constructor (pass `relay.WebSocket` as the SDK's WebSocket option) that
// speaks the relay protocol to the device (CHALLENGE → AUTH → WELCOME, pongs,
// close codes) and, behind it, a real HostSession with the host's own key,
// which accepts a trusted device and refuses any other with its sealed
// HostVerdict. `behaviour` is what the relay does with the next connections;
// a test switches it mid-run (e.g. back to honest).

/** The slice of the WebSocket API the client SDK uses (client-sdk/src/websocket.ts). */
interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
  /* eslint-disable @typescript-eslint/no-explicit-any */
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  /* eslint-enable @typescript-eslint/no-explicit-any */
}

export type SdkRelayBehaviour =
  | { kind: "honest" }
  /** Answers the device's ClientHello with a plaintext ABORT of its own making (and keeps the socket open, as a relay does). */
  | { kind: "abort-handshake"; code: ErrorCode }
  /** Lets the session open, then injects a plaintext ABORT with the host's next counter (socket left open). */
  | { kind: "abort-session"; code: ErrorCode }
  /** Closes the socket with `code` once the session is open (a relay's 4004 REVOKED). */
  | { kind: "close-session"; code: number; reason?: string }
  /** Refuses admission: closes with `code` instead of WELCOME (a relay's 4002 AUTH_FAILED). */
  | { kind: "refuse-admission"; code: number; reason?: string };

/** One device connection as the relay saw it. */
export interface SdkRelaySocket {
  url: string;
  openedAt: number;
  behaviour: SdkRelayBehaviour;
  /** The relay admitted the device (WELCOME sent). */
  admitted: boolean;
  /** The host side's session opened (verdict status 0 sent). */
  opened: boolean;
  /** Frames the relay forged and delivered on this socket (ABORTs). */
  forged: number;
  /** Set when the device closed the socket (code, reason). */
  closedByDevice?: { code: number | undefined; reason: string | undefined };
  /** Set when the relay closed it. */
  closedByRelay?: number;
  /** Errors the host side raised (the refusal it sealed, for an untrusted device). */
  hostErrors: ErrorCode[];
  /** Payloads the host decrypted from the device. */
  payloads: Uint8Array[];
  /** Once the host's session is open: seals a payload as the host and delivers it to the device. */
  hostSend?: (payload: Uint8Array) => Promise<void>;
}

export interface SdkRelayOptions {
  backend: CryptoBackend;
  /** The real host's identity (the device pins its public key). */
  hostSigner: Ed25519Signer;
  /** The host's trust list (resume mode). */
  isTrustedDevice(key: Uint8Array): boolean;
  behaviour?: SdkRelayBehaviour;
}

const CHALLENGE_LIMITS = {
  maxFrameBytes: 1 << 20,
  maxDevices: 8,
  maxPendingTickets: 8,
  authTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  rateLimit: { framesPerSecond: 100, burst: 100 },
};

export class SdkRelay {
  behaviour: SdkRelayBehaviour;
  readonly sockets: SdkRelaySocket[] = [];
  /** Pass as the SDK's `WebSocket` option. */
  readonly WebSocket: new (url: string) => SocketLike;
  readonly #o: SdkRelayOptions;
  /** Anything thrown inside the harness itself (should stay empty). */
  readonly crashes: unknown[] = [];

  constructor(options: SdkRelayOptions) {
    this.#o = options;
    this.behaviour = options.behaviour ?? { kind: "honest" };
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const relay = this;
    this.WebSocket = class implements SocketLike {
      binaryType = "arraybuffer";
      readyState = 0;
      onopen: SocketLike["onopen"] = null;
      onmessage: SocketLike["onmessage"] = null;
      onclose: SocketLike["onclose"] = null;
      onerror: SocketLike["onerror"] = null;
      readonly #conn: RelayConnection;
      constructor(url: string) {
        this.#conn = new RelayConnection(relay, relay.#o, this, url);
      }
      send(data: Uint8Array | string): void {
        this.#conn.fromDevice(data);
      }
      close(code?: number, reason?: string): void {
        this.#conn.closedByDevice(code, reason);
      }
    };
  }

  /** Connections opened so far. */
  get opens(): number {
    return this.sockets.length;
  }
}

class RelayConnection {
  readonly record: SdkRelaySocket;
  #ws: SocketLike & { readyState: number };
  #o: SdkRelayOptions;
  #relay: SdkRelay;
  #host: HostSession | undefined;
  /** The host's frames in order; the device's frames are handled one at a time. */
  #queue: Promise<void> = Promise.resolve();
  #hostCounter = 0n;
  #forged = false;

  constructor(relay: SdkRelay, o: SdkRelayOptions, ws: SocketLike, url: string) {
    this.#relay = relay;
    this.#o = o;
    this.#ws = ws as SocketLike & { readyState: number };
    this.record = { url, openedAt: Date.now(), behaviour: relay.behaviour, admitted: false, opened: false, forged: 0, hostErrors: [], payloads: [] };
    relay.sockets.push(this.record);
    const room = url.split("/").at(-2)!;
    setTimeout(() => {
      if (this.#closed) return;
      this.#ws.readyState = 1;
      this.#ws.onopen?.({});
      this.#deliver(
        encodeControl(RelayFrame.CHALLENGE, {
          v: 1,
          role: "device",
          room,
          challenge: toBase64Url(secureRandom(32)),
          time: Date.now(),
          limits: CHALLENGE_LIMITS,
        }),
      );
    }, 1);
  }

  get #closed(): boolean {
    return this.#ws.readyState >= 2;
  }

  fromDevice(data: Uint8Array | string): void {
    if (this.#closed) return;
    if (typeof data === "string") {
      setTimeout(() => !this.#closed && this.#ws.onmessage?.({ data: "pong" }), 0);
      return;
    }
    const frame = new Uint8Array(data); // a copy, as the network makes one
    if (frame[1] === RelayFrame.AUTH) return this.#admit();
    if (!this.record.admitted) return;
    this.#queue = this.#queue.then(() => this.#toHost(frame)).catch((e: unknown) => void this.#relay.crashes.push(e));
  }

  closedByDevice(code?: number, reason?: string): void {
    if (this.#closed) return;
    this.record.closedByDevice = { code, reason };
    this.#ws.readyState = 3;
    this.#host?.close();
    setTimeout(() => this.#ws.onclose?.({ code: code ?? 1005, reason: reason ?? "" }), 0);
  }

  #closeFromRelay(code: number, reason = ""): void {
    if (this.#closed) return;
    this.record.closedByRelay = code;
    this.#ws.readyState = 3;
    this.#host?.close();
    setTimeout(() => this.#ws.onclose?.({ code, reason }), 0);
  }

  #deliver(frame: Uint8Array): void {
    const data = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength);
    setTimeout(() => !this.#closed && this.#ws.onmessage?.({ data }), 0);
  }

  #admit(): void {
    const b = this.record.behaviour;
    if (b.kind === "refuse-admission") return this.#closeFromRelay(b.code, b.reason);
    this.record.admitted = true;
    this.#host = new HostSession({
      backend: this.#o.backend,
      hostSigner: this.#o.hostSigner,
      // Resume mode only: this host has no pending pairing links.
      pairings: {
        begin: () => {
          throw new AirlockProtocolError("PAIRING_UNKNOWN");
        },
        consume: () => "unknown" as const,
      },
      isTrustedDevice: (key) => this.#o.isTrustedDevice(key),
      slot: 1,
    });
    this.#deliver(encodeControl(RelayFrame.WELCOME, { role: "device", slot: 1, host: { online: true } }));
  }

  /** A frame the host sends; the relay notes its counter (visible in the header) to forge the next one. */
  #fromHost(frame: Uint8Array): void {
    this.#hostCounter = new DataView(frame.buffer, frame.byteOffset).getBigUint64(8) + 1n;
    this.#deliver(frame);
  }

  #forge(code: ErrorCode): void {
    this.#forged = true;
    this.record.forged++;
    this.#deliver(encodeFrame({ type: FrameType.ABORT, slot: 1, epoch: 0, counter: this.#hostCounter }, u8(ERRORS[code].wire)));
  }

  async #toHost(frame: Uint8Array): Promise<void> {
    const host = this.#host;
    if (!host || this.#closed) return;
    const b = this.record.behaviour;
    if (b.kind === "abort-handshake" && labelOf(frame) === "ClientHello") return this.#forge(b.code);
    if (this.#forged) return; // the relay keeps the socket open but forwards nothing more
    try {
      const r = await host.receive(frame);
      if (r.reply) this.#fromHost(r.reply);
      if (r.payload) this.record.payloads.push(r.payload);
      if (r.claim) {
        // The host only ever accepts here: an untrusted key was already refused in receive().
        this.#fromHost(await host.accept());
        this.record.opened = true;
        this.record.hostSend = async (payload) => this.#fromHost(await host.send(payload));
        if (b.kind === "abort-session") this.#forge(b.code);
        else if (b.kind === "close-session") this.#closeFromRelay(b.code, b.reason);
      }
    } catch (e) {
      if (!(e instanceof AirlockProtocolError)) throw e;
      this.record.hostErrors.push(e.code);
      // As the host agent does: its sealed refusal, or an ABORT.
      if (e.code !== "CHANNEL_CLOSED" && !e.remote) this.#fromHost(host.failureFrame(e));
    }
  }
}
