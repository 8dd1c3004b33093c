// Every Project Wycheproof vector for the primitives Airlock uses, run against
// both crypto backends (X25519, Ed25519, AES-256-GCM) or the shared hash module
// (HKDF, HMAC). Each file's flags map to an explicit decision in a policy table
// below; a flag missing from its table fails the run, so a vector update can't
// slip in unreviewed. Rules: "valid" must pass, "invalid" must be rejected,
// "acceptable" follows the policy.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { gcm } from "@noble/ciphers/aes.js";
import { describe, expect, it } from "vitest";
import type { CryptoBackend } from "../../protocol/src/backend.ts";
import { nobleBackend } from "../../protocol/src/backend-noble.ts";
import { webCryptoBackend } from "../../protocol/src/backend-webcrypto.ts";
import { nodeCryptoBackend } from "../../protocol/src/node/backend-node.ts";
import { bytesEqual, concatBytes, fromHex, isAllZero, toHex } from "../../protocol/src/bytes.ts";
import { isProtocolError } from "../../protocol/src/errors.ts";
import { hkdfExpand, hkdfExtract, hmacSha256 } from "../../protocol/src/hash.ts";

// ---------------------------------------------------------------------------
// Loading: CI clones the repo to .../main with shared/ beside it.

const VECTOR_DIR = new URL("../../../shared/vectors/wycheproof/", import.meta.url);
const FILES = ["x25519_test.json", "ed25519_test.json", "aes_gcm_test.json", "hkdf_sha256_test.json", "hmac_sha256_test.json"] as const;
type VectorFile = (typeof FILES)[number];

const SUMS = new Map(
  readFileSync(new URL("SHA256SUMS", VECTOR_DIR), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const m = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line.trim());
      if (!m) throw new Error(`SHA256SUMS: cannot parse line ${JSON.stringify(line)}`);
      return [m[2]!, m[1]!] as const;
    }),
);

// node:crypto rather than our own sha256 so the check is independent of the code under test.
function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Refuses to hand out a file whose digest differs from SHA256SUMS. */
function load<T>(name: VectorFile): T {
  const raw = readFileSync(new URL(name, VECTOR_DIR));
  const want = SUMS.get(name);
  if (want === undefined || sha256Hex(raw) !== want) throw new Error(`${name}: digest does not match SHA256SUMS`);
  return JSON.parse(raw.toString("utf8")) as T;
}

type Result = "valid" | "invalid" | "acceptable";
interface Vector {
  readonly tcId: number;
  readonly comment: string;
  readonly flags: readonly string[];
  readonly result: Result;
}
interface VectorSet<G> {
  readonly algorithm: string;
  readonly numberOfTests: number;
  readonly testGroups: readonly G[];
}
interface XdhVector extends Vector {
  readonly public: string;
  readonly private: string;
  readonly shared: string;
}
interface EddsaVector extends Vector {
  readonly msg: string;
  readonly sig: string;
}
interface AeadVector extends Vector {
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly msg: string;
  readonly ct: string;
  readonly tag: string;
}
interface HkdfVector extends Vector {
  readonly ikm: string;
  readonly salt: string;
  readonly info: string;
  readonly size: number;
  readonly okm: string;
}
interface MacVector extends Vector {
  readonly key: string;
  readonly msg: string;
  readonly tag: string;
}

const x25519File = load<VectorSet<{ readonly curve: string; readonly tests: readonly XdhVector[] }>>("x25519_test.json");
const ed25519File = load<VectorSet<{ readonly publicKey: { readonly pk: string }; readonly tests: readonly EddsaVector[] }>>("ed25519_test.json");
interface AeadGroup {
  readonly keySize: number;
  readonly ivSize: number;
  readonly tagSize: number;
  readonly tests: readonly AeadVector[];
}
const aesGcmFile = load<VectorSet<AeadGroup>>("aes_gcm_test.json");
const hkdfFile = load<VectorSet<{ readonly keySize: number; readonly tests: readonly HkdfVector[] }>>("hkdf_sha256_test.json");
const hmacFile = load<VectorSet<{ readonly keySize: number; readonly tagSize: number; readonly tests: readonly MacVector[] }>>("hmac_sha256_test.json");

