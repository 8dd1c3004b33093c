// Relay control messages: what clients and the relay say to each other about
// admission, presence and limits. They travel as frames (header.ts) whose type
// is in 0x20–0x3f, with a UTF-8 JSON body; the relay never sees anything else
// but the headers of end-to-end frames. docs/protocol.md §9 specifies them.
//
// This module carries no crypto implementation: it builds the byte strings
// that hosts and devices sign (signatures.ts purposes) and the relay verifies.
import * as s from "./schema.ts";
import { concatBytes, fromBase64Url, strictTextDecoder, textEncoder, u16be, u64be } from "./bytes.ts";
import { PUBLIC_KEY_LENGTH, ROOM_ID_LENGTH } from "./constants.ts";
import { AirlockProtocolError, fail } from "./errors.ts";
import { decodeHeader, encodeFrame, frameBody, FrameType } from "./header.ts";

export const RelayFrame = {
  // relay → client
  CHALLENGE: 0x20,
  WELCOME: 0x21,
  PRESENCE: 0x22,
  NOTICE: 0x23,
  RESULT: 0x24,
  // client → relay
  AUTH: 0x30,
  COMMAND: 0x31,
} as const;
export type RelayFrameType = (typeof RelayFrame)[keyof typeof RelayFrame];

/** Largest control-frame body either side accepts. */
export const MAX_CONTROL_BODY = 16 * 1024;
export const CHALLENGE_LENGTH = 32;
/** Most keys a host may publish in its device allowlist. */
export const MAX_ALLOWLIST_KEYS = 64;
/** RFC 8030/8291: a push message body (already encrypted by the host, aes128gcm) is at most 4096 bytes. */
export const MAX_PUSH_BODY_BYTES = 4096;
/** RFC 8030 §5.2: TTL in seconds; 28 days is what push services keep at most. */
export const MAX_PUSH_TTL_SECONDS = 28 * 24 * 3600;

/** Text message a client sends to keep its socket alive; the relay answers "pong" without waking. */
export const PING_TEXT = "ping";
export const PONG_TEXT = "pong";

/** WebSocket close codes the relay uses; the reason text is at most 123 bytes. */
export const RelayClose = {
  NORMAL: 1000,
  AUTH_TIMEOUT: 4001,
  AUTH_FAILED: 4002,
  REPLACED: 4003,
  REVOKED: 4004,
  FRAME_INVALID: 4005,
  FRAME_TOO_LARGE: 4006,
  COUNTER_VIOLATION: 4007,
  RATE_LIMITED: 4008,
  ROOM_FULL: 4009,
  IDLE: 4010,
  HOST_RESTARTED: 4011,
  KICKED: 4012,
  PROTOCOL_ERROR: 4013,
} as const;
export type RelayCloseCode = (typeof RelayClose)[keyof typeof RelayClose];

// ------------------------------------------------------------------ schemas

const b64u = /* @__NO_SIDE_EFFECTS__ */ (bytes: number) =>
  s.string({ refine: (v) => fromBase64Url(v)?.length === bytes, message: `must be ${bytes} bytes of base64url` });
const key = b64u(PUBLIC_KEY_LENGTH);
const slot = s.int(1, 0xffff);
const millis = s.int(0, Number.MAX_SAFE_INTEGER);

export const relayLimitsSchema = s.strictObject({
  maxFrameBytes: s.int(),
  maxDevices: s.int(),
  maxPendingTickets: s.int(),
  authTimeoutMs: s.int(),
  idleTimeoutMs: s.int(),
  rateLimit: s.strictObject({ framesPerSecond: s.number(), burst: s.int() }),
});
export type RelayLimits = s.Infer<typeof relayLimitsSchema>;

const deviceEntry = s.strictObject({ slot, key, via: s.enum(["ticket", "allowlist"]) });
export type ConnectedDevice = s.Infer<typeof deviceEntry>;

const challengeBody = s.strictObject({
  v: s.literal(1),
  role: s.enum(["host", "device"]),
  room: s.string(),
  challenge: b64u(CHALLENGE_LENGTH),
  /** Relay clock (unix ms), for clients that want to estimate skew. */
  time: millis,
  limits: relayLimitsSchema,
});
const deviceWelcome = s.strictObject({
  role: s.literal("device"),
  slot,
  host: s.strictObject({ online: s.boolean(), lastSeen: s.optional(millis) }),
});
const hostPresence = s.strictObject({ host: s.enum(["online", "offline"]), lastSeen: s.optional(millis) });

/**
 * What the relay sends a device: its challenge, its welcome, the host's presence.
 * The SDK decodes with this table only (decodeRelayMessageForDevice), so it does
 * not carry the schemas of what the relay sends hosts.
 */
