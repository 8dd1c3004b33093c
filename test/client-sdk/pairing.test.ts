// Pairing and trust with the real relay (workerd) and real `airlock up` hosts:
// the SAS both sides show, a confirmed pairing that connects and drives a
// thread, every way a link can be bad, a rejected SAS, revocation of a live
// device, two hosts connected at once, and a link whose host key is not the
// key of the host that answers (WRONG_HOST_KEY).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeClientMessage,
  decodeHeader,
  decodeRelayMessage,
  encodeControl,
  encodePairingLink,
  frameBody,
  fromBase64Url,
  nobleBackend,
  parsePairingLink,
  relayAuthMessage,
  RelayFrame,
  roomIdFor,
  secureRandom,
  SignaturePurpose,
  signWithPurpose,
  toBase64Url,
  type Ed25519Signer,
} from "../../protocol/src/index.ts";
import { AirlockClient, AirlockClientError, MemoryStore, type WebSocketConstructor, type WebSocketLike } from "../../client-sdk/src/index.ts";
import { NodeWebSocket } from "../../client-sdk/src/node/index.ts";
import { AirlockClient as NativeAirlockClient } from "../../client-sdk/src/native.ts";
import { startRelay, type RelayServer } from "../relay/harness.ts";
import { AIRLOCK_BIN, driveTurn, newLink as newLinkFor, FAST_TIMING, freePort, runAirlock, startHost, until, waitState, type HostProcess } from "./support.ts";

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

