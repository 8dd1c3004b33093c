// The relay-visible frame header codec.
import { describe, expect, it } from "vitest";
import { codeOf } from "../support/errors.ts";
import {
  FrameType,
  HEADER_LENGTH,
  MAX_FRAME_LENGTH,
  PROTOCOL_VERSION,
  decodeHeader,
  encodeFrame,
  encodeHeader,
  frameBody,
  isKnownFrameType,
  setFrameSlot,
  toHex,
  type FrameHeader,
} from "../../protocol/src/index.ts";

function frame(h: Partial<FrameHeader> = {}, body: Uint8Array = Uint8Array.of(1, 2, 3)): Uint8Array {
  const header: FrameHeader = {
    version: PROTOCOL_VERSION,
    type: FrameType.DATA,
    slot: 7,
    epoch: 3,
    counter: 42n,
    length: body.length,
    ...h,
  };
  const out = new Uint8Array(HEADER_LENGTH + body.length);
  out.set(encodeHeader(header));
  out.set(body, HEADER_LENGTH);
  return out;
}

describe("header round trip", () => {
  it("encodes the documented layout, big-endian", () => {
    const bytes = encodeHeader({ version: 1, type: 2, slot: 0x0102, epoch: 0x03040506, counter: 0x0708090a0b0c0d0en, length: 0x0f101112 });
    expect(toHex(bytes)).toBe("0102" + "0102" + "03040506" + "0708090a0b0c0d0e" + "0f101112");
    expect(bytes.length).toBe(HEADER_LENGTH);
  });

  it.each([
    { type: FrameType.DATA, slot: 0, epoch: 0, counter: 0n },
    { type: FrameType.DATA, slot: 0xffff, epoch: 0xffff_ffff, counter: 2n },
    { type: FrameType.HANDSHAKE, slot: 1, epoch: 0, counter: 1n },
    { type: FrameType.ABORT, slot: 9, epoch: 0, counter: 5n },
    { type: FrameType.RELAY_CONTROL_MIN, slot: 0, epoch: 0, counter: 0n },
    { type: FrameType.RELAY_CONTROL_MAX, slot: 0, epoch: 0, counter: 0n },
  ])("decodes what encodeFrame wrote: %o", (h) => {
    const body = Uint8Array.from({ length: 33 }, (_, i) => i);
    const f = encodeFrame(h, body);
    expect(decodeHeader(f)).toEqual({ ...h, version: PROTOCOL_VERSION, length: 33 });
    expect(frameBody(f)).toEqual(body);
    expect(frameBody(f).buffer).toBe(f.buffer); // a view, not a copy
  });

  it("accepts an empty body", () => {
    expect(decodeHeader(encodeFrame({ type: FrameType.HANDSHAKE, slot: 0, epoch: 0, counter: 0n }, new Uint8Array(0))).length).toBe(0);
  });

  it("decodes a frame that sits at an offset inside a larger buffer", () => {
    const f = frame({ counter: 99n });
    const big = new Uint8Array(f.length + 10);
    big.set(f, 5);
    expect(decodeHeader(big.subarray(5, 5 + f.length)).counter).toBe(99n);
  });

  it.each([2n ** 53n + 1n, 2n ** 53n + 3n, 2n ** 63n - 1n, 2n ** 64n - 1n, 0x8000_0000_0000_0001n])("keeps the 64-bit counter %s exact", (counter) => {
    const f = frame({ counter });
    expect(decodeHeader(f).counter).toBe(counter);
    expect(toHex(f.subarray(8, 16))).toBe(counter.toString(16).padStart(16, "0"));
    // A JS number would have rounded it.
    if (counter > 2n ** 53n) expect(BigInt(Number(counter))).not.toBe(counter);
  });
});

