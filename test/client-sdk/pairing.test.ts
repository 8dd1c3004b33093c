// Pairing and trust with the real relay (workerd) and real `airlock up` hosts:
// the SAS both sides show, a confirmed pairing that connects and drives a
// thread, every way a link can be bad, a rejected SAS, revocation of a live
// device, and two hosts connected at once.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePairingLink, nobleBackend, secureRandom } from "../../protocol/src/index.ts";
import { AirlockClient, AirlockClientError, MemoryStore } from "../../client-sdk/src/index.ts";
import { NodeWebSocket } from "../../client-sdk/src/node/index.ts";
import { startRelay, type RelayServer } from "../relay/harness.ts";
import { AIRLOCK_BIN, driveTurn, FAST_TIMING, freePort, runAirlock, startHost, until, waitState, type HostProcess } from "./support.ts";

let relay: RelayServer;
const hosts: HostProcess[] = [];
const clients: AirlockClient[] = [];

beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  for (const c of clients) await c.close();
  for (const h of hosts) await h.stop();
  await relay?.dispose();
});

async function newClient(name = "Test phone", crypto: "auto" | "noble" = "auto"): Promise<AirlockClient> {
  const client = await AirlockClient.create({ store: new MemoryStore(), WebSocket: NodeWebSocket, timing: FAST_TIMING, deviceName: name, crypto });
  clients.push(client);
  return client;
}

function host(extra: string[] = []): HostProcess {
  const h = startHost(relay.url, extra);
  hosts.push(h);
  return h;
}

async function expectCode(p: Promise<unknown>, code: string): Promise<AirlockClientError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AirlockClientError);
  expect((e as AirlockClientError).code).toBe(code);
  return e as AirlockClientError;
}