// ---------------------------------------------------------------------------
// Flag policies. `precedence` lists a file's decisions; its first entry is the
// one that lets a vector pass, and when a vector carries several flags the
// latest-listed decision among them wins (a rejecting flag beats a passing one).

interface Rule<D extends string> {
  readonly decision: D;
  readonly reason: string;
}
type Policy<D extends string> = Readonly<Record<string, Rule<D>>>;

const X25519_PRECEDENCE = ["compute", "rejectLowOrder"] as const;
type X25519Decision = (typeof X25519_PRECEDENCE)[number];
const X25519_POLICY: Policy<X25519Decision> = {
  Normal: { decision: "compute", reason: "ordinary pseudorandom case" },
  Ktv: { decision: "compute", reason: "RFC 7748 / RFC 8037 known answer" },
  EdgeCaseMultiplication: { decision: "compute", reason: "ladder edge case; RFC 7748 defines the result" },
  EdgeCasePrivateKey: { decision: "compute", reason: "any scalar is clamped per RFC 7748 §5" },
  EdgeCaseShared: { decision: "compute", reason: "unusual but non-zero shared secret is still the RFC 7748 output" },
  SpecialPublicKey: { decision: "compute", reason: "special-form u; RFC 7748 defines the result (low-order ones carry LowOrderPublic too)" },
  NonCanonicalPublic: { decision: "compute", reason: "RFC 7748 §5: mask bit 255 and reduce u mod p; §7 recommends accepting" },
  Twist: { decision: "compute", reason: "X25519 is defined on the twist; we compute, the result must be exact" },
  LowOrderPublic: { decision: "rejectLowOrder", reason: "low-order peer key yields an all-zero secret: dh throws LOW_ORDER_KEY" },
  ZeroSharedSecret: { decision: "rejectLowOrder", reason: "RFC 7748 §6.1 all-zero check: dh throws LOW_ORDER_KEY" },
  SmallPublicKey: { decision: "rejectLowOrder", reason: "u = 0 or 1 (or p, p+1) is low order: dh throws LOW_ORDER_KEY" },
};

const ED25519_PRECEDENCE = ["accept", "reject"] as const;
type Ed25519Decision = (typeof ED25519_PRECEDENCE)[number];
const ED25519_POLICY: Policy<Ed25519Decision> = {
  Valid: { decision: "accept", reason: "ordinary valid signature" },
  Ktv: { decision: "accept", reason: "known valid signature" },
  TinkOverflow: { decision: "accept", reason: "valid signature that tripped an arithmetic bug elsewhere" },
  InvalidKtv: { decision: "reject", reason: "known invalid signature" },
  InvalidSignature: { decision: "reject", reason: "edge values (0, L, ...) in R or S: forgery attempt" },
  TruncatedSignature: { decision: "reject", reason: "not 64 bytes" },
  SignatureWithGarbage: { decision: "reject", reason: "not 64 bytes: signatures must be non-malleable" },
  CompressedSignature: { decision: "reject", reason: "overlapping or shortened R/S encoding" },
  InvalidEncoding: { decision: "reject", reason: "strict RFC 8032 §5.1.3 decoding (no ZIP-215): non-canonical R rejected" },
  SignatureMalleability: { decision: "reject", reason: "RFC 8032 §5.1.7: S must be < L" },
};

const AES_GCM_PRECEDENCE = ["match", "rejectTag", "rejectIv"] as const;
type AesGcmDecision = (typeof AES_GCM_PRECEDENCE)[number];
const AES_GCM_POLICY: Policy<AesGcmDecision> = {
  Ktv: { decision: "match", reason: "known answer" },
  Pseudorandom: { decision: "match", reason: "pseudorandom sizes" },
  SpecialCase: { decision: "match", reason: "special IV/tag values are still ordinary GCM" },
  SmallIv: { decision: "match", reason: "IV shorter than 96 bits: GHASH-derived J0 (never used by the protocol)" },
  LongIv: { decision: "match", reason: "IV longer than 96 bits: GHASH-derived J0 (never used by the protocol)" },
  CounterWrap: { decision: "match", reason: "32-bit counter wrap must follow SP 800-38D" },
  ModifiedTag: { decision: "rejectTag", reason: "tag check must cover all 128 bits: open returns null / decrypt throws" },
  ZeroLengthIv: { decision: "rejectIv", reason: "empty IV leaks the auth key: encryption and decryption must refuse" },
};

