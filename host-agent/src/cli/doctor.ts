// `airlock doctor`: checks the identity file, the relay as this host would use
// it (relay-check.ts), and which agents are available.
import { parseArgs } from "node:util";
import { roomIdFor, secureRandom } from "@airlock/protocol";
import { agentChecks } from "../agents/index.ts";
import { IdentityError, loadIdentity } from "../identity.ts";
import { checkRelay } from "../relay-check.ts";
import { checkUrl, configuredRelay, Exit, type Context } from "./context.ts";

export async function cmdDoctor(ctx: Context, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { relay: { type: "string" } }, strict: true });
  const checks: Array<{ name: string; ok: boolean; detail: string }> = [];
  // The room to probe: this host's own, or (before the first airlock up) a throwaway one.
  let room = roomIdFor(secureRandom(32));
  try {
    const identity = await loadIdentity(ctx.paths.identity, ctx.backend);
    room = identity.roomId;
    checks.push({ name: "identity", ok: true, detail: `${ctx.paths.identity} (room ${identity.roomId}, mode 0600)` });
  } catch (e) {
    const missing = e instanceof IdentityError && e.code === "IDENTITY_MISSING";
    checks.push({ name: "identity", ok: missing, detail: missing ? "not created yet; airlock up creates it" : (e as Error).message });
  }
  const relayUrl = values.relay ? checkUrl(values.relay, "--relay") : configuredRelay(ctx.paths);
  checks.push(...(await checkRelay(relayUrl, room)));
  const agents = agentChecks();
  // Informational: an agent that is not installed does not fail the doctor (the demo always runs).
  checks.push({ name: "agent", ok: true, detail: agents.map((a) => `${a.name}: ${a.ok ? "" : "unavailable, "}${a.detail}`).join("; ") });
  checks.push({ name: "crypto", ok: true, detail: `${ctx.backend.name} backend, Node ${process.version}` });
  if (ctx.json) ctx.out(JSON.stringify({ ok: checks.every((c) => c.ok), checks }));
  else for (const c of checks) ctx.out(`${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(8)} ${c.detail}`);
  return checks.every((c) => c.ok)
    ? Exit.OK
    : checks.find((c) => (c.name === "relay" || c.name === "upgrade" || c.name === "admission") && !c.ok)
      ? Exit.RELAY_UNREACHABLE
      : Exit.ERROR;
}
