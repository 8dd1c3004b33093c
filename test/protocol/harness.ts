// Shared fixtures for protocol tests: a host identity, a device identity, a
// pairing registry, and helpers that run the handshake between two endpoints.
import {
  DeviceSession,
  HostSession,
  PairingRegistry,
  derivePairingKeys,
  type ChannelTuning,
  type CryptoBackend,
  type Ed25519Signer,
} from "../../protocol/src/index.ts";

export interface Fixture {
  backend: CryptoBackend;
  host: Ed25519Signer;
  device: Ed25519Signer;
  pairings: PairingRegistry;
  trusted: Set<string>;
  clock: { now: number };
}

export async function makeFixture(backend: CryptoBackend): Promise<Fixture> {
  const clock = { now: 1_800_000_000 };
  return {
    backend,
    host: await backend.generateSigner(),
    device: await backend.generateSigner(),
    pairings: new PairingRegistry({ now: () => clock.now }),
    trusted: new Set(),
    clock,
  };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export function hostSession(f: Fixture, tuning: ChannelTuning = {}, slot = 1): HostSession {
  return new HostSession({
    backend: f.backend,
    hostSigner: f.host,
    pairings: f.pairings,
    isTrustedDevice: (key) => f.trusted.has(hex(key)),
    slot,
    tuning,
  });
}

export function trust(f: Fixture, key: Uint8Array): void {
  f.trusted.add(hex(key));
}

export function pairingDevice(f: Fixture, secret: Uint8Array, opts: { hostKey?: Uint8Array; tuning?: ChannelTuning } = {}): DeviceSession {
  const keys = derivePairingKeys(secret);
  return new DeviceSession({
    backend: f.backend,
    hostPublicKey: opts.hostKey ?? f.host.publicKey,
    deviceSigner: f.device,
    deviceName: "Test phone",
    pairing: { pairingId: keys.pairingId, psk: keys.psk },
    tuning: opts.tuning ?? {},
  });
}

export function resumingDevice(f: Fixture, opts: { signer?: Ed25519Signer; tuning?: ChannelTuning } = {}): DeviceSession {
  return new DeviceSession({
    backend: f.backend,
    hostPublicKey: f.host.publicKey,
    deviceSigner: opts.signer ?? f.device,
    deviceName: "Test phone",
    tuning: opts.tuning ?? {},
  });
}

/** Runs a full handshake in memory; the host accepts whatever it verifies. */
export async function connect(device: DeviceSession, host: HostSession): Promise<{ sas: string; frames: Uint8Array[] }> {
  const frames: Uint8Array[] = [];
  const hello = await device.start();
  frames.push(hello);
  const serverHello = (await host.receive(hello)).reply!;
  frames.push(serverHello);
  const { reply: auth, sas } = await device.receive(serverHello);
  frames.push(auth!);
  const { claim } = await host.receive(auth!);
  if (claim!.sas !== sas) throw new Error("SAS differs");
  const verdict = await host.accept();
  frames.push(verdict);
  const { opened } = await device.receive(verdict);
  if (!opened) throw new Error("device did not open");
  return { sas: sas!, frames };
}
