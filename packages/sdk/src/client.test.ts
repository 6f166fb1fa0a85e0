import { describe, expect, it } from 'vitest';
import { ApiProblem, createClient, listAll } from './index.ts';

function recorder(responses: Response[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetch = async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const next = responses.shift();
    if (!next) throw new Error('no more responses');
    return next;
  };
  return { calls, fetch: fetch as typeof globalThis.fetch };
}

function headersOf(calls: { init: RequestInit }[], index: number): Record<string, string> {
  return (calls[index]?.init.headers ?? {}) as Record<string, string>;
}

const json = (body: unknown, status = 200, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });

const SESSION = {
  user: { id: 'u', email: 'a@b.example', name: 'A', role: 'tenant_admin', tenantId: 't' },
  csrfToken: 'csrf-123',
};

describe('the Onramp client', () => {
  it('remembers the CSRF token from sign-in and sends it with every change, never with reads', async () => {
    const { calls, fetch } = recorder([
      json(SESSION),
      json({ accounts: [], next: null }),
      json(SESSION),
    ]);
    const client = createClient({ fetch, baseUrl: 'http://onramp.test/' });
    await client.session.login({ email: 'a@b.example', password: 'x' });
    const page = await client.accounts.list({ partition: 'aws', q: '', limit: 10 });
    expect(page).toEqual({ accounts: [], next: null });
    expect(calls[1]?.url).toBe('http://onramp.test/v1/accounts?partition=aws&limit=10');
    expect(headersOf(calls, 1)['x-csrf-token']).toBeUndefined();
    await client.session.setup({
      setupToken: 'setup_x',
      email: 'a@b.example',
      name: 'A',
      password: 'p',
    });
    expect(headersOf(calls, 2)['x-csrf-token']).toBe('csrf-123');
  });

  it('sends a hosted connect session its own CSRF token, never the console’s, with cookies', async () => {
    const hosted = {
      id: 'cs_1',
      state: 'active',
      outcome: null,
      kind: 'connect',
      branding: {
        name: 'Acme Cloud',
        logoUrl: null,
        colors: { primary: '#112233', accent: '#445566' },
        supportUrl: null,
      },
      partitions: [],
      bundles: { fixed: [] },
      regions: { fixed: [] },
      accountName: null,
      connection: null,
      account: null,
      redirectTo: null,
      expiresAt: '2026-01-01T01:00:00Z',
      csrfToken: 'session-csrf',
    };
    const { calls, fetch } = recorder([
      json(SESSION),
      json(hosted),
      json({ ...hosted, state: 'cancelled', outcome: 'cancelled' }),
    ]);
    const client = createClient({ fetch, baseUrl: 'http://onramp.test' });
    await client.session.login({ email: 'a@b.example', password: 'x' });
    await client.connect.open('cs_1', 'link-secret');
    expect(calls[1]?.url).toBe('http://onramp.test/v1/connect/sessions/cs_1/open');
    expect(calls[1]?.init.body).toBe(JSON.stringify({ token: 'link-secret' }));
    expect(headersOf(calls, 1)['x-csrf-token']).toBeUndefined();
    expect(calls[1]?.init.credentials).toBe('same-origin');
    const cancelled = await client.connect.cancel('cs_1');
    expect(cancelled.outcome).toBe('cancelled');
    expect(headersOf(calls, 2)['x-csrf-token']).toBe('session-csrf');
  });

  it('asks for a page of any list, and listAll follows `next` to the last page', async () => {
    const tenant = (id: string) => ({
      id,
      name: id,
      limits: {},
      createdAt: '2026-01-01T00:00:00Z',
    });
    const { calls, fetch } = recorder([
      json({ tenants: [tenant('ten_a'), tenant('ten_b')], next: 'Yg' }),
      json({ tenants: [tenant('ten_c')], next: null }),
      json({ tokens: [], next: null }),
    ]);
    const client = createClient({ fetch });
    const all = await listAll(
      (cursor) => client.tenants.list({ limit: 2, ...(cursor ? { cursor } : {}) }),
      (page) => page.tenants,
    );
    expect(all.map((t) => t.id)).toEqual(['ten_a', 'ten_b', 'ten_c']);
    expect(calls.map((c) => c.url)).toEqual([
      '/v1/tenants?limit=2',
      '/v1/tenants?limit=2&cursor=Yg',
    ]);
    expect(await client.tokens.list({ limit: 5 })).toEqual({ tokens: [], next: null });
    expect(calls[2]?.url).toBe('/v1/tokens?limit=5');
  });

  it('stops listAll at `max` items', async () => {
    const page = (n: number) => ({ n, next: 'more' });
    let asked = 0;
    const items = await listAll(
      async () => page(++asked),
      (p) => [p.n, p.n],
      { max: 5 },
    );
    expect(items).toEqual([1, 1, 2, 2, 3]);
    expect(asked).toBe(3);
  });

  it('names the tenant an operator acts on, and sends a bearer token when given one', async () => {
    const { calls, fetch } = recorder([json({ partitions: [] })]);
    const client = createClient({ fetch, token: 'onr_abc', tenant: () => 'tenant_9' });
    await client.partitions();
    const headers = headersOf(calls, 0);
    expect(headers.authorization).toBe('Bearer onr_abc');
    expect(headers['onramp-tenant']).toBe('tenant_9');
  });

  it('throws an ApiProblem with the field errors of a problem+json response', async () => {
    const { fetch } = recorder([
      json(
        {
          type: 'https://onramp.dev/problems/validation_failed',
          title: 'Validation failed',
          status: 422,
          detail: 'roleArn: not a role ARN',
          requestId: 'request_1',
          errors: [
            { field: 'roleArn', code: 'invalid_arn', message: 'Not a role ARN.', hint: 'Copy it.' },
          ],
        },
        422,
        'application/problem+json',
      ),
    ]);
    const client = createClient({ fetch });
    const error = await client.accounts
      .create({ method: 'role', connectionId: 'c', roleArn: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiProblem);
    const problem = error as ApiProblem;
    expect(problem.status).toBe(422);
    expect(problem.requestId).toBe('request_1');
    expect(problem.errorFor('roleArn')?.hint).toBe('Copy it.');
  });

  it('refuses a response that does not match its contract', async () => {
    const { fetch } = recorder([json({ accounts: 'nope' })]);
    await expect(createClient({ fetch }).accounts.list()).rejects.toThrow();
  });

  it('turns a network failure into a problem with status 0', async () => {
    const client = createClient({
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    await expect(client.catalog()).rejects.toMatchObject({ status: 0, name: 'ApiProblem' });
  });

  it('acts on another tenant, or none (the operator’s own scope), with the same session', async () => {
    const endpoint = {
      id: 'wh_1',
      scope: 'operator',
      tenantId: null,
      url: 'https://hooks.example.com/onramp',
      description: '',
      events: ['account.health_changed'],
      enabled: true,
      previousSecretExpiresAt: '2030-01-02T00:00:00.000Z',
      createdAt: '2030-01-01T00:00:00.000Z',
      updatedAt: '2030-01-01T00:00:00.000Z',
    };
    const { calls, fetch } = recorder([
      json(SESSION),
      json({ endpoint, secret: 'whsec_new' }),
      json({ checks: [], next: null }),
    ]);
    const client = createClient({ fetch, tenant: () => 'tenant_9' });
    await client.session.login({ email: 'a@b.example', password: 'x' });
    const operator = client.withTenant(undefined);
    const rotated = await operator.webhooks.rotateSecret('wh_1', {
      previousSecretValidForHours: 0,
    });
    expect(rotated.endpoint.previousSecretExpiresAt).toBe('2030-01-02T00:00:00.000Z');
    expect(calls[1]?.url).toBe('/v1/webhooks/wh_1/rotate-secret');
    expect(calls[1]?.init.body).toBe('{"previousSecretValidForHours":0}');
    expect(headersOf(calls, 1)['onramp-tenant']).toBeUndefined();
    expect(headersOf(calls, 1)['x-csrf-token']).toBe('csrf-123');

    await client.withTenant('tenant_2').accounts.checks('acct_1', { limit: 5, cursor: 'c_2' });
    expect(calls[2]?.url).toBe('/v1/accounts/acct_1/checks?limit=5&cursor=c_2');
    expect(headersOf(calls, 2)['onramp-tenant']).toBe('tenant_2');
  });

  it('changes and resets passwords, makes reset links, and reads a sign-in’s tenant choices', async () => {
    const link = { url: '/reset-password#token=rst_x', expiresAt: '2030-01-01T00:00:00.000Z' };
    const { calls, fetch } = recorder([
      json(
        {
          title: 'This conflicts with what exists',
          status: 409,
          errors: [{ field: 'tenantId', code: 'ambiguous', message: 'Choose the tenant.' }],
          signInChoices: [
            { tenantId: 'ten_1', tenantName: 'Acme' },
            { tenantId: null, tenantName: null },
          ],
        },
        409,
        'application/problem+json',
      ),
      json(SESSION),
      new Response(null, { status: 204 }),
      json(link, 201),
      new Response(null, { status: 204 }),
    ]);
    const client = createClient({ fetch });
    const ambiguous = (await client.session
      .login({ email: 'a@b.example', password: 'x' })
      .catch((e: unknown) => e)) as ApiProblem;
    expect(ambiguous.signInChoices).toEqual([
      { tenantId: 'ten_1', tenantName: 'Acme' },
      { tenantId: null, tenantName: null },
    ]);
    await client.session.login({ email: 'a@b.example', password: 'x', tenantId: 'ten_1' });
    expect(calls[1]?.init.body).toContain('"tenantId":"ten_1"');
    await client.session.changePassword({ currentPassword: 'old', newPassword: 'new one' });
    expect(calls[2]?.url).toBe('/v1/me/password');
    expect(calls[2]?.init.method).toBe('PUT');
    expect(headersOf(calls, 2)['x-csrf-token']).toBe('csrf-123');
    expect(await client.users.createResetLink('usr_1')).toEqual(link);
    expect(calls[3]?.url).toBe('/v1/users/usr_1/password-reset');
    await client.session.resetPassword({ token: 'rst_x', newPassword: 'new one' });
    expect(calls[4]?.url).toBe('/v1/password-reset');
  });
});
