import { describe, expect, it } from 'vitest';
import { mapLimit } from './permissions-check.ts';

/** A call that answers after `ms`, or rejects as soon as its signal aborts. */
const slow = (ms: number, signal: AbortSignal, log: string[], name: string) =>
  new Promise<string>((resolve, reject) => {
    log.push(`start ${name}`);
    const timer = setTimeout(() => resolve(name), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      log.push(`cut ${name}`);
      reject(new Error(`cut ${name}`));
    });
  });

describe('mapLimit', () => {
  it('answers in input order with at most `limit` in flight', async () => {
    let open = 0;
    let most = 0;
    const out = await mapLimit([30, 10, 20, 5], 2, async (ms) => {
      most = Math.max(most, ++open);
      await new Promise((resolve) => setTimeout(resolve, ms));
      open--;
      return ms;
    });
    expect(out).toEqual([30, 10, 20, 5]);
    expect(most).toBe(2);
  });

  it('on the first failure cuts the calls in flight, starts no more, and rejects with it once all settled', async () => {
    const log: string[] = [];
    const started = performance.now();
    const run = mapLimit(['a', 'b', 'c', 'd', 'e'], 3, (name, signal) =>
      name === 'b'
        ? new Promise<string>((_, reject) =>
            setTimeout(() => {
              log.push('fail b');
              reject(new Error('b failed'));
            }, 20),
          )
        : slow(5000, signal, log, name),
    );
    await expect(run).rejects.toThrow('b failed');
    expect(performance.now() - started).toBeLessThan(1000);
    // a and c were running and are cut; d and e never start.
    expect(log).toEqual(['start a', 'start c', 'fail b', 'cut a', 'cut c']);
  });

  it('a parent signal cuts everything', async () => {
    const log: string[] = [];
    const parent = new AbortController();
    const run = mapLimit(
      ['a', 'b', 'c'],
      2,
      (name, signal) => slow(5000, signal, log, name),
      parent.signal,
    );
    setTimeout(() => parent.abort(), 20);
    await expect(run).rejects.toThrow();
    expect(log).toEqual(['start a', 'start b', 'cut a', 'cut b']);
  });
});
