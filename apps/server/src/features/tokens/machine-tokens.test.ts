import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scope } from '../../domain/principal.ts';
import { LOG_REDACT } from '../../http/logging.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestResponse,
  type TestTenant,
} from '../../testing/harness.ts';
import { MAX_TOKEN_DEPTH } from './token-rights.ts';

/**
 * Machine tokens (issue 18): automation makes its own tokens with a token, without anyone's console
 * session. A child token acts for the same person as its parent, holds no more than its parent holds
 * now, never outlives it, and dies with it.
 */
describe.each(TEST_DIALECTS)('machine tokens on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  const logLines: string[] = [];
  let sequence = 0;

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    h = await createHarness(dialect, {
      logger: { level: 'trace', stream, redact: LOG_REDACT },
    });
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  interface Made {
    id: string;
    secret: string;
    body: Record<string, unknown>;
    request: (
      method: string,
      url: string,
      body?: unknown,
      extra?: Record<string, string>,
    ) => Promise<TestResponse>;
  }

  /** A token as a client holds it: its id, its secret, and requests made with it. */
  const held = (response: TestResponse): Made => {
    expectStatus(response, 201);
    const secret = response.body.secret as string;
    return {
      id: response.body.token.id as string,
      secret,
      body: response.body.token,
      request: (method, url, body, extra = {}) =>
        h.send(method, url, { authorization: `Bearer ${secret}`, ...extra }, body),
    };
  };

  const make = async (
    by: { request: Made['request'] },
    scopes: Scope[],
    extra: { expiresInDays?: number; tenant?: string; name?: string } = {},
  ) =>
    by.request(
      'POST',
      '/v1/tokens',
      {
        name: extra.name ?? `machine ${++sequence}`,
        scopes,
        ...(extra.expiresInDays ? { expiresInDays: extra.expiresInDays } : {}),
      },
      extra.tenant ? { 'onramp-tenant': extra.tenant } : {},
    );

  const createKeysAccount = async (tenant: TestTenant) => {
    const keys = h.aws.addUser('aws', String(600000000000 + ++sequence));
    const response = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: `Keys ${sequence}`,
      partition: 'aws',
      ...keys,
    });
    expectStatus(response, 201);
    return response.body.id as string;
  };

  const auditOf = async (targetId: string, action: string) => {
    const rows = await h.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target_id', '=', targetId)
      .where('action', '=', action)
      .execute();
    return rows.map((row) => ({ ...row, details: JSON.parse(String(row.details)) }));
  };

  it('an admin token makes a narrower token that works, acting for the same person', async () => {
    const parent = held(await make(a.admin, ['admin', 'accounts:read', 'accounts:write']));
    const child = held(await make(parent, ['accounts:read']));
    expect(child.body).toMatchObject({
      tenantId: a.id,
      scopes: ['accounts:read'],
      parentTokenId: parent.id,
      createdBy: parent.body.createdBy,
    });
    expectStatus(await child.request('GET', '/v1/accounts'), 200);
    expectProblem(await child.request('GET', '/v1/users'), 403);
    // The list shows who made it; a session-made token has no parent.
    const list = await a.admin.request('GET', '/v1/tokens');
    const listed = list.body.tokens as { id: string; parentTokenId: string | null }[];
    expect(listed.find((t) => t.id === child.id)?.parentTokenId).toBe(parent.id);
    expect(listed.find((t) => t.id === parent.id)?.parentTokenId).toBeNull();
    const [created] = await auditOf(child.id, 'token.created');
    expect(created).toMatchObject({ actor_type: 'token', actor_id: parent.id });
    expect(created?.details.parentTokenId).toBe(parent.id);
  });

  it('refuses scopes beyond the parent’s, naming them', async () => {
    const parent = held(await make(a.admin, ['admin', 'accounts:read']));
    const wider = await make(parent, ['accounts:read', 'accounts:write']);
    expectProblem(wider, 403);
    expect(wider.body.detail).toContain('accounts:write');
    expect(wider.body.detail).not.toContain('accounts:read,');
  });

  it('a viewer, read-only or vend-only token makes no tokens (it lacks admin)', async () => {
    const reader = held(await make(a.admin, ['accounts:read', 'accounts:write']));
    const refused = await make(reader, ['accounts:read']);
    expectProblem(refused, 403);
    expect(refused.body.detail).toContain('admin');
    const operator = await h.operator();
    const vendOnly = held(await make(operator, ['credentials:vend'], { tenant: a.id }));
    const fromVend = await make(vendOnly, ['credentials:vend']);
    expectProblem(fromVend, 403);
    expect(fromVend.body.detail).toContain('admin');
    const operatorVendOnly = held(await make(operator, ['credentials:vend']));
    expectProblem(await make(operatorVendOnly, ['credentials:vend'], { tenant: a.id }), 403);
    // A token made from a session by a viewer is no way round it: viewers make no tokens at all.
    expectProblem(await make(a.viewer, ['accounts:read']), 403);
  });

  it('a tenant’s admin token hands out no vending, no operator token and nothing elsewhere', async () => {
    const parent = held(await make(a.admin, ['admin', 'accounts:read']));
    const vend = await make(parent, ['credentials:vend']);
    expectProblem(vend, 403);
    expect(vend.body.detail).toContain('credentials:vend');
    // Even a tenant token that holds the scope (made for it by the operator) cannot pass it on.
    const holder = await a.token(['admin', 'credentials:vend']);
    expectProblem(await make(holder, ['credentials:vend']), 403);
    expectProblem(await make(parent, ['accounts:read'], { tenant: b.id }), 403);
    // Without a tenant named, its child is still its own tenant's, never an operator token.
    const own = held(await make(parent, ['accounts:read']));
    expect(own.body.tenantId).toBe(a.id);
  });

  it('the operator’s token makes a tenant’s vend token that vends for that tenant only', async () => {
    const operator = await h.operator();
    const service = held(await make(operator, ['admin', 'credentials:vend']));
    expect(service.body.tenantId).toBeNull();
    const vend = held(await make(service, ['credentials:vend'], { tenant: a.id }));
    expect(vend.body).toMatchObject({ tenantId: a.id, parentTokenId: service.id });
    const mine = await createKeysAccount(a);
    const theirs = await createKeysAccount(b);
    const vended = await vend.request('POST', `/v1/accounts/${mine}/credentials`);
    expectStatus(vended, 200);
    expect(vended.body.accessKeyId).toMatch(/^ASIA/);
    expectProblem(
      await vend.request('POST', `/v1/accounts/${theirs}/credentials`, undefined, {
        'onramp-tenant': b.id,
      }),
      403,
    );
    expectProblem(await vend.request('POST', `/v1/accounts/${theirs}/credentials`), 404);
    // An operator token without vending cannot hand it out.
    const adminOnly = held(await make(operator, ['admin']));
    const refused = await make(adminOnly, ['credentials:vend'], { tenant: a.id });
    expectProblem(refused, 403);
    expect(refused.body.detail).toContain('credentials:vend');
    // The tenant it names must exist.
    expectProblem(
      await make(service, ['credentials:vend'], { tenant: 'ten_doesnotexist0000000000' }),
      404,
    );
  });

  it('revoking the operator’s token revokes the tenant tokens it made, audited in that tenant', async () => {
    const operator = await h.operator();
    const service = held(await make(operator, ['admin', 'credentials:vend']));
    const vend = held(await make(service, ['credentials:vend'], { tenant: b.id }));
    const account = await createKeysAccount(b);
    expectStatus(await vend.request('POST', `/v1/accounts/${account}/credentials`), 200);
    expectStatus(await operator.request('DELETE', `/v1/tokens/${service.id}`), 200);
    expectProblem(await vend.request('POST', `/v1/accounts/${account}/credentials`), 401);
    const [audited] = await auditOf(vend.id, 'token.revoked');
    expect(audited).toMatchObject({ tenant_id: b.id });
    expect(audited?.details.reason).toBe('parent_revoked');
  });

  it('a revocation reaches a live token below a parent that made over a thousand', async () => {
    const many = await h.tenant();
    const parent = held(await make(many.admin, ['admin', 'accounts:read']));
    const row = await h.database.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', parent.id)
      .executeTakeFirstOrThrow();
    // Made over the years and revoked since, as a nightly job's tokens would be.
    const old = Array.from({ length: 1100 }, (_, i) => ({
      ...row,
      id: `${parent.id}_old${String(i).padStart(4, '0')}`,
      token_hash: `hash-${parent.id}-${i}`,
      name: `nightly ${i}`,
      parent_token_id: parent.id,
      revoked_at: new Date().toISOString(),
    }));
    for (let start = 0; start < old.length; start += 100) {
      await h.database.db
        .insertInto('api_tokens')
        .values(old.slice(start, start + 100))
        .execute();
    }
    const survivor = { ...row, id: `${parent.id}_live`, token_hash: `hash-${parent.id}-live` };
    await h.database.db
      .insertInto('api_tokens')
      .values({ ...survivor, parent_token_id: old[1050]?.id ?? null, revoked_at: null })
      .execute();
    expectStatus(await many.admin.request('DELETE', `/v1/tokens/${parent.id}`), 200);
    const after = await h.database.db
      .selectFrom('api_tokens')
      .select('revoked_at')
      .where('id', '=', survivor.id)
      .executeTakeFirstOrThrow();
    expect(after.revoked_at).not.toBeNull();
  });

  it('tokens nest at most MAX_TOKEN_DEPTH deep', async () => {
    let current = held(await make(a.admin, ['admin', 'accounts:read']));
    for (let depth = 1; depth <= MAX_TOKEN_DEPTH; depth += 1) {
      current = held(await make(current, ['admin', 'accounts:read']));
    }
    expectStatus(await current.request('GET', '/v1/accounts'), 200);
    const deeper = await make(current, ['accounts:read']);
    expectProblem(deeper, 403);
    expect(deeper.body.detail).toContain(`would have ${MAX_TOKEN_DEPTH + 1} tokens above it`);
  });

  it('a child never outlives its parent', async () => {
    const parent = held(await make(a.admin, ['admin', 'accounts:read'], { expiresInDays: 2 }));
    const parentExpiry = parent.body.expiresAt as string;
    const longer = held(await make(parent, ['accounts:read'], { expiresInDays: 30 }));
    expect(longer.body.expiresAt).toBe(parentExpiry);
    const forever = held(await make(parent, ['accounts:read']));
    expect(forever.body.expiresAt).toBe(parentExpiry);
    const shorter = held(await make(parent, ['accounts:read'], { expiresInDays: 1 }));
    expect(Date.parse(shorter.body.expiresAt as string)).toBeLessThan(Date.parse(parentExpiry));
    const [audited] = await auditOf(forever.id, 'token.created');
    expect(audited?.details.expiresAt).toBe(parentExpiry);
    // A parent that has expired (its expiry moved into the past) takes its children with it.
    await h.database.db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', parent.id)
      .execute();
    h.services.tokens.forgetCached();
    expectProblem(await shorter.request('GET', '/v1/accounts'), 401);
  });

  it('revoking a parent revokes its descendants at once, audited', async () => {
    const parent = held(await make(a.admin, ['admin', 'accounts:read']));
    const child = held(await make(parent, ['admin', 'accounts:read']));
    const grandchild = held(await make(child, ['accounts:read']));
    // Warm this replica's cache first: the revocation must not wait for it.
    expectStatus(await grandchild.request('GET', '/v1/accounts'), 200);
    expectStatus(await child.request('GET', '/v1/accounts'), 200);
    expectStatus(await a.admin.request('DELETE', `/v1/tokens/${parent.id}`), 200);
    expectProblem(await child.request('GET', '/v1/accounts'), 401);
    expectProblem(await grandchild.request('GET', '/v1/accounts'), 401);
    const rows = await h.database.db
      .selectFrom('api_tokens')
      .select(['id', 'revoked_at'])
      .where('id', 'in', [child.id, grandchild.id])
      .execute();
    expect(rows.every((row) => row.revoked_at !== null)).toBe(true);
    const [audited] = await auditOf(grandchild.id, 'token.revoked');
    expect(audited?.details).toMatchObject({
      reason: 'parent_revoked',
      parentTokenId: child.id,
      revokedWith: parent.id,
    });
  });

  it('a child dies within the second when its parent is revoked on another replica', async () => {
    let now = Date.now();
    const other = await createHarness(dialect, { clock: () => new Date(now) });
    try {
      const tenant = await other.tenant();
      const parent = await tenant.token(['admin', 'accounts:read']);
      const created = await other.send('POST', '/v1/tokens', parent.headers, {
        name: 'child',
        scopes: ['accounts:read'],
      });
      expectStatus(created, 201);
      const child = { authorization: `Bearer ${created.body.secret}` };
      expectStatus(await other.send('GET', '/v1/accounts', child), 200);
      // Only the parent, as a replica that has not cascaded (or is mid-way) would leave it.
      await other.database.db
        .updateTable('api_tokens')
        .set({ revoked_at: new Date(now).toISOString() })
        .where('id', '=', parent.tokenId)
        .execute();
      expectStatus(await other.send('GET', '/v1/accounts', child), 200);
      now += 1001;
      expectProblem(await other.send('GET', '/v1/accounts', child), 401);
    } finally {
      await other.close();
    }
  });

  it('demoting the person behind them cuts the parent and the child', async () => {
    const c = await h.tenant();
    const parent = held(await make(c.admin, ['admin', 'accounts:read']));
    const child = held(await make(parent, ['accounts:read']));
    expectStatus(await child.request('GET', '/v1/accounts'), 200);
    const operator = await h.operator();
    const demoted = await operator.request(
      'PATCH',
      `/v1/users/${c.admin.userId}`,
      { role: 'tenant_viewer' },
      { 'onramp-tenant': c.id },
    );
    expectStatus(demoted, 200);
    expectProblem(await parent.request('GET', '/v1/accounts'), 401);
    // The child's own scope is one a viewer holds, yet it stood on a parent that is now revoked.
    expectProblem(await child.request('GET', '/v1/accounts'), 401);
    const [audited] = await auditOf(child.id, 'token.revoked');
    expect(audited?.details.reason).toBe('creator_demoted');
  });

  it('100 concurrent creates by one token make no more than the cap', async () => {
    const capped = await h.tenant(undefined, { maxTokens: 10 });
    const parent = held(await make(capped.admin, ['admin', 'accounts:read']));
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        make(parent, ['accounts:read'], { name: `burst ${i}` }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(9);
    expect(statuses.filter((s) => s === 422)).toHaveLength(91);
    const refused = responses.find((r) => r.status === 422);
    expect(refused?.body.type).toMatch(/limit_reached/);
    const live = await h.database.db
      .selectFrom('api_tokens')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('tenant_id', '=', capped.id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    expect(Number(live?.n)).toBe(10);
  });

  it('children made while their parent is being revoked all die with it', async () => {
    const racing = await h.tenant();
    for (let round = 0; round < 3; round += 1) {
      const parent = held(await make(racing.admin, ['admin', 'accounts:read']));
      const creates = Array.from({ length: 20 }, () => make(parent, ['accounts:read']));
      const revoke = racing.admin.request('DELETE', `/v1/tokens/${parent.id}`);
      const [revoked, ...responses] = await Promise.all([revoke, ...creates]);
      expectStatus(revoked as TestResponse, 200);
      for (const response of responses) expect([201, 401]).toContain(response.status);
      const live = await h.database.db
        .selectFrom('api_tokens')
        .select('id')
        .where('parent_token_id', '=', parent.id)
        .where('revoked_at', 'is', null)
        .execute();
      expect(live).toEqual([]);
      for (const response of responses.filter((r) => r.status === 201)) {
        expectProblem(
          await h.send('GET', '/v1/accounts', { authorization: `Bearer ${response.body.secret}` }),
          401,
        );
      }
    }
  });

  it('another tenant’s token id is not found, and its token keeps working', async () => {
    const theirs = held(await make(a.admin, ['accounts:read']));
    const mine = held(await make(b.admin, ['admin']));
    expectProblem(await mine.request('DELETE', `/v1/tokens/${theirs.id}`), 404);
    const child = held(await make(mine, ['admin']));
    expectProblem(await child.request('DELETE', `/v1/tokens/${theirs.id}`), 404);
    expectStatus(await theirs.request('GET', '/v1/accounts'), 200);
  });

  it('hostile names are kept as text or refused with the field named', async () => {
    const parent = held(await make(a.admin, ['admin', 'accounts:read']));
    const hostile = `<script>alert(1)</script> ' OR 1=1 -- ${'é'.repeat(10)}`;
    const kept = held(await make(parent, ['accounts:read'], { name: hostile }));
    expect(kept.body.name).toBe(hostile);
    for (const name of ['', 'x'.repeat(101), 'line\nbreak', 'nul\u0000byte']) {
      expectProblem(await make(parent, ['accounts:read'], { name }), 400, 'name');
    }
    expectProblem(
      await parent.request('POST', '/v1/tokens', { name: 'x', scopes: ['accounts:read', 'root'] }),
      400,
      'scopes[1]',
    );
  });

  it('the secret of a token made by a token is in its 201 body only', async () => {
    const parent = held(await make(a.admin, ['admin', 'accounts:read']));
    const child = held(await make(parent, ['accounts:read']));
    expectStatus(await child.request('GET', '/v1/accounts'), 200);
    const list = await parent.request('GET', '/v1/tokens');
    expect(list.text).not.toContain(child.secret);
    const audit = await a.admin.request('GET', '/v1/audit');
    expectStatus(audit, 200);
    expect(audit.text).not.toContain(child.secret);
    const rows = await h.database.db.selectFrom('api_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(child.secret);
    const auditRows = await h.database.db.selectFrom('audit_log').selectAll().execute();
    expect(JSON.stringify(auditRows)).not.toContain(child.secret);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('')).not.toContain(child.secret);
    expect(logLines.join('')).not.toContain(parent.secret);
    expectStatus(await a.admin.request('DELETE', `/v1/tokens/${parent.id}`), 200);
    expect((await a.admin.request('GET', '/v1/tokens')).text).not.toContain(child.secret);
  });
});
