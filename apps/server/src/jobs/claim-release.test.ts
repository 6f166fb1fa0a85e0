import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../testing/databases.ts';
import { createHarness, expectStatus, type Harness, type TestTenant } from '../testing/harness.ts';
import { seedOrganization } from '../testing/organization-seed.ts';
import { releaseHeldClaims } from './claim-release.ts';
import { createHealthScheduler } from './health-scheduler.ts';

const past = () => new Date(Date.now() - 1000).toISOString();

describe.each(TEST_DIALECTS)('job claims given back at shutdown on %s', (dialect) => {
  let h: Harness;
  let tenant: TestTenant;
  beforeAll(async () => {
    h = await createHarness(dialect, { healthSettings: { intervalMinutes: 60 } });
    tenant = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  async function createAccounts(count: number, base: number) {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const keys = h.aws.addUser('aws', String(base + i));
      const created = await tenant.admin.request('POST', '/v1/accounts', {
        method: 'access_keys',
        name: `Claimed ${base + i}`,
        partition: 'aws',
        ...keys,
      });
      expectStatus(created, 201);
      ids.push(created.body.id);
    }
    return ids;
  }

  it('releases only the stopping replica’s claims, due at once, and another replica takes them now', async () => {
    const ids = await createAccounts(4, 710000000000);
    const stopping = createHealthScheduler(h.services, { owner: 'stopping' });
    await stopping.scheduleNewAccounts();
    await h.database.db
      .updateTable('health_schedule')
      .set({ next_run_at: past() })
      .where('account_id', 'in', ids)
      .execute();
    const repo = h.services.health.repository;
    const until = new Date(Date.now() + 600_000).toISOString();
    const mine = await repo.claimDue('stopping', new Date().toISOString(), until, 3);
    const theirs = await repo.claimDue('other-replica', new Date().toISOString(), until, 3);
    expect(mine).toHaveLength(3);
    expect(theirs).toHaveLength(1);
    // An organization whose discovery this replica holds too.
    const { org } = await seedOrganization(h, tenant.id);
    await h.database.db
      .updateTable('organizations')
      .set({
        discovery_claimed_by: 'stopping',
        discovery_claim_expires_at: until,
        discovery_due_at: until,
      })
      .where('id', '=', org.id)
      .execute();

    const released = await releaseHeldClaims(
      h.database.db,
      ['stopping', 'never-claimed-anything'],
      new Date().toISOString(),
    );
    expect(released).toBe(4);

    const rows = await h.database.db
      .selectFrom('health_schedule')
      .select(['account_id', 'claimed_by', 'claim_expires_at', 'next_run_at'])
      .where('account_id', 'in', ids)
      .execute();
    for (const row of rows) {
      if (mine.some((claim) => claim.accountId === row.account_id)) {
        expect(row.claimed_by).toBeNull();
        expect(row.claim_expires_at).toBeNull();
        expect(Date.parse(row.next_run_at)).toBeLessThanOrEqual(Date.now());
      } else {
        // Another replica's claim is its own business.
        expect(row.claimed_by).toBe('other-replica');
      }
    }
    const organization = await h.database.db
      .selectFrom('organizations')
      .select(['discovery_claimed_by', 'discovery_due_at'])
      .where('id', '=', org.id)
      .executeTakeFirstOrThrow();
    expect(organization.discovery_claimed_by).toBeNull();
    expect(Date.parse(organization.discovery_due_at ?? '')).toBeLessThanOrEqual(Date.now());

    // The restarted replica (a new owner) checks the three at once, not after the 10-minute lease.
    const restarted = createHealthScheduler(h.services, { owner: 'restarted' });
    expect(await restarted.runOnce()).toBe(3);
  });

  it('gives back nothing when the replica holds nothing, or names no owner', async () => {
    expect(await releaseHeldClaims(h.database.db, ['idle-replica'], new Date().toISOString())).toBe(
      0,
    );
    expect(await releaseHeldClaims(h.database.db, [], new Date().toISOString())).toBe(0);
  });
});
