// git and GitHub (gh). Reading history is "continue"; changing the working
// tree, branches or config is "expand"; what publishes or cannot be undone
// is COMMIT: push, merge, rebase and other history rewrites, `reset --hard`
// and `clean -f` (they discard work), releases, repository settings,
// secrets and workflows on GitHub, and git options that run commands
// (`-c core.sshCommand=…`, hooks paths, aliases) since they run code.
import { atLeast, mk, type Classification } from "../classification.ts";
import type { Word } from "../shell-parse.ts";
import { has, hasShort, positionals, texts } from "../words.ts";
import type { Rule } from "./rule.ts";

export const gitRule: Rule = (name, args) => (name === "git" ? classifyGit(args) : name === "gh" ? classifyGh(args) : null);

const GIT_READ = new Set([
  "status",
  "diff",
  "log",
  "show",
  "blame",
  "rev-parse",
  "ls-files",
  "ls-tree",
  "shortlog",
  "describe",
  "reflog",
  "grep",
  "cat-file",
  "whatchanged",
  "name-rev",
  "merge-base",
  "rev-list",
  "show-ref",
  "for-each-ref",
  "check-ignore",
  "check-attr",
  "count-objects",
  "var",
  "help",
  "version",
  "difftool",
  "range-diff",
  "show-branch",
  "cherry",
  "verify-commit",
  "verify-tag",
  "fsck",
  "request-pull",
]);
const GIT_WRITE = new Set([
  "add",
  "commit",
  "checkout",
  "switch",
  "restore",
  "mv",
  "rm",
  "cherry-pick",
  "revert",
  "init",
  "am",
  "apply",
  "notes",
  "worktree",
  "sparse-checkout",
  "bisect",
  "mergetool",
  "format-patch",
  "stage",
  "gc",
  "prune",
  "repack",
  "maintenance",
  "commit-tree",
  "update-index",
  "write-tree",
  "read-tree",
  "symbolic-ref",
  "archive",
  "bundle",
]);
const GIT_EXEC_CONFIG =
  /^(alias\.|core\.(pager|sshcommand|editor|fsmonitor|hookspath|askpass)|diff\.external|credential\.|.*\.hookspath|sequence\.editor|uploadpack\.|protocol\.|.*\.(textconv|command|driver|process|clean|smudge))/i;

