import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../testing/databases.ts';
import { createHarness, type Harness, type TestTenant } from '../testing/harness.ts';
import { MANAGEMENT_ROLE, roleArnOf, seedOrganization } from '../testing/organization-seed.ts';
import { createOrganizationDiscoveryJob } from './organization-discovery.ts';

describe.each(TEST_DIALECTS)('the organization discovery job on %s', (dialect) => {
  let h: Harness;
  let tenant: TestTenant;
  beforeAll(async () => {
    h = await createHarness(dialect);
    tenant = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** An organization whose management role reported, due for discovery now. */
  async function dueOrganization(managementAccount: string) {
    const { org } = await seedOrganization(h, tenant.id);
    await h.database.db
      .updateTable('organizations')
      .set({
        management_role_arn: roleArnOf('aws', managementAccount, MANAGEMENT_ROLE),
        discovery_due_at: new Date(Date.now() - 1000).toISOString(),
      })
      .where('id', '=', org.id)
      .execute();
    return org.id;
  }
  const claimsOf = (ids: string[]) =>
    h.database.db
      .selectFrom('organizations')
      .select(['id', 'discovery_claimed_by', 'last_discovery_at'])
      .where('id', 'in', ids)
      .execute();

  it('claims no organization once stopping, and takes every due one otherwise', async () => {
    const ids = [await dueOrganization('600000000101'), await dueOrganization('600000000202')];
    const job = createOrganizationDiscoveryJob(h.services, { owner: 'job-test' });

    // Stopping (a shutdown began): the due organizations stay unclaimed for another replica.
    expect(await job.runOnce({ stopping: true })).toBe(0);
    for (const row of await claimsOf(ids)) {
      expect(row.discovery_claimed_by).toBeNull();
      expect(row.last_discovery_at).toBeNull();
    }

    // Running: each is claimed, discovered (here AWS knows no such organization: recorded as an
    // error) and released.
    expect(await job.runOnce()).toBeGreaterThanOrEqual(2);
    for (const row of await claimsOf(ids)) {
      expect(row.discovery_claimed_by).toBeNull();
      expect(row.last_discovery_at).not.toBeNull();
    }
  });
});
