// Plaintext padding so ciphertext lengths reveal only a size bucket:
//   padded = u32 BE payload length || payload || zero bytes
// The padded length is the bucket for (4 + payload length): 256 bytes, then
// powers of two up to 64 KiB, then multiples of 64 KiB, capped at the largest
// plaintext a frame can carry. Exactly one padded form is valid per payload.
import { MAX_PADDED_LENGTH, MAX_PAYLOAD_LENGTH, PADDING_PREFIX_LENGTH } from "./constants.ts";
import { view } from "./bytes.ts";
import { fail } from "./errors.ts";

const MIN_BUCKET = 256;
const POWER_OF_TWO_LIMIT = 64 * 1024;

export function paddedLength(payloadLength: number): number {
  const n = payloadLength + PADDING_PREFIX_LENGTH;
  if (payloadLength < 0 || n > MAX_PADDED_LENGTH) fail("PAYLOAD_TOO_LARGE", `${payloadLength} > ${MAX_PAYLOAD_LENGTH} bytes`);
  if (n <= MIN_BUCKET) return MIN_BUCKET;
  if (n <= POWER_OF_TWO_LIMIT) return 2 ** Math.ceil(Math.log2(n));
  return Math.min(Math.ceil(n / POWER_OF_TWO_LIMIT) * POWER_OF_TWO_LIMIT, MAX_PADDED_LENGTH);
}

export function pad(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(paddedLength(payload.length));
  view(out).setUint32(0, payload.length);
  out.set(payload, PADDING_PREFIX_LENGTH);
  return out;
}

/** Strict inverse of pad(): wrong bucket or non-zero padding fails PADDING_INVALID. */
export function unpad(padded: Uint8Array): Uint8Array {
  if (padded.length < PADDING_PREFIX_LENGTH || padded.length > MAX_PADDED_LENGTH) fail("PADDING_INVALID", "bad size");
  const length = view(padded).getUint32(0);
  if (length > padded.length - PADDING_PREFIX_LENGTH) fail("PADDING_INVALID", "length beyond plaintext");
  if (paddedLength(length) !== padded.length) fail("PADDING_INVALID", "wrong bucket");
  const end = PADDING_PREFIX_LENGTH + length;
  let acc = 0;
  for (let i = end; i < padded.length; i++) acc |= padded[i]!;
  if (acc !== 0) fail("PADDING_INVALID", "non-zero padding");
  return padded.subarray(PADDING_PREFIX_LENGTH, end);
}
