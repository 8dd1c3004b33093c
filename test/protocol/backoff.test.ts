// The one retry backoff (protocol/src/backoff.ts) that the SDK, the host's relay
// link and the agent restarts share: full jitter under a capped exponential
// bound, and no NaN or Infinity whatever the attempt count.
import { describe, expect, it } from "vitest";
import { backoffDelay, DEFAULT_BACKOFF } from "../../protocol/src/index.ts";

describe("backoffDelay", () => {
  it("doubles its bound from baseMs per attempt up to maxMs", () => {
    const o = { baseMs: 250, maxMs: 5000 };
    expect([0, 1, 2, 3, 4, 5, 60].map((a) => backoffDelay(a, o, () => 0.999999))).toEqual([249, 499, 999, 1999, 3999, 4999, 4999]);
  });

  it("is uniform in [0, bound): the lowest draw is 0", () => {
    expect(backoffDelay(3, DEFAULT_BACKOFF, () => 0)).toBe(0);
    expect(backoffDelay(3, DEFAULT_BACKOFF, () => 0.5)).toBe(2000);
  });

  it("defaults to 0.5 s doubling to 30 s", () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseMs: 500, maxMs: 30_000 });
    expect(backoffDelay(0, undefined, () => 0.999999)).toBe(499);
    expect(backoffDelay(100, undefined, () => 0.999999)).toBe(29_999);
  });

  it("treats odd attempt counts as the nearest sensible one", () => {
    const o = { baseMs: 100, maxMs: 1000 };
    const top = (a: number) => backoffDelay(a, o, () => 0.999999);
    expect(top(-5)).toBe(99);
    expect(top(Number.NaN)).toBe(99);
    expect(top(Number.POSITIVE_INFINITY)).toBe(999);
    expect(top(Number.NEGATIVE_INFINITY)).toBe(99);
    expect(top(2.7)).toBe(399);
  });

  it("stays within bounds over random draws", () => {
    const o = { baseMs: 10, maxMs: 700 };
    for (let i = 0; i < 500; i++) {
      const d = backoffDelay(i % 12, o);
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(Math.min(700, 10 * 2 ** (i % 12)));
    }
  });
});
