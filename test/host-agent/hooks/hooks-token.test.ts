// A hook sees which automation token caused a prompt (issue 15): `cause.token`
// names the token and its owner, so a hook can log or refuse per workflow.
// The real app server with a real token store and scope checks (the token's
// session is an in-process device connection carrying the token's grant).
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TokenScopes } from "../../../host-agent/src/tokens/token-scope.ts";
import { TokenStore, type TokenGrant } from "../../../host-agent/src/tokens/token-store.ts";
import { fromBase64Url } from "../../../protocol/src/index.ts";
import { device } from "../app-server-harness.ts";
import { tempDir } from "../../support/temp.ts";
import { setupHooks, type HookEnv } from "./harness.ts";

let env: HookEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

describe("hooks and automation tokens", () => {
  it("UserPromptSubmit and SessionStart get cause.token {id, name, owner}; a person's prompt has none", async () => {
    const tokens = TokenStore.open(join(tempDir("airlock-hook-tokens-"), "tokens.json"));
    env = await setupHooks({ tokens: new TokenScopes(tokens) });
    env.userPolicy({ version: 1, hooks: { list: [env.hook("who", ["UserPromptSubmit", "SessionStart"], "allow", "ok")] } });
    const trusted = await env.cli("trust", "who");
    expect(trusted.code, trusted.err).toBe(0);

    const bot = device(env, "nightly-docs", 3);
    const record = tokens.create({
      name: "nightly-docs",
      owner: "alice",
      scopes: ["run"],
      workspaces: [env.workspace],
      days: 7,
      publicKey: fromBase64Url(bot.conn.device.key)!,
    });
    const grant: TokenGrant = {
      id: record.id,
      name: record.name,
      owner: record.owner,
      scopes: record.scopes,
      workspaces: record.workspaces,
      expiresAt: Date.parse(record.expiresAt),
    };
    Object.assign(bot.conn, { token: grant });
    await env.app.onSessionOpen(bot.conn);
    expect(await bot.command("thread.start", { prompt: "check the docs" })).toMatchObject({ type: "result" });

    const phone = device(env, "Ana's phone", 1);
    await env.app.onSessionOpen(phone.conn);
    expect(await phone.command("thread.start", { prompt: "hello" })).toMatchObject({ type: "result" });

    const inputs = env.inputs("who");
    const fromToken = inputs.filter((i) => i.prompt === "check the docs");
    expect(fromToken.map((i) => i.event).sort()).toEqual(["SessionStart", "UserPromptSubmit"]);
    for (const i of fromToken)
      expect(i.cause).toEqual({ id: bot.conn.device.id, name: "nightly-docs", token: { id: record.id, name: "nightly-docs", owner: "alice" } });
    const fromPhone = inputs.filter((i) => i.prompt === "hello");
    expect(fromPhone.length).toBeGreaterThan(0);
    for (const i of fromPhone) expect(i.cause).toEqual({ id: phone.conn.device.id, name: "Ana's phone" });
  });
});
