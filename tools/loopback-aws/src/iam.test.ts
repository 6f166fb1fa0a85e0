import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListEntitiesForPolicyCommand,
  ListPoliciesCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  paginateListPolicies,
  paginateSimulatePrincipalPolicy,
  SimulateCustomPolicyCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LoopbackAws, startLoopbackAws } from './index.ts';
import {
  ALLOW_ALL,
  CUSTOMER_ACCOUNT,
  failure,
  HUB_ACCOUNT,
  iamClient,
  stsClient,
} from './test-support.ts';

let aws: LoopbackAws;
beforeEach(async () => {
  aws = await startLoopbackAws();
});
afterEach(async () => {
  await aws.stop();
});

const ACCOUNT = CUSTOMER_ACCOUNT;

const allow = (
  action: string | string[],
  resource: string | string[] = '*',
  condition?: object,
) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: action,
      Resource: resource,
      ...(condition ? { Condition: condition } : {}),
    },
  ],
});

/**
 * Onramp's shape: a role in the customer account whose policies grant some read access and let it
 * simulate only itself, reached by the hub through AssumeRole.
 */
async function connectedRole(partition: 'aws' | 'aws-us-gov' | 'aws-cn' = 'aws') {
  const region = { aws: 'us-east-1', 'aws-us-gov': 'us-gov-west-1', 'aws-cn': 'cn-north-1' }[
    partition
  ];
  const hub = aws.createUser(partition, HUB_ACCOUNT, 'hub');
  const roleArn = `arn:${partition}:iam::${ACCOUNT}:role/OnrampAccess`;
  const reader = aws.createManagedPolicy(partition, ACCOUNT, {
    name: 'OnrampRead',
    path: '/onramp/',
    document: allow(['ec2:Describe*', 's3:GetObject'], '*'),
    description: 'what Onramp reads',
  });
  const role = aws.createRole(partition, ACCOUNT, {
    roleName: 'OnrampAccess',
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: hub.arn }, Action: 'sts:AssumeRole' }],
    },
    inlinePolicies: {
      'onramp-validation': allow(
        [
          'iam:SimulatePrincipalPolicy',
          'iam:GetRole',
          'iam:ListRolePolicies',
          'iam:GetRolePolicy',
          'iam:ListAttachedRolePolicies',
        ],
        roleArn,
      ),
      'onramp-policies': allow(['iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:ListPolicies']),
    },
    managedPolicyArns: [reader.arn, `arn:${partition}:iam::aws:policy/ReadOnlyAccess`],
  });
  const out = await stsClient(aws, region, hub.credentials).send(
    new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'onramp' }),
  );
  const c = out.Credentials;
  const iam = iamClient(aws, region, {
    accessKeyId: c?.AccessKeyId ?? '',
    secretAccessKey: c?.SecretAccessKey ?? '',
    sessionToken: c?.SessionToken,
  });
  return { hub, role, reader, iam, region };
}

