// The verdict every classifier returns: a risk tier (steer < continue < expand
// < commit), the stable id of the rule that decided it (policies match on it),
// a reason for the phone, and the flags the network/secrets/tools chips show.
// The combinators here are the one place where verdicts are merged, so "a
// compound command takes the highest tier of its parts" means the same thing
// everywhere.

import { RISK_TIERS, type RiskTier } from "@airlock/protocol";

export type Tier = RiskTier;
/** Lowest first: a tier's index is its rank. */
export const TIERS: readonly Tier[] = RISK_TIERS;

export interface ClassificationFlags {
  /** Reaches the network. */
  network: boolean;
  /** Reads, writes or uses credentials or secrets (including root via sudo). */
  credentials: boolean;
  /** Runs code beyond the base read-only toolset: project code, package managers, interpreters, cloud CLIs, unknown programs. */
  externalTools: boolean;
  /** Writes files or other local state. */
  writes: boolean;
}

export interface Classification {
  tier: Tier;
  /** Stable id of the rule that fired, e.g. "git.push"; policies match on it. */
  rule: string;
  flags: ClassificationFlags;
  reason: string;
}

export interface ClassifyContext {
  /** The workspace directory (the agent's cwd). Without it, relative paths count as inside and absolute ones as outside. */
  cwd?: string;
}

const rank = (t: Tier): number => TIERS.indexOf(t);

export type FlagInit = Partial<ClassificationFlags>;
export function mk(tier: Tier, rule: string, reason: string, flags: FlagInit = {}): Classification {
  return {
    tier,
    rule,
    reason,
    flags: {
      network: flags.network ?? false,
      credentials: flags.credentials ?? false,
      externalTools: flags.externalTools ?? false,
      writes: flags.writes ?? false,
    },
  };
}

/** The higher of two classifications (the first wins a tie); flags are OR-ed. */
export function max(a: Classification, b: Classification): Classification {
  const top = rank(b.tier) > rank(a.tier) ? b : a;
  return {
    tier: top.tier,
    rule: top.rule,
    reason: top.reason,
    flags: {
      network: a.flags.network || b.flags.network,
      credentials: a.flags.credentials || b.flags.credentials,
      externalTools: a.flags.externalTools || b.flags.externalTools,
      writes: a.flags.writes || b.flags.writes,
    },
  };
}

/** All of `found` merged with max, left to right; null when empty. */
export function highest(found: readonly Classification[]): Classification | null {
  let c: Classification | null = null;
  for (const x of found) c = c === null ? x : max(c, x);
  return c;
}

/** Raise `c` to at least `tier`, naming `rule` when that changes the tier. */
export function atLeast(c: Classification, tier: Tier, rule: string, reason: string, flags: FlagInit = {}): Classification {
  const raised = rank(c.tier) < rank(tier) ? { ...c, tier, rule, reason } : c;
  return max(raised, mk("steer", raised.rule, raised.reason, flags));
}
