/**
 * A fleet for the catalog sweep's kill -9 test (sweep-kill.test.ts): a SQLite file, the shipped
 * catalog and its next release (one action added to a default bundle, so every account becomes
 * outdated), and a service graph over them. The test and the process it kills both build it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
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

const ANCHOR = '              - ec2:AllocateAddress\n';

export async function catalogs() {
  const text = readFileSync(DEFAULT_CATALOG_URL, 'utf8');
  if (!text.includes(ANCHOR)) throw new Error('the shipped catalog changed: pick another anchor');
  const actions = createIamDataActionIndex();
  return {
    v1: await loadCatalog(text, { actions }),
    v2: await loadCatalog(
      text.replace(ANCHOR, `${ANCHOR}              - ec2:DescribeInstanceTopology\n`),
      { actions },
    ),
  };
}

export async function openFleet(path: string): Promise<DatabaseHandle> {
  const database = openDatabase({ kind: 'sqlite', path });
  await migrateToLatest(database);
  return database;
}

export function servicesOver(database: DatabaseHandle, catalog: AppDeps['catalog']) {
  return createServices({
    db: database.db,
    dialect: 'sqlite',
    catalog,
    hubs: {},
    envelope: createEnvelope(memoryKeyring()),
    // The sweep never asks AWS anything; a call would fail the test.
    aws: new Proxy({} as AppDeps['aws'], {
      get() {
        throw new Error('the catalog sweep must not call AWS');
      },
    }),
    clock: () => new Date(),
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    actions: createIamDataActionIndex(),
    webhookSettings: { allowPrivate: true },
  });
}

/** How far the sweep got: accounts outdated, and account.permissions_outdated events in the outbox. */
export async function progress(database: DatabaseHandle) {
  const outdated = await database.db
    .selectFrom('accounts')
    .select('id')
    .where('outdated_since', 'is not', null)
    .execute();
  const events = await database.db
    .selectFrom('webhook_deliveries')
    .select('payload')
    .where('event_type', '=', 'account.permissions_outdated')
    .execute();
  return {
    outdated: outdated.map((r) => r.id).sort(),
    events: events
      .map((r) => (JSON.parse(r.payload) as { data: { account: { id: string } } }).data.account.id)
      .sort(),
  };
}