describe('SimulatePrincipalPolicy', () => {
  it('answers allowed or implicitDeny per action and resource', async () => {
    const { iam, role } = await connectedRole();
    const out = await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: role.arn,
        ActionNames: ['ec2:DescribeInstances', 'ec2:TerminateInstances', 's3:GetObject'],
        ResourceArns: ['*'],
      }),
    );
    expect(
      out.EvaluationResults?.map((r) => [r.EvalActionName, r.EvalResourceName, r.EvalDecision]),
    ).toEqual([
      ['ec2:DescribeInstances', '*', 'allowed'],
      ['ec2:TerminateInstances', '*', 'implicitDeny'],
      ['s3:GetObject', '*', 'allowed'],
    ]);
    expect(out.EvaluationResults?.[0]?.MatchedStatements?.map((m) => m.SourcePolicyType)).toEqual([
      'user-managed',
      'aws-managed',
    ]);
    expect(out.EvaluationResults?.[0]?.OrganizationsDecisionDetail).toBeUndefined();
    expect(out.IsTruncated).toBe(false);
  });

  it('answers explicitDeny and AllowedByOrganizations=false under a denying SCP', async () => {
    const { iam, role } = await connectedRole();
    aws.setOrganizationScp('aws', ACCOUNT, {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: 'ec2:Describe*', Resource: '*' }],
    });
    const out = await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: role.arn,
        ActionNames: ['ec2:DescribeInstances', 's3:GetObject'],
      }),
    );
    expect(
      out.EvaluationResults?.map((r) => [
        r.EvalActionName,
        r.EvalDecision,
        r.OrganizationsDecisionDetail?.AllowedByOrganizations,
      ]),
    ).toEqual([
      ['ec2:DescribeInstances', 'explicitDeny', false],
      ['s3:GetObject', 'allowed', true],
    ]);
  });

  it('applies the SCP to the caller’s own calls too', async () => {
    const { iam, role } = await connectedRole();
    aws.setOrganizationScp('aws', ACCOUNT, allow('iam:ListPolicies'), {
      replaceFullAwsAccess: true,
    });
    const error = await failure(iam.send(new GetRoleCommand({ RoleName: 'OnrampAccess' })));
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/OnrampAccess/onramp is not authorized to perform: iam:GetRole on resource: ${role.arn} because no service control policy allows the iam:GetRole action`,
    );
    await iam.send(new ListPoliciesCommand({ MaxItems: 1 }));
  });

  it('evaluates conditions with the context entries given', async () => {
    const user = aws.createUser('aws', ACCOUNT, 'ops', {
      policies: [
        allow(['ec2:DescribeInstances', 'iam:SimulatePrincipalPolicy'], '*', {
          StringEquals: { 'aws:RequestedRegion': ['eu-west-1'] },
        }),
        allow('iam:SimulatePrincipalPolicy'),
      ],
    });
    const iam = iamClient(aws, 'us-east-1', user.credentials);
    const decide = async (region: string) =>
      (
        await iam.send(
          new SimulatePrincipalPolicyCommand({
            PolicySourceArn: user.arn,
            ActionNames: ['ec2:DescribeInstances'],
            ContextEntries: [
              {
                ContextKeyName: 'aws:RequestedRegion',
                ContextKeyValues: [region],
                ContextKeyType: 'string',
              },
            ],
          }),
        )
      ).EvaluationResults?.[0]?.EvalDecision;
    expect(await decide('eu-west-1')).toBe('allowed');
    expect(await decide('us-west-2')).toBe('implicitDeny');
  });

  it('refuses a caller whose policies do not allow simulating that principal', async () => {
    const { iam } = await connectedRole();
    const other = aws.createRole('aws', ACCOUNT, {
      roleName: 'Other',
      trustPolicy: allow('sts:AssumeRole'),
    });
    const error = await failure(
      iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: other.arn,
          ActionNames: ['s3:GetObject'],
        }),
      ),
    );
    expect(error.name).toBe('AccessDenied');
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(error.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/OnrampAccess/onramp is not authorized to perform: iam:SimulatePrincipalPolicy on resource: ${other.arn} because no identity-based policy allows the iam:SimulatePrincipalPolicy action`,
    );
  });

  it('refuses a caller named by denySimulate', async () => {
    const { iam, role } = await connectedRole();
    aws.denySimulate(role.arn);
    const error = await failure(
      iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: role.arn,
          ActionNames: ['s3:GetObject'],
        }),
      ),
    );
    expect(error.name).toBe('AccessDenied');
  });

  it('answers NoSuchEntity for a principal that does not exist', async () => {
    const admin = aws.createUser('aws', ACCOUNT, 'admin', { policies: [ALLOW_ALL] });
    const error = await failure(
      iamClient(aws, 'us-east-1', admin.credentials).send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: `arn:aws:iam::${ACCOUNT}:role/Gone`,
          ActionNames: ['s3:GetObject'],
        }),
      ),
    );
    expect(error.name).toBe('NoSuchEntityException');
    expect(error.$metadata.httpStatusCode).toBe(404);
    expect(error.message).toBe('The role with name Gone cannot be found.');
  });

  it('pages its results with MaxItems and Marker', async () => {
    const { iam, role } = await connectedRole();
    const actions = [
      'ec2:DescribeInstances',
      'ec2:DescribeVpcs',
      'ec2:RunInstances',
      's3:GetObject',
      's3:PutObject',
    ];
    const pages = [];
    for await (const page of paginateSimulatePrincipalPolicy(
      { client: iam, pageSize: 2 },
      { PolicySourceArn: role.arn, ActionNames: actions },
    )) {
      pages.push(page.EvaluationResults?.map((r) => r.EvalDecision));
    }
    expect(pages).toEqual([['allowed', 'allowed'], ['implicitDeny', 'allowed'], ['implicitDeny']]);
  });
});

