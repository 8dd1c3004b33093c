// Read-only utilities and shell builtins: listing, reading, searching and
// transforming text (ls, cat, grep, jq, sort, sed, awk…) is "continue"; the
// exceptions that write (`sort -o`, `sed -i`, `yq -i`, awk programs that
// print to files or run commands) are "expand", and builtins that print or
// set secret variables are treated as secrets.
import { mk, type Classification } from "../classification.ts";
import { writeTargets } from "../paths.ts";
import { isSecretVar, printsEnvironment, setsSecretVar } from "../secrets.ts";
import { has, positionals, texts } from "../words.ts";
import type { Rule } from "./rule.ts";

const READ_LIST = new Set([
  "ls",
  "ll",
  "la",
  "dir",
  "tree",
  "stat",
  "file",
  "du",
  "df",
  "realpath",
  "readlink",
  "basename",
  "dirname",
  "pwd",
  "which",
  "whereis",
  "type",
  "locate",
  "lsof",
]);
const READ_FILE = new Set([
  "cat",
  "tac",
  "less",
  "more",
  "bat",
  "batcat",
  "nl",
  "od",
  "xxd",
  "hexdump",
  "strings",
  "head",
  "tail",
  "wc",
  "md5sum",
  "md5",
  "sha1sum",
  "sha256sum",
  "sha512sum",
  "shasum",
  "cksum",
  "b2sum",
]);
const READ_SEARCH = new Set(["grep", "egrep", "fgrep", "rg", "ag", "ack", "zgrep"]);
const READ_TEXT = new Set([
  "sort",
  "uniq",
  "cut",
  "tr",
  "jq",
  "column",
  "paste",
  "join",
  "comm",
  "diff",
  "cmp",
  "fold",
  "fmt",
  "rev",
  "seq",
  "numfmt",
  "base64",
  "expand",
  "unexpand",
  "tsort",
  "colordiff",
  "delta",
]);
const READ_SYSTEM = new Set([
  "whoami",
  "id",
  "hostname",
  "uname",
  "date",
  "uptime",
  "ps",
  "free",
  "groups",
  "nproc",
  "arch",
  "sw_vers",
  "lsb_release",
  "sleep",
  "true",
  "false",
  "test",
  "[",
  "[[",
  ":",
  "cal",
  "tty",
  "locale",
  "getconf",
  "man",
  "info",
  "help",
  "clear",
  "tput",
]);
const BUILTINS = new Set([
  "cd",
  "pushd",
  "popd",
  "export",
  "unset",
  "shopt",
  "alias",
  "unalias",
  "hash",
  "local",
  "declare",
  "typeset",
  "readonly",
  "trap",
  "wait",
  "jobs",
  "fg",
  "bg",
  "umask",
  "ulimit",
  "history",
  "exit",
  "return",
  "break",
  "continue",
  "shift",
  "getopts",
  "read",
  "set",
  "dirs",
  "disown",
  "let",
]);

export const readOnlyRule: Rule = (name, args, st): Classification | null => {
  if (name === "for" || name === "case") return mk("continue", "shell.control", `${name} is shell control flow; its body is classified separately`);
  if (READ_LIST.has(name)) return mk("continue", "read.list", `${name} only reads`);
  if (READ_FILE.has(name)) return mk("continue", "read.file", `${name} only reads`);
  if (READ_SEARCH.has(name)) return mk("continue", "read.search", `${name} only reads`);
  if (READ_TEXT.has(name)) {
    if (name === "sort" && has(args, "-o", "--output"))
      return writeTargets(
        mk("expand", "fs.write", "sort -o writes a file", { writes: true }),
        args.filter((_, i) => args[i - 1]?.text === "-o"),
        st,
      );
    return mk("continue", "read.text", `${name} only transforms text`);
  }
  if (name === "yq")
    return has(args, "-i", "--inplace")
      ? mk("expand", "fs.edit-in-place", "yq -i edits files in place", { writes: true })
      : mk("continue", "read.text", "yq only transforms text");
  if (name === "echo" || name === "printf") return mk("continue", "read.echo", `${name} prints its arguments`);
  if (READ_SYSTEM.has(name)) return mk("continue", "read.system", `${name} only reads`);
  if (name === "printenv") {
    if (args.length === 0) return printsEnvironment();
    return texts(args).some(isSecretVar)
      ? mk("commit", "secrets.env-var", "prints a secret variable", { credentials: true })
      : mk("continue", "read.system", "prints an environment variable");
  }
  if (BUILTINS.has(name)) {
    if ((name === "set" || name === "declare" || name === "typeset" || name === "export") && (args.length === 0 || args[0]?.text === "-p"))
      return printsEnvironment();
    for (const t of texts(args)) {
      const n = t.replace(/\+?=.*$/s, ""); // `export NAME+=…` appends to NAME
      if (t.includes("=") && isSecretVar(n)) return setsSecretVar(n);
    }
    return mk("continue", "shell.builtin", `${name} is a shell builtin`);
  }
  if (name === "sed") {
    const inPlace = args.some((w) => /^-[A-Za-z]*i/.test(w.text) || w.text === "--in-place" || w.text.startsWith("--in-place="));
    return inPlace
      ? mk("expand", "fs.edit-in-place", "sed -i edits files in place", { writes: true })
      : mk("continue", "read.text", "sed without -i only prints");
  }
  if (name === "awk" || name === "gawk" || name === "mawk" || name === "nawk") {
    if (has(args, "-f", "-i", "--file")) return mk("expand", "exec.script", "runs an awk program file", { externalTools: true });
    const prog = positionals(args)[0]?.text ?? "";
    if (/system\s*\(|\|\s*getline|\bprint[f]?\b[^;}]*>|"\s*\|/.test(prog))
      return mk("expand", "exec.awk", "the awk program writes files or runs commands", { writes: true, externalTools: true });
    return mk("continue", "read.text", "awk only transforms text");
  }
  return null;
};
