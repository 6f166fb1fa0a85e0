import { getPartition, PARTITION_IDS } from '@onramp/core';
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
 * AWS answers a key of another partition as it answers an unknown key (InvalidClientTokenId): only
 * asking the other partitions tells the two apart. The answer names the partition field, with the
 * partition to switch to, so the console can offer the switch.
 */
describe.each(TEST_DIALECTS)('keys of another partition on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let sequence = 0;

  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  const pairs = PARTITION_IDS.flatMap((home) =>
    PARTITION_IDS.filter((chosen) => chosen !== home).map((chosen) => [home, chosen] as const),
  );

  it.each(pairs)(
    'keys of %s sent as %s: the partition field, with the switch',
    async (home, chosen) => {
      const keys = h.aws.addUser(home, String(800000000000 + ++sequence));
      const body = { method: 'access_keys', name: `Keys ${sequence}`, partition: chosen, ...keys };
      const expected = {
        field: 'partition',
        code: 'wrong_partition',
        message: expect.stringContaining(`belong to ${getPartition(home).displayName}`),
        hint: `Choose ${getPartition(home).displayName} as the partition.`,
        suggestion: home,
      };

      const validated = await a.admin.request('POST', '/v1/accounts/validate', body);
      expectStatus(validated, 200);
      expect(validated.body.valid).toBe(false);
      expect(validated.body.errors).toEqual([expected]);

      const created = await a.admin.request('POST', '/v1/accounts', body);
      expectProblem(created, 422, 'partition');
      expect(created.body.errors).toEqual([expected]);
      expect(created.text).not.toContain(keys.secretAccessKey);

      // Switched as suggested, the same keys connect.
      const switched = await a.admin.request('POST', '/v1/accounts', { ...body, partition: home });
      expectStatus(switched, 201);
      expect(switched.body.partition).toBe(home);
    },
  );

  it('says nothing of a partition for a key no partition knows', async () => {
    const response = await a.admin.request('POST', '/v1/accounts/validate', {
      method: 'access_keys',
      name: 'Unknown',
      partition: 'aws',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    });
    expectStatus(response, 200);
    expect(response.body.errors.map((e: { field: string }) => e.field)).toEqual(['accessKeyId']);
    expect(response.body.errors[0].suggestion).toBeUndefined();
  });
});
