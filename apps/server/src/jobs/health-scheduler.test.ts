import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsGateway } from '../ports/aws-gateway.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../testing/databases.ts';
import { createHarness, expectStatus, type Harness, type TestTenant } from '../testing/harness.ts';
import { createServices } from '../wiring.ts';
import { createHealthScheduler } from './health-scheduler.ts';

const past = () => new Date(Date.now() - 1000).toISOString();

async function createAccounts(h: Harness, tenant: TestTenant, count: number, base: number) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const keys = h.aws.addUser('aws', String(base + i));
    const created = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: `Keys ${base + i}`,
      partition: 'aws',
      ...keys,
    });
    expectStatus(created, 201);
    ids.push(created.body.id);
  }
  return ids;
}

/** Scheduled checks per account (the check that connected each is not the scheduler's). */
async function checksPerAccount(h: Harness, ids: string[]): Promise<number[]> {
  const rows = await h.database.db
    .selectFrom('account_checks')
    .select(['account_id', (eb) => eb.fn.countAll().as('n')])
    .where('account_id', 'in', ids)
    .where('trigger', '=', 'schedule')
    .groupBy('account_id')
    .execute();
  const counts = new Map(rows.map((r) => [r.account_id, Number(r.n)]));
  return ids.map((id) => counts.get(id) ?? 0);
}

