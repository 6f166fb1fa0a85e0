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

describe.runIf(TEST_DIALECTS.includes('postgres'))('the audit log on postgres', () => {
  // SQLite has no TRUNCATE statement (its DELETE without WHERE meets the delete trigger, tested above).
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('refuses TRUNCATE, alone or by cascade', async () => {
    const { db } = database;
    await db
      .insertInto('audit_log')
      .values({
        id: 'aud_t',
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
    await expect(sql`TRUNCATE audit_log`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`TRUNCATE audit_log, settings CASCADE`.execute(db)).rejects.toThrow(
      /append-only/,
    );
    const rows = await sql<{ n: number }>`select count(*) as n from audit_log`.execute(db);
    expect(Number(rows.rows[0]?.n)).toBe(1);
  });
});

describe('0006_users_hardening on a database with users', () => {
  it.each(TEST_DIALECTS)(
    'keeps users and their sessions on %s, and makes emails unique per tenant',
    async (dialect) => {
      const database = await createTestDatabase(dialect, ':memory:', {
        upTo: '0004_webhook_secret_rotation',
      });
      try {
        const { db } = database;
        const at = new Date().toISOString();
        await db
          .insertInto('tenants')
          .values([
            { id: 'ten_a', name: 'a', limits: '{}', created_at: at, updated_at: at },
            { id: 'ten_b', name: 'b', limits: '{}', created_at: at, updated_at: at },
          ])
          .execute();
        const user = (id: string, tenant: string | null, email: string) => ({
          id,
          tenant_id: tenant,
          email,
          name: id,
          role: tenant ? ('tenant_admin' as const) : ('operator_admin' as const),
          password_hash: 'x',
          created_at: at,
          updated_at: at,
          disabled_at: null,
        });
        await db
          .insertInto('users')
          .values([
            user('usr_1', 'ten_a', 'ada@example.com'),
            user('usr_op', null, 'ops@example.com'),
          ])
          .execute();
        await db
          .insertInto('sessions')
          .values({
            id: 's1',
            user_id: 'usr_1',
            csrf_token: 'c',
            created_at: at,
            expires_at: at,
            last_seen_at: at,
          })
          .execute();

        expect(await migrateToLatest(database)).toContain('0006_users_hardening');

        expect(await db.selectFrom('sessions').select('user_id').execute()).toEqual([
          { user_id: 'usr_1' },
        ]);
        // The same email in another tenant, or as a tenant user beside an operator, is no conflict…
        await db
          .insertInto('users')
          .values([
            user('usr_2', 'ten_b', 'ada@example.com'),
            user('usr_3', 'ten_a', 'ops@example.com'),
          ])
          .execute();
        // …in the same tenant, or between two operators, it is.
        await expect(
          db
            .insertInto('users')
            .values(user('usr_4', 'ten_a', 'ada@example.com'))
            .execute(),
        ).rejects.toThrow();
        await expect(
          db
            .insertInto('users')
            .values(user('usr_5', null, 'ops@example.com'))
            .execute(),
        ).rejects.toThrow();
        // Foreign keys still hold after SQLite's rebuild: a user's sessions go with them.
        await db.deleteFrom('users').where('id', '=', 'usr_1').execute();
        expect(await db.selectFrom('sessions').select('id').execute()).toEqual([]);
        await expect(
          db
            .insertInto('sessions')
            .values({
              id: 's2',
              user_id: 'usr_nobody',
              csrf_token: 'c',
              created_at: at,
              expires_at: at,
              last_seen_at: at,
            })
            .execute(),
        ).rejects.toThrow();
      } finally {
        await database.drop();
      }
    },
  );
});
