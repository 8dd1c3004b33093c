// One device-name rule (handshake-messages.ts isValidDeviceName/checkDeviceName):
// 1-64 UTF-8 bytes, no control (C0, DEL, C1) or bidi control characters, no lone
// surrogates or line/paragraph separators, not only whitespace. A device refuses
// to start a handshake with a bad name, and a host that receives one (from a
// hostile or foreign device) refuses with an authenticated DEVICE_NAME_INVALID
// verdict, without consuming the pairing link.
import { describe, expect, it } from "vitest";
import {
  AirlockProtocolError,
  Direction,
  ERRORS,
  FrameType,
  HEADER_LENGTH,
  PROTOCOL_NAME,
  SERVER_HELLO_PUBLIC_LENGTH,
  SignaturePurpose,
  checkDeviceName,
  concatBytes,
  decodeClientAuthPlaintext,
  derivePairingKeys,
  deriveKey,
  encodeClientAuth,
  encodeClientHello,
  encodeFrame,
  errorCodeFromWire,
  hkdfExtract,
  isValidDeviceName,
  makeNonce,
  nobleBackend,
  sha256,
  signWithPurpose,
  textEncoder,
  type Ed25519Signer,
} from "../../protocol/src/index.ts";
import { connect, hostSession, makeFixture, pairingDevice, resumingDevice, trust, type Fixture } from "./harness.ts";

const BAD: Array<[string, string]> = [
  ["a space", " "],
  ["an ideographic space", "\u3000"],
  ["a no-break space", "\u00a0"],
  ["whitespace only, mixed", " \t\u2003\u00a0"],
  ["a right-to-left override", "a\u202eb"],
  ["an arabic letter mark", "a\u061cb"],
  ["a left-to-right isolate", "a\u2066b"],
  ["the empty string", ""],
  ["65 bytes", "x".repeat(65)],
  ["65 bytes of 2-byte characters", "é".repeat(32) + "x"],
  ["a NUL", "a\u0000b"],
  ["a newline", "phone\n"],
  ["DEL", "a\u007f"],
  ["a C1 control", "a\u0085b"],
  ["a line separator", "a\u2028b"],
  ["a lone surrogate", "a\ud800b"],
];
const GOOD = ["Phone", "x".repeat(64), "é".repeat(32), " leading space kept", "Pixel 8 ✓", "📱 phone", "👩‍💻 laptop", "Ａ\u3000Ｂ", "名前"];

