// `airlock approvals`, `airlock approve` and `airlock deny`: the requests a
// running `airlock up` holds for a decision, and decisions made at this terminal.
import { parseArgs } from "node:util";
import { connectControl, controlSocketPath, replyError } from "../control.ts";
import { airlockCommand } from "../hint.ts";
import { CliError, Exit, type Context } from "./context.ts";

export async function cmdApprovals(ctx: Context, args: string[]): Promise<number> {
  parseArgs({ args, options: {}, strict: true });
  const control = await connectControl(controlSocketPath(ctx.paths.home));
  if (!control) throw new CliError("NOT_FOUND", "airlock up is not running: nothing can be waiting");
  try {
    control.send({ type: "approvals" });
    const answer = await control.messages.next();
    if (answer.done || answer.value.type !== "approvals") throw new CliError("ERROR", "airlock up did not answer");
    const { approvals, questions } = answer.value;
    if (ctx.json) {
      ctx.out(JSON.stringify({ approvals, questions }));
      return Exit.OK;
    }
    if (approvals.length === 0 && questions.length === 0) ctx.out("Nothing is waiting for a decision.");
    for (const p of approvals) {
      const e = p.evidence;
      const flags = Object.entries(e.flags)
        .filter(([, v]) => v)
        .map(([k]) => k);
      ctx.out(
        `${p.approvalId}  ${p.tier.toUpperCase()} (${p.rule})  ${p.where === "host-only" ? "only this terminal may decide" : "any paired device may decide"}`,
      );
      ctx.out(`  ${p.type === "command" ? "run" : p.type === "file_change" ? "change" : "allow"}: ${e.action.split("\n").join("\n    ")}`);
      ctx.out(`  in ${e.cwd} on ${e.host}`);
      if (e.reason) ctx.out(`  why: ${e.reason}`);
      if (e.sideEffects) ctx.out(`  effects: ${e.sideEffects}`);
      if (flags.length) ctx.out(`  flags: ${flags.join(", ")}`);
      if (e.filesChanged.length) ctx.out(`  files changed so far: ${e.filesChanged.join(", ")}`);
      if (e.checksRun.length) ctx.out(`  checks: ${e.checksRun.map((c) => `${c.name} ${c.status}`).join("; ")}`);
      if (e.next) ctx.out(`  next: ${e.next}`);
      ctx.out(
        `  expires ${new Date(p.expiresAt).toLocaleTimeString()}; answer: ${airlockCommand(ctx.paths.home)} approve ${p.approvalId} [--session] | ${airlockCommand(ctx.paths.home)} deny ${p.approvalId}\n`,
      );
    }
    for (const q of questions) ctx.out(`${q.questionId}  question in ${q.threadId}: ${q.text} (answer it from a device)`);
    return Exit.OK;
  } finally {
    control.close();
  }
}

export async function cmdDecide(ctx: Context, command: "approve" | "deny", args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { session: { type: "boolean", default: false } }, allowPositionals: true, strict: true });
  const [id] = positionals;
  if (!id || positionals.length > 1) throw new CliError("USAGE", `usage: airlock ${command} ID${command === "approve" ? " [--session]" : ""}`);
  if (command === "deny" && values.session) throw new CliError("USAGE", "--session only applies to approve");
  const control = await connectControl(controlSocketPath(ctx.paths.home));
  if (!control) throw new CliError("NOT_FOUND", "airlock up is not running: nothing can be waiting");
  try {
    const decision = command === "deny" ? "deny" : values.session ? "approve_session" : "approve_once";
    control.send({ type: "decide", id, decision });
    const answer = await control.messages.next();
    if (answer.done) throw new CliError("ERROR", "airlock up did not answer");
    const m = answer.value;
    if (m.type !== "decided") throw new CliError(m.type === "error" && m.code === "NOT_PENDING" ? "NOT_FOUND" : "ERROR", replyError(m));
    ctx.out(
      ctx.json
        ? JSON.stringify(m)
        : `${decision === "deny" ? "Denied" : "Approved"} ${m.approvalId}${decision === "approve_session" ? " for the session" : ""}.`,
    );
    return Exit.OK;
  } finally {
    control.close();
  }
}
