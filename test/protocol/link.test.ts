// Pairing link: encode/parse round trip and every error parsePairingLink reports.
import { describe, expect, it } from "vitest";
import { codeOf } from "../support/errors.ts";
import {
  MAX_LINK_LENGTH,
  MAX_RELAY_URL_LENGTH,
  checkBaseUrl,
  encodePairingLink,
  parsePairingLink,
  redactPairingLink,
  roomIdFor,
  toBase64Url,
} from "../../protocol/src/index.ts";

const NOW = 1_800_000_000;
const EXP = NOW + 300;
const HOST = Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff);
const OTHER_HOST = Uint8Array.from({ length: 32 }, (_, i) => (i * 11 + 5) & 0xff);
// Last byte 0xff: its base64url ends in a character whose low bits matter.
const SECRET = Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? 0xff : (i * 13 + 1) & 0xff));
const APP = "https://app.airlock.example/pair";
const RELAY = "https://relay.airlock.example";

function link(overrides: { appUrl?: string; relayUrl?: string; hostPublicKey?: Uint8Array; secret?: Uint8Array; expiresAt?: number } = {}): string {
  return encodePairingLink({ appUrl: APP, relayUrl: RELAY, hostPublicKey: HOST, secret: SECRET, expiresAt: EXP, ...overrides });
}

type Field = [name: string, value: string];

/** The fields of a valid link as raw (still encoded) strings, for hand-made variants. */
function fields(): Field[] {
  return [
    ["v", "1"],
    ["relay", encodeURIComponent(RELAY)],
    ["room", roomIdFor(HOST)],
    ["host", toBase64Url(HOST)],
    ["secret", toBase64Url(SECRET)],
    ["exp", String(EXP)],
  ];
}

function raw(fs: readonly Field[], app = APP): string {
  return `${app}#${fs.map(([k, v]) => `${k}=${v}`).join("&")}`;
}

function withField(name: string, value: string): string {
  const fs = fields();
  const f = fs.find(([k]) => k === name);
  if (!f) throw new Error(name);
  f[1] = value;
  return raw(fs);
}

const parseCode = (text: string, now = NOW) => codeOf(() => parsePairingLink(text, now));

describe("pairing link round trip", () => {
  it("encode then parse gives back every field", () => {
    const text = link();
    expect(text).toBe(raw(fields()));
    const parsed = parsePairingLink(text, NOW);
    expect(parsed).toEqual({
      version: 1,
      appUrl: APP,
      relayUrl: RELAY,
      roomId: roomIdFor(HOST),
      hostPublicKey: HOST,
      secret: SECRET,
      expiresAt: EXP,
    });
  });

  it.each([
    ["http://127.0.0.1:8787", "http://127.0.0.1:8787"],
    ["http://localhost:8787", "http://localhost:8787/app"],
    ["http://[::1]:8787", "https://app.example.com"],
    ["https://relay.example.com:8443/base/path", "https://app.example.com/x/y"],
  ])("round trips relay %s with app %s", (relayUrl, appUrl) => {
    const parsed = parsePairingLink(link({ relayUrl, appUrl }), NOW);
    expect(parsed.relayUrl).toBe(relayUrl);
    expect(parsed.appUrl).toBe(appUrl);
  });

  it("ignores surrounding whitespace (QR scanners add newlines)", () => {
    expect(parsePairingLink(`  ${link()}\n`, NOW).expiresAt).toBe(EXP);
  });

  it("encodePairingLink refuses bad inputs with plain errors", () => {
    expect(() => link({ hostPublicKey: HOST.subarray(0, 31) })).toThrow(/32 bytes/);
    expect(() => link({ secret: SECRET.subarray(0, 16) })).toThrow(/32 bytes/);
    expect(() => link({ expiresAt: 0 })).toThrow(/unix seconds/);
    expect(() => link({ expiresAt: 1.5 })).toThrow(/unix seconds/);
    expect(() => link({ appUrl: `https://app.example.com/${"a".repeat(MAX_LINK_LENGTH)}` })).toThrow(/too long/);
    expect(codeOf(() => link({ relayUrl: "http://relay.example.com" }))).toBe("LINK_INSECURE_URL");
  });
});

