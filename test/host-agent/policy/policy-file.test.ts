// Policy files: strict validation with clear messages, user/repository
// merging (a repository never loosens the commit tier), and decide().
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { classifyCommand } from "../../../host-agent/src/policy/classify.ts";
import { builtinPolicy, decide, loadPolicy, parsePolicy, PolicyError } from "../../../host-agent/src/policy/policy-file.ts";
import { tempDir } from "../../support/temp.ts";

function errorOf(text: string): PolicyError {
  try {
    parsePolicy(text, "/x/policy.json");
  } catch (err) {
    if (err instanceof PolicyError) return err;
    throw err;
  }
  throw new Error("expected a PolicyError");
}

function files(user?: unknown, repo?: unknown): { user: string; repo: string } {
  const dir = tempDir("airlock-policy-");
  const paths = { user: join(dir, "user.json"), repo: join(dir, "repo.json") };
  if (user !== undefined) writeFileSync(paths.user, typeof user === "string" ? user : JSON.stringify(user));
  if (repo !== undefined) writeFileSync(paths.repo, typeof repo === "string" ? repo : JSON.stringify(repo));
  return paths;
}

describe("policy file validation", () => {
  it("accepts a full file", () => {
    const p = parsePolicy(
      JSON.stringify({
        version: 1,
        defaults: { steer: "allow", continue: "ask", expand: "ask", commit: "host-only" },
        rules: [{ match: { tier: "continue", rule: "git.read", command: "^git (status|diff)" }, action: "allow", comment: "reads" }],
        timeoutSeconds: 300,
        timeoutAction: "cancel",
      }),
      "p.json",
    );
    expect(p.rules?.length).toBe(1);
  });
  it.each([
    [{ version: 1, rules: [{ match: { tier: "commit" }, action: "yes" }] }, 'rules[0].action: expected "allow" | "ask" | "host-only" | "deny", got "yes"'],
    [
      { version: 1, rules: [{ match: { tier: "danger" }, action: "ask" }] },
      'rules[0].match.tier: expected "steer" | "continue" | "expand" | "commit", got "danger"',
    ],
    [{ version: 1, rules: [{ match: { command: "(unclosed" }, action: "deny" }] }, "rules[0].match.command: is not a valid regular expression"],
    [{ version: 1, defaults: { comit: "ask" } }, 'defaults: unknown key "comit"'],
    [{ version: 1, rule: [] }, '(top level): unknown key "rule"'],
    [{ version: 1, rules: [{ match: { tier: "expand" }, action: "ask", when: "always" }] }, 'rules[0]: unknown key "when"'],
    [{ version: 1, rules: [{ match: {}, action: "deny" }] }, "rules[0].match: needs at least one of tier, rule, command"],
    [{ version: 1, rules: [{ match: { rule: "Git Push" }, action: "deny" }] }, 'rules[0].match.rule: must be a rule id like "git.push"'],
    [{ version: 2 }, "version: expected 1, got 2"],
    [{}, "version: expected 1, got nothing"],
    [{ version: 1, timeoutSeconds: 1 }, "timeoutSeconds: must be at least 10"],
    [{ version: 1, timeoutAction: "allow" }, 'timeoutAction: expected "deny" | "cancel", got "allow"'],
    [{ version: 1, defaults: { commit: 3 } }, 'defaults.commit: expected "allow" | "ask" | "host-only" | "deny", got 3'],
  ])("rejects %j", (file, message) => {
    const err = errorOf(JSON.stringify(file));
    expect(err.message).toContain("/x/policy.json: invalid policy: ");
    expect(err.message).toContain(message);
  });
  it("reports every issue and bad JSON", () => {
    expect(errorOf(JSON.stringify({ version: 1, rules: [{ match: { tier: "x" }, action: "y" }] })).issues).toHaveLength(2);
    expect(errorOf("{ version: 1 }").message).toMatch(/^\/x\/policy\.json: not valid JSON/);
  });
});

