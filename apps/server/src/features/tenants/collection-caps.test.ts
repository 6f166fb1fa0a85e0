import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  type Actor,
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestResponse,
  type TestTenant,
} from '../../testing/harness.ts';

let sequence = 0;
const unique = (prefix: string) => `${prefix} ${++sequence}`;

/** Sends `count` requests at once and sorts the answers into made and refused. */
async function race(count: number, send: () => Promise<TestResponse>) {
  const responses = await Promise.all(Array.from({ length: count }, send));
  return {
    made: responses.filter((r) => r.status === 201),
    refused: responses.filter((r) => r.status !== 201),
    statuses: responses.map((r) => r.status).join(','),
  };
}

/** 422 limit_reached on the collection's field, naming the limit and the cap, with what to do. */
function expectCapReached(response: TestResponse, field: string, limit: string, cap: number) {
  expectProblem(response, 422, field);
  expect(response.body).toMatchObject({
    type: 'urn:onramp:problem:limit_reached',
    limit,
    cap,
    errors: [
      expect.objectContaining({
        field,
        code: 'limit_reached',
        message: expect.stringContaining(String(cap)),
        hint: expect.stringMatching(/Delete|Revoke|Remove/),
      }),
    ],
  });
  expect(response.body.detail).toContain(limit);
}

/**
 * Nothing a caller creates grows without bound: every collection has a cap (the server's, or the
 * tenant's own limit), checked under a lock in the transaction that inserts, so requests released
 * together cannot all slip under it.
 */
