// The relay-visible frame header. This module is all the relay needs to route
// and police frames: it imports no crypto and never looks at the body.
//
//   off len field
//   0   1   version   (PROTOCOL_VERSION)
//   1   1   type      (FrameType)
//   2   2   slot      u16 BE; device slot assigned by the relay (0 = unassigned)
//   4   4   epoch     u32 BE; key epoch (0 for handshake frames)
//   8   8   counter   u64 BE; per direction, per session, starts at 0, +1 per frame
//   16  4   length    u32 BE; body length in bytes
//   20  …   body

import { HEADER_LENGTH, MAX_FRAME_LENGTH, PROTOCOL_VERSION } from "./constants.ts";
import { fail } from "./errors.ts";
import { view } from "./bytes.ts";

export const FrameType = {
  /** A handshake message (plaintext framing; its secrets are encrypted inside). */
  HANDSHAKE: 0x01,
  /** An encrypted channel frame. */
  DATA: 0x02,
  /** A peer gives up on the handshake or session; body = one error byte. Unauthenticated. */
  ABORT: 0x03,
  /** 0x20–0x3f are reserved for relay-originated control frames (docs/protocol.md §Relay). */
  RELAY_CONTROL_MIN: 0x20,
  RELAY_CONTROL_MAX: 0x3f,
} as const;

export interface FrameHeader {
  version: number;
  type: number;
  slot: number;
  epoch: number;
  counter: bigint;
  length: number;
}

export function isKnownFrameType(type: number): boolean {
  return (
    type === FrameType.HANDSHAKE ||
    type === FrameType.DATA ||
    type === FrameType.ABORT ||
    (type >= FrameType.RELAY_CONTROL_MIN && type <= FrameType.RELAY_CONTROL_MAX)
  );
}

export function encodeHeader(h: FrameHeader): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH);
  writeHeader(out, h);
  return out;
}

/** Writes the header into the first HEADER_LENGTH bytes of `target`. */
export function writeHeader(target: Uint8Array, h: FrameHeader): void {
  const v = view(target);
  v.setUint8(0, h.version);
  v.setUint8(1, h.type);
  v.setUint16(2, h.slot);
  v.setUint32(4, h.epoch);
  v.setBigUint64(8, h.counter);
  v.setUint32(16, h.length);
}

/**
 * Parses and validates the header of a complete frame. Throws
 * AirlockProtocolError FRAME_MALFORMED / FRAME_TOO_LARGE. `maxFrameLength`
 * lets the relay apply a stricter configured limit.
 */
export function decodeHeader(frame: Uint8Array, maxFrameLength: number = MAX_FRAME_LENGTH): FrameHeader {
  if (frame.length > maxFrameLength) fail("FRAME_TOO_LARGE", `${frame.length} > ${maxFrameLength} bytes`);
  if (frame.length < HEADER_LENGTH) fail("FRAME_MALFORMED", "shorter than the header");
  const v = view(frame);
  const h: FrameHeader = {
    version: v.getUint8(0),
    type: v.getUint8(1),
    slot: v.getUint16(2),
    epoch: v.getUint32(4),
    counter: v.getBigUint64(8),
    length: v.getUint32(16),
  };
  if (h.version !== PROTOCOL_VERSION) fail("FRAME_MALFORMED", `unknown version ${h.version}`);
  if (!isKnownFrameType(h.type)) fail("FRAME_MALFORMED", `unknown frame type ${h.type}`);
  if (h.length !== frame.length - HEADER_LENGTH) fail("FRAME_MALFORMED", "length field does not match");
  if (h.type !== FrameType.DATA && h.epoch !== 0) fail("FRAME_MALFORMED", "non-data frame with an epoch");
  return h;
}

/** Frame body (a view, not a copy). */
export function frameBody(frame: Uint8Array): Uint8Array {
  return frame.subarray(HEADER_LENGTH);
}

/**
 * Rewrites the slot field in place. The relay does this to stamp device→host
 * frames with the authenticated slot; the slot is excluded from the AEAD's
 * associated data for exactly this reason.
 */
export function setFrameSlot(frame: Uint8Array, slot: number): void {
  view(frame).setUint16(2, slot);
}

export function encodeFrame(h: Omit<FrameHeader, "length" | "version">, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + body.length);
  writeHeader(out, { ...h, version: PROTOCOL_VERSION, length: body.length });
  out.set(body, HEADER_LENGTH);
  return out;
}
