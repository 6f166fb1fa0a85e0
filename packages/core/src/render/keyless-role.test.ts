import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { defaultCatalog, issuesOf } from '../../test/fixtures.ts';
import { webIdentityAudience } from '../identifiers.ts';
import { PARTITION_IDS, type PartitionId } from '../partitions/partitions.ts';
import {
  cloudFormationChangeSetCommand,
  cloudFormationDeployCommand,
  quickCreateLink,
  renderCloudFormation,
  renderCloudFormationJson,
  renderCloudFormationYaml,
} from './cloudformation.ts';
import { formatSteps, renderRoleSteps } from './manual-steps.ts';
import { createRoleBlueprint } from './role-blueprint.ts';
import { renderTerraform } from './terraform.ts';

const catalog = await defaultCatalog();
const ISSUER = 'https://onramp.example.com/oidc';
const SUBJECT = 'tenant:ten_golden:connection:con_golden';
const CALLBACK = {
  url: 'https://onramp.example.com/v1/callbacks/cloudformation',
  token: 'onrcb_golden-callback-token',
};

const keylessFor = (
  partition: PartitionId,
  extra: Partial<Parameters<typeof createRoleBlueprint>[0]> = {},
) =>
  createRoleBlueprint({
    catalog,
    selection: { partition, bundles: 'default' },
    webIdentity: { issuer: ISSUER, audience: webIdentityAudience(partition), subject: SUBJECT },
    ...extra,
  });

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> } & object>;

