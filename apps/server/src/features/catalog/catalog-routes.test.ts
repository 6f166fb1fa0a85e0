import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';

describe.each(TEST_DIALECTS)('catalog and policy preview on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('lists products and bundles, with what each partition offers', async () => {
    const response = await a.viewer.request('GET', '/v1/catalog');
    expectStatus(response, 200);
    expect(response.body.platform).toBe('Acme Cloud');
    expect(response.body.products.length).toBeGreaterThanOrEqual(3);
    expect(
      response.body.partitions.find((p: { partition: string }) => p.partition === 'aws-cn'),
    ).toMatchObject({ customizable: false });
  });

  it('previews the exact policy, changing with the selection', async () => {
    const small = await a.viewer.request('POST', '/v1/policies/preview', {
      partition: 'aws',
      bundles: ['nodes-ec2'],
    });
    expectStatus(small, 200);
    const large = await a.viewer.request('POST', '/v1/policies/preview', {
      partition: 'aws',
      bundles: ['nodes-ec2', 'kubernetes-eks'],
      regions: ['eu-west-1'],
    });
    expect(small.body.policies[0].document.Statement[0]).toMatchObject({
      Action: ['ec2:*', 'iam:ListInstanceProfiles'],
      Resource: '*',
    });
    expect(JSON.stringify(large.body)).toContain('eks:*');
    expect(JSON.stringify(large.body)).toContain('"aws:RequestedRegion":["eu-west-1"]');
    expect(small.body.policies[0].size).toBeLessThan(large.body.policies[0].size);
    const gov = await a.viewer.request('POST', '/v1/policies/preview', {
      partition: 'aws-us-gov',
      bundles: 'default',
    });
    expect(JSON.stringify(gov.body)).toContain('arn:aws-us-gov:iam::*:role/OnrampRole');
    expect(JSON.stringify(gov.body)).not.toContain('arn:aws:');
  });

  it('explains bad selections on their field', async () => {
    expectProblem(
      await a.viewer.request('POST', '/v1/policies/preview', {
        partition: 'aws',
        bundles: ['nope'],
      }),
      422,
      'bundles[0]',
    );
    expectProblem(
      await a.viewer.request('POST', '/v1/policies/preview', {
        partition: 'aws-cn',
        bundles: ['nodes-ec2'],
      }),
      422,
      'bundles',
    );
    expectProblem(
      await a.viewer.request('POST', '/v1/policies/preview', {
        partition: 'aws',
        bundles: 'default',
        regions: ['us-gov-west-1'],
      }),
      422,
      'regions[0]',
    );
    expectProblem(
      await a.viewer.request('POST', '/v1/policies/preview', { partition: 'mars' }),
      400,
      'partition',
    );
    expectProblem(
      await a.viewer.request('POST', '/v1/policies/preview', '{"partition":'),
      400,
      'body',
    );
  });

  it('needs a signed-in user or a token', async () => {
    expectProblem(await h.anonymous.request('GET', '/v1/catalog'), 401);
    expectProblem(
      await h.anonymous.request('POST', '/v1/policies/preview', { partition: 'aws' }),
      401,
    );
  });
});
