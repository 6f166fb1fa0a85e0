/**
 * Runs `work` again `everyMs` after each run ends (never two at once), until stopped. `stop()` waits
 * for a run under way to finish, so a shutdown does not cut a check or a delivery in half.
 */
export interface JobLoop {
  start(): void;
  stop(): Promise<void>;
}

export function createJobLoop(
  work: (signal: { stopping: boolean }) => Promise<unknown>,
  everyMs: number,
  onError: (error: unknown) => void,
): JobLoop {
  const signal = { stopping: false };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const run = () => {
    timer = undefined;
    running = work(signal)
      .then(
        () => undefined,
        (error: unknown) => onError(error),
      )
      .finally(() => {
        running = undefined;
        if (!signal.stopping) timer = setTimeout(run, everyMs);
      });
  };

  return {
    start() {
      if (timer || running) return;
      signal.stopping = false;
      timer = setTimeout(run, 0);
    },
    async stop() {
      signal.stopping = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}

/** Runs `items` through `task` with at most `limit` at once. */
export async function runLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
