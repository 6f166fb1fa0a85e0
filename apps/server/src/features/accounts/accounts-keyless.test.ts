import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createFakeWebIdentity,
  FAKE_ISSUER,
  type FakeWebIdentity,
} from '../../testing/fake-web-identity.ts';
import {
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  type TestResponse,
  type TestTenant,
} from '../../testing/harness.ts';
import { createConnectionsRepository } from '../connections/connections-repository.ts';

/**
 * Keyless role accounts (`oidc_role`) through the routes, over the fake AWS and a fake issuer, with
 * no hub identity in any partition: connect, the view, the method rules, limits, replacing the role,
 * vending (not role-chained), console links, offers, deletion, and who may do what.
 */
describe.each(TEST_DIALECTS)('keyless role accounts on %s', (dialect) => {
  let h: Harness;
  let issuer: FakeWebIdentity;
  let a: TestTenant;
  let b: TestTenant;
  let sequence = 0;
  const awsAccount = () => String(400000000000 + ++sequence);

  beforeAll(async () => {
    issuer = createFakeWebIdentity();
    h = await createHarness(dialect, { hubs: {}, webIdentity: issuer.port });
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A pending keyless set-up (seeded: the connections routes are another feature's). */
  const connectionOf = (
    tenant: TestTenant,
    method: 'role' | 'oidc_role' = 'oidc_role',
    bundles = h.deps.catalog.defaultBundles('aws').map((bundle) => bundle.id),
  ) =>
    createConnectionsRepository(h.database.db, () => new Date()).create(tenant.id, {
      name: `Keyless ${++sequence}`,
      description: '',
      partition: 'aws',
      bundles,
      regions: [],
      externalId: `onramp-unused-external-id-${sequence}-000000000000`,
      roleName: `OnrampKeyless${sequence}`,
      method,
    });

  /** A role in the fake AWS trusting the connection's subject through the account's provider. */
  const keylessRole = (
    tenantId: string,
    connectionId: string,
    trust: { subject?: string | null; audience?: string | null; maxSessionDuration?: number } = {},
    accountId = awsAccount(),
    roleName = 'OnrampKeyless',
  ) => {
    const roleArn = `arn:aws:iam::${accountId}:role/${roleName}`;
    h.aws.addOidcProvider('aws', accountId, FAKE_ISSUER, ['sts.amazonaws.com']);
    h.aws.addWebIdentityRole(roleArn, {
      issuer: FAKE_ISSUER,
      audience: trust.audience === undefined ? 'sts.amazonaws.com' : trust.audience,
      subject:
        trust.subject === undefined
          ? `tenant:${tenantId}:connection:${connectionId}`
          : trust.subject,
      ...(trust.maxSessionDuration ? { maxSessionDuration: trust.maxSessionDuration } : {}),
    });
    return { accountId, roleArn };
  };

  const connect = async (tenant: TestTenant, trust = {}) => {
    const connection = await connectionOf(tenant);
    const { roleArn, accountId } = keylessRole(tenant.id, connection.id, trust);
    const response = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: connection.id,
      roleArn,
    });
    return { response, connection, roleArn, accountId };
  };

  it('connects a keyless role with no hub anywhere, and shows what it trusts', async () => {
    const { response, connection, roleArn, accountId } = await connect(a);
    expectStatus(response, 201);
    expect(response.body).toMatchObject({
      method: 'oidc_role',
      roleArn,
      principalArn: roleArn,
      awsAccountId: accountId,
      connectionId: connection.id,
      status: 'valid',
      webIdentity: {
        issuer: FAKE_ISSUER,
        audience: 'sts.amazonaws.com',
        subject: `tenant:${a.id}:connection:${connection.id}`,
        conditionPrefix: 'onramp.example.test/oidc',
        providerArnPattern: `arn:aws:iam::${accountId}:oidc-provider/onramp.example.test/oidc`,
      },
    });
    expect(response.body.checks.map((c: { name: string }) => c.name)).toEqual([
      'shape',
      'issuer',
      'identity',
      'subject_required',
      'audience_required',
      'permissions',
    ]);
    const listed = await a.viewer.request('GET', `/v1/accounts/${response.body.id}`);
    expectStatus(listed, 200);
    expect(listed.body.webIdentity.subject).toBe(`tenant:${a.id}:connection:${connection.id}`);
    const conn = await a.viewer.request('GET', `/v1/connections/${connection.id}`);
    expect(conn.body.status).toBe('connected');
  });

  it('validates without saving, and refuses a role that trusts every connection on roleArn', async () => {
    const connection = await connectionOf(a);
    const { roleArn } = keylessRole(a.id, connection.id, { subject: `tenant:${a.id}:*` });
    const body = { method: 'oidc_role', connectionId: connection.id, roleArn };
    const dry = await a.admin.request('POST', '/v1/accounts/validate', body);
    expectStatus(dry, 200);
    expect(dry.body.valid).toBe(false);
    expect(dry.body.errors.map((e: { field: string; code: string }) => [e.field, e.code])).toEqual([
      ['roleArn', 'subject_not_pinned'],
    ]);
    const refused = await a.admin.request('POST', '/v1/accounts', body);
    expectProblem(refused, 422, 'roleArn');
    expect(refused.body.errors[0].code).toBe('subject_not_pinned');
  });

  it('refuses a role input on a keyless connection, and a keyless input on an external-ID one, on method', async () => {
    const keyless = await connectionOf(a);
    const roleOnKeyless = await a.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: keyless.id,
      roleArn: `arn:aws:iam::${awsAccount()}:role/OnrampKeyless`,
    });
    expectProblem(roleOnKeyless, 422, 'method');
    expect(roleOnKeyless.body.errors[0]).toMatchObject({ code: 'method_mismatch' });
    expect(roleOnKeyless.body.errors[0].hint).toContain('"method": "oidc_role"');
    const external = await connectionOf(a, 'role');
    const keylessOnRole = await a.admin.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: external.id,
      roleArn: `arn:aws:iam::${awsAccount()}:role/OnrampRole`,
    });
    expectProblem(keylessOnRole, 422, 'method');
  });

  it('honours the tenant’s limits on methods', async () => {
    const limited = await h.tenant(undefined, { methods: ['role', 'access_keys'] });
    const { response } = await connect(limited);
    expectProblem(response, 422, 'method');
    expect(response.body.errors[0].code).toBe('limit_reached');
    const offers = await limited.viewer.request('GET', '/v1/partitions');
    const aws = offers.body.partitions.find((p: { partition: string }) => p.partition === 'aws');
    expect(aws).toMatchObject({ oidc: null, oidcReason: expect.stringContaining('keyless') });
    expect(aws.methods).not.toContain('oidc_role');
  });

  it('offers keyless roles in every partition with its audience, and says why roles are not', async () => {
    const offers = await a.viewer.request('GET', '/v1/partitions');
    expectStatus(offers, 200);
    const byId = Object.fromEntries(
      (offers.body.partitions as TestResponse['body'][]).map((p) => [p.partition, p]),
    );
    for (const partition of ['aws', 'aws-us-gov', 'aws-cn']) {
      expect(byId[partition]).toMatchObject({
        methods: ['oidc_role', 'access_keys'],
        reason: expect.stringContaining('hub identity'),
        oidc: {
          issuer: FAKE_ISSUER,
          audience: partition === 'aws-cn' ? 'sts.amazonaws.com.cn' : 'sts.amazonaws.com',
        },
        oidcReason: null,
      });
    }
  });

  it('vends 12-hour sessions of a role that allows them, and puts a longer one on durationSeconds', async () => {
    const { response } = await connect(a, { maxSessionDuration: 43200 });
    expectStatus(response, 201);
    const id = response.body.id;
    const token = await a.token(['credentials:vend']);
    const vended = await token.request('POST', `/v1/accounts/${id}/credentials`, {
      durationSeconds: 43200,
    });
    expectStatus(vended, 200);
    expect(Date.parse(vended.body.expiration) - Date.now()).toBeGreaterThan(11.9 * 3600 * 1000);

    const short = await connect(a);
    expectStatus(short.response, 201);
    const refused = await token.request(
      'POST',
      `/v1/accounts/${short.response.body.id}/credentials`,
      { durationSeconds: 7200 },
    );
    expectProblem(refused, 422, 'durationSeconds');
  });

  it('makes console links for keyless role accounts', async () => {
    const { response } = await connect(a);
    const link = await a.admin.request('POST', `/v1/accounts/${response.body.id}/console-link`);
    expectStatus(link, 200);
    expect(link.body.url).toContain('SigninToken=');
    // Not role-chained: the console session may last the 12 hours AWS allows such sessions.
    expect(Date.parse(link.body.sessionExpiresAt) - Date.now()).toBeGreaterThan(11.9 * 3600_000);
    expect(h.aws.webIdentityInputs.at(-1)?.sessionName).toMatch(/^onramp-console-/);
  });

  it('lists and attaches IAM policies as the keyless role itself', async () => {
    const connection = await connectionOf(a, 'oidc_role', ['nodes-ec2', 'iam-policy-attachment']);
    const { roleArn } = keylessRole(a.id, connection.id);
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: connection.id,
      roleArn,
    });
    expectStatus(created, 201);
    const listed = await a.viewer.request(
      'GET',
      `/v1/accounts/${created.body.id}/iam-policies?scope=aws&limit=2`,
    );
    expectStatus(listed, 200);
    expect(h.aws.webIdentityInputs.at(-1)?.sessionName).toBe('onramp-iam-policies');
  });

  it('replaces the role with another keyless one, and refuses another method on method', async () => {
    const { response, connection, accountId } = await connect(a);
    const id = response.body.id;
    const { roleArn } = keylessRole(a.id, connection.id, {}, accountId, 'OnrampKeylessNext');
    const elsewhere = keylessRole(a.id, connection.id, {}, awsAccount(), 'OnrampKeylessNext');
    const mismatch = await a.admin.request('PUT', `/v1/accounts/${id}/credentials`, {
      method: 'oidc_role',
      roleArn: elsewhere.roleArn,
    });
    expectProblem(mismatch, 422, 'roleArn');
    expect(mismatch.body.errors[0].code).toBe('account_mismatch');
    const replaced = await a.admin.request('PUT', `/v1/accounts/${id}/credentials`, {
      method: 'oidc_role',
      roleArn,
    });
    expectStatus(replaced, 200);
    expect(replaced.body.roleArn).toBe(roleArn);
    const wrong = await a.admin.request('PUT', `/v1/accounts/${id}/credentials`, {
      method: 'role',
      roleArn,
    });
    expectProblem(wrong, 422, 'method');
  });

  it('deletes a keyless account and leaves its connection to connect again', async () => {
    const { response, connection } = await connect(a);
    const gone = await a.admin.request('DELETE', `/v1/accounts/${response.body.id}`);
    expectStatus(gone, 204);
    const conn = await a.viewer.request('GET', `/v1/connections/${connection.id}`);
    expect(conn.body.status).toBe('pending');
  });

  it('checks a keyless account’s health like its connect: stale when the issuer is unreachable, invalid when the trust is loosened', async () => {
    const { response, roleArn } = await connect(a);
    const id = response.body.id;
    h.aws.webFaults.issuerUnreachable = true;
    try {
      const check = await a.admin.request('POST', `/v1/accounts/${id}/check`);
      const shown = await a.viewer.request('GET', `/v1/accounts/${id}`);
      expect(shown.body, check.text).toMatchObject({ status: 'valid', stale: true });
    } finally {
      h.aws.webFaults.issuerUnreachable = false;
    }
    // The tenant loosens the trust policy to any connection: the next check finds it.
    h.aws.addWebIdentityRole(roleArn, {
      issuer: FAKE_ISSUER,
      audience: 'sts.amazonaws.com',
      subject: `tenant:${a.id}:connection:*`,
    });
    await a.admin.request('POST', `/v1/accounts/${id}/check`);
    const after = await a.viewer.request('GET', `/v1/accounts/${id}`);
    expect(after.body).toMatchObject({ status: 'invalid', stale: false });
    expect(
      after.body.checks.find((c: { name: string }) => c.name === 'subject_required'),
    ).toMatchObject({ status: 'failed' });
  });

  it('runs 100 checks of one keyless account at once without corrupting it', async () => {
    const { response } = await connect(a);
    const id = response.body.id;
    const results = await Promise.all(
      Array.from({ length: 100 }, () => a.admin.request('POST', `/v1/accounts/${id}/check`)),
    );
    for (const result of results) expect([200, 409, 429], result.text).toContain(result.status);
    expect(results.some((r) => r.status === 200)).toBe(true);
    const shown = await a.viewer.request('GET', `/v1/accounts/${id}`);
    expect(shown.body).toMatchObject({ status: 'valid', stale: false, method: 'oidc_role' });
    const history = await a.viewer.request('GET', `/v1/accounts/${id}/checks`);
    expectStatus(history, 200);
  });

  it('is secured: another tenant, a viewer and no credentials are refused', async () => {
    const connection = await connectionOf(a);
    const { roleArn } = keylessRole(a.id, connection.id);
    const body = { method: 'oidc_role', connectionId: connection.id, roleArn };
    const other = await b.admin.request('POST', '/v1/accounts', body);
    expectProblem(other, 404, 'connectionId');
    await expectSecured(
      h,
      { method: 'POST', url: '/v1/accounts', body },
      { forbidden: [a.viewer] },
    );
    // Nothing minted for the other tenant's attempt reached AWS as tenant b.
    expect(issuer.minted.some((t) => t.subject.startsWith(`tenant:${b.id}:`))).toBe(false);
  });
});
