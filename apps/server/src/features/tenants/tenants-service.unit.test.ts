import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../http/problems.ts';
import type { AuditActor, AuditEntry, AuditLog } from '../../ports/audit-log.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/databases.ts';
import { createTenantsRepository, type Tenant } from './tenants-repository.ts';
import { createTenantsService } from './tenants-service.ts';

// The tenants service over an in-memory SQLite, with fakes of the audit log and of the users and
// tokens services: a tenant's deletion purges its sealed secrets with it, or nothing at all.

const OPERATOR: AuditActor = { actorType: 'user', actorId: 'usr_operator' };

describe('tenants service', () => {
  let database: TestDatabase;
  let entries: AuditEntry[];
  let failAudit: boolean;
  let forgotten: number;
  let created: { tenantId: string | null; email: string; inTransaction: boolean }[];
  let failUserCreation: boolean;
  let service: ReturnType<typeof createTenantsService>;
  let tenant: Tenant;
  let other: Tenant;

  const secretsOf = async (tenantId: string) =>
    (
      await database.db
        .selectFrom('secrets')
        .select('owner_id')
        .where('tenant_id', '=', tenantId)
        .execute()
    ).map((row) => row.owner_id);

  const seal = async (tenantId: string, ownerId: string) => {
    const now = new Date().toISOString();
    await database.db
      .insertInto('secrets')
      .values({
        id: `sec_${ownerId}`,
        tenant_id: tenantId,
        owner_id: ownerId,
        field: 'secretAccessKey',
        key_id: 'key_1',
        wrapped_key: 'wrapped',
        ciphertext: 'sealed',
        created_at: now,
        updated_at: now,
      })
      .execute();
  };

  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
    const clock = () => new Date();
    entries = [];
    failAudit = false;
    forgotten = 0;
    created = [];
    failUserCreation = false;
    const audit: AuditLog = {
      async append(entry) {
        if (failAudit) throw new Error('audit failed');
        entries.push(entry);
      },
      async appendGrouped(entry) {
        entries.push(entry);
      },
    };
    const tenants = createTenantsRepository(database.db, clock);
    service = createTenantsService({
      db: database.db,
      dialect: 'sqlite',
      clock,
      tenants,
      audit,
      users: {
        checkNewPassword: () => undefined,
        async create(input, trx) {
          if (failUserCreation) throw new Error('user creation failed');
          created.push({
            tenantId: input.tenantId,
            email: input.email,
            inTransaction: trx !== undefined,
          });
          return { ...input, id: 'usr_first', createdAt: '', disabled: false };
        },
      },
      tokens: {
        forgetCached() {
          forgotten += 1;
        },
      },
    });
    tenant = await tenants.create({ name: 'doomed', limits: {} });
    other = await tenants.create({ name: 'kept', limits: {} });
    await seal(tenant.id, 'acc_one');
    await seal(tenant.id, 'whk_two');
    await seal(other.id, 'acc_three');
  });
  afterEach(async () => {
    await database.drop();
  });

  it('deleting a tenant purges its sealed secrets, and no other tenant’s', async () => {
    await service.delete(tenant.id, OPERATOR);
    expect(await service.find(tenant.id)).toBeUndefined();
    expect(await secretsOf(tenant.id)).toEqual([]);
    expect(await secretsOf(other.id)).toEqual(['acc_three']);
    expect(entries.map((e) => [e.action, e.targetId])).toEqual([['tenant.deleted', tenant.id]]);
    // Its tokens went with it: the cache is forgotten once the deletion committed.
    expect(forgotten).toBe(1);
  });

  it('purges them itself, not only through the foreign key’s cascade', async () => {
    // As if the cascade were dropped: the explicit purge alone must leave no secret behind.
    await sql`PRAGMA foreign_keys = OFF`.execute(database.db);
    await service.delete(tenant.id, OPERATOR);
    expect(await secretsOf(tenant.id)).toEqual([]);
    expect(await secretsOf(other.id)).toEqual(['acc_three']);
  });

  it('purges in the deletion’s transaction: a deletion that fails keeps the secrets', async () => {
    failAudit = true;
    await expect(service.delete(tenant.id, OPERATOR)).rejects.toThrow('audit failed');
    expect(await service.find(tenant.id)).toBeDefined();
    expect((await secretsOf(tenant.id)).sort()).toEqual(['acc_one', 'whk_two']);
    expect(forgotten).toBe(0);
  });

  it('an unknown tenant is a 404 and purges nothing', async () => {
    const error = await service.delete('ten_unknown', OPERATOR).catch((e) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error.status).toBe(404);
    expect(await secretsOf(tenant.id)).toHaveLength(2);
  });

  it('creates the first admin in the tenant’s transaction, or no tenant at all', async () => {
    const admin = {
      email: 'first@example.com',
      name: 'First Admin',
      password: 'correct horse battery staple 42',
    };
    const made = await service.create({ name: 'fresh', limits: {}, admin }, OPERATOR);
    expect(created).toEqual([{ tenantId: made.id, email: admin.email, inTransaction: true }]);
    failUserCreation = true;
    await expect(service.create({ name: 'half', limits: {}, admin }, OPERATOR)).rejects.toThrow(
      'user creation failed',
    );
    expect((await service.list({ limit: 10 })).map((t) => t.name)).not.toContain('half');
  });
});
