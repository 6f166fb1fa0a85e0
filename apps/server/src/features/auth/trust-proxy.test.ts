import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import type { AppDeps } from '../../deps.ts';
import { createHarness, type Harness } from '../../testing/harness.ts';
import { SIGN_IN_WINDOW_SECONDS } from './auth-routes.ts';

/**
 * Behind a proxy, the client's address is the one the trusted proxy saw: entries a client writes into
 * X-Forwarded-For itself neither escape the sign-in limit nor land in the audit log. (The address is
 * Fastify's reading of a header, the same on either engine: SQLite suffices.)
 */
describe('the client address behind a proxy', () => {
  const harnesses: Harness[] = [];
  afterAll(async () => {
    for (const h of harnesses) await h.close();
  });
  const withProxy = async (trustProxy: AppDeps['trustProxy']) => {
    // Just past the start of a sign-in window, so the 11 attempts of a test count in one.
    const windowMs = SIGN_IN_WINDOW_SECONDS * 1000;
    const offsetMs = windowMs - (Date.now() % windowMs) + 1_000;
    const h = await createHarness('sqlite', {
      clock: () => new Date(Date.now() + offsetMs),
      ...(trustProxy === undefined ? {} : { trustProxy }),
    });
    harnesses.push(h);
    return h;
  };

  let sequence = 0;
  const signIn = async (
    h: Harness,
    from: { socket: string; forwardedFor?: string },
    email = 'target@example.com',
  ) => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/session',
      headers: {
        'content-type': 'application/json',
        ...(from.forwardedFor ? { 'x-forwarded-for': from.forwardedFor } : {}),
      },
      payload: JSON.stringify({ email, password: `guess ${++sequence}` }),
      remoteAddress: from.socket,
    });
    return { status: response.statusCode, requestId: String(response.headers['x-request-id']) };
  };
  const sourceOf = async (h: Harness, requestId: string) =>
    (
      await h.database.db
        .selectFrom('audit_log')
        .select('source_ip')
        .where('request_id', '=', requestId)
        .executeTakeFirstOrThrow()
    ).source_ip;

  it('with one hop (ONRAMP_TRUST_PROXY=true), uses the entry the proxy appended', async () => {
    // As main.ts would have it from the environment.
    const h = await withProxy(loadConfig({ ONRAMP_TRUST_PROXY: 'true' }).trustProxy);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      // The client sends its own X-Forwarded-For; the proxy (10.0.0.1) appends what it saw.
      const attempt = await signIn(h, {
        socket: '10.0.0.1',
        forwardedFor: `192.0.2.${i + 1}, 203.0.113.7`,
      });
      statuses.push(attempt.status);
      if (i === 0) expect(await sourceOf(h, attempt.requestId)).toBe('203.0.113.7');
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429]);
  });

  it('with two hops, uses the entry the outer proxy appended', async () => {
    const h = await withProxy(2);
    const attempt = await signIn(h, {
      socket: '10.0.0.2',
      forwardedFor: '192.0.2.50, 203.0.113.8, 10.0.0.1',
    });
    expect(await sourceOf(h, attempt.requestId)).toBe('203.0.113.8');
  });

  it('with a list of proxies, trusts only them, and ignores the header of anyone else', async () => {
    const h = await withProxy(['10.0.0.0/8']);
    const proxied = await signIn(h, {
      socket: '10.0.0.1',
      forwardedFor: '192.0.2.60, 203.0.113.9, 10.20.30.40',
    });
    expect(await sourceOf(h, proxied.requestId)).toBe('203.0.113.9');
    // A client reaching Onramp around the proxy gets no say.
    const direct = await signIn(h, { socket: '198.51.100.4', forwardedFor: '203.0.113.9' });
    expect(await sourceOf(h, direct.requestId)).toBe('198.51.100.4');
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++)
      statuses.push(
        (
          await signIn(
            h,
            { socket: '10.0.0.1', forwardedFor: `192.0.2.${i + 100}, 203.0.113.10` },
            'other@example.com',
          )
        ).status,
      );
    expect(statuses).toEqual([...Array(10).fill(401), 429]);
  });

  it('takes an entry that is no address for no address: the socket’s counts, and is recorded', async () => {
    // Reached around the proxy (or through one that passes the header on as it came), a client
    // would otherwise write any text, kilobytes of it, as its address: into the audit log and, one
    // new text per attempt, past the sign-in limits.
    const h = await withProxy(loadConfig({ ONRAMP_TRUST_PROXY: 'true' }).trustProxy);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const attempt = await signIn(h, {
        socket: '198.51.100.9',
        forwardedFor: `x${i}${'a'.repeat(4000)}`,
      });
      expect(await sourceOf(h, attempt.requestId)).toBe('198.51.100.9');
      statuses.push(attempt.status);
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429]);
  });

  it('without a proxy configured, ignores X-Forwarded-For', async () => {
    const h = await withProxy(undefined);
    const attempt = await signIn(h, { socket: '198.51.100.5', forwardedFor: '203.0.113.11' });
    expect(await sourceOf(h, attempt.requestId)).toBe('198.51.100.5');
  });
});
