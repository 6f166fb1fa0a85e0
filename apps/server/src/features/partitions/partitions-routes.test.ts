import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  HUB_ACCOUNT,
  type TestResponse,
} from '../../testing/harness.ts';

describe.each(TEST_DIALECTS)('partitions on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect);
  });
  afterAll(async () => {
    await h?.close();
  });

  const offers = async (limits = {}) => {
    const tenant = await h.tenant(undefined, limits);
    const response = await tenant.viewer.request('GET', '/v1/partitions');
    expectStatus(response, 200);
    return Object.fromEntries(
      (response.body.partitions as TestResponse['body'][]).map((p) => [p.partition, p]),
    );
  };

  it('offers roles where the operator configured a hub identity, and keys everywhere', async () => {
    const byId = await offers();
    expect(Object.keys(byId)).toEqual(['aws', 'aws-us-gov', 'aws-cn']);
    expect(byId.aws).toMatchObject({
      displayName: 'AWS',
      methods: ['role', 'access_keys'],
      reason: null,
      trustedPrincipal: {
        arn: `arn:aws:iam::${HUB_ACCOUNT}:role/onramp-hub`,
        accountId: HUB_ACCOUNT,
      },
    });
    expect(byId.aws?.regions).toContainEqual({ id: 'us-east-1', description: expect.any(String) });
    expect(byId['aws-us-gov']).toMatchObject({ methods: ['role', 'access_keys'] });
    expect(byId['aws-cn']).toMatchObject({
      methods: ['access_keys'],
      reason: expect.stringContaining('hub identity'),
      trustedPrincipal: null,
    });
    expect(byId['aws-cn']?.regions.map((r: { id: string }) => r.id)).toContain('cn-north-1');
  });

  it('respects the tenant’s limits', async () => {
    const byId = await offers({ partitions: ['aws-us-gov'], methods: ['access_keys'] });
    expect(Object.keys(byId)).toEqual(['aws-us-gov']);
    expect(byId['aws-us-gov']).toMatchObject({
      methods: ['access_keys'],
      reason: expect.stringContaining('may not connect accounts with IAM roles'),
      trustedPrincipal: null,
    });
  });

  it('is for signed-in readers of a tenant', async () => {
    const tenant = await h.tenant();
    await expectSecured(
      h,
      { method: 'GET', url: '/v1/partitions' },
      { forbidden: [await tenant.token(['credentials:vend'])] },
    );
    expectStatus(
      await (await tenant.token(['accounts:read'])).request('GET', '/v1/partitions'),
      200,
    );
    const operator = await h.operator();
    expectProblem(await operator.request('GET', '/v1/partitions'), 400, 'Onramp-Tenant');
    expectStatus(
      await operator.request('GET', '/v1/partitions', undefined, { 'onramp-tenant': tenant.id }),
      200,
    );
    expectProblem(
      await operator.request('GET', '/v1/partitions', undefined, {
        'onramp-tenant': 'ten_missing',
      }),
      404,
    );
  });
});
