// The Airlock handshake: four messages, two modes.
//
//   device                                   host
//   ClientHello(mode, versions, e_d[, pairingId])  →
//                 ←  ServerHello(version, e_h, AEAD_hs_h2d(sig_host))
//   ClientAuth(AEAD_hs_d2h(device key, sig_device, name))  →
//                 ←  HostVerdict(AEAD_hs_h2d(status))
//
// Keys: prk = HKDF-Extract(salt = transcript hash after ServerHello's public
// part, ikm = X25519(e_d, e_h) [|| psk in pair mode]). Handshake and
// application keys are HKDF-Expand(prk, labelled info bound to the transcript).
// Signatures are over transcript hashes that include the signer's own public
// key, under distinct purposes (signatures.ts). docs/protocol.md §Handshake is
// the byte-level specification of this file.
import type { CryptoBackend, Ed25519Signer, RandomSource, X25519KeyPair } from "./backend.ts";
import { secureRandom } from "./backend.ts";
import { bytesEqual, concatBytes, textEncoder, u8, view, wipe } from "./bytes.ts";
import { PUBLIC_KEY_LENGTH, SUPPORTED_VERSIONS } from "./constants.ts";
import { AirlockProtocolError, errorCodeFromWire, fail, type ErrorCode, ERRORS } from "./errors.ts";
import { deriveKey, hkdfExtract, sha256 } from "./hash.ts";
import {
  checkDeviceName,
  decodeClientAuth,
  decodeClientHello,
  deviceNameFromBytes,
  decodeHostVerdict,
  decodeServerHello,
  encodeClientAuth,
  encodeClientAuthPlaintext,
  encodeClientHello,
  encodeHostVerdict,
  encodeServerHello,
  HandshakeMode,
  HandshakeType,
  readClientAuthPlaintext,
  SERVER_HELLO_PUBLIC_LENGTH,
} from "./handshake-messages.ts";
import { Direction, makeNonce } from "./nonce.ts";
import { SignaturePurpose, signWithPurpose, verifyWithPurpose } from "./signatures.ts";

export const PROTOCOL_NAME = "Airlock v1 handshake: X25519 Ed25519 HKDF-SHA256 AES-256-GCM";

/** Running transcript hash: h = SHA-256(h || data). */
class Transcript {
  hash: Uint8Array = sha256(textEncoder.encode(PROTOCOL_NAME));
  mix(data: Uint8Array): Uint8Array {
    this.hash = sha256(this.hash, data);
    return this.hash;
  }
}

/** What both sides hold once the handshake has succeeded. */
export interface HandshakeResult {
  version: number;
  mode: HandshakeMode;
  /** 32-byte key for frames this side sends. */
  sendKey: Uint8Array;
  /** 32-byte key for frames this side receives. */
  receiveKey: Uint8Array;
  /** Short authentication string, "123 456"; equal on both sides. */
  sas: string;
  /** 16 bytes naming this session on both sides (never sent). */
  sessionId: Uint8Array;
  hostPublicKey: Uint8Array;
  devicePublicKey: Uint8Array;
  deviceName: string;
}

interface Derived {
  prk: Uint8Array;
  hsHostToDevice: Uint8Array;
  hsDeviceToHost: Uint8Array;
}

function deriveHandshakeKeys(transcriptHash: Uint8Array, dh: Uint8Array, psk: Uint8Array | undefined): Derived {
  const ikm = psk ? concatBytes(dh, psk) : dh;
  const prk = hkdfExtract(transcriptHash, ikm);
  wipe(ikm);
  const empty = new Uint8Array(0);
  return {
    prk,
    hsHostToDevice: deriveKey(prk, "hs h2d", empty),
    hsDeviceToHost: deriveKey(prk, "hs d2h", empty),
  };
}

/** SAS: 8 derived bytes as a big-endian integer mod 10^6, shown as "123 456". */
export function formatSas(bytes: Uint8Array): string {
  const n = view(bytes).getBigUint64(0) % 1_000_000n;
  const s = n.toString().padStart(6, "0");
  return `${s.slice(0, 3)} ${s.slice(3)}`;
}

