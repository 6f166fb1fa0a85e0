import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../dialect.ts';

/**
 * Users hardening:
 * - Emails are unique per tenant (the operators form one more namespace), no longer across tenants:
 *   a tenant admin adding a user must learn nothing about other tenants, so an email used elsewhere
 *   is no conflict. Sign-in finds the account by email and password.
 * - `password_resets`: single-use, expiring reset links an admin hands out; only their hash is kept.
 * - PostgreSQL refuses TRUNCATE on the audit log, as it refuses UPDATE and DELETE (SQLite has no
 *   TRUNCATE: its `DELETE FROM` without WHERE already meets the delete trigger).
 */
export function usersHardening(dialect: Dialect): Migration {
  return { up: (db) => up(db, dialect) };
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then.
async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') {
    await sql`ALTER TABLE users DROP CONSTRAINT users_email_key`.execute(db);
    await sql`CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION onramp_audit_append_only()`.execute(db);
  } else {
    await rebuildSqliteUsersWithoutUniqueEmail(db);
  }
  // coalesce: NULL (the operators) would otherwise never equal NULL, and operators could share one.
  await sql`CREATE UNIQUE INDEX users_tenant_email ON users ((coalesce(tenant_id, '')), email)`.execute(
    db,
  );
  // Sign-in looks an email up across tenants.
  await db.schema.createIndex('users_email').on('users').column('email').execute();

  await db.schema
    .createTable('password_resets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .execute();
  await db.schema
    .createIndex('password_resets_user')
    .on('password_resets')
    .column('user_id')
    .execute();
}

/**
 * SQLite cannot drop a column's UNIQUE constraint: the table is rebuilt (SQLite's documented
 * twelve-step procedure), with foreign keys off so dropping the old table does not cascade to the
 * sessions that reference it, and checked before they are turned back on.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then.
async function rebuildSqliteUsersWithoutUniqueEmail(db: Kysely<any>): Promise<void> {
  await sql`PRAGMA foreign_keys = OFF`.execute(db);
  try {
    await db.transaction().execute(async (trx) => {
      await trx.schema
        .createTable('users_rebuilt')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.references('tenants.id').onDelete('cascade'))
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('disabled_at', 'text')
        .execute();
      await sql`INSERT INTO users_rebuilt (id, tenant_id, email, name, role, password_hash,
        created_at, updated_at, disabled_at)
        SELECT id, tenant_id, email, name, role, password_hash, created_at, updated_at, disabled_at
        FROM users`.execute(trx);
      await trx.schema.dropTable('users').execute();
      await trx.schema.alterTable('users_rebuilt').renameTo('users').execute();
      await trx.schema.createIndex('users_tenant').on('users').column('tenant_id').execute();
      // The rebuilt table's own references, and those of the table that references it.
      for (const table of ['users', 'sessions']) {
        const broken = await sql`SELECT * FROM pragma_foreign_key_check(${table})`.execute(trx);
        if (broken.rows.length > 0) {
          throw new Error(
            `rebuilding users broke ${broken.rows.length} foreign key(s) of ${table}`,
          );
        }
      }
    });
  } finally {
    await sql`PRAGMA foreign_keys = ON`.execute(db);
  }
}
