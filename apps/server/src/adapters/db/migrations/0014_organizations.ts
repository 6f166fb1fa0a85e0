import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.ts';

/**
 * Whole AWS organizations (issue 16).
 *
 * - `organizations`: one per connected organization of a tenant: its partition, selection, role
 *   names, rules (JSON), how members are deployed, the external-ID prefix every member's ID derives
 *   from, and the enrollment token (hash for the lookup, unique; the token itself sealed in `secrets`,
 *   owner = organization id, field `enrollment_token`). A rotation keeps the previous hash accepted
 *   until `previous_token_until`. Discovery is shared by replicas through `discovery_due_at` and a
 *   claim (owner and expiry), as the health schedule is.
 * - `organization_units`: the OU tree as the last discovery saw it (the root has no parent).
 * - `organization_members`: each member account: what AWS reports (name, email, status, parent,
 *   path), its state, the role its stack reported, and its member connection and account once
 *   connected. Enrollment is a queue in this table: members `enrolling` with `enroll_due_at` are
 *   claimed by one replica (owner and expiry), validated, and moved on.
 * - `accounts.organization_id` links a member's account to its organization; `accounts.paused_reason`
 *   (`organization_left`, `organization_excluded`) stops its health checks while the member is out.
 * - `connections.organization_id` marks a member's connection (created by Onramp, never pending in
 *   the tenant's list of set-ups).
 */
export function organizations(_dialect: Dialect): Migration {
  return { up };
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then.
async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('organizations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('partition', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('bundles', 'text', (c) => c.notNull())
    .addColumn('regions', 'text', (c) => c.notNull())
    .addColumn('rules', 'text', (c) => c.notNull())
    .addColumn('deployment', 'text', (c) => c.notNull())
    .addColumn('deployment_region', 'text', (c) => c.notNull())
    .addColumn('member_role_name', 'text', (c) => c.notNull())
    .addColumn('management_role_name', 'text', (c) => c.notNull())
    .addColumn('external_id_prefix', 'text', (c) => c.notNull().unique())
    .addColumn('aws_organization_id', 'text')
    .addColumn('management_account_id', 'text')
    .addColumn('management_role_arn', 'text')
    .addColumn('management_stack_id', 'text')
    .addColumn('root_id', 'text')
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('token_issued_at', 'text', (c) => c.notNull())
    .addColumn('previous_token_hash', 'text')
    .addColumn('previous_token_until', 'text')
    .addColumn('last_discovery_at', 'text')
    .addColumn('last_discovery_ok', 'integer')
    .addColumn('last_discovery_accounts', 'integer')
    .addColumn('last_discovery_error', 'text')
    .addColumn('discovery_due_at', 'text')
    .addColumn('discovery_claimed_by', 'text')
    .addColumn('discovery_claim_expires_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('organizations_tenant')
    .on('organizations')
    .columns(['tenant_id', 'id'])
    .execute();
  await db.schema
    .createIndex('organizations_previous_token')
    .on('organizations')
    .column('previous_token_hash')
    .execute();
  await db.schema
    .createIndex('organizations_discovery_due')
    .on('organizations')
    .column('discovery_due_at')
    .execute();

  await db.schema
    .createTable('organization_units')
    .addColumn('organization_id', 'text', (c) =>
      c.notNull().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('parent_id', 'text')
    /** JSON: the IDs from the root down to this unit (itself last). */
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('seen_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('organization_units_pk', ['organization_id', 'id'])
    .execute();

  await db.schema
    .createTable('organization_members')
    .addColumn('organization_id', 'text', (c) =>
      c.notNull().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('aws_account_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('email', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('aws_status', 'text')
    .addColumn('parent_id', 'text')
    /** JSON: the IDs from the root down to the parent. */
    .addColumn('path', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('management', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('reason_code', 'text')
    .addColumn('reason_message', 'text')
    .addColumn('reason_hint', 'text')
    .addColumn('role_arn', 'text')
    .addColumn('stack_id', 'text')
    .addColumn('connection_id', 'text')
    .addColumn('account_id', 'text')
    /** Confirmed a member by Organizations (discovery, or DescribeAccount for an early report). */
    .addColumn('confirmed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('enroll_due_at', 'text')
    .addColumn('enroll_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('claimed_by', 'text')
    .addColumn('claim_expires_at', 'text')
    .addColumn('discovered_at', 'text')
    .addColumn('seen_at', 'text')
    .addColumn('state_changed_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('organization_members_pk', ['organization_id', 'aws_account_id'])
    .execute();
  await db.schema
    .createIndex('organization_members_state')
    .on('organization_members')
    .columns(['organization_id', 'state'])
    .execute();
  await db.schema
    .createIndex('organization_members_enroll_due')
    .on('organization_members')
    .column('enroll_due_at')
    .execute();
  await db.schema
    .createIndex('organization_members_account')
    .on('organization_members')
    .columns(['tenant_id', 'account_id'])
    .execute();

  await db.schema.alterTable('accounts').addColumn('organization_id', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('paused_reason', 'text').execute();
  await db.schema.alterTable('connections').addColumn('organization_id', 'text').execute();
}
