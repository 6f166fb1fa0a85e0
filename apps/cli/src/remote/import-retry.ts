/**
 * Retries for a bulk import: a server that answers 429 (its rate limit, with Retry-After) or 5xx (a
 * restart, AWS not answering a check), or cannot be reached for a moment, gets the same request again
 * after a pause, a bounded number of times. Safe for creates: each create is one server transaction,
 * so a retried create that had in fact committed answers 409 "already connected", which the import
 * counts as skipped.
 */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** The first pause; each further one doubles, with jitter, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  sleep(ms: number): Promise<void>;
  /** In [0, 1): spreads the pauses of concurrent requests so they do not all come back at once. */
  random(): number;
}

export interface RetryNotice {
  attempt: number;
  delayMs: number;
  /** `HTTP 429`, `HTTP 503`, or the network error's message. */
  reason: string;
}

/** The policy of `onramp accounts import`: 5 tries, from 0.5 s up to 20 s apart. */
export function defaultRetryPolicy(): RetryPolicy {
  return {
    attempts: 5,
    baseDelayMs: 500,
    maxDelayMs: 20_000,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    random: Math.random,
  };
}

/** Whether an answer is worth asking again: throttling and server-side failures. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/**
 * The pause Retry-After asks for (seconds, or an HTTP date), in milliseconds; undefined when absent
 * or unreadable. Capped: a server asking for an hour does not stall an import for an hour.
 */
export function readRetryAfter(
  value: string | null,
  now: number,
  capMs: number,
): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const text = value.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), capMs);
}

/** A fetch that retries as the policy says, returning the last answer (or throwing the last error). */
export function createRetryingFetch(
  inner: typeof fetch,
  policy: RetryPolicy,
  onRetry: (notice: RetryNotice) => void = () => {},
): typeof fetch {
  const backoff = (attempt: number) =>
    Math.round(
      Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)) *
        (0.5 + policy.random() / 2),
    );
  return async (input, init) => {
    for (let attempt = 1; ; attempt++) {
      const isLast = attempt >= policy.attempts;
      let response: Response;
      try {
        response = await inner(input, init);
      } catch (error) {
        if (isLast || init?.signal?.aborted) throw error;
        const delayMs = backoff(attempt);
        onRetry({
          attempt,
          delayMs,
          reason: error instanceof Error ? error.message : String(error),
        });
        await policy.sleep(delayMs);
        continue;
      }
      if (isLast || !isRetryableStatus(response.status)) return response;
      const delayMs =
        readRetryAfter(response.headers.get('retry-after'), Date.now(), policy.maxDelayMs) ??
        backoff(attempt);
      // The answer is dropped: read it to its end so the connection goes back to the pool.
      await response.arrayBuffer().catch(() => undefined);
      onRetry({ attempt, delayMs, reason: `HTTP ${response.status}` });
      await policy.sleep(delayMs);
    }
  };
}
