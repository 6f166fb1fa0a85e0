import type { Kysely } from 'kysely';
import { hashToken, newSecretToken } from '../../adapters/crypto/secrets.ts';
import type { Database } from '../../adapters/db/schema.ts';

const SETUP_KEY = 'setup_token_hash';

/**
 * While no operator admin exists, a one-time set-up token lets the first person in create one. A new
 * token is made at every start until then (only its hash is stored), so the one printed last works.
 */
export async function issueSetupToken(
  db: Kysely<Database>,
  clock: () => Date,
): Promise<string | null> {
  const operator = await db
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'operator_admin')
    .executeTakeFirst();
  if (operator) return null;
  const token = newSecretToken('setup_');
  const now = clock().toISOString();
  await db
    .insertInto('settings')
    .values({ key: SETUP_KEY, value: hashToken(token), updated_at: now })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: hashToken(token), updated_at: now }))
    .execute();
  return token;
}

/** Consumes the set-up token inside the caller's transaction; false if it is wrong or already used. */
export async function consumeSetupToken(trx: Kysely<Database>, token: string): Promise<boolean> {
  const result = await trx
    .deleteFrom('settings')
    .where('key', '=', SETUP_KEY)
    .where('value', '=', hashToken(token))
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
