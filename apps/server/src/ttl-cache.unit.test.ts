import { describe, expect, it } from 'vitest';
import { createTtlCache } from './ttl-cache.ts';

describe('ttl cache', () => {
  it('keeps an entry for its time only, and at most so many entries, the oldest dropped first', () => {
    let now = 0;
    const cache = createTtlCache<string>({ ttlMs: 1000, maxEntries: 2, now: () => now });
    cache.set('a', 'A');
    now = 999;
    expect(cache.get('a')).toBe('A');
    now = 1000;
    expect(cache.get('a')).toBeUndefined();
    cache.set('b', 'B');
    cache.set('c', 'C');
    cache.set('d', 'D');
    expect([cache.get('b'), cache.get('c'), cache.get('d')]).toEqual([undefined, 'C', 'D']);
    cache.delete('c');
    expect(cache.get('c')).toBeUndefined();
    cache.clear();
    expect(cache.get('d')).toBeUndefined();
  });

  it('keeps nothing with no time to keep it', () => {
    const cache = createTtlCache<string>({ ttlMs: 0, maxEntries: 10, now: () => 0 });
    cache.set('a', 'A');
    expect(cache.get('a')).toBeUndefined();
  });
});
