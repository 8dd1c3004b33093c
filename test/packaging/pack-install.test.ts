// The packages as a user gets them: scripts/build-packages.mjs builds and packs
// @airlock/protocol, @airlock/client-sdk and @airlock/host-agent; the tarballs
// are installed with `npm install --omit=dev` into an empty folder outside the
// repository; then the installed commands run (--help, --version, and a real
// `airlock up` paired with `airlock-client` through a real relay), every export
// imports in Node, the SDK bundles for a browser with esbuild, and the type
// declarations check under TypeScript's nodenext resolution.
//
// The install (scripts/build-packages.mjs --install) uses --prefer-offline:
// third-party dependencies come from the local npm cache when the
// repository's own install put them there, else from the registry. Tools that are not part of the install (esbuild, tsc) are the
// repository's, run against the consumer folder.
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import * as esbuild from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRelay, type RelayServer } from "../relay/harness.ts";

const run = promisify(execFile);
const ROOT = new URL("../..", import.meta.url).pathname;
const TSC = new URL("../../node_modules/typescript/bin/tsc", import.meta.url).pathname;

interface Packed {
  name: string;
  version: string;
  folder: string;
  tarball: string;
}

let tmp = "";
let consumer = "";
let packed: Packed[] = [];
const children: Array<ReturnType<typeof spawn>> = [];
let relay: RelayServer | undefined;