describe("decodeHeader errors", () => {
  it("FRAME_TOO_LARGE above MAX_FRAME_LENGTH (checked first), not at it", () => {
    const body = new Uint8Array(MAX_FRAME_LENGTH - HEADER_LENGTH);
    expect(decodeHeader(frame({}, body)).length).toBe(body.length);
    const tooBig = new Uint8Array(MAX_FRAME_LENGTH + 1); // all zero: also malformed
    expect(codeOf(() => decodeHeader(tooBig))).toBe("FRAME_TOO_LARGE");
    expect(codeOf(() => decodeHeader(frame({}, new Uint8Array(MAX_FRAME_LENGTH - HEADER_LENGTH + 1))))).toBe("FRAME_TOO_LARGE");
  });

  it("FRAME_TOO_LARGE against a stricter configured limit", () => {
    const f = frame({}, new Uint8Array(80)); // 100 bytes
    expect(decodeHeader(f, 100).length).toBe(80);
    expect(codeOf(() => decodeHeader(f, 99))).toBe("FRAME_TOO_LARGE");
  });

  it.each([0, 1, HEADER_LENGTH - 1])("FRAME_MALFORMED for a %i-byte frame", (n) => {
    expect(codeOf(() => decodeHeader(frame().subarray(0, n)))).toBe("FRAME_MALFORMED");
  });

  it.each([0, 2, 0xff])("FRAME_MALFORMED for version %i", (version) => {
    expect(codeOf(() => decodeHeader(frame({ version })))).toBe("FRAME_MALFORMED");
  });

  it.each([0x00, 0x04, 0x10, 0x1f, 0x40, 0x7f, 0xff])("FRAME_MALFORMED for unknown type %i", (type) => {
    expect(isKnownFrameType(type)).toBe(false);
    expect(codeOf(() => decodeHeader(frame({ type, epoch: 0 })))).toBe("FRAME_MALFORMED");
  });

  it("knows exactly HANDSHAKE, DATA, ABORT and the relay control range", () => {
    const known = Array.from({ length: 256 }, (_, t) => t).filter(isKnownFrameType);
    expect(known).toEqual([1, 2, 3, ...Array.from({ length: 0x20 }, (_, i) => 0x20 + i)]);
  });

  it.each([-1, 1, 1000, -3])("FRAME_MALFORMED when the length field is off by %i", (delta) => {
    const f = frame({}, new Uint8Array(50));
    new DataView(f.buffer).setUint32(16, 50 + delta);
    expect(codeOf(() => decodeHeader(f))).toBe("FRAME_MALFORMED");
  });

  it("FRAME_MALFORMED when a trailing byte is cut or added", () => {
    const f = frame({}, new Uint8Array(50));
    expect(codeOf(() => decodeHeader(f.subarray(0, f.length - 1)))).toBe("FRAME_MALFORMED");
    const longer = new Uint8Array(f.length + 1);
    longer.set(f);
    expect(codeOf(() => decodeHeader(longer))).toBe("FRAME_MALFORMED");
  });

  it.each([FrameType.HANDSHAKE, FrameType.ABORT, FrameType.RELAY_CONTROL_MIN, 0x30])("FRAME_MALFORMED for an epoch on non-data type %i", (type) => {
    expect(decodeHeader(frame({ type, epoch: 0 })).type).toBe(type);
    expect(codeOf(() => decodeHeader(frame({ type, epoch: 1 })))).toBe("FRAME_MALFORMED");
    expect(codeOf(() => decodeHeader(frame({ type, epoch: 0x8000_0000 })))).toBe("FRAME_MALFORMED");
  });
});

describe("setFrameSlot", () => {
  it("rewrites bytes 2-3 only", () => {
    const f = frame({ slot: 1, counter: 2n ** 60n });
    const before = f.slice();
    setFrameSlot(f, 0xbeef);
    expect(decodeHeader(f).slot).toBe(0xbeef);
    expect(f[2]).toBe(0xbe);
    expect(f[3]).toBe(0xef);
    for (let i = 0; i < f.length; i++) if (i !== 2 && i !== 3) expect(f[i], `byte ${i}`).toBe(before[i]);
    const h = decodeHeader(f);
    expect(h.counter).toBe(2n ** 60n);
    expect(h.epoch).toBe(3);
    setFrameSlot(f, 0);
    expect(decodeHeader(f).slot).toBe(0);
  });

  it("works on a subarray view without touching the surrounding buffer", () => {
    const f = frame();
    const big = new Uint8Array(f.length + 8).fill(0xaa);
    big.set(f, 4);
    setFrameSlot(big.subarray(4, 4 + f.length), 0x1234);
    expect(big.subarray(0, 4)).toEqual(new Uint8Array(4).fill(0xaa));
    expect(decodeHeader(big.subarray(4, 4 + f.length)).slot).toBe(0x1234);
    expect(big.subarray(4 + f.length)).toEqual(new Uint8Array(4).fill(0xaa));
  });
});
