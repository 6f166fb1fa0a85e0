import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.ts';

/**
 * Webhook signing-secret rotation: `webhook_endpoints.previous_secret_expires_at` says until when the
 * secret a rotation replaced still signs deliveries beside the new one. That secret is sealed in
 * `secrets` like the current one (field `webhookPreviousSecret`, owner: the endpoint), so key rotation
 * re-wraps it with the rest. A nullable column: the same statement on SQLite and PostgreSQL.
 */
export function webhookSecretRotation(_dialect: Dialect): Migration {
  return { up };
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then.
async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('webhook_endpoints')
    .addColumn('previous_secret_expires_at', 'text')
    .execute();
}
