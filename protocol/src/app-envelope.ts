// The application-message envelope carried inside channel payloads: UTF-8
// JSON, strictly validated with schema.ts (small enough for the client SDK).
// The message bodies of the application protocol are registered per type with
// defineAppProtocol(); this module owns only the envelope and its bounds.
//
//   { "v": 1, "type": "thread.start", "id": "c7", "re"?: "…", "thread"?: "…",
//     "seq"?: 12, "ack"?: [{ "thread": "…", "seq": 11 }], "body": … }
import * as s from "./schema.ts";
import { strictTextDecoder, textEncoder } from "./bytes.ts";
import { MAX_APP_MESSAGE_BYTES } from "./constants.ts";
import { AirlockProtocolError, fail } from "./errors.ts";

export const APP_PROTOCOL_VERSION = 1;
/** Deepest JSON nesting accepted (objects and arrays), checked before parsing. */
export const MAX_JSON_DEPTH = 32;
export const MAX_ACKS_PER_MESSAGE = 64;

const messageId = s.string({ regex: /^[A-Za-z0-9_-]{1,64}$/ });
const threadId = s.string({ regex: /^[A-Za-z0-9_.:-]{1,128}$/ });
const sequence = s.int(0, Number.MAX_SAFE_INTEGER);

export const appEnvelopeSchema = s.strictObject({
  v: s.literal(APP_PROTOCOL_VERSION),
  /** Dotted lower-case name, e.g. "thread.start". */
  type: s.string({ max: 64, regex: /^[a-z][a-z0-9]*(\.[a-z][a-z0-9_]*){0,3}$/ }),
  /** Unique per sender; for commands it is also the idempotency key. */
  id: messageId,
  /** The id of the message this one answers (results and errors). */
  re: s.optional(messageId),
  /** Event stream (thread) this message belongs to, with its sequence number. */
  thread: s.optional(threadId),
  seq: s.optional(sequence),
  /** Cumulative acknowledgements: every event up to `seq` in `thread` was received. */
  ack: s.optional(s.array(s.strictObject({ thread: threadId, seq: sequence }), { max: MAX_ACKS_PER_MESSAGE })),
  body: s.unknown(),
});

export type AppEnvelope = s.Infer<typeof appEnvelopeSchema>;

/** Rejects nesting deeper than MAX_JSON_DEPTH without parsing (strings are skipped). */
function checkJsonDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) fail("APP_MESSAGE_INVALID", `nested deeper than ${MAX_JSON_DEPTH}`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/** Parses and validates an envelope from channel payload bytes. */
export function decodeAppEnvelope(bytes: Uint8Array, maxBytes: number = MAX_APP_MESSAGE_BYTES): AppEnvelope {
  if (bytes.length > maxBytes) fail("APP_MESSAGE_TOO_LARGE", `${bytes.length} > ${maxBytes} bytes`);
  let text: string;
  try {
    text = strictTextDecoder.decode(bytes);
  } catch {
    fail("APP_MESSAGE_INVALID", "not UTF-8");
  }
  checkJsonDepth(text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    fail("APP_MESSAGE_INVALID", "not JSON");
  }
  const parsed = appEnvelopeSchema.safeParse(json);
  if (!parsed.success) fail("APP_MESSAGE_INVALID", summarizeIssues(parsed.error));
  return parsed.data;
}

/** Validates and serialises an envelope; throws rather than send something the peer would reject. */
export function encodeAppEnvelope(envelope: AppEnvelope, maxBytes: number = MAX_APP_MESSAGE_BYTES): Uint8Array {
  const parsed = appEnvelopeSchema.safeParse(envelope);
  if (!parsed.success) fail("APP_MESSAGE_INVALID", summarizeIssues(parsed.error));
  // JSON.stringify drops an undefined body, which decodeAppEnvelope requires.
  if (parsed.data.body === undefined) fail("APP_MESSAGE_INVALID", "body: required");
  let text: string;
  try {
    text = JSON.stringify(parsed.data);
  } catch (e) {
    fail("APP_MESSAGE_INVALID", `body is not serialisable as JSON (${(e as Error).message})`);
  }
  checkJsonDepth(text);
  const bytes = textEncoder.encode(text);
  if (bytes.length > maxBytes) fail("APP_MESSAGE_TOO_LARGE", `${bytes.length} > ${maxBytes} bytes`);
  return bytes;
}

function summarizeIssues(error: s.SchemaError): string {
  return s.formatIssues(error.issues.slice(0, 3));
}

// ---------------------------------------------------- typed protocol registry

type BodySchemas = Record<string, s.Schema<unknown>>;

/** A decoded message whose body has been validated against its type's schema. */
export type TypedMessage<S extends BodySchemas> = {
  [K in keyof S & string]: Omit<AppEnvelope, "type" | "body"> & { type: K; body: s.Infer<S[K]> };
}[keyof S & string];

export interface AppProtocol<S extends BodySchemas> {
  readonly types: readonly (keyof S & string)[];
  /** Validates envelope and body; unknown types fail with APP_UNKNOWN_TYPE. */
  decode(bytes: Uint8Array): TypedMessage<S>;
  encode<K extends keyof S & string>(message: Omit<AppEnvelope, "type" | "body" | "v"> & { type: K; body: s.Infer<S[K]> }): Uint8Array;
}

/** Every side understands `error`: a reply (re = failed message id) with a stable code. */
export const errorBodySchema = s.strictObject({
  code: s.string({ regex: /^[A-Z][A-Z0-9_]{0,63}$/ }),
  message: s.string({ max: 1024 }),
});

/** Any JSON object: the body check for a type this side sends but never validates (see `unchecked`). */
const anyObject = /* @__PURE__ */ s.record(s.unknown());

/**
 * `encodeAny`: encode also takes types without a schema here, requiring only
 * an object body (decode stays strict). A device uses it for the commands it
 * sends — the host checks them strictly — so its bundle need not carry their
 * schemas.
 */
export function defineAppProtocol<S extends BodySchemas>(
  schemas: S,
  maxBytes: number = MAX_APP_MESSAGE_BYTES,
  encodeAny = false,
): AppProtocol<S & { error: typeof errorBodySchema }> {
  const all = { error: errorBodySchema, ...schemas } as S & { error: typeof errorBodySchema };
  const lookup = (type: string): s.Schema<unknown> | undefined => (Object.prototype.hasOwnProperty.call(all, type) ? (all as BodySchemas)[type] : undefined);
  /** The validated body of a message of `type` (decode and encode check it the same way). */
  const checkBody = (type: string, value: unknown, encoding = false): unknown => {
    const schema = lookup(type) ?? (encoding && encodeAny ? anyObject : undefined);
    if (!schema) throw new AirlockProtocolError("APP_UNKNOWN_TYPE", type);
    const body = schema.safeParse(value);
    if (!body.success) fail("APP_MESSAGE_INVALID", `${type} body: ${summarizeIssues(body.error)}`);
    return body.data;
  };
  return {
    types: Object.keys(all) as (keyof S & string)[],
    decode(bytes) {
      const envelope = decodeAppEnvelope(bytes, maxBytes);
      return { ...envelope, body: checkBody(envelope.type, envelope.body) } as never;
    },
    encode(message) {
      return encodeAppEnvelope({ ...message, v: APP_PROTOCOL_VERSION, body: checkBody(message.type, message.body, true) } as AppEnvelope, maxBytes);
    },
  };
}
