// `airlock status`: the identity, the relay, the devices, whether `airlock up`
// is running (asked over the control socket), and tokens about to expire.
import { connectControl, controlSocketPath, type ControlReply } from "../control.ts";
import { DeviceStore } from "../device-store.ts";
import { airlockCommand } from "../hint.ts";
import { IdentityError, loadIdentity } from "../identity.ts";
import { terminalSafe } from "../terminal-text.ts";
import { tokenStorePath } from "../tokens/token-cli.ts";
import { TokenStore } from "../tokens/token-store.ts";
import { configuredRelay, Exit, type Context } from "./context.ts";
import { messageOf } from "../error-message.ts";

async function relayInfo(relayUrl: string): Promise<{ ok: true; protocol: number; version: string } | { ok: false; error: string }> {
  try {
    const res = await fetch(`${relayUrl}/v1/info`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return { ok: false, error: `HTTP ${res.status}` };
    const body = (await res.json()) as { protocol?: unknown; version?: unknown };
    return { ok: true, protocol: Number(body.protocol), version: String(body.version) };
  } catch (e) {
    return { ok: false, error: messageOf(e) };
  }
}

export async function cmdStatus(ctx: Context): Promise<number> {
  const relayUrl = configuredRelay(ctx.paths);
  let room: string | null = null;
  try {
    room = (await loadIdentity(ctx.paths.identity, ctx.backend)).roomId;
  } catch (e) {
    if (!(e instanceof IdentityError) || e.code !== "IDENTITY_MISSING") throw e;
  }
  const devices = DeviceStore.open(ctx.paths.devices).list();
  const control = await connectControl(controlSocketPath(ctx.paths.home));
  // The devices connected to a running airlock up; null when none answers.
  let running: { devices: Extract<ControlReply, { type: "status" }>["devices"] } | null = null;
  if (control) {
    let answer: IteratorResult<ControlReply>;
    try {
      control.send({ type: "status" });
      answer = await control.messages.next();
    } finally {
      control.close();
    }
    running = answer.done ? null : { devices: answer.value.type === "status" ? answer.value.devices : [] };
  }
  const relay = await relayInfo(relayUrl);
  // Tokens that stop working within a week: time to rotate them (airlock tokens rotate).
  let expiring: ReturnType<TokenStore["expiringSoon"]> = [];
  try {
    expiring = TokenStore.open(tokenStorePath(ctx.paths.home)).expiringSoon(7 * 86_400_000);
  } catch (e) {
    ctx.err(`Warning: ${messageOf(e)}: token expiry not checked`);
  }
  const tokenWarnings = expiring.map((t) => ({ id: t.id, name: t.name, owner: t.owner, expiresAt: t.expiresAt }));
  const status = {
    home: ctx.paths.home,
    room,
    relayUrl,
    relay,
    running: running !== null,
    connected: running?.devices ?? [],
    trustedDevices: devices.length,
    expiringTokens: tokenWarnings,
  };
  if (ctx.json) ctx.out(JSON.stringify(status));
  else {
    ctx.out(`Identity:  ${room ? `room ${room}` : "none yet (airlock up creates it)"}`);
    ctx.out(`Relay:     ${relayUrl} — ${relay.ok ? `reachable (protocol ${relay.protocol})` : `unreachable: ${relay.error}`}`);
    ctx.out(`Agent:     ${running ? "airlock up is running" : "airlock up is not running"}`);
    ctx.out(`Devices:   ${devices.length} trusted${running ? `, ${running.devices.length} connected` : ""}`);
    for (const t of expiring) {
      const days = Math.max(0, Math.ceil((Date.parse(t.expiresAt) - Date.now()) / 86_400_000));
      ctx.out(
        `Warning:   token "${terminalSafe(t.name)}" (${t.id}, owner ${terminalSafe(t.owner)}) expires in ${days} day${days === 1 ? "" : "s"} (${t.expiresAt.slice(0, 16).replace("T", " ")}): ${airlockCommand(ctx.paths.home)} tokens rotate ${t.id}`,
      );
    }
  }
  return Exit.OK;
}
