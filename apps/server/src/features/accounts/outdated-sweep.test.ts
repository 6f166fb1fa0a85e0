import { readFileSync } from 'node:fs';
import { type Catalog, loadCatalog, type PartitionId } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountMethod } from '../../domain/account.ts';
import { createHealthScheduler } from '../../jobs/health-scheduler.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import { createFakeAws } from '../../testing/fake-aws.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';
import { createAccountsRepository, onCorruptAccountRow } from './accounts-repository.ts';
import { type BundleChoice, grantsOf, principalOf } from './permission-grants.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');

/**
 * The start-up comparison of accounts with the catalog (outdated-sweep.ts): a test catalog file and
 * a changed copy, accounts granted under the first, then the sweep a server runs when it starts with
 * the second. Two service graphs share one database, as a server before and after a restart would.
 */
describe.each(TEST_DIALECTS)('accounts compared with a changed catalog on %s', (dialect) => {
  let v1: Catalog;
  let v2: Catalog;
  let before: Harness;
  let after: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let n = 0;
  const ids: Record<string, string> = {};

  async function seed(
    tenant: TestTenant,
    name: string,
    options: {
      method?: AccountMethod;
      partition?: PartitionId;
      bundles: string[];
      choice?: BundleChoice;
      /** The catalog the grant was recorded under; null: connected before grants were kept. */
      grantedUnder: Catalog | null;
    },
  ) {
    const repo = createAccountsRepository(before.database.db, () => new Date());
    const method = options.method ?? 'role';
    const partition = options.partition ?? 'aws';
    const awsAccountId = String(500000000000 + ++n);
    const prefix = partition === 'aws' ? 'arn:aws' : `arn:${partition}`;
    const roleArn = `${prefix}:iam::${awsAccountId}:role/onramp`;
    const account = await repo.create(tenant.id, {
      name,
      description: '',
      partition,
      method,
      awsAccountId,
      principalArn: method === 'role' ? roleArn : `${prefix}:iam::${awsAccountId}:user/onramp`,
      roleArn: method === 'role' ? roleArn : null,
      externalId: method === 'role' ? `onramp-sweep-test-${n}-0123456789abcdef` : null,
      connectionId: null,
      accessKeyId: method === 'role' ? null : `AKIA${String(n).padStart(16, '0')}`,
      bundles: options.bundles,
      regions: [],
      status: 'valid',
      statusDetail: { checks: [], errors: [], findings: [] },
      lastCheckedAt: null,
      bundleChoice: options.choice ?? 'custom',
      ...(options.grantedUnder
        ? { granted: grantsOf(options.grantedUnder, options.bundles, principalOf(method)) }
        : {}),
    });
    ids[name] = account.id;
    return account;
  }

  const deliveries = async () =>
    (
      await before.database.db
        .selectFrom('webhook_deliveries')
        .select(['tenant_id', 'event_type', 'payload'])
        .where('event_type', '=', 'account.permissions_outdated')
        .orderBy('id')
        .execute()
    ).map((row) => ({ tenant: row.tenant_id, ...JSON.parse(row.payload) }));

  const get = async (name: string) => {
    const response = await a.admin.request('GET', `/v1/accounts/${ids[name]}`);
    expectStatus(response, 200);
    return response.body;
  };

  beforeAll(async () => {
    const actions = createIamDataActionIndex();
    v1 = await loadCatalog(fixture('catalog-v1.yaml'), { actions });
    v2 = await loadCatalog(fixture('catalog-v2.yaml'), { actions });
    const settings = { webhookSettings: { allowPrivate: true } };
    before = await createHarness(dialect, { catalog: v1, ...settings });
    after = await createHarness(
      dialect,
      { catalog: v2, ...settings },
      { database: before.database },
    );
    a = await before.tenant();
    b = await before.tenant();
    for (const [tenant, path] of [
      [a, '/a'],
      [b, '/b'],
    ] as const) {
      const hook = await tenant.admin.request('POST', '/v1/webhooks', {
        url: `http://127.0.0.1:9${path}`,
        events: ['account.permissions_outdated'],
      });
      expectStatus(hook, 201);
    }
    // Accounts connected under catalog v1.
    await seed(a, 'follows-defaults', { bundles: ['nodes'], choice: 'default', grantedUnder: v1 });
    await seed(a, 'own-nodes', { bundles: ['nodes'], grantedUnder: v1 });
    await seed(a, 'storage-keys', {
      method: 'access_keys',
      partition: 'aws-us-gov',
      bundles: ['storage'],
      grantedUnder: v1,
    });
    await seed(a, 'storage-reports', { bundles: ['reports', 'storage'], grantedUnder: v1 });
    await seed(a, 'before-grants', { bundles: ['clusters'], grantedUnder: null });
    await seed(b, 'other-tenant-nodes', { bundles: ['nodes'], grantedUnder: v1 });
  });
  afterAll(async () => {
    await after?.close();
    await before?.close();
  });

  it('marks exactly the affected accounts outdated, with the exact changes per bundle, and asks AWS nothing', async () => {
    // Pages of 2 written 3 rows at a time: transactions that span pages and end within one.
    const summary = await after.services.outdatedSweep.run({ pageSize: 2, batchSize: 3 });
    expect(summary).toMatchObject({
      compared: 6,
      outdated: 3,
      cleared: 0,
      baselined: 1,
      skipped: 0,
    });
    expect(after.aws.calls).toEqual([]);
    expect(before.aws.calls).toEqual([]);

    const nodes = {
      bundle: 'nodes',
      add: ['ec2:DescribeInstanceTopology'],
      remove: ['ec2:RunInstances'],
    };
    // Follows the defaults: reports became one, so it lacks all of it.
    const defaults = await get('follows-defaults');
    expect(defaults.permissions).toMatchObject({
      outdated: true,
      outdatedSince: expect.any(String),
      changes: [nodes, { bundle: 'reports', add: ['ce:GetCostAndUsage'], remove: [] }],
    });
    // Chose its own list: the new default is not its business.
    expect((await get('own-nodes')).permissions).toMatchObject({
      outdated: true,
      changes: [nodes],
    });
    for (const name of ['storage-keys', 'storage-reports']) {
      const account = await get(name);
      expect(account.permissions, name).toMatchObject({
        outdated: false,
        outdatedSince: null,
        changes: [],
      });
      expect(account.permissions.grantedAt, name).toBe(account.createdAt);
    }
    // Connected before grants were kept: the catalog of now is recorded as its grant, not outdated.
    const baseline = await get('before-grants');
    expect(baseline.permissions).toMatchObject({
      outdated: false,
      changes: [],
      grantedAt: expect.any(String),
    });
    const row = await before.database.db
      .selectFrom('accounts')
      .select('granted_permissions')
      .where('id', '=', ids['before-grants'] ?? '')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(row.granted_permissions ?? 'null')).toEqual({
      clusters: {
        hash: expect.any(String),
        actions: ['ec2:DescribeInstanceTopology', 'ec2:DescribeVpcs'],
        verified: false,
      },
    });

    // One event per account that became outdated, to its own tenant's endpoint, with its changes.
    const events = await deliveries();
    expect(events.map((e) => [e.tenant, e.data.account.name]).sort()).toEqual(
      [
        [a.id, 'follows-defaults'],
        [a.id, 'own-nodes'],
        [b.id, 'other-tenant-nodes'],
      ].sort(),
    );
    const own = events.find((e) => e.data.account.name === 'own-nodes');
    expect(own).toMatchObject({
      type: 'account.permissions_outdated',
      tenantId: a.id,
      data: {
        changes: [nodes],
        account: { id: ids['own-nodes'], permissions: { outdated: true } },
      },
    });
    // The event shows the account as the API does after the sweep, field for field.
    expect(own?.data.account).toEqual(await get('own-nodes'));
    expect(events.find((e) => e.data.account.name === 'follows-defaults')?.data.account).toEqual(
      defaults,
    );
  });

  it('changes nothing and publishes nothing when it runs again with the same catalog', async () => {
    const since = (await get('own-nodes')).permissions.outdatedSince;
    const summary = await after.services.outdatedSweep.run({ pageSize: 2 });
    expect(summary).toMatchObject({
      compared: 6,
      outdated: 0,
      cleared: 0,
      baselined: 0,
      skipped: 0,
    });
    expect(await deliveries()).toHaveLength(3);
    expect((await get('own-nodes')).permissions.outdatedSince).toBe(since);
  });

  it('filters the list by outdated', async () => {
    const names = async (query: string) => {
      const response = await a.viewer.request('GET', `/v1/accounts?${query}`);
      expectStatus(response, 200);
      return response.body.accounts.map((x: { name: string }) => x.name).sort();
    };
    expect(await names('outdated=true')).toEqual(['follows-defaults', 'own-nodes']);
    expect(await names('outdated=false')).toEqual([
      'before-grants',
      'storage-keys',
      'storage-reports',
    ]);
    expectProblem(await a.viewer.request('GET', '/v1/accounts?outdated=yes'), 400, 'outdated');
  });

  it('sums up the fleet per status, partition and bundle, with what outdated accounts lack', async () => {
    // A check found a granted action missing from one account (someone trimmed its policy).
    await createAccountsRepository(before.database.db, () => new Date()).setPermissionState(
      a.id,
      ids['storage-reports'] ?? '',
      { trimmed: [{ bundle: 'storage', actions: ['s3:GetObject'] }] },
    );
    const response = await a.viewer.request('GET', '/v1/accounts/summary');
    expectStatus(response, 200);
    expect(response.body).toEqual({
      total: 5,
      byStatus: { valid: 5, degraded: 0, invalid: 0, unverified: 0 },
      outdated: 2,
      trimmed: 1,
      byPartition: [
        { partition: 'aws', total: 4, outdated: 2 },
        { partition: 'aws-us-gov', total: 1, outdated: 0 },
      ],
      byBundle: [
        { bundle: 'clusters', accounts: 1, outdated: 0, missing: [] },
        {
          bundle: 'nodes',
          accounts: 2,
          outdated: 2,
          missing: [{ action: 'ec2:DescribeInstanceTopology', accounts: 2 }],
        },
        {
          bundle: 'reports',
          accounts: 1,
          outdated: 1,
          missing: [{ action: 'ce:GetCostAndUsage', accounts: 1 }],
        },
        { bundle: 'storage', accounts: 2, outdated: 0, missing: [] },
      ],
    });
    const gov = await a.viewer.request('GET', '/v1/accounts/summary?partition=aws-us-gov');
    expect(gov.body).toMatchObject({
      total: 1,
      outdated: 0,
      byPartition: [{ partition: 'aws-us-gov' }],
    });
    // Each tenant its own; the operator names one.
    expect((await b.admin.request('GET', '/v1/accounts/summary')).body).toMatchObject({
      total: 1,
      outdated: 1,
    });
    const operator = await before.operator();
    const named = await operator.request('GET', '/v1/accounts/summary', undefined, {
      'onramp-tenant': b.id,
    });
    expectStatus(named, 200);
    expect(named.body.total).toBe(1);
    expectProblem(
      await a.viewer.request('GET', '/v1/accounts/summary?partition=mars'),
      400,
      'partition',
    );
    expectProblem(await before.anonymous.request('GET', '/v1/accounts/summary'), 401);
  });

  it('shows what a PATCH of the bundles asks of the role, against its grant', async () => {
    const account = await seed(a, 'patched', { bundles: ['nodes'], grantedUnder: v2 });
    // Served by a process on catalog v2, like the sweep.
    const response = await after.send('PATCH', `/v1/accounts/${account.id}`, a.admin.headers, {
      bundles: ['nodes', 'storage'],
    });
    expectStatus(response, 200);
    expect(response.body.permissions).toMatchObject({
      outdated: true,
      changes: [{ bundle: 'storage', add: ['s3:GetObject', 's3:ListBucket'], remove: [] }],
    });
    const back = await after.send('PATCH', `/v1/accounts/${account.id}`, a.admin.headers, {
      bundles: ['nodes'],
    });
    expect(back.body.permissions).toMatchObject({
      outdated: false,
      outdatedSince: null,
      changes: [],
    });
    // Choosing "the defaults" follows them: the account now lacks reports, and keeps following them.
    const defaults = await after.send('PATCH', `/v1/accounts/${account.id}`, a.admin.headers, {
      bundles: 'default',
    });
    expect(defaults.body).toMatchObject({
      bundles: ['nodes', 'reports'],
      permissions: {
        outdated: true,
        changes: [{ bundle: 'reports', add: ['ce:GetCostAndUsage'], remove: [] }],
      },
    });
    const row = await before.database.db
      .selectFrom('accounts')
      .select('bundle_choice')
      .where('id', '=', account.id)
      .executeTakeFirstOrThrow();
    expect(row.bundle_choice).toBe('default');
    await after.send('DELETE', `/v1/accounts/${account.id}`, a.admin.headers);
  });

  it('clears accounts the catalog comes back to, and two sweeps at once publish each event once', async () => {
    // A rollback to v1: the three are no longer outdated; the account baselined under v2 now is.
    // The first start stops after two pages: what they read is written still, the next finishes.
    let pages = 0;
    const stopped = await before.services.outdatedSweep.run({
      pageSize: 2,
      signal: {
        get stopping() {
          pages += 1;
          return pages > 2;
        },
      },
    });
    expect(stopped.compared).toBe(4);
    // Four of the six change, so at least two of the first four.
    expect(stopped.cleared + stopped.outdated).toBeGreaterThanOrEqual(2);
    const rest = await before.services.outdatedSweep.run();
    expect(rest.compared).toBe(6);
    expect(stopped.cleared + rest.cleared).toBe(3);
    expect(stopped.outdated + rest.outdated).toBe(1);
    expect((await get('own-nodes')).permissions).toMatchObject({ outdated: false, changes: [] });
    expect((await get('before-grants')).permissions).toMatchObject({
      outdated: true,
      changes: [{ bundle: 'clusters', add: [], remove: ['ec2:DescribeInstanceTopology'] }],
    });
    expect(await deliveries()).toHaveLength(4);
    // Then two replicas start on v2 together: each change is written, and published, once.
    const [one, two] = await Promise.all([
      after.services.outdatedSweep.run({ pageSize: 2 }),
      after.services.outdatedSweep.run({ pageSize: 2 }),
    ]);
    expect((one?.outdated ?? 0) + (two?.outdated ?? 0)).toBe(3);
    expect((one?.cleared ?? 0) + (two?.cleared ?? 0)).toBe(1);
    const events = await deliveries();
    expect(events).toHaveLength(7);
    expect(
      events
        .slice(4)
        .map((e) => e.data.account.name)
        .sort(),
    ).toEqual(['follows-defaults', 'other-tenant-nodes', 'own-nodes']);
    expect(await after.services.outdatedSweep.run()).toMatchObject({ outdated: 0, cleared: 0 });
  });

  it('queues a re-check of the filtered accounts through the schedule, recorded as manual', async () => {
    // No filter at all: refused, so a stray call cannot re-check a whole fleet.
    const unfiltered = await a.admin.request('POST', '/v1/accounts/recheck', {});
    expectProblem(unfiltered, 400, 'body');
    expect(unfiltered.body.errors[0].message).toContain('outdated, status or partition');
    expectProblem(
      await a.admin.request('POST', '/v1/accounts/recheck', { status: 'sleeping' }),
      400,
      'status',
    );
    expectProblem(
      await a.admin.request('POST', '/v1/accounts/recheck', { outdated: false }),
      400,
      'outdated',
    );
    expectProblem(await a.viewer.request('POST', '/v1/accounts/recheck', { outdated: true }), 403);
    expectProblem(
      await before.anonymous.request('POST', '/v1/accounts/recheck', { outdated: true }),
      401,
    );

    const response = await a.admin.request('POST', '/v1/accounts/recheck', { outdated: true });
    expectStatus(response, 200);
    expect(response.body).toEqual({ scheduled: 2 });
    const due = await before.database.db
      .selectFrom('health_schedule')
      .select(['account_id', 'requested_trigger'])
      .where('requested_trigger', 'is not', null)
      .execute();
    expect(due.map((r) => r.account_id).sort()).toEqual(
      [ids['follows-defaults'], ids['own-nodes']].sort(),
    );
    // The other tenant's outdated account is not touched.
    expect(due.map((r) => r.account_id)).not.toContain(ids['other-tenant-nodes']);

    const scheduler = createHealthScheduler(after.services, { owner: 'test' });
    expect(await scheduler.runOnce()).toBe(2);
    for (const name of ['follows-defaults', 'own-nodes']) {
      const checks = await a.admin.request('GET', `/v1/accounts/${ids[name]}/checks`);
      expect(
        checks.body.checks.map((c: { trigger: string }) => c.trigger),
        name,
      ).toEqual(['manual']);
    }
    const other = await b.admin.request('GET', `/v1/accounts/${ids['other-tenant-nodes']}/checks`);
    expect(other.body.checks).toEqual([]);
    const left = await before.database.db
      .selectFrom('health_schedule')
      .select('account_id')
      .where('requested_trigger', 'is not', null)
      .execute();
    expect(left).toEqual([]);
  });

  it('holds against a hundred re-check requests at once: some queued, the rest refused with 429', async () => {
    const responses = await Promise.all(
      Array.from({ length: 100 }, () =>
        b.admin.request('POST', '/v1/accounts/recheck', { partition: 'aws' }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(
      statuses.filter((s) => s !== 200 && s !== 429),
      JSON.stringify(statuses),
    ).toEqual([]);
    const queued = responses.filter((r) => r.status === 200);
    expect(queued.length).toBeGreaterThan(0);
    expect(queued.length).toBeLessThanOrEqual(10);
    for (const r of queued) expect(r.body).toEqual({ scheduled: 1 });
    const refused = responses.find((r) => r.status === 429);
    expect(refused?.headers['retry-after']).toBeDefined();
  });
});

/**
 * Catalog changes an account cannot follow by its own choice: a bundle moved to partitions the
 * account is not in, and new defaults in a partition whose bundles cannot be chosen. The update must
 * still render (the bundle removed, the new defaults given) and the verify store only what the
 * partition allows.
 */
describe.each(TEST_DIALECTS)(
  'accounts whose partition no longer allows their bundles on %s',
  (dialect) => {
    let before: Harness;
    let after: Harness;
    const fake = createFakeAws();

    beforeAll(async () => {
      const actions = createIamDataActionIndex();
      const text = fixture('catalog-v1.yaml');
      const fixed = `${text}partitions:\n  aws-cn:\n    customizable: false\n`;
      // Next release: Clusters replaces Nodes as the default, and Storage is for aws only.
      const next = fixed
        .replace('        default: true\n', '')
        .replace(
          '        name: Clusters on EC2\n',
          '        name: Clusters on EC2\n        default: true\n',
        )
        .replace('        name: Storage\n', '        name: Storage\n        partitions: [aws]\n');
      expect(next).not.toBe(fixed);
      const v1 = await loadCatalog(fixed, { actions });
      const v2 = await loadCatalog(next, { actions });
      before = await createHarness(dialect, { catalog: v1, aws: fake.gateway });
      after = await createHarness(
        dialect,
        { catalog: v2, aws: fake.gateway, envelope: before.deps.envelope },
        { database: before.database },
      );
    });
    afterAll(async () => {
      await after?.close();
      await before?.close();
    });

    it('removes a bundle moved out of the account’s partition, and gives the new defaults where bundles cannot be chosen', async () => {
      const tenant = await before.tenant();
      const admin = (method: string, url: string, body?: unknown) =>
        after.send(method, url, tenant.admin.headers, body);
      const cn = await tenant.admin.request('POST', '/v1/accounts', {
        method: 'access_keys',
        name: 'cn',
        partition: 'aws-cn',
        ...fake.addUser('aws-cn', '310987654321', 'cn-user'),
      });
      expectStatus(cn, 201);
      expect(cn.body.bundles).toEqual(['nodes']);
      const gov = await tenant.admin.request('POST', '/v1/accounts', {
        method: 'access_keys',
        name: 'gov',
        partition: 'aws-us-gov',
        bundles: ['nodes', 'storage'],
        ...fake.addUser('aws-us-gov', '310987654322', 'gov-user'),
      });
      expectStatus(gov, 201);

      await after.services.outdatedSweep.run();
      const govAccount = (await admin('GET', `/v1/accounts/${gov.body.id}`)).body;
      expect(govAccount.permissions.changes).toEqual([
        { bundle: 'storage', add: [], remove: ['s3:GetObject', 's3:ListBucket'] },
      ]);
      const cnAccount = (await admin('GET', `/v1/accounts/${cn.body.id}`)).body;
      expect(cnAccount.permissions.changes).toEqual([
        { bundle: 'clusters', add: ['ec2:DescribeVpcs'], remove: [] },
        { bundle: 'nodes', add: [], remove: ['ec2:DescribeInstances', 'ec2:RunInstances'] },
      ]);

      const govUpdate = await admin('POST', `/v1/accounts/${gov.body.id}/permissions/update`);
      expectStatus(govUpdate, 200);
      expect(JSON.stringify(govUpdate.body.policies)).not.toContain('s3:');
      expect(JSON.stringify(govUpdate.body.policies)).toContain('ec2:RunInstances');
      const cnUpdate = await admin('POST', `/v1/accounts/${cn.body.id}/permissions/update`);
      expectStatus(cnUpdate, 200);
      expect(JSON.stringify(cnUpdate.body.policies)).toContain('ec2:DescribeVpcs');
      expect(JSON.stringify(cnUpdate.body.policies)).not.toContain('ec2:RunInstances');

      for (const [id, bundles] of [
        [gov.body.id, ['nodes']],
        [cn.body.id, ['clusters']],
      ] as const) {
        const verified = await admin('POST', `/v1/accounts/${id}/permissions/verify`);
        expectStatus(verified, 200);
        expect(verified.body.account.bundles).toEqual(bundles);
        expect(verified.body.account.permissions.outdated).toBe(false);
        // What was stored is a selection the partition allows: the account can still be edited.
        expectStatus(await admin('PATCH', `/v1/accounts/${id}`, { name: `renamed ${id}` }), 200);
        const again = await admin('POST', `/v1/accounts/${id}/permissions/update`);
        expectStatus(again, 200);
        expect(again.body.changes).toEqual([]);
      }
    });
  },
);

/**
 * "The next health check confirms it": a catalog that only adds an action the role already holds
 * (its policy allows `ec2:*`) leaves the account outdated until a check shows it holds it; one whose
 * role lacks the action stays outdated, and degraded, until its update is applied.
 */
describe.each(TEST_DIALECTS)('a check after a catalog that only adds actions on %s', (dialect) => {
  let before: Harness;
  let after: Harness;
  const fake = createFakeAws();

  beforeAll(async () => {
    const actions = createIamDataActionIndex();
    const text = fixture('catalog-v1.yaml');
    const next = text.replace(
      'actions: [ec2:DescribeInstances, ec2:RunInstances]',
      'actions: [ec2:DescribeInstances, ec2:RunInstances, ec2:DescribeInstanceTopology]',
    );
    expect(next).not.toBe(text);
    const v1 = await loadCatalog(text, { actions });
    const v2 = await loadCatalog(next, { actions });
    before = await createHarness(dialect, { catalog: v1, aws: fake.gateway });
    after = await createHarness(
      dialect,
      { catalog: v2, aws: fake.gateway, envelope: before.deps.envelope },
      { database: before.database },
    );
  });
  afterAll(async () => {
    await after?.close();
    await before?.close();
  });

  it('clears outdated when the check finds the added action already held, and only then', async () => {
    const tenant = await before.tenant();
    const admin = (method: string, url: string, body?: unknown) =>
      after.send(method, url, tenant.admin.headers, body);
    const connect = async (name: string, accountId: string, allows: string[]) => {
      const keys = fake.addUser('aws', accountId, name);
      const created = await tenant.admin.request('POST', '/v1/accounts', {
        method: 'access_keys',
        name,
        partition: 'aws',
        bundles: ['nodes'],
        ...keys,
      });
      expectStatus(created, 201);
      fake.setPermissions(created.body.principalArn, { allows });
      return created.body.id as string;
    };
    const broad = await connect('broad', '310987654331', ['ec2:*']);
    const narrow = await connect('narrow', '310987654332', [
      'ec2:DescribeInstances',
      'ec2:RunInstances',
    ]);

    await after.services.outdatedSweep.run();
    for (const id of [broad, narrow]) {
      const account = (await admin('GET', `/v1/accounts/${id}`)).body;
      expect(account.permissions).toMatchObject({
        outdated: true,
        changes: [{ bundle: 'nodes', add: ['ec2:DescribeInstanceTopology'], remove: [] }],
      });
    }

    const broadCheck = await admin('POST', `/v1/accounts/${broad}/check`);
    expectStatus(broadCheck, 200);
    const confirmed = (await admin('GET', `/v1/accounts/${broad}`)).body;
    expect(confirmed.status).toBe('valid');
    expect(confirmed.permissions).toMatchObject({
      outdated: false,
      outdatedSince: null,
      changes: [],
      grantedAt: broadCheck.body.at,
    });
    // It stays so: the next start with the same catalog finds nothing to change.
    await after.services.outdatedSweep.run();
    expect((await admin('GET', `/v1/accounts/${broad}`)).body.permissions.outdated).toBe(false);

    expectStatus(await admin('POST', `/v1/accounts/${narrow}/check`), 200);
    const lacking = (await admin('GET', `/v1/accounts/${narrow}`)).body;
    expect(lacking.status).toBe('degraded');
    expect(lacking.permissions).toMatchObject({
      outdated: true,
      changes: [{ bundle: 'nodes', add: ['ec2:DescribeInstanceTopology'], remove: [] }],
      trimmed: [],
    });
  });
});

/**
 * Rows whose stored JSON lost its shape (edited by hand, restored badly): the sweep goes past them
 * (and says so), and the list, the summary and the account itself still answer.
 */
describe.each(TEST_DIALECTS)('accounts with corrupt stored values on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect, {
      catalog: await loadCatalog(fixture('catalog-v1.yaml'), {
        actions: createIamDataActionIndex(),
      }),
    });
  });
  afterAll(async () => h?.close());

  it('skips and logs a corrupt row, sweeps every other page, and reads it as empty elsewhere', async () => {
    const tenant = await h.tenant();
    const repo = createAccountsRepository(h.database.db, () => new Date());
    let n = 0;
    const seed = async (granted: boolean) => {
      const awsAccountId = String(600000000000 + ++n + Math.floor(Math.random() * 1e6) * 100);
      const account = await repo.create(tenant.id, {
        name: `row ${n}`,
        description: '',
        partition: 'aws',
        method: 'access_keys',
        awsAccountId,
        principalArn: `arn:aws:iam::${awsAccountId}:user/onramp`,
        roleArn: null,
        externalId: null,
        connectionId: null,
        accessKeyId: `AKIA${awsAccountId.padStart(16, '0')}`,
        bundles: ['nodes'],
        regions: [],
        status: 'valid',
        statusDetail: { checks: [], errors: [], findings: [] },
        lastCheckedAt: null,
        bundleChoice: 'custom',
        ...(granted ? { granted: grantsOf(h.deps.catalog, ['nodes'], 'user') } : {}),
      });
      return account.id;
    };
    const corrupt = [await seed(true), await seed(true), await seed(true)];
    const good = await seed(false);
    const set = (id: string, values: Record<string, string>) =>
      h.database.db.updateTable('accounts').set(values).where('id', '=', id).execute();
    await set(corrupt[0] as string, { bundles: '{"a":1}' });
    await set(corrupt[1] as string, {
      permission_changes: '[{"bundle":1}]',
      outdated_since: 'x',
    });
    await set(corrupt[2] as string, { bundles: 'not json', granted_permissions: '[1, 2' });

    const warned: { accountId: string; columns: string[] }[] = [];
    const logged: Record<string, unknown>[] = [];
    const previous = onCorruptAccountRow((details) => warned.push(details));
    try {
      // A page per row: a corrupt row stops neither its page nor the ones after it.
      const summary = await h.services.outdatedSweep.run({
        pageSize: 1,
        log: { warn: (details) => logged.push(details) },
      });
      expect(summary).toMatchObject({ compared: 4, baselined: 1, skipped: 3 });
      expect(logged.map((d) => [d.accountId, d.columns])).toEqual([
        [corrupt[0], ['bundles']],
        [corrupt[1], ['outdated_since', 'permission_changes']],
        [corrupt[2], ['bundles', 'granted_permissions']],
      ]);
      const rows = await h.database.db
        .selectFrom('accounts')
        .select(['id', 'bundles', 'granted_permissions'])
        .where('tenant_id', '=', tenant.id)
        .execute();
      // The corrupt rows are left as they were; the good one got its grant.
      expect(rows.find((r) => r.id === corrupt[0])?.bundles).toBe('{"a":1}');
      expect(rows.find((r) => r.id === good)?.granted_permissions).toContain('nodes');

      for (const url of ['/v1/accounts', '/v1/accounts?outdated=true', '/v1/accounts/summary'])
        expectStatus(await tenant.admin.request('GET', url), 200);
      const summary2 = await tenant.admin.request('GET', '/v1/accounts/summary');
      expect(JSON.stringify(summary2.body)).not.toContain('"a"');
      const one = await tenant.admin.request('GET', `/v1/accounts/${corrupt[0]}`);
      expectStatus(one, 200);
      expect(one.body.bundles).toEqual([]);
      const two = await tenant.admin.request('GET', `/v1/accounts/${corrupt[1]}`);
      expectStatus(two, 200);
      expect(two.body.permissions.changes).toEqual([]);
      expect(warned.map((w) => w.accountId)).toEqual(expect.arrayContaining(corrupt));
      expect(JSON.stringify(warned)).not.toContain('not json');
    } finally {
      onCorruptAccountRow(previous);
    }
  });
});
