// Web Push crypto (protocol/src/web-push.ts): RFC 8291 message encryption
// against the RFC's worked example (exact bytes), RFC 8188 content decoding
// against its examples, an independent implementation (http_ece, Node crypto)
// in both directions, strict rejection, and VAPID (RFC 8292) sign/verify.
import { createCipheriv, createECDH, hkdfSync, randomBytes } from "node:crypto";
import * as ece from "http_ece";
import { describe, expect, it } from "vitest";
import { concatBytes, fromBase64Url, textEncoder, toBase64Url } from "../../protocol/src/bytes.ts";
import {
  checkVapidKeys,
  decryptAes128gcm,
  decryptWebPush,
  encryptWebPush,
  generateSubscriptionKeys,
  generateVapidKeys,
  vapidAuthorization,
  verifyVapidAuthorization,
  WEB_PUSH_MAX_BODY_BYTES,
  WEB_PUSH_MAX_PLAINTEXT_BYTES,
  type VapidKeyPair,
} from "../../protocol/src/web-push.ts";

const b = (s: string) => {
  const out = fromBase64Url(s);
  if (!out) throw new Error(`bad base64url in test: ${s}`);
  return out;
};
const utf8 = (s: string) => textEncoder.encode(s);
const text = (u: Uint8Array) => new TextDecoder().decode(u);

// RFC 8291 §5 and Appendix A.
const RFC8291 = {
  plaintext: "When I grow up, I want to be a watermelon",
  uaPublic: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
  uaPrivate: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
  asPublic: "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
  asPrivate: "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
  auth: "BTBZMqHH6r4Tts7J_aSIgg",
  salt: "DGv6ra1nlYgDCS1FRnbzlw",
  header: "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
  ciphertext: "8pfeW0KbunFT06SuDKoJH9Ql87S1QUrdirN6GcG7sFz1y1sqLgVi1VhjVkHsUoEsbI_0LpXMuGvnzQ",
  body: "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
};
const rfcSubscription = { p256dh: RFC8291.uaPublic, auth: RFC8291.auth };
const rfcReceiver = { privateKey: b(RFC8291.uaPrivate), publicKey: b(RFC8291.uaPublic), auth: b(RFC8291.auth) };

/**
 * RFC 8291 written independently on Node crypto (createECDH, hkdfSync,
 * AES-128-GCM), sealing a record exactly as given (delimiter and padding
 * included), so malformed-but-authentic records can be built.
 */
function sealRecord(subscription: { p256dh: string; auth: string }, record: Uint8Array): Uint8Array {
  const sender = createECDH("prime256v1");
  sender.generateKeys();
  const asPublic = sender.getPublicKey();
  const uaPublic = Buffer.from(b(subscription.p256dh));
  const ecdh = sender.computeSecret(uaPublic);
  const ikm = Buffer.from(hkdfSync("sha256", ecdh, b(subscription.auth), Buffer.concat([Buffer.from("WebPush: info\0"), uaPublic, asPublic]), 32));
  const salt = randomBytes(16);
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const cipher = createCipheriv("aes-128-gcm", cek, nonce);
  const sealed = Buffer.concat([cipher.update(record), cipher.final(), cipher.getAuthTag()]);
  const rs = Buffer.alloc(5);
  rs.writeUInt32BE(4096);
  rs[4] = 65;
  return new Uint8Array(Buffer.concat([salt, rs, asPublic, sealed]));
}

async function newSubscription() {
  const keys = await generateSubscriptionKeys();
  return { keys, subscription: { p256dh: toBase64Url(keys.publicKey), auth: toBase64Url(keys.auth) } };
}

