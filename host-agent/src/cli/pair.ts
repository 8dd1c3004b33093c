// `airlock pair`: asks the running `airlock up` for a one-time pairing link,
// shows it, and relays the operator's yes/no on the device's SAS.
import { parseArgs } from "node:util";
import { connectControl, controlSocketPath } from "../control.ts";
import { airlockCommand } from "../hint.ts";
import { terminalSafe } from "../terminal-text.ts";
import { CliError, Exit, type Context } from "./context.ts";
import { askOperator, showPairing } from "./pairing-display.ts";

export async function cmdPair(ctx: Context, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ttl: { type: "string" }, yes: { type: "boolean", default: false } }, strict: true });
  const ttl = values.ttl === undefined ? undefined : Number(values.ttl);
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1 || ttl > 3600)) throw new CliError("USAGE", "--ttl must be 1..3600 seconds");
  const control = await connectControl(controlSocketPath(ctx.paths.home));
  if (!control)
    throw new CliError(
      "NOT_FOUND",
      `airlock up is not running: start it (${airlockCommand(ctx.paths.home)} up), or use ${airlockCommand(ctx.paths.home)} up --pair`,
    );
  try {
    control.send({ type: "pair", ...(ttl ? { ttl } : {}) });
    for (;;) {
      const next = await control.messages.next();
      if (next.done) throw new CliError("PAIRING_FAILED", "airlock up stopped before the pairing finished");
      const m = next.value;
      if (m.type === "link") await showPairing(ctx, m.link, m.expiresAt);
      else if (m.type === "confirm") {
        const request = { deviceName: m.deviceName, deviceId: m.deviceId, sas: m.sas };
        const ok = values.yes || (await askOperator(ctx, request));
        control.send({ type: "answer", ok });
      } else if (m.type === "paired") {
        ctx.out(ctx.json ? JSON.stringify(m) : `Paired "${terminalSafe(m.deviceName)}" (${m.deviceId}).`);
        return Exit.OK;
      } else if (m.type === "rejected" || m.type === "expired") {
        ctx.out(ctx.json ? JSON.stringify(m) : m.type === "expired" ? "The pairing link expired." : "Pairing rejected.");
        return Exit.PAIRING_FAILED;
      } else if (m.type === "error") throw new CliError("ERROR", m.message);
    }
  } finally {
    control.close();
  }
}
