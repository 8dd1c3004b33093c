// The published JSON Schema of the application protocol (docs/app-protocol.schema.json):
// it is exactly what the generator writes from protocol/src today, and messages our
// encoder produces validate against it (checked with the small draft 2020-12 checker
// below, which supports exactly the keywords the generator emits).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as s from "../../protocol/src/schema.ts";
import { APP_ERROR_CODES, COMMAND_ANSWERS, DEVICE_COMMANDS, HOST_MESSAGES, appProtocol, strictTextDecoder, textEncoder } from "../../protocol/src/index.ts";
import {
  appProtocolJsonSchema,
  serializeJsonSchema,
  threadEventVariants,
  toJsonSchema,
  type JsonSchema,
  type JsonValue,
} from "../../protocol/src/json-schema.ts";

const FILE = fileURLToPath(new URL("../../docs/app-protocol.schema.json", import.meta.url));
const stored = JSON.parse(readFileSync(FILE, "utf8")) as JsonSchema;

// ------------------------------------------------------------ a tiny checker

const KNOWN = new Set([
  "$schema",
  "$id",
  "$comment",
  "$defs",
  "title",
  "description",
  "x-answer",
  "x-result-data",
  "x-errors",
  "x-commands",
  "$ref",
  "type",
  "const",
  "enum",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "minItems",
  "maxItems",
  "minLength",
  "maxLength",
  "pattern",
  "minimum",
  "maximum",
  "anyOf",
  "oneOf",
  "allOf",
]);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** Errors of `value` against `schema` (empty when valid). `root` resolves "#/$defs/…" refs. */
function validate(schema: JsonValue, value: unknown, root: JsonSchema, path = "$"): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: not allowed`];
  const sc = schema as JsonSchema;
  for (const k of Object.keys(sc)) if (!KNOWN.has(k)) throw new Error(`checker does not know keyword ${k}`);
  const errors: string[] = [];
  if (typeof sc.$ref === "string") {
    const m = /^#\/\$defs\/(.+)$/.exec(sc.$ref);
    const target = m ? (root.$defs as JsonSchema)[m[1]!] : undefined;
    if (target === undefined) throw new Error(`unresolved $ref ${sc.$ref}`);
    errors.push(...validate(target, value, root, path));
  }
  if (sc.type !== undefined) {
    const t = typeOf(value);
    const want = sc.type as string;
    if (!(t === want || (want === "number" && t === "integer"))) return [...errors, `${path}: expected ${want}, got ${t}`];
  }
  if ("const" in sc && JSON.stringify(sc.const) !== JSON.stringify(value)) errors.push(`${path}: expected const ${JSON.stringify(sc.const)}`);
  if (sc.enum !== undefined && !(sc.enum as JsonValue[]).some((e) => JSON.stringify(e) === JSON.stringify(value))) errors.push(`${path}: not in enum`);
  if (typeof value === "string") {
    const length = [...value].length; // JSON Schema counts code points
    if (typeof sc.minLength === "number" && length < sc.minLength) errors.push(`${path}: shorter than ${sc.minLength}`);
    if (typeof sc.maxLength === "number" && length > sc.maxLength) errors.push(`${path}: longer than ${sc.maxLength}`);
    if (typeof sc.pattern === "string" && !new RegExp(sc.pattern, "u").test(value)) errors.push(`${path}: does not match ${sc.pattern}`);
  }
  if (typeof value === "number") {
    if (typeof sc.minimum === "number" && value < sc.minimum) errors.push(`${path}: below ${sc.minimum}`);
    if (typeof sc.maximum === "number" && value > sc.maximum) errors.push(`${path}: above ${sc.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof sc.minItems === "number" && value.length < sc.minItems) errors.push(`${path}: fewer than ${sc.minItems} items`);
    if (typeof sc.maxItems === "number" && value.length > sc.maxItems) errors.push(`${path}: more than ${sc.maxItems} items`);
    if (sc.items !== undefined) value.forEach((item, i) => errors.push(...validate(sc.items!, item, root, `${path}[${i}]`)));
  }
  if (typeOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    const props = (sc.properties ?? {}) as JsonSchema;
    for (const key of (sc.required ?? []) as string[]) if (!(key in obj)) errors.push(`${path}.${key}: required`);
    for (const [key, v] of Object.entries(obj)) {
      if (key in props) errors.push(...validate(props[key]!, v, root, `${path}.${key}`));
      else if (sc.additionalProperties !== undefined) errors.push(...validate(sc.additionalProperties, v, root, `${path}.${key}`));
    }
  }
  for (const sub of (sc.allOf ?? []) as JsonValue[]) errors.push(...validate(sub, value, root, path));
  if (sc.anyOf !== undefined && !(sc.anyOf as JsonValue[]).some((sub) => validate(sub, value, root, path).length === 0)) {
    errors.push(`${path}: matches no anyOf branch`);
  }
  if (sc.oneOf !== undefined) {
    const n = (sc.oneOf as JsonValue[]).filter((sub) => validate(sub, value, root, path).length === 0).length;
    if (n !== 1) errors.push(`${path}: matches ${n} oneOf branches`);
  }
  return errors;
}

