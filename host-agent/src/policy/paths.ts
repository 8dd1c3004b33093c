// Where a path word points, relative to the workspace: inside it, the
// workspace itself, a scratch folder, a root or home directory, outside, or
// unknowable (`$VAR/x`, after `cd -`). Writes are judged by that and by a few
// path families that matter more than their place: the Airlock policy file
// (an agent must not loosen its own leash), files that run code at login or
// in git (persistence), and system directories.
import { posix } from "node:path";
import { max, mk, type Classification, type ClassifyContext } from "./classification.ts";
import type { Word } from "./shell-parse.ts";

/** Stands in for the workspace when the agent's cwd is not known. */
const VIRTUAL_WORKSPACE = "/__airlock_workspace__";

/** Where relative paths resolve from. */
export interface Where {
  /** Workspace root. */
  root: string;
  /** Current directory; null when a `cd` went somewhere we cannot know. */
  cwd: string | null;
}

/** The workspace of a classification request, starting in its root. */
export function workspaceOf(context: ClassifyContext): Where {
  const root = context.cwd !== undefined && context.cwd.startsWith("/") ? posix.normalize(context.cwd).replace(/(.)\/$/, "$1") : VIRTUAL_WORKSPACE;
  return { root, cwd: root };
}

/** Airlock's own policy file. */
export const POLICY_PATH = /(^|\/)\.?airlock\/policy\.json$/;
/** Writing the policy file: an agent must not loosen its own leash. */
export const writesPolicy = (path: string): Classification => mk("commit", "policy.self-edit", `writes the Airlock policy file ${path}`, { writes: true });

/** Files that run code at login, in git or on a schedule. */
export const PERSISTENCE_PATH =
  /(^|\/)(\.bashrc|\.bash_profile|\.bash_login|\.profile|\.zshrc|\.zshenv|\.zprofile|\.zlogin|\.gitconfig|config\.fish|\.git\/hooks\/?.*|\.git\/config|LaunchAgents\/.*|LaunchDaemons\/.*|\.config\/autostart\/.*|crontab)$/;
const SYSTEM_PATH = /^\/(etc|usr|bin|sbin|boot|lib|lib64|opt|System|Library|Applications|private\/etc|dev|proc|sys)(\/|$)|^\/var(\/(?!folders|tmp)|$)/;
/** Temporary folders: outside the workspace but nobody's data. */
const SCRATCH_PATH = /^\/(tmp|var\/tmp|private\/tmp|var\/folders)\/[^/]/;

/** Stands in for the unknowable part of a path such as `src/$NAME`. */
const DYNAMIC = "__dynamic__";

/** Resolve a path word against the current directory; null when unknowable. */
export function resolvePath(w: Word, st: Where): string | null {
  let t = w.text;
  if (/^~(\/|$)/.test(t) || /^(\$HOME|\$\{HOME\})(\/|$)/.test(t)) return "~" + t.replace(/^(~|\$HOME|\$\{HOME\})/, "");
  if (/^~[A-Za-z_]/.test(t)) return "~";
  if (w.dynamic) {
    // `$VAR/x`: unknown. A variable later in the path keeps the prefix.
    const k = t.search(/\$|`/);
    if (k <= 0) return null;
    t = t.slice(0, k) + DYNAMIC;
  }
  if (t.startsWith("/")) return posix.normalize(t);
  if (st.cwd === null) return null;
  return posix.normalize(posix.join(st.cwd, t));
}

/** The directory a path word names, when it is fully known (a `cd` target). */
export function resolveDir(w: Word, st: Where): string | null {
  const p = resolvePath(w, st);
  return p !== null && !p.includes(DYNAMIC) ? p : null;
}

export type PathClass = "inside" | "workspace" | "scratch" | "outside" | "unknown" | "root";
export function pathClass(w: Word, st: Where): PathClass {
  const p = resolvePath(w, st);
  if (p === null) return "unknown";
  if (p === "/" || p === "~" || p === "~/" || /^\/\*?$|^~\/?\*$/.test(p)) return "root";
  if (p === st.root) return "workspace";
  if (p.startsWith(st.root + "/")) return "inside";
  if (posix.dirname(st.root) === p) return "outside";
  if (SCRATCH_PATH.test(p)) return "scratch";
  return "outside";
}

/** Device files that are not a write to anything (`> /dev/null`, `> /dev/stderr`). */
export const NO_TARGET = /^\/dev\/(null|stdout|stderr|tty|fd\/\d+)$/;

/**
 * Raise `base` for each target that is the policy file, a persistence or
 * system path, or (`rmLike`: deleting) the workspace, a root, somewhere
 * outside, or, recursively, somewhere unknowable.
 */
export function writeTargets(base: Classification, targets: Word[], st: Where, rmLike = false, recursive = false): Classification {
  let c = base;
  for (const t of targets) {
    if (NO_TARGET.test(t.text)) continue;
    const pc = pathClass(t, st);
    const p = resolvePath(t, st) ?? t.text;
    if (POLICY_PATH.test(p) || POLICY_PATH.test(t.text)) c = max(c, writesPolicy(t.text));
    else if (PERSISTENCE_PATH.test(p))
      c = max(c, mk("commit", "system.persistence", `writes ${t.text}, which runs code at login, in git, or on a schedule`, { writes: true }));
    else if (SYSTEM_PATH.test(p)) c = max(c, mk("commit", "fs.system-write", `writes the system path ${t.text}`, { writes: true }));
    else if (rmLike && (pc === "root" || pc === "outside" || pc === "workspace" || (recursive && pc === "unknown"))) {
      const where =
        pc === "root"
          ? "a root or home directory"
          : pc === "unknown"
            ? "a path we cannot resolve"
            : pc === "workspace"
              ? "the whole workspace"
              : "outside the workspace";
      c = max(c, mk("commit", "fs.rm-outside", `deletes ${t.text}, ${where}`, { writes: true }));
    } else if (!rmLike && pc === "root" && recursive) c = max(c, mk("commit", "fs.system-write", `changes ${t.text} recursively`, { writes: true }));
  }
  return c;
}