const HKDF_PRECEDENCE = ["derive", "throwSize"] as const;
type HkdfDecision = (typeof HKDF_PRECEDENCE)[number];
const HKDF_POLICY: Policy<HkdfDecision> = {
  Normal: { decision: "derive", reason: "ordinary case" },
  EmptySalt: { decision: "derive", reason: "RFC 5869 §2.2: empty salt equals HashLen zero bytes" },
  MaximalOutputSize: { decision: "derive", reason: "255 * 32 bytes is the largest legal output" },
  OutputCollision: { decision: "derive", reason: "collisions come from HMAC key hashing; we use fixed-length salts" },
  SizeTooLarge: { decision: "throwSize", reason: "RFC 5869 §2.3: L > 255 * HashLen must throw" },
};

const HMAC_PRECEDENCE = ["match", "mismatch"] as const;
type HmacDecision = (typeof HMAC_PRECEDENCE)[number];
const HMAC_POLICY: Policy<HmacDecision> = {
  Pseudorandom: { decision: "match", reason: "tag truncated to tagSize bits must equal" },
  ModifiedTag: { decision: "mismatch", reason: "tampered tag must not equal the computed one" },
};

type Plan<D extends string> = { readonly decision: D } | { readonly problem: string };

/** The decision for one vector, or why the harness refuses to decide. */
function planFor<D extends string>(policy: Policy<D>, precedence: readonly D[], t: Vector): Plan<D> {
  const unknown = t.flags.filter((f) => !Object.hasOwn(policy, f));
  if (unknown.length > 0) return { problem: `flag(s) not in the policy table: ${unknown.join(", ")}` };
  let rank = 0;
  for (const f of t.flags) rank = Math.max(rank, precedence.indexOf(policy[f]!.decision));
  const decision = precedence[rank]!;
  if (t.result === "valid" && rank !== 0) return { problem: `policy says ${decision} for a valid vector` };
  if (t.result === "invalid" && rank === 0) return { problem: `policy would let an invalid vector pass` };
  return { decision };
}

function label(t: Vector): string {
  return `tcId ${t.tcId} [${t.flags.join(",")}] ${t.result}`;
}

/**
 * Checks every vector and returns one line per failure, so a failing `it`
 * lists all offending tcIds at once.
 */
async function failuresOf<T extends Vector, D extends string>(
  tests: readonly T[],
  policy: Policy<D>,
  precedence: readonly D[],
  check: (t: T, decision: D) => Promise<string | null> | string | null,
): Promise<string[]> {
  const failures: string[] = [];
  for (const t of tests) {
    const plan = planFor(policy, precedence, t);
    const problem = "problem" in plan ? plan.problem : await check(t, plan.decision);
    if (problem !== null) failures.push(`${label(t)}: ${problem}`);
  }
  return failures;
}

function flagsUsed(groups: readonly { readonly tests: readonly Vector[] }[]): string[] {
  return [...new Set(groups.flatMap((g) => g.tests.flatMap((t) => t.flags)))].sort();
}

function errorText(e: unknown): string {
  return isProtocolError(e) ? `error ${e.code}` : `threw ${e instanceof Error ? e.message : String(e)}`;
}

/** Memoises per-backend outcomes so conformance and agreement tests share one run. */
function memo<T>(compute: (b: CryptoBackend) => Promise<T>): (b: CryptoBackend) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (b) => {
    let hit = cache.get(b.name);
    if (!hit) {
      hit = compute(b);
      cache.set(b.name, hit);
    }
    return hit;
  };
}

/** Lists tcIds where the two backends' outcomes differ. */
function disagreements<T extends Vector>(tests: readonly T[], noble: ReadonlyMap<number, string>, web: ReadonlyMap<number, string>): string[] {
  return tests.filter((t) => noble.get(t.tcId) !== web.get(t.tcId)).map((t) => `${label(t)}: noble=${noble.get(t.tcId)} webcrypto=${web.get(t.tcId)}`);
}

const BACKENDS = [nobleBackend, webCryptoBackend] as const;
const RESULTS: readonly Result[] = ["valid", "invalid", "acceptable"];

// ---------------------------------------------------------------------------

