// Protocol-wide constants. Changing any value here changes the wire format or
// its limits: bump PROTOCOL_VERSION and update docs/protocol.md.

export const PROTOCOL_VERSION = 1;
/** Versions this implementation speaks, highest first. */
export const SUPPORTED_VERSIONS: readonly number[] = [1];

/** Relay-visible frame header length in bytes. */
export const HEADER_LENGTH = 20;
/** Largest frame (header + body) any party sends or accepts: 1 MiB. */
export const MAX_FRAME_LENGTH = 1024 * 1024;
export const MAX_BODY_LENGTH = MAX_FRAME_LENGTH - HEADER_LENGTH;
export const AEAD_TAG_LENGTH = 16;
/** Padded plaintext carries a 4-byte length prefix before the payload. */
export const PADDING_PREFIX_LENGTH = 4;
export const MAX_PADDED_LENGTH = MAX_BODY_LENGTH - AEAD_TAG_LENGTH;
export const MAX_PAYLOAD_LENGTH = MAX_PADDED_LENGTH - PADDING_PREFIX_LENGTH;

/**
 * Key usage. RFC 8446 §5.5 bounds AES-GCM at 2^24.5 full 16 KiB records per key;
 * our frames are up to 64× larger, so a key encrypts at most 2^18 frames
 * (hard stop) and senders ratchet well before, after 2^16 frames or 10 minutes.
 */
export const REKEY_AFTER_MESSAGES = 2 ** 16;
export const REKEY_AFTER_MS = 10 * 60 * 1000;
export const MAX_MESSAGES_PER_EPOCH = 2 ** 18;
/** After this epoch the session must be re-established with a new handshake. */
export const MAX_EPOCH = 0xffff_ffff;
/** Counters are 64-bit; we stop far before wrap-around. */
export const MAX_COUNTER = (1n << 63n) - 1n;

/** Pairing link limits. */
export const MAX_LINK_LENGTH = 2048;
export const MAX_RELAY_URL_LENGTH = 512;
export const PAIRING_SECRET_LENGTH = 32;
export const PAIRING_ID_LENGTH = 16;
/** Longest validity a link may claim; hosts default to 5 minutes. */
export const MAX_PAIRING_TTL_SECONDS = 60 * 60;
export const DEFAULT_PAIRING_TTL_SECONDS = 5 * 60;
/** Failed handshakes against one pairing link before it is burned. */
export const MAX_PAIRING_FAILURES = 5;

export const ROOM_ID_LENGTH = 16;
export const PUBLIC_KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;
export const MAX_DEVICE_NAME_BYTES = 64;

/** Application messages (JSON inside the channel). */
export const MAX_APP_MESSAGE_BYTES = 512 * 1024;
