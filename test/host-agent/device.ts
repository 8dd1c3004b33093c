// A test device: relay admission (ticket or allowlist) plus the end-to-end
// handshake and channel, over the real relay.
import {
  decodeHeader,
  derivePairingKeys,
  DeviceSession,
  nobleBackend,
  parsePairingLink,
  type Ed25519Signer,
  type HandshakeResult,
} from "../../protocol/src/index.ts";
import { connectDevice, type RelayClient } from "../relay/harness.ts";

export class TestDevice {
  constructor(
    readonly client: RelayClient,
    readonly session: DeviceSession,
  ) {}

  /** Next end-to-end frame (skips relay control messages). */
  async nextFrame(timeoutMs = 10_000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = await this.client.next(Math.max(1, deadline - Date.now()));
      if (decodeHeader(frame).type < 0x20) return frame;
    }
  }

  /** Runs the handshake; resolves with the SAS as soon as ClientAuth is sent and the result once accepted. */
  async handshake(onSas?: (sas: string) => void): Promise<HandshakeResult> {
    this.client.send(await this.session.start());
    const { reply, sas } = await this.session.receive(await this.nextFrame());
    onSas?.(sas!);
    this.client.send(reply!);
    const { opened } = await this.session.receive(await this.nextFrame(30_000));
    return opened!;
  }

  async send(payload: Uint8Array): Promise<void> {
    this.client.send(await this.session.send(payload));
  }

  async receive(timeoutMs = 10_000): Promise<Uint8Array> {
    return (await this.session.receive(await this.nextFrame(timeoutMs))).payload!;
  }

  close(): void {
    this.client.close();
  }
}

/** A device that scanned `link`. */
export async function pairingDevice(link: string, signer: Ed25519Signer, name = "Test phone"): Promise<TestDevice> {
  const parsed = parsePairingLink(link);
  const keys = derivePairingKeys(parsed.secret);
  const { client } = await connectDevice(parsed.relayUrl, parsed.roomId, signer, keys.relayTicket);
  const session = new DeviceSession({
    backend: nobleBackend,
    hostPublicKey: parsed.hostPublicKey,
    deviceSigner: signer,
    deviceName: name,
    pairing: { pairingId: keys.pairingId, psk: keys.psk },
  });
  return new TestDevice(client, session);
}

/** A trusted device reconnecting without a link. */
export async function resumingDevice(relayUrl: string, room: string, hostKey: Uint8Array, signer: Ed25519Signer): Promise<TestDevice> {
  const { client } = await connectDevice(relayUrl, room, signer);
  const session = new DeviceSession({ backend: nobleBackend, hostPublicKey: hostKey, deviceSigner: signer, deviceName: "Test phone" });
  return new TestDevice(client, session);
}
