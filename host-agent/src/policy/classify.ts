// Risk classification of what a coding agent asks to do (docs: product.md,
// "Approvals are the product"). Every request gets a tier — steer, continue,
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
//   visible here.
import { posix } from "node:path";

export type Tier = "steer" | "continue" | "expand" | "commit";
export const TIERS: readonly Tier[] = ["steer", "continue", "expand", "commit"];

export interface ClassificationFlags {
  /** Reaches the network. */
  network: boolean;
  /** Reads, writes or uses credentials or secrets (including root via sudo). */
  credentials: boolean;
  /** Runs code beyond the base read-only toolset: project code, package managers, interpreters, cloud CLIs, unknown programs. */
  externalTools: boolean;
  /** Writes files or other local state. */
  writes: boolean;
}

export interface Classification {
  tier: Tier;
  /** Stable id of the rule that fired, e.g. "git.push"; policies match on it. */
  rule: string;
  flags: ClassificationFlags;
  reason: string;
}

export interface ClassifyContext {
  /** The workspace directory (the agent's cwd). Without it, relative paths count as inside and absolute ones as outside. */
  cwd?: string;
}

const rank = (t: Tier): number => TIERS.indexOf(t);

type FlagInit = Partial<ClassificationFlags>;
function mk(tier: Tier, rule: string, reason: string, flags: FlagInit = {}): Classification {
  return {
    tier,
    rule,
    reason,
    flags: { network: flags.network ?? false, credentials: flags.credentials ?? false, externalTools: flags.externalTools ?? false, writes: flags.writes ?? false },
  };
}

/** The higher of two classifications (the first wins a tie); flags are OR-ed. */
function max(a: Classification, b: Classification): Classification {
  const top = rank(b.tier) > rank(a.tier) ? b : a;
  return {
    tier: top.tier,
    rule: top.rule,
    reason: top.reason,
    flags: {
      network: a.flags.network || b.flags.network,
      credentials: a.flags.credentials || b.flags.credentials,
      externalTools: a.flags.externalTools || b.flags.externalTools,
      writes: a.flags.writes || b.flags.writes,
    },
  };
}

/** Raise `c` to at least `tier`, naming `rule` when that changes the tier. */
function atLeast(c: Classification, tier: Tier, rule: string, reason: string, flags: FlagInit = {}): Classification {
  const raised = rank(c.tier) < rank(tier) ? { ...c, tier, rule, reason } : c;
  return max(raised, mk("steer", raised.rule, raised.reason, flags));
}

// ------------------------------------------------------------------ tokenizer

export interface Word {
  /** The word after quote removal; `$VAR` and substitutions stay as written. */
  text: string;
  /** Contains a variable, substitution or arithmetic expansion. */
  dynamic: boolean;
  /** Variable names referenced. */
  vars: string[];
  /** Sources of command/process substitutions inside the word. */
  substs: string[];
}

export interface Redirect {
  op: string;
  target: Word;
}

export interface SimpleCommand {
  words: Word[];
  redirects: Redirect[];
  /** Reads its stdin from the previous command's pipe. */
  pipeIn: boolean;
}

export interface ParsedLine {
  commands: SimpleCommand[];
  /** All `$(…)`, backtick and `<(…)`/`>(…)` sources, outermost level. */
  substitutions: string[];
  errors: string[];
}

const newWord = (): Word & { started: boolean } => ({ text: "", dynamic: false, vars: [], substs: [], started: false });