describe.each(TEST_DIALECTS)('health scheduler on %s', (dialect) => {
  let h: Harness;
  let tenant: TestTenant;
  beforeAll(async () => {
    h = await createHarness(dialect, { healthSettings: { intervalMinutes: 60 } });
    tenant = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('schedules new accounts an interval after their last check, spread', async () => {
    const ids = await createAccounts(h, tenant, 3, 610000000000);
    const scheduler = createHealthScheduler(h.services);
    await scheduler.scheduleNewAccounts();
    const rows = await h.database.db
      .selectFrom('health_schedule')
      .selectAll()
      .where('account_id', 'in', ids)
      .execute();
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      const inMinutes = (Date.parse(row.next_run_at) - Date.now()) / 60_000;
      expect(inMinutes).toBeGreaterThan(50);
      expect(inMinutes).toBeLessThan(67);
    }
    // Nothing is due yet.
    expect(await scheduler.runOnce()).toBe(0);
  });

  it('takes over a check whose claim expired, and leaves a live claim alone', async () => {
    const [expired, live] = await createAccounts(h, tenant, 2, 620000000000);
    if (!expired || !live) throw new Error('two accounts expected');
    const scheduler = createHealthScheduler(h.services, { owner: 'survivor' });
    await scheduler.scheduleNewAccounts();
    // A replica claimed both and died; one claim has run out, the other has not yet.
    await h.database.db
      .updateTable('health_schedule')
      .set({ next_run_at: past(), claimed_by: 'dead-replica', claim_expires_at: past() })
      .where('account_id', '=', expired)
      .execute();
    await h.database.db
      .updateTable('health_schedule')
      .set({
        next_run_at: past(),
        claimed_by: 'busy-replica',
        claim_expires_at: new Date(Date.now() + 60_000).toISOString(),
      })
      .where('account_id', '=', live)
      .execute();
    expect(await scheduler.runOnce()).toBe(1);
    expect(await checksPerAccount(h, [expired, live])).toEqual([1, 0]);
    const rows = await h.database.db
      .selectFrom('health_schedule')
      .selectAll()
      .where('account_id', 'in', [expired, live])
      .orderBy('account_id')
      .execute();
    const byId = new Map(rows.map((r) => [r.account_id, r]));
    expect(byId.get(expired)).toMatchObject({ claimed_by: null, claim_expires_at: null });
    expect(Date.parse(byId.get(expired)?.next_run_at ?? '')).toBeGreaterThan(Date.now());
    expect(byId.get(live)).toMatchObject({ claimed_by: 'busy-replica' });
  });

  it('keeps its workers busy: one slow check does not hold back the ones after it', async () => {
    const ids = await createAccounts(h, tenant, 6, 640000000000);
    const [slowId] = ids;
    const slowKey = (
      await h.database.db
        .selectFrom('accounts')
        .select('access_key_id')
        .where('id', '=', slowId ?? '')
        .executeTakeFirstOrThrow()
    ).access_key_id;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const finished: string[] = [];
    const gateway = h.aws.gateway;
    const aws: AwsGateway = {
      ...gateway,
      async identifyKeys(partition, keys) {
        if (keys.accessKeyId === slowKey) await held;
        const identity = await gateway.identifyKeys(partition, keys);
        finished.push(keys.accessKeyId);
        return identity;
      },
    };
    // Two workers, so a pass that waited for each claimed pair would stall behind the slow one.
    const scheduler = createHealthScheduler(
      createServices({ ...h.deps, aws, healthSettings: { concurrency: 2 } }),
    );
    await scheduler.scheduleNewAccounts();
    await h.database.db
      .updateTable('health_schedule')
      .set({ next_run_at: past() })
      .where('account_id', 'in', ids)
      .execute();
    const pass = scheduler.runOnce();
    await expect.poll(() => finished.length, { timeout: 10_000 }).toBe(5);
    expect(finished).not.toContain(slowKey);
    release();
    expect(await pass).toBe(6);
    expect(await checksPerAccount(h, ids)).toEqual(ids.map(() => 1));
  });

  it('drops the schedule of a deleted account', async () => {
    const [id] = await createAccounts(h, tenant, 1, 630000000000);
    const scheduler = createHealthScheduler(h.services);
    await scheduler.scheduleNewAccounts();
    expectStatus(await tenant.admin.request('DELETE', `/v1/accounts/${id}`), 204);
    const left = await h.database.db
      .selectFrom('health_schedule')
      .select('account_id')
      .where('account_id', '=', id ?? '')
      .execute();
    expect(left).toEqual([]);
  });
});

describe.runIf(TEST_DIALECTS.includes('postgres'))(
  'two scheduler replicas on one PostgreSQL database',
  () => {
    let database: TestDatabase;
    let first: Harness;
    let second: Harness;
    beforeAll(async () => {
      database = await createTestDatabase('postgres');
      first = await createHarness('postgres', {}, { database });
      // AWS answers slowly, so both replicas are claiming and checking at the same time.
      const slow = new Proxy({} as AwsGateway, {
        get:
          (_target, name) =>
          async (...args: unknown[]) => {
            await new Promise((resolve) => setTimeout(resolve, 5));
            return Reflect.apply(
              first.aws.gateway[name as keyof AwsGateway],
              first.aws.gateway,
              args,
            );
          },
      });
      second = await createHarness(
        'postgres',
        { envelope: first.deps.envelope, aws: slow },
        { database },
      );
    });
    afterAll(async () => {
      await second?.close();
      await first?.close();
      await database?.drop();
    });

    it('run each due check exactly once', async () => {
      const tenant = await first.tenant();
      const ids = await createAccounts(first, tenant, 24, 700000000000);
      const replicas = [
        createHealthScheduler(
          createServices({ ...first.deps, healthSettings: { concurrency: 3 } }),
          {
            owner: 'a',
          },
        ),
        createHealthScheduler(
          createServices({ ...second.deps, healthSettings: { concurrency: 3 } }),
          {
            owner: 'b',
          },
        ),
      ];
      // Both replicas find the new accounts at once: one schedule row each.
      await Promise.all(replicas.map((r) => r.scheduleNewAccounts()));
      await first.database.db
        .updateTable('health_schedule')
        .set({ next_run_at: past() })
        .where('account_id', 'in', ids)
        .execute();
      const ran = await Promise.all(replicas.map((r) => r.runOnce()));
      expect(ran.reduce((x, y) => x + y, 0)).toBe(24);
      expect(Math.min(...ran), `both replicas worked: ${ran}`).toBeGreaterThan(0);
      expect(await checksPerAccount(first, ids)).toEqual(ids.map(() => 1));
      // And again: nothing is due now on either.
      expect(await Promise.all(replicas.map((r) => r.runOnce()))).toEqual([0, 0]);
    });
  },
);
