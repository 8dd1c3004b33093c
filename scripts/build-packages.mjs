#!/usr/bin/env node
// Builds the publishable packages: @airlock/protocol, @airlock/client-sdk and
// @airlock/host-agent as JavaScript with type declarations, each staged in its
// own folder with the manifest it would be published with, and (--pack) packed
// with `npm pack`.
//
// Why a staged folder and not `npm pack` in the workspace folders: the
// workspaces' package.json files point `exports` and `bin` at the TypeScript
// sources, which is what the checkout runs (tsx, vitest, wrangler, esbuild all
// read them). npm has no publish-time manifest override, and rewriting the
// tracked package.json around `npm pack` would race with editors and leave a
// wrong manifest behind when interrupted. So the published manifest is derived
// here from the workspace's: same name, version and dependencies (minus tsx),
// exports and bin pointing at dist/, `files`, no scripts.
//
// Why tsc and not a bundler: one tool gives the JavaScript and the .d.ts from
// the same checker the repository already passes; the output keeps the source
// layout (the host agent finds files relative to its own modules) and stays
// tree-shakable for apps that bundle the SDK. rewriteRelativeImportExtensions
// turns the sources' `./x.ts` imports into `./x.js`.
//
// Plain Node, no tsx: it runs where only Node and the repository's TypeScript are.
import { execFile } from "node:child_process";
import { chmod, cp, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { builtinModules, createRequire } from "node:module";
import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TSCONFIG = join(ROOT, "scripts", "build-packages.tsconfig.json");

/**
 * The workspaces, in dependency order, the source file each command runs, and
 * plain files shipped as they are (the example hooks users point their policy at).
 */
export const PACKAGES = [
  { dir: "protocol", bins: {}, assets: [] },
  { dir: "client-sdk", bins: { "airlock-client": "src/node/bin.ts" }, assets: [] },
  { dir: "host-agent", bins: { airlock: "src/bin.ts" }, assets: ["hooks"] },
];

const USAGE = `Usage: node scripts/build-packages.mjs [--out DIR] [--pack] [--install DIR] [--json]

Builds the packages to JavaScript with type declarations and stages each in
DIR/<package>/ with the manifest it would be published with
(default DIR: .dev/packages). --pack also runs npm pack on each staged folder
and leaves the tarballs in DIR.

  --out DIR      where to stage (its package folders are replaced)
  --pack         make the .tgz tarballs
  --install DIR  also install the tarballs into DIR (created; npm install
                 --omit=dev --prefer-offline), as a user would: for trying
                 them, the packaging test and the CLI benchmark
  --json         print the result as JSON`;

class UsageError extends Error {}

function parseArgs(argv) {
  const args = { out: join(ROOT, ".dev", "packages"), pack: false, install: undefined, json: false, help: false, guard: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--pack") args.pack = true;
    else if (a === "--json") args.json = true;
    else if (a === "--help" || a === "-h") args.help = true;
    else if (a === "--prepack-guard") args.guard = true;
    else if (a === "--out" || a === "--install") {
      const v = argv[++i];
      if (!v) throw new UsageError(`${a} needs a folder`);
      if (a === "--out") args.out = resolve(v);
      else args.install = resolve(v);
    } else throw new UsageError(`unknown argument ${a}`);
  }
  if (args.install) args.pack = true;
  return args;
}

/** "./src/index.ts" → "./dist/src/index" (the build keeps the package's layout under dist/). */
function distBase(target, where) {
  const m = /^\.\/((?:src|ui)\/.+)\.ts$/.exec(target);
  if (!m) throw new Error(`${where}: "${target}" is not a ./src or ./ui TypeScript file; teach scripts/build-packages.mjs how to publish it`);
  return `./dist/${m[1]}`;
}

/** The manifest a workspace is published with. */
export function publishManifest(dev, root, pkg) {
  const where = `${pkg.dir}/package.json`;
  const exportsMap = {};
  for (const [key, target] of Object.entries(dev.exports ?? {})) {
    if (typeof target !== "string") throw new Error(`${where}: exports["${key}"] has conditions; teach scripts/build-packages.mjs to map them`);
    const base = distBase(target, `${where} exports["${key}"]`);
    exportsMap[key] = { types: `${base}.d.ts`, default: `${base}.js` };
  }
  exportsMap["./package.json"] = "./package.json";
  const devBins = Object.keys(dev.bin ?? {})
    .sort()
    .join(",");
  if (devBins !== Object.keys(pkg.bins).sort().join(","))
    throw new Error(`${where}: bin lists ${devBins || "nothing"}; scripts/build-packages.mjs PACKAGES lists ${Object.keys(pkg.bins).join(",") || "nothing"}`);
  const bin = Object.fromEntries(Object.entries(pkg.bins).map(([name, source]) => [name, `${distBase(`./${source}`, where).slice(2)}.js`]));
  const dependencies = { ...dev.dependencies };
  delete dependencies.tsx; // the checkout's bins run sources through it; the built ones do not
  const sideEffects = Array.isArray(dev.sideEffects) ? dev.sideEffects.map((f) => `${distBase(f, `${where} sideEffects`)}.js`) : dev.sideEffects;
  const manifest = {
    name: dev.name,
    version: dev.version,
    description: dev.description ?? root.description,
    license: dev.license ?? root.license,
    type: "module",
    engines: root.engines,
    ...(sideEffects === undefined ? {} : { sideEffects }),
    exports: exportsMap,
    ...(Object.keys(bin).length ? { bin } : {}),
    files: ["dist", ...pkg.assets],
    dependencies,
  };
  return manifest;
}

/** Bare specifiers imported by the built JavaScript ("ws", "@noble/hashes/sha2.js", …). */
async function importedPackages(dir) {
  const found = new Set();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile() || !e.name.endsWith(".js")) continue;
    const text = await readFile(join(e.parentPath, e.name), "utf8");
    for (const m of text.matchAll(
      /(?:^|[\s;])(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|^import\s*["']([^"']+)["']/gm,
    )) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec || spec.startsWith(".") || spec.startsWith("node:") || builtinModules.includes(spec)) continue;
      const parts = spec.split("/");
      found.add(spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]);
    }
  }
  return found;
}

