// Reconnect delays: capped exponential backoff with full jitter (a uniformly
// random delay up to the exponential bound), so many devices that lost the
// same relay do not come back in lockstep.
export interface BackoffOptions {
  /** Bound of the first retry (ms). */
  baseMs: number;
  /** Largest bound (ms). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/** Delay before retry number `attempt` (0 = first retry after a failure). */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exp = Math.min(30, Math.max(0, Math.floor(attempt)));
  const bound = Math.min(options.maxMs, options.baseMs * 2 ** exp);
  return Math.floor(random() * bound);
}
