/**
 * An operator with no hub credentials at all (no ONRAMP_HUB_* variables, no AWS credentials in the
 * environment, no shared credentials file, no instance metadata) still connects keyless roles: a real
 * Onramp process, whose issuer the loopback AWS fetches over HTTP, creates and checks an `oidc_role`
 * account with a role built from the core's trust policy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWebIdentityTrustPolicy } from '@onramp/core';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { type DatabaseHandle, openDatabase } from '@onramp/server';
import {
  createConnectionsRepository,
  createTenantsRepository,
  createTokensRepository,
  createUsersRepository,
} from '@onramp/server/testing/seed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from './server-process.ts';

const ORIGIN = 'https://onramp.example.test';
const PREFIX = 'onramp.example.test/oidc';
const CUSTOMER = '777788889999';

describe('keyless roles with no hub credentials at all', () => {
  let dataDir: string;
  let aws: LoopbackAws;
  let server: RunningServer;
  let database: DatabaseHandle;
  let token: string;
  let tenantId: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'onramp-keyless-'));
    aws = await startLoopbackAws();
    server = await startServer({
      ONRAMP_DATA_DIR: dataDir,
      ONRAMP_PUBLIC_URL: ORIGIN,
      AWS_ENDPOINT_URL: aws.url,
      ONRAMP_LOG_LEVEL: 'warn',
      // Nothing the SDK's default chain could find, were it ever asked.
      AWS_SHARED_CREDENTIALS_FILE: join(dataDir, 'no-credentials'),
      AWS_CONFIG_FILE: join(dataDir, 'no-config'),
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    aws.routeIssuer(ORIGIN, server.url);
    database = openDatabase({ kind: 'sqlite', path: join(dataDir, 'onramp.db') });
    const clock = () => new Date();
    const tenant = await createTenantsRepository(database.db, clock).create({
      name: 'keyless',
      limits: {},
    });
    tenantId = tenant.id;
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
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    await database?.close();
    await aws?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
  };

  it('offers keyless roles and keys, and says why roles with an external ID are not offered', async () => {
    const offers = await api('GET', '/v1/partitions');
    expect(offers.status, offers.text).toBe(200);
    const aws = offers.body.partitions.find((p: { partition: string }) => p.partition === 'aws');
    expect(aws).toMatchObject({
      methods: ['oidc_role', 'access_keys'],
      reason: expect.stringContaining('hub identity'),
      oidc: { issuer: `${ORIGIN}/oidc`, audience: 'sts.amazonaws.com' },
    });
  });

  it('connects a keyless role and checks it again', async () => {
    const connection = await createConnectionsRepository(database.db, () => new Date()).create(
      tenantId,
      {
        name: 'Prod',
        description: '',
        partition: 'aws',
        bundles: [],
        regions: [],
        externalId: 'onramp-unused-external-id-keyless-00000000',
        roleName: 'OnrampKeyless',
        method: 'oidc_role',
      },
    );
    aws.createAccount('aws', CUSTOMER);
    const provider = aws.createOidcProvider('aws', CUSTOMER, {
      url: `${ORIGIN}/oidc`,
      clientIds: ['sts.amazonaws.com'],
    });
    const role = aws.createRole('aws', CUSTOMER, {
      roleName: 'OnrampKeyless',
      trustPolicy: buildWebIdentityTrustPolicy({
        partition: 'aws',
        providerArn: provider.arn,
        conditionPrefix: PREFIX,
        audience: 'sts.amazonaws.com',
        subject: `tenant:${tenantId}:connection:${connection.id}`,
      }),
      maxSessionDuration: 43200,
    });
    const created = await api('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: connection.id,
      roleArn: role.arn,
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      method: 'oidc_role',
      awsAccountId: CUSTOMER,
      webIdentity: { subject: `tenant:${tenantId}:connection:${connection.id}` },
    });
    expect(created.body.status).not.toBe('invalid');
    const checked = await api('POST', `/v1/accounts/${created.body.id}/check`);
    expect(checked.status, checked.text).toBe(200);
    const shown = await api('GET', `/v1/accounts/${created.body.id}`);
    expect(shown.body).toMatchObject({ stale: false, method: 'oidc_role' });
    expect(shown.body.status).not.toBe('invalid');
    // The loopback STS fetched this process's issuer, and no call was signed by a hub.
    expect(aws.issuerFetches.some((f) => f.what === 'jwks' && f.status === 200)).toBe(true);
    expect(aws.calls.some((c) => c.action === 'AssumeRole')).toBe(false);
  });
});