function deriveFinal(prk: Uint8Array, finalHash: Uint8Array) {
  return {
    appDeviceToHost: deriveKey(prk, "app d2h", finalHash),
    appHostToDevice: deriveKey(prk, "app h2d", finalHash),
    sas: formatSas(deriveKey(prk, "sas", finalHash, 8)),
    sessionId: deriveKey(prk, "session id", finalHash, 16),
  };
}

/** A fresh ephemeral key: from the injected RandomSource (vectors, tests) or the platform's generator. */
async function ephemeralKey(backend: CryptoBackend, random: RandomSource | undefined): Promise<X25519KeyPair> {
  if (!random && backend.generateX25519) return backend.generateX25519();
  return backend.x25519FromPrivate((random ?? secureRandom)(32));
}

/** Picks the highest version both sides speak. */
export function selectVersion(offered: readonly number[], supported: readonly number[] = SUPPORTED_VERSIONS): number {
  for (const v of offered) if (supported.includes(v)) return v;
  fail("NO_COMMON_VERSION", `offered ${offered.join(",")}`);
}

// ---------------------------------------------------------------- device side

export interface DeviceHandshakeOptions {
  backend: CryptoBackend;
  /** The host key from the QR (pair) or the trusted-host store (resume). */
  hostPublicKey: Uint8Array;
  deviceSigner: Ed25519Signer;
  deviceName: string;
  /** Pair mode: pairing id and PSK derived from the link's secret (identity.ts). */
  pairing?: { pairingId: Uint8Array; psk: Uint8Array };
  versions?: readonly number[];
  random?: RandomSource;
}

type DeviceState = "init" | "sent-hello" | "sent-auth" | "done" | "failed";

export class DeviceHandshake {
  #o: DeviceHandshakeOptions;
  #state: DeviceState = "init";
  #busy = false;
  #t = new Transcript();
  #ephemeral?: X25519KeyPair;
  #keys?: Derived;
  #version = 0;
  #final?: ReturnType<typeof deriveFinal>;
  #finalHash?: Uint8Array;

  constructor(options: DeviceHandshakeOptions) {
    if (options.hostPublicKey.length !== PUBLIC_KEY_LENGTH) throw new Error("host public key must be 32 bytes");
    this.#o = options;
  }

  get mode(): HandshakeMode {
    return this.#o.pairing ? HandshakeMode.PAIR : HandshakeMode.RESUME;
  }

  /** SAS to show the user once ClientAuth is sent (before the host's verdict). */
  get sas(): string | undefined {
    return this.#final?.sas;
  }

