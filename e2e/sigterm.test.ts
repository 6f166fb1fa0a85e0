/**
 * SIGTERM during load, on the compiled build (`node scripts/start.mjs`), SQLite and a slow loopback
 * AWS: Onramp stops accepting, finishes the requests under way, stops its health checks and gives
 * back their claims, closes the database and exits 0 within ONRAMP_SHUTDOWN_SECONDS. After a restart,
 * every account whose creation was answered 2xx is there, and the checks cut short run at once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Catalog, DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { type DatabaseHandle, openDatabase } from '@onramp/server';
import { bundlePolicy } from '@onramp/server/testing';
import {
  createTenantsRepository,
  createTokensRepository,
  createUsersRepository,
} from '@onramp/server/testing/seed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureBuilt,
  type ProductionServer,
  startProductionServer,
  stopProductionServer,
} from './production-server.ts';

const CUSTOMER = '123456789012';
/** Accounts created before the load; their health checks fall due together just before SIGTERM. */
const SCHEDULED = 12;
/** Creates sent side by side during the load, each a few slow AWS calls long. */
const CREATES = 10;
const BOUND_SECONDS = 20;

interface Outcome {
  kind: 'create' | 'read';
  name?: string;
  sentBeforeSignal: boolean;
  status?: number;
  error?: string;
}