describe.each(PARTITION_IDS)('the %s keyless role, default bundles', (partition) => {
  const blueprint = keylessFor(partition);
  const audience = partition === 'aws-cn' ? 'sts.amazonaws.com.cn' : 'sts.amazonaws.com';

  it('renders CloudFormation, Terraform and the manual steps as reviewed (golden files)', async () => {
    const yaml = renderCloudFormationYaml(blueprint);
    expect(parseYaml(yaml)).toEqual(JSON.parse(renderCloudFormationJson(blueprint)));
    await expect(yaml).toMatchFileSnapshot(`__golden__/${partition}-keyless.cfn.yaml`);
    await expect(renderTerraform(blueprint)).toMatchFileSnapshot(
      `__golden__/${partition}-keyless.tf`,
    );
    await expect(formatSteps(renderRoleSteps(blueprint))).toMatchFileSnapshot(
      `__golden__/${partition}-keyless.steps.txt`,
    );
  });

  it('trusts the provider it creates, or the one named, for this audience and subject only', () => {
    expect(blueprint).toMatchObject({
      method: 'oidc_role',
      externalId: undefined,
      hub: undefined,
      maxSessionDuration: 43200,
      webIdentity: { issuer: ISSUER, conditionPrefix: 'onramp.example.com/oidc', audience },
    });
    const template = renderCloudFormation(blueprint);
    const parameters = template.Parameters as Record<string, Record<string, unknown>>;
    expect(Object.keys(parameters)).toEqual(['RoleName', 'ExistingOidcProviderArn']);
    expect(parameters.ExistingOidcProviderArn).toMatchObject({ Type: 'String', Default: '' });
    const pattern = new RegExp(`^${parameters.ExistingOidcProviderArn?.AllowedPattern}$`);
    expect(pattern.test('')).toBe(true);
    expect(
      pattern.test(`arn:${partition}:iam::123456789012:oidc-provider/onramp.example.com/oidc`),
    ).toBe(true);
    for (const other of [
      `arn:${partition}:iam::123456789012:oidc-provider/token.actions.githubusercontent.com`,
      `arn:${partition}:iam::123456789012:oidc-provider/onrampXexample.com/oidc`,
      `arn:${partition}:iam::123456789012:oidc-provider/onramp.example.com/oidc/more`,
      `arn:${partition === 'aws' ? 'aws-cn' : 'aws'}:iam::123456789012:oidc-provider/onramp.example.com/oidc`,
    ]) {
      expect(pattern.test(other), other).toBe(false);
    }
    expect(template.Conditions).toEqual({
      CreateOidcProvider: { 'Fn::Equals': [{ Ref: 'ExistingOidcProviderArn' }, ''] },
    });
    const resources = template.Resources as Resources;
    expect(resources.OidcProvider).toEqual({
      Type: 'AWS::IAM::OIDCProvider',
      Condition: 'CreateOidcProvider',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Url: ISSUER,
        ClientIdList: [audience],
        Tags: [{ Key: 'managed-by', Value: 'onramp' }],
      },
    });
    expect(resources.Role?.Properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'OnrampWebIdentity',
          Effect: 'Allow',
          Principal: {
            Federated: {
              'Fn::If': [
                'CreateOidcProvider',
                { Ref: 'OidcProvider' },
                { Ref: 'ExistingOidcProviderArn' },
              ],
            },
          },
          Action: ['sts:AssumeRoleWithWebIdentity'],
          Condition: {
            StringEquals: {
              'onramp.example.com/oidc:aud': audience,
              'onramp.example.com/oidc:sub': SUBJECT,
            },
          },
        },
      ],
    });
    expect(resources.Role?.Properties.MaxSessionDuration).toBe(43200);
    // No external ID and no hub anywhere; every ARN outside the parameter's pattern is built with
    // ${AWS::Partition}.
    const text = JSON.stringify(template.Resources);
    expect(text).not.toMatch(/ExternalId|TrustedPrincipal|sts:AssumeRole"|TagSession/);
    expect(text).not.toMatch(/arn:aws/);
  });

  it('reuses the permission policies, callback and outputs of a role trusting the hub', () => {
    const hubRole = createRoleBlueprint({
      catalog,
      selection: { partition, bundles: 'default' },
      externalId: 'onramp-golden-external-id',
      hubPrincipal: '111122223333',
    });
    const keyless = renderCloudFormation(blueprint, { callback: CALLBACK });
    const hub = renderCloudFormation(hubRole, { callback: CALLBACK });
    const pick = (template: typeof hub) => {
      const { OidcProvider: _provider, Role: _role, ...rest } = template.Resources as Resources;
      return rest;
    };
    expect(pick(keyless)).toEqual(pick(hub));
    expect(keyless.Outputs).toEqual(hub.Outputs);
    expect(keyless.Parameters as object).toHaveProperty('CallbackToken');
  });

  it('renders Terraform with a count on the provider and the trust through one()', () => {
    const tf = renderTerraform(blueprint);
    expect(tf).toContain('variable "existing_oidc_provider_arn" {');
    expect(tf).toContain('count = var.existing_oidc_provider_arn == "" ? 1 : 0');
    expect(tf).toContain(`client_id_list = [\n    "${audience}",\n  ]`);
    expect(tf).toContain('Federated = local.oidc_provider_arn');
    expect(tf).toContain(`"onramp.example.com/oidc:sub" = "${SUBJECT}"`);
    expect(tf).toContain('max_session_duration = 43200');
    expect(tf).not.toMatch(/external_id|trusted_principal_arn|thumbprint/);
    expect(tf).toContain('version = ">= 5.81"');
  });

  it('fills the account ID into the manual trust policy when it is known', () => {
    const steps = renderRoleSteps(blueprint, { accountId: '123456789012' });
    const trust = steps.find((s) => s.title === 'Create the role and its trust policy');
    const document = JSON.parse(trust?.values.find((v) => v.label === 'Trust policy')?.value ?? '');
    expect(document.Statement[0].Principal).toEqual({
      Federated: `arn:${partition}:iam::123456789012:oidc-provider/onramp.example.com/oidc`,
    });
    expect(trust?.detail).not.toContain('<your account ID>');
    expect(steps.map((s) => s.title)).toContain('Set the maximum session duration');
  });

  it('deploys and updates with the parameter for an existing provider', () => {
    const deploy = cloudFormationDeployCommand(blueprint);
    expect(deploy).toContain('--parameter-overrides RoleName=OnrampRole\n');
    expect(deploy).toContain(
      `# ExistingOidcProviderArn=arn:${partition}:iam::<account ID>:oidc-provider/onramp.example.com/oidc`,
    );
    const named = cloudFormationDeployCommand(blueprint, {
      existingOidcProviderArn: `arn:${partition}:iam::123456789012:oidc-provider/onramp.example.com/oidc`,
    });
    expect(named).not.toContain('#');
    expect(named).toContain(
      `--parameter-overrides RoleName=OnrampRole ExistingOidcProviderArn=arn:${partition}:iam::123456789012:oidc-provider/onramp.example.com/oidc`,
    );
    expect(
      cloudFormationChangeSetCommand(blueprint, {
        stackName: 's',
        changeSetName: 'c',
        templateFile: 't.yaml',
      }),
    ).toContain(
      '--parameters ParameterKey=RoleName,ParameterValue=OnrampRole ParameterKey=ExistingOidcProviderArn,UsePreviousValue=true',
    );
    const link = new URL(
      quickCreateLink({ blueprint, templateUrl: 'https://b.s3.amazonaws.com/t' }),
    );
    const query = new URLSearchParams(link.hash.split('?')[1]);
    expect(query.has('param_ExternalId')).toBe(false);
    expect(query.get('param_RoleName')).toBe('OnrampRole');
    expect(query.has('param_ExistingOidcProviderArn')).toBe(false);
    const existing = `arn:${partition}:iam::123456789012:oidc-provider/onramp.example.com/oidc`;
    const prefilled = new URL(
      quickCreateLink({
        blueprint,
        templateUrl: 'https://b.s3.amazonaws.com/t',
        existingOidcProviderArn: existing,
      }),
    );
    expect(
      new URLSearchParams(prefilled.hash.split('?')[1]).get('param_ExistingOidcProviderArn'),
    ).toBe(existing);
  });
});

