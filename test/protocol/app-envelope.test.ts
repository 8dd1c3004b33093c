// Application envelope: strict JSON validation, size and depth bounds, and the
// typed protocol registry.
import { describe, expect, it } from "vitest";
import { codeOf } from "../support/errors.ts";
import {
  MAX_ACKS_PER_MESSAGE,
  MAX_APP_MESSAGE_BYTES,
  MAX_JSON_DEPTH,
  decodeAppEnvelope,
  defineAppProtocol,
  encodeAppEnvelope,
  textEncoder,
  type AppEnvelope,
} from "../../protocol/src/index.ts";
import * as s from "../../protocol/src/schema.ts";

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return "no error";
}

const enc = (value: unknown): Uint8Array => textEncoder.encode(typeof value === "string" ? value : JSON.stringify(value));
const decodeCode = (value: unknown) => codeOf(() => decodeAppEnvelope(enc(value)));
const BASE: AppEnvelope = { v: 1, type: "thread.start", id: "c7", body: { prompt: "hi" } };

/** `levels` nested arrays around 0: nest(2) = [[0]]. */
function nest(levels: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

describe("valid envelopes", () => {
  it.each<AppEnvelope>([
    { v: 1, type: "thread.start", id: "c7", body: { prompt: "fix it" } },
    { v: 1, type: "ping", id: "a", body: null },
    { v: 1, type: "a.b.c.d", id: "A-z_0", body: [1, "two", { three: 3 }] },
    { v: 1, type: "tool.result", id: "r1", re: "c7", body: "ok" },
    { v: 1, type: "event", id: "e9", thread: "t:1.a_b-c", seq: 0, body: 0 },
    { v: 1, type: "event", id: "e9", thread: "t", seq: Number.MAX_SAFE_INTEGER, body: false },
    {
      v: 1,
      type: "ack",
      id: "k",
      ack: [
        { thread: "t1", seq: 4 },
        { thread: "t2", seq: 0 },
      ],
      body: {},
    },
    { v: 1, type: "x", id: "i".repeat(64), thread: "t".repeat(128), body: "é ✓ 😀" },
  ])("round trips %j", (envelope) => {
    const bytes = encodeAppEnvelope(envelope);
    expect(decodeAppEnvelope(bytes)).toEqual(envelope);
    expect(JSON.parse(new TextDecoder().decode(bytes))).toEqual(envelope);
  });

  it("accepts key order and whitespace freely", () => {
    const text = ' {\n "body" : [ ] , "id":"x", "type":"t", "v" : 1 }\t';
    expect(decodeAppEnvelope(enc(text))).toEqual({ v: 1, type: "t", id: "x", body: [] });
  });

  it("accepts a type of exactly 64 characters and a dotted type with underscores", () => {
    const type = `a${".b".repeat(3)}${"c".repeat(64 - 7)}`;
    expect(type.length).toBe(64);
    expect(decodeAppEnvelope(enc({ ...BASE, type })).type).toBe(type);
    expect(decodeAppEnvelope(enc({ ...BASE, type: "tool.call_result" })).type).toBe("tool.call_result");
  });
});

describe("strictness", () => {
  it.each([
    ["an unknown top-level key", { ...BASE, extra: 1 }],
    ["a '__proto__' key", '{"v":1,"type":"t","id":"x","body":1,"__proto__":{}}'],
    ["an unknown key in an ack", { ...BASE, ack: [{ thread: "t", seq: 1, extra: true }] }],
    ["a missing v", { type: "t", id: "x", body: 1 }],
    ["a missing type", { v: 1, id: "x", body: 1 }],
    ["a missing id", { v: 1, type: "t", body: 1 }],
    ["a missing body", { v: 1, type: "t", id: "x" }],
    ["v 2", { ...BASE, v: 2 }],
    ["v 0", { ...BASE, v: 0 }],
    ["v '1'", { ...BASE, v: "1" }],
    ["v 1.5", { ...BASE, v: 1.5 }],
    ["an empty id", { ...BASE, id: "" }],
    ["a 65-character id", { ...BASE, id: "i".repeat(65) }],
    ["an id with a space", { ...BASE, id: "a b" }],
    ["an id with a dot", { ...BASE, id: "a.b" }],
    ["a non-ASCII id", { ...BASE, id: "é" }],
    ["a numeric id", { ...BASE, id: 7 }],
    ["a bad re", { ...BASE, re: "a/b" }],
    ["an upper-case type", { ...BASE, type: "Thread.start" }],
    ["a type starting with a digit", { ...BASE, type: "1thread" }],
    ["a type with an empty segment", { ...BASE, type: "thread..start" }],
    ["a type with a trailing dot", { ...BASE, type: "thread." }],
    ["a type with five segments", { ...BASE, type: "a.b.c.d.e" }],
    ["a type of 65 characters", { ...BASE, type: "t".repeat(65) }],
    ["a type with a dash", { ...BASE, type: "thread-start" }],
    ["an empty type", { ...BASE, type: "" }],
    ["an empty thread", { ...BASE, thread: "" }],
    ["a 129-character thread", { ...BASE, thread: "t".repeat(129) }],
    ["a thread with a slash", { ...BASE, thread: "a/b" }],
    ["a negative seq", { ...BASE, seq: -1 }],
    ["a fractional seq", { ...BASE, seq: 1.5 }],
    ["seq = MAX_SAFE_INTEGER + 1", '{"v":1,"type":"t","id":"x","body":1,"seq":9007199254740992}'],
    ["seq = 1e300", '{"v":1,"type":"t","id":"x","body":1,"seq":1e300}'],
    ["a string seq", { ...BASE, seq: "3" }],
    ["a null seq", { ...BASE, seq: null }],
    ["an ack that is not an array", { ...BASE, ack: { thread: "t", seq: 1 } }],
    ["an ack with a negative seq", { ...BASE, ack: [{ thread: "t", seq: -1 }] }],
    ["an ack with a fractional seq", { ...BASE, ack: [{ thread: "t", seq: 0.5 }] }],
    ["an ack without a thread", { ...BASE, ack: [{ seq: 1 }] }],
    [`${MAX_ACKS_PER_MESSAGE + 1} acks`, { ...BASE, ack: Array.from({ length: MAX_ACKS_PER_MESSAGE + 1 }, (_, i) => ({ thread: "t", seq: i })) }],
    ["an array", [BASE]],
    ["null", "null"],
    ["a number", "1"],
    ["a string", '"x"'],
    ["not JSON", "{v:1}"],
    ["a trailing comma", '{"v":1,"type":"t","id":"x","body":1,}'],
    ["two JSON values", `${JSON.stringify(BASE)} {}`],
    ["empty input", ""],
  ])("rejects %s with APP_MESSAGE_INVALID", (_, value) => {
    expect(decodeCode(value)).toBe("APP_MESSAGE_INVALID");
  });

  it(`accepts ${MAX_ACKS_PER_MESSAGE} acks`, () => {
    const ack = Array.from({ length: MAX_ACKS_PER_MESSAGE }, (_, i) => ({ thread: `t${i}`, seq: i }));
    expect(decodeAppEnvelope(enc({ ...BASE, ack })).ack).toHaveLength(MAX_ACKS_PER_MESSAGE);
  });

  it("encodeAppEnvelope refuses what the peer would reject", () => {
    expect(codeOf(() => encodeAppEnvelope({ ...BASE, seq: -1 }))).toBe("APP_MESSAGE_INVALID");
    expect(codeOf(() => encodeAppEnvelope({ ...BASE, extra: 1 } as AppEnvelope))).toBe("APP_MESSAGE_INVALID");
    expect(codeOf(() => encodeAppEnvelope({ ...BASE, v: 2 } as unknown as AppEnvelope))).toBe("APP_MESSAGE_INVALID");
    // JSON.stringify would drop an undefined body, and the peer requires one.
    expect(codeOf(() => encodeAppEnvelope({ v: 1, type: "t", id: "x", body: undefined }))).toBe("APP_MESSAGE_INVALID");
    expect(codeOf(() => decodeAppEnvelope(enc({ v: 1, type: "t", id: "x" })))).toBe("APP_MESSAGE_INVALID");
    // Nesting the decoder refuses is refused on the way out too.
    expect(codeOf(() => encodeAppEnvelope({ ...BASE, body: nest(MAX_JSON_DEPTH) }))).toBe("APP_MESSAGE_INVALID");
    const ok = encodeAppEnvelope({ ...BASE, body: nest(MAX_JSON_DEPTH - 1) });
    expect(decodeAppEnvelope(ok).body).toEqual(nest(MAX_JSON_DEPTH - 1));
  });
});

describe("size bound", () => {
  it("APP_MESSAGE_TOO_LARGE is decided before UTF-8 or JSON parsing", () => {
    const garbage = new Uint8Array(MAX_APP_MESSAGE_BYTES + 1).fill(0xff); // not UTF-8, not JSON
    expect(codeOf(() => decodeAppEnvelope(garbage))).toBe("APP_MESSAGE_TOO_LARGE");
    expect(codeOf(() => decodeAppEnvelope(garbage.subarray(0, MAX_APP_MESSAGE_BYTES)))).toBe("APP_MESSAGE_INVALID");
  });

  it("a message of exactly the limit is accepted", () => {
    const skeleton = enc({ ...BASE, body: "" }).length;
    const bytes = enc({ ...BASE, body: "x".repeat(MAX_APP_MESSAGE_BYTES - skeleton) });
    expect(bytes.length).toBe(MAX_APP_MESSAGE_BYTES);
    expect(decodeAppEnvelope(bytes).id).toBe("c7");
    const over = enc({ ...BASE, body: "x".repeat(MAX_APP_MESSAGE_BYTES - skeleton + 1) });
    expect(codeOf(() => decodeAppEnvelope(over))).toBe("APP_MESSAGE_TOO_LARGE");
  });

  it("honours a custom limit on both sides", () => {
    const bytes = enc(BASE);
    expect(decodeAppEnvelope(bytes, bytes.length).id).toBe("c7");
    expect(codeOf(() => decodeAppEnvelope(bytes, bytes.length - 1))).toBe("APP_MESSAGE_TOO_LARGE");
    expect(codeOf(() => encodeAppEnvelope(BASE, bytes.length - 1))).toBe("APP_MESSAGE_TOO_LARGE");
    expect(encodeAppEnvelope(BASE, bytes.length)).toEqual(bytes);
  });

  it("counts bytes, not characters", () => {
    const body = "é".repeat(50); // 100 UTF-8 bytes
    const bytes = enc({ ...BASE, body });
    expect(codeOf(() => encodeAppEnvelope({ ...BASE, body }, bytes.length - 1))).toBe("APP_MESSAGE_TOO_LARGE");
  });
});

describe("nesting depth", () => {
  // The envelope object itself is level 1, so a body may nest MAX_JSON_DEPTH - 1 levels.
  it(`accepts total depth ${MAX_JSON_DEPTH} and rejects ${MAX_JSON_DEPTH + 1}`, () => {
    expect(decodeAppEnvelope(enc({ ...BASE, body: nest(MAX_JSON_DEPTH - 1) })).body).toEqual(nest(MAX_JSON_DEPTH - 1));
    expect(decodeCode({ ...BASE, body: nest(MAX_JSON_DEPTH) })).toBe("APP_MESSAGE_INVALID");
    expect(messageOf(() => decodeAppEnvelope(enc({ ...BASE, body: nest(MAX_JSON_DEPTH) })))).toMatch(/nested deeper/);
  });

  it("counts objects and arrays alike", () => {
    let v: unknown = 0;
    for (let i = 0; i < MAX_JSON_DEPTH; i++) v = i % 2 ? [v] : { k: v };
    expect(decodeCode({ ...BASE, body: v })).toBe("APP_MESSAGE_INVALID");
  });

  it("measures depth, not the number of containers", () => {
    const wide = Array.from({ length: 1000 }, () => nest(20));
    expect(decodeAppEnvelope(enc({ ...BASE, body: wide })).body).toEqual(wide);
  });

  it("rejects pathological nesting before JSON.parse sees it", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expect(messageOf(() => decodeAppEnvelope(enc(deep)))).toMatch(/nested deeper/);
    // Unbalanced: never valid JSON, still stopped by the depth scan.
    expect(messageOf(() => decodeAppEnvelope(enc("{".repeat(MAX_JSON_DEPTH + 1))))).toMatch(/nested deeper/);
  });

  it("does not count brackets inside strings", () => {
    const body = { text: "[".repeat(200) + "{".repeat(200), more: ["}}}]]]", "[[[{{{"] };
    expect(decodeAppEnvelope(enc({ ...BASE, body })).body).toEqual(body);
  });

  it("handles escaped quotes and backslashes inside strings", () => {
    // An escaped quote does not end the string: the brackets after it are still inside.
    const quoted = { text: `\\"${"[".repeat(100)}` };
    expect(decodeAppEnvelope(enc({ ...BASE, body: quoted })).body).toEqual(quoted);
    // A string ending in an escaped backslash does end: nesting after it counts again.
    expect(decodeCode({ ...BASE, body: { s: "\\", deep: nest(MAX_JSON_DEPTH - 1) } })).toBe("APP_MESSAGE_INVALID");
    expect(decodeCode({ ...BASE, body: { s: "a\\\\", deep: nest(MAX_JSON_DEPTH - 1) } })).toBe("APP_MESSAGE_INVALID");
    const fine = { s: "\\", deep: nest(MAX_JSON_DEPTH - 2) };
    expect(decodeAppEnvelope(enc({ ...BASE, body: fine })).body).toEqual(fine);
  });

  it("brackets in keys are not counted either", () => {
    const body = { ["[".repeat(100)]: 1 };
    expect(decodeAppEnvelope(enc({ ...BASE, body })).body).toEqual(body);
  });
});

