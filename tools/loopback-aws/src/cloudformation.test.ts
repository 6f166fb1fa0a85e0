import { readFileSync } from 'node:fs';
import {
  GetRoleCommand,
  GetUserPolicyCommand,
  ListAttachedRolePoliciesCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  deployStack,
  type LoopbackAws,
  type PartitionId,
  StackError,
  startLoopbackAws,
} from './index.ts';
import { CUSTOMER_ACCOUNT, failure, hubStsClient, iamClient, stsClient } from './test-support.ts';

/** Onramp's own rendered templates (packages/core's goldens): what a customer deploys today. */
const golden = (name: string) =>
  readFileSync(
    new URL(`../../../packages/core/src/render/__golden__/${name}`, import.meta.url),
    'utf8',
  );

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

/** The hub role the goldens trust (arn:<partition>:iam::111122223333:role/onramp-hub), as a client. */
async function hubClient(partition: PartitionId) {
  return (await hubStsClient(aws, partition, REGION[partition])).sts;
}

describe('deployStack with the external-ID role goldens', () => {
  it.each([
    ['aws', 'aws-default.cfn.yaml'],
    ['aws', 'aws-default.cfn.json'],
    ['aws-us-gov', 'aws-us-gov-default.cfn.yaml'],
    ['aws-us-gov', 'aws-us-gov-default.cfn.json'],
    ['aws-cn', 'aws-cn-default.cfn.yaml'],
    ['aws-cn', 'aws-cn-default.cfn.json'],
  ] as const)(
    '%s: %s deploys, and the hub assumes the role with the external ID',
    async (partition, file) => {
      const stack = deployStack(aws, {
        partition,
        accountId: CUSTOMER_ACCOUNT,
        template: golden(file),
      });
      const roleArn = `arn:${partition}:iam::${CUSTOMER_ACCOUNT}:role/OnrampRole`;
      expect(stack.outputs).toEqual({ RoleArn: roleArn });
      expect(stack.resources.Role).toMatchObject({
        type: 'AWS::IAM::Role',
        physicalId: 'OnrampRole',
        arn: roleArn,
      });
      expect(stack.resources.Permissions1).toMatchObject({
        type: 'AWS::IAM::ManagedPolicy',
        physicalId: `arn:${partition}:iam::${CUSTOMER_ACCOUNT}:policy/OnrampRole-permissions-1`,
      });
      expect(stack.customResources).toEqual([]);

      const hub = await hubClient(partition);
      const refused = await failure(
        hub.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: 'xx',
            ExternalId: 'wrong-id',
          }),
        ),
      );
      expect(refused.name).toBe('AccessDenied');
      const out = await hub.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: 'onramp',
          ExternalId: 'onramp-golden-external-id',
        }),
      );
      const creds = {
        accessKeyId: out.Credentials?.AccessKeyId ?? '',
        secretAccessKey: out.Credentials?.SecretAccessKey ?? '',
        sessionToken: out.Credentials?.SessionToken,
      };
      const iam = iamClient(aws, REGION[partition], creds);
      const role = await iam.send(new GetRoleCommand({ RoleName: 'OnrampRole' }));
      expect(role.Role?.MaxSessionDuration).toBe(3600);
      expect(role.Role?.Tags).toEqual([{ Key: 'managed-by', Value: 'onramp' }]);
      const attached = await iam.send(
        new ListAttachedRolePoliciesCommand({ RoleName: 'OnrampRole' }),
      );
      expect(attached.AttachedPolicies?.map((p) => p.PolicyName)).toEqual([
        'OnrampRole-permissions-1',
      ]);
      // The permissions policy's Fn::Sub resources resolved to this partition and account.
      const simulated = await iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: roleArn,
          ActionNames: ['iam:GetRole', 'ec2:DescribeInstances'],
          ResourceArns: [roleArn],
        }),
      );
      expect(simulated.EvaluationResults?.map((r) => r.EvalDecision)).toEqual([
        'allowed',
        'allowed',
      ]);
    },
  );

  it('takes parameters: another role name and external ID', async () => {
    const stack = deployStack(aws, {
      partition: 'aws',
      accountId: CUSTOMER_ACCOUNT,
      template: golden('aws-default.cfn.yaml'),
      parameters: { RoleName: 'AcmeAccess', ExternalId: 'another-external-id' },
    });
    expect(stack.outputs.RoleArn).toBe(`arn:aws:iam::${CUSTOMER_ACCOUNT}:role/AcmeAccess`);
    const hub = await hubClient('aws');
    await hub.send(
      new AssumeRoleCommand({
        RoleArn: stack.outputs.RoleArn,
        RoleSessionName: 'onramp',
        ExternalId: 'another-external-id',
      }),
    );
  });

  it('refuses parameters CloudFormation refuses', () => {
    const deploy = (parameters: Record<string, string>) => () =>
      deployStack(aws, {
        partition: 'aws',
        accountId: CUSTOMER_ACCOUNT,
        template: golden('aws-default.cfn.yaml'),
        parameters,
      });
    expect(deploy({ RoleName: 'bad name' })).toThrow(
      "Parameter 'RoleName' must match pattern [\\w+=,.@-]+",
    );
    expect(deploy({ ExternalId: 'x' })).toThrow(
      "Parameter 'ExternalId' must contain at least 2 characters",
    );
    expect(deploy({ Nope: 'x' })).toThrow('Parameters: [Nope] do not exist in the template');
    // Nothing was created by the refused deployments.
    expect(aws.state.existingAccount('aws', CUSTOMER_ACCOUNT)?.roles.size ?? 0).toBe(0);
  });

  it('returns the callback function and custom resource of a callback template, resolved', () => {
    const stack = deployStack(aws, {
      partition: 'aws-us-gov',
      accountId: CUSTOMER_ACCOUNT,
      template: golden('aws-us-gov-callback.cfn.yaml'),
      stackName: 'acme',
    });
    const functionRole = stack.resources.CallbackFunctionRole;
    expect(functionRole?.physicalId).toMatch(/^acme-CallbackFunctionRole-[A-Z0-9]{12}$/);
    expect(stack.functions).toHaveLength(1);
    expect(stack.functions[0]).toMatchObject({
      logicalId: 'CallbackFunction',
      arn: expect.stringMatching(
        new RegExp(
          `^arn:aws-us-gov:lambda:us-gov-west-1:${CUSTOMER_ACCOUNT}:function:acme-CallbackFunction-`,
        ),
      ),
      properties: { Role: functionRole?.arn, Runtime: 'nodejs24.x' },
    });
    expect(stack.customResources).toEqual([
      {
        logicalId: 'Callback',
        type: 'Custom::OnrampCallback',
        properties: {
          ServiceToken: stack.functions[0]?.arn,
          CallbackUrl: 'https://onramp.example.com/v1/callbacks/cloudformation',
          Token: 'onrcb_golden-callback-token',
          RoleArn: `arn:aws-us-gov:iam::${CUSTOMER_ACCOUNT}:role/OnrampRole`,
          StackId: stack.stackId,
          Permissions: '65374c38b1954386',
        },
      },
    ]);
    expect(stack.stackId).toMatch(
      new RegExp(`^arn:aws-us-gov:cloudformation:us-gov-west-1:${CUSTOMER_ACCOUNT}:stack/acme/`),
    );
  });

  it.each([
    ['aws', 'aws-user.cfn.yaml'],
    ['aws-cn', 'aws-cn-user.cfn.yaml'],
  ] as const)(
    '%s: the user golden makes a user without keys, with its own policy',
    async (partition, file) => {
      const stack = deployStack(aws, {
        partition,
        accountId: CUSTOMER_ACCOUNT,
        template: golden(file),
      });
      const userArn = `arn:${partition}:iam::${CUSTOMER_ACCOUNT}:user/acme-cloud-onramp`;
      expect(stack.outputs).toEqual({ UserName: 'acme-cloud-onramp', UserArn: userArn });
      expect([...aws.state.of(partition).keys.values()].filter((k) => k.userName)).toEqual([]);
      // ${!aws:username} stays a policy variable.
      const policy = aws.state.findPolicy(
        partition,
        `arn:${partition}:iam::${CUSTOMER_ACCOUNT}:policy/acme-cloud-onramp-permissions-1`,
      );
      expect(JSON.stringify(policy?.versions[0]?.document)).toContain(
        `arn:${partition}:iam::${CUSTOMER_ACCOUNT}:user/\${aws:username}`,
      );
      const key = aws.createAccessKey(partition, CUSTOMER_ACCOUNT, 'acme-cloud-onramp');
      const me = await stsClient(aws, REGION[partition], key.credentials).send(
        new GetCallerIdentityCommand({}),
      );
      expect(me.Arn).toBe(userArn);
    },
  );
});

