/**
 * Keyless roles under load an attacker (or a busy console) can produce, on the wire: one set-up
 * connected by 100 requests at once, and checks of a keyless account while operators rotate the
 * issuer's key over and over.
 */

import { buildWebIdentityTrustPolicy, type Catalog } from '@onramp/core';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectStatus,
  type Harness,
  type TestTenant,
  testCatalog,
} from '../../testing/harness.ts';
import { bundlePolicy } from '../../testing/loopback-world.ts';
import { createConnectionsRepository } from '../connections/connections-repository.ts';

const ORIGIN = 'https://onramp.example.test';
const ISSUER = `${ORIGIN}/oidc`;
const PREFIX = 'onramp.example.test/oidc';
const AUDIENCE = 'sts.amazonaws.com';

describe.each(TEST_DIALECTS)('keyless roles under concurrent requests on %s', (dialect) => {
  let aws: LoopbackAws;
  let h: Harness;
  let a: TestTenant;
  let catalog: Catalog;
  let sequence = 0;

  beforeAll(async () => {
    aws = await startLoopbackAws();
    catalog = await testCatalog();
    const gateway = createSdkAwsGateway({ hubs: {}, endpoint: aws.url, maxAttempts: 2 });
    h = await createHarness(dialect, { aws: gateway, hubs: {}, publicUrl: ORIGIN });
    const address = (await h.app.listen({ port: 0, host: '127.0.0.1' })) as string;
    aws.routeIssuer(ORIGIN, address);
    a = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
  });

  const keylessSetUp = async () => {
    const connection = await createConnectionsRepository(h.database.db, () => new Date()).create(
      a.id,
      {
        name: `Race ${++sequence}`,
        description: '',
        partition: 'aws',
        bundles: catalog.defaultBundles('aws').map((bundle) => bundle.id),
        regions: [],
        externalId: `onramp-unused-external-id-${sequence}-000000000000`,
        roleName: `OnrampRace${sequence}`,
        method: 'oidc_role',
      },
    );
    const accountId = String(800000000000 + sequence + Math.floor(Math.random() * 1e6) * 1000);
    aws.createAccount('aws', accountId);
    aws.createOidcProvider('aws', accountId, { url: ISSUER, clientIds: [AUDIENCE] });
    const roleName = `OnrampRace${sequence}`;
    const role = aws.createRole('aws', accountId, {
      roleName,
      trustPolicy: buildWebIdentityTrustPolicy({
        partition: 'aws',
        providerArn: `arn:aws:iam::${accountId}:oidc-provider/${PREFIX}`,
        conditionPrefix: PREFIX,
        audience: AUDIENCE,
        subject: `tenant:${a.id}:connection:${connection.id}`,
      }),
      maxSessionDuration: 43200,
      inlinePolicies: [
        bundlePolicy(catalog, {
          partition: 'aws',
          bundles: 'default',
          principal: 'role',
          accountId,
          roleName,
        }),
      ],
    });
    return { connection, roleArn: role.arn };
  };

  it('connects one set-up once when 100 requests connect it at once', async () => {
    const { connection, roleArn } = await keylessSetUp();
    const responses = await Promise.all(
      Array.from({ length: 100 }, () =>
        a.admin.request('POST', '/v1/accounts', {
          method: 'oidc_role',
          connectionId: connection.id,
          roleArn,
        }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(
      statuses.filter((s) => s === 201),
      statuses.join(','),
    ).toHaveLength(1);
    // The losers are told the set-up is connected (409); on PostgreSQL, one that waited for a pooled
    // connection longer than the pool allows is a 503 with retry-after, never a second account.
    for (const response of responses.filter((r) => r.status !== 201 && r.status !== 409)) {
      expect(response.status, response.text).toBe(503);
      expect(response.headers['retry-after']).toBeDefined();
    }
    const accounts = await h.database.db
      .selectFrom('accounts')
      .select('id')
      .where('connection_id', '=', connection.id)
      .execute();
    expect(accounts).toHaveLength(1);
    const created = await h.database.db
      .selectFrom('audit_log')
      .select('seq')
      .where('action', '=', 'account.created')
      .where('target_id', '=', accounts[0]?.id ?? '')
      .execute();
    expect(created).toHaveLength(1);
  });

  it('keeps a keyless account valid through checks that run while keys rotate at once', async () => {
    const { connection, roleArn } = await keylessSetUp();
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: connection.id,
      roleArn,
    });
    expectStatus(created, 201);
    const operator = await h.operator();
    const [checks, rotations] = await Promise.all([
      Promise.all(
        Array.from({ length: 20 }, () =>
          a.admin.request('POST', `/v1/accounts/${created.body.id}/check`),
        ),
      ),
      Promise.all(
        Array.from({ length: 20 }, () =>
          operator.request('POST', '/v1/oidc/keys/rotate', { immediate: true }),
        ),
      ),
    ]);
    // Checks that overlap are refused 409 checked_meanwhile (by design); every recorded one is valid.
    const recorded = checks.filter((check) => check.status === 200);
    expect(recorded.length).toBeGreaterThan(0);
    expect(checks.filter((check) => check.status !== 200 && check.status !== 409)).toEqual([]);
    for (const check of recorded) {
      expect(check.body.status, JSON.stringify(check.body.errors)).toBe('valid');
    }
    expect(rotations.map((r) => r.status).filter((s) => s !== 201 && s !== 409)).toEqual([]);
    // After the storm: one signing key, every published key distinct, and a token of it verifies.
    const status = await operator.request('GET', '/v1/oidc');
    const keys = status.body.keys as { kid: string; state: string }[];
    expect(keys.filter((k) => k.state === 'signing')).toHaveLength(1);
    expect(new Set(keys.map((k) => k.kid)).size).toBe(keys.length);
    const after = await a.admin.request('POST', `/v1/accounts/${created.body.id}/check`);
    expect(after.body.status).toBe('valid');
  });
});
