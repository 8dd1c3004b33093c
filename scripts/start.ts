// `npm start`: Airlock on loopback. Starts the relay on local workerd
// (wrangler) and `airlock up --agent demo` against it, with all state in the
// project-local .dev/ folder, and prints the pairing QR code and link.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { devVapidBindings, loadOrCreateDevVapid } from "./dev-vapid.ts";
import { startLocalRelay } from "./local-relay.ts";

const port = Number(process.env.AIRLOCK_RELAY_PORT ?? 8787);

/** Whether something already listens on the loopback port (wrangler would wait for it without a word). */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "EADDRINUSE"));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(false)));
  });
}

if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`npm start: AIRLOCK_RELAY_PORT must be a port number (1-65535), not ${JSON.stringify(process.env.AIRLOCK_RELAY_PORT)}`);
  process.exit(2);
}
if (await portInUse(port)) {
  console.error(
    `npm start: port ${port} on 127.0.0.1 is in use: is another \`npm start\` still running? Stop it, or use another port: AIRLOCK_RELAY_PORT=${port + 1} npm start`,
  );
  process.exit(1);
}

// AIRLOCK_DEV_DIR: another state folder (the tests use one of their own, not the checkout's).
const devDir = process.env.AIRLOCK_DEV_DIR ? `${process.env.AIRLOCK_DEV_DIR.replace(/\/$/, "")}/` : new URL("../.dev/", import.meta.url).pathname;
/** The state folder as the hints print it: relative in the checkout, as a newcomer types it. */
const shownDir = process.env.AIRLOCK_DEV_DIR ? devDir : ".dev/";
const relayState = `${devDir}relay`;
const hostHome = `${devDir}host`;
mkdirSync(relayState, { recursive: true });
mkdirSync(hostHome, { recursive: true, mode: 0o700 });

console.log(`Airlock on loopback (state in ${shownDir})`);
// Web Push: one VAPID key pair for this checkout, made once (.dev/vapid.json, 0600).
const { vapid, created } = await loadOrCreateDevVapid(devDir);
console.log(`  push: VAPID key ${created ? "generated" : "loaded"} (${shownDir}vapid.json); public key ${vapid.publicKey.slice(0, 12)}…`);
console.log(`  relay: starting on http://127.0.0.1:${port} (local workerd) …`);
// The same local relay as the tests and benchmarks (scripts/local-relay.ts), serving the web app
// `npm start` built just before this script (package.json). The private key goes in as a secret
// binding: not argv, not env, not a .dev.vars file.
const relay = await startLocalRelay({
  port,
  persistDir: relayState,
  bindings: devVapidBindings(vapid),
  logLevel: "warn",
});
const relayUrl = relay.url;
console.log(`  relay: up at ${relayUrl} (health: ${relayUrl}/health)`);
console.log(`  web app: ${relayUrl}/ (served by the relay; the pairing link below opens it and pairs)`);
console.log(`  host agent: airlock up --agent demo (pair a device from another terminal with: npx airlock --home ${shownDir}host pair)\n`);

const bin = new URL("../host-agent/bin/airlock.js", import.meta.url).pathname;
// Its own process group: Ctrl-C reaches it once, from stop() below, not also from the terminal
// (a second signal makes airlock up exit at once instead of stopping cleanly). Not on Windows,
// where a detached child gets a console window of its own.
const host = spawn(process.execPath, [bin, "--home", hostHome, "up", "--relay", relayUrl, "--agent", "demo", "--pair"], {
  stdio: "inherit",
  detached: process.platform !== "win32",
});

let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  host.kill("SIGTERM");
  try {
    await relay.dispose();
  } catch (e) {
    console.error(`relay: stopping failed: ${e instanceof Error ? e.message : String(e)}`);
    code ||= 1;
  }
  process.exit(code);
};
host.on("exit", (code) => stop(code ?? 0));
// First in line: wrangler (and tsx) listen for these signals too and exit the process at once, so
// a listener added after theirs never ran, and `airlock up` kept running without its relay when
// npm start was stopped with SIGTERM (an IDE, a process manager, `kill`). The host is told to stop
// before anything else; the relay's temp folders go in its exit hook (scripts/local-relay.ts).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.prependListener(signal, () => void stop(0).catch(() => process.exit(1))); // stop() signals the host before its first await
}
