// Message ids: random, so they stay unique across app restarts (the host
// remembers command ids per device for days to make resends idempotent).
import { secureRandom, toBase64Url } from "@airlock/protocol";

export function newMessageId(prefix = "c"): string {
  return prefix + toBase64Url(secureRandom(12));
}

export const THREAD_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** A string that is a valid thread id (anything else, e.g. from the host or the store, is not). */
export const isThreadId = (x: unknown): x is string => typeof x === "string" && THREAD_ID.test(x);
