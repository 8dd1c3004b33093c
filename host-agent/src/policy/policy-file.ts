// Approval policy: what happens to a classified request (classify.ts) before
// anyone is asked.
//
// ## Policy file format (JSON)
//
// Two optional files, same format:
// - user level:       <airlock home>/policy.json  (e.g. ~/.config/airlock/policy.json)
// - per repository:   <repository>/.airlock/policy.json
//
//     {
//       "version": 1,
//       "defaults": { "steer": "ask", "continue": "ask", "expand": "ask", "commit": "host-only" },
//       "rules": [
//         { "match": { "rule": "git.read" }, "action": "allow" },
//         { "match": { "tier": "continue", "command": "^npm (test|run lint)$" }, "action": "allow" },
//         { "match": { "rule": "deploy.*" }, "action": "deny" }
//       ],
//       "timeoutSeconds": 600,
//       "timeoutAction": "deny"
//     }
//
// - version: required, must be 1.
// - defaults: optional; per tier (steer, continue, expand, commit) the action
//   when no rule matches. Missing tiers keep the lower layer's value.
// - rules: optional, at most 200. First match wins. A rule's `match` needs at
//   least one of:
//     tier     one of steer | continue | expand | commit
//     rule     a classification rule id ("git.push"), or a prefix ending in
//              ".*" ("deploy.*" matches "deploy.kubectl")
//     command  a JavaScript regular expression (no flags, ≤ 500 characters)
//              tested against the command line (argv joined by spaces)
//   All given fields must match.
// - action: allow (approve without asking), ask (any paired device may
//   decide), host-only (only the host's own terminal may decide), deny.
// - timeoutSeconds: 10…86400, default 600: an unanswered request ends after it.
// - timeoutAction: "deny" (default) or "cancel" (the turn is interrupted).
// - hooks: optional; programs run at points of the loop (hooks/config.ts). A
//   repository's hooks run only if the user's file allows repository hooks;
//   a sub-folder file's hooks are ignored.
// Unknown keys anywhere are errors, so a typo never silently loosens policy.
//
// ## Built-in defaults (no file)
// steer ask, continue ask, expand ask, commit host-only (never from a phone),
// no rules, timeout 600 s → deny. Auto-allowing read-only commands is an
// explicit opt-in, e.g. { "match": { "rule": "read.*" }, "action": "allow" }.
//
// ## Merging (loadPolicy(userFile, repoFile))
// - Rules are evaluated repository rules first, then user rules; first match
//   wins; then defaults (repository over user over built-in, per tier).
// - timeoutSeconds / timeoutAction: repository over user over built-in.
// - A repository can NEVER loosen the expand or commit tier below the user's
//   effective default for that tier (the tier's "floor": ask for expand and
//   host-only for commit unless the user changed them). A repository you
//   clone must not be able to auto-allow package installs, network access or
//   pushes. Steer and continue may be loosened by a repository (e.g. allow
//   its own test command). Strictness: allow < ask < host-only < deny.
//   * a repository default looser than the floor is raised to the floor (and
//     a warning is returned);
//   * a repository rule that matches an expand- or commit-tier request is
//     raised to the floor when it decides (decide() reports ruleFired as the
//     floor and `cappedFrom` as the repository rule).
//   The repository file lives in the agent's workspace, where the agent can
//   write; classify.ts makes writing any Airlock policy file a commit-tier
//   action ("policy.self-edit" / "files.policy").
// - The user file may set anything, including loosening commit: it is the
//   owner's own machine-level choice.
//
// ## Sub-folder files (loadPolicy(userFile, repoFile, subFolders))
// "The repository file" is the one at the root of the host's workspace
// (workspace.ts resolves it: a thread whose cwd is a sub-folder still gets
// it). A `.airlock/policy.json` in a folder between the workspace root and the
// cwd (root first, down to the cwd itself) is a sub-folder layer, and a
// sub-folder layer can only make decisions STRICTER, never looser, than
// everything above it (built-in, user, repository, the sub-folders above):
//   * decide() first decides with the built-in/user/repository policy as
//     above; then each sub-folder layer, root first, gives its own verdict
//     (its first matching rule, else its default for the tier, else none)
//     and the stricter of the two wins (allow < ask < host-only < deny).
//     A layer verdict that is looser is ignored and reported as `cappedFrom`.
//   * timeoutSeconds: the shorter wins; timeoutAction: "cancel" wins over
//     "deny". Looser values are ignored with a warning.
// A sub-folder file can be written by the repository you cloned or by the
// agent itself, so it may add rules but never lift one.
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import * as z from "zod/mini";
import { TIERS, type Classification, type Tier } from "./classify.ts";
import { DEFAULT_HOOK_SETTINGS, DEFAULT_HOOK_TIMEOUT_SECONDS, hooksSectionSchema, type ConfiguredHook, type HookSettings } from "../hooks/config.ts";
import { HostError } from "../host-error.ts";

