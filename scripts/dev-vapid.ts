// The local relay's VAPID key pair for `npm start`: generated once and kept in
// .dev/vapid.json (mode 0600, in a 0700 folder; .dev/ is gitignored). The
// private key reaches the relay as a secret binding through wrangler's API,
// never through argv, the environment or a file wrangler reads on its own.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkVapidKeys, generateVapidKeys, isVapidSubject, type VapidKeyPair } from "../protocol/src/web-push.ts";

export interface DevVapid extends VapidKeyPair {
  subject: string;
}

export const DEV_VAPID_SUBJECT = "mailto:airlock-dev@localhost";

/** Loads `<dir>/vapid.json`, or creates it on first use. Throws with a clear message if the file is not a valid key pair. */
export async function loadOrCreateDevVapid(dir: string): Promise<{ vapid: DevVapid; created: boolean; path: string }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, "vapid.json");
  if (existsSync(path)) {
    if (statSync(path).size > 4096) throw new Error(`${path} is not a VAPID key file (too large)`);
    let parsed: Partial<DevVapid>;
    try {
      parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<DevVapid>;
    } catch {
      throw new Error(`${path} is not valid JSON; delete it to generate a new key pair (browsers subscribed with the old key must subscribe again)`);
    }
    const vapid = { publicKey: String(parsed.publicKey), privateKey: String(parsed.privateKey), subject: String(parsed.subject) };
    try {
      await checkVapidKeys(vapid);
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}; delete it to generate a new key pair`);
    }
    if (!isVapidSubject(vapid.subject)) throw new Error(`${path}: subject must be a mailto: or https: URI`);
    chmodSync(path, 0o600);
    return { vapid, created: false, path };
  }
  const vapid: DevVapid = { ...(await generateVapidKeys()), subject: DEV_VAPID_SUBJECT };
  writeFileSync(path, `${JSON.stringify(vapid, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  return { vapid, created: true, path };
}

/** wrangler bindings for the local relay: the private key as a secret, the rest as plain vars. */
export function devVapidBindings(vapid: DevVapid) {
  return {
    VAPID_PUBLIC_KEY: { type: "plain_text" as const, value: vapid.publicKey },
    VAPID_SUBJECT: { type: "plain_text" as const, value: vapid.subject },
    VAPID_PRIVATE_KEY: { type: "secret_text" as const, value: vapid.privateKey },
  };
}
