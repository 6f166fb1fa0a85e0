import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.ts';

/**
 * What each account was granted, so a catalog change can be compared with it without asking AWS:
 * the bundles' actions (with a hash per bundle) when the account was connected or last updated, and
 * what follows from comparing them with the catalog and with the last check: outdated since when,
 * the changes per bundle, and the granted actions a check found missing (trimmed). Accounts made
 * before this have no grants recorded (NULL): the first start-up with grants records the catalog of
 * that moment as theirs. `bundle_choice` keeps whether the tenant chose the defaults (which follow the
 * catalog), every bundle, or its own list; accounts made before this (NULL) count as their own list.
 */
export function permissionGrants(_dialect: Dialect): Migration {
  return { up };
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then.
async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('accounts').addColumn('granted_permissions', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('granted_at', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('outdated_since', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('permission_changes', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('trimmed_permissions', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('bundle_choice', 'text').execute();
  await db.schema
    .createIndex('accounts_tenant_outdated')
    .on('accounts')
    .columns(['tenant_id', 'outdated_since'])
    .execute();
}
