import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { fromOnramp, OnrampCredentialsError } from './index.ts';

/**
 * The provider's own rules (cache, refresh, one request at a time, errors) with a stub of Onramp's
 * vend endpoint. That the AWS SDK signs with it against a real STS is credentials-provider-wire.test.ts.
 */
const START = Date.parse('2026-12-03T12:00:00Z');
const HOUR = 3600_000;

function stubOnramp() {
  const state = {
    calls: [] as { url: string; authorization: string | null; body: unknown }[],
    /** Answers given in turn; the last one repeats. */
    answers: [] as (() => Response)[],
    release: undefined as (() => void) | undefined,
    hold: false,
  };
  let issued = 0;
  const fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    state.calls.push({
      url: String(url),
      authorization: headers.get('authorization'),
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    });
    if (state.hold) await new Promise<void>((resolve) => (state.release = resolve));
    const answer = state.answers[Math.min(issued, state.answers.length - 1)];
    issued += 1;
    return answer ? answer() : new Response(null, { status: 500 });
  }) as typeof globalThis.fetch;
  return { state, fetch };
}

const session = (n: number, expiresAt: number) => () =>
  Response.json({
    accessKeyId: `ASIAKEY${n}`,
    secretAccessKey: `secret-${n}`,
    sessionToken: `token-${n}`,
    expiration: new Date(expiresAt).toISOString(),
  });
const problem = (status: number, body: Record<string, unknown>) => () =>
  new Response(JSON.stringify({ status, ...body }), {
    status,
    headers: { 'content-type': 'application/problem+json' },
  });

