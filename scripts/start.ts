// `npm start`: runs Airlock locally. Today only the protocol core exists, so
// this prints what is not there yet and runs an in-memory pairing between a
// host and a device to show the core working end to end.
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

const parts = [
  ["relay (Worker + Durable Object on local workerd)", "not yet — issue 3"],
  ["host agent (`airlock up`)", "not yet — issue 4"],
  ["web app", "not yet — issue 6"],
];
console.log("Airlock local stack");
for (const [name, status] of parts) console.log(`  ${name}: ${status}`);

const backend = nobleBackend;
const host = await backend.generateSigner();
const registry = new PairingRegistry();
const pending = registry.create();
const link = encodePairingLink({
  appUrl: "http://127.0.0.1:8787/pair",
  relayUrl: "http://127.0.0.1:8787",
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
console.log(`\nRun the tests with: npm test`);
