/**
 * Saving an account degraded, and telling a trimmed policy from a catalog that asks for more, on the
 * wire: the real SDK adapter against the loopback AWS, through the API, on both engines. The roles
 * and users are made as Onramp's templates make them, with a managed policy the test then edits as
 * an administrator would in the console.
 */
import { buildTrustPolicy, type PolicyDocument, parseHubPrincipal, unwrap } from '@onramp/core';
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
} from '../../testing/harness.ts';
import { bundlePolicy, createHub } from '../../testing/loopback-world.ts';

interface ConnectionBody {
  id: string;
  externalId: string;
  bundles: string[];
  roleName: string;
}

/** The policy without some actions (as an administrator trims it, or an older template had it). */
function without(document: PolicyDocument, actions: readonly string[]): PolicyDocument {
  return {
    ...document,
    Statement: document.Statement.map((s) => ({
      ...s,
      Action: s.Action.filter((a) => !actions.includes(a)),
    })).filter((s) => s.Action.length > 0),
  };
}

describe.each(TEST_DIALECTS)('save degraded and trimmed permissions on %s', (dialect) => {
  let aws: LoopbackAws;
  let h: Harness;
  let a: TestTenant;
  let hubArn: string;
  let n = 0;
  const nextAccount = () => {
    const id = String(510000000000 + ++n);
    aws.createAccount('aws', id);
    return id;
  };

  beforeAll(async () => {
    aws = await startLoopbackAws();
    const { user: hub, config: hubConfig } = createHub(aws, 'aws');
    hubArn = hub.arn;
    const gateway = createSdkAwsGateway({
      hubs: { aws: hubConfig },
      endpoint: aws.url,
      maxAttempts: 2,
    });
    h = await createHarness(dialect, { aws: gateway, hubs: { aws: { principalArn: hubArn } } });
    a = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
  });

  const newConnection = async (tenant: TestTenant = a): Promise<ConnectionBody> => {
    const response = await tenant.admin.request('POST', '/v1/connections', {
      name: `Wire ${++n}`,
      partition: 'aws',
    });
    expectStatus(response, 201);
    return response.body as ConnectionBody;
  };

  /**
   * The role a connection's template makes, its permissions in a customer-managed policy (so the
   * test can edit it later), less `drop`. `externalId: null` trusts the hub without one.
   */
  const makeRole = (
    connection: ConnectionBody,
    options: { drop?: string[]; externalId?: string | null } = {},
  ) => {
    const accountId = nextAccount();
    const full = bundlePolicy(h.deps.catalog, {
      partition: 'aws',
      bundles: connection.bundles,
      principal: 'role',
      accountId,
      roleName: connection.roleName,
    });
    const policy = aws.createManagedPolicy('aws', accountId, {
      name: 'OnrampPermissions',
      document: without(full, options.drop ?? []),
    });
    const externalId =
      options.externalId === undefined ? connection.externalId : options.externalId;
    const hub = unwrap(parseHubPrincipal(hubArn, 'aws'));
    const trust = externalId
      ? buildTrustPolicy({ partition: 'aws', hub, externalId })
      : {
          Version: '2012-10-17' as const,
          Statement: [
            {
              Sid: 'Hub',
              Effect: 'Allow' as const,
              Principal: { AWS: hubArn },
              Action: ['sts:AssumeRole', 'sts:TagSession'],
            },
          ],
        };
    const role = aws.createRole('aws', accountId, {
      roleName: connection.roleName,
      trustPolicy: trust,
      managedPolicyArns: [policy.arn],
    });
    const edit = (drop: string[]) =>
      aws.updateManagedPolicy('aws', policy.arn, without(full, drop));
    return { accountId, roleArn: role.arn, edit };
  };

  /** An IAM user with the keys policy of the default bundles, less `drop`. */
  const makeUser = (drop: string[] = []) => {
    const accountId = nextAccount();
    const full = bundlePolicy(h.deps.catalog, {
      partition: 'aws',
      bundles: 'default',
      principal: 'user',
      accountId,
    });
    const user = aws.createUser('aws', accountId, 'onramp', {
      policies: { onramp: without(full, drop) },
    });
    return { accountId, accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey };
  };

  const grantsOf = async (id: string) => {
    const row = await h.database.db
      .selectFrom('accounts')
      .select('granted_permissions')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return JSON.parse(row.granted_permissions ?? '{}') as Record<
      string,
      { actions: string[]; verified: boolean; hash: string }
    >;
  };
  const verifiedOf = async (id: string) =>
    Object.fromEntries(Object.entries(await grantsOf(id)).map(([k, g]) => [k, g.verified]));

  const auditOf = (id: string, action: string) =>
    h.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target_id', '=', id)
      .where('action', '=', action)
      .execute();

  const check = async (id: string) => {
    const response = await a.admin.request('POST', `/v1/accounts/${id}/check`);
    expectStatus(response, 200);
    const account = await a.viewer.request('GET', `/v1/accounts/${id}`);
    expectStatus(account, 200);
    return account.body;
  };

  const GAP = {
    bundleId: 'cost-inventory',
    bundleName: 'Resource inventory',
    missing: ['s3:GetBucketLocation'],
    deniedByScp: [],
  };

  it('refuses a role missing actions without the flag, and saves it degraded with it', async () => {
    const connection = await newConnection();
    const role = makeRole(connection, { drop: ['s3:GetBucketLocation'] });
    const body = { method: 'role', connectionId: connection.id, roleArn: role.roleArn };

    const validation = await a.admin.request('POST', '/v1/accounts/validate', body);
    expectStatus(validation, 200);
    expect(validation.body).toMatchObject({
      valid: false,
      status: 'degraded',
      savableDegraded: true,
      findings: [GAP],
      identity: { accountId: role.accountId, arn: expect.stringContaining(connection.roleName) },
    });

    const refused = await a.admin.request('POST', '/v1/accounts', body);
    expectProblem(refused, 422, 'permissions.cost-inventory');
    expect(refused.body).toMatchObject({ savableDegraded: true, findings: [GAP] });
    const listed = await a.viewer.request('GET', '/v1/accounts');
    expect(listed.body.accounts, listed.text).toHaveLength(0);

    const saved = await a.admin.request('POST', '/v1/accounts', {
      ...body,
      acceptMissingPermissions: true,
    });
    expectStatus(saved, 201);
    expect(saved.body).toMatchObject({
      status: 'degraded',
      findings: [GAP],
      awsAccountId: role.accountId,
      permissions: { outdated: false, trimmed: [] },
    });
    const id = saved.body.id as string;
    expect(await verifiedOf(id)).toEqual({
      'cost-explorer': true,
      'cost-inventory': false,
      'kubernetes-clusters': true,
      'nodes-ec2': true,
    });
    const history = await a.viewer.request('GET', `/v1/accounts/${id}/checks`);
    expect(history.body.checks).toEqual([
      expect.objectContaining({
        trigger: 'connect',
        status: 'degraded',
        findings: [GAP],
        errors: [
          expect.objectContaining({ field: 'permissions.cost-inventory', code: 'missing_actions' }),
        ],
      }),
    ]);
    const [created] = await auditOf(id, 'account.created');
    expect(JSON.parse(created?.details ?? '{}')).toMatchObject({
      status: 'degraded',
      acceptedMissingPermissions: [{ bundle: 'cost-inventory', missing: 1, deniedByScp: 0 }],
    });

    // The same request again (a double click): the role is connected, nothing more is saved.
    const again = await a.admin.request('POST', '/v1/accounts', {
      ...body,
      acceptMissingPermissions: true,
    });
    expectProblem(again, 409);
    const after = await a.viewer.request('GET', '/v1/accounts');
    expect(after.body.accounts.map((x: { id: string }) => x.id)).toEqual([id]);

    // Fixed in AWS: the next check proves the bundle, so a later removal is recognised as trimmed.
    role.edit([]);
    expect(await check(id)).toMatchObject({ status: 'valid', findings: [] });
    expect((await verifiedOf(id))['cost-inventory']).toBe(true);
    role.edit(['s3:GetBucketLocation']);
    const trimmed = await check(id);
    expect(trimmed).toMatchObject({
      status: 'degraded',
      permissions: { trimmed: [{ bundle: 'cost-inventory', actions: ['s3:GetBucketLocation'] }] },
    });
  });

  it('saves keys missing actions degraded only with the flag, and one account for two submits at once', async () => {
    const user = makeUser(['iam:ListInstanceProfiles']);
    const body = {
      method: 'access_keys',
      name: `Keys ${++n}`,
      partition: 'aws',
      accessKeyId: user.accessKeyId,
      secretAccessKey: user.secretAccessKey,
    };
    const refused = await a.admin.request('POST', '/v1/accounts', body);
    expectProblem(refused, 422, 'permissions.nodes-ec2');
    expect(refused.text).not.toContain(user.secretAccessKey);

    const [first, second] = await Promise.all([
      a.admin.request('POST', '/v1/accounts', { ...body, acceptMissingPermissions: true }),
      a.admin.request('POST', '/v1/accounts', { ...body, acceptMissingPermissions: true }),
    ]);
    const statuses = [first.status, second.status].sort();
    expect(statuses, `${first.text}\n${second.text}`).toEqual([201, 409]);
    const saved = first.status === 201 ? first : second;
    expect(saved.text).not.toContain(user.secretAccessKey);
    expect(saved.body).toMatchObject({
      status: 'degraded',
      method: 'access_keys',
      findings: [
        {
          bundleId: 'nodes-ec2',
          bundleName: 'Manage EC2 nodes',
          missing: ['iam:ListInstanceProfiles'],
          deniedByScp: [],
        },
      ],
    });
    const verified = await verifiedOf(saved.body.id);
    expect(verified['nodes-ec2']).toBe(false);
    expect(Object.entries(verified).filter(([k, v]) => k !== 'nodes-ec2' && !v)).toEqual([]);
    const listed = await a.viewer.request('GET', `/v1/accounts?awsAccountId=${user.accountId}`);
    expect(listed.body.accounts).toHaveLength(1);
  });

  it('still refuses a wrong external ID, a role without one, or keys of another partition, whatever was accepted', async () => {
    const wrongId = await newConnection();
    const stranger = makeRole(wrongId, {
      drop: ['s3:GetBucketLocation'],
      externalId: 'someone-elses-external-id-0123456789',
    });
    const refused = await a.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: wrongId.id,
      roleArn: stranger.roleArn,
      acceptMissingPermissions: true,
    });
    expectProblem(refused, 422, 'roleArn');
    expect(refused.body.savableDegraded).toBeUndefined();

    const open = await newConnection();
    const deputy = makeRole(open, { drop: ['s3:GetBucketLocation'], externalId: null });
    const validation = await a.admin.request('POST', '/v1/accounts/validate', {
      method: 'role',
      connectionId: open.id,
      roleArn: deputy.roleArn,
    });
    expect(validation.body).toMatchObject({
      valid: false,
      status: 'invalid',
      savableDegraded: false,
    });
    const unsafe = await a.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: open.id,
      roleArn: deputy.roleArn,
      acceptMissingPermissions: true,
    });
    expectProblem(unsafe, 422, 'roleArn');
    expect(unsafe.body.errors.map((e: { code: string }) => e.code)).toContain(
      'external_id_not_required',
    );

    const user = makeUser(['iam:ListInstanceProfiles']);
    const elsewhere = await a.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: `Elsewhere ${++n}`,
      partition: 'aws-us-gov',
      accessKeyId: user.accessKeyId,
      secretAccessKey: user.secretAccessKey,
      acceptMissingPermissions: true,
    });
    expectProblem(elsewhere, 422);
    const listed = await a.viewer.request('GET', '/v1/accounts?status=degraded');
    const ids = listed.body.accounts.map((x: { awsAccountId: string }) => x.awsAccountId);
    expect(ids).not.toContain(stranger.accountId);
    expect(ids).not.toContain(deputy.accountId);
    expect(ids).not.toContain(user.accountId);
  });

  it('saves unverified, never degraded with guessed findings, when AWS fails the simulation', async () => {
    const connection = await newConnection();
    const role = makeRole(connection, { drop: ['s3:GetBucketLocation'] });
    aws.injectFault({ kind: 'error', status: 503, action: 'SimulatePrincipalPolicy' });
    let saved: Awaited<ReturnType<typeof a.admin.request>>;
    try {
      saved = await a.admin.request('POST', '/v1/accounts', {
        method: 'role',
        connectionId: connection.id,
        roleArn: role.roleArn,
        acceptMissingPermissions: true,
      });
    } finally {
      aws.clearFaults();
    }
    expectStatus(saved, 201);
    expect(saved.body).toMatchObject({ status: 'unverified', findings: [] });
    expect(Object.values(await verifiedOf(saved.body.id)).every((v) => v === false)).toBe(true);
    // The next check that reaches AWS finds what is missing.
    expect(await check(saved.body.id)).toMatchObject({ status: 'degraded', findings: [GAP] });
  });

  it('refuses a viewer, and another tenant cannot use the connection', async () => {
    const connection = await newConnection();
    const role = makeRole(connection, { drop: ['s3:GetBucketLocation'] });
    const body = {
      method: 'role',
      connectionId: connection.id,
      roleArn: role.roleArn,
      acceptMissingPermissions: true,
    };
    expectProblem(await a.viewer.request('POST', '/v1/accounts', body), 403);
    const b = await h.tenant();
    expectProblem(await b.admin.request('POST', '/v1/accounts', body), 404);
    const bad = await a.admin.request('POST', '/v1/accounts', {
      ...body,
      acceptMissingPermissions: 'yes',
    });
    expectProblem(bad, 400, 'acceptMissingPermissions');
    const listed = await a.viewer.request('GET', '/v1/accounts');
    expect(
      listed.body.accounts.some((x: { awsAccountId: string }) => x.awsAccountId === role.accountId),
    ).toBe(false);
  });

  it('reports an action removed from the role’s policy as trimmed, not outdated, and clears it once restored', async () => {
    const connection = await newConnection();
    const role = makeRole(connection);
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.id,
      roleArn: role.roleArn,
    });
    expectStatus(created, 201);
    expect(created.body.status).toBe('valid');
    const id = created.body.id as string;

    role.edit(['iam:ListInstanceProfiles']);
    const account = await check(id);
    expect(account).toMatchObject({
      status: 'degraded',
      findings: [
        {
          bundleId: 'nodes-ec2',
          missing: ['iam:ListInstanceProfiles'],
          deniedByScp: [],
        },
      ],
      permissions: {
        outdated: false,
        changes: [],
        trimmed: [{ bundle: 'nodes-ec2', actions: ['iam:ListInstanceProfiles'] }],
      },
    });
    const history = await a.viewer.request('GET', `/v1/accounts/${id}/checks`);
    const last = history.body.checks[0];
    expect(last.errors).toEqual([
      expect.objectContaining({
        field: 'permissions.nodes-ec2',
        code: 'missing_actions',
        message: expect.stringContaining(
          'iam:ListInstanceProfiles: removed from the role’s policies since it was connected (trimmed)',
        ),
        hint: expect.stringContaining('Restore the role’s policy'),
      }),
    ]);
    expect(last.errors[0].message).not.toContain('catalog asks for more');
    // The step's detail sums up; the trimmed action is told in its feature's error above.
    expect(last.checks.find((c: { name: string }) => c.name === 'permissions').detail).toMatch(
      /not allowed \(.*\): 1 feature lacks 1 action in all; each is listed with its feature\.$/,
    );

    // AWS failing the simulation decides nothing: the account keeps its health and what was trimmed.
    aws.injectFault({ kind: 'error', status: 503, action: 'SimulatePrincipalPolicy' });
    try {
      expect(await check(id)).toMatchObject({
        status: 'degraded',
        permissions: { trimmed: [{ bundle: 'nodes-ec2', actions: ['iam:ListInstanceProfiles'] }] },
      });
    } finally {
      aws.clearFaults();
    }

    role.edit([]);
    expect(await check(id)).toMatchObject({
      status: 'valid',
      findings: [],
      permissions: { outdated: false, trimmed: [] },
    });
  });

  it('reports a user’s trimmed policy as trimmed too, in the user’s words', async () => {
    const user = makeUser();
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: `Trimmed keys ${++n}`,
      partition: 'aws',
      accessKeyId: user.accessKeyId,
      secretAccessKey: user.secretAccessKey,
    });
    expectStatus(created, 201);
    expect(created.body.status).toBe('valid');
    const id = created.body.id as string;
    const userArn = `arn:aws:iam::${user.accountId}:user/onramp`;
    aws.putInlinePolicy(
      'aws',
      userArn,
      'onramp',
      without(
        bundlePolicy(h.deps.catalog, {
          partition: 'aws',
          bundles: 'default',
          principal: 'user',
          accountId: user.accountId,
        }),
        ['s3:GetBucketLocation'],
      ),
    );
    expect(await check(id)).toMatchObject({
      status: 'degraded',
      permissions: {
        outdated: false,
        trimmed: [{ bundle: 'cost-inventory', actions: ['s3:GetBucketLocation'] }],
      },
    });
    const history = await a.viewer.request('GET', `/v1/accounts/${id}/checks`);
    expect(history.body.checks[0].errors[0]).toMatchObject({
      message: expect.stringContaining('removed from the user’s policies since it was connected'),
      hint: expect.stringContaining('Restore the user’s policy'),
    });
    expect(history.text).not.toContain(user.secretAccessKey);
  });

  it('tells the catalog asking for more apart from a trim', async () => {
    const connection = await newConnection();
    const role = makeRole(connection);
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.id,
      roleArn: role.roleArn,
    });
    expectStatus(created, 201);
    const id = created.body.id as string;
    // As if granted under an older catalog whose Cost Explorer bundle had no pricing:GetProducts,
    // with a role made from that catalog's template.
    const grants = await grantsOf(id);
    const older = grants['cost-explorer'];
    if (!older) throw new Error(`no cost-explorer grant: ${JSON.stringify(grants)}`);
    grants['cost-explorer'] = {
      ...older,
      hash: 'older-catalog',
      actions: older.actions.filter((x) => x !== 'pricing:GetProducts'),
    };
    await h.database.db
      .updateTable('accounts')
      .set({ granted_permissions: JSON.stringify(grants) })
      .where('id', '=', id)
      .execute();
    role.edit(['pricing:GetProducts']);

    const account = await check(id);
    expect(account).toMatchObject({
      status: 'degraded',
      findings: [
        expect.objectContaining({ bundleId: 'cost-explorer', missing: ['pricing:GetProducts'] }),
      ],
      permissions: { trimmed: [] },
    });
    const history = await a.viewer.request('GET', `/v1/accounts/${id}/checks`);
    expect(history.body.checks[0].errors).toEqual([
      expect.objectContaining({
        field: 'permissions.cost-explorer',
        message: expect.stringContaining('the catalog asks for more'),
        hint: expect.stringContaining('“Update permissions”'),
      }),
    ]);
    expect(history.body.checks[0].errors[0].message).not.toContain('(trimmed)');
    // What it does hold stays proven: the other bundles are still verified.
    const verified = await verifiedOf(id);
    expect(verified['nodes-ec2']).toBe(true);
  });

  it('lists actions the role’s own policies allow that no chosen bundle needs, and never fails a check for it', async () => {
    const connection = await newConnection();
    const role = makeRole(connection);
    const allow = (actions: string[]): PolicyDocument => ({
      Version: '2012-10-17',
      Statement: [{ Sid: 'Extra', Effect: 'Allow', Action: actions, Resource: '*' }],
    });
    // ec2:DescribeInstances is what a chosen bundle needs; the other two are not.
    aws.putInlinePolicy(
      'aws',
      role.roleArn,
      'Extras',
      allow(['dynamodb:*', 'ec2:DescribeInstances', 'sqs:SendMessage']),
    );
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.id,
      roleArn: role.roleArn,
    });
    expectStatus(created, 201);
    expect(created.body).toMatchObject({
      status: 'valid',
      permissions: {
        extra: [{ policy: 'Extras', actions: ['dynamodb:*', 'sqs:SendMessage'] }],
        extraCheckedAt: expect.any(String),
      },
    });
    const id = created.body.id as string;

    // AWS failing to list the policies: the check stands, and the last reading is kept.
    aws.putInlinePolicy('aws', role.roleArn, 'More', allow(['s3:DeleteBucket']));
    aws.injectFault({ kind: 'error', action: 'ListRolePolicies' });
    try {
      const kept = await check(id);
      expect(kept).toMatchObject({
        status: 'valid',
        permissions: { extra: [{ policy: 'Extras', actions: ['dynamodb:*', 'sqs:SendMessage'] }] },
      });
    } finally {
      aws.clearFaults();
    }
    const read = await check(id);
    expect(read.status).toBe('valid');
    expect(read.permissions.extra).toHaveLength(2);
    expect(read.permissions.extra).toEqual(
      expect.arrayContaining([
        { policy: 'Extras', actions: ['dynamodb:*', 'sqs:SendMessage'] },
        { policy: 'More', actions: ['s3:DeleteBucket'] },
      ]),
    );
    const other = await h.tenant();
    expectProblem(await other.admin.request('GET', `/v1/accounts/${id}`), 404);
  });
});
