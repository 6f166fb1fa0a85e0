import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