describe('SIGTERM under load, from the production build', () => {
  let dataDir: string;
  let aws: LoopbackAws;
  let catalog: Catalog;
  let database: DatabaseHandle;
  let token: string;
  const servers: ProductionServer[] = [];
  let users = 0;

  const env = () => ({
    ONRAMP_DATA_DIR: dataDir,
    AWS_ENDPOINT_URL: aws.url,
    ONRAMP_LOG_LEVEL: 'info',
    ONRAMP_HEALTH_CONCURRENCY: '3',
    ONRAMP_SHUTDOWN_SECONDS: String(BOUND_SECONDS),
  });

  /** A customer's IAM user with the default bundles' policy, as its keys account needs. */
  const newUser = () => {
    users += 1;
    return aws.createUser('aws', CUSTOMER, `onramp-${users}`, {
      policies: {
        onramp: bundlePolicy(catalog, {
          partition: 'aws',
          bundles: 'default',
          principal: 'user',
          accountId: CUSTOMER,
        }),
      },
    });
  };

  const createAccount = (server: ProductionServer, name: string) => {
    const user = newUser();
    return fetch(`${server.url}/v1/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        method: 'access_keys',
        name,
        partition: 'aws',
        accessKeyId: user.accessKeyId,
        secretAccessKey: user.secretAccessKey,
      }),
    });
  };

  const scheduleRows = () =>
    database.db
      .selectFrom('health_schedule')
      .select(['account_id', 'claimed_by', 'next_run_at'])
      .execute();
  const scheduledChecks = async (accountIds: readonly string[]) =>
    Number(
      (
        await database.db
          .selectFrom('account_checks')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('trigger', '=', 'schedule')
          .where('account_id', 'in', accountIds)
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'onramp-sigterm-'));
    catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
      actions: createIamDataActionIndex(),
    });
    aws = await startLoopbackAws();
    aws.createAccount('aws', CUSTOMER);
    servers.push(await startProductionServer(env()));
    database = openDatabase({ kind: 'sqlite', path: join(dataDir, 'onramp.db') });
    const clock = () => new Date();
    const tenant = await createTenantsRepository(database.db, clock).create({
      name: 'sigterm',
      limits: {},
    });
    const maker = await createUsersRepository(database.db, clock).create({
      tenantId: null,
      email: 'operator@example.com',
      name: 'Operator',
      role: 'operator_admin',
      passwordHash: 'not-used',
    });
    token = (
      await createTokensRepository(database.db, clock).create({
        tenantId: tenant.id,
        name: 'platform',
        scopes: ['accounts:read', 'accounts:write'],
        createdBy: maker.id,
        expiresAt: null,
      })
    ).secret;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map(stopProductionServer));
    await database?.close();
    await aws?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('finishes what it started, loses nothing answered, leaves no claim held, and exits 0', async () => {
    const [server] = servers;
    if (!server) throw new Error('no server');
    for (let i = 0; i < SCHEDULED; i++) {
      const response = await createAccount(server, `Scheduled ${i}`);
      expect(response.status, await response.clone().text()).toBe(201);
    }
    // The scheduler gives each new account a schedule row; then every one falls due at once, and
    // AWS slows down so that the checks (3 at a time) are still under way when the signal comes.
    await expect
      .poll(async () => (await scheduleRows()).length, { timeout: 20_000 })
      .toBe(SCHEDULED);
    aws.latencyMs = 400;
    await database.db
      .updateTable('health_schedule')
      .set({ next_run_at: new Date(Date.now() - 1000).toISOString() })
      .execute();
    await expect
      .poll(async () => (await scheduleRows()).filter((row) => row.claimed_by).length, {
        timeout: 15_000,
        interval: 50,
      })
      .toBeGreaterThan(0);

    // Load: creates (a few slow AWS calls each) and reads, side by side, on keep-alive connections.
    let signalled = false;
    const outcomes: Outcome[] = [];
    const track = (
      outcome: Omit<Outcome, 'sentBeforeSignal'>,
      request: () => Promise<Response>,
    ) => {
      const entry: Outcome = { ...outcome, sentBeforeSignal: !signalled };
      outcomes.push(entry);
      return request().then(
        async (response) => {
          entry.status = response.status;
          await response.arrayBuffer();
        },
        (error: unknown) => {
          entry.error = String((error as { cause?: unknown }).cause ?? error);
        },
      );
    };
    const load: Promise<void>[] = [];
    for (let i = 0; i < CREATES; i++) {
      const name = `Load ${i}`;
      load.push(track({ kind: 'create', name }, () => createAccount(server, name)));
    }
    const reads = (async () => {
      for (let i = 0; i < 40 && server.process.exitCode === null; i++) {
        await track({ kind: 'read' }, () =>
          fetch(`${server.url}/v1/accounts`, { headers: { authorization: `Bearer ${token}` } }),
        );
      }
    })();
    // Let the creates reach AWS, then the signal, and a second one while it shuts down.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const claimedAtSignal = (await scheduleRows()).filter((row) => row.claimed_by);
    signalled = true;
    const signalledAt = Date.now();
    server.process.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    server.process.kill('SIGTERM');
    const exitCode = await server.exited;
    const seconds = (Date.now() - signalledAt) / 1000;
    await Promise.all([...load, reads]);

    expect(exitCode, server.output()).toBe(0);
    expect(seconds).toBeLessThan(BOUND_SECONDS);
    expect(server.output()).toContain('"msg":"shut down"');
    expect(server.output()).toContain('already shutting down');
    expect(claimedAtSignal.length, 'checks were under way at the signal').toBeGreaterThan(0);

    // Every request sent before the signal got its answer: none was reset or refused.
    const before = outcomes.filter((o) => o.sentBeforeSignal);
    expect(before.filter((o) => o.kind === 'create')).toHaveLength(CREATES);
    expect(before.filter((o) => o.error || (o.status ?? 0) >= 500)).toEqual([]);
    // After it, a request is answered in full (it beat the signal's delivery), told 503, or refused
    // (the listener closed): never a server error.
    for (const late of outcomes.filter((o) => !o.sentBeforeSignal)) {
      expect(late.error ?? late.status, JSON.stringify(late)).toSatisfy(
        (value: unknown) =>
          typeof value === 'string' || value === 200 || value === 201 || value === 503,
      );
    }

    // Nothing left claimed: each check either finished (and rescheduled) or was handed back due now.
    const rows = await scheduleRows();
    expect(rows.filter((row) => row.claimed_by)).toEqual([]);
    const handedBack = rows.filter((row) => Date.parse(row.next_run_at) <= Date.now());

    // Restart: every account answered 2xx is there, and the work handed back runs at once.
    aws.latencyMs = 0;
    const restarted = await startProductionServer(env());
    servers.push(restarted);
    const listed = await fetch(`${restarted.url}/v1/accounts?limit=100`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const names = ((await listed.json()) as { accounts: { name: string }[] }).accounts.map(
      (a) => a.name,
    );
    const answered = outcomes.filter((o) => o.kind === 'create' && o.status === 201);
    expect(answered.length, 'some creates were answered during the shutdown').toBeGreaterThan(0);
    for (const create of answered) expect(names).toContain(create.name);
    expect(names).toHaveLength(SCHEDULED + answered.length);
    if (handedBack.length > 0) {
      const ids = handedBack.map((row) => row.account_id);
      const before = await scheduledChecks(ids);
      // Well inside the claim's 10-minute lease: the scheduler's first pass takes them.
      await expect
        .poll(() => scheduledChecks(ids), { timeout: 15_000, interval: 250 })
        .toBeGreaterThanOrEqual(before + ids.length);
    }
  }, 180_000);

  it('past ONRAMP_SHUTDOWN_SECONDS, gives back the claims of checks still under way and exits 1', async () => {
    await Promise.all(servers.map(stopProductionServer));
    const server = await startProductionServer({ ...env(), ONRAMP_SHUTDOWN_SECONDS: '1' });
    servers.push(server);
    // AWS answers each call after 3 s: a check cannot finish within the 1 s bound.
    aws.latencyMs = 3_000;
    await database.db
      .updateTable('health_schedule')
      .set({ next_run_at: new Date(Date.now() - 1000).toISOString() })
      .execute();
    await expect
      .poll(async () => (await scheduleRows()).filter((row) => row.claimed_by).length, {
        timeout: 15_000,
        interval: 50,
      })
      .toBeGreaterThan(0);
    const signalledAt = Date.now();
    server.process.kill('SIGTERM');
    const exitCode = await server.exited;
    expect(exitCode, server.output()).toBe(1);
    expect((Date.now() - signalledAt) / 1000).toBeLessThan(5);
    expect(server.output()).toContain('shutdown took too long');
    expect((await scheduleRows()).filter((row) => row.claimed_by)).toEqual([]);
    aws.latencyMs = 0;
  }, 60_000);
});