  async start(): Promise<Uint8Array> {
    this.#expect("init");
    return this.#guard(async () => {
      // Refuse before anything is sent: the host would refuse this name (DEVICE_NAME_INVALID).
      checkDeviceName(this.#o.deviceName);
      this.#ephemeral = await ephemeralKey(this.#o.backend, this.#o.random);
      const msg = encodeClientHello({
        mode: this.mode,
        versions: [...(this.#o.versions ?? SUPPORTED_VERSIONS)],
        ephemeralPublicKey: this.#ephemeral.publicKey,
        ...(this.#o.pairing ? { pairingId: this.#o.pairing.pairingId } : {}),
      });
      this.#t.mix(msg);
      this.#state = "sent-hello";
      return msg;
    });
  }

  /** Verifies the host and returns ClientAuth. */
  async onServerHello(body: Uint8Array): Promise<Uint8Array> {
    this.#expect("sent-hello");
    return this.#guard(async () => {
      const o = this.#o;
      const hello = decodeServerHello(body);
      const offered = o.versions ?? SUPPORTED_VERSIONS;
      if (!offered.includes(hello.version)) fail("DOWNGRADE_DETECTED", `host chose ${hello.version}`);
      this.#version = hello.version;
      const dh = await this.#ephemeral!.dh(hello.ephemeralPublicKey);
      const afterPublic = this.#t.mix(body.subarray(0, SERVER_HELLO_PUBLIC_LENGTH));
      this.#keys = deriveHandshakeKeys(afterPublic, dh, o.pairing?.psk);
      wipe(dh);
      const hsH2d = await o.backend.aeadKey(this.#keys.hsHostToDevice);
      const signature = await hsH2d.open(makeNonce(Direction.HOST_TO_DEVICE, 0n), afterPublic, hello.encryptedSignature);
      if (!signature) fail("HANDSHAKE_DECRYPT_FAILED");
      const signedHash = this.#t.mix(o.hostPublicKey);
      const hostOk = await verifyWithPurpose(o.backend, o.hostPublicKey, SignaturePurpose.HOST_HANDSHAKE, signedHash, signature);
      if (!hostOk) fail("HOST_SIGNATURE_INVALID");
      const beforeAuth = this.#t.mix(hello.encryptedSignature);

      // The host is authenticated: only now does the device reveal its identity.
      const deviceKey = o.deviceSigner.publicKey;
      const deviceHash = this.#t.mix(deviceKey);
      const deviceSig = await signWithPurpose(o.deviceSigner, SignaturePurpose.DEVICE_HANDSHAKE, deviceHash);
      const plaintext = encodeClientAuthPlaintext({ devicePublicKey: deviceKey, signature: deviceSig, deviceName: o.deviceName });
      const hsD2h = await o.backend.aeadKey(this.#keys.hsDeviceToHost);
      const ciphertext = await hsD2h.seal(makeNonce(Direction.DEVICE_TO_HOST, 0n), beforeAuth, plaintext);
      this.#finalHash = this.#t.mix(ciphertext);
      this.#final = deriveFinal(this.#keys.prk, this.#finalHash);
      this.#state = "sent-auth";
      return encodeClientAuth(ciphertext);
    });
  }

  /** Reads the host's verdict; resolves with the session keys when accepted. */
  async onHostVerdict(body: Uint8Array): Promise<HandshakeResult> {
    this.#expect("sent-auth");
    return this.#guard(async () => {
      const ciphertext = decodeHostVerdict(body);
      const hsH2d = await this.#o.backend.aeadKey(this.#keys!.hsHostToDevice);
      const status = await hsH2d.open(makeNonce(Direction.HOST_TO_DEVICE, 1n), this.#finalHash!, ciphertext);
      if (!status) fail("HANDSHAKE_DECRYPT_FAILED", "verdict");
      if (status[0] !== 0) {
        const code = errorCodeFromWire(status[0]!);
        throw new AirlockProtocolError(code ?? "HANDSHAKE_ABORTED", code ? "refused by host" : `unknown code ${status[0]}`, {
          remote: true,
        });
      }
      const f = this.#final!;
      const result: HandshakeResult = {
        version: this.#version,
        mode: this.mode,
        sendKey: f.appDeviceToHost,
        receiveKey: f.appHostToDevice,
        sas: f.sas,
        sessionId: f.sessionId,
        hostPublicKey: this.#o.hostPublicKey,
        devicePublicKey: this.#o.deviceSigner.publicKey,
        deviceName: this.#o.deviceName,
      };
      this.#finish();
      this.#state = "done";
      return result;
    });
  }

  #expect(state: DeviceState): void {
    if (this.#busy) fail("UNEXPECTED_MESSAGE", "a handshake step is already running");
    if (this.#state !== state) fail("UNEXPECTED_MESSAGE", `device handshake is ${this.#state}`);
  }

  /**
   * Runs one step. Steps never overlap (#busy), and any failure is final: the
   * handshake cannot be continued after an error.
   */
  async #guard<T>(step: () => Promise<T>): Promise<T> {
    this.#busy = true;
    try {
      return await step();
    } catch (e) {
      this.#state = "failed";
      this.#finish();
      throw e instanceof AirlockProtocolError ? e : new AirlockProtocolError("HANDSHAKE_MALFORMED", String(e));
    } finally {
      this.#busy = false;
    }
  }

  #finish(): void {
    if (this.#keys) wipe(this.#keys.prk, this.#keys.hsDeviceToHost, this.#keys.hsHostToDevice);
    this.#ephemeral = undefined as never;
  }
}

// ------------------------------------------------------------------ host side

/** The host's pending pairings (pairing.ts implements it). */
export interface PairingLookup {
  /** Returns the PSK for a pending pairing id, or throws PAIRING_UNKNOWN / PAIRING_EXPIRED / PAIRING_RATE_LIMITED. */
  begin(pairingId: Uint8Array): { psk: Uint8Array };
  /** Single use: "consumed" for the first caller only. Called once ClientAuth verifies. */
  consume(pairingId: Uint8Array): "consumed" | "unknown" | "expired";
}

export interface HostHandshakeOptions {
  backend: CryptoBackend;
  hostSigner: Ed25519Signer;
  pairings: PairingLookup;
  /** Resume mode: is this device key on the host's trusted list? */
  isTrustedDevice(devicePublicKey: Uint8Array): boolean | Promise<boolean>;
  versions?: readonly number[];
  random?: RandomSource;
}

/** What the host learns from a verified ClientAuth, before it decides. */
export interface DeviceClaim {
  mode: HandshakeMode;
  devicePublicKey: Uint8Array;
  deviceName: string;
  /** Show this and ask the operator to compare it with the device's screen (pair mode). */
  sas: string;
}

type HostState = "init" | "sent-hello" | "verified" | "done" | "failed";

export class HostHandshake {
  #o: HostHandshakeOptions;
  #state: HostState = "init";
  #busy = false;
  #t = new Transcript();
  #mode: HandshakeMode = HandshakeMode.RESUME;
  #pairingId?: Uint8Array;
  #version = 0;
  #keys?: Derived;
  #claim?: DeviceClaim;
  #final?: ReturnType<typeof deriveFinal>;
  #finalHash?: Uint8Array;