const KEYLESS = `
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  RoleName:
    Type: String
    Default: OnrampRole
  ExistingOidcProviderArn:
    Type: String
    Default: ""
    AllowedPattern: (arn:aws:iam::[0-9]{12}:oidc-provider/onramp\\.example\\.test/oidc)?
Conditions:
  CreateOidcProvider: !Equals [!Ref ExistingOidcProviderArn, ""]
  UseExisting: !Not [!Condition CreateOidcProvider]
Resources:
  OidcProvider:
    Type: AWS::IAM::OIDCProvider
    Condition: CreateOidcProvider
    DeletionPolicy: Retain
    Properties:
      Url: https://onramp.example.test/oidc
      ClientIdList: [sts.amazonaws.com]
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Ref RoleName
      MaxSessionDuration: 43200
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Federated: !If [CreateOidcProvider, !Ref OidcProvider, !Ref ExistingOidcProviderArn]
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              StringEquals:
                onramp.example.test/oidc:aud: sts.amazonaws.com
                onramp.example.test/oidc:sub: tenant:t1:connection:c1
      Policies:
        - PolicyName: !Join ["-", [!Ref RoleName, inline]]
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: iam:GetRole
                Resource: !Sub "arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/\${RoleName}"
      Tags:
        - Key: stack
          Value: !Select [1, !Split ["/", !Ref AWS::StackId]]
Outputs:
  RoleArn:
    Value: !GetAtt Role.Arn
  ProviderArn:
    Condition: CreateOidcProvider
    Value: !GetAtt OidcProvider.Arn
  Existing:
    Condition: UseExisting
    Value: !Ref ExistingOidcProviderArn
`;

