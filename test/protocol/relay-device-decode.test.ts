// The device's relay decoder (decodeRelayMessageForDevice): only what a relay
// sends devices parses; what it sends hosts is ignored (NOTICE, RESULT) or,
// in a shape only hosts get, refused — the SDK carries no host-only schemas.
import { describe, expect, it } from "vitest";
import { decodeRelayMessage, decodeRelayMessageForDevice, encodeControl, RelayFrame, type RelayFrameType } from "../../protocol/src/index.ts";

const frame = (type: RelayFrameType, body: unknown) => encodeControl(type, body);
const challenge = {
  v: 1,
  role: "device",
  room: "r",
  challenge: "A".repeat(43),
  time: 1,
  limits: { maxFrameBytes: 1, maxDevices: 1, maxPendingTickets: 1, authTimeoutMs: 1, idleTimeoutMs: 1, rateLimit: { framesPerSecond: 1, burst: 1 } },
};

describe("decodeRelayMessageForDevice", () => {
  it("decodes what a device gets: challenge, its welcome, the host's presence", () => {
    const full = decodeRelayMessage(frame(RelayFrame.CHALLENGE, challenge));
    const limits = full.type === RelayFrame.CHALLENGE ? full.body.limits : undefined;
    expect(limits).toBeDefined();
    expect(decodeRelayMessageForDevice(frame(RelayFrame.CHALLENGE, challenge))).toEqual({ type: RelayFrame.CHALLENGE, body: full.body });
    const welcome = { role: "device", slot: 3, host: { online: true, lastSeen: 5 } };
    expect(decodeRelayMessageForDevice(frame(RelayFrame.WELCOME, welcome))).toEqual({ type: RelayFrame.WELCOME, body: welcome });
    expect(decodeRelayMessageForDevice(frame(RelayFrame.PRESENCE, { host: "offline", lastSeen: 9 }))).toEqual({
      type: RelayFrame.PRESENCE,
      body: { host: "offline", lastSeen: 9 },
    });
  });

  it("ignores what answers host commands, refuses host-only shapes and unknown types", () => {
    expect(decodeRelayMessageForDevice(frame(RelayFrame.NOTICE, { code: "BAD_COMMAND", message: "x" }))).toBeUndefined();
    expect(decodeRelayMessageForDevice(frame(RelayFrame.RESULT, { id: "c1", ok: true }))).toBeUndefined();
    const hostWelcome = { role: "host", devices: [], allowlistVersion: 0 };
    expect(decodeRelayMessage(frame(RelayFrame.WELCOME, hostWelcome)).body).toEqual(hostWelcome);
    expect(() => decodeRelayMessageForDevice(frame(RelayFrame.WELCOME, hostWelcome))).toThrow(expect.objectContaining({ code: "FRAME_MALFORMED" }));
    expect(() => decodeRelayMessageForDevice(frame(RelayFrame.PRESENCE, { device: "left", slot: 2 }))).toThrow(
      expect.objectContaining({ code: "FRAME_MALFORMED" }),
    );
    expect(() => decodeRelayMessageForDevice(frame(0x2f as RelayFrameType, {}))).toThrow(expect.objectContaining({ code: "FRAME_MALFORMED" }));
    expect(() => decodeRelayMessageForDevice(frame(RelayFrame.WELCOME, { ...{ role: "device", slot: 3, host: { online: true } }, extra: 1 }))).toThrow(
      expect.objectContaining({ code: "FRAME_MALFORMED" }),
    );
  });
});
