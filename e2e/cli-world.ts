/**
 * The scene of the CLI's end-to-end tests: a real Onramp process (SQLite in a temporary data
 * directory) with the loopback AWS as its AWS, an operator, two tenants (each with an admin token and
 * a read-only token) and an operator token, made through the API as a person would in the console.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Catalog, DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { createClient, type OnrampClient } from '@onramp/sdk';
import { openKeyringFile } from '@onramp/server';
import {
  bundlePolicy,
  createHub,
  createTestDatabase,
  hubEnvironment,
  TEST_DIALECTS,
} from '@onramp/server/testing';
import { type RunningServer, startServer } from './server-process.ts';

export interface CliTenant {
  id: string;
  /** A token with admin, accounts:read and accounts:write. */
  adminToken: string;
  /** A token with accounts:read alone: what a viewer's automation holds. */
  readToken: string;
  /** The tenant admin's console session (cookie), for what tokens may not do. */
  admin: OnrampClient;
}

export interface CliWorld {
  url: string;
  aws: LoopbackAws;
  server: RunningServer;
  catalog: Catalog;
  hubArn: string;
  /** An operator token (no tenant) with every scope. */
  operatorToken: string;
  acme: CliTenant;
  globex: CliTenant;
  /** A new IAM user in the customer account with the default bundles' policy, and its keys. */
  createKeysUser(
    name: string,
    accountId?: string,
  ): { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

export const CUSTOMER = '246813579024';
const PASSWORD = 'a long test password 1';

/** fetch with a cookie jar: the console's session (Node's fetch keeps no cookies). */
function cookieFetch(): typeof fetch {
  const jar = new Map<string, string>();
  return async (input, init = {}) => {
    const headers = new Headers(init.headers);
    if (jar.size > 0)
      headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(input, { ...init, headers });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const equals = pair.indexOf('=');
      if (equals > 0) jar.set(pair.slice(0, equals), pair.slice(equals + 1));
    }
    return response;
  };
}

/**
 * Starts the scene. The server keeps its data in SQLite, as the issue asks; with
 * ONRAMP_TEST_DIALECTS=postgres alone, in a fresh PostgreSQL database instead (dropped at the end).
 */
export async function startCliWorld(env: Record<string, string> = {}): Promise<CliWorld> {
  const postgres =
    TEST_DIALECTS.length === 1 && TEST_DIALECTS[0] === 'postgres'
      ? await createTestDatabase('postgres')
      : undefined;
  const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
    actions: createIamDataActionIndex(),
  });
  const aws = await startLoopbackAws();
  aws.createAccount('aws', CUSTOMER);
  const { user: hub } = createHub(aws, 'aws');
  const dataDir = mkdtempSync(join(tmpdir(), 'onramp-cli-'));
  // PostgreSQL takes the keyring from a file (replicas share it); SQLite makes its own.
  const keyringFile = join(dataDir, 'master-keys.json');
  if (postgres) openKeyringFile(keyringFile, { createIfMissing: true });
  const server = await startServer({
    ONRAMP_DATA_DIR: dataDir,
    AWS_ENDPOINT_URL: aws.url,
    LOG_LEVEL: 'warn',
    ...(postgres?.location.kind === 'postgres'
      ? { DATABASE_URL: postgres.location.url, ONRAMP_MASTER_KEY_FILE: keyringFile }
      : {}),
    ...hubEnvironment('aws', hub),
    ...env,
  });
  const url = server.url.replace(/\/+$/, '');
  const setupToken = /(setup_[A-Za-z0-9_-]+)/.exec(server.output())?.[1];
  if (!setupToken) throw new Error(`the server printed no set-up token:\n${server.output()}`);
  const operator = createClient({ baseUrl: url, fetch: cookieFetch() });
  await operator.session.setup({
    setupToken,
    email: 'ops@example.com',
    name: 'Olivia Operator',
    password: PASSWORD,
  });
  const operatorToken = (
    await operator.tokens.create({
      name: 'operator automation',
      scopes: ['admin', 'accounts:read', 'accounts:write', 'credentials:vend'],
    })
  ).secret;

  const makeTenant = async (name: string, email: string): Promise<CliTenant> => {
    const tenant = await operator.tenants.create({
      name,
      admin: { email, name: `${name} Admin`, password: PASSWORD },
    });
    const admin = createClient({ baseUrl: url, fetch: cookieFetch() });
    await admin.session.login({ email, password: PASSWORD });
    const adminToken = (
      await admin.tokens.create({
        name: 'ci',
        scopes: ['admin', 'accounts:read', 'accounts:write'],
      })
    ).secret;
    const readToken = (await admin.tokens.create({ name: 'dashboards', scopes: ['accounts:read'] }))
      .secret;
    return { id: tenant.id, adminToken, readToken, admin };
  };
  const acme = await makeTenant('Acme', 'ada@acme.example');
  const globex = await makeTenant('Globex', 'gil@globex.example');

  return {
    url,
    aws,
    server,
    catalog,
    hubArn: hub.arn,
    operatorToken,
    acme,
    globex,
    createKeysUser: (name, accountId = CUSTOMER) => {
      const user = aws.createUser('aws', accountId, name, {
        policies: {
          onramp: bundlePolicy(catalog, {
            partition: 'aws',
            bundles: 'default',
            principal: 'user',
            accountId,
          }),
        },
      });
      return { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey };
    },
    stop: async () => {
      await server.stop();
      await aws.stop();
      await postgres?.drop();
    },
  };
}