/** `airlock pair` (no --yes) against a running host: its link, its SAS prompt, and the operator's answer. */
function pairCommand(home: string) {
  const child = spawn(process.execPath, [AIRLOCK_BIN, "--home", home, "--json", "pair"]);
  const lines: Array<Record<string, unknown>> = [];
  createInterface({ input: child.stdout }).on("line", (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  const line = async (type: string) => {
    await until(() => lines.some((l) => l.type === type), 20_000, `"${type}" from airlock pair`);
    return lines.find((l) => l.type === type)!;
  };
  return {
    link: line("pairing").then((l) => l.link as string),
    confirm: line("confirm"),
    answer: (a: "y" | "n") => child.stdin.end(`${a}\n`),
  };
}

describe("pairing", () => {
  it("shows the SAS the host operator sees, pairs on confirmation, connects and drives a thread; the link is then used", async () => {
    const h = host();
    await h.waitFor("relay.online");
    const operator = pairCommand(h.home); // `airlock pair` without --yes: the operator answers y/n
    const link = await operator.link;
    const client = await newClient("Ana's phone");
    let shown: string | undefined;
    const paired = client.pair(link, { onSas: (sas) => (shown = sas) });
    paired.catch(() => undefined); // awaited below
    const confirm = await operator.confirm;
    await until(() => shown !== undefined, 5000, "SAS on the device");
    expect(confirm.sas).toBe(shown);
    expect(shown).toMatch(/^\d{3} \d{3}$/);
    expect(confirm.deviceName).toBe("Ana's phone");
    operator.answer("y");
    const { host: trusted, sas } = await paired;
    expect(sas).toBe(shown);
    expect(client.hosts()).toEqual([trusted]);
    expect(trusted.relayUrl).toBe(relay.url);

    const conn = client.connect(trusted.id);
    expect(client.connect(trusted.id)).toBe(conn);
    await waitState(conn, "online");
    expect(conn.presence.hostOnline).toBe(true);
    await until(() => conn.hostInfo !== undefined, 5000, "host.info");
    expect(conn.hostInfo!.agent.kind).toBe("demo");
    // The host's name replaces the placeholder; renames stick.
    expect(client.hosts()[0]!.name).toBe(conn.hostInfo!.name);
    await client.renameHost(trusted.id, "Build box");
    expect(client.hosts()[0]!.name).toBe("Build box");

    const updates: string[] = [];
    conn.on("threads", (threads) => updates.push(...threads.map((t) => t.status)));
    const { thread } = await conn.startThread({ prompt: "Write a note" });
    const sub = conn.subscribe(thread);
    const listened: number[] = [];
    sub.on("event", (e) => listened.push(e.seq));
    const events = await driveTurn(conn, sub);
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(listened).toEqual(seqs.slice(seqs.length - listened.length));
    expect(events.some((e) => e.event.kind === "approval.resolved")).toBe(true);
    expect(updates).toContain("running");
    expect(conn.threads.map((t) => t.id)).toContain(thread);
    expect(conn.outbox.filter((o) => o.type === "thread.start").map((o) => o.state)).toEqual(["acknowledged"]);

    // A follow-up; a command on an unknown thread fails with the host's code.
    await conn.send(thread, "and one more");
    await expectCode(conn.send("no-such-thread", "hi"), "THREAD_NOT_FOUND");
    sub.close();

    // The same link again: the relay ticket is spent.
    await expectCode((await newClient("Thief")).pair(link), "LINK_USED");
  }, 90_000);

  it("reports a rejected SAS as HOST_REFUSED", async () => {
    const h = host();
    await h.waitFor("relay.online");
    const operator = pairCommand(h.home);
    const client = await newClient();
    const paired = client.pair(await operator.link);
    paired.catch(() => undefined);
    await operator.confirm;
    operator.answer("n");
    const e = await expectCode(paired, "HOST_REFUSED");
    expect(e.protocolCode).toBe("SAS_REJECTED");
    expect(client.hosts()).toEqual([]);
  }, 60_000);

  it("rejects bad links with clear codes and never echoes the secret", async () => {
    const client = await newClient();
    const hostKey = (await nobleBackend.generateSigner()).publicKey;
    const secret = secureRandom(32);
    const make = (o: { relayUrl?: string; expiresAt?: number }) =>
      encodePairingLink({ appUrl: "https://app.example", relayUrl: o.relayUrl ?? relay.url, hostPublicKey: hostKey, secret, expiresAt: o.expiresAt ?? Math.floor(Date.now() / 1000) + 300 });
    const good = make({});
    const secretText = good.match(/secret=([^&]+)/)![1]!;

    for (const [link, code] of [
      ["not a link", "LINK_INVALID"],
      [good.replace("&exp=", "&x=1&exp="), "LINK_INVALID"],
      [good.replace("v=1", "v=2"), "PROTOCOL_VERSION"],
      [make({ expiresAt: Math.floor(Date.now() / 1000) - 10 }), "LINK_EXPIRED"],
      [good.replace(encodeURIComponent(relay.url), encodeURIComponent("http://example.com")), "LINK_INVALID"], // plain http off loopback
      [good, "LINK_USED"], // well-formed, but no host registered this ticket
      [make({ relayUrl: `http://127.0.0.1:${await freePort()}` }), "RELAY_UNREACHABLE"],
    ] as const) {
      const e = await expectCode(client.pair(link), code);
      expect(e.message).not.toContain(secretText);
    }
    const aborted = new AbortController();
    aborted.abort();
    await expectCode(client.pair(good, { signal: aborted.signal }), "ABORTED");
  }, 60_000);
});

describe("trust", () => {
  it("a revoked device goes to 'refused' with DEVICE_REVOKED, live and on reconnect", async () => {
    const h = host(["--pair", "--yes"]);
    const { link } = (await h.waitFor("pairing")) as { link: string };
    const client = await newClient("Lost phone", "noble");
    expect(client.crypto).toBe("noble");
    const { host: trusted } = await client.pair(link);
    const conn = client.connect(trusted.id);
    await waitState(conn, "online");
    const devices = JSON.parse((await runAirlock(h.home, "devices")).stdout) as Array<{ id: string; name: string }>;
    const mine = devices.find((d) => d.name === "Lost phone")!;
    expect((await runAirlock(h.home, "devices", "revoke", mine.id)).code).toBe(0);
    await waitState(conn, "refused");
    expect(conn.error?.code).toBe("DEVICE_REVOKED");
    await expectCode(conn.send("t", "hello"), "DEVICE_REVOKED");
    // A fresh connection is refused by the relay too.
    conn.close();
    const again = client.connect(trusted.id);
    await waitState(again, "refused");
    expect(again.error?.code).toBe("DEVICE_REVOKED");
  }, 60_000);

  it("connects to two hosts at once, each with its own threads; forgetting one leaves the other", async () => {
    const a = host(["--pair", "--yes"]);
    const b = host(["--pair", "--yes"]);
    const client = await newClient("Two-host phone");
    const linkA = ((await a.waitFor("pairing")) as { link: string }).link;
    const linkB = ((await b.waitFor("pairing")) as { link: string }).link;
    const [pa, pb] = await Promise.all([client.pair(linkA), client.pair(linkB)]);
    expect(pa.host.id).not.toBe(pb.host.id);
    expect(client.hosts().map((h) => h.id).sort()).toEqual([pa.host.id, pb.host.id].sort());
    const ca = client.connect(pa.host.id);
    const cb = client.connect(pb.host.id);
    await Promise.all([waitState(ca, "online"), waitState(cb, "online")]);
    const [ta, tb] = await Promise.all([ca.startThread({ prompt: "on A" }), cb.startThread({ prompt: "on B" })]);
    await until(() => ca.threads.some((t) => t.id === ta.thread) && cb.threads.some((t) => t.id === tb.thread), 10_000, "thread lists");
    expect(ca.threads.map((t) => t.title)).toEqual(["on A"]);
    expect(cb.threads.map((t) => t.title)).toEqual(["on B"]);

    // Host A goes away: presence says so; B is unaffected.
    await a.stop();
    await waitState(ca, "host-offline");
    expect(ca.presence.hostOnline).toBe(false);
    expect(ca.presence.lastSeen).toBeGreaterThan(0);
    expect(cb.state).toBe("online");

    // A comes back (same identity): the device resumes without a link.
    const a2 = startHost(relay.url, [], a.home);
    hosts.push(a2);
    await waitState(ca, "online", 30_000);
    expect(ca.presence.hostOnline).toBe(true);

    await client.forgetHost(pa.host.id);
    expect(client.hosts().map((h) => h.id)).toEqual([pb.host.id]);
    expect(ca.state).toBe("closed");
    expect(client.connection(pa.host.id)).toBeUndefined();
    expect(cb.state).toBe("online");
  }, 90_000);
});
