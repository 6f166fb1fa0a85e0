import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';

/**
 * An operator token (made by an operator, bound to no tenant) with narrow scopes is what a platform
 * service holds: it names the tenant it acts for in Onramp-Tenant, and does there what its scopes
 * allow, nothing more.
 */
describe.each(TEST_DIALECTS)('narrow operator tokens on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let sequence = 0;

  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  const createKeysAccount = async (tenant: TestTenant) => {
    const keys = h.aws.addUser('aws', String(500000000000 + ++sequence));
    const response = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: `Keys ${sequence}`,
      partition: 'aws',
      ...keys,
    });
    expectStatus(response, 201);
    return response.body.id as string;
  };

  it('vends credentials for the tenant it names', async () => {
    const id = await createKeysAccount(a);
    const vend = await h.operatorToken(['credentials:vend']);
    const response = await vend.request('POST', `/v1/accounts/${id}/credentials`, undefined, {
      'onramp-tenant': a.id,
    });
    expectStatus(response, 200);
    expect(response.body.accessKeyId).toMatch(/^ASIA/);
  });

  it('reads the named tenant with accounts:read, and only with it', async () => {
    const id = await createKeysAccount(a);
    const reader = await h.operatorToken(['accounts:read']);
    const list = await reader.request('GET', '/v1/accounts', undefined, { 'onramp-tenant': a.id });
    expectStatus(list, 200);
    expect(list.body.accounts.map((x: { id: string }) => x.id)).toContain(id);
    // Its scope, not its lack of a tenant, is what stops a write or a vend.
    const write = await reader.request(
      'PATCH',
      `/v1/accounts/${id}`,
      { name: 'Renamed' },
      {
        'onramp-tenant': a.id,
      },
    );
    expectProblem(write, 403);
    expect(write.body.detail).toContain('accounts:write');
    const vend = await reader.request('POST', `/v1/accounts/${id}/credentials`, undefined, {
      'onramp-tenant': a.id,
    });
    expectProblem(vend, 403);
    expect(vend.body.detail).toContain('credentials:vend');
  });

  it('cannot reach another tenant’s account through the tenant it names', async () => {
    const id = await createKeysAccount(a);
    const vend = await h.operatorToken(['credentials:vend']);
    const response = await vend.request('POST', `/v1/accounts/${id}/credentials`, undefined, {
      'onramp-tenant': b.id,
    });
    expectProblem(response, 404);
  });

  it('must name a tenant that exists', async () => {
    const id = await createKeysAccount(a);
    const vend = await h.operatorToken(['credentials:vend']);
    const unnamed = await vend.request('POST', `/v1/accounts/${id}/credentials`);
    expectProblem(unnamed, 400, 'Onramp-Tenant');
    const unknown = await vend.request('POST', `/v1/accounts/${id}/credentials`, undefined, {
      'onramp-tenant': 'ten_doesnotexist0000000000',
    });
    expectProblem(unknown, 404);
  });

  it('does none of the operator’s own work without the admin scope', async () => {
    const vend = await h.operatorToken(['credentials:vend', 'accounts:read', 'accounts:write']);
    expectProblem(await vend.request('GET', '/v1/tenants'), 403);
    expectProblem(await vend.request('POST', '/v1/tenants', { name: 'Sneaky' }), 403);
    expectProblem(
      await vend.request('GET', '/v1/tokens', undefined, { 'onramp-tenant': a.id }),
      403,
    );
    expectProblem(
      await vend.request('GET', '/v1/users', undefined, { 'onramp-tenant': a.id }),
      403,
    );
  });

  it('a tenant’s token never acts for another tenant', async () => {
    const id = await createKeysAccount(a);
    const tenantToken = await a.token(['credentials:vend']);
    const elsewhere = await tenantToken.request(
      'POST',
      `/v1/accounts/${id}/credentials`,
      undefined,
      {
        'onramp-tenant': b.id,
      },
    );
    expectProblem(elsewhere, 403);
  });
});