describe('SimulateCustomPolicy', () => {
  it('evaluates the given documents', async () => {
    const admin = aws.createUser('aws-us-gov', HUB_ACCOUNT, 'hub', { policies: [ALLOW_ALL] });
    const out = await iamClient(aws, 'us-gov-west-1', admin.credentials).send(
      new SimulateCustomPolicyCommand({
        PolicyInputList: [
          JSON.stringify(allow('s3:*')),
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Deny', Action: 's3:DeleteBucket', Resource: '*' }],
          }),
        ],
        ActionNames: ['s3:GetObject', 's3:DeleteBucket', 'ec2:RunInstances'],
        ResourceArns: ['arn:aws-us-gov:s3:::bucket/key'],
      }),
    );
    expect(out.EvaluationResults?.map((r) => [r.EvalActionName, r.EvalDecision])).toEqual([
      ['s3:GetObject', 'allowed'],
      ['s3:DeleteBucket', 'explicitDeny'],
      ['ec2:RunInstances', 'implicitDeny'],
    ]);
    expect(out.EvaluationResults?.[0]?.MatchedStatements).toEqual([
      { SourcePolicyId: 'PolicyInputList.1', SourcePolicyType: 'none' },
    ]);
  });

  it('refuses a document that is not a policy', async () => {
    const admin = aws.createUser('aws', HUB_ACCOUNT, 'hub', { policies: [ALLOW_ALL] });
    const error = await failure(
      iamClient(aws, 'us-east-1', admin.credentials).send(
        new SimulateCustomPolicyCommand({
          PolicyInputList: ['{"Statement": 7}'],
          ActionNames: ['s3:GetObject'],
        }),
      ),
    );
    expect(error.name).toBe('MalformedPolicyDocumentException');
  });
});

