// Builds, tests, linters and package managers (npm/pnpm/yarn/bun, pip/uv/
// poetry, gem/bundler, composer, go, cargo, make, JVM and .NET build tools,
// system package managers). Tests, builds and checks are "continue" (they
// run project code, flagged externalTools); installs and formatters that
// rewrite files are "expand"; publishing, registry logins and scripts or
// targets named like deploy/release are COMMIT. `npx x` and `uv run x` are
// classified by what they run.
import { mk, type Classification } from "../classification.ts";
import type { Word } from "../shell-parse.ts";
import { positionals, skipOptions, skipOptionsAll, texts } from "../words.ts";
import type { Inner, State } from "./rule.ts";

/** package.json-style script names. */
function scriptClass(script: string, tool: string): Classification {
  const ext = { externalTools: true };
  if (/deploy|release|publish|ship|upload/i.test(script))
    return mk("commit", "deploy.script", `${tool} script "${script}" deploys or publishes`, { ...ext, network: true, credentials: true });
  if (/fix|write|format(?!:?check)|fmt(?!:?check)|migrate|seed|clean|reset/i.test(script))
    return mk("expand", "exec.script", `${tool} script "${script}" changes files or state`, { ...ext, writes: true });
  if (/^(test|tests|unit|e2e|spec|coverage|vitest|jest)([:_-].*)?$/i.test(script))
    return mk("continue", "test.script", `${tool} runs the "${script}" tests`, ext);
  if (/^(build|compile|lint|typecheck|type-check|types|tsc|check|verify|format:check|fmt:check|prettier:check)([:_-].*)?$/i.test(script))
    return mk("continue", "build.script", `${tool} runs the "${script}" build or check`, ext);
  return mk("expand", "exec.script", `${tool} script "${script}" runs project-defined code`, ext);
}

const pkg = (rule: string, reason: string): Classification => mk("expand", rule, reason, { network: true, writes: true, externalTools: true });
const JS_TEST = new Set(["vitest", "jest", "mocha", "ava", "tap", "c8", "nyc", "uvu", "karma", "jasmine", "cucumber-js"]);
const LINTERS = new Set([
  "eslint",
  "prettier",
  "biome",
  "oxlint",
  "stylelint",
  "ruff",
  "black",
  "mypy",
  "flake8",
  "pylint",
  "pyflakes",
  "isort",
  "shellcheck",
  "golangci-lint",
  "rubocop",
  "rustfmt",
  "gofmt",
  "clang-format",
  "markdownlint",
  "hadolint",
  "tflint",
  "yamllint",
  "pyright",
  "standard",
  "xo",
]);
const RUNNERS = new Set(["npx", "bunx", "pnpx", "uvx"]);
/** `bun run x.ts` and `bun x.ts` run a file, not a package.json script. */
const isBunFile = (tool: string, s: string): boolean => tool === "bun" && /\.(m?[jt]sx?|c[jt]s)$/.test(s);