describe.each(TEST_DIALECTS)('collection caps on %s', (dialect) => {
  let h: Harness;
  let operator: Actor;

  beforeAll(async () => {
    h = await createHarness(dialect, {
      collectionCaps: { pendingConnections: 3, webhooks: 2, tokens: 3, users: 4 },
      webhookSettings: { allowPrivate: true },
    });
    operator = await h.operator();
  });
  afterAll(async () => {
    await h?.close();
  });

  const createConnection = (tenant: TestTenant) =>
    tenant.admin.request('POST', '/v1/connections', { name: unique('Set-up'), partition: 'aws' });
  const createWebhook = (actor: Actor) =>
    actor.request('POST', '/v1/webhooks', {
      url: `http://127.0.0.1:9/hook/${++sequence}`,
      events: ['account.created'],
    });
  const createToken = (actor: Actor) =>
    actor.request('POST', '/v1/tokens', { name: unique('ci'), scopes: ['accounts:read'] });
  const createUser = (tenant: TestTenant) =>
    tenant.admin.request('POST', '/v1/users', {
      email: `user-${++sequence}-${Math.random().toString(36).slice(2)}@example.com`,
      name: unique('User'),
      password: 'a long enough password',
      role: 'tenant_viewer',
    });

  it('pending connections: 10 at once against a cap of 3 make 3; connecting or deleting one frees a place', async () => {
    const tenant = await h.tenant();
    const { made, refused, statuses } = await race(10, () => createConnection(tenant));
    expect(made.length, statuses).toBe(3);
    for (const r of refused) expectCapReached(r, 'connections', 'maxPendingConnections', 3);

    // A connected set-up is an account, bounded by maxAccounts: it no longer counts.
    const first = made[0]?.body as { id: string; externalId: string };
    const roleArn = `arn:aws:iam::${600000000000 + ++sequence}:role/OnrampRole`;
    h.aws.addRole(roleArn, first.externalId);
    expectStatus(
      await tenant.admin.request('POST', '/v1/accounts', {
        method: 'role',
        connectionId: first.id,
        roleArn,
      }),
      201,
    );
    expectStatus(await createConnection(tenant), 201);
    expectCapReached(await createConnection(tenant), 'connections', 'maxPendingConnections', 3);

    const second = made[1]?.body as { id: string };
    expectStatus(await tenant.admin.request('DELETE', `/v1/connections/${second.id}`), 204);
    expectStatus(await createConnection(tenant), 201);
  });

  it('webhooks: a tenant’s and the operator’s own, each capped', async () => {
    const tenant = await h.tenant();
    const mine = await race(6, () => createWebhook(tenant.admin));
    expect(mine.made.length, mine.statuses).toBe(2);
    for (const r of mine.refused) expectCapReached(r, 'webhooks', 'maxWebhooks', 2);

    const own = await race(6, () => createWebhook(operator));
    expect(own.made.length, own.statuses).toBe(2);
    for (const r of own.refused) {
      expectCapReached(r, 'webhooks', 'maxWebhooks', 2);
      expect(r.body.detail).toContain('operator');
    }
    const stored = await h.database.db
      .selectFrom('webhook_endpoints')
      .select('id')
      .where('tenant_id', 'is', null)
      .execute();
    expect(stored).toHaveLength(2);

    // Deleting one makes room for one.
    const id = mine.made[0]?.body.endpoint.id as string;
    expectStatus(await tenant.admin.request('DELETE', `/v1/webhooks/${id}`), 204);
    expectStatus(await createWebhook(tenant.admin), 201);
  });

  it('API tokens: live ones only; revoking one makes room', async () => {
    const tenant = await h.tenant();
    const { made, refused, statuses } = await race(8, () => createToken(tenant.admin));
    expect(made.length, statuses).toBe(3);
    for (const r of refused) expectCapReached(r, 'tokens', 'maxTokens', 3);

    const id = made[0]?.body.token.id as string;
    expectStatus(await tenant.admin.request('DELETE', `/v1/tokens/${id}`), 200);
    expectStatus(await createToken(tenant.admin), 201);
    expectCapReached(await createToken(tenant.admin), 'tokens', 'maxTokens', 3);

    const own = await race(8, () => createToken(operator));
    expect(own.made.length, own.statuses).toBe(3);
  });

  it('users: the admin and viewer count, so 6 at once against 4 make 2', async () => {
    const tenant = await h.tenant();
    const { made, refused, statuses } = await race(6, () => createUser(tenant));
    expect(made.length, statuses).toBe(2);
    for (const r of refused) expectCapReached(r, 'users', 'maxUsers', 4);
    const users = await h.database.db
      .selectFrom('users')
      .select('id')
      .where('tenant_id', '=', tenant.id)
      .execute();
    expect(users).toHaveLength(4);
  });

  it('a tenant’s own limits replace the server’s caps, for that tenant only', async () => {
    const small = await h.tenant(undefined, {
      maxPendingConnections: 1,
      maxWebhooks: 0,
      maxTokens: 1,
      maxUsers: 2,
    });
    const large = await h.tenant(undefined, { maxPendingConnections: 5 });

    expectStatus(await createConnection(small), 201);
    expectCapReached(await createConnection(small), 'connections', 'maxPendingConnections', 1);
    expectCapReached(await createWebhook(small.admin), 'webhooks', 'maxWebhooks', 0);
    expectStatus(await createToken(small.admin), 201);
    expectCapReached(await createToken(small.admin), 'tokens', 'maxTokens', 1);
    expectCapReached(await createUser(small), 'users', 'maxUsers', 2);

    const { made } = await race(7, () => createConnection(large));
    expect(made).toHaveLength(5);
    // A full tenant takes nothing from another.
    expectStatus(await createWebhook(large.admin), 201);
  });

  it('the operator sets the limits through the API, and reads them back', async () => {
    const created = await operator.request('POST', '/v1/tenants', {
      name: unique('Limited'),
      limits: { maxPendingConnections: 2, maxWebhooks: 1, maxTokens: 5, maxUsers: 10 },
    });
    expectStatus(created, 201);
    expect(created.body.limits).toEqual({
      maxPendingConnections: 2,
      maxWebhooks: 1,
      maxTokens: 5,
      maxUsers: 10,
    });
    expectProblem(
      await operator.request('PATCH', `/v1/tenants/${created.body.id}`, {
        limits: { maxWebhooks: -1 },
      }),
      400,
      'limits.maxWebhooks',
    );
  });

  it('tenants: the operator’s creates stop at the server’s cap', async () => {
    const small = await createHarness(dialect, { collectionCaps: { tenants: 3 } });
    try {
      const admin = await small.operator();
      const { made, refused, statuses } = await race(8, () =>
        admin.request('POST', '/v1/tenants', { name: unique('Tenant') }),
      );
      expect(made.length, statuses).toBe(3);
      for (const r of refused) expectCapReached(r, 'tenants', 'maxTenants', 3);
      const tenants = await small.database.db.selectFrom('tenants').select('id').execute();
      expect(tenants).toHaveLength(3);
    } finally {
      await small.close();
    }
  });
});
