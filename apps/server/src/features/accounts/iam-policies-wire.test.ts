/**
 * Palette's "Add IAM policies" on the wire: the real SDK adapter against the loopback AWS, through the
 * API. The identities are made from Onramp's own policies for the chosen bundles, so validation runs a
 * real iam:SimulatePrincipalPolicy and attaching runs a real AttachUserPolicy / AttachRolePolicy that
 * the loopback authorizes against those policies.
 */
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';
import { bundlePolicy, createConnectedRole, createHub } from '../../testing/loopback-world.ts';

const CUSTOMER = '444455556666';
const BUNDLES = ['nodes-ec2', 'iam-policy-attachment'];
const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';

describe.each(TEST_DIALECTS)('attaching existing IAM policies on the wire on %s', (dialect) => {
  let aws: LoopbackAws;
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let hubArn: string;
  let keysAccount: string;
  let userName: string;

  beforeAll(async () => {
    aws = await startLoopbackAws();
    aws.createAccount('aws', CUSTOMER);
    // Enough AWS managed policies whose names contain "ReadOnlyAccess" and sort before it that, in
    // AWS's alphabetical order, ReadOnlyAccess itself comes pages later (as it does in real AWS).
    for (let i = 0; i < 120; i++) {
      aws.createAwsManagedPolicy('aws', {
        name: `AmazonService${String(i).padStart(3, '0')}ReadOnlyAccess`,
        description: 'Read-only access to one service.',
        document: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }],
        },
      });
    }
    aws.createAwsManagedPolicy('aws', {
      name: 'ReadOnlyAccessForAuditors',
      description: 'Starts with the search.',
      document: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }],
      },
    });
    const { user: hub, config: hubConfig } = createHub(aws, 'aws');
    hubArn = hub.arn;
    const gateway = createSdkAwsGateway({
      hubs: { aws: hubConfig },
      endpoint: aws.url,
      maxAttempts: 2,
    });
    h = await createHarness(dialect, { aws: gateway, hubs: { aws: { principalArn: hubArn } } });
    a = await h.tenant();
    b = await h.tenant();

    // The dedicated user of Tutum's keys flow, with the user policy Onramp shows for these bundles.
    userName = 'onramp-keys';
    const user = aws.createUser('aws', CUSTOMER, userName, {
      policies: [
        bundlePolicy(h.deps.catalog, {
          partition: 'aws',
          bundles: BUNDLES,
          principal: 'user',
          accountId: CUSTOMER,
        }),
      ],
    });
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: 'Keys with policies',
      partition: 'aws',
      accessKeyId: user.accessKeyId,
      secretAccessKey: user.secretAccessKey,
      bundles: BUNDLES,
    });
    expectStatus(created, 201);
    keysAccount = created.body.id;
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
  });

  it('validates a keys account whose user has the bundle’s user policy', async () => {
    const account = await a.viewer.request('GET', `/v1/accounts/${keysAccount}`);
    expect(account.body, account.text).toMatchObject({
      status: 'valid',
      bundles: [...BUNDLES].sort(),
    });
    const check = await a.admin.request('POST', `/v1/accounts/${keysAccount}/check`);
    expectStatus(check, 200);
    expect(check.body.status, check.text).toBe('valid');
  });

  it('ranks an exact name first, then names that start with the search, across AWS’s pages', async () => {
    const first = await a.viewer.request(
      'GET',
      `/v1/accounts/${keysAccount}/iam-policies?scope=aws&q=readonlyaccess&limit=5`,
    );
    expectStatus(first, 200);
    const names = first.body.policies.map((p: { name: string }) => p.name);
    expect(names, first.text).toEqual([
      'ReadOnlyAccess',
      'ReadOnlyAccessForAuditors',
      'AmazonS3ReadOnlyAccess',
      'AmazonService000ReadOnlyAccess',
      'AmazonService001ReadOnlyAccess',
    ]);
    // The next pages carry on the same ranking, with no policy twice and none left out.
    const seen = [...names];
    let next: string | null = first.body.next;
    while (next) {
      const page = await a.viewer.request(
        'GET',
        `/v1/accounts/${keysAccount}/iam-policies?scope=aws&q=readonlyaccess&limit=50&cursor=${next}`,
      );
      expectStatus(page, 200);
      seen.push(...page.body.policies.map((p: { name: string }) => p.name));
      next = page.body.next;
    }
    expect(new Set(seen).size).toBe(seen.length);
    // 120 services, ReadOnlyAccess, …ForAuditors, AmazonS3…, IAMReadOnlyAccess.
    expect(seen).toHaveLength(124);
    expect(seen).toContain('IAMReadOnlyAccess');
  });

  it('reads AWS’s list once for searches made at the same time and the pages after', async () => {
    const lists = () => aws.calls.filter((c) => c.action === 'ListPolicies').length;
    const before = lists();
    const url = `/v1/accounts/${keysAccount}/iam-policies?scope=local&q=boundary`;
    const [one, two] = await Promise.all([
      a.viewer.request('GET', url),
      a.admin.request('GET', url),
    ]);
    expectStatus(one, 200);
    expect(two.body).toEqual(one.body);
    expectStatus(await a.viewer.request('GET', `${url}&cursor=0`), 200);
    expect(lists() - before).toBe(1);
  });

  it('refuses a cursor that is not a search’s, naming it', async () => {
    const response = await a.viewer.request(
      'GET',
      `/v1/accounts/${keysAccount}/iam-policies?q=read&cursor=bHIxLjEwMA`,
    );
    expectProblem(response, 400, 'cursor');
  });

  it('refuses a cursor that is not AWS’s page marker, naming it', async () => {
    for (const cursor of ['zzz', '50']) {
      const response = await a.viewer.request(
        'GET',
        `/v1/accounts/${keysAccount}/iam-policies?scope=aws&cursor=${cursor}`,
      );
      expectProblem(response, 400, 'cursor');
    }
  });

  it('attaches a policy to the keys account’s own user in AWS', async () => {
    const attached = await a.admin.request('POST', `/v1/accounts/${keysAccount}/iam-policies`, {
      policyArns: [READ_ONLY],
    });
    expectStatus(attached, 200);
    expect(attached.body).toEqual({ attached: [READ_ONLY] });
    const list = await a.viewer.request(
      'GET',
      `/v1/accounts/${keysAccount}/iam-policies?scope=aws&q=ReadOnlyAccess&limit=1`,
    );
    expect(list.body.policies[0], list.text).toMatchObject({
      name: 'ReadOnlyAccess',
      attached: true,
    });
    const calls = aws.calls.filter((c) => c.action === 'AttachUserPolicy');
    expect(calls.at(-1), JSON.stringify(calls)).toMatchObject({
      status: 200,
      callerArn: `arn:aws:iam::${CUSTOMER}:user/${userName}`,
    });
  });

  it('attaches a policy to a role account’s own role in AWS', async () => {
    const connection = await a.admin.request('POST', '/v1/connections', {
      name: 'Role with policies',
      partition: 'aws',
      bundles: BUNDLES,
    });
    expectStatus(connection, 201);
    createConnectedRole(aws, h.deps.catalog, {
      partition: 'aws',
      accountId: CUSTOMER,
      roleName: connection.body.roleName,
      hubArn,
      externalId: connection.body.externalId,
      bundles: BUNDLES,
    });
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.body.id,
      roleArn: `arn:aws:iam::${CUSTOMER}:role/${connection.body.roleName}`,
    });
    expectStatus(created, 201);
    expect(created.body.status, created.text).toBe('valid');
    const id = created.body.id;
    const attached = await a.admin.request('POST', `/v1/accounts/${id}/iam-policies`, {
      policyArns: ['arn:aws:iam::aws:policy/SecurityAudit'],
    });
    expectStatus(attached, 200);
    const list = await a.viewer.request(
      'GET',
      `/v1/accounts/${id}/iam-policies?scope=aws&q=SecurityAudit`,
    );
    expect(list.body.policies[0], list.text).toMatchObject({
      name: 'SecurityAudit',
      attached: true,
    });
    // Attached to the role, not to the keys account's user.
    const user = await a.viewer.request(
      'GET',
      `/v1/accounts/${keysAccount}/iam-policies?scope=aws&q=SecurityAudit`,
    );
    expect(user.body.policies[0]).toMatchObject({ name: 'SecurityAudit', attached: false });
  });

  it('when AWS refuses one of several policies, names it, and audits and reports those already attached', async () => {
    const first = 'arn:aws:iam::aws:policy/AmazonService000ReadOnlyAccess';
    const missing = 'arn:aws:iam::aws:policy/NoSuchPolicyHere';
    const response = await a.admin.request('POST', `/v1/accounts/${keysAccount}/iam-policies`, {
      policyArns: [first, missing, 'arn:aws:iam::aws:policy/AmazonService001ReadOnlyAccess'],
    });
    expectProblem(response, 422, 'policyArns[1]');
    expect(response.body.detail).toContain(`Attached before that: ${first}.`);
    const list = await a.viewer.request(
      'GET',
      `/v1/accounts/${keysAccount}/iam-policies?scope=aws&q=AmazonService00&limit=2`,
    );
    expect(
      list.body.policies.map((p: { name: string; attached: boolean }) => [p.name, p.attached]),
    ).toEqual([
      ['AmazonService000ReadOnlyAccess', true],
      ['AmazonService001ReadOnlyAccess', false],
    ]);
    const audit = await a.admin.request('GET', `/v1/audit?targetId=${keysAccount}`);
    expect(audit.body.entries[0], audit.text).toMatchObject({
      action: 'account.iam_policies_attached',
      details: { policyArns: [first] },
    });
  });

  it('without the bundle answers how to add it, and asks AWS nothing', async () => {
    const user = aws.createUser('aws', CUSTOMER, 'onramp-plain', {
      policies: [
        bundlePolicy(h.deps.catalog, {
          partition: 'aws',
          bundles: ['nodes-ec2'],
          principal: 'user',
          accountId: CUSTOMER,
        }),
      ],
    });
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: 'Keys without the bundle',
      partition: 'aws',
      accessKeyId: user.accessKeyId,
      secretAccessKey: user.secretAccessKey,
      bundles: ['nodes-ec2'],
    });
    expectStatus(created, 201);
    const before = aws.calls.length;
    const response = await a.viewer.request('GET', `/v1/accounts/${created.body.id}/iam-policies`);
    expectProblem(response, 409, 'bundles');
    expect(response.body.errors[0]).toMatchObject({
      code: 'bundle_required',
      hint: expect.stringContaining('Change the account’s permissions'),
    });
    expect(aws.calls.slice(before)).toEqual([]);
  });

  it('is closed to viewers for attaching and to other tenants', async () => {
    await expectSecured(
      h,
      { method: 'GET', url: `/v1/accounts/${keysAccount}/iam-policies?q=ReadOnly` },
      { otherTenant: [b.admin, b.viewer] },
    );
    await expectSecured(
      h,
      {
        method: 'POST',
        url: `/v1/accounts/${keysAccount}/iam-policies`,
        body: { policyArns: [READ_ONLY] },
      },
      { forbidden: [a.viewer], otherTenant: [b.admin] },
    );
  });
});
