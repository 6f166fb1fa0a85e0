import { generateExternalId } from '@onramp/core';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { describeRun, fixedRandomBytes, parseJsonOutput, runCli } from './testing.ts';

interface CfnTemplate {
  Parameters: Record<string, { Default?: unknown }>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  Outputs: Record<string, { Value: unknown }>;
}

const generatedExternalId = generateExternalId(fixedRandomBytes(32));

describe('onramp template cloudformation', () => {
  it('prints YAML with the RoleArn output; the deploy command and notes go to stderr', async () => {
    const result = await runCli([
      'template',
      'cloudformation',
      '--partition',
      'aws-us-gov',
      '--bundles',
      'default',
    ]);
    expect(result.code, describeRun(result)).toBe(0);
    const template = parseYaml(result.stdout) as CfnTemplate;
    expect(template.Outputs.RoleArn?.Value, describeRun(result)).toEqual({
      'Fn::GetAtt': ['Role', 'Arn'],
    });
    expect(template.Resources.Role?.Type, describeRun(result)).toBe('AWS::IAM::Role');
    // No hub principal: the template asks for it.
    expect(template.Parameters.TrustedPrincipalArn, describeRun(result)).toBeDefined();
    expect(template.Parameters.ExternalId?.Default, describeRun(result)).toBe(generatedExternalId);

    expect(result.stdout, describeRun(result)).not.toContain('aws cloudformation deploy');
    expect(result.stderr, describeRun(result)).toContain('aws cloudformation deploy \\');
    expect(result.stderr, describeRun(result)).toContain('--region us-gov-west-1');
    expect(result.stderr, describeRun(result)).toContain(`generated one: ${generatedExternalId}`);
    expect(result.stderr, describeRun(result)).toContain('no --hub-principal given');
  });

  it('prints JSON with --format json, trusting the hub principal given', async () => {
    const result = await runCli([
      'template',
      'cloudformation',
      '--partition',
      'aws',
      '--bundles',
      'nodes-ec2',
      '--hub-principal',
      '111122223333',
      '--external-id',
      'onramp-fixed',
      '--role-name',
      'AcmeAccess',
      '--max-session-duration',
      '7200',
      '--format',
      'json',
    ]);
    expect(result.code, describeRun(result)).toBe(0);
    const template = parseJsonOutput(result) as CfnTemplate;
    expect(template.Parameters.TrustedPrincipalArn, describeRun(result)).toBeUndefined();
    expect(template.Parameters.RoleName?.Default, describeRun(result)).toBe('AcmeAccess');
    expect(template.Parameters.ExternalId?.Default, describeRun(result)).toBe('onramp-fixed');
    expect(template.Resources.Role?.Properties.MaxSessionDuration, describeRun(result)).toBe(7200);
    expect(JSON.stringify(template.Resources.Role), describeRun(result)).toContain(
      'arn:aws:iam::111122223333:root',
    );
    expect(result.stderr, describeRun(result)).toContain('--template-file onramp-role.json');
    expect(result.stderr, describeRun(result)).not.toContain('note:');
  });

  it('reports every bad role option at once', async () => {
    const result = await runCli([
      'template',
      'cloudformation',
      '--partition',
      'aws',
      '--bundles',
      'default',
      '--role-name',
      'has space',
      '--max-session-duration',
      '60',
      '--external-id',
      'x',
      '--hub-principal',
      'arn:aws-cn:iam::111122223333:root',
    ]);
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stdout, describeRun(result)).toBe('');
    for (const flag of [
      '--role-name',
      '--max-session-duration',
      '--external-id',
      '--hub-principal',
    ]) {
      expect(result.stderr, describeRun(result)).toMatch(new RegExp(`^error: ${flag}: `, 'm'));
    }
  });
});

describe('onramp template terraform', () => {
  it('prints HCL with the role_arn output, asking for the principal when none is given', async () => {
    const result = await runCli([
      'template',
      'terraform',
      '--partition',
      'aws',
      '--bundles',
      'default',
    ]);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout, describeRun(result)).toContain('output "role_arn"');
    expect(result.stdout, describeRun(result)).toContain('variable "trusted_principal_arn"');
    expect(result.stderr, describeRun(result)).toContain('the variable trusted_principal_arn');
  });

  it('names the hub principal when given, in aws-cn with --bundles all', async () => {
    const result = await runCli([
      'template',
      'terraform',
      '--partition',
      'aws-cn',
      '--bundles',
      'all',
      '--hub-principal',
      '111122223333',
    ]);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout, describeRun(result)).not.toContain('trusted_principal_arn');
    expect(result.stdout, describeRun(result)).toContain('arn:aws-cn:iam::111122223333:root');
    expect(result.stdout, describeRun(result)).toContain(
      '# Bundles: cost-inventory, kubernetes-clusters, nodes-ec2.',
    );
  });
});

