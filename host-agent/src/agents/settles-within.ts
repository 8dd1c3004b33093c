// A bounded wait: adapters give an agent a while to confirm (an interrupt, an
// exit) and then act themselves instead of leaving a device stuck.

/** True when `promise` settles (either way) within `ms`; false once `ms` passed first. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
