// Plaintext padding: size buckets and the strict inverse.
import { describe, expect, it } from "vitest";
import { codeOf } from "../support/errors.ts";
import {
  AEAD_TAG_LENGTH,
  HEADER_LENGTH,
  MAX_FRAME_LENGTH,
  MAX_PADDED_LENGTH,
  MAX_PAYLOAD_LENGTH,
  PADDING_PREFIX_LENGTH,
  pad,
  paddedLength,
  unpad,
} from "../../protocol/src/index.ts";

const K64 = 64 * 1024;

describe("paddedLength buckets", () => {
  it("the largest padded plaintext fills a maximal frame exactly", () => {
    expect(MAX_PADDED_LENGTH).toBe(MAX_FRAME_LENGTH - HEADER_LENGTH - AEAD_TAG_LENGTH);
    expect(MAX_PAYLOAD_LENGTH).toBe(MAX_PADDED_LENGTH - PADDING_PREFIX_LENGTH);
  });

  it.each([
    [0, 256],
    [1, 256],
    [252, 256],
    [253, 512],
    [508, 512],
    [509, 1024],
    [1020, 1024],
    [1021, 2048],
    [32764, 32768],
    [32765, 65536],
    [65532, 65536],
    [65533, 2 * K64],
    [2 * K64 - 4, 2 * K64],
    [2 * K64 - 3, 3 * K64],
    [70_000, 2 * K64],
    [15 * K64 - 4, 15 * K64],
    // The last bucket is capped at what a frame can carry (not a multiple of 64 KiB).
    [15 * K64 - 3, MAX_PADDED_LENGTH],
    [MAX_PAYLOAD_LENGTH - 1, MAX_PADDED_LENGTH],
    [MAX_PAYLOAD_LENGTH, MAX_PADDED_LENGTH],
  ])("payload %i → %i", (payload, bucket) => {
    expect(paddedLength(payload)).toBe(bucket);
  });

  it.each([MAX_PAYLOAD_LENGTH + 1, MAX_PAYLOAD_LENGTH + 5, 2 ** 31, -1])("PAYLOAD_TOO_LARGE for %i", (n) => {
    expect(codeOf(() => paddedLength(n))).toBe("PAYLOAD_TOO_LARGE");
  });

  it("matches an integer-only reference for every payload length up to 3 × 64 KiB", () => {
    const reference = (payload: number): number => {
      const n = payload + PADDING_PREFIX_LENGTH;
      if (n <= 256) return 256;
      if (n <= K64) {
        let b = 256;
        while (b < n) b *= 2;
        return b;
      }
      return Math.min(Math.ceil(n / K64) * K64, MAX_PADDED_LENGTH);
    };
    for (let payload = 0; payload <= 3 * K64; payload++) {
      if (paddedLength(payload) !== reference(payload)) expect.fail(`payload ${payload}: ${paddedLength(payload)} != ${reference(payload)}`);
    }
  });

  it("every bucket holds the prefix and payload, and buckets never shrink", () => {
    let previous = 0;
    for (const n of [0, 1, 100, 252, 253, 300, 1000, 4000, 20_000, 65_532, 65_533, 100_000, 500_000, MAX_PAYLOAD_LENGTH]) {
      const b = paddedLength(n);
      expect(b).toBeGreaterThanOrEqual(n + PADDING_PREFIX_LENGTH);
      expect(b).toBeGreaterThanOrEqual(previous);
      const isPowerOfTwo = b <= K64 && (b & (b - 1)) === 0;
      expect(isPowerOfTwo || b % K64 === 0 || b === MAX_PADDED_LENGTH, `bucket ${b}`).toBe(true);
      previous = b;
    }
  });
});

