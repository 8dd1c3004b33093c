// Web Push on WebCrypto alone (Node ≥20, workerd, browsers): message
// encryption (RFC 8291, the RFC 8188 "aes128gcm" content coding) and VAPID
// (RFC 8292). No Node built-ins and no other crypto library, so the same code
// runs in the relay's Durable Object (which signs VAPID), in the host (which
// encrypts to a device's subscription) and in the tests' mock push service
// (which verifies and decrypts).
//
// Parsing is strict and bounded: every input is checked for its exact shape,
// and failures throw an Error whose message says what was wrong (never a key).
import { bytesEqual, concatBytes, fromBase64Url, strictTextDecoder, textEncoder, toBase64Url, u32be, view } from "./bytes.ts";

// ------------------------------------------------------------------ constants

/** RFC 8030/8291: the largest push message body (the encrypted aes128gcm body, header included). */
export const WEB_PUSH_MAX_BODY_BYTES = 4096;
/** The record size this module writes (RFC 8291 §4 recommends 4096). */
export const WEB_PUSH_RECORD_SIZE = 4096;
/** RFC 8188 header for Web Push: salt 16 + rs 4 + idlen 1 + keyid 65. */
export const WEB_PUSH_HEADER_BYTES = 86;
/** Header + padding delimiter + AES-GCM tag: the cost of encrypting a message with no padding. */
export const WEB_PUSH_OVERHEAD_BYTES = WEB_PUSH_HEADER_BYTES + 1 + 16;
/** The largest plaintext (with no padding) that fits a 4096-byte body: 3993 bytes. */
export const WEB_PUSH_MAX_PLAINTEXT_BYTES = WEB_PUSH_MAX_BODY_BYTES - WEB_PUSH_OVERHEAD_BYTES;
/** RFC 8292 §2: a VAPID JWT's exp is at most 24 hours ahead. */
export const VAPID_MAX_LIFETIME_SECONDS = 24 * 3600;
/** Longest Authorization header verifyVapidAuthorization reads. */
export const VAPID_MAX_HEADER_LENGTH = 2048;

const P256_POINT_BYTES = 65;
const P256_SCALAR_BYTES = 32;
const AUTH_SECRET_BYTES = 16;
const SALT_BYTES = 16;
const TAG_BYTES = 16;
/** RFC 8188 §2: rs must be at least 18 (one byte of content, the delimiter, the tag). */
const MIN_RECORD_SIZE = 18;

// ------------------------------------------------------------------ plumbing

function subtle(): SubtleCrypto {
  const s = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!s) throw new Error("web-push: WebCrypto (crypto.subtle) is not available on this platform");
  return s;
}

/** TypeScript's DOM types want ArrayBuffer-backed views. */
function bs(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

function randomBytes(n: number): Uint8Array {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (!c) throw new Error("web-push: WebCrypto is not available on this platform");
  return c.getRandomValues(new Uint8Array(n));
}

function b64uField(value: unknown, bytes: number, what: string): Uint8Array {
  const decoded = typeof value === "string" && value.length <= 4 * bytes ? fromBase64Url(value) : null;
  if (!decoded || decoded.length !== bytes) throw new Error(`web-push: ${what} must be ${bytes} bytes of base64url`);
  return decoded;
}

function checkPoint(point: Uint8Array, what: string): void {
  if (point.length !== P256_POINT_BYTES || point[0] !== 0x04) {
    throw new Error(`web-push: ${what} must be a 65-byte uncompressed P-256 point (0x04 || x || y)`);
  }
}

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) throw new Error(`web-push: ${what} must be ${length} bytes`);
}

/** A P-256 private key as WebCrypto can import it: a JWK with the public point's x and y. */
function privateJwk(publicKey: Uint8Array, d: Uint8Array): JsonWebKey {
  return {
    kty: "EC",
    crv: "P-256",
    x: toBase64Url(publicKey.subarray(1, 33)),
    y: toBase64Url(publicKey.subarray(33, 65)),
    d: toBase64Url(d),
    ext: false,
  };
}

