// The command a printed hint tells the user to run must work when pasted where
// it was printed: the same state folder (--home when it is not the default)
// and a way to reach the CLI (`airlock` when it is on PATH, else `npx airlock`,
// which finds it in a checkout or installs it).
import { accessSync, constants } from "node:fs";
import { delimiter, isAbsolute, join, relative, resolve } from "node:path";
import { airlockHome } from "./paths.ts";

/** POSIX-shell quoting for a path shown in a hint. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** On the user's own PATH: npm and npx put node_modules/.bin folders there only for the command they run. */
function onPath(name: string, env: NodeJS.ProcessEnv): boolean {
  if (env.npm_command === "exec" || env.npm_lifecycle_event) return false; // started by npx / an npm script
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir || /node_modules[\\/]\.bin$/.test(dir)) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** "airlock", "npx airlock", with " --home DIR" when `home` is not the default; DIR relative to cwd when inside it. */
export function airlockCommand(home: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const base = onPath("airlock", env) ? "airlock" : "npx airlock";
  if (resolve(home) === resolve(airlockHome(env))) return base;
  const rel = relative(cwd, resolve(home));
  const shown = rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : resolve(home);
  return `${base} --home ${shellQuote(shown)}`;
}
