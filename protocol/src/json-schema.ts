// JSON Schema (draft 2020-12) from the wire schemas of schema.ts, and the
// published application-protocol document (docs/app-protocol.schema.json,
// written by `npm run schemas`, checked by test/protocol/app-schema.test.ts).
//
// Not exported from the package index (its own subpath: @airlock/protocol/json-schema):
// nothing the client SDK imports pulls this in.
//
// Mapping: string → minLength/maxLength/pattern; int → integer with
// minimum/maximum; enum → enum; literal → const; array → items/minItems/
// maxItems; strictObject → properties, required, additionalProperties: false;
// optional → left out of required; nullable → anyOf [x, null]; record →
// additionalProperties; union → anyOf; discriminatedUnion → oneOf.
import * as s from "./schema.ts";
import { APP_PROTOCOL_VERSION, appEnvelopeSchema, errorBodySchema, MAX_ACKS_PER_MESSAGE, MAX_JSON_DEPTH } from "./app-envelope.ts";
import {
  appMessageBodies,
  approvalDecision,
  approvalEvidence,
  DEVICE_COMMANDS,
  effort,
  HOST_MESSAGES,
  modelInfo,
  threadEvent,
  threadSummary,
  type DeviceCommandType,
} from "./app-protocol.ts";
import { APP_ERRORS, APP_ERROR_CODES, appErrorsFor } from "./app-errors.ts";
import { COMMAND_ANSWERS, type CommandAnswer } from "./app-results.ts";
import { MAX_APP_MESSAGE_BYTES } from "./constants.ts";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonSchema = { [key: string]: JsonValue };

type AnySchema = s.Schema<unknown>;

export interface JsonSchemaOptions {
  /** Schemas written as { "$ref": "#/$defs/<name>" } wherever they occur. */
  refs?: ReadonlyMap<AnySchema, string>;
  /** Replacements for particular schema objects (e.g. to document an open code with its known values). */
  overrides?: ReadonlyMap<AnySchema, JsonSchema>;
}

/** JSON Schema for `schema`. The schema itself is never replaced by its own $ref. */
export function toJsonSchema(schema: AnySchema, options: JsonSchemaOptions = {}): JsonSchema {
  const sub = (x: AnySchema): JsonSchema => {
    const name = options.refs?.get(x);
    return name !== undefined ? { $ref: `#/$defs/${name}` } : toJsonSchema(x, options);
  };
  const override = options.overrides?.get(schema);
  if (override) return override;
  const [factory, a, b] = schema.def;
  switch (factory) {
    case s.string: {
      const o = a as s.StringOptions;
      const out: JsonSchema = { type: "string" };
      if (o.min !== undefined) out.minLength = o.min;
      if (o.max !== undefined) out.maxLength = o.max;
      if (o.regex) {
        if (o.regex.flags !== "") throw new Error(`regex flags cannot be published: ${o.regex}`);
        out.pattern = o.regex.source;
      }
      if (o.refine) out.description = `also checked: ${o.message ?? "a further rule"}`;
      return out;
    }
    case s.int:
    case s.number: {
      const out: JsonSchema = { type: factory === s.int ? "integer" : "number" };
      if (Number.isFinite(a)) out.minimum = a as number;
      if (Number.isFinite(b)) out.maximum = b as number;
      return out;
    }
    case s.boolean:
      return { type: "boolean" };
    case s.unknown:
      return {};
    case s.literal:
      return { const: a as JsonValue };
    case s.enum:
      return { type: "string", enum: [...(a as readonly string[])] };
    case s.optional:
      return sub(a as AnySchema);
    case s.nullable:
      return { anyOf: [sub(a as AnySchema), { type: "null" }] };
    case s.array: {
      const o = b as { min?: number; max?: number };
      const out: JsonSchema = { type: "array", items: sub(a as AnySchema) };
      if (o.min !== undefined) out.minItems = o.min;
      if (o.max !== undefined) out.maxItems = o.max;
      return out;
    }
    case s.strictObject: {
      const shape = a as s.Shape;
      const properties: JsonSchema = {};
      const required: string[] = [];
      for (const [key, value] of Object.entries(shape)) {
        properties[key] = sub(value);
        if (value.def[0] !== s.optional) required.push(key);
      }
      return { type: "object", properties, ...(required.length ? { required } : {}), additionalProperties: false };
    }
    case s.record:
      return { type: "object", additionalProperties: sub(a as AnySchema) };
    case s.union:
      return { anyOf: (a as readonly AnySchema[]).map(sub) };
    case s.discriminatedUnion:
      return { oneOf: (b as readonly AnySchema[]).map(sub) };
    default:
      throw new Error("a schema this converter does not know");
  }
}

// ------------------------------------------------------- the published document

const ERROR_CODE_PATTERN = "^[A-Z][A-Z0-9_]{0,63}$";

/** The variants of the thread event union, by kind. */
export function threadEventVariants(): Map<string, AnySchema> {
  const variants = threadEvent.def[2] as readonly AnySchema[];
  return new Map(variants.map((v) => [(v.def[1] as s.Shape).kind!.def[1] as string, v]));
}