describe("pad / unpad", () => {
  it.each([0, 1, 10, 252, 253, 300, 1020, 65532, 65533, 70_000])("round trips %i bytes", (n) => {
    const payload = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);
    const padded = pad(payload);
    expect(padded.length).toBe(paddedLength(n));
    expect(new DataView(padded.buffer).getUint32(0)).toBe(n);
    expect(padded.subarray(PADDING_PREFIX_LENGTH + n).every((b) => b === 0)).toBe(true);
    expect(unpad(padded)).toEqual(payload);
  });

  it("round trips the largest payload", () => {
    const payload = new Uint8Array(MAX_PAYLOAD_LENGTH).fill(0x5a);
    const padded = pad(payload);
    expect(padded.length).toBe(MAX_PADDED_LENGTH);
    expect(unpad(padded).length).toBe(MAX_PAYLOAD_LENGTH);
  });

  it("pad refuses a payload one byte too large", () => {
    expect(codeOf(() => pad(new Uint8Array(MAX_PAYLOAD_LENGTH + 1)))).toBe("PAYLOAD_TOO_LARGE");
  });

  it("unpad: shorter than the length prefix", () => {
    for (const n of [0, 1, 3]) expect(codeOf(() => unpad(new Uint8Array(n)))).toBe("PADDING_INVALID");
  });

  it("unpad: wrong bucket for the stated length", () => {
    const tooBig = new Uint8Array(512); // 10 bytes belong in the 256 bucket
    new DataView(tooBig.buffer).setUint32(0, 10);
    expect(codeOf(() => unpad(tooBig))).toBe("PADDING_INVALID");
    const notABucket = new Uint8Array(300);
    new DataView(notABucket.buffer).setUint32(0, 10);
    expect(codeOf(() => unpad(notABucket))).toBe("PADDING_INVALID");
    const truncated = pad(new Uint8Array(10)).subarray(0, 255);
    expect(codeOf(() => unpad(truncated))).toBe("PADDING_INVALID");
    // 253 bytes need the 512 bucket; a 256-byte buffer cannot claim them.
    const short = new Uint8Array(256);
    new DataView(short.buffer).setUint32(0, 252);
    expect(unpad(short).length).toBe(252);
    new DataView(short.buffer).setUint32(0, 253); // beyond plaintext too: 4 + 253 > 256
    expect(codeOf(() => unpad(short))).toBe("PADDING_INVALID");
    // Bucket 512 with a length that fits the 256 bucket.
    const down = new Uint8Array(512);
    new DataView(down.buffer).setUint32(0, 252);
    expect(codeOf(() => unpad(down))).toBe("PADDING_INVALID");
  });

  it("unpad: non-zero padding anywhere after the payload", () => {
    for (const at of [PADDING_PREFIX_LENGTH + 10, 100, 255]) {
      const padded = pad(new Uint8Array(10).fill(1));
      padded[at] = 0x01;
      expect(
        codeOf(() => unpad(padded)),
        `byte ${at}`,
      ).toBe("PADDING_INVALID");
    }
    const empty = pad(new Uint8Array(0));
    empty[PADDING_PREFIX_LENGTH] = 0x80;
    expect(codeOf(() => unpad(empty))).toBe("PADDING_INVALID");
  });

  it("unpad: stated length beyond the plaintext", () => {
    for (const length of [253, 1000, 0xffff_ffff]) {
      const padded = new Uint8Array(256);
      new DataView(padded.buffer).setUint32(0, length);
      expect(
        codeOf(() => unpad(padded)),
        `length ${length}`,
      ).toBe("PADDING_INVALID");
    }
  });

  it("unpad returns a view of the payload, not a copy", () => {
    const padded = pad(Uint8Array.of(1, 2, 3));
    const out = unpad(padded);
    expect(out.buffer).toBe(padded.buffer);
    expect(out.byteOffset).toBe(PADDING_PREFIX_LENGTH);
  });
});

describe("unpad size bounds", () => {
  it("rejects a plaintext larger than any frame can carry with PADDING_INVALID", () => {
    const big = new Uint8Array(MAX_PADDED_LENGTH + 1);
    new DataView(big.buffer).setUint32(0, MAX_PAYLOAD_LENGTH + 1);
    expect(codeOf(() => unpad(big))).toBe("PADDING_INVALID");
  });
});