describe("RFC 8291 message encryption", () => {
  it("reproduces the RFC 8291 §5 example byte for byte (fixed salt and sender key)", async () => {
    const body = await encryptWebPush(rfcSubscription, utf8(RFC8291.plaintext), { salt: b(RFC8291.salt), senderPrivateKey: b(RFC8291.asPrivate) });
    expect(toBase64Url(body.subarray(0, 86))).toBe(RFC8291.header);
    expect(toBase64Url(body.subarray(86))).toBe(RFC8291.ciphertext);
    expect(toBase64Url(body)).toBe(RFC8291.body);
    expect(body.length).toBe(144);
  });

  it("decrypts the RFC 8291 example with the receiver's keys", async () => {
    expect(text(await decryptWebPush(b(RFC8291.body), rfcReceiver))).toBe(RFC8291.plaintext);
  });

  it("round-trips with fresh keys, fresh salt and sender key every time, with and without padding", async () => {
    const { keys, subscription } = await newSubscription();
    const msg = utf8("approval needed on mac-mini");
    const one = await encryptWebPush(subscription, msg);
    const two = await encryptWebPush(subscription, msg);
    expect(toBase64Url(one.subarray(0, 16))).not.toBe(toBase64Url(two.subarray(0, 16))); // salt
    expect(toBase64Url(one.subarray(21, 86))).not.toBe(toBase64Url(two.subarray(21, 86))); // sender key
    expect(text(await decryptWebPush(one, keys))).toBe("approval needed on mac-mini");
    const padded = await encryptWebPush(subscription, msg, { padding: 100 });
    expect(padded.length).toBe(one.length + 100);
    expect(text(await decryptWebPush(padded, keys))).toBe("approval needed on mac-mini");
    expect(await decryptWebPush(await encryptWebPush(subscription, new Uint8Array(0)), keys)).toEqual(new Uint8Array(0));
  });

  it("fits exactly 4096 bytes and refuses one more", async () => {
    const { keys, subscription } = await newSubscription();
    const max = new Uint8Array(WEB_PUSH_MAX_PLAINTEXT_BYTES).fill(7);
    const body = await encryptWebPush(subscription, max);
    expect(body.length).toBe(WEB_PUSH_MAX_BODY_BYTES);
    expect(await decryptWebPush(body, keys)).toEqual(max);
    await expect(encryptWebPush(subscription, new Uint8Array(WEB_PUSH_MAX_PLAINTEXT_BYTES + 1))).rejects.toThrow(RangeError);
    await expect(encryptWebPush(subscription, new Uint8Array(10), { padding: WEB_PUSH_MAX_PLAINTEXT_BYTES })).rejects.toThrow(/over 4096/);
  });

  it("refuses malformed subscriptions and options", async () => {
    const { subscription } = await newSubscription();
    await expect(encryptWebPush({ ...subscription, p256dh: "AA" }, utf8("x"))).rejects.toThrow(/p256dh/);
    await expect(encryptWebPush({ ...subscription, p256dh: toBase64Url(new Uint8Array(65).fill(4)) }, utf8("x"))).rejects.toThrow(/not a point/);
    await expect(encryptWebPush({ ...subscription, auth: toBase64Url(new Uint8Array(15)) }, utf8("x"))).rejects.toThrow(/auth/);
    await expect(encryptWebPush(subscription, utf8("x"), { salt: new Uint8Array(15) })).rejects.toThrow(/salt/);
    await expect(encryptWebPush(subscription, utf8("x"), { padding: -1 })).rejects.toThrow(/padding/);
    await expect(encryptWebPush(subscription, utf8("x"), { senderPrivateKey: new Uint8Array(32) })).rejects.toThrow(/private key/);
  });
});

