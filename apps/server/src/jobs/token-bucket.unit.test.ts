import { describe, expect, it } from 'vitest';
import { createTokenBucket } from './token-bucket.ts';

describe('token bucket', () => {
  it('lets a burst of `capacity` through, then one every 1/rate seconds', async () => {
    let now = 0;
    const slept: number[] = [];
    const bucket = createTokenBucket({
      ratePerSecond: 4,
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
    });
    for (let i = 0; i < 4; i++) await bucket.take();
    expect(slept).toEqual([]);
    await Promise.all([bucket.take(), bucket.take()]);
    expect(slept).toEqual([250, 250]);
    now += 10_000; // idle: refills to capacity, not beyond
    for (let i = 0; i < 4; i++) await bucket.take();
    expect(slept).toHaveLength(2);
    await bucket.take();
    expect(slept).toHaveLength(3);
  });
});
