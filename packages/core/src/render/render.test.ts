import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { defaultCatalog, issuesOf, loadTestCatalog } from '../../test/fixtures.ts';
import { PARTITION_IDS, type PartitionId } from '../partitions/partitions.ts';
import { CALLBACK_FUNCTION_SOURCE, INLINE_CODE_LIMIT } from './callback-function.ts';
import {
  cloudFormationChangeSetCommand,
  cloudFormationDeployCommand,
  permissionsFingerprint,
  quickCreateLink,
  renderCloudFormation,
  renderCloudFormationJson,
  renderCloudFormationYaml,
  updateStackLink,
} from './cloudformation.ts';
import { formatSteps, renderRoleSteps } from './manual-steps.ts';
import { createRoleBlueprint } from './role-blueprint.ts';
import { renderTerraform } from './terraform.ts';

const catalog = await defaultCatalog();
const EXTERNAL_ID = 'onramp-golden-external-id';
const hubOf = (partition: PartitionId) => `arn:${partition}:iam::111122223333:role/onramp-hub`;
const blueprintFor = (
  partition: PartitionId,
  extra: Partial<Parameters<typeof createRoleBlueprint>[0]> = {},
) =>
  createRoleBlueprint({
    catalog,
    selection: { partition, bundles: 'default' },
    externalId: EXTERNAL_ID,
    hubPrincipal: hubOf(partition),
    ...extra,
  });

const CALLBACK = {
  url: 'https://onramp.example.com/v1/callbacks/cloudformation',
  token: 'onrcb_golden-callback-token',
};

const PSEUDO = [
  'AWS::Partition',
  'AWS::AccountId',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
];

/** Every Ref, GetAtt and ${…} in Fn::Sub names something the template defines (or a pseudo parameter). */
function checkReferences(template: Record<string, unknown>): string[] {
  const params = Object.keys(template.Parameters as object);
  const resources = Object.keys(template.Resources as object);
  const problems: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (
        key === 'Ref' &&
        typeof value === 'string' &&
        ![...params, ...resources, ...PSEUDO].includes(value)
      ) {
        problems.push(`Ref ${value}`);
      }
      if (key === 'Fn::GetAtt' && Array.isArray(value) && !resources.includes(String(value[0]))) {
        problems.push(`GetAtt ${value[0]}`);
      }
      if (key === 'Fn::Sub' && typeof value === 'string') {
        for (const [, name] of value.matchAll(/\$\{([^!}][^}]*)\}/g)) {
          if (![...params, ...resources, ...PSEUDO].includes(name ?? ''))
            problems.push(`Sub \${${name}}`);
        }
      }
      walk(value);
    }
  };
  walk(template.Resources);
  walk(template.Outputs);
  return problems;
}

