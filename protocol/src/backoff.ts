// Retry delays shared by every component that reconnects or restarts (the SDK's
// relay connection, the host's relay link, the host's agent processes): capped
// exponential backoff with full jitter, a uniformly random delay up to the
// exponential bound, so peers that lost the same relay (or a child that keeps
// crashing) do not retry in lockstep. Pure arithmetic: it lives here only
// because protocol/ is the one package both the SDK and the host build on.
export interface BackoffOptions {
  /** Bound of the first retry (ms). */
  baseMs: number;
  /** Largest bound (ms). */
  maxMs: number;
}

/** 0.5 s doubling to 30 s: the documented default of the SDK, the relay link and agent restarts. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/** Delay before retry number `attempt` (0 = first retry after a failure): uniform in [0, min(maxMs, baseMs · 2^attempt)). */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  // The exponent is clamped so a long outage (or a bad argument) never overflows to Infinity or NaN.
  const exp = Number.isFinite(attempt) ? Math.min(30, Math.max(0, Math.floor(attempt))) : attempt > 0 ? 30 : 0;
  const bound = Math.min(options.maxMs, options.baseMs * 2 ** exp);
  return Math.floor(random() * bound);
}