/** A build, test, lint or package command; null when `name` is none of them. */
export function classifyBuild(name: string, args: Word[], st: State, run: Inner): Classification | null {
  const a = texts(args);
  const pos = texts(positionals(args));
  const sub = pos[0];
  const ext = { externalTools: true };
  if (JS_TEST.has(name) || (name === "playwright" && sub === "test") || (name === "cypress" && sub === "run"))
    return mk("continue", "test.js", `runs the ${name} tests`, ext);
  if (["pytest", "py.test", "rspec", "phpunit", "ctest", "nextest", "tox", "nox"].includes(name))
    return mk("continue", name === "pytest" || name === "py.test" ? "test.pytest" : "test.other", `runs the ${name} tests`, ext);
  if (name === "tsc" || name === "vue-tsc") return mk("continue", "build.tsc", a.includes("--noEmit") ? "type-checks" : "compiles TypeScript", ext);
  if (LINTERS.has(name)) {
    const fixes =
      a.some((t) => /^(--fix|--write|-w|--apply|--apply-unsafe|--unsafe|-i|--in-place)$/.test(t)) ||
      (["black", "isort", "rustfmt", "clang-format"].includes(name) && !a.some((t) => /^--(check|diff)$/.test(t))) ||
      (name === "ruff" && sub === "format" && !a.includes("--check")) ||
      (name === "biome" && (sub === "format" || sub === "lint") && a.includes("--write")) ||
      (name === "prettier" && !a.some((t) => /^(--check|-c|--list-different|-l)$/.test(t)));
    return fixes ? mk("expand", "lint.fix", `${name} rewrites files`, { ...ext, writes: true }) : mk("continue", "lint.check", `${name} only checks`, ext);
  }
  if (["vite", "next", "webpack", "esbuild", "rollup", "tsup", "turbo", "nx", "parcel", "swc", "babel"].includes(name)) {
    if (
      a.includes("build") ||
      ["webpack", "esbuild", "rollup", "tsup", "swc", "babel"].includes(name) ||
      ((name === "turbo" || name === "nx") && a.some((t) => /^(build|test|lint|typecheck)$/.test(t)))
    )
      return mk("continue", "build.js", `${name} builds`, ext);
    return mk("expand", "exec.tool", `${name} ${sub ?? ""} runs a dev server or task`.trim(), ext);
  }
  if (RUNNERS.has(name) || (name === "pipx" && sub === "run")) {
    const rest = name === "pipx" ? args.slice(args.findIndex((w) => w.text === "run") + 1) : args;
    const c = rest.findIndex((w) => w.text === "-c" || w.text === "--call");
    if (c >= 0) return run.line(rest[c + 1]?.text ?? "", st);
    const inner = skipOptions(rest, ["-p", "--package", "--from", "--with"]);
    if (inner.length === 0) return pkg("pkg.npx", `${name} without a command`);
    const r = run.words(inner, st);
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
        if (isBunFile(tool, script)) return mk("expand", "exec.script", `runs ${script}`, ext);
        return scriptClass(script, tool);
      }
      if (
        [
          "install",
          "i",
          "ci",
          "add",
          "update",
          "up",
          "upgrade",
          "uninstall",
          "remove",
          "rm",
          "un",
          "r",
          "link",
          "ln",
          "dedupe",
          "prune",
          "rebuild",
          "rb",
          "import",
          "unlink",
          "patch",
          "audit",
        ].includes(s)
      ) {
        if (s === "audit" && !restPos.includes("fix")) return mk("expand", "net.registry", `${tool} audit queries the registry`, { network: true, ...ext });
        return pkg(`pkg.${tool === "bun" ? "bun" : tool}`, `${tool} ${s} changes installed packages`);
      }
      if (["exec", "x", "dlx", "create", "init", "innit"].includes(s)) {
        if ((s === "init" || s === "create") && restPos.length === 0) return mk("expand", "fs.create", `${tool} ${s} writes a package.json`, { writes: true });
        return (
          classifyBuild(
            "npx",
            rest.filter((w) => w.text !== "--"),
            st,
            run,
          ) ?? pkg("pkg.npx", "runs a package")
        );
      }
      if (
        s === "publish" ||
        s === "unpublish" ||
        s === "deprecate" ||
        s === "dist-tag" ||
        s === "owner" ||
        s === "access" ||
        (s === "npm" && restPos[0] === "publish")
      )
        return mk("commit", "publish.npm", `${tool} ${s} publishes to the registry`, { network: true, credentials: true });
      if (["login", "adduser", "logout", "token", "whoami"].includes(s))
        return mk("commit", "secrets.npm", `${tool} ${s} handles registry credentials`, { network: true, credentials: true });
      if (
        [
          "ls",
          "list",
          "ll",
          "la",
          "explain",
          "why",
          "root",
          "prefix",
          "bin",
          "help",
          "version",
          "-v",
          "--version",
          "config",
          "get",
          "pkg",
          "query",
          "fund",
          "doctor",
        ].includes(s) &&
        !(s === "version" && restPos.length > 0) &&
        !(s === "pkg" && restPos[0] === "set") &&
        !(s === "config" && (restPos[0] === "set" || restPos[0] === "delete"))
      ) {
        return mk("continue", "read.npm", `${tool} ${s} only reads`);
      }
      if (["view", "info", "show", "outdated", "search", "v"].includes(s))
        return mk("expand", "net.registry", `${tool} ${s} queries the registry`, { network: true, ...ext });
      if (s === "start" || s === "dev" || s === "serve" || s === "preview") return mk("expand", "exec.script", `${tool} ${s} starts the project`, ext);
      if (s === "build" && tool !== "npm") return scriptClass(s, tool);
      if (s === "version") return mk("expand", "git.write", `${tool} version bumps the version and tags`, { writes: true });
      if (tool !== "npm" && /^[\w:.-]+$/.test(s) && !["publish"].includes(s)) {
        if (isBunFile(tool, s)) return mk("expand", "exec.script", `runs ${s}`, ext);
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
      if (
        ["install", "uninstall", "download", "wheel", "add", "remove", "sync", "lock", "update", "upgrade", "inject", "venv", "create"].includes(s ?? "") ||
        (name === "uv" && sub === "tool" && pos[1] === "install")
      )
        return pkg(`pkg.${name.replace(/3$/, "")}`, `${name} ${s ?? ""} changes installed packages`);
      if (s === "publish" || s === "upload") return mk("commit", "publish.pypi", `${name} publishes a package`, { network: true, credentials: true });
      if (s === "run") {
        const rest = args.slice(args.findIndex((w) => w.text === "run") + 1);
        const inner = skipOptions(rest, ["--with", "--python", "-p", "--from", "--package"]);
        return inner.length === 0 ? mk("expand", "exec.script", `${name} run`, ext) : run.words(inner, st);
      }
      if (["list", "show", "freeze", "check", "search", "env", "config", "info"].includes(s ?? ""))
        return mk("continue", "read.pip", `${name} ${s ?? ""} only reads`);
      if (s === "build") return mk("continue", "build.python", `${name} builds a package`, ext);
      return pkg(`pkg.${name.replace(/3$/, "")}`, `${name} ${s ?? ""}`);
    }
    case "twine":
      return sub === "upload"
        ? mk("commit", "publish.pypi", "uploads to PyPI", { network: true, credentials: true })
        : mk("continue", "build.python", `twine ${sub ?? ""}`, ext);
    case "gem":
      return sub === "push" || sub === "yank" || sub === "owner"
        ? mk("commit", "publish.gem", `gem ${sub}`, { network: true, credentials: true })
        : sub === "list" || sub === "env"
          ? mk("continue", "read.pkg", "gem lists")
          : pkg("pkg.gem", `gem ${sub ?? ""}`);
    case "bundle":
    case "bundler":
      if (sub === "exec") return run.words(args.slice(args.findIndex((w) => w.text === "exec") + 1), st);
      return sub === "list" || sub === "show" || sub === "check"
        ? mk("continue", "read.pkg", `bundle ${sub}`)
        : pkg("pkg.bundler", `bundle ${sub ?? "install"}`);
    case "composer":
      return sub === "test"
        ? mk("continue", "test.other", "composer test", ext)
        : sub === "show" || sub === "validate"
          ? mk("continue", "read.pkg", `composer ${sub}`)
          : pkg("pkg.composer", `composer ${sub ?? ""}`);
    case "go":
      if (["test", "vet"].includes(sub ?? "")) return mk("continue", "test.go", `go ${sub ?? ""}`, ext);
      if (["build", "list", "env", "version", "doc", "help"].includes(sub ?? "") && !(sub === "env" && a.includes("-w")))
        return mk("continue", sub === "build" ? "build.go" : "read.go", `go ${sub ?? ""}`, ext);
      if (sub === "fmt") return mk("expand", "lint.fix", "go fmt rewrites files", { ...ext, writes: true });
      if (sub === "run" || sub === "generate" || sub === "tool") return mk("expand", "exec.script", `go ${sub} runs code`, ext);
      return pkg("pkg.go", `go ${sub ?? ""} may download modules`);
    case "cargo": {
      if (sub === "test" || sub === "nextest" || sub === "bench") return mk("continue", "test.cargo", `cargo ${sub}`, ext);
      if (["build", "check", "clippy", "doc", "tree", "metadata", "b", "c", "t"].includes(sub ?? "")) {
        if (sub === "clippy" && a.includes("--fix")) return mk("expand", "lint.fix", "cargo clippy --fix rewrites files", { ...ext, writes: true });
        return mk("continue", sub === "t" ? "test.cargo" : "build.cargo", `cargo ${sub ?? ""}`, ext);
      }
      if (sub === "fmt")
        return a.includes("--check")
          ? mk("continue", "lint.check", "cargo fmt --check", ext)
          : mk("expand", "lint.fix", "cargo fmt rewrites files", { ...ext, writes: true });
      if (sub === "run" || sub === "r") return mk("expand", "exec.script", "cargo run runs the program", ext);
      if (["publish", "yank", "owner", "login", "logout"].includes(sub ?? ""))
        return mk("commit", "publish.cargo", `cargo ${sub ?? ""}`, { network: true, credentials: true });
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
      if (targets.some((t) => /deploy|release|publish|push|upload|ship/i.test(t)))
        return mk("commit", "deploy.make", `${name} ${targets.join(" ")} deploys or publishes`, { ...ext, network: true, credentials: true });
      if (
        targets.length === 0 ||
        targets.every((t) => /^(all|build|compile|test|tests|check|lint|typecheck|vet|fmt-check|format-check|unit|e2e|coverage|docs|verify)$/i.test(t))
      ) {
        return mk(
          "continue",
          targets.some((t) => /test|check|unit|e2e|coverage|verify/i.test(t)) ? "test.make" : "build.make",
          `${name} ${targets.join(" ") || "(default target)"}`.trim(),
          ext,
        );
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
      if (goals.some((t) => /deploy|publish|release|push|upload/i.test(t)))
        return mk("commit", "deploy.build-tool", `${name} ${goals.join(" ")} publishes`, { ...ext, network: true, credentials: true });
      if (
        goals.length > 0 &&
        goals.every((t) =>
          /^(test|check|verify|build|compile|package|assemble|clean|lint|format|analyze|restore|:?[\w:-]*(test|check|build|compile|lint)[\w-]*)$/i.test(t),
        )
      ) {
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
      return ["list", "show", "search", "policy", "depends", "rdepends"].includes(sub ?? "")
        ? mk("continue", "read.pkg", `${name} ${sub ?? ""}`)
        : pkg("pkg.apt", `${name} ${sub ?? ""} changes system packages`);
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
      return ["list", "ls", "--prefix", "config", "leaves", "deps", "--version", "--cellar", "--repository", "shellenv"].includes(a[0] ?? "")
        ? mk("continue", "read.pkg", `brew ${a[0] ?? ""}`)
        : pkg("pkg.brew", `brew ${sub ?? ""} changes installed packages`);
  }
  return null;
}