export type Action = "allow" | "ask" | "host-only" | "deny";
export const ACTIONS: readonly Action[] = ["allow", "ask", "host-only", "deny"];
const strictness = (a: Action): number => ACTIONS.indexOf(a);
/** The stricter of two actions. */
export const stricter = (a: Action, b: Action): Action => (strictness(a) >= strictness(b) ? a : b);

const tierSchema = z.enum(TIERS);
const actionSchema = z.enum(["allow", "ask", "host-only", "deny"]);
const regexSchema = z.string().check(
  z.maxLength(500),
  z.refine((s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  }, "is not a valid regular expression"),
);
const ruleId = z.string().check(z.regex(/^[a-z0-9-]+(\.[a-z0-9-]+)*(\.\*)?$|^\*$/, 'must be a rule id like "git.push" or a prefix like "deploy.*"'));

const ruleSchema = z.strictObject({
  match: z
    .strictObject({ tier: z.optional(tierSchema), rule: z.optional(ruleId), command: z.optional(regexSchema) })
    .check(z.refine((m) => m.tier !== undefined || m.rule !== undefined || m.command !== undefined, "needs at least one of tier, rule, command")),
  action: actionSchema,
  /** Free text for humans. */
  comment: z.optional(z.string().check(z.maxLength(1000))),
});

export const policyFileSchema = z.strictObject({
  version: z.literal(1),
  defaults: z.optional(
    z.strictObject({ steer: z.optional(actionSchema), continue: z.optional(actionSchema), expand: z.optional(actionSchema), commit: z.optional(actionSchema) }),
  ),
  rules: z.optional(z.array(ruleSchema).check(z.maxLength(200))),
  timeoutSeconds: z.optional(z.int().check(z.gte(10), z.lte(86400))),
  timeoutAction: z.optional(z.enum(["deny", "cancel"])),
  /** Programs run at points of the loop (hooks/config.ts). */
  hooks: z.optional(hooksSectionSchema),
  comment: z.optional(z.string().check(z.maxLength(1000))),
});
export type PolicyFile = z.infer<typeof policyFileSchema>;

export type PolicySource = "builtin" | "user" | "repo" | "subfolder";

export interface PolicyRule {
  match: { tier?: Tier; rule?: string; command?: RegExp };
  action: Action;
  /** Where it came from, e.g. "repo.rules[0]", "repo(sub/a).rules[0]". */
  id: string;
  source: PolicySource;
}

export interface Policy {
  version: 1;
  defaults: Record<Tier, Action>;
  /** Where each default came from, e.g. "user.defaults.commit". */
  defaultIds: Record<Tier, string>;
  rules: PolicyRule[];
  /** The least strict action a repository may cause for an expand- or commit-tier request, and where it came from. */
  floors: Record<FlooredTier, { action: Action; id: string }>;
  /** Sub-folder layers, workspace root first: each can only make a decision stricter (see decide()). */
  layers: PolicyLayer[];
  timeoutSeconds: number;
  timeoutAction: "deny" | "cancel";
  warnings: string[];
  /** Hooks from the user file, then the repository file (absent: none). */
  hooks?: ConfiguredHook[];
  /** What hooks may do (user file only; absent: DEFAULT_HOOK_SETTINGS). */
  hookSettings?: HookSettings;
}

/** One sub-folder's `.airlock/policy.json`: a constraint that may only tighten. */
export interface PolicyLayer {
  /** "repo(sub/a)": the folder relative to the workspace root. */
  id: string;
  defaults: Partial<Record<Tier, Action>>;
  rules: PolicyRule[];
}

/** Tiers a repository file cannot loosen. */
const FLOORED = ["expand", "commit"] as const satisfies readonly Tier[];
export type FlooredTier = (typeof FLOORED)[number];
const isFloored = (t: Tier): t is FlooredTier => FLOORED.some((f) => f === t);

export const BUILTIN_DEFAULTS: Readonly<Record<Tier, Action>> = { steer: "ask", continue: "ask", expand: "ask", commit: "host-only" };

