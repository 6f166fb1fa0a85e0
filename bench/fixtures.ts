/**
 * What the benchmarks share: a loopback AWS with a hub user and a customer account, and an Onramp
 * app on SQLite wired to it through the real SDK adapter, with a tenant, an admin session, a
 * `credentials:vend` token and role accounts connected through the API.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Catalog, DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import {
  buildApp,
  CSRF_HEADER,
  createEnvelope,
  createSdkAwsGateway,
  createServices,
  memoryKeyring,
  migrateToLatest,
  openDatabase,
  SESSION_COOKIE,
} from '@onramp/server';
import {
  createConnectedRole,
  createHub,
  createSessionsRepository,
  createTenantsRepository,
  createTokensRepository,
  createUsersRepository,
} from '@onramp/server/testing';

export const CUSTOMER = '222233334444';

export async function loadShippedCatalog(): Promise<Catalog> {
  return loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
    actions: createIamDataActionIndex(),
  });
}

export async function startBenchAws(latencyMs = 0) {
  const aws = await startLoopbackAws({ latencyMs });
  aws.createAccount('aws', CUSTOMER);
  const { user: hub, config } = createHub(aws, 'aws');
  const gateway = createSdkAwsGateway({ hubs: { aws: config }, endpoint: aws.url, maxAttempts: 2 });
  return { aws, hubArn: hub.arn, gateway };
}

/** The role a connection's stack would create, with the policies of its bundles. */
export function createRoleFor(
  aws: LoopbackAws,
  catalog: Catalog,
  hubArn: string,
  roleName: string,
  externalId: string,
  bundles: readonly string[],
) {
  return createConnectedRole(aws, catalog, {
    partition: 'aws',
    accountId: CUSTOMER,
    roleName,
    hubArn,
    externalId,
    bundles,
  });
}

/** Onramp on a SQLite file, against the loopback AWS, with a tenant ready to connect and vend. */
export async function startBenchOnramp(latencyMs = 0) {
  const { aws, hubArn, gateway } = await startBenchAws(latencyMs);
  const catalog = await loadShippedCatalog();
  const database = openDatabase({
    kind: 'sqlite',
    path: join(mkdtempSync(join(tmpdir(), 'onramp-bench-')), 'onramp.db'),
  });
  await migrateToLatest(database);
  const clock = () => new Date();
  const app = await buildApp(
    createServices({
      db: database.db,
      dialect: 'sqlite',
      catalog,
      hubs: { aws: { principalArn: hubArn } },
      envelope: createEnvelope(memoryKeyring()),
      aws: gateway,
      clock,
      randomBytes: (n) => new Uint8Array(randomBytes(n)),
      actions: createIamDataActionIndex(),
    }),
  );
  const tenant = await createTenantsRepository(database.db, clock).create({
    name: 'bench',
    limits: {},
  });
  const admin = await createUsersRepository(database.db, clock).create({
    tenantId: tenant.id,
    email: 'admin@bench.example',
    name: 'Bench admin',
    role: 'tenant_admin',
    passwordHash: 'unused',
  });
  const session = await createSessionsRepository(database.db, clock).create(admin.id);
  const adminHeaders = {
    cookie: `${SESSION_COOKIE}=${session.token}`,
    [CSRF_HEADER]: session.csrfToken,
    'content-type': 'application/json',
  };
  // A token acts with its creator's rights (vending is the operator's to grant): made by a real
  // operator, as the platform's own service tokens are.
  const operator = await createUsersRepository(database.db, clock).create({
    tenantId: null,
    email: 'operator@bench.example',
    name: 'Bench operator',
    role: 'operator_admin',
    passwordHash: 'unused',
  });
  const tokens = createTokensRepository(database.db, clock);
  const { secret } = await tokens.create({
    tenantId: tenant.id,
    name: 'bench vending',
    scopes: ['credentials:vend'],
    createdBy: operator.id,
    expiresAt: null,
  });
  const { secret: readSecret } = await tokens.create({
    tenantId: tenant.id,
    name: 'bench reading',
    scopes: ['accounts:read'],
    createdBy: operator.id,
    expiresAt: null,
  });

  let sequence = 0;
  async function connectRole(bundles: readonly string[] = ['nodes-ec2']): Promise<string> {
    sequence += 1;
    const roleName = `BenchRole${sequence}`;
    const connection = await app.inject({
      method: 'POST',
      url: '/v1/connections',
      headers: adminHeaders,
      payload: JSON.stringify({ name: roleName, partition: 'aws', bundles, roleName }),
    });
    const { id: connectionId, externalId } = connection.json() as {
      id: string;
      externalId: string;
    };
    const role = createRoleFor(aws, catalog, hubArn, roleName, externalId, bundles);
    const account = await app.inject({
      method: 'POST',
      url: '/v1/accounts',
      headers: adminHeaders,
      payload: JSON.stringify({ method: 'role', connectionId, roleArn: role.arn }),
    });
    if (account.statusCode !== 201) throw new Error(`connecting failed: ${account.body}`);
    return (account.json() as { id: string }).id;
  }

  return {
    app,
    aws,
    catalog,
    token: secret,
    readToken: readSecret,
    connectRole,
    async close() {
      await app.close();
      await database.close();
      await aws.stop();
    },
  };
}