describe("isValidDeviceName / checkDeviceName", () => {
  it.each(BAD)("rejects %s", (_, name) => {
    expect(isValidDeviceName(name)).toBe(false);
    const err = (() => {
      try {
        checkDeviceName(name);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AirlockProtocolError);
    expect((err as AirlockProtocolError).code).toBe("DEVICE_NAME_INVALID");
  });

  it.each(GOOD)("accepts %j", (name) => {
    expect(isValidDeviceName(name)).toBe(true);
    expect(checkDeviceName(name)).toEqual(textEncoder.encode(name));
  });

  it("has wire code 0x1f and the documented message", () => {
    expect(ERRORS.DEVICE_NAME_INVALID.wire).toBe(0x1f);
    expect(errorCodeFromWire(0x1f)).toBe("DEVICE_NAME_INVALID");
    expect(ERRORS.DEVICE_NAME_INVALID.message).toBe("the device name is invalid");
  });
});

describe("the device refuses to start a handshake with an invalid name", () => {
  it.each(BAD)("%s", async (_, name) => {
    const f = await makeFixture(nobleBackend);
    const device = resumingDevice(f, { deviceName: name });
    const err = await device.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AirlockProtocolError);
    expect((err as AirlockProtocolError).code).toBe("DEVICE_NAME_INVALID");
    expect(device.currentState).toBe("closed");
  });
});

// ------------------------------------------------- a device that ignores the rule

const pad64 = (name: Uint8Array) => {
  const out = new Uint8Array(64);
  out.set(name.subarray(0, 64));
  return out;
};

/** The device side of the handshake written out by hand, so it can send any name bytes (docs/protocol.md §5). */
async function rawDevice(f: Fixture, nameBytes: Uint8Array, pairing?: { pairingId: Uint8Array; psk: Uint8Array }, signer: Ed25519Signer = f.device) {
  const backend = f.backend;
  const eph = await backend.x25519FromPrivate(crypto.getRandomValues(new Uint8Array(32)));
  const hello = encodeClientHello({
    mode: pairing ? 1 : 2,
    versions: [1],
    ephemeralPublicKey: eph.publicKey,
    ...(pairing ? { pairingId: pairing.pairingId } : {}),
  });
  const h1 = sha256(sha256(textEncoder.encode(PROTOCOL_NAME)), hello);
  let hsH2d: Uint8Array | undefined;
  let hFinal: Uint8Array | undefined;
  return {
    hello: encodeFrame({ type: FrameType.HANDSHAKE, slot: 0, epoch: 0, counter: 0n }, hello),
    async auth(serverHelloFrame: Uint8Array): Promise<Uint8Array> {
      const sh = serverHelloFrame.subarray(HEADER_LENGTH);
      const h2 = sha256(h1, sh.subarray(0, SERVER_HELLO_PUBLIC_LENGTH));
      const dh = await eph.dh(sh.subarray(2, 34));
      const prk = hkdfExtract(h2, pairing ? concatBytes(dh, pairing.psk) : dh);
      hsH2d = deriveKey(prk, "hs h2d", new Uint8Array(0));
      const hsD2h = deriveKey(prk, "hs d2h", new Uint8Array(0));
      const h3 = sha256(sha256(h2, f.host.publicKey), sh.subarray(SERVER_HELLO_PUBLIC_LENGTH));
      const hDevice = sha256(h3, signer.publicKey);
      const sig = await signWithPurpose(signer, SignaturePurpose.DEVICE_HANDSHAKE, hDevice);
      const plaintext = concatBytes(signer.publicKey, sig, Uint8Array.of(nameBytes.length), pad64(nameBytes));
      const ct = await (await backend.aeadKey(hsD2h)).seal(makeNonce(Direction.DEVICE_TO_HOST, 0n), h3, plaintext);
      hFinal = sha256(hDevice, ct);
      return encodeFrame({ type: FrameType.HANDSHAKE, slot: 0, epoch: 0, counter: 1n }, encodeClientAuth(ct));
    },
    /** The verdict's status byte, decrypted (so the refusal is authenticated). */
    async verdict(frame: Uint8Array): Promise<number> {
      const body = frame.subarray(HEADER_LENGTH);
      expect(body[0]).toBe(4);
      const status = await (await backend.aeadKey(hsH2d!)).open(makeNonce(Direction.HOST_TO_DEVICE, 1n), hFinal!, body.subarray(1));
      expect(status).not.toBeNull();
      return status![0]!;
    },
  };
}

const BAD_BYTES: Array<[string, Uint8Array]> = [
  ...BAD.filter(([, n]) => n.length > 0 && textEncoder.encode(n).length <= 64 && !/[\ud800-\udfff]/.test(n)).map(([w, n]): [string, Uint8Array] => [
    w,
    textEncoder.encode(n),
  ]),
  ["zero bytes", new Uint8Array(0)],
  ["not UTF-8", Uint8Array.of(0x61, 0xff, 0x62)],
  ["an encoded lone surrogate", Uint8Array.of(0x61, 0xed, 0xa0, 0x80)],
];

describe("the host refuses an invalid name with an authenticated DEVICE_NAME_INVALID verdict", () => {
  it.each(BAD_BYTES)("resume mode: %s", async (_, nameBytes) => {
    const f = await makeFixture(nobleBackend);
    trust(f, f.device.publicKey);
    const device = await rawDevice(f, nameBytes);
    const host = hostSession(f);
    const serverHello = (await host.receive(device.hello)).reply!;
    const err = await host.receive(await device.auth(serverHello)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AirlockProtocolError);
    expect((err as AirlockProtocolError).code).toBe("DEVICE_NAME_INVALID");
    expect(host.currentState).toBe("closed");
    const frame = host.failureFrame(err as AirlockProtocolError);
    expect(frame[1]).toBe(FrameType.HANDSHAKE); // a HostVerdict, not an ABORT
    expect(await device.verdict(frame)).toBe(0x1f);
  });

  it("pair mode: the refusal does not consume the pairing link; a valid name then pairs", async () => {
    const f = await makeFixture(nobleBackend);
    const pending = f.pairings.create();
    const keys = derivePairingKeys(pending.secret);
    const device = await rawDevice(f, textEncoder.encode("\u3000"), keys);
    const host = hostSession(f);
    const serverHello = (await host.receive(device.hello)).reply!;
    const err = await host.receive(await device.auth(serverHello)).catch((e: unknown) => e);
    expect((err as AirlockProtocolError).code).toBe("DEVICE_NAME_INVALID");
    expect(await device.verdict(host.failureFrame(err as AirlockProtocolError))).toBe(0x1f);
    // The link is still pending: the same device with a valid name pairs.
    const again = hostSession(f);
    await connect(pairingDevice(f, pending.secret, { deviceName: "Phone" }), again);
    expect(again.result!.deviceName).toBe("Phone");
  });

  it("a signature check comes first: a bad name with a bad signature is DEVICE_SIGNATURE_INVALID", async () => {
    const f = await makeFixture(nobleBackend);
    const other = await nobleBackend.generateSigner();
    const device = await rawDevice(f, textEncoder.encode(" "), undefined, { publicKey: f.device.publicKey, sign: (m) => other.sign(m) });
    const host = hostSession(f);
    const serverHello = (await host.receive(device.hello)).reply!;
    const err = await host.receive(await device.auth(serverHello)).catch((e: unknown) => e);
    expect((err as AirlockProtocolError).code).toBe("DEVICE_SIGNATURE_INVALID");
  });

  it("the hand-written device is faithful: with a valid name the host accepts it", async () => {
    const f = await makeFixture(nobleBackend);
    trust(f, f.device.publicKey);
    const device = await rawDevice(f, textEncoder.encode("Phone"));
    const host = hostSession(f);
    const serverHello = (await host.receive(device.hello)).reply!;
    const { claim } = await host.receive(await device.auth(serverHello));
    expect(claim!.deviceName).toBe("Phone");
    expect(await device.verdict(await host.accept())).toBe(0);
  });

  it("decodeClientAuthPlaintext applies the same rule (structure errors stay HANDSHAKE_MALFORMED)", () => {
    const p = (len: number, name: Uint8Array, tail = 0) => {
      const out = concatBytes(new Uint8Array(96), Uint8Array.of(len), pad64(name));
      if (tail) out[out.length - 1] = tail;
      return out;
    };
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as AirlockProtocolError).code;
      }
      return "ok";
    };
    expect(code(() => decodeClientAuthPlaintext(p(5, textEncoder.encode("Phone"))))).toBe("ok");
    expect(code(() => decodeClientAuthPlaintext(p(1, textEncoder.encode(" "))))).toBe("DEVICE_NAME_INVALID");
    expect(code(() => decodeClientAuthPlaintext(p(0, new Uint8Array(0))))).toBe("DEVICE_NAME_INVALID");
    expect(code(() => decodeClientAuthPlaintext(p(65, new Uint8Array(0))))).toBe("HANDSHAKE_MALFORMED");
    expect(code(() => decodeClientAuthPlaintext(p(5, textEncoder.encode("Phone"), 1)))).toBe("HANDSHAKE_MALFORMED");
  });
});
