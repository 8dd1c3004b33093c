// `airlock hooks`: the hooks the policy files declare for a workspace, their
// content hashes and whether they are trusted; `trust` / `untrust` change that.
import { realpath } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PolicyError } from "../policy/policy-file.ts";
import { loadWorkspacePolicy } from "../workspace.ts";
import { terminalSafe } from "../terminal-text.ts";
import type { ConfiguredHook } from "./config.ts";
import { hookHash } from "./hash.ts";
import { TrustStore, TrustStoreError } from "./trust-store.ts";
import { HostError } from "../host-error.ts";

export const HOOKS_HELP = `Usage: airlock hooks [list] [--workspace DIR] [--json]
       airlock hooks trust NAME… | --all [--workspace DIR] [--json]
       airlock hooks untrust NAME|HASH… [--workspace DIR] [--json]

Hooks are programs the policy files (<home>/policy.json and the workspace's
.airlock/policy.json) run at points of the agent loop. A hook runs only once
you trust its content hash, which covers its definition and the files its
command names: after any edit it is untrusted again. Repository hooks run only
if your policy file sets hooks.allowRepositoryHooks. See docs/host-agent.md.

  list          each hook: name, source, events, command, hash, state
                (trusted | untrusted | disabled)
  trust NAME    trust the hook's current hash (--all: every listed hook)
  untrust X     forget a hook's current hash, or a trusted hash (prefix of at
                least 8 hex digits) that no hook has any more
  --workspace DIR  the workspace whose repository file is read (default: .)`;

/** USAGE: the command line was wrong (exit 2); FAILED: the command could not do it. */
export class HooksCliError extends HostError<"USAGE" | "FAILED"> {
  readonly usage: boolean;
  constructor(code: "USAGE" | "FAILED", message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "HooksCliError";
    this.usage = code === "USAGE";
  }
}

export interface HooksCliContext {
  home: string;
  json: boolean;
  out(line: string): void;
}

interface Listed {
  name: string;
  source: ConfiguredHook["source"];
  file: string;
  events: string[];
  command: string[];
  timeoutSeconds: number;
  hash: string;
  state: "trusted" | "untrusted" | "disabled";
}

export async function hooksCommand(ctx: HooksCliContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { workspace: { type: "string" }, all: { type: "boolean", default: false } },
    allowPositionals: true,
    strict: true,
  });
  const [sub = "list", ...names] = positionals;
  const workspace = await realpath(resolve(values.workspace ?? ".")).catch(() => {
    throw new HooksCliError("USAGE", `workspace ${values.workspace ?? "."} does not exist`);
  });
  const trust = new TrustStore(join(ctx.home, "hooks-trust.json"));
  const { hooks, warnings } = await listHooks(ctx.home, workspace, trust);
  switch (sub) {
    case "list": {
      if (names.length > 0) throw new HooksCliError("USAGE", "hooks list takes no names");
      if (ctx.json) ctx.out(JSON.stringify({ workspace, hooks, warnings }));
      else {
        if (hooks.length === 0) ctx.out(`No hooks in ${join(ctx.home, "policy.json")} or ${join(workspace, ".airlock", "policy.json")}.`);
        for (const h of hooks) {
          ctx.out(`${h.name}  [${h.state}]  ${h.source}  ${h.events.join(", ")}`);
          ctx.out(`  ${terminalSafe(h.command.map((a) => JSON.stringify(a)).join(" "))}`);
          ctx.out(`  hash ${h.hash}  timeout ${h.timeoutSeconds} s  from ${terminalSafe(h.file)}`);
          if (h.state === "disabled") ctx.out(`  not run: your policy file does not set hooks.allowRepositoryHooks`);
        }
        for (const w of warnings) ctx.out(`warning: ${terminalSafe(w)}`);
      }
      return 0;
    }
    case "trust": {
      const chosen = values.all ? hooks : names.map((n) => find(hooks, n));
      if (chosen.length === 0)
        throw new HooksCliError(values.all ? "FAILED" : "USAGE", values.all ? "there are no hooks to trust" : "name the hooks to trust (or --all)");
      for (const h of chosen) await trust.trust({ hash: h.hash, name: h.name, source: h.source, file: h.file });
      report(ctx, "trusted", chosen);
      return 0;
    }
    case "untrust": {
      if (names.length === 0) throw new HooksCliError("USAGE", "name the hooks (or hashes) to untrust");
      const trusted = await trust.list();
      const hashes: string[] = [];
      for (const n of names) {
        const hook = hooks.find((h) => h.name === n);
        if (hook) hashes.push(hook.hash);
        else if (/^[0-9a-f]{8,64}$/.test(n)) {
          const matching = trusted.filter((e) => e.hash.startsWith(n));
          if (matching.length !== 1) throw new HooksCliError("FAILED", `${matching.length === 0 ? "no" : "more than one"} trusted hash starts with ${n}`);
          hashes.push(matching[0]!.hash);
        } else throw new HooksCliError("FAILED", `no hook named "${n}"`);
      }
      const removed = await trust.untrust(hashes);
      if (ctx.json) ctx.out(JSON.stringify({ untrusted: hashes, removed }));
      else ctx.out(`Untrusted ${removed} hash${removed === 1 ? "" : "es"}.`);
      return 0;
    }
    default:
      throw new HooksCliError("USAGE", `unknown hooks command "${sub}" (list, trust, untrust)`);
  }
}

async function listHooks(home: string, workspace: string, trust: TrustStore): Promise<{ hooks: Listed[]; warnings: string[] }> {
  let policy;
  try {
    policy = await loadWorkspacePolicy(join(home, "policy.json"), workspace, workspace);
  } catch (e) {
    if (e instanceof PolicyError) throw new HooksCliError("FAILED", e.message);
    throw e;
  }
  let trusted: Set<string>;
  try {
    trusted = new Set((await trust.list()).map((e) => e.hash));
  } catch (e) {
    if (e instanceof TrustStoreError) throw new HooksCliError("FAILED", `${e.message} (no hook runs until it is fixed or removed)`);
    throw e;
  }
  const hooks: Listed[] = [];
  for (const h of policy.hooks ?? []) {
    const hash = await hookHash(h, workspace);
    hooks.push({
      name: h.name,
      source: h.source,
      file: h.file,
      events: h.events,
      command: h.command,
      timeoutSeconds: h.timeoutSeconds,
      hash,
      state: !h.enabled ? "disabled" : trusted.has(hash) ? "trusted" : "untrusted",
    });
  }
  return { hooks, warnings: policy.warnings };
}

function find(hooks: Listed[], name: string): Listed {
  const h = hooks.find((x) => x.name === name);
  if (!h) throw new HooksCliError("FAILED", `no hook named "${name}" (airlock hooks list shows them)`);
  return h;
}

function report(ctx: HooksCliContext, what: string, hooks: Listed[]): void {
  if (ctx.json) ctx.out(JSON.stringify({ [what]: hooks.map((h) => ({ name: h.name, hash: h.hash })) }));
  else
    for (const h of hooks)
      ctx.out(`${what} ${h.name} (${h.hash.slice(0, 12)})${h.state === "disabled" ? " — still not run: repository hooks are not allowed" : ""}`);
}
