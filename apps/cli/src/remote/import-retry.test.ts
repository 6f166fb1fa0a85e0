import { describe, expect, it } from 'vitest';
import { createRetryingFetch, type RetryNotice, readRetryAfter } from './import-retry.ts';

/** A fetch answering from a script, recording each request; and a policy that records its pauses. */
function scripted(answers: (Response | Error)[]) {
  const calls: string[] = [];
  const pauses: number[] = [];
  const inner: typeof fetch = async (input, init) => {
    calls.push(`${init?.method ?? 'GET'} ${String(input)} ${String(init?.body ?? '')}`);
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    if (next instanceof Error) throw next;
    return next;
  };
  const policy = {
    attempts: 4,
    baseDelayMs: 100,
    maxDelayMs: 5_000,
    sleep: async (ms: number) => {
      pauses.push(ms);
    },
    random: () => 1,
  };
  return { inner, policy, calls, pauses };
}

describe('the retrying fetch', () => {
  it('waits as Retry-After says after a 429, then sends the same request again', async () => {
    const s = scripted([
      new Response('{}', { status: 429, headers: { 'retry-after': '2' } }),
      new Response('{"id":"acct_1"}', { status: 201 }),
    ]);
    const notices: RetryNotice[] = [];
    const retrying = createRetryingFetch(s.inner, s.policy, (n) => notices.push(n));
    const response = await retrying('http://onramp/v1/accounts', {
      method: 'POST',
      body: '{"a":1}',
    });
    expect(response.status).toBe(201);
    expect(s.calls).toEqual([
      'POST http://onramp/v1/accounts {"a":1}',
      'POST http://onramp/v1/accounts {"a":1}',
    ]);
    expect(s.pauses).toEqual([2000]);
    expect(notices).toEqual([{ attempt: 1, delayMs: 2000, reason: 'HTTP 429' }]);
  });

  it('backs off exponentially after 5xx and network errors, and gives up with the last answer', async () => {
    const s = scripted([
      new Response('', { status: 503 }),
      new TypeError('fetch failed'),
      new Response('', { status: 502 }),
      new Response('{"title":"still down"}', { status: 503 }),
    ]);
    const response = await createRetryingFetch(s.inner, s.policy)('http://onramp/x');
    expect(response.status).toBe(503);
    expect(s.calls).toHaveLength(4);
    expect(s.pauses).toEqual([100, 200, 400]);
  });

  it('does not retry a client error (a 4xx other than 429)', async () => {
    for (const status of [400, 401, 403, 404, 409, 422]) {
      const s = scripted([new Response('{}', { status })]);
      const response = await createRetryingFetch(s.inner, s.policy)('http://onramp/x');
      expect(response.status).toBe(status);
      expect(s.calls).toHaveLength(1);
    }
  });

  it('throws the last network error when every try failed', async () => {
    const s = scripted([1, 2, 3, 4].map((n) => new TypeError(`refused ${n}`)));
    await expect(createRetryingFetch(s.inner, s.policy)('http://onramp/x')).rejects.toThrow(
      'refused 4',
    );
  });
});

describe('readRetryAfter', () => {
  it('reads seconds and HTTP dates, caps long waits, and ignores what it cannot read', () => {
    const now = Date.parse('2026-12-03T12:00:00Z');
    expect(readRetryAfter('3', now, 60_000)).toBe(3000);
    expect(readRetryAfter('Thu, 03 Dec 2026 12:00:10 GMT', now, 60_000)).toBe(10_000);
    expect(readRetryAfter('3600', now, 60_000)).toBe(60_000);
    expect(readRetryAfter('soon', now, 60_000)).toBeUndefined();
    expect(readRetryAfter(null, now, 60_000)).toBeUndefined();
  });
});
