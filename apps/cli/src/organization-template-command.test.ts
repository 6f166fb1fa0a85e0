import { generateExternalId } from '@onramp/core';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { describeRun, fixedRandomBytes, parseJsonOutput, runCli } from './testing.ts';

interface CfnTemplate {
  Parameters: Record<string, { Default?: unknown; NoEcho?: boolean }>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  Outputs: Record<string, { Value: unknown }>;
}

const generatedPrefix = generateExternalId(fixedRandomBytes(24));
const TOKEN = 'onrorg_cli-test-enrollment-token-000';

describe('onramp organization-template', () => {
  it('prints the management template with a service-managed StackSet; steps and commands go to stderr', async () => {
    const result = await runCli([
      'organization-template',
      '--partition',
      'aws',
      '--bundles',
      'default',
      '--hub-principal',
      '111122223333',
      '--targets',
      'ou-ab12-prod0001, ou-ab12-sandbox1',
    ]);
    expect(result.code, describeRun(result)).toBe(0);
    const template = parseYaml(result.stdout) as CfnTemplate;
    const stackSet = template.Resources.MemberStackSet;
    expect(stackSet?.Type, describeRun(result)).toBe('AWS::CloudFormation::StackSet');
    expect(stackSet?.Properties.PermissionModel, describeRun(result)).toBe('SERVICE_MANAGED');
    expect(template.Parameters.DeploymentTargets?.Default, describeRun(result)).toBe(
      'ou-ab12-prod0001,ou-ab12-sandbox1',
    );
    expect(template.Parameters.ExternalIdPrefix?.Default, describeRun(result)).toBe(
      generatedPrefix,
    );
    expect(template.Parameters.ManagementRoleName?.Default, describeRun(result)).toBe(
      'OnrampOrganizationRole',
    );
    expect(template.Outputs.ManagementRoleArn, describeRun(result)).toBeDefined();

    expect(result.stdout, describeRun(result)).not.toContain('aws cloudformation');
    expect(result.stderr, describeRun(result)).toContain(
      'aws cloudformation activate-organizations-access --region us-east-1',
    );
    expect(result.stderr, describeRun(result)).toContain(
      '--template-file onramp-organization.yaml',
    );
    expect(result.stderr, describeRun(result)).toContain(
      '1. Activate trusted access for StackSets',
    );
    expect(result.stderr, describeRun(result)).toContain(`generated one: ${generatedPrefix}`);
    expect(result.stderr, describeRun(result)).toContain('no --public-url and --enrollment-token');
  });

  it('prints the member template as JSON with --member, reporting to the public URL, and never echoes the token', async () => {
    const result = await runCli([
      'organization-template',
      '--partition',
      'aws-us-gov',
      '--bundles',
      'default',
      '--hub-principal',
      '111122223333',
      '--external-id-prefix',
      'onramp-fixed-prefix',
      '--targets',
      'r-ab12',
      '--member-role-name',
      'AcmeMember',
      '--public-url',
      'https://onramp.example.com',
      '--enrollment-token',
      TOKEN,
      '--member',
      '--format',
      'json',
    ]);
    expect(result.code, describeRun(result)).toBe(0);
    const template = parseJsonOutput(result) as CfnTemplate;
    expect(template.Resources.MemberRole?.Type, describeRun(result)).toBe('AWS::IAM::Role');
    expect(template.Resources.MemberStackSet, describeRun(result)).toBeUndefined();
    expect(template.Parameters.MemberRoleName?.Default, describeRun(result)).toBe('AcmeMember');
    expect(template.Parameters.CallbackUrl?.Default, describeRun(result)).toBe(
      'https://onramp.example.com/v1/callbacks/organizations/member',
    );
    expect(template.Parameters.EnrollmentToken, describeRun(result)).toMatchObject({
      NoEcho: true,
    });
    expect(result.stderr, describeRun(result)).not.toContain(TOKEN);
    expect(result.stderr, describeRun(result)).toContain('--region us-gov-west-1');
    expect(result.stderr, describeRun(result)).not.toContain('note:');
  });

  it('prints Terraform with --format terraform, and the apply commands', async () => {
    const result = await runCli([
      'organization-template',
      '--partition',
      'aws',
      '--bundles',
      'nodes-ec2',
      '--external-id-prefix',
      'onramp-fixed-prefix',
      '--targets',
      'r-ab12',
      '--format',
      'terraform',
    ]);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout, describeRun(result)).toContain(
      'resource "aws_cloudformation_stack_set" "members" {',
    );
    expect(result.stdout, describeRun(result)).toContain('variable "trusted_principal_arn" {');
    expect(result.stderr, describeRun(result)).toContain('terraform apply');
    expect(result.stderr, describeRun(result)).toContain('Give the management role to');
  });

  it('lists self-managed instances for the accounts given (aws-cn)', async () => {
    const result = await runCli([
      'organization-template',
      '--partition',
      'aws-cn',
      '--bundles',
      'default',
      '--external-id-prefix',
      'onramp-fixed-prefix',
      '--deployment',
      'self_managed',
      '--accounts',
      '111122223333,444455556666',
    ]);
    expect(result.code, describeRun(result)).toBe(0);
    const template = parseYaml(result.stdout) as CfnTemplate;
    expect(template.Resources.MemberStackSet, describeRun(result)).toBeUndefined();
    expect(result.stderr, describeRun(result)).toContain('--permission-model SELF_MANAGED');
    expect(result.stderr, describeRun(result)).toContain('--accounts 111122223333 444455556666');
    expect(result.stderr, describeRun(result)).toContain(
      'AWSCloudFormationStackSetAdministrationRole',
    );
    expect(result.stderr, describeRun(result)).toContain('--region cn-north-1');
  });

  it('refuses service-managed StackSets in aws-cn, naming the deployments offered', async () => {
    const result = await runCli([
      'organization-template',
      '--partition',
      'aws-cn',
      '--bundles',
      'default',
      '--targets',
      'r-ab12',
    ]);
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stdout, describeRun(result)).toBe('');
    expect(result.stderr, describeRun(result)).toMatch(
      /^error: --deployment: AWS China has no service-managed StackSets.*self_managed.*per_account/m,
    );
  });

  it('reports every bad organization option at once, each with its flag, and never the token', async () => {
    const result = await runCli([
      'organization-template',
      '--partition',
      'aws',
      '--bundles',
      'default',
      '--external-id-prefix',
      'has space',
      '--targets',
      'ou-ab12-prod0001,not-a-unit',
      '--accounts',
      '12345',
      '--deployment-region',
      'cn-north-1',
      '--member-role-name',
      'Same',
      '--management-role-name',
      'Same',
      '--enrollment-token',
      'a secret value',
    ]);
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stdout, describeRun(result)).toBe('');
    for (const flag of [
      '--external-id-prefix',
      '--targets',
      '--accounts',
      '--deployment-region',
      '--member-role-name',
      '--public-url',
    ]) {
      expect(result.stderr, describeRun(result)).toMatch(new RegExp(`^error: ${flag}: `, 'm'));
    }
    expect(result.stderr, describeRun(result)).not.toContain('a secret value');
  });

  it('refuses --member with --format terraform', async () => {
    const result = await runCli([
      'organization-template',
      '--partition',
      'aws',
      '--bundles',
      'default',
      '--member',
      '--format',
      'terraform',
    ]);
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stderr, describeRun(result)).toMatch(/^error: --member: /m);
  });
});
