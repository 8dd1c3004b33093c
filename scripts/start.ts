// `npm start`: runs Airlock locally on loopback. Today that is the relay on
// local workerd (wrangler) plus an in-memory pairing through the protocol
// core; the host agent and the web app arrive with their issues.
import { mkdirSync } from "node:fs";
import { unstable_startWorker } from "wrangler";
import {
  DeviceSession,
  HostSession,
  PairingRegistry,
  derivePairingKeys,
  encodePairingLink,
  nobleBackend,
  parsePairingLink,
  redactPairingLink,
  roomIdFor,
  textEncoder,
} from "../protocol/src/index.ts";

const port = Number(process.env.AIRLOCK_RELAY_PORT ?? 8787);
const stateDir = new URL("../.dev/relay", import.meta.url).pathname;
mkdirSync(stateDir, { recursive: true });
// Offline machines cannot fetch Cloudflare's Request.cf sample; don't try.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
console.log("Airlock local stack");
console.log(`  relay: starting on http://127.0.0.1:${port} (local workerd, state in .dev/relay) …`);
const relay = await unstable_startWorker({
  config: new URL("../wrangler.toml", import.meta.url).pathname,
  dev: { server: { hostname: "127.0.0.1", port }, inspector: false, watch: false, persist: stateDir, logLevel: "warn" },
} as Parameters<typeof unstable_startWorker>[0]);
const relayUrl = (await relay.url).toString().replace(/\/$/, "");
const info = (await (await fetch(`${relayUrl}/v1/info`)).json()) as { version: string; protocol: number };
console.log(`  relay: up at ${relayUrl} (version ${info.version}, protocol ${info.protocol}); health: ${relayUrl}/health`);
console.log("  host agent (`airlock up`): not yet — issue 4");
console.log("  web app: placeholder page at " + relayUrl + "/ — the app arrives with issue 6");

const backend = nobleBackend;
const host = await backend.generateSigner();
const registry = new PairingRegistry();
const pending = registry.create();
const link = encodePairingLink({
  appUrl: `${relayUrl}/pair`,
  relayUrl,
  hostPublicKey: host.publicKey,
  secret: pending.secret,
  expiresAt: pending.expiresAt,
});
console.log(`\nProtocol self-check (in memory, no network)`);
console.log(`  host room id: ${roomIdFor(host.publicKey)}`);
console.log(`  pairing link: ${redactPairingLink(link)}`);

const parsed = parsePairingLink(link);
const keys = derivePairingKeys(parsed.secret);
const device = new DeviceSession({
  backend,
  hostPublicKey: parsed.hostPublicKey,
  deviceSigner: await backend.generateSigner(),
  deviceName: "Self-check device",
  pairing: { pairingId: keys.pairingId, psk: keys.psk },
});
const hostSession = new HostSession({ backend, hostSigner: host, pairings: registry, isTrustedDevice: () => false, slot: 1 });
const started = performance.now();
const serverHello = (await hostSession.receive(await device.start())).reply!;
const { reply: clientAuth, sas } = await device.receive(serverHello);
const { claim } = await hostSession.receive(clientAuth!);
console.log(`  device shows SAS ${sas}; host shows SAS ${claim!.sas} for "${claim!.deviceName}"`);
await device.receive(await hostSession.accept());
const echoed = await hostSession.receive(await device.send(textEncoder.encode("hello from the phone")));
console.log(`  host decrypted: "${new TextDecoder().decode(echoed.payload)}"`);
console.log(`  paired and exchanged a message in ${(performance.now() - started).toFixed(1)} ms`);
console.log(`\nThe relay keeps running; press Ctrl-C to stop. Run the tests with: npm test`);
const stop = async () => {
  await relay.dispose();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
