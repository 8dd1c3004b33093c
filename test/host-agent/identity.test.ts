import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nobleBackend, roomIdFor } from "../../protocol/src/index.ts";
import { IdentityError, loadIdentity, loadOrCreateIdentity } from "../../host-agent/src/identity.ts";
import { DeviceStore, DeviceStoreError } from "../../host-agent/src/device-store.ts";
import { tempDir } from "../support/temp.ts";

const dir = () => tempDir("airlock-id-");

describe("host identity", () => {
  it("is created once with mode 0600 and reloads to the same key and room", async () => {
    const path = join(dir(), "nested", "identity.json");
    const first = await loadOrCreateIdentity(path, nobleBackend);
    expect(first.created).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateIdentity(path, nobleBackend);
    expect(again.created).toBe(false);
    expect(again.identity.publicKey).toBe(first.identity.publicKey);
    expect(again.identity.roomId).toBe(roomIdFor(first.identity.signer.publicKey));
    expect(readFileSync(path, "utf8")).not.toContain(first.identity.roomId); // only seed + public key
  });

  it.skipIf(process.platform === "win32" || process.getuid?.() === undefined)(
    "refuses to start when others can read the file, and says how to fix it",
    async () => {
      const path = join(dir(), "identity.json");
      await loadOrCreateIdentity(path, nobleBackend);
      chmodSync(path, 0o644);
      const err = await loadIdentity(path, nobleBackend).catch((e) => e);
      expect(err).toBeInstanceOf(IdentityError);
      expect(err.code).toBe("IDENTITY_PERMISSIONS");
      expect(err.message).toContain(`chmod 600 ${path}`);
      chmodSync(path, 0o600);
      await expect(loadIdentity(path, nobleBackend)).resolves.toBeDefined();
    },
  );

  it("rejects a corrupt file or a seed that does not match its public key", async () => {
    const path = join(dir(), "identity.json");
    writeFileSync(path, "{nope", { mode: 0o600 });
    await expect(loadIdentity(path, nobleBackend)).rejects.toMatchObject({ code: "IDENTITY_CORRUPT" });
    const { identity } = await loadOrCreateIdentity(join(dir(), "i.json"), nobleBackend);
    writeFileSync(path, JSON.stringify({ version: 1, seed: "A".repeat(43), publicKey: identity.publicKey, createdAt: "x" }), { mode: 0o600 });
    await expect(loadIdentity(path, nobleBackend)).rejects.toMatchObject({ code: "IDENTITY_CORRUPT" });
  });
});

describe("device store", () => {
  it("adds, finds by id prefix, renames, removes, persists atomically with mode 0600", async () => {
    const path = join(dir(), "devices.json");
    const store = DeviceStore.open(path);
    const a = store.add((await nobleBackend.generateSigner()).publicKey, "Phone");
    store.add((await nobleBackend.generateSigner()).publicKey, "Tablet");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(store.find(a.id.slice(0, 6)).name).toBe("Phone");
    store.rename(a.id, "Work phone");
    expect(
      DeviceStore.open(path)
        .list()
        .map((d) => d.name),
    ).toEqual(["Work phone", "Tablet"]);
    expect(() => store.rename(a.id, "\u0007bell")).toThrow(DeviceStoreError);
    expect(() => store.find("d_")).toThrow(/matches 2 devices/);
    store.remove(a.id);
    expect(() => store.find(a.id)).toThrow(/no trusted device/);
    expect(store.nextAllowlistVersion(5)).toBe(6);
    expect(DeviceStore.open(path).allowlistVersion).toBe(6);
  });
});
