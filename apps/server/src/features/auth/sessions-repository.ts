import type { Kysely } from 'kysely';
import { hashToken, newSecretToken } from '../../adapters/crypto/secrets.ts';
import type { Database } from '../../adapters/db/schema.ts';

const SESSION_HOURS = 12;

/** Console sessions: the cookie holds a random token; the database holds only its hash. */
export function createSessionsRepository(db: Kysely<Database>, clock: () => Date) {
  return {
    async create(userId: string): Promise<{ token: string; csrfToken: string; expiresAt: string }> {
      const token = newSecretToken();
      const csrfToken = newSecretToken();
      const now = clock();
      const expiresAt = new Date(now.getTime() + SESSION_HOURS * 3600_000).toISOString();
      await db
        .insertInto('sessions')
        .values({
          id: hashToken(token),
          user_id: userId,
          csrf_token: csrfToken,
          created_at: now.toISOString(),
          expires_at: expiresAt,
          last_seen_at: now.toISOString(),
        })
        .execute();
      return { token, csrfToken, expiresAt };
    },
    async find(
      token: string,
    ): Promise<{ id: string; userId: string; csrfToken: string } | undefined> {
      const row = await db
        .selectFrom('sessions')
        .select(['id', 'user_id', 'csrf_token'])
        .where('id', '=', hashToken(token))
        .where('expires_at', '>', clock().toISOString())
        .executeTakeFirst();
      return row ? { id: row.id, userId: row.user_id, csrfToken: row.csrf_token } : undefined;
    },
    async delete(sessionId: string): Promise<void> {
      await db.deleteFrom('sessions').where('id', '=', sessionId).execute();
    },
    async deleteForUser(userId: string): Promise<void> {
      await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
    },
  };
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>;

/**
 * A fixed-window counter in the database, so every replica counts the same attempts. Returns whether
 * this attempt is within the limit.
 */
export async function hitRateLimit(
  db: Kysely<Database>,
  clock: () => Date,
  key: string,
  limit: number,
  windowSeconds: number,
): Promise<{ allowed: boolean; retryAfter: number }> {
  const now = clock();
  const windowStart = new Date(
    Math.floor(now.getTime() / (windowSeconds * 1000)) * windowSeconds * 1000,
  ).toISOString();
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('rate_limits')
      .selectAll()
      .where('key', '=', key)
      .executeTakeFirst();
    let count = 1;
    if (!row) {
      await trx
        .insertInto('rate_limits')
        .values({ key, window_start: windowStart, count })
        .onConflict((oc) => oc.column('key').doUpdateSet({ window_start: windowStart, count: 1 }))
        .execute();
    } else if (row.window_start !== windowStart) {
      await trx
        .updateTable('rate_limits')
        .set({ window_start: windowStart, count: 1 })
        .where('key', '=', key)
        .execute();
    } else {
      count = row.count + 1;
      await trx.updateTable('rate_limits').set({ count }).where('key', '=', key).execute();
    }
    const retryAfter = Math.ceil(
      (new Date(windowStart).getTime() + windowSeconds * 1000 - now.getTime()) / 1000,
    );
    return { allowed: count <= limit, retryAfter };
  });
}
