/**
 * A token bucket: at most `ratePerSecond` takes per second on average, with bursts up to `capacity`.
 * In process, per replica: it keeps one replica from throttling a partition's APIs, not the fleet.
 */
export interface TokenBucket {
  /** Resolves when a token is available, and takes it. */
  take(): Promise<void>;
}

export function createTokenBucket(options: {
  ratePerSecond: number;
  capacity?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}): TokenBucket {
  const rate = options.ratePerSecond;
  const capacity = Math.max(1, options.capacity ?? Math.ceil(rate));
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  let tokens = capacity;
  let last = now();
  // Waiters are served in order: each take reserves its token before it sleeps.
  let queue: Promise<void> = Promise.resolve();

  const refill = () => {
    const at = now();
    tokens = Math.min(capacity, tokens + ((at - last) / 1000) * rate);
    last = at;
  };

  return {
    take() {
      const turn = queue.then(async () => {
        refill();
        if (tokens < 1) {
          await sleep(Math.ceil(((1 - tokens) / rate) * 1000));
          refill();
        }
        tokens -= 1;
      });
      queue = turn.catch(() => {});
      return turn;
    },
  };
}
