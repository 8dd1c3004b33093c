// Permission requests that are neither a command nor a file edit (an
// agent's "may I use the network / write / leave the sandbox" and questions
// about direction), by kind. An unknown kind is "expand".
import { mk, type Classification, type FlagInit, type Tier } from "./classification.ts";

interface Verdict {
  tier: Tier;
  rule: string;
  reason: string;
  flags?: FlagInit;
}

/** Each verdict with the kinds agents use for it (lower case, `-` and spaces as `_`). */
const KINDS: readonly [readonly string[], Verdict][] = [
  [
    ["question", "choice", "plan", "user_input", "elicitation", "clarification"],
    { tier: "steer", rule: "permission.question", reason: "a question about direction, not an action" },
  ],
  [["read", "file_read", "list"], { tier: "continue", rule: "permission.read", reason: "read access to the workspace" }],
  [["write", "file_write", "file_change", "edit"], { tier: "expand", rule: "permission.write", reason: "write access", flags: { writes: true } }],
  [["network", "web_fetch", "web_search", "fetch"], { tier: "expand", rule: "permission.network", reason: "network access", flags: { network: true } }],
  [["command", "exec", "shell"], { tier: "expand", rule: "permission.exec", reason: "runs commands not shown", flags: { externalTools: true } }],
  [["mcp", "tool", "mcp_tool"], { tier: "expand", rule: "permission.tool", reason: "uses an external tool", flags: { externalTools: true } }],
  [
    ["credentials", "secrets", "secret", "keychain"],
    { tier: "commit", rule: "permission.credentials", reason: "access to credentials", flags: { credentials: true } },
  ],
  [
    ["full_access", "danger_full_access", "sandbox_escape", "escalate", "bypass_permissions"],
    {
      tier: "commit",
      rule: "permission.full-access",
      reason: "leaves the sandbox with full access",
      flags: { network: true, credentials: true, externalTools: true, writes: true },
    },
  ],
];

const BY_KIND = new Map<string, Verdict>(KINDS.flatMap(([kinds, v]) => kinds.map((k): [string, Verdict] => [k, v])));

/** A permission request that is not a command or a file change. */
export function classifyPermission(kind: string): Classification {
  const v = BY_KIND.get(kind.toLowerCase().replace(/[-\s]/g, "_"));
  if (v === undefined) return mk("expand", "permission.unknown", `unknown permission kind "${kind}"; asking conservatively`);
  return mk(v.tier, v.rule, v.reason, v.flags);
}