describe("LINK_MALFORMED", () => {
  it("rejects a non-string and a link without a fragment", () => {
    expect(parseCode(42 as unknown as string)).toBe("LINK_MALFORMED");
    expect(parseCode(APP)).toBe("LINK_MALFORMED");
    expect(parseCode("")).toBe("LINK_MALFORMED");
  });

  it("rejects fields out of order", () => {
    const fs = fields();
    [fs[2], fs[3]] = [fs[3]!, fs[2]!];
    expect(parseCode(raw(fs))).toBe("LINK_MALFORMED");
    expect(parseCode(raw([...fields()].reverse()))).toBe("LINK_MALFORMED");
  });

  it.each(["v", "relay", "room", "host", "secret", "exp"])("rejects a link missing '%s'", (name) => {
    expect(parseCode(raw(fields().filter(([k]) => k !== name)))).toBe("LINK_MALFORMED");
  });

  it("rejects extra fields, before, inside and after the list", () => {
    expect(parseCode(raw([...fields(), ["x", "1"]]))).toBe("LINK_MALFORMED");
    expect(parseCode(raw([["x", "1"], ...fields()]))).toBe("LINK_MALFORMED");
    const fs = fields();
    fs.splice(3, 0, ["extra", ""]);
    expect(parseCode(raw(fs))).toBe("LINK_MALFORMED");
    expect(parseCode(`${link()}&`)).toBe("LINK_MALFORMED");
  });

  it("rejects duplicated fields (same count, one field repeated in place of another)", () => {
    const fs = fields();
    fs[3] = ["room", fs[2]![1]];
    expect(parseCode(raw(fs))).toBe("LINK_MALFORMED");
    const gs = fields();
    gs[5] = ["secret", gs[4]![1]];
    expect(parseCode(raw(gs))).toBe("LINK_MALFORMED");
    expect(parseCode(raw([...fields(), ["exp", String(EXP)]]))).toBe("LINK_MALFORMED");
  });

  it("rejects a field without '=' and an empty field name", () => {
    expect(parseCode(raw(fields()).replace("#v=1&", "#v&"))).toBe("LINK_MALFORMED");
    expect(parseCode(raw(fields()).replace("&exp=", "&=exp="))).toBe("LINK_MALFORMED");
  });

  it.each(["", "01", "1.0", "+1", " 1", "1 ", "0", "1000", "x"])("rejects version text %j", (v) => {
    expect(parseCode(withField("v", v))).toBe("LINK_MALFORMED");
  });

  it.each(["", "0", "01800000300", "-1800000300", "1.8e9", "1800000300.0", "1".repeat(13), " 1800000300"])("rejects expiry text %j", (exp) => {
    expect(parseCode(withField("exp", exp))).toBe("LINK_MALFORMED");
  });

  describe("base64url", () => {
    const b64Fields = [
      ["room", roomIdFor(HOST)],
      ["host", toBase64Url(HOST)],
      ["secret", toBase64Url(SECRET)],
    ] as const;

    it.each(b64Fields)("rejects '=' padding on %s", (name, value) => {
      expect(parseCode(withField(name, `${value}=`))).toBe("LINK_MALFORMED");
      expect(parseCode(withField(name, `${value}==`))).toBe("LINK_MALFORMED");
    });

    it.each(b64Fields)("rejects the standard alphabet ('+', '/') and other characters in %s", (name, value) => {
      for (const c of ["+", "/", "%2B", " ", ".", "\u00e9"]) {
        expect(parseCode(withField(name, `${c}${value.slice(1)}`)), c).toBe("LINK_MALFORMED");
      }
    });

    it("rejects standard-alphabet encodings of real values", () => {
      // Same bytes, standard base64: '-'/'_' become '+'/'/'.
      const secret = toBase64Url(SECRET);
      expect(secret).toMatch(/[-_]/);
      expect(parseCode(withField("secret", secret.replace(/-/g, "+").replace(/_/g, "/")))).toBe("LINK_MALFORMED");
    });

    it.each(b64Fields)("rejects non-canonical trailing bits in %s", (name, value) => {
      // 16 bytes → 22 chars (4 spare bits), 32 bytes → 43 chars (2 spare bits): the
      // last character's spare low bits must be zero. Bumping it by one sets them.
      const last = value[value.length - 1]!;
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const bumped = alphabet[alphabet.indexOf(last) + 1]!;
      expect(parseCode(withField(name, value.slice(0, -1) + bumped))).toBe("LINK_MALFORMED");
    });

    it.each([
      ["room", 15],
      ["room", 17],
      ["host", 31],
      ["host", 33],
      ["secret", 31],
      ["secret", 33],
      ["secret", 0],
    ] as const)("rejects %s of %i bytes", (name, length) => {
      const bytes = Uint8Array.from({ length }, (_, i) => i + 1);
      expect(parseCode(withField(name, toBase64Url(bytes)))).toBe("LINK_MALFORMED");
    });

    it("rejects a truncated encoding (length ≡ 1 mod 4)", () => {
      expect(parseCode(withField("secret", toBase64Url(SECRET) + "A"))).toBe("LINK_MALFORMED");
    });
  });

  describe("relay URL percent-encoding", () => {
    it("rejects lower-case hex escapes (decodes fine, not canonical)", () => {
      expect(parseCode(withField("relay", "https%3a%2f%2frelay.airlock.example"))).toBe("LINK_MALFORMED");
    });
    it("rejects an unencoded relay URL", () => {
      expect(parseCode(withField("relay", RELAY))).toBe("LINK_MALFORMED");
    });
    it("rejects escapes of characters that need none", () => {
      expect(parseCode(withField("relay", encodeURIComponent(RELAY).replace("airlock", "%61irlock")))).toBe("LINK_MALFORMED");
      expect(parseCode(withField("relay", `${encodeURIComponent(RELAY)}%2F%7Ex`))).toBe("LINK_MALFORMED");
    });
    it("rejects invalid percent-encoding", () => {
      expect(parseCode(withField("relay", `${encodeURIComponent(RELAY)}%2`))).toBe("LINK_MALFORMED");
      expect(parseCode(withField("relay", `${encodeURIComponent(RELAY)}%ZZ`))).toBe("LINK_MALFORMED");
      expect(parseCode(withField("relay", `${encodeURIComponent(RELAY)}%E0%A4%A`))).toBe("LINK_MALFORMED");
      expect(parseCode(withField("relay", `${encodeURIComponent(RELAY)}%FF`))).toBe("LINK_MALFORMED");
    });
    it("accepts the canonical encoding of a relay URL with a path", () => {
      const relayUrl = "https://relay.example.com/a-b_c.d~e";
      expect(parsePairingLink(withField("relay", encodeURIComponent(relayUrl)), NOW).relayUrl).toBe(relayUrl);
    });
    it(`rejects a relay URL longer than ${MAX_RELAY_URL_LENGTH} characters`, () => {
      const base = "https://relay.example.com/";
      const atLimit = base + "a".repeat(MAX_RELAY_URL_LENGTH - base.length);
      expect(parsePairingLink(withField("relay", encodeURIComponent(atLimit)), NOW).relayUrl).toBe(atLimit);
      expect(parseCode(withField("relay", encodeURIComponent(`${atLimit}a`)))).toBe("LINK_MALFORMED");
    });
  });

  it.each([
    "ftp://relay.example.com",
    "wss://relay.example.com",
    "https://",
    "https://user@relay.example.com",
    "https://user:pw@relay.example.com",
    "https://relay.example.com?x=1",
    "https://relay.example.com/#frag",
    "https://relay.example.com:0",
    "https://relay.example.com:65536",
    "https://relay.example.com:123456",
    "https://relay example.com",
    "https://[::2]",
    "http://[::1].evil.example",
    "//relay.example.com",
  ])("rejects relay URL %s", (relayUrl) => {
    expect(parseCode(withField("relay", encodeURIComponent(relayUrl)))).toBe("LINK_MALFORMED");
  });

  it.each(["ftp://app.example.com", "https://app.example.com/?x=1", "https://user@app.example.com", "app.example.com"])("rejects app URL %s", (app) => {
    expect(parseCode(raw(fields(), app))).toBe("LINK_MALFORMED");
  });

  it("rejects a second fragment marker", () => {
    expect(parseCode(`${APP}#x${link().slice(APP.length)}`)).toBe("LINK_MALFORMED");
  });
});