describe('fromOnramp', () => {
  it('is an AWS SDK credential provider: its type fits AwsCredentialIdentityProvider', () => {
    const provider: AwsCredentialIdentityProvider = fromOnramp({ account: 'acct_1' });
    expect(typeof provider).toBe('function');
  });

  it('vends through the account’s credentials endpoint with the token, and keeps the session', async () => {
    const { state, fetch } = stubOnramp();
    state.answers = [session(1, START + HOUR), session(2, START + 2 * HOUR)];
    let now = START;
    const provider = fromOnramp({
      account: 'acct_a/b',
      bundles: ['nodes-ec2'],
      durationSeconds: 1800,
      url: 'https://onramp.test/',
      token: 'onr_secret',
      fetch,
      now: () => new Date(now),
    });
    const first = await provider();
    expect(first).toEqual({
      accessKeyId: 'ASIAKEY1',
      secretAccessKey: 'secret-1',
      sessionToken: 'token-1',
      expiration: new Date(START + HOUR),
    });
    expect(state.calls).toEqual([
      {
        url: 'https://onramp.test/v1/accounts/acct_a%2Fb/credentials',
        authorization: 'Bearer onr_secret',
        body: { bundles: ['nodes-ec2'], durationSeconds: 1800 },
      },
    ]);
    now = START + HOUR - 301_000;
    expect((await provider()).accessKeyId).toBe('ASIAKEY1');
    expect(state.calls).toHaveLength(1);
  });

  it('vends again once fewer than refreshBeforeSeconds remain, before the session expires', async () => {
    const { state, fetch } = stubOnramp();
    state.answers = [session(1, START + HOUR), session(2, START + 2 * HOUR)];
    let now = START;
    const provider = fromOnramp({
      account: 'acct_1',
      url: 'http://onramp.test',
      token: 't',
      refreshBeforeSeconds: 600,
      fetch,
      now: () => new Date(now),
    });
    await provider();
    now = START + HOUR - 601_000;
    expect((await provider()).accessKeyId).toBe('ASIAKEY1');
    now = START + HOUR - 599_000;
    expect((await provider()).accessKeyId).toBe('ASIAKEY2');
    expect(state.calls).toHaveLength(2);
  });

  it('honours forceRefresh', async () => {
    const { state, fetch } = stubOnramp();
    state.answers = [session(1, START + HOUR), session(2, START + HOUR)];
    const provider = fromOnramp({
      account: 'acct_1',
      url: 'http://onramp.test',
      token: 't',
      fetch,
      now: () => new Date(START),
    });
    await provider();
    expect((await provider({ forceRefresh: true })).accessKeyId).toBe('ASIAKEY2');
    expect(state.calls).toHaveLength(2);
  });

  it('shares one request among 50 callers asking at once', async () => {
    const { state, fetch } = stubOnramp();
    state.answers = [session(1, START + HOUR)];
    state.hold = true;
    const provider = fromOnramp({
      account: 'acct_1',
      url: 'http://onramp.test',
      token: 't',
      fetch,
      now: () => new Date(START),
    });
    const callers = Array.from({ length: 50 }, (_, i) =>
      provider(i % 2 ? { forceRefresh: true } : {}),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    state.release?.();
    const all = await Promise.all(callers);
    expect(new Set(all.map((c) => c.accessKeyId))).toEqual(new Set(['ASIAKEY1']));
    expect(state.calls).toHaveLength(1);
  });

  it('keeps a session handed back inside the margin for a minute instead of asking on every call', async () => {
    const { state, fetch } = stubOnramp();
    // Onramp's clock ahead of ours: the session it serves has four minutes left by our clock.
    state.answers = [session(1, START + 240_000), session(2, START + HOUR)];
    let now = START;
    const provider = fromOnramp({
      account: 'acct_1',
      url: 'http://onramp.test',
      token: 't',
      fetch,
      now: () => new Date(now),
    });
    await provider();
    now = START + 59_000;
    expect((await provider()).accessKeyId).toBe('ASIAKEY1');
    expect(state.calls).toHaveLength(1);
    now = START + 61_000;
    expect((await provider()).accessKeyId).toBe('ASIAKEY2');
  });

  it('does not keep a failure: the caller gets an error saying what to fix, and the next call asks again', async () => {
    const { state, fetch } = stubOnramp();
    state.answers = [
      problem(401, { title: 'Unauthorized', detail: 'The token is not valid.' }),
      session(1, START + HOUR),
    ];
    const provider = fromOnramp({
      account: 'acct_1',
      url: 'http://onramp.test',
      token: 'onr_do_not_print',
      fetch,
      now: () => new Date(START),
    });
    const failure = await provider().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OnrampCredentialsError);
    expect((failure as OnrampCredentialsError).status).toBe(401);
    expect((failure as Error).message).toMatch(/ONRAMP_TOKEN/);
    expect((failure as Error).message).not.toContain('onr_do_not_print');
    expect((await provider()).accessKeyId).toBe('ASIAKEY1');
    expect(state.calls).toHaveLength(2);
  });

  it.each([
    [403, /scope credentials:vend/],
    [404, /no account acct_1 .*check the account id/],
    [422, /durationSeconds: Too long\. Ask for at most 3600\./],
  ])('explains a %s', async (status, expected) => {
    const { state, fetch } = stubOnramp();
    state.answers = [
      problem(status, {
        title: 'Refused',
        errors: [
          {
            field: 'durationSeconds',
            code: 'x',
            message: 'Too long.',
            hint: 'Ask for at most 3600.',
          },
        ],
      }),
    ];
    const provider = fromOnramp({
      account: 'acct_1',
      url: 'http://onramp.test',
      token: 't',
      fetch,
    });
    await expect(provider()).rejects.toThrow(expected);
  });

  it('says when Onramp cannot be reached, and when the URL or token is missing', async () => {
    const unreachable = fromOnramp({
      account: 'acct_1',
      url: 'http://onramp.test',
      token: 't',
      fetch: (async () => {
        throw new TypeError('fetch failed');
      }) as typeof globalThis.fetch,
    });
    await expect(unreachable()).rejects.toThrow(/cannot be reached at http:\/\/onramp\.test/);
    const saved = { url: process.env.ONRAMP_URL, token: process.env.ONRAMP_TOKEN };
    delete process.env.ONRAMP_URL;
    delete process.env.ONRAMP_TOKEN;
    try {
      await expect(fromOnramp({ account: 'acct_1', token: 't' })()).rejects.toThrow(/ONRAMP_URL/);
      await expect(fromOnramp({ account: 'acct_1', url: 'http://x' })()).rejects.toThrow(
        /ONRAMP_TOKEN/,
      );
      await expect(fromOnramp({ account: '', url: 'http://x', token: 't' })()).rejects.toThrow(
        /the account’s id/,
      );
    } finally {
      if (saved.url !== undefined) process.env.ONRAMP_URL = saved.url;
      if (saved.token !== undefined) process.env.ONRAMP_TOKEN = saved.token;
    }
  });

  it('reads ONRAMP_URL and ONRAMP_TOKEN when none are passed', async () => {
    const { state, fetch } = stubOnramp();
    state.answers = [session(1, START + HOUR)];
    const saved = { url: process.env.ONRAMP_URL, token: process.env.ONRAMP_TOKEN };
    process.env.ONRAMP_URL = 'http://from-env.test';
    process.env.ONRAMP_TOKEN = 'onr_env';
    try {
      await fromOnramp({ account: 'acct_1', fetch })();
    } finally {
      for (const [name, value] of [
        ['ONRAMP_URL', saved.url],
        ['ONRAMP_TOKEN', saved.token],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    expect(state.calls[0]).toMatchObject({
      url: 'http://from-env.test/v1/accounts/acct_1/credentials',
      authorization: 'Bearer onr_env',
    });
  });
});