/** The environment without the outer npm's settings (npm_config_* would steer the inner npm). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
}

const bin = (name: string) => join(consumer, "node_modules", ".bin", name);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "airlock-pack-"));
  consumer = join(tmp, "consumer");
  // Builds, packs, then `npm install --omit=dev --prefer-offline <tarballs>` in the consumer folder.
  const built = await run(process.execPath, [join(ROOT, "scripts/build-packages.mjs"), "--out", join(tmp, "packages"), "--install", consumer, "--json"], {
    cwd: ROOT,
    maxBuffer: 16 << 20,
  });
  packed = JSON.parse(built.stdout) as Packed[];
}, 300_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : undefined)));
  await relay?.dispose();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("packed packages", () => {
  it("are the three packages, with built files only and no dev tooling", async () => {
    expect(packed.map((p) => p.name)).toEqual(["@airlock/protocol", "@airlock/client-sdk", "@airlock/host-agent"]);
    for (const p of packed) {
      const { stdout } = await run("tar", ["-tzf", p.tarball]);
      const files = stdout.trim().split("\n");
      expect(files, p.name).toContain("package/package.json");
      // Built files, and the host agent's example hooks (plain Node scripts users point their policy at).
      const shipped = (f: string) =>
        /^package\/dist\/.+\.(js|d\.ts)$/.test(f) || (p.name === "@airlock/host-agent" && /^package\/hooks\/[a-z-]+\.mjs$/.test(f));
      const stray = files.filter((f) => f !== "package/package.json" && !shipped(f));
      expect(stray, p.name).toEqual([]);
      const manifest = JSON.parse(await readFile(join(p.folder, "package.json"), "utf8")) as Record<string, unknown>;
      expect(manifest.scripts, p.name).toBeUndefined();
      expect(Object.keys(manifest.dependencies as object), p.name).not.toContain("tsx");
    }
    // Nothing from the repository's devDependencies came along.
    const installed = await readdir(join(consumer, "node_modules"));
    for (const dev of ["tsx", "typescript", "esbuild", "vitest", "wrangler", "@types"]) expect(installed, dev).not.toContain(dev);
  });

  it("airlock and airlock-client run: --help, --version", async () => {
    const env = cleanEnv();
    const help = await run(bin("airlock"), ["--help"], { cwd: consumer, env });
    expect(help.stdout).toMatch(/^airlock \d+\.\d+\.\d+ — /);
    expect(help.stdout).toContain("Usage: airlock <command>");
    const version = await run(bin("airlock"), ["--version"], { cwd: consumer, env });
    expect(version.stdout.trim()).toBe(packed.find((p) => p.name === "@airlock/host-agent")!.version);
    const client = await run(bin("airlock-client"), ["--help"], { cwd: consumer, env });
    expect(client.stdout).toContain("Usage: airlock-client");
  });

  it("the example hooks ship with the host agent and run from where they are installed", async () => {
    const hooks = join(consumer, "node_modules", "@airlock", "host-agent", "hooks");
    expect((await readdir(hooks)).sort()).toEqual(["secret-scan.mjs", "validate.mjs"]);
    const scan = (input: object) =>
      new Promise<string>((resolve, reject) => {
        const child = execFile(process.execPath, [join(hooks, "secret-scan.mjs")], { cwd: consumer, env: cleanEnv() }, (e, stdout) =>
          e ? reject(e) : resolve(stdout),
        );
        child.stdin!.end(JSON.stringify(input));
      });
    expect(JSON.parse(await scan({ event: "UserPromptSubmit", prompt: "tidy the README" }))).toEqual({});
    const fakeKey = "AKIA" + "Q".repeat(16);
    expect(JSON.parse(await scan({ event: "UserPromptSubmit", prompt: `use ${fakeKey}` }))).toMatchObject({ decision: "deny" });
  });

  it("every export imports in Node (the UI components need a DOM and are bundled below)", async () => {
    for (const p of packed) {
      const manifest = JSON.parse(await readFile(join(consumer, "node_modules", p.name, "package.json"), "utf8")) as { exports: Record<string, unknown> };
      const subpaths = Object.keys(manifest.exports).filter((k) => k !== "./package.json" && k !== "./ui");
      const specs = subpaths.map((k) => p.name + k.slice(1));
      if (!specs.length) continue;
      const script = `const specs = ${JSON.stringify(specs)}; for (const s of specs) { const m = await import(s); if (Object.keys(m).length === 0) throw new Error(s + " exports nothing"); } console.log(specs.length);`;
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: consumer });
      expect(Number(stdout.trim()), p.name).toBe(specs.length);
    }
    const sdk = await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { createNodeClient, FileStore } from "@airlock/client-sdk/node"; import { AirlockClient } from "@airlock/client-sdk"; console.log(typeof createNodeClient, typeof FileStore, typeof AirlockClient);`,
      ],
      { cwd: consumer },
    );
    expect(sdk.stdout.trim()).toBe("function function function");
  });

  it("the SDK and its UI components bundle for a browser with esbuild", async () => {
    await writeFile(
      join(consumer, "app.js"),
      `import { AirlockClient } from "@airlock/client-sdk";\nimport "@airlock/client-sdk/ui";\nexport { AirlockClient };\n`,
    );
    const result = await esbuild.build({
      entryPoints: [join(consumer, "app.js")],
      absWorkingDir: consumer,
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((f) => f.includes("node_modules/@airlock/client-sdk/dist/ui/"))).toBe(true);
    expect(inputs.some((f) => f.includes("node_modules/@airlock/protocol/dist/"))).toBe(true);
    // No Node-only code in a browser bundle.
    expect(inputs.filter((f) => f.includes("/ws/") || f.includes("/dist/src/node/"))).toEqual([]);
  });

  it("the type declarations check with nodenext resolution (no allowImportingTsExtensions)", async () => {
    await writeFile(
      join(consumer, "check.ts"),
      [
        `import { AirlockClient, type HostConnection } from "@airlock/client-sdk";`,
        `import { createNodeClient } from "@airlock/client-sdk/node";`,
        `import { PROTOCOL_VERSION } from "@airlock/protocol";`,
        `export const version: number = PROTOCOL_VERSION;`,
        `export const make: typeof createNodeClient = createNodeClient;`,
        `export type Both = [AirlockClient, HostConnection];`,
        // A wrong type must fail, or this check proves nothing.
        `// @ts-expect-error PROTOCOL_VERSION is a number`,
        `export const wrong: string = PROTOCOL_VERSION;`,
      ].join("\n"),
    );
    await writeFile(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2022",
          lib: ["es2022", "dom"],
          types: [],
          noEmit: true,
          skipLibCheck: false,
        },
        files: ["check.ts"],
      }),
    );
    const checked = await run(process.execPath, [TSC, "-p", consumer], { cwd: consumer }).catch((e: { stdout?: string; message: string }) => ({
      stdout: e.stdout ?? e.message,
      failed: true,
    }));
    expect(checked.stdout).toBe("");
  });

  it("the installed airlock up serves a device paired by the installed airlock-client through a real relay", async () => {
    relay = await startRelay();
    const home = join(tmp, "host");
    const host = spawn(bin("airlock"), ["--home", home, "--json", "up", "--agent", "demo", "--relay", relay.url, "--pair", "--yes"], {
      cwd: consumer,
      env: { ...cleanEnv(), NO_COLOR: "1" },
    });
    children.push(host);
    host.stderr.resume();
    const link = await new Promise<string>((resolve, reject) => {
      const seen: string[] = [];
      createInterface({ input: host.stdout }).on("line", (line) => {
        seen.push(line);
        try {
          const msg = JSON.parse(line) as { type?: string; link?: string };
          if (msg.type === "pairing" && msg.link) resolve(msg.link);
        } catch {
          // not a JSON line
        }
      });
      host.once("exit", (code) => reject(new Error(`airlock up exited ${String(code)}: ${seen.join("\n")}`)));
    });
    const device = join(tmp, "device");
    const client = (args: string[], stdin = "") =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(bin("airlock-client"), ["--home", device, "--json", ...args], { cwd: consumer, env: cleanEnv() });
        children.push(child);
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.stdin.end(stdin);
        child.on("exit", (code) => resolve({ code, stdout, stderr }));
      });
    const paired = await client(["pair", "--name", "Packed client"], `${link}\n`);
    expect(paired.code, paired.stderr).toBe(0);
    expect(paired.stdout).toContain(`"type":"paired"`);
    const started = await client(["start", "Hello from the installed packages"]);
    expect(started.code, started.stderr).toBe(0);
    const { thread } = JSON.parse(started.stdout) as { thread: string };
    const threads = await client(["threads"]);
    expect((JSON.parse(threads.stdout) as Array<{ id: string }>).map((t) => t.id)).toContain(thread);
  });
});
