import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { defaultCatalog, issuesOf } from '../../test/fixtures.ts';
import { PARTITION_IDS, type PartitionId } from '../partitions/partitions.ts';
import { formatSteps } from './manual-steps.ts';
import { createUserBlueprint, suggestedUserName, userConsoleLinks } from './user-blueprint.ts';
import {
  renderUserCloudFormation,
  renderUserCloudFormationJson,
  renderUserCloudFormationYaml,
  renderUserSteps,
  renderUserTerraform,
} from './user-templates.ts';

const catalog = await defaultCatalog();
const blueprintFor = (partition: PartitionId, userName?: string) =>
  createUserBlueprint({
    catalog,
    selection: { partition, bundles: 'default' },
    ...(userName ? { userName } : {}),
  });

const CONSOLE = {
  aws: 'console.aws.amazon.com',
  'aws-us-gov': 'console.amazonaws-us-gov.com',
  'aws-cn': 'console.amazonaws.cn',
};

describe.each(PARTITION_IDS)('the %s dedicated user, default bundles', (partition) => {
  const blueprint = blueprintFor(partition);

  it('renders CloudFormation, Terraform and the steps as reviewed (golden files)', async () => {
    const yaml = renderUserCloudFormationYaml(blueprint);
    expect(parseYaml(yaml)).toEqual(JSON.parse(renderUserCloudFormationJson(blueprint)));
    await expect(yaml).toMatchFileSnapshot(`__golden__/${partition}-user.cfn.yaml`);
    await expect(renderUserTerraform(blueprint)).toMatchFileSnapshot(
      `__golden__/${partition}-user.tf`,
    );
    await expect(formatSteps(renderUserSteps(blueprint))).toMatchFileSnapshot(
      `__golden__/${partition}-user.steps.txt`,
    );
  });

  it('creates the user and attaches its policies, and never an access key', () => {
    const template = renderUserCloudFormation(blueprint);
    const resources = template.Resources as Record<string, { Type: string; Properties: object }>;
    const types = Object.values(resources).map((r) => r.Type);
    expect(types).toContain('AWS::IAM::User');
    expect(types).not.toContain('AWS::IAM::AccessKey');
    const policyIds = Object.keys(resources).filter((id) => id.startsWith('Permissions'));
    expect(policyIds.length).toBe(blueprint.policySet.policies.length);
    expect(resources.User?.Properties).toMatchObject({
      UserName: { Ref: 'UserName' },
      Path: '/',
      ManagedPolicyArns: policyIds.map((id) => ({ Ref: id })),
    });
    expect(Object.keys(template.Outputs as object)).toEqual(['UserName', 'UserArn']);
    const text = JSON.stringify(template);
    expect(text).not.toMatch(/SecretAccessKey|AccessKey"/);
    // Every ARN is built with ${AWS::Partition}: the template names no partition literally.
    expect(text).not.toMatch(/arn:aws/);
    // The user inspects only itself: IAM's own ${aws:username}, escaped for Fn::Sub.
    expect(text).toContain('arn:${AWS::Partition}:iam::${AWS::AccountId}:user/${!aws:username}');

    const tf = renderUserTerraform(blueprint);
    expect(tf).toContain('resource "aws_iam_user" "onramp" {');
    expect(tf).toContain('resource "aws_iam_user_policy_attachment" "onramp_permissions_1" {');
    expect(tf).not.toContain('aws_iam_access_key');
    expect(tf).toContain(`condition     = data.aws_partition.current.partition == "${partition}"`);
    expect(tf).toContain(
      '"arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:user/$${aws:username}"',
    );
  });

  it('links to the partition’s own IAM console', () => {
    const links = userConsoleLinks(blueprint);
    for (const link of Object.values(links)) expect(new URL(link).host).toBe(CONSOLE[partition]);
    expect(links.accessKeys).toContain(
      '#/users/details/acme-cloud-onramp?section=security_credentials',
    );
    const steps = renderUserSteps(blueprint);
    expect(steps.map((s) => s.title)).toEqual([
      'Create the permissions policy',
      'Create the user',
      'Create its access key',
    ]);
    // The pasted policy is concrete: this partition's ARNs, the user variable left to IAM.
    const policy = steps[0]?.values.find((v) => v.format === 'json')?.value ?? '';
    expect(policy).toContain(`arn:${partition}:iam::*:user/\${aws:username}`);
  });
});

describe('the dedicated user', () => {
  it('is named after the platform unless a name is given', () => {
    expect(suggestedUserName('Acme Cloud')).toBe('acme-cloud-onramp');
    expect(suggestedUserName('  ')).toBe('onramp');
    expect(blueprintFor('aws').userName).toBe('acme-cloud-onramp');
    const named = blueprintFor('aws-cn', 'tutum');
    expect(renderUserCloudFormation(named).Parameters).toHaveProperty('UserName.Default', 'tutum');
    expect(renderUserTerraform(named)).toContain('default     = "tutum"');
  });

  it('refuses a bad user name and an unknown bundle, every problem at once', async () => {
    const issues = await issuesOf(() =>
      createUserBlueprint({
        catalog,
        selection: { partition: 'aws-us-gov', bundles: ['no-such-bundle'] },
        userName: 'has space"${x}',
      }),
    );
    expect(issues.map((i) => `${i.field}:${i.code}`).sort()).toEqual([
      'bundles[0]:unknown_bundle',
      'userName:invalid_format',
    ]);
    expect((await issuesOf(() => blueprintFor('aws', 'x'.repeat(65))))[0]?.code).toBe('too_long');
  });

  it('limits regional services when regions are chosen', () => {
    const blueprint = createUserBlueprint({
      catalog,
      selection: { partition: 'aws', bundles: 'all', regions: ['eu-west-1'] },
    });
    expect(renderUserCloudFormationYaml(blueprint)).toContain('aws:RequestedRegion');
    expect(renderUserTerraform(blueprint)).toContain('# Regional services limited to: eu-west-1.');
  });
});
