// The host's side of every device connection: one end-to-end session per relay
// slot, pairing with operator confirmation, the trusted-device list and its
// allowlist at the relay, and revocation. Transport-agnostic: the relay link
// (or a test) feeds it relay events and carries the frames it returns.
import {
  AirlockProtocolError,
  encodePairingLink,
  HandshakeMode,
  HostSession,
  PairingRegistry,
  fromBase64Url,
  type CryptoBackend,
  type DeviceClaim,
  type ErrorCode,
} from "@airlock/protocol";
import { deviceIdFor, DeviceStore, DeviceStoreError, type TrustedDevice } from "./device-store.ts";
import { terminalSafe } from "./terminal-text.ts";
import type { HostIdentity } from "./identity.ts";
import { messageOf } from "./error-message.ts";
import { grantOf, type TokenGrant, type TokenStore } from "./tokens/token-store.ts";

/** What the host core needs from the relay connection. */
export interface HostTransport {
  /** Sends an end-to-end frame to a device slot; false when offline. */
  send(slot: number, frame: Uint8Array): boolean;
  addTicket(hash: Uint8Array, expiresAtMs: number): Promise<void>;
  /** `expires` (one per key, unix ms, 0 = never) only when some key expires (automation tokens). */
  setAllowlist(version: number, keys: Uint8Array[], expires?: number[]): Promise<void>;
  kickDevice(target: { key: Uint8Array } | { slot: number }): Promise<void>;
  /** Bytes handed to the relay connection and not yet written to it (RelayLink: the socket's bufferedAmount). */
  readonly bufferedAmount?: number;
}

/** A pairing attempt waiting for the operator. */
export interface PairingRequest {
  deviceName: string;
  deviceId: string;
  sas: string;
}

export interface HostCoreOptions {
  identity: HostIdentity;
  backend: CryptoBackend;
  devices: DeviceStore;
  /** Automation tokens: device identities with limits and an expiry (tokens/token-store.ts). */
  tokens?: TokenStore;
  transport: HostTransport;
  relayUrl: string;
  /** Where the pairing link opens the web app (default: the relay's own origin). */
  appUrl?: string;
  /**
   * Asks the operator to compare the SAS with the device's screen. Resolve
   * true to trust the device. `--yes` passes `async () => true`.
   */
  confirmPairing(request: PairingRequest): Promise<boolean>;
  log?(line: string): void;
  /** Called when a device's session opens, and with each decrypted payload. */
  onSessionOpen?(session: DeviceConnection): void;
  onPayload?(session: DeviceConnection, payload: Uint8Array): void;
  onSessionClosed?(session: DeviceConnection, reason: string): void;
  /** First delay before publishing the allowlist again after a failure (default 5 s; doubles up to 5 min). */
  allowlistRetryMs?: number;
  /** A device was revoked (after it left the trusted list): forget what the host keeps for it elsewhere (its push subscription). */
  onRevoked?(device: TrustedDevice): void;
  /** Records security-relevant events (pairing, refusals, revocation, sessions) in the audit log. */
  audit?(type: string, actor: { kind: "device" | "host"; id?: string; name?: string }, data: Record<string, unknown>): void;
  now?: () => number;
}

/** A live, authenticated device session. */
export interface DeviceConnection {
  readonly slot: number;
  readonly device: TrustedDevice;
  /** Set when the device is an automation token: its limits, as of the session's start. */
  readonly token?: TokenGrant;
  /**
   * Encrypts and sends an application payload; false if the session is gone.
   * `after`: the frame is encrypted now but leaves once that settles, and the
   * frames sent after it wait too (frames leave in counter order): an answer
   * is sealed while the write it promises is still on its way. If `after`
   * rejects, the frame never leaves and the session ends (the device resends).
   */
  send(payload: Uint8Array, options?: { after?: Promise<unknown> }): Promise<boolean>;
  /** Bytes waiting to go out on the relay connection (shared by every device): bulk output waits while it is high. */
  backlog?(): number;
}

interface SlotState {
  slot: number;
  relayKey: string;
  session: HostSession;
  connection?: DeviceConnection;
}

export interface RevokeResult {
  device: TrustedDevice;
  /** False when the relay could not be told yet (the host retries); the host refuses the device regardless. */
  relayUpdated: boolean;
  relayError?: string;
}

export interface CreatedPairing {
  link: string;
  expiresAt: number;
}

export class HostCore {
  #o: HostCoreOptions;
  #pairings: PairingRegistry;
  #slots = new Map<number, SlotState>();
  /** Devices whose first session this run has logged: every airlock-client call is a session of its own, and a line for each is noise (the audit log keeps them all). */
  #announced = new Set<string>();

