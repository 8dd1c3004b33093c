// The command a printed hint tells the user to run must work when pasted where
// it was printed: `airlock-client` when it is on the user's PATH, else
// `npx airlock-client` (a checkout, or npx installs it), with --home when the
// state folder is not the default. (The host CLI follows the same rule in
// host-agent/src/hint.ts; the packages do not import each other.)
import { accessSync, constants } from "node:fs";
import { delimiter, isAbsolute, join, relative, resolve } from "node:path";

const quote = (word: string) => (/^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/** Whether `name` runs from the user's own PATH (npx and npm scripts add node_modules/.bin only for what they run). */
function onUserPath(name: string, env: NodeJS.ProcessEnv): boolean {
  if (env.npm_command === "exec" || env.npm_lifecycle_event) return false;
  return (env.PATH ?? "").split(delimiter).some((dir) => {
    if (!dir || /node_modules[\\/]\.bin$/.test(dir)) return false;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** "airlock-client" or "npx airlock-client", plus " --home DIR" when `home` is not `defaultHome` (DIR relative to cwd when inside it). */
export function clientCommand(home: string, defaultHome: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const base = onUserPath("airlock-client", env) ? "airlock-client" : "npx airlock-client";
  if (resolve(home) === resolve(defaultHome)) return base;
  const rel = relative(cwd, resolve(home));
  return `${base} --home ${quote(rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : resolve(home))}`;
}
