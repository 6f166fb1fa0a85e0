/**
 * Two Onramp server processes (`node apps/server/src/main.ts`, as `npm start` runs it) on one
 * PostgreSQL database, against the loopback AWS: the health checks that fall due are shared between
 * them through the database, and each runs exactly once.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { openKeyringFile } from '@onramp/server';
import {
  createAccountsRepository,
  createConnectedRole,
  createHub,
  createTenantsRepository,
  createTestDatabase,
  hubEnvironment,
  type TestDatabase,
} from '@onramp/server/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from './server-process.ts';

/** Enough that one process alone needs longer than the other's 5 s tick: both end up checking. */
const ACCOUNTS = 60;
const CUSTOMER = '444455556666';

describe('two server processes on one PostgreSQL database', () => {
  let database: TestDatabase;
  let aws: LoopbackAws;
  const servers: RunningServer[] = [];
  const ids: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    if (database.location.kind !== 'postgres') throw new Error('PostgreSQL expected');
    // AWS answers slowly, so a pass takes a while and both processes are at work at once.
    aws = await startLoopbackAws({ latencyMs: 150 });
    aws.createAccount('aws', CUSTOMER);
    const { user: hub } = createHub(aws, 'aws');
    const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
      actions: createIamDataActionIndex(),
    });
    const clock = () => new Date();
    const tenant = await createTenantsRepository(database.db, clock).create({
      name: 'replicas',
      limits: {},
    });
    const accounts = createAccountsRepository(database.db, clock);
    for (let i = 0; i < ACCOUNTS; i++) {
      const externalId = `onramp-replicas-${String(i).padStart(4, '0')}-7d2c9e41`;
      const role = createConnectedRole(aws, catalog, {
        partition: 'aws',
        accountId: CUSTOMER,
        roleName: `Replicated${i}`,
        hubArn: hub.arn,
        externalId,
        bundles: ['cost-explorer'],
      });
      // Stored unverified: the first check makes each valid, and the process that ran it says so.
      const account = await accounts.create(tenant.id, {
        name: `Replicated ${i}`,
        description: '',
        partition: 'aws',
        method: 'role',
        awsAccountId: CUSTOMER,
        principalArn: role.arn,
        roleArn: role.arn,
        externalId,
        connectionId: null,
        accessKeyId: null,
        bundles: ['cost-explorer'],
        regions: [],
        status: 'unverified',
        statusDetail: { checks: [], errors: [], findings: [] },
        lastCheckedAt: null,
      });
      ids.push(account.id);
    }
    // One keyring for both, as replicas share one (the operator creates it; here, the test).
    const dataDir = mkdtempSync(join(tmpdir(), 'onramp-replicas-'));
    const keyringFile = join(dataDir, 'master-keys.json');
    openKeyringFile(keyringFile, { createIfMissing: true });
    const env = {
      DATABASE_URL: database.location.url,
      ONRAMP_DATA_DIR: dataDir,
      ONRAMP_MASTER_KEY_FILE: keyringFile,
      AWS_ENDPOINT_URL: aws.url,
      ONRAMP_LOG_LEVEL: 'info',
      ONRAMP_HEALTH_CONCURRENCY: '3',
      ONRAMP_HEALTH_RATE_PER_SECOND: '1000',
      ...hubEnvironment('aws', hub),
    };
    servers.push(...(await Promise.all([startServer(env), startServer(env)])));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await aws?.stop();
    await database?.drop();
  });

  const scheduledChecks = async () =>
    database.db
      .selectFrom('account_checks')
      .select(['account_id', (eb) => eb.fn.countAll<string>().as('n')])
      .where('trigger', '=', 'schedule')
      .groupBy('account_id')
      .execute();

  it('run each due check once, between them', async () => {
    // Both processes give new accounts a schedule (one row each, whoever comes first)…
    await expect
      .poll(
        async () =>
          Number(
            (
              await database.db
                .selectFrom('health_schedule')
                .select((eb) => eb.fn.countAll<string>().as('n'))
                .executeTakeFirstOrThrow()
            ).n,
          ),
        { timeout: 20_000, interval: 250 },
      )
      .toBe(ACCOUNTS);
    // …and then every account falls due at once.
    await database.db
      .updateTable('health_schedule')
      .set({ next_run_at: new Date(Date.now() - 1000).toISOString() })
      .execute();
    await expect
      .poll(async () => (await scheduledChecks()).length, { timeout: 45_000, interval: 500 })
      .toBe(ACCOUNTS);
    // Another tick of each process (every 5 s) finds nothing more to do.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const checks = await scheduledChecks();
    expect(checks.map((c) => Number(c.n))).toEqual(ids.map(() => 1));

    // Each process says which accounts it found changed: together all, none twice.
    const changedBy = servers.map(
      (server) =>
        new Set(
          server
            .output()
            .split('\n')
            .filter((line) => line.includes('account health changed'))
            .map((line) => (JSON.parse(line) as { accountId: string }).accountId),
        ),
    );
    const [first = new Set<string>(), second = new Set<string>()] = changedBy;
    expect([...first].filter((id) => second.has(id))).toEqual([]);
    expect(new Set([...first, ...second])).toEqual(new Set(ids));
    expect(first.size, 'the first process checked some').toBeGreaterThan(0);
    expect(second.size, 'the second process checked some').toBeGreaterThan(0);
    const accounts = await database.db.selectFrom('accounts').select('status').execute();
    expect(accounts.map((a) => a.status)).toEqual(ids.map(() => 'valid'));
  }, 90_000);
});
