// The relay's Web Push settings (docs/protocol.md §9.4.1, docs/operations.md
// "Push notifications"), read from Worker vars and the VAPID_PRIVATE_KEY
// secret: the room sends pushes, the Worker publishes the public key. Kept
// apart from config.ts so that it has no Workers types and Node tests can
// import it.
import { fromBase64Url } from "@airlock/protocol";
import { checkVapidKeys, isVapidSubject } from "@airlock/protocol/web-push";

export interface PushEnv {
  /** Web Push (docs/operations.md "Push notifications"): the relay's VAPID key pair, base64url. */
  VAPID_PUBLIC_KEY?: string;
  /** A Worker secret (`wrangler secret put VAPID_PRIVATE_KEY`); never a [vars] entry. */
  VAPID_PRIVATE_KEY?: string;
  /** The VAPID contact (JWT sub): mailto:… or https://… */
  VAPID_SUBJECT?: string;
  /** Comma-separated push-service origins the relay may POST to; https://*.example.com allows subdomains. */
  PUSH_ORIGINS?: string;
  /** Push messages per room per minute (token bucket), and its burst. */
  PUSH_PER_MINUTE?: string;
  PUSH_BURST?: string;
  /** How long a push.send waits for the push service, in ms (1000–10000; default 10000). */
  PUSH_TIMEOUT_MS?: string;
}

function int(value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || !/^\d+$/.test(value)) return fallback;
  const n = Number(value);
  return n >= min && n <= max ? n : fallback;
}

/** The push services of today's browsers (Chrome/Edge via FCM, Firefox, Safari, legacy Edge/WNS). */
export const DEFAULT_PUSH_ORIGINS = [
  "https://fcm.googleapis.com",
  "https://updates.push.services.mozilla.com",
  "https://web.push.apple.com",
  "https://*.notify.windows.com",
] as const;
/** A signed VAPID JWT is reused per audience for this long; it is valid for PUSH_JWT_LIFETIME_S. */
export const PUSH_JWT_REUSE_MS = 60 * 60 * 1000;
export const PUSH_JWT_LIFETIME_S = 12 * 3600;

/** One allowed push-service origin: exact, or "any subdomain of" (https://*.example.com). */
export interface PushOriginRule {
  protocol: "https:" | "http:";
  /** Lower-case host name (exact), or the parent domain for a wildcard. */
  host: string;
  wildcard: boolean;
  /** "" for the scheme's default port. */
  port: string;
}

export interface PushConfig {
  vapid: { publicKey: string; privateKey: string };
  subject: string;
  origins: PushOriginRule[];
  perMinute: number;
  burst: number;
  /** How long one POST to a push service may take. */
  timeoutMs: number;
}

/** Parses one PUSH_ORIGINS entry; undefined for anything that is not scheme://host[:port] (an entry with a path, credentials… is ignored). */
export function parsePushOrigin(entry: string): PushOriginRule | undefined {
  const m = /^(https?):\/\/(\*\.)?([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::(\d{1,5}))?$/.exec(entry.trim());
  if (!m) return undefined;
  let url: URL;
  try {
    url = new URL(`${m[1]}://${m[3]}${m[4] !== undefined ? `:${m[4]}` : ""}`);
  } catch {
    return undefined;
  }
  const wildcard = m[2] !== undefined;
  // A wildcard needs a real parent domain (at least one dot: no "*.com").
  if (wildcard && !url.hostname.includes(".")) return undefined;
  return { protocol: url.protocol as PushOriginRule["protocol"], host: url.hostname, wildcard, port: url.port };
}

export function parsePushOrigins(value: string | undefined): PushOriginRule[] {
  const entries = value === undefined || value.trim() === "" ? [...DEFAULT_PUSH_ORIGINS] : value.split(",");
  const rules: PushOriginRule[] = [];
  for (const entry of entries.slice(0, 64)) {
    const rule = parsePushOrigin(entry);
    if (rule) rules.push(rule); // an invalid entry allows nothing
  }
  return rules;
}

/** Whether a parsed endpoint URL's origin is on the allowlist (plain http only when listed with http://). */
export function pushOriginAllowed(url: URL, rules: readonly PushOriginRule[]): boolean {
  const host = url.hostname.toLowerCase();
  return rules.some(
    (r) =>
      r.protocol === url.protocol && r.port === url.port && (r.wildcard ? host.endsWith(`.${r.host}`) && host.length > r.host.length + 1 : host === r.host),
  );
}

/**
 * The relay's push settings, or undefined when push is off: it needs a
 * well-formed VAPID key pair (65-byte public point, 32-byte private scalar)
 * and a mailto:/https: subject. Whether the two keys belong together is
 * checked once, asynchronously, before first use (vapidReady).
 */
export function pushConfigFrom(env: PushEnv): PushConfig | undefined {
  const publicKey = env.VAPID_PUBLIC_KEY?.trim();
  const privateKey = env.VAPID_PRIVATE_KEY?.trim();
  const subject = env.VAPID_SUBJECT?.trim();
  if (!publicKey || !privateKey || !subject) return undefined;
  const pub = fromBase64Url(publicKey);
  const priv = fromBase64Url(privateKey);
  if (pub?.length !== 65 || pub[0] !== 4 || priv?.length !== 32 || !isVapidSubject(subject)) return undefined;
  return {
    vapid: { publicKey, privateKey },
    subject,
    origins: parsePushOrigins(env.PUSH_ORIGINS),
    perMinute: int(env.PUSH_PER_MINUTE, 60, 1, 100_000),
    burst: int(env.PUSH_BURST, 20, 1, 10_000),
    timeoutMs: int(env.PUSH_TIMEOUT_MS, 10_000, 1_000, 10_000),
  };
}

const vapidChecks = new Map<string, Promise<boolean>>();

/**
 * Whether the configured VAPID public key belongs to the private key (checked
 * once per isolate). A mismatched pair would make every push fail at the push
 * service, so the relay then neither publishes the key nor sends.
 */
export function vapidReady(config: PushConfig): Promise<boolean> {
  const id = config.vapid.publicKey;
  let check = vapidChecks.get(id);
  if (!check) {
    check = checkVapidKeys(config.vapid).then(
      () => true,
      () => {
        console.error("relay: VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY; push is off");
        return false;
      },
    );
    vapidChecks.set(id, check);
  }
  return check;
}
