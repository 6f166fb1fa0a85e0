import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealthScheduler } from '../../jobs/health-scheduler.ts';
import type { AwsGateway } from '../../ports/aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';

/**
 * A check runs for as long as AWS takes to answer; what happens to the account meanwhile (a verify,
 * a re-check asked for) must not be undone or lost when it ends. The fake AWS can hold the next
 * simulation after it answered, until the test lets it go.
 */
describe.each(TEST_DIALECTS)('checks that overlap on %s', (dialect) => {
  let h: Harness;
  let sequence = 0;
  let hold: { reached: () => void; released: Promise<void> } | undefined;

  /** Holds the next permission simulation; resolves once a check is held there. */
  function holdNextSimulation(): { reached: Promise<void>; release: () => void } {
    let release = () => {};
    let reached = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const reachedPromise = new Promise<void>((resolve) => {
      reached = resolve;
    });
    hold = { reached, released };
    return { reached: reachedPromise, release };
  }

  beforeAll(async () => {
    const aws = new Proxy({} as AwsGateway, {
      get:
        (_target, name) =>
        async (...args: unknown[]) => {
          const result = await Reflect.apply(
            h.aws.gateway[name as keyof AwsGateway],
            h.aws.gateway,
            args,
          );
          if (name === 'simulatePrincipalPolicy' && hold) {
            const held = hold;
            hold = undefined;
            held.reached();
            await held.released;
          }
          return result;
        },
    });
    h = await createHarness(dialect, { aws });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A fresh tenant with one access-key account, degraded: it lacks all but EC2's reads. */
  async function degradedAccount(): Promise<{ tenant: TestTenant; id: string; arn: string }> {
    const tenant = await h.tenant();
    const keys = h.aws.addUser('aws', String(720000000000 + ++sequence), `racer${sequence}`);
    const created = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: `Racer ${sequence}`,
      partition: 'aws',
      ...keys,
    });
    expectStatus(created, 201);
    const { id, principalArn: arn } = created.body as { id: string; principalArn: string };
    h.aws.setPermissions(arn, { allows: ['ec2:Describe*'] });
    const checked = await tenant.admin.request('POST', `/v1/accounts/${id}/check`);
    expectStatus(checked, 200);
    expect(checked.body.status).toBe('degraded');
    return { tenant, id, arn };
  }

  const history = async (tenant: TestTenant, id: string) => {
    const checks = await tenant.admin.request('GET', `/v1/accounts/${id}/checks`);
    expectStatus(checks, 200);
    return (
      checks.body.checks as { trigger: string; previousStatus: string; status: string }[]
    ).map((c) => `${c.trigger} ${c.previousStatus}→${c.status}`);
  };

  const dueNow = (id: string) =>
    h.database.db
      .updateTable('health_schedule')
      .set({ next_run_at: new Date(Date.now() - 1000).toISOString() })
      .where('account_id', '=', id)
      .execute();

  it('a check that began before a verify does not undo it when it ends', async () => {
    const { tenant, id, arn } = await degradedAccount();
    // POST /check reads the old permissions; AWS answers, and it is held there.
    const held = holdNextSimulation();
    const slowCheck = tenant.admin.request('POST', `/v1/accounts/${id}/check`);
    await held.reached;
    // Meanwhile the tenant gives the user what it lacked and verifies.
    h.aws.setPermissions(arn, { allows: ['*'] });
    const verified = await tenant.admin.request('POST', `/v1/accounts/${id}/permissions/verify`);
    expectStatus(verified, 200);
    expect(verified.body.account.status).toBe('valid');
    held.release();

    // The older check is told its result was overtaken, and changes nothing.
    const slow = await slowCheck;
    expectProblem(slow, 409, 'id');
    expect(slow.body.errors[0].code).toBe('checked_meanwhile');
    const account = await tenant.admin.request('GET', `/v1/accounts/${id}`);
    expect(account.body.status).toBe('valid');
    expect((account.body.findings as { missing: string[] }[]).flatMap((f) => f.missing)).toEqual(
      [],
    );
    expect(account.body.permissions.trimmed).toEqual([]);
    const checks = await history(tenant, id);
    expect(checks[0]).toBe('permissions_updated degraded→valid');
    expect(checks.slice(0, 2)).not.toContain('manual degraded→degraded');
  });

  it('a scheduled check overtaken by a verify is not recorded, and runs again an interval on', async () => {
    const { tenant, id, arn } = await degradedAccount();
    const scheduler = createHealthScheduler(h.services, { owner: `overtaken-${dialect}` });
    await scheduler.scheduleNewAccounts();
    await dueNow(id);
    const held = holdNextSimulation();
    const pass = scheduler.runOnce();
    await held.reached;
    h.aws.setPermissions(arn, { allows: ['*'] });
    expectStatus(await tenant.admin.request('POST', `/v1/accounts/${id}/permissions/verify`), 200);
    held.release();
    await pass;

    const account = await tenant.admin.request('GET', `/v1/accounts/${id}`);
    expect(account.body.status).toBe('valid');
    const checks = await history(tenant, id);
    expect(checks[0]).toBe('permissions_updated degraded→valid');
    expect(checks.filter((c) => c.startsWith('schedule'))).toEqual([]);
    const schedule = await h.services.health.repository.findSchedule(id);
    expect(Date.parse(schedule?.nextRunAt ?? '')).toBeGreaterThan(Date.now() + 60 * 60_000);
    expect(schedule?.failures).toBe(0);
  });

  it('a re-check asked for while the scheduled check runs is run after it, as asked for', async () => {
    const { tenant, id, arn } = await degradedAccount();
    const scheduler = createHealthScheduler(h.services, { owner: `asked-${dialect}` });
    await scheduler.scheduleNewAccounts();
    await dueNow(id);
    const held = holdNextSimulation();
    const pass = scheduler.runOnce();
    await held.reached;
    // The tenant fixes the user and asks for its accounts to be checked again.
    h.aws.setPermissions(arn, { allows: ['*'] });
    const asked = await tenant.admin.request('POST', '/v1/accounts/recheck', { partition: 'aws' });
    expectStatus(asked, 200);
    expect(asked.body).toEqual({ scheduled: 1 });
    held.release();
    await pass;
    await scheduler.runOnce();

    // The check that was under way read the old permissions; the one asked for ran after it.
    const checks = await history(tenant, id);
    expect(checks.slice(0, 2)).toEqual(['manual degraded→valid', 'schedule degraded→degraded']);
    const account = await tenant.admin.request('GET', `/v1/accounts/${id}`);
    expect(account.body.status).toBe('valid');
    const row = await h.database.db
      .selectFrom('health_schedule')
      .select(['requested_trigger', 'next_run_at', 'claimed_by'])
      .where('account_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.requested_trigger).toBeNull();
    expect(row.claimed_by).toBeNull();
    expect(Date.parse(String(row.next_run_at))).toBeGreaterThan(Date.now() + 60 * 60_000);
  });

  it('a re-check asked for while a manual check runs stays due; one asked for before is answered', async () => {
    const { tenant, id, arn } = await degradedAccount();
    const scheduler = createHealthScheduler(h.services, { owner: `manual-${dialect}` });
    await scheduler.scheduleNewAccounts();
    // Asked for before the check: the check answers it.
    expectStatus(
      await tenant.admin.request('POST', '/v1/accounts/recheck', { partition: 'aws' }),
      200,
    );
    expectStatus(await tenant.admin.request('POST', `/v1/accounts/${id}/check`), 200);
    const answered = await h.services.health.repository.findSchedule(id);
    expect(Date.parse(answered?.nextRunAt ?? '')).toBeGreaterThan(Date.now() + 60 * 60_000);

    // Asked for while it runs: still due afterwards, and run as asked for.
    const held = holdNextSimulation();
    const slowCheck = tenant.admin.request('POST', `/v1/accounts/${id}/check`);
    await held.reached;
    h.aws.setPermissions(arn, { allows: ['*'] });
    expectStatus(
      await tenant.admin.request('POST', '/v1/accounts/recheck', { partition: 'aws' }),
      200,
    );
    held.release();
    expectStatus(await slowCheck, 200);
    const kept = await h.services.health.repository.findSchedule(id);
    expect(Date.parse(kept?.nextRunAt ?? '')).toBeLessThanOrEqual(Date.now());
    expect(await scheduler.runOnce()).toBe(1);
    expect((await history(tenant, id)).slice(0, 2)).toEqual([
      'manual degraded→valid',
      'manual degraded→degraded',
    ]);
  });

  it('a claim given back unstarted (the replica stopping) keeps the re-check asked for', async () => {
    const { tenant, id } = await degradedAccount();
    const scheduler = createHealthScheduler(h.services, { owner: `stopping-${dialect}` });
    await scheduler.scheduleNewAccounts();
    expectStatus(
      await tenant.admin.request('POST', '/v1/accounts/recheck', { partition: 'aws' }),
      200,
    );
    const repo = h.services.health.repository;
    const now = new Date();
    const claims = await repo.claimDue(
      'stopping',
      now.toISOString(),
      new Date(now.getTime() + 60_000).toISOString(),
      100,
    );
    expect(claims.find((c) => c.accountId === id)?.requested).toBe('manual');
    for (const c of claims) await repo.release(c.accountId, 'stopping', now.toISOString());
    expect(await scheduler.runOnce()).toBeGreaterThanOrEqual(1);
    expect((await history(tenant, id))[0]).toBe('manual degraded→degraded');
  });

  it('a check that ends before another starts is applied as before', async () => {
    const { tenant, id, arn } = await degradedAccount();
    h.aws.setPermissions(arn, { allows: ['*'] });
    const checked = await tenant.admin.request('POST', `/v1/accounts/${id}/check`);
    expectStatus(checked, 200);
    expect(checked.body).toMatchObject({ previousStatus: 'degraded', status: 'valid' });
    expect((await history(tenant, id))[0]).toBe('manual degraded→valid');
  });
});
