// Builds test/vectors/relay-app-v1.json: golden vectors beyond the handshake
// (docs/protocol.md §11): the relay AUTH signatures, the allowlist signature,
// pairing-link parse failures with their exact codes, and application
// messages with their exact encoded bytes. generate-golden.ts writes it;
// golden.test.ts rebuilds it and checks every entry against the code.
// Deterministic: Ed25519 signatures are (RFC 8032), the rest is fixed text.
import {
  AirlockProtocolError,
  SignaturePurpose,
  allowlistExpiryMessage,
  allowlistMessage,
  appProtocol,
  encodePairingLink,
  parsePairingLink,
  relayAuthMessage,
  roomIdBytes,
  roomIdFor,
  sha256,
  signWithPurpose,
  signedMessage,
  strictTextDecoder,
  textEncoder,
  toBase64Url,
  toHex,
  type CryptoBackend,
} from "../../protocol/src/index.ts";
import { encodeAutomationToken } from "../../protocol/src/automation-token.ts";
import { fixedInputs, hexBytes, type GoldenInputs } from "./golden-build.ts";

const label = (s: string): string => toHex(sha256(textEncoder.encode(`airlock golden v1: ${s}`)));

export interface SignatureVector {
  description: string;
  signerPublicKey: string;
  purpose: string;
  /** The purpose-free message (relayAuthMessage / allowlistMessage). */
  message: string;
  /** What Ed25519 signs: utf8("airlock/v1 " + purpose) || 0x00 || message. */
  signedBytes: string;
  signature: string;
  /** The signature as sent in the relay's JSON (base64url). */
  signatureB64u: string;
}

export interface LinkFailure {
  what: string;
  link: string;
  nowSeconds: number;
  code: string;
}

export interface AppMessageVector {
  what: string;
  /** The argument of appProtocol.encode (without "v"). */
  message: Record<string, unknown>;
  /** The exact encoded payload, as text and as hex. */
  utf8: string;
  hex: string;
}

export interface ExtraGoldenFile {
  description: string;
  inputs: { hostEd25519Seed: string; deviceEd25519Seed: string; secondDeviceEd25519Seed: string; challenge: string; allowlistVersion: number };
  room: { roomId: string; roomIdBytes: string };
  relayHostAuth: SignatureVector;
  relayDeviceAuth: SignatureVector;
  allowlist: SignatureVector & { version: number; keys: string[] };
  /** allowlist.set with `expires` (automation tokens, docs/protocol.md §9.4 and §12). */
  allowlistExpiry: SignatureVector & { version: number; keys: string[]; expires: number[] };
  /** An automation token string (§12) built from the second device seed, and what it holds. */
  automationToken: { token: string; relayUrl: string; hostPublicKey: string; seed: string; name: string; expiresAt: number };
  linkFailures: LinkFailure[];
  appMessages: AppMessageVector[];
}

async function signatureVector(
  backend: CryptoBackend,
  seed: string,
  purpose: (typeof SignaturePurpose)[keyof typeof SignaturePurpose],
  message: Uint8Array,
  description: string,
): Promise<SignatureVector> {
  const signer = await backend.signerFromSeed(hexBytes(seed, 32));
  const signature = await signWithPurpose(signer, purpose, message);
  return {
    description,
    signerPublicKey: toHex(signer.publicKey),
    purpose,
    message: toHex(message),
    signedBytes: toHex(signedMessage(purpose, message)),
    signature: toHex(signature),
    signatureB64u: toBase64Url(signature),
  };
}

/** The code parsePairingLink fails with, or "OK". */
export function linkOutcome(link: string, nowSeconds: number): string {
  try {
    parsePairingLink(link, nowSeconds);
    return "OK";
  } catch (e) {
    if (e instanceof AirlockProtocolError) return e.code;
    throw e;
  }
}