describe("Wycheproof vector files", () => {
  it("match SHA256SUMS", () => {
    for (const name of FILES) {
      expect(SUMS.get(name), `${name} listed in SHA256SUMS`).toMatch(/^[0-9a-f]{64}$/);
      expect(sha256Hex(readFileSync(new URL(name, VECTOR_DIR))), name).toBe(SUMS.get(name));
    }
  });

  it.each([
    ["x25519_test.json", x25519File, X25519_POLICY],
    ["ed25519_test.json", ed25519File, ED25519_POLICY],
    ["aes_gcm_test.json", aesGcmFile, AES_GCM_POLICY],
    ["hkdf_sha256_test.json", hkdfFile, HKDF_POLICY],
    ["hmac_sha256_test.json", hmacFile, HMAC_POLICY],
  ] as const)("%s: every flag has a policy and numberOfTests is right", (_name, file, policy) => {
    expect(flagsUsed(file.testGroups).filter((f) => !Object.hasOwn(policy, f))).toEqual([]);
    expect(file.testGroups.reduce((n, g) => n + g.tests.length, 0)).toBe(file.numberOfTests);
  });
});

// ---------------------------------------------------------------------------
// X25519

const x25519Tests = x25519File.testGroups.flatMap((g) => {
  if (g.curve !== "curve25519") throw new Error(`unexpected curve ${g.curve}`);
  return g.tests;
});

const x25519Outcomes = memo(async (b) => {
  const out = new Map<number, string>();
  for (const t of x25519Tests) {
    try {
      const pair = await b.x25519FromPrivate(fromHex(t.private));
      out.set(t.tcId, `shared ${toHex(await pair.dh(fromHex(t.public)))}`);
    } catch (e) {
      out.set(t.tcId, errorText(e));
    }
  }
  return out;
});

describe.each(BACKENDS)("Wycheproof X25519 on the $name backend", (backend) => {
  it.each(RESULTS.filter((r) => x25519Tests.some((t) => t.result === r)))("%s vectors", async (result) => {
    const outcomes = await x25519Outcomes(backend);
    const tests = x25519Tests.filter((t) => t.result === result);
    const failures = await failuresOf(tests, X25519_POLICY, X25519_PRECEDENCE, (t, decision) => {
      // Cross-check the table against the data: we reject exactly the all-zero secrets.
      if ((decision === "rejectLowOrder") !== isAllZero(fromHex(t.shared))) {
        return `policy (${decision}) disagrees with the vector's shared secret ${t.shared}`;
      }
      const want = decision === "compute" ? `shared ${t.shared}` : "error LOW_ORDER_KEY";
      const got = outcomes.get(t.tcId);
      return got === want ? null : `want ${want}, got ${got}`;
    });
    expect(failures).toEqual([]);
  });
});

it("Wycheproof X25519: noble and webcrypto agree on every vector", async () => {
  expect(disagreements(x25519Tests, await x25519Outcomes(nobleBackend), await x25519Outcomes(webCryptoBackend))).toEqual([]);
});

// ---------------------------------------------------------------------------
// Ed25519

const ed25519Tests = ed25519File.testGroups.flatMap((g) => g.tests.map((t) => ({ ...t, pk: g.publicKey.pk })));

const ed25519Outcomes = memo(async (b) => {
  const out = new Map<number, string>();
  for (const t of ed25519Tests) {
    try {
      out.set(t.tcId, String(await b.verify(fromHex(t.pk), fromHex(t.msg), fromHex(t.sig))));
    } catch (e) {
      out.set(t.tcId, errorText(e)); // verify must never throw
    }
  }
  return out;
});

describe.each(BACKENDS)("Wycheproof Ed25519 on the $name backend", (backend) => {
  it.each(RESULTS.filter((r) => ed25519Tests.some((t) => t.result === r)))("%s vectors", async (result) => {
    const outcomes = await ed25519Outcomes(backend);
    const tests = ed25519Tests.filter((t) => t.result === result);
    const failures = await failuresOf(tests, ED25519_POLICY, ED25519_PRECEDENCE, (t, decision) => {
      const want = String(decision === "accept");
      const got = outcomes.get(t.tcId);
      return got === want ? null : `verify: want ${want}, got ${got}`;
    });
    expect(failures).toEqual([]);
  });
});