describe('policies', () => {
  it('lists by scope and path, and pages with Marker', async () => {
    const admin = aws.createUser('aws', ACCOUNT, 'admin', { policies: [ALLOW_ALL] });
    for (const name of ['Alpha', 'Beta', 'Gamma']) {
      aws.createManagedPolicy('aws', ACCOUNT, {
        name,
        path: '/team/',
        document: allow('s3:GetObject'),
      });
    }
    const iam = iamClient(aws, 'us-east-1', admin.credentials);
    const local = await iam.send(new ListPoliciesCommand({ Scope: 'Local' }));
    expect(local.Policies?.map((p) => p.Arn)).toEqual([
      `arn:aws:iam::${ACCOUNT}:policy/team/Alpha`,
      `arn:aws:iam::${ACCOUNT}:policy/team/Beta`,
      `arn:aws:iam::${ACCOUNT}:policy/team/Gamma`,
    ]);
    expect(local.Policies?.[0]).toMatchObject({
      PolicyName: 'Alpha',
      Path: '/team/',
      DefaultVersionId: 'v1',
      AttachmentCount: 0,
      IsAttachable: true,
    });
    expect(local.Policies?.[0]?.CreateDate).toBeInstanceOf(Date);

    const awsManaged = await iam.send(new ListPoliciesCommand({ Scope: 'AWS' }));
    const names = awsManaged.Policies?.map((p) => p.PolicyName) ?? [];
    expect(names).toEqual(
      expect.arrayContaining(['ReadOnlyAccess', 'AmazonEC2FullAccess', 'AdministratorAccess']),
    );
    expect(awsManaged.Policies?.every((p) => p.Arn?.startsWith('arn:aws:iam::aws:policy/'))).toBe(
      true,
    );

    const jobs = await iam.send(
      new ListPoliciesCommand({ Scope: 'AWS', PathPrefix: '/job-function/' }),
    );
    expect(jobs.Policies?.map((p) => p.Arn)).toEqual([
      'arn:aws:iam::aws:policy/job-function/ViewOnlyAccess',
    ]);

    const first = await iam.send(new ListPoliciesCommand({ Scope: 'All', MaxItems: 4 }));
    expect(first.IsTruncated).toBe(true);
    expect(first.Marker).toBeTruthy();
    const all: string[] = [];
    for await (const page of paginateListPolicies({ client: iam, pageSize: 4 }, { Scope: 'All' })) {
      expect(page.Policies?.length).toBeLessThanOrEqual(4);
      all.push(...(page.Policies?.map((p) => p.Arn ?? '') ?? []));
    }
    expect(all).toHaveLength(names.length + 3);
    expect(new Set(all).size).toBe(all.length);

    const bad = await failure(iam.send(new ListPoliciesCommand({ MaxItems: 0 })));
    expect(bad.name).toBe('ValidationError');
  });

  it('attaches a policy to a role, and ListAttachedRolePolicies shows it', async () => {
    const admin = aws.createUser('aws', ACCOUNT, 'admin', { policies: [ALLOW_ALL] });
    const role = aws.createRole('aws', ACCOUNT, {
      roleName: 'Target',
      trustPolicy: allow('sts:AssumeRole'),
    });
    const iam = iamClient(aws, 'us-east-1', admin.credentials);
    await iam.send(
      new AttachRolePolicyCommand({
        RoleName: 'Target',
        PolicyArn: 'arn:aws:iam::aws:policy/AmazonEC2FullAccess',
      }),
    );
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'Target' }));
    expect(attached.AttachedPolicies).toEqual([
      {
        PolicyName: 'AmazonEC2FullAccess',
        PolicyArn: 'arn:aws:iam::aws:policy/AmazonEC2FullAccess',
      },
    ]);
    const onlyAttached = await iam.send(new ListPoliciesCommand({ OnlyAttached: true }));
    expect(onlyAttached.Policies?.map((p) => [p.PolicyName, p.AttachmentCount])).toEqual([
      ['AmazonEC2FullAccess', 1],
    ]);
    const entities = await iam.send(
      new ListEntitiesForPolicyCommand({
        PolicyArn: 'arn:aws:iam::aws:policy/AmazonEC2FullAccess',
      }),
    );
    expect(entities.PolicyRoles).toEqual([{ RoleName: 'Target', RoleId: role.roleId }]);

    const missing = await failure(
      iam.send(
        new AttachRolePolicyCommand({
          RoleName: 'Target',
          PolicyArn: 'arn:aws:iam::aws:policy/NoSuchPolicy',
        }),
      ),
    );
    expect(missing.name).toBe('NoSuchEntityException');
    expect(missing.message).toBe(
      'Policy arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable.',
    );
    const noRole = await failure(
      iam.send(
        new AttachRolePolicyCommand({
          RoleName: 'Nobody',
          PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
        }),
      ),
    );
    expect(noRole.name).toBe('NoSuchEntityException');
    const foreign = aws.createManagedPolicy('aws', HUB_ACCOUNT, {
      name: 'Theirs',
      document: allow('s3:*'),
    });
    const notAttachable = await failure(
      iam.send(new AttachRolePolicyCommand({ RoleName: 'Target', PolicyArn: foreign.arn })),
    );
    expect(notAttachable.name).toBe('NoSuchEntityException');
  });

  it('authorizes AttachRolePolicy on the role with iam:PolicyARN in context', async () => {
    const limited = aws.createUser('aws', ACCOUNT, 'limited', {
      policies: [
        allow('iam:AttachRolePolicy', `arn:aws:iam::${ACCOUNT}:role/Target`, {
          ArnEquals: { 'iam:PolicyARN': 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
        }),
      ],
    });
    aws.createRole('aws', ACCOUNT, { roleName: 'Target', trustPolicy: allow('sts:AssumeRole') });
    const iam = iamClient(aws, 'us-east-1', limited.credentials);
    await iam.send(
      new AttachRolePolicyCommand({
        RoleName: 'Target',
        PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
      }),
    );
    const error = await failure(
      iam.send(
        new AttachRolePolicyCommand({
          RoleName: 'Target',
          PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
        }),
      ),
    );
    expect(error.name).toBe('AccessDenied');
  });

  it('returns policy documents URL-encoded, as IAM does', async () => {
    const { iam, role, reader } = await connectedRole();
    const policy = await iam.send(new GetPolicyCommand({ PolicyArn: reader.arn }));
    expect(policy.Policy).toMatchObject({
      PolicyName: 'OnrampRead',
      Path: '/onramp/',
      Description: 'what Onramp reads',
      DefaultVersionId: 'v1',
      AttachmentCount: 1,
    });
    aws.updateManagedPolicy('aws', reader.arn, allow('ec2:Describe*'));
    const version = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: reader.arn, VersionId: 'v2' }),
    );
    expect(version.PolicyVersion?.IsDefaultVersion).toBe(true);
    expect(version.PolicyVersion?.Document).toMatch(/^%7B%22Version%22%3A/);
    expect(JSON.parse(decodeURIComponent(version.PolicyVersion?.Document ?? ''))).toEqual(
      allow('ec2:Describe*'),
    );
    const v1 = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: reader.arn, VersionId: 'v1' }),
    );
    expect(v1.PolicyVersion?.IsDefaultVersion).toBe(false);
    const v9 = await failure(
      iam.send(new GetPolicyVersionCommand({ PolicyArn: reader.arn, VersionId: 'v9' })),
    );
    expect(v9.name).toBe('NoSuchEntityException');

    const got = await iam.send(new GetRoleCommand({ RoleName: 'OnrampAccess' }));
    expect(got.Role).toMatchObject({
      RoleName: 'OnrampAccess',
      Path: '/',
      RoleId: role.roleId,
      MaxSessionDuration: 3600,
    });
    expect(JSON.parse(decodeURIComponent(got.Role?.AssumeRolePolicyDocument ?? ''))).toMatchObject({
      Statement: [{ Action: 'sts:AssumeRole' }],
    });
    const names = await iam.send(new ListRolePoliciesCommand({ RoleName: 'OnrampAccess' }));
    expect(names.PolicyNames).toEqual(['onramp-policies', 'onramp-validation']);
    const inline = await iam.send(
      new GetRolePolicyCommand({ RoleName: 'OnrampAccess', PolicyName: 'onramp-policies' }),
    );
    expect(JSON.parse(decodeURIComponent(inline.PolicyDocument ?? ''))).toEqual(
      allow(['iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:ListPolicies']),
    );
    const attached = await iam.send(
      new ListAttachedRolePoliciesCommand({ RoleName: 'OnrampAccess' }),
    );
    expect(attached.AttachedPolicies?.map((p) => p.PolicyName)).toEqual([
      'OnrampRead',
      'ReadOnlyAccess',
    ]);
  });

  it('refuses changing another role, and answers NoSuchEntity for a missing role', async () => {
    const { iam } = await connectedRole();
    aws.createRole('aws', ACCOUNT, { roleName: 'Other', trustPolicy: allow('sts:AssumeRole') });
    const denied = await failure(
      iam.send(
        new AttachRolePolicyCommand({
          RoleName: 'Other',
          PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
        }),
      ),
    );
    expect(denied.name).toBe('AccessDenied');
    const admin = aws.createUser('aws', ACCOUNT, 'admin', { policies: [ALLOW_ALL] });
    const missing = await failure(
      iamClient(aws, 'us-east-1', admin.credentials).send(new GetRoleCommand({ RoleName: 'Gone' })),
    );
    expect(missing.name).toBe('NoSuchEntityException');
    expect(missing.$metadata.httpStatusCode).toBe(404);
    expect(missing.message).toBe('The role with name Gone cannot be found.');
  });
});