const check = (value: unknown) => validate(stored, value, stored);

// ------------------------------------------------------------ samples

type Encodable = Parameters<typeof appProtocol.encode>[0];
const summary = {
  id: "t1",
  title: "Fix the test",
  status: "running",
  createdAt: 1,
  updatedAt: 2,
  cwd: "/w",
  model: "m",
  effort: "high",
  lastSeq: 7,
  pending: 1,
};
const evidence = {
  action: "npm test",
  host: "laptop",
  cwd: "/w",
  filesChanged: ["a.ts"],
  checksRun: [{ name: "vitest", status: "passed" }],
  flags: { network: false, credentials: false, externalTools: false, writes: true },
};
const SAMPLES: Encodable[] = [
  {
    type: "host.info",
    id: "h1",
    body: {
      name: "laptop",
      platform: "linux",
      airlockVersion: "0.1.0",
      agent: { kind: "demo", label: "Demo" },
      models: [{ id: "m", name: "M", efforts: ["low", "high"], defaultEffort: "low" }],
      defaultModel: "m",
    },
  },
  { type: "thread.list", id: "h2", re: "c1", body: { threads: [summary as never] } },
  { type: "thread.updated", id: "h3", body: { thread: summary as never } },
  { type: "event", id: "e1", thread: "t1", seq: 1, body: { kind: "turn.status", turnId: "u1", status: "started" } },
  { type: "event", id: "e2", thread: "t1", seq: 2, body: { kind: "message.user", itemId: "i1", text: "hi", device: "Phone" } },
  { type: "event", id: "e3", thread: "t1", seq: 3, body: { kind: "command.finished", itemId: "i2", exitCode: null, durationMs: 5 } },
  {
    type: "event",
    id: "e4",
    thread: "t1",
    seq: 4,
    body: {
      kind: "approval.request",
      approvalId: "a1",
      type: "command",
      tier: "commit",
      rule: "r",
      where: "any-device",
      evidence: evidence as never,
      options: ["approve_once", "deny"],
    },
  },
  { type: "event", id: "e5", thread: "t1", seq: 5, body: { kind: "plan.update", steps: [{ text: "x", status: "pending" }] } },
  { type: "result", id: "h4", re: "c2", body: {} },
  { type: "result", id: "h5", re: "c3", body: { data: { thread: "t1", lastSeq: 7 } } },
  { type: "error", id: "h6", re: "c4", body: { code: "THREAD_NOT_FOUND", message: "no thread t9" } },
  { type: "error", id: "h7", body: { code: "SOME_FUTURE_CODE", message: "later hosts may add codes" } },
  { type: "device.hello", id: "c1", body: { app: "web", appVersion: "1" } },
  { type: "threads.list", id: "c2", body: { includeArchived: true } },
  { type: "thread.subscribe", id: "c3", ack: [{ thread: "t1", seq: 3 }], body: { thread: "t1", afterSeq: 3 } },
  { type: "thread.unsubscribe", id: "c4", body: { thread: "t1" } },
  { type: "thread.start", id: "c5", body: { prompt: "fix it", model: "m", effort: "low", cwd: "sub" } },
  { type: "thread.send", id: "c6", body: { thread: "t1", text: "and then" } },
  { type: "turn.steer", id: "c7", body: { thread: "t1", text: "stop that" } },
  { type: "turn.interrupt", id: "c8", body: { thread: "t1" } },
  { type: "question.answer", id: "c9", body: { thread: "t1", questionId: "q1", answer: "yes", optionId: "o1" } },
  { type: "approval.decide", id: "c10", body: { thread: "t1", approvalId: "a1", decision: "approve_once", note: "ok" } },
  { type: "thread.settings", id: "c11", body: { thread: "t1", model: "m", effort: "high" } },
  { type: "ack", id: "c12", ack: [{ thread: "t1", seq: 5 }], body: {} },
  {
    type: "push.register",
    id: "c13",
    body: {
      subscription: { endpoint: "https://push.example/s/abc", p256dh: "B".repeat(87), auth: "A".repeat(22) },
      kinds: ["approval", "question"],
      details: false,
    },
  },
  { type: "push.unregister", id: "c14", body: {} },
  { type: "push.test", id: "c15", body: {} },
  { type: "device.visibility", id: "c16", body: { visible: false } },
] as Encodable[];

/** What a sample looks like on the wire, decoded back to plain JSON. */
const wire = (m: Encodable): Record<string, unknown> => JSON.parse(strictTextDecoder.decode(appProtocol.encode(m))) as Record<string, unknown>;

