// Issue 14: `npx wrangler deploy` from a fresh clone shipped a blank web app
// (app.js, app.css, sw.js and integrity.json are build outputs). wrangler's
// [build] command now builds them first. This runs the deploy's dry run in a
// copy of the repository's files (nothing built yet) and checks that the app
// got built; the relay serves it without its source maps (.assetsignore).
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startRelay } from "./harness.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
let copy: string | undefined;
afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe("wrangler deploy from a fresh clone", () => {
  it("builds the web app and uploads it without source maps", () => {
    copy = mkdtempSync(join(tmpdir(), "airlock-deploy-"));
    // Tracked files and new ones not ignored: what a clone holds once they are committed.
    const tracked = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
      .split("\0")
      .filter((f) => f && existsSync(join(ROOT, f)));
    for (const file of tracked) {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      cpSync(join(ROOT, file), join(copy, file));
    }
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
    expect(existsSync(join(copy, "web/public/app.js"))).toBe(false);

    const env: NodeJS.ProcessEnv = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
    delete env.AIRLOCK_WEB_BUILT;
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", join(copy, "out")], {
      cwd: copy,
      env,
      encoding: "utf8",
      timeout: 120_000,
    });
    const output = `${r.stdout}${r.stderr}`;
    expect(r.status, output).toBe(0);
    const pub = join(copy, "web/public");
    for (const built of ["app.js", "app.css", "sw.js", "integrity.json"]) expect(existsSync(join(pub, built)), built).toBe(true);
    // wrangler reads the whole folder (and leaves out what .assetsignore names when it uploads).
    expect(output).toContain(`Read ${readdirSync(pub).length} files from the assets directory`);
  }, 180_000);

  it("serves the app but not its source maps", async () => {
    const relay = await startRelay();
    try {
      expect((await fetch(`${relay.url}/app.js`)).status).toBe(200);
      expect(existsSync(join(ROOT, "web/public/app.js.map"))).toBe(true);
      expect((await fetch(`${relay.url}/app.js.map`)).status).toBe(404);
      expect((await fetch(`${relay.url}/.assetsignore`)).status).toBe(404);
    } finally {
      await relay.dispose();
    }
  }, 180_000);
});
