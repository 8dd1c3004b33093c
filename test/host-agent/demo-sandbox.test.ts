// Issue 14 (first-run safety): the demo agent's commands run for real, and its
// workspace may sit inside a git checkout (npm start keeps it under .dev/ in the
// Airlock checkout). Its "push" and "install" steps must stay in the workspace:
// the enclosing repository, its remote and its files are untouched; the push
// lands in the workspace's own local origin.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { device, setup } from "./app-server-harness.ts";
import { tempDir } from "../support/temp.ts";

const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } }).trim();

/** A stand-in for the Airlock checkout: a repository with a commit, a bare remote it pushed to, and .dev/ ignored. */
function checkout(): { root: string; remote: string } {
  const base = tempDir("airlock-checkout-");
  const root = join(base, "airlock");
  const remote = join(base, "remote.git");
  mkdirSync(root);
  git(base, "init", "-q", "--bare", remote);
  git(root, "init", "-q", "-b", "main");
  git(root, "config", "user.name", "t");
  git(root, "config", "user.email", "t@example.invalid");
  writeFileSync(join(root, ".gitignore"), ".dev/\n");
  writeFileSync(join(root, "package.json"), JSON.stringify({ name: "enclosing", private: true }));
  git(root, "add", "-A");
  git(root, "commit", "-q", "-m", "init");
  git(root, "remote", "add", "origin", remote);
  git(root, "push", "-q", "origin", "main");
  // A local commit the remote does not have: a stray `git push` from the demo would publish it.
  writeFileSync(join(root, "work.txt"), "unpublished\n");
  git(root, "add", "-A");
  git(root, "commit", "-q", "-m", "local work");
  return { root, remote };
}

/** What the demo agent must not change: the enclosing repository's HEAD, its remote, its status and its files. */
function checkoutState(root: string, remote: string) {
  return {
    head: git(root, "rev-parse", "HEAD"),
    remote: git(remote, "rev-parse", "main"),
    status: git(root, "status", "--porcelain"),
    files: readdirSync(root)
      .filter((f) => f !== ".dev")
      .sort(),
  };
}

describe("demo agent sandbox", () => {
  it("push and install stay inside the workspace when it sits in a checkout", async () => {
    const { root, remote } = checkout();
    const before = checkoutState(root, remote);
    const workspace = join(root, ".dev", "host", "demo-workspace");
    // npm must fail fast here (no registry): what matters is where it would have written.
    const saved = { registry: process.env.npm_config_registry, retries: process.env.npm_config_fetch_retries };
    process.env.npm_config_registry = "http://127.0.0.1:9/";
    process.env.npm_config_fetch_retries = "0";
    try {
      const env = await setup({ workspace, commandTimeoutMs: 30_000 });
      const phone = device(env);
      await env.app.onSessionOpen(phone.conn);
      const started = await phone.command("thread.start", { prompt: "install and push the demo" });
      expect(started).toMatchObject({ type: "result" });
      const end = await phone.until((m) => m.type === "event" && m.body.kind === "turn.status" && m.body.status !== "started", 60_000);
      expect(end.type === "event" && end.body.kind === "turn.status" && end.body.status).toBe("completed");
      const commands = phone.inbox.flatMap((m) => (m.type === "event" && m.body.kind === "command.started" ? [m.body.command] : []));
      expect(commands).toEqual(expect.arrayContaining(["git push origin main", "npm install --no-audit --no-fund left-pad"]));
      const push = phone.inbox.find((m) => m.type === "event" && m.body.kind === "command.started" && m.body.command === "git push origin main");
      const pushItem = push?.type === "event" && push.body.kind === "command.started" ? push.body.itemId : undefined;
      const pushEnd = phone.inbox.find((m) => m.type === "event" && m.body.kind === "command.finished" && m.body.itemId === pushItem);
      expect(pushEnd?.type === "event" && pushEnd.body.kind === "command.finished" && pushEnd.body.exitCode).toBe(0);
      await env.close();
    } finally {
      process.env.npm_config_registry = saved.registry;
      process.env.npm_config_fetch_retries = saved.retries;
      if (saved.registry === undefined) delete process.env.npm_config_registry;
      if (saved.retries === undefined) delete process.env.npm_config_fetch_retries;
    }
    // The enclosing repository, its remote and its files: untouched.
    expect(checkoutState(root, remote)).toEqual(before);
    expect(existsSync(join(root, "node_modules"))).toBe(false);
    expect(existsSync(join(root, "package-lock.json"))).toBe(false);
    // The push went to the workspace's own origin.
    expect(git(join(workspace, ".airlock-demo", "origin.git"), "rev-parse", "main")).toBe(git(workspace, "rev-parse", "HEAD"));
  }, 90_000);
});