  constructor(options: HostHandshakeOptions) {
    this.#o = options;
  }

  get mode(): HandshakeMode {
    return this.#mode;
  }

  async onClientHello(body: Uint8Array): Promise<Uint8Array> {
    this.#expect("init");
    return this.#guard(async () => {
      const o = this.#o;
      const hello = decodeClientHello(body);
      this.#mode = hello.mode;
      this.#version = selectVersion(hello.versions, o.versions ?? SUPPORTED_VERSIONS);
      let psk: Uint8Array | undefined;
      if (hello.mode === HandshakeMode.PAIR) {
        this.#pairingId = hello.pairingId!;
        psk = o.pairings.begin(hello.pairingId!).psk;
      }
      this.#t.mix(body);
      const ephemeral = await ephemeralKey(o.backend, o.random);
      const dh = await ephemeral.dh(hello.ephemeralPublicKey);
      const publicPart = concatBytes(u8(HandshakeType.SERVER_HELLO), u8(this.#version), ephemeral.publicKey);
      const afterPublic = this.#t.mix(publicPart);
      this.#keys = deriveHandshakeKeys(afterPublic, dh, psk);
      wipe(dh);
      const signedHash = this.#t.mix(o.hostSigner.publicKey);
      const signature = await signWithPurpose(o.hostSigner, SignaturePurpose.HOST_HANDSHAKE, signedHash);
      const hsH2d = await o.backend.aeadKey(this.#keys.hsHostToDevice);
      const encryptedSignature = await hsH2d.seal(makeNonce(Direction.HOST_TO_DEVICE, 0n), afterPublic, signature);
      this.#t.mix(encryptedSignature);
      this.#state = "sent-hello";
      return encodeServerHello({ version: this.#version, ephemeralPublicKey: ephemeral.publicKey, encryptedSignature });
    });
  }

  /**
   * Verifies ClientAuth. In pair mode this consumes the pairing link (single
   * use). The caller then shows the SAS (pair mode) and calls accept() or
   * reject(). In resume mode an untrusted key throws DEVICE_NOT_TRUSTED whose
   * `reply` is the authenticated HostVerdict refusal to send.
   */
  async onClientAuth(body: Uint8Array): Promise<DeviceClaim> {
    this.#expect("sent-hello");
    return this.#guard(async () => {
      const o = this.#o;
      const ciphertext = decodeClientAuth(body);
      const beforeAuth = this.#t.hash;
      const hsD2h = await o.backend.aeadKey(this.#keys!.hsDeviceToHost);
      const plaintext = await hsD2h.open(makeNonce(Direction.DEVICE_TO_HOST, 0n), beforeAuth, ciphertext);
      if (!plaintext) fail("HANDSHAKE_DECRYPT_FAILED", "ClientAuth");
      const auth = readClientAuthPlaintext(plaintext);
      const deviceHash = this.#t.mix(auth.devicePublicKey);
      const ok = await verifyWithPurpose(o.backend, auth.devicePublicKey, SignaturePurpose.DEVICE_HANDSHAKE, deviceHash, auth.signature);
      if (!ok) fail("DEVICE_SIGNATURE_INVALID");
      if (bytesEqual(auth.devicePublicKey, o.hostSigner.publicKey)) fail("DEVICE_SIGNATURE_INVALID", "device key equals host key");
      this.#finalHash = this.#t.mix(ciphertext);
      this.#final = deriveFinal(this.#keys!.prk, this.#finalHash);
      let deviceName: string;
      try {
        deviceName = deviceNameFromBytes(auth.nameBytes);
      } catch {
        // Checked after the signature, before a pairing link is consumed: the device gets an
        // authenticated refusal, and a pairing link stays usable for a retry with a valid name.
        const reply = await this.#verdict(ERRORS.DEVICE_NAME_INVALID.wire);
        throw new AirlockProtocolError("DEVICE_NAME_INVALID", undefined, { reply });
      }
      let trusted = true;
      if (this.#mode === HandshakeMode.PAIR) {
        const outcome = o.pairings.consume(this.#pairingId!);
        if (outcome === "expired") fail("PAIRING_EXPIRED");
        if (outcome !== "consumed") fail("PAIRING_UNKNOWN", "already used");
      } else {
        trusted = await o.isTrustedDevice(auth.devicePublicKey);
      }
      this.#claim = { mode: this.#mode, devicePublicKey: auth.devicePublicKey, deviceName, sas: this.#final.sas };
      this.#state = "verified";
      if (!trusted) {
        // The device proved its key, so it gets an authenticated refusal it can trust.
        const reply = await this.#verdict(ERRORS.DEVICE_NOT_TRUSTED.wire);
        throw new AirlockProtocolError("DEVICE_NOT_TRUSTED", undefined, { reply });
      }
      return this.#claim;
    });
  }

  /** Accepts the device: returns the HostVerdict body and the session keys. */
  async accept(): Promise<{ verdict: Uint8Array; result: HandshakeResult }> {
    this.#expect("verified");
    const verdict = await this.#guard(() => this.#verdict(0));
    const f = this.#final!;
    const claim = this.#claim!;
    const result: HandshakeResult = {
      version: this.#version,
      mode: this.#mode,
      sendKey: f.appHostToDevice,
      receiveKey: f.appDeviceToHost,
      sas: f.sas,
      sessionId: f.sessionId,
      hostPublicKey: this.#o.hostSigner.publicKey,
      devicePublicKey: claim.devicePublicKey,
      deviceName: claim.deviceName,
    };
    this.#finish("done");
    return { verdict, result };
  }

  /**
   * Refuses a verified device with an authenticated reason (e.g. SAS_REJECTED).
   * Returns the HostVerdict body to send.
   */
  async reject(code: ErrorCode): Promise<Uint8Array> {
    this.#expect("verified");
    const verdict = await this.#guard(() => this.#verdict(ERRORS[code].wire));
    this.#finish("failed");
    return verdict;
  }

  async #verdict(status: number): Promise<Uint8Array> {
    const hsH2d = await this.#o.backend.aeadKey(this.#keys!.hsHostToDevice);
    const ciphertext = await hsH2d.seal(makeNonce(Direction.HOST_TO_DEVICE, 1n), this.#finalHash!, u8(status));
    return encodeHostVerdict(ciphertext);
  }

  #expect(state: HostState): void {
    if (this.#busy) fail("UNEXPECTED_MESSAGE", "a handshake step is already running");
    if (this.#state !== state) fail("UNEXPECTED_MESSAGE", `host handshake is ${this.#state}`);
  }

  /** As DeviceHandshake's: steps never overlap and failures are final. */
  async #guard<T>(step: () => Promise<T>): Promise<T> {
    this.#busy = true;
    try {
      return await step();
    } catch (e) {
      this.#finish("failed");
      throw e instanceof AirlockProtocolError ? e : new AirlockProtocolError("HANDSHAKE_MALFORMED", String(e));
    } finally {
      this.#busy = false;
    }
  }

  #finish(state: HostState): void {
    this.#state = state;
    if (this.#keys) wipe(this.#keys.prk, this.#keys.hsDeviceToHost, this.#keys.hsHostToDevice);
  }
}