/** Find the `)` matching the `(` at `open`, skipping quotes and nested parens. */
function matchParen(src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    const c = src[i];
    if (c === "\\") i++;
    else if (c === "'") {
      const j = src.indexOf("'", i + 1);
      if (j < 0) return -1;
      i = j;
    } else if (c === '"') {
      for (i++; i < src.length && src[i] !== '"'; i++) if (src[i] === "\\") i++;
      if (i >= src.length) return -1;
    } else if (c === "`") {
      for (i++; i < src.length && src[i] !== "`"; i++) if (src[i] === "\\") i++;
      if (i >= src.length) return -1;
    } else if (c === "(") depth++;
    else if (c === ")") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function matchBacktick(src: string, open: number): number {
  for (let i = open + 1; i < src.length; i++) {
    if (src[i] === "\\") i++;
    else if (src[i] === "`") return i;
  }
  return -1;
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** Tokenise a shell command line into simple commands. */
export function parseShell(src: string): ParsedLine {
  const out: ParsedLine = { commands: [], substitutions: [], errors: [] };
  let cur: SimpleCommand = { words: [], redirects: [], pipeIn: false };
  let word = newWord();
  let pendingOp: string | null = null;
  const heredocs: { delim: string; strip: boolean }[] = [];

  const finishWord = (): void => {
    if (!word.started) return;
    const { started: _s, ...w } = word;
    if (pendingOp !== null) {
      cur.redirects.push({ op: pendingOp, target: w });
      pendingOp = null;
    } else cur.words.push(w);
    word = newWord();
  };
  const endCommand = (sep: string): void => {
    finishWord();
    if (pendingOp !== null) {
      out.errors.push(`redirection ${pendingOp} without a target`);
      pendingOp = null;
    }
    if (cur.words.length > 0 || cur.redirects.length > 0) out.commands.push(cur);
    cur = { words: [], redirects: [], pipeIn: sep === "|" };
  };
  const subst = (inner: string): void => {
    out.substitutions.push(inner);
    word.substs.push(inner);
    word.dynamic = true;
    word.started = true;
  };
  /** `$…` at i; returns the index after it. `inDouble`: inside "…". */
  /** A `command substitution` at i: classified as its own command; returns the index after it. */
  const backtick = (i: number): number => {
    const end = matchBacktick(src, i);
    if (end < 0) {
      out.errors.push("unterminated backtick");
      subst(src.slice(i + 1));
      return src.length;
    }
    subst(src.slice(i + 1, end));
    word.text += src.slice(i, end + 1);
    return end + 1;
  };
  const dollar = (i: number): number => {
    const n = src[i + 1];
    if (n === "(" && src[i + 2] === "(") {
      const end = src.indexOf("))", i + 3);
      const stop = end < 0 ? src.length : end + 2;
      word.text += src.slice(i, stop);
      word.dynamic = true;
      word.started = true;
      return stop;
    }
    if (n === "(") {
      const end = matchParen(src, i + 1);
      if (end < 0) {
        out.errors.push("unterminated $(");
        subst(src.slice(i + 2));
        return src.length;
      }
      subst(src.slice(i + 2, end));
      word.text += src.slice(i, end + 1);
      return end + 1;
    }
    if (n === "{") {
      const end = src.indexOf("}", i + 2);
      const stop = end < 0 ? src.length : end;
      const body = src.slice(i + 2, stop);
      const name = /^[#!]?([A-Za-z_][A-Za-z0-9_]*)/.exec(body)?.[1];
      if (name) word.vars.push(name);
      // ${X:-$(cmd)} hides a substitution in the default.
      const inner = body.indexOf("$(");
      if (inner >= 0) {
        const close = matchParen(body, inner + 1);
        subst(body.slice(inner + 2, close < 0 ? body.length : close));
      }
      word.text += src.slice(i, stop + 1);
      word.dynamic = true;
      word.started = true;
      return stop + 1;
    }
    if (n !== undefined && NAME_START.test(n)) {
      let j = i + 1;
      while (j < src.length && NAME_CHAR.test(src[j] ?? "")) j++;
      word.vars.push(src.slice(i + 1, j));
      word.text += src.slice(i, j);
      word.dynamic = true;
      word.started = true;
      return j;
    }
    if (n !== undefined && /[0-9?@*#$!-]/.test(n)) {
      word.text += src.slice(i, i + 2);
      word.dynamic = true;
      word.started = true;
      return i + 2;
    }
    word.text += "$";
    word.started = true;
    return i + 1;
  };

  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    const n = src[i + 1];
    if (c === " " || c === "\t" || c === "\r") {
      finishWord();
      i++;
    } else if (c === "\\") {
      if (n === "\n") i += 2;
      else {
        word.text += n ?? "";
        word.started = true;
        i += 2;
      }
    } else if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) out.errors.push("unterminated single quote");
      word.text += src.slice(i + 1, end < 0 ? src.length : end);
      word.started = true;
      i = end < 0 ? src.length : end + 1;
    } else if (c === '"') {
      word.started = true;
      i++;
      let closed = false;
      while (i < src.length) {
        const d = src[i] as string;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === "\\") {
          const e = src[i + 1];
          if (e === "\n") i += 2;
          else if (e !== undefined && '$`"\\'.includes(e)) {
            word.text += e;
            i += 2;
          } else {
            word.text += "\\";
            i++;
          }
        } else if (d === "$") i = dollar(i);
        else if (d === "`") i = backtick(i);
        else {
          word.text += d;
          i++;
        }
      }
      if (!closed) out.errors.push("unterminated double quote");
    } else if (c === "$" && n === "'") {
      // ANSI-C quoting: $'\x67it' is "git".
      let j = i + 2;
      let s = "";
      for (; j < src.length && src[j] !== "'"; j++) {
        if (src[j] === "\\") {
          const e = src[j + 1] ?? "";
          const hex = /^x([0-9a-fA-F]{1,2})/.exec(src.slice(j + 1));
          const oct = /^([0-7]{1,3})/.exec(src.slice(j + 1));
          if (hex?.[1]) {
            s += String.fromCharCode(parseInt(hex[1], 16));
            j += hex[0].length;
          } else if (oct?.[1]) {
            s += String.fromCharCode(parseInt(oct[1], 8));
            j += oct[0].length;
          } else {
            s += ({ n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"' } as Record<string, string>)[e] ?? e;
            j++;
          }
        } else s += src[j];
      }
      if (j >= src.length) out.errors.push("unterminated $' quote");
      word.text += s;
      word.started = true;
      i = j + 1;
    } else if (c === "$") {
      i = dollar(i);
    } else if (c === "`") {
      i = backtick(i);
    } else if (c === "#" && !word.started) {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "\n") {
      endCommand(";");
      i++;
      // Here-document bodies follow the line that opened them.
      while (heredocs.length > 0) {
        const h = heredocs.shift() as { delim: string; strip: boolean };
        while (i < src.length) {
          const eol = src.indexOf("\n", i);
          const line = src.slice(i, eol < 0 ? src.length : eol);
          i = eol < 0 ? src.length : eol + 1;
          if ((h.strip ? line.replace(/^\t+/, "") : line) === h.delim) break;
        }
      }
    } else if (c === ";") {
      endCommand(";");
      i += n === ";" ? 2 : 1;
    } else if (c === "&") {
      if (n === "&") {
        endCommand("&&");
        i += 2;
      } else if (n === ">") {
        finishWord();
        const app = src[i + 2] === ">";
        pendingOp = app ? "&>>" : "&>";
        i += app ? 3 : 2;
      } else {
        endCommand("&");
        i++;
      }
    } else if (c === "|") {
      if (n === "|") {
        endCommand("||");
        i += 2;
      } else {
        endCommand("|");
        i += n === "&" ? 2 : 1;
      }
    } else if ((c === "<" || c === ">") && n === "(") {
      const end = matchParen(src, i + 1);
      if (end < 0) {
        out.errors.push(`unterminated ${c}(`);
        subst(src.slice(i + 2));
        i = src.length;
      } else {
        subst(src.slice(i + 2, end));
        word.text += src.slice(i, end + 1);
        i = end + 1;
      }
    } else if (c === "(" || c === ")") {
      endCommand(c);
      i++;
    } else if (c === "<" || c === ">") {
      // A word of digits right before the operator is a file descriptor.
      if (word.started && /^\d+$/.test(word.text) && !word.dynamic) word = newWord();
      else finishWord();
      if (pendingOp !== null) out.errors.push(`redirection ${pendingOp} without a target`);
      if (c === "<" && n === "<" && src[i + 2] === "<") {
        pendingOp = "<<<";
        i += 3;
      } else if (c === "<" && n === "<") {
        const strip = src[i + 2] === "-";
        i += strip ? 3 : 2;
        while (src[i] === " " || src[i] === "\t") i++;
        const m = /^(['"]?)([^\s'";&|<>()]+)\1/.exec(src.slice(i));
        if (m?.[2]) {
          heredocs.push({ delim: m[2], strip });
          i += m[0].length;
        } else out.errors.push("here-document without a delimiter");
      } else if (c === ">" && n === "&") {
        // >&2 duplicates a descriptor; >&file (csh style) writes a file.
        const m = /^(\d+|-)(?![^\s;&|<>()])/.exec(src.slice(i + 2));
        if (m) i += 2 + m[0].length;
        else {
          pendingOp = ">";
          i += 2;
        }
      } else if (c === "<" && n === "&") {
        const m = /^(\d+|-)/.exec(src.slice(i + 2));
        i += 2 + (m ? m[0].length : 0);
      } else if (c === ">" && (n === ">" || n === "|")) {
        pendingOp = n === ">" ? ">>" : ">|";
        i += 2;
      } else if (c === "<" && n === ">") {
        pendingOp = "<>";
        i += 2;
      } else {
        pendingOp = c;
        i++;
      }
    } else {
      word.text += c;
      word.started = true;
      i++;
    }
  }
  endCommand(";");
  if (heredocs.length > 0) out.errors.push("unterminated here-document");
  return out;
}

// ------------------------------------------------------------------ paths and secrets

const VIRTUAL_WORKSPACE = "/__airlock_workspace__";

interface State {
  /** Workspace root. */
  root: string;
  /** Current directory; null when a `cd` went somewhere we cannot know. */
  cwd: string | null;
  depth: number;
  pipeIn: boolean;
}

const SECRET_PATHS: RegExp[] = [
  /(^|[\\/\s'"=:@(,])\.ssh(\/|$|[\s'")])/,
  /(^|[\\/\s'"=:@(,])id_(rsa|dsa|ecdsa|ed25519)(_sk)?(?!\.pub)(\b|$)/,
  /(^|[\\/\s'"=:@(,])\.env(rc)?(\.(?!example\b|sample\b|template\b|dist\b|defaults?\b)[\w.-]+)?($|[\s'"\/;,)])/,
  /(^|[\\/\s'"=:@(,])\.(aws|azure|gnupg|password-store|docker\/config\.json|kube\/config|netrc|npmrc|pypirc|git-credentials|vault-token|terraformrc)(\/|$|[\s'")])/,
  /\.config\/(gcloud|gh\/hosts\.yml|op|doctl|hub)(\/|$|[\s'")])/,
  /\.(cargo|gem)\/credentials/,
  /credentials\.tfrc\.json|\/etc\/(shadow|gshadow|sudoers)\b|Keychains?\//,
  /\.(pem|key|p12|pfx|jks|keystore|kdbx|tfstate|tfstate\.backup)($|[\s'")])/,
  /(^|[\\/\s'"=:@(,])(secrets?|credentials|service[-_]account[\w-]*)\.(json|ya?ml|toml|env|txt)($|[\s'")])/,
];

/** Words that a secret path check should ignore: public keys and example files. */
export function isSecretPath(text: string): boolean {
  const t = text.replace(/^(\$HOME|\$\{HOME\})(?=\/)/, "~");
  if (/\.pub($|[\s'")])/.test(t) && !/\.env/.test(t)) return false;
  return SECRET_PATHS.some((re) => re.test(t));
}

const SECRET_SEGMENTS = new Set(["SECRET", "SECRETS", "TOKEN", "PASSWORD", "PASSWD", "PASSPHRASE", "APIKEY", "CREDENTIAL", "CREDENTIALS", "PRIVATE"]);
/** GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY, OPENAI_API_KEY, DB_PASSWORD… */
export function isSecretVar(name: string): boolean {
  const parts = name.toUpperCase().split("_");
  return parts.some((p, i) => SECRET_SEGMENTS.has(p) || ((p === "API" || p === "ACCESS") && parts[i + 1] === "KEY"));
}

const POLICY_PATH = /(^|\/)\.?airlock\/policy\.json$/;
const PERSISTENCE_PATH = /(^|\/)(\.bashrc|\.bash_profile|\.bash_login|\.profile|\.zshrc|\.zshenv|\.zprofile|\.zlogin|\.gitconfig|config\.fish|\.git\/hooks\/?.*|\.git\/config|LaunchAgents\/.*|LaunchDaemons\/.*|\.config\/autostart\/.*|crontab)$/;
const SYSTEM_PATH = /^\/(etc|usr|bin|sbin|boot|lib|lib64|opt|System|Library|Applications|private\/etc|dev|proc|sys)(\/|$)|^\/var(\/(?!folders|tmp)|$)/;
const SCRATCH_PATH = /^\/(tmp|var\/tmp|private\/tmp|var\/folders)\/[^/]/;

/** Resolve a path word against the current directory; null when unknowable. */
function resolvePath(w: Word, st: State): string | null {
  let t = w.text;
  if (/^~(\/|$)/.test(t) || /^(\$HOME|\$\{HOME\})(\/|$)/.test(t)) return "~" + t.replace(/^(~|\$HOME|\$\{HOME\})/, "");
  if (/^~[A-Za-z_]/.test(t)) return "~";
  if (w.dynamic) {
    // `$VAR/x`: unknown. A variable later in the path keeps the prefix.
    const k = t.search(/\$|`/);
    if (k <= 0) return null;
    t = t.slice(0, k) + "__dynamic__";
  }
  if (t.startsWith("/")) return posix.normalize(t);
  if (st.cwd === null) return null;
  return posix.normalize(posix.join(st.cwd, t));
}

type PathClass = "inside" | "workspace" | "scratch" | "outside" | "unknown" | "root";
function pathClass(w: Word, st: State): PathClass {
  const p = resolvePath(w, st);
  if (p === null) return "unknown";
  if (p === "/" || p === "~" || p === "~/" || /^\/\*?$|^~\/?\*$/.test(p)) return "root";
  if (p === st.root) return "workspace";
  if (p.startsWith(st.root + "/")) return "inside";
  if (posix.dirname(st.root) === p) return "outside";
  if (SCRATCH_PATH.test(p)) return "scratch";
  return "outside";
}

// ------------------------------------------------------------------ helpers

const READ_LIST = new Set(["ls", "ll", "la", "dir", "tree", "stat", "file", "du", "df", "realpath", "readlink", "basename", "dirname", "pwd", "which", "whereis", "type", "locate", "lsof"]);
const READ_FILE = new Set(["cat", "tac", "less", "more", "bat", "batcat", "nl", "od", "xxd", "hexdump", "strings", "head", "tail", "wc", "md5sum", "md5", "sha1sum", "sha256sum", "sha512sum", "shasum", "cksum", "b2sum"]);
const READ_SEARCH = new Set(["grep", "egrep", "fgrep", "rg", "ag", "ack", "zgrep"]);
const READ_TEXT = new Set(["sort", "uniq", "cut", "tr", "jq", "column", "paste", "join", "comm", "diff", "cmp", "fold", "fmt", "rev", "seq", "numfmt", "base64", "expand", "unexpand", "tsort", "colordiff", "delta"]);
const READ_SYSTEM = new Set(["whoami", "id", "hostname", "uname", "date", "uptime", "ps", "free", "groups", "nproc", "arch", "sw_vers", "lsb_release", "sleep", "true", "false", "test", "[", "[[", ":", "cal", "tty", "locale", "getconf", "man", "info", "help", "clear", "tput"]);
const BUILTINS = new Set(["cd", "pushd", "popd", "export", "unset", "shopt", "alias", "unalias", "hash", "local", "declare", "typeset", "readonly", "trap", "wait", "jobs", "fg", "bg", "umask", "ulimit", "history", "exit", "return", "break", "continue", "shift", "getopts", "read", "set", "dirs", "disown", "let"]);
const KEYWORDS = new Set(["!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "in", "esac", "function", "select", "coproc"]);
const SHELLS = new Set(["sh", "bash", "zsh", "dash", "ksh", "fish", "ash", "mksh", "csh", "tcsh"]);
const INTERPRETERS = new Set(["python", "python3", "python2", "node", "nodejs", "ruby", "perl", "php", "deno", "bun", "lua", "Rscript", "osascript", "pwsh", "powershell"]);
const NETWORK = new Map<string, string>([
  ["curl", "net.curl"], ["wget", "net.wget"], ["http", "net.http"], ["https", "net.http"], ["xh", "net.http"], ["aria2c", "net.wget"],
  ["ssh", "net.ssh"], ["scp", "net.scp"], ["sftp", "net.scp"], ["mosh", "net.ssh"],
  ["nc", "net.other"], ["ncat", "net.other"], ["netcat", "net.other"], ["telnet", "net.other"], ["ftp", "net.other"], ["socat", "net.other"], ["nmap", "net.other"],
  ["ping", "net.other"], ["dig", "net.other"], ["nslookup", "net.other"], ["host", "net.other"], ["traceroute", "net.other"], ["whois", "net.other"],
]);

const texts = (ws: Word[]): string[] => ws.map((w) => w.text);
const isOpt = (w: Word | undefined): boolean => w !== undefined && w.text.startsWith("-") && w.text !== "-";
const has = (ws: Word[], ...opts: string[]): boolean => ws.some((w) => opts.includes(w.text) || opts.some((o) => o.startsWith("--") && w.text.startsWith(o + "=")));
/** A short-option cluster such as -rf contains `letter`. */
const hasShort = (ws: Word[], letter: string): boolean => ws.some((w) => /^-[A-Za-z]+$/.test(w.text) && w.text.includes(letter));
const positionals = (ws: Word[]): Word[] => {
  const out: Word[] = [];
  let rest = false;
  for (const w of ws) {
    if (rest || !isOpt(w)) out.push(w);
    else if (w.text === "--") rest = true;
  }
  return out;
};
const baseName = (t: string): string => t.replace(/^.*\//, "").replace(/\.exe$/i, "");

/** Skip wrapper options: `withArg` options take the following word. */
function skipOptions(ws: Word[], withArg: string[]): Word[] {
  let i = 0;
  while (i < ws.length) {
    const t = (ws[i] as Word).text;
    if (t === "--") return ws.slice(i + 1);
    if (!t.startsWith("-") || t === "-") break;
    i += withArg.includes(t) ? 2 : 1;
  }
  return ws.slice(i);
}

const NO_TARGET = /^\/dev\/(null|stdout|stderr|tty|fd\/\d+)$/;

function writeTargets(base: Classification, targets: Word[], st: State, rmLike = false, recursive = false): Classification {
  let c = base;
  for (const t of targets) {
    if (NO_TARGET.test(t.text)) continue;
    const pc = pathClass(t, st);
    const p = resolvePath(t, st) ?? t.text;
    if (POLICY_PATH.test(p) || POLICY_PATH.test(t.text)) c = max(c, mk("commit", "policy.self-edit", `writes the Airlock policy file ${t.text}`, { writes: true }));
    else if (PERSISTENCE_PATH.test(p)) c = max(c, mk("commit", "system.persistence", `writes ${t.text}, which runs code at login, in git, or on a schedule`, { writes: true }));
    else if (SYSTEM_PATH.test(p)) c = max(c, mk("commit", "fs.system-write", `writes the system path ${t.text}`, { writes: true }));
    else if (rmLike && (pc === "root" || pc === "outside" || pc === "workspace" || (recursive && pc === "unknown"))) {
      const where = pc === "root" ? "a root or home directory" : pc === "unknown" ? "a path we cannot resolve" : pc === "workspace" ? "the whole workspace" : "outside the workspace";
      c = max(c, mk("commit", "fs.rm-outside", `deletes ${t.text}, ${where}`, { writes: true }));
    } else if (!rmLike && pc === "root" && recursive) c = max(c, mk("commit", "fs.system-write", `changes ${t.text} recursively`, { writes: true }));
  }
  return c;
}

// ------------------------------------------------------------------ entry points

/** Classify a command line (a string for a shell, or an argv array run directly). */
export function classifyCommand(command: string | readonly string[], context: ClassifyContext = {}): Classification {
  const root = context.cwd !== undefined && context.cwd.startsWith("/") ? posix.normalize(context.cwd).replace(/(.)\/$/, "$1") : VIRTUAL_WORKSPACE;
  const st: State = { root, cwd: root, depth: 0, pipeIn: false };
  if (typeof command !== "string") {
    const words: Word[] = command.map((text) => ({ text, dynamic: false, vars: [], substs: [] }));
    if (words.length === 0) return mk("continue", "shell.empty", "empty command");
    return classifyArgv(words, st);
  }
  return classifyLine(command, st);
}

function classifyLine(src: string, st: State): Classification {
  if (st.depth > 8) return mk("expand", "shell.too-deep", "nested too deeply to classify", { externalTools: true });
  const parsed = parseShell(src);
  const inner: State = { ...st, depth: st.depth + 1 };
  let result: Classification | null = null;
  const add = (c: Classification): void => {
    result = result === null ? c : max(result, c);
  };
  for (const s of parsed.substitutions) add(classifyLine(s, inner));
  let pipelineNetwork = false;
  for (const cmd of parsed.commands) {
    if (!cmd.pipeIn) pipelineNetwork = false;
    const c = classifySimple(cmd, { ...st, pipeIn: cmd.pipeIn });
    if (c.rule === "shell.stdin" && pipelineNetwork) {
      add(mk("commit", "pipe.remote-exec", "runs code downloaded from the network (piped into a shell or interpreter)", { network: true, externalTools: true }));
    }
    add(c);
    if (c.flags.network) pipelineNetwork = true;
    // cd changes where later relative paths point.
    updateCwd(cmd, st);
  }
  if (parsed.errors.length > 0) add(mk("expand", "shell.unparseable", `could not parse: ${parsed.errors.join("; ")}`, { externalTools: true }));
  return result ?? mk("continue", "shell.empty", "empty command");
}

function updateCwd(cmd: SimpleCommand, st: State): void {
  const ws = cmd.words.filter((w) => !KEYWORDS.has(w.text));
  const name = ws[0]?.text;
  if (name !== "cd" && name !== "pushd") return;
  const target = positionals(ws.slice(1))[0];
  if (target === undefined || target.text === "~") st.cwd = "~";
  else if (target.text === "-") st.cwd = null;
  else {
    const p = resolvePath(target, st);
    st.cwd = p !== null && !p.includes("__dynamic__") ? p : null;
  }
}

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

/** Classify one simple command given as words. */
function classifyArgv(all: Word[], st: State): Classification {
  let ws = all;
  while (ws.length > 0 && KEYWORDS.has((ws[0] as Word).text)) ws = ws.slice(1);
  let c: Classification | null = null;
  const add = (x: Classification): void => {
    c = c === null ? x : max(c, x);
  };
  // Secrets anywhere on the line.
  for (const w of ws) {
    if (isSecretPath(w.text)) add(mk("commit", "secrets.file", `touches ${w.text}, which holds secrets`, { credentials: true }));
    const v = w.vars.find(isSecretVar);
    if (v !== undefined) add(mk("commit", "secrets.env-var", `uses the secret variable $${v}`, { credentials: true }));
  }
  // Leading assignments.
  let k = 0;
  while (k < ws.length && /^[A-Za-z_][A-Za-z0-9_]*\+?=/.test((ws[k] as Word).text)) {
    const name = (ws[k] as Word).text.replace(/\+?=.*$/s, "");
    if (isSecretVar(name)) add(mk("commit", "secrets.env-var", `sets the secret variable ${name}`, { credentials: true }));
    k++;
  }
  ws = ws.slice(k);
  if (ws.length === 0) {
    add(mk("continue", k > 0 ? "shell.assign" : "shell.empty", k > 0 ? "sets shell variables" : "empty command"));
    return c as unknown as Classification;
  }
  let main = classifyWords(ws, st);
  if (main.flags.writes) {
    for (const w of ws) {
      if (POLICY_PATH.test(w.text)) main = max(main, mk("commit", "policy.self-edit", `writes the Airlock policy file ${w.text}`, { writes: true }));
    }
  }
  add(main);
  return c as unknown as Classification;
}

function classifyWords(ws: Word[], st: State): Classification {
  const head = ws[0] as Word;
  const args = ws.slice(1);
  if (head.dynamic) return mk("expand", "shell.dynamic-command", `the command name ${head.text} is only known at run time`, { externalTools: true });
  const name = baseName(head.text);
  const a = texts(args);
  const sub = positionals(args)[0]?.text;

  if (a.length === 1 && (a[0] === "--version" || a[0] === "--help") && !SHELLS.has(name)) return mk("continue", "read.version", `${name} ${a[0]}`);

  // ---- wrappers
  switch (name) {
    case "sudo":
    case "doas": {
      const rest = skipOptions(args, ["-u", "-g", "-p", "-C", "-U", "-r", "-t", "-D", "-R", "-T", "-h"]);
      const opts = args.slice(0, args.length - rest.length);
      if (rest.length === 0 || has(opts, "-i", "-s", "--login", "--shell")) return mk("commit", "privilege.root-shell", `${name} opens a root shell`, { credentials: true, externalTools: true, writes: true });
      const inner = classifyWords(rest, st);
      return atLeast({ ...inner, reason: `as root: ${inner.reason}` }, "expand", "privilege.sudo", `runs ${rest[0]?.text ?? ""} as root`, { credentials: true });
    }
    case "su":
      return mk("commit", "privilege.su", "switches user", { credentials: true, externalTools: true, writes: true });
    case "env": {
      let i = 0;
      const rest = args;
      while (i < rest.length) {
        const t = (rest[i] as Word).text;
        if (t === "-S" || t === "--split-string") return classifyLine(rest.slice(i + 1).map((w) => w.text).join(" "), st);
        if (t.startsWith("--split-string=")) return classifyLine(t.slice(15), st);
        if (t === "-u" || t === "-C" || t === "--unset" || t === "--chdir") i += 2;
        else if (t.startsWith("-")) i++;
        else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(t)) {
          const n = t.replace(/=.*$/s, "");
          if (isSecretVar(n)) return mk("commit", "secrets.env-var", `sets the secret variable ${n}`, { credentials: true });
          i++;
        } else break;
      }
      if (i >= rest.length) return mk("expand", "env.print", "prints the environment, which may hold secrets", { credentials: true });
      return classifyWords(rest.slice(i), st);
    }
    case "nice":
    case "nohup":
    case "time":
    case "command":
    case "exec":
    case "builtin":
    case "stdbuf":
    case "ionice":
    case "caffeinate":
    case "unbuffer": {
      if (name === "command" && has(args, "-v", "-V")) return mk("continue", "shell.builtin", "looks up a command");
      const withArg: Record<string, string[]> = { nice: ["-n", "--adjustment"], time: ["-o", "-f", "--output", "--format"], exec: ["-a"], stdbuf: ["-i", "-o", "-e"], ionice: ["-c", "-n", "-p"] };
      const rest = skipOptions(args, withArg[name] ?? []);
      if (rest.length === 0) return mk("continue", "shell.builtin", `${name} without a command`);
      const inner = classifyWords(rest, st);
      return name === "time" && has(args, "-o", "--output") ? max(inner, mk("expand", "fs.write", "time -o writes a file", { writes: true })) : inner;
    }
    case "timeout":
    case "gtimeout": {
      const rest = skipOptions(args, ["-s", "-k", "--signal", "--kill-after"]).slice(1);
      return rest.length === 0 ? mk("continue", "shell.builtin", "timeout without a command") : classifyWords(rest, st);
    }
    case "xargs": {
      const rest = skipOptions(args, ["-I", "-n", "-P", "-L", "-d", "-E", "-s", "-a", "--max-args", "--max-procs", "--delimiter", "--arg-file"]);
      return rest.length === 0 ? mk("continue", "read.echo", "xargs echo") : classifyWords(rest, st);
    }
    case "watch": {
      const rest = skipOptions(args, ["-n", "--interval", "-d"]);
      return classifyLine(texts(rest).join(" "), st);
    }
    case "eval": {
      const inner = classifyLine(a.join(" "), st);
      return remoteExec(args, inner, st) ?? inner;
    }
    case "source":
    case ".":
      return mk("expand", "shell.source", `runs the shell file ${a[0] ?? ""} in the current shell`, { externalTools: true });
  }

  if (SHELLS.has(name)) return classifyShell(name, args, st);
  if (INTERPRETERS.has(name) && !((name === "deno" || name === "bun") && sub !== undefined && !sub.includes(".") && !sub.includes("/"))) return classifyInterpreter(name, args, st);

  // ---- read-only
  if (name === "for" || name === "case") return mk("continue", "shell.control", `${name} is shell control flow; its body is classified separately`);
  if (READ_LIST.has(name)) return mk("continue", "read.list", `${name} only reads`);
  if (READ_FILE.has(name)) return mk("continue", "read.file", `${name} only reads`);
  if (READ_SEARCH.has(name)) return mk("continue", "read.search", `${name} only reads`);
  if (READ_TEXT.has(name)) {
    if (name === "sort" && has(args, "-o", "--output")) return writeTargets(mk("expand", "fs.write", "sort -o writes a file", { writes: true }), args.filter((_, i) => args[i - 1]?.text === "-o"), st);
    return mk("continue", "read.text", `${name} only transforms text`);
  }
  if (name === "yq") return has(args, "-i", "--inplace") ? mk("expand", "fs.edit-in-place", "yq -i edits files in place", { writes: true }) : mk("continue", "read.text", "yq only transforms text");
  if (name === "echo" || name === "printf") return mk("continue", "read.echo", `${name} prints its arguments`);
  if (READ_SYSTEM.has(name)) return mk("continue", "read.system", `${name} only reads`);
  if (name === "printenv") {
    if (a.length === 0) return mk("expand", "env.print", "prints the environment, which may hold secrets", { credentials: true });
    return a.some(isSecretVar) ? mk("commit", "secrets.env-var", "prints a secret variable", { credentials: true }) : mk("continue", "read.system", "prints an environment variable");
  }
  if (BUILTINS.has(name)) {
    if ((name === "set" || name === "declare" || name === "typeset" || name === "export") && (a.length === 0 || a[0] === "-p")) return mk("expand", "env.print", "prints the environment, which may hold secrets", { credentials: true });
    for (const t of a) {
      const n = t.replace(/=.*$/s, "");
      if (t.includes("=") && isSecretVar(n)) return mk("commit", "secrets.env-var", `sets the secret variable ${n}`, { credentials: true });
    }
    return mk("continue", "shell.builtin", `${name} is a shell builtin`);
  }
  if (name === "sed") {
    const inPlace = args.some((w) => /^-[A-Za-z]*i/.test(w.text) || w.text === "--in-place" || w.text.startsWith("--in-place="));
    return inPlace ? mk("expand", "fs.edit-in-place", "sed -i edits files in place", { writes: true }) : mk("continue", "read.text", "sed without -i only prints");
  }
  if (name === "awk" || name === "gawk" || name === "mawk" || name === "nawk") {
    if (has(args, "-f", "-i", "--file")) return mk("expand", "exec.script", "runs an awk program file", { externalTools: true });
    const prog = positionals(args)[0]?.text ?? "";
    if (/system\s*\(|\|\s*getline|\bprint[f]?\b[^;}]*>|"\s*\|/.test(prog)) return mk("expand", "exec.awk", "the awk program writes files or runs commands", { writes: true, externalTools: true });
    return mk("continue", "read.text", "awk only transforms text");
  }
  if (name === "find" || name === "fd") return classifyFind(name, args, st);

  // ---- secrets tools
  const s = classifySecrets(name, args);
  if (s) return s;

  // ---- git and forges
  if (name === "git") return classifyGit(args, st);
  if (name === "gh") return classifyGh(args);

  // ---- tests, builds, packages
  const b = classifyBuild(name, args, st);
  if (b) return b;

  // ---- network
  const net = NETWORK.get(name);
  if (net !== undefined) {
    const writes = name === "curl" ? has(args, "-o", "-O", "--output", "--remote-name", "-J") || hasShort(args, "o") || hasShort(args, "O") : name === "wget" || name === "scp" || name === "sftp";
    return mk("expand", net, `${name} reaches the network`, { network: true, credentials: name === "ssh" || name === "scp" || name === "sftp" || name === "mosh", writes });
  }
  if (name === "rsync") {
    const remote = positionals(args).some((w) => /^[^/]*:/.test(w.text));
    const base = remote ? mk("expand", "net.rsync", "rsync to or from another host", { network: true, credentials: true, writes: true }) : mk("expand", "fs.copy", "rsync copies files", { writes: true });
    const ps = positionals(args);
    return writeTargets(base, ps.slice(-1), st, has(args, "--delete", "--delete-after", "--delete-before"), true);
  }
  if (name === "ngrok" || name === "cloudflared" || name === "localtunnel" || name === "lt") return mk("commit", "net.tunnel", "exposes this machine to the internet", { network: true, externalTools: true });

  // ---- files
  const f = classifyFiles(name, args, st);
  if (f) return f;

  // ---- containers, infrastructure, deploys
  const d = classifyDeploy(name, args);
  if (d) return d;

  // ---- system
  const sys = classifySystem(name, args);
  if (sys) return sys;

  if (head.text.startsWith("./") || head.text.startsWith("../") || head.text.includes("/")) {
    return mk("expand", "exec.local-script", `runs the program ${head.text}`, { externalTools: true });
  }
  return mk("expand", "unknown", `${name} is not a command Airlock knows; asking conservatively`, { externalTools: true });
}

/** `sh -c "$(curl …)"`, `bash <(curl …)`, `eval "$(wget …)"`. */
function remoteExec(codeWords: Word[], _fallback: Classification, st: State): Classification | null {
  for (const w of codeWords) {
    for (const s of w.substs) {
      if (classifyLine(s, { ...st, depth: st.depth + 1 }).flags.network) {
        return mk("commit", "pipe.remote-exec", "runs code downloaded from the network", { network: true, externalTools: true });
      }
    }
  }
  return null;
}

function classifyShell(name: string, args: Word[], st: State): Classification {
  let i = 0;
  let inline = false;
  while (i < args.length) {
    const t = (args[i] as Word).text;
    if (t === "--") {
      i++;
      break;
    }
    if (!/^[-+]/.test(t)) break;
    if (/^-[A-Za-z]*c[A-Za-z]*$/.test(t)) inline = true;
    i += t === "-o" || t === "+o" || t === "-O" || t === "+O" || t === "--rcfile" || t === "--init-file" ? 2 : 1;
  }
  const rest = args.slice(i);
  const fromStdin = args.slice(0, i).some((w) => /^-[A-Za-z]*s[A-Za-z]*$/.test(w.text));
  if (inline) {
    const code = rest[0];
    if (code === undefined) return mk("expand", "shell.unparseable", `${name} -c without a command`, { externalTools: true });
    const inner = classifyLine(code.text, st);
    return remoteExec([code], inner, st) ?? inner;
  }
  if (rest.length > 0 && !fromStdin) {
    return remoteExec(rest.slice(0, 1), mk("expand", "shell.script", "", {}), st) ?? mk("expand", "shell.script", `runs the shell script ${rest[0]?.text ?? ""}`, { externalTools: true });
  }
  return st.pipeIn || fromStdin
    ? mk("expand", "shell.stdin", `${name} runs commands from its input`, { externalTools: true })
    : mk("expand", "shell.interactive", `starts an interactive ${name}`, { externalTools: true });
}

function classifyInterpreter(name: string, args: Word[], st: State): Classification {
  if (has(args, "-V", "--version", "-v") && args.length === 1) return mk("continue", "read.version", `${name} version`);
  const m = args.findIndex((w) => w.text === "-m");
  if (m >= 0 && name.startsWith("python")) {
    const mod = args[m + 1]?.text ?? "";
    const rest = args.slice(m + 2);
    if (mod === "pytest" || mod === "unittest") return mk("continue", "test.python", `runs the ${mod} tests`, { externalTools: true });
    if (mod === "pip") return classifyBuild("pip", rest, st) ?? mk("expand", "pkg.pip", "pip", { network: true, externalTools: true });
    if (["mypy", "ruff", "black", "flake8", "pylint", "pyflakes", "isort"].includes(mod)) return classifyBuild(mod, rest, st) ?? mk("continue", "lint.check", `runs ${mod}`, { externalTools: true });
    if (mod === "venv" || mod === "virtualenv") return mk("expand", "fs.create", "creates a virtual environment", { writes: true, externalTools: true });
    if (mod === "http.server") return mk("expand", "net.server", "serves files over HTTP", { network: true, externalTools: true });
    return mk("expand", "exec.module", `runs the Python module ${mod}`, { externalTools: true });
  }
  if (name === "node" && has(args, "--test")) return mk("continue", "test.node", "runs node --test", { externalTools: true });
  const inlineIdx = args.findIndex((w) => ["-c", "-e", "--eval", "-p", "--print", "-E", "-r"].includes(w.text) || /^-[a-zA-Z]*e$/.test(w.text));
  if (inlineIdx >= 0) {
    const code = args[inlineIdx + 1];
    const writes = name === "perl" && args.some((w) => /^-[A-Za-z]*i/.test(w.text));
    return (code && remoteExec([code], mk("expand", "", ""), st)) ?? mk("expand", writes ? "fs.edit-in-place" : "exec.inline", `runs inline ${name} code`, { externalTools: true, writes });
  }
  const script = positionals(args)[0];
  if (script !== undefined) return remoteExec([script], mk("expand", "", ""), st) ?? mk("expand", "exec.script", `runs the ${name} program ${script.text}`, { externalTools: true });
  return st.pipeIn ? mk("expand", "shell.stdin", `${name} runs code from its input`, { externalTools: true }) : mk("expand", "shell.interactive", `starts an interactive ${name}`, { externalTools: true });
}

function classifyFind(name: string, args: Word[], st: State): Classification {
  const a = texts(args);
  const roots = name === "find" ? args.slice(0, Math.max(0, args.findIndex((w) => w.text.startsWith("-") || w.text === "(" || w.text === "!"))).concat() : [];
  const rootsOr = roots.length > 0 || name !== "find" ? roots : args.every((w) => !w.text.startsWith("-")) ? args : [];
  if (a.includes("-delete") || (name === "fd" && (a.includes("-X") || a.includes("-x")))) {
    if (name === "fd") return mk("expand", "fs.find-exec", "fd runs a command on every match", { externalTools: true, writes: true });
    return writeTargets(mk("expand", "fs.find-delete", "find -delete removes files", { writes: true }), rootsOr.filter((r) => pathClass(r, st) !== "workspace"), st, true, true);
  }
  const ex = a.findIndex((t) => ["-exec", "-execdir", "-ok", "-okdir"].includes(t));
  if (ex >= 0) {
    let end = a.findIndex((t, j) => j > ex && (t === ";" || t === "+"));
    if (end < 0) end = a.length;
    const innerWords = args.slice(ex + 1, end);
    if (innerWords.length === 0) return mk("expand", "fs.find-exec", "find -exec without a command", { externalTools: true });
    const inner = classifyWords(innerWords, st);
    return atLeast(inner, "expand", "fs.find-exec", `find runs ${innerWords[0]?.text ?? ""} on every match`);
  }
  if (a.some((t) => ["-fprint", "-fprint0", "-fprintf", "-fls"].includes(t))) return mk("expand", "fs.write", "find writes its output to a file", { writes: true });
  return mk("continue", "read.find", `${name} only lists files`);
}

function classifySecrets(name: string, args: Word[]): Classification | null {
  const a = texts(args);
  const cred = (rule: string, reason: string): Classification => mk("commit", rule, reason, { credentials: true });
  switch (name) {
    case "gpg":
    case "gpg2":
      if (a.some((t) => /^--(export-secret|gen-key|full-gen-key|quick-gen-key|delete-secret|decrypt|export-ownertrust)/.test(t)) || a.includes("-d")) return cred("secrets.gpg", "exports, creates or uses secret keys");
      if (a.some((t) => /^--(list-keys|list-public-keys|fingerprint|verify|version)$/.test(t)) || a.includes("-k")) return mk("continue", "read.gpg", "lists or verifies keys");
      return mk("expand", "secrets.gpg-other", "gpg operation", { credentials: true, externalTools: true });
    case "ssh-keygen":
      if (a.some((t) => /^-[A-Za-z]*[lFB]/.test(t)) && !a.includes("-t")) return mk("continue", "read.ssh-key", "shows a key fingerprint");
      return cred("secrets.keygen", "creates or changes SSH keys");
    case "ssh-add":
      if (a.includes("-l") || a.includes("-L")) return mk("continue", "read.ssh-key", "lists loaded keys");
      return cred("secrets.ssh-agent", "loads or removes SSH keys");
    case "ssh-copy-id":
      return mk("commit", "secrets.ssh-agent", "installs an SSH key on another host", { credentials: true, network: true });
    case "security":
      if (a.some((t) => /password|dump-keychain|export|unlock-keychain|add-generic|add-internet|delete-/.test(t))) return cred("secrets.keychain", "reads or changes the keychain");
      return mk("expand", "secrets.keychain-other", "keychain operation", { credentials: true });
    case "op":
    case "pass":
    case "gopass":
    case "bw":
    case "lpass":
    case "vault":
    case "doppler":
    case "sops":
    case "aws-vault":
    case "chamber":
    case "infisical":
    case "age":
    case "keyring":
    case "secret-tool":
      return cred("secrets.manager", `${name} handles secrets`);
    case "openssl":
      if (/^(genrsa|genpkey|req|pkcs12|rsa|ec|pkey|pkcs8|ca)$/.test(a[0] ?? "")) return cred("secrets.keygen", "creates or converts private keys");
      if (a[0] === "s_client") return mk("expand", "net.other", "opens a TLS connection", { network: true });
      return mk("expand", "crypto.openssl", "openssl operation", { externalTools: true });
  }
  return null;
}

const GIT_READ = new Set(["status", "diff", "log", "show", "blame", "rev-parse", "ls-files", "ls-tree", "shortlog", "describe", "reflog", "grep", "cat-file", "whatchanged", "name-rev", "merge-base", "rev-list", "show-ref", "for-each-ref", "check-ignore", "check-attr", "count-objects", "var", "help", "version", "difftool", "range-diff", "show-branch", "cherry", "verify-commit", "verify-tag", "fsck", "request-pull"]);
const GIT_WRITE = new Set(["add", "commit", "checkout", "switch", "restore", "mv", "rm", "cherry-pick", "revert", "init", "am", "apply", "notes", "worktree", "sparse-checkout", "bisect", "mergetool", "format-patch", "stage", "gc", "prune", "repack", "maintenance", "commit-tree", "update-index", "write-tree", "read-tree", "symbolic-ref", "archive", "bundle"]);
const GIT_EXEC_CONFIG = /^(alias\.|core\.(pager|sshcommand|editor|fsmonitor|hookspath|askpass)|diff\.external|credential\.|.*\.hookspath|sequence\.editor|uploadpack\.|protocol\.|.*\.(textconv|command|driver|process|clean|smudge))/i;

function classifyGit(args: Word[], st: State): Classification {
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
  const git = (tier: Tier, rule: string, reason: string, flags: FlagInit = {}): Classification => mk(tier, rule, reason, flags);
  let c: Classification;
  if (subW === undefined) c = git("continue", "git.read", "git prints its help");
  else if (subW.dynamic) c = git("expand", "git.dynamic", `git ${subW.text}: subcommand only known at run time`, { externalTools: true });
  else {
    const sub = subW.text;
    const pos = positionals(rest);
    switch (sub) {
      case "push":
        c = git("commit", "git.push", `git push${r.includes("--force") || r.includes("-f") || r.some((t) => t.startsWith("--force") || t.startsWith("+")) ? " --force" : ""} publishes commits`, { network: true, credentials: true });
        break;
      case "merge":
        c = has(rest, "--abort", "--quit") ? git("expand", "git.write", "aborts a merge", { writes: true }) : git("commit", "git.merge", "merges branches", { writes: true });
        break;
      case "rebase":
        c = has(rest, "--abort", "--quit") ? git("expand", "git.write", "aborts a rebase", { writes: true }) : git("commit", "git.rebase", "rewrites history with rebase", { writes: true });
        break;
      case "filter-branch":
      case "filter-repo":
      case "replace":
        c = git("commit", "git.history-rewrite", `git ${sub} rewrites history`, { writes: true });
        break;
      case "reset":
        c = has(rest, "--hard", "--merge", "--keep") ? git("commit", "git.discard", "git reset --hard discards uncommitted work", { writes: true }) : git("expand", "git.write", "moves HEAD or unstages", { writes: true });
        break;
      case "clean":
        c = (hasShort(rest, "f") || has(rest, "--force")) && !(hasShort(rest, "n") || has(rest, "--dry-run"))
          ? git("commit", "git.discard", "git clean deletes untracked files for good", { writes: true })
          : git("continue", "git.read", "git clean dry run");
        break;
      case "branch":
        c = rest.some((w) => /^-[A-Za-z]*[dDmMcCf]/.test(w.text) || ["--delete", "--move", "--copy", "--force", "--set-upstream-to", "-u", "--unset-upstream", "--edit-description"].includes(w.text)) || pos.length > 0 && !has(rest, "--list", "-l", "--contains", "--merged", "--no-merged", "--points-at")
          ? git("expand", "git.write", "creates, renames or deletes a branch", { writes: true })
          : git("continue", "git.read", "lists branches");
        break;
      case "tag":
        c = pos.length === 0 || has(rest, "-l", "--list", "-n", "--contains", "--points-at", "-v", "--verify") ? git("continue", "git.read", "lists tags") : git("expand", "git.write", "creates or deletes a tag", { writes: true });
        break;
      case "stash":
        c = pos[0]?.text === "list" || pos[0]?.text === "show" ? git("continue", "git.read", "lists stashes") : git("expand", "git.write", "changes the stash and the working tree", { writes: true });
        break;
      case "remote":
        if (pos.length === 0 || pos[0]?.text === "get-url") c = git("continue", "git.read", "lists remotes");
        else if (pos[0]?.text === "show" || pos[0]?.text === "update" || pos[0]?.text === "prune") c = git("expand", "git.fetch", "contacts a remote", { network: true, credentials: true });
        else c = git("expand", "git.config", "changes remotes", { writes: true });
        break;
      case "config":
        c = has(rest, "--get", "--get-all", "--get-regexp", "--list", "-l", "--show-origin", "get", "list") || (pos.length === 1 && !has(rest, "--unset", "--unset-all", "--add", "--replace-all", "--edit", "-e"))
          ? git("continue", "git.read", "reads configuration")
          : git("expand", "git.config", "changes git configuration", { writes: true });
        if (pos.some((w) => GIT_EXEC_CONFIG.test(w.text)) && c.rule === "git.config") c = git("commit", "system.persistence", "sets a git option that runs commands", { writes: true });
        break;
      case "fetch":
      case "ls-remote":
        c = git("expand", "git.fetch", `git ${sub} contacts a remote`, { network: true, credentials: true });
        break;
      case "pull":
        c = git("expand", "git.pull", "fetches and integrates remote commits", { network: true, credentials: true, writes: true });
        break;
      case "clone":
        c = git("expand", "git.clone", "clones a repository", { network: true, credentials: true, writes: true });
        break;
      case "submodule":
      case "lfs":
        c = git("expand", `git.${sub}`, `git ${sub} may fetch and write`, { network: true, credentials: true, writes: true });
        break;
      case "send-email":
      case "p4":
      case "svn":
        c = git("commit", "git.push", `git ${sub} sends commits elsewhere`, { network: true, credentials: true });
        break;
      case "credential":
      case "credential-cache":
      case "credential-store":
        c = mk("commit", "secrets.git-credential", "reads or stores git credentials", { credentials: true });
        break;
      default:
        if (GIT_READ.has(sub)) c = git("continue", "git.read", `git ${sub} only reads`);
        else if (GIT_WRITE.has(sub)) c = git("expand", "git.write", `git ${sub} changes the repository or working tree`, { writes: true });
        else c = git("expand", "git.other", `git ${sub} is not a subcommand Airlock knows (maybe an alias)`, { externalTools: true });
        if (sub === "diff" && has(rest, "--output")) c = git("expand", "git.write", "git diff --output writes a file", { writes: true });
    }
  }
  if (execConfig !== null) c = atLeast(c, "expand", "git.config-exec", `git -c ${execConfig} can run arbitrary commands`, { externalTools: true });
  void st;
  return c;
}

function classifyGh(args: Word[]): Classification {
  const pos = texts(positionals(args));
  const [g, v] = pos;
  const net = { network: true, credentials: true };
  if (g === "auth" && (v === "token" || args.some((w) => w.text === "--show-token" || w.text === "-t"))) return mk("commit", "secrets.gh-token", "prints the GitHub token", { credentials: true });
  if (g === "auth" && (v === "login" || v === "refresh" || v === "logout" || v === "setup-git")) return mk("commit", "secrets.gh-auth", "changes GitHub credentials", net);
  if (g === "release" && v !== "list" && v !== "view" && v !== "download") return mk("commit", "deploy.gh-release", `gh release ${v ?? ""} publishes a release`, net);
  if (g === "pr" && v === "merge") return mk("commit", "git.merge", "merges a pull request", net);
  if ((g === "repo" && ["create", "delete", "archive", "rename", "edit", "sync", "unarchive"].includes(v ?? "")) || ((g === "secret" || g === "variable") && v !== "list") || (g === "workflow" && v !== "list" && v !== "view") || (g === "run" && (v === "rerun" || v === "cancel" || v === "delete")) || g === "ruleset" && v !== "list" && v !== "view") {
    return mk("commit", "gh.admin", `gh ${g} ${v ?? ""} changes the repository's settings, secrets or automation`, net);
  }
  if (g === "api") {
    const method = args.findIndex((w) => w.text === "-X" || w.text === "--method");
    const m = method >= 0 ? args[method + 1]?.text.toUpperCase() : args.some((w) => /^(-f|-F|--field|--raw-field|--input)$/.test(w.text)) ? "POST" : "GET";
    if (m !== "GET") return mk("commit", "gh.admin", `gh api ${m} changes GitHub state`, net);
  }
  return mk("expand", "gh.network", `gh ${g ?? ""} ${v ?? ""} talks to GitHub`.trim(), { ...net, externalTools: true });
}

// ------------------------------------------------------------------ builds, tests, packages

/** package.json-style script names. */
function scriptClass(script: string, tool: string): Classification {
  const ext = { externalTools: true };
  if (/deploy|release|publish|ship|upload/i.test(script)) return mk("commit", "deploy.script", `${tool} script "${script}" deploys or publishes`, { ...ext, network: true, credentials: true });
  if (/fix|write|format(?!:?check)|fmt(?!:?check)|migrate|seed|clean|reset/i.test(script)) return mk("expand", "exec.script", `${tool} script "${script}" changes files or state`, { ...ext, writes: true });
  if (/^(test|tests|unit|e2e|spec|coverage|vitest|jest)([:_-].*)?$/i.test(script)) return mk("continue", "test.script", `${tool} runs the "${script}" tests`, ext);
  if (/^(build|compile|lint|typecheck|type-check|types|tsc|check|verify|format:check|fmt:check|prettier:check)([:_-].*)?$/i.test(script)) return mk("continue", "build.script", `${tool} runs the "${script}" build or check`, ext);
  return mk("expand", "exec.script", `${tool} script "${script}" runs project-defined code`, ext);
}

const pkg = (rule: string, reason: string): Classification => mk("expand", rule, reason, { network: true, writes: true, externalTools: true });
const JS_TEST = new Set(["vitest", "jest", "mocha", "ava", "tap", "c8", "nyc", "uvu", "karma", "jasmine", "cucumber-js"]);
const LINTERS = new Set(["eslint", "prettier", "biome", "oxlint", "stylelint", "ruff", "black", "mypy", "flake8", "pylint", "pyflakes", "isort", "shellcheck", "golangci-lint", "rubocop", "rustfmt", "gofmt", "clang-format", "markdownlint", "hadolint", "tflint", "yamllint", "pyright", "standard", "xo"]);
const RUNNERS = new Set(["npx", "bunx", "pnpx", "uvx"]);

function classifyBuild(name: string, args: Word[], st: State): Classification | null {
  const a = texts(args);
  const pos = texts(positionals(args));
  const sub = pos[0];
  const ext = { externalTools: true };
  if (JS_TEST.has(name) || (name === "playwright" && sub === "test") || (name === "cypress" && sub === "run")) return mk("continue", "test.js", `runs the ${name} tests`, ext);
  if (["pytest", "py.test", "rspec", "phpunit", "ctest", "nextest", "tox", "nox"].includes(name)) return mk("continue", name === "pytest" || name === "py.test" ? "test.pytest" : "test.other", `runs the ${name} tests`, ext);
  if (name === "tsc" || name === "vue-tsc") return mk("continue", "build.tsc", a.includes("--noEmit") ? "type-checks" : "compiles TypeScript", ext);
  if (LINTERS.has(name)) {
    const fixes = a.some((t) => /^(--fix|--write|-w|--apply|--apply-unsafe|--unsafe|-i|--in-place)$/.test(t)) || (["black", "isort", "rustfmt", "clang-format"].includes(name) && !a.some((t) => /^--(check|diff)$/.test(t))) || (name === "ruff" && sub === "format" && !a.includes("--check")) || (name === "biome" && (sub === "format" || sub === "lint") && a.includes("--write")) || (name === "prettier" && !a.some((t) => /^(--check|-c|--list-different|-l)$/.test(t)));
    return fixes ? mk("expand", "lint.fix", `${name} rewrites files`, { ...ext, writes: true }) : mk("continue", "lint.check", `${name} only checks`, ext);
  }
  if (["vite", "next", "webpack", "esbuild", "rollup", "tsup", "turbo", "nx", "parcel", "swc", "babel"].includes(name)) {
    if (a.includes("build") || ["webpack", "esbuild", "rollup", "tsup", "swc", "babel"].includes(name) || (name === "turbo" || name === "nx") && a.some((t) => /^(build|test|lint|typecheck)$/.test(t))) return mk("continue", "build.js", `${name} builds`, ext);
    return mk("expand", "exec.tool", `${name} ${sub ?? ""} runs a dev server or task`.trim(), ext);
  }
  if (RUNNERS.has(name) || (name === "pipx" && sub === "run")) {
    const rest = name === "pipx" ? args.slice(args.findIndex((w) => w.text === "run") + 1) : args;
    const c = rest.findIndex((w) => w.text === "-c" || w.text === "--call");
    if (c >= 0) return classifyLine(rest[c + 1]?.text ?? "", st);
    const inner = skipOptions(rest, ["-p", "--package", "--from", "--with"]);
    if (inner.length === 0) return pkg("pkg.npx", `${name} without a command`);
    const r = classifyWords(inner, st);
    return r.rule === "unknown" || r.rule === "exec.local-script" ? pkg("pkg.npx", `${name} may download and run the package ${inner[0]?.text ?? ""}`) : r;
  }
  switch (name) {
    case "npm":
    case "pnpm":
    case "yarn":
    case "bun": {
      const tool = name;
      const optArgs = ["--prefix", "-w", "--workspace", "--filter", "-F", "-C", "--dir", "--registry", "--cwd"];
      let i = 0;
      while (i < args.length && (args[i] as Word).text.startsWith("-")) i += optArgs.includes((args[i] as Word).text) ? 2 : 1;
      const s = args[i]?.text;
      const rest = args.slice(i + 1);
      const restPos = texts(positionals(rest));
      if (s === undefined) return tool === "yarn" ? pkg("pkg.yarn", "yarn installs dependencies") : mk("continue", "read.version", `${tool} prints help`);
      if (["test", "t", "tst"].includes(s)) return mk("continue", "test.npm", `${tool} test runs the project's tests`, ext);
      if (s === "run" || s === "run-script" || s === "rum" || s === "urn") {
        const script = restPos[0];
        if (script === undefined) return mk("continue", "read.npm", "lists scripts");
        if (tool === "bun" && /\.(m?[jt]sx?|c[jt]s)$/.test(script)) return mk("expand", "exec.script", `runs ${script}`, ext);
        return scriptClass(script, tool);
      }
      if (["install", "i", "ci", "add", "update", "up", "upgrade", "uninstall", "remove", "rm", "un", "r", "link", "ln", "dedupe", "prune", "rebuild", "rb", "import", "unlink", "patch", "audit"].includes(s)) {
        if (s === "audit" && !restPos.includes("fix")) return mk("expand", "net.registry", `${tool} audit queries the registry`, { network: true, ...ext });
        return pkg(`pkg.${tool === "bun" ? "bun" : tool}`, `${tool} ${s} changes installed packages`);
      }
      if (["exec", "x", "dlx", "create", "init", "innit"].includes(s)) {
        if ((s === "init" || s === "create") && restPos.length === 0) return mk("expand", "fs.create", `${tool} ${s} writes a package.json`, { writes: true });
        return classifyBuild("npx", rest.filter((w) => w.text !== "--"), st) ?? pkg("pkg.npx", "runs a package");
      }
      if (s === "publish" || s === "unpublish" || s === "deprecate" || s === "dist-tag" || s === "owner" || s === "access" || (s === "npm" && restPos[0] === "publish")) return mk("commit", "publish.npm", `${tool} ${s} publishes to the registry`, { network: true, credentials: true });
      if (["login", "adduser", "logout", "token", "whoami"].includes(s)) return mk("commit", "secrets.npm", `${tool} ${s} handles registry credentials`, { network: true, credentials: true });
      if (["ls", "list", "ll", "la", "explain", "why", "root", "prefix", "bin", "help", "version", "-v", "--version", "config", "get", "pkg", "query", "fund", "doctor"].includes(s) && !(s === "version" && restPos.length > 0) && !(s === "pkg" && restPos[0] === "set") && !(s === "config" && (restPos[0] === "set" || restPos[0] === "delete"))) {
        return mk("continue", "read.npm", `${tool} ${s} only reads`);
      }
      if (["view", "info", "show", "outdated", "search", "v"].includes(s)) return mk("expand", "net.registry", `${tool} ${s} queries the registry`, { network: true, ...ext });
      if (s === "start" || s === "dev" || s === "serve" || s === "preview") return mk("expand", "exec.script", `${tool} ${s} starts the project`, ext);
      if (s === "build" && tool !== "npm") return scriptClass(s, tool);
      if (s === "version") return mk("expand", "git.write", `${tool} version bumps the version and tags`, { writes: true });
      if (tool !== "npm" && /^[\w:.-]+$/.test(s) && !["publish"].includes(s)) {
        if (tool === "bun" && /\.(m?[jt]sx?|c[jt]s)$/.test(s)) return mk("expand", "exec.script", `runs ${s}`, ext);
        return scriptClass(s, tool);
      }
      return mk("expand", "npm.other", `${tool} ${s} is not a subcommand Airlock knows`, ext);
    }
    case "pip":
    case "pip3":
    case "uv":
    case "poetry":
    case "pipenv":
    case "conda":
    case "mamba":
    case "pipx": {
      const s = name === "uv" && sub === "pip" ? pos[1] : sub;
      if (["install", "uninstall", "download", "wheel", "add", "remove", "sync", "lock", "update", "upgrade", "inject", "venv", "create"].includes(s ?? "") || (name === "uv" && sub === "tool" && pos[1] === "install")) return pkg(`pkg.${name.replace(/3$/, "")}`, `${name} ${s ?? ""} changes installed packages`);
      if (s === "publish" || s === "upload") return mk("commit", "publish.pypi", `${name} publishes a package`, { network: true, credentials: true });
      if (s === "run") {
        const rest = args.slice(args.findIndex((w) => w.text === "run") + 1);
        const inner = skipOptions(rest, ["--with", "--python", "-p", "--from", "--package"]);
        return inner.length === 0 ? mk("expand", "exec.script", `${name} run`, ext) : classifyWords(inner, st);
      }
      if (["list", "show", "freeze", "check", "search", "env", "config", "info"].includes(s ?? "")) return mk("continue", "read.pip", `${name} ${s ?? ""} only reads`);
      if (s === "build") return mk("continue", "build.python", `${name} builds a package`, ext);
      return pkg(`pkg.${name.replace(/3$/, "")}`, `${name} ${s ?? ""}`);
    }
    case "twine":
      return sub === "upload" ? mk("commit", "publish.pypi", "uploads to PyPI", { network: true, credentials: true }) : mk("continue", "build.python", `twine ${sub ?? ""}`, ext);
    case "gem":
      return sub === "push" || sub === "yank" || sub === "owner" ? mk("commit", "publish.gem", `gem ${sub}`, { network: true, credentials: true }) : sub === "list" || sub === "env" ? mk("continue", "read.pkg", "gem lists") : pkg("pkg.gem", `gem ${sub ?? ""}`);
    case "bundle":
    case "bundler":
      if (sub === "exec") return classifyWords(args.slice(args.findIndex((w) => w.text === "exec") + 1), st);
      return sub === "list" || sub === "show" || sub === "check" ? mk("continue", "read.pkg", `bundle ${sub}`) : pkg("pkg.bundler", `bundle ${sub ?? "install"}`);
    case "composer":
      return sub === "test" ? mk("continue", "test.other", "composer test", ext) : sub === "show" || sub === "validate" ? mk("continue", "read.pkg", `composer ${sub}`) : pkg("pkg.composer", `composer ${sub ?? ""}`);
    case "go":
      if (["test", "vet"].includes(sub ?? "")) return mk("continue", "test.go", `go ${sub ?? ""}`, ext);
      if (["build", "list", "env", "version", "doc", "help"].includes(sub ?? "") && !(sub === "env" && a.includes("-w"))) return mk("continue", sub === "build" ? "build.go" : "read.go", `go ${sub ?? ""}`, ext);
      if (sub === "fmt") return mk("expand", "lint.fix", "go fmt rewrites files", { ...ext, writes: true });
      if (sub === "run" || sub === "generate" || sub === "tool") return mk("expand", "exec.script", `go ${sub} runs code`, ext);
      return pkg("pkg.go", `go ${sub ?? ""} may download modules`);
    case "cargo": {
      if (sub === "test" || sub === "nextest" || sub === "bench") return mk("continue", "test.cargo", `cargo ${sub}`, ext);
      if (["build", "check", "clippy", "doc", "tree", "metadata", "b", "c", "t"].includes(sub ?? "")) {
        if (sub === "clippy" && a.includes("--fix")) return mk("expand", "lint.fix", "cargo clippy --fix rewrites files", { ...ext, writes: true });
        return mk("continue", sub === "t" ? "test.cargo" : "build.cargo", `cargo ${sub ?? ""}`, ext);
      }
      if (sub === "fmt") return a.includes("--check") ? mk("continue", "lint.check", "cargo fmt --check", ext) : mk("expand", "lint.fix", "cargo fmt rewrites files", { ...ext, writes: true });
      if (sub === "run" || sub === "r") return mk("expand", "exec.script", "cargo run runs the program", ext);
      if (["publish", "yank", "owner", "login", "logout"].includes(sub ?? "")) return mk("commit", "publish.cargo", `cargo ${sub ?? ""}`, { network: true, credentials: true });
      return pkg("pkg.cargo", `cargo ${sub ?? ""} changes dependencies`);
    }
    case "rustc":
    case "gcc":
    case "g++":
    case "clang":
    case "clang++":
    case "javac":
      return mk("continue", "build.compile", `${name} compiles`, ext);
    case "make":
    case "gmake":
    case "just":
    case "task": {
      const targets = texts(positionals(skipOptionsAll(args, ["-C", "-f", "-j", "--file", "--directory", "-I", "-o", "-W"]))).filter((t) => !t.includes("="));
      if (targets.some((t) => /deploy|release|publish|push|upload|ship/i.test(t))) return mk("commit", "deploy.make", `${name} ${targets.join(" ")} deploys or publishes`, { ...ext, network: true, credentials: true });
      if (targets.length === 0 || targets.every((t) => /^(all|build|compile|test|tests|check|lint|typecheck|vet|fmt-check|format-check|unit|e2e|coverage|docs|verify)$/i.test(t))) {
        return mk("continue", targets.some((t) => /test|check|unit|e2e|coverage|verify/i.test(t)) ? "test.make" : "build.make", `${name} ${targets.join(" ") || "(default target)"}`.trim(), ext);
      }
      if (targets.includes("install")) return mk("expand", "pkg.make-install", `${name} install installs onto this machine`, { ...ext, writes: true });
      return mk("expand", "exec.make", `${name} ${targets.join(" ")} runs project-defined targets`, ext);
    }
    case "mvn":
    case "gradle":
    case "gradlew":
    case "./gradlew":
    case "mvnw":
    case "sbt":
    case "dotnet":
    case "mix":
    case "swift":
    case "flutter":
    case "dart": {
      const goals = texts(positionals(args));
      if (goals.some((t) => /deploy|publish|release|push|upload/i.test(t))) return mk("commit", "deploy.build-tool", `${name} ${goals.join(" ")} publishes`, { ...ext, network: true, credentials: true });
      if (goals.length > 0 && goals.every((t) => /^(test|check|verify|build|compile|package|assemble|clean|lint|format|analyze|restore|:?[\w:-]*(test|check|build|compile|lint)[\w-]*)$/i.test(t))) {
        return mk("continue", goals.some((t) => /test|check|verify/i.test(t)) ? "test.jvm" : "build.jvm", `${name} ${goals.join(" ")}`, ext);
      }
      if (goals[0] === "add" || goals[0] === "get" || goals[0] === "install" || goals[0] === "pub") return pkg(`pkg.${name}`, `${name} ${goals.join(" ")}`);
      return mk("expand", "exec.build-tool", `${name} ${goals.join(" ")} runs project-defined tasks`, ext);
    }
    case "cmake":
      return mk("continue", "build.cmake", "cmake builds", ext);
    case "apt":
    case "apt-get":
    case "aptitude":
      return ["list", "show", "search", "policy", "depends", "rdepends"].includes(sub ?? "") ? mk("continue", "read.pkg", `${name} ${sub ?? ""}`) : pkg("pkg.apt", `${name} ${sub ?? ""} changes system packages`);
    case "apt-cache":
    case "dpkg-query":
    case "rpm":
      return mk("continue", "read.pkg", `${name} queries packages`);
    case "dnf":
    case "yum":
    case "zypper":
    case "pacman":
    case "apk":
    case "snap":
    case "port":
    case "choco":
    case "winget":
    case "scoop":
    case "nix-env":
    case "dpkg":
      return pkg("pkg.system", `${name} changes system packages`);
    case "brew":
      return ["list", "ls", "--prefix", "config", "leaves", "deps", "--version", "--cellar", "--repository", "shellenv"].includes(a[0] ?? "") ? mk("continue", "read.pkg", `brew ${a[0] ?? ""}`) : pkg("pkg.brew", `brew ${sub ?? ""} changes installed packages`);
  }
  return null;
}

function skipOptionsAll(ws: Word[], withArg: string[]): Word[] {
  const out: Word[] = [];
  for (let i = 0; i < ws.length; i++) {
    const t = (ws[i] as Word).text;
    if (withArg.includes(t)) i++;
    else out.push(ws[i] as Word);
  }
  return out;
}

// ------------------------------------------------------------------ files

function classifyFiles(name: string, args: Word[], st: State): Classification | null {
  const pos = positionals(args);
  const w = { writes: true };
  switch (name) {
    case "rm":
    case "rmdir":
    case "unlink":
    case "shred":
    case "trash":
    case "srm": {
      const recursive = hasShort(args, "r") || hasShort(args, "R") || has(args, "--recursive") || name === "rmdir";
      return writeTargets(mk("expand", "fs.rm", `${name} deletes ${texts(pos).join(" ")}`.trim(), w), pos, st, true, recursive);
    }
    case "mv":
    case "cp":
    case "ln":
    case "install":
    case "ditto": {
      const rule = name === "mv" ? "fs.move" : name === "cp" || name === "ditto" ? "fs.copy" : name === "ln" ? "fs.link" : "fs.write";
      const t = args.findIndex((x) => x.text === "-t" || x.text === "--target-directory");
      const dest = t >= 0 ? args.slice(t + 1, t + 2) : pos.slice(-1);
      let c = writeTargets(mk("expand", rule, `${name} writes ${dest[0]?.text ?? ""}`, w), dest, st);
      if (name === "mv") c = writeTargets(c, pos.slice(0, -1), st, true, true);
      return c;
    }
    case "chmod":
    case "chown":
    case "chgrp":
    case "chattr":
    case "setfacl":
      return writeTargets(mk("expand", "fs.chmod", `${name} changes permissions`, w), pos.slice(1), st, false, hasShort(args, "R") || has(args, "--recursive"));
    case "touch":
    case "mkdir":
    case "mktemp":
    case "mkfifo":
      return writeTargets(mk(name === "mktemp" ? "continue" : "expand", name === "mktemp" ? "fs.mktemp" : "fs.create", `${name} creates files`, name === "mktemp" ? {} : w), name === "mktemp" ? [] : pos, st);
    case "tee":
      return writeTargets(mk("expand", "fs.tee", `tee writes ${texts(pos).join(" ")}`, w), pos, st);
    case "truncate":
    case "patch":
    case "split":
    case "csplit":
      return writeTargets(mk("expand", "fs.write", `${name} writes files`, w), name === "truncate" ? pos : [], st);
    case "dd": {
      const of = args.find((x) => x.text.startsWith("of="));
      if (of && /^of=\/dev\/(?!null)/.test(of.text)) return mk("commit", "system.disk", "dd writes a device", w);
      return of ? writeTargets(mk("expand", "fs.write", "dd writes a file", w), [{ ...of, text: of.text.slice(3) }], st) : mk("continue", "read.file", "dd to stdout");
    }
    case "tar":
    case "bsdtar": {
      const mode = args[0]?.text ?? "";
      if (/^-?[A-Za-z]*t/.test(mode) && !/[cxru]/.test(mode.replace(/^-/, ""))) return mk("continue", "read.archive", "lists an archive");
      return mk("expand", "fs.archive", "tar creates or extracts an archive", w);
    }
    case "unzip":
      return args.some((x) => x.text === "-l" || x.text === "-t" || x.text === "-v") ? mk("continue", "read.archive", "lists an archive") : mk("expand", "fs.archive", "unzip extracts files", w);
    case "zip":
    case "gzip":
    case "gunzip":
    case "bzip2":
    case "bunzip2":
    case "xz":
    case "unxz":
    case "zstd":
    case "7z":
      return mk("expand", "fs.archive", `${name} writes archives`, w);
    case "zcat":
    case "bzcat":
    case "xzcat":
      return mk("continue", "read.file", `${name} only reads`);
    case "vim":
    case "vi":
    case "nvim":
    case "nano":
    case "emacs":
    case "code":
    case "subl":
    case "ed":
      return writeTargets(mk("expand", "fs.edit", `opens an editor on ${texts(pos).join(" ")}`, { ...w, externalTools: true }), pos, st);
    case "open":
    case "xdg-open":
      return mk("expand", "exec.open", "opens a file or URL with another application", { externalTools: true });
    case "mkfs":
    case "fdisk":
    case "parted":
    case "diskutil":
    case "mount":
    case "umount":
    case "losetup":
      return mk("commit", "system.disk", `${name} changes disks or mounts`, w);
  }
  if (name.startsWith("mkfs.")) return mk("commit", "system.disk", `${name} formats a disk`, w);
  return null;
}

// ------------------------------------------------------------------ deploys and infrastructure

const DEPLOY_VERBS = new Set(["deploy", "create", "delete", "update", "apply", "set", "add", "remove", "rm", "put", "patch", "replace", "start", "stop", "restart", "reset", "resize", "scale", "submit", "publish", "push", "upload", "cp", "mv", "rsync", "sync", "import", "export", "rollback", "promote", "enable", "disable", "destroy", "terminate", "invoke", "call", "ssh", "scp", "attach", "detach", "reboot", "run-instances", "modify", "tag", "untag", "grant", "revoke", "release", "mb", "rb", "setmeta", "purge", "undelete", "execute", "migrate", "upgrade", "install", "uninstall"]);
const READ_VERBS = new Set(["describe", "list", "get", "show", "ls", "read", "info", "version", "help", "logs", "tail", "whoami", "status", "get-iam-policy", "cat", "head", "wait", "stat", "du", "view"]);
const SECRET_VERBS = /^(print-access-token|print-identity-token|get-access-token|get-secret-value|get-login-password|get-session-token|assume-role|create-access-key|export-credentials|get-credentials|login|access|decrypt|application-default)$/;

function cloud(name: string, args: Word[]): Classification {
  const words = texts(args).filter((t) => !t.startsWith("-"));
  const net = { network: true, credentials: true, externalTools: true };
  if (words.some((t) => SECRET_VERBS.test(t)) || (words.includes("secret") && words.includes("show")) || (words.includes("configure") && name === "aws") || args.some((w) => w.text === "--with-decryption")) {
    return mk("commit", "secrets.cloud", `${name} ${words.slice(0, 3).join(" ")} reads or creates cloud credentials`, net);
  }
  const op = name === "aws" ? positionals(skipOptionsAll(args, ["--profile", "--region", "--output", "--endpoint-url", "--query", "--color"]))[1]?.text ?? "" : "";
  const isRead = name === "aws"
    ? /^(describe|list|get|head|ls|wait|filter|lookup|search|batch-get|query|scan|tail|validate)\b/.test(op) || op === "get-caller-identity"
    : !words.some((t) => DEPLOY_VERBS.has(t)) && words.some((t) => READ_VERBS.has(t));
  if (isRead) return mk("expand", "cloud.read", `${name} ${words.slice(0, 4).join(" ")} reads cloud state`, net);
  return mk("commit", `deploy.${name}`, `${name} ${words.slice(0, 4).join(" ")} changes cloud resources`, net);
}

function classifyDeploy(name: string, args: Word[]): Classification | null {
  const pos = texts(positionals(args));
  const [s, s2] = pos;
  const a = texts(args);
  const net = { network: true, credentials: true, externalTools: true };
  const commit = (rule: string, reason: string): Classification => mk("commit", rule, reason, net);
  const read = (rule: string, reason: string): Classification => mk("expand", rule, reason, net);
  switch (name) {
    case "docker":
    case "podman":
    case "nerdctl":
    case "docker-compose": {
      const sub0 = name === "docker-compose" ? "compose" : s;
      if (sub0 === "push") return commit("publish.container", `${name} push publishes an image`);
      if (sub0 === "login" || sub0 === "logout") return mk("commit", "secrets.registry", `${name} ${sub0} handles registry credentials`, net);
      if (["ps", "images", "logs", "inspect", "version", "info", "top", "stats", "history", "diff", "port"].includes(sub0 ?? "") || (sub0 === "compose" && ["ps", "logs", "config", "ls", "images", "top"].includes(name === "docker-compose" ? s ?? "" : s2 ?? ""))) {
        return mk("continue", "read.container", `${name} ${sub0 ?? ""} only reads`);
      }
      if (a.some((t) => t === "--privileged" || /^--(pid|ipc|userns|uts)=?host$/.test(t) || t.includes("docker.sock") || /^\/:/.test(t) || /^(~|\$HOME)(\/[^:]*)?:/.test(t) || /^--cap-add(=|$)/.test(t)) || (a.includes("--pid") && a.includes("host"))) {
        return mk("commit", "container.privileged", `${name} gives a container host-level access`, { ...net, writes: true });
      }
      if (sub0 === "run" || sub0 === "create" || (sub0 === "container" && s2 === "run")) return mk("expand", "container.run", `${name} runs a container`, { network: true, externalTools: true, writes: true });
      if (sub0 === "exec") return mk("expand", "container.exec", `${name} exec runs a command in a container`, { externalTools: true, writes: true });
      return mk("expand", "container.other", `${name} ${sub0 ?? ""} changes containers or images`, { network: true, externalTools: true, writes: true });
    }
    case "kubectl":
    case "oc":
    case "k9s":
      if (["get", "describe", "logs", "top", "explain", "version", "api-resources", "api-versions", "cluster-info", "diff", "auth", "port-forward", "proxy", "events", "wait"].includes(s ?? "") || (s === "config" && ["view", "current-context", "get-contexts", "get-clusters"].includes(s2 ?? ""))) {
        return read("infra.kubectl-read", `kubectl ${s ?? ""} reads the cluster`);
      }
      return commit("deploy.kubectl", `kubectl ${s ?? ""} changes the cluster`);
    case "helm":
      if (["template", "lint", "version", "create", "package", "show", "inspect", "env", "search", "dependency", "dep", "verify"].includes(s ?? "")) return mk("continue", "build.helm", `helm ${s ?? ""} works locally`, { externalTools: true });
      if (["list", "ls", "status", "get", "history"].includes(s ?? "")) return read("infra.helm-read", `helm ${s ?? ""} reads the cluster`);
      if (s === "repo") return mk("expand", "infra.helm-repo", "helm repo changes chart sources", { network: true, writes: true });
      return commit("deploy.helm", `helm ${s ?? ""} changes releases in the cluster`);
    case "terraform":
    case "tofu":
    case "terragrunt":
      if (["apply", "destroy", "import", "taint", "untaint", "force-unlock", "run-all", "push"].includes(s ?? "") || (s === "state" && !["list", "show", "pull"].includes(s2 ?? "")) || (s === "workspace" && s2 === "delete")) return commit("deploy.terraform", `${name} ${s ?? ""} changes infrastructure`);
      if (s === "validate" || s === "version" || (s === "fmt" && a.includes("-check"))) return mk("continue", "build.terraform", `${name} ${s ?? ""} checks locally`, { externalTools: true });
      if (s === "fmt") return mk("expand", "lint.fix", "terraform fmt rewrites files", { writes: true, externalTools: true });
      return read("infra.terraform-read", `${name} ${s ?? ""} reads infrastructure state`);
    case "pulumi":
      if (["up", "update", "destroy", "import", "refresh", "cancel"].includes(s ?? "") || (s === "stack" && (s2 === "rm" || s2 === "import")) || s === "config" && s2 === "set") return commit("deploy.pulumi", `pulumi ${s ?? ""} changes infrastructure`);
      return read("infra.pulumi-read", `pulumi ${s ?? ""}`);
    case "cdk":
    case "sam":
    case "serverless":
    case "sls":
    case "firebase":
    case "netlify":
    case "eb":
    case "amplify":
    case "copilot":
      if (pos.some((t) => /^(deploy|destroy|remove|delete|publish|release|rollback|terminate|push|bootstrap)$|^(deploy|hosting):/.test(t))) return commit(`deploy.${name}`, `${name} ${s ?? ""} deploys`);
      return read(`infra.${name}`, `${name} ${s ?? ""}`);
    case "vercel":
    case "vc":
      if (["dev", "ls", "list", "inspect", "logs", "whoami", "pull", "link", "login", "help", "build", "env"].includes(s ?? "") && !(s === "env" && (s2 === "add" || s2 === "rm"))) return read("infra.vercel", `vercel ${s ?? ""}`);
      return commit("deploy.vercel", `vercel ${s ?? "(bare)"} deploys`);
    case "fly":
    case "flyctl":
    case "heroku":
    case "railway":
    case "render":
    case "doctl":
    case "wrangler":
      return classifyPlatform(name, args);
    case "ansible-playbook":
    case "ansible":
      return a.includes("--check") || a.includes("-C") ? read("infra.ansible", `${name} --check`) : commit("deploy.ansible", `${name} changes remote hosts`);
    case "aws":
    case "gcloud":
    case "gsutil":
    case "az":
    case "bq":
      return cloud(name, args);
  }
  return null;
}

function classifyPlatform(name: string, args: Word[]): Classification {
  const pos = texts(positionals(args));
  const [s, s2] = pos;
  const a = texts(args);
  const net = { network: true, credentials: true, externalTools: true };
  if (name === "wrangler") {
    if (["deploy", "publish", "rollback", "delete", "secret", "triggers"].includes(s ?? "") || (s === "versions" && (s2 === "deploy" || s2 === "upload")) || (s === "deployments" && s2 !== "list" && s2 !== "status")) {
      return mk("commit", "deploy.wrangler", `wrangler ${s ?? ""} changes the deployed Worker`, net);
    }
    if (s === "d1" && (s2 === "execute" || s2 === "migrations") && !a.includes("--local")) {
      if (s2 === "migrations" && pos[2] === "list") return mk("expand", "infra.wrangler", "wrangler d1 migrations list", net);
      return mk("commit", "deploy.wrangler", `wrangler d1 ${s2} changes a remote database`, net);
    }
    if (pos.slice(1).some((t) => ["put", "delete", "create", "deploy", "publish", "upload", "apply", "bulk", "update", "purge"].includes(t)) && !a.includes("--local")) {
      return mk("commit", "deploy.wrangler", `wrangler ${pos.slice(0, 3).join(" ")} changes remote resources`, net);
    }
    return mk("expand", "infra.wrangler", `wrangler ${s ?? ""}`, net);
  }
  if (pos.some((t) => /^(deploy|launch|destroy|scale|restart|rollback|up|redeploy|secrets?|config:(set|unset)|ps:scale|releases:rollback|apps:destroy|pg:reset|create|delete|rm|remove|set|unset|import|run|ssh|console|exec)$/.test(t) || /:(set|unset|destroy|rollback|reset|scale|restart|create|remove|promote)$/.test(t))) {
    return mk("commit", `deploy.${name === "flyctl" ? "fly" : name}`, `${name} ${pos.slice(0, 3).join(" ")} changes a deployment`, net);
  }
  return mk("expand", `infra.${name === "flyctl" ? "fly" : name}`, `${name} ${s ?? ""}`.trim(), net);
}

function classifySystem(name: string, args: Word[]): Classification | null {
  const a = texts(args);
  const pos = texts(positionals(args));
  switch (name) {
    case "kill":
    case "pkill":
    case "killall":
      return mk("expand", "proc.kill", `${name} stops processes`);
    case "shutdown":
    case "reboot":
    case "halt":
    case "poweroff":
      return mk("commit", "system.power", `${name} powers the machine off or restarts it`, { writes: true });
    case "crontab":
      return a.includes("-l") ? mk("continue", "read.system", "lists the crontab") : mk("commit", "system.persistence", "changes scheduled jobs", { writes: true });
    case "launchctl":
      return ["list", "print", "blame"].includes(pos[0] ?? "") ? mk("continue", "read.system", "launchctl reads") : mk("commit", "system.persistence", "launchctl loads or changes services", { writes: true });
    case "systemctl":
    case "service":
      if (["status", "list-units", "list-unit-files", "is-active", "is-enabled", "show", "cat", "--version"].includes(pos[0] ?? "") || pos.length === 0) return mk("continue", "read.system", `${name} reads service state`);
      if (["enable", "disable", "mask", "unmask", "edit", "daemon-reload", "link", "set-property"].includes(pos[0] ?? "") || pos[1] === "enable") return mk("commit", "system.persistence", `${name} changes which services start`, { writes: true });
      return mk("expand", "system.service", `${name} ${pos.join(" ")}`, { writes: true });
    case "useradd":
    case "userdel":
    case "usermod":
    case "adduser":
    case "deluser":
    case "passwd":
    case "chpasswd":
    case "visudo":
    case "groupadd":
    case "groupdel":
    case "dscl":
      return mk("commit", "system.accounts", `${name} changes user accounts`, { credentials: true, writes: true });
    case "iptables":
    case "ip6tables":
    case "nft":
    case "ufw":
    case "pfctl":
    case "firewall-cmd":
      return a.some((t) => /^(-L|-S|--list|status|list)/.test(t)) ? mk("expand", "system.firewall-read", `${name} lists rules`, { credentials: true }) : mk("commit", "system.firewall", `${name} changes the firewall`, { writes: true });
    case "sysctl":
      return a.includes("-w") || a.some((t) => t.includes("=")) ? mk("commit", "system.kernel", "sysctl changes kernel settings", { writes: true }) : mk("continue", "read.system", "sysctl reads");
    case "defaults":
      return pos[0] === "read" ? mk("continue", "read.system", "defaults read") : mk("expand", "system.settings", "defaults changes settings", { writes: true });
  }
  return null;
}

// ------------------------------------------------------------------ file changes and permissions

const FILE_RULES: { re: RegExp; tier: Tier; rule: string; reason: string; flags: FlagInit }[] = [
  { re: POLICY_PATH, tier: "commit", rule: "files.policy", reason: "changes an Airlock policy file", flags: {} },
  { re: /(^|\/)\.git\/(hooks\/|config$)/, tier: "commit", rule: "files.git-internals", reason: "changes git hooks or config, which run code", flags: {} },
  { re: /(^|\/)\.(github\/workflows|github\/actions|circleci|buildkite|gitlab|woodpecker|drone)\/|(^|\/)(\.gitlab-ci\.ya?ml|Jenkinsfile|azure-pipelines\.ya?ml|\.travis\.yml|bitbucket-pipelines\.yml|cloudbuild\.ya?ml|\.pre-commit-config\.yaml|CODEOWNERS)$/, tier: "expand", rule: "files.ci", reason: "changes CI configuration (runs with CI secrets once pushed)", flags: {} },
  { re: /\.(tf|tfvars|hcl)$|(^|\/)(k8s|kubernetes|helm|charts|deploy|deployment|infra|infrastructure|terraform|ansible|pulumi)\/|(^|\/)(Chart\.ya?ml|wrangler\.(toml|jsonc?)|fly\.toml|vercel\.json|netlify\.toml|serverless\.ya?ml|app\.ya?ml|Procfile|docker-compose[\w.-]*\.ya?ml|compose\.ya?ml|Dockerfile[\w.-]*|skaffold\.ya?ml|cdk\.json|Pulumi[\w.-]*\.ya?ml)$/, tier: "expand", rule: "files.infra", reason: "changes infrastructure or deployment configuration", flags: {} },
  { re: /(^|\/)(package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?|Cargo\.lock|go\.sum|poetry\.lock|Pipfile\.lock|uv\.lock|Gemfile\.lock|composer\.lock|flake\.lock|packages\.lock\.json|gradle\.lockfile)$/, tier: "expand", rule: "files.lockfile", reason: "changes a dependency lockfile", flags: {} },
  { re: /(^|\/)(package\.json|requirements[\w.-]*\.txt|pyproject\.toml|setup\.py|setup\.cfg|Pipfile|Cargo\.toml|go\.mod|Gemfile|composer\.json|build\.gradle(\.kts)?|pom\.xml|\.npmrc|\.yarnrc(\.yml)?|\.nvmrc|Makefile|tsconfig[\w.-]*\.json|vitest\.config\.\w+|\.gitmodules|\.gitattributes)$/, tier: "expand", rule: "files.manifest", reason: "changes dependencies, build or tool configuration", flags: {} },
];

/** Files changed by an edit (paths relative to cwd or absolute). */
export function classifyFileChange(paths: readonly string[], context: ClassifyContext = {}): Classification {
  const root = context.cwd !== undefined && context.cwd.startsWith("/") ? posix.normalize(context.cwd).replace(/(.)\/$/, "$1") : VIRTUAL_WORKSPACE;
  const st: State = { root, cwd: root, depth: 0, pipeIn: false };
  if (paths.length === 0) return mk("continue", "files.none", "no files");
  let c: Classification = mk("continue", "files.workspace", `edits ${paths.length} file${paths.length === 1 ? "" : "s"} in the workspace`, { writes: true });
  for (const p of paths) {
    const w: Word = { text: p, dynamic: false, vars: [], substs: [] };
    const abs = resolvePath(w, st) ?? p;
    const rel = abs.startsWith(root + "/") ? abs.slice(root.length + 1) : abs;
    const pc = pathClass(w, st);
    if (isSecretPath(p) || isSecretPath(abs)) c = max(c, mk("commit", "files.secrets", `changes ${p}, which holds secrets`, { writes: true, credentials: true }));
    else if (PERSISTENCE_PATH.test(abs) && pc !== "inside") c = max(c, mk("commit", "system.persistence", `changes ${p}, which runs code at login or in git`, { writes: true }));
    else if (pc !== "inside" && pc !== "workspace") c = max(c, mk("commit", "files.outside-workspace", `changes ${p}, outside the workspace`, { writes: true }));
    for (const r of FILE_RULES) {
      if (r.re.test(rel)) {
        c = max(c, mk(r.tier, r.rule, `${r.reason}: ${p}`, { ...r.flags, writes: true }));
        break;
      }
    }
  }
  if (c.tier === "continue" && paths.length > MANY_FILES) c = mk("expand", "files.many", `edits ${paths.length} files (more than ${MANY_FILES})`, { writes: true });
  return c;
}

/** More files than this in one change is "expand". */
export const MANY_FILES = 10;

/** A permission request that is not a command or a file change. */
export function classifyPermission(kind: string): Classification {
  const k = kind.toLowerCase().replace(/[-\s]/g, "_");
  switch (k) {
    case "question":
    case "choice":
    case "plan":
    case "user_input":
    case "elicitation":
    case "clarification":
      return mk("steer", "permission.question", "a question about direction, not an action");
    case "read":
    case "file_read":
    case "list":
      return mk("continue", "permission.read", "read access to the workspace");
    case "write":
    case "file_write":
    case "file_change":
    case "edit":
      return mk("expand", "permission.write", "write access", { writes: true });
    case "network":
    case "web_fetch":
    case "web_search":
    case "fetch":
      return mk("expand", "permission.network", "network access", { network: true });
    case "command":
    case "exec":
    case "shell":
      return mk("expand", "permission.exec", "runs commands not shown", { externalTools: true });
    case "mcp":
    case "tool":
    case "mcp_tool":
      return mk("expand", "permission.tool", "uses an external tool", { externalTools: true });
    case "credentials":
    case "secrets":
    case "secret":
    case "keychain":
      return mk("commit", "permission.credentials", "access to credentials", { credentials: true });
    case "full_access":
    case "danger_full_access":
    case "sandbox_escape":
    case "escalate":
    case "bypass_permissions":
      return mk("commit", "permission.full-access", "leaves the sandbox with full access", { network: true, credentials: true, externalTools: true, writes: true });
  }
  return mk("expand", "permission.unknown", `unknown permission kind "${kind}"; asking conservatively`);
}
