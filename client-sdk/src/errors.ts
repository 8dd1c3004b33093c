// One error type for everything the SDK reports, with a stable `code` a UI can
// switch on. Relay close codes (docs/protocol.md §9.6) and protocol error codes
// (§8) are translated here and nowhere else.
import { AirlockProtocolError, RelayClose, type ErrorCode } from "@airlock/protocol";

export type ClientErrorCode =
  /** The pairing link does not parse or is not safe to use. */
  | "LINK_INVALID"
  | "LINK_EXPIRED"
  /** The link's one-time ticket or secret was already used (or never registered). */
  | "LINK_USED"
  /** The host did not prove the key the link (or the trusted-host record) names. */
  | "WRONG_HOST_KEY"
  | "RELAY_UNREACHABLE"
  /** The host operator rejected the pairing, or the host cannot take the device now. */
  | "HOST_REFUSED"
  /**
   * The host no longer trusts this device (revoked, or never paired): pair again. Only the
   * host's authenticated HostVerdict says so; the connection stops retrying.
   */
  | "DEVICE_REVOKED"
  /**
   * The relay refused this device (close 4002/4004) or an unauthenticated ABORT said
   * DEVICE_NOT_TRUSTED: perhaps revoked, perhaps a misbehaving relay. A hint: the
   * connection keeps retrying with backoff.
   */
  | "RELAY_REFUSED"
  | "HOST_OFFLINE"
  | "PROTOCOL_VERSION"
  | "HANDSHAKE_FAILED"
  | "PROTOCOL_ERROR"
  | "CONNECTION_LOST"
  | "RATE_LIMITED"
  | "ROOM_FULL"
  | "TIMEOUT"
  | "ABORTED"
  | "OUTBOX_FULL"
  | "OUTBOX_EXPIRED"
  | "UNKNOWN_HOST"
  | "INVALID_ARGUMENT"
  | "STORAGE"
  | "CLOSED";

export interface ClientErrorDetails {
  /** The protocol error behind this one (§8), when there is one. */
  protocolCode?: ErrorCode;
  /** The relay's WebSocket close code, when the relay ended the connection. */
  closeCode?: number;
  /** True when the host answered a command with this error (code is then the host's code). */
  remote?: boolean;
  cause?: unknown;
}

export class AirlockClientError extends Error {
  /** A ClientErrorCode, or the host's own error code for a failed command (e.g. THREAD_NOT_FOUND). */
  readonly code: ClientErrorCode | (string & {});
  readonly protocolCode: ErrorCode | undefined;
  readonly closeCode: number | undefined;
  readonly remote: boolean;

  constructor(code: ClientErrorCode | (string & {}), message: string, details: ClientErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "AirlockClientError";
    this.code = code;
    this.protocolCode = details.protocolCode;
    this.closeCode = details.closeCode;
    this.remote = details.remote ?? false;
  }
}

/** The text of anything thrown. */
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function isClientError(e: unknown, code?: string): e is AirlockClientError {
  return e instanceof AirlockClientError && (code === undefined || e.code === code);
}

const PROTOCOL_TO_CLIENT: Partial<Record<ErrorCode, ClientErrorCode>> = {
  LINK_MALFORMED: "LINK_INVALID",
  LINK_TOO_LONG: "LINK_INVALID",
  LINK_ROOM_MISMATCH: "LINK_INVALID",
  LINK_INSECURE_URL: "LINK_INVALID",
  LINK_UNSUPPORTED_VERSION: "PROTOCOL_VERSION",
  LINK_EXPIRED: "LINK_EXPIRED",
  PAIRING_EXPIRED: "LINK_EXPIRED",
  PAIRING_UNKNOWN: "LINK_USED",
  PAIRING_RATE_LIMITED: "LINK_USED",
  NO_COMMON_VERSION: "PROTOCOL_VERSION",
  DOWNGRADE_DETECTED: "PROTOCOL_VERSION",
  HOST_SIGNATURE_INVALID: "WRONG_HOST_KEY",
  HANDSHAKE_DECRYPT_FAILED: "HANDSHAKE_FAILED",
  SAS_REJECTED: "HOST_REFUSED",
  HOST_BUSY: "HOST_REFUSED",
  DEVICE_NOT_TRUSTED: "DEVICE_REVOKED",
};

/** Translates a protocol error (local or reported by the host) into a client error. */
export function fromProtocolError(e: AirlockProtocolError): AirlockClientError {
  const code = PROTOCOL_TO_CLIENT[e.code] ?? "PROTOCOL_ERROR";
  return new AirlockClientError(code, e.message, { protocolCode: e.code, cause: e });
}

/** Wraps anything thrown into an AirlockClientError (never loses the code of one). */
export function toClientError(e: unknown, fallback: ClientErrorCode | (string & {}) = "PROTOCOL_ERROR"): AirlockClientError {
  if (e instanceof AirlockClientError) return e;
  if (e instanceof AirlockProtocolError) return fromProtocolError(e);
  return new AirlockClientError(fallback, messageOf(e), { cause: e });
}

/**
 * What a relay close means for a device connection. A trusted device retries
 * after every one (with backoff unless `immediate`): a relay's close is never
 * the host's verdict, so even 4002/4004 are hints (RELAY_REFUSED).
 */
export interface CloseMeaning {
  error: AirlockClientError;
  /** Reconnect at once (the host came back), without backoff. */
  immediate?: boolean | undefined;
}

/**
 * Maps a relay close code (§9.6). `pairing` changes what AUTH_FAILED means: a
 * pairing device was refused its one-time ticket (pairing fails), a trusted device its key.
 */
export function closeMeaning(code: number, reason: string, pairing: boolean): CloseMeaning {
  const make = (c: ClientErrorCode, message: string, immediate?: boolean): CloseMeaning => ({
    error: new AirlockClientError(c, `${message} (close ${code}${reason ? `: ${reason.slice(0, 123)}` : ""})`, { closeCode: code }),
    immediate,
  });
  switch (code) {
    case RelayClose.AUTH_FAILED:
    case RelayClose.REVOKED:
      // Unauthenticated: the relay is not the host, and only the host's own verdict ends the retries.
      return pairing && code === RelayClose.AUTH_FAILED
        ? make("LINK_USED", "the relay refused the pairing link (used, expired or unknown)")
        : make("RELAY_REFUSED", "the relay refused this device; retrying");
    case RelayClose.HOST_RESTARTED:
      return make("CONNECTION_LOST", "the host reconnected to the relay", true);
    case RelayClose.AUTH_TIMEOUT:
      return make("TIMEOUT", "the relay timed out waiting for authentication");
    case RelayClose.RATE_LIMITED:
      return make("RATE_LIMITED", "the relay rate-limited this connection");
    case RelayClose.ROOM_FULL:
      return make("ROOM_FULL", "the host's relay room has too many devices");
    case RelayClose.IDLE:
      return make("CONNECTION_LOST", "the relay closed an idle connection");
    case RelayClose.KICKED:
      return make("CONNECTION_LOST", "the host closed this connection");
    case RelayClose.FRAME_INVALID:
    case RelayClose.FRAME_TOO_LARGE:
    case RelayClose.COUNTER_VIOLATION:
    case RelayClose.PROTOCOL_ERROR:
      return make("PROTOCOL_ERROR", "the relay rejected a frame");
    default:
      return make("CONNECTION_LOST", "the relay connection closed");
  }
}
