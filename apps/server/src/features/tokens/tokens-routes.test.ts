import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';

describe.each(TEST_DIALECTS)('API tokens on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('shows the token once, stores only its hash, and it works until revoked', async () => {
    const created = await a.admin.request('POST', '/v1/tokens', {
      name: 'ci',
      scopes: ['accounts:read'],
      expiresInDays: 30,
    });
    expectStatus(created, 201);
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^onr_[A-Za-z0-9_-]{43}$/);
    expect(created.body.token).toMatchObject({
      name: 'ci',
      scopes: ['accounts:read'],
      tenantId: a.id,
      prefix: `${secret.slice(0, 8)}…`,
    });
    const rows = await h.database.db.selectFrom('api_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(secret);
    const list = await a.admin.request('GET', '/v1/tokens');
    expect(list.text).not.toContain(secret);
    const bearer = { authorization: `Bearer ${secret}` };
    expectStatus(await h.send('GET', '/v1/catalog', bearer), 200);
    // Scoped: a read token cannot manage users (admin) nor mint tokens.
    expectProblem(await h.send('GET', '/v1/users', bearer), 403);
    expectProblem(
      await h.send('POST', '/v1/tokens', bearer, { name: 'x', scopes: ['accounts:read'] }),
      403,
    );
    expectStatus(await a.admin.request('DELETE', `/v1/tokens/${created.body.token.id}`), 200);
    expectProblem(await h.send('GET', '/v1/catalog', bearer), 401);
  });

  it('refuses an expired token', async () => {
    const created = await a.admin.request('POST', '/v1/tokens', {
      name: 'short',
      scopes: ['accounts:read'],
      expiresInDays: 1,
    });
    await h.database.db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', created.body.token.id)
      .execute();
    expectProblem(
      await h.send('GET', '/v1/catalog', { authorization: `Bearer ${created.body.secret}` }),
      401,
    );
  });

  it('sees a revocation made on another replica within a second', async () => {
    let now = Date.now();
    const other = await createHarness(dialect, { clock: () => new Date(now) });
    try {
      const tenant = await other.tenant();
      const token = await tenant.token(['accounts:read']);
      expectStatus(await other.send('GET', '/v1/accounts', token.headers), 200);
      // Revoked behind this replica's back, as another replica's DELETE /v1/tokens/:id would.
      await other.database.db
        .updateTable('api_tokens')
        .set({ revoked_at: new Date(now).toISOString() })
        .where('id', '=', token.tokenId)
        .execute();
      // This replica's cache still has it for the rest of the second…
      expectStatus(await other.send('GET', '/v1/accounts', token.headers), 200);
      now += 1001;
      // …and no longer.
      expectProblem(await other.send('GET', '/v1/accounts', token.headers), 401);
    } finally {
      await other.close();
    }
  });

  it('only the operator hands out credentials:vend', async () => {
    expectProblem(
      await a.admin.request('POST', '/v1/tokens', { name: 'vend', scopes: ['credentials:vend'] }),
      403,
    );
    const operator = await h.operator();
    const created = await operator.request(
      'POST',
      '/v1/tokens',
      { name: 'billing service', scopes: ['credentials:vend'] },
      { 'onramp-tenant': a.id },
    );
    expectStatus(created, 201);
    expect(created.body.token.tenantId).toBe(a.id);
  });

  it('validates scopes and names, and is closed to viewers and other tenants', async () => {
    expectProblem(
      await a.admin.request('POST', '/v1/tokens', { name: 'bad', scopes: ['root'] }),
      400,
      'scopes[0]',
    );
    expectProblem(
      await a.admin.request('POST', '/v1/tokens', { name: 'none', scopes: [] }),
      400,
      'scopes',
    );
    const target = (
      await a.admin.request('POST', '/v1/tokens', { name: 'target', scopes: ['accounts:read'] })
    ).body.token.id as string;
    await expectSecured(h, { method: 'GET', url: '/v1/tokens' }, { forbidden: [a.viewer] });
    await expectSecured(
      h,
      { method: 'POST', url: '/v1/tokens', body: { name: 'x', scopes: ['accounts:read'] } },
      { forbidden: [a.viewer] },
    );
    await expectSecured(
      h,
      { method: 'DELETE', url: `/v1/tokens/${target}` },
      { forbidden: [a.viewer], otherTenant: [b.admin] },
    );
    expect((await b.admin.request('GET', '/v1/tokens')).text).not.toContain(target);
  });
});
