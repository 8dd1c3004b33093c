// Whether the relay can send pushes: its /v1/info names its VAPID public key
// (`push.vapidPublicKey`) when it has one. The host asks at start and at every
// reconnect; "unknown" (no answer) lets the host just try.
const MAX_INFO_BYTES = 64 * 1024;

export type RelayPushSupport = "yes" | "no" | "unknown";

/** Reads `push.vapidPublicKey` from a /v1/info body (strict: a P-256 public key, uncompressed, base64url). */
export function pushSupportOf(info: unknown): RelayPushSupport {
  if (typeof info !== "object" || info === null || Array.isArray(info)) return "unknown";
  const push = (info as { push?: unknown }).push;
  if (typeof push !== "object" || push === null) return "no";
  const key = (push as { vapidPublicKey?: unknown }).vapidPublicKey;
  return typeof key === "string" && /^[A-Za-z0-9_-]{87}$/.test(key) ? "yes" : "no";
}

export async function fetchRelayPushSupport(relayUrl: string, timeoutMs = 5000): Promise<RelayPushSupport> {
  try {
    const res = await fetch(`${relayUrl.replace(/\/$/, "")}/v1/info`, { signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
    if (!res.ok) return "unknown";
    const text = await res.text();
    if (text.length > MAX_INFO_BYTES) return "unknown";
    return pushSupportOf(JSON.parse(text));
  } catch {
    return "unknown";
  }
}
