// The automation token string (protocol/src/automation-token.ts): round trip,
// and a strict, bounded parser that fails with a clear error and never echoes
// the input. Also the SDK's readToken (expired tokens refused before any
// network use) and the host's token store with a clock the test controls.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sha256, toBase64Url } from "../../../protocol/src/index.ts";
import {
  AutomationTokenError,
  encodeAutomationToken,
  MAX_TOKEN_CHARS,
  parseAutomationToken,
  TOKEN_PREFIX,
  type AutomationToken,
} from "../../../protocol/src/automation-token.ts";
import { readToken } from "../../../client-sdk/src/node/exec.ts";
import { TokenStore, TokenStoreError, tokenState } from "../../../host-agent/src/tokens/token-store.ts";
import { TokenScopes } from "../../../host-agent/src/tokens/token-scope.ts";

const sample: AutomationToken = {
  relayUrl: "https://relay.example.com/airlock",
  hostPublicKey: new Uint8Array(32).fill(7),
  seed: new Uint8Array(32).fill(9),
  name: "nightly-docs",
  expiresAt: Date.UTC(2030, 0, 1),
};

/** The token's bytes, for building damaged ones. */
const bytesOf = (token: string) => Buffer.from(token.slice(TOKEN_PREFIX.length), "base64url");
const fromBytes = (b: Uint8Array) => TOKEN_PREFIX + toBase64Url(b);
/** Re-computes the checksum so a test reaches the field checks behind it. */
function resealed(body: Uint8Array): string {
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  out.set(sha256(body).subarray(0, 4), body.length);
  return fromBytes(out);
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof AutomationTokenError ? e.code : `other: ${String(e)}`;
  }
  return "parsed";
}

describe("automation token format", () => {
  it("round-trips, ignoring surrounding whitespace (a file's newline)", () => {
    const token = encodeAutomationToken(sample);
    expect(token.startsWith("airlock_tok_")).toBe(true);
    expect(token).toMatch(/^airlock_tok_[A-Za-z0-9_-]+$/);
    const parsed = parseAutomationToken(`  ${token}\n`);
    expect(parsed).toEqual(sample);
  });

  it("refuses what is not a token, with a clear code, never echoing it", () => {
    const token = encodeAutomationToken(sample);
    const body = bytesOf(token);
    const cases: Array<[string, string]> = [
      ["", "TOKEN_MALFORMED"],
      ["airlock_tok", "TOKEN_MALFORMED"],
      ["bearer " + token, "TOKEN_MALFORMED"],
      [token.replace("airlock_tok_", "airlock_tik_"), "TOKEN_MALFORMED"],
      [TOKEN_PREFIX + "not base64url!", "TOKEN_MALFORMED"],
      [TOKEN_PREFIX + "A".repeat(MAX_TOKEN_CHARS), "TOKEN_MALFORMED"],
      [token.slice(0, -3), "TOKEN_DAMAGED"], // cut short when copied
      [fromBytes(Uint8Array.from(body, (b, i) => (i === 40 ? b ^ 1 : b))), "TOKEN_DAMAGED"], // one bit changed
      [fromBytes(Uint8Array.from(body, (b, i) => (i === 0 ? 2 : b))), "TOKEN_VERSION"],
      [fromBytes(body.subarray(0, 10)), "TOKEN_MALFORMED"],
    ];
    for (const [input, expected] of cases) {
      expect(
        code(() => parseAutomationToken(input)),
        JSON.stringify(input.slice(0, 40)),
      ).toBe(expected);
      try {
        parseAutomationToken(input);
      } catch (e) {
        if (input.length > 20) expect((e as Error).message).not.toContain(input.slice(12, 40));
      }
    }
    expect(code(() => parseAutomationToken(42 as unknown as string))).toBe("TOKEN_MALFORMED");
  });

  it("checks every field behind a valid checksum: expiry, name, URL, lengths", () => {
    const body = bytesOf(encodeAutomationToken(sample)).subarray(0, -4);
    const edit = (f: (b: Uint8Array) => Uint8Array) => resealed(f(Uint8Array.from(body)));
    const set = (at: number, value: number) => (b: Uint8Array) => ((b[at] = value), b);
    // Expiry 0.
    const zeroExpiry = edit((b) => (b.fill(0, 65, 73), b));
    expect(code(() => parseAutomationToken(zeroExpiry))).toBe("TOKEN_MALFORMED");
    // Name length 0, or longer than what follows.
    for (const bad of [edit(set(73, 0)), edit(set(73, 250))]) expect(code(() => parseAutomationToken(bad))).toBe("TOKEN_MALFORMED");
    // A control character in the name; invalid UTF-8 in it.
    for (const bad of [edit(set(74, 0x07)), edit(set(74, 0xff))]) expect(code(() => parseAutomationToken(bad))).toBe("TOKEN_MALFORMED");
    // Trailing bytes after the URL; a URL that is plain http to a non-loopback host.
    const longer = resealed(Uint8Array.from([...body, 0x41]));
    expect(code(() => parseAutomationToken(longer))).toBe("TOKEN_MALFORMED");
    const insecure = encodeAutomationToken({ ...sample, relayUrl: "http://127.0.0.1:8787" });
    expect(parseAutomationToken(insecure).relayUrl).toBe("http://127.0.0.1:8787");
    const nameEnd = 74 + sample.name.length;
    const urlBytes = Buffer.from("http://relay.example.com");
    const httpRemote = resealed(Uint8Array.from([...body.subarray(0, nameEnd), 0, urlBytes.length, ...urlBytes]));
    expect(code(() => parseAutomationToken(httpRemote))).toBe("TOKEN_MALFORMED");
  });

  it("the encoder refuses what the parser would refuse", () => {
    expect(() => encodeAutomationToken({ ...sample, name: "" })).toThrow();
    expect(() => encodeAutomationToken({ ...sample, name: "x".repeat(65) })).toThrow();
    expect(() => encodeAutomationToken({ ...sample, expiresAt: 0 })).toThrow();
    expect(() => encodeAutomationToken({ ...sample, seed: new Uint8Array(31) })).toThrow();
    expect(() => encodeAutomationToken({ ...sample, relayUrl: "ftp://x" })).toThrow();
  });
});

