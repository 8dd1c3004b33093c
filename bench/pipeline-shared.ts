// What the pipeline benchmark's processes (the bench, the host, the other phones) agree on.

/** Wall clock in ms with µs resolution, comparable between processes on one machine. */
export const wallNow = (): number => performance.timeOrigin + performance.now();

/** Deterministic stream content, so the device can check what it got. */
export function streamChunk(i: number, size: number): string {
  const head = `${i}:`;
  return head + "abcdefghijklmnopqrstuvwxyz0123456789".repeat(Math.ceil(size / 36)).slice(0, Math.max(0, size - head.length));
}
