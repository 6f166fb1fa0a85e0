import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';

describe.each(TEST_DIALECTS)('attaching existing IAM policies on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let accountId: string;
  let id: string;
  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
    b = await h.tenant();
    accountId = '555555555555';
    const keys = h.aws.addUser('aws', accountId);
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: 'policies',
      partition: 'aws',
      ...keys,
      bundles: ['nodes-ec2', 'iam-policy-attachment'],
    });
    expectStatus(created, 201);
    id = created.body.id;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('lists AWS managed and local policies in pages, searchable, with what is attached', async () => {
    const first = await a.viewer.request(
      'GET',
      `/v1/accounts/${id}/iam-policies?scope=aws&limit=2`,
    );
    expectStatus(first, 200);
    expect(first.body.policies.map((p: { name: string }) => p.name)).toEqual([
      'ReadOnlyAccess',
      'AmazonEC2FullAccess',
    ]);
    expect(first.body.next).toBe('2');
    const second = await a.viewer.request(
      'GET',
      `/v1/accounts/${id}/iam-policies?scope=aws&limit=2&cursor=${first.body.next}`,
    );
    expect(second.body).toEqual({
      policies: [
        expect.objectContaining({
          name: 'AmazonS3ReadOnlyAccess',
          awsManaged: true,
          attached: false,
        }),
      ],
      next: null,
    });
    const search = await a.viewer.request('GET', `/v1/accounts/${id}/iam-policies?scope=aws&q=s3`);
    expect(search.body.policies.map((p: { name: string }) => p.name)).toEqual([
      'AmazonS3ReadOnlyAccess',
    ]);
    const local = await a.viewer.request('GET', `/v1/accounts/${id}/iam-policies?scope=local`);
    expect(local.body.policies).toEqual([
      expect.objectContaining({ name: 'team-boundary', awsManaged: false }),
    ]);
  });

  it('assumes a role account’s role once for the pages it reads', async () => {
    const connection = await a.admin.request('POST', '/v1/connections', {
      name: 'Role policies',
      partition: 'aws',
      bundles: ['nodes-ec2', 'iam-policy-attachment'],
    });
    expectStatus(connection, 201);
    const roleArn = 'arn:aws:iam::555555555556:role/OnrampRole';
    h.aws.addRole(roleArn, connection.body.externalId);
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.body.id,
      roleArn,
    });
    expectStatus(created, 201);
    const sessions = () =>
      h.aws.assumeRoleInputs.filter((i) => i.sessionName === 'onramp-iam-policies').length;
    const before = sessions();
    for (const cursor of ['', '&cursor=2'])
      expectStatus(
        await a.viewer.request(
          'GET',
          `/v1/accounts/${created.body.id}/iam-policies?scope=aws&limit=2${cursor}`,
        ),
        200,
      );
    expect(sessions() - before).toBe(1);
  });

  it('attaches chosen policies to the account’s user, shows them attached, and audits it', async () => {
    const arn = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
    const attached = await a.admin.request('POST', `/v1/accounts/${id}/iam-policies`, {
      policyArns: [arn, arn],
    });
    expectStatus(attached, 200);
    expect(attached.body).toEqual({ attached: [arn] });
    expect(h.aws.calls.filter((c) => c.op === 'attachPolicy').map((c) => c.target)).toEqual([
      `arn:aws:iam::${accountId}:user/onramp ${arn}`,
    ]);
    const list = await a.viewer.request('GET', `/v1/accounts/${id}/iam-policies?scope=aws`);
    expect(list.body.policies.find((p: { arn: string }) => p.arn === arn).attached).toBe(true);
    const audit = await a.admin.request('GET', `/v1/audit?targetId=${id}`);
    expect(audit.body.entries[0]).toMatchObject({
      action: 'account.iam_policies_attached',
      details: { policyArns: [arn] },
    });
  });

  it('refuses policies of another partition or account, or that are not policy ARNs, naming each', async () => {
    const response = await a.admin.request('POST', `/v1/accounts/${id}/iam-policies`, {
      policyArns: [
        'arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess',
        'arn:aws:iam::999999999999:policy/theirs',
        'arn:aws:iam::aws:role/NotAPolicy',
      ],
    });
    expectProblem(response, 400, 'policyArns[0]');
    expect(
      response.body.errors.map((e: { field: string; code: string }) => [e.field, e.code]),
    ).toEqual([
      ['policyArns[0]', 'wrong_partition'],
      ['policyArns[1]', 'wrong_account'],
      ['policyArns[2]', 'invalid_arn'],
    ]);
  });

  it('refuses a policy ARN without a policy name, or with a name IAM would refuse, asking AWS nothing', async () => {
    const before = h.aws.calls.filter((c) => c.op === 'attachPolicy').length;
    const response = await a.admin.request('POST', `/v1/accounts/${id}/iam-policies`, {
      policyArns: [
        'arn:aws:iam::aws:policy/',
        'arn:aws:iam::aws:policy/team/',
        'arn:aws:iam::555555555555:policy/bad name',
        'arn:aws:iam::555555555555:policy/team/ok-name',
      ],
    });
    expectProblem(response, 400, 'policyArns[0]');
    expect(response.body.errors.map((e: { field: string }) => e.field)).toEqual([
      'policyArns[0]',
      'policyArns[1]',
      'policyArns[2]',
    ]);
    expect(h.aws.calls.filter((c) => c.op === 'attachPolicy').length).toBe(before);
  });

  it('without the attachment bundle, says how to add it instead of asking AWS', async () => {
    const keys = h.aws.addUser('aws', '666666666667');
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: 'no bundle',
      partition: 'aws',
      ...keys,
    });
    expectStatus(created, 201);
    const before = h.aws.calls.length;
    for (const [method, body] of [
      ['GET', undefined],
      ['POST', { policyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] }],
    ] as const) {
      const response = await a.admin.request(
        method,
        `/v1/accounts/${created.body.id}/iam-policies`,
        body,
      );
      expectProblem(response, 409, 'bundles');
      expect(response.body.errors[0]).toMatchObject({
        code: 'bundle_required',
        message: expect.stringContaining('Attach existing IAM policies'),
        hint: expect.stringContaining('Change the account’s permissions'),
      });
    }
    expect(h.aws.calls.slice(before)).toEqual([]);
  });

  it('in China, where only the defaults are offered, says so', async () => {
    const keys = h.aws.addUser('aws-cn', '666666666668');
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: 'china',
      partition: 'aws-cn',
      ...keys,
    });
    expectStatus(created, 201);
    const response = await a.viewer.request('GET', `/v1/accounts/${created.body.id}/iam-policies`);
    expectProblem(response, 409, 'bundles');
    expect(response.body.errors[0]).toMatchObject({
      code: 'customisation_not_allowed',
      message: expect.stringContaining('not offered in AWS China'),
    });
  });

  it('says what to grant when AWS refuses', async () => {
    const keys = h.aws.addUser('aws', '666666666666');
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: 'refusing',
      partition: 'aws',
      ...keys,
      bundles: ['nodes-ec2', 'iam-policy-attachment'],
    });
    h.aws.revokeKey(keys.accessKeyId);
    const response = await a.admin.request('GET', `/v1/accounts/${created.body.id}/iam-policies`);
    expectProblem(response, 422, 'accessKeyId');
  });

  it('is closed to strangers, to viewers for attaching, and to other tenants', async () => {
    await expectSecured(
      h,
      { method: 'GET', url: `/v1/accounts/${id}/iam-policies` },
      { otherTenant: [b.admin, b.viewer] },
    );
    await expectSecured(
      h,
      {
        method: 'POST',
        url: `/v1/accounts/${id}/iam-policies`,
        body: { policyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] },
      },
      { forbidden: [a.viewer], otherTenant: [b.admin] },
    );
  });
});
