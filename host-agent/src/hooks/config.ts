// Hooks in the policy files: which programs run at which points of the loop.
//
//     "hooks": {
//       "allowRepositoryHooks": false,      // user file only
//       "mayAllowUpTo": "continue",         // user file only: highest tier a PermissionRequest hook may allow
//       "list": [
//         { "name": "secret-scan", "events": ["UserPromptSubmit", "PreToolUse"],
//           "command": ["node", "/home/me/airlock-hooks/secret-scan.mjs"], "timeoutSeconds": 10 }
//       ]
//     }
//
// `command` is an argv array: it is spawned without a shell, so nothing in an
// event can become part of a command line. What a hook may decide, and when it
// runs, is in hooks.ts; docs/host-agent.md "Hooks" is the reference.
import type { RiskTier } from "@airlock/protocol";
import * as z from "zod/mini";

export const HOOK_EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest", "PostToolUse", "Stop"] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** Events whose hooks can stop something: a hook that fails, times out or is not trusted there counts as a deny. */
export const BLOCKING_EVENTS: ReadonlySet<HookEvent> = new Set(["UserPromptSubmit", "PreToolUse", "PermissionRequest"]);

/** Tiers a PermissionRequest hook may be allowed to approve: never commit (that stays with people). */
export const HOOK_ALLOW_LEVELS = ["none", "steer", "continue", "expand"] as const satisfies readonly ["none", ...Exclude<RiskTier, "commit">[]];
export type HookAllowLevel = (typeof HOOK_ALLOW_LEVELS)[number];

export const DEFAULT_HOOK_TIMEOUT_SECONDS = 30;
export const MAX_HOOKS_PER_FILE = 32;

const hookSchema = z.strictObject({
  name: z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "must be 1-64 of a-z 0-9 . _ - (starting with a letter or digit)")),
  events: z.array(z.enum(HOOK_EVENTS)).check(z.minLength(1), z.maxLength(HOOK_EVENTS.length)),
  /** argv: program, then its arguments (no shell). */
  command: z.array(z.string().check(z.minLength(1), z.maxLength(4096))).check(z.minLength(1), z.maxLength(64)),
  timeoutSeconds: z.optional(z.int().check(z.gte(1), z.lte(600))),
  /** More files the hash covers (modules the script imports), relative to the workspace root or absolute. */
  hashFiles: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(4096))).check(z.maxLength(32))),
  comment: z.optional(z.string().check(z.maxLength(1000))),
});

export const hooksSectionSchema = z.strictObject({
  allowRepositoryHooks: z.optional(z.boolean()),
  mayAllowUpTo: z.optional(z.enum(HOOK_ALLOW_LEVELS)),
  list: z.optional(z.array(hookSchema).check(z.maxLength(MAX_HOOKS_PER_FILE))),
});
export type HooksSection = z.infer<typeof hooksSectionSchema>;

/** A hook as the merged policy holds it. */
export interface ConfiguredHook {
  name: string;
  events: HookEvent[];
  command: string[];
  timeoutSeconds: number;
  /** Files the hash covers besides the program or script (hash.ts). */
  hashFiles?: string[];
  source: "user" | "repo";
  /** The policy file that declared it. */
  file: string;
  /** false: declared by a repository while the user's file does not allow repository hooks. */
  enabled: boolean;
}

export interface HookSettings {
  allowRepositoryHooks: boolean;
  mayAllowUpTo: HookAllowLevel;
}

export const DEFAULT_HOOK_SETTINGS: Readonly<HookSettings> = { allowRepositoryHooks: false, mayAllowUpTo: "continue" };
