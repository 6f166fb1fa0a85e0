import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../adapters/db/schema.ts';
import { createSessionsRepository, type SessionsRepository } from './sessions-repository.ts';

/** Console sessions as other features may use them: the auth feature alone reads their table. */
export function createSessionsService(deps: {
  db: Kysely<Database>;
  clock: () => Date;
  sessions: SessionsRepository;
}) {
  const { sessions } = deps;
  return {
    start: (userId: string) => sessions.create(userId),
    find: (token: string) => sessions.find(token),
    end: (sessionId: string) => sessions.delete(sessionId),
    /**
     * Ends a user's sessions but `except` (the one making the change). It takes the users feature's
     * transaction when given: a disabled user or a changed password must not leave a session alive
     * if the change commits, nor end them if it rolls back.
     */
    async endSessionsOf(
      userId: string,
      options: { except?: string | undefined } = {},
      trx?: Transaction<Database>,
    ): Promise<void> {
      const repository = trx ? createSessionsRepository(trx, deps.clock) : sessions;
      await repository.deleteForUser(userId, options.except);
    },
  };
}

export type SessionsService = ReturnType<typeof createSessionsService>;
