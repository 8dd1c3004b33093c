// Wrappers: commands that run another command (sudo/doas, su, env, nice,
// nohup, time, command, exec, stdbuf, timeout, xargs, watch, eval, source).
// The inner command is classified as if it ran on its own; sudo raises it to
// at least "expand" with credentials (it runs as root), a root shell and su
// are COMMIT, and `eval "$(curl …)"` is remote code execution.
import { atLeast, max, mk, type Classification } from "../classification.ts";
import { isSecretVar, printsEnvironment, setsSecretVar } from "../secrets.ts";
import type { Word } from "../shell-parse.ts";
import { has, skipOptions, texts } from "../words.ts";
import type { Rule } from "./rule.ts";
import { remoteExec } from "./shells.ts";

export const wrapperRule: Rule = (name, args, st, run): Classification | null => {
  switch (name) {
    case "sudo":
    case "doas": {
      const rest = skipOptions(args, ["-u", "-g", "-p", "-C", "-U", "-r", "-t", "-D", "-R", "-T", "-h"]);
      const opts = args.slice(0, args.length - rest.length);
      if (rest.length === 0 || has(opts, "-i", "-s", "--login", "--shell"))
        return mk("commit", "privilege.root-shell", `${name} opens a root shell`, { credentials: true, externalTools: true, writes: true });
      const inner = run.words(rest, st);
      return atLeast({ ...inner, reason: `as root: ${inner.reason}` }, "expand", "privilege.sudo", `runs ${rest[0]?.text ?? ""} as root`, {
        credentials: true,
      });
    }
    case "su":
      return mk("commit", "privilege.su", "switches user", { credentials: true, externalTools: true, writes: true });
    case "env": {
      let i = 0;
      const rest = args;
      while (i < rest.length) {
        const t = (rest[i] as Word).text;
        if (t === "-S" || t === "--split-string")
          return run.line(
            rest
              .slice(i + 1)
              .map((w) => w.text)
              .join(" "),
            st,
          );
        if (t.startsWith("--split-string=")) return run.line(t.slice(15), st);
        if (t === "-u" || t === "-C" || t === "--unset" || t === "--chdir") i += 2;
        else if (t.startsWith("-")) i++;
        else if (/^[A-Za-z_][A-Za-z0-9_]*\+?=/.test(t)) {
          const n = t.replace(/\+?=.*$/s, ""); // `NAME+=…` too: env takes it as set, a shell as append
          if (isSecretVar(n)) return setsSecretVar(n);
          i++;
        } else break;
      }
      if (i >= rest.length) return printsEnvironment();
      return run.words(rest.slice(i), st);
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
      const withArg: Record<string, string[]> = {
        nice: ["-n", "--adjustment"],
        time: ["-o", "-f", "--output", "--format"],
        exec: ["-a"],
        stdbuf: ["-i", "-o", "-e"],
        ionice: ["-c", "-n", "-p"],
      };
      const rest = skipOptions(args, withArg[name] ?? []);
      if (rest.length === 0) return mk("continue", "shell.builtin", `${name} without a command`);
      const inner = run.words(rest, st);
      return name === "time" && has(args, "-o", "--output") ? max(inner, mk("expand", "fs.write", "time -o writes a file", { writes: true })) : inner;
    }
    case "timeout":
    case "gtimeout": {
      const rest = skipOptions(args, ["-s", "-k", "--signal", "--kill-after"]).slice(1);
      return rest.length === 0 ? mk("continue", "shell.builtin", "timeout without a command") : run.words(rest, st);
    }
    case "xargs": {
      const rest = skipOptions(args, ["-I", "-n", "-P", "-L", "-d", "-E", "-s", "-a", "--max-args", "--max-procs", "--delimiter", "--arg-file"]);
      return rest.length === 0 ? mk("continue", "read.echo", "xargs echo") : run.words(rest, st);
    }
    case "watch": {
      const rest = skipOptions(args, ["-n", "--interval", "-d"]);
      return run.line(texts(rest).join(" "), st);
    }
    case "eval": {
      const inner = run.line(texts(args).join(" "), st);
      return remoteExec(args, st, run) ?? inner;
    }
    case "source":
    case ".":
      return mk("expand", "shell.source", `runs the shell file ${args[0]?.text ?? ""} in the current shell`, { externalTools: true });
  }
  return null;
};
