import { readFileSync } from 'node:fs';
import { type Catalog, DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import type { Kysely } from 'kysely';
import { createEnvelope } from '../adapters/crypto/envelope.ts';
import { memoryKeyring } from '../adapters/crypto/keyring.ts';
import type { Database } from '../adapters/db/schema.ts';
import type { AppDeps } from '../deps.ts';
import type { Caller } from '../domain/caller.ts';
import { createAccountsService } from '../features/accounts/accounts-service.ts';
import { createConnectionsService } from '../features/connections/connections-service.ts';
import { createTenantsRepository } from '../features/tenants/tenants-repository.ts';
import type { EventPublisher, WebhookEvent } from '../features/webhooks/webhooks-service.ts';
import type { AuditEntry, AuditLog } from '../ports/audit-log.ts';
import { createTestDatabase, type TestDatabase } from './databases.ts';
import { createFakeAws } from './fake-aws.ts';

/**
 * Fakes of the ports the services are built from, for unit tests that construct a service directly:
 * an in-memory SQLite (the fake repository), an audit log and an event outbox that are lists, a fake
 * AWS, a clock the test turns. No HTTP app, no PostgreSQL.
 */

export const UNIT_HUBS: AppDeps['hubs'] = {
  aws: { principalArn: 'arn:aws:iam::111122223333:role/onramp-hub' },
};

let catalog: Promise<Catalog> | undefined;
/** The shipped catalog, loaded once per test file (it checks every action against AWS's list). */
export function unitCatalog(): Promise<Catalog> {
  catalog ??= loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
    actions: createIamDataActionIndex(),
  });
  return catalog;
}

/** An audit log that keeps its entries, and says which were written inside a transaction. */
export function recordingAuditLog() {
  const entries: (AuditEntry & { inTransaction: boolean })[] = [];
  const log: AuditLog = {
    async append(entry, executor) {
      entries.push({ ...entry, inTransaction: executor?.isTransaction ?? false });
    },
    async appendGrouped(entry) {
      entries.push({ ...entry, inTransaction: false });
    },
  };
  return { log, entries, actions: () => entries.map((e) => e.action) };
}

/**
 * An outbox that keeps the events it is given. An event whose transaction rolls back stays in the
 * list; `inTransaction` says it was handed one, which is what the services promise.
 */
export function recordingEvents() {
  const events: (WebhookEvent & { inTransaction: boolean })[] = [];
  const publisher: EventPublisher = {
    async publish(event, executor: Kysely<Database>) {
      events.push({ ...event, inTransaction: executor.isTransaction });
      return 1;
    },
  };
  return { publisher, events, types: () => events.map((e) => e.type) };
}

/**
 * A tenant on an in-memory SQLite with the real connections and accounts services over a fake AWS,
 * a turnable clock, and recording audit and events: what the services above accounts are built on.
 */
export async function createUnitWorld(options: { externalIdGraceDays?: number } = {}) {
  const database: TestDatabase = await createTestDatabase('sqlite');
  const aws = createFakeAws();
  const audit = recordingAuditLog();
  const events = recordingEvents();
  const time = { now: new Date('2026-03-01T10:00:00.000Z') };
  const clock = () => time.now;
  let seed = 0;
  const deps = {
    db: database.db,
    dialect: 'sqlite' as const,
    catalog: await unitCatalog(),
    hubs: UNIT_HUBS,
    envelope: createEnvelope(memoryKeyring()),
    aws: aws.gateway,
    clock,
    // A new byte pattern each call: every external ID and token differs, and runs repeat.
    randomBytes: (n: number) => new Uint8Array(n).fill(++seed % 256),
    actions: createIamDataActionIndex(),
    sleep: async () => {},
  } satisfies AppDeps;
  const tenantsRepository = createTenantsRepository(database.db, clock);
  const tenant = await tenantsRepository.create({ name: 'Acme', limits: {} });
  const caller: Caller = {
    tenantId: tenant.id,
    actorType: 'user',
    actorId: 'usr_unit',
    requestId: 'req_unit',
    sourceIp: '192.0.2.1',
  };
  const connections = createConnectionsService({
    ...deps,
    audit: audit.log,
    tenants: tenantsRepository,
  });
  const accounts = createAccountsService({
    ...deps,
    ...(options.externalIdGraceDays !== undefined
      ? { externalIdGraceDays: options.externalIdGraceDays }
      : {}),
    audit: audit.log,
    tenants: tenantsRepository,
    connections,
    events: events.publisher,
  });

  /** A pending role set-up, and the role in the fake AWS that trusts its external ID. */
  async function roleSetUp(name = 'Prod', accountId = '123456789012', as: Caller = caller) {
    const connection = await connections.createConnection(as, {
      name,
      description: '',
      partition: 'aws',
      bundles: 'default',
      regions: [],
    });
    const roleArn = `arn:aws:iam::${accountId}:role/${connection.roleName}`;
    aws.addRole(roleArn, connection.externalId);
    return { connection, roleArn };
  }

  /** A connected role account (validated through the fake AWS). */
  async function connectRole(name = 'Prod', accountId = '123456789012', as: Caller = caller) {
    const { connection, roleArn } = await roleSetUp(name, accountId, as);
    const account = await accounts.create(as, {
      method: 'role',
      connectionId: connection.id,
      roleArn,
    });
    return { account, connection, roleArn };
  }

  /** Another tenant, and a caller acting on it. */
  async function otherTenant(name = 'Globex'): Promise<Caller> {
    const other = await tenantsRepository.create({ name, limits: {} });
    return { ...caller, tenantId: other.id, actorId: 'usr_other' };
  }

  return {
    database,
    deps,
    aws,
    audit,
    events,
    time,
    tenant,
    caller,
    tenants: tenantsRepository,
    connections,
    accounts,
    roleSetUp,
    connectRole,
    otherTenant,
    drop: () => database.drop(),
  };
}

export type UnitWorld = Awaited<ReturnType<typeof createUnitWorld>>;
