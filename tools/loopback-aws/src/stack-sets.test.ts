import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type DeployedStack,
  deployStack,
  deployStackSetInstances,
  type LoopbackAws,
  type PartitionId,
  removeStackSetInstances,
  StackError,
  startLoopbackAws,
  syncStackSetInstances,
} from './index.ts';
import { ALLOW_ALL, failure, HUB_ACCOUNT, stsClient } from './test-support.ts';

const MANAGEMENT = '100000000001';
const REGION: Record<PartitionId, string> = {
  aws: 'us-east-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-cn': 'cn-north-1',
};

let aws: LoopbackAws;
beforeEach(async () => {
  aws = await startLoopbackAws();
});
afterEach(async () => {
  await aws.stop();
});

/** A member template as Onramp's design has it: the member role, and a call-back that runs after it. */
function memberTemplate(extra: Record<string, unknown> = {}, top: Record<string, unknown> = {}) {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Parameters: {
      ExternalIdPrefix: { Type: 'String' },
      EnrollmentToken: { Type: 'String', NoEcho: true },
      MemberRoleName: { Type: 'String', Default: 'OnrampMember' },
      CallbackUrl: { Type: 'String' },
      HubArn: { Type: 'String' },
    },
    Resources: {
      MemberRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: { Ref: 'MemberRoleName' },
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: { Ref: 'HubArn' } },
                Action: 'sts:AssumeRole',
                Condition: {
                  StringEquals: {
                    'sts:ExternalId': { 'Fn::Sub': '${ExternalIdPrefix}-${AWS::AccountId}' },
                  },
                },
              },
            ],
          },
          Policies: [{ PolicyName: 'read', PolicyDocument: ALLOW_ALL }],
        },
      },
      CallbackFunction: {
        Type: 'AWS::Lambda::Function',
        Properties: { Runtime: 'nodejs20.x', Handler: 'index.handler', Code: { ZipFile: '…' } },
      },
      Callback: {
        Type: 'Custom::OnrampCallback',
        DependsOn: 'MemberRole',
        Properties: {
          ServiceToken: { 'Fn::GetAtt': ['CallbackFunction', 'Arn'] },
          CallbackUrl: { Ref: 'CallbackUrl' },
          Token: { Ref: 'EnrollmentToken' },
          RoleArn: { 'Fn::GetAtt': ['MemberRole', 'Arn'] },
          StackId: { Ref: 'AWS::StackId' },
        },
      },
      ...extra,
    },
    ...top,
  };
}

/** The management template: a management role and the service-managed StackSet of members. */
function managementTemplate(
  member: object = memberTemplate(),
  stackSet: Record<string, unknown> = {},
): string {
  const properties: Record<string, unknown> = {
    StackSetName: 'onramp-members',
    PermissionModel: 'SERVICE_MANAGED',
    AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
    CallAs: 'SELF',
    Capabilities: ['CAPABILITY_NAMED_IAM'],
    TemplateBody: typeof member === 'string' ? member : JSON.stringify(member),
    Parameters: [
      { ParameterKey: 'ExternalIdPrefix', ParameterValue: { Ref: 'ExternalIdPrefix' } },
      { ParameterKey: 'EnrollmentToken', ParameterValue: { Ref: 'EnrollmentToken' } },
      {
        ParameterKey: 'CallbackUrl',
        ParameterValue: 'https://onramp.example.test/v1/callbacks/organizations/member',
      },
      { ParameterKey: 'HubArn', ParameterValue: { Ref: 'HubArn' } },
    ],
    StackInstancesGroup: [
      {
        DeploymentTargets: { OrganizationalUnitIds: { Ref: 'DeploymentTargets' } },
        Regions: [{ Ref: 'DeploymentRegion' }],
      },
    ],
    ...stackSet,
  };
  for (const [key, value] of Object.entries(properties))
    if (value === undefined) delete properties[key];
  return JSON.stringify({
    Parameters: {
      ExternalIdPrefix: { Type: 'String' },
      EnrollmentToken: { Type: 'String', NoEcho: true },
      HubArn: { Type: 'String' },
      DeploymentTargets: { Type: 'CommaDelimitedList' },
      DeploymentRegion: { Type: 'String' },
    },
    Resources: {
      ManagementRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: 'OnrampManagement',
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Principal: { AWS: { Ref: 'HubArn' } }, Action: 'sts:AssumeRole' },
            ],
          },
        },
      },
      MemberStackSet: { Type: 'AWS::CloudFormation::StackSet', Properties: properties },
    },
    Outputs: { StackSetId: { Value: { Ref: 'MemberStackSet' } } },
  });
}

