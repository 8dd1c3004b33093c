// Every failure the protocol can report, with a stable name, a one-byte wire
// code (sent in ABORT frames and handshake verdicts) and a human message.
// docs/protocol.md §Error codes mirrors this table; keep them in sync.

export const ERRORS = {
  // Pairing link (never on the wire; parse errors on the device)
  LINK_MALFORMED: { wire: 0x01, message: "the pairing link is malformed" },
  LINK_TOO_LONG: { wire: 0x02, message: "the pairing link is longer than allowed" },
  LINK_UNSUPPORTED_VERSION: { wire: 0x03, message: "the pairing link uses an unsupported protocol version" },
  LINK_EXPIRED: { wire: 0x04, message: "the pairing link has expired; ask the host for a new one" },
  LINK_ROOM_MISMATCH: { wire: 0x05, message: "the pairing link's room id does not match its host key" },
  LINK_INSECURE_URL: { wire: 0x06, message: "app and relay URLs must use https (plain http only on loopback)" },

  // Handshake
  HANDSHAKE_MALFORMED: { wire: 0x10, message: "a handshake message is malformed" },
  UNEXPECTED_MESSAGE: { wire: 0x11, message: "a handshake message arrived out of order" },
  NO_COMMON_VERSION: { wire: 0x12, message: "no protocol version in common with the peer" },
  DOWNGRADE_DETECTED: { wire: 0x13, message: "the host selected a version the device did not offer" },
  PAIRING_UNKNOWN: { wire: 0x14, message: "the pairing link is unknown or was already used" },
  PAIRING_EXPIRED: { wire: 0x15, message: "the pairing link has expired" },
  PAIRING_RATE_LIMITED: { wire: 0x16, message: "too many failed pairing attempts; ask the host for a new link" },
  HANDSHAKE_DECRYPT_FAILED: {
    wire: 0x17,
    message: "handshake decryption failed: wrong pairing secret or tampered message",
  },
  HOST_SIGNATURE_INVALID: { wire: 0x18, message: "the host's signature is invalid: wrong host key" },
  DEVICE_SIGNATURE_INVALID: { wire: 0x19, message: "the device's signature is invalid" },
  DEVICE_NOT_TRUSTED: { wire: 0x1a, message: "this device is not trusted by the host (never paired or revoked)" },
  SAS_REJECTED: { wire: 0x1b, message: "the host operator rejected the pairing" },
  LOW_ORDER_KEY: { wire: 0x1c, message: "the peer sent a low-order X25519 key" },
  HANDSHAKE_ABORTED: { wire: 0x1d, message: "the peer aborted the handshake" },
  HOST_BUSY: { wire: 0x1e, message: "the host cannot accept this device right now" },
  DEVICE_NAME_INVALID: { wire: 0x1f, message: "the device name is invalid" },

  // Channel
  FRAME_MALFORMED: { wire: 0x20, message: "a frame is malformed" },
  FRAME_TOO_LARGE: { wire: 0x21, message: "a frame exceeds the size limit" },
  COUNTER_MISMATCH: { wire: 0x22, message: "a frame was replayed, reordered or dropped" },
  EPOCH_MISMATCH: { wire: 0x23, message: "a frame carries an unexpected key epoch" },
  FRAME_DECRYPT_FAILED: { wire: 0x24, message: "a frame failed authentication" },
  PADDING_INVALID: { wire: 0x25, message: "a frame's padding is invalid" },
  KEY_EXHAUSTED: { wire: 0x26, message: "the channel reached its key usage limit; reconnect" },
  CHANNEL_CLOSED: { wire: 0x27, message: "the channel is closed" },
  PAYLOAD_TOO_LARGE: { wire: 0x28, message: "the payload is larger than a frame can carry" },

  // Application envelope
  APP_MESSAGE_TOO_LARGE: { wire: 0x30, message: "an application message exceeds the size limit" },
  APP_MESSAGE_INVALID: { wire: 0x31, message: "an application message is invalid" },
  APP_UNKNOWN_TYPE: { wire: 0x32, message: "an application message has an unknown type" },

  INTERNAL: { wire: 0x7f, message: "internal error" },
} as const;

export type ErrorCode = keyof typeof ERRORS;

const BY_WIRE = new Map<number, ErrorCode>((Object.keys(ERRORS) as ErrorCode[]).map((code) => [ERRORS[code].wire, code]));

export function errorCodeFromWire(wire: number): ErrorCode | undefined {
  return BY_WIRE.get(wire);
}

export class AirlockProtocolError extends Error {
  readonly code: ErrorCode;
  readonly wire: number;
  /** True when the peer reported this error (an ABORT frame or a refusing verdict). */
  readonly remote: boolean;
  /** A frame the failing side should still send to its peer (an authenticated refusal). */
  readonly reply: Uint8Array | undefined;
  constructor(code: ErrorCode, detail?: string, options: { remote?: boolean; reply?: Uint8Array } = {}) {
    super(detail ? `${ERRORS[code].message} (${detail})` : ERRORS[code].message);
    this.name = "AirlockProtocolError";
    this.code = code;
    this.wire = ERRORS[code].wire;
    this.remote = options.remote ?? false;
    this.reply = options.reply;
  }
}

export function fail(code: ErrorCode, detail?: string): never {
  throw new AirlockProtocolError(code, detail);
}

export function isProtocolError(e: unknown, code?: ErrorCode): e is AirlockProtocolError {
  return e instanceof AirlockProtocolError && (code === undefined || e.code === code);
}
