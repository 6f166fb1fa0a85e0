import { readFileSync } from 'node:fs';
import { type Catalog, DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Caller } from '../../domain/caller.ts';
import { AppError } from '../../http/problems.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/databases.ts';
import type { AuditEntry } from '../audit/audit-repository.ts';
import { createTenantsRepository, type TenantLimits } from '../tenants/tenants-repository.ts';
import { createConnectionsService, defaultRoleName } from './connections-service.ts';

/**
 * The connections service on its own: SQLite in memory, a clock and random bytes the test turns, an
 * audit log that is a list. No HTTP, no PostgreSQL.
 */
const HUBS = { aws: { principalArn: 'arn:aws:iam::111122223333:role/onramp-hub' } };
const DAY_MS = 24 * 60 * 60 * 1000;

let catalog: Catalog;
beforeAll(async () => {
  catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
    actions: createIamDataActionIndex(),
  });
});

describe('connections service', () => {
  let database: TestDatabase;
  let now: Date;
  let seed: number;
  let audit: AuditEntry[];
  let limits: TenantLimits;
  let caller: Caller;

  const service = () =>
    createConnectionsService({
      db: database.db,
      dialect: 'sqlite',
      catalog,
      hubs: HUBS,
      clock: () => now,
      // A new byte pattern each call, so each external ID differs and is known to the test.
      randomBytes: (n) => new Uint8Array(n).fill(++seed),
      audit: { append: async (entry) => void audit.push(entry) },
      tenants: { find: async () => ({ limits }) },
      pendingConnectionDays: 14,
    });

  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
    now = new Date('2026-03-01T10:00:00.000Z');
    seed = 0;
    audit = [];
    limits = {};
    const tenant = await createTenantsRepository(database.db, () => now).create({
      name: 'Acme',
      limits: {},
    });
    caller = {
      tenantId: tenant.id,
      actorType: 'user',
      actorId: 'usr_test',
      requestId: 'req_test',
      sourceIp: '192.0.2.1',
    };
  });
  afterEach(() => database.drop());

  const input = {
    name: 'Prod',
    description: '',
    partition: 'aws' as const,
    bundles: 'default' as const,
    regions: [],
  };

  it('creates a pending set-up with a generated external ID and audits it', async () => {
    const connections = service();
    const created = await connections.createConnection(caller, input);
    expect(created.status).toBe('pending');
    expect(created.externalId).toMatch(/\S{20,}/);
    expect(created.roleName).toBe(defaultRoleName(created.id));
    expect(await connections.getConnection(caller.tenantId, created.id)).toEqual(created);
    expect(audit.map((e) => e.action)).toEqual(['connection.created']);
    expect(audit[0]).toMatchObject({ tenantId: caller.tenantId, targetId: created.id });
  });

  it('refuses a partition without a hub identity, on partition', async () => {
    const refused = await service()
      .createConnection(caller, { ...input, partition: 'aws-cn' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('validation_failed');
    expect((refused as AppError).errors[0]?.field).toBe('partition');
  });

  it('refuses a partition the tenant may not use', async () => {
    limits = { partitions: ['aws-us-gov'] };
    const refused = await service()
      .createConnection(caller, input)
      .catch((e: unknown) => e);
    expect((refused as AppError).code).toBe('limit_reached');
  });

  it('changes a pending set-up but never its external ID; the set-up method alone is not audited', async () => {
    const connections = service();
    const created = await connections.createConnection(caller, input);
    const renamed = await connections.updateConnection(caller, created.id, { name: 'Production' });
    expect(renamed.name).toBe('Production');
    expect(renamed.externalId).toBe(created.externalId);
    await connections.updateConnection(caller, created.id, { setupMethod: 'terraform' });
    expect((await connections.getConnection(caller.tenantId, created.id)).setupMethod).toBe(
      'terraform',
    );
    expect(audit.map((e) => e.action)).toEqual(['connection.created', 'connection.updated']);
  });

  it('expires a set-up not changed for the pending period', async () => {
    const connections = service();
    const created = await connections.createConnection(caller, input);
    expect(connections.expiresAtOf(created)).toBe(
      new Date(now.getTime() + 14 * DAY_MS).toISOString(),
    );
    now = new Date(now.getTime() + 15 * DAY_MS);
    expect(connections.isExpired(created)).toBe(true);
    const refused = await connections
      .updateConnection(caller, created.id, { name: 'Late' })
      .catch((e: unknown) => e);
    expect((refused as AppError).errors[0]?.code).toBe('expired');
    const pending = await connections.listConnections(caller.tenantId, {
      limit: 10,
      status: 'pending',
    });
    expect(pending.connections).toEqual([]);
  });

  it('regenerates the external ID of a pending set-up', async () => {
    const connections = service();
    const created = await connections.createConnection(caller, input);
    const regenerated = await connections.regenerateExternalId(caller, created.id);
    expect(regenerated.externalId).not.toBe(created.externalId);
    expect(audit.at(-1)?.action).toBe('connection.external_id_regenerated');
  });

  it('connects a set-up once: a second connect, a change or a delete is a conflict', async () => {
    const connections = service();
    const created = await connections.createConnection(caller, input);
    await connections.markConnected(created, 'acc_first');
    const again = await connections.markConnected(created, 'acc_second').catch((e: unknown) => e);
    expect((again as AppError).errors[0]?.code).toBe('already_connected');
    const change = await connections
      .updateConnection(caller, created.id, { name: 'x' })
      .catch((e: unknown) => e);
    expect((change as AppError).errors[0]?.code).toBe('already_connected');
    const removal = await connections.deleteConnection(caller, created.id).catch((e: unknown) => e);
    expect((removal as AppError).code).toBe('conflict');
    await connections.markPending(caller.tenantId, created.id);
    await connections.deleteConnection(caller, created.id);
    expect(await connections.find(caller.tenantId, created.id)).toBeUndefined();
  });

  it('tells an account create which set-up it connects from, or why not', async () => {
    const connections = service();
    const missing = await connections
      .forAccount(caller.tenantId, 'con_missing', true)
      .catch((e: unknown) => e);
    expect((missing as AppError).errors[0]).toMatchObject({
      field: 'connectionId',
      code: 'not_found',
    });
    const created = await connections.createConnection(caller, input);
    expect((await connections.forAccount(caller.tenantId, created.id, true)).id).toBe(created.id);
    // Changed while validated: the account must not be saved from a stale set-up.
    await connections.regenerateExternalId(caller, created.id);
    const changed = await database.db
      .transaction()
      .execute((trx) => connections.ensureUnchanged(caller.tenantId, created, trx))
      .catch((e: unknown) => e);
    expect((changed as AppError).errors[0]?.code).toBe('changed');
  });

  it('pages the tenant’s set-ups, oldest first', async () => {
    const connections = service();
    const a = await connections.createConnection(caller, { ...input, name: 'a' });
    const b = await connections.createConnection(caller, { ...input, name: 'b' });
    const first = await connections.listConnections(caller.tenantId, { limit: 1 });
    expect(first.connections.map((c) => c.id)).toEqual([a.id]);
    const second = await connections.listConnections(caller.tenantId, {
      limit: 1,
      cursor: first.next ?? undefined,
    });
    expect(second.connections.map((c) => c.id)).toEqual([b.id]);
    expect(second.next).toBeNull();
  });
});
