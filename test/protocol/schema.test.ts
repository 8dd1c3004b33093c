// protocol/src/schema.ts: the validator behind every wire message. Strict
// objects, bounds, unions and error paths.
import { describe, expect, it } from "vitest";
import * as s from "../../protocol/src/schema.ts";

const issues = (schema: s.Schema<unknown>, value: unknown) => {
  const r = schema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};
const ok = (schema: s.Schema<unknown>, value: unknown) => schema.safeParse(value).success;

describe("strictObject", () => {
  const o = s.strictObject({ a: s.string(), b: s.optional(s.int()), c: s.unknown() });

  it("accepts declared keys and returns a fresh object with only them", () => {
    const input = { a: "x", c: null };
    const out = o.parse(input);
    expect(out).toEqual({ a: "x", c: null });
    expect(out).not.toBe(input);
    expect(o.parse({ a: "x", b: 3, c: [1] })).toEqual({ a: "x", b: 3, c: [1] });
  });

  it("rejects unknown keys, '__proto__' included, and missing required keys (unknown() too)", () => {
    expect(issues(o, { a: "x", c: 1, d: 2 })).toEqual([': unknown key "d"']);
    expect(ok(o, JSON.parse('{"a":"x","c":1,"__proto__":{}}'))).toBe(false);
    expect(issues(o, { c: 1 })).toEqual(["a: required"]);
    expect(issues(o, { a: "x" })).toEqual(["c: required"]);
    expect(ok(o, { a: "x", c: undefined })).toBe(true);
    expect(ok(o, { a: "x", b: undefined, c: 1 })).toBe(true);
  });

  it("rejects non-objects and does not read inherited keys", () => {
    for (const v of [null, undefined, 1, "x", [], [{ a: "x", c: 1 }]]) expect(ok(o, v), JSON.stringify(v)).toBe(false);
    expect(ok(o, Object.create({ a: "x", c: 1 }))).toBe(false);
  });

  it("reports nested paths", () => {
    const n = s.strictObject({ list: s.array(s.strictObject({ n: s.int(0, 9) })) });
    expect(issues(n, { list: [{ n: 1 }, { n: 10 }] })).toEqual(["list.1.n: greater than 9"]);
    expect(() => n.parse({ list: [{ n: -1 }] })).toThrow(/list\.0\.n: less than 0/);
  });
});

describe("scalars", () => {
  it("string bounds, pattern and refinement", () => {
    const str = s.string({ min: 1, max: 3, regex: /^[a-z]+$/ });
    expect([ok(str, "abc"), ok(str, ""), ok(str, "abcd"), ok(str, "aB"), ok(str, 1)]).toEqual([true, false, false, false, false]);
    const even = s.string({ refine: (v) => v.length % 2 === 0, message: "odd" });
    expect(issues(even, "abc")).toEqual([": odd"]);
  });

  it("int accepts only safe integers within its bounds; number only finite numbers", () => {
    const any = s.int();
    for (const v of [0, -5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) expect(ok(any, v)).toBe(true);
    for (const v of [1.5, 2 ** 53, NaN, Infinity, "1", null, 1n]) expect(ok(any, v), String(v)).toBe(false);
    expect([ok(s.int(1, 3), 0), ok(s.int(1, 3), 1), ok(s.int(1, 3), 3), ok(s.int(1, 3), 4)]).toEqual([false, true, true, false]);
    expect([ok(s.number(), 0.5), ok(s.number(), Infinity), ok(s.number(), NaN)]).toEqual([true, false, false]);
  });

  it("boolean, literal, enum, nullable, optional", () => {
    expect([ok(s.boolean(), false), ok(s.boolean(), 0)]).toEqual([true, false]);
    expect([ok(s.literal(1), 1), ok(s.literal(1), "1"), ok(s.literal(null), null), ok(s.literal(null), undefined)]).toEqual([true, false, true, false]);
    const e = s.enum(["a", "b"]);
    expect([ok(e, "a"), ok(e, "c"), ok(e, "toString")]).toEqual([true, false, false]);
    expect([ok(s.nullable(s.int()), null), ok(s.nullable(s.int()), undefined)]).toEqual([true, false]);
    expect([ok(s.optional(s.int()), undefined), ok(s.optional(s.int()), null)]).toEqual([true, false]);
  });
});

describe("containers", () => {
  it("array bounds are checked before the items", () => {
    const a = s.array(s.int(), { min: 1, max: 2 });
    expect([ok(a, [1]), ok(a, []), ok(a, [1, 2, 3]), ok(a, [1, "x"]), ok(a, { 0: 1, length: 1 })]).toEqual([true, false, false, false, false]);
  });

  it("stops collecting issues after a bound", () => {
    const r = s.array(s.int()).safeParse(Array.from({ length: 1000 }, () => "x"));
    expect(r.success).toBe(false);
    expect(r.error!.issues.length).toBeLessThanOrEqual(16);
  });

  it("record takes plain objects only and drops '__proto__'", () => {
    const r = s.record(s.unknown());
    const out = r.parse(JSON.parse('{"__proto__":{"polluted":1},"y":2}'));
    expect(out).toEqual({ y: 2 });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect((out as { polluted?: unknown }).polluted).toBeUndefined();
    expect([ok(r, Object.create(null)), ok(r, new Date()), ok(r, []), ok(r, null)]).toEqual([true, false, false, false]);
    expect(issues(s.record(s.int()), { a: 1, b: "x" })).toEqual(["b: expected an integer"]);
  });

  it("union: the first matching option wins", () => {
    const u = s.union([s.strictObject({ role: s.literal("a") }), s.strictObject({ role: s.literal("b"), n: s.int() })]);
    expect(u.parse({ role: "b", n: 1 })).toEqual({ role: "b", n: 1 });
    expect(issues(u, { role: "b", n: "1" })).toEqual([": matches none of the allowed shapes"]);
  });

  it("discriminatedUnion picks the option by its key and reports within it", () => {
    const d = s.discriminatedUnion("kind", [s.strictObject({ kind: s.literal("x"), n: s.int() }), s.strictObject({ kind: s.literal("y") })]);
    expect(d.parse({ kind: "y" })).toEqual({ kind: "y" });
    expect(issues(d, { kind: "x", n: "1" })).toEqual(["n: expected an integer"]);
    expect(issues(d, { kind: "z" })).toEqual(['kind: expected one of "x", "y"']);
    expect(issues(d, {})).toEqual(['kind: expected one of "x", "y"']);
    expect(issues(d, Object.create({ kind: "y" }))).toEqual(['kind: expected one of "x", "y"']);
    expect(issues(d, 5)).toEqual([": expected an object"]);
  });
});