// ------------------------------------------------------------ tests

describe("docs/app-protocol.schema.json", () => {
  it("is what `npm run schemas` writes from protocol/src today", () => {
    const text = serializeJsonSchema(appProtocolJsonSchema());
    expect(text === readFileSync(FILE, "utf8"), "regenerate with `npm run schemas` and review the diff").toBe(true);
  });

  it("covers every message type, every event kind, every command's answer and every error code", () => {
    const defs = stored.$defs as Record<string, JsonSchema>;
    for (const type of [...HOST_MESSAGES, ...DEVICE_COMMANDS]) {
      expect(defs[`message.${type}`], type).toBeDefined();
      expect(defs[`body.${type}`], type).toBeDefined();
    }
    expect(new Set(appProtocol.types)).toEqual(new Set([...HOST_MESSAGES, ...DEVICE_COMMANDS]));
    for (const kind of threadEventVariants().keys()) expect(defs[`event.${kind}`], kind).toBeDefined();
    expect([...threadEventVariants().keys()]).toContain("approval.request");
    for (const command of DEVICE_COMMANDS) {
      const message = defs[`message.${command}`]!;
      const answer = COMMAND_ANSWERS[command];
      expect(message["x-answer"]).toBe(answer.success);
      expect(message["x-errors"]).toEqual(expect.arrayContaining(["APP_MESSAGE_INVALID", "INTERNAL"]));
      if ("data" in answer) expect(defs[`result.${command}`], command).toBeDefined();
      else expect(defs[`result.${command}`], command).toBeUndefined();
    }
    expect(
      Object.keys(defs)
        .filter((k) => k.startsWith("result."))
        .sort(),
    ).toEqual(["result.approval.decide", "result.push.register", "result.push.test", "result.thread.start", "result.thread.subscribe"]);
    expect((defs.AppErrorCode!.oneOf as JsonSchema[]).map((o) => o.const)).toEqual(APP_ERROR_CODES);
    expect(defs["message.turn.steer"]!["x-errors"]).toContain("TURN_NOT_RUNNING");
    expect(defs["message.thread.subscribe"]!["x-errors"]).toContain("SEQ_AHEAD");
    expect(defs["message.thread.start"]!["x-errors"]).toEqual(expect.arrayContaining(["MODEL_UNKNOWN", "THREAD_LIMIT", "CWD_INVALID"]));
  });

  it("keeps the error code open (pattern) while documenting the known codes", () => {
    const code = ((stored.$defs as Record<string, JsonSchema>)["body.error"]!.properties as JsonSchema).code as JsonSchema;
    expect(code.pattern).toBe("^[A-Z][A-Z0-9_]{0,63}$");
    expect(code.anyOf).toContainEqual({ $ref: "#/$defs/AppErrorCode" });
  });

  it("every message our encoder produces validates, and the checker is not vacuous", () => {
    const seen = new Set<string>();
    for (const m of SAMPLES) {
      const json = wire(m);
      seen.add(m.type);
      expect(check(json), m.type).toEqual([]);
    }
    expect(seen).toEqual(new Set([...HOST_MESSAGES, ...DEVICE_COMMANDS]));
    // Mutations the wire schemas reject are rejected by the JSON Schema too.
    const mutants: Array<[string, (j: Record<string, unknown>) => void, number]> = [
      ["unknown envelope key", (j) => (j.extra = 1), 14],
      ["unknown body key", (j) => ((j.body as Record<string, unknown>).extra = 1), 14],
      ["thread id pattern", (j) => ((j.body as Record<string, unknown>).thread = "a b"), 14],
      ["afterSeq negative", (j) => ((j.body as Record<string, unknown>).afterSeq = -1), 14],
      ["decision enum", (j) => ((j.body as Record<string, unknown>).decision = "maybe"), 21],
      ["note too long", (j) => ((j.body as Record<string, unknown>).note = "x".repeat(2049)), 21],
      ["event kind", (j) => ((j.body as Record<string, unknown>).kind = "nope"), 3],
      ["options empty", (j) => ((j.body as Record<string, unknown>).options = []), 6],
      ["error code lower case", (j) => ((j.body as Record<string, unknown>).code = "nope"), 10],
      ["version", (j) => (j.v = 2), 0],
      ["ack too many", (j) => (j.ack = Array.from({ length: 65 }, () => ({ thread: "t1", seq: 1 }))), 23],
    ];
    // Stricter than the generic envelope: the host always sets thread and seq on events.
    const noSeq = wire(SAMPLES[3]!);
    delete noSeq.seq;
    expect(check(noSeq).length).toBeGreaterThan(0);
    for (const [what, mutate, index] of mutants) {
      const json = wire(SAMPLES[index]!);
      mutate(json);
      expect(check(json).length, `JSON Schema rejects: ${what}`).toBeGreaterThan(0);
      expect(() => appProtocol.decode(textEncoder.encode(JSON.stringify(json))), `wire schema rejects: ${what}`).toThrow();
    }
  });

  it("result data validates what the host answers today", () => {
    const defs = stored.$defs as Record<string, JsonSchema>;
    expect(validate(defs["result.thread.subscribe"]!, { thread: "t1", lastSeq: 0 }, stored)).toEqual([]);
    expect(validate(defs["result.thread.start"]!, { thread: "t_abc" }, stored)).toEqual([]);
    expect(validate(defs["result.approval.decide"]!, { approvalId: "a1", decision: "deny" }, stored)).toEqual([]);
    expect(validate(defs["result.approval.decide"]!, { approvalId: "a1", decision: "cancel" }, stored)).not.toEqual([]);
    expect(validate(defs["result.thread.start"]!, { thread: "t1", extra: 1 }, stored)).not.toEqual([]);
  });
});

