// Issue 13: the web app driving an ACP agent (the real `airlock up --agent acp
// -- <scripted ACP agent>`, through the real relay, in Chromium at phone size).
// ACP has no steering: while a turn runs the composer offers Stop, not Steer
// (the host's capabilities say what the agent can do); a command waits for the
// phone's approval, and Stop ends the turn.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTED_AGENT } from "../host-agent/acp/helpers.ts";
import { approvalCard, pairedSession, startThread, unexpectedErrors, type Session } from "./session.ts";

let s: Session;
const state = mkdtempSync(join(tmpdir(), "airlock-web-acp-agent-"));

beforeAll(async () => {
  s = await pairedSession("acp", {
    agent: {
      args: ["--agent", "acp", "--", process.execPath, SCRIPTED_AGENT],
      env: { SCRIPTED_ACP_STATE: state, SCRIPTED_ACP_LOG: join(state, "log.jsonl"), SCRIPTED_ACP_MODE: "auto" },
    },
  });
}, 180_000);

afterAll(async () => {
  await s?.close();
  rmSync(state, { recursive: true, force: true });
});

describe("web app with an ACP agent", () => {
  it("approves the agent's command from the phone; while it runs, the composer offers Stop and no Steer; Stop ends the turn", async () => {
    const page = s.page;
    await startThread(page, "long sleep 100");
    const card = approvalCard(page, "sleep 100");
    await card.getByRole("button", { name: "Approve once" }).tap();
    await expect.poll(() => card.locator("article").getAttribute("data-state")).toBe("resolved");
    const composer = page.locator("form[aria-label='Reply']");
    await expect.poll(() => composer.getByRole("button", { name: "Stop the running turn" }).isVisible()).toBe(true);
    expect(await composer.getByRole("button", { name: "Steer" }).count()).toBe(0);
    expect(await composer.locator("textarea").getAttribute("placeholder")).toContain("cannot be steered");
    expect(await composer.locator("textarea").isDisabled()).toBe(true);
    await composer.getByRole("button", { name: "Stop the running turn" }).tap();
    await page.locator("airlock-thread .turn.interrupted").waitFor();
    // Idle again: the composer sends.
    await expect.poll(() => composer.getByRole("button", { name: "Send" }).isVisible()).toBe(true);
    expect(unexpectedErrors(s.browser)).toEqual([]);
  });
});
