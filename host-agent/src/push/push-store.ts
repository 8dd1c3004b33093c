// The host's push subscriptions (push.json under the host's home, mode 0600):
// for each trusted device that asked for push, its Web Push subscription (the
// push service's endpoint and the keys the host encrypts to), which kinds may
// wake it and whether the lock screen may show details. One subscription per
// device; only trusted devices (a revoked device's entry is deleted, and
// entries of devices no longer trusted are dropped when the file is opened).
//
// The endpoint is a capability URL (whoever knows it can send the device
// pushes with the VAPID key): it stays in this file and is never logged.
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { MAX_ALLOWLIST_KEYS, pushKind, pushSubscription, type PushKind, type PushSubscriptionKeys } from "@airlock/protocol";
import * as s from "@airlock/protocol/schema";
import { writeFileAtomicSync } from "../durable/durable-file.ts";
import { HostError } from "../host-error.ts";

/** Largest push.json read: 64 entries of ≤ 2.3 KB each fit many times over. */
const MAX_FILE_BYTES = 512 * 1024;

export interface PushRegistration {
  /** The trusted device's id (devices.json). */
  deviceId: string;
  subscription: PushSubscriptionKeys;
  /** What may wake the device (deduplicated, in the protocol's order). */
  kinds: PushKind[];
  /** Whether the lock screen may show the thread title, the action and the tier. */
  details: boolean;
  /** When the device registered (unix ms). */
  registeredAt: number;
}

const KIND_ORDER: readonly PushKind[] = ["approval", "question", "turn"];

const registration = s.strictObject({
  deviceId: s.string({ regex: /^d_[A-Za-z0-9_-]{10}$/ }),
  subscription: pushSubscription,
  kinds: s.array(pushKind, { max: 3 }),
  details: s.boolean(),
  registeredAt: s.int(0, Number.MAX_SAFE_INTEGER),
});

const pushFile = s.strictObject({
  version: s.literal(1),
  devices: s.array(registration, { max: MAX_ALLOWLIST_KEYS }),
});

export type PushStoreErrorCode = "PUSH_FILE_INVALID" | "PUSH_STORE_FULL" | "NOT_TRUSTED";

export class PushStoreError extends HostError<PushStoreErrorCode> {
  constructor(code: PushStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "PushStoreError";
  }
}

export function normalizeKinds(kinds: readonly PushKind[]): PushKind[] {
  return KIND_ORDER.filter((k) => kinds.includes(k));
}

export class PushStore {
  readonly path: string;
  #devices: Map<string, PushRegistration>;

  private constructor(path: string, devices: PushRegistration[]) {
    this.path = path;
    this.#devices = new Map(devices.map((d) => [d.deviceId, d]));
  }

  /**
   * Opens push.json (a missing file is an empty store). Strict: a file that is
   * too large, not JSON, or has any entry out of shape throws PUSH_FILE_INVALID
   * (the caller decides: `airlock up` starts with no subscriptions and says so).
   */
  static open(path: string): PushStore {
    let text: string;
    try {
      if (statSync(path).size > MAX_FILE_BYTES) throw new PushStoreError("PUSH_FILE_INVALID", `${path} is larger than ${MAX_FILE_BYTES} bytes`);
      text = readFileSync(path, "utf8");
    } catch (e) {
      if (e instanceof PushStoreError) throw e;
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return new PushStore(path, []);
      throw new PushStoreError("PUSH_FILE_INVALID", `${path} cannot be read: ${(e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new PushStoreError("PUSH_FILE_INVALID", `${path} is not valid JSON`);
    }
    const parsed = pushFile.safeParse(json);
    if (!parsed.success) throw new PushStoreError("PUSH_FILE_INVALID", `${path} is not an Airlock push subscription list`);
    const ids = new Set(parsed.data.devices.map((d) => d.deviceId));
    if (ids.size !== parsed.data.devices.length) throw new PushStoreError("PUSH_FILE_INVALID", `${path} lists a device twice`);
    return new PushStore(
      path,
      parsed.data.devices.map((d) => ({ ...d, kinds: normalizeKinds(d.kinds) })),
    );
  }

  /** An empty store that writes to `path` on the first change (after a broken file was set aside). */
  static empty(path: string): PushStore {
    return new PushStore(path, []);
  }

  get size(): number {
    return this.#devices.size;
  }

  get(deviceId: string): PushRegistration | undefined {
    const r = this.#devices.get(deviceId);
    return r ? { ...r, kinds: [...r.kinds], subscription: { ...r.subscription } } : undefined;
  }

  list(): PushRegistration[] {
    return [...this.#devices.keys()].map((id) => this.get(id)!);
  }

  /** Registers or replaces a device's subscription; bounded by the number of trusted devices the relay admits. */
  register(deviceId: string, subscription: PushSubscriptionKeys, kinds: readonly PushKind[], details: boolean, now = Date.now()): PushRegistration {
    if (!this.#devices.has(deviceId) && this.#devices.size >= MAX_ALLOWLIST_KEYS) {
      throw new PushStoreError("PUSH_STORE_FULL", `at most ${MAX_ALLOWLIST_KEYS} devices may register for push`);
    }
    const entry: PushRegistration = {
      deviceId,
      subscription: { endpoint: subscription.endpoint, p256dh: subscription.p256dh, auth: subscription.auth },
      kinds: normalizeKinds(kinds),
      details,
      registeredAt: now,
    };
    registration.parse(entry); // the same rule as reading the file back
    this.#devices.set(deviceId, entry);
    this.#save();
    return this.get(deviceId)!;
  }

  /** Forgets a device's subscription; true when there was one. */
  remove(deviceId: string): boolean {
    if (!this.#devices.delete(deviceId)) return false;
    this.#save();
    return true;
  }

  /** Drops every entry whose device is no longer trusted; returns the ids dropped. */
  retainOnly(isTrusted: (deviceId: string) => boolean): string[] {
    const dropped = [...this.#devices.keys()].filter((id) => !isTrusted(id));
    if (dropped.length === 0) return [];
    for (const id of dropped) this.#devices.delete(id);
    this.#save();
    return dropped;
  }

  #save(): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    // Atomic and durable: a reader sees the old or the new list, never half, also after a crash.
    writeFileAtomicSync(this.path, JSON.stringify({ version: 1, devices: [...this.#devices.values()] }, null, 2) + "\n", { uniqueTemp: true });
  }
}
