import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  type Actor,
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
} from '../../testing/harness.ts';

describe.each(TEST_DIALECTS)('tenants on %s', (dialect) => {
  let h: Harness;
  let operator: Actor;
  beforeAll(async () => {
    h = await createHarness(dialect);
    operator = await h.operator();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the operator creates a tenant with limits and a first admin, who can then sign in', async () => {
    const created = await operator.request('POST', '/v1/tenants', {
      name: 'Globex',
      limits: { maxAccounts: 5, partitions: ['aws'], methods: ['role'] },
      admin: { email: 'admin@globex.example', name: 'Hank', password: 'a very long password' },
    });
    expectStatus(created, 201);
    expect(created.body).toMatchObject({
      name: 'Globex',
      limits: { maxAccounts: 5, partitions: ['aws'], methods: ['role'] },
    });
    const login = await h.anonymous.request('POST', '/v1/session', {
      email: 'admin@globex.example',
      password: 'a very long password',
    });
    expectStatus(login, 200);
    expect(login.body.user).toMatchObject({ role: 'tenant_admin', tenantId: created.body.id });
    const list = await operator.request('GET', '/v1/tenants');
    expect(list.body.tenants.map((t: { name: string }) => t.name)).toContain('Globex');
    expectProblem(await operator.request('POST', '/v1/tenants', { name: 'Globex' }), 409, 'name');
  });

  it('validates input with the field named', async () => {
    expectProblem(await operator.request('POST', '/v1/tenants', { name: '' }), 400, 'name');
    expectProblem(
      await operator.request('POST', '/v1/tenants', {
        name: 'X',
        limits: { partitions: ['aws-gov'] },
      }),
      400,
      'limits.partitions[0]',
    );
    expectProblem(
      await operator.request('POST', '/v1/tenants', {
        name: 'Y',
        admin: { email: 'a@b.example', name: 'A', password: 'short' },
      }),
      400,
      'admin.password',
    );
  });

  it('changes limits and deletes, with audit entries', async () => {
    const created = await operator.request('POST', '/v1/tenants', { name: 'Initech' });
    const id = created.body.id as string;
    const patched = await operator.request('PATCH', `/v1/tenants/${id}`, {
      limits: { maxAccounts: 1 },
    });
    expectStatus(patched, 200);
    expect(patched.body.limits).toEqual({ maxAccounts: 1 });
    expectStatus(await operator.request('DELETE', `/v1/tenants/${id}`), 204);
    expectProblem(await operator.request('GET', `/v1/tenants/${id}`), 404);
    const audit = await operator.request('GET', `/v1/audit?tenant=${id}`);
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual([
      'tenant.deleted',
      'tenant.updated',
      'tenant.created',
    ]);
  });

  it('is the operator’s alone', async () => {
    const tenant = await h.tenant();
    const admin = await tenant.token(['admin', 'accounts:write']);
    for (const route of [
      { method: 'GET', url: '/v1/tenants' },
      { method: 'POST', url: '/v1/tenants', body: { name: 'Sneaky' } },
      { method: 'GET', url: `/v1/tenants/${tenant.id}` },
      { method: 'DELETE', url: `/v1/tenants/${tenant.id}` },
    ]) {
      await expectSecured(h, route, { forbidden: [tenant.admin, tenant.viewer, admin] });
    }
  });
});