describe("readToken (SDK)", () => {
  it("refuses an expired token before any network use, naming it but not its secret", () => {
    const token = encodeAutomationToken({ ...sample, expiresAt: 1_000_000 });
    try {
      readToken(token, 2_000_000);
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe("TOKEN_EXPIRED");
      expect((e as Error).message).toContain("nightly-docs");
      expect((e as Error).message).not.toContain(token.slice(12, 40));
    }
    expect(readToken(token, 999_999).name).toBe("nightly-docs");
    expect(() => readToken("nope")).toThrow(expect.objectContaining({ code: "TOKEN_INVALID" }));
  });
});

describe("token store (host)", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), "airlock-token-store-"));
    dirs.push(dir);
    return join(dir, "tokens.json");
  };

  it("keeps only the public key, mode 0600; expiry follows the clock; revoked and rotated keys stop working", () => {
    const path = fresh();
    let now = Date.UTC(2026, 0, 1);
    const store = TokenStore.open(path, () => now);
    const key = new Uint8Array(32).fill(1);
    const t = store.create({ name: "nightly-docs", owner: "alice", scopes: ["run"], workspaces: ["/work/docs"], days: 7, publicKey: key });
    expect(t.expiresAt).toBe(new Date(now + 7 * 86_400_000).toISOString());
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, "utf8")).toContain(toBase64Url(key));
    expect(store.activeByKey(key)?.id).toBe(t.id);
    expect(store.allowlistEntries()).toEqual([{ key, expiresAt: now + 7 * 86_400_000 }]);
    // Six days later it warns; a week later it is expired, off the allowlist, refused by the scope check.
    now += 6 * 86_400_000;
    expect(store.expiringSoon(7 * 86_400_000).map((x) => x.id)).toEqual([t.id]);
    now += 86_400_000;
    expect(tokenState(store.find(t.id), now)).toBe("expired");
    expect(store.activeByKey(key)).toBeUndefined();
    expect(store.allowlistEntries()).toEqual([]);
    const scopes = new TokenScopes(store, () => now);
    const grant = { id: t.id, name: t.name, owner: t.owner, scopes: t.scopes, workspaces: t.workspaces, expiresAt: Date.parse(t.expiresAt) };
    expect(scopes.current(grant)).toMatchObject({ code: "TOKEN_EXPIRED" });
    // Rotation: a new key and lifetime, same id; the old key no longer matches.
    const rotated = store.rotate(t.id, new Uint8Array(32).fill(2), 30);
    expect(rotated.record.id).toBe(t.id);
    expect(store.activeByKey(key)).toBeUndefined();
    const session = scopes.check(grant, toBase64Url(key), { v: 1, type: "threads.list", id: "c1", body: {} } as never, () => undefined);
    expect(session).toMatchObject({ code: "TOKEN_REVOKED" });
    expect(scopes.check(grant, rotated.record.key, { v: 1, type: "threads.list", id: "c1", body: {} } as never, () => undefined)).toBeUndefined();
    // Revocation.
    store.revoke("nightly-docs");
    expect(scopes.current(grant)).toMatchObject({ code: "TOKEN_REVOKED" });
    expect(() => store.rotate(t.id, new Uint8Array(32).fill(3), 30)).toThrow(TokenStoreError);
  });

  it("refuses lifetimes other than 7/30/60/90 days, duplicate active names, bad labels; a damaged file is an error", () => {
    const path = fresh();
    const store = TokenStore.open(path);
    const base = { name: "a", owner: "o", scopes: ["run" as const], workspaces: ["/w"], publicKey: new Uint8Array(32).fill(4) };
    for (const days of [0, 1, 91, 365, 8]) expect(() => store.create({ ...base, days })).toThrow(/7d, 30d, 60d, 90d/);
    store.create({ ...base, days: 90 });
    expect(() => store.create({ ...base, days: 30, publicKey: new Uint8Array(32).fill(5) })).toThrow(/already named/);
    expect(() => store.create({ ...base, name: "bad\u0007", days: 30 })).toThrow(/printable/);
    expect(() => store.create({ ...base, name: "b", workspaces: [], days: 30 })).toThrow(/workspace/);
    writeFileSync(path, "{ not json");
    expect(() => TokenStore.open(path)).toThrow(expect.objectContaining({ code: "TOKENS_CORRUPT" }));
    writeFileSync(path, JSON.stringify({ version: 1, tokens: [{ id: "tok_x", name: "n" }] }));
    expect(() => TokenStore.open(path)).toThrow(expect.objectContaining({ code: "TOKENS_CORRUPT" }));
  });
});
