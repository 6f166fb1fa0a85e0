import { describe, expect, it } from 'vitest';
import { runPool } from './import-pool.ts';

/** A promise the test settles when it chooses. */
function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('runPool', () => {
  it('never has more than `concurrency` items in flight, and does every item once', async () => {
    const gates = Array.from({ length: 10 }, deferred);
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    const running = runPool(
      gates.map((_, i) => i),
      async (i) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await gates[i]?.promise;
        inFlight--;
        done.push(i);
      },
      { concurrency: 3 },
    );
    // Settle them out of order: a slow item does not hold back the others' lanes.
    for (const i of [2, 0, 1, 5, 4, 3, 9, 8, 7, 6]) {
      await new Promise((r) => setImmediate(r));
      gates[i]?.resolve();
    }
    expect(await running).toBe(10);
    expect(most).toBe(3);
    expect([...done].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('starts no item once the signal aborts, and lets those in flight finish', async () => {
    const stop = new AbortController();
    const finished: number[] = [];
    const started = await runPool(
      [0, 1, 2, 3, 4, 5, 6, 7],
      async (i) => {
        if (i === 2) stop.abort();
        await new Promise((r) => setImmediate(r));
        finished.push(i);
      },
      { concurrency: 2, signal: stop.signal },
    );
    expect(started).toBe(3);
    expect(finished.sort()).toEqual([0, 1, 2]);
  });

  it('throws the first error after the items in flight settle', async () => {
    const finished: number[] = [];
    await expect(
      runPool(
        [0, 1, 2, 3],
        async (i) => {
          if (i === 0) throw new Error('boom');
          await new Promise((r) => setImmediate(r));
          finished.push(i);
        },
        { concurrency: 2 },
      ),
    ).rejects.toThrow('boom');
    expect(finished).toEqual([1]);
  });

  it('refuses a concurrency that is not a positive whole number, and does nothing for no items', async () => {
    await expect(runPool([1], async () => {}, { concurrency: 0 })).rejects.toThrow(RangeError);
    expect(await runPool([], async () => {}, { concurrency: 4 })).toBe(0);
  });
});