export const relayToDevice = {
  [RelayFrame.CHALLENGE]: challengeBody,
  [RelayFrame.WELCOME]: deviceWelcome,
  [RelayFrame.PRESENCE]: hostPresence,
} as const;

// Built in a pure call: hosts, the relay's tests and tools decode these; bundles that never do (the SDK) drop them.
export const relayToClient = /* @__PURE__ */ (() =>
  ({
    [RelayFrame.CHALLENGE]: challengeBody,
    [RelayFrame.WELCOME]: s.union([s.strictObject({ role: s.literal("host"), devices: s.array(deviceEntry), allowlistVersion: s.int() }), deviceWelcome]),
    [RelayFrame.PRESENCE]: s.union([
      hostPresence,
      s.strictObject({ device: s.literal("joined"), slot, key, via: s.enum(["ticket", "allowlist"]) }),
      s.strictObject({ device: s.literal("left"), slot }),
    ]),
    [RelayFrame.NOTICE]: s.strictObject({ code: s.string({ max: 64 }), message: s.string({ max: 256 }) }),
    [RelayFrame.RESULT]: s.strictObject({
      id: s.string({ regex: /^[A-Za-z0-9_-]{1,64}$/ }),
      ok: s.boolean(),
      error: s.optional(s.string({ max: 256 })),
      /** push.send: the push service's HTTP status (201 accepted; 404/410 the subscription is gone; 413, 429…). */
      status: s.optional(s.int(100, 599)),
      /** push.send answered 429 or 503: the push service's Retry-After, in seconds. */
      retryAfter: s.optional(s.int(0, 86_400)),
    }),
  }) as const)();

// Wrapped in a pure call so that bundles which never decode client messages (the SDK) drop these schemas.
export const clientToRelay = /* @__PURE__ */ (() =>
  ({
    [RelayFrame.AUTH]: s.strictObject({
      /** The signer's Ed25519 public key (host key or device key). */
      key,
      /** Signature over relayAuthMessage() with the role's purpose. */
      sig: b64u(64),
      /** Devices pairing for the first time: the link's relay ticket (identity.ts). */
      ticket: s.optional(b64u(32)),
    }),
    [RelayFrame.COMMAND]: s.union([
      s.strictObject({
        id: s.string({ regex: /^[A-Za-z0-9_-]{1,64}$/ }),
        op: s.literal("ticket.add"),
        /** SHA-256 of the relay ticket. */
        hash: b64u(32),
        expiresAt: millis,
      }),
      s.strictObject({
        id: s.string({ regex: /^[A-Za-z0-9_-]{1,64}$/ }),
        op: s.literal("allowlist.set"),
        version: s.int(1, Number.MAX_SAFE_INTEGER),
        keys: s.array(key, { max: MAX_ALLOWLIST_KEYS }),
        /**
         * Optional, one per key: unix ms after which the relay refuses that key (0: never).
         * Present: sig covers allowlistExpiryMessage() with DEVICE_ALLOWLIST_EXPIRY.
         */
        expires: s.optional(s.array(millis, { max: MAX_ALLOWLIST_KEYS })),
        sig: b64u(64),
      }),
      s.strictObject({
        id: s.string({ regex: /^[A-Za-z0-9_-]{1,64}$/ }),
        op: s.literal("device.kick"),
        /** Close every connection of this device key (revocation), or one slot. */
        key: s.optional(key),
        slot: s.optional(slot),
      }),
      s.strictObject({
        id: s.string({ regex: /^[A-Za-z0-9_-]{1,64}$/ }),
        op: s.literal("push.send"),
        /** The subscription's endpoint; the relay POSTs only to push services it allows (docs/protocol.md §9.4). */
        endpoint: s.string({ max: 2048 }),
        /** RFC 8030 TTL (seconds). */
        ttl: s.int(0, MAX_PUSH_TTL_SECONDS),
        urgency: s.enum(["very-low", "low", "normal", "high"]),
        /** RFC 8030 Topic: a newer push with the same topic replaces an undelivered older one. */
        topic: s.optional(s.string({ regex: /^[A-Za-z0-9_-]{1,32}$/ })),
        /** The body the host encrypted to the subscription (RFC 8291 aes128gcm), base64url; the relay cannot read it. */
        body: s.string({ max: Math.ceil((MAX_PUSH_BODY_BYTES * 4) / 3), regex: /^[A-Za-z0-9_-]+$/ }),
      }),
    ]),
  }) as const)();

export type RelayMessage<T extends keyof typeof relayToClient> = s.Infer<(typeof relayToClient)[T]>;
export type ClientMessage<T extends keyof typeof clientToRelay> = s.Infer<(typeof clientToRelay)[T]>;
export type HostCommand = ClientMessage<typeof RelayFrame.COMMAND>;

// ------------------------------------------------------------------ codecs

