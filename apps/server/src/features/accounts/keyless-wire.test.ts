/**
 * Keyless roles on the wire: the real SDK adapter sends AssumeRoleWithWebIdentity, unsigned, to the
 * loopback AWS, whose STS fetches this Onramp's discovery document and JWKS (routed to the test's
 * listening app), verifies the token and evaluates the role's trust policy. No hub identity exists in
 * any partition. Roles are created in the loopback with trust policies built by the core.
 */

import {
  buildWebIdentityTrustPolicy,
  type Catalog,
  type PartitionId,
  webIdentityConditions,
} from '@onramp/core';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectSecured,
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
const audienceOf = (partition: PartitionId) =>
  partition === 'aws-cn' ? 'sts.amazonaws.com.cn' : 'sts.amazonaws.com';

describe.each(TEST_DIALECTS)('keyless roles on the wire on %s', (dialect) => {
  let aws: LoopbackAws;
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let catalog: Catalog;
  let sequence = 0;
  const awsAccount = () =>
    String(500000000000 + ++sequence + Math.floor(Math.random() * 1e6) * 1000);

  beforeAll(async () => {
    aws = await startLoopbackAws();
    catalog = await testCatalog();
    const gateway = createSdkAwsGateway({ hubs: {}, endpoint: aws.url, maxAttempts: 2 });
    h = await createHarness(dialect, { aws: gateway, hubs: {}, publicUrl: ORIGIN });
    const address = (await h.app.listen({ port: 0, host: '127.0.0.1' })) as string;
    aws.routeIssuer(ORIGIN, address);
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
  });
  beforeEach(() => {
    aws.clearFaults();
    aws.setClockOffset(0);
  });

  /** A pending keyless set-up (seeded: connections are another feature's routes). */
  const connectionOf = (tenant: TestTenant, partition: PartitionId = 'aws') =>
    createConnectionsRepository(h.database.db, () => new Date()).create(tenant.id, {
      name: `Keyless ${++sequence}`,
      description: '',
      partition,
      bundles: catalog.defaultBundles(partition).map((bundle) => bundle.id),
      regions: [],
      externalId: `onramp-unused-external-id-${sequence}-000000000000`,
      roleName: `OnrampKeyless${sequence}`,
      method: 'oidc_role',
    });

  interface RoleSetUp {
    partition?: PartitionId;
    /** The provider: Onramp's issuer (default), another URL, or none. */
    provider?: 'onramp' | 'other' | 'none';
    clientIds?: string[];
    /** Replaces the core's trust policy's Condition, given the subject and audience it would pin. */
    condition?: (subject: string, audience: string) => Record<string, Record<string, string>>;
    maxSessionDuration?: number;
  }

  /** The account, its provider and a role as the template makes them, with the core's trust policy. */
  const keylessRole = (tenant: TestTenant, connectionId: string, setUp: RoleSetUp = {}) => {
    const partition = setUp.partition ?? 'aws';
    const accountId = awsAccount();
    aws.createAccount(partition, accountId);
    const audience = audienceOf(partition);
    if (setUp.provider !== 'none') {
      aws.createOidcProvider(partition, accountId, {
        url: setUp.provider === 'other' ? 'https://token.actions.githubusercontent.com' : ISSUER,
        clientIds: setUp.clientIds ?? [audience],
      });
    }
    const providerArn = `arn:${partition}:iam::${accountId}:oidc-provider/${PREFIX}`;
    const subject = `tenant:${tenant.id}:connection:${connectionId}`;
    const trustPolicy = buildWebIdentityTrustPolicy({
      partition,
      providerArn,
      conditionPrefix: PREFIX,
      audience,
      subject,
    });
    if (setUp.condition) {
      for (const statement of trustPolicy.Statement)
        (statement as { Condition?: unknown }).Condition = setUp.condition(subject, audience);
    }
    const roleName = `OnrampKeyless${sequence}`;
    const role = aws.createRole(partition, accountId, {
      roleName,
      trustPolicy,
      maxSessionDuration: setUp.maxSessionDuration ?? 43200,
      inlinePolicies: [
        bundlePolicy(catalog, {
          partition,
          bundles: 'default',
          principal: 'role',
          accountId,
          roleName,
        }),
      ],
    });
    return { roleArn: role.arn, accountId, subject, audience, providerArn };
  };

  const connect = async (tenant: TestTenant, setUp: RoleSetUp = {}) => {
    const connection = await connectionOf(tenant, setUp.partition);
    const role = keylessRole(tenant, connection.id, setUp);
    const response = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: connection.id,
      roleArn: role.roleArn,
    });
    return { response, connection, ...role };
  };

  it.each(['aws', 'aws-us-gov', 'aws-cn'] as const)(
    'connects and checks a keyless role in %s with no hub',
    async (partition) => {
      const { response, roleArn, subject, accountId } = await connect(a, { partition });
      expectStatus(response, 201);
      expect(response.body).toMatchObject({
        method: 'oidc_role',
        partition,
        roleArn,
        awsAccountId: accountId,
        status: 'valid',
        webIdentity: { issuer: ISSUER, audience: audienceOf(partition), subject },
      });
      const check = await a.admin.request('POST', `/v1/accounts/${response.body.id}/check`);
      expectStatus(check, 200);
      const shown = await a.viewer.request('GET', `/v1/accounts/${response.body.id}`);
      expect(shown.body).toMatchObject({ status: 'valid', stale: false });
      expect(aws.issuerFetches.some((f) => f.what === 'jwks' && f.status === 200)).toBe(true);
    },
  );

  it('refuses a role pinned to another connection’s subject on roleArn, with the condition to use', async () => {
    const connection = await connectionOf(a);
    const other = await connectionOf(a);
    const { roleArn, subject, audience } = keylessRole(a, other.id);
    const response = await a.admin.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: connection.id,
      roleArn,
    });
    expectProblem(response, 422, 'roleArn');
    expect(response.body.errors[0]).toMatchObject({ code: 'AccessDenied' });
    const wanted = JSON.stringify(
      webIdentityConditions({
        conditionPrefix: PREFIX,
        audience,
        subject: subject.replace(other.id, connection.id),
      }),
    );
    expect(response.body.errors[0].hint).toContain(wanted);
  });

  it('never lets another tenant connect a role that trusts this tenant’s connection', async () => {
    const { response, roleArn } = await connect(a);
    expectStatus(response, 201);
    const theirs = await connectionOf(b);
    const attempt = await b.admin.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: theirs.id,
      roleArn,
    });
    expectProblem(attempt, 422, 'roleArn');
    expect(attempt.body.errors[0]).toMatchObject({ code: 'AccessDenied' });
    // Nor with this tenant's connection id, which is not theirs to name.
    const stolen = await b.admin.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: response.body.connectionId,
      roleArn,
    });
    expectProblem(stolen, 404, 'connectionId');
  });

  it('refuses the same role twice, and a role of another partition, as for external-ID roles', async () => {
    const { response, roleArn } = await connect(a);
    expectStatus(response, 201);
    const again = await connectionOf(a);
    const duplicate = await a.admin.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: again.id,
      roleArn,
    });
    expectProblem(duplicate, 409, 'roleArn');
    const elsewhere = await a.admin.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: again.id,
      roleArn: roleArn.replace('arn:aws:', 'arn:aws-us-gov:'),
    });
    expectProblem(elsewhere, 422, 'roleArn');
  });

  it('refuses a role pinned to another audience on roleArn', async () => {
    const { response } = await connect(a, {
      clientIds: ['sts.amazonaws.com', 'sts.amazonaws.com.cn'],
      condition: (subject) => ({
        StringEquals: { [`${PREFIX}:aud`]: 'sts.amazonaws.com.cn', [`${PREFIX}:sub`]: subject },
      }),
    });
    expectProblem(response, 422, 'roleArn');
    expect(response.body.errors[0]).toMatchObject({ code: 'AccessDenied' });
  });

  it('refuses a role without a subject condition, and one with a wildcard subject, on roleArn', async () => {
    const noSub = await connect(a, {
      condition: (_subject, audience) => ({ StringEquals: { [`${PREFIX}:aud`]: audience } }),
    });
    expectProblem(noSub.response, 422, 'roleArn');
    expect(noSub.response.body.errors.map((e: { code: string }) => e.code)).toContain(
      'subject_not_pinned',
    );
    const wildcard = await connect(a, {
      condition: (_subject, audience) => ({
        StringEquals: { [`${PREFIX}:aud`]: audience },
        StringLike: { [`${PREFIX}:sub`]: `tenant:${a.id}:*` },
      }),
    });
    expectProblem(wildcard.response, 422, 'roleArn');
    expect(wildcard.response.body.errors[0]).toMatchObject({ code: 'subject_not_pinned' });
    expect(wildcard.response.body.errors[0].hint).toContain('StringEquals');
  });

  it('refuses a role that does not pin the audience when the provider lists another', async () => {
    const { response } = await connect(a, {
      clientIds: ['sts.amazonaws.com', 'sts.amazonaws.com.cn'],
      condition: (subject) => ({ StringEquals: { [`${PREFIX}:sub`]: subject } }),
    });
    expectProblem(response, 422, 'roleArn');
    expect(response.body.errors.map((e: { code: string }) => e.code)).toEqual([
      'audience_not_pinned',
    ]);
  });

  it('puts no provider, a provider for another URL, and a provider without the audience on oidcProvider', async () => {
    const none = await connect(a, { provider: 'none' });
    expectProblem(none.response, 422, 'oidcProvider');
    expect(none.response.body.errors[0]).toMatchObject({ code: 'oidc_provider_missing' });
    expect(none.response.body.errors[0].hint).toContain(`provider URL ${ISSUER}`);
    const other = await connect(a, { provider: 'other' });
    expectProblem(other.response, 422, 'oidcProvider');
    expect(other.response.body.errors[0]).toMatchObject({ code: 'oidc_provider_missing' });
    const audience = await connect(a, { clientIds: ['sigstore'] });
    expectProblem(audience.response, 422, 'oidcProvider');
    expect(audience.response.body.errors[0]).toMatchObject({ code: 'oidc_audience_not_allowed' });
  });

  it('treats an issuer AWS cannot reach as an outage: 502, and an account stays valid, marked stale', async () => {
    aws.injectFault({ kind: 'unreachable', service: 'issuer' });
    aws.clearIssuerCache();
    const refused = await connect(a);
    expectProblem(refused.response, 502);
    expect(refused.response.body.detail).toContain('reachable from AWS');
    aws.clearFaults();
    const { response } = await connect(a);
    expectStatus(response, 201);
    aws.injectFault({ kind: 'unreachable', service: 'issuer' });
    aws.clearIssuerCache();
    await a.admin.request('POST', `/v1/accounts/${response.body.id}/check`);
    const shown = await a.viewer.request('GET', `/v1/accounts/${response.body.id}`);
    expect(shown.body).toMatchObject({ status: 'valid', stale: true });
  });

  it('retries an expired token once, then says the clock is skewed (502, nothing saved)', async () => {
    aws.setClockOffset(60 * 60_000);
    const { response } = await connect(a);
    expectProblem(response, 502);
    expect(response.body.detail).toContain('clock skew');
  });

  it('vends 12-hour sessions of a role whose MaxSessionDuration allows them, and refuses longer on durationSeconds', async () => {
    const { response } = await connect(a, { maxSessionDuration: 43200 });
    expectStatus(response, 201);
    const token = await a.token(['credentials:vend']);
    const vended = await token.request('POST', `/v1/accounts/${response.body.id}/credentials`, {
      durationSeconds: 43200,
    });
    expectStatus(vended, 200);
    expect(Date.parse(vended.body.expiration) - Date.now()).toBeGreaterThan(11.9 * 3600_000);
    const short = await connect(a, { maxSessionDuration: 3600 });
    expectStatus(short.response, 201);
    const refused = await token.request(
      'POST',
      `/v1/accounts/${short.response.body.id}/credentials`,
      { durationSeconds: 7200 },
    );
    expectProblem(refused, 422, 'durationSeconds');
  });

  it('makes a console sign-in link for a keyless role', async () => {
    const { response } = await connect(a);
    const link = await a.admin.request('POST', `/v1/accounts/${response.body.id}/console-link`);
    expectStatus(link, 200);
    expect(link.body.url).toContain('SigninToken=');
  });

  it('is secured: another tenant, a viewer and no credentials get nothing', async () => {
    const { response } = await connect(a);
    const id = response.body.id;
    await expectSecured(
      h,
      { method: 'POST', url: `/v1/accounts/${id}/check` },
      { forbidden: [a.viewer], otherTenant: [b.admin] },
    );
    const vend = await (await b.token(['credentials:vend'])).request(
      'POST',
      `/v1/accounts/${id}/credentials`,
      {},
    );
    expectProblem(vend, 404);
    // A vending token that has expired gets nothing either.
    const expired = await a.token(['credentials:vend']);
    await h.database.db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', expired.tokenId)
      .execute();
    const late = await expired.request('POST', `/v1/accounts/${id}/credentials`, {});
    expectProblem(late, 401);
  });

  it('runs 100 concurrent checks of one keyless account without corrupting it', async () => {
    const { response } = await connect(a);
    const id = response.body.id;
    const results = await Promise.all(
      Array.from({ length: 100 }, () => a.admin.request('POST', `/v1/accounts/${id}/check`)),
    );
    for (const result of results) expect([200, 409, 429], result.text).toContain(result.status);
    const shown = await a.viewer.request('GET', `/v1/accounts/${id}`);
    expect(shown.body).toMatchObject({ status: 'valid', stale: false, method: 'oidc_role' });
  });
});
