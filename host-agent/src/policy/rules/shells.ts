// Shells and interpreters: `bash -c "…"` is classified by its inner command;
// a script file or inline code is "expand" (code we cannot read here); code
// fed from a pipe is rule "shell.stdin", which the composer turns into
// `pipe.remote-exec` (COMMIT) when the pipe carries network output
// (`curl … | sh`); `sh -c "$(curl …)"` and `bash <(curl …)` are COMMIT here.
// `python -m pip` and friends go to the package rules.
import { mk, type Classification } from "../classification.ts";
import type { Word } from "../shell-parse.ts";
import { has, positionals } from "../words.ts";
import { classifyBuild } from "./build.ts";
import type { Inner, Rule, State } from "./rule.ts";

export const SHELLS = new Set(["sh", "bash", "zsh", "dash", "ksh", "fish", "ash", "mksh", "csh", "tcsh"]);
export const INTERPRETERS = new Set([
  "python",
  "python3",
  "python2",
  "node",
  "nodejs",
  "ruby",
  "perl",
  "php",
  "deno",
  "bun",
  "lua",
  "Rscript",
  "osascript",
  "pwsh",
  "powershell",
]);

export const shellRule: Rule = (name, args, st, run) => {
  if (SHELLS.has(name)) return classifyShell(name, args, st, run);
  if (!INTERPRETERS.has(name)) return null;
  const sub = positionals(args)[0]?.text;
  // `deno task`, `bun install`: a subcommand, not a program file.
  if (!((name === "deno" || name === "bun") && sub !== undefined && !sub.includes(".") && !sub.includes("/"))) return classifyInterpreter(name, args, st, run);
  return null;
};

/** No program and no inline code: it runs what comes on stdin, or starts an interactive session. */
function fromInput(name: string, piped: boolean, what: string): Classification {
  return piped
    ? mk("expand", "shell.stdin", `${name} runs ${what} from its input`, { externalTools: true })
    : mk("expand", "shell.interactive", `starts an interactive ${name}`, { externalTools: true });
}

/** `sh -c "$(curl …)"`, `bash <(curl …)`, `eval "$(wget …)"`. */
export function remoteExec(codeWords: Word[], st: State, run: Inner): Classification | null {
  for (const w of codeWords) {
    for (const s of w.substs) {
      if (run.line(s, { ...st, depth: st.depth + 1 }).flags.network) {
        return mk("commit", "pipe.remote-exec", "runs code downloaded from the network", { network: true, externalTools: true });
      }
    }
  }
  return null;
}

function classifyShell(name: string, args: Word[], st: State, run: Inner): Classification {
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
    const inner = run.line(code.text, st);
    return remoteExec([code], st, run) ?? inner;
  }
  if (rest.length > 0 && !fromStdin) {
    return remoteExec(rest.slice(0, 1), st, run) ?? mk("expand", "shell.script", `runs the shell script ${rest[0]?.text ?? ""}`, { externalTools: true });
  }
  return fromInput(name, st.pipeIn || fromStdin, "commands");
}

function classifyInterpreter(name: string, args: Word[], st: State, run: Inner): Classification {
  if (has(args, "-V", "--version", "-v") && args.length === 1) return mk("continue", "read.version", `${name} version`);
  const m = args.findIndex((w) => w.text === "-m");
  if (m >= 0 && name.startsWith("python")) {
    const mod = args[m + 1]?.text ?? "";
    const rest = args.slice(m + 2);
    if (mod === "pytest" || mod === "unittest") return mk("continue", "test.python", `runs the ${mod} tests`, { externalTools: true });
    if (mod === "pip") return classifyBuild("pip", rest, st, run) ?? mk("expand", "pkg.pip", "pip", { network: true, externalTools: true });
    if (["mypy", "ruff", "black", "flake8", "pylint", "pyflakes", "isort"].includes(mod))
      return classifyBuild(mod, rest, st, run) ?? mk("continue", "lint.check", `runs ${mod}`, { externalTools: true });
    if (mod === "venv" || mod === "virtualenv") return mk("expand", "fs.create", "creates a virtual environment", { writes: true, externalTools: true });
    if (mod === "http.server") return mk("expand", "net.server", "serves files over HTTP", { network: true, externalTools: true });
    return mk("expand", "exec.module", `runs the Python module ${mod}`, { externalTools: true });
  }
  if (name === "node" && has(args, "--test")) return mk("continue", "test.node", "runs node --test", { externalTools: true });
  const inlineIdx = args.findIndex((w) => ["-c", "-e", "--eval", "-p", "--print", "-E", "-r"].includes(w.text) || /^-[a-zA-Z]*e$/.test(w.text));
  if (inlineIdx >= 0) {
    const code = args[inlineIdx + 1];
    const writes = name === "perl" && args.some((w) => /^-[A-Za-z]*i/.test(w.text));
    return (
      (code && remoteExec([code], st, run)) ??
      mk("expand", writes ? "fs.edit-in-place" : "exec.inline", `runs inline ${name} code`, { externalTools: true, writes })
    );
  }
  const script = positionals(args)[0];
  if (script !== undefined)
    return remoteExec([script], st, run) ?? mk("expand", "exec.script", `runs the ${name} program ${script.text}`, { externalTools: true });
  return fromInput(name, st.pipeIn, "code");
}
