/**
 * An issuer over a SQLite file and a keyring file, for the rotation kill -9 test (oidc-kill.test.ts):
 * the test and the process it kills both build it, so the killed process's keys open afterwards.
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
  migrateToLatest,
  openDatabase,
  openKeyringFile,
} from '@onramp/server';

export const PUBLIC_URL = 'https://onramp.example.test';

export async function openIssuer(path: string, keyringFile: string) {
  const database: DatabaseHandle = openDatabase({ kind: 'sqlite', path });
  await migrateToLatest(database);
  const actions = createIamDataActionIndex();
  const services = createServices({
    db: database.db,
    dialect: 'sqlite',
    catalog: await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), { actions }),
    hubs: {},
    envelope: createEnvelope(openKeyringFile(keyringFile, { createIfMissing: true })),
    aws: new Proxy({} as AppDeps['aws'], {
      get() {
        throw new Error('rotating the issuer’s keys must not call AWS');
      },
    }),
    clock: () => new Date(),
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    actions,
    publicUrl: PUBLIC_URL,
    oidc: { algorithm: 'ES256' },
  });
  return { database, oidc: services.oidc };
}
