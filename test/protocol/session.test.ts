import { describe, expect, it } from "vitest";
import { nobleBackend, AirlockProtocolError, textEncoder } from "../../protocol/src/index.ts";
import { webCryptoBackend } from "../../protocol/src/backend-webcrypto.ts";
import { connect, hostSession, makeFixture, pairingDevice, resumingDevice, trust } from "./harness.ts";

describe.each([nobleBackend, webCryptoBackend])("session over $name", (backend) => {
  it("pairs, exchanges data both ways, then resumes as a trusted device", async () => {
    const f = await makeFixture(backend);
    const pending = f.pairings.create();
    const device = pairingDevice(f, pending.secret);
    const host = hostSession(f);
    const { sas } = await connect(device, host);
    expect(sas).toMatch(/^\d{3} \d{3}$/);
    expect(host.result!.deviceName).toBe("Test phone");
    expect(Buffer.from(host.result!.devicePublicKey)).toEqual(Buffer.from(f.device.publicKey));

    const toHost = await device.send(textEncoder.encode("hello host"));
    expect(new TextDecoder().decode((await host.receive(toHost)).payload)).toBe("hello host");
    const toDevice = await host.send(textEncoder.encode("hello device"));
    expect(new TextDecoder().decode((await device.receive(toDevice)).payload)).toBe("hello device");

    trust(f, host.result!.devicePublicKey);
    const device2 = resumingDevice(f);
    const host2 = hostSession(f);
    await connect(device2, host2);
    const frame = await device2.send(new Uint8Array(70_000));
    expect((await host2.receive(frame)).payload!.length).toBe(70_000);
  });

  it("refuses a second use of the same pairing link", async () => {
    const f = await makeFixture(backend);
    const pending = f.pairings.create();
    await connect(pairingDevice(f, pending.secret), hostSession(f));
    const again = pairingDevice(f, pending.secret);
    const host = hostSession(f);
    const err = await host.receive(await again.start()).catch((e) => e);
    expect(err).toBeInstanceOf(AirlockProtocolError);
    expect(err.code).toBe("PAIRING_UNKNOWN");
    // The host tells the device why; the device reports the remote code.
    const abort = host.abort(err.code);
    const seen = await again.receive(abort).catch((e) => e);
    expect(seen.code).toBe("PAIRING_UNKNOWN");
    expect(seen.remote).toBe(true);
  });
});

describe("refusals", () => {
  it("gives an untrusted (revoked) device an authenticated DEVICE_NOT_TRUSTED verdict", async () => {
    const f = await makeFixture(nobleBackend);
    const device = resumingDevice(f);
    const host = hostSession(f);
    const serverHello = (await host.receive(await device.start())).reply!;
    const { reply: auth } = await device.receive(serverHello);
    const err = await host.receive(auth!).catch((e) => e);
    expect(err.code).toBe("DEVICE_NOT_TRUSTED");
    expect(host.currentState).toBe("closed");
    const frame = host.failureFrame(err);
    expect(frame[1]).toBe(0x01); // an authenticated HostVerdict, not an ABORT
    const seen = await device.receive(frame).catch((e) => e);
    expect(seen).toBeInstanceOf(AirlockProtocolError);
    expect(seen.code).toBe("DEVICE_NOT_TRUSTED");
    expect(seen.remote).toBe(true);
  });
});
