import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.ts';

/**
 * Machine tokens (issue 18): a token made with another token records that parent.
 *
 * - `api_tokens.parent_token_id`: the token that made this one, or null for a token made from a
 *   console session. No foreign key: tokens are only ever deleted with their tenant, and an operator
 *   token's tenant child must not hold up (or be held up by) that deletion. Indexed, because revoking
 *   a token walks down to its descendants and revokes them with it.
 */
export function tokenParents(_dialect: Dialect): Migration {
  return { up };
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then.
async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_tokens').addColumn('parent_token_id', 'text').execute();
  await db.schema
    .createIndex('api_tokens_parent')
    .on('api_tokens')
    .column('parent_token_id')
    .execute();
}
