import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/databases.ts';
import { createSessionsRepository } from './sessions-repository.ts';
import { createSessionsService } from './sessions-service.ts';

// Ending a user's sessions, as the users feature asks it to (a disabled user, a new password), over
// an in-memory SQLite.

describe('sessions service', () => {
  let database: TestDatabase;
  let service: ReturnType<typeof createSessionsService>;

  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
    const clock = () => new Date();
    const now = clock().toISOString();
    for (const id of ['usr_one', 'usr_two']) {
      await database.db
        .insertInto('users')
        .values({
          id,
          tenant_id: null,
          email: `${id}@example.com`,
          name: id,
          role: 'operator_admin',
          password_hash: 'unused',
          created_at: now,
          updated_at: now,
          disabled_at: null,
        })
        .execute();
    }
    service = createSessionsService({
      db: database.db,
      clock,
      sessions: createSessionsRepository(database.db, clock),
    });
  });
  afterEach(async () => {
    await database.drop();
  });

  it('ends every session of a user but the one kept, and no one else’s', async () => {
    const kept = await service.start('usr_one');
    const other = await service.start('usr_one');
    const theirs = await service.start('usr_two');
    const keptId = (await service.find(kept.token))?.id;
    await service.endSessionsOf('usr_one', { except: keptId });
    expect(await service.find(kept.token)).toBeDefined();
    expect(await service.find(other.token)).toBeUndefined();
    expect(await service.find(theirs.token)).toBeDefined();
  });

  it('in the caller’s transaction: a change that rolls back ends nothing', async () => {
    const session = await service.start('usr_one');
    await expect(
      database.db.transaction().execute(async (trx) => {
        await service.endSessionsOf('usr_one', {}, trx);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await service.find(session.token)).toBeDefined();
  });
});