describe("loadPolicy", () => {
  it("built-in defaults: commit is host-only, everything else asks", async () => {
    const p = await loadPolicy();
    expect(p.defaults).toEqual({ steer: "ask", continue: "ask", expand: "ask", commit: "host-only" });
    expect(p.rules).toEqual([]);
    expect([p.timeoutSeconds, p.timeoutAction]).toEqual([600, "deny"]);
    const missing = files();
    expect((await loadPolicy(missing.user, missing.repo)).defaults).toEqual(p.defaults);
  });
  it("merges user then repository; repository rules come first", async () => {
    const f = files(
      { version: 1, defaults: { continue: "allow" }, rules: [{ match: { rule: "git.read" }, action: "deny" }], timeoutSeconds: 120 },
      { version: 1, defaults: { expand: "host-only" }, rules: [{ match: { rule: "git.read" }, action: "allow" }], timeoutAction: "cancel" },
    );
    const p = await loadPolicy(f.user, f.repo);
    expect(p.defaults).toEqual({ steer: "ask", continue: "allow", expand: "host-only", commit: "host-only" });
    expect(p.rules.map((r) => r.id)).toEqual(["repo.rules[0]", "user.rules[0]"]);
    expect([p.timeoutSeconds, p.timeoutAction]).toEqual([120, "cancel"]);
    expect(decide(p, classifyCommand("git status"), "git status")).toEqual({ action: "allow", ruleFired: "repo.rules[0]" });
  });
  it("a repository cannot loosen the commit default", async () => {
    const f = files({ version: 1 }, { version: 1, defaults: { commit: "allow" } });
    const p = await loadPolicy(f.user, f.repo);
    expect(p.defaults.commit).toBe("host-only");
    expect(p.warnings[0]).toContain('repo.defaults.commit "allow" is looser than builtin.defaults.commit "host-only"');
    // Tightening is fine.
    const g = files(undefined, { version: 1, defaults: { commit: "deny" } });
    expect((await loadPolicy(g.user, g.repo)).defaults.commit).toBe("deny");
  });
  it("a repository rule cannot loosen a commit-tier request below the user's floor", async () => {
    const f = files(
      { version: 1 },
      {
        version: 1,
        rules: [
          { match: { rule: "git.push" }, action: "allow" },
          { match: { tier: "commit" }, action: "ask" },
        ],
      },
    );
    const p = await loadPolicy(f.user, f.repo);
    expect(decide(p, classifyCommand("git push"), "git push")).toEqual({
      action: "host-only",
      ruleFired: "builtin.defaults.commit",
      cappedFrom: "repo.rules[0]",
    });
    expect(decide(p, classifyCommand("wrangler deploy"), "wrangler deploy")).toEqual({
      action: "host-only",
      ruleFired: "builtin.defaults.commit",
      cappedFrom: "repo.rules[1]",
    });
  });
  it("a repository cannot loosen the expand tier either (a cloned repo must not auto-allow installs or network)", async () => {
    const f = files(
      { version: 1 },
      {
        version: 1,
        defaults: { expand: "allow", continue: "allow" },
        rules: [
          { match: { rule: "pkg.*" }, action: "allow" },
          { match: { tier: "expand" }, action: "allow" },
        ],
      },
    );
    const p = await loadPolicy(f.user, f.repo);
    expect(p.defaults).toMatchObject({ continue: "allow", expand: "ask" });
    expect(p.warnings.some((w) => w.startsWith('repo.defaults.expand "allow" is looser than builtin.defaults.expand "ask"'))).toBe(true);
    const install = classifyCommand("npm install left-pad");
    expect(install.tier).toBe("expand");
    expect(decide(p, install, "npm install left-pad")).toMatchObject({ action: "ask", ruleFired: "builtin.defaults.expand" });
    expect(decide(p, install, "npm install left-pad").cappedFrom).toMatch(/^repo\.rules\[[01]\]$/);
    // Continue-tier requests may be loosened by the repository.
    expect(decide(p, classifyCommand("ls"), "ls")).toEqual({ action: "allow", ruleFired: "repo.defaults.continue" });
    // The user can allow expand; then the repository may too.
    const g = files({ version: 1, defaults: { expand: "allow" } }, { version: 1, rules: [{ match: { tier: "expand" }, action: "allow" }] });
    expect(decide(await loadPolicy(g.user, g.repo), install, "npm install left-pad")).toEqual({ action: "allow", ruleFired: "repo.rules[0]" });
  });
  it("the user may loosen commit; the repository floor follows the user", async () => {
    const f = files({ version: 1, defaults: { commit: "ask" } }, { version: 1, rules: [{ match: { rule: "git.push" }, action: "allow" }] });
    const p = await loadPolicy(f.user, f.repo);
    expect(decide(p, classifyCommand("git push"))).toEqual({ action: "ask", ruleFired: "user.defaults.commit", cappedFrom: "repo.rules[0]" });
    const g = files({ version: 1, rules: [{ match: { rule: "git.push" }, action: "allow" }] });
    expect(decide(await loadPolicy(g.user), classifyCommand("git push"))).toEqual({ action: "allow", ruleFired: "user.rules[0]" });
  });
  it("invalid files name the file", async () => {
    const f = files({ version: 1, defaults: { commit: "sometimes" } });
    await expect(loadPolicy(f.user)).rejects.toThrow(`${f.user}: invalid policy: defaults.commit: expected`);
  });
});

describe("decide", () => {
  const policy = (rules: unknown[]) => {
    const f = files({ version: 1, rules });
    return loadPolicy(f.user);
  };
  it("falls back to the tier default", () => {
    const p = builtinPolicy();
    expect(decide(p, classifyCommand("ls"))).toEqual({ action: "ask", ruleFired: "builtin.defaults.continue" });
    expect(decide(p, classifyCommand("npm install"))).toEqual({ action: "ask", ruleFired: "builtin.defaults.expand" });
    expect(decide(p, classifyCommand("git push"))).toEqual({ action: "host-only", ruleFired: "builtin.defaults.commit" });
    expect(decide(p, { tier: "steer", rule: "permission.question" })).toEqual({ action: "ask", ruleFired: "builtin.defaults.steer" });
  });
  it("first matching rule wins; all match fields must match", async () => {
    const p = await policy([
      { match: { tier: "continue", command: "^npm test$" }, action: "allow" },
      { match: { rule: "read.*" }, action: "allow" },
      { match: { rule: "deploy.*" }, action: "deny" },
      { match: { tier: "continue" }, action: "host-only" },
    ]);
    expect(decide(p, classifyCommand("npm test"), "npm test")).toEqual({ action: "allow", ruleFired: "user.rules[0]" });
    expect(decide(p, classifyCommand("npm test -- -u"), "npm test -- -u")).toEqual({ action: "host-only", ruleFired: "user.rules[3]" });
    expect(decide(p, classifyCommand("cat a"), "cat a")).toEqual({ action: "allow", ruleFired: "user.rules[1]" });
    expect(decide(p, classifyCommand("kubectl apply -f x"), "kubectl apply -f x")).toEqual({ action: "deny", ruleFired: "user.rules[2]" });
    expect(decide(p, classifyCommand("git push"), "git push")).toEqual({ action: "host-only", ruleFired: "builtin.defaults.commit" });
  });
  it("matches commands given as argv", async () => {
    const p = await policy([{ match: { command: "^git status" }, action: "allow" }]);
    expect(decide(p, classifyCommand(["git", "status"]), ["git", "status"]).action).toBe("allow");
  });
});
