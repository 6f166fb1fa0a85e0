import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppError } from '../../http/problems.ts';
import { type AwsGateway, AwsProblem } from '../../ports/aws-gateway.ts';
import { createUnitWorld, recordingEvents, type UnitWorld } from '../../testing/fakes.ts';
import { createHealthService, DEFAULT_HEALTH, FIRST_STALE_RETRY_MS } from './health-service.ts';

/**
 * The health service on its own: the real accounts service over SQLite in memory and a fake AWS, an
 * outbox of its own that is a list, and a random source the test chooses. No HTTP, no PostgreSQL.
 */
const MINUTE = 60_000;
const INTERVAL_MS = DEFAULT_HEALTH.intervalMinutes * MINUTE;

/** The fake AWS with every call unanswered, as in an outage (5xx, throttling past the retries). */
function unanswered(gateway: AwsGateway): AwsGateway {
  const outage = async () => {
    throw new AwsProblem('upstream', 'aws', 'upstream_unavailable', 'AWS did not answer (503).');
  };
  return Object.fromEntries(Object.keys(gateway).map((k) => [k, outage])) as unknown as AwsGateway;
}

describe('health service', () => {
  let w: UnitWorld;
  let outbox: ReturnType<typeof recordingEvents>;
  let aws: AwsGateway;
  beforeEach(async () => {
    w = await createUnitWorld();
    outbox = recordingEvents();
    aws = w.aws.gateway;
  });
  afterEach(() => w.drop());

  const service = (random: () => number = () => 0.5) =>
    createHealthService(
      { ...w.deps, aws, audit: w.audit.log, accounts: w.accounts, events: outbox.publisher },
      random,
    );

  it('missing actions make the account degraded, published once', async () => {
    const { account, roleArn } = await w.connectRole();
    expect(account.status).toBe('valid');
    w.aws.setPermissions(roleArn, { allows: ['sts:GetCallerIdentity'] });
    const health = service();

    const first = await health.check(w.caller.tenantId, account.id, 'schedule');
    expect(first?.record).toMatchObject({
      status: 'degraded',
      previousStatus: 'valid',
      changed: true,
      stale: false,
      trigger: 'schedule',
    });
    expect(first?.record.findings.some((f) => f.missing.length > 0)).toBe(true);
    expect((await w.accounts.getAccount(w.caller.tenantId, account.id)).status).toBe('degraded');

    // The same finding again: recorded, but no change to publish or audit.
    const second = await health.check(w.caller.tenantId, account.id, 'schedule');
    expect(second?.record.changed).toBe(false);
    expect(outbox.events).toEqual([
      expect.objectContaining({
        type: 'account.health_changed',
        inTransaction: true,
        data: expect.objectContaining({ previousStatus: 'valid', status: 'degraded' }),
      }),
    ]);
    expect(w.audit.actions().filter((a) => a === 'account.health_changed')).toHaveLength(1);
    const history = await health.listChecks(w.caller.tenantId, account.id, { limit: 10 });
    expect(history.checks.map((c) => c.trigger)).toEqual(['schedule', 'schedule', 'connect']);
  });

  it('an AWS outage keeps the previous health, marked stale, never invalid', async () => {
    const { account, roleArn } = await w.connectRole();
    w.aws.setPermissions(roleArn, { allows: ['sts:GetCallerIdentity'] });
    await service().check(w.caller.tenantId, account.id, 'schedule');
    outbox.events.length = 0;

    aws = unanswered(w.aws.gateway);
    w.time.now = new Date(w.time.now.getTime() + INTERVAL_MS);
    const result = await service().check(w.caller.tenantId, account.id, 'schedule');
    expect(result?.record).toMatchObject({ status: 'degraded', stale: true, changed: false });
    const after = await w.accounts.getAccount(w.caller.tenantId, account.id);
    expect(after.status).toBe('degraded');
    expect(after.staleSince).toBe(w.time.now.toISOString());
    expect(outbox.events).toEqual([]);
  });

  it('a step AWS leaves unanswered decides nothing: the account keeps its health', async () => {
    const { account, roleArn } = await w.connectRole();
    w.aws.setPermissions(roleArn, { allows: ['sts:GetCallerIdentity'] });
    await service().check(w.caller.tenantId, account.id, 'schedule');
    outbox.events.length = 0;
    w.aws.setPermissions(roleArn, { allows: ['*'] });
    const real = w.aws.gateway;
    const upstream = () =>
      new AwsProblem('upstream', 'aws', 'upstream_unavailable', 'AWS did not answer (503).');

    // The role is assumed, but the check that it refuses a session without the external ID is not
    // answered: the account stays degraded, stale.
    aws = {
      ...real,
      assumeRole: async (partition, input) => {
        if (!input.externalId) throw upstream();
        return real.assumeRole(partition, input);
      },
    };
    const undecided = await service().check(w.caller.tenantId, account.id, 'schedule');
    expect(undecided?.record).toMatchObject({ status: 'degraded', stale: true, changed: false });

    // Only the simulation unanswered: a degraded account keeps its findings, not stale.
    aws = {
      ...real,
      simulatePrincipalPolicy: async () => {
        throw upstream();
      },
    };
    const unsimulated = await service().check(w.caller.tenantId, account.id, 'schedule');
    expect(unsimulated?.record).toMatchObject({ status: 'degraded', stale: false });
    expect(unsimulated?.record.findings.some((f) => f.missing.length > 0)).toBe(true);
    expect(outbox.events).toEqual([]);
  });

  it('a stale manual check backs the schedule off; a good one resets it', async () => {
    const { account } = await w.connectRole();
    const health = service(() => 0.5);
    await health.repository.addSchedule([
      { accountId: account.id, tenantId: w.caller.tenantId, nextRunAt: w.time.now.toISOString() },
    ]);
    aws = unanswered(w.aws.gateway);
    const stale = await service(() => 0.5).checkNow(w.caller, account.id);
    expect(stale.stale).toBe(true);
    expect(await health.repository.findSchedule(account.id)).toEqual({
      failures: 1,
      nextRunAt: new Date(w.time.now.getTime() + FIRST_STALE_RETRY_MS).toISOString(),
    });
    await service(() => 0.5).checkNow(w.caller, account.id);
    expect((await health.repository.findSchedule(account.id))?.failures).toBe(2);

    aws = w.aws.gateway;
    const fresh = await service(() => 0.5).checkNow(w.caller, account.id);
    expect(fresh).toMatchObject({ status: 'valid', stale: false });
    expect(await health.repository.findSchedule(account.id)).toEqual({
      failures: 0,
      nextRunAt: new Date(w.time.now.getTime() + INTERVAL_MS).toISOString(),
    });
    expect((await w.accounts.getAccount(w.caller.tenantId, account.id)).staleSince).toBeNull();
    expect(w.audit.actions().filter((a) => a === 'account.checked')).toHaveLength(3);
  });

  it('a role AWS refuses makes the account invalid', async () => {
    const { account, roleArn } = await w.connectRole();
    w.aws.deleteRole(roleArn);
    const result = await service().check(w.caller.tenantId, account.id, 'schedule');
    expect(result?.record).toMatchObject({ status: 'invalid', stale: false, changed: true });
    expect(outbox.types()).toEqual(['account.health_changed']);
  });

  it('another tenant’s account is neither found nor checked', async () => {
    const { account } = await w.connectRole();
    const other = await w.otherTenant();
    const refused = await service()
      .checkNow(other, account.id)
      .catch((e: unknown) => e);
    expect((refused as AppError).status).toBe(404);
    expect(await service().check(other.tenantId, account.id, 'schedule')).toBeUndefined();
  });

  it('spreads the next check ±10% around the interval', () => {
    const at = new Date('2026-03-01T00:00:00.000Z');
    const after = (random: number) =>
      Date.parse(service(() => random).nextRunAfter(at, 0)) - at.getTime();
    expect(after(0)).toBe(Math.round(INTERVAL_MS * 0.9));
    expect(after(0.5)).toBe(INTERVAL_MS);
    expect(after(1)).toBe(Math.round(INTERVAL_MS * 1.1));
  });

  it('backs off after stale checks: a minute, doubling, at most half the interval', () => {
    const at = new Date('2026-03-01T00:00:00.000Z');
    const health = service(() => 0.5);
    const delay = (failures: number) =>
      Date.parse(health.nextRunAfter(at, failures)) - at.getTime();
    expect([1, 2, 3, 4].map(delay)).toEqual([1, 2, 4, 8].map((n) => n * MINUTE));
    expect(delay(20)).toBe(INTERVAL_MS / 2);
  });

  it('schedules a newly seen account an interval after its last check, or soon when overdue', () => {
    const now = new Date('2026-03-01T12:00:00.000Z');
    const health = service(() => 0.5);
    expect(health.firstRunOf(null, now)).toBe(new Date(now.getTime() + INTERVAL_MS).toISOString());
    const recent = new Date(now.getTime() - 60 * MINUTE).toISOString();
    expect(health.firstRunOf(recent, now)).toBe(
      new Date(now.getTime() - 60 * MINUTE + INTERVAL_MS).toISOString(),
    );
    // Overdue: within the next 15 minutes, spread by the random draw, not all at once.
    const long = new Date(now.getTime() - 2 * INTERVAL_MS).toISOString();
    const soon = (random: number) =>
      Date.parse(service(() => random).firstRunOf(long, now)) - now.getTime();
    expect(soon(0)).toBe(0);
    expect(soon(0.5)).toBe(7.5 * MINUTE);
    expect(soon(1)).toBe(15 * MINUTE);
  });

  it('reads the extra permissions on a check a person asked for; the schedule only refreshes a week-old reading', async () => {
    const { account, roleArn } = await w.connectRole();
    const health = service();
    const reads = () =>
      w.aws.calls.filter((c) => c.op === 'readPrincipalPolicies' && c.target === roleArn).length;
    const atConnect = reads();
    expect(atConnect).toBe(1);

    // Within the week: the schedule leaves the reading as it is.
    w.time.now = new Date(w.time.now.getTime() + 6 * 24 * 3600_000);
    await health.check(w.caller.tenantId, account.id, 'schedule');
    expect(reads()).toBe(atConnect);
    // A person's check reads again.
    await health.check(w.caller.tenantId, account.id, 'manual');
    expect(reads()).toBe(atConnect + 1);
    // A week after that reading, the schedule refreshes it.
    w.time.now = new Date(w.time.now.getTime() + 7 * 24 * 3600_000);
    await health.check(w.caller.tenantId, account.id, 'schedule');
    expect(reads()).toBe(atConnect + 2);
  });

  it('never makes the schedule or a fleet re-check read extra permissions for an account that has no reading yet', async () => {
    const { account, roleArn } = await w.connectRole();
    // As an account connected before extra permissions were read: no reading in its status.
    await w.deps.db
      .updateTable('accounts')
      .set({ status_detail: JSON.stringify({ checks: [], errors: [], findings: [] }) })
      .where('id', '=', account.id)
      .execute();
    const before = w.aws.calls.length;
    await service().check(w.caller.tenantId, account.id, 'schedule');
    // Nor a fleet re-check, which the scheduler runs as `manual`.
    await service().check(w.caller.tenantId, account.id, 'manual', { fromSchedule: true });
    expect(
      w.aws.calls
        .slice(before)
        .filter((c) => c.op === 'readPrincipalPolicies' && c.target === roleArn),
    ).toEqual([]);
  });
});