async function newClient(
  name = "Test phone",
  crypto: "auto" | "noble" = "auto",
  store = new MemoryStore(),
  WebSocket: WebSocketConstructor = NodeWebSocket,
): Promise<AirlockClient> {
  const client = await AirlockClient.create({ store, WebSocket, timing: FAST_TIMING, deviceName: name, crypto });
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
      encodePairingLink({
        appUrl: "https://app.example",
        relayUrl: o.relayUrl ?? relay.url,
        hostPublicKey: hostKey,
        secret,
        expiresAt: o.expiresAt ?? Math.floor(Date.now() / 1000) + 300,
      });
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
  it("a revoked device: the relay's 4004 and 4002 (and the host's plaintext ABORT) are hints, so the connection reports RELAY_REFUSED and keeps retrying with backoff, live and on reconnect", async () => {
    const h = host(["--pair", "--yes"]);
    const { link } = (await h.waitFor("pairing")) as { link: string };
    const client = await newClient("Lost phone", "noble");
    expect(client.crypto).toBe("noble");
    const { host: trusted } = await client.pair(link);
    const conn = client.connect(trusted.id);
    await waitState(conn, "online");
    const devices = JSON.parse((await runAirlock(h.home, "devices")).stdout) as Array<{ id: string; name: string }>;
    const mine = devices.find((d) => d.name === "Lost phone")!;
    const states: string[] = [];
    conn.on("state", (s) => states.push(s));
    expect((await runAirlock(h.home, "devices", "revoke", mine.id)).code).toBe(0);
    // Neither the host's plaintext ABORT nor the relay's close is authenticated (a relay could forge
    // both), so only a hint: RELAY_REFUSED, and the connection keeps trying (the relay answers 4002).
    await until(() => conn.error?.code === "RELAY_REFUSED", 20_000, "RELAY_REFUSED");
    await until(() => states.filter((s) => s === "connecting").length >= 3, 20_000, "three more attempts");
    expect(states).not.toContain("refused");
    expect(conn.error?.message).toMatch(/relay refused this device; retrying/);
    const queued = conn.send("t", "hello");
    queued.catch(() => undefined);
    expect(conn.outbox.map((e) => e.state)).toEqual(["queued"]); // waits, as for any outage
    conn.close();
    await expectCode(queued, "CLOSED");
    // A fresh connection is refused by the relay too: the same hint, still retrying.
    const again = client.connect(trusted.id);
    await until(() => again.error?.code === "RELAY_REFUSED" && again.error.closeCode === 4002, 20_000, "4002 from the relay");
    expect(again.state).not.toBe("refused");
  }, 60_000);

  it("the React Native entry (@airlock/client-sdk/native) pairs and drives a thread with the noble backend", async () => {
    const h = host(["--pair", "--yes"]);
    const { link } = (await h.waitFor("pairing")) as { link: string };
    const client = await NativeAirlockClient.create({ store: new MemoryStore(), WebSocket: NodeWebSocket, timing: FAST_TIMING, deviceName: "RN phone" });
    clients.push(client);
    expect(client.crypto).toBe("noble");
    const { host: trusted, sas } = await client.pair(link);
    expect(sas).toMatch(/^\d{3} \d{3}$/);
    const conn = client.connect(trusted.id);
    await waitState(conn, "online");
    const { thread } = await conn.startThread({ prompt: "Hello from React Native" });
    const events = await driveTurn(conn, conn.subscribe(thread));
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  }, 60_000);

  it("connects to two hosts at once, each with its own threads; forgetting one leaves the other", async () => {
    const a = host(["--pair", "--yes"]);
    const b = host(["--pair", "--yes"]);
    const client = await newClient("Two-host phone");
    const linkA = ((await a.waitFor("pairing")) as { link: string }).link;
    const linkB = ((await b.waitFor("pairing")) as { link: string }).link;
    const [pa, pb] = await Promise.all([client.pair(linkA), client.pair(linkB)]);
    expect(pa.host.id).not.toBe(pb.host.id);
    expect(
      client
        .hosts()
        .map((h) => h.id)
        .sort(),
    ).toEqual([pa.host.id, pb.host.id].sort());
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

/**
 * A relay that routes a device to another room than the one it asked for: it
 * connects to the real relay's room `toRoom` instead and answers that relay's
 * challenge with its own key (a malicious relay can admit anyone; the device
 * never sees the difference at this layer). Frames otherwise pass untouched.
 */
function misroutingRelay(fromRoom: string, toRoom: string, signer: Ed25519Signer): WebSocketConstructor {
  return class implements WebSocketLike {
    binaryType = "arraybuffer";
    onopen: WebSocketLike["onopen"] = null;
    onmessage: WebSocketLike["onmessage"] = null;
    onclose: WebSocketLike["onclose"] = null;
    onerror: WebSocketLike["onerror"] = null;
    #ws: WebSocketLike;
    #challenge: Uint8Array = new Uint8Array(0);
    constructor(url: string) {
      expect(url).toContain(`/rooms/${fromRoom}/`);
      this.#ws = new NodeWebSocket(url.replace(`/rooms/${fromRoom}/`, `/rooms/${toRoom}/`));
      this.#ws.binaryType = "arraybuffer";
      this.#ws.onopen = (e) => this.onopen?.(e);
      this.#ws.onclose = (e) => this.onclose?.(e);
      this.#ws.onerror = (e) => this.onerror?.(e);
      this.#ws.onmessage = (e) => {
        if (e?.data instanceof ArrayBuffer && decodeHeader(new Uint8Array(e.data)).type === RelayFrame.CHALLENGE) {
          const m = decodeRelayMessage(new Uint8Array(e.data));
          if (m.type === RelayFrame.CHALLENGE) this.#challenge = fromBase64Url(m.body.challenge)!;
        }
        this.onmessage?.(e);
      };
    }
    get readyState() {
      return this.#ws.readyState;
    }
    send(data: Uint8Array | string): void {
      if (typeof data === "string" || decodeHeader(data).type !== RelayFrame.AUTH) return this.#ws.send(data);
      const auth = decodeClientMessage(RelayFrame.AUTH, frameBody(data));
      void signWithPurpose(signer, SignaturePurpose.RELAY_DEVICE_AUTH, relayAuthMessage(fromBase64Url(toRoom)!, this.#challenge)).then((sig) =>
        this.#ws.send(encodeControl(RelayFrame.AUTH, { ...auth, key: toBase64Url(signer.publicKey), sig: toBase64Url(sig) })),
      );
    }
    close(code?: number, reason?: string): void {
      this.#ws.close(code, reason);
    }
  };
}

describe("host authentication", () => {
  it("a link naming another host key than the host that answers: pair() fails with WRONG_HOST_KEY, nothing is trusted, the secret stays out of the message", async () => {
    const h = host(["--pair", "--yes"]);
    const { link } = (await h.waitFor("pairing")) as { link: string };
    const genuine = parsePairingLink(link);
    // The link as tampered with: a valid key (and its room) that is not the answering host's.
    const otherKey = (await nobleBackend.generateSigner()).publicKey;
    const tampered = encodePairingLink({
      appUrl: genuine.appUrl,
      relayUrl: genuine.relayUrl,
      hostPublicKey: otherKey,
      secret: genuine.secret,
      expiresAt: genuine.expiresAt,
    });
    const tamperedRoom = roomIdFor(otherKey);
    expect(parsePairingLink(tampered).roomId).toBe(tamperedRoom);
    const secretText = tampered.match(/secret=([^&]+)/)![1]!;

    // The malicious relay delivers the device to the real host's room; that host answers with its own key.
    const store = new MemoryStore();
    const client = await newClient("Tricked phone", "auto", store, misroutingRelay(tamperedRoom, genuine.roomId, await nobleBackend.generateSigner()));
    let sas: string | undefined;
    const e = await expectCode(client.pair(tampered, { onSas: (s) => (sas = s) }), "WRONG_HOST_KEY");
    expect(e.protocolCode).toBe("HOST_SIGNATURE_INVALID");
    expect(e.message).not.toContain(secretText);
    expect(e.message).not.toContain(toBase64Url(genuine.secret));
    expect(sas).toBeUndefined(); // the device stopped before revealing itself or showing a code
    expect(client.hosts()).toEqual([]);
    expect(await store.get("trusted-hosts")).toBeUndefined();
    // The host never learned the device: it did not get past the host's ServerHello.
    const devices = JSON.parse((await runAirlock(h.home, "devices")).stdout) as Array<{ name: string }>;
    expect(devices.map((d) => d.name)).not.toContain("Tricked phone");

    // Control: the untampered link through an honest relay pairs with the same host.
    const honest = await newClient("Honest phone");
    const { host: trusted } = await honest.pair((await newLinkFor(h.home)).link);
    expect(trusted.id).toBe(genuine.roomId);
  }, 60_000);
});

describe("host authentication on a trusted connection", () => {
  it("a relay that routes a paired device to another host's room: the connection goes to 'refused' with WRONG_HOST_KEY, stops retrying, and reconnectNow() tries again", async () => {
    const a = host(["--pair", "--yes"]);
    const b = host(["--pair", "--yes"]);
    const linkA = ((await a.waitFor("pairing")) as { link: string }).link;
    const linkB = ((await b.waitFor("pairing")) as { link: string }).link;
    // Every socket the client opens goes through here: counted, and misrouted when `impostor` is set.
    let opens = 0;
    let last: WebSocketLike | undefined;
    let impostor: WebSocketConstructor | undefined;
    const Switching = function (url: string) {
      opens++;
      last = new (impostor ?? NodeWebSocket)(url);
      return last;
    } as unknown as WebSocketConstructor;
    const store = new MemoryStore();
    const client = await newClient("Misrouted phone", "noble", store, Switching);
    const { host: hostA } = await client.pair(linkA);
    // The device is also paired with B, so B's room admits it and B runs the resume handshake with its own key.
    const { host: hostB } = await client.pair(linkB);
    const conn = client.connect(hostA.id);
    await waitState(conn, "online");
    const errors: AirlockClientError[] = [];
    conn.on("error", (e) => errors.push(e));

    // From now on the relay delivers the device's connections to host A into B's room.
    const { seed } = (await store.get("device-identity")) as { seed: string };
    impostor = misroutingRelay(hostA.id, hostB.id, await nobleBackend.signerFromSeed(fromBase64Url(seed)!));
    last!.close(); // the link drops; the connection reconnects (to B, unknowingly)
    await waitState(conn, "refused");
    expect(conn.error).toBeInstanceOf(AirlockClientError);
    expect(conn.error!.code).toBe("WRONG_HOST_KEY");
    expect(conn.error!.protocolCode).toBe("HOST_SIGNATURE_INVALID");
    expect(conn.error!.message).toMatch(/identity did not verify/);
    expect(conn.error!.message).toMatch(/impostor/);
    expect(conn.error!.message).not.toContain(seed);
    await expectCode(conn.send("t_whatever", "hi"), "WRONG_HOST_KEY"); // refused: commands fail at once

    // No more attempts: an observation window of several maximum backoff delays
    // (FAST_TIMING retries within 1 s), in which a retrying connection reconnects many times.
    const opensAtRefusal = opens;
    await new Promise((r) => setTimeout(r, 4 * FAST_TIMING.backoff.maxMs));
    expect(opens).toBe(opensAtRefusal);
    expect(conn.state).toBe("refused");
    expect(errors.filter((e) => e.code === "WRONG_HOST_KEY")).toHaveLength(1);

    // The app asks again explicitly: one new attempt, refused again while the relay still misroutes.
    const states: string[] = [];
    conn.on("state", (s) => states.push(s));
    conn.reconnectNow();
    expect(opens).toBe(opensAtRefusal + 1);
    await waitState(conn, "refused");
    expect(states).toEqual(["connecting", "refused"]);
    expect(errors.filter((e) => e.code === "WRONG_HOST_KEY")).toHaveLength(2);

    // With an honest relay again, reconnectNow() brings the connection back online with host A.
    impostor = undefined;
    conn.reconnectNow();
    await waitState(conn, "online");
    expect(conn.error).toBeUndefined();
    const { thread } = await conn.startThread({ prompt: "back on A" });
    await until(() => conn.threads.some((t) => t.id === thread), 10_000, "the thread on A");
  }, 90_000);
});
