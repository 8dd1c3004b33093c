// The install hint for Claude Code's ACP adapter names the version the checkout pins
// (host-agent/claude-code/package.json), so an installed airlock and a checkout run the same one.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CLAUDE_INSTALL, CLAUDE_INSTALL_GLOBAL, claudeInstallHint } from "../../host-agent/src/agents/index.ts";

describe("Claude Code install hint", () => {
  it("the global install pins the checkout's version; in a checkout the hint is the checkout's script", () => {
    const pinned = (
      JSON.parse(readFileSync(new URL("../../host-agent/claude-code/package.json", import.meta.url), "utf8")) as { dependencies: Record<string, string> }
    ).dependencies["@agentclientprotocol/claude-agent-acp"];
    expect(CLAUDE_INSTALL_GLOBAL).toBe(`npm install -g @agentclientprotocol/claude-agent-acp@${pinned}`);
    expect(claudeInstallHint()).toBe(`${CLAUDE_INSTALL} (in the Airlock checkout)`);
  });
});
