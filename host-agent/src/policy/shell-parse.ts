// Shell tokenizer: splits a command line into simple commands the way a POSIX
// shell would (quotes, backslash escapes, `$'…'`, line continuations,
// redirections, here-docs, `&&` `||` `;` `|` `&` newlines and subshells), so
// the rules see `git "push"` and `g\it push` as the push they are. It decides
// nothing about risk: it reports which words are dynamic (`$VAR`, `$(…)`), the
// sources of every substitution (classified as commands of their own), and
// what it could not parse (which the classifier treats as "expand").

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

/** A word taken as is (an argv element, a path from a file edit). */
export const literalWord = (text: string): Word => ({ text, dynamic: false, vars: [], substs: [] });

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
  /**
   * A substitution from `i` to its closing character `end` (-1: unterminated,
   * so it runs to the end of the line) whose source starts at `from`: it is
   * recorded to be classified as its own command. Returns the index after it.
   */
  const enclosed = (i: number, end: number, from: number, what: string): number => {
    if (end < 0) {
      out.errors.push(`unterminated ${what}`);
      subst(src.slice(from));
      return src.length;
    }
    subst(src.slice(from, end));
    word.text += src.slice(i, end + 1);
    return end + 1;
  };
  /** A variable or arithmetic expansion from `i` to `stop`: kept as written, marked dynamic. */
  const expansion = (i: number, stop: number): number => {
    word.text += src.slice(i, stop);
    word.dynamic = true;
    word.started = true;
    return stop;
  };
  /** A `command substitution` at i. */
  const backtick = (i: number): number => enclosed(i, matchBacktick(src, i), i + 1, "backtick");
  /** `$…` at i; returns the index after it. */
  const dollar = (i: number): number => {
    const n = src[i + 1];
    if (n === "(" && src[i + 2] === "(") {
      const end = src.indexOf("))", i + 3);
      return expansion(i, end < 0 ? src.length : end + 2);
    }
    if (n === "(") return enclosed(i, matchParen(src, i + 1), i + 2, "$(");
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
      return expansion(i, stop + 1);
    }
    if (n !== undefined && NAME_START.test(n)) {
      let j = i + 1;
      while (j < src.length && NAME_CHAR.test(src[j] ?? "")) j++;
      word.vars.push(src.slice(i + 1, j));
      return expansion(i, j);
    }
    if (n !== undefined && /[0-9?@*#$!-]/.test(n)) return expansion(i, i + 2);
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
      i = enclosed(i, matchParen(src, i + 1), i + 2, `${c}(`);
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