describe('onramp template steps', () => {
  it('prints numbered console steps with the values to paste', async () => {
    const result = await runCli([
      'template',
      'steps',
      '--partition',
      'aws',
      '--bundles',
      'default',
      '--hub-principal',
      '111122223333',
      '--external-id',
      'onramp-fixed',
    ]);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout, describeRun(result)).toMatch(/^1\. Create the permissions policy$/m);
    expect(result.stdout, describeRun(result)).toContain('External ID: onramp-fixed');
    expect(result.stdout, describeRun(result)).toContain('Trusted account ID: 111122223333');
  });

  it('requires --hub-principal, saying why', async () => {
    const result = await runCli([
      'template',
      'steps',
      '--partition',
      'aws',
      '--bundles',
      'default',
    ]);
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stdout, describeRun(result)).toBe('');
    expect(result.stderr, describeRun(result)).toContain(
      'error: --hub-principal: The manual steps need the principal that will assume the role',
    );
  });
});

describe('onramp template', () => {
  it('exits 2 without a kind, showing the kinds', async () => {
    const result = await runCli(['template']);
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stderr, describeRun(result)).toContain('cloudformation');
    expect(result.stderr, describeRun(result)).toContain('terraform');
  });

  it('refuses customised bundles in aws-us-gov', async () => {
    const result = await runCli([
      'template',
      'terraform',
      '--partition',
      'aws-us-gov',
      '--bundles',
      'nodes-ec2,kubernetes-eks',
    ]);
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stderr, describeRun(result)).toContain(
      'error: --bundles: Permissions cannot be customised in AWS GovCloud (US)',
    );
  });
});

describe('onramp template --method oidc_role', () => {
  const keyless = [
    '--bundles',
    'default',
    '--method',
    'oidc_role',
    '--issuer',
    'https://onramp.example.com/oidc',
    '--subject',
    'tenant:ten_1:connection:con_1',
  ];

  it('prints a keyless CloudFormation template; the deploy command tells when to name an existing provider', async () => {
    const result = await runCli([
      'template',
      'cloudformation',
      '--partition',
      'aws-cn',
      ...keyless,
    ]);
    expect(result.code, describeRun(result)).toBe(0);
    const template = parseYaml(result.stdout) as CfnTemplate;
    expect(Object.keys(template.Parameters), describeRun(result)).toEqual([
      'RoleName',
      'ExistingOidcProviderArn',
    ]);
    expect(template.Resources.OidcProvider?.Properties, describeRun(result)).toMatchObject({
      Url: 'https://onramp.example.com/oidc',
      ClientIdList: ['sts.amazonaws.com.cn'],
    });
    expect(template.Resources.Role?.Properties.MaxSessionDuration, describeRun(result)).toBe(43200);
    expect(result.stderr, describeRun(result)).toContain(
      '# ExistingOidcProviderArn=arn:aws-cn:iam::<account ID>:oidc-provider/onramp.example.com/oidc',
    );
    expect(result.stderr, describeRun(result)).toContain(
      '--parameter-overrides RoleName=OnrampRole',
    );
    // No external ID generated, no principal to fill in.
    expect(result.stderr, describeRun(result)).not.toContain('note:');
  });

  it('prints keyless Terraform with a shorter session when asked', async () => {
    const result = await runCli([
      'template',
      'terraform',
      '--partition',
      'aws-us-gov',
      ...keyless,
      '--max-session-duration',
      '3600',
    ]);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout, describeRun(result)).toContain(
      'resource "aws_iam_openid_connect_provider" "onramp" {',
    );
    expect(result.stdout, describeRun(result)).toContain('max_session_duration = 3600');
    expect(result.stdout, describeRun(result)).not.toContain('external_id');
  });

  it('prints the steps with the account ID filled into the trust policy, without a hub principal', async () => {
    const result = await runCli([
      'template',
      'steps',
      '--partition',
      'aws',
      ...keyless,
      '--account-id',
      '123456789012',
    ]);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout, describeRun(result)).toMatch(/^1\. Add the identity provider$/m);
    expect(result.stdout, describeRun(result)).toContain(
      '"Federated": "arn:aws:iam::123456789012:oidc-provider/onramp.example.com/oidc"',
    );
    expect(result.stdout, describeRun(result)).toContain('Maximum session duration: 12 hours');
  });

  it('names each bad keyless flag, and --account-id without a keyless role', async () => {
    const result = await runCli([
      'template',
      'steps',
      '--partition',
      'aws',
      '--bundles',
      'default',
      '--method',
      'oidc_role',
      '--issuer',
      'https://onramp.example.com/oidc/',
      '--subject',
      'tenant:*',
      '--account-id',
      '12',
      '--external-id',
      'onramp-x',
    ]);
    expect(result.code, describeRun(result)).toBe(2);
    for (const flag of ['--issuer', '--subject', '--account-id', '--external-id']) {
      expect(result.stderr, describeRun(result)).toMatch(new RegExp(`^error: ${flag}: `, 'm'));
    }
    expect(result.stderr, describeRun(result)).not.toContain('--hub-principal');
    const role = await runCli([
      'template',
      'steps',
      '--partition',
      'aws',
      '--bundles',
      'default',
      '--hub-principal',
      '111122223333',
      '--account-id',
      '123456789012',
    ]);
    expect(role.code, describeRun(role)).toBe(2);
    expect(role.stderr, describeRun(role)).toMatch(/^error: --account-id: /m);
  });
});
