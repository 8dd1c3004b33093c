// Sealing on the calling thread (Channel.sealNow, DeviceSession/HostSession.sendNow):
// a key that can seal synchronously (noble, node:crypto) makes a frame before
// the call returns when nothing is queued; otherwise the frame waits its turn,
// and either way counters, epochs and bytes are those of the async path.
import { describe, expect, it } from "vitest";
import { nobleBackend, textEncoder } from "../../protocol/src/index.ts";
import { webCryptoBackend } from "../../protocol/src/backend-webcrypto.ts";
import { nodeCryptoBackend } from "../../protocol/src/node/backend-node.ts";
import type { AeadKey, CryptoBackend } from "../../protocol/src/backend.ts";
import { Channel } from "../../protocol/src/channel.ts";
import { decodeHeader } from "../../protocol/src/header.ts";
import { connect, hostSession, makeFixture, pairingDevice } from "./harness.ts";

const KEY_A = new Uint8Array(32).fill(7);
const KEY_B = new Uint8Array(32).fill(9);

function pair(backend: CryptoBackend, options: { rekeyAfterMessages?: number } = {}) {
  const sender = new Channel({ backend, role: "host", sendKey: KEY_A, receiveKey: KEY_B, sendCounter: 2n, receiveCounter: 2n, slot: 3, ...options });
  // The receiver always runs the async path on WebCrypto: the bytes must not care which path sealed them.
  const receiver = new Channel({ backend: webCryptoBackend, role: "device", sendKey: KEY_B, receiveKey: KEY_A, sendCounter: 2n, receiveCounter: 2n });
  return { sender, receiver };
}

/** A backend whose AES keys are imported only when `release()` is called. */
function slowImport(base: CryptoBackend): { backend: CryptoBackend; release: () => void } {
  const waiting: Array<() => void> = [];
  return {
    backend: {
      ...base,
      aeadKey: async (raw: Uint8Array): Promise<AeadKey> => {
        const released = new Promise<void>((resolve) => waiting.push(resolve));
        const key = await base.aeadKey(raw);
        await released;
        return key;
      },
    },
    release: () => {
      for (const go of waiting.splice(0)) go();
    },
  };
}

const text = (s: string) => textEncoder.encode(s);
const read = (b: Uint8Array) => new TextDecoder().decode(b);
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
/** The protocol error code `f` throws. */
function codeThrown(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe.each([nobleBackend, nodeCryptoBackend])("Channel.sealNow on $name", (backend) => {
  it("makes the frame before returning once the key is imported, with the counters seal() would use", async () => {
    const { sender, receiver } = pair(backend);
    await sender.seal(text("first")).then((f) => receiver.open(f)); // the key is imported by now
    const frame = sender.sealNow(text("now"));
    expect(frame).toBeInstanceOf(Uint8Array);
    expect(decodeHeader(frame!).counter).toBe(3n);
    expect(decodeHeader(frame!).slot).toBe(3);
    expect(read(await receiver.open(frame!))).toBe("now");
    expect(read(await receiver.open(await sender.seal(text("after"))))).toBe("after");
    expect(sender.nextSendCounter).toBe(5n);
  });

  it("waits (undefined) while seals are queued, and every frame keeps its call order", async () => {
    const slow = slowImport(backend);
    const { sender, receiver } = pair(slow.backend);
    expect(sender.sealNow(text("too early"))).toBeUndefined(); // key not imported yet: nothing was used
    const queued = [sender.seal(text("a")), sender.seal(text("b"))];
    expect(sender.sealNow(text("c"))).toBeUndefined(); // behind a and b
    const c = sender.seal(text("c"));
    slow.release();
    const frames = await Promise.all([...queued, c]);
    expect(frames.map((f) => decodeHeader(f).counter)).toEqual([2n, 3n, 4n]);
    const now = sender.sealNow(text("d"));
    expect(now && decodeHeader(now).counter).toBe(5n);
    const opened: string[] = [];
    for (const f of [...frames, now!]) opened.push(read(await receiver.open(f)));
    expect(opened).toEqual(["a", "b", "c", "d"]);
  });

  it("leaves a due ratchet to seal(), then seals synchronously in the new epoch", async () => {
    const slow = slowImport(backend);
    const { sender, receiver } = pair(slow.backend, { rekeyAfterMessages: 2 });
    slow.release();
    await tick();
    const first = [sender.sealNow(text("1")), sender.sealNow(text("2"))];
    expect(first.every((f) => f !== undefined)).toBe(true);
    expect(sender.sealNow(text("3"))).toBeUndefined(); // two messages in epoch 0: a ratchet is due
    const third = sender.seal(text("3"));
    await tick();
    slow.release(); // the epoch-1 key
    const f3 = await third;
    expect(decodeHeader(f3).epoch).toBe(1);
    await tick();
    const f4 = sender.sealNow(text("4"));
    expect(f4 && decodeHeader(f4).epoch).toBe(1);
    const opened: string[] = [];
    for (const f of [...first, f3, f4]) opened.push(read(await receiver.open(f!)));
    expect(opened).toEqual(["1", "2", "3", "4"]);
  });

  it("throws what seal() rejects with: too large leaves the channel open, closed stays closed", async () => {
    const { sender } = pair(backend);
    await sender.seal(text("warm"));
    expect(codeThrown(() => sender.sealNow(new Uint8Array(2 * 1024 * 1024)))).toBe("PAYLOAD_TOO_LARGE");
    expect(sender.closed).toBe(false);
    expect(sender.sealNow(text("still open"))).toBeInstanceOf(Uint8Array);
    sender.close();
    expect(codeThrown(() => sender.sealNow(text("x")))).toBe("CHANNEL_CLOSED");
  });
});

describe("Channel.sealNow on webcrypto", () => {
  it("is never available (WebCrypto seals off the calling thread): seal() is the way", async () => {
    const { sender, receiver } = pair(webCryptoBackend);
    expect(read(await receiver.open(await sender.seal(text("warm"))))).toBe("warm");
    expect(sender.sealNow(text("x"))).toBeUndefined();
    expect(read(await receiver.open(await sender.seal(text("x"))))).toBe("x");
  });
});

describe("session.sendNow", () => {
  it("refuses before the session is open, seals on the calling thread once it is, and the peer opens it", async () => {
    const f = await makeFixture(nobleBackend);
    const device = pairingDevice(f, f.pairings.create().secret);
    const host = hostSession(f);
    expect(codeThrown(() => host.sendNow(text("too early")))).toBe("CHANNEL_CLOSED");
    await connect(device, host);
    const warm = await host.send(text("warm")); // imports the key
    const frame = host.sendNow(text("hello device"));
    expect(frame).toBeInstanceOf(Uint8Array);
    expect(read((await device.receive(warm)).payload!)).toBe("warm");
    expect(read((await device.receive(frame!)).payload!)).toBe("hello device");
  });
});