  constructor(options: HostCoreOptions) {
    this.#o = options;
    const now = options.now ?? Date.now;
    this.#pairings = new PairingRegistry({ now: () => Math.floor(now() / 1000) });
  }

  /** Live device connections, by slot. */
  get connections(): DeviceConnection[] {
    return [...this.#slots.values()].flatMap((s) => (s.connection ? [s.connection] : []));
  }

  /**
   * Creates a one-time pairing link and registers its ticket with the relay.
   * The link holds the secret: show it to the operator only, never log it.
   */
  async createPairing(ttlSeconds?: number): Promise<CreatedPairing> {
    const pending = this.#pairings.create(ttlSeconds);
    await this.#o.transport.addTicket(pending.relayTicketHash, pending.expiresAt * 1000);
    const link = encodePairingLink({
      appUrl: this.#o.appUrl ?? `${this.#o.relayUrl.replace(/\/$/, "")}/`,
      relayUrl: this.#o.relayUrl.replace(/\/$/, ""),
      hostPublicKey: this.#o.identity.signer.publicKey,
      secret: pending.secret,
      expiresAt: pending.expiresAt,
    });
    return { link, expiresAt: pending.expiresAt };
  }

  /** The relay (re)accepted us: make sure it holds the current allowlist. */
  async onWelcome(relayAllowlistVersion: number): Promise<void> {
    // Every device session died with the previous relay connection.
    for (const slot of [...this.#slots.keys()]) this.#closeSlot(slot, "relay connection restarted");
    if (relayAllowlistVersion !== this.#o.devices.allowlistVersion || relayAllowlistVersion === 0) {
      try {
        await this.publishAllowlist(relayAllowlistVersion);
      } catch (e) {
        this.#scheduleAllowlistRetry();
        throw e;
      }
    }
  }

  async publishAllowlist(relayVersion = 0): Promise<void> {
    const version = this.#o.devices.nextAllowlistVersion(relayVersion);
    const keys = this.#o.devices.keys();
    let tokens: Array<{ key: Uint8Array; expiresAt: number }> = [];
    try {
      this.#o.tokens?.reload();
      tokens = this.#o.tokens?.allowlistEntries() ?? [];
    } catch (e) {
      // A damaged token list admits no token; the devices keep working.
      this.#o.log?.(`token list unreadable, no token is admitted: ${messageOf(e)}`);
    }
    if (tokens.length === 0) return this.#o.transport.setAllowlist(version, keys);
    // Tokens carry their expiry to the relay, which refuses them after it even while this host is offline.
    await this.#o.transport.setAllowlist(version, [...keys, ...tokens.map((t) => t.key)], [...keys.map(() => 0), ...tokens.map((t) => t.expiresAt)]);
  }

  onDeviceJoined(slot: number, relayKey: string): void {
    this.#closeSlot(slot, "slot reused");
    const devices = this.#o.devices;
    const session = new HostSession({
      backend: this.#o.backend,
      hostSigner: this.#o.identity.signer,
      pairings: this.#pairings,
      isTrustedDevice: (key) => {
        devices.reload();
        return devices.isTrusted(key) || this.#activeToken(key) !== undefined;
      },
      slot,
    });
    this.#slots.set(slot, { slot, relayKey, session });
  }

  onDeviceLeft(slot: number): void {
    this.#closeSlot(slot, "device disconnected");
  }

  /** The relay connection is gone: every session with it. */
  onOffline(): void {
    for (const slot of [...this.#slots.keys()]) this.#closeSlot(slot, "relay connection lost");
  }

  /**
   * Handles one frame from a device slot. Never rejects: whatever a device or
   * the relay sends, a failure ends that slot's session only.
   */
  async onFrame(slot: number, frame: Uint8Array): Promise<void> {
    const state = this.#slots.get(slot);
    if (!state) return;
    try {
      const result = await state.session.receive(frame);
      if (result.reply) this.#o.transport.send(slot, result.reply);
      if (result.claim) await this.#decide(state, result.claim);
      if (result.payload && state.connection) this.#o.onPayload?.(state.connection, result.payload);
    } catch (e) {
      if (this.#slots.get(slot) === state) this.#failSlot(state, e);
      else this.#o.log?.(`device on slot ${slot}: ${messageOf(e)}`);
    }
  }

  /**
   * Revokes a trusted device: removes it, closes its live sessions now, audits
   * it, then tells the relay. The first three hold even when the relay cannot
   * be told (offline, refusing): the device is out of the host's list, so its
   * handshakes are refused by the host itself, and the allowlist is published
   * again at the next relay connection (see onWelcome) or retry.
   */
  async revoke(idOrPrefix: string): Promise<RevokeResult> {
    const device = this.#o.devices.remove(idOrPrefix);
    try {
      this.#o.onRevoked?.(device);
    } catch (e) {
      this.#o.log?.(`after revoking ${device.id}: ${messageOf(e)}`);
    }
    for (const state of [...this.#slots.values()]) {
      if (state.connection?.device.key === device.key || state.relayKey === device.key) {
        this.#o.transport.send(state.slot, state.session.abort("DEVICE_NOT_TRUSTED"));
        this.#closeSlot(state.slot, "revoked");
      }
    }
    let relayError: string | undefined;
    try {
      await this.publishAllowlist();
      await this.#o.transport.kickDevice({ key: fromBase64Url(device.key)! });
    } catch (e) {
      relayError = messageOf(e);
      this.#scheduleAllowlistRetry();
    }
    this.#o.log?.(`revoked ${device.id} (${terminalSafe(device.name)})${relayError ? `; the relay was not updated yet (${relayError}); retrying` : ""}`);
    this.#o.audit?.("revocation", { kind: "host" }, { deviceId: device.id, deviceName: device.name, key: device.key, relayUpdated: relayError === undefined });
    return { device, relayUpdated: relayError === undefined, ...(relayError ? { relayError } : {}) };
  }

  #allowlistRetry: ReturnType<typeof setTimeout> | undefined;
  #allowlistRetries = 0;

  /** Publishes the allowlist again later (5 s, 10 s, … up to 5 min); a relay reconnect publishes it too. */
  #scheduleAllowlistRetry(): void {
    if (this.#allowlistRetry) return;
    const delay = Math.min(300_000, (this.#o.allowlistRetryMs ?? 5000) * 2 ** Math.min(this.#allowlistRetries, 6));
    this.#allowlistRetries += 1;
    this.#allowlistRetry = setTimeout(() => {
      this.#allowlistRetry = undefined;
      this.publishAllowlist().then(
        () => {
          this.#allowlistRetries = 0;
          this.#o.log?.("device allowlist published to the relay");
        },
        (e: unknown) => {
          this.#o.log?.(`allowlist update failed: ${messageOf(e)}; retrying`);
          this.#scheduleAllowlistRetry();
        },
      );
    }, delay);
    this.#allowlistRetry.unref?.();
  }

  /** Stops background retries (the host is shutting down). */
  close(): void {
    clearTimeout(this.#allowlistRetry);
    this.#allowlistRetry = undefined;
  }

  async #decide(state: SlotState, claim: DeviceClaim): Promise<void> {
    const devices = this.#o.devices;
    if (claim.mode === HandshakeMode.PAIR) {
      const request: PairingRequest = { deviceName: claim.deviceName, deviceId: deviceIdFor(claim.devicePublicKey), sas: claim.sas };
      let ok = false;
      try {
        ok = await this.#o.confirmPairing(request);
      } catch {
        ok = false;
      }
      if (this.#slots.get(state.slot) !== state) return; // the device left meanwhile
      if (!ok) {
        this.#o.audit?.("pairing", { kind: "host" }, { outcome: "rejected", deviceId: request.deviceId, deviceName: request.deviceName });
        this.#o.transport.send(state.slot, await state.session.reject("SAS_REJECTED"));
        this.#closeSlot(state.slot, "pairing rejected");
        this.#o.log?.(`pairing with "${terminalSafe(claim.deviceName)}" rejected`);
        return;
      }
      let added: TrustedDevice;
      try {
        added = devices.add(claim.devicePublicKey, claim.deviceName);
      } catch (e) {
        // The handshake already refuses invalid names (DEVICE_NAME_INVALID); here the
        // store's own rule or a failed save: the device hears why, the host lives on.
        const code = e instanceof DeviceStoreError && e.code === "BAD_NAME" ? "DEVICE_NAME_INVALID" : "HOST_BUSY";
        this.#o.transport.send(state.slot, await state.session.reject(code));
        this.#closeSlot(state.slot, code);
        this.#o.log?.(`pairing refused: ${messageOf(e)}`);
        return;
      }
      this.#o.audit?.("pairing", { kind: "host" }, { outcome: "paired", deviceId: added.id, deviceName: added.name, key: added.key });
      await this.publishAllowlist().catch((e: unknown) => {
        this.#o.log?.(`allowlist update failed: ${messageOf(e)}; retrying`);
        this.#scheduleAllowlistRetry();
      });
    }
    const token = claim.mode === HandshakeMode.PAIR ? undefined : this.#activeToken(claim.devicePublicKey);
    const device = devices.byKey(claim.devicePublicKey) ?? (token && { id: token.id, key: token.key, name: token.name, pairedAt: token.createdAt });
    if (!device) {
      this.#o.transport.send(state.slot, await state.session.reject("DEVICE_NOT_TRUSTED"));
      this.#closeSlot(state.slot, "not trusted");
      return;
    }
    this.#o.transport.send(state.slot, await state.session.accept());
    if (token) this.#o.tokens?.touch(token.id);
    else devices.touch(claim.devicePublicKey);
    const session = state.session;
    const transport = this.#o.transport;
    /** The last frame's way out: each frame leaves after the one sealed before it. */
    let outbound: Promise<unknown> = Promise.resolve();
    state.connection = {
      slot: state.slot,
      device,
      ...(token ? { token: grantOf(token) } : {}),
      send: (payload, options) => {
        if (session.currentState !== "open") return Promise.resolve(false);
        const sealed = session.send(payload);
        const previous = outbound;
        const sent = (async () => {
          const frame = await sealed;
          await previous;
          if (options?.after) {
            try {
              await options.after;
            } catch (e) {
              if (this.#slots.get(state.slot) === state)
                this.#failSlot(state, new AirlockProtocolError("INTERNAL", `an answer's write failed: ${messageOf(e)}`));
              return false;
            }
          }
          if (this.#slots.get(state.slot) !== state) return false;
          return transport.send(state.slot, frame);
        })();
        outbound = sent.catch(() => undefined);
        return sent;
      },
      backlog: () => transport.bufferedAmount ?? 0,
    };
    if (claim.mode === HandshakeMode.PAIR || !this.#announced.has(device.id)) {
      this.#o.log?.(`${claim.mode === HandshakeMode.PAIR ? "paired" : "connected"}: ${terminalSafe(device.name)} (${device.id})`);
    }
    this.#announced.add(device.id);
    this.#o.audit?.("session", { kind: "device", id: device.id, name: device.name }, { event: "opened", slot: state.slot });
    this.#o.onSessionOpen?.(state.connection);
  }

  /** The active automation token with this key (the file is re-read: `airlock tokens` may have changed it). */
  #activeToken(key: Uint8Array) {
    try {
      this.#o.tokens?.reload();
      return this.#o.tokens?.activeByKey(key);
    } catch (e) {
      this.#o.log?.(`token list unreadable, no token is admitted: ${messageOf(e)}`);
      return undefined;
    }
  }

  /**
   * `airlock tokens` changed the token list: close the sessions of tokens no
   * longer active (revoked, rotated, expired) at once, then publish the new
   * allowlist (the relay drops their connections and keeps them out).
   */
  async tokensChanged(): Promise<{ closed: number; relayUpdated: boolean; relayError?: string }> {
    let closed = 0;
    for (const state of [...this.#slots.values()]) {
      const grant = state.connection?.token;
      if (grant && this.#activeToken(fromBase64Url(state.connection!.device.key)!) === undefined) {
        this.#o.transport.send(state.slot, state.session.abort("DEVICE_NOT_TRUSTED"));
        this.#closeSlot(state.slot, "token revoked");
        closed += 1;
      }
    }
    try {
      await this.publishAllowlist();
      return { closed, relayUpdated: true };
    } catch (e) {
      this.#scheduleAllowlistRetry();
      return { closed, relayUpdated: false, relayError: messageOf(e) };
    }
  }

  #failSlot(state: SlotState, e: unknown): void {
    const error = e instanceof AirlockProtocolError ? e : new AirlockProtocolError("INTERNAL", String(e));
    if (error.code !== "CHANNEL_CLOSED") this.#o.transport.send(state.slot, state.session.failureFrame(error));
    this.#o.log?.(`device on slot ${state.slot}: ${error.code}`);
    this.#closeSlot(state.slot, error.code);
  }

  #closeSlot(slot: number, reason: string): void {
    const state = this.#slots.get(slot);
    if (!state) return;
    this.#slots.delete(slot);
    state.session.close();
    if (state.connection) this.#o.onSessionClosed?.(state.connection, reason);
  }

  /** Refuses a device with an error code (used by the app layer for abuse). */
  async refuse(slot: number, code: ErrorCode): Promise<void> {
    const state = this.#slots.get(slot);
    if (!state) return;
    this.#o.transport.send(slot, state.session.abort(code));
    this.#closeSlot(slot, code);
  }
}
