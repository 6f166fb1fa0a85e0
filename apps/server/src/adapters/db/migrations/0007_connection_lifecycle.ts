import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.ts';

/**
 * A connection's life beyond its wizard:
 * - `connections.previous_external_id` / `previous_external_id_until`: the external ID a regeneration
 *   replaced, still listed in the templates' trust policy until the grace period ends.
 * - `connections.setup_method`: how the tenant chose to create the role in the wizard (quick-create,
 *   CloudFormation, Terraform or by hand), shown on the account page.
 * - `accounts.role_origin`: how the role reached Onramp (the stack's call-back, or a pasted ARN).
 * Nullable columns: the same statements on SQLite and PostgreSQL, and rows from before stay valid.
 */
export function connectionLifecycle(_dialect: Dialect): Migration {
  return { up };
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then.
async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('connections').addColumn('previous_external_id', 'text').execute();
  await db.schema
    .alterTable('connections')
    .addColumn('previous_external_id_until', 'text')
    .execute();
  await db.schema.alterTable('connections').addColumn('setup_method', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('role_origin', 'text').execute();
  // The accounts page lists a tenant's pending connections.
  await db.schema
    .createIndex('connections_tenant_status')
    .on('connections')
    .columns(['tenant_id', 'status'])
    .execute();
}
