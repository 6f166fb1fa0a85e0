/**
 * A small in-process cache whose entries live `ttlMs` (by the injected clock) and of which at most
 * `maxEntries` are kept, the oldest dropped first. For reads on every request whose answer may be a
 * moment old on other replicas, and which this replica forgets at once when it changes them.
 */
export interface TtlCache<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  delete(key: string): void;
  clear(): void;
}

export function createTtlCache<V>(options: {
  ttlMs: number;
  maxEntries: number;
  now: () => number;
}): TtlCache<V> {
  const entries = new Map<string, { value: V; until: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.until <= options.now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
    set(key, value) {
      if (options.ttlMs <= 0) return;
      entries.delete(key);
      entries.set(key, { value, until: options.now() + options.ttlMs });
      while (entries.size > options.maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
    },
    delete(key) {
      entries.delete(key);
    },
    clear() {
      entries.clear();
    },
  };
}
