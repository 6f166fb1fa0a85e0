/**
 * Runs work on many items with at most `concurrency` of them in flight: enough to keep the server
 * busy, few enough not to flood it (or the AWS account behind it) with a thousand requests at once.
 */

export interface PoolOptions {
  concurrency: number;
  /** Once aborted, no further item starts; those in flight finish. */
  signal?: AbortSignal;
}

/**
 * Calls `work` for each item, in order of starting, never more than `concurrency` at once, and
 * resolves when every started item has finished. A worker that throws stops the pool: no further
 * item starts, and the first error is thrown once the items in flight have settled.
 * Returns how many items were started (fewer than all when the signal stopped it).
 */
export async function runPool<T>(
  items: readonly T[],
  work: (item: T, index: number) => Promise<void>,
  options: PoolOptions,
): Promise<number> {
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new RangeError(
      `runPool: concurrency must be a positive integer, not ${options.concurrency}`,
    );
  }
  let next = 0;
  let failure: { error: unknown } | undefined;
  const isStopped = () => failure !== undefined || options.signal?.aborted === true;
  const lane = async () => {
    while (next < items.length && !isStopped()) {
      const index = next++;
      try {
        await work(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const lanes = Math.min(options.concurrency, items.length);
  await Promise.all(Array.from({ length: lanes }, lane));
  if (failure) throw failure.error;
  return next;
}
