// A small, strict schema validator for the wire messages: exactly the subset
// the protocol needs (it replaced zod/mini to keep the client SDK small).
//
// - Objects are strict: unknown keys are rejected, missing keys are rejected
//   unless the field is optional(). A parse returns a fresh object holding only
//   the declared keys (never the input itself).
// - Schemas are plain, non-recursive values, so validation depth is bounded by
//   the schema; no eval, no dynamic code.
// - Errors carry the path: `safeParse` returns { success: false, error } with
//   error.issues = [{ path, message }], `parse` throws that SchemaError.
// - Infer<typeof schema> gives the static type, like z.infer.
//
// Every factory is side-effect free (annotated for bundlers), so schemas a
// bundle never uses are dropped from it.
//
// Each schema also records what it checks (`def`), so json-schema.ts can
// publish the wire format as JSON Schema without a second definition.

export interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** Stops collecting (and checking further elements) after this many issues. */
const MAX_ISSUES = 16;

/** "path: message; …" (SchemaError's message; app-envelope.ts shows the first few). */
export function formatIssues(issues: readonly Issue[]): string {
  return issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}

export class SchemaError extends Error {
  readonly issues: readonly Issue[];
  constructor(issues: readonly Issue[]) {
    super(formatIssues(issues));
    this.name = "SchemaError";
    this.issues = issues;
  }
}

export type SafeParseResult<T> = { success: true; data: T; error?: undefined } | { success: false; data?: undefined; error: SchemaError };

type Check<T> = (value: unknown, ctx: Ctx) => T;

/**
 * What a schema checks: the factory that made it and that factory's arguments,
 * e.g. [string, { max: 64 }] or [array, item, { max: 8 }] (read by
 * json-schema.ts; a tuple keeps the client bundle small).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SchemaDef = readonly [factory: (...args: any[]) => unknown, ...args: unknown[]];

/** Validation state: the current path and the issues found so far. */
interface Ctx {
  path: PropertyKey[];
  issues: Issue[];
}

const report = (ctx: Ctx, message: string): void => {
  if (ctx.issues.length < MAX_ISSUES) ctx.issues.push({ path: [...ctx.path], message });
};

export class Schema<T> {
  /** Phantom: the validated type (never set at run time). */
  declare readonly "~type": T;
  /** @internal Validates `value`, reporting into ctx; the result is meaningful only without new issues. */
  readonly check: Check<T>;
  readonly def: SchemaDef;
  constructor(check: Check<T>, def: SchemaDef) {
    this.check = check;
    this.def = def;
  }
  safeParse(value: unknown): SafeParseResult<T> {
    const ctx: Ctx = { path: [], issues: [] };
    const data = this.check(value, ctx);
    return ctx.issues.length ? { success: false, error: new SchemaError(ctx.issues) } : { success: true, data };
  }
  parse(value: unknown): T {
    const r = this.safeParse(value);
    if (!r.success) throw r.error;
    return r.data;
  }
}

/** A field that may be absent (or undefined). */
export interface OptionalSchema<T> extends Schema<T | undefined> {
  /** Phantom (the def says it: [optional, inner]). */
  readonly "~optional": true;
}

export interface LiteralSchema<T extends Primitive> extends Schema<T> {
  /** Phantom: the literal value (at run time def = [literal, value]). */
  readonly "~literal": T;
}

export type Shape = Readonly<Record<string, Schema<unknown>>>;

