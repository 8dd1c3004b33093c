// A token bucket whose state is plain data, so it lives in a WebSocket
// attachment and survives hibernation.
export interface Bucket {
  tokens: number;
  at: number;
}

export function fullBucket(burst: number, now: number): Bucket {
  return { tokens: burst, at: now };
}

/** Takes one token; false when the bucket is empty. Mutates `bucket`. */
export function take(bucket: Bucket, ratePerSecond: number, burst: number, now: number): boolean {
  const elapsed = Math.max(0, now - bucket.at);
  bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * ratePerSecond) / 1000);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}
