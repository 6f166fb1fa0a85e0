import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../dialect.ts';

/**
 * One account per principal in a tenant: `accounts.credential_key` names what an account signs in
 * with (`role:<role ARN>` or `key:<access key ID>`), and a unique index on (tenant, key) refuses a
 * second account with the same one, also when two creates race.
 *
 * Accounts made before this may already share a principal. The oldest of each such group takes the
 * key; the others keep NULL (which a unique index lets repeat), so nothing is deleted or renamed, and
 * they take a key of their own when their credentials are next replaced.
 */
export function accountIdentityIndex(_dialect: Dialect): Migration {
  return { up };
}

const KEY = sql`case when method = 'role' then 'role:' || role_arn else 'key:' || access_key_id end`;

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then.
async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('accounts').addColumn('credential_key', 'text').execute();
  // The same statement on SQLite and PostgreSQL: a correlated subquery finds an older twin.
  await sql`
    update accounts set credential_key = ${KEY}
    where not exists (
      select 1 from accounts as older
      where older.tenant_id = accounts.tenant_id
        and older.method = accounts.method
        and (
          (accounts.method = 'role' and older.role_arn = accounts.role_arn)
          or (accounts.method = 'access_keys' and older.access_key_id = accounts.access_key_id)
        )
        and (
          older.created_at < accounts.created_at
          or (older.created_at = accounts.created_at and older.id < accounts.id)
        )
    )
  `.execute(db);
  await db.schema
    .createIndex('accounts_tenant_credential_key')
    .unique()
    .on('accounts')
    .columns(['tenant_id', 'credential_key'])
    .execute();
}
