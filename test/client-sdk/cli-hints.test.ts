// airlock-client's printed hints work when pasted where they were printed
// (issue 14): the same state folder (--home when it is not the default), and
// npx when the CLI is not on the user's PATH; an automation token's view says
// who decides instead of offering a command the token cannot run.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clientCommand } from "../../client-sdk/src/node/hint.ts";
import { WatchView } from "../../client-sdk/src/node/watch-view.ts";
import type { ThreadEvent } from "../../protocol/src/index.ts";

const dir = mkdtempSync(join(tmpdir(), "airlock-client-hints-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const approval = (over: Partial<Extract<ThreadEvent, { kind: "approval.request" }>> = {}): ThreadEvent => ({
  kind: "approval.request",
  approvalId: "ap_1",
  type: "command",
  tier: "continue",
  rule: "r",
  where: "any-device",
  evidence: { action: "ls -la", cwd: "/w" } as never,
  options: ["approve_once", "deny"],
  ...over,
});

describe("airlock-client hints", () => {
  it("npx unless on the user's own PATH; --home only when not the default, relative inside cwd", () => {
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const home = join(dir, "default-home");
    expect(clientCommand(home, home, { PATH: "/nowhere" }, dir)).toBe("npx airlock-client");
    expect(clientCommand(join(dir, "dev", "client"), home, { PATH: "/nowhere" }, dir)).toBe("npx airlock-client --home dev/client");
    expect(clientCommand("/elsewhere/it's", home, { PATH: "/nowhere" }, dir)).toBe(`npx airlock-client --home '/elsewhere/it'\\''s'`);
    writeFileSync(join(bin, "airlock-client"), "#!/bin/sh\n");
    chmodSync(join(bin, "airlock-client"), 0o755);
    expect(clientCommand(home, home, { PATH: bin }, dir)).toBe("airlock-client");
    // Started by npx or an npm script: the PATH entry is npm's, not the user's.
    expect(clientCommand(home, home, { PATH: bin, npm_command: "exec" }, dir)).toBe("npx airlock-client");
  });

  it("the watch view's approve, deny and answer hints use that command; a token's view names who decides", () => {
    const view = new WatchView("t_1", "npx airlock-client --home dev/client");
    expect(view.lines({ seq: 3, event: approval() }).at(-1)).toBe(
      "  approve: npx airlock-client --home dev/client approve t_1 ap_1  ·  deny: npx airlock-client --home dev/client deny t_1 ap_1",
    );
    expect(view.lines({ seq: 4, event: { kind: "question", questionId: "q_1", text: "Which?" } }).at(-1)).toBe(
      "  answer: npx airlock-client --home dev/client answer t_1 q_1 TEXT",
    );
    const token = new WatchView("t_1", null);
    expect(token.lines({ seq: 3, event: approval() }).at(-1)).toBe("  a person decides on a paired device (an automation token cannot)");
    // Host-only: the host's own command, as the host said it runs.
    expect(view.lines({ seq: 5, event: approval({ where: "host-only", hostCli: "npx airlock --home .dev/host" }) }).at(-1)).toBe(
      "  decide at the host: npx airlock --home .dev/host approve ap_1 (or npx airlock --home .dev/host deny ap_1)",
    );
  });
});