describe('deployStack with conditions and short forms', () => {
  it('creates the OIDC provider when no existing one is named, and the role trusts it', () => {
    const stack = deployStack(aws, {
      partition: 'aws',
      accountId: CUSTOMER_ACCOUNT,
      template: KEYLESS,
    });
    const providerArn = `arn:aws:iam::${CUSTOMER_ACCOUNT}:oidc-provider/onramp.example.test/oidc`;
    expect(stack.outputs).toEqual({
      RoleArn: `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/OnrampRole`,
      ProviderArn: providerArn,
    });
    expect(stack.resources.OidcProvider).toEqual({
      type: 'AWS::IAM::OIDCProvider',
      physicalId: providerArn,
      arn: providerArn,
    });
    const role = aws.state.existingAccount('aws', CUSTOMER_ACCOUNT)?.roles.get('OnrampRole');
    expect(role?.maxSessionDuration).toBe(43200);
    expect(JSON.stringify(role?.trustPolicy)).toContain(`"Federated":"${providerArn}"`);
    expect([...(role?.inline.keys() ?? [])]).toEqual(['OnrampRole-inline']);
    expect(JSON.stringify(role?.inline.get('OnrampRole-inline'))).toContain(
      `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/OnrampRole`,
    );
    expect(role?.tags).toEqual([{ key: 'stack', value: 'onramp' }]);
  });

  it('uses an existing provider when its ARN is given (and creates none)', () => {
    const existing = aws.createOidcProvider('aws', CUSTOMER_ACCOUNT, {
      url: 'https://onramp.example.test/oidc',
      clientIds: ['sts.amazonaws.com'],
    });
    const stack = deployStack(aws, {
      partition: 'aws',
      accountId: CUSTOMER_ACCOUNT,
      template: KEYLESS,
      parameters: { ExistingOidcProviderArn: existing.arn },
    });
    expect(stack.resources.OidcProvider).toBeUndefined();
    expect(stack.outputs.Existing).toBe(existing.arn);
    // Deploying it again without the ARN fails as CloudFormation would: the URL already has a provider.
    expect(() =>
      deployStack(aws, {
        partition: 'aws',
        accountId: CUSTOMER_ACCOUNT,
        template: KEYLESS.replace('Default: OnrampRole', 'Default: Second'),
      }),
    ).toThrow(
      /Resources\.OidcProvider\.Properties: Provider with url https:\/\/onramp\.example\.test\/oidc already exists/,
    );
  });

  it('attaches AWS::IAM::Policy and ManagedPolicy to named roles and users, and makes access keys', async () => {
    const stack = deployStack(aws, {
      partition: 'aws',
      accountId: CUSTOMER_ACCOUNT,
      template: JSON.stringify({
        Resources: {
          User: { Type: 'AWS::IAM::User', Properties: { UserName: 'reader' } },
          Inline: {
            Type: 'AWS::IAM::Policy',
            Properties: {
              PolicyName: 'read',
              Users: [{ Ref: 'User' }],
              PolicyDocument: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 'iam:GetUserPolicy', Resource: '*' }],
              },
            },
          },
          Key: { Type: 'AWS::IAM::AccessKey', Properties: { UserName: { Ref: 'User' } } },
        },
        Outputs: {
          KeyId: { Value: { Ref: 'Key' } },
          Secret: { Value: { 'Fn::GetAtt': ['Key', 'SecretAccessKey'] } },
        },
      }),
    });
    const iam = iamClient(aws, 'us-east-1', {
      accessKeyId: stack.outputs.KeyId ?? '',
      secretAccessKey: stack.outputs.Secret ?? '',
    });
    const got = await iam.send(
      new GetUserPolicyCommand({ UserName: 'reader', PolicyName: 'read' }),
    );
    expect(got.PolicyName).toBe('read');
  });
});