export function builtinPolicy(): Policy {
  return {
    version: 1,
    defaults: { ...BUILTIN_DEFAULTS },
    defaultIds: {
      steer: "builtin.defaults.steer",
      continue: "builtin.defaults.continue",
      expand: "builtin.defaults.expand",
      commit: "builtin.defaults.commit",
    },
    rules: [],
    floors: {
      expand: { action: BUILTIN_DEFAULTS.expand, id: "builtin.defaults.expand" },
      commit: { action: BUILTIN_DEFAULTS.commit, id: "builtin.defaults.commit" },
    },
    layers: [],
    timeoutSeconds: 600,
    timeoutAction: "deny",
    warnings: [],
  };
}

export class PolicyError extends HostError<"POLICY_INVALID"> {
  constructor(
    message: string,
    readonly source: string,
    readonly issues: string[] = [message],
  ) {
    super("POLICY_INVALID", message);
    this.name = "PolicyError";
  }
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out === "" ? "(top level)" : out;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = fieldPath(issue.path);
  let got: unknown = input;
  for (const p of issue.path) got = got !== null && typeof got === "object" ? (got as Record<PropertyKey, unknown>)[p] : undefined;
  const shown = got === undefined ? "nothing" : JSON.stringify(got);
  switch (issue.code) {
    case "unrecognized_keys":
      return `${path}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    case "invalid_value":
      return `${path}: expected ${issue.values.map((v) => JSON.stringify(v)).join(" | ")}, got ${shown}`;
    case "invalid_type":
      return `${path}: expected ${issue.expected}, got ${got === undefined ? "nothing" : Array.isArray(got) ? "array" : got === null ? "null" : typeof got}`;
    case "too_big":
      return `${path}: must be at most ${String(issue.maximum)}${issue.origin === "string" ? " characters" : issue.origin === "array" ? " items" : ""}`;
    case "too_small":
      return `${path}: must be at least ${String(issue.minimum)}`;
    case "invalid_format":
      return `${path}: ${issue.message && issue.message !== "Invalid input" ? issue.message : `invalid ${issue.format}`}, got ${shown}`;
    case "custom":
      return `${path}: ${issue.message}${typeof got === "string" ? ` (got ${shown})` : ""}`;
    default:
      return `${path}: ${issue.message}`;
  }
}

/** Parse and validate one policy file's text; `source` names it in errors. */
export function parsePolicy(text: string, source: string): PolicyFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PolicyError(`${source}: not valid JSON: ${(err as Error).message}`, source);
  }
  const r = policyFileSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => describeIssue(i, json));
    throw new PolicyError(`${source}: invalid policy: ${issues.join("; ")}`, source, issues);
  }
  return r.data;
}

/** Apply one layer on top of `base` (a copy is returned). `path` names the file its hooks came from. */
export function mergePolicy(base: Policy, file: PolicyFile, source: "user" | "repo", path = `${source} policy`): Policy {
  const out: Policy = {
    ...base,
    defaults: { ...base.defaults },
    defaultIds: { ...base.defaultIds },
    floors: { ...base.floors },
    layers: [...base.layers],
    warnings: [...base.warnings],
  };
  if (file.hooks !== undefined) mergeHooks(out, file.hooks, source, path);
  for (const tier of TIERS) {
    const a = file.defaults?.[tier];
    if (a === undefined) continue;
    if (source === "repo" && isFloored(tier) && strictness(a) < strictness(base.floors[tier].action)) {
      const floor = base.floors[tier];
      out.warnings.push(`repo.defaults.${tier} "${a}" is looser than ${floor.id} "${floor.action}"; using "${floor.action}"`);
      continue;
    }
    out.defaults[tier] = a;
    out.defaultIds[tier] = `${source}.defaults.${tier}`;
  }
  if (source === "user") for (const tier of FLOORED) out.floors[tier] = { action: out.defaults[tier], id: out.defaultIds[tier] };
  const rules = compileRules(file, source, source);
  // Repository rules are evaluated before user rules.
  out.rules = source === "repo" ? [...rules, ...base.rules] : [...base.rules, ...rules];
  if (file.timeoutSeconds !== undefined) out.timeoutSeconds = file.timeoutSeconds;
  if (file.timeoutAction !== undefined) out.timeoutAction = file.timeoutAction;
  return out;
}

/**
 * A repository may declare hooks, but they run only when the user's file sets
 * allowRepositoryHooks; it can never change what hooks may do. A repository
 * hook named like a user hook is dropped (the name must say which one ran).
 */
function mergeHooks(out: Policy, section: NonNullable<PolicyFile["hooks"]>, source: "user" | "repo", path: string): void {
  const settings: HookSettings = { ...(out.hookSettings ?? DEFAULT_HOOK_SETTINGS) };
  if (source === "user") {
    if (section.allowRepositoryHooks !== undefined) settings.allowRepositoryHooks = section.allowRepositoryHooks;
    if (section.mayAllowUpTo !== undefined) settings.mayAllowUpTo = section.mayAllowUpTo;
  } else {
    if (section.allowRepositoryHooks !== undefined) out.warnings.push(`repo.hooks.allowRepositoryHooks is ignored: only the user's policy file decides it`);
    if (section.mayAllowUpTo !== undefined) out.warnings.push(`repo.hooks.mayAllowUpTo is ignored: only the user's policy file decides it`);
  }
  out.hookSettings = settings;
  const hooks = [...(out.hooks ?? [])];
  for (const h of section.list ?? []) {
    if (hooks.some((x) => x.name === h.name)) {
      out.warnings.push(`${source}.hooks: a hook named "${h.name}" is already declared; this one is ignored`);
      continue;
    }
    hooks.push({
      name: h.name,
      events: [...new Set(h.events)],
      command: [...h.command],
      timeoutSeconds: h.timeoutSeconds ?? DEFAULT_HOOK_TIMEOUT_SECONDS,
      ...(h.hashFiles ? { hashFiles: [...h.hashFiles] } : {}),
      source,
      file: path,
      enabled: source === "user" || settings.allowRepositoryHooks,
    });
  }
  out.hooks = hooks;
}

