// A hook's content hash: what the user trusts. It covers the hook's definition
// (name, events, argv, timeout, where it was declared) and the bytes of the
// program or script it runs (and of its hashFiles), so editing the script, or
// pointing the hook at another one, makes a new hash that is not trusted until
// the user says so again.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import type { ConfiguredHook } from "./config.ts";

/**
 * The files a hook's hash covers: its program when argv[0] is a path, else the
 * script an interpreter runs when argv[1] is a path ("node", "x.mjs"), plus the
 * hook's `hashFiles`. Other arguments are data (a log file that changes at
 * every run must not untrust the hook).
 */
export function hashedFiles(hook: { command: readonly string[]; hashFiles?: readonly string[] }): string[] {
  const [program, first] = hook.command;
  const isPath = (a: string | undefined): a is string => a !== undefined && a.includes("/") && !a.startsWith("-");
  const main = isPath(program) ? [program] : isPath(first) ? [first] : [];
  return [...main, ...(hook.hashFiles ?? [])];
}

/** Where a file argument points: relative ones resolve against the workspace root, where the hook runs. */
export function resolveArg(arg: string, workspaceRoot: string): string {
  return isAbsolute(arg) ? arg : resolve(workspaceRoot, arg);
}

async function fileDigest(path: string): Promise<string> {
  let st;
  try {
    st = await stat(path);
  } catch {
    return "missing";
  }
  // A FIFO or a device is never read (it could block or never end).
  if (!st.isFile()) return st.isDirectory() ? "directory" : "not-a-file";
  const h = createHash("sha256");
  await new Promise<void>((done, fail) => {
    createReadStream(path)
      .on("data", (chunk) => h.update(chunk))
      .on("end", () => done())
      .on("error", fail);
  }).catch(() => h.update("\u0000unreadable"));
  return h.digest("hex");
}

/** sha256 (hex) of the hook's definition and the files it names. */
export async function hookHash(
  hook: Pick<ConfiguredHook, "name" | "events" | "command" | "timeoutSeconds" | "source" | "hashFiles">,
  workspaceRoot: string,
): Promise<string> {
  const files: Array<[string, string]> = [];
  for (const arg of hashedFiles(hook)) files.push([arg, await fileDigest(resolveArg(arg, workspaceRoot))]);
  const definition = {
    v: 1,
    name: hook.name,
    source: hook.source,
    events: [...hook.events].sort(),
    command: hook.command,
    timeoutSeconds: hook.timeoutSeconds,
    files,
  };
  return createHash("sha256").update(JSON.stringify(definition)).digest("hex");
}