it("Wycheproof Ed25519: noble and webcrypto agree on every vector", async () => {
  expect(disagreements(ed25519Tests, await ed25519Outcomes(nobleBackend), await ed25519Outcomes(webCryptoBackend))).toEqual([]);
});

// ---------------------------------------------------------------------------
// AES-GCM. The protocol uses only AES-256, 96-bit nonces and 128-bit tags: those
// groups run through both backends' aeadKey. The other groups exercise
// @noble/ciphers gcm directly (the code under the noble backend) where it
// supports the sizes.

const isProtocolGroup = (g: AeadGroup): boolean => g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128;
// noble's gcm takes nonces of 0 bytes (it must refuse those) or >= 8 bytes, and 16-byte tags only.
const nobleSkipReason = (g: AeadGroup): string | null =>
  g.tagSize !== 128
    ? "noble gcm supports only 128-bit tags"
    : g.ivSize > 0 && g.ivSize < 64
      ? "noble gcm refuses nonces shorter than 8 bytes (protocol nonces are 12 bytes)"
      : null;

const aesProtocolTests = aesGcmFile.testGroups.filter(isProtocolGroup).flatMap((g) => g.tests);
const aesOtherGroups = aesGcmFile.testGroups.filter((g) => !isProtocolGroup(g));
const aesNobleTests = aesOtherGroups.filter((g) => nobleSkipReason(g) === null).flatMap((g) => g.tests);
const aesSkipped = aesOtherGroups.filter((g) => nobleSkipReason(g) !== null);
// Pinned: the file is pinned by SHA256SUMS, so these counts only move when it does.
const AES_PROTOCOL_VECTORS = 66;
const AES_SKIPPED_VECTORS = 24;

interface AeadOutcome {
  readonly seal: string;
  readonly open: string;
}

async function attempt(f: () => Promise<Uint8Array | null> | Uint8Array | null): Promise<string> {
  try {
    const r = await f();
    return r === null ? "null" : toHex(r);
  } catch (e) {
    return errorText(e);
  }
}

const aesOutcomes = memo(async (b) => {
  const out = new Map<number, AeadOutcome>();
  for (const t of aesProtocolTests) {
    const key = await b.aeadKey(fromHex(t.key));
    const [iv, aad] = [fromHex(t.iv), fromHex(t.aad)];
    out.set(t.tcId, {
      seal: await attempt(() => key.seal(iv, aad, fromHex(t.msg))),
      open: await attempt(() => key.open(iv, aad, concatBytes(fromHex(t.ct), fromHex(t.tag)))),
    });
  }
  return out;
});

// The node backend differs from webcrypto only in its AEAD (node:crypto), so it joins here.
describe.each([...BACKENDS, nodeCryptoBackend])("Wycheproof AES-256-GCM (96-bit IV, 128-bit tag) on the $name backend", (backend) => {
  it.each(RESULTS.filter((r) => aesProtocolTests.some((t) => t.result === r)))("%s vectors", async (result) => {
    const outcomes = await aesOutcomes(backend);
    const tests = aesProtocolTests.filter((t) => t.result === result);
    const failures = await failuresOf(tests, AES_GCM_POLICY, AES_GCM_PRECEDENCE, (t, decision) => {
      const got = outcomes.get(t.tcId)!;
      if (decision === "match") {
        if (got.seal !== t.ct + t.tag) return `seal: want ${t.ct + t.tag}, got ${got.seal}`;
        return got.open === t.msg ? null : `open: want ${t.msg}, got ${got.open}`;
      }
      // Both rejections look the same through aeadKey: open must return null, not throw.
      return got.open === "null" ? null : `open: want null, got ${got.open}`;
    });
    expect(failures).toEqual([]);
  });
});

it("Wycheproof AES-256-GCM: noble, webcrypto and node agree on every protocol-size vector", async () => {
  const flatten = (m: ReadonlyMap<number, AeadOutcome>) => new Map([...m].map(([id, o]) => [id, `seal=${o.seal} open=${o.open}`]));
  const noble = flatten(await aesOutcomes(nobleBackend));
  expect(disagreements(aesProtocolTests, noble, flatten(await aesOutcomes(webCryptoBackend)))).toEqual([]);
  expect(disagreements(aesProtocolTests, noble, flatten(await aesOutcomes(nodeCryptoBackend)))).toEqual([]);
});