describe("LINK_TOO_LONG", () => {
  function linkOfLength(length: number): string {
    const base = link({ appUrl: "https://app.example.com/" });
    return link({ appUrl: `https://app.example.com/${"p".repeat(length - base.length)}` });
  }

  it(`accepts exactly ${MAX_LINK_LENGTH} characters and rejects one more`, () => {
    const atLimit = linkOfLength(MAX_LINK_LENGTH);
    expect(atLimit.length).toBe(MAX_LINK_LENGTH);
    expect(parsePairingLink(atLimit, NOW).expiresAt).toBe(EXP);
    const over = atLimit.replace("/ppp", "/pppp");
    expect(over.length).toBe(MAX_LINK_LENGTH + 1);
    expect(parseCode(over)).toBe("LINK_TOO_LONG");
  });

  it("checks the length before anything else", () => {
    expect(parseCode("x".repeat(MAX_LINK_LENGTH + 1))).toBe("LINK_TOO_LONG");
    expect(parseCode(`${link()}&${"x".repeat(MAX_LINK_LENGTH)}`)).toBe("LINK_TOO_LONG");
  });
});

describe("LINK_UNSUPPORTED_VERSION", () => {
  it.each(["2", "9", "255", "999"])("rejects version %s", (v) => {
    expect(parseCode(withField("v", v))).toBe("LINK_UNSUPPORTED_VERSION");
  });
});

