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
import { deviceIdFor, DeviceStore, type TrustedDevice } from "./device-store.ts";
import type { HostIdentity } from "./identity.ts";

/** What the host core needs from the relay connection. */
export interface HostTransport {
  /** Sends an end-to-end frame to a device slot; false when offline. */
  send(slot: number, frame: Uint8Array): boolean;
  addTicket(hash: Uint8Array, expiresAtMs: number): Promise<void>;
  setAllowlist(version: number, keys: Uint8Array[]): Promise<void>;
  kickDevice(target: { key: Uint8Array } | { slot: number }): Promise<void>;
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
  /** Records security-relevant events (pairing, refusals, revocation, sessions) in the audit log. */
  audit?(type: string, actor: { kind: "device" | "host"; id?: string; name?: string }, data: Record<string, unknown>): void;
  now?: () => number;
}

/** A live, authenticated device session. */
export interface DeviceConnection {
  readonly slot: number;
  readonly device: TrustedDevice;
  /** Encrypts and sends an application payload; false if the session is gone. */
  send(payload: Uint8Array): Promise<boolean>;
}

interface SlotState {
  slot: number;
  relayKey: string;
  session: HostSession;
  connection?: DeviceConnection;
}

export interface CreatedPairing {
  link: string;
  expiresAt: number;
}

export class HostCore {
  #o: HostCoreOptions;
  #pairings: PairingRegistry;
  #slots = new Map<number, SlotState>();

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
      await this.publishAllowlist(relayAllowlistVersion);
    }
  }

  async publishAllowlist(relayVersion = 0): Promise<void> {
    const version = this.#o.devices.nextAllowlistVersion(relayVersion);
    await this.#o.transport.setAllowlist(version, this.#o.devices.keys());
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
        return devices.isTrusted(key);
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

  async onFrame(slot: number, frame: Uint8Array): Promise<void> {
    const state = this.#slots.get(slot);
    if (!state) return;
    let result;
    try {
      result = await state.session.receive(frame);
    } catch (e) {
      return this.#failSlot(state, e);
    }
    if (result.reply) this.#o.transport.send(slot, result.reply);
    if (result.claim) await this.#decide(state, result.claim);
    if (result.payload && state.connection) this.#o.onPayload?.(state.connection, result.payload);
  }

  /** Revokes a trusted device: removes it, republishes the allowlist and closes its live sessions now. */
  async revoke(idOrPrefix: string): Promise<TrustedDevice> {
    const device = this.#o.devices.remove(idOrPrefix);
    for (const state of [...this.#slots.values()]) {
      if (state.connection?.device.key === device.key || state.relayKey === device.key) {
        this.#o.transport.send(state.slot, state.session.abort("DEVICE_NOT_TRUSTED"));
        this.#closeSlot(state.slot, "revoked");
      }
    }
    await this.publishAllowlist();
    await this.#o.transport.kickDevice({ key: fromBase64Url(device.key)! });
    this.#o.log?.(`revoked ${device.id} (${device.name})`);
    this.#o.audit?.("revocation", { kind: "host" }, { deviceId: device.id, deviceName: device.name, key: device.key });
    return device;
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
        this.#o.log?.(`pairing with "${claim.deviceName}" rejected`);
        return;
      }
      const added = devices.add(claim.devicePublicKey, claim.deviceName);
      this.#o.audit?.("pairing", { kind: "host" }, { outcome: "paired", deviceId: added.id, deviceName: added.name, key: added.key });
      await this.publishAllowlist().catch((e: unknown) => this.#o.log?.(`allowlist update failed: ${String(e)}`));
    }
    const device = devices.byKey(claim.devicePublicKey);
    if (!device) {
      this.#o.transport.send(state.slot, await state.session.reject("DEVICE_NOT_TRUSTED"));
      this.#closeSlot(state.slot, "not trusted");
      return;
    }
    this.#o.transport.send(state.slot, await state.session.accept());
    devices.touch(claim.devicePublicKey);
    const session = state.session;
    const transport = this.#o.transport;
    state.connection = {
      slot: state.slot,
      device,
      send: async (payload) => {
        if (session.currentState !== "open") return false;
        return transport.send(state.slot, await session.send(payload));
      },
    };
    this.#o.log?.(`${claim.mode === HandshakeMode.PAIR ? "paired" : "connected"}: ${device.name} (${device.id})`);
    this.#o.audit?.("session", { kind: "device", id: device.id, name: device.name }, { event: "opened", slot: state.slot });
    this.#o.onSessionOpen?.(state.connection);
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