describe("Wycheproof AES-GCM, other sizes, on @noble/ciphers gcm directly", () => {
  it("covers every protocol-size vector through the backends", () => {
    expect(aesProtocolTests.length).toBe(AES_PROTOCOL_VECTORS);
  });

  it.each(RESULTS.filter((r) => aesNobleTests.some((t) => t.result === r)))("%s vectors", async (result) => {
    const tests = aesNobleTests.filter((t) => t.result === result);
    const failures = await failuresOf(tests, AES_GCM_POLICY, AES_GCM_PRECEDENCE, async (t, decision) => {
      const [key, iv, aad] = [fromHex(t.key), fromHex(t.iv), fromHex(t.aad)];
      const seal = await attempt(() => gcm(key, iv, aad).encrypt(fromHex(t.msg)));
      const open = await attempt(() => gcm(key, iv, aad).decrypt(concatBytes(fromHex(t.ct), fromHex(t.tag))));
      switch (decision) {
        case "match":
          if (seal !== t.ct + t.tag) return `encrypt: want ${t.ct + t.tag}, got ${seal}`;
          return open === t.msg ? null : `decrypt: want ${t.msg}, got ${open}`;
        case "rejectTag":
          return open.startsWith("threw") ? null : `decrypt: want a throw, got ${open}`;
        case "rejectIv":
          return seal.startsWith("threw") && open.startsWith("threw") ? null : `want encrypt and decrypt to throw, got encrypt=${seal} decrypt=${open}`;
      }
    });
    expect(failures).toEqual([]);
  });

  it(`skips exactly ${AES_SKIPPED_VECTORS} vectors that noble gcm cannot run`, () => {
    const byReason = new Map<string, number>();
    for (const g of aesSkipped) {
      const reason = `${nobleSkipReason(g)} (ivSize ${g.ivSize})`;
      byReason.set(reason, (byReason.get(reason) ?? 0) + g.tests.length);
    }
    const skipped = aesSkipped.reduce((n, g) => n + g.tests.length, 0);
    console.info(`AES-GCM: skipped ${skipped} vectors:`, Object.fromEntries(byReason));
    expect(skipped).toBe(AES_SKIPPED_VECTORS);
    // Every vector is accounted for exactly once.
    expect(aesProtocolTests.length + aesNobleTests.length + skipped).toBe(aesGcmFile.numberOfTests);
  });
});

// ---------------------------------------------------------------------------
// HKDF-SHA-256 and HMAC-SHA-256 (hash.ts, shared by both backends)

describe("Wycheproof HKDF-SHA-256 (hkdfExtract + hkdfExpand)", () => {
  it.each(hkdfFile.testGroups.map((g) => [g.keySize, g] as const))("%i-bit IKM group", async (_bits, group) => {
    const failures = await failuresOf(group.tests, HKDF_POLICY, HKDF_PRECEDENCE, (t, decision) => {
      const prk = hkdfExtract(fromHex(t.salt), fromHex(t.ikm));
      let okm: string;
      try {
        okm = toHex(hkdfExpand(prk, fromHex(t.info), t.size));
      } catch (e) {
        return decision === "throwSize" ? null : `expand ${errorText(e)}`;
      }
      if (decision === "throwSize") return `expand of ${t.size} bytes did not throw`;
      return okm === t.okm ? null : `okm: want ${t.okm}, got ${okm}`;
    });
    expect(failures).toEqual([]);
  });
});

describe("Wycheproof HMAC-SHA-256 (hmacSha256, truncated to tagSize)", () => {
  it.each(hmacFile.testGroups.map((g) => [g.keySize, g.tagSize, g] as const))("%i-bit key, %i-bit tag group", async (_keyBits, tagBits, group) => {
    const failures = await failuresOf(group.tests, HMAC_POLICY, HMAC_PRECEDENCE, (t, decision) => {
      const tag = hmacSha256(fromHex(t.key), fromHex(t.msg)).subarray(0, tagBits / 8);
      const equal = bytesEqual(tag, fromHex(t.tag));
      if (decision === "match") return equal ? null : `tag: want ${t.tag}, got ${toHex(tag)}`;
      return equal ? "a modified tag matched" : null;
    });
    expect(failures).toEqual([]);
  });
});
