import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelope } from '../adapters/crypto/envelope.ts';
import {
  addKeyToFile,
  lockKeyringFile,
  openKeyringFile,
  retireKeysInFile,
} from '../adapters/crypto/keyring.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../testing/databases.ts';
import { KEY_RETIRE_GRACE_MS, keyIdsInUse, rewrapAll } from './keys-rotate.ts';

describe('the keyring file', () => {
  it('is created readable by its owner only, and keeps old keys until retired', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'onramp-keys-')), 'master-keys.json');
    const keyring = openKeyringFile(path, { createIfMissing: true });
    expect(keyring.created).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const first = keyring.current().id;
    const lock = await lockKeyringFile(path, { purpose: 'test', timeoutMs: 1000 });
    try {
      const second = addKeyToFile(path, lock);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      keyring.reload();
      expect(keyring.current().id).toBe(second.id);
      expect(keyring.find(first)).toBeDefined();
      const later = new Date(Date.parse(second.createdAt) + KEY_RETIRE_GRACE_MS);
      expect(
        retireKeysInFile(path, new Set([second.id]), {
          lock,
          graceMs: KEY_RETIRE_GRACE_MS,
          now: later,
        }).retired,
      ).toEqual([first]);
      expect(openKeyringFile(path).ids()).toEqual([second.id]);
    } finally {
      lock.release();
    }
    expect(() => openKeyringFile(join(path, '..', 'missing.json'))).toThrow(/does not exist/);
  });
});