describe("UTF-8", () => {
  const json = (middle: number[]) => Uint8Array.from([...enc('{"v":1,"type":"t","id":"x","body":"'), ...middle, ...enc('"}')]);

  it("accepts valid multi-byte text", () => {
    expect(decodeAppEnvelope(json([0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80])).body).toBe("é😀");
  });

  it.each([
    ["a lone continuation byte", [0x80]],
    ["an invalid byte", [0xff]],
    ["an overlong encoding of '/'", [0xc0, 0xaf]],
    ["an overlong NUL", [0xc0, 0x80]],
    ["an encoded surrogate", [0xed, 0xa0, 0x80]],
    ["a truncated sequence", [0xe2, 0x82]],
    ["a code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
  ])("rejects %s", (_, bytes) => {
    expect(codeOf(() => decodeAppEnvelope(json(bytes)))).toBe("APP_MESSAGE_INVALID");
    expect(messageOf(() => decodeAppEnvelope(json(bytes)))).toMatch(/UTF-8/);
  });

  it("does not silently strip a byte-order mark", () => {
    const withBom = Uint8Array.from([0xef, 0xbb, 0xbf, ...enc(BASE)]);
    expect(codeOf(() => decodeAppEnvelope(withBom))).toBe("APP_MESSAGE_INVALID");
  });
});

describe("defineAppProtocol", () => {
  const proto = defineAppProtocol({
    "thread.start": s.strictObject({ prompt: s.string({ min: 1 }) }),
    "thread.stop": s.strictObject({ thread: s.string() }),
    ping: s.literal(null),
  });

  it("lists its types, including the built-in error", () => {
    expect([...proto.types].sort()).toEqual(["error", "ping", "thread.start", "thread.stop"]);
  });

  it("decodes to a typed message", () => {
    const bytes = proto.encode({ type: "thread.start", id: "c1", body: { prompt: "go" } });
    const msg = proto.decode(bytes);
    expect(msg).toEqual({ v: 1, type: "thread.start", id: "c1", body: { prompt: "go" } });
    if (msg.type === "thread.start") {
      const prompt: string = msg.body.prompt; // typed
      expect(prompt).toBe("go");
    } else {
      expect.fail(`unexpected type ${msg.type}`);
    }
    expect(proto.decode(proto.encode({ type: "ping", id: "p", body: null })).body).toBeNull();
  });

  it("understands error replies", () => {
    const bytes = proto.encode({ type: "error", id: "e1", re: "c1", body: { code: "NOT_FOUND", message: "no such thread" } });
    expect(proto.decode(bytes)).toMatchObject({ type: "error", re: "c1", body: { code: "NOT_FOUND" } });
    expect(codeOf(() => proto.decode(enc({ v: 1, type: "error", id: "e", body: { code: "lower", message: "" } })))).toBe("APP_MESSAGE_INVALID");
    expect(codeOf(() => proto.decode(enc({ v: 1, type: "error", id: "e", body: { code: "X", message: "m".repeat(1025) } })))).toBe("APP_MESSAGE_INVALID");
  });

  it("APP_UNKNOWN_TYPE for a valid envelope of an unregistered type", () => {
    expect(codeOf(() => proto.decode(enc({ v: 1, type: "thread.delete", id: "x", body: {} })))).toBe("APP_UNKNOWN_TYPE");
    expect(codeOf(() => proto.encode({ type: "thread.delete" as "ping", id: "x", body: null }))).toBe("APP_UNKNOWN_TYPE");
  });

  it("envelope errors come before type lookup", () => {
    expect(codeOf(() => proto.decode(enc({ v: 1, type: "thread.delete", id: "bad id", body: {} })))).toBe("APP_MESSAGE_INVALID");
  });

  it("APP_MESSAGE_INVALID for a body that fails its schema, both ways", () => {
    for (const body of [{}, { prompt: "" }, { prompt: 1 }, { prompt: "x", extra: 1 }, null, "x"]) {
      expect(
        codeOf(() => proto.decode(enc({ v: 1, type: "thread.start", id: "x", body }))),
        JSON.stringify(body),
      ).toBe("APP_MESSAGE_INVALID");
      expect(codeOf(() => proto.encode({ type: "thread.start", id: "x", body: body as { prompt: string } }))).toBe("APP_MESSAGE_INVALID");
    }
    expect(codeOf(() => proto.decode(enc({ v: 1, type: "ping", id: "x", body: 0 })))).toBe("APP_MESSAGE_INVALID");
  });

  it("names of Object.prototype members do not resolve to schemas", () => {
    // 'constructor' is a well-formed type name; it must not find Object.
    expect(codeOf(() => proto.decode(enc({ v: 1, type: "constructor", id: "x", body: {} })))).toBe("APP_UNKNOWN_TYPE");
    expect(codeOf(() => proto.encode({ type: "constructor" as "ping", id: "x", body: null }))).toBe("APP_UNKNOWN_TYPE");
    // '__proto__', 'hasOwnProperty', 'toString' fail the envelope's type pattern first…
    for (const type of ["__proto__", "hasOwnProperty", "toString", "valueOf"]) {
      expect(
        codeOf(() => proto.decode(enc({ v: 1, type, id: "x", body: {} }))),
        type,
      ).toBe("APP_MESSAGE_INVALID");
      // …and the registry lookup refuses them on the way out.
      expect(
        codeOf(() => proto.encode({ type: type as "ping", id: "x", body: null })),
        type,
      ).toBe("APP_UNKNOWN_TYPE");
    }
  });

  it("a protocol may register 'constructor' as a real type", () => {
    const p = defineAppProtocol({ constructor: s.strictObject({ n: s.number() }) });
    expect(p.decode(p.encode({ type: "constructor", id: "x", body: { n: 1 } })).body).toEqual({ n: 1 });
    expect(codeOf(() => p.decode(enc({ v: 1, type: "constructor", id: "x", body: { n: "1" } })))).toBe("APP_MESSAGE_INVALID");
  });

  it("honours its own size limit", () => {
    const small = defineAppProtocol({ ping: s.literal(null) }, 60);
    const bytes = small.encode({ type: "ping", id: "p", body: null });
    expect(bytes.length).toBeLessThanOrEqual(60);
    expect(codeOf(() => small.encode({ type: "ping", id: "p".repeat(60), body: null }))).toBe("APP_MESSAGE_TOO_LARGE");
    expect(codeOf(() => small.decode(enc({ v: 1, type: "ping", id: "p".repeat(60), body: null })))).toBe("APP_MESSAGE_TOO_LARGE");
  });
});

describe("encodeAppEnvelope with unserialisable bodies", () => {
  it("fails with APP_MESSAGE_INVALID for a BigInt or a cycle, not a TypeError", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const body of [10n, cyclic]) {
      expect(codeOf(() => encodeAppEnvelope({ v: 1, type: "x", id: "a", body }))).toBe("APP_MESSAGE_INVALID");
    }
  });
});