describe.each(PARTITION_IDS)('the %s role, default bundles', (partition) => {
  const blueprint = blueprintFor(partition);

  it('renders CloudFormation YAML and JSON as reviewed (golden files)', async () => {
    const yaml = renderCloudFormationYaml(blueprint);
    const json = renderCloudFormationJson(blueprint);
    expect(parseYaml(yaml)).toEqual(JSON.parse(json));
    await expect(yaml).toMatchFileSnapshot(`__golden__/${partition}-default.cfn.yaml`);
    await expect(json).toMatchFileSnapshot(`__golden__/${partition}-default.cfn.json`);
  });

  it('renders Terraform and the manual steps as reviewed (golden files)', async () => {
    await expect(renderTerraform(blueprint)).toMatchFileSnapshot(
      `__golden__/${partition}-default.tf`,
    );
    await expect(formatSteps(renderRoleSteps(blueprint))).toMatchFileSnapshot(
      `__golden__/${partition}-default.steps.txt`,
    );
  });

  it('builds every ARN of the template with ${AWS::Partition}; the trusted principal alone names the partition', () => {
    const template = renderCloudFormation(blueprint);
    expect(checkReferences(template)).toEqual([]);
    const text = JSON.stringify(template);
    const literal = [...text.matchAll(/arn:([a-z-]+):/g)].map((m) => m[1]);
    expect(literal.every((p) => p === partition)).toBe(true);
    expect(literal.length).toBe(4); // Principal and the aws:PrincipalArn pin, in each of the two trust statements.
    expect(text).toContain('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${RoleName}');
    expect(template.Outputs).toEqual({
      RoleArn: { Description: expect.any(String), Value: { 'Fn::GetAtt': ['Role', 'Arn'] } },
    });
  });

  it('takes the Terraform partition from data "aws_partition" and refuses the wrong one', () => {
    const tf = renderTerraform(blueprint);
    expect(tf).toContain('data "aws_partition" "current" {}');
    expect(tf).toContain(`condition     = data.aws_partition.current.partition == "${partition}"`);
    expect(tf).toContain('output "role_arn" {');
    expect(tf).toContain(
      '"arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/${var.role_name}"',
    );
    const literal = [...tf.matchAll(/arn:([a-z-]+):/g)].map((m) => m[1]);
    expect(literal.every((p) => p === partition)).toBe(true);
  });

  it('writes YAML without aliases when one object appears twice (the principal parameter), which CloudFormation refuses', () => {
    const yaml = renderCloudFormationYaml(blueprintFor(partition, { hubPrincipal: undefined }));
    expect(yaml).not.toMatch(/[&*]a\d+/);
    expect(yaml.match(/Ref: TrustedPrincipalArn/g)?.length).toBe(2);
  });

  it('adds the callback only when asked, with every ARN still built with ${AWS::Partition}', () => {
    const plain = renderCloudFormation(blueprint);
    expect(Object.keys(plain.Resources as object)).not.toContain('Callback');
    expect(Object.keys(plain.Parameters as object)).not.toContain('CallbackToken');

    const template = renderCloudFormation(blueprint, { callback: CALLBACK });
    expect(checkReferences(template)).toEqual([]);
    const text = JSON.stringify(template);
    const literal = [...text.matchAll(/arn:([a-z-]+):/g)].map((m) => m[1]);
    expect(literal).toEqual([partition, partition, partition, partition]); // Still only the Principals and the pins.
    expect(text).toContain(
      '{"Fn::Sub":"arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}',
    );
    const parameters = template.Parameters as Record<string, Record<string, unknown>>;
    expect(parameters.CallbackToken).toMatchObject({
      Type: 'String',
      NoEcho: true,
      Default: CALLBACK.token,
    });
    const resources = template.Resources as Record<string, Record<string, unknown>>;
    const policyIds = Object.keys(resources).filter((id) => id.startsWith('Permissions'));
    expect(policyIds.length).toBeGreaterThan(0);
    expect(resources.Callback).toEqual({
      Type: 'Custom::OnrampCallback',
      // After the role (through GetAtt) and every policy attached to it (DependsOn).
      DependsOn: policyIds,
      Properties: {
        ServiceToken: { 'Fn::GetAtt': ['CallbackFunction', 'Arn'] },
        CallbackUrl: CALLBACK.url,
        Token: { Ref: 'CallbackToken' },
        RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] },
        StackId: { Ref: 'AWS::StackId' },
        Permissions: permissionsFingerprint(blueprint.policySet),
      },
    });
    // A stack update that changes the permissions changes the custom resource, so CloudFormation
    // calls it (RequestType Update) and Onramp checks the role again.
    const trimmed = {
      ...blueprint.policySet,
      policies: blueprint.policySet.policies.map((p) => ({
        ...p,
        document: { ...p.document, Statement: p.document.Statement.slice(1) },
      })),
    };
    expect(permissionsFingerprint(trimmed)).not.toBe(permissionsFingerprint(blueprint.policySet));
    expect(permissionsFingerprint({ ...blueprint.policySet })).toBe(
      permissionsFingerprint(blueprint.policySet),
    );
    expect(resources.CallbackFunction).toMatchObject({
      Type: 'AWS::Lambda::Function',
      Properties: {
        Runtime: 'nodejs24.x',
        Timeout: 120,
        Handler: 'index.handler',
        Role: { 'Fn::GetAtt': ['CallbackFunctionRole', 'Arn'] },
        Code: { ZipFile: CALLBACK_FUNCTION_SOURCE },
      },
    });
    expect(resources.CallbackFunctionRole).toMatchObject({
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [{ Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        },
      },
    });
    // The token is a parameter's default, referenced once: nowhere else in the template.
    expect(text.split(CALLBACK.token)).toHaveLength(2);
    expect(renderCloudFormationYaml(blueprint, { callback: CALLBACK })).toContain('NoEcho: true');
  });

  it('gives a quick-create link on the partition’s own console', () => {
    const link = new URL(
      quickCreateLink({ blueprint, templateUrl: 'https://bucket.s3.amazonaws.com/t.yaml' }),
    );
    const console = {
      aws: 'console.aws.amazon.com',
      'aws-us-gov': 'console.amazonaws-us-gov.com',
      'aws-cn': 'console.amazonaws.cn',
    };
    expect(link.host).toBe(console[partition]);
    const query = new URLSearchParams(link.hash.split('?')[1]);
    expect(query.get('templateURL')).toBe('https://bucket.s3.amazonaws.com/t.yaml');
    expect(query.get('param_ExternalId')).toBe(EXTERNAL_ID);
    expect(query.get('param_RoleName')).toBe('OnrampRole');
  });
});

