// The relay's push settings (durable-objects/push-config.ts): the push-service allowlist with
// its wildcards and defaults, and when push counts as configured.
import { describe, expect, it } from "vitest";
import {
  DEFAULT_PUSH_ORIGINS,
  parsePushOrigin,
  parsePushOrigins,
  pushConfigFrom,
  pushOriginAllowed,
  vapidReady,
  type PushEnv as Env,
} from "../../durable-objects/push-config.ts";
import { generateVapidKeys } from "../../protocol/src/web-push.ts";

const allowed = (endpoint: string, origins?: string) => pushOriginAllowed(new URL(endpoint), parsePushOrigins(origins));

describe("PUSH_ORIGINS", () => {
  it("defaults to the browsers' push services, https only, WNS by subdomain", () => {
    expect(parsePushOrigins(undefined)).toHaveLength(DEFAULT_PUSH_ORIGINS.length);
    expect(parsePushOrigins(" ")).toHaveLength(DEFAULT_PUSH_ORIGINS.length);
    expect(allowed("https://fcm.googleapis.com/fcm/send/abc")).toBe(true);
    expect(allowed("https://updates.push.services.mozilla.com/wpush/v2/abc")).toBe(true);
    expect(allowed("https://web.push.apple.com/QGx")).toBe(true);
    expect(allowed("https://db5p.notify.windows.com/w/?token=abc")).toBe(true);
    expect(allowed("https://notify.windows.com/w/")).toBe(false); // a wildcard means a subdomain
    expect(allowed("http://fcm.googleapis.com/fcm/send/abc")).toBe(false);
    expect(allowed("https://fcm.googleapis.com:8443/fcm/send/abc")).toBe(false);
    expect(allowed("https://fcm.googleapis.com.evil.net/x")).toBe(false);
    expect(allowed("https://evilfcm.googleapis.com/x")).toBe(false);
    expect(allowed("https://xnotify.windows.com/x")).toBe(false);
    expect(allowed("https://a.notify.windows.com.evil.net/x")).toBe(false);
    expect(allowed("http://127.0.0.1:8080/push/x")).toBe(false);
  });

  it("a configured list replaces the defaults; plain http only when listed so; ports must match; case-insensitive hosts", () => {
    const list = "http://127.0.0.1:9000, https://*.push.example.com ,https://Push.Example.net";
    expect(allowed("http://127.0.0.1:9000/push/x", list)).toBe(true);
    expect(allowed("https://127.0.0.1:9000/push/x", list)).toBe(false);
    expect(allowed("http://127.0.0.1:9001/push/x", list)).toBe(false);
    expect(allowed("https://eu.push.example.com/x", list)).toBe(true);
    expect(allowed("https://a.b.push.example.com/x", list)).toBe(true);
    expect(allowed("https://push.example.com/x", list)).toBe(false);
    expect(allowed("https://push.example.net/x", list)).toBe(true);
    expect(allowed("https://fcm.googleapis.com/fcm/send/abc", list)).toBe(false);
  });

  it("ignores entries that are not scheme://host[:port] (they allow nothing)", () => {
    for (const bad of [
      "fcm.googleapis.com",
      "https://fcm.googleapis.com/",
      "https://u:p@fcm.googleapis.com",
      "ftp://x.example",
      "https://*.com",
      "https://*",
      "https://a.*.example",
      "*",
    ]) {
      expect(parsePushOrigin(bad), bad).toBeUndefined();
    }
    expect(parsePushOrigins("garbage, also garbage")).toEqual([]);
    expect(allowed("https://fcm.googleapis.com/x", "garbage")).toBe(false);
  });
});

describe("push configuration", () => {
  const base = async (): Promise<Env> => {
    const keys = await generateVapidKeys();
    return { VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey, VAPID_SUBJECT: "mailto:ops@example.net" } as Env;
  };

  it("needs both keys and a mailto:/https: subject; rate defaults 60/min, burst 20", async () => {
    const env = await base();
    expect(pushConfigFrom(env)).toMatchObject({ subject: "mailto:ops@example.net", perMinute: 60, burst: 20 });
    expect(pushConfigFrom({ ...env, VAPID_PRIVATE_KEY: undefined } as unknown as Env)).toBeUndefined();
    expect(pushConfigFrom({ ...env, VAPID_PUBLIC_KEY: "AAAA" } as Env)).toBeUndefined();
    expect(pushConfigFrom({ ...env, VAPID_SUBJECT: "ops@example.net" } as Env)).toBeUndefined();
    expect(pushConfigFrom({ ...env, VAPID_SUBJECT: "http://example.net" } as Env)).toBeUndefined();
    expect(pushConfigFrom({ ...env, PUSH_PER_MINUTE: "10", PUSH_BURST: "3" } as Env)).toMatchObject({ perMinute: 10, burst: 3 });
    expect(pushConfigFrom({ ...env, PUSH_PER_MINUTE: "-1", PUSH_BURST: "lots" } as Env)).toMatchObject({ perMinute: 60, burst: 20 });
  });

  it("vapidReady is false for a public key that is not the private key's", async () => {
    const env = await base();
    const other = await base();
    expect(await vapidReady(pushConfigFrom(env)!)).toBe(true);
    const mismatched = pushConfigFrom({ ...env, VAPID_PUBLIC_KEY: other.VAPID_PUBLIC_KEY } as Env)!;
    expect(await vapidReady(mismatched)).toBe(false);
  });
});

describe("npm start's local VAPID key (scripts/dev-vapid.ts)", () => {
  it("is generated once with mode 0600, reused after, and a broken file is refused with a clear message", async () => {
    const { mkdtempSync, rmSync, statSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { devVapidBindings, loadOrCreateDevVapid } = await import("../../scripts/dev-vapid.ts");
    const dir = mkdtempSync(join(tmpdir(), "airlock-dev-vapid-"));
    try {
      const first = await loadOrCreateDevVapid(join(dir, ".dev"));
      expect(first.created).toBe(true);
      expect(statSync(first.path).mode & 0o777).toBe(0o600);
      const again = await loadOrCreateDevVapid(join(dir, ".dev"));
      expect(again).toMatchObject({ created: false, vapid: first.vapid });
      expect(
        await vapidReady(pushConfigFrom(Object.fromEntries(Object.entries(devVapidBindings(first.vapid)).map(([k, v]) => [k, v.value])) as unknown as Env)!),
      ).toBe(true);
      expect(devVapidBindings(first.vapid).VAPID_PRIVATE_KEY.type).toBe("secret_text");
      const other = await generateVapidKeys();
      writeFileSync(first.path, JSON.stringify({ ...first.vapid, publicKey: other.publicKey }));
      await expect(loadOrCreateDevVapid(join(dir, ".dev"))).rejects.toThrow(/does not belong.*delete it/);
      writeFileSync(first.path, "{");
      await expect(loadOrCreateDevVapid(join(dir, ".dev"))).rejects.toThrow(/not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
