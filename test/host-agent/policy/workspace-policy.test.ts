// The policy for a thread's cwd comes from the workspace root down (issue 10,
// item 6): a thread started in `sub/` keeps the root's rules, a sub-folder's
// own `.airlock/policy.json` can tighten but never loosen them, and files
// outside the workspace never count.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { classifyCommand } from "../../../host-agent/src/policy/classify.ts";
import { decide, MAX_POLICY_FILE_BYTES, PolicyError, type Policy } from "../../../host-agent/src/policy/policy-file.ts";
import { loadWorkspacePolicy, MAX_POLICY_DEPTH, policyChain } from "../../../host-agent/src/workspace.ts";

let top: string;
let ws: string;
let userFile: string;

beforeEach(async () => {
  top = await realpath(await mkdtemp(join(tmpdir(), "airlock-wspolicy-")));
  ws = join(top, "ws");
  userFile = join(top, "user-policy.json");
  await mkdir(join(ws, "sub", "deeper"), { recursive: true });
  await mkdir(join(ws, "sibling"));
});
afterEach(async () => {
  await rm(top, { recursive: true, force: true });
});

async function policyAt(dir: string, policy: unknown): Promise<void> {
  await mkdir(join(dir, ".airlock"), { recursive: true });
  await writeFile(join(dir, ".airlock", "policy.json"), typeof policy === "string" ? policy : JSON.stringify(policy));
}

const run = (p: Policy, command: string) => decide(p, classifyCommand(command), command);

/** The root forbids pushing and keeps installs at the host's terminal. */
const STRICT_ROOT = {
  version: 1,
  defaults: { expand: "host-only" },
  rules: [
    { match: { rule: "git.push" }, action: "deny" },
    { match: { tier: "continue", command: "^npm test$" }, action: "allow" },
  ],
};

/** Everything a hostile sub-folder file could try to loosen. */
const LOOSENING_SUB = {
  version: 1,
  defaults: { steer: "allow", continue: "allow", expand: "allow", commit: "allow" },
  rules: [
    { match: { rule: "git.push" }, action: "allow" },
    { match: { tier: "expand" }, action: "allow" },
    { match: { rule: "*" }, action: "allow" },
  ],
  timeoutSeconds: 86400,
  timeoutAction: "deny",
};