describe('a keyless role blueprint', () => {
  it('ignores an external ID, a previous one and a hub passed along', () => {
    const blueprint = keylessFor('aws', {
      externalId: 'onramp-ignored',
      previousExternalId: 'onramp-older',
      hubPrincipal: '111122223333',
    });
    expect(blueprint).toMatchObject({
      externalId: undefined,
      previousExternalId: undefined,
      hub: undefined,
    });
    expect(renderCloudFormationYaml(blueprint)).toBe(renderCloudFormationYaml(keylessFor('aws')));
  });

  it('accepts a null external ID from a keyless connection', () => {
    expect(keylessFor('aws-us-gov', { externalId: null }).method).toBe('oidc_role');
  });

  it('keeps a shorter session when asked, and refuses one out of range', async () => {
    expect(keylessFor('aws', { maxSessionDuration: 3600 }).maxSessionDuration).toBe(3600);
    expect(
      formatSteps(renderRoleSteps(keylessFor('aws', { maxSessionDuration: 3600 }))),
    ).not.toContain('maximum session duration');
    expect(
      (await issuesOf(() => keylessFor('aws', { maxSessionDuration: 50000 }))).map((i) => i.field),
    ).toEqual(['maxSessionDuration']);
  });

  it.each([
    ['http://onramp.example.com/oidc', 'https://'],
    ['https://onramp.example.com:8443/oidc', 'port'],
    ['https://onramp.example.com:443/oidc', 'port'],
    ['https://onramp.example.com/oidc?x=1', 'query'],
    ['https://onramp.example.com/oidc#top', 'fragment'],
    ['https://onramp.example.com/oidc/', 'slash'],
    ['https://onramp.example.com/', 'slash'],
    ['https://Onramp.Example.com/oidc', 'lower case'],
    ['https://user@onramp.example.com/oidc', 'lower case'],
    ['https://onramp.example.com/o%69dc', 'path'],
    ['https://onramp.example.com//oidc', 'path'],
    ['https://onramp.example.com/a/../oidc', 'segments'],
    ['https://localhost/oidc', 'DNS name'],
    [`https://onramp.example.com/${'a'.repeat(240)}`, '255'],
    ['', 'required'],
  ])('refuses the issuer %s, naming the field', async (issuer, words) => {
    const issues = await issuesOf(() =>
      keylessFor('aws', {
        webIdentity: { issuer, audience: 'sts.amazonaws.com', subject: SUBJECT },
      }),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]?.field).toBe('webIdentity.issuer');
    expect(issues[0]?.message).toContain(words);
  });

  it('reports the audience, subject, role name and duration at once', async () => {
    const issues = await issuesOf(() =>
      keylessFor('aws', {
        webIdentity: { issuer: ISSUER, audience: '', subject: 'tenant:${aws:username}' },
        roleName: 'has space',
        maxSessionDuration: 60,
      }),
    );
    expect(issues.map((i) => i.field).sort()).toEqual([
      'maxSessionDuration',
      'roleName',
      'webIdentity.audience',
      'webIdentity.subject',
    ]);
  });

  it.each(['tenant:*', 'tenant:a?', 'tenant "x"', 'a b', 'x'.repeat(256)])(
    'refuses the subject %s (wildcards, variables, quotes, spaces, length)',
    async (subject) => {
      const issues = await issuesOf(() =>
        keylessFor('aws', {
          webIdentity: { issuer: ISSUER, audience: 'sts.amazonaws.com', subject },
        }),
      );
      expect(issues.map((i) => i.field)).toEqual(['webIdentity.subject']);
    },
  );
});
