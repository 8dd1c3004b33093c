// Risk classification of what a coding agent asks to do (docs/host-agent.md,
// "Approvals"). Every request gets a tier — steer, continue,
// expand, commit — and the stable id of the rule that decided it, so a policy
// (policy-file.ts) can carry routine decisions and the phone sees fewer, more
// meaningful questions.
//
// Principles
// - Conservative: anything not recognised is "expand" (rule "unknown"); a
//   compound command takes the HIGHEST tier of its parts (`&&`, `||`, `;`,
//   `|`, `&`, newlines, subshells, `$(…)`, backticks, `<(…)`).
// - Shell lines are tokenised like a POSIX shell would (quotes, backslash
//   escapes, `$'…'`, line continuations, redirections, here-docs), so
//   `git "push"` and `g\it push` are a push.
// - Wrappers are unwrapped: sudo/doas (at least expand), env (VAR=x, -u, -S),
//   nice, nohup, timeout, time, command, exec, builtin, stdbuf, xargs, watch;
//   `bash|sh|zsh -c "…"` and `eval` are classified by their inner command.
// - `curl … | sh` (network output piped into a shell or interpreter, or
//   `bash <(curl …)`, `sh -c "$(curl …)"`) is COMMIT, rule "pipe.remote-exec":
//   it runs code nobody can review at approval time with the user's rights.
// - Anything that touches secrets (ssh keys, .env files, cloud credentials,
//   keychains, secret managers, `$…_TOKEN`-style variables) is COMMIT with
//   flags.credentials = true, whatever the command.
// - The command words are what we can see: a dynamic command name (`$CMD`,
//   `$(which git) push`) is "expand"; files read by a recursive grep are not
//
// This module walks a command line (compound commands, substitutions,
// redirections, `cd`, leading assignments) and hands each simple command to
// the per-family rules in ./rules/, tried in a fixed order; the first that
// recognises the command decides. The shell tokenizer is shell-parse.ts,
// paths and secrets are paths.ts and secrets.ts, file edits and permission
// requests are file-change.ts and permission.ts.
import { highest, max, mk, type Classification, type ClassifyContext } from "./classification.ts";
import { NO_TARGET, POLICY_PATH, resolveDir, workspaceOf, writesPolicy, writeTargets } from "./paths.ts";
import { isSecretPath, isSecretVar, setsSecretVar } from "./secrets.ts";
import { literalWord, parseShell, type SimpleCommand, type Word } from "./shell-parse.ts";
import { classifyBuild } from "./rules/build.ts";
import { deployRule } from "./rules/deploy.ts";
import { fileRule, findRule } from "./rules/files.ts";
import { gitRule } from "./rules/git.ts";
import { networkRule } from "./rules/network.ts";
import { readOnlyRule } from "./rules/read-only.ts";
import type { Inner, Rule, State } from "./rules/rule.ts";
import { secretToolRule } from "./rules/secret-tools.ts";
import { SHELLS, shellRule } from "./rules/shells.ts";
import { systemRule } from "./rules/system.ts";
import { wrapperRule } from "./rules/wrappers.ts";
import { baseName, positionals, texts } from "./words.ts";

export { TIERS, type Classification, type ClassificationFlags, type ClassifyContext, type Tier } from "./classification.ts";
export { classifyFileChange, MANY_FILES } from "./file-change.ts";
export { classifyPermission } from "./permission.ts";
export { isSecretPath, isSecretVar } from "./secrets.ts";
export { parseShell, type ParsedLine, type Redirect, type SimpleCommand, type Word } from "./shell-parse.ts";