describe('deployStack rolls back', () => {
  it('removes what it created when a later resource fails', () => {
    const failing = JSON.stringify({
      Resources: {
        Provider: {
          Type: 'AWS::IAM::OIDCProvider',
          Properties: {
            Url: 'https://onramp.example.test/oidc',
            ClientIdList: ['sts.amazonaws.com'],
          },
        },
        Policy: {
          Type: 'AWS::IAM::ManagedPolicy',
          Properties: {
            ManagedPolicyName: 'first',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 'iam:GetRole', Resource: '*' }],
            },
          },
        },
        Role: {
          Type: 'AWS::IAM::Role',
          DependsOn: ['Provider', 'Policy'],
          Properties: {
            RoleName: 'second',
            AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [] },
            ManagedPolicyArns: [{ Ref: 'Policy' }, 'arn:aws:iam::aws:policy/NoSuchPolicy'],
          },
        },
      },
    });
    expect(() =>
      deployStack(aws, { partition: 'aws', accountId: CUSTOMER_ACCOUNT, template: failing }),
    ).toThrow(/Resources\.Role\.Properties: .*NoSuchPolicy/);
    const account = aws.state.existingAccount('aws', CUSTOMER_ACCOUNT);
    expect(account?.roles.size).toBe(0);
    expect(account?.policies.size).toBe(0);
    expect(account?.oidcProviders.size).toBe(0);
  });
});

describe('deployStack refuses what it cannot deploy as AWS would', () => {
  const template = (resources: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ Resources: resources, ...extra });
  const role = (properties: Record<string, unknown> = {}) => ({
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'ec2.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      },
      ...properties,
    },
  });
  const deploy = (text: string) => () =>
    deployStack(aws, { partition: 'aws', accountId: CUSTOMER_ACCOUNT, template: text });

  const cases: [string, RegExp][] = [
    [
      template({ Bucket: { Type: 'AWS::S3::Bucket' } }),
      /Resources\.Bucket: .* does not support AWS::S3::Bucket/,
    ],
    [
      template({ R: role({ RoleName: { 'Fn::ImportValue': 'x' } }) }),
      /Resources\.R\.Properties\.RoleName\.Fn::ImportValue: .* does not support Fn::ImportValue/,
    ],
    [
      template({ R: role({ PermissionsBoundary: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }) }),
      /PermissionsBoundary: .* does not support this property of AWS::IAM::Role/,
    ],
    [template({ R: role() }, { Transform: 'AWS::Serverless-2016-10-31' }), /Transform/],
    [
      template({ R: role({ RoleName: { Ref: 'Missing' } }) }),
      /Ref Missing names no parameter, resource or pseudo parameter/,
    ],
    [
      template({
        A: role({ RoleName: { 'Fn::Sub': '${B}-a' } }),
        B: role({ RoleName: { 'Fn::Sub': '${A}-b' } }),
      }),
      /Circular dependency between resources/,
    ],
    [
      template({
        R: role({ ManagedPolicyArns: ['arn:aws:iam::aws:policy/NoSuchPolicy'] }),
      }),
      /Resources\.R\.Properties: .*NoSuchPolicy does not exist/,
    ],
    [
      template({ R: role() }, { Parameters: { P: { Type: 'String' } } }),
      /Parameters: \[P\] must have values/,
    ],
    [
      template(
        { R: role() },
        { Parameters: { P: { Type: 'String', Default: 'a', AllowedValues: ['b'] } } },
      ),
      /Parameter 'P' must be one of AllowedValues/,
    ],
  ];
  it.each(cases.map(([text, message]) => [message.source, text, message] as const))(
    'refuses with %s',
    (_, text, message) => {
      expect(deploy(text)).toThrow(StackError);
      expect(deploy(text)).toThrow(message);
    },
  );
});
