import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.ts';

/**
 * Hosted connect sessions (issue 17).
 *
 * - `connect_sessions`: one per link a platform asked for: its tenant, the platform's reference,
 *   what the customer may choose (JSON), the return URL, the account it fixes or connected and the
 *   connection it made. The link's secret is kept as a SHA-256 (`link_hash`, unique) and works once:
 *   opening it sets `opened_at` and `browser_hash` (SHA-256 of the cookie the opening browser holds)
 *   by compare-and-set. The state moves `open` → `active` → `completed` | `cancelled` (and reads as
 *   `expired` past `expires_at`); every move is a compare-and-set on the state read.
 * - `connections.connect_session_id`: the session a role set-up belongs to, so a stack's call-back
 *   that connects it completes the session in the same transaction.
 *
 * The brand and the return-URL allow-list are rows of the existing `settings` table.
 */
export function connectSessions(_dialect: Dialect): Migration {
  return { up };
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then.
async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('connect_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('reference', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text')
    /** JSON: { partitions, methods, bundles, regions, accountName } as the platform asked. */
    .addColumn('allowed', 'text', (c) => c.notNull())
    .addColumn('return_url', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text')
    .addColumn('connection_id', 'text')
    .addColumn('link_hash', 'text', (c) => c.notNull().unique())
    .addColumn('browser_hash', 'text')
    .addColumn('csrf_token', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('opened_at', 'text')
    .addColumn('completed_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('connect_sessions_tenant')
    .on('connect_sessions')
    .columns(['tenant_id', 'id'])
    .execute();
  await db.schema.alterTable('connections').addColumn('connect_session_id', 'text').execute();
}
