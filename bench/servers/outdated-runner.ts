/**
 * The outdated-accounts benchmark, in a process of its own: a new database (SQLite, or PostgreSQL with
 * BENCH_OUTDATED_DIALECT=postgres) with BENCH_OUTDATED_ACCOUNTS role accounts (10,000) of one tenant,
 * connected under the shipped catalog with its default bundles (and following them), and a webhook
 * endpoint subscribed to account.permissions_outdated, so every event is written to the outbox. Then,
 * in turns: reading every account once (the repository's pages of 500, as the API's list reads them),
 * and the start-up sweep with the next release of the catalog (one action added to a default bundle:
 * every account becomes outdated, one event each), after which the previous catalog's sweep puts them
 * back. Prints one JSON line with the median of each, and of each turn's ratio. BENCH_OUTDATED_PAGE
 * sets the sweep's page size (500), BENCH_OUTDATED_BATCH the rows it writes per transaction (2,000).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import {
  type AppDeps,
  createEnvelope,
  createServices,
  type DatabaseHandle,
  memoryKeyring,
  migrateToLatest,
  openDatabase,
} from '@onramp/server';
import { createTestDatabase } from '@onramp/server/testing';
import { createAccountsRepository, createTenantsRepository } from '@onramp/server/testing/seed';

const size = Number(process.env.BENCH_OUTDATED_ACCOUNTS ?? 10_000);
const page = Number(process.env.BENCH_OUTDATED_PAGE ?? 0);
const batch = Number(process.env.BENCH_OUTDATED_BATCH ?? 0);
const rounds = Number(process.env.BENCH_OUTDATED_ROUNDS ?? 5);
const dialect = process.env.BENCH_OUTDATED_DIALECT === 'postgres' ? 'postgres' : 'sqlite';
const actions = createIamDataActionIndex();
const text = readFileSync(DEFAULT_CATALOG_URL, 'utf8');
const anchor = '              - ec2:AllocateAddress\n';
if (!text.includes(anchor)) throw new Error('the shipped catalog changed: pick another anchor');
const v1 = await loadCatalog(text, { actions });
// The next release: Clusters on EC2 (a default bundle) needs one action more.
const v2 = await loadCatalog(
  text.replace(anchor, `${anchor}              - ec2:DescribeInstanceTopology\n`),
  { actions },
);

let database: DatabaseHandle & { drop?: () => Promise<void> };
let dir: string | undefined;
if (dialect === 'postgres') {
  database = await createTestDatabase('postgres');
} else {
  dir = mkdtempSync(join(tmpdir(), 'onramp-outdated-'));
  database = openDatabase({ kind: 'sqlite', path: join(dir, 'onramp.db') });
  await migrateToLatest(database);
}
const clock = () => new Date();
const deps = (catalog: typeof v1): AppDeps => ({
  db: database.db,
  dialect,
  catalog,
  hubs: {},
  envelope: createEnvelope(memoryKeyring()),
  aws: new Proxy({} as AppDeps['aws'], {
    get() {
      throw new Error('the sweep must not call AWS');
    },
  }),
  clock,
  randomBytes: (n) => new Uint8Array(randomBytes(n)),
  actions,
  webhookSettings: { allowPrivate: true },
});
const before = createServices(deps(v1));
const after = createServices(deps(v2));

const tenant = await createTenantsRepository(database.db, clock).create({
  name: 'fleet',
  limits: {},
});
await before.webhooks.createEndpoint(
  {
    owner: tenant.id,
    actorType: 'system',
    actorId: null,
    requestId: 'bench',
    sourceIp: '127.0.0.1',
  },
  {
    url: 'http://127.0.0.1:9/hook',
    events: ['account.permissions_outdated'],
    description: '',
    enabled: true,
  },
);
const accounts = createAccountsRepository(database.db, clock);
const bundles = v1.defaultBundles('aws').map((b) => b.id);
// What connect records: the grant per bundle (permission-grants.ts), taken from a first sweep below.
await database.db.transaction().execute(async (trx) => {
  for (let i = 0; i < size; i++) {
    const awsAccountId = `3${String(i).padStart(11, '0')}`;
    const roleArn = `arn:aws:iam::${awsAccountId}:role/onramp`;
    await accounts.create(
      tenant.id,
      {
        name: `Fleet ${i}`,
        description: '',
        partition: 'aws',
        method: 'role',
        awsAccountId,
        principalArn: roleArn,
        roleArn,
        externalId: `onramp-fleet-${String(i).padStart(6, '0')}-5c1f0e9a7b`,
        connectionId: null,
        accessKeyId: null,
        bundles,
        regions: [],
        status: 'valid',
        statusDetail: { checks: [], errors: [], findings: [] },
        lastCheckedAt: null,
        bundleChoice: 'default',
      },
      trx,
    );
  }
});
// Accounts stored without a grant get the catalog of now as theirs: v1, as if connected under it.
const baseline = await before.outdatedSweep.run();
if (baseline.baselined !== size) throw new Error(`baselined ${baseline.baselined} of ${size}`);

async function readAll(): Promise<number> {
  let after: string | undefined;
  let count = 0;
  for (;;) {
    const page = await accounts.list(tenant.id, { limit: 500, ...(after ? { after } : {}) });
    count += page.accounts.length;
    after = page.accounts.at(-1)?.id;
    if (!page.more) return count;
  }
}
const outbox = async () =>
  Number(
    (
      await database.db
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst()
    )?.n ?? 0,
  );

const reads: number[] = [];
const sweeps: number[] = [];
const reruns: number[] = [];
const summaries: number[] = [];
// A warm-up turn first (not counted), so both run compiled code.
for (let round = -1; round < rounds; round++) {
  let started = performance.now();
  const read = await readAll();
  const readMs = performance.now() - started;
  if (read !== size) throw new Error(`read ${read} of ${size}`);
  started = performance.now();
  const swept = await after.outdatedSweep.run({
    ...(page ? { pageSize: page } : {}),
    ...(batch ? { batchSize: batch } : {}),
  });
  const sweepMs = performance.now() - started;
  if (swept.outdated !== size) throw new Error(`outdated ${swept.outdated} of ${size}`);
  if ((await outbox()) !== size) throw new Error(`outbox ${await outbox()} of ${size}`);
  // The fleet summary while all of them are outdated (GET /v1/accounts/summary's service call).
  started = performance.now();
  const summary = await after.accounts.summary(tenant.id, {});
  summaries.push(performance.now() - started);
  if (summary.outdated !== size) throw new Error(`summary: ${summary.outdated} outdated`);
  started = performance.now();
  const again = await after.outdatedSweep.run();
  const rerunMs = performance.now() - started;
  if (again.outdated !== 0) throw new Error('a second sweep changed something');
  if (round >= 0) {
    reads.push(readMs);
    sweeps.push(sweepMs);
    reruns.push(rerunMs);
  }
  // Back to v1 for the next turn, with an empty outbox.
  await before.outdatedSweep.run();
  await database.db.deleteFrom('webhook_deliveries').execute();
}
const median = (values: number[]) =>
  [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? 0;
// Each turn's sweep against that turn's read (a shared machine slows both alike), and the median.
const ratios = sweeps.map((sweep, i) => sweep / (reads[i] ?? sweep));
const rerunRatios = reruns.map((rerun, i) => rerun / (reads[i] ?? rerun));
process.stdout.write(
  `${JSON.stringify({
    dialect,
    size,
    readMs: median(reads),
    sweepMs: median(sweeps),
    rerunMs: median(reruns),
    summaryMs: median(summaries),
    ratio: median(ratios),
    rerunRatio: median(rerunRatios),
    reads,
    sweeps,
  })}\n`,
);
await database.close();
await database.drop?.();
if (dir) rmSync(dir, { recursive: true, force: true });
process.exit(0);