const id = (n: number) => `2000000${String(n).padStart(5, '0')}`;

/** Root: management + 1; Prod (4) ⊃ Web (2); Dev (3, one suspended); Sandbox (2, not targeted). */
function buildOrganization(partition: PartitionId) {
  const org = aws.createOrganization(partition, { managementAccountId: MANAGEMENT });
  const prod = aws.addOrganizationalUnit(org.rootId, 'Prod');
  const web = aws.addOrganizationalUnit(prod, 'Web');
  const dev = aws.addOrganizationalUnit(org.rootId, 'Dev');
  const sandbox = aws.addOrganizationalUnit(org.rootId, 'Sandbox');
  aws.addOrganizationAccount(org.rootId, id(1));
  for (const n of [2, 3, 4, 5]) aws.addOrganizationAccount(prod, id(n));
  for (const n of [6, 7]) aws.addOrganizationAccount(web, id(n));
  for (const n of [8, 9, 10]) aws.addOrganizationAccount(dev, id(n));
  for (const n of [11, 12]) aws.addOrganizationAccount(sandbox, id(n));
  aws.closeAccount(partition, id(10), 'SUSPENDED');
  return { org, prod, web, dev, sandbox };
}

function deployManagement(
  partition: PartitionId,
  targets: string[],
  template = managementTemplate(),
): DeployedStack {
  return deployStack(aws, {
    partition,
    accountId: MANAGEMENT,
    template,
    parameters: {
      ExternalIdPrefix: 'onramp-prefix',
      EnrollmentToken: 'onrorg_secret',
      HubArn: `arn:${partition}:iam::${HUB_ACCOUNT}:user/hub`,
      DeploymentTargets: targets.join(','),
      DeploymentRegion: REGION[partition],
    },
  });
}