/** Malformed variants of the golden pairing link. */
function linkCases(good: string, inputs: GoldenInputs, other: string): Array<Omit<LinkFailure, "code">> {
  const now = inputs.clockSeconds;
  const [app, fragment] = good.split("#") as [string, string];
  const fields = fragment.split("&");
  const field = (name: string) => fields.find((f) => f.startsWith(`${name}=`))!;
  const withField = (name: string, value: string) => `${app}#${fields.map((f) => (f.startsWith(`${name}=`) ? `${name}=${value}` : f)).join("&")}`;
  return [
    { what: "no fragment", link: app, nowSeconds: now },
    { what: "longer than 2048 characters", link: `${good}${"A".repeat(2049 - good.length)}`, nowSeconds: now },
    { what: "fields out of order", link: `${app}#${[fields[1], fields[0], ...fields.slice(2)].join("&")}`, nowSeconds: now },
    { what: "a field missing", link: `${app}#${fields.slice(0, 5).join("&")}`, nowSeconds: now },
    { what: "an extra field", link: `${good}&x=1`, nowSeconds: now },
    { what: "version 2", link: withField("v", "2"), nowSeconds: now },
    { what: "version with a leading zero", link: withField("v", "01"), nowSeconds: now },
    { what: "relay URL not canonically percent-encoded", link: withField("relay", field("relay").slice(6).replace("%3A", "%3a")), nowSeconds: now },
    { what: "relay URL over plain http (not loopback)", link: withField("relay", encodeURIComponent("http://relay.airlock.example")), nowSeconds: now },
    { what: "relay URL with a query", link: withField("relay", encodeURIComponent("https://relay.airlock.example/?a=1")), nowSeconds: now },
    { what: "app URL over plain http (not loopback)", link: good.replace("https://app.", "http://app."), nowSeconds: now },
    { what: "room of another host key", link: withField("room", roomIdFor(hexBytes(other, 32))), nowSeconds: now },
    { what: "room with base64 padding", link: withField("room", `${field("room").slice(5)}==`), nowSeconds: now },
    { what: "secret one byte short", link: withField("secret", field("secret").slice(7, -3)), nowSeconds: now },
    { what: "expiry with a leading zero", link: withField("exp", `0${inputs.pairingExpiresAt}`), nowSeconds: now },
    { what: "expired (exp equals the clock)", link: good, nowSeconds: inputs.pairingExpiresAt },
  ];
}

const APP_MESSAGES: Array<{ what: string; message: Parameters<typeof appProtocol.encode>[0] }> = [
  {
    what: "thread.subscribe with a cumulative ack",
    message: { type: "thread.subscribe", id: "c7", ack: [{ thread: "t_golden", seq: 11 }], body: { thread: "t_golden", afterSeq: 11 } },
  },
  {
    what: "approval.decide",
    message: { type: "approval.decide", id: "c8", body: { thread: "t_golden", approvalId: "a_1", decision: "approve_once", note: "looks right" } },
  },
  {
    what: "an event (turn.status) with thread and seq",
    message: { type: "event", id: "e12", thread: "t_golden", seq: 12, body: { kind: "turn.status", turnId: "u_3", status: "completed" } },
  },
  {
    what: "a result with data, answering thread.subscribe",
    message: { type: "result", id: "h4", re: "c7", body: { data: { thread: "t_golden", lastSeq: 12 } } },
  },
  {
    what: "an error answering approval.decide",
    message: { type: "error", id: "h5", re: "c8", body: { code: "NOT_PENDING", message: "approval a_1 is not waiting for a decision" } },
  },
  {
    what: "non-ASCII text is sent as UTF-8, not escaped",
    message: { type: "thread.send", id: "c9", body: { thread: "t_golden", text: "café ✓ 名前" } },
  },
];