function compileRules(file: PolicyFile, idPrefix: string, source: PolicySource): PolicyRule[] {
  return (file.rules ?? []).map((r, i) => {
    const match: PolicyRule["match"] = {};
    if (r.match.tier !== undefined) match.tier = r.match.tier;
    if (r.match.rule !== undefined) match.rule = r.match.rule;
    if (r.match.command !== undefined) match.command = new RegExp(r.match.command);
    return { match, action: r.action, id: `${idPrefix}.rules[${i}]`, source };
  });
}

/**
 * Add a sub-folder file as a layer that can only tighten `base` (a copy is
 * returned). `id` names the layer in decisions and warnings, e.g. "repo(sub)".
 */
export function tightenPolicy(base: Policy, file: PolicyFile, id: string): Policy {
  const out: Policy = { ...base, layers: [...base.layers], warnings: [...base.warnings] };
  const defaults: PolicyLayer["defaults"] = {};
  for (const tier of TIERS) {
    const a = file.defaults?.[tier];
    if (a === undefined) continue;
    defaults[tier] = a;
    if (strictness(a) < strictness(base.defaults[tier])) {
      out.warnings.push(`${id}.defaults.${tier} "${a}" is looser than ${base.defaultIds[tier]} "${base.defaults[tier]}"; a sub-folder policy can only tighten`);
    }
  }
  out.layers.push({ id, defaults, rules: compileRules(file, id, "subfolder") });
  if (file.hooks !== undefined) out.warnings.push(`${id}.hooks is ignored: hooks come only from the user's file and the workspace root's file`);
  if (file.timeoutSeconds !== undefined) {
    if (file.timeoutSeconds <= base.timeoutSeconds) out.timeoutSeconds = file.timeoutSeconds;
    else out.warnings.push(`${id}.timeoutSeconds ${file.timeoutSeconds} is longer than ${base.timeoutSeconds}; a sub-folder policy can only shorten it`);
  }
  if (file.timeoutAction === "cancel") out.timeoutAction = "cancel";
  else if (file.timeoutAction === "deny" && base.timeoutAction === "cancel") {
    out.warnings.push(`${id}.timeoutAction "deny" is looser than "cancel"; a sub-folder policy can only tighten`);
  }
  return out;
}

/** The largest policy file read (200 rules with long patterns and comments fit well below it). */
export const MAX_POLICY_FILE_BYTES = 1024 * 1024;

/**
 * A policy file's text, or null when it does not exist. Bounded: anything
 * but a regular file of at most MAX_POLICY_FILE_BYTES is an error (opened
 * non-blocking, so a FIFO planted as policy.json cannot hang the host).
 */
