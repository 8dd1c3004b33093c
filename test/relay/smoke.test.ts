import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  derivePairingKeys,
  encodeFrame,
  FrameType,
  nobleBackend,
  relayTicketHash,
  roomIdFor,
  secureRandom,
  toBase64Url,
  decodeHeader,
} from "../../protocol/src/index.ts";
import { connectDevice, connectHost, hostCommand, startRelay, type RelayServer } from "./harness.ts";

let relay: RelayServer;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  await relay?.dispose();
});

describe("relay smoke", () => {
  it("admits a host and a paired device and forwards frames both ways with the slot stamped", async () => {
    const hostKey = await nobleBackend.generateSigner();
    const room = roomIdFor(hostKey.publicKey);
    const { client: host, welcome } = await connectHost(relay.url, hostKey);
    expect(welcome).toMatchObject({ role: "host" });
    const keys = derivePairingKeys(secureRandom(32));
    const res = await hostCommand(host, { op: "ticket.add", hash: toBase64Url(relayTicketHash(keys.relayTicket)), expiresAt: Date.now() + 60_000 });
    expect(res.ok).toBe(true);
    const { client: device, welcome: dw } = await connectDevice(relay.url, room, await nobleBackend.generateSigner(), keys.relayTicket);
    expect(dw).toMatchObject({ role: "device", host: { online: true } });
    const slot = (dw as { slot: number }).slot;
    device.send(encodeFrame({ type: FrameType.HANDSHAKE, slot: 999, epoch: 0, counter: 0n }, new Uint8Array([1, 2, 3])));
    // The host first hears of the device, then gets its frame stamped with the real slot.
    let frame = await host.next();
    while (frame[1] !== FrameType.HANDSHAKE) frame = await host.next();
    expect(decodeHeader(frame).slot).toBe(slot);
    host.send(encodeFrame({ type: FrameType.HANDSHAKE, slot, epoch: 0, counter: 0n }, new Uint8Array([4])));
    const back = await device.next();
    expect(Array.from(back.subarray(20))).toEqual([4]);
    host.close();
    device.close();
  });
});
