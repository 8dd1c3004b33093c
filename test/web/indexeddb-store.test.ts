// The client SDK's IndexedDbStore in real Chromium (phone profile): the Store
// contract (get/set/delete; a missing key reads as undefined), structured
// values including a non-extractable CryptoKey, persistence across a reload
// (also when the page reloads the moment set() resolves), concurrent writes
// from one page and from two pages, large values, values it cannot store,
// another page deleting the database, and failure where IndexedDB is
// unavailable or denied (an opaque origin).
import * as esbuild from "esbuild";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type Browser } from "./browser.ts";
import { serveStatic, type StaticServer } from "./static.ts";

let browser: Browser;
let server: StaticServer;

const ENTRY = `
import { IndexedDbStore } from "./client-sdk/src/indexeddb-store.ts";
globalThis.IndexedDbStore = IndexedDbStore;
`;

beforeAll(async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const [bundle, b] = await Promise.all([
    esbuild.build({
      stdin: { contents: ENTRY, resolveDir: root, loader: "ts" },
      bundle: true,
      format: "iife",
      platform: "browser",
      target: "es2022",
      write: false,
    }),
    launchBrowser(),
  ]);
  browser = b;
  server = await serveStatic(new URL("./", import.meta.url).pathname); // only `routes` are used
  server.routes.set("/store.js", ["text/javascript", bundle.outputFiles[0]!.text]);
  server.routes.set("/", ["text/html", `<!doctype html><title>store</title><script src="/store.js"></script>`]);
  // An opaque origin: a sandboxed frame without allow-same-origin gets no storage.
  server.routes.set("/opaque.html", ["text/html", `<!doctype html><title>opaque</title><iframe sandbox="allow-scripts" src="/frame.html"></iframe>`]);
  server.routes.set("/frame.html", ["text/html", `<!doctype html><title>frame</title><script src="/store.js"></script>`]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function open(): Promise<Page> {
  const page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => "IndexedDbStore" in globalThis);
  return page;
}

type StoreCtor = new (name?: string) => {
  get(k: string): Promise<unknown>;
  set(k: string, v: unknown): Promise<void>;
  delete(k: string): Promise<void>;
  canStoreCryptoKeys: boolean;
};
declare const IndexedDbStore: StoreCtor;

describe("IndexedDbStore in Chromium", () => {
  it("implements the Store contract: missing keys, overwrite, delete, separate databases", async () => {
    const page = await open();
    const result = await page.evaluate(async () => {
      const s = new IndexedDbStore("contract");
      const other = new IndexedDbStore("contract-other");
      const out: Record<string, unknown> = { canStoreCryptoKeys: s.canStoreCryptoKeys };
      out.missing = await s.get("nope");
      await s.set("a", { x: 1 });
      await s.set("a", { x: 2 });
      out.overwritten = await s.get("a");
      out.otherDb = await other.get("a");
      await s.set("falsy", 0);
      out.falsy = await s.get("falsy");
      await s.set("null", null);
      out.nullValue = await s.get("null");
      await s.delete("a");
      out.deleted = await s.get("a");
      await s.delete("never-there"); // not an error
      // A second instance on the same database sees the same data.
      out.sameDb = await new IndexedDbStore("contract").get("falsy");
      // The value is a copy: changing it after set() changes nothing stored.
      const v = { list: [1, 2] };
      await s.set("copy", v);
      v.list.push(3);
      out.copy = await s.get("copy");
      return out;
    });
    expect(result).toEqual({
      canStoreCryptoKeys: true,
      missing: undefined,
      overwritten: { x: 2 },
      otherDb: undefined,
      falsy: 0,
      nullValue: null,
      deleted: undefined,
      sameDb: 0,
      copy: { list: [1, 2] },
    });
    await page.close();
  });

  it("keeps structured values and a non-extractable CryptoKey, across a reload", async () => {
    const page = await open();
    const before = await page.evaluate(async () => {
      const s = new IndexedDbStore("structured");
      const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])) as CryptoKeyPair;
      await s.set("identity", { v: 1, privateKey: pair.privateKey, publicKey: new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)) });
      await s.set("mixed", {
        bytes: new Uint8Array([0, 1, 255]),
        date: new Date(86_400_000),
        map: new Map([["k", [1, "two"]]]),
        unicode: "héllo ✓ 𝄞",
        nested: { deep: [{ a: true }] },
      });
      return Array.from(((await s.get("identity")) as { publicKey: Uint8Array }).publicKey);
    });
    await page.reload();
    await page.waitForFunction(() => "IndexedDbStore" in globalThis);
    const after = await page.evaluate(async () => {
      const s = new IndexedDbStore("structured");
      const id = (await s.get("identity")) as { privateKey: CryptoKey; publicKey: Uint8Array<ArrayBuffer> };
      const m = (await s.get("mixed")) as { bytes: Uint8Array; date: Date; map: Map<string, unknown>; unicode: string; nested: unknown };
      const message = new TextEncoder().encode("still usable");
      const sig = await crypto.subtle.sign("Ed25519", id.privateKey, message);
      const pub = await crypto.subtle.importKey("raw", id.publicKey, "Ed25519", true, ["verify"]);
      let exported = "exported";
      try {
        await crypto.subtle.exportKey("pkcs8", id.privateKey);
      } catch (e) {
        exported = (e as Error).name;
      }
      return {
        isKey: id.privateKey instanceof CryptoKey,
        extractable: id.privateKey.extractable,
        type: id.privateKey.type,
        algorithm: id.privateKey.algorithm.name,
        usages: id.privateKey.usages,
        verifies: await crypto.subtle.verify("Ed25519", pub, sig, message),
        exported,
        publicKey: Array.from(id.publicKey),
        bytes: m.bytes instanceof Uint8Array ? Array.from(m.bytes) : "not bytes",
        date: m.date instanceof Date ? m.date.toISOString() : "not a date",
        map: m.map instanceof Map ? [...m.map] : "not a map",
        unicode: m.unicode,
        nested: m.nested,
      };
    });
    expect(after).toEqual({
      isKey: true,
      extractable: false,
      type: "private",
      algorithm: "Ed25519",
      usages: ["sign"],
      verifies: true,
      exported: "InvalidAccessError",
      publicKey: before,
      bytes: [0, 1, 255],
      date: "1970-01-02T00:00:00.000Z",
      map: [["k", [1, "two"]]],
      unicode: "héllo ✓ 𝄞",
      nested: { deep: [{ a: true }] },
    });
    await page.close();
  });

  it("a write is durable once set() resolves, even if the page reloads at that moment", async () => {
    const page = await open();
    // Each round: write, and reload in the same task in which set() resolved.
    for (let round = 1; round <= 5; round++) {
      const reloaded = page.waitForEvent("load");
      await page.evaluate((round) => {
        const s = new IndexedDbStore("durable");
        void s.set("round", { round, pad: "x".repeat(200_000) }).then(() => location.reload());
      }, round);
      await reloaded;
      await page.waitForFunction(() => "IndexedDbStore" in globalThis);
      const stored = await page.evaluate(async () => ((await new IndexedDbStore("durable").get("round")) as { round?: number } | undefined)?.round);
      expect(stored, `round ${round}`).toBe(round);
    }
    await page.close();
  });

  it("concurrent writes: all land, and writes to one key apply in call order", async () => {
    const page = await open();
    const result = await page.evaluate(async () => {
      const s = new IndexedDbStore("concurrent");
      await Promise.all(Array.from({ length: 200 }, (_, i) => s.set(`k${i}`, i)));
      const values = await Promise.all(Array.from({ length: 200 }, (_, i) => s.get(`k${i}`)));
      // Same key, not awaited in between: the last call wins.
      await Promise.all(Array.from({ length: 50 }, (_, i) => s.set("same", i)));
      const last = await s.get("same");
      // Interleaved set/delete/set on one key.
      await Promise.all([s.set("x", 1), s.delete("x"), s.set("x", 3)]);
      const x = await s.get("x");
      // Two instances (as two parts of an app would have) racing on one database.
      const a = new IndexedDbStore("concurrent");
      const b = new IndexedDbStore("concurrent");
      await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).set(`ab${i}`, i)));
      const ab = await Promise.all(Array.from({ length: 50 }, (_, i) => s.get(`ab${i}`)));
      return { ok: values.every((v, i) => v === i), last, x, ab: ab.every((v, i) => v === i) };
    });
    expect(result).toEqual({ ok: true, last: 49, x: 3, ab: true });

    // Two pages of the same origin writing at once.
    const other = await open();
    await Promise.all(
      [page, other].map((p, n) =>
        p.evaluate(async (n) => {
          const s = new IndexedDbStore("concurrent");
          await Promise.all(Array.from({ length: 100 }, (_, i) => s.set(`page${n}-${i}`, i)));
        }, n),
      ),
    );
    const counts = await other.evaluate(async () => {
      const s = new IndexedDbStore("concurrent");
      let found = 0;
      for (let n = 0; n < 2; n++) for (let i = 0; i < 100; i++) if ((await s.get(`page${n}-${i}`)) === i) found++;
      return found;
    });
    expect(counts).toBe(200);
    await Promise.all([page.close(), other.close()]);
  });

  it("stores large values and rejects ones it cannot clone, staying usable", async () => {
    const page = await open();
    const result = await page.evaluate(async () => {
      const s = new IndexedDbStore("large");
      const big = new Uint8Array(8 * 1024 * 1024).map((_, i) => i & 0xff);
      await s.set("big", big);
      const back = (await s.get("big")) as Uint8Array;
      const text = "é".repeat(1_000_000);
      await s.set("text", text);
      let cloneError = "";
      try {
        await s.set("fn", { f: () => 1 });
      } catch (e) {
        cloneError = (e as Error).name;
      }
      await s.set("after", "fine");
      return {
        bigLength: back.length,
        bigSample: [back[0], back[255], back[256], back[back.length - 1]],
        textOk: (await s.get("text")) === text,
        cloneError,
        fn: await s.get("fn"),
        after: await s.get("after"),
      };
    });
    expect(result).toEqual({
      bigLength: 8 * 1024 * 1024,
      bigSample: [0, 255, 0, 255],
      textOk: true,
      cloneError: "DataCloneError",
      fn: undefined,
      after: "fine",
    });
    await page.close();
  });

  it("does not block another page from deleting the database, and works again afterwards", async () => {
    const page = await open();
    await page.evaluate(async () => {
      const s = new IndexedDbStore("deleted");
      (globalThis as { s?: unknown }).s = s;
      await s.set("k", "v");
    });
    const other = await open();
    const outcome = await other.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const req = indexedDB.deleteDatabase("deleted");
          req.onsuccess = () => resolve("deleted");
          req.onerror = () => resolve(`error: ${String(req.error)}`);
          req.onblocked = () => resolve("blocked");
        }),
    );
    // "blocked" would mean a page holding the store stops "clear site data" or an app reset.
    expect(outcome).toBe("deleted");
    const after = await page.evaluate(async () => {
      const s = (globalThis as unknown as { s: InstanceType<typeof IndexedDbStore> }).s;
      const gone = await s.get("k");
      await s.set("k", "again");
      return { gone, again: await s.get("k") };
    });
    expect(after).toEqual({ gone: undefined, again: "again" });
    await Promise.all([page.close(), other.close()]);
  });

  it("fails with an error (not a hang) where IndexedDB is missing or denied", async () => {
    const page = await open();
    const missing = await page.evaluate(async () => {
      const saved = Object.getOwnPropertyDescriptor(globalThis, "indexedDB") ?? Object.getOwnPropertyDescriptor(Object.getPrototypeOf(globalThis), "indexedDB");
      Object.defineProperty(globalThis, "indexedDB", { value: undefined, configurable: true });
      try {
        await new IndexedDbStore("missing").get("k");
        return "resolved";
      } catch (e) {
        return (e as Error).message;
      } finally {
        if (saved) Object.defineProperty(globalThis, "indexedDB", saved);
      }
    });
    expect(missing).toMatch(/IndexedDB is not available/);

    await page.goto(`${server.url}/opaque.html`);
    const frame = await (await page.waitForSelector("iframe")).contentFrame();
    await frame!.waitForFunction(() => "IndexedDbStore" in globalThis);
    const denied = await frame!.evaluate(async () => {
      const s = new IndexedDbStore("opaque");
      const attempt = async (f: () => Promise<unknown>) => {
        try {
          await Promise.race([f(), new Promise((_, reject) => setTimeout(() => reject(new Error("hung")), 5000))]);
          return "resolved";
        } catch (e) {
          return `${(e as Error).name}: ${(e as Error).message}`;
        }
      };
      return { origin: self.origin, get: await attempt(() => s.get("k")), set: await attempt(() => s.set("k", 1)) };
    });
    expect(denied.origin).toBe("null");
    expect(denied.get).toMatch(/^SecurityError/);
    expect(denied.set).toMatch(/^SecurityError/);
    await page.close();
  });
});
