import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.ts';

/**
 * One-time tokens with which a CloudFormation stack reports the role it created. Only the SHA-256 of
 * a token is here, for the lookup; the token itself (rendered into templates until it is used) is
 * sealed in `secrets` under the connection (field `callbackToken`). One row per connection: issuing a
 * new token replaces the old one. `account_id` and `role_arn` record what the token produced, so the
 * same callback again gets the same answer and the stack's deletion finds its account.
 */
export function callbackTokens(_dialect: Dialect): Migration {
  return { up };
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then.
async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('callback_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('connection_id', 'text', (c) =>
      c.notNull().unique().references('connections.id').onDelete('cascade'),
    )
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .addColumn('account_id', 'text')
    .addColumn('role_arn', 'text')
    .addColumn('stack_id', 'text')
    .execute();
}
