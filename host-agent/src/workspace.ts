// The host's workspace: where a thread may work, and which policy files apply
// to a working directory.
//
// - resolveThreadCwd(): a device picks a thread's cwd; it must be an existing
//   folder that is the workspace or inside it AFTER resolving symbolic links
//   (a link in the workspace pointing at /etc is refused), and `..` cannot
//   leave it. The answer is the real path.
// - policyChain() / loadWorkspacePolicy(): the policy for a cwd comes from
//   the workspace ROOT down to the cwd, never from the cwd alone: the root's
//   `.airlock/policy.json` is "the repository file" (policy-file.ts), and each
//   folder's file below it, down to the cwd, is a layer that can only tighten
//   (a thread started in `sub/` keeps the root's rules). A cwd outside the
//   workspace, or one that cannot be resolved, gets the root's policy and no
//   sub-folder layers: files outside the workspace never count.
import { realpath, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { loadPolicy, PolicyError, type Policy, type SubFolderPolicyFile } from "./policy/policy-file.ts";
import { HostError } from "./host-error.ts";

/** A refused thread cwd. The message names only the requested string, never a resolved path. */
export class WorkspaceError extends HostError<"CWD_INVALID"> {
  override readonly message: string;
  constructor(message: string) {
    super("CWD_INVALID", message);
    this.message = message;
    this.name = "WorkspaceError";
  }
}

/** `p` is `root` or inside it (both absolute and normalised). */
function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The requested string as shown in an error: quoted, escaped, bounded. */
function shown(requested: string): string {
  return printable(requested.length > 200 ? `${requested.slice(0, 200)}…` : requested, true);
}

/** JSON-style escaping of control, bidi and other non-ASCII characters (they reach terminals and the audit log). */
function printable(s: string, quoted = false): string {
  const out = JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return quoted ? out : out.slice(1, -1);
}

/**
 * The real path of a thread's working directory. `requested` is relative to
 * the workspace (or absolute); undefined or "" means the workspace itself.
 * Throws WorkspaceError (code CWD_INVALID) unless the result, after resolving
 * symbolic links, is an existing directory that is the workspace or inside it.
 */
export async function resolveThreadCwd(workspace: string, requested: string | undefined): Promise<string> {
  const base = resolve(workspace);
  let root: string;
  try {
    root = await realpath(base);
  } catch {
    throw new WorkspaceError("the host's workspace folder is not available");
  }
  const req = requested ?? "";
  if (req.includes("\0")) throw new WorkspaceError(`cwd ${shown(req)} is not a valid path`);
  // Lexical check first, so a path outside the workspace gets the same answer whether it exists or not.
  const target = resolve(base, req);
  if (!isInside(base, target) && !isInside(root, target)) throw new WorkspaceError(`cwd ${shown(req)} is outside the host's workspace`);
  // One answer for a missing path, a non-directory and a link leading out, so nothing is learnt about the outside.
  const refused = new WorkspaceError(`cwd ${shown(req)} is not an existing folder inside the host's workspace (symbolic links may not lead out of it)`);
  let real: string;
  try {
    real = await realpath(target);
  } catch {
    throw refused;
  }
  if (!isInside(root, real)) throw refused;
  let isDir = false;
  try {
    isDir = (await stat(real)).isDirectory();
  } catch {
    // isDir stays false
  }
  if (!isDir) throw refused;
  return real;
}

/** The deepest folders below the workspace root a policy is read from; a deeper cwd fails closed. */
export const MAX_POLICY_DEPTH = 32;

export interface PolicyChain {
  /** The workspace root's `.airlock/policy.json` (real path of the workspace). */
  repoFile: string;
  /** Each folder's `.airlock/policy.json` from just below the root down to the cwd. */
  subFolders: SubFolderPolicyFile[];
}

/** The real path of `p`, or of its deepest ancestor that resolves. */
async function realAncestor(p: string): Promise<string | undefined> {
  for (let cur = p; ;) {
    try {
      return await realpath(cur);
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return undefined;
      cur = parent;
    }
  }
}

/**
 * The policy files for a cwd, from the workspace root down. Symbolic links are
 * resolved first; a cwd that does not exist uses its deepest existing
 * ancestor; a cwd outside the workspace gets only the root's file. Throws
 * PolicyError when the cwd is more than MAX_POLICY_DEPTH folders deep.
 */
export async function policyChain(workspace: string, cwd: string): Promise<PolicyChain> {
  const base = resolve(workspace);
  const root = await realpath(base).catch(() => base);
  const repoFile = join(root, ".airlock", "policy.json");
  const real = await realAncestor(resolve(root, cwd));
  if (real === undefined || !isInside(root, real)) return { repoFile, subFolders: [] };
  const parts = relative(root, real)
    .split(sep)
    .filter((p) => p !== "");
  if (parts.length > MAX_POLICY_DEPTH) {
    throw new PolicyError(`cwd is ${parts.length} folders below the workspace root; policy is read at most ${MAX_POLICY_DEPTH} deep`, real);
  }
  const subFolders = parts.map((_, i) => {
    const dirs = parts.slice(0, i + 1);
    return { file: join(root, ...dirs, ".airlock", "policy.json"), id: `repo(${printable(dirs.join("/")).slice(0, 200)})` };
  });
  return { repoFile, subFolders };
}

/** The policy for a cwd: built-in, the user file, the workspace root's file, then each sub-folder's down to the cwd (tighten only). */
export async function loadWorkspacePolicy(userFile: string | undefined, workspace: string, cwd: string): Promise<Policy> {
  const chain = await policyChain(workspace, cwd);
  return loadPolicy(userFile, chain.repoFile, chain.subFolders);
}
