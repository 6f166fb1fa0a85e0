import type { Kysely } from 'kysely';
import { hashToken, newSecretToken } from '../../adapters/crypto/secrets.ts';
import type { Database } from '../../adapters/db/schema.ts';
import { newId } from '../../ids.ts';

/**
 * Password reset links: a random token shown once (in the link an admin hands out), stored as its
 * SHA-256 (it is high-entropy, so a plain hash suffices), good once and until it expires. A user has at
 * most one live link: making one, using one, or changing the password removes the others.
 */
export function createPasswordResetsRepository(db: Kysely<Database>, clock: () => Date) {
  return {
    async create(
      input: { userId: string; createdBy: string; ttlHours: number },
      executor: Kysely<Database> = db,
    ): Promise<{ token: string; expiresAt: string }> {
      const token = newSecretToken('rst_');
      const now = clock();
      const expiresAt = new Date(now.getTime() + input.ttlHours * 3600_000).toISOString();
      // Locks the user's row for the rest of the caller's transaction (an UPDATE that changes
      // nothing; SQLite's write lock does the same), so links made at once for one user take turns:
      // otherwise each deletes the links committed before it and several stay live.
      await executor
        .updateTable('users')
        .set((eb) => ({ id: eb.ref('id') }))
        .where('id', '=', input.userId)
        .execute();
      await executor
        .deleteFrom('password_resets')
        .where('user_id', '=', input.userId)
        .where('used_at', 'is', null)
        .execute();
      await executor
        .insertInto('password_resets')
        .values({
          id: newId('passwordReset'),
          user_id: input.userId,
          token_hash: hashToken(token),
          created_by: input.createdBy,
          created_at: now.toISOString(),
          expires_at: expiresAt,
          used_at: null,
        })
        .execute();
      return { token, expiresAt };
    },

    /** The live (unused, unexpired) link a token opens: its id, its user and who made it. */
    async findLive(
      token: string,
    ): Promise<{ id: string; userId: string; createdBy: string } | undefined> {
      const row = await db
        .selectFrom('password_resets')
        .select(['id', 'user_id', 'created_by'])
        .where('token_hash', '=', hashToken(token))
        .where('used_at', 'is', null)
        .where('expires_at', '>', clock().toISOString())
        .executeTakeFirst();
      return row ? { id: row.id, userId: row.user_id, createdBy: row.created_by } : undefined;
    },

    /**
     * Spends a link in the caller's transaction: true for exactly one of any number of concurrent
     * calls (one conditional UPDATE), false if it was spent or expired meanwhile.
     */
    async spend(id: string, executor: Kysely<Database> = db): Promise<boolean> {
      const now = clock().toISOString();
      const result = await executor
        .updateTable('password_resets')
        .set({ used_at: now })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Removes a user's unused links (their password was just set some other way). */
    async deleteUnusedFor(userId: string, executor: Kysely<Database> = db): Promise<void> {
      await executor
        .deleteFrom('password_resets')
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .execute();
    },
  };
}

export type PasswordResetsRepository = ReturnType<typeof createPasswordResetsRepository>;
