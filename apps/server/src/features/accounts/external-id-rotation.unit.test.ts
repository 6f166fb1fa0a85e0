import { readFileSync } from 'node:fs';
import { type Catalog, DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Account } from '../../domain/account.ts';
import type { Caller } from '../../domain/caller.ts';
import type { Connection } from '../../domain/connection.ts';
import { AppError } from '../../http/problems.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/databases.ts';
import type { AuditEntry } from '../audit/audit-repository.ts';
import { createConnectionsService } from '../connections/connections-service.ts';
import { createTenantsRepository } from '../tenants/tenants-repository.ts';
import type { ValidationReport } from '../validation/accounts-validation.ts';
import type { WebhookEvent } from '../webhooks/webhooks-service.ts';
import { createAccountsRepository } from './accounts-repository.ts';
import { createExternalIdRotation } from './external-id-rotation.ts';

/**
 * The external-ID rotation on its own: SQLite in memory, the real connections service, and a
 * validation the test answers. Audit entries and events are lists.
 */
const HUBS = { aws: { principalArn: 'arn:aws:iam::111122223333:role/onramp-hub' } };
const DAY_MS = 24 * 60 * 60 * 1000;
const ROLE_ARN = 'arn:aws:iam::444455556666:role/OnrampRole';

let catalog: Catalog;
beforeAll(async () => {
  catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
    actions: createIamDataActionIndex(),
  });
});

