// wrangler's [build] command (wrangler.toml): `wrangler deploy` from a fresh
// clone must ship the built web app (app.js, app.css, sw.js, integrity.json
// are build outputs), so the build runs first. Local runs that built it
// already — npm start, .ci/run, the tests, which start many relays at once —
// set AIRLOCK_WEB_BUILT=1 and skip it (wrangler runs this at every start).
// Plain Node, no tsx: it must cost nothing when it skips.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

if (process.env.AIRLOCK_WEB_BUILT === "1") process.exit(0);
const root = fileURLToPath(new URL("..", import.meta.url));
const tsx = fileURLToPath(new URL("../node_modules/tsx/dist/cli.mjs", import.meta.url));
const r = spawnSync(process.execPath, [tsx, "scripts/build-web.ts"], { cwd: root, stdio: "inherit" });
process.exit(r.status ?? 1);
