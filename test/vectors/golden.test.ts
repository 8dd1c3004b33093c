// Golden handshake vectors (handshake-v1.json), checked both ways with both
// crypto backends:
//   (i)  rebuilding from the stored inputs yields byte-identical frames and
//        derived values;
//   (ii) each side, driven with the fixed inputs and fed the other side's
//        stored frames, produces exactly its own stored frames and decrypts
//        the stored DATA frames to the stored payloads.
// Plus an independent re-derivation of the key schedule from the frames, so
// the vectors also pin the documented construction and not only the code.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  AirlockProtocolError,
  Direction,
  FrameType,
  HEADER_LENGTH,
  PROTOCOL_NAME,
  SERVER_HELLO_PUBLIC_LENGTH,
  SignaturePurpose,
  allowlistExpiryMessage,
  allowlistMessage,
  appProtocol,
  associatedData,
  decodeAppEnvelope,
  fromBase64Url,
  decodeHeader,
  deriveKey,
  formatSas,
  hkdfExtract,
  makeNonce,
  nobleBackend,
  parsePairingLink,
  ratchetKey,
  relayAuthMessage,
  roomIdBytes,
  roomIdFor,
  setFrameSlot,
  sha256,
  textEncoder,
  toBase64Url,
  toHex,
  unpad,
  verifyWithPurpose,
  type CryptoBackend,
} from "../../protocol/src/index.ts";
import { webCryptoBackend } from "../../protocol/src/backend-webcrypto.ts";
import { parseAutomationToken } from "../../protocol/src/automation-token.ts";
import {
  buildGolden,
  goldenEndpoints,
  hexBytes,
  payloadsByName,
  serializeGolden,
  type GoldenFile,
  type GoldenFrame,
  type GoldenSection,
} from "./golden-build.ts";
import { buildExtraGolden, linkOutcome, serializeExtraGolden, type ExtraGoldenFile } from "./golden-extra-build.ts";

const FILE = fileURLToPath(new URL("./handshake-v1.json", import.meta.url));
const fileText = readFileSync(FILE, "utf8");
const stored = JSON.parse(fileText) as GoldenFile;
const payloads = payloadsByName(stored.inputs);
const MODES = ["pair", "resume"] as const;

function payloadOf(frame: GoldenFrame): Uint8Array {
  const p = frame.payload === undefined ? undefined : payloads.get(frame.payload);
  if (!p) throw new Error(`frame ${frame.index} has no known payload`);
  return p;
}

/** Compact form for comparisons: large hex strings as their hash, so a failure prints readably. */
function summarize(frames: readonly GoldenFrame[]) {
  return frames.map((f) => ({ ...f, hex: `${f.hex.length / 2} bytes, sha256 ${toHex(sha256(hexBytes(f.hex)))}` }));
}

function expectBytes(actual: Uint8Array | undefined, expectedHex: string, what: string): void {
  expect(actual, what).toBeDefined();
  const hex = toHex(actual!);
  if (hex !== expectedHex) {
    let at = 0;
    while (at < hex.length && hex[at] === expectedHex[at]) at++;
    expect.fail(`${what}: bytes differ from the stored vector at byte ${at >> 1} (lengths ${hex.length / 2} vs ${expectedHex.length / 2})`);
  }
}