describe('templates', () => {
  it('ask for the trusted principal when the hub is not configured, constrained to the partition', () => {
    const blueprint = blueprintFor('aws-cn', { hubPrincipal: undefined });
    const template = renderCloudFormation(blueprint);
    expect(template.Parameters).toHaveProperty(
      'TrustedPrincipalArn.AllowedPattern',
      'arn:aws-cn:iam::\\d{12}:(root|role/.+|user/.+)',
    );
    expect(JSON.stringify(template.Resources)).toContain('{"AWS":{"Ref":"TrustedPrincipalArn"}}');
    expect(checkReferences(template)).toEqual([]);
    expect(renderTerraform(blueprint)).toContain('AWS = var.trusted_principal_arn');
    expect(cloudFormationDeployCommand(blueprint)).toContain(
      "'TrustedPrincipalArn=<trusted principal ARN>'",
    );
  });

  it('render a region restriction and several policies', async () => {
    const blueprint = createRoleBlueprint({
      catalog,
      selection: { partition: 'aws', bundles: 'all', regions: ['us-west-2', 'eu-west-1'] },
      externalId: EXTERNAL_ID,
      hubPrincipal: '111122223333',
      roleName: 'AcmeCloudRole',
      maxSessionDuration: 7200,
    });
    const yaml = renderCloudFormationYaml(blueprint);
    await expect(yaml).toMatchFileSnapshot('__golden__/aws-all-regions.cfn.yaml');
    await expect(renderTerraform(blueprint)).toMatchFileSnapshot('__golden__/aws-all-regions.tf');
    expect(yaml).toContain('aws:RequestedRegion');
    expect(yaml).toContain('MaxSessionDuration: 7200');
  });

  it('escape IAM policy variables for CloudFormation and Terraform', async () => {
    const custom = await loadTestCatalog(`
version: 1
platform: Vars
products:
  - id: store
    name: Store
    description: S.
    bundles:
      - id: own-prefix
        name: Own prefix
        description: Objects under the caller's own prefix.
        default: true
        statements:
          - actions: [s3:GetObject]
            resources: ['arn:{{partition}}:s3:::acme/\${aws:PrincipalTag/team}/*']
`);
    const blueprint = createRoleBlueprint({
      catalog: custom,
      selection: { partition: 'aws', bundles: 'default' },
      externalId: EXTERNAL_ID,
    });
    expect(JSON.stringify(renderCloudFormation(blueprint))).toContain(
      '{"Fn::Sub":"arn:${AWS::Partition}:s3:::acme/${!aws:PrincipalTag/team}/*"}',
    );
    expect(renderTerraform(blueprint)).toContain(
      '"arn:${data.aws_partition.current.partition}:s3:::acme/$${aws:PrincipalTag/team}/*"',
    );
  });

  it('render the callback-enabled template as reviewed (golden file, aws-us-gov)', async () => {
    const blueprint = blueprintFor('aws-us-gov');
    const yaml = renderCloudFormationYaml(blueprint, { callback: CALLBACK });
    expect(parseYaml(yaml)).toEqual(
      JSON.parse(renderCloudFormationJson(blueprint, { callback: CALLBACK })),
    );
    expect(parseYaml(yaml).Resources.CallbackFunction.Properties.Code.ZipFile).toBe(
      CALLBACK_FUNCTION_SOURCE,
    );
    await expect(yaml).toMatchFileSnapshot('__golden__/aws-us-gov-callback.cfn.yaml');
  });

  it('keep the callback function within CloudFormation’s inline code limit', () => {
    expect(INLINE_CODE_LIMIT).toBe(4096);
    const zipFile = (
      renderCloudFormation(blueprintFor('aws'), { callback: CALLBACK }).Resources as Record<
        string,
        { Properties: { Code?: { ZipFile?: string } } }
      >
    ).CallbackFunction?.Properties.Code?.ZipFile;
    expect(zipFile).toBe(CALLBACK_FUNCTION_SOURCE);
    // Characters and bytes alike: the source is ASCII, so the two counts agree. A tenth kept free for
    // what the function may yet need (it grew by the retries of a busy Onramp).
    expect(CALLBACK_FUNCTION_SOURCE.length).toBeLessThan(INLINE_CODE_LIMIT * 0.9);
    expect(Buffer.byteLength(CALLBACK_FUNCTION_SOURCE)).toBe(CALLBACK_FUNCTION_SOURCE.length);
  });

  it('print the AWS CLI deploy command for the partition’s region', () => {
    const command = cloudFormationDeployCommand(blueprintFor('aws-us-gov'));
    expect(command).toContain('aws cloudformation deploy \\\n  --region us-gov-west-1 \\');
    expect(command).toContain('--capabilities CAPABILITY_NAMED_IAM');
    expect(command).toContain(
      `--parameter-overrides ExternalId=${EXTERNAL_ID} RoleName=OnrampRole`,
    );
    expect(command).toContain('--query "Stacks[0].Outputs[?OutputKey==\'RoleArn\'].OutputValue"');
  });

  it('print the change-set preview of a stack update, with both external IDs during a grace period', () => {
    const blueprint = blueprintFor('aws-cn', { previousExternalId: 'onramp-previous-id' });
    const command = cloudFormationChangeSetCommand(blueprint, {
      stackName: 'onramp-OnrampRole',
      changeSetName: 'onramp-permissions-1a2b3c4d',
      templateFile: 'role update.yaml',
      region: 'cn-north-1',
    });
    expect(command).toContain('aws cloudformation create-change-set \\\n  --region cn-north-1 \\');
    expect(command).toContain("--template-body 'file://role update.yaml'");
    expect(command).toContain(
      `--parameters ParameterKey=ExternalId,ParameterValue=${EXTERNAL_ID} ParameterKey=PreviousExternalId,ParameterValue=onramp-previous-id ParameterKey=RoleName,ParameterValue=OnrampRole`,
    );
    expect(command).toContain(
      'aws cloudformation describe-change-set --region cn-north-1 --stack-name onramp-OnrampRole --change-set-name onramp-permissions-1a2b3c4d',
    );
    // Nothing that would change the stack: no execute-change-set, no deploy.
    expect(command).not.toMatch(/execute-change-set|cloudformation deploy/);
  });

  it('link the update-stack page of the partition’s console for an existing stack', () => {
    const stack =
      'arn:aws-us-gov:cloudformation:us-gov-east-1:123456789012:stack/onramp-OnrampRole/abc';
    const link = new URL(
      updateStackLink({
        blueprint: blueprintFor('aws-us-gov'),
        templateUrl: 'https://bucket.s3.us-gov-west-1.amazonaws.com/t.yaml?X-Amz-Signature=s',
        stack,
        region: 'us-gov-east-1',
      }),
    );
    expect(link.host).toBe('console.amazonaws-us-gov.com');
    expect(link.searchParams.get('region')).toBe('us-gov-east-1');
    const [route, query] = link.hash.slice(1).split('?');
    expect(route).toBe('/stacks/update/template');
    expect(new URLSearchParams(query).get('stackId')).toBe(stack);
    expect(new URLSearchParams(query).get('templateURL')).toBe(
      'https://bucket.s3.us-gov-west-1.amazonaws.com/t.yaml?X-Amz-Signature=s',
    );
  });

  it('refuse bad names, durations and hubs with every problem at once', async () => {
    const issues = await issuesOf(() =>
      createRoleBlueprint({
        catalog,
        selection: { partition: 'aws-us-gov', bundles: 'default' },
        externalId: 'x',
        hubPrincipal: 'arn:aws:iam::111122223333:root',
        roleName: 'has space',
        maxSessionDuration: 60,
      }),
    );
    expect(issues.map((i) => i.field).sort()).toEqual([
      'externalId',
      'hubPrincipal',
      'maxSessionDuration',
      'roleName',
    ]);
  });
});
