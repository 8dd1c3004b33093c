// The relay's half of automation-token expiry (docs/protocol.md §9.2): an
// allowlist entry may carry an expiry, signed by the host; the relay refuses
// the key after it even while the host is offline, and closes a connection
// of that key when the time comes. Real relay on workerd; the clock is the
// relay's own (a test cannot set it: it is not settable in production either),
// so "soon" expiries are a few seconds ahead and the test waits them out.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allowlistExpiryMessage,
  allowlistMessage,
  fromBase64Url,
  nobleBackend,
  RelayClose,
  SignaturePurpose,
  signWithPurpose,
  toBase64Url,
  type Ed25519Signer,
} from "../../../protocol/src/index.ts";
import { hostCommand, startRelay, type RelayServer } from "../../relay/harness.ts";
import { allowlistedDevice, authFrame, closeAll, closeOf, e2e, expectClosed, newHost, pending, sleep, type Host } from "../../relay/fixtures.ts";

let relay: RelayServer;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  await relay?.dispose();
});

async function withExpiry(signer: Ed25519Signer, room: string, version: number, keys: Uint8Array[], expires: number[]) {
  const message = allowlistExpiryMessage(fromBase64Url(room)!, version, keys, expires);
  const sig = await signWithPurpose(signer, SignaturePurpose.DEVICE_ALLOWLIST_EXPIRY, message);
  return { op: "allowlist.set", version, keys: keys.map(toBase64Url), expires, sig: toBase64Url(sig) };
}

async function refused(host: Host, signer: Ed25519Signer, reason: string): Promise<void> {
  const c = await pending(relay.url, host.room, "device");
  c.send(await authFrame(c, signer, SignaturePurpose.RELAY_DEVICE_AUTH));
  await expectClosed(c, RelayClose.AUTH_FAILED, reason);
}

describe("allowlist entries with an expiry", () => {
  it("admits a key until its expiry, refuses it after, and never expires a 0 entry", async () => {
    const host = await newHost(relay.url);
    const [phone, token, old] = await Promise.all([1, 2, 3].map(() => nobleBackend.generateSigner()));
    const now = Date.now();
    expect(
      await hostCommand(
        host.client,
        await withExpiry(host.key, host.room, 1, [phone!.publicKey, token!.publicKey, old!.publicKey], [0, now + 3_600_000, now - 1]),
      ),
    ).toMatchObject({ ok: true });
    const p = await allowlistedDevice(relay.url, host, phone!);
    const t = await allowlistedDevice(relay.url, host, token!);
    await refused(host, old!, "device key expired");
    // The host goes offline: the relay still refuses the expired key on its own.
    host.client.close();
    await sleep(200);
    await refused(host, old!, "device key expired");
    closeAll(p.client, t.client);
  });

  it("closes a connected key when it expires, even while it sends nothing, and keeps it out", async () => {
    const host = await newHost(relay.url);
    const token = await nobleBackend.generateSigner();
    const expiresAt = Date.now() + 2500;
    expect(await hostCommand(host.client, await withExpiry(host.key, host.room, 1, [token.publicKey], [expiresAt]))).toMatchObject({ ok: true });
    const t = await allowlistedDevice(relay.url, host, token);
    const closed = await closeOf(t.client, 20_000);
    expect(closed).toMatchObject({ code: RelayClose.REVOKED, reason: "device key expired" });
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    await refused(host, token, "device key expired");
    closeAll(host.client);
  });

  it("an expiry moved into the past by a new list closes the connection at once", async () => {
    const host = await newHost(relay.url);
    const token = await nobleBackend.generateSigner();
    expect(await hostCommand(host.client, await withExpiry(host.key, host.room, 1, [token.publicKey], [Date.now() + 3_600_000]))).toMatchObject({ ok: true });
    const t = await allowlistedDevice(relay.url, host, token);
    expect(await hostCommand(host.client, await withExpiry(host.key, host.room, 2, [token.publicKey], [Date.now() - 1]))).toMatchObject({ ok: true });
    await expectClosed(t.client, RelayClose.REVOKED, "device key expired");
    closeAll(host.client);
  });

  it("the expiries are signed: changed, dropped, or signed under the plain purpose, the list is refused", async () => {
    const host = await newHost(relay.url);
    const token = await nobleBackend.generateSigner();
    const later = Date.now() + 3_600_000;
    const signed = await withExpiry(host.key, host.room, 1, [token.publicKey], [Date.now() + 60_000]);
    const plainSig = await signWithPurpose(host.key, SignaturePurpose.DEVICE_ALLOWLIST, allowlistMessage(fromBase64Url(host.room)!, 1, [token.publicKey]));
    for (const attempt of [
      // A relay (or anyone) extending the token's life.
      { ...signed, expires: [later] },
      { ...signed, expires: [0] },
      // Dropping the expiries: the signature was over the list with them.
      { op: signed.op, version: 1, keys: signed.keys, sig: signed.sig },
      // A plain list's signature with expiries added.
      { ...signed, sig: toBase64Url(plainSig) },
      // The expiry form's message signed under the plain purpose.
      {
        ...signed,
        sig: toBase64Url(
          await signWithPurpose(
            host.key,
            SignaturePurpose.DEVICE_ALLOWLIST,
            allowlistExpiryMessage(fromBase64Url(host.room)!, 1, [token.publicKey], signed.expires),
          ),
        ),
      },
    ]) {
      expect(await hostCommand(host.client, attempt)).toMatchObject({ ok: false, error: "bad allowlist signature" });
    }
    expect(await hostCommand(host.client, { ...signed, expires: [1, 2] })).toMatchObject({ ok: false, error: "one expiry per key" });
    expect(await hostCommand(host.client, signed)).toMatchObject({ ok: true });
    // Frames still flow for an admitted, unexpired key.
    const t = await allowlistedDevice(relay.url, host, token);
    t.client.send(e2e(0, 0, [1]));
    expect(t.client.isOpen).toBe(true);
    closeAll(host.client, t.client);
  });
});
