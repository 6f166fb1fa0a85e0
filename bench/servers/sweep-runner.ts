/**
 * The Onramp side of the health-sweep benchmark, in a process of its own: for each size, a new SQLite
 * database with that many role accounts (stored as a connected account is), all due; then one pass of
 * the health scheduler (the same code `npm start` runs) against the sweep's loopback AWS. Prints one
 * JSON line per size, and the process's memory with no accounts and after checking the largest fleet.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import {
  type AppDeps,
  createEnvelope,
  createHealthScheduler,
  createSdkAwsGateway,
  createServices,
  type HubConfig,
  memoryKeyring,
  migrateToLatest,
  openDatabase,
} from '@onramp/server';
import { createAccountsRepository, createTenantsRepository } from '@onramp/server/testing/seed';
import { loadShippedCatalog } from '../fixtures.ts';
import { sweepBundles, sweptAccount } from '../sweep-world.ts';

const aws = JSON.parse(process.env.BENCH_SWEEP_AWS ?? '{}') as { url: string; hub: HubConfig };
const sizes = (process.env.BENCH_SWEEP_SIZES ?? '1000,5000,10000').split(',').map(Number);
const concurrency = Number(process.env.BENCH_SWEEP_CONCURRENCY ?? 64);
const bundles = sweepBundles();
const catalog = await loadShippedCatalog();
const actions = createIamDataActionIndex();
const gateway = createSdkAwsGateway({ hubs: { aws: aws.hub }, endpoint: aws.url, maxAttempts: 2 });
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const memory = () => {
  gc();
  const m = process.memoryUsage();
  return { rssMb: m.rss / 2 ** 20, heapMb: m.heapUsed / 2 ** 20 };
};
const WARM_UP_ACCOUNTS = 300;
const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

for (const size of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-sweep-'));
  const database = openDatabase({ kind: 'sqlite', path: join(dir, 'onramp.db') });
  await migrateToLatest(database);
  const clock = () => new Date();
  const deps: AppDeps = {
    db: database.db,
    dialect: 'sqlite',
    catalog,
    hubs: { aws: { principalArn: aws.hub.principalArn } },
    envelope: createEnvelope(memoryKeyring()),
    aws: gateway,
    clock,
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    actions,
    healthSettings: { concurrency, ratePerSecond: 100_000 },
  };
  const tenants = createTenantsRepository(database.db, clock);
  const accounts = createAccountsRepository(database.db, clock);
  const store = async (tenantId: string, count: number) =>
    database.db.transaction().execute(async (trx) => {
      for (let i = 0; i < count; i++) {
        const swept = sweptAccount(i);
        await accounts.create(
          tenantId,
          {
            name: `Sweep ${i}`,
            description: '',
            partition: 'aws',
            method: 'role',
            awsAccountId: swept.awsAccountId,
            principalArn: swept.roleArn,
            roleArn: swept.roleArn,
            externalId: swept.externalId,
            connectionId: null,
            accessKeyId: null,
            bundles,
            regions: [],
            status: 'valid',
            statusDetail: { checks: [], errors: [], findings: [] },
            lastCheckedAt: null,
          },
          trx,
        );
      }
    });
  const scheduler = createHealthScheduler(createServices(deps));
  const sweepAllDue = async () => {
    await scheduler.scheduleNewAccounts();
    const past = new Date(Date.now() - 1000).toISOString();
    await database.db.updateTable('health_schedule').set({ next_run_at: past }).execute();
  };
  // A warm-up pass over a few hundred accounts of another tenant (the same roles), so the measured
  // pass runs compiled code, as a server that has been up for a while does.
  const warmUp = Math.min(WARM_UP_ACCOUNTS, size);
  await store((await tenants.create({ name: 'warm-up', limits: {} })).id, warmUp);
  await sweepAllDue();
  await scheduler.runOnce();
  await database.db.deleteFrom('accounts').execute();
  await database.db.deleteFrom('account_checks').execute();

  const before = memory();
  const tenant = await tenants.create({ name: `sweep-${size}`, limits: {} });
  await store(tenant.id, size);
  await sweepAllDue();

  const cpu = process.cpuUsage();
  const started = performance.now();
  const checked = await scheduler.runOnce();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const statuses = await database.db
    .selectFrom('account_checks')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute();
  const after = memory();
  print({
    size,
    ms,
    checked,
    statuses: Object.fromEntries(statuses.map((s) => [s.status, Number(s.n)])),
    cpuMs: (used.user + used.system) / 1000,
    memoryBefore: before,
    memoryAfter: after,
  });
  await database.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