/** Shell grammar words that can start a simple command (`if git …`, `! grep …`). */
const KEYWORDS = new Set(["!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "in", "esac", "function", "select", "coproc"]);

/**
 * The rules, in the order they are tried; the first that knows the command
 * decides. The families claim disjoint command names except `bun`, which
 * shellRule takes when it runs a file (`bun x.ts`) and classifyBuild when it
 * is the package manager (`bun install`); the order is the one the single
 * function had before the split.
 */
const RULES: readonly Rule[] = [
  wrapperRule,
  shellRule,
  readOnlyRule,
  findRule,
  secretToolRule,
  gitRule,
  classifyBuild,
  networkRule,
  fileRule,
  deployRule,
  systemRule,
];

/** How rules classify a command nested in another one. */
const inner: Inner = { words: classifyWords, line: classifyLine };

const empty = (): Classification => mk("continue", "shell.empty", "empty command");

/** Classify a command line (a string for a shell, or an argv array run directly). */
export function classifyCommand(command: string | readonly string[], context: ClassifyContext = {}): Classification {
  const { root, cwd } = workspaceOf(context);
  // Built as a literal: a spread copy gives V8 another object shape and made classification ~1.5× slower.
  const st: State = { root, cwd, depth: 0, pipeIn: false };
  if (typeof command !== "string") {
    const words: Word[] = command.map(literalWord);
    if (words.length === 0) return empty();
    return classifyArgv(words, st);
  }
  return classifyLine(command, st);
}

/** A shell line: the highest verdict of its commands and substitutions, plus `curl … | sh`. */
function classifyLine(src: string, st: State): Classification {
  if (st.depth > 8) return mk("expand", "shell.too-deep", "nested too deeply to classify", { externalTools: true });
  const parsed = parseShell(src);
  const nested: State = { ...st, depth: st.depth + 1 };
  const found: Classification[] = [];
  for (const s of parsed.substitutions) found.push(classifyLine(s, nested));
  let pipelineNetwork = false;
  for (const cmd of parsed.commands) {
    if (!cmd.pipeIn) pipelineNetwork = false;
    const c = classifySimple(cmd, { ...st, pipeIn: cmd.pipeIn });
    if (c.rule === "shell.stdin" && pipelineNetwork) {
      found.push(
        mk("commit", "pipe.remote-exec", "runs code downloaded from the network (piped into a shell or interpreter)", { network: true, externalTools: true }),
      );
    }
    found.push(c);
    if (c.flags.network) pipelineNetwork = true;
    // cd changes where later relative paths point.
    updateCwd(cmd, st);
  }
  if (parsed.errors.length > 0) found.push(mk("expand", "shell.unparseable", `could not parse: ${parsed.errors.join("; ")}`, { externalTools: true }));
  return highest(found) ?? empty();
}

/** `cd` and `pushd` change where the later commands of the line resolve relative paths. */
function updateCwd(cmd: SimpleCommand, st: State): void {
  const ws = cmd.words.filter((w) => !KEYWORDS.has(w.text));
  const name = ws[0]?.text;
  if (name !== "cd" && name !== "pushd") return;
  const target = positionals(ws.slice(1))[0];
  if (target === undefined || target.text === "~") st.cwd = "~";
  else if (target.text === "-") st.cwd = null;
  else {
    st.cwd = resolveDir(target, st);
  }
}

/** A simple command with its redirections: reading a secret file, or writing where it matters. */
function classifySimple(cmd: SimpleCommand, st: State): Classification {
  let c = classifyArgv(cmd.words, st);
  for (const r of cmd.redirects) {
    if (isSecretPath(r.target.text)) c = max(c, mk("commit", "secrets.file", `redirects ${r.op} ${r.target.text}, a secret file`, { credentials: true }));
    if (r.op === "<" || r.op === "<<<") continue;
    if (NO_TARGET.test(r.target.text)) continue;
    c = max(c, writeTargets(mk("expand", "fs.redirect", `writes ${r.target.text} by redirection (${r.op})`, { writes: true }), [r.target], st));
  }
  return c;
}

/** Classify one simple command given as words: secrets anywhere on it, leading assignments, then the command. */
function classifyArgv(all: Word[], st: State): Classification {
  let ws = all;
  while (ws.length > 0 && KEYWORDS.has((ws[0] as Word).text)) ws = ws.slice(1);
  const found: Classification[] = [];
  // Secrets anywhere on the line.
  for (const w of ws) {
    if (isSecretPath(w.text)) found.push(mk("commit", "secrets.file", `touches ${w.text}, which holds secrets`, { credentials: true }));
    const v = w.vars.find(isSecretVar);
    if (v !== undefined) found.push(mk("commit", "secrets.env-var", `uses the secret variable $${v}`, { credentials: true }));
  }
  // Leading assignments.
  let k = 0;
  while (k < ws.length && /^[A-Za-z_][A-Za-z0-9_]*\+?=/.test((ws[k] as Word).text)) {
    const name = (ws[k] as Word).text.replace(/\+?=.*$/s, "");
    if (isSecretVar(name)) found.push(setsSecretVar(name));
    k++;
  }
  ws = ws.slice(k);
  if (ws.length === 0) found.push(k > 0 ? mk("continue", "shell.assign", "sets shell variables") : empty());
  else {
    let main = classifyWords(ws, st);
    if (main.flags.writes) {
      for (const w of ws) {
        if (POLICY_PATH.test(w.text)) main = max(main, writesPolicy(w.text));
      }
    }
    found.push(main);
  }
  return highest(found) ?? empty();
}

/** One simple command without its leading keywords and assignments. */
function classifyWords(ws: Word[], st: State): Classification {
  const head = ws[0] as Word;
  const args = ws.slice(1);
  if (head.dynamic) return mk("expand", "shell.dynamic-command", `the command name ${head.text} is only known at run time`, { externalTools: true });
  const name = baseName(head.text);
  const a = texts(args);
  if (a.length === 1 && (a[0] === "--version" || a[0] === "--help") && !SHELLS.has(name)) return mk("continue", "read.version", `${name} ${a[0]}`);
  for (const rule of RULES) {
    const c = rule(name, args, st, inner);
    if (c !== null) return c;
  }
  if (head.text.startsWith("./") || head.text.startsWith("../") || head.text.includes("/")) {
    return mk("expand", "exec.local-script", `runs the program ${head.text}`, { externalTools: true });
  }
  return mk("expand", "unknown", `${name} is not a command Airlock knows; asking conservatively`, { externalTools: true });
}
