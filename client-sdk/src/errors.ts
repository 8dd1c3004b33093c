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
  /** The host no longer trusts this device (revoked, or never paired): pair again. */
  | "DEVICE_REVOKED"
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
export function toClientError(e: unknown, fallback: ClientErrorCode = "PROTOCOL_ERROR"): AirlockClientError {
  if (e instanceof AirlockClientError) return e;
  if (e instanceof AirlockProtocolError) return fromProtocolError(e);
  return new AirlockClientError(fallback, messageOf(e), { cause: e });
}

/** What a relay close means for a device connection, and whether to try again. */
export interface CloseMeaning {
  error: AirlockClientError;
  /** false: stop reconnecting (the host or relay will not take this device). */
  retry: boolean;
  /** Reconnect at once (the host came back), without backoff. */
  immediate: boolean;
}

/**
 * Maps a relay close code (§9.6). `pairing` changes what AUTH_FAILED means: a
 * pairing device was refused its one-time ticket, a trusted device its key.
 */
export function closeMeaning(code: number, reason: string, pairing: boolean): CloseMeaning {
  const make = (c: ClientErrorCode, message: string, retry = true, immediate = false): CloseMeaning => ({
    error: new AirlockClientError(c, `${message} (relay closed ${code}${reason ? `: ${reason.slice(0, 123)}` : ""})`, { closeCode: code }),
    retry,
    immediate,
  });
  switch (code) {
    case RelayClose.AUTH_FAILED:
      return pairing
        ? make("LINK_USED", "the relay refused the pairing ticket: the link was already used, expired or is unknown", false)
        : make("DEVICE_REVOKED", "the relay refused this device: the host does not list it as trusted", false);
    case RelayClose.REVOKED:
      return make("DEVICE_REVOKED", "the host revoked this device", false);
    case RelayClose.HOST_RESTARTED:
      return make("CONNECTION_LOST", "the host reconnected to the relay", true, true);
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