describe("toJsonSchema", () => {
  it("maps every factory", () => {
    expect(toJsonSchema(s.string({ min: 1, max: 5, regex: /^a+$/ }))).toEqual({ type: "string", minLength: 1, maxLength: 5, pattern: "^a+$" });
    expect(toJsonSchema(s.int(0, 9))).toEqual({ type: "integer", minimum: 0, maximum: 9 });
    expect(toJsonSchema(s.int())).toEqual({ type: "integer", minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER });
    expect(toJsonSchema(s.number())).toEqual({ type: "number" });
    expect(toJsonSchema(s.boolean())).toEqual({ type: "boolean" });
    expect(toJsonSchema(s.unknown())).toEqual({});
    expect(toJsonSchema(s.literal(3))).toEqual({ const: 3 });
    expect(toJsonSchema(s.enum(["a", "b"]))).toEqual({ type: "string", enum: ["a", "b"] });
    expect(toJsonSchema(s.nullable(s.boolean()))).toEqual({ anyOf: [{ type: "boolean" }, { type: "null" }] });
    expect(toJsonSchema(s.array(s.boolean(), { min: 1, max: 2 }))).toEqual({ type: "array", items: { type: "boolean" }, minItems: 1, maxItems: 2 });
    expect(toJsonSchema(s.strictObject({ a: s.boolean(), b: s.optional(s.int(1, 2)) }))).toEqual({
      type: "object",
      properties: { a: { type: "boolean" }, b: { type: "integer", minimum: 1, maximum: 2 } },
      required: ["a"],
      additionalProperties: false,
    });
    expect(toJsonSchema(s.record(s.boolean()))).toEqual({ type: "object", additionalProperties: { type: "boolean" } });
    expect(toJsonSchema(s.union([s.boolean(), s.literal(null)]))).toEqual({ anyOf: [{ type: "boolean" }, { const: null }] });
    const du = s.discriminatedUnion("k", [s.strictObject({ k: s.literal("x") }), s.strictObject({ k: s.literal("y"), n: s.int(0, 1) })]);
    expect(toJsonSchema(du)).toEqual({
      oneOf: [
        { type: "object", properties: { k: { const: "x" } }, required: ["k"], additionalProperties: false },
        {
          type: "object",
          properties: { k: { const: "y" }, n: { type: "integer", minimum: 0, maximum: 1 } },
          required: ["k", "n"],
          additionalProperties: false,
        },
      ],
    });
    expect(() => toJsonSchema(s.string({ regex: /a/i }))).toThrow(/flags/);
  });

  it("the wire validator still behaves (optional keys, discriminated unions) after the def refactor", () => {
    const o = s.strictObject({ a: s.int(0, 1), b: s.optional(s.boolean()) });
    expect(o.safeParse({ a: 1 }).success).toBe(true);
    expect(o.safeParse({ a: 1, b: undefined }).success).toBe(true);
    expect(o.safeParse({ b: true }).success).toBe(false);
    const du = s.discriminatedUnion("k", [s.strictObject({ k: s.literal("x") }), s.strictObject({ k: s.literal("y") })]);
    expect(du.safeParse({ k: "y" }).success).toBe(true);
    expect(du.safeParse({ k: "z" }).success).toBe(false);
  });
});

describe("the JSON Schema module stays out of the client SDK", () => {
  it("the protocol index does not import json-schema.ts", () => {
    const index = readFileSync(fileURLToPath(new URL("../../protocol/src/index.ts", import.meta.url)), "utf8");
    expect(index).not.toMatch(/json-schema/);
    const sdk = ["index.ts", "native.ts"].map((f) => readFileSync(fileURLToPath(new URL(`../../client-sdk/src/${f}`, import.meta.url)), "utf8")).join("\n");
    expect(sdk).not.toMatch(/json-schema/);
  });
});
