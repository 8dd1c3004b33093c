// Push end to end: the real `airlock up` (demo agent, default policy), the real
// relay on local workerd with a VAPID key, and the tests' mock push service
// (which verifies VAPID and decrypts what reaches the "phone"). A phone
// registers its subscription over the end-to-end channel, asks for a test push
// (201), goes away; the agent asks for approval → the mock receives a push
// whose decrypted payload names the host and the request and nothing else;
// another device decides → the "resolved" follow-up arrives on the same Topic;
// the push service answers 410 → the host forgets the subscription and sends
// it nothing more; a revoked device's subscription is deleted; audit and
// `airlock stats` count it all, with no endpoint anywhere in the host's records.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodePushPayload, nobleBackend, type AppProtocolMessage } from "../../protocol/src/index.ts";
import { generateVapidKeys } from "../../protocol/src/web-push.ts";
import { startMockPushService, type ReceivedPush } from "../support/mock-push-service.ts";
import { startRelay } from "../relay/harness.ts";
import { BIN, cleanup, command, eventOf, freePort, isEvent, nextApp, reply, startHost, until, pairLink } from "./app-client.ts";
import { pairingDevice } from "./device.ts";

function airlock(home: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, "--home", home, ...args], { encoding: "utf8", timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const payloadOf = (r: ReceivedPush) => decodePushPayload(r.payload!);

describe("push through the real relay and host", () => {
  it("wakes a device that is away, follows up when decided elsewhere, forgets a 410 subscription", async () => {
    const vapid = await generateVapidKeys();
    const mock = await startMockPushService({ vapidPublicKey: vapid.publicKey });
    const relay = await startRelay({ port: await freePort(), push: { vapid: { ...vapid, subject: "mailto:ops@example.com" }, origins: [mock.origin] } });
    const home = mkdtempSync(join(tmpdir(), "airlock-push-home-"));
    cleanup.push(() => rmSync(home, { recursive: true, force: true })); // runs last (cleanup runs in reverse)
    cleanup.push(() => mock.close());
    cleanup.push(() => relay.dispose());
    const info = (await (await fetch(`${relay.url}/v1/info`)).json()) as { push?: { vapidPublicKey: string } };
    expect(info.push?.vapidPublicKey).toBe(vapid.publicKey);

    const host = startHost(home, relay.url);
    const { room } = (await host.waitFor("host")) as { room: string };
    const { link } = (await host.waitFor("pairing")) as { link: string };
    const phone = await pairingDevice(link, await nobleBackend.generateSigner(), "Phone");
    await phone.handshake();
    const hello = await nextApp(phone);
    expect(hello).toMatchObject({ type: "host.info", body: { capabilities: ["push"] } });

    const tabletLink = await pairLink(home);
    const tablet = await pairingDevice(tabletLink, await nobleBackend.generateSigner(), "Tablet");
    await tablet.handshake();
    expect((await nextApp(tablet)).type).toBe("host.info");

    // 1. The phone registers (no details) and asks for a test push.
    const subscription = await mock.subscribe();
    const registered = await reply(phone, await command(phone, "push.register", { subscription, kinds: ["approval", "question", "turn"], details: false }));
    expect(registered).toMatchObject({ type: "result", body: { data: { kinds: ["approval", "question", "turn"], details: false } } });
    const pushJson = join(home, "push.json");
    expect(statSync(pushJson).mode & 0o777).toBe(0o600);
    const tested = await reply(phone, await command(phone, "push.test", {}));
    expect(tested).toMatchObject({ type: "result", body: { data: { status: 201 } } });
    const test = await mock.waitFor((r) => r.endpoint === subscription.endpoint);
    expect(test).toMatchObject({ status: 201, vapid: { publicKey: vapid.publicKey, subject: "mailto:ops@example.com" } });
    expect(payloadOf(test)).toMatchObject({ v: 1, type: "test", host: { id: room, name: hostname().slice(0, 128) } });
    // The body is padded inside the encrypted record: 256-byte plaintext bucket + 103 bytes of RFC 8291 overhead.
    expect(test.bodyBytes).toBe(256 + 103);

    // 2. The phone goes away; the tablet starts a thread and looks at it.
    phone.close();
    for (let i = 0; ; i++) {
      const status = JSON.parse(airlock(home, "--json", "status").out) as { connected: Array<{ name: string }> };
      if (status.connected.length === 1) break;
      if (i > 100) throw new Error("the phone's session did not end");
      await new Promise((r) => setTimeout(r, 100));
    }
    await command(tablet, "thread.start", { prompt: "Write a release note" });
    const first = await until(tablet, isEvent("approval.request"));
    const thread = first.hit.thread!;
    const ls = eventOf(first.hit, "approval.request");
    const requestPush = await mock.waitFor((r) => r.endpoint === subscription.endpoint && r.payload !== undefined && payloadOf(r).type === "request");
    expect(requestPush).toMatchObject({ status: 201, urgency: "high" });
    expect(requestPush.topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(requestPush.ttl).toBeGreaterThan(500); // the approval's expiry (600 s by default)
    expect(requestPush.ttl).toBeLessThanOrEqual(600);
    const request = payloadOf(requestPush);
    expect(request).toEqual({
      v: 1,
      type: "request",
      kind: "approval",
      host: { id: room, name: hostname().slice(0, 128) },
      thread,
      approvalId: ls.approvalId,
      tag: `${room}:${thread}`,
      actions: ["approve_once", "deny"], // continue tier, any device may decide
      at: request.at,
    });
    const plaintext = new TextDecoder().decode(requestPush.payload);
    for (const detail of ["ls -la", "continue", "Write a release note"]) expect(plaintext).not.toContain(detail);
    // The body on the wire is ciphertext: no payload text in it.
    expect(Buffer.from(requestPush.body).includes(Buffer.from(ls.approvalId))).toBe(false);

    // 3. The tablet decides: the phone gets "resolved" on the same Topic.
    await command(tablet, "approval.decide", { thread, approvalId: ls.approvalId, decision: "approve_once" });
    const resolvedPush = await mock.waitFor((r) => r.endpoint === subscription.endpoint && r.payload !== undefined && payloadOf(r).type === "resolved");
    expect(resolvedPush.topic).toBe(requestPush.topic);
    expect(resolvedPush.urgency).toBe("normal");
    expect(payloadOf(resolvedPush)).toMatchObject({
      type: "resolved",
      kind: "approval",
      approvalId: ls.approvalId,
      tag: request.tag,
      outcome: "approve_once",
      by: "Tablet",
    });

    // 4. The push service says the subscription is gone: the host forgets it.
    mock.respondWith(subscription.endpoint, 410);
    const second = await until(tablet, isEvent("approval.request"));
    const fileReq = eventOf(second.hit, "approval.request");
    const gone = await mock.waitFor((r) => r.endpoint === subscription.endpoint && r.status === 410);
    expect(payloadOf(gone)).toMatchObject({ type: "request", approvalId: fileReq.approvalId });
    for (let i = 0; (JSON.parse(readFileSync(pushJson, "utf8")) as { devices: unknown[] }).devices.length > 0; i++) {
      if (i > 100) throw new Error("push.json still holds the subscription");
      await new Promise((r) => setTimeout(r, 50));
    }
    const countForPhone = () => mock.received.filter((r) => r.endpoint === subscription.endpoint).length;
    const before = countForPhone();
    await command(tablet, "approval.decide", { thread, approvalId: fileReq.approvalId, decision: "approve_once" });
    const third = await until(tablet, isEvent("approval.request"));
    await command(tablet, "approval.decide", { thread, approvalId: eventOf(third.hit, "approval.request").approvalId, decision: "approve_once" });
    await until(tablet, (m: AppProtocolMessage) => m.type === "event" && m.body.kind === "turn.status" && m.body.status !== "started");
    await new Promise((r) => setTimeout(r, 1000)); // pushes are sent in the background: give them time
    expect(countForPhone()).toBe(before); // no resolved, no request, no turn push to a forgotten subscription
    // push.test from a device without a subscription.
    const notRegistered = await reply(tablet, await command(tablet, "push.test", {}));
    expect(notRegistered).toMatchObject({ type: "error", body: { code: "PUSH_NOT_REGISTERED" } });

    // 5. A revoked device's subscription is deleted.
    const tabletSub = await mock.subscribe();
    expect(await reply(tablet, await command(tablet, "push.register", { subscription: tabletSub, kinds: ["turn"], details: true }))).toMatchObject({
      type: "result",
    });
    const devices = JSON.parse(airlock(home, "--json", "devices").out) as Array<{ id: string; name: string }>;
    const tabletId = devices.find((d) => d.name === "Tablet")!.id;
    expect((JSON.parse(readFileSync(pushJson, "utf8")) as { devices: Array<{ deviceId: string }> }).devices.map((d) => d.deviceId)).toEqual([tabletId]);
    expect(airlock(home, "devices", "revoke", tabletId).code).toBe(0);
    expect((JSON.parse(readFileSync(pushJson, "utf8")) as { devices: unknown[] }).devices).toEqual([]);

    // 6. Audit and stats: pushes sent and gone, no endpoint in the host's records.
    const audit = readFileSync(join(home, "audit.jsonl"), "utf8");
    expect(audit).not.toContain(subscription.endpoint);
    expect(audit).not.toContain(mock.origin);
    const types = audit
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types.filter((t) => t === "push.sent")).toHaveLength(3); // test, request, resolved
    expect(types.filter((t) => t === "push.gone")).toHaveLength(1);
    const stats = JSON.parse(airlock(home, "--json", "stats").out) as {
      push: Record<string, number>;
      humanLatencyPushed: { count: number };
      humanLatencyNotPushed: { count: number };
    };
    expect(stats.push).toEqual({ sent: 3, failed: 0, gone: 1 });
    expect(stats.humanLatencyPushed.count).toBe(1);
    expect(stats.humanLatencyNotPushed.count).toBe(2);
    expect(airlock(home, "stats").out).toMatch(/pushes: +sent 3, failed 0, subscriptions gone 1/);
    expect(existsSync(join(home, "push.json"))).toBe(true);
  });
});