async function npmPack(folder, dest) {
  const { stdout } = await run("npm", ["pack", folder, "--pack-destination", dest, "--json", "--ignore-scripts"], { cwd: dest, maxBuffer: 16 << 20 });
  const [info] = JSON.parse(stdout);
  if (!info?.filename) throw new Error(`npm pack ${folder} printed no tarball`);
  return { tarball: join(dest, info.filename), size: info.size, files: info.entryCount };
}

/**
 * Installs the tarballs into `folder` (an empty package of its own) the way a
 * user would, without dev dependencies. --prefer-offline: third-party packages
 * come from npm's cache when the checkout's install put them there. The outer
 * npm's settings (npm_config_* when run from an npm script) are left out.
 */
export async function installPackages(folder, tarballs) {
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, "package.json"), JSON.stringify({ name: "airlock-packages-try", private: true, type: "module" }, null, 2) + "\n", {
    flag: "wx",
  }).catch((e) => {
    if (e.code !== "EEXIST") throw e;
  });
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  await run("npm", ["install", "--omit=dev", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs], {
    cwd: folder,
    env,
    maxBuffer: 16 << 20,
  });
}

export async function buildPackages({ out, pack }) {
  const root = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
  const build = join(out, ".build");
  await rm(build, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  try {
    await run(process.execPath, [tsc, "-p", TSCONFIG, "--outDir", build], { cwd: ROOT, maxBuffer: 16 << 20 });
  } catch (e) {
    throw new Error(`tsc failed:\n${(e.stdout ?? "") + (e.stderr ?? "") || e.message}`);
  }
  const versions = {};
  const results = [];
  for (const pkg of PACKAGES) {
    const dev = JSON.parse(await readFile(join(ROOT, pkg.dir, "package.json"), "utf8"));
    versions[dev.name] = dev.version;
    const manifest = publishManifest(dev, root, pkg);
    for (const [dep, range] of Object.entries(manifest.dependencies)) {
      if (dep in versions && range !== versions[dep]) throw new Error(`${pkg.dir}/package.json: ${dep} ${range}, but the workspace is ${versions[dep]}`);
    }
    const stage = join(out, pkg.dir);
    await rm(stage, { recursive: true, force: true });
    await mkdir(stage, { recursive: true });
    await cp(join(build, pkg.dir), join(stage, "dist"), { recursive: true });
    for (const asset of pkg.assets) await cp(join(ROOT, pkg.dir, asset), join(stage, asset), { recursive: true });
    const imported = await importedPackages(join(stage, "dist"));
    const missing = [...imported].filter((name) => !(name in manifest.dependencies));
    if (missing.length)
      throw new Error(`${pkg.dir}: the built code imports ${missing.join(", ")}, which ${pkg.dir}/package.json does not list in dependencies`);
    const unused = Object.keys(manifest.dependencies).filter((name) => !imported.has(name));
    if (unused.length) throw new Error(`${pkg.dir}: dependencies ${unused.join(", ")} are never imported by the built code; remove them or say why here`);
    for (const file of Object.values(manifest.bin ?? {})) await chmod(join(stage, file), 0o755);
    await writeFile(join(stage, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
    results.push({ name: manifest.name, version: manifest.version, folder: stage, ...(pack ? await npmPack(stage, out) : {}) });
  }
  await rm(build, { recursive: true, force: true });
  return results;
}

async function main(argv) {
  let args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`build-packages: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (args.guard) {
    // `npm pack` inside a workspace folder would pack the TypeScript sources.
    process.stderr.write(
      "This folder is the checkout's source package (its exports point at TypeScript).\nPack the built packages with: npm run pack:packages (tarballs in .dev/packages)\n",
    );
    return 1;
  }
  const results = await buildPackages(args);
  if (args.install)
    await installPackages(
      args.install,
      results.map((r) => r.tarball),
    );
  if (args.json) process.stdout.write(JSON.stringify(results, null, 2) + "\n");
  else {
    for (const r of results) {
      const where = relative(process.cwd(), r.tarball ?? r.folder);
      process.stdout.write(
        `${r.name}@${r.version}  ${isAbsolute(where) || where.startsWith("..") ? (r.tarball ?? r.folder) : where}${r.size ? `  (${(r.size / 1024).toFixed(0)} kB, ${r.files} files)` : ""}\n`,
      );
    }
    if (args.install) process.stdout.write(`Installed in ${args.install}: try ${join(args.install, "node_modules", ".bin", "airlock")} --help\n`);
    else if (args.pack) process.stdout.write(`Install: npm install ${results.map((r) => relative(process.cwd(), r.tarball)).join(" ")}\n`);
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write(`build-packages: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
