import { wildcardToRegExp } from '@onramp/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHealthScheduler, type HealthScheduler } from '../../jobs/health-scheduler.ts';
import { createWebhookDeliverer, type WebhookDeliverer } from '../../jobs/webhook-deliverer.ts';
import { type AwsGateway, AwsProblem } from '../../ports/aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../testing/webhook-receiver.ts';
import { verifySignature } from '../webhooks/webhook-signature.ts';

describe.each(TEST_DIALECTS)('account health on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let scheduler: HealthScheduler;
  let deliverer: WebhookDeliverer;
  let receiver: WebhookReceiver;
  let upstream = false;
  let sequence = 0;
  const awsAccount = () => String(500000000000 + ++sequence);

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    // The fake AWS behind a switch that makes it throttle every call.
    const aws = new Proxy({} as AwsGateway, {
      get:
        (_target, name) =>
        (...args: unknown[]) => {
          if (upstream) throw new AwsProblem('upstream', 'roleArn', 'Throttling', 'Rate exceeded.');
          return Reflect.apply(h.aws.gateway[name as keyof AwsGateway], h.aws.gateway, args);
        },
    });
    h = await createHarness(dialect, { aws, webhookSettings: { allowPrivate: true } });
    a = await h.tenant();
    b = await h.tenant();
    scheduler = createHealthScheduler(h.services, { owner: `replica-${dialect}` });
    deliverer = createWebhookDeliverer(h.services, { owner: `deliverer-${dialect}` });
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });
  beforeEach(() => {
    upstream = false;
    receiver.clear();
  });

  const createRoleAccount = async (tenant: TestTenant) => {
    const connection = await tenant.admin.request('POST', '/v1/connections', {
      name: `Role ${++sequence}`,
      partition: 'aws',
    });
    expectStatus(connection, 201);
    const roleArn = `arn:aws:iam::${awsAccount()}:role/OnrampRole`;
    h.aws.addRole(roleArn, connection.body.externalId);
    const created = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.body.id,
      roleArn,
    });
    expectStatus(created, 201);
    return { account: created.body as { id: string; bundles: string[] }, roleArn };
  };

  const createKeysAccount = async (tenant: TestTenant) => {
    const accountId = awsAccount();
    const keys = h.aws.addUser('aws', accountId, `user${sequence}`);
    const created = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: `Keys ${sequence}`,
      partition: 'aws',
      ...keys,
    });
    expectStatus(created, 201);
    return {
      account: created.body as { id: string; bundles: string[] },
      userArn: `arn:aws:iam::${accountId}:user/user${sequence}`,
    };
  };

  /** The account's scheduled check is due now. */
  const makeDue = async (accountId: string) => {
    await scheduler.scheduleNewAccounts();
    const result = await h.database.db
      .updateTable('health_schedule')
      .set({ next_run_at: new Date(Date.now() - 1000).toISOString() })
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    expect(Number(result.numUpdatedRows)).toBe(1);
  };

  const checksOf = async (tenant: TestTenant, accountId: string) => {
    const response = await tenant.admin.request('GET', `/v1/accounts/${accountId}/checks`);
    expectStatus(response, 200);
    return response.body.checks as {
      status: string;
      previousStatus: string;
      changed: boolean;
      stale: boolean;
      trigger: string;
      errors: { field: string; code: string }[];
      findings: { bundleId: string; missing: string[] }[];
    }[];
  };

  it('starts the history when the account is connected, and records new permissions and credentials', async () => {
    const { account } = await createKeysAccount(a);
    expect(await checksOf(a, account.id)).toMatchObject([
      { trigger: 'connect', status: 'valid', previousStatus: 'unverified', changed: true },
    ]);
    const changed = await a.admin.request('PATCH', `/v1/accounts/${account.id}`, {
      bundles: ['cost-inventory'],
    });
    expectStatus(changed, 200);
    const keys = h.aws.addUser('aws', changed.body.awsAccountId, `other${sequence}`);
    const replaced = await a.admin.request('PUT', `/v1/accounts/${account.id}/credentials`, {
      method: 'access_keys',
      ...keys,
    });
    expectStatus(replaced, 200);
    const history = await checksOf(a, account.id);
    expect(history.map((c) => c.trigger)).toEqual([
      'credentials_replaced',
      'permissions_changed',
      'connect',
    ]);
    expect(history[0]).toMatchObject({ status: 'valid', previousStatus: 'valid', changed: false });
    // A failed replacement changes nothing, so it records nothing either.
    const refused = await a.admin.request('PUT', `/v1/accounts/${account.id}/credentials`, {
      method: 'access_keys',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    });
    expectProblem(refused, 422, 'accessKeyId');
    expect(await checksOf(a, account.id)).toHaveLength(3);
  });

  it('turns an account whose role was deleted invalid at the next check, and says so in a signed webhook', async () => {
    const hook = await a.admin.request('POST', '/v1/webhooks', {
      url: receiver.url('/health'),
      events: ['account.health_changed'],
    });
    expectStatus(hook, 201);
    const { account, roleArn } = await createRoleAccount(a);
    await makeDue(account.id);
    h.aws.deleteRole(roleArn);
    expect(await scheduler.runOnce()).toBeGreaterThanOrEqual(1);

    const now = await a.admin.request('GET', `/v1/accounts/${account.id}`);
    expect(now.body).toMatchObject({ status: 'invalid', stale: false, staleSince: null });
    const [latest] = await checksOf(a, account.id);
    expect(latest).toMatchObject({
      status: 'invalid',
      previousStatus: 'valid',
      changed: true,
      stale: false,
      trigger: 'schedule',
      errors: [expect.objectContaining({ field: 'roleArn', code: 'AccessDenied' })],
    });
    // Not due again for a whole interval.
    expect(await scheduler.runOnce()).toBe(0);

    await deliverer.runOnce();
    const delivered = receiver.received.filter((r) => r.json?.data?.account?.id === account.id);
    expect(delivered).toHaveLength(1);
    const [event] = delivered;
    if (!event) throw new Error('no event');
    expect(event.json).toMatchObject({
      type: 'account.health_changed',
      tenantId: a.id,
      data: {
        previousStatus: 'valid',
        status: 'invalid',
        account: { id: account.id, status: 'invalid' },
        errors: [expect.objectContaining({ field: 'roleArn' })],
      },
    });
    expect(
      verifySignature(
        hook.body.secret,
        {
          timestamp: String(event.headers['onramp-webhook-timestamp']),
          signature: String(event.headers['onramp-webhook-signature']),
        },
        event.body,
        Math.floor(Date.now() / 1000),
      ),
    ).toBe(true);
    expectStatus(await a.admin.request('DELETE', `/v1/webhooks/${hook.body.endpoint.id}`), 204);
  });

  it('turns an account that lost an action degraded, listing the action under its bundle', async () => {
    const { account, userArn } = await createKeysAccount(a);
    const bundle = h.deps.catalog.bundles.get(account.bundles[0] ?? '');
    if (!bundle) throw new Error('the account has no bundle');
    const patterns = [...h.deps.catalog.bundles.values()]
      .filter((b) => account.bundles.includes(b.id))
      .flatMap((b) => b.statements.flatMap((s) => [...s.actions]));
    const removed = patterns.find((p) => !p.includes('*'));
    if (!removed) throw new Error('no concrete action to remove');
    h.aws.setPermissions(userArn, {
      allows: patterns.filter((p) => !wildcardToRegExp(p).test(removed)),
    });
    await makeDue(account.id);
    await scheduler.runOnce();
    const [latest] = await checksOf(a, account.id);
    expect(latest).toMatchObject({ status: 'degraded', previousStatus: 'valid', changed: true });
    const owner = [...h.deps.catalog.bundles.values()].find(
      (b) =>
        account.bundles.includes(b.id) && b.statements.some((s) => s.actions.includes(removed)),
    );
    expect(latest?.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          bundleId: owner?.id,
          missing: expect.arrayContaining([removed]),
        }),
      ]),
    );
    const shown = await a.admin.request('GET', `/v1/accounts/${account.id}`);
    expect(shown.body.status).toBe('degraded');
    expect(shown.body.findings).toEqual(latest?.findings);
    // Given the action back, the next check finds it valid again.
    h.aws.setPermissions(userArn, { allows: ['*'] });
    const again = await a.admin.request('POST', `/v1/accounts/${account.id}/check`);
    expectStatus(again, 200);
    expect(again.body).toMatchObject({
      status: 'valid',
      previousStatus: 'degraded',
      changed: true,
      trigger: 'manual',
    });
  });

  it('keeps the previous health when AWS throttles, marks it stale, and retries sooner', async () => {
    const { account } = await createRoleAccount(a);
    await makeDue(account.id);
    upstream = true;
    await scheduler.runOnce();
    const shown = await a.admin.request('GET', `/v1/accounts/${account.id}`);
    expect(shown.body).toMatchObject({ status: 'valid', stale: true });
    expect(Date.parse(shown.body.staleSince)).toBeGreaterThan(0);
    const [latest] = await checksOf(a, account.id);
    expect(latest).toMatchObject({
      status: 'valid',
      previousStatus: 'valid',
      changed: false,
      stale: true,
      errors: [expect.objectContaining({ code: 'upstream_unavailable' })],
    });
    const schedule = await h.database.db
      .selectFrom('health_schedule')
      .selectAll()
      .where('account_id', '=', account.id)
      .executeTakeFirstOrThrow();
    expect(Number(schedule.failures)).toBe(1);
    const retryIn = Date.parse(schedule.next_run_at) - Date.now();
    expect(retryIn).toBeGreaterThan(30_000);
    expect(retryIn).toBeLessThan(2 * 60_000);
    // A manual check while AWS still throttles: the same, and the backoff grows.
    const manual = await a.admin.request('POST', `/v1/accounts/${account.id}/check`);
    expectStatus(manual, 200);
    expect(manual.body).toMatchObject({ status: 'valid', stale: true, trigger: 'manual' });
    const staleSince = shown.body.staleSince;
    expect((await a.admin.request('GET', `/v1/accounts/${account.id}`)).body.staleSince).toBe(
      staleSince,
    );
    // AWS answers again: fresh.
    upstream = false;
    const fresh = await a.admin.request('POST', `/v1/accounts/${account.id}/check`);
    expect(fresh.body).toMatchObject({ status: 'valid', stale: false });
    expect((await a.admin.request('GET', `/v1/accounts/${account.id}`)).body).toMatchObject({
      stale: false,
      staleSince: null,
    });
  });

  it('lists checks newest first, page by page, to readers of the tenant only', async () => {
    const { account } = await createKeysAccount(a);
    // With the check that connected it, four in all.
    for (let i = 0; i < 3; i++)
      expectStatus(await a.admin.request('POST', `/v1/accounts/${account.id}/check`), 200);
    const first = await a.viewer.request('GET', `/v1/accounts/${account.id}/checks?limit=2`);
    expectStatus(first, 200);
    expect(first.body.checks).toHaveLength(2);
    const second = await a.viewer.request(
      'GET',
      `/v1/accounts/${account.id}/checks?limit=2&cursor=${first.body.next}`,
    );
    expect(second.body.checks).toHaveLength(2);
    expect(second.body.next).toBeNull();
    expect(second.body.checks.at(-1)).toMatchObject({ trigger: 'connect' });
    const ids = [...first.body.checks, ...second.body.checks].map((c: { id: string }) => c.id);
    expect(new Set(ids).size).toBe(4);
    expect(ids).toEqual([...ids].sort().reverse());
    expectProblem(
      await a.viewer.request('GET', `/v1/accounts/${account.id}/checks?cursor=bad`),
      400,
      'cursor',
    );
    await expectSecured(
      h,
      { method: 'POST', url: `/v1/accounts/${account.id}/check` },
      { forbidden: [a.viewer], otherTenant: [b.admin] },
    );
    await expectSecured(
      h,
      { method: 'GET', url: `/v1/accounts/${account.id}/checks` },
      { otherTenant: [b.admin] },
    );
    const audit = await a.admin.request('GET', `/v1/audit?targetId=${account.id}`);
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toContain(
      'account.checked',
    );
  });
});
