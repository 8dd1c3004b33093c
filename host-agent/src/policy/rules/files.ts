// Files and folders: deleting, moving, copying, linking, changing
// permissions, creating, archiving, editors, disks and mounts, and `find`.
// Writing inside the workspace is "expand"; what a write or delete reaches
// (the policy file, persistence and system paths, the whole workspace, a
// root or home folder, anywhere outside) is judged by paths.ts and can make
// it COMMIT. `find -exec` is classified by the command it runs.
import { atLeast, mk, type Classification } from "../classification.ts";
import { pathClass, writeTargets } from "../paths.ts";
import type { Word } from "../shell-parse.ts";
import { has, hasShort, positionals, texts } from "../words.ts";
import type { Inner, Rule, State } from "./rule.ts";

export const findRule: Rule = (name, args, st, run) => (name === "find" || name === "fd" ? classifyFind(name, args, st, run) : null);

function classifyFind(name: string, args: Word[], st: State, run: Inner): Classification {
  const a = texts(args);
  const roots =
    name === "find"
      ? args.slice(
          0,
          Math.max(
            0,
            args.findIndex((w) => w.text.startsWith("-") || w.text === "(" || w.text === "!"),
          ),
        )
      : [];
  const rootsOr = roots.length > 0 || name !== "find" ? roots : args.every((w) => !w.text.startsWith("-")) ? args : [];
  if (a.includes("-delete") || (name === "fd" && (a.includes("-X") || a.includes("-x")))) {
    if (name === "fd") return mk("expand", "fs.find-exec", "fd runs a command on every match", { externalTools: true, writes: true });
    return writeTargets(
      mk("expand", "fs.find-delete", "find -delete removes files", { writes: true }),
      rootsOr.filter((r) => pathClass(r, st) !== "workspace"),
      st,
      true,
      true,
    );
  }
  const ex = a.findIndex((t) => ["-exec", "-execdir", "-ok", "-okdir"].includes(t));
  if (ex >= 0) {
    let end = a.findIndex((t, j) => j > ex && (t === ";" || t === "+"));
    if (end < 0) end = a.length;
    const innerWords = args.slice(ex + 1, end);
    if (innerWords.length === 0) return mk("expand", "fs.find-exec", "find -exec without a command", { externalTools: true });
    const inner = run.words(innerWords, st);
    return atLeast(inner, "expand", "fs.find-exec", `find runs ${innerWords[0]?.text ?? ""} on every match`);
  }
  if (a.some((t) => ["-fprint", "-fprint0", "-fprintf", "-fls"].includes(t)))
    return mk("expand", "fs.write", "find writes its output to a file", { writes: true });
  return mk("continue", "read.find", `${name} only lists files`);
}

export const fileRule: Rule = (name, args, st): Classification | null => {
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
      return writeTargets(
        mk(name === "mktemp" ? "continue" : "expand", name === "mktemp" ? "fs.mktemp" : "fs.create", `${name} creates files`, name === "mktemp" ? {} : w),
        name === "mktemp" ? [] : pos,
        st,
      );
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
      return of
        ? writeTargets(mk("expand", "fs.write", "dd writes a file", w), [{ ...of, text: of.text.slice(3) }], st)
        : mk("continue", "read.file", "dd to stdout");
    }
    case "tar":
    case "bsdtar": {
      const mode = args[0]?.text ?? "";
      if (/^-?[A-Za-z]*t/.test(mode) && !/[cxru]/.test(mode.replace(/^-/, ""))) return mk("continue", "read.archive", "lists an archive");
      return mk("expand", "fs.archive", "tar creates or extracts an archive", w);
    }
    case "unzip":
      return args.some((x) => x.text === "-l" || x.text === "-t" || x.text === "-v")
        ? mk("continue", "read.archive", "lists an archive")
        : mk("expand", "fs.archive", "unzip extracts files", w);
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
};
