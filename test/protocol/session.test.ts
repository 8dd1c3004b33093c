import { describe, expect, it } from "vitest";
import { nobleBackend, AirlockProtocolError, DeviceHandshake, HostHandshake, textEncoder } from "../../protocol/src/index.ts";
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

describe("handshake objects used directly", () => {
  it("refuse a second step while one is running, and the running step still completes", async () => {
    const f = await makeFixture(nobleBackend);
    const host = new HostHandshake({
      backend: nobleBackend,
      hostSigner: f.host,
      pairings: f.pairings,
      isTrustedDevice: () => true,
    });
    const device = new DeviceHandshake({
      backend: nobleBackend,
      hostPublicKey: f.host.publicKey,
      deviceSigner: f.device,
      deviceName: "Phone",
    });
    const hello = await device.start();
    const first = host.onClientHello(hello);
    const second = await host.onClientHello(hello).catch((e) => e);
    expect(second.code).toBe("UNEXPECTED_MESSAGE");
    const serverHello = await first;
    const auth = await device.onServerHello(serverHello);
    await host.onClientAuth(auth);
    const { verdict } = await host.accept();
    const result = await device.onHostVerdict(verdict);
    expect(result.mode).toBe(2);
  });
});

describe("time-based rekey", () => {
  it("a sender moves to the next epoch once its key is older than rekeyAfterMs, and the receiver follows", async () => {
    const f = await makeFixture(nobleBackend);
    trust(f, f.device.publicKey);
    let now = 1_000_000;
    const tuning = { rekeyAfterMs: 60_000, now: () => now };
    const device = resumingDevice(f, { tuning });
    const host = hostSession(f, tuning);
    await connect(device, host);
    const epochOf = (frame: Uint8Array) => new DataView(frame.buffer, frame.byteOffset).getUint32(4);

    const a = await device.send(textEncoder.encode("a"));
    expect(epochOf(a)).toBe(0);
    await host.receive(a);
    now += 59_999;
    const b = await device.send(textEncoder.encode("b"));
    expect(epochOf(b)).toBe(0);
    await host.receive(b);
    now += 1;
    const c = await device.send(textEncoder.encode("c"));
    expect(epochOf(c)).toBe(1);
    expect(new TextDecoder().decode((await host.receive(c)).payload)).toBe("c");
    // The reverse direction keeps its own clock and epoch.
    const d = await host.send(textEncoder.encode("d"));
    expect(epochOf(d)).toBe(1); // the host's send key is as old: same rule, its own key
    expect(new TextDecoder().decode((await device.receive(d)).payload)).toBe("d");
  });
});

describe("platform-generated ephemeral keys (WebCrypto)", () => {
  it("agree with noble on the shared secret and reject low-order peers", async () => {
    const generated = await webCryptoBackend.generateX25519!();
    const other = await nobleBackend.x25519FromPrivate(new Uint8Array(32).fill(9));
    expect(Buffer.from(await generated.dh(other.publicKey))).toEqual(Buffer.from(await other.dh(generated.publicKey)));
    await expect(generated.dh(new Uint8Array(32))).rejects.toMatchObject({ code: "LOW_ORDER_KEY" });
  });

  it("are what a WebCrypto handshake uses when no RandomSource is injected", async () => {
    const f = await makeFixture(webCryptoBackend);
    trust(f, f.device.publicKey);
    const { frames } = await connect(resumingDevice(f), hostSession(f));
    // Fresh ephemerals each time: two handshakes never share a ClientHello key.
    const again = await connect(resumingDevice(f), hostSession(f));
    expect(Buffer.from(frames[0]!.subarray(24, 56))).not.toEqual(Buffer.from(again.frames[0]!.subarray(24, 56)));
  });
});
