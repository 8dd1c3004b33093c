// The demo agent's workspace is a sandbox: its commands run for real, so they
// must never reach anything outside it. By default the workspace sits inside
// the host's state folder, which may itself sit inside a git checkout (npm
// start keeps it under .dev/ in the Airlock checkout): a plain `git push` would
// find and push the enclosing repository, and `npm install` would pick the
// enclosing package.json as its project.
//
// So the workspace is made its own git repository whose `origin` is a local
// bare repository inside the workspace (.airlock-demo/origin.git, excluded from
// the repository), it has its own package.json, and every command runs with
// git stopped at the workspace (GIT_CEILING_DIRECTORIES) and npm's prefix,
// cache and user config inside it.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { appendFile, mkdir, realpath, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** Where the sandbox keeps its own files (the bare origin, npm's cache and config). */
export const SANDBOX_DIR = ".airlock-demo";

export interface DemoSandbox {
  /** The environment every demo command runs with. */
  env: NodeJS.ProcessEnv;
  /** Whether `git push origin main` reaches the sandbox's own bare origin (false: skip the push step). */
  ownOrigin: boolean;
  /** Why the push step is skipped, when it is. */
  pushSkipped?: string;
}

function git(cwd: string, env: NodeJS.ProcessEnv, ...args: string[]): { ok: boolean; out: string } {
  const r = spawnSync("git", args, { cwd, env, encoding: "utf8", timeout: 15_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}`.trim() };
}

/**
 * Prepares `workspace` (idempotent): package.json, a git repository with a
 * local bare origin unless the folder already is a repository of its own.
 */
export async function prepareDemoSandbox(workspace: string): Promise<DemoSandbox> {
  const ws = await realpath(workspace);
  const own = join(ws, SANDBOX_DIR);
  await mkdir(own, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NO_COLOR: "1",
    // git never looks for a repository above the workspace.
    GIT_CEILING_DIRECTORIES: dirname(ws),
    GIT_TERMINAL_PROMPT: "0",
    // npm's project, global prefix, cache and user config all live in the workspace.
    npm_config_prefix: ws,
    npm_config_cache: join(own, "npm-cache"),
    npm_config_userconfig: join(own, "npmrc"),
    npm_config_update_notifier: "false",
    npm_config_fund: "false",
    npm_config_audit: "false",
  };
  await writeFile(
    join(ws, "package.json"),
    JSON.stringify({ name: "airlock-demo-workspace", private: true, description: "The Airlock demo agent's scratch workspace." }, null, 2) + "\n",
    { flag: "wx" },
  ).catch(() => undefined);
  await writeFile(join(own, "npmrc"), "", { flag: "wx" }).catch(() => undefined);

  if (git(ws, env, "--version").ok === false) return { env, ownOrigin: false, pushSkipped: "git is not installed" };
  const origin = join(own, "origin.git");
  if (!existsSync(join(ws, ".git"))) {
    const steps: string[][] = [
      ["init", "-q", "-b", "main"],
      ["config", "user.name", "Airlock demo"],
      ["config", "user.email", "demo@airlock.invalid"],
      ["init", "-q", "--bare", origin],
      ["remote", "add", "origin", origin],
    ];
    for (const args of steps) {
      const r = git(ws, env, ...args);
      if (!r.ok) return { env, ownOrigin: false, pushSkipped: `git ${args[0]} failed: ${r.out.slice(0, 200)}` };
    }
    await appendFile(join(ws, ".git", "info", "exclude"), `\n/${SANDBOX_DIR}/\n/node_modules/\n`);
    git(ws, env, "add", "-A");
    git(ws, env, "commit", "-q", "-m", "Airlock demo workspace");
  }
  const remote = git(ws, env, "remote", "get-url", "origin");
  const ownOrigin = remote.ok && (remote.out === origin || remote.out === `${origin}/`);
  return ownOrigin ? { env, ownOrigin } : { env, ownOrigin, pushSkipped: "the workspace is a git repository of its own; the demo does not push it" };
}