describe('a service-managed StackSet played as StackSets would', () => {
  it.each(['aws', 'aws-us-gov'] as const)(
    '%s: one member stack per ACTIVE account in the target OUs’ subtrees, never the management account',
    async (partition) => {
      const { prod, dev } = buildOrganization(partition);
      const stack = deployManagement(partition, [prod, dev]);
      expect(stack.stackSets).toHaveLength(1);
      const set = stack.stackSets[0];
      expect(set).toMatchObject({
        stackSetName: 'onramp-members',
        permissionModel: 'SERVICE_MANAGED',
        autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
        capabilities: ['CAPABILITY_NAMED_IAM'],
        parameters: { ExternalIdPrefix: 'onramp-prefix', EnrollmentToken: 'onrorg_secret' },
        groups: [
          {
            deploymentTargets: { organizationalUnitIds: [prod, dev] },
            regions: [REGION[partition]],
          },
        ],
      });
      expect(stack.outputs.StackSetId).toMatch(/^onramp-members:[0-9a-f-]{36}$/);
      // Recording the StackSet deployed nothing in the members yet.
      expect(aws.state.existingAccount(partition, id(2))?.roles.size).toBe(0);

      const deployed = deployStackSetInstances(aws, stack);
      // Prod (2-5), its nested Web (6, 7), Dev's ACTIVE ones (8, 9); not the root's, Sandbox's, the
      // suspended one, nor the management account.
      expect(deployed.map((s) => s.accountId)).toEqual([2, 3, 4, 5, 6, 7, 8, 9].map(id));
      for (const member of deployed) {
        expect(member.stackName).toMatch(/^StackSet-onramp-members-[0-9a-f-]{36}$/);
        expect(member.region).toBe(REGION[partition]);
        expect(member.customResources).toEqual([
          {
            logicalId: 'Callback',
            type: 'Custom::OnrampCallback',
            properties: {
              ServiceToken: expect.stringMatching(new RegExp(`^arn:${partition}:lambda:`)),
              CallbackUrl: 'https://onramp.example.test/v1/callbacks/organizations/member',
              Token: 'onrorg_secret',
              RoleArn: `arn:${partition}:iam::${member.accountId}:role/OnrampMember`,
              StackId: member.stackId,
            },
          },
        ]);
        expect(member.stackId).toContain(`:${member.accountId}:stack/${member.stackName}/`);
      }
      expect(aws.state.existingAccount(partition, MANAGEMENT)?.roles.has('OnrampMember')).toBe(
        false,
      );
      expect(aws.state.existingAccount(partition, id(11))?.roles.size).toBe(0);
      expect(aws.state.existingAccount(partition, id(10))?.roles.size).toBe(0);

      // The member role works: the hub assumes it with the account's external ID, and only with it.
      const hub = aws.createUser(partition, HUB_ACCOUNT, 'hub', { policies: [ALLOW_ALL] });
      const sts = stsClient(aws, REGION[partition], hub.credentials);
      const roleArn = `arn:${partition}:iam::${id(6)}:role/OnrampMember`;
      const ok = await sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: 'hub',
          ExternalId: `onramp-prefix-${id(6)}`,
        }),
      );
      expect(ok.AssumedRoleUser?.Arn).toContain(`:${id(6)}:assumed-role/OnrampMember/hub`);
      const wrong = await failure(
        sts.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: 'hub',
            ExternalId: `onramp-prefix-${id(7)}`,
          }),
        ),
      );
      expect(wrong.name).toBe('AccessDenied');

      // Played again, nothing new: every target already has its instance.
      expect(deployStackSetInstances(aws, stack)).toEqual([]);
      expect([...(set?.instances ?? new Map()).values()].length).toBe(8);
      expect([...(set?.instances ?? new Map()).values()].every((i) => i.status === 'CURRENT')).toBe(
        true,
      );
    },
  );

  it('automatic deployment: an account joining a target OU gets its stack; leaving deletes it', () => {
    const { prod, dev, sandbox } = buildOrganization('aws');
    const stack = deployManagement('aws', [prod, dev]);
    deployStackSetInstances(aws, stack);

    aws.addOrganizationAccount(dev, id(20));
    aws.addOrganizationAccount(sandbox, id(21));
    const joined = syncStackSetInstances(aws, stack);
    expect(joined.deployed.map((s) => s.accountId)).toEqual([id(20)]);
    expect(joined.deleted).toEqual([]);
    // Or just that account, as a test names it.
    aws.addOrganizationAccount(prod, id(22));
    expect(
      deployStackSetInstances(aws, stack, { accounts: [id(22), id(21)] }).map((s) => s.accountId),
    ).toEqual([id(22)]);

    aws.removeAccount('aws', id(3));
    aws.moveAccount(id(4), sandbox);
    const left = syncStackSetInstances(aws, stack);
    expect(left.deployed).toEqual([]);
    expect(left.deleted.map((d) => d.accountId).sort()).toEqual([id(3), id(4)]);
    const removed = left.deleted.find((d) => d.accountId === id(3));
    expect(removed?.customResources).toEqual([
      expect.objectContaining({
        logicalId: 'Callback',
        requestType: 'Delete',
        properties: expect.objectContaining({
          RoleArn: `arn:aws:iam::${id(3)}:role/OnrampMember`,
          StackId: removed?.stackId,
          Token: 'onrorg_secret',
        }),
      }),
    ]);
    expect(aws.state.existingAccount('aws', id(3))?.roles.has('OnrampMember')).toBe(false);
    expect(aws.state.existingAccount('aws', id(4))?.roles.has('OnrampMember')).toBe(false);
    // Back in a target OU: deployed again.
    aws.moveAccount(id(4), prod);
    expect(syncStackSetInstances(aws, stack).deployed.map((s) => s.accountId)).toEqual([id(4)]);
  });

  it('RetainStacksOnAccountRemoval keeps the member role when an account leaves', () => {
    const { prod } = buildOrganization('aws');
    const stack = deployManagement(
      'aws',
      [prod],
      managementTemplate(memberTemplate(), {
        AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: true },
      }),
    );
    deployStackSetInstances(aws, stack);
    aws.removeAccount('aws', id(2));
    const { deleted } = syncStackSetInstances(aws, stack);
    expect(deleted.map((d) => [d.accountId, d.customResources])).toEqual([[id(2), []]]);
    expect(aws.state.existingAccount('aws', id(2))?.roles.has('OnrampMember')).toBe(true);
  });

  it('removeStackSetInstances deletes the named accounts’ stacks and returns their Delete call-backs', () => {
    const { prod } = buildOrganization('aws');
    const stack = deployManagement('aws', [prod]);
    deployStackSetInstances(aws, stack);
    const deleted = removeStackSetInstances(aws, stack, { accounts: [id(5)] });
    expect(deleted).toHaveLength(1);
    expect(deleted[0]?.customResources[0]?.requestType).toBe('Delete');
    expect(aws.state.existingAccount('aws', id(5))?.roles.size).toBe(0);
    expect(aws.state.existingAccount('aws', id(2))?.roles.has('OnrampMember')).toBe(true);
  });

  it('an account where the member stack fails is FAILED with the reason; the others deploy', () => {
    const { prod } = buildOrganization('aws');
    aws.createRole('aws', id(3), { roleName: 'OnrampMember', trustPolicy: ALLOW_TRUST });
    const stack = deployManagement('aws', [prod]);
    const deployed = deployStackSetInstances(aws, stack);
    expect(deployed.map((s) => s.accountId)).toEqual([2, 4, 5, 6, 7].map(id));
    const failed = stack.stackSets[0]?.instances.get(`${id(3)}/us-east-1`);
    expect(failed?.status).toBe('FAILED');
    expect(failed?.reason).toContain('already exists');
  });

  it('AccountFilterType DIFFERENCE leaves the listed accounts out', () => {
    const { prod } = buildOrganization('aws');
    const template = managementTemplate(memberTemplate(), {
      StackInstancesGroup: [
        {
          DeploymentTargets: {
            OrganizationalUnitIds: [prod],
            Accounts: [id(2), id(6)],
            AccountFilterType: 'DIFFERENCE',
          },
          Regions: ['us-east-1'],
        },
      ],
    });
    const stack = deployManagement('aws', [prod], template);
    expect(deployStackSetInstances(aws, stack).map((s) => s.accountId)).toEqual(
      [3, 4, 5, 7].map(id),
    );
  });

  it('a service-managed StackSet outside the management account does not deploy', () => {
    const { org } = buildOrganization('aws');
    const stack = deployStack(aws, {
      partition: 'aws',
      accountId: id(1),
      template: managementTemplate(),
      parameters: {
        ExternalIdPrefix: 'p',
        EnrollmentToken: 't',
        HubArn: `arn:aws:iam::${HUB_ACCOUNT}:user/hub`,
        DeploymentTargets: org.rootId,
        DeploymentRegion: 'us-east-1',
      },
    });
    expect(() => deployStackSetInstances(aws, stack)).toThrow(/management account/);
  });
});

