// The host's pending pairing links: creation, expiry, single use and a cap on
// handshakes started per link. Implements PairingLookup for HostHandshake.
import type { RandomSource } from "./backend.ts";
import { secureRandom } from "./backend.ts";
import { toBase64Url, wipe } from "./bytes.ts";
import { DEFAULT_PAIRING_TTL_SECONDS, MAX_PAIRING_FAILURES, MAX_PAIRING_TTL_SECONDS, PAIRING_SECRET_LENGTH } from "./constants.ts";
import { fail } from "./errors.ts";
import type { PairingLookup } from "./handshake.ts";
import { derivePairingKeys, relayTicketHash, type PairingKeys } from "./identity.ts";

export interface PendingPairing {
  /** Goes into the link (and nowhere else). */
  secret: Uint8Array;
  keys: PairingKeys;
  /** For the relay: admit one device presenting the matching ticket. */
  relayTicketHash: Uint8Array;
  expiresAt: number;
}

interface Entry {
  psk: Uint8Array;
  expiresAt: number;
  attempts: number;
}

export interface PairingRegistryOptions {
  random?: RandomSource;
  /** Clock in unix seconds. */
  now?: () => number;
  /** Most handshakes a single link may start before it is burned. */
  maxAttempts?: number;
  /** Bound on links pending at once; the oldest is dropped beyond it. */
  maxPending?: number;
}

export class PairingRegistry implements PairingLookup {
  #pending = new Map<string, Entry>();
  #random: RandomSource;
  #now: () => number;
  #maxAttempts: number;
  #maxPending: number;

  constructor(options: PairingRegistryOptions = {}) {
    this.#random = options.random ?? secureRandom;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.#maxAttempts = options.maxAttempts ?? MAX_PAIRING_FAILURES;
    this.#maxPending = options.maxPending ?? 16;
  }

  /** Creates a one-time pairing secret valid for `ttlSeconds` (default 5 minutes, at most 1 hour). */
  create(ttlSeconds: number = DEFAULT_PAIRING_TTL_SECONDS): PendingPairing {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_PAIRING_TTL_SECONDS) {
      throw new Error(`pairing TTL must be 1..${MAX_PAIRING_TTL_SECONDS} seconds`);
    }
    this.#prune();
    while (this.#pending.size >= this.#maxPending) {
      const oldest = this.#pending.keys().next().value as string;
      this.#drop(oldest);
    }
    const secret = this.#random(PAIRING_SECRET_LENGTH);
    const keys = derivePairingKeys(secret);
    const expiresAt = this.#now() + ttlSeconds;
    this.#pending.set(toBase64Url(keys.pairingId), { psk: keys.psk, expiresAt, attempts: 0 });
    return { secret, keys, relayTicketHash: relayTicketHash(keys.relayTicket), expiresAt };
  }

  get pendingCount(): number {
    this.#prune();
    return this.#pending.size;
  }

  begin(pairingId: Uint8Array): { psk: Uint8Array } {
    const id = toBase64Url(pairingId);
    const entry = this.#pending.get(id);
    if (!entry) fail("PAIRING_UNKNOWN");
    if (entry.expiresAt <= this.#now()) {
      this.#drop(id);
      fail("PAIRING_EXPIRED");
    }
    if (entry.attempts >= this.#maxAttempts) {
      this.#drop(id);
      fail("PAIRING_RATE_LIMITED");
    }
    entry.attempts++;
    return { psk: entry.psk.slice() };
  }

  consume(pairingId: Uint8Array): "consumed" | "unknown" | "expired" {
    const id = toBase64Url(pairingId);
    const entry = this.#pending.get(id);
    if (!entry) return "unknown";
    this.#drop(id);
    return entry.expiresAt > this.#now() ? "consumed" : "expired";
  }

  /** Cancels a pending link (e.g. the operator closed the QR). */
  revoke(pairingId: Uint8Array): void {
    this.#drop(toBase64Url(pairingId));
  }

  #drop(id: string): void {
    const entry = this.#pending.get(id);
    if (entry) wipe(entry.psk);
    this.#pending.delete(id);
  }

  #prune(): void {
    const now = this.#now();
    for (const [id, entry] of this.#pending) if (entry.expiresAt <= now) this.#drop(id);
  }
}
