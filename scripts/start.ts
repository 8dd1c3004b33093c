// `npm start`: Airlock on loopback. Starts the relay on local workerd
// (wrangler) and `airlock up --agent demo` against it, with all state in the
// project-local .dev/ folder, and prints the pairing QR code and link.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { unstable_startWorker } from "wrangler";
import { devVapidBindings, loadOrCreateDevVapid } from "./dev-vapid.ts";

const port = Number(process.env.AIRLOCK_RELAY_PORT ?? 8787);
const devDir = new URL("../.dev/", import.meta.url).pathname;
const relayState = `${devDir}relay`;
const hostHome = `${devDir}host`;
mkdirSync(relayState, { recursive: true });
mkdirSync(hostHome, { recursive: true, mode: 0o700 });
// Offline machines cannot fetch Cloudflare's Request.cf sample; don't try.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
// `npm start` built the web app just before this script (package.json): wrangler's [build] need not.
process.env.AIRLOCK_WEB_BUILT ??= "1";

console.log("Airlock on loopback (state in .dev/)");
// Web Push: one VAPID key pair for this checkout, made once (.dev/vapid.json, 0600).
const { vapid, created } = await loadOrCreateDevVapid(devDir);
console.log(`  push: VAPID key ${created ? "generated" : "loaded"} (.dev/vapid.json); public key ${vapid.publicKey.slice(0, 12)}…`);
console.log(`  relay: starting on http://127.0.0.1:${port} (local workerd) …`);
const relay = await unstable_startWorker({
  config: new URL("../wrangler.toml", import.meta.url).pathname,
  // The private key goes in as a secret binding: not argv, not env, not a .dev.vars file.
  bindings: devVapidBindings(vapid),
  dev: { server: { hostname: "127.0.0.1", port }, inspector: false, watch: false, persist: relayState, logLevel: "warn" },
} as Parameters<typeof unstable_startWorker>[0]);
const relayUrl = (await relay.url).toString().replace(/\/$/, "");
console.log(`  relay: up at ${relayUrl} (health: ${relayUrl}/health)`);
console.log(`  web app: ${relayUrl}/ (served by the relay; the pairing link below opens it and pairs)`);
console.log("  host agent: airlock up --agent demo (pair a device from another terminal with: npx airlock --home .dev/host pair)\n");

const bin = new URL("../host-agent/bin/airlock.js", import.meta.url).pathname;
const host = spawn(process.execPath, [bin, "--home", hostHome, "up", "--relay", relayUrl, "--agent", "demo", "--pair"], { stdio: "inherit" });

let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  host.kill("SIGTERM");
  await relay.dispose();
  process.exit(code);
};
host.on("exit", (code) => void stop(code ?? 0));
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