async function readOptional(path: string): Promise<string | null> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new PolicyError(`${path}: cannot read: ${(err as Error).message}`, path);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new PolicyError(`${path}: not a regular file`, path);
    if (st.size > MAX_POLICY_FILE_BYTES) throw new PolicyError(`${path}: larger than ${MAX_POLICY_FILE_BYTES} bytes`, path);
    // The size can change between stat and read: read at most one byte more than the bound.
    const buf = Buffer.alloc(MAX_POLICY_FILE_BYTES + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > MAX_POLICY_FILE_BYTES) throw new PolicyError(`${path}: larger than ${MAX_POLICY_FILE_BYTES} bytes`, path);
    }
    return buf.subarray(0, n).toString("utf8");
  } catch (err) {
    if (err instanceof PolicyError) throw err;
    throw new PolicyError(`${path}: cannot read: ${(err as Error).message}`, path);
  } finally {
    await fh.close();
  }
}

/** A sub-folder policy file and the layer id it gets, e.g. { file: "/ws/sub/.airlock/policy.json", id: "repo(sub)" }. */
export interface SubFolderPolicyFile {
  file: string;
  id: string;
}

/**
 * Built-in defaults, then the user file, then the repository file (the
 * workspace root's), then each sub-folder file as a layer that can only
 * tighten (root first). A missing file is skipped; an invalid one throws
 * PolicyError.
 */
export async function loadPolicy(userFile?: string, repoFile?: string, subFolders: readonly SubFolderPolicyFile[] = []): Promise<Policy> {
  let policy = builtinPolicy();
  if (userFile !== undefined) {
    const text = await readOptional(userFile);
    if (text !== null) policy = mergePolicy(policy, parsePolicy(text, userFile), "user", userFile);
  }
  if (repoFile !== undefined) {
    const text = await readOptional(repoFile);
    if (text !== null) policy = mergePolicy(policy, parsePolicy(text, repoFile), "repo", repoFile);
  }
  for (const sub of subFolders) {
    const text = await readOptional(sub.file);
    if (text !== null) policy = tightenPolicy(policy, parsePolicy(text, sub.file), sub.id);
  }
  return policy;
}

export interface Decision {
  action: Action;
  /** "repo.rules[0]", "user.defaults.commit", "builtin.defaults.expand"… */
  ruleFired: string;
  /** Set when a repository rule was raised to the tier's floor, or a looser sub-folder verdict was overruled. */
  cappedFrom?: string;
}

function ruleMatches(pattern: string, rule: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) return rule.startsWith(pattern.slice(0, -1));
  return pattern === rule;
}

function matches(r: PolicyRule, classification: Pick<Classification, "tier" | "rule">, line: string): boolean {
  if (r.match.tier !== undefined && r.match.tier !== classification.tier) return false;
  if (r.match.rule !== undefined && !ruleMatches(r.match.rule, classification.rule)) return false;
  if (r.match.command !== undefined && !r.match.command.test(line)) return false;
  return true;
}

/** What the policy does with a classified request: the user/repository decision, then tightened by each sub-folder layer. */
export function decide(policy: Policy, classification: Pick<Classification, "tier" | "rule">, command: string | readonly string[] = ""): Decision {
  const line = typeof command === "string" ? command : command.join(" ");
  let d = decideBase(policy, classification, line);
  for (const layer of policy.layers) {
    const rule = layer.rules.find((r) => matches(r, classification, line));
    const action = rule?.action ?? layer.defaults[classification.tier];
    if (action === undefined) continue;
    const id = rule?.id ?? `${layer.id}.defaults.${classification.tier}`;
    if (strictness(action) > strictness(d.action)) d = { action, ruleFired: id };
    else if (strictness(action) < strictness(d.action) && d.cappedFrom === undefined) d = { ...d, cappedFrom: id };
  }
  return d;
}

function decideBase(policy: Policy, classification: Pick<Classification, "tier" | "rule">, line: string): Decision {
  for (const r of policy.rules) {
    if (!matches(r, classification, line)) continue;
    const tier = classification.tier;
    if (r.source === "repo" && isFloored(tier) && strictness(r.action) < strictness(policy.floors[tier].action)) {
      return { action: policy.floors[tier].action, ruleFired: policy.floors[tier].id, cappedFrom: r.id };
    }
    return { action: r.action, ruleFired: r.id };
  }
  return { action: policy.defaults[classification.tier], ruleFired: policy.defaultIds[classification.tier] };
}
