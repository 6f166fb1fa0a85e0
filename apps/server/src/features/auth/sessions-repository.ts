import type { Kysely } from 'kysely';
import { hashToken, newSecretToken } from '../../adapters/crypto/secrets.ts';
import type { Database } from '../../adapters/db/schema.ts';

const SESSION_HOURS = 12;
/**
 * Idle default: NIST SP 800-63B's for AAL2 (re-authenticate after 30 minutes of inactivity, and after
 * 12 hours whatever happens), which the absolute lifetime above already follows.
 */
export const DEFAULT_SESSION_IDLE_MINUTES = 30;
/** last_seen_at is written at most this often per session: every request would be a write otherwise. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Console sessions: the cookie holds a random token; the database holds only its hash. A session ends
 * 12 hours after sign-in, or once unused for `idleMinutes`.
 */
export function createSessionsRepository(
  db: Kysely<Database>,
  clock: () => Date,
  idleMinutes = DEFAULT_SESSION_IDLE_MINUTES,
) {
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
      const now = clock();
      const idleSince = new Date(now.getTime() - idleMinutes * 60_000).toISOString();
      const row = await db
        .selectFrom('sessions')
        .select(['id', 'user_id', 'csrf_token', 'last_seen_at'])
        .where('id', '=', hashToken(token))
        .where('expires_at', '>', now.toISOString())
        .where('last_seen_at', '>', idleSince)
        .executeTakeFirst();
      if (!row) return undefined;
      const touchBefore = new Date(now.getTime() - TOUCH_EVERY_MS).toISOString();
      if (row.last_seen_at < touchBefore) {
        // Conditional, so requests arriving together write once; a later time never goes back.
        await db
          .updateTable('sessions')
          .set({ last_seen_at: now.toISOString() })
          .where('id', '=', row.id)
          .where('last_seen_at', '<', touchBefore)
          .execute();
      }
      return { id: row.id, userId: row.user_id, csrfToken: row.csrf_token };
    },
    async delete(sessionId: string): Promise<void> {
      await db.deleteFrom('sessions').where('id', '=', sessionId).execute();
    },
    /** Ends a user's sessions, but `keep` (the one making the change) when given. */
    async deleteForUser(userId: string, keep?: string): Promise<void> {
      const query = db.deleteFrom('sessions').where('user_id', '=', userId);
      await (keep ? query.where('id', '!=', keep) : query).execute();
    },
  };
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>;
