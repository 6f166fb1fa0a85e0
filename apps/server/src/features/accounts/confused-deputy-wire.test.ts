/**
 * Confused-deputy probes an attacker would try, on the wire (real SDK → loopback AWS, whose STS
 * evaluates the trust policies): trust policies a customer might write that look pinned but let
 * another tenant's connection (or any external ID) through. Each must be refused on roleArn.
 */

import { buildWebIdentityTrustPolicy, type Catalog } from '@onramp/core';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
  testCatalog,
} from '../../testing/harness.ts';
import { bundlePolicy, createHub } from '../../testing/loopback-world.ts';
import { createConnectionsRepository } from '../connections/connections-repository.ts';

const ORIGIN = 'https://onramp.example.test';
const ISSUER = `${ORIGIN}/oidc`;
const PREFIX = 'onramp.example.test/oidc';
const AUDIENCE = 'sts.amazonaws.com';

type Statement = object;

describe.each(TEST_DIALECTS)('confused-deputy probes on the wire on %s', (dialect) => {
  let aws: LoopbackAws;
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let catalog: Catalog;
  let hubArn: string;
  let sequence = 0;
  const awsAccount = () =>
    String(600000000000 + ++sequence + Math.floor(Math.random() * 1e6) * 1000);

  beforeAll(async () => {
    aws = await startLoopbackAws();
    catalog = await testCatalog();
    const { user: hub, config: hubConfig } = createHub(aws, 'aws');
    hubArn = hub.arn;
    const gateway = createSdkAwsGateway({
      hubs: { aws: hubConfig },
      endpoint: aws.url,
      maxAttempts: 2,
    });
    h = await createHarness(dialect, {
      aws: gateway,
      hubs: { aws: { principalArn: hubArn } },
      publicUrl: ORIGIN,
    });
    const address = (await h.app.listen({ port: 0, host: '127.0.0.1' })) as string;
    aws.routeIssuer(ORIGIN, address);
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
  });

  const connectionOf = (tenant: TestTenant, method: 'oidc_role' | 'role') =>
    createConnectionsRepository(h.database.db, () => new Date()).create(tenant.id, {
      name: `Probe ${++sequence}`,
      description: '',
      partition: 'aws',
      bundles: catalog.defaultBundles('aws').map((bundle) => bundle.id),
      regions: [],
      externalId: `onramp-probe-external-id-${sequence}-${Math.random().toString(36).slice(2)}`,
      roleName: `OnrampProbe${sequence}`,
      method,
    });

  /** An account with Onramp's provider and a role whose trust policy is `statements`. */
  const roleTrusting = (statements: (providerArn: string) => Statement[]) => {
    const accountId = awsAccount();
    aws.createAccount('aws', accountId);
    aws.createOidcProvider('aws', accountId, { url: ISSUER, clientIds: [AUDIENCE] });
    const providerArn = `arn:aws:iam::${accountId}:oidc-provider/${PREFIX}`;
    const roleName = `OnrampProbe${sequence}`;
    return aws.createRole('aws', accountId, {
      roleName,
      trustPolicy: { Version: '2012-10-17', Statement: statements(providerArn) },
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
    }).arn;
  };

  const keylessStatement = (providerArn: string, condition: Record<string, unknown>) => ({
    Effect: 'Allow',
    Principal: { Federated: providerArn },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: condition,
  });
  const exact = (providerArn: string, subject: string) =>
    buildWebIdentityTrustPolicy({
      partition: 'aws',
      providerArn,
      conditionPrefix: PREFIX,
      audience: AUDIENCE,
      subject,
    }).Statement as Statement[];
  const subjectOf = (tenant: TestTenant, connectionId: string) =>
    `tenant:${tenant.id}:connection:${connectionId}`;

  const keylessAttempt = async (make: (providerArn: string, subject: string) => Statement[]) => {
    const connection = await connectionOf(a, 'oidc_role');
    const roleArn = roleTrusting((providerArn) => make(providerArn, subjectOf(a, connection.id)));
    const response = await a.admin.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: connection.id,
      roleArn,
    });
    return { response, roleArn };
  };
  const codes = (response: { body: { errors?: { code: string }[] } }) =>
    (response.body.errors ?? []).map((e) => e.code);

  it('refuses ForAnyValue:StringLike on the subject with a tenant-wide pattern', async () => {
    const { response } = await keylessAttempt((providerArn) => [
      keylessStatement(providerArn, {
        StringEquals: { [`${PREFIX}:aud`]: AUDIENCE },
        'ForAnyValue:StringLike': { [`${PREFIX}:sub`]: [`tenant:${a.id}:connection:*`] },
      }),
    ]);
    expectProblem(response, 422, 'roleArn');
    expect(codes(response)).toContain('subject_not_pinned');
  });

  it('refuses an exact statement beside a broader second one that pins only the audience', async () => {
    const { response } = await keylessAttempt((providerArn, subject) => [
      ...exact(providerArn, subject),
      keylessStatement(providerArn, { StringEquals: { [`${PREFIX}:aud`]: AUDIENCE } }),
    ]);
    expectProblem(response, 422, 'roleArn');
    expect(codes(response)).toContain('subject_not_pinned');
  });

  it('refuses a subject pattern that spans tenants for this connection id', async () => {
    const { response } = await keylessAttempt((providerArn) => [
      keylessStatement(providerArn, {
        StringEquals: { [`${PREFIX}:aud`]: AUDIENCE },
        StringLike: { [`${PREFIX}:sub`]: 'tenant:*' },
      }),
    ]);
    expectProblem(response, 422, 'roleArn');
    expect(codes(response)).toContain('subject_not_pinned');
  });

  it('refuses a broader statement whose only other condition is on a key Onramp never sends (amr, ForAllValues)', async () => {
    // ForAllValues on a key absent from the request is true: the statement pins nothing.
    const { response } = await keylessAttempt((providerArn, subject) => [
      ...exact(providerArn, subject),
      keylessStatement(providerArn, {
        StringEquals: { [`${PREFIX}:aud`]: AUDIENCE },
        'ForAllValues:StringEquals': { [`${PREFIX}:amr`]: ['authenticated'] },
      }),
    ]);
    expectProblem(response, 422, 'roleArn');
    expect(codes(response)).toContain('subject_not_pinned');
    // A condition on amr that must be present is never met: the role refuses Onramp altogether.
    const { response: amr } = await keylessAttempt((providerArn, subject) => [
      keylessStatement(providerArn, {
        StringEquals: { [`${PREFIX}:aud`]: AUDIENCE, [`${PREFIX}:sub`]: subject },
        'ForAnyValue:StringLike': { [`${PREFIX}:amr`]: 'authenticated' },
      }),
    ]);
    expectProblem(amr, 422, 'roleArn');
    expect(codes(amr)).toEqual(['AccessDenied']);
  });

  it('connects a keyless role when AWS does not answer the hub: the hub probe is a warning, not a fault', async () => {
    aws.injectFault({ kind: 'error', status: 503, action: 'AssumeRole' });
    try {
      const { response } = await keylessAttempt((providerArn, subject) =>
        exact(providerArn, subject),
      );
      expectStatus(response, 201);
      expect(response.body.status).toBe('valid');
      const probe = response.body.checks.find(
        (c: { name: string }) => c.name === 'hub_not_trusted',
      );
      expect(probe).toMatchObject({ status: 'warning' });
      expect(probe.detail).toContain('Not checked whether the role also trusts the platform’s hub');
    } finally {
      aws.clearFaults();
    }
  });

  it('connects the exact keyless role, and another tenant cannot reach it through the hub', async () => {
    const { response, roleArn } = await keylessAttempt((providerArn, subject) =>
      exact(providerArn, subject),
    );
    expectStatus(response, 201);
    const theirs = await connectionOf(b, 'role');
    const attempt = await b.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: theirs.id,
      roleArn,
    });
    expectProblem(attempt, 422, 'roleArn');
  });

  it('refuses a role trusting the hub with any external ID (StringLike "*"): another tenant could connect it', async () => {
    const connection = await connectionOf(b, 'role');
    const roleArn = roleTrusting(() => [
      {
        Effect: 'Allow',
        Principal: { AWS: hubArn },
        Action: 'sts:AssumeRole',
        Condition: { StringLike: { 'sts:ExternalId': '*' } },
      },
    ]);
    const response = await b.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.id,
      roleArn,
    });
    expectProblem(response, 422, 'roleArn');
    expect(codes(response)).toContain('external_id_not_pinned');
  });

  it('refuses a keyless role pinned to its subject that also trusts the hub without an external ID, or with any', async () => {
    const hubStatements = [
      { Effect: 'Allow', Principal: { AWS: hubArn }, Action: 'sts:AssumeRole' },
      {
        Effect: 'Allow',
        Principal: { AWS: hubArn },
        Action: 'sts:AssumeRole',
        Condition: { StringLike: { 'sts:ExternalId': '*' } },
      },
    ];
    for (const hubStatement of hubStatements) {
      const { response } = await keylessAttempt((providerArn, subject) => [
        ...exact(providerArn, subject),
        hubStatement,
      ]);
      expectProblem(response, 422, 'roleArn');
      expect(response.body.errors[0]).toMatchObject({
        code: 'hub_trusted_without_external_id',
        hint: expect.stringContaining(hubArn),
      });
      expect(response.body.checks.map((c: { name: string }) => c.name)).toEqual([
        'shape',
        'issuer',
        'identity',
        'subject_required',
        'audience_required',
        'hub_not_trusted',
        'permissions',
      ]);
    }
  });
});
