// HostCore with automation tokens over an in-memory transport (the relay's
// side is relay-expiry.test.ts, the whole path tokens-e2e.test.ts): the
// allowlist carries token keys with their expiry, a token's key completes the
// resume handshake as a device with its grant, and tokensChanged() closes a
// revoked or expired token's session at once and publishes the new list.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DeviceSession, nobleBackend, toBase64Url, type Ed25519Signer } from "../../../protocol/src/index.ts";
import { DeviceStore } from "../../../host-agent/src/device-store.ts";
import { HostCore, type DeviceConnection, type HostTransport } from "../../../host-agent/src/host-core.ts";
import { loadOrCreateIdentity } from "../../../host-agent/src/identity.ts";
import { TokenStore } from "../../../host-agent/src/tokens/token-store.ts";
import { tempDir } from "../../support/temp.ts";

class MemoryTransport implements HostTransport {
  sent: Array<{ slot: number; frame: Uint8Array }> = [];
  allowlists: Array<{ version: number; keys: string[]; expires?: number[] }> = [];
  send(slot: number, frame: Uint8Array) {
    this.sent.push({ slot, frame });
    return true;
  }
  async addTicket() {}
  async setAllowlist(version: number, keys: Uint8Array[], expires?: number[]) {
    this.allowlists.push({ version, keys: keys.map(toBase64Url), ...(expires ? { expires } : {}) });
  }
  async kickDevice() {}
  take(slot: number): Uint8Array {
    const i = this.sent.findIndex((s) => s.slot === slot);
    if (i < 0) throw new Error(`nothing sent to slot ${slot}`);
    return this.sent.splice(i, 1)[0]!.frame;
  }
}

async function setup() {
  const home = tempDir("airlock-core-tokens-");
  let now = Date.UTC(2026, 5, 1);
  const { identity } = await loadOrCreateIdentity(join(home, "identity.json"), nobleBackend);
  const devices = DeviceStore.open(join(home, "devices.json"));
  const tokens = TokenStore.open(join(home, "tokens.json"), () => now);
  const transport = new MemoryTransport();
  const opened: DeviceConnection[] = [];
  const closed: string[] = [];
  const core = new HostCore({
    identity,
    backend: nobleBackend,
    devices,
    tokens,
    transport,
    relayUrl: "http://127.0.0.1:8787",
    confirmPairing: async () => false,
    onSessionOpen: (c) => opened.push(c),
    onSessionClosed: (_c, reason) => closed.push(reason),
  });
  return { core, transport, devices, tokens, identity, opened, closed, home, advance: (ms: number) => (now += ms), now: () => now };
}

async function resume(env: Awaited<ReturnType<typeof setup>>, slot: number, signer: Ed25519Signer) {
  const device = new DeviceSession({ backend: nobleBackend, hostPublicKey: env.identity.signer.publicKey, deviceSigner: signer, deviceName: "nightly-docs" });
  env.core.onDeviceJoined(slot, toBase64Url(signer.publicKey));
  await env.core.onFrame(slot, await device.start());
  const { reply } = await device.receive(env.transport.take(slot));
  await env.core.onFrame(slot, reply!);
  try {
    await device.receive(env.transport.take(slot));
    return { ok: true as const };
  } catch (e) {
    return { ok: false as const, code: (e as { code: string }).code };
  }
}

describe("HostCore with automation tokens", () => {
  it("publishes token keys with their expiry beside devices (0 = never)", async () => {
    const env = await setup();
    const phone = await nobleBackend.generateSigner();
    env.devices.add(phone.publicKey, "Phone");
    await env.core.publishAllowlist();
    expect(env.transport.allowlists.at(-1)).toEqual({ version: 1, keys: [toBase64Url(phone.publicKey)] }); // no token: the plain form
    const bot = await nobleBackend.generateSigner();
    const t = env.tokens.create({ name: "nightly-docs", owner: "alice", scopes: ["run"], workspaces: ["/w"], days: 30, publicKey: bot.publicKey });
    await env.core.tokensChanged();
    expect(env.transport.allowlists.at(-1)).toEqual({
      version: 2,
      keys: [toBase64Url(phone.publicKey), toBase64Url(bot.publicKey)],
      expires: [0, Date.parse(t.expiresAt)],
    });
    // An expired token is left out.
    env.advance(31 * 86_400_000);
    await env.core.publishAllowlist();
    expect(env.transport.allowlists.at(-1)).toEqual({ version: 3, keys: [toBase64Url(phone.publicKey)] });
  });

  it("a token's key resumes as a device carrying its grant; revocation closes the session at once; expired or unknown keys are refused", async () => {
    const env = await setup();
    const bot = await nobleBackend.generateSigner();
    const t = env.tokens.create({ name: "nightly-docs", owner: "alice", scopes: ["run", "read"], workspaces: ["/w"], days: 7, publicKey: bot.publicKey });
    expect(await resume(env, 1, bot)).toEqual({ ok: true });
    const conn = env.opened.at(-1)!;
    expect(conn.device).toMatchObject({ id: t.id, name: "nightly-docs", key: toBase64Url(bot.publicKey) });
    expect(conn.token).toEqual({
      id: t.id,
      name: "nightly-docs",
      owner: "alice",
      scopes: ["run", "read"],
      workspaces: ["/w"],
      expiresAt: Date.parse(t.expiresAt),
    });
    expect(env.tokens.find(t.id).lastUsed).toBeDefined();
    // Revoked by `airlock tokens revoke` (another process writes the file; the core is told).
    TokenStore.open(join(env.home, "tokens.json"), env.now).revoke(t.id);
    const outcome = await env.core.tokensChanged();
    expect(outcome).toMatchObject({ closed: 1, relayUpdated: true });
    expect(env.closed).toContain("token revoked");
    expect(await resume(env, 2, bot)).toEqual({ ok: false, code: "DEVICE_NOT_TRUSTED" });
    // Expired: refused by the host's own clock.
    const bot2 = await nobleBackend.generateSigner();
    env.tokens.create({ name: "weekly", owner: "bob", scopes: ["run"], workspaces: ["/w"], days: 7, publicKey: bot2.publicKey });
    env.advance(8 * 86_400_000);
    expect(await resume(env, 3, bot2)).toEqual({ ok: false, code: "DEVICE_NOT_TRUSTED" });
    // A key nobody knows.
    expect(await resume(env, 4, await nobleBackend.generateSigner())).toEqual({ ok: false, code: "DEVICE_NOT_TRUSTED" });
  });
});