async function importEcdhPrivate(publicKey: Uint8Array, d: Uint8Array): Promise<CryptoKey> {
  try {
    return await subtle().importKey("jwk", privateJwk(publicKey, d), { name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
  } catch {
    throw new Error("web-push: not a valid P-256 key pair");
  }
}

async function importEcdhPublic(point: Uint8Array, what: string): Promise<CryptoKey> {
  checkPoint(point, what);
  try {
    return await subtle().importKey("raw", bs(point), { name: "ECDH", namedCurve: "P-256" }, false, []);
  } catch {
    throw new Error(`web-push: ${what} is not a point on P-256`);
  }
}

// PKCS#8 for a P-256 key with only its private scalar (RFC 5915 ECPrivateKey
// without the optional public key): WebCrypto imports it and computes the
// public point, which is how a bare 32-byte scalar becomes a key pair.
// prettier-ignore
const PKCS8_P256_PREFIX = Uint8Array.of(
  0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
  0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20,
);

/** The public point of a P-256 private scalar. */
async function publicKeyOf(d: Uint8Array): Promise<Uint8Array> {
  checkLength(d, P256_SCALAR_BYTES, "private key");
  let jwk: JsonWebKey;
  try {
    const key = await subtle().importKey("pkcs8", bs(concatBytes(PKCS8_P256_PREFIX, d)), { name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
    jwk = (await subtle().exportKey("jwk", key)) as JsonWebKey;
  } catch {
    throw new Error("web-push: not a valid P-256 private key");
  }
  return pointFromJwk(jwk);
}

function pointFromJwk(jwk: JsonWebKey): Uint8Array {
  const x = jwk.x === undefined ? null : fromBase64Url(jwk.x);
  const y = jwk.y === undefined ? null : fromBase64Url(jwk.y);
  if (!x || !y || x.length !== 32 || y.length !== 32) throw new Error("web-push: WebCrypto returned an unexpected JWK");
  return concatBytes(Uint8Array.of(0x04), x, y);
}

async function generateP256(algorithm: "ECDH" | "ECDSA"): Promise<{ privateKey: Uint8Array; publicKey: Uint8Array }> {
  const usages: Array<"deriveBits" | "sign" | "verify"> = algorithm === "ECDH" ? ["deriveBits"] : ["sign", "verify"];
  const pair = (await subtle().generateKey({ name: algorithm, namedCurve: "P-256" }, true, usages)) as CryptoKeyPair;
  const jwk = (await subtle().exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const d = jwk.d === undefined ? null : fromBase64Url(jwk.d);
  if (!d || d.length !== P256_SCALAR_BYTES) throw new Error("web-push: WebCrypto returned an unexpected JWK");
  return { privateKey: d, publicKey: pointFromJwk(jwk) };
}

async function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
  const key = await subtle().importKey("raw", bs(ikm), "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await subtle().deriveBits({ name: "HKDF", hash: "SHA-256", salt: bs(salt), info: bs(info) }, key, length * 8));
}

// ------------------------------------------------------------------ RFC 8188 aes128gcm

const CEK_INFO = textEncoder.encode("Content-Encoding: aes128gcm\0");
const NONCE_INFO = textEncoder.encode("Content-Encoding: nonce\0");

interface ContentKeys {
  key: CryptoKey;
  nonce: Uint8Array;
}

async function contentKeys(ikm: Uint8Array, salt: Uint8Array): Promise<ContentKeys> {
  const cek = await hkdf(salt, ikm, CEK_INFO, 16);
  const nonce = await hkdf(salt, ikm, NONCE_INFO, 12);
  const key = await subtle().importKey("raw", bs(cek), "AES-GCM", false, ["encrypt", "decrypt"]);
  cek.fill(0);
  return { key, nonce };
}

/** RFC 8188 §2.3: the record's nonce is NONCE xor its sequence number (big-endian, 96 bits). */
function recordNonce(base: Uint8Array, seq: number): Uint8Array {
  const nonce = base.slice();
  const v = view(nonce);
  v.setUint32(8, v.getUint32(8) ^ (seq >>> 0));
  v.setUint32(4, v.getUint32(4) ^ Math.floor(seq / 2 ** 32));
  return nonce;
}

interface ContentHeader {
  salt: Uint8Array;
  rs: number;
  keyid: Uint8Array;
  /** The records, after the header. */
  records: Uint8Array;
}

function parseHeader(body: Uint8Array): ContentHeader {
  if (!(body instanceof Uint8Array)) throw new Error("aes128gcm: body must be bytes");
  if (body.length < SALT_BYTES + 5) throw new Error("aes128gcm: body shorter than its header");
  const rs = view(body).getUint32(SALT_BYTES);
  const idlen = body[SALT_BYTES + 4]!;
  if (rs < MIN_RECORD_SIZE) throw new Error(`aes128gcm: record size ${rs} is below ${MIN_RECORD_SIZE}`);
  const start = SALT_BYTES + 5 + idlen;
  if (body.length < start) throw new Error("aes128gcm: body shorter than its header");
  return { salt: body.subarray(0, SALT_BYTES), rs, keyid: body.subarray(SALT_BYTES + 5, start), records: body.subarray(start) };
}

/**
 * RFC 8188 content decoding with a given input keying material: every record
 * is authenticated, each but the last ends in delimiter 0x01 and exactly rs
 * bytes, the last in 0x02; padding is zeros. Exported for the RFC 8188 test
 * vectors; Web Push uses decryptWebPush.
 */
export async function decryptAes128gcm(
  body: Uint8Array,
  ikm: Uint8Array,
  options: { maxRecords?: number } = {},
): Promise<{ plaintext: Uint8Array; keyid: Uint8Array }> {
  const header = parseHeader(body);
  const { records, rs } = header;
  if (records.length < TAG_BYTES + 1) throw new Error("aes128gcm: truncated (no complete record)");
  const count = Math.ceil(records.length / rs);
  if (count > (options.maxRecords ?? 1024)) throw new Error(`aes128gcm: ${count} records is more than allowed`);
  const keys = await contentKeys(ikm, header.salt);
  const parts: Uint8Array[] = [];
  for (let seq = 0; seq < count; seq++) {
    const record = records.subarray(seq * rs, Math.min(records.length, (seq + 1) * rs));
    if (record.length < TAG_BYTES + 1) throw new Error("aes128gcm: truncated record");
    let plain: Uint8Array;
    try {
      plain = new Uint8Array(await subtle().decrypt({ name: "AES-GCM", iv: bs(recordNonce(keys.nonce, seq)), tagLength: 128 }, keys.key, bs(record)));
    } catch {
      throw new Error("aes128gcm: decryption failed (wrong key, or the body was altered)");
    }
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    if (end < 0) throw new Error("aes128gcm: record has no padding delimiter");
    const last = seq === count - 1;
    const delimiter = plain[end];
    if (last && delimiter !== 0x02) throw new Error("aes128gcm: last record does not end with delimiter 0x02 (truncated?)");
    if (!last && (delimiter !== 0x01 || record.length !== rs)) throw new Error("aes128gcm: bad delimiter in a non-final record");
    parts.push(plain.subarray(0, end));
  }
  return { plaintext: concatBytes(...parts), keyid: header.keyid };
}

// ------------------------------------------------------------------ RFC 8291 message encryption

const WEBPUSH_INFO = textEncoder.encode("WebPush: info\0");

/** RFC 8291 §3.4: IKM = HKDF(auth, ecdh_secret, "WebPush: info" 0x00 ua_public as_public, 32). */
async function webPushIkm(privateKey: CryptoKey, peerPublic: CryptoKey, auth: Uint8Array, uaPublic: Uint8Array, asPublic: Uint8Array): Promise<Uint8Array> {
  // workers-types spell the member "$public"; every runtime reads "public".
  const algorithm = { name: "ECDH", public: peerPublic } as unknown as Parameters<SubtleCrypto["deriveBits"]>[0];
  const ecdh = new Uint8Array(await subtle().deriveBits(algorithm, privateKey, 256));
  const ikm = await hkdf(auth, ecdh, concatBytes(WEBPUSH_INFO, uaPublic, asPublic), 32);
  ecdh.fill(0);
  return ikm;
}

/**
 * RFC 8291 aes128gcm body (RFC 8188 header: salt 16, rs 4096, idlen 65, keyid
 * = the sender's ephemeral public key; one record, delimiter 0x02, optional
 * zero padding). A fresh sender key and salt every call unless given (test
 * vectors only). Throws RangeError when the body would exceed 4096 bytes.
 */
export async function encryptWebPush(
  subscription: { p256dh: string; auth: string },
  plaintext: Uint8Array,
  options: { salt?: Uint8Array; senderPrivateKey?: Uint8Array; padding?: number } = {},
): Promise<Uint8Array> {
  const uaPublic = b64uField(subscription?.p256dh, P256_POINT_BYTES, "subscription p256dh");
  checkPoint(uaPublic, "subscription p256dh");
  const auth = b64uField(subscription?.auth, AUTH_SECRET_BYTES, "subscription auth");
  if (!(plaintext instanceof Uint8Array)) throw new Error("web-push: plaintext must be bytes");
  const padding = options.padding ?? 0;
  if (!Number.isSafeInteger(padding) || padding < 0) throw new Error("web-push: padding must be a non-negative integer");
  const bodyLength = WEB_PUSH_OVERHEAD_BYTES + plaintext.length + padding;
  if (bodyLength > WEB_PUSH_MAX_BODY_BYTES) {
    throw new RangeError(
      `web-push: a body of ${bodyLength} bytes is over ${WEB_PUSH_MAX_BODY_BYTES} (plaintext + padding at most ${WEB_PUSH_MAX_PLAINTEXT_BYTES})`,
    );
  }
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  checkLength(salt, SALT_BYTES, "salt");

  let privateKey: CryptoKey;
  let asPublic: Uint8Array;
  if (options.senderPrivateKey !== undefined) {
    asPublic = await publicKeyOf(options.senderPrivateKey);
    privateKey = await importEcdhPrivate(asPublic, options.senderPrivateKey);
  } else {
    // A fresh, non-extractable ephemeral key: its private half never leaves WebCrypto.
    const pair = (await subtle().generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"])) as CryptoKeyPair;
    privateKey = pair.privateKey;
    asPublic = new Uint8Array((await subtle().exportKey("raw", pair.publicKey)) as ArrayBuffer);
    checkPoint(asPublic, "sender public key");
  }
  const peer = await importEcdhPublic(uaPublic, "subscription p256dh");
  const ikm = await webPushIkm(privateKey, peer, auth, uaPublic, asPublic);
  const keys = await contentKeys(ikm, salt);
  ikm.fill(0);

  const record = new Uint8Array(plaintext.length + 1 + padding);
  record.set(plaintext);
  record[plaintext.length] = 0x02;
  const sealed = new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv: bs(keys.nonce), tagLength: 128 }, keys.key, bs(record)));
  record.fill(0);
  return concatBytes(salt, u32be(WEB_PUSH_RECORD_SIZE), Uint8Array.of(P256_POINT_BYTES), asPublic, sealed);
}

/**
 * Decrypts an RFC 8291 body as a user agent would. Strict: idlen must be 65
 * with an uncompressed P-256 point as keyid, exactly one record no larger than
 * rs, delimiter 0x02, zero padding, a valid tag.
 */
export async function decryptWebPush(body: Uint8Array, receiver: { privateKey: Uint8Array; publicKey: Uint8Array; auth: Uint8Array }): Promise<Uint8Array> {
  checkLength(receiver?.privateKey, P256_SCALAR_BYTES, "receiver private key");
  checkLength(receiver.publicKey, P256_POINT_BYTES, "receiver public key");
  checkPoint(receiver.publicKey, "receiver public key");
  checkLength(receiver.auth, AUTH_SECRET_BYTES, "receiver auth secret");
  const header = parseHeader(body);
  if (header.keyid.length !== P256_POINT_BYTES) throw new Error(`web-push: keyid must be the sender's 65-byte public key (idlen ${header.keyid.length})`);
  if (header.records.length > header.rs) throw new Error(`web-push: record of ${header.records.length} bytes is larger than rs ${header.rs} (one record only)`);
  if (header.records.length < TAG_BYTES + 1) throw new Error("web-push: truncated (no complete record)");
  const asPublic = header.keyid;
  const peer = await importEcdhPublic(asPublic, "sender key (keyid)");
  const privateKey = await importEcdhPrivate(receiver.publicKey, receiver.privateKey);
  const ikm = await webPushIkm(privateKey, peer, receiver.auth, receiver.publicKey, asPublic);
  try {
    return (await decryptAes128gcm(body, ikm, { maxRecords: 1 })).plaintext;
  } catch (e) {
    throw new Error(`web-push: ${(e as Error).message.replace(/^aes128gcm: /, "")}`);
  } finally {
    ikm.fill(0);
  }
}

/** A subscription's key pair and auth secret, as a browser makes them (tests, mocks). */
export async function generateSubscriptionKeys(): Promise<{ privateKey: Uint8Array; publicKey: Uint8Array; auth: Uint8Array }> {
  const { privateKey, publicKey } = await generateP256("ECDH");
  return { privateKey, publicKey, auth: randomBytes(AUTH_SECRET_BYTES) };
}

// ------------------------------------------------------------------ RFC 8292 VAPID

export interface VapidKeyPair {
  /** base64url, 65-byte uncompressed P-256 point (the browser's applicationServerKey). */
  publicKey: string;
  /** base64url, 32-byte private scalar d. */
  privateKey: string;
}

export async function generateVapidKeys(): Promise<VapidKeyPair> {
  const { privateKey, publicKey } = await generateP256("ECDSA");
  return { publicKey: toBase64Url(publicKey), privateKey: toBase64Url(privateKey) };
}

/**
 * Checks that a VAPID key pair is well formed and that its public key is the
 * private key's (a mismatched pair would sign JWTs every push service refuses).
 */
export async function checkVapidKeys(keys: VapidKeyPair): Promise<void> {
  const pub = b64uField(keys?.publicKey, P256_POINT_BYTES, "VAPID public key");
  checkPoint(pub, "VAPID public key");
  const d = b64uField(keys.privateKey, P256_SCALAR_BYTES, "VAPID private key");
  if (!bytesEqual(await publicKeyOf(d), pub)) throw new Error("web-push: the VAPID public key does not belong to the private key");
}

/** RFC 8292 §2.4: sub is a mailto: or https: URI. */
export function isVapidSubject(subject: unknown): subject is string {
  if (typeof subject !== "string" || subject.length === 0 || subject.length > 512) return false;
  if (/^mailto:[^\s@]+@[^\s@]+$/.test(subject)) return true;
  if (!subject.startsWith("https://")) return false;
  try {
    return new URL(subject).protocol === "https:";
  } catch {
    return false;
  }
}

/** The origin of a URL as VAPID's aud wants it; null when it is not an http(s) URL. */
export function pushOrigin(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.origin : null;
  } catch {
    return null;
  }
}

function checkAudience(audience: unknown): string {
  if (typeof audience !== "string" || pushOrigin(audience) !== audience) {
    throw new Error("web-push: VAPID audience must be the push service's origin (scheme://host[:port])");
  }
  return audience;
}

const JWT_HEADER = toBase64Url(textEncoder.encode(JSON.stringify({ typ: "JWT", alg: "ES256" })));
const signingKeys = new Map<string, CryptoKey>();

async function signingKey(keys: VapidKeyPair): Promise<CryptoKey> {
  const id = `${keys.publicKey}.${keys.privateKey}`;
  const hit = signingKeys.get(id);
  if (hit) return hit;
  const pub = b64uField(keys.publicKey, P256_POINT_BYTES, "VAPID public key");
  checkPoint(pub, "VAPID public key");
  const d = b64uField(keys.privateKey, P256_SCALAR_BYTES, "VAPID private key");
  let key: CryptoKey;
  try {
    key = await subtle().importKey("jwk", privateJwk(pub, d), { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  } catch {
    throw new Error("web-push: not a valid VAPID key pair");
  }
  if (signingKeys.size >= 8) signingKeys.clear();
  signingKeys.set(id, key);
  return key;
}

/**
 * "vapid t=<jwt>, k=<publicKey>" (RFC 8292): an ES256 JWT {aud: the origin of
 * the endpoint, exp (unix seconds, in the future and at most 24 h ahead), sub}.
 */
export async function vapidAuthorization(o: { keys: VapidKeyPair; audience: string; subject: string; expiresAt: number }): Promise<string> {
  const aud = checkAudience(o.audience);
  if (!isVapidSubject(o.subject)) throw new Error("web-push: VAPID subject must be a mailto: or https: URI");
  const now = Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(o.expiresAt) || o.expiresAt <= now || o.expiresAt > now + VAPID_MAX_LIFETIME_SECONDS) {
    throw new Error("web-push: VAPID expiresAt must be unix seconds in the future and at most 24 hours ahead");
  }
  const key = await signingKey(o.keys);
  const claims = toBase64Url(textEncoder.encode(JSON.stringify({ aud, exp: o.expiresAt, sub: o.subject })));
  const input = `${JWT_HEADER}.${claims}`;
  // WebCrypto's ECDSA signature is r || s (IEEE P1363), exactly what JWS ES256 wants.
  const sig = new Uint8Array(await subtle().sign({ name: "ECDSA", hash: "SHA-256" }, key, bs(textEncoder.encode(input))));
  return `vapid t=${input}.${toBase64Url(sig)}, k=${o.keys.publicKey}`;
}

function parseJsonPart(part: string, what: string): Record<string, unknown> {
  const bytes = fromBase64Url(part);
  if (!bytes) throw new Error(`VAPID: JWT ${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(strictTextDecoder.decode(bytes));
  } catch {
    throw new Error(`VAPID: JWT ${what} is not UTF-8 JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`VAPID: JWT ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Verifies an Authorization header as a push service would: the "vapid"
 * scheme with exactly one t and one k, an ES256 JWT signed by k, aud equal to
 * the expected origin, exp in the future and at most 24 h ahead, sub a
 * mailto:/https: URI. Throws an Error saying what is wrong otherwise.
 */
export async function verifyVapidAuthorization(
  header: string,
  expected: { audience: string; now: number },
): Promise<{ publicKey: string; subject: string; expiresAt: number }> {
  if (typeof header !== "string" || header.length === 0) throw new Error("VAPID: no Authorization header");
  if (header.length > VAPID_MAX_HEADER_LENGTH) throw new Error("VAPID: Authorization header too long");
  const m = /^vapid[ \t]+(.*)$/i.exec(header);
  if (!m) throw new Error('VAPID: Authorization scheme is not "vapid"');
  const params = new Map<string, string>();
  for (const item of m[1]!.split(",")) {
    const p = /^[ \t]*([A-Za-z]+)=([A-Za-z0-9_.-]+)[ \t]*$/.exec(item);
    if (!p) throw new Error("VAPID: malformed parameter in the Authorization header");
    const name = p[1]!.toLowerCase();
    if (name !== "t" && name !== "k") throw new Error(`VAPID: unknown parameter "${name}"`);
    if (params.has(name)) throw new Error(`VAPID: parameter "${name}" given twice`);
    params.set(name, p[2]!);
  }
  const token = params.get("t");
  const k = params.get("k");
  if (token === undefined) throw new Error("VAPID: missing t (the JWT)");
  if (k === undefined) throw new Error("VAPID: missing k (the public key)");
  const publicKey = fromBase64Url(k);
  if (!publicKey || publicKey.length !== P256_POINT_BYTES || publicKey[0] !== 0x04) throw new Error("VAPID: k is not a 65-byte uncompressed P-256 public key");

  const parts = token.split(".");
  if (parts.length !== 3) throw new Error("VAPID: t is not a JWS compact serialization (3 parts)");
  const [h, c, s] = parts as [string, string, string];
  const jwtHeader = parseJsonPart(h, "header");
  if (jwtHeader.alg !== "ES256") throw new Error("VAPID: JWT alg must be ES256");
  if (jwtHeader.typ !== undefined && jwtHeader.typ !== "JWT") throw new Error("VAPID: JWT typ must be JWT");
  if (Object.keys(jwtHeader).some((key) => key !== "alg" && key !== "typ")) throw new Error("VAPID: unexpected JWT header parameter");
  const sig = fromBase64Url(s);
  if (!sig || sig.length !== 64) throw new Error("VAPID: JWT signature is not 64 bytes of base64url");
  let verifyKey: CryptoKey;
  try {
    verifyKey = await subtle().importKey("raw", bs(publicKey), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  } catch {
    throw new Error("VAPID: k is not a point on P-256");
  }
  const valid = await subtle().verify({ name: "ECDSA", hash: "SHA-256" }, verifyKey, bs(sig), bs(textEncoder.encode(`${h}.${c}`)));
  if (!valid) throw new Error("VAPID: bad JWT signature");

  const claims = parseJsonPart(c, "claims");
  if (claims.aud !== expected.audience) throw new Error(`VAPID: aud ${JSON.stringify(claims.aud)} is not this push service's origin`);
  const exp = claims.exp;
  if (typeof exp !== "number" || !Number.isSafeInteger(exp)) throw new Error("VAPID: exp must be an integer (unix seconds)");
  if (exp <= expected.now) throw new Error("VAPID: JWT expired");
  if (exp > expected.now + VAPID_MAX_LIFETIME_SECONDS) throw new Error("VAPID: exp is more than 24 hours ahead");
  if (claims.sub === undefined) throw new Error("VAPID: missing sub");
  if (!isVapidSubject(claims.sub)) throw new Error("VAPID: sub must be a mailto: or https: URI");
  return { publicKey: k, subject: claims.sub, expiresAt: exp };
}