export async function buildExtraGolden(backend: CryptoBackend): Promise<ExtraGoldenFile> {
  const inputs = fixedInputs();
  const challenge = hexBytes(label("relay challenge"), 32);
  const secondSeed = label("second device ed25519 seed");
  const host = await backend.signerFromSeed(hexBytes(inputs.hostEd25519Seed, 32));
  const device = await backend.signerFromSeed(hexBytes(inputs.deviceEd25519Seed, 32));
  const second = await backend.signerFromSeed(hexBytes(secondSeed, 32));
  const room = roomIdBytes(host.publicKey);
  const authMessage = relayAuthMessage(room, challenge);
  const version = 3;
  const keys = [device.publicKey, second.publicKey];
  const allowlist = await signatureVector(
    backend,
    inputs.hostEd25519Seed,
    SignaturePurpose.DEVICE_ALLOWLIST,
    allowlistMessage(room, version, keys),
    "allowlist.set: the host signs roomId (16) || u64 BE version || u16 BE count || keys (32 each, in the order sent)",
  );
  // The first key never expires (a phone), the second does (a token): 2030-01-01T00:00:00Z.
  const expires = [0, Date.UTC(2030, 0, 1)];
  const allowlistExpiry = await signatureVector(
    backend,
    inputs.hostEd25519Seed,
    SignaturePurpose.DEVICE_ALLOWLIST_EXPIRY,
    allowlistExpiryMessage(room, version + 1, keys, expires),
    "allowlist.set with expires: the host signs roomId (16) || u64 BE version || u16 BE count || per key (32) || u64 BE expiresAt (unix ms, 0 = never)",
  );
  const automationToken = {
    relayUrl: inputs.relayUrl,
    hostPublicKey: toHex(host.publicKey),
    seed: secondSeed,
    name: "nightly-docs",
    expiresAt: Date.UTC(2030, 0, 1),
  };
  const token = encodeAutomationToken({ ...automationToken, hostPublicKey: host.publicKey, seed: hexBytes(secondSeed, 32) });
  const good = encodePairingLink({
    appUrl: inputs.appUrl,
    relayUrl: inputs.relayUrl,
    hostPublicKey: host.publicKey,
    secret: hexBytes(inputs.pairingSecret, 32),
    expiresAt: inputs.pairingExpiresAt,
  });
  const linkFailures = linkCases(good, inputs, toHex(second.publicKey)).map((c) => ({ ...c, code: linkOutcome(c.link, c.nowSeconds) }));
  const appMessages = APP_MESSAGES.map(({ what, message }) => {
    const bytes = appProtocol.encode(message);
    return { what, message: message as Record<string, unknown>, utf8: strictTextDecoder.decode(bytes), hex: toHex(bytes) };
  });
  return {
    description:
      "Airlock protocol v1 golden vectors beyond the handshake (docs/protocol.md §11). Keys come from handshake-v1.json's " +
      "inputs (host and device seeds) plus a second device seed; the challenge is SHA-256('airlock golden v1: relay challenge'). " +
      "Signatures are Ed25519 (RFC 8032) over signedBytes = utf8('airlock/v1 ' + purpose) || 0x00 || message. linkFailures: " +
      "each link parsed at nowSeconds fails with exactly code. appMessages: appProtocol.encode(message) gives exactly these bytes " +
      "(key order v, type, id, re, thread, seq, ack, body; no whitespace). Regenerate with `npm run vectors:golden`.",
    inputs: {
      hostEd25519Seed: inputs.hostEd25519Seed,
      deviceEd25519Seed: inputs.deviceEd25519Seed,
      secondDeviceEd25519Seed: secondSeed,
      challenge: toHex(challenge),
      allowlistVersion: version,
    },
    room: { roomId: roomIdFor(host.publicKey), roomIdBytes: toHex(room) },
    relayHostAuth: await signatureVector(
      backend,
      inputs.hostEd25519Seed,
      SignaturePurpose.RELAY_HOST_AUTH,
      authMessage,
      "AUTH from the host: signs roomId (16) || challenge (32)",
    ),
    relayDeviceAuth: await signatureVector(
      backend,
      inputs.deviceEd25519Seed,
      SignaturePurpose.RELAY_DEVICE_AUTH,
      authMessage,
      "AUTH from a device: signs roomId (16) || challenge (32)",
    ),
    allowlist: { ...allowlist, version, keys: keys.map(toHex) },
    allowlistExpiry: { ...allowlistExpiry, version: version + 1, keys: keys.map(toHex), expires },
    automationToken: { token, ...automationToken },
    linkFailures,
    appMessages,
  };
}

export function serializeExtraGolden(file: ExtraGoldenFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}
