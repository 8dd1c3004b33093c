// AES-GCM nonces: 4-byte direction || 8-byte big-endian counter. Keys are
// per direction already; the direction in the nonce is defence in depth so a
// (key, nonce) pair can never repeat even if a key were shared by mistake.
import { view } from "./bytes.ts";

export const Direction = { DEVICE_TO_HOST: 1, HOST_TO_DEVICE: 2 } as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

export function makeNonce(direction: Direction, counter: bigint): Uint8Array {
  const n = new Uint8Array(12);
  const v = view(n);
  v.setUint32(0, direction);
  v.setBigUint64(4, counter);
  return n;
}