const MESSAGE_DESCRIPTIONS: Record<string, string> = {
  "host.info": "host → device: the first message of every session",
  "thread.list": "host → device: answers threads.list (re = the command's id)",
  "thread.updated": "host → device: a thread's summary changed",
  event: "host → device: one event of a thread; envelope thread and seq are set",
  result: "host → device: a command succeeded (re = the command's id); data per command: $defs result.<command>",
  error: "host → device: a command failed (re = the command's id) or a message was invalid (re when its id could be read)",
  "device.hello": "device → host: optional introduction",
  "threads.list": "device → host: list the host's threads (answered by thread.list)",
  "thread.subscribe":
    "device → host: deliver the thread's events after afterSeq, in order, then live. A repeated subscribe on the same connection restarts delivery from its afterSeq, so events can be sent again; devices dedupe by (thread, seq)",
  "thread.unsubscribe": "device → host: stop delivering the thread's events on this connection",
  "thread.start": "device → host: start a thread (the sender is subscribed from seq 0)",
  "thread.send": "device → host: a follow-up instruction",
  "turn.steer": "device → host: steer the running turn (TURN_NOT_RUNNING when none runs)",
  "turn.interrupt": "device → host: cancel what the thread waits for, then interrupt the running turn",
  "question.answer": "device → host: answer the agent's question",
  "approval.decide": "device → host: decide an approval request (the first decision wins)",
  "thread.settings": "device → host: change the thread's model or reasoning effort",
  ack: "device → host: carries only the envelope ack field; never answered",
};

function commandAnnotations(command: DeviceCommandType): JsonSchema {
  const answer: CommandAnswer = COMMAND_ANSWERS[command];
  return {
    "x-answer": answer.success,
    ...(answer.data ? { "x-result-data": `#/$defs/result.${command}` } : {}),
    "x-errors": appErrorsFor(command),
  };
}

/** The document written to docs/app-protocol.schema.json. */
export function appProtocolJsonSchema(): JsonSchema {
  const events = threadEventVariants();
  const refs = new Map<AnySchema, string>([
    [threadSummary, "ThreadSummary"],
    [modelInfo, "ModelInfo"],
    [approvalEvidence, "ApprovalEvidence"],
    [approvalDecision, "ApprovalDecision"],
    [effort, "Effort"],
    [threadEvent, "ThreadEvent"],
  ]);
  for (const [kind, schema] of events) refs.set(schema, `event.${kind}`);
  const overrides = new Map<AnySchema, JsonSchema>([
    [
      (errorBodySchema.def[1] as s.Shape).code!,
      {
        type: "string",
        pattern: ERROR_CODE_PATTERN,
        description: "One of AppErrorCode today; devices must accept any code matching the pattern and treat an unknown one like INTERNAL.",
        anyOf: [{ $ref: "#/$defs/AppErrorCode" }, { description: "a code added by a later host" }],
      },
    ],
    [(appEnvelopeSchema.def[1] as s.Shape).body!, { description: "validated by the schema of the message type ($defs body.<type>)" }],
  ]);
  const convert = (schema: AnySchema) => toJsonSchema(schema, { refs, overrides });

  const defs: JsonSchema = {};
  defs.Envelope = {
    ...convert(appEnvelopeSchema),
    description: `Every application message: UTF-8 JSON of at most ${MAX_APP_MESSAGE_BYTES} bytes, nested at most ${MAX_JSON_DEPTH} levels, at most ${MAX_ACKS_PER_MESSAGE} acks.`,
  };
  defs.AppErrorCode = {
    type: "string",
    description: "The application error codes (protocol/src/app-errors.ts). x-commands: the commands that can be answered with the code (* = any message).",
    oneOf: APP_ERROR_CODES.map((code) => {
      const info = APP_ERRORS[code];
      return { const: code, description: info.description, "x-commands": info.commands === "*" ? "*" : [...info.commands] };
    }),
  };
  for (const [schema, name] of refs) if (!name.startsWith("event.")) defs[name] = convert(schema);
  for (const [kind, schema] of events) defs[`event.${kind}`] = convert(schema);

  const bodies: Record<string, AnySchema> = { ...appMessageBodies, error: errorBodySchema };
  const types = [...HOST_MESSAGES, ...DEVICE_COMMANDS];
  if (new Set(types).size !== Object.keys(bodies).length || !types.every((t) => t in bodies)) {
    throw new Error("HOST_MESSAGES and DEVICE_COMMANDS must list every message type exactly once");
  }
  for (const type of types) defs[`body.${type}`] = convert(bodies[type]!);
  for (const command of DEVICE_COMMANDS) {
    const data = (COMMAND_ANSWERS[command] as CommandAnswer).data;
    if (data) defs[`result.${command}`] = { ...convert(data), description: `result data of ${command}` };
  }
  for (const type of types) {
    const required = type === "event" ? ["thread", "seq"] : type === "result" || type === "thread.list" ? ["re"] : [];
    defs[`message.${type}`] = {
      description: MESSAGE_DESCRIPTIONS[type] ?? type,
      allOf: [{ $ref: "#/$defs/Envelope" }],
      properties: { type: { const: type }, body: { $ref: `#/$defs/body.${type}` } },
      ...(required.length ? { required } : {}),
      ...((DEVICE_COMMANDS as readonly string[]).includes(type) ? commandAnnotations(type as DeviceCommandType) : {}),
    };
  }
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "urn:airlock:app-protocol:v1",
    title: `Airlock application protocol v${APP_PROTOCOL_VERSION}`,
    description:
      "Generated from protocol/src/app-protocol.ts, app-envelope.ts, app-results.ts and app-errors.ts by `npm run schemas`; " +
      "docs/protocol.md §10 gives the meaning. The root validates one decoded message. x-answer: what answers a command " +
      "(result, thread.list, or none); x-result-data: the JSON pointer of its result data; x-errors: the codes it can be answered with.",
    $comment:
      "String lengths (minLength/maxLength) are counted by the reference implementation in UTF-16 code units, not code points: " +
      "a string of characters outside the BMP is limited to half as many characters as maxLength says.",
    oneOf: types.map((t) => ({ $ref: `#/$defs/message.${t}` })),
    $defs: defs,
  };
}

/** The file's exact text: two-space indent, trailing newline. */
export function serializeJsonSchema(schema: JsonSchema): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