describe('external-ID rotation', () => {
  let database: TestDatabase;
  let now: Date;
  let seed: number;
  let audit: AuditEntry[];
  let events: WebhookEvent[];
  let switched: string[];
  /** The external IDs the role accepts; validation passes only with one of them. */
  let accepted: Set<string>;
  /** The role lacks actions of its bundles: validation proves the ID but is not valid. */
  let lacksActions: boolean;
  let caller: Caller;

  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
    now = new Date('2026-03-01T10:00:00.000Z');
    seed = 0;
    audit = [];
    events = [];
    switched = [];
    accepted = new Set();
    lacksActions = false;
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

  function setUp() {
    const deps = {
      db: database.db,
      clock: () => now,
      // A new byte pattern each call, so each external ID differs.
      randomBytes: (n: number) => new Uint8Array(n).fill(++seed),
      audit: { append: async (entry: AuditEntry) => void audit.push(entry) },
    };
    const connections = createConnectionsService({
      ...deps,
      dialect: 'sqlite',
      catalog,
      hubs: HUBS,
      tenants: { find: async () => ({ limits: {} }) },
    });
    const accounts = createAccountsRepository(database.db, () => now);
    const rotation = createExternalIdRotation({
      ...deps,
      externalIdGraceDays: 7,
      events: { publish: async (event) => events.push(event) },
      connections,
      accounts,
      validateAccount: async (_account, credentials) => {
        const proven = credentials.method === 'role' && accepted.has(credentials.externalId);
        return { valid: proven && !lacksActions, proven } as ValidationReport;
      },
      onSwitched: (accountId) => void switched.push(accountId),
    });
    return { connections, accounts, rotation };
  }

  async function connectRole(): Promise<{ account: Account; connection: Connection }> {
    const { connections, accounts } = setUp();
    const connection = await connections.createConnection(caller, {
      name: 'Prod',
      description: '',
      partition: 'aws',
      bundles: 'default',
      regions: [],
    });
    const account = await accounts.create(caller.tenantId, {
      name: 'Prod',
      description: '',
      partition: 'aws',
      method: 'role',
      awsAccountId: '444455556666',
      principalArn: ROLE_ARN,
      roleArn: ROLE_ARN,
      externalId: connection.externalId,
      connectionId: connection.id,
      accessKeyId: null,
      bundles: [],
      regions: [],
      status: 'valid',
      statusDetail: { checks: [], errors: [] },
      lastCheckedAt: now.toISOString(),
    });
    await connections.markConnected(connection, account.id);
    accepted.add(connection.externalId);
    audit = [];
    return { account, connection };
  }

  it('regenerates beside the ID in use, which stays accepted for the grace period', async () => {
    const { account, connection } = await connectRole();
    const { rotation, accounts } = setUp();
    const regenerated = await rotation.regenerate(caller, account.id);
    expect(regenerated.externalId).not.toBe(connection.externalId);
    expect(regenerated.previousExternalId).toBe(connection.externalId);
    expect(regenerated.previousExternalIdUntil).toBe(
      new Date(now.getTime() + 7 * DAY_MS).toISOString(),
    );
    expect((await accounts.find(caller.tenantId, account.id))?.externalId).toBe(
      connection.externalId,
    );
    expect(audit.map((e) => e.action)).toEqual(['account.external_id_regenerated']);
    expect(events.map((e) => [e.type, e.data.phase])).toEqual([
      ['account.external_id_changed', 'regenerated'],
    ]);
    // The IDs themselves never leave in an event.
    expect(JSON.stringify(events)).not.toContain(regenerated.externalId);
  });

  it('refuses an account without an external ID on method, and an unknown one with 404', async () => {
    const { rotation, accounts } = setUp();
    const keys = await accounts.create(caller.tenantId, {
      name: 'Keys',
      description: '',
      partition: 'aws',
      method: 'access_keys',
      awsAccountId: '444455556666',
      principalArn: 'arn:aws:iam::444455556666:user/onramp',
      roleArn: null,
      externalId: null,
      connectionId: null,
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      bundles: [],
      regions: [],
      status: 'valid',
      statusDetail: { checks: [], errors: [] },
      lastCheckedAt: null,
    });
    const refused = await rotation.regenerate(caller, keys.id).catch((e: unknown) => e);
    expect((refused as AppError).code).toBe('conflict');
    expect((refused as AppError).errors[0]).toMatchObject({
      field: 'method',
      code: 'no_external_id',
    });
    const missing = await rotation
      .regenerate(caller, 'acct_00000000000000000000000000')
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(AppError);
    expect((missing as AppError).code).toBe('not_found');
    expect(await rotation.advance(caller.tenantId, keys.id)).toBeUndefined();
  });

  it('keeps the ID in use until a check with the new one passes, then switches', async () => {
    const { account, connection } = await connectRole();
    const { rotation, accounts } = setUp();
    const regenerated = await rotation.regenerate(caller, account.id);
    audit = [];
    events = [];

    // The stack is not updated yet: the role refuses the new ID.
    expect(await rotation.advance(caller.tenantId, account.id)).toBe(connection.externalId);
    expect(audit).toEqual([]);
    expect(switched).toEqual([]);

    accepted.add(regenerated.externalId);
    expect(await rotation.advance(caller.tenantId, account.id)).toBe(regenerated.externalId);
    expect((await accounts.find(caller.tenantId, account.id))?.externalId).toBe(
      regenerated.externalId,
    );
    expect(switched).toEqual([account.id]);
    expect(audit.map((e) => [e.action, e.actorType])).toEqual([
      ['account.external_id_switched', 'system'],
    ]);
    expect(events.map((e) => e.data.phase)).toEqual(['switched']);
  });

  it('switches a degraded account too: missing actions do not make the new ID unproven', async () => {
    const { account } = await connectRole();
    const { rotation } = setUp();
    const regenerated = await rotation.regenerate(caller, account.id);
    lacksActions = true;
    accepted.add(regenerated.externalId);
    expect(await rotation.advance(caller.tenantId, account.id)).toBe(regenerated.externalId);
    expect(switched).toEqual([account.id]);
  });

  it('drops the previous ID once the grace period is over, and only then', async () => {
    const { account, connection } = await connectRole();
    const { rotation, connections } = setUp();
    const regenerated = await rotation.regenerate(caller, account.id);
    accepted.add(regenerated.externalId);
    await rotation.advance(caller.tenantId, account.id);
    expect(
      (await connections.getConnection(caller.tenantId, connection.id)).previousExternalId,
    ).toBe(connection.externalId);
    audit = [];
    events = [];

    now = new Date(now.getTime() + 7 * DAY_MS);
    expect(await rotation.advance(caller.tenantId, account.id)).toBe(regenerated.externalId);
    const after = await connections.getConnection(caller.tenantId, connection.id);
    expect(after.previousExternalId).toBeNull();
    expect(audit.map((e) => e.action)).toEqual(['account.external_id_previous_dropped']);
    expect(events.map((e) => [e.data.phase, e.data.previousAcceptedUntil])).toEqual([
      ['previous_dropped', null],
    ]);
  });

  it('leaves the account as it was when validation throws', async () => {
    const { account, connection } = await connectRole();
    const { connections, accounts } = setUp();
    const rotation = createExternalIdRotation({
      db: database.db,
      clock: () => now,
      randomBytes: (n) => new Uint8Array(n).fill(++seed),
      audit: { append: async (entry) => void audit.push(entry) },
      connections,
      accounts,
      validateAccount: async () => {
        throw new Error('AWS did not answer');
      },
      onSwitched: (accountId) => void switched.push(accountId),
    });
    await rotation.regenerate(caller, account.id);
    expect(await rotation.advance(caller.tenantId, account.id)).toBe(connection.externalId);
    expect(switched).toEqual([]);
  });
});