describe("policy from the workspace root down", () => {
  it("a thread in a sub-folder keeps the root's rules", async () => {
    await policyAt(ws, STRICT_ROOT);
    for (const cwd of [join(ws, "sub"), join(ws, "sub", "deeper"), join(ws, "sub", "not-created-yet")]) {
      const p = await loadWorkspacePolicy(userFile, ws, cwd);
      expect(run(p, "git push")).toEqual({ action: "deny", ruleFired: "repo.rules[0]" });
      expect(run(p, "npm install left-pad")).toEqual({ action: "host-only", ruleFired: "repo.defaults.expand" });
      expect(run(p, "npm test")).toEqual({ action: "allow", ruleFired: "repo.rules[1]" });
      expect(run(p, "ls")).toEqual({ action: "ask", ruleFired: "builtin.defaults.continue" });
    }
  });

  it("a sub-folder file cannot loosen the root's rules, the built-in floors, or the timeout", async () => {
    await policyAt(ws, STRICT_ROOT);
    await policyAt(join(ws, "sub"), LOOSENING_SUB);
    await policyAt(join(ws, "sub", "deeper"), LOOSENING_SUB);
    for (const cwd of [join(ws, "sub"), join(ws, "sub", "deeper")]) {
      const p = await loadWorkspacePolicy(userFile, ws, cwd);
      expect(run(p, "git push")).toEqual({ action: "deny", ruleFired: "repo.rules[0]", cappedFrom: "repo(sub).rules[0]" });
      expect(run(p, "npm install left-pad")).toEqual({ action: "host-only", ruleFired: "repo.defaults.expand", cappedFrom: "repo(sub).rules[1]" });
      expect(run(p, "wrangler deploy")).toMatchObject({ action: "host-only", ruleFired: "builtin.defaults.commit" });
      expect(run(p, "ls")).toEqual({ action: "ask", ruleFired: "builtin.defaults.continue", cappedFrom: "repo(sub).rules[2]" });
      expect(decide(p, { tier: "steer", rule: "permission.question" }).action).toBe("ask");
      expect([p.timeoutSeconds, p.timeoutAction]).toEqual([600, "deny"]);
      expect(p.warnings.some((w) => w.startsWith('repo(sub).defaults.commit "allow" is looser than builtin.defaults.commit "host-only"'))).toBe(true);
      expect(p.warnings).toContain("repo(sub).timeoutSeconds 86400 is longer than 600; a sub-folder policy can only shorten it");
    }
  });

  it("without a root file, a sub-folder file still cannot loosen the user's or built-in policy", async () => {
    await writeFile(userFile, JSON.stringify({ version: 1, rules: [{ match: { rule: "net.*" }, action: "deny" }], timeoutAction: "cancel" }));
    await policyAt(join(ws, "sub"), LOOSENING_SUB);
    const p = await loadWorkspacePolicy(userFile, ws, join(ws, "sub"));
    expect(run(p, "git push").action).toBe("host-only");
    expect(run(p, "curl https://example.com")).toEqual({ action: "deny", ruleFired: "user.rules[0]", cappedFrom: "repo(sub).rules[1]" });
    expect(run(p, "npm install left-pad").action).toBe("ask");
    // steer and continue too: only the workspace root's file may loosen them.
    expect(run(p, "ls").action).toBe("ask");
    expect(p.timeoutAction).toBe("cancel");
    expect(p.warnings).toContain('repo(sub).timeoutAction "deny" is looser than "cancel"; a sub-folder policy can only tighten');
  });

  it("a sub-folder file may tighten, for its folder and below only", async () => {
    await policyAt(ws, STRICT_ROOT);
    await policyAt(join(ws, "sub"), {
      version: 1,
      defaults: { continue: "host-only" },
      rules: [
        { match: { command: "^npm test$" }, action: "deny" },
        { match: { rule: "git.read" }, action: "ask" },
      ],
      timeoutSeconds: 60,
      timeoutAction: "cancel",
    });
    await policyAt(join(ws, "sub", "deeper"), { version: 1, rules: [{ match: { rule: "git.read" }, action: "deny" }] });

    const sub = await loadWorkspacePolicy(userFile, ws, join(ws, "sub"));
    expect(run(sub, "npm test")).toEqual({ action: "deny", ruleFired: "repo(sub).rules[0]" });
    expect(run(sub, "ls")).toEqual({ action: "host-only", ruleFired: "repo(sub).defaults.continue" });
    // Its own first matching rule decides for the layer: "ask" is looser than its own host-only default, and that is its choice.
    expect(run(sub, "git status")).toEqual({ action: "ask", ruleFired: "builtin.defaults.continue" });
    expect(run(sub, "git push")).toEqual({ action: "deny", ruleFired: "repo.rules[0]" });
    expect([sub.timeoutSeconds, sub.timeoutAction]).toEqual([60, "cancel"]);
    expect(sub.warnings).toEqual([]);

    const deeper = await loadWorkspacePolicy(userFile, ws, join(ws, "sub", "deeper"));
    expect(run(deeper, "git status")).toEqual({ action: "deny", ruleFired: "repo(sub/deeper).rules[0]" });
    expect(run(deeper, "npm test")).toEqual({ action: "deny", ruleFired: "repo(sub).rules[0]" });
    expect(run(deeper, "ls").action).toBe("host-only");

    for (const cwd of [ws, join(ws, "sibling")]) {
      const p = await loadWorkspacePolicy(userFile, ws, cwd);
      expect(run(p, "npm test")).toEqual({ action: "allow", ruleFired: "repo.rules[1]" });
      expect(run(p, "ls").action).toBe("ask");
      expect(p.timeoutSeconds).toBe(600);
    }
  });

  it("the workspace root's file keeps its repository powers in every sub-folder", async () => {
    await policyAt(ws, { version: 1, defaults: { continue: "allow" }, rules: [{ match: { rule: "git.push" }, action: "allow" }] });
    const p = await loadWorkspacePolicy(userFile, ws, join(ws, "sub", "deeper"));
    expect(run(p, "ls")).toEqual({ action: "allow", ruleFired: "repo.defaults.continue" });
    // ...and its limits: the commit floor still holds.
    expect(run(p, "git push")).toEqual({ action: "host-only", ruleFired: "builtin.defaults.commit", cappedFrom: "repo.rules[0]" });
  });

  it("files outside the workspace never count, also through symbolic links", async () => {
    await policyAt(ws, STRICT_ROOT);
    const outside = join(top, "outside");
    await mkdir(outside);
    await policyAt(outside, { version: 1, defaults: { continue: "allow", expand: "allow" } });
    await symlink(outside, join(ws, "sub", "escape"));
    for (const cwd of [outside, join(ws, "sub", "escape"), "/"]) {
      const p = await loadWorkspacePolicy(userFile, ws, cwd);
      expect(p.layers).toEqual([]);
      expect(run(p, "ls").action).toBe("ask");
      expect(run(p, "npm install left-pad").action).toBe("host-only");
      expect(run(p, "git push").action).toBe("deny");
    }
  });

  it("chains real paths, root first", async () => {
    const link = join(top, "ws-link");
    await symlink(ws, link);
    await symlink(join(ws, "sub", "deeper"), join(ws, "shortcut"));
    expect(await policyChain(link, join(link, "shortcut"))).toEqual({
      repoFile: join(ws, ".airlock", "policy.json"),
      subFolders: [
        { file: join(ws, "sub", ".airlock", "policy.json"), id: "repo(sub)" },
        { file: join(ws, "sub", "deeper", ".airlock", "policy.json"), id: "repo(sub/deeper)" },
      ],
    });
    expect((await policyChain(ws, ws)).subFolders).toEqual([]);
  });

  it("an invalid, oversized or non-regular sub-folder file fails (the host then fails closed)", async () => {
    await policyAt(join(ws, "sub"), { version: 1, defaults: { commit: "maybe" } });
    await expect(loadWorkspacePolicy(userFile, ws, join(ws, "sub", "deeper"))).rejects.toThrow(PolicyError);

    await policyAt(join(ws, "sub"), " ".repeat(MAX_POLICY_FILE_BYTES) + '{"version":1}');
    await expect(loadWorkspacePolicy(userFile, ws, join(ws, "sub"))).rejects.toThrow(
      `${join(ws, "sub", ".airlock", "policy.json")}: larger than ${MAX_POLICY_FILE_BYTES} bytes`,
    );

    await rm(join(ws, "sub", ".airlock"), { recursive: true });
    await mkdir(join(ws, "sub", ".airlock", "policy.json"), { recursive: true });
    await expect(loadWorkspacePolicy(userFile, ws, join(ws, "sub"))).rejects.toThrow("not a regular file");
  });

  it.skipIf(process.platform === "win32")("a FIFO planted as a policy file is refused without hanging", async () => {
    await mkdir(join(ws, "sub", ".airlock"));
    execFileSync("mkfifo", [join(ws, "sub", ".airlock", "policy.json")]);
    await expect(loadWorkspacePolicy(userFile, ws, join(ws, "sub"))).rejects.toThrow("not a regular file");
  });

  it(`a cwd more than ${MAX_POLICY_DEPTH} folders deep fails closed`, async () => {
    const parts = Array.from({ length: MAX_POLICY_DEPTH + 1 }, (_, i) => `d${i}`);
    await mkdir(join(ws, ...parts), { recursive: true });
    await expect(loadWorkspacePolicy(userFile, ws, join(ws, ...parts.slice(0, MAX_POLICY_DEPTH)))).resolves.toBeDefined();
    await expect(loadWorkspacePolicy(userFile, ws, join(ws, ...parts))).rejects.toThrow(PolicyError);
  });
});
