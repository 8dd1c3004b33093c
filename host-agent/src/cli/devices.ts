// `airlock devices`: list, rename and revoke trusted devices. A revocation goes
// through a running `airlock up` (it closes the device's sessions and tells the
// relay at once); without one, devices.json changes here and the relay learns
// the new allowlist when `airlock up` next connects.
import { join } from "node:path";
import { connectControl, controlSocketPath, replyError, type ControlReply } from "../control.ts";
import { DeviceStore } from "../device-store.ts";
import { airlockCommand } from "../hint.ts";
import { PushStore } from "../push/push-store.ts";
import { tableLines, terminalSafe } from "../terminal-text.ts";
import { CliError, Exit, type Context } from "./context.ts";
import { DEVICES_HELP } from "./help.ts";

export async function cmdDevices(ctx: Context, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const store = DeviceStore.open(ctx.paths.devices);
  if (sub === undefined) {
    const list = store.list();
    if (ctx.json) ctx.out(JSON.stringify(list.map(({ id, name, key, pairedAt, lastSeen }) => ({ id, name, key, pairedAt, lastSeen: lastSeen ?? null }))));
    else if (list.length === 0) ctx.out(`No trusted devices. Pair one with: ${airlockCommand(ctx.paths.home)} pair`);
    else {
      const rows = list.map((d) => [
        d.id,
        terminalSafe(d.name),
        d.pairedAt.slice(0, 16).replace("T", " "),
        d.lastSeen ? d.lastSeen.slice(0, 16).replace("T", " ") : "never",
      ]);
      const header = ["ID", "NAME", "PAIRED", "LAST SEEN"];
      for (const line of tableLines(header, rows)) ctx.out(line);
    }
    return Exit.OK;
  }
  if (sub === "rename") {
    const [id, ...nameParts] = rest;
    if (!id || nameParts.length === 0) throw new CliError("USAGE", "usage: airlock devices rename ID NAME");
    const device = store.rename(id, nameParts.join(" "));
    ctx.out(ctx.json ? JSON.stringify(device) : `Renamed ${device.id} to "${terminalSafe(device.name)}".`);
    return Exit.OK;
  }
  if (sub === "revoke") {
    const [id] = rest;
    if (!id) throw new CliError("USAGE", "usage: airlock devices revoke ID");
    const control = await connectControl(controlSocketPath(ctx.paths.home));
    if (control) {
      let answer: IteratorResult<ControlReply>;
      try {
        control.send({ type: "revoke", id });
        answer = await control.messages.next();
      } finally {
        control.close();
      }
      if (answer.done) throw new CliError("ERROR", "airlock up did not answer");
      const m = answer.value;
      if (m.type !== "revoked") throw new CliError("ERROR", replyError(m));
      const relayNote =
        m.relayUpdated === false
          ? ` The relay could not be told yet (${String(m.relayError)}); airlock up keeps retrying, and refuses the device meanwhile.`
          : "";
      ctx.out(ctx.json ? JSON.stringify(m) : `Revoked ${m.id} ("${terminalSafe(m.name)}"); its sessions were closed.${relayNote}`);
      return Exit.OK;
    }
    const device = store.remove(id);
    store.nextAllowlistVersion(); // the relay learns the new list when airlock up next connects
    try {
      PushStore.open(join(ctx.paths.home, "push.json")).remove(device.id);
    } catch {
      // an unreadable push.json: airlock up drops subscriptions of untrusted devices when it starts
    }
    ctx.out(
      ctx.json
        ? JSON.stringify({ type: "revoked", id: device.id, name: device.name, relayUpdated: false })
        : `Revoked ${device.id} ("${terminalSafe(device.name)}"). airlock up is not running: the relay is updated when it next connects.`,
    );
    return Exit.OK;
  }
  throw new CliError("USAGE", `unknown devices command "${sub}"\n\n${DEVICES_HELP}`);
}