describe("LINK_EXPIRED", () => {
  it("expires at exactly expiresAt, not a second before", () => {
    expect(parsePairingLink(link(), EXP - 1).expiresAt).toBe(EXP);
    expect(parseCode(link(), EXP)).toBe("LINK_EXPIRED");
    expect(parseCode(link(), EXP + 3600)).toBe("LINK_EXPIRED");
  });

  it("uses the real clock by default", () => {
    expect(codeOf(() => parsePairingLink(link({ expiresAt: 1_000_000_000 })))).toBe("LINK_EXPIRED");
    const future = Math.floor(Date.now() / 1000) + 300;
    expect(parsePairingLink(link({ expiresAt: future })).expiresAt).toBe(future);
  });
});

describe("LINK_ROOM_MISMATCH", () => {
  it("rejects a room id that is not derived from the host key", () => {
    expect(parseCode(withField("room", roomIdFor(OTHER_HOST)))).toBe("LINK_ROOM_MISMATCH");
    expect(parseCode(withField("host", toBase64Url(OTHER_HOST)))).toBe("LINK_ROOM_MISMATCH");
  });
});

describe("LINK_INSECURE_URL", () => {
  it.each([
    "http://relay.example.com",
    "http://relay.example.com:8787",
    "http://127.0.0.2:8787",
    "http://10.0.0.1",
    "http://localhost.evil.example",
    "http://127.0.0.1.evil.example",
  ])("rejects plain http relay %s", (relayUrl) => {
    expect(parseCode(withField("relay", encodeURIComponent(relayUrl)))).toBe("LINK_INSECURE_URL");
  });

  it.each(["http://127.0.0.1:8787", "http://127.0.0.1", "http://localhost:8787", "http://LOCALHOST", "http://[::1]:8787"])(
    "accepts loopback relay %s",
    (relayUrl) => {
      expect(parsePairingLink(withField("relay", encodeURIComponent(relayUrl)), NOW).relayUrl).toBe(relayUrl);
    },
  );

  it("applies the same rule to the app URL", () => {
    expect(parseCode(raw(fields(), "http://app.example.com"))).toBe("LINK_INSECURE_URL");
    expect(parsePairingLink(raw(fields(), "http://127.0.0.1:8787"), NOW).appUrl).toBe("http://127.0.0.1:8787");
  });

  it("checkBaseUrl names what it checked", () => {
    expect(() => checkBaseUrl("http://relay.example.com", "relay URL")).toThrow(/relay URL/);
  });
});

describe("redactPairingLink", () => {
  it("hides the secret and keeps everything else", () => {
    const text = link();
    const secret = toBase64Url(SECRET);
    const redacted = redactPairingLink(text);
    expect(text).toContain(secret);
    expect(redacted).not.toContain(secret);
    expect(redacted).toBe(text.replace(`secret=${secret}`, "secret=<redacted>"));
    expect(redacted).toContain(`&exp=${EXP}`);
    expect(redacted).toContain(`host=${toBase64Url(HOST)}`);
    expect(parseCode(redacted)).toBe("LINK_MALFORMED");
  });

  it("redacts a secret in any position and every occurrence", () => {
    const fs = fields();
    const doubled = raw([...fs, ["secret", "AAAA"]]);
    const redacted = redactPairingLink(doubled);
    expect(redacted).not.toContain(toBase64Url(SECRET));
    expect(redacted).not.toContain("AAAA");
    expect(redactPairingLink(`${APP}#secret=abc&v=1`)).toBe(`${APP}#secret=<redacted>&v=1`);
  });
});
