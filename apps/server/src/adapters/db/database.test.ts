import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../../testing/databases.ts';
import { migrateToLatest } from './database.ts';

describe.each(TEST_DIALECTS)('migrations on %s', (dialect) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('create every table, and running them again changes nothing', async () => {
    const tables = (await database.db.introspection.getTables()).map((t) => t.name).sort();
    expect(tables).toEqual(
      expect.arrayContaining([
        'accounts',
        'api_tokens',
        'audit_log',
        'callback_tokens',
        'connections',
        'secrets',
        'sessions',
        'settings',
        'tenants',
        'users',
      ]),
    );
    expect(await migrateToLatest(database)).toEqual([]);
  });

  it('make the audit log append-only in the database itself', async () => {
    const { db } = database;
    await db
      .insertInto('audit_log')
      .values({
        id: 'aud_1',
        actor_type: 'system',
        action: 'test',
        at: new Date().toISOString(),
        details: '{}',
        tenant_id: null,
        actor_id: null,
        target_type: null,
        target_id: null,
        request_id: null,
        source_ip: null,
      })
      .execute();
    await expect(db.updateTable('audit_log').set({ action: 'changed' }).execute()).rejects.toThrow(
      /append-only/,
    );
    await expect(db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
    const rows = await sql<{ n: number }>`select count(*) as n from audit_log`.execute(db);
    expect(Number(rows.rows[0]?.n)).toBe(1);
  });
});