describe("RFC 8291 strict decryption", () => {
  const body = () => b(RFC8291.body);
  const reject = (bytes: Uint8Array, pattern: RegExp, receiver = rfcReceiver) => expect(decryptWebPush(bytes, receiver)).rejects.toThrow(pattern);

  it("refuses a wrong receiver key or auth secret", async () => {
    const other = await generateSubscriptionKeys();
    await reject(body(), /decryption failed/, other);
    await reject(body(), /decryption failed/, { ...rfcReceiver, auth: new Uint8Array(16) });
  });

  it("refuses a tampered tag, ciphertext, salt or sender key", async () => {
    for (const index of [143, 100, 0, 50]) {
      const bad = body();
      bad[index]! ^= 1;
      await reject(bad, /decryption failed|not a point/);
    }
  });

  it("refuses a truncated body at every length", async () => {
    const full = body();
    for (const n of [0, 10, 20, 21, 85, 86, 90, 102, full.length - 1]) await reject(full.subarray(0, n), /shorter|truncated|decryption failed/);
  });

  it("refuses bad headers: idlen other than 65, compressed keyid, rs below 18, a record larger than rs", async () => {
    const idlen = body();
    idlen[20] = 64;
    await reject(idlen, /keyid must be/);
    const compressed = body();
    compressed[21] = 0x02;
    await reject(compressed, /uncompressed/);
    const rs17 = body();
    rs17.set([0, 0, 0, 17], 16);
    await reject(rs17, /record size 17/);
    const rs57 = body(); // the record is 58 bytes
    rs57.set([0, 0, 0, 57], 16);
    await reject(rs57, /larger than rs/);
    // Two records (rs 25, a valid RFC 8188 layout) are not a Web Push message.
    const rs25 = body();
    rs25.set([0, 0, 0, 25], 16);
    await reject(rs25, /larger than rs/);
  });

  it("refuses a record whose delimiter is not 0x02, is missing, or is followed by non-zero padding, though its tag is valid", async () => {
    const { keys, subscription } = await newSubscription();
    const seal = (record: Uint8Array) => sealRecord(subscription, record);
    expect(text(await decryptWebPush(seal(utf8("hi\x02\0\0")), keys))).toBe("hi"); // the hand-made sealer is right
    await expect(decryptWebPush(seal(utf8("hi\x01")), keys)).rejects.toThrow(/0x02/);
    await expect(decryptWebPush(seal(utf8("hi")), keys)).rejects.toThrow(/0x02/);
    await expect(decryptWebPush(seal(new Uint8Array(4)), keys)).rejects.toThrow(/no padding delimiter/);
    await expect(decryptWebPush(seal(utf8("hi\x02\0\x01")), keys)).rejects.toThrow(/0x02/);
  });

  it("refuses an rs-sized layout of several records (not a Web Push message)", async () => {
    const { keys, subscription } = await newSubscription();
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    const twoRecords = ece.encrypt(Buffer.from("0123456789012345678901234567890123456789"), {
      version: "aes128gcm",
      privateKey: ecdh,
      dh: subscription.p256dh,
      authSecret: subscription.auth,
      rs: 40,
    });
    await expect(decryptWebPush(new Uint8Array(twoRecords), keys)).rejects.toThrow(/larger than rs/);
  });

  it("refuses receiver keys of the wrong shape", async () => {
    await reject(body(), /receiver private key/, { ...rfcReceiver, privateKey: new Uint8Array(31) });
    await reject(body(), /receiver public key/, { ...rfcReceiver, publicKey: new Uint8Array(65) });
    await reject(body(), /auth secret/, { ...rfcReceiver, auth: new Uint8Array(8) });
  });
});

describe("RFC 8188 content coding", () => {
  it("decrypts the §3.1 example (one record, rs 4096)", async () => {
    const r = await decryptAes128gcm(b("I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg"), b("yqdlZ-tYemfogSmv7Ws5PQ"));
    expect(text(r.plaintext)).toBe("I am the walrus");
    expect(r.keyid.length).toBe(0);
  });

  it("decrypts the §3.2 example (two records, rs 25, keyid a1) and refuses it when one record is allowed or a record is dropped", async () => {
    const body = b("uNCkWiNYzKTnBN9ji3-qWAAAABkCYTHOG8chz_gnvgOqdGYovxyjuqRyJFjEDyoF1Fvkj6hQPdPHI51OEUKEpgz3SsLWIqS_uA");
    const ikm = b("BO3ZVPxUlnLORbVGMpbT1Q");
    const r = await decryptAes128gcm(body, ikm);
    expect(text(r.plaintext)).toBe("I am the walrus");
    expect(text(r.keyid)).toBe("a1");
    await expect(decryptAes128gcm(body, ikm, { maxRecords: 1 })).rejects.toThrow(/records/);
    // Only the first record: it ends in 0x01, so the message is known to be truncated.
    await expect(decryptAes128gcm(body.subarray(0, 23 + 25), ikm)).rejects.toThrow(/0x02/);
  });
});

describe("an independent implementation agrees (http_ece 1.2.1 on Node crypto)", () => {
  it("http_ece decrypts what we encrypt", async () => {
    const { keys, subscription } = await newSubscription();
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(Buffer.from(keys.privateKey));
    for (const padding of [0, 17]) {
      const body = await encryptWebPush(subscription, utf8("lock screen text"), { padding });
      const plain = ece.decrypt(Buffer.from(body), { version: "aes128gcm", privateKey: ecdh, authSecret: subscription.auth });
      expect(plain.toString("utf8")).toBe("lock screen text");
    }
    const rfc = ece.decrypt(Buffer.from(b(RFC8291.body)), {
      version: "aes128gcm",
      privateKey: (() => {
        const e = createECDH("prime256v1");
        e.setPrivateKey(Buffer.from(b(RFC8291.uaPrivate)));
        return e;
      })(),
      authSecret: RFC8291.auth,
    });
    expect(rfc.toString("utf8")).toBe(RFC8291.plaintext);
  });

  it("we decrypt what http_ece encrypts", async () => {
    const { keys, subscription } = await newSubscription();
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    const body = ece.encrypt(Buffer.from("from http_ece"), { version: "aes128gcm", privateKey: ecdh, dh: subscription.p256dh, authSecret: subscription.auth });
    expect(text(await decryptWebPush(new Uint8Array(body), keys))).toBe("from http_ece");
  });
});

