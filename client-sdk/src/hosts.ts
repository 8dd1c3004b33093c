// The hosts this device trusts: what pairing learned (relay URL, host key) and
// what the user chose (a name). The host id is the relay room id, which is
// derived from the host key, so one key is one host.
import { checkBaseUrl, fromBase64Url, roomIdFor } from "@airlock/protocol";
import { AirlockClientError, messageOf } from "./errors.ts";
import type { Store } from "./store.ts";

export const HOSTS_KEY = "trusted-hosts";
const MAX_NAME = 128;

export interface TrustedHost {
  /** Stable id: the host's relay room id. */
  id: string;
  name: string;
  relayUrl: string;
  /** The host's Ed25519 public key, base64url. */
  publicKey: string;
  /** Unix ms. */
  pairedAt: number;
  /** Unix ms: when the host was last known to be online. */
  lastSeen?: number;
  /** True once the user renamed it (the host's own name then no longer overrides it). */
  renamed?: boolean;
}

// Control characters would garble terminals and logs.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

export function cleanName(name: string): string {
  return name.replace(CONTROL_CHARACTERS, " ").trim().slice(0, MAX_NAME);
}

function valid(h: unknown): h is TrustedHost {
  if (typeof h !== "object" || h === null) return false;
  const t = h as Record<string, unknown>;
  if (typeof t.id !== "string" || typeof t.name !== "string" || typeof t.relayUrl !== "string" || typeof t.publicKey !== "string") return false;
  if (typeof t.pairedAt !== "number" || (t.lastSeen !== undefined && typeof t.lastSeen !== "number")) return false;
  const key = fromBase64Url(t.publicKey);
  if (key?.length !== 32 || roomIdFor(key) !== t.id) return false;
  try {
    checkBaseUrl(t.relayUrl, "relay URL");
  } catch {
    return false;
  }
  return true;
}

export class TrustedHosts {
  #store: Store;
  #hosts = new Map<string, TrustedHost>();
  #write: Promise<void> = Promise.resolve();

  private constructor(store: Store) {
    this.#store = store;
  }

  static async load(store: Store): Promise<TrustedHosts> {
    const hosts = new TrustedHosts(store);
    const stored = await store.get(HOSTS_KEY);
    // Records that do not validate are skipped rather than trusted.
    if (Array.isArray(stored)) for (const h of stored) if (valid(h)) hosts.#hosts.set(h.id, { ...h });
    return hosts;
  }

  list(): TrustedHost[] {
    return [...this.#hosts.values()].map((h) => ({ ...h }));
  }

  get(id: string): TrustedHost | undefined {
    const h = this.#hosts.get(id);
    return h && { ...h };
  }

  mustGet(id: string): TrustedHost {
    const h = this.get(id);
    if (!h) throw new AirlockClientError("UNKNOWN_HOST", `no trusted host ${JSON.stringify(id.slice(0, 64))}`);
    return h;
  }

  async put(host: TrustedHost): Promise<void> {
    this.#hosts.set(host.id, { ...host });
    await this.#save();
  }

  async update(id: string, patch: Partial<Pick<TrustedHost, "name" | "lastSeen" | "renamed">>): Promise<void> {
    const h = this.#hosts.get(id);
    if (!h) return;
    Object.assign(h, patch);
    await this.#save();
  }

  async remove(id: string): Promise<boolean> {
    const had = this.#hosts.delete(id);
    if (had) await this.#save();
    return had;
  }

  /** Writes are serialised so a slow store never ends with an older list. */
  #save(): Promise<void> {
    const snapshot = this.list();
    const run = this.#write.then(() => this.#store.set(HOSTS_KEY, snapshot));
    this.#write = run.catch(() => undefined);
    return run.catch((e: unknown) => {
      throw new AirlockClientError("STORAGE", `could not save trusted hosts: ${messageOf(e)}`, { cause: e });
    });
  }
}
