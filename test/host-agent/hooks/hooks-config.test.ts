// The hooks section of the policy files (policy-file.ts + hooks/config.ts):
// strict parsing, what a repository may and may not set, sub-folder files,
// and the content hash (hash.ts) that trust is keyed on.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hashedFiles, hookHash } from "../../../host-agent/src/hooks/hash.ts";
import { builtinPolicy, mergePolicy, parsePolicy, PolicyError, tightenPolicy } from "../../../host-agent/src/policy/policy-file.ts";
import { tempDir } from "./harness.ts";

const hook = (over: Record<string, unknown> = {}) => ({ name: "scan", events: ["UserPromptSubmit"], command: ["node", "scan.mjs"], ...over });
const file = (hooks: unknown) => JSON.stringify({ version: 1, hooks });

describe("hooks in policy files", () => {
  it("parses a hook list and fills defaults", () => {
    const p = mergePolicy(builtinPolicy(), parsePolicy(file({ list: [hook()] }), "user.json"), "user", "/home/me/policy.json");
    expect(p.hooks).toEqual([
      {
        name: "scan",
        events: ["UserPromptSubmit"],
        command: ["node", "scan.mjs"],
        timeoutSeconds: 30,
        source: "user",
        file: "/home/me/policy.json",
        enabled: true,
      },
    ]);
    expect(p.hookSettings).toEqual({ allowRepositoryHooks: false, mayAllowUpTo: "continue" });
  });

  it.each([
    [{ list: [hook({ command: "node scan.mjs" })] }, "hooks.list[0].command: expected array"],
    [{ list: [hook({ command: [] })] }, "hooks.list[0].command: must be at least 1"],
    [{ list: [hook({ events: ["BeforeEverything"] })] }, "hooks.list[0].events[0]: expected"],
    [{ list: [hook({ name: "Bad Name" })] }, "hooks.list[0].name"],
    [{ list: [hook({ timeoutSeconds: 0 })] }, "hooks.list[0].timeoutSeconds: must be at least 1"],
    [{ list: [hook({ shell: true })] }, 'hooks.list[0]: unknown key "shell"'],
    [{ mayAllowUpTo: "commit" }, "hooks.mayAllowUpTo: expected"],
    [{ allowRepoHooks: true }, 'hooks: unknown key "allowRepoHooks"'],
  ])("rejects %j", (hooks, message) => {
    expect(() => parsePolicy(file(hooks), "p.json")).toThrow(PolicyError);
    expect(() => parsePolicy(file(hooks), "p.json")).toThrow(message);
  });

  it("a repository cannot enable its own hooks or widen what hooks may allow; a duplicate name is dropped", () => {
    const user = mergePolicy(builtinPolicy(), parsePolicy(file({ list: [hook()] }), "u"), "user", "u");
    const repo = mergePolicy(
      user,
      parsePolicy(file({ allowRepositoryHooks: true, mayAllowUpTo: "expand", list: [hook(), hook({ name: "lint" })] }), "r"),
      "repo",
      "r",
    );
    expect(repo.hookSettings).toEqual({ allowRepositoryHooks: false, mayAllowUpTo: "continue" });
    expect(repo.hooks!.map((h) => [h.name, h.source, h.enabled])).toEqual([
      ["scan", "user", true],
      ["lint", "repo", false],
    ]);
    expect(repo.warnings).toEqual([
      expect.stringContaining("repo.hooks.allowRepositoryHooks is ignored"),
      expect.stringContaining("repo.hooks.mayAllowUpTo is ignored"),
      expect.stringContaining('a hook named "scan" is already declared'),
    ]);
    const allowing = mergePolicy(builtinPolicy(), parsePolicy(file({ allowRepositoryHooks: true, mayAllowUpTo: "none" }), "u"), "user", "u");
    const enabled = mergePolicy(allowing, parsePolicy(file({ list: [hook({ name: "lint" })] }), "r"), "repo", "r");
    expect(enabled.hooks![0]!.enabled).toBe(true);
    expect(enabled.hookSettings!.mayAllowUpTo).toBe("none");
  });

  it("a sub-folder file's hooks are ignored with a warning", () => {
    const p = tightenPolicy(builtinPolicy(), parsePolicy(file({ list: [hook()] }), "s"), "repo(sub)");
    expect(p.hooks).toBeUndefined();
    expect(p.warnings).toEqual([expect.stringContaining("repo(sub).hooks is ignored")]);
  });
});

describe("hook content hash", () => {
  it("covers the program or the interpreter's script and hashFiles, not data arguments", () => {
    expect(hashedFiles({ command: ["node", "hooks/scan.mjs", "/var/log/x.log"] })).toEqual(["hooks/scan.mjs"]);
    expect(hashedFiles({ command: ["./hooks/scan.sh", "out/x"] })).toEqual(["./hooks/scan.sh"]);
    expect(hashedFiles({ command: ["python3", "-u", "x/y.py"] })).toEqual([]);
    expect(hashedFiles({ command: ["node", "a.mjs"], hashFiles: ["lib/p.mjs"] })).toEqual(["lib/p.mjs"]);
  });

  it("changes with the script's bytes, the argv, the events and hashFiles' bytes", async () => {
    const ws = tempDir();
    writeFileSync(join(ws, "scan.mjs"), "one");
    writeFileSync(join(ws, "lib.mjs"), "lib");
    const base = { name: "scan", events: ["UserPromptSubmit" as const], command: ["node", "./scan.mjs"], timeoutSeconds: 30, source: "user" as const };
    const h1 = await hookHash(base, ws);
    expect(h1).toMatch(/^[0-9a-f]{64}$/);
    expect(await hookHash(base, ws)).toBe(h1);
    writeFileSync(join(ws, "scan.mjs"), "two");
    const h2 = await hookHash(base, ws);
    expect(h2).not.toBe(h1);
    expect(await hookHash({ ...base, command: ["node", "./scan.mjs", "--strict"] }, ws)).not.toBe(h2);
    expect(await hookHash({ ...base, events: ["PreToolUse" as const] }, ws)).not.toBe(h2);
    expect(await hookHash({ ...base, source: "repo" as const }, ws)).not.toBe(h2);
    const withLib = await hookHash({ ...base, hashFiles: ["lib.mjs"] }, ws);
    writeFileSync(join(ws, "lib.mjs"), "lib2");
    expect(await hookHash({ ...base, hashFiles: ["lib.mjs"] }, ws)).not.toBe(withLib);
  });
});
