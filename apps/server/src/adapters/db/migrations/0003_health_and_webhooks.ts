import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../dialect.ts';

/**
 * Health monitoring and webhooks.
 *
 * - `accounts.stale_since`: when the health checks last stopped reaching AWS (throttling, outage); the
 *   account keeps the status its last successful check found.
 * - `account_checks`: every health check, scheduled or on demand, newest last (`seq`).
 * - `health_schedule`: one row per account, when its next check is due, and which replica has claimed
 *   it until when (a replica that dies mid-check loses its claim when it expires).
 * - `webhook_endpoints`: per tenant, or the operator's (tenant_id null: every tenant's events). The
 *   signing secret is sealed in `secrets` (field `webhookSecret`, owner: the endpoint).
 * - `webhook_deliveries`: the outbox, written in the same transaction as the change it reports, and
 *   the delivery log (attempts, last response) per endpoint.
 * - `secrets.tenant_id` becomes nullable: an operator endpoint's secret belongs to no tenant.
 */
export function healthAndWebhooks(dialect: Dialect): Migration {
  return { up: (db) => up(db, dialect) };
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then.
async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await db.schema.alterTable('accounts').addColumn('stale_since', 'text').execute();

  await db.schema
    .createTable('account_checks')
    .addColumn('seq', dialect === 'sqlite' ? 'integer' : 'bigint', (c) =>
      dialect === 'sqlite'
        ? c.primaryKey().autoIncrement()
        : c.primaryKey().generatedAlwaysAsIdentity(),
    )
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) =>
      c.notNull().references('accounts.id').onDelete('cascade'),
    )
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('previous_status', 'text', (c) => c.notNull())
    .addColumn('changed', 'integer', (c) => c.notNull())
    .addColumn('stale', 'integer', (c) => c.notNull())
    .addColumn('checks', 'text', (c) => c.notNull())
    .addColumn('findings', 'text', (c) => c.notNull())
    .addColumn('errors', 'text', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('account_checks_account')
    .on('account_checks')
    .columns(['tenant_id', 'account_id', 'seq'])
    .execute();

  await db.schema
    .createTable('health_schedule')
    .addColumn('account_id', 'text', (c) =>
      c.primaryKey().references('accounts.id').onDelete('cascade'),
    )
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('next_run_at', 'text', (c) => c.notNull())
    /** Consecutive checks that could not reach AWS: the retry backoff grows with it. */
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('claimed_by', 'text')
    .addColumn('claim_expires_at', 'text')
    .execute();
  await db.schema
    .createIndex('health_schedule_due')
    .on('health_schedule')
    .column('next_run_at')
    .execute();

  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.references('tenants.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('webhook_endpoints_tenant')
    .on('webhook_endpoints')
    .columns(['tenant_id', 'id'])
    .execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('endpoint_id', 'text', (c) =>
      c.notNull().references('webhook_endpoints.id').onDelete('cascade'),
    )
    /** The endpoint's tenant (null for the operator's), for the delivery log. */
    .addColumn('tenant_id', 'text')
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    /** The exact body that is signed and sent on every attempt. */
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('next_attempt_at', 'text')
    .addColumn('last_attempt_at', 'text')
    .addColumn('last_status_code', 'integer')
    .addColumn('last_response_excerpt', 'text')
    .addColumn('last_error', 'text')
    .addColumn('delivered_at', 'text')
    .addColumn('claimed_by', 'text')
    .addColumn('claim_expires_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('webhook_deliveries_event', ['endpoint_id', 'event_id'])
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_due')
    .on('webhook_deliveries')
    .columns(['status', 'next_attempt_at'])
    .execute();

  await nullableSecretTenant(db, dialect);
}

/**
 * An operator endpoint's secret has no tenant. PostgreSQL drops the NOT NULL in place; SQLite cannot
 * alter a column, so the table is rebuilt with the same columns, constraint and index.
 */
// biome-ignore lint/suspicious/noExplicitAny: see up().
async function nullableSecretTenant(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') {
    await db.schema
      .alterTable('secrets')
      .alterColumn('tenant_id', (c) => c.dropNotNull())
      .execute();
    return;
  }
  await db.schema
    .createTable('secrets_next')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.references('tenants.id').onDelete('cascade'))
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('wrapped_key', 'text', (c) => c.notNull())
    .addColumn('ciphertext', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('secrets_owner_field', ['tenant_id', 'owner_id', 'field'])
    .execute();
  await sql`INSERT INTO secrets_next (id, tenant_id, owner_id, field, key_id, wrapped_key, ciphertext, created_at, updated_at)
    SELECT id, tenant_id, owner_id, field, key_id, wrapped_key, ciphertext, created_at, updated_at FROM secrets`.execute(
    db,
  );
  await db.schema.dropTable('secrets').execute();
  await db.schema.alterTable('secrets_next').renameTo('secrets').execute();
  await db.schema.createIndex('secrets_key').on('secrets').column('key_id').execute();
}
