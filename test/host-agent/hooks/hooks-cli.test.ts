// `airlock hooks` (list, trust, untrust) through the CLI's main(), on a temp
// home and workspace.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../../host-agent/src/cli.ts";
import { tempDir } from "./harness.ts";

function setup() {
  const dir = tempDir();
  const home = join(dir, "home");
  const ws = join(dir, "ws");
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(ws);
  writeFileSync(join(ws, "scan.mjs"), "process.stdout.write('{}')\n");
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(["--home", home, "hooks", ...args, "--workspace", ws], { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out: out.join("\n"), err: err.join("\n") };
  };
  const policy = (p: unknown) => writeFileSync(join(home, "policy.json"), JSON.stringify(p));
  return { home, ws, run, policy };
}

describe("airlock hooks", () => {
  it("--help describes the command", async () => {
    const out: string[] = [];
    expect(await main(["hooks", "--help"], { out: (s) => out.push(s) })).toBe(0);
    expect(out.join("\n")).toContain("airlock hooks trust NAME");
  });

  it("lists, trusts and untrusts for people and as JSON", async () => {
    const s = setup();
    expect((await s.run()).out).toContain("No hooks in");
    s.policy({ version: 1, hooks: { list: [{ name: "scan", events: ["UserPromptSubmit", "PreToolUse"], command: ["node", "scan.mjs"] }] } });
    const listed = await s.run("list");
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(
      /^scan {2}\[untrusted\] {2}user {2}UserPromptSubmit, PreToolUse\n {2}"node" "scan.mjs"\n {2}hash [0-9a-f]{64} {2}timeout 30 s {2}from /,
    );
    const trusted = await s.run("trust", "scan");
    expect(trusted.out).toMatch(/^trusted scan \([0-9a-f]{12}\)$/);
    const json = JSON.parse((await s.run("list", "--json")).out);
    expect(json.hooks[0]).toMatchObject({ name: "scan", state: "trusted", events: ["UserPromptSubmit", "PreToolUse"] });
    const hash: string = json.hooks[0].hash;

    // The hook goes away; its trusted hash can still be removed by prefix.
    s.policy({ version: 1 });
    expect((await s.run("untrust", "scan")).err).toContain('no hook named "scan"');
    const byHash = await s.run("untrust", hash.slice(0, 10), "--json");
    expect(byHash.code).toBe(0);
    expect(JSON.parse(byHash.out)).toEqual({ untrusted: [hash], removed: 1 });
  });

  it("errors: unknown hook or subcommand, invalid policy, damaged trust file", async () => {
    const s = setup();
    s.policy({ version: 1, hooks: { list: [{ name: "scan", events: ["Stop"], command: ["node", "scan.mjs"] }] } });
    expect(await s.run("trust", "nope")).toMatchObject({ code: 1, err: expect.stringContaining('no hook named "nope"') });
    expect(await s.run("trust")).toMatchObject({ code: 2 });
    expect(await s.run("frobnicate")).toMatchObject({ code: 2, err: expect.stringContaining('unknown hooks command "frobnicate"') });
    writeFileSync(join(s.home, "hooks-trust.json"), "{ not json");
    expect(await s.run("list")).toMatchObject({
      code: 1,
      err: expect.stringContaining("hooks-trust.json: not valid JSON (no hook runs until it is fixed or removed)"),
    });
    s.policy({ version: 1, hooks: { list: [{ name: "scan", events: ["Stop"], command: "node scan.mjs" }] } });
    expect(await s.run("list")).toMatchObject({ code: 1, err: expect.stringContaining("hooks.list[0].command: expected array") });
  });
});
