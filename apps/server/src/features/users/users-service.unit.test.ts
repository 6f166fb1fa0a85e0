import type { Transaction } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../adapters/db/schema.ts';
import type { Role } from '../../domain/principal.ts';
import { AppError } from '../../http/problems.ts';
import type { AuditActor, AuditEntry, AuditLog } from '../../ports/audit-log.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/databases.ts';
import type { RevokedWith } from '../tokens/tokens-service.ts';
import { createUsersRepository, type User } from './users-repository.ts';
import { createUsersService } from './users-service.ts';

// The users service over an in-memory SQLite, with fakes of the audit log and of the sessions and
// tokens services it asks: what it asks of them, and in which transaction, is what is checked.

const ADMIN: AuditActor = { actorType: 'user', actorId: 'usr_admin', requestId: 'req_1' };
const TENANT = 'ten_unit';

interface RevokeCall {
  userId: string;
  reason: RevokedWith;
  keepWithin: Role | undefined;
  inTransaction: boolean;
}

function fakes() {
  const entries: AuditEntry[] = [];
  const ended: { userId: string; except: string | undefined; inTransaction: boolean }[] = [];
  const revoked: RevokeCall[] = [];
  let forgotten = 0;
  let failRevocation = false;
  const audit: AuditLog = {
    async append(entry) {
      entries.push(entry);
    },
    async appendGrouped(entry) {
      entries.push(entry);
    },
  };
  return {
    entries,
    ended,
    revoked,
    forgotten: () => forgotten,
    failNextRevocation: () => {
      failRevocation = true;
    },
    audit,
    sessions: {
      async endSessionsOf(
        userId: string,
        options: { except?: string | undefined } = {},
        trx?: Transaction<Database>,
      ) {
        ended.push({ userId, except: options.except, inTransaction: trx !== undefined });
      },
    },
    tokens: {
      async revokeMadeBy(
        userId: string,
        how: { reason: RevokedWith; keepWithin?: Role | undefined; actor: AuditActor },
        trx?: Transaction<Database>,
      ) {
        if (failRevocation) throw new Error('revocation failed');
        revoked.push({
          userId,
          reason: how.reason,
          keepWithin: how.keepWithin,
          inTransaction: trx !== undefined,
        });
        return [];
      },
      forgetCached() {
        forgotten += 1;
      },
    },
  };
}

describe('users service', () => {
  let database: TestDatabase;
  let f: ReturnType<typeof fakes>;
  let service: ReturnType<typeof createUsersService>;
  let user: User;

  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
    const clock = () => new Date();
    const now = clock().toISOString();
    await database.db
      .insertInto('tenants')
      .values({ id: TENANT, name: 'unit', limits: '{}', created_at: now, updated_at: now })
      .execute();
    const users = createUsersRepository(database.db, clock);
    f = fakes();
    service = createUsersService({
      db: database.db,
      dialect: 'sqlite',
      clock,
      users,
      audit: f.audit,
      sessions: f.sessions,
      tokens: f.tokens,
    });
    user = await users.create({
      tenantId: TENANT,
      email: 'someone@example.com',
      name: 'Someone',
      role: 'tenant_admin',
      passwordHash: 'unused',
    });
  });
  afterEach(async () => {
    await database.drop();
  });

  it('disabling a user ends their sessions and revokes their tokens, in its transaction', async () => {
    const updated = await service.update(TENANT, user.id, { disabled: true }, ADMIN);
    expect(updated.disabled).toBe(true);
    expect(f.ended).toEqual([{ userId: user.id, except: undefined, inTransaction: true }]);
    expect(f.revoked).toEqual([
      { userId: user.id, reason: 'creator_disabled', keepWithin: undefined, inTransaction: true },
    ]);
    expect(f.forgotten()).toBe(1);
    expect(f.entries.map((e) => e.action)).toEqual(['user.updated']);
  });

  it('demoting revokes only what the new role cannot grant, and ends no session', async () => {
    await service.update(TENANT, user.id, { role: 'tenant_viewer' }, ADMIN);
    expect(f.ended).toEqual([]);
    expect(f.revoked).toEqual([
      {
        userId: user.id,
        reason: 'creator_demoted',
        keepWithin: 'tenant_viewer',
        inTransaction: true,
      },
    ]);
  });

  it('a rename touches neither sessions nor tokens', async () => {
    const updated = await service.update(TENANT, user.id, { name: 'Renamed' }, ADMIN);
    expect(updated.name).toBe('Renamed');
    expect(f.ended).toEqual([]);
    expect(f.revoked).toEqual([]);
  });

  it('a failed revocation leaves the user enabled: one transaction', async () => {
    f.failNextRevocation();
    await expect(service.update(TENANT, user.id, { disabled: true }, ADMIN)).rejects.toThrow(
      'revocation failed',
    );
    expect((await service.findById(user.id))?.disabled).toBe(false);
    expect(f.forgotten()).toBe(0);
  });

  it('nobody disables or removes themselves', async () => {
    const self: AuditActor = { actorType: 'user', actorId: user.id };
    const disabling = await service
      .update(TENANT, user.id, { disabled: true }, self)
      .catch((e) => e);
    expect(disabling).toBeInstanceOf(AppError);
    expect(disabling.errors[0].field).toBe('role');
    const removing = await service.remove(TENANT, user.id, self).catch((e) => e);
    expect(removing).toBeInstanceOf(AppError);
    expect(removing.errors[0].field).toBe('id');
    expect(f.ended).toEqual([]);
    expect(f.revoked).toEqual([]);
    expect(await service.findById(user.id)).toBeDefined();
  });

  it('removing a user revokes their tokens in the transaction that deletes them', async () => {
    await service.remove(TENANT, user.id, ADMIN);
    expect(await service.findById(user.id)).toBeUndefined();
    expect(f.revoked).toEqual([
      { userId: user.id, reason: 'creator_deleted', keepWithin: undefined, inTransaction: true },
    ]);
    expect(f.forgotten()).toBe(1);
    expect(f.entries.map((e) => e.action)).toEqual(['user.deleted']);
  });

  it('another tenant’s user is not found', async () => {
    const error = await service
      .update('ten_other', user.id, { disabled: true }, ADMIN)
      .catch((e) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error.status).toBe(404);
    expect(f.revoked).toEqual([]);
  });
});