describe("golden vector file", () => {
  it("is what the generator writes today (fixed inputs, noble backend)", async () => {
    const text = serializeGolden(await buildGolden(nobleBackend));
    expect(text.length).toBe(fileText.length);
    expect(text === fileText, "regenerate with `npm run vectors:golden` and review the diff").toBe(true);
  });

  it("stays under 300 KB and covers both modes, every payload and a ratchet in each direction", () => {
    expect(fileText.length).toBeLessThan(300 * 1024);
    for (const mode of MODES) {
      const section = stored[mode];
      expect(section.mode).toBe(mode);
      expect(section.frames.slice(0, 4).map((f) => f.kind)).toEqual(["ClientHello", "ServerHello", "ClientAuth", "HostVerdict"]);
      const data = section.frames.filter((f) => f.kind === "Data");
      expect(data.length).toBe(stored.inputs[mode].data.length);
      for (const direction of ["device->host", "host->device"] as const) {
        const epochs = data.filter((f) => f.direction === direction).map((f) => f.epoch);
        expect(epochs[0], `${mode} ${direction} starts at epoch 0`).toBe(0);
        expect(epochs, `${mode} ${direction} crosses a ratchet`).toContain(1);
      }
    }
    const used = new Set(MODES.flatMap((m) => stored[m].frames.flatMap((f) => (f.payload ? [f.payload] : []))));
    expect([...used].sort()).toEqual(stored.inputs.payloads.map((p) => p.name).sort());
    expect(new Set(stored.inputs.payloads.map((p) => p.length))).toEqual(new Set([0, 10, 80, 252, 300, 1020, 70_000]));
  });

  it("frame metadata matches each frame's header", () => {
    for (const mode of MODES) {
      const counters = { "device->host": 0n, "host->device": 0n };
      for (const f of stored[mode].frames) {
        const bytes = hexBytes(f.hex);
        const h = decodeHeader(bytes);
        expect(h.type).toBe(f.kind === "Data" ? FrameType.DATA : FrameType.HANDSHAKE);
        expect(h.counter).toBe(BigInt(f.counter));
        expect(h.counter).toBe(counters[f.direction]++);
        expect(h.epoch).toBe(f.epoch);
        expect(h.slot).toBe(f.direction === "host->device" ? stored.inputs.hostSlot : 0);
        expect(bytes.length).toBe(f.length);
      }
    }
  });

  it("the envelope payload is a valid application envelope", () => {
    const env = decodeAppEnvelope(payloads.get("envelope")!);
    expect(env.type).toBe("thread.start");
  });

  it("the pairing link parses to the stored fields", () => {
    const { inputs, identity } = stored;
    const link = parsePairingLink(identity.pairingLink, inputs.clockSeconds);
    expect(link.version).toBe(stored.protocolVersion);
    expect(link.appUrl).toBe(inputs.appUrl);
    expect(link.relayUrl).toBe(inputs.relayUrl);
    expect(link.roomId).toBe(identity.roomId);
    expect(toHex(link.hostPublicKey)).toBe(identity.hostPublicKey);
    expect(toHex(link.secret)).toBe(inputs.pairingSecret);
    expect(link.expiresAt).toBe(inputs.pairingExpiresAt);
    expect(roomIdFor(link.hostPublicKey)).toBe(identity.roomId);
    expect(parsePairingLink(identity.pairingLink, inputs.pairingExpiresAt - 1).expiresAt).toBe(inputs.pairingExpiresAt);
    const expired = (() => {
      try {
        parsePairingLink(identity.pairingLink, inputs.pairingExpiresAt);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(expired).toBeInstanceOf(AirlockProtocolError);
    expect((expired as AirlockProtocolError).code).toBe("LINK_EXPIRED");
  });
});

describe.each([nobleBackend, webCryptoBackend])("golden vectors with $name", (backend) => {
  it("(i) rebuilding from the stored inputs yields identical derived values and frames", async () => {
    const rebuilt = await buildGolden(backend, stored.inputs);
    expect(rebuilt.identity).toEqual(stored.identity);
    for (const mode of MODES) {
      expect(rebuilt[mode].derived).toEqual(stored[mode].derived);
      expect(summarize(rebuilt[mode].frames)).toEqual(summarize(stored[mode].frames));
    }
    expect(serializeGolden(rebuilt) === fileText).toBe(true);
  });

  for (const mode of MODES) {
    for (const relayed of [false, true]) {
      it(`(ii) ${mode}: the host fed the stored device frames${relayed ? " (slot stamped by the relay)" : ""} emits the stored host frames`, async () => {
        await replayAsHost(backend, stored[mode], relayed);
      });
    }
    it(`(ii) ${mode}: the device fed the stored host frames emits the stored device frames and decrypts the data`, async () => {
      await replayAsDevice(backend, stored[mode]);
    });
    it(`${mode}: an independent derivation of the key schedule matches the frames`, async () => {
      await rederive(backend, stored[mode]);
    });
  }

  it("a flipped bit in a stored frame is detected (the replay is not vacuous)", async () => {
    const frames = stored.pair.frames;
    const { device } = await goldenEndpoints(backend, stored.inputs, "pair");
    await device.start();
    const serverHello = hexBytes(frames[1]!.hex);
    serverHello[serverHello.length - 1]! ^= 0x01;
    const err = await device.receive(serverHello).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AirlockProtocolError);
    expect((err as AirlockProtocolError).code).toBe("HANDSHAKE_DECRYPT_FAILED");

    const { host } = await goldenEndpoints(backend, stored.inputs, "pair");
    await host.receive(hexBytes(frames[0]!.hex));
    await host.receive(hexBytes(frames[2]!.hex));
    await host.accept();
    const data = hexBytes(frames[4]!.hex);
    data[HEADER_LENGTH + 5]! ^= 0x80;
    const err2 = await host.receive(data).catch((e: unknown) => e);
    expect((err2 as AirlockProtocolError).code).toBe("FRAME_DECRYPT_FAILED");
  });
});

async function replayAsHost(backend: CryptoBackend, section: GoldenSection, relayed: boolean): Promise<void> {
  const { host } = await goldenEndpoints(backend, stored.inputs, section.mode);
  const pending: Uint8Array[] = [];
  for (const f of section.frames) {
    if (f.direction === "device->host") {
      const bytes = hexBytes(f.hex);
      if (relayed) setFrameSlot(bytes, stored.inputs.hostSlot);
      const r = await host.receive(bytes);
      if (f.kind === "ClientHello") pending.push(r.reply!);
      else if (f.kind === "ClientAuth") {
        expect(r.claim).toBeDefined();
        expect(r.claim!.sas).toBe(section.derived.sas);
        expect(toHex(r.claim!.devicePublicKey)).toBe(stored.identity.devicePublicKey);
        expect(r.claim!.deviceName).toBe(stored.inputs.deviceName);
        pending.push(await host.accept());
      } else {
        expect(f.kind).toBe("Data");
        expectBytes(r.payload, toHex(payloadOf(f)), `host decrypts frame ${f.index}`);
      }
    } else {
      const produced = f.kind === "Data" ? await host.send(payloadOf(f)) : pending.shift();
      expectBytes(produced, f.hex, `host frame ${f.index} (${f.kind})`);
    }
  }
  expect(pending).toEqual([]);
  const r = host.result!;
  expect(toHex(r.sendKey)).toBe(section.derived.host.sendKey);
  expect(toHex(r.receiveKey)).toBe(section.derived.host.receiveKey);
  expect(toHex(r.sessionId)).toBe(section.derived.sessionId);
  expect(r.sas).toBe(section.derived.sas);
}

async function replayAsDevice(backend: CryptoBackend, section: GoldenSection): Promise<void> {
  const { device } = await goldenEndpoints(backend, stored.inputs, section.mode);
  const pending: Uint8Array[] = [];
  let opened = false;
  for (const f of section.frames) {
    if (f.direction === "host->device") {
      const r = await device.receive(hexBytes(f.hex));
      if (f.kind === "ServerHello") {
        expect(r.sas).toBe(section.derived.sas);
        pending.push(r.reply!);
      } else if (f.kind === "HostVerdict") {
        expect(r.opened).toBeDefined();
        const o = r.opened!;
        expect(toHex(o.sendKey)).toBe(section.derived.device.sendKey);
        expect(toHex(o.receiveKey)).toBe(section.derived.device.receiveKey);
        expect(toHex(o.sessionId)).toBe(section.derived.sessionId);
        expect(o.sas).toBe(section.derived.sas);
        expect(o.mode).toBe(section.mode === "pair" ? 1 : 2);
        opened = true;
      } else {
        expect(f.kind).toBe("Data");
        expectBytes(r.payload, toHex(payloadOf(f)), `device decrypts frame ${f.index}`);
      }
    } else {
      const produced = f.kind === "ClientHello" ? await device.start() : f.kind === "ClientAuth" ? pending.shift() : await device.send(payloadOf(f));
      expectBytes(produced, f.hex, `device frame ${f.index} (${f.kind})`);
    }
  }
  expect(opened).toBe(true);
  expect(pending).toEqual([]);
}

/**
 * Recomputes the handshake key schedule from the stored frames, the inputs and
 * the hash/KDF primitives alone (no DeviceHandshake/HostHandshake/Channel):
 *   t0 = SHA-256(PROTOCOL_NAME); t1 = H(t0 || ClientHello); t2 = H(t1 || ServerHello[0..34))
 *   prk = HKDF-Extract(salt = t2, ikm = X25519(e_d, e_h) [|| psk])
 *   t3 = H(t2 || host key)  (signed by the host, "host handshake")
 *   t4 = H(t3 || encrypted signature); t5 = H(t4 || device key)  (signed by the device)
 *   t6 = H(t5 || ClientAuth ciphertext); app keys, SAS, session id = Expand(prk, label, t6)
 * then opens every sealed part and every DATA frame with the recomputed keys.
 */
async function rederive(backend: CryptoBackend, section: GoldenSection): Promise<void> {
  const inputs = stored.inputs;
  const body = (i: number) => hexBytes(section.frames[i]!.hex).subarray(HEADER_LENGTH);
  const clientHello = body(0);
  const serverHello = body(1);
  const clientAuth = body(2);
  const verdict = body(3);
  const mix = (h: Uint8Array, data: Uint8Array) => sha256(h, data);

  const deviceEphemeral = await backend.x25519FromPrivate(hexBytes(inputs[section.mode].deviceEphemeralPrivateKey, 32));
  expect(toHex(deviceEphemeral.publicKey)).toBe(section.derived.deviceEphemeralPublicKey);
  // ClientHello = 0x01 || mode || n || versions || e_d [|| pairing id]
  expect(toHex(clientHello.subarray(0, 4))).toBe(section.mode === "pair" ? "01010101" : "01020101");
  expect(toHex(clientHello.subarray(4, 36))).toBe(section.derived.deviceEphemeralPublicKey);
  expect(toHex(clientHello.subarray(36))).toBe(section.mode === "pair" ? stored.identity.pairingId : "");
  // ServerHello = 0x02 || version || e_h || sealed signature
  expect(toHex(serverHello.subarray(0, 2))).toBe("0201");
  expect(toHex(serverHello.subarray(2, 34))).toBe(section.derived.hostEphemeralPublicKey);

  const t1 = mix(sha256(textEncoder.encode(PROTOCOL_NAME)), clientHello);
  const t2 = mix(t1, serverHello.subarray(0, SERVER_HELLO_PUBLIC_LENGTH));
  const dh = await deviceEphemeral.dh(serverHello.subarray(2, 34));
  const psk = section.mode === "pair" ? hexBytes(stored.identity.psk, 32) : new Uint8Array(0);
  const ikm = new Uint8Array([...dh, ...psk]);
  const prk = hkdfExtract(t2, ikm);
  const empty = new Uint8Array(0);
  const hsH2d = await backend.aeadKey(deriveKey(prk, "hs h2d", empty));
  const hsD2h = await backend.aeadKey(deriveKey(prk, "hs d2h", empty));

  const hostKey = hexBytes(stored.identity.hostPublicKey, 32);
  const encryptedSignature = serverHello.subarray(SERVER_HELLO_PUBLIC_LENGTH);
  const hostSig = await hsH2d.open(makeNonce(Direction.HOST_TO_DEVICE, 0n), t2, encryptedSignature);
  expect(hostSig).not.toBeNull();
  const t3 = mix(t2, hostKey);
  expect(await verifyWithPurpose(backend, hostKey, SignaturePurpose.HOST_HANDSHAKE, t3, hostSig!)).toBe(true);
  const t4 = mix(t3, encryptedSignature);

  expect(clientAuth[0]).toBe(3);
  const authCiphertext = clientAuth.subarray(1);
  const authPlain = await hsD2h.open(makeNonce(Direction.DEVICE_TO_HOST, 0n), t4, authCiphertext);
  expect(authPlain).not.toBeNull();
  const deviceKey = authPlain!.subarray(0, 32);
  expect(toHex(deviceKey)).toBe(stored.identity.devicePublicKey);
  const t5 = mix(t4, deviceKey);
  expect(await verifyWithPurpose(backend, deviceKey, SignaturePurpose.DEVICE_HANDSHAKE, t5, authPlain!.subarray(32, 96))).toBe(true);
  const nameBytes = textEncoder.encode(inputs.deviceName);
  expect(authPlain![96]).toBe(nameBytes.length);
  expect(toHex(authPlain!.subarray(97, 97 + nameBytes.length))).toBe(toHex(nameBytes));
  expect(authPlain!.subarray(97 + nameBytes.length).every((b) => b === 0)).toBe(true);
  const t6 = mix(t5, authCiphertext);

  expect(verdict[0]).toBe(4);
  const status = await hsH2d.open(makeNonce(Direction.HOST_TO_DEVICE, 1n), t6, verdict.subarray(1));
  expect(status && toHex(status)).toBe("00");

  const d2h = deriveKey(prk, "app d2h", t6);
  const h2d = deriveKey(prk, "app h2d", t6);
  expect(toHex(d2h)).toBe(section.derived.device.sendKey);
  expect(toHex(h2d)).toBe(section.derived.device.receiveKey);
  expect(formatSas(deriveKey(prk, "sas", t6, 8))).toBe(section.derived.sas);
  expect(toHex(deriveKey(prk, "session id", t6, 16))).toBe(section.derived.sessionId);
  expect(toHex(ratchetKey(d2h, 1))).toBe(section.derived.epoch1.deviceToHost);
  expect(toHex(ratchetKey(h2d, 1))).toBe(section.derived.epoch1.hostToDevice);

  // Every DATA frame opens with key[epoch] of its direction and unpads to its payload.
  const keys = { "device->host": [d2h], "host->device": [h2d] };
  for (const f of section.frames.filter((x) => x.kind === "Data")) {
    const chain = keys[f.direction];
    while (chain.length <= f.epoch) chain.push(ratchetKey(chain[chain.length - 1]!, chain.length));
    const frame = hexBytes(f.hex);
    const direction = f.direction === "device->host" ? Direction.DEVICE_TO_HOST : Direction.HOST_TO_DEVICE;
    const aead = await backend.aeadKey(chain[f.epoch]!);
    const padded = await aead.open(makeNonce(direction, BigInt(f.counter)), associatedData(frame), frame.subarray(HEADER_LENGTH));
    expect(padded, `frame ${f.index} opens`).not.toBeNull();
    expect(toBase64Url(sha256(unpad(padded!)))).toBe(toBase64Url(sha256(payloadOf(f))));
  }
}

// ------------------------------------------------ relay-app-v1.json (docs/protocol.md §11)

const EXTRA_FILE = fileURLToPath(new URL("./relay-app-v1.json", import.meta.url));
const extraText = readFileSync(EXTRA_FILE, "utf8");
const extra = JSON.parse(extraText) as ExtraGoldenFile;

describe("golden vectors beyond the handshake (relay-app-v1.json)", () => {
  it("is what the generator writes today, with either backend", async () => {
    for (const backend of [nobleBackend, webCryptoBackend]) {
      expect(serializeExtraGolden(await buildExtraGolden(backend)) === extraText, `${backend.name}: regenerate with \`npm run vectors:golden\``).toBe(true);
    }
  });

  it("the relay AUTH and allowlist messages are the documented byte strings", () => {
    const room = fromBase64Url(extra.room.roomId)!;
    expect(toHex(room)).toBe(extra.room.roomIdBytes);
    expect(toHex(roomIdBytes(hexBytes(stored.identity.hostPublicKey, 32)))).toBe(extra.room.roomIdBytes);
    // roomId (16) || challenge (32)
    expect(extra.relayHostAuth.message).toBe(extra.room.roomIdBytes + extra.inputs.challenge);
    expect(extra.relayDeviceAuth.message).toBe(extra.relayHostAuth.message);
    // roomId (16) || u64 BE version || u16 BE count || keys
    const a = extra.allowlist;
    expect(a.message).toBe(extra.room.roomIdBytes + a.version.toString(16).padStart(16, "0") + a.keys.length.toString(16).padStart(4, "0") + a.keys.join(""));
    expect(
      toHex(
        allowlistMessage(
          room,
          a.version,
          a.keys.map((k) => hexBytes(k, 32)),
        ),
      ),
    ).toBe(a.message);
    expect(toHex(relayAuthMessage(room, hexBytes(extra.inputs.challenge, 32)))).toBe(extra.relayHostAuth.message);
    expect(extra.relayHostAuth.signerPublicKey).toBe(stored.identity.hostPublicKey);
    expect(extra.relayDeviceAuth.signerPublicKey).toBe(stored.identity.devicePublicKey);
    expect(a.keys[0]).toBe(stored.identity.devicePublicKey);
    for (const v of [extra.relayHostAuth, extra.relayDeviceAuth, a]) {
      // utf8("airlock/v1 " + purpose) || 0x00 || message
      expect(v.signedBytes).toBe(toHex(textEncoder.encode(`airlock/v1 ${v.purpose}`)) + "00" + v.message);
      expect(toBase64Url(hexBytes(v.signature, 64))).toBe(v.signatureB64u);
    }
    expect([extra.relayHostAuth.purpose, extra.relayDeviceAuth.purpose, a.purpose]).toEqual(["relay host auth", "relay device auth", "device allowlist"]);
    // With expiries: roomId (16) || u64 BE version || u16 BE count || per key: key (32) || u64 BE expiresAt
    const x = extra.allowlistExpiry;
    const u64 = (n: number) => n.toString(16).padStart(16, "0");
    expect(x.message).toBe(
      extra.room.roomIdBytes + u64(x.version) + x.keys.length.toString(16).padStart(4, "0") + x.keys.map((k, i) => k + u64(x.expires[i]!)).join(""),
    );
    expect(
      toHex(
        allowlistExpiryMessage(
          room,
          x.version,
          x.keys.map((k) => hexBytes(k, 32)),
          x.expires,
        ),
      ),
    ).toBe(x.message);
    expect(x.purpose).toBe("device allowlist with expiry");
    expect(x.signedBytes).toBe(toHex(textEncoder.encode(`airlock/v1 ${x.purpose}`)) + "00" + x.message);
  });

  it("the automation token string is the documented bytes and parses back", () => {
    const t = extra.automationToken;
    const parsed = parseAutomationToken(t.token);
    expect({ ...parsed, hostPublicKey: toHex(parsed.hostPublicKey), seed: toHex(parsed.seed) }).toEqual({
      relayUrl: t.relayUrl,
      hostPublicKey: t.hostPublicKey,
      seed: t.seed,
      name: t.name,
      expiresAt: t.expiresAt,
    });
    // "airlock_tok_" || b64u(u8 1 || host key || seed || u64 expiresAt || u8 len || name || u16 len || url || sha256(...)[0..4])
    const name = toHex(textEncoder.encode(t.name));
    const url = toHex(textEncoder.encode(t.relayUrl));
    const body =
      "01" +
      t.hostPublicKey +
      t.seed +
      t.expiresAt.toString(16).padStart(16, "0") +
      (name.length / 2).toString(16).padStart(2, "0") +
      name +
      (url.length / 2).toString(16).padStart(4, "0") +
      url;
    expect(t.token).toBe("airlock_tok_" + toBase64Url(hexBytes(body + toHex(sha256(hexBytes(body)).subarray(0, 4)))));
  });

  it.each([nobleBackend, webCryptoBackend])("the signatures verify with $name, and only for their own purpose and bytes", async (backend) => {
    for (const v of [extra.relayHostAuth, extra.relayDeviceAuth, extra.allowlist, extra.allowlistExpiry]) {
      const key = hexBytes(v.signerPublicKey, 32);
      const sig = hexBytes(v.signature, 64);
      expect(await backend.verify(key, hexBytes(v.signedBytes), sig), v.purpose).toBe(true);
      const tampered = hexBytes(v.signedBytes);
      tampered[tampered.length - 1]! ^= 1;
      expect(await backend.verify(key, tampered, sig)).toBe(false);
      const otherPurpose = v.purpose.startsWith("device allowlist") ? SignaturePurpose.RELAY_HOST_AUTH : SignaturePurpose.DEVICE_ALLOWLIST;
      expect(await verifyWithPurpose(backend, key, otherPurpose, hexBytes(v.message), sig)).toBe(false);
    }
  });

  it("each malformed link fails with exactly its stored code, and the list covers every link code", () => {
    for (const f of extra.linkFailures) expect(linkOutcome(f.link, f.nowSeconds), f.what).toBe(f.code);
    expect(new Set(extra.linkFailures.map((f) => f.code))).toEqual(
      new Set(["LINK_MALFORMED", "LINK_TOO_LONG", "LINK_UNSUPPORTED_VERSION", "LINK_EXPIRED", "LINK_ROOM_MISMATCH", "LINK_INSECURE_URL"]),
    );
    expect(linkOutcome(stored.identity.pairingLink, stored.inputs.clockSeconds)).toBe("OK");
  });

  it("application messages encode to exactly the stored bytes and decode back", () => {
    const types = extra.appMessages.map((m) => m.message.type);
    expect(types).toEqual(expect.arrayContaining(["thread.subscribe", "approval.decide", "event", "error"]));
    for (const m of extra.appMessages) {
      const bytes = appProtocol.encode(m.message as Parameters<typeof appProtocol.encode>[0]);
      expectBytes(bytes, m.hex, m.what);
      expect(toHex(textEncoder.encode(m.utf8))).toBe(m.hex);
      expect(appProtocol.decode(hexBytes(m.hex))).toEqual({ v: 1, ...m.message });
    }
  });
});
