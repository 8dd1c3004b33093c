// Known-answer tests typed in from the RFCs: X25519 (RFC 7748 §5.2, §6.1),
// Ed25519 (RFC 8032 §7.1) on both backends, HKDF-SHA-256 (RFC 5869 App. A).
import { sha512 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import type { CryptoBackend } from "../../protocol/src/backend.ts";
import { nobleBackend } from "../../protocol/src/backend-noble.ts";
import { webCryptoBackend } from "../../protocol/src/backend-webcrypto.ts";
import { fromHex, toHex } from "../../protocol/src/bytes.ts";
import { hkdfExpand, hkdfExtract } from "../../protocol/src/hash.ts";

const BACKENDS = [nobleBackend, webCryptoBackend] as const;
const textBytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** X25519(k, u) through the backend interface. */
async function x25519(b: CryptoBackend, k: Uint8Array, u: Uint8Array): Promise<Uint8Array> {
  return (await b.x25519FromPrivate(k)).dh(u);
}

// ---------------------------------------------------------------------------
// RFC 7748

const RFC7748_SINGLE = [
  {
    name: "vector 1",
    scalar: "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
    u: "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
    out: "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
  },
  {
    // u has bit 255 set: implementations must mask it (RFC 7748 §5).
    name: "vector 2",
    scalar: "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
    u: "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
    out: "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
  },
] as const;

const RFC7748_ITERATED = {
  1: "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
  1000: "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51",
} as const;

const RFC7748_DH = {
  alicePrivate: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
  alicePublic: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  bobPrivate: "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
  bobPublic: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
  shared: "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
} as const;

/** RFC 7748 §5.2 loop: k, u = X25519(k, u), k, starting from k = u = 9. */
async function iterate(b: CryptoBackend, count: number): Promise<string> {
  let k: Uint8Array = new Uint8Array(32);
  k[0] = 9;
  let u: Uint8Array = k.slice();
  for (let i = 0; i < count; i++) [k, u] = [await x25519(b, k, u), k];
  return toHex(k);
}

describe.each(BACKENDS)("RFC 7748 X25519 on the $name backend", (backend) => {
  it.each(RFC7748_SINGLE)("§5.2 $name", async ({ scalar, u, out }) => {
    expect(toHex(await x25519(backend, fromHex(scalar), fromHex(u)))).toBe(out);
  });

  it("§5.2 after 1 iteration", async () => {
    expect(await iterate(backend, 1)).toBe(RFC7748_ITERATED[1]);
  });

  // About a second per backend on Node (WebCrypto re-imports both keys every step).
  it("§5.2 after 1,000 iterations", async () => {
    expect(await iterate(backend, 1000)).toBe(RFC7748_ITERATED[1000]);
  });

  it("§6.1 Diffie-Hellman: public keys and shared secret", async () => {
    const alice = await backend.x25519FromPrivate(fromHex(RFC7748_DH.alicePrivate));
    const bob = await backend.x25519FromPrivate(fromHex(RFC7748_DH.bobPrivate));
    expect(toHex(alice.publicKey)).toBe(RFC7748_DH.alicePublic);
    expect(toHex(bob.publicKey)).toBe(RFC7748_DH.bobPublic);
    expect(toHex(await alice.dh(bob.publicKey))).toBe(RFC7748_DH.shared);
    expect(toHex(await bob.dh(alice.publicKey))).toBe(RFC7748_DH.shared);
  });
});

// ---------------------------------------------------------------------------
// RFC 8032 §7.1 (Ed25519, pure)

const RFC8032_TEST_1024_MESSAGE =
  "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1" +
  "e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d" +
  "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a" +
  "7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e" +
  "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10" +
  "3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1" +
  "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d" +
  "502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270" +
  "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b" +
  "eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba" +
  "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b" +
  "e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7" +
  "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d" +
  "cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df" +
  "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7" +
  "984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4" +
  "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09" +
  "43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f" +
  "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161" +
  "0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d" +
  "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca" +
  "c60c905c15fc910840b94c00a0b9d0";

const RFC8032_VECTORS = [
  {
    name: "TEST 1",
    secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155" + "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    name: "TEST 2",
    secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da" + "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    name: "TEST 3",
    secret: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    message: "af82",
    signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac" + "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  },
  {
    name: "TEST 1024",
    secret: "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
    publicKey: "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
    message: RFC8032_TEST_1024_MESSAGE,
    signature: "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350" + "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
  },
  {
    name: "TEST SHA(abc)",
    secret: "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
    publicKey: "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
    message: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    signature: "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589" + "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
  },
] as const;

describe("RFC 8032 vector sanity", () => {
  // Guards against typos in the long hex strings above.
  it("TEST 1024 has a 1023-byte message", () => {
    expect(fromHex(RFC8032_TEST_1024_MESSAGE).length).toBe(1023);
  });

  it('TEST SHA(abc) signs SHA-512("abc")', () => {
    expect(toHex(sha512(textBytes("abc")))).toBe(RFC8032_VECTORS[4].message);
  });
});

describe.each(BACKENDS)("RFC 8032 §7.1 Ed25519 on the $name backend", (backend) => {
  it.each(RFC8032_VECTORS)("$name", async ({ secret, publicKey, message, signature }) => {
    const signer = await backend.signerFromSeed(fromHex(secret));
    expect(toHex(signer.publicKey)).toBe(publicKey);
    const msg = fromHex(message);
    // Ed25519 is deterministic: the exact RFC bytes must come out.
    expect(toHex(await signer.sign(msg))).toBe(signature);
    expect(await backend.verify(fromHex(publicKey), msg, fromHex(signature))).toBe(true);
    // And the signature must not verify for a different message.
    expect(await backend.verify(fromHex(publicKey), textBytes(`not ${message}`), fromHex(signature))).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// RFC 5869 Appendix A, test cases 1-3 (SHA-256)

/** 0xstart, 0xstart+1, ... as hex (test case 2 uses runs of consecutive octets). */
const run = (start: number, length: number): string => toHex(Uint8Array.from({ length }, (_, i) => start + i));

const RFC5869_VECTORS = [
  {
    name: "A.1 basic",
    ikm: "0b".repeat(22),
    salt: "000102030405060708090a0b0c",
    info: "f0f1f2f3f4f5f6f7f8f9",
    length: 42,
    prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
    okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  },
  {
    name: "A.2 longer inputs and outputs",
    ikm: run(0x00, 80),
    salt: run(0x60, 80),
    info: run(0xb0, 80),
    length: 82,
    prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
    okm:
      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c" +
      "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71" +
      "cc30c58179ec3e87c14c01d5c1f3434f1d87",
  },
  {
    name: "A.3 zero-length salt and info",
    ikm: "0b".repeat(22),
    salt: "",
    info: "",
    length: 42,
    prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
    okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  },
] as const;

describe("RFC 5869 HKDF-SHA-256", () => {
  it("test case 2 inputs are the RFC's 80-octet runs", () => {
    expect(RFC5869_VECTORS[1].ikm.slice(0, 6)).toBe("000102");
    expect(RFC5869_VECTORS[1].ikm.slice(-2)).toBe("4f");
    expect(RFC5869_VECTORS[1].salt.slice(-2)).toBe("af");
    expect(RFC5869_VECTORS[1].info.slice(-2)).toBe("ff");
  });

  it.each(RFC5869_VECTORS)("$name", ({ ikm, salt, info, length, prk, okm }) => {
    const gotPrk = hkdfExtract(fromHex(salt), fromHex(ikm));
    expect(toHex(gotPrk)).toBe(prk);
    const gotOkm = hkdfExpand(gotPrk, fromHex(info), length);
    expect(gotOkm.length).toBe(length);
    expect(toHex(gotOkm)).toBe(okm);
  });
});