function classifyGit(args: Word[]): Classification {
  let i = 0;
  let execConfig: string | null = null;
  while (i < args.length) {
    const t = (args[i] as Word).text;
    if (t === "-C" || t === "--git-dir" || t === "--work-tree" || t === "--namespace" || t === "--exec-path" || t === "--config-env") i += 2;
    else if (t === "-c") {
      const kv = args[i + 1]?.text ?? "";
      if (GIT_EXEC_CONFIG.test(kv)) execConfig = kv;
      i += 2;
    } else if (t.startsWith("-")) {
      if (t.startsWith("--config-env=") || t.startsWith("--exec-path=")) execConfig = t;
      i++;
    } else break;
  }
  const subW = args[i];
  const rest = args.slice(i + 1);
  const r = texts(rest);
  let c: Classification;
  if (subW === undefined) c = mk("continue", "git.read", "git prints its help");
  else if (subW.dynamic) c = mk("expand", "git.dynamic", `git ${subW.text}: subcommand only known at run time`, { externalTools: true });
  else {
    const sub = subW.text;
    const pos = positionals(rest);
    switch (sub) {
      case "push":
        c = mk(
          "commit",
          "git.push",
          `git push${r.includes("--force") || r.includes("-f") || r.some((t) => t.startsWith("--force") || t.startsWith("+")) ? " --force" : ""} publishes commits`,
          { network: true, credentials: true },
        );
        break;
      case "merge":
        c = has(rest, "--abort", "--quit")
          ? mk("expand", "git.write", "aborts a merge", { writes: true })
          : mk("commit", "git.merge", "merges branches", { writes: true });
        break;
      case "rebase":
        c = has(rest, "--abort", "--quit")
          ? mk("expand", "git.write", "aborts a rebase", { writes: true })
          : mk("commit", "git.rebase", "rewrites history with rebase", { writes: true });
        break;
      case "filter-branch":
      case "filter-repo":
      case "replace":
        c = mk("commit", "git.history-rewrite", `git ${sub} rewrites history`, { writes: true });
        break;
      case "reset":
        c = has(rest, "--hard", "--merge", "--keep")
          ? mk("commit", "git.discard", "git reset --hard discards uncommitted work", { writes: true })
          : mk("expand", "git.write", "moves HEAD or unstages", { writes: true });
        break;
      case "clean":
        c =
          (hasShort(rest, "f") || has(rest, "--force")) && !(hasShort(rest, "n") || has(rest, "--dry-run"))
            ? mk("commit", "git.discard", "git clean deletes untracked files for good", { writes: true })
            : mk("continue", "git.read", "git clean dry run");
        break;
      case "branch":
        c =
          rest.some(
            (w) =>
              /^-[A-Za-z]*[dDmMcCf]/.test(w.text) ||
              ["--delete", "--move", "--copy", "--force", "--set-upstream-to", "-u", "--unset-upstream", "--edit-description"].includes(w.text),
          ) ||
          (pos.length > 0 && !has(rest, "--list", "-l", "--contains", "--merged", "--no-merged", "--points-at"))
            ? mk("expand", "git.write", "creates, renames or deletes a branch", { writes: true })
            : mk("continue", "git.read", "lists branches");
        break;
      case "tag":
        c =
          pos.length === 0 || has(rest, "-l", "--list", "-n", "--contains", "--points-at", "-v", "--verify")
            ? mk("continue", "git.read", "lists tags")
            : mk("expand", "git.write", "creates or deletes a tag", { writes: true });
        break;
      case "stash":
        c =
          pos[0]?.text === "list" || pos[0]?.text === "show"
            ? mk("continue", "git.read", "lists stashes")
            : mk("expand", "git.write", "changes the stash and the working tree", { writes: true });
        break;
      case "remote":
        if (pos.length === 0 || pos[0]?.text === "get-url") c = mk("continue", "git.read", "lists remotes");
        else if (pos[0]?.text === "show" || pos[0]?.text === "update" || pos[0]?.text === "prune")
          c = mk("expand", "git.fetch", "contacts a remote", { network: true, credentials: true });
        else c = mk("expand", "git.config", "changes remotes", { writes: true });
        break;
      case "config":
        c =
          has(rest, "--get", "--get-all", "--get-regexp", "--list", "-l", "--show-origin", "get", "list") ||
          (pos.length === 1 && !has(rest, "--unset", "--unset-all", "--add", "--replace-all", "--edit", "-e"))
            ? mk("continue", "git.read", "reads configuration")
            : mk("expand", "git.config", "changes git configuration", { writes: true });
        if (pos.some((w) => GIT_EXEC_CONFIG.test(w.text)) && c.rule === "git.config")
          c = mk("commit", "system.persistence", "sets a git option that runs commands", { writes: true });
        break;
      case "fetch":
      case "ls-remote":
        c = mk("expand", "git.fetch", `git ${sub} contacts a remote`, { network: true, credentials: true });
        break;
      case "pull":
        c = mk("expand", "git.pull", "fetches and integrates remote commits", { network: true, credentials: true, writes: true });
        break;
      case "clone":
        c = mk("expand", "git.clone", "clones a repository", { network: true, credentials: true, writes: true });
        break;
      case "submodule":
      case "lfs":
        c = mk("expand", `git.${sub}`, `git ${sub} may fetch and write`, { network: true, credentials: true, writes: true });
        break;
      case "send-email":
      case "p4":
      case "svn":
        c = mk("commit", "git.push", `git ${sub} sends commits elsewhere`, { network: true, credentials: true });
        break;
      case "credential":
      case "credential-cache":
      case "credential-store":
        c = mk("commit", "secrets.git-credential", "reads or stores git credentials", { credentials: true });
        break;
      default:
        if (GIT_READ.has(sub)) c = mk("continue", "git.read", `git ${sub} only reads`);
        else if (GIT_WRITE.has(sub)) c = mk("expand", "git.write", `git ${sub} changes the repository or working tree`, { writes: true });
        else c = mk("expand", "git.other", `git ${sub} is not a subcommand Airlock knows (maybe an alias)`, { externalTools: true });
        if (sub === "diff" && has(rest, "--output")) c = mk("expand", "git.write", "git diff --output writes a file", { writes: true });
    }
  }
  if (execConfig !== null) c = atLeast(c, "expand", "git.config-exec", `git -c ${execConfig} can run arbitrary commands`, { externalTools: true });
  return c;
}

function classifyGh(args: Word[]): Classification {
  const pos = texts(positionals(args));
  const [g, v] = pos;
  const net = { network: true, credentials: true };
  if (g === "auth" && (v === "token" || args.some((w) => w.text === "--show-token" || w.text === "-t")))
    return mk("commit", "secrets.gh-token", "prints the GitHub token", { credentials: true });
  if (g === "auth" && (v === "login" || v === "refresh" || v === "logout" || v === "setup-git"))
    return mk("commit", "secrets.gh-auth", "changes GitHub credentials", net);
  if (g === "release" && v !== "list" && v !== "view" && v !== "download")
    return mk("commit", "deploy.gh-release", `gh release ${v ?? ""} publishes a release`, net);
  if (g === "pr" && v === "merge") return mk("commit", "git.merge", "merges a pull request", net);
  if (
    (g === "repo" && ["create", "delete", "archive", "rename", "edit", "sync", "unarchive"].includes(v ?? "")) ||
    ((g === "secret" || g === "variable") && v !== "list") ||
    (g === "workflow" && v !== "list" && v !== "view") ||
    (g === "run" && (v === "rerun" || v === "cancel" || v === "delete")) ||
    (g === "ruleset" && v !== "list" && v !== "view")
  ) {
    return mk("commit", "gh.admin", `gh ${g} ${v ?? ""} changes the repository's settings, secrets or automation`, net);
  }
  if (g === "api") {
    const method = args.findIndex((w) => w.text === "-X" || w.text === "--method");
    const m = method >= 0 ? args[method + 1]?.text.toUpperCase() : args.some((w) => /^(-f|-F|--field|--raw-field|--input)$/.test(w.text)) ? "POST" : "GET";
    if (m !== "GET") return mk("commit", "gh.admin", `gh api ${m} changes GitHub state`, net);
  }
  return mk("expand", "gh.network", `gh ${g ?? ""} ${v ?? ""} talks to GitHub`.trim(), { ...net, externalTools: true });
}