describe.each(TEST_DIALECTS)('keys rotate on %s', (dialect) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    const now = new Date().toISOString();
    await database.db
      .insertInto('tenants')
      .values({ id: 'ten_a', name: 'A', limits: '{}', created_at: now, updated_at: now })
      .execute();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('re-wraps every secret under the new key; every secret still opens; the old key can then retire', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'onramp-keys-')), 'master-keys.json');
    const keyring = openKeyringFile(path, { createIfMissing: true });
    const envelope = createEnvelope(keyring);
    const oldKey = keyring.current().id;
    const now = new Date().toISOString();
    const plaintexts = new Map<string, string>();
    for (let i = 0; i < 250; i++) {
      const owner = `acct_${String(i).padStart(4, '0')}`;
      const secret = `secret-number-${i}-${'x'.repeat(20)}`;
      plaintexts.set(owner, secret);
      const sealed = envelope.seal(secret, {
        tenantId: 'ten_a',
        ownerId: owner,
        field: 'secretAccessKey',
      });
      await database.db
        .insertInto('secrets')
        .values({
          id: `sec_${owner}`,
          tenant_id: 'ten_a',
          owner_id: owner,
          field: 'secretAccessKey',
          key_id: sealed.keyId,
          wrapped_key: sealed.wrappedKey,
          ciphertext: sealed.ciphertext,
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
    const before = await database.db
      .selectFrom('secrets')
      .select(['id', 'ciphertext'])
      .orderBy('id')
      .execute();

    const lock = await lockKeyringFile(path, { purpose: 'test', timeoutMs: 1000 });
    const newKey = addKeyToFile(path, lock);
    const report = await rewrapAll(database.db, openKeyringFile(path));
    expect(report).toEqual({
      newKeyId: newKey.id,
      rewrapped: 250,
      skipped: 0,
      failed: [],
      stoppedEarly: false,
    });
    expect(await keyIdsInUse(database.db)).toEqual(new Set([newKey.id]));

    const after = await database.db.selectFrom('secrets').selectAll().orderBy('id').execute();
    // The ciphertexts are untouched: only the data keys' wrapping changed.
    expect(after.map((r) => r.ciphertext)).toEqual(before.map((r) => r.ciphertext));
    const fresh = createEnvelope(openKeyringFile(path));
    for (const row of after) {
      expect(
        fresh.open(
          { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext },
          { tenantId: 'ten_a', ownerId: row.owner_id, field: row.field },
        ),
      ).toBe(plaintexts.get(row.owner_id));
    }
    const later = new Date(Date.parse(newKey.createdAt) + KEY_RETIRE_GRACE_MS);
    expect(
      retireKeysInFile(path, await keyIdsInUse(database.db), {
        lock,
        graceMs: KEY_RETIRE_GRACE_MS,
        now: later,
      }).retired,
    ).toEqual([oldKey]);
    lock.release();
    // A second rotation with nothing left under old keys changes nothing.
    expect((await rewrapAll(database.db, openKeyringFile(path))).rewrapped).toBe(0);
  });

  it('stops between batches when asked (its lock was taken) and says it did', async () => {
    await database.db.deleteFrom('secrets').execute();
    const path = join(mkdtempSync(join(tmpdir(), 'onramp-keys-')), 'master-keys.json');
    const keyring = openKeyringFile(path, { createIfMissing: true });
    await storeSecrets(database, keyring, 'stop', 150);
    const lock = await lockKeyringFile(path, { purpose: 'test', timeoutMs: 1000 });
    addKeyToFile(path, lock);
    lock.release();
    let batches = 0;
    const report = await rewrapAll(database.db, openKeyringFile(path), undefined, {
      shouldStop: () => batches++ >= 1,
    });
    expect(report).toMatchObject({ rewrapped: 100, stoppedEarly: true, failed: [] });
  });

  it.runIf(dialect === 'postgres')(
    'gives way to the service holding one secret while it waits for another: no deadlock',
    async () => {
      if (database.location.kind !== 'postgres') throw new Error('PostgreSQL expected');
      await database.db.deleteFrom('secrets').execute();
      const path = join(mkdtempSync(join(tmpdir(), 'onramp-keys-')), 'master-keys.json');
      const keyring = openKeyringFile(path, { createIfMissing: true });
      await storeSecrets(database, keyring, 'dl', 10);
      const lock = await lockKeyringFile(path, { purpose: 'test', timeoutMs: 1000 });
      addKeyToFile(path, lock);
      lock.release();
      const waiting = async (client: pg.Client) =>
        (
          await client.query(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
          )
        ).rowCount ?? 0;
      // The service's transaction holds the batch's last secret; another holds one in the middle, so
      // the rotation stops there holding the first few.
      const service = new pg.Client({ connectionString: database.location.url });
      const other = new pg.Client({ connectionString: database.location.url });
      await service.connect();
      await other.connect();
      try {
        await service.query('BEGIN');
        await service.query("UPDATE secrets SET updated_at = 'x' WHERE id = 'sec_dl_0009'");
        await other.query('BEGIN');
        await other.query("UPDATE secrets SET updated_at = 'x' WHERE id = 'sec_dl_0004'");
        const rotation = rewrapAll(database.db, openKeyringFile(path), undefined, {
          dialect: 'postgres',
        });
        await expect.poll(() => waiting(other), { timeout: 10_000, interval: 5 }).toBe(1);
        // The service now wants the first secret too, and waits for it before the rotation waits for
        // the service's: PostgreSQL's deadlock check, after 1 s, would abort the service's change.
        let settled = false;
        const serviceUpdate = service
          .query("UPDATE secrets SET updated_at = 'y' WHERE id = 'sec_dl_0000'")
          .finally(() => {
            settled = true;
          });
        await expect
          .poll(async () => settled || (await waiting(other)) >= 2, {
            timeout: 10_000,
            interval: 5,
          })
          .toBe(true);
        await other.query('COMMIT');
        await serviceUpdate;
        await service.query('COMMIT');
        const report = await rotation;
        expect(report).toMatchObject({ rewrapped: 10, skipped: 0, failed: [] });
      } finally {
        await service.end();
        await other.end();
      }
    },
  );
});

async function storeSecrets(
  database: TestDatabase,
  keyring: ReturnType<typeof openKeyringFile>,
  prefix: string,
  count: number,
) {
  const envelope = createEnvelope(keyring);
  const now = new Date().toISOString();
  for (let i = 0; i < count; i++) {
    const owner = `acct_${prefix}_${String(i).padStart(4, '0')}`;
    const sealed = envelope.seal(`secret ${i}`, {
      tenantId: 'ten_a',
      ownerId: owner,
      field: 'secretAccessKey',
    });
    await database.db
      .insertInto('secrets')
      .values({
        id: `sec_${prefix}_${String(i).padStart(4, '0')}`,
        tenant_id: 'ten_a',
        owner_id: owner,
        field: 'secretAccessKey',
        key_id: sealed.keyId,
        wrapped_key: sealed.wrappedKey,
        ciphertext: sealed.ciphertext,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }
}