export interface ObjectSchema<S extends Shape> extends Schema<InferShape<S>> {
  /** Phantom: the shape (at run time def = [strictObject, shape]). */
  readonly "~shape": S;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;
type Primitive = string | number | boolean | null;
type Flatten<T> = { [K in keyof T]: T[K] } & {};
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends OptionalSchema<unknown> ? K : never }[keyof S];
export type InferShape<S extends Shape> = Flatten<
  { -readonly [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { -readonly [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const has = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

// ------------------------------------------------------------------ factories

export interface StringOptions {
  min?: number;
  max?: number;
  regex?: RegExp;
  /** Extra check; `message` is reported when it returns false. */
  refine?: (s: string) => boolean;
  message?: string;
}

/* @__NO_SIDE_EFFECTS__ */
export function string(o: StringOptions = {}): Schema<string> {
  return new Schema(
    (v, ctx) => {
      if (typeof v !== "string") report(ctx, "expected a string");
      else if (o.max !== undefined && v.length > o.max) report(ctx, `longer than ${o.max} characters`);
      else if (o.min !== undefined && v.length < o.min) report(ctx, `shorter than ${o.min} characters`);
      else if (o.regex && !o.regex.test(v)) report(ctx, `does not match ${o.regex}`);
      else if (o.refine && !o.refine(v)) report(ctx, o.message ?? "invalid");
      return v as string;
    },
    [string, o],
  );
}

const numeric = (integer: boolean, min = -Number.MAX_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Schema<number> =>
  new Schema(
    (v, ctx) => {
      if (typeof v !== "number" || !(integer ? Number.isSafeInteger(v) : Number.isFinite(v)))
        report(ctx, integer ? "expected an integer" : "expected a number");
      else if (v < min) report(ctx, `less than ${min}`);
      else if (v > max) report(ctx, `greater than ${max}`);
      return v as number;
    },
    [integer ? int : number, min, max],
  );

/** A safe integer, optionally within [min, max]. */
/* @__NO_SIDE_EFFECTS__ */
export function int(min?: number, max?: number): Schema<number> {
  return numeric(true, min, max);
}

/** A finite number. */
/* @__NO_SIDE_EFFECTS__ */
export function number(): Schema<number> {
  return numeric(false, -Infinity, Infinity);
}

/* @__NO_SIDE_EFFECTS__ */
export function boolean(): Schema<boolean> {
  return new Schema(
    (v, ctx) => {
      if (typeof v !== "boolean") report(ctx, "expected a boolean");
      return v as boolean;
    },
    [boolean],
  );
}

/* @__NO_SIDE_EFFECTS__ */
export function unknown(): Schema<unknown> {
  return new Schema((v) => v, [unknown]);
}

/* @__NO_SIDE_EFFECTS__ */
export function literal<const T extends Primitive>(value: T): LiteralSchema<T> {
  return new Schema(
    (v, ctx) => {
      if (v !== value) report(ctx, `expected ${JSON.stringify(value)}`);
      return v as T;
    },
    [literal, value],
  ) as LiteralSchema<T>;
}

export interface EnumSchema<T extends readonly [string, ...string[]]> extends Schema<T[number]> {
  /** [enum, the values in their order]. */
  readonly def: readonly [typeof enumOf, T];
}

/* @__NO_SIDE_EFFECTS__ */
function enumOf<const T extends readonly [string, ...string[]]>(values: T): EnumSchema<T> {
  return new Schema(
    (v, ctx) => {
      if (!values.includes(v as string)) report(ctx, `expected one of ${values.join(", ")}`);
      return v as T[number];
    },
    [enumOf, values],
  ) as EnumSchema<T>;
}
export { enumOf as enum };

/** The values an enum schema accepts, in their order. */
/* @__NO_SIDE_EFFECTS__ */
export function enumValues<const T extends readonly [string, ...string[]]>(schema: EnumSchema<T>): T {
  return schema.def[1];
}

/* @__NO_SIDE_EFFECTS__ */
export function optional<T>(schema: Schema<T>): OptionalSchema<T> {
  return new Schema((v, ctx) => (v === undefined ? v : schema.check(v, ctx)), [optional, schema]) as OptionalSchema<T>;
}

/* @__NO_SIDE_EFFECTS__ */
export function nullable<T>(schema: Schema<T>): Schema<T | null> {
  return new Schema((v, ctx) => (v === null ? v : schema.check(v, ctx)), [nullable, schema]);
}

/* @__NO_SIDE_EFFECTS__ */
export function array<T>(item: Schema<T>, o: { min?: number; max?: number } = {}): Schema<T[]> {
  return new Schema(
    (v, ctx) => {
      const out: T[] = [];
      if (!Array.isArray(v)) report(ctx, "expected an array");
      else if (o.max !== undefined && v.length > o.max) report(ctx, `more than ${o.max} items`);
      else if (o.min !== undefined && v.length < o.min) report(ctx, `fewer than ${o.min} items`);
      else {
        for (let i = 0; i < v.length && ctx.issues.length < MAX_ISSUES; i++) {
          ctx.path.push(i);
          out.push(item.check(v[i], ctx));
          ctx.path.pop();
        }
      }
      return out;
    },
    [array, item, o],
  );
}

/** An object with exactly these keys (optional() ones may be absent). */
/* @__NO_SIDE_EFFECTS__ */
export function strictObject<const S extends Shape>(shape: S): ObjectSchema<S> {
  const keys = Object.keys(shape);
  return new Schema(
    (v, ctx) => {
      const out: Record<string, unknown> = {};
      if (!isObject(v)) {
        report(ctx, "expected an object");
        return out as InferShape<S>;
      }
      for (const key of keys) {
        const schema = shape[key]!;
        const present = has(v, key);
        if (!present && schema.def[0] === optional) continue;
        ctx.path.push(key);
        if (!present) report(ctx, "required");
        else out[key] = schema.check(v[key], ctx);
        ctx.path.pop();
      }
      for (const key of Object.keys(v)) if (!has(shape, key)) report(ctx, `unknown key ${JSON.stringify(key)}`);
      return out as InferShape<S>;
    },
    [strictObject, shape],
  ) as ObjectSchema<S>;
}

/** A plain object with any string keys; values checked against `value`. "__proto__" keys are dropped. */
/* @__NO_SIDE_EFFECTS__ */
export function record<T>(value: Schema<T>): Schema<Record<string, T>> {
  return new Schema(
    (v, ctx) => {
      const out: Record<string, T> = {};
      const proto = isObject(v) ? Object.getPrototypeOf(v) : undefined;
      if (proto !== Object.prototype && proto !== null) report(ctx, "expected a plain object");
      else {
        for (const key of Object.keys(v as object)) {
          if (key === "__proto__") continue;
          ctx.path.push(key);
          out[key] = value.check((v as Record<string, unknown>)[key], ctx);
          ctx.path.pop();
        }
      }
      return out;
    },
    [record, value],
  );
}

/** The first option that accepts the value wins. */
/* @__NO_SIDE_EFFECTS__ */
export function union<const O extends readonly Schema<unknown>[]>(options: O): Schema<Infer<O[number]>> {
  return new Schema(
    (v, ctx) => {
      for (const option of options) {
        const trial: Ctx = { path: ctx.path, issues: [] };
        const out = option.check(v, trial);
        if (!trial.issues.length) return out as Infer<O[number]>;
      }
      report(ctx, "matches none of the allowed shapes");
      return v as Infer<O[number]>;
    },
    [union, options],
  );
}

type Variant<K extends string> = ObjectSchema<{ readonly [P in K]: LiteralSchema<Primitive> }>;

/** Objects told apart by the literal value of `key`. */
/* @__NO_SIDE_EFFECTS__ */
export function discriminatedUnion<K extends string, const O extends readonly Variant<K>[]>(key: K, options: O): Schema<Infer<O[number]>> {
  const byValue = new Map<unknown, Variant<K>>();
  for (const option of options) byValue.set((option.def[1] as Shape)[key]!.def[1], option);
  return new Schema(
    (v, ctx) => {
      if (!isObject(v)) {
        report(ctx, "expected an object");
        return v as Infer<O[number]>;
      }
      const option = has(v, key) ? byValue.get(v[key]) : undefined;
      if (option) return option.check(v, ctx) as Infer<O[number]>;
      ctx.path.push(key);
      report(ctx, `expected one of ${[...byValue.keys()].map((x) => JSON.stringify(x)).join(", ")}`);
      ctx.path.pop();
      return v as Infer<O[number]>;
    },
    [discriminatedUnion, key, options],
  );
}
