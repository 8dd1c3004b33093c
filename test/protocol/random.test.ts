// secureRandom: fills large buffers in 64 KiB calls and refuses to run without
// a platform random source rather than falling back to something weak.
import { afterEach, describe, expect, it } from "vitest";
import { secureRandom } from "../../protocol/src/index.ts";

const original = Object.getOwnPropertyDescriptor(globalThis, "crypto")!;
afterEach(() => void Object.defineProperty(globalThis, "crypto", original));

describe("secureRandom", () => {
  it("fills buffers larger than one getRandomValues call", () => {
    const a = secureRandom(200_000);
    expect(a.length).toBe(200_000);
    // Each 64 KiB slice was filled (an unfilled tail would be all zeros).
    for (const start of [0, 65_536, 131_072, 196_608]) expect(a.subarray(start, start + 64).some((b) => b !== 0)).toBe(true);
  });
  it("throws a clear error when the platform has no getRandomValues", () => {
    Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true });
    expect(() => secureRandom(32)).toThrow(/no secure random source.*getRandomValues/);
    Object.defineProperty(globalThis, "crypto", { value: {}, configurable: true });
    expect(() => secureRandom(32)).toThrow(/react-native-get-random-values/);
  });
});
