import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DatabaseHandle, openDatabase } from '@onramp/server';
import {
  createAccountsRepository,
  createTenantsRepository,
  createTokensRepository,
  createUsersRepository,
} from '@onramp/server/testing/seed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type RunningServer, startServer } from './server-process.ts';

const catalog = (version: string) =>
  join(ROOT, `apps/server/src/features/accounts/fixtures/catalog-${version}.yaml`);

/**
 * A catalog change as an operator makes it: Onramp started with a catalog file, stopped, and started
 * with its next release (ONRAMP_CATALOG_FILE). The account connected before is outdated after the
 * second start, with the change the file made, and the server served meanwhile.
 */
describe('a catalog change across a restart', () => {
  let dataDir: string;
  let server: RunningServer | undefined;
  let database: DatabaseHandle;
  let accountId: string;
  let token: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'onramp-catalog-change-'));
    // The first start creates the database; the scene is seeded into it while it runs.
    server = await startServer({ ONRAMP_DATA_DIR: dataDir, ONRAMP_CATALOG_FILE: catalog('v1') });
    database = openDatabase({ kind: 'sqlite', path: join(dataDir, 'onramp.db') });
    const clock = () => new Date();
    const tenant = await createTenantsRepository(database.db, clock).create({
      name: 'catalog change',
      limits: {},
    });
    const maker = await createUsersRepository(database.db, clock).create({
      tenantId: null,
      email: 'operator@example.com',
      name: 'Operator',
      role: 'operator_admin',
      passwordHash: 'not-used',
    });
    const created = await createTokensRepository(database.db, clock).create({
      tenantId: tenant.id,
      name: 'reader',
      scopes: ['accounts:read'],
      createdBy: maker.id,
      expiresAt: null,
    });
    token = created.secret;
    // Connected before grants were kept: the sweep of a start records the catalog of then as its grant.
    const account = await createAccountsRepository(database.db, clock).create(tenant.id, {
      name: 'nodes',
      description: '',
      partition: 'aws',
      method: 'role',
      awsAccountId: '444455556666',
      principalArn: 'arn:aws:iam::444455556666:role/onramp',
      roleArn: 'arn:aws:iam::444455556666:role/onramp',
      externalId: 'onramp-catalog-change-0123456789abcdef',
      connectionId: null,
      accessKeyId: null,
      bundles: ['nodes'],
      regions: [],
      status: 'valid',
      statusDetail: { checks: [], errors: [], findings: [] },
      lastCheckedAt: null,
    });
    accountId = account.id;
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await database?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const account = async () => {
    const response = await fetch(`${server?.url}/v1/accounts/${accountId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as {
      permissions: { outdated: boolean; changes: unknown[]; grantedAt: string | null };
    };
  };
  const eventually = async <T>(read: () => Promise<T>, done: (value: T) => boolean) => {
    const until = Date.now() + 20_000;
    for (;;) {
      const value = await read();
      if (done(value) || Date.now() > until) return value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  it('marks the account outdated at the start with the new catalog, with no AWS call', async () => {
    // Restarted on v1: the sweep of that start records v1 as the account's grant.
    await server?.stop();
    server = await startServer({ ONRAMP_DATA_DIR: dataDir, ONRAMP_CATALOG_FILE: catalog('v1') });
    const granted = await eventually(account, (a) => a.permissions.grantedAt !== null);
    expect(granted.permissions).toMatchObject({ outdated: false, changes: [] });
    expect(server.output()).toContain('accounts compared with the catalog');

    await server.stop();
    server = await startServer({ ONRAMP_DATA_DIR: dataDir, ONRAMP_CATALOG_FILE: catalog('v2') });
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const outdated = await eventually(account, (a) => a.permissions.outdated);
    expect(outdated.permissions).toMatchObject({
      outdated: true,
      changes: [
        { bundle: 'nodes', add: ['ec2:DescribeInstanceTopology'], remove: ['ec2:RunInstances'] },
      ],
    });
    // No hub and no AWS endpoint are configured: the comparison asked AWS nothing.
    expect(server.output()).toMatch(/"outdated":1/);
  }, 90_000);
});
