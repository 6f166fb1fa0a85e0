import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Scope } from '../../domain/principal.ts';
import type { AuditActor, AuditEntry, AuditLog } from '../../ports/audit-log.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/databases.ts';
import { createTokensRepository } from './tokens-repository.ts';
import { createTokensService } from './tokens-service.ts';

// The tokens service over an in-memory SQLite with a fake audit log: what a user made goes with the
// user, one audit entry per token, and only when the change it belongs to commits.

const ADMIN: AuditActor = { actorType: 'user', actorId: 'usr_admin', requestId: 'req_1' };

describe('tokens service', () => {
  let database: TestDatabase;
  let entries: AuditEntry[];
  let service: ReturnType<typeof createTokensService>;

  /** An operator (no tenant), who may grant every scope: only the revocation cuts their tokens. */
  const operator = async (id: string) => {
    const now = new Date().toISOString();
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
  };
  const make = (createdBy: string, scopes: Scope[], name = scopes.join(' ')) =>
    service.create(null, { name, scopes, createdBy, expiresAt: null }, ADMIN);

  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
    const clock = () => new Date();
    entries = [];
    const audit: AuditLog = {
      async append(entry) {
        entries.push(entry);
      },
      async appendGrouped(entry) {
        entries.push(entry);
      },
    };
    service = createTokensService({
      db: database.db,
      dialect: 'sqlite',
      clock,
      collectionCaps: { tokens: 3 },
      tokens: createTokensRepository(database.db, clock),
      audit,
    });
    await operator('usr_maker');
    await operator('usr_bystander');
  });
  afterEach(async () => {
    await database.drop();
  });

  it('revokes every live token a user made, one audit entry each, and no one else’s', async () => {
    const first = await make('usr_maker', ['accounts:read']);
    const second = await make('usr_maker', ['admin']);
    const theirs = await make('usr_bystander', ['admin']);
    entries.length = 0;
    const revoked = await service.revokeMadeBy('usr_maker', {
      reason: 'creator_disabled',
      actor: ADMIN,
    });
    expect(revoked.map((t) => t.id).sort()).toEqual([first.token.id, second.token.id].sort());
    expect(entries.map((e) => [e.action, e.targetId, e.details?.reason])).toEqual(
      expect.arrayContaining([
        ['token.revoked', first.token.id, 'creator_disabled'],
        ['token.revoked', second.token.id, 'creator_disabled'],
      ]),
    );
    expect(entries).toHaveLength(2);
    expect(await service.findLive(first.secret)).toBeUndefined();
    expect(await service.findLive(second.secret)).toBeUndefined();
    expect(await service.findLive(theirs.secret)).toBeDefined();
  });

  it('given the role kept, revokes only the tokens that role could not grant', async () => {
    const reader = await make('usr_maker', ['accounts:read']);
    const vendor = await make('usr_maker', ['credentials:vend']);
    const revoked = await service.revokeMadeBy('usr_maker', {
      reason: 'creator_demoted',
      keepWithin: 'tenant_admin',
      actor: ADMIN,
    });
    expect(revoked.map((t) => t.id)).toEqual([vendor.token.id]);
    expect(await service.findLive(reader.secret)).toBeDefined();
  });

  it('in the caller’s transaction: a change that rolls back revokes nothing', async () => {
    const token = await make('usr_maker', ['admin']);
    await expect(
      database.db.transaction().execute(async (trx) => {
        await service.revokeMadeBy('usr_maker', { reason: 'creator_deleted', actor: ADMIN }, trx);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await service.findLive(token.secret)).toBeDefined();
  });

  it('on its own, forgets the cached tokens so a revoked one fails at once', async () => {
    const token = await make('usr_maker', ['admin']);
    // Presented once: cached for a second from here on.
    expect(await service.findLive(token.secret)).toBeDefined();
    await service.revokeMadeBy('usr_maker', { reason: 'creator_disabled', actor: ADMIN });
    expect(await service.findLive(token.secret)).toBeUndefined();
  });

  it('makes tokens up to the cap of live ones, each audited', async () => {
    for (const n of [1, 2, 3]) await make('usr_maker', ['accounts:read'], `t${n}`);
    const refused = await make('usr_maker', ['accounts:read'], 't4').catch((e) => e);
    expect(refused.code).toBe('limit_reached');
    expect(entries.filter((e) => e.action === 'token.created')).toHaveLength(3);
    // A revoked token frees its place.
    const [newest] = await service.list(null, { limit: 1 });
    await service.revoke(null, newest?.id ?? '', ADMIN);
    await expect(make('usr_maker', ['accounts:read'], 't5')).resolves.toBeDefined();
  });
});