describe('users', () => {
  it('reads a user, its inline and attached policies', async () => {
    const user = aws.createUser('aws-cn', ACCOUNT, 'deployer', {
      path: '/ci/',
      policies: {
        self: allow(['iam:Get*', 'iam:List*'], `arn:aws-cn:iam::${ACCOUNT}:user/ci/deployer`),
      },
      managedPolicyArns: ['arn:aws-cn:iam::aws:policy/AmazonS3ReadOnlyAccess'],
      tags: { team: 'platform' },
    });
    const iam = iamClient(aws, 'cn-north-1', user.credentials);
    const me = await iam.send(new GetUserCommand({}));
    expect(me.User).toMatchObject({
      UserName: 'deployer',
      Path: '/ci/',
      Arn: 'arn:aws-cn:iam::444455556666:user/ci/deployer',
      UserId: user.userId,
      Tags: [{ Key: 'team', Value: 'platform' }],
    });
    expect(
      (await iam.send(new ListUserPoliciesCommand({ UserName: 'deployer' }))).PolicyNames,
    ).toEqual(['self']);
    const doc = await iam.send(
      new GetUserPolicyCommand({ UserName: 'deployer', PolicyName: 'self' }),
    );
    expect(decodeURIComponent(doc.PolicyDocument ?? '')).toContain('iam:Get*');
    const attached = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'deployer' }));
    expect(attached.AttachedPolicies?.map((p) => p.PolicyArn)).toEqual([
      'arn:aws-cn:iam::aws:policy/AmazonS3ReadOnlyAccess',
    ]);
    const denied = await failure(
      iam.send(
        new AttachUserPolicyCommand({
          UserName: 'deployer',
          PolicyArn: 'arn:aws-cn:iam::aws:policy/AdministratorAccess',
        }),
      ),
    );
    expect(denied.name).toBe('AccessDenied');
  });

  it('answers GetUser without a name for root keys, and refuses it for a role session', async () => {
    const root = aws.createRootKeys('aws', ACCOUNT);
    const me = await iamClient(aws, 'us-east-1', root.credentials).send(new GetUserCommand({}));
    expect(me.User?.Arn).toBe(`arn:aws:iam::${ACCOUNT}:root`);
    const { iam } = await connectedRole();
    const error = await failure(iam.send(new GetUserCommand({})));
    expect(error.name).toBe('ValidationError');
  });
});