const ALLOW_TRUST = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${HUB_ACCOUNT}:root` },
      Action: 'sts:AssumeRole',
    },
  ],
};

describe('what CreateStackSet refuses, deployStack refuses (and rolls the stack back)', () => {
  const big = 'x'.repeat(52_000);
  const cases: [string, () => string, RegExp][] = [
    [
      'SERVICE_MANAGED without AutoDeployment',
      () => managementTemplate(memberTemplate(), { AutoDeployment: undefined }),
      /AutoDeployment: required when PermissionModel is SERVICE_MANAGED/,
    ],
    [
      'a Transform (macro) in the member template',
      () => managementTemplate(memberTemplate({}, { Transform: 'AWS::Serverless-2016-10-31' })),
      /do not support macros/,
    ],
    [
      'an Fn::Transform (AWS::Include) in the member template',
      () =>
        managementTemplate(
          memberTemplate({
            Extra: {
              'Fn::Transform': { Name: 'AWS::Include', Parameters: { Location: 's3://b/k' } },
            },
          }),
        ),
      /do not support macros/,
    ],
    [
      'a nested stack in the member template',
      () =>
        managementTemplate(
          memberTemplate({
            Nested: {
              Type: 'AWS::CloudFormation::Stack',
              Properties: { TemplateURL: 'https://x' },
            },
          }),
        ),
      /nested stack/,
    ],
    [
      'a TemplateBody over 51,200 bytes',
      () => managementTemplate(memberTemplate({}, { Description: big })),
      /more than the 51200/,
    ],
    [
      'named IAM roles without CAPABILITY_NAMED_IAM',
      () => managementTemplate(memberTemplate(), { Capabilities: ['CAPABILITY_IAM'] }),
      /InsufficientCapabilities, requires capabilities: \[CAPABILITY_NAMED_IAM\]/,
    ],
    [
      'ExecutionRoleName with SERVICE_MANAGED',
      () =>
        managementTemplate(memberTemplate(), {
          ExecutionRoleName: 'AWSCloudFormationStackSetExecutionRole',
        }),
      /valid only with SELF_MANAGED/,
    ],
    [
      'a parameter the member template does not declare',
      () =>
        managementTemplate(memberTemplate(), {
          Parameters: [{ ParameterKey: 'Nope', ParameterValue: 'x' }],
        }),
      /Nope is not a parameter/,
    ],
    [
      'a declared parameter without a default left out',
      () =>
        managementTemplate(memberTemplate(), {
          Parameters: [{ ParameterKey: 'ExternalIdPrefix', ParameterValue: 'x' }],
        }),
      /\[EnrollmentToken, CallbackUrl, HubArn\] must have values/,
    ],
    [
      'Accounts only, with SERVICE_MANAGED',
      () =>
        managementTemplate(memberTemplate(), {
          StackInstancesGroup: [
            { DeploymentTargets: { Accounts: [id(2)] }, Regions: ['us-east-1'] },
          ],
        }),
      /OrganizationalUnitIds: required with SERVICE_MANAGED/,
    ],
    [
      'a region of another partition',
      () =>
        managementTemplate(memberTemplate(), {
          StackInstancesGroup: [
            { DeploymentTargets: { OrganizationalUnitIds: ['r-abcd'] }, Regions: ['cn-north-1'] },
          ],
        }),
      /cn-north-1 is not a region of aws/,
    ],
  ];

  it.each(cases)('%s', (_name, template, message) => {
    const { prod } = buildOrganization('aws');
    let error: unknown;
    try {
      deployManagement('aws', [prod], template());
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StackError);
    expect(String(error)).toMatch(message);
    // Rolled back: the management role created before the StackSet is gone again.
    expect(aws.state.existingAccount('aws', MANAGEMENT)?.roles.has('OnrampManagement')).toBe(false);
  });

  it('a SELF_MANAGED StackSet deploys to the accounts it lists (the management account too)', () => {
    buildOrganization('aws');
    const template = managementTemplate(memberTemplate(), {
      PermissionModel: 'SELF_MANAGED',
      AutoDeployment: undefined,
      CallAs: undefined,
      StackInstancesGroup: [
        { DeploymentTargets: { Accounts: [MANAGEMENT, id(12)] }, Regions: ['us-east-1'] },
      ],
    });
    const stack = deployManagement('aws', [], template);
    expect(deployStackSetInstances(aws, stack).map((s) => s.accountId)).toEqual([
      MANAGEMENT,
      id(12),
    ]);
    expect(() => syncStackSetInstances(aws, stack)).toThrow(/no automatic deployment/);
  });
});
