// Issue 14: every command a hint prints must work when pasted where it was
// printed. airlockCommand() picks `airlock` or `npx airlock` and adds --home
// when the state folder is not the default; the last case runs a printed hint.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { airlockCommand, shellQuote } from "../../host-agent/src/hint.ts";
import { BIN } from "./app-client.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "airlock-hints-"));
  dirs.push(d);
  return d;
};

describe("hints", () => {
  it("uses airlock when it is on PATH, npx airlock otherwise, and --home only when not the default", () => {
    const bin = temp();
    writeFileSync(join(bin, "airlock"), "#!/bin/sh\n");
    chmodSync(join(bin, "airlock"), 0o755);
    const env = { PATH: bin, XDG_CONFIG_HOME: "/cfg" };
    expect(airlockCommand("/cfg/airlock", env)).toBe("airlock");
    expect(airlockCommand("/cfg/airlock", { ...env, PATH: "/nonexistent" })).toBe("npx airlock");
    // Inside `npx airlock …` or an npm script, PATH has node_modules/.bin only for that command.
    expect(airlockCommand("/cfg/airlock", { ...env, npm_command: "exec" })).toBe("npx airlock");
    expect(airlockCommand("/cfg/airlock", { ...env, PATH: `/repo/node_modules/.bin${":"}${bin}`.replace(bin, "/nonexistent") })).toBe("npx airlock");
    expect(airlockCommand("/work/repo/.dev/host", env, "/work/repo")).toBe("airlock --home .dev/host");
    expect(airlockCommand("/elsewhere/h", env, "/work/repo")).toBe("airlock --home /elsewhere/h");
    expect(airlockCommand("/work/my home", { ...env, AIRLOCK_HOME: "/x" }, "/")).toBe("airlock --home 'work/my home'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it("a printed hint runs as printed, from where it was printed", () => {
    // Inside the checkout (gitignored .dev/), as npm start's host home is; removed afterwards.
    const dev = join(ROOT, ".dev");
    const home = join(dev, `hints-test-${process.pid}`);
    if (!existsSync(dev)) dirs.push(dev);
    mkdirSync(home, { recursive: true });
    dirs.push(home);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: (process.env.PATH ?? "")
        .split(":")
        .filter((p) => !p.includes("node_modules"))
        .join(":"),
    };
    delete env.npm_command;
    delete env.npm_lifecycle_event;
    const first = execFileSync(process.execPath, [BIN, "--home", home, "devices"], { cwd: ROOT, env, encoding: "utf8" });
    const hint = /Pair one with: (.+) pair$/m.exec(first)?.[1];
    expect(hint).toBe(`npx airlock --home .dev/hints-test-${process.pid}`);
    // The same command with another subcommand reaches the same CLI and the same state folder.
    const again = execFileSync("/bin/sh", ["-c", `${hint} devices`], { cwd: ROOT, env, encoding: "utf8" });
    expect(again).toBe(first);
  }, 60_000);
});