describe('IAM signing', () => {
  it('signs in the partition’s IAM region; another region is refused', async () => {
    const admin = aws.createUser('aws-us-gov', ACCOUNT, 'admin', { policies: [ALLOW_ALL] });
    await iamClient(aws, 'us-gov-west-1', admin.credentials).send(
      new ListPoliciesCommand({ MaxItems: 1 }),
    );
    const error = await failure(
      iamClient(aws, 'us-gov-east-1', admin.credentials).send(
        new ListPoliciesCommand({ MaxItems: 1 }),
      ),
    );
    expect(error.name).toBe('SignatureDoesNotMatch');
    expect(error.message).toContain(
      "Credential should be scoped to a valid region, not 'us-gov-east-1'",
    );
  });

  it('accepts any region of the partition when strictIamSigningRegion is off', async () => {
    const lenient = await startLoopbackAws({ strictIamSigningRegion: false });
    try {
      const admin = lenient.createUser('aws', ACCOUNT, 'admin', { policies: [ALLOW_ALL] });
      await iamClient(lenient, 'eu-west-1', admin.credentials).send(
        new ListPoliciesCommand({ MaxItems: 1 }),
      );
      expect(lenient.calls[0]?.region).toBe('eu-west-1');
    } finally {
      await lenient.stop();
    }
  });
});
