// `airlock doctor`'s look at a relay, as a host would use it: reachable and
// speaking our protocol, clock skew, the WebSocket upgrade on this host's own
// room (the relay must answer with a CHALLENGE: proxies that strip upgrades
// fail here), whether its admission policy serves this room, and push.
import WebSocket from "ws";
import { decodeHeader, decodeRelayMessage, PROTOCOL_VERSION, RelayFrame } from "@airlock/protocol";

export interface RelayCheck {
  name: string;
  ok: boolean;
  detail: string;
}

interface Info {
  protocol?: unknown;
  version?: unknown;
  time?: unknown;
  admission?: unknown;
  push?: { vapidPublicKey?: unknown } | null;
}

/** Largest clock difference that is only worth a mention (pairing links carry expiry times). */
const MAX_SKEW_MS = 60_000;

/** The host route's answer to an upgrade: a CHALLENGE for `room`, an HTTP status, or an error. */
function probeUpgrade(relayUrl: string, room: string, timeoutMs: number): Promise<{ challenge: true } | { status: number } | { error: string }> {
  const url = new URL(relayUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const target = `${url.toString().replace(/\/+$/, "")}/v1/rooms/${room}/host`;
  return new Promise((resolve) => {
    const ws = new WebSocket(target, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const done = (r: { challenge: true } | { status: number } | { error: string }) => {
      clearTimeout(timer);
      resolve(r);
      ws.terminate();
    };
    const timer = setTimeout(() => done({ error: `no CHALLENGE within ${timeoutMs} ms` }), timeoutMs);
    ws.on("unexpected-response", (_req, res) => {
      res.resume();
      done({ status: res.statusCode ?? 0 });
    });
    ws.on("error", (e) => done({ error: e.message.slice(0, 200) }));
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      try {
        const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        if (!isBinary || decodeHeader(frame).type !== RelayFrame.CHALLENGE) throw new Error("not a CHALLENGE");
        const m = decodeRelayMessage(frame);
        done(m.type === RelayFrame.CHALLENGE && m.body.room === room ? { challenge: true } : { error: "a CHALLENGE for another room" });
      } catch (e) {
        done({ error: `unexpected first frame: ${(e as Error).message.slice(0, 100)}` });
      }
    });
  });
}

/** Checks a relay for a host whose room is `room`. Never throws. */
export async function checkRelay(relayUrl: string, room: string, timeoutMs = 5000): Promise<RelayCheck[]> {
  const checks: RelayCheck[] = [];
  let info: Info;
  const started = Date.now();
  try {
    const res = await fetch(`${relayUrl.replace(/\/+$/, "")}/v1/info`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`HTTP ${res.status} from /v1/info`);
    info = (await res.json()) as Info;
  } catch (e) {
    return [{ name: "relay", ok: false, detail: `${relayUrl}: ${(e as Error).message}` }];
  }
  const rtt = Date.now() - started;
  const protocolOk = info.protocol === PROTOCOL_VERSION;
  checks.push({
    name: "relay",
    ok: protocolOk,
    detail: `${relayUrl}: version ${String(info.version)}, protocol ${String(info.protocol)}${protocolOk ? "" : ` (this agent speaks ${PROTOCOL_VERSION}: upgrade one of them)`}`,
  });
  if (typeof info.time === "number") {
    const skew = info.time - (started + rtt / 2);
    checks.push({
      name: "clock",
      ok: Math.abs(skew) <= MAX_SKEW_MS,
      detail:
        Math.abs(skew) <= MAX_SKEW_MS
          ? `within ${Math.max(1, Math.round(Math.abs(skew) / 1000))} s of the relay`
          : `${Math.round(skew / 1000)} s off the relay's clock: pairing links may look expired; fix this machine's time`,
    });
  }
  const probe = await probeUpgrade(relayUrl, room, timeoutMs);
  if ("challenge" in probe) checks.push({ name: "upgrade", ok: true, detail: `WebSocket upgrade on room ${room} answered with a CHALLENGE` });
  else if ("status" in probe && probe.status === 403) {
    checks.push({
      name: "admission",
      ok: false,
      detail: `this relay does not serve room ${room} (403 ROOM_NOT_ALLOWED): ask its operator to add it to ALLOWED_ROOMS`,
    });
  } else {
    const why = "status" in probe ? `HTTP ${probe.status}` : probe.error;
    checks.push({
      name: "upgrade",
      ok: false,
      detail: `WebSocket upgrade on room ${room} failed: ${why} (a proxy in front of the relay must pass WebSocket upgrades)`,
    });
  }
  if (info.admission === "allowlist" && "challenge" in probe)
    checks.push({ name: "admission", ok: true, detail: "this relay serves listed rooms only, and this one is listed" });
  const push = typeof info.push?.vapidPublicKey === "string";
  checks.push({
    name: "push",
    ok: true,
    detail: push ? "the relay can send push notifications" : "the relay sends no push notifications (no VAPID key; docs/operations.md)",
  });
  return checks;
}
