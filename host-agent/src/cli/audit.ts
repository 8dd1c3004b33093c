// `airlock audit verify|tail` and `airlock stats`: reading the hash-chained
// audit log (audit/audit-log.ts) and the approval-loop metrics drawn from it.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { tailAuditLog, verifyAuditLog } from "../audit/audit-log.ts";
import { approvalStats, formatStats } from "../audit/stats.ts";
import { formatTokenUsage, tokenUsage } from "../tokens/token-stats.ts";
import { CliError, Exit, type Context } from "./context.ts";

export async function cmdAudit(ctx: Context, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const file = join(ctx.paths.home, "audit.jsonl");
  if (sub === "verify") {
    const result = await verifyAuditLog(file);
    if (ctx.json) ctx.out(JSON.stringify(result));
    else if (result.ok) ctx.out(`Audit log intact: ${result.records} records, chain head ${result.lastHash.slice(0, 16)}…`);
    else ctx.out(`AUDIT LOG DAMAGED: ${result.problem} at line ${result.line}: ${result.detail}`);
    return result.ok ? Exit.OK : Exit.ERROR;
  }
  if (sub === "tail") {
    const { values } = parseArgs({ args: rest, options: { n: { type: "string", short: "n", default: "20" } }, strict: true });
    const n = Number(values.n);
    if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new CliError("USAGE", "-n must be 1..10000");
    const records = await tailAuditLog(file, n);
    if (ctx.json) ctx.out(JSON.stringify(records));
    else
      for (const r of records) {
        const who = r.actor.name ?? r.actor.id ?? r.actor.kind;
        ctx.out(`${new Date(r.at).toISOString()}  #${r.seq}  ${r.type.padEnd(18)} ${who}  ${JSON.stringify(r.data).slice(0, 120)}`);
      }
    return Exit.OK;
  }
  throw new CliError("USAGE", `usage: airlock audit verify | airlock audit tail [-n N]`);
}

export async function cmdStats(ctx: Context, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { days: { type: "string" } }, strict: true });
  const days = values.days === undefined ? undefined : Number(values.days);
  if (days !== undefined && (!Number.isFinite(days) || days <= 0 || days > 3650)) throw new CliError("USAGE", "--days must be a positive number of days");
  const records = await tailAuditLog(join(ctx.paths.home, "audit.jsonl"), Number.MAX_SAFE_INTEGER);
  const since = days === undefined ? undefined : Date.now() - days * 86_400_000;
  const stats = approvalStats(records, since);
  const tokens = tokenUsage(records, since);
  ctx.out(ctx.json ? JSON.stringify({ ...stats, tokens }) : formatStats(stats) + formatTokenUsage(tokens));
  return Exit.OK;
}