// ------------------------------------------------------------------ VAPID

const AUD = "https://push.example.net";
const nowS = () => Math.floor(Date.now() / 1000);

function jwtParts(header: string): { h: string; c: string; s: string; k: string } {
  const m = /^vapid t=([^.]+)\.([^.]+)\.([^,]+), k=(.+)$/.exec(header);
  if (!m) throw new Error(`unexpected header ${header}`);
  return { h: m[1]!, c: m[2]!, s: m[3]!, k: m[4]! };
}
const json = (o: unknown) => toBase64Url(utf8(JSON.stringify(o)));

/** Signs arbitrary claims with a VAPID key (to build tokens vapidAuthorization itself refuses to make). */
async function signClaims(
  keys: VapidKeyPair,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { typ: "JWT", alg: "ES256" },
): Promise<string> {
  const pub = b(keys.publicKey);
  const key = await crypto.subtle.importKey(
    "jwk",
    { kty: "EC", crv: "P-256", x: toBase64Url(pub.subarray(1, 33)), y: toBase64Url(pub.subarray(33)), d: keys.privateKey },
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  const input = `${json(header)}.${json(claims)}`;
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, utf8(input)));
  return `vapid t=${input}.${toBase64Url(sig)}, k=${keys.publicKey}`;
}

describe("VAPID (RFC 8292)", () => {
  it("generates well-formed key pairs whose halves belong together", async () => {
    const keys = await generateVapidKeys();
    expect(b(keys.publicKey).length).toBe(65);
    expect(b(keys.publicKey)[0]).toBe(4);
    expect(b(keys.privateKey).length).toBe(32);
    await checkVapidKeys(keys);
    const other = await generateVapidKeys();
    await expect(checkVapidKeys({ publicKey: keys.publicKey, privateKey: other.privateKey })).rejects.toThrow(/does not belong/);
    await expect(checkVapidKeys({ publicKey: "AA", privateKey: other.privateKey })).rejects.toThrow(/public key/);
  });

  it("signs a header that verifies and carries the claims", async () => {
    const keys = await generateVapidKeys();
    const exp = nowS() + 12 * 3600;
    const header = await vapidAuthorization({ keys, audience: AUD, subject: "mailto:ops@example.net", expiresAt: exp });
    expect(header).toMatch(/^vapid t=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+, k=[A-Za-z0-9_-]{87}$/);
    const claims = JSON.parse(text(b(jwtParts(header).c)));
    expect(claims).toEqual({ aud: AUD, exp, sub: "mailto:ops@example.net" });
    expect(JSON.parse(text(b(jwtParts(header).h)))).toEqual({ typ: "JWT", alg: "ES256" });
    await expect(verifyVapidAuthorization(header, { audience: AUD, now: nowS() })).resolves.toEqual({
      publicKey: keys.publicKey,
      subject: "mailto:ops@example.net",
      expiresAt: exp,
    });
    // https: subjects too, and the scheme name is case-insensitive.
    const https = await vapidAuthorization({ keys, audience: "http://127.0.0.1:9", subject: "https://relay.example.net/contact", expiresAt: exp });
    await expect(verifyVapidAuthorization(https.replace(/^vapid/, "Vapid"), { audience: "http://127.0.0.1:9", now: nowS() })).resolves.toMatchObject({
      subject: "https://relay.example.net/contact",
    });
  });

  it("refuses to sign with bad inputs", async () => {
    const keys = await generateVapidKeys();
    const ok = { keys, audience: AUD, subject: "mailto:a@example.net", expiresAt: nowS() + 3600 };
    await expect(vapidAuthorization({ ...ok, audience: `${AUD}/path` })).rejects.toThrow(/origin/);
    await expect(vapidAuthorization({ ...ok, subject: "ops@example.net" })).rejects.toThrow(/subject/);
    await expect(vapidAuthorization({ ...ok, subject: "http://example.net" })).rejects.toThrow(/subject/);
    await expect(vapidAuthorization({ ...ok, expiresAt: nowS() - 1 })).rejects.toThrow(/24 hours/);
    await expect(vapidAuthorization({ ...ok, expiresAt: nowS() + 25 * 3600 })).rejects.toThrow(/24 hours/);
    await expect(vapidAuthorization({ ...ok, keys: { ...keys, privateKey: "AA" } })).rejects.toThrow(/private key/);
  });

  it("refuses a bad signature, another key, a wrong aud, expiry in the past or over 24 h ahead, a missing or bad sub", async () => {
    const keys = await generateVapidKeys();
    const other = await generateVapidKeys();
    const exp = nowS() + 3600;
    const header = await vapidAuthorization({ keys, audience: AUD, subject: "mailto:a@example.net", expiresAt: exp });
    const verify = (h: string, audience = AUD, now = nowS()) => verifyVapidAuthorization(h, { audience, now });
    const p = jwtParts(header);
    const sig = b(p.s);
    sig[10]! ^= 1;
    await expect(verify(`vapid t=${p.h}.${p.c}.${toBase64Url(sig)}, k=${p.k}`)).rejects.toThrow(/bad JWT signature/);
    await expect(verify(`vapid t=${p.h}.${p.c}.${p.s}, k=${other.publicKey}`)).rejects.toThrow(/bad JWT signature/);
    await expect(verify(`vapid t=${p.h}.${json({ aud: AUD, exp: exp + 1, sub: "mailto:a@example.net" })}.${p.s}, k=${p.k}`)).rejects.toThrow(
      /bad JWT signature/,
    );
    await expect(verify(header, "https://other.example.net")).rejects.toThrow(/aud/);
    await expect(verify(header, AUD, exp)).rejects.toThrow(/expired/);
    await expect(verify(header, AUD, exp - 25 * 3600)).rejects.toThrow(/24 hours/);
    await expect(verify(await signClaims(keys, { aud: AUD, exp }))).rejects.toThrow(/missing sub/);
    await expect(verify(await signClaims(keys, { aud: AUD, exp, sub: "someone" }))).rejects.toThrow(/sub must be/);
    await expect(verify(await signClaims(keys, { aud: AUD, exp: String(exp), sub: "mailto:a@example.net" }))).rejects.toThrow(/exp must be/);
    await expect(verify(await signClaims(keys, { aud: AUD, exp: nowS() + 30 * 3600, sub: "mailto:a@example.net" }))).rejects.toThrow(/24 hours/);
    await expect(verify(await signClaims(keys, { aud: AUD, exp, sub: "mailto:a@example.net" }, { alg: "none" }))).rejects.toThrow(/ES256/);
    await expect(verify(await signClaims(keys, { aud: AUD, exp, sub: "mailto:a@example.net" }, { alg: "ES256", kid: "x" }))).rejects.toThrow(
      /header parameter/,
    );
    // The signer's own key, over claims we chose, does verify (so the refusals above are about the claims).
    await expect(verify(await signClaims(keys, { aud: AUD, exp, sub: "mailto:a@example.net" }))).resolves.toMatchObject({ expiresAt: exp });
  });

  it("refuses malformed Authorization headers", async () => {
    const keys = await generateVapidKeys();
    const header = await vapidAuthorization({ keys, audience: AUD, subject: "mailto:a@example.net", expiresAt: nowS() + 60 });
    const p = jwtParts(header);
    const cases: Array<[string, RegExp]> = [
      ["", /no Authorization/],
      [`Bearer ${p.h}.${p.c}.${p.s}`, /scheme/],
      [`WebPush ${p.h}.${p.c}.${p.s}`, /scheme/],
      [`vapid t=${p.h}.${p.c}.${p.s}`, /missing k/],
      [`vapid k=${p.k}`, /missing t/],
      [`vapid t=${p.h}.${p.c}.${p.s}, k=${p.k}, t=${p.h}.${p.c}.${p.s}`, /twice/],
      [`vapid t=${p.h}.${p.c}.${p.s}, k=${p.k}, x=1`, /unknown parameter/],
      [`vapid t=${p.h}.${p.c}, k=${p.k}`, /3 parts/],
      [`vapid t="${p.h}.${p.c}.${p.s}", k=${p.k}`, /malformed/],
      [`vapid t=${p.h}.${p.c}.${p.s}, k=AAAA`, /65-byte/],
      [`vapid t=${p.h}.${p.c}.${p.s}, k=${toBase64Url(concatBytes(Uint8Array.of(4), new Uint8Array(64).fill(1)))}`, /not a point/],
      [`vapid t=${p.h}.${p.c}.AAAA, k=${p.k}`, /64 bytes/],
      [`vapid t=${"A".repeat(3000)}, k=${p.k}`, /too long/],
      [`vapid t=${json([1])}.${p.c}.${p.s}, k=${p.k}`, /JSON object/],
    ];
    for (const [h, pattern] of cases) await expect(verifyVapidAuthorization(h, { audience: AUD, now: nowS() }), h.slice(0, 40)).rejects.toThrow(pattern);
  });
});