/** Encodes a control frame (counter 0, epoch 0; control frames are outside the e2e counters). */
export function encodeControl(type: RelayFrameType, body: unknown): Uint8Array {
  return encodeFrame({ type, slot: 0, epoch: 0, counter: 0n }, textEncoder.encode(JSON.stringify(body)));
}

function parseBody<T>(schema: s.Schema<T>, body: Uint8Array): T {
  if (body.length > MAX_CONTROL_BODY) fail("FRAME_TOO_LARGE", "control body");
  let json: unknown;
  try {
    json = JSON.parse(strictTextDecoder.decode(body));
  } catch {
    fail("FRAME_MALFORMED", "control body is not UTF-8 JSON");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail("FRAME_MALFORMED", `control body: ${issue ? `${issue.path.join(".") || "(root)"} ${issue.message}` : "invalid"}`);
  }
  return parsed.data;
}

/** Decodes a relay → client control frame (clients call this for types 0x20–0x2f). */
export function decodeRelayMessage(frame: Uint8Array): { [T in keyof typeof relayToClient]: { type: T; body: RelayMessage<T> } }[keyof typeof relayToClient] {
  return decodeWith(relayToClient, frame) as never;
}

/**
 * Decodes a relay → device control frame: a challenge, the device's welcome or the
 * host's presence. NOTICE and RESULT answer host commands: undefined (ignored).
 * Anything else, or a host's welcome or a device's presence, is FRAME_MALFORMED.
 */
export function decodeRelayMessageForDevice(
  frame: Uint8Array,
): { [T in keyof typeof relayToDevice]: { type: T; body: s.Infer<(typeof relayToDevice)[T]> } }[keyof typeof relayToDevice] | undefined {
  const header = decodeHeader(frame);
  if (header.type === RelayFrame.NOTICE || header.type === RelayFrame.RESULT) return undefined;
  return decodeWith(relayToDevice, frame, header) as never;
}

function decodeWith(table: object, frame: Uint8Array, header = decodeHeader(frame)): { type: number; body: unknown } {
  const schema = (table as Record<number, s.Schema<unknown>>)[header.type];
  if (!schema) throw new AirlockProtocolError("FRAME_MALFORMED", `not a relay message type: ${header.type}`);
  return { type: header.type, body: parseBody(schema, frameBody(frame)) };
}

/** Decodes a client → relay control body (the relay calls this after decoding the header). */
export function decodeClientMessage<T extends keyof typeof clientToRelay>(type: T, body: Uint8Array): ClientMessage<T> {
  return parseBody(clientToRelay[type] as s.Schema<ClientMessage<T>>, body);
}

export function isRelayControlType(type: number): boolean {
  return type >= FrameType.RELAY_CONTROL_MIN && type <= FrameType.RELAY_CONTROL_MAX;
}

/** End-to-end frame types the relay forwards (it reads only their headers). */
export function isEndToEndType(type: number): boolean {
  return type === FrameType.HANDSHAKE || type === FrameType.DATA || type === FrameType.ABORT;
}

// ------------------------------------------------------- signed byte strings

/** What a host or device signs to answer a relay challenge: room id bytes || challenge. */
export function relayAuthMessage(roomId: Uint8Array, challenge: Uint8Array): Uint8Array {
  if (roomId.length !== ROOM_ID_LENGTH || challenge.length !== CHALLENGE_LENGTH) throw new Error("bad relay auth input");
  return concatBytes(roomId, challenge);
}

/**
 * What a host signs to publish its allowlist: room id || u64 version ||
 * u16 count || keys (each 32 bytes, in the order sent).
 */
export function allowlistMessage(roomId: Uint8Array, version: number, keys: readonly Uint8Array[]): Uint8Array {
  if (roomId.length !== ROOM_ID_LENGTH) throw new Error("bad room id");
  if (keys.length > MAX_ALLOWLIST_KEYS) throw new Error("allowlist too long");
  return concatBytes(roomId, u64be(BigInt(version)), u16be(keys.length), ...keys);
}

/**
 * What a host signs to publish an allowlist with expiry times: room id ||
 * u64 version || u16 count || per key (32 bytes || u64 expiresAt, 0 = never),
 * in the order sent. Signed with its own purpose, so neither form can pass
 * for the other.
 */
export function allowlistExpiryMessage(roomId: Uint8Array, version: number, keys: readonly Uint8Array[], expires: readonly number[]): Uint8Array {
  if (roomId.length !== ROOM_ID_LENGTH) throw new Error("bad room id");
  if (keys.length > MAX_ALLOWLIST_KEYS) throw new Error("allowlist too long");
  if (expires.length !== keys.length) throw new Error("one expiry per key");
  return concatBytes(roomId, u64be(BigInt(version)), u16be(keys.length), ...keys.flatMap((k, i) => [k, u64be(BigInt(expires[i]!))]));
}
