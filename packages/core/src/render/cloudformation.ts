import { stringify as stringifyYaml } from 'yaml';
import type { PolicySet } from '../policy/policy-builder.ts';
import {
  oidcProviderArnPattern,
  pinnedPrincipal,
  trustPolicyShape,
  webIdentityTrustShape,
} from '../policy/trust-policy.ts';
import { CALLBACK_FUNCTION_RUNTIME, CALLBACK_FUNCTION_SOURCE } from './callback-function.ts';
import type { RoleBlueprint, WebIdentityBlueprint } from './role-blueprint.ts';

export type CfnValue = string | number | boolean | CfnValue[] | { [key: string]: CfnValue };
export type CfnTemplate = { [key: string]: CfnValue };

const CFN_PLACEHOLDERS: Record<string, string | undefined> = {
  partition: '${AWS::Partition}',
  account_id: '${AWS::AccountId}',
  role_name: '${RoleName}',
};

export interface CloudFormationOptions {
  /**
   * Makes the stack report the role back by itself: a custom resource whose function POSTs the role
   * ARN with this one-time token to `url` once the role and its policies exist.
   */
  callback?: { url: string; token: string };
}

/**
 * The CloudFormation template of a role blueprint: parameters for the external ID and role name, the
 * role, its managed policies, and the output `RoleArn`. Every ARN is built with ${AWS::Partition}, so
 * the template reads the same in every partition; the trusted principal is the only literal partition.
 * With `callback`, also the function and custom resource that send the role ARN to Onramp.
 */
export function renderCloudFormation(
  blueprint: RoleBlueprint,
  options: CloudFormationOptions = {},
): CfnTemplate {
  const { policySet } = blueprint;
  const policyIds = policySet.policies.map((_, i) => `Permissions${i + 1}`);
  const trust = blueprint.webIdentity
    ? keylessTrust(blueprint, blueprint.webIdentity)
    : hubTrust(blueprint);
  const parameters: Record<string, CfnValue> = {
    ...trust.leadingParameters,
    RoleName: {
      Type: 'String',
      Description: 'Name of the IAM role to create.',
      Default: blueprint.roleName,
      MinLength: 1,
      MaxLength: 64,
      AllowedPattern: '[\\w+=,.@-]+',
    },
    ...trust.trailingParameters,
  };
  const resources: Record<string, CfnValue> = {
    ...trust.resources,
    Role: {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: { Ref: 'RoleName' },
        Path: blueprint.rolePath,
        Description: truncate(blueprint.description, 1000),
        MaxSessionDuration: blueprint.maxSessionDuration,
        AssumeRolePolicyDocument: trust.assumeRolePolicy,
        ManagedPolicyArns: policyIds.map((id) => ({ Ref: id })),
        Tags: [{ Key: 'managed-by', Value: 'onramp' }],
      },
    },
  };
  Object.assign(
    resources,
    cfnManagedPolicies(policySet, {
      nameParameter: 'RoleName',
      path: blueprint.rolePath,
      platform: blueprint.catalogPlatform,
      placeholders: CFN_PLACEHOLDERS,
    }),
  );
  if (options.callback) {
    parameters.CallbackToken = {
      Type: 'String',
      Description: `One-time token the stack presents to ${blueprint.platform} when it reports the role. Keep it as it is.`,
      Default: options.callback.token,
      NoEcho: true,
    };
    Object.assign(
      resources,
      callbackResources(options.callback.url, policyIds, permissionsFingerprint(policySet), {
        platform: blueprint.platform,
      }),
    );
  }
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: truncate(
      `${blueprint.platform} ${blueprint.webIdentity ? 'keyless access role (OpenID Connect)' : 'access role'} for ${blueprint.partition.displayName}. ${blueprint.description}`,
      1024,
    ),
    Metadata: {
      'AWS::CloudFormation::Interface': {
        ParameterGroups: [
          {
            Label: { default: `Access for ${blueprint.platform}` },
            Parameters: Object.keys(parameters),
          },
        ],
      },
      Onramp: {
        ...(blueprint.webIdentity
          ? { Method: blueprint.method, Issuer: blueprint.webIdentity.issuer }
          : {}),
        Partition: blueprint.partition.id,
        Bundles: policySet.bundles.map((b) => b.id),
        Regions: [...policySet.regions],
      },
    },
    Parameters: parameters,
    ...(trust.conditions ? { Conditions: trust.conditions } : {}),
    Resources: resources,
    Outputs: {
      RoleArn: {
        Description: options.callback
          ? `The stack sends this to ${blueprint.platform} by itself; paste it only if asked.`
          : `Paste this into ${blueprint.platform} if it does not fill it in by itself.`,
        Value: { 'Fn::GetAtt': ['Role', 'Arn'] },
      },
    },
  };
}

interface CfnTrust {
  /** Parameters listed before RoleName, and after it. */
  leadingParameters: Record<string, CfnValue>;
  trailingParameters: Record<string, CfnValue>;
  conditions?: Record<string, CfnValue>;
  /** Resources the role's trust needs, listed before the role. */
  resources: Record<string, CfnValue>;
  assumeRolePolicy: CfnValue;
}

/** A role trusting the hub principal: the external ID as a parameter, and the hub's too when unknown. */
function hubTrust(blueprint: RoleBlueprint): CfnTrust {
  const leadingParameters: Record<string, CfnValue> = {
    ExternalId: {
      Type: 'String',
      Description: `The external ID ${blueprint.platform} presents when it assumes the role. Generated by ${blueprint.platform} for this connection; keep it as it is.`,
      Default: blueprint.externalId ?? '',
      MinLength: 2,
      MaxLength: 1224,
      AllowedPattern: '[\\w+=,.@:/-]*',
    },
    ...(blueprint.previousExternalId
      ? {
          PreviousExternalId: {
            Type: 'String',
            Description: `The external ID ${blueprint.platform} used before it was regenerated; still accepted until its grace period ends. Keep it as it is.`,
            Default: blueprint.previousExternalId,
            MinLength: 2,
            MaxLength: 1224,
            AllowedPattern: '[\\w+=,.@:/-]*',
          },
        }
      : {}),
  };
  const trailingParameters: Record<string, CfnValue> = blueprint.hub
    ? {}
    : {
        TrustedPrincipalArn: {
          Type: 'String',
          Description: `The ${blueprint.platform} principal allowed to assume the role, as shown in its console.`,
          AllowedPattern: `arn:${blueprint.partition.id}:iam::\\d{12}:(root|role/.+|user/.+)`,
          ConstraintDescription: `an IAM ARN in ${blueprint.partition.displayName} (arn:${blueprint.partition.id}:iam::…)`,
        },
      };
  const principal: CfnValue = blueprint.hub
    ? `arn:${blueprint.partition.id}:iam::${blueprint.hub.accountId}:root`
    : { Ref: 'TrustedPrincipalArn' };
  return {
    leadingParameters,
    trailingParameters,
    resources: {},
    assumeRolePolicy: trustPolicyShape<CfnValue>(
      principal,
      blueprint.previousExternalId
        ? [{ Ref: 'ExternalId' }, { Ref: 'PreviousExternalId' }]
        : { Ref: 'ExternalId' },
      pinnedPrincipal(blueprint.trustPolicy),
    ),
  };
}

/**
 * A keyless role: the account's IAM OIDC provider for Onramp's issuer, created by the stack unless the
 * tenant names one the account already has (IAM allows one provider per URL per account, so a second
 * Onramp stack in the same account must reuse the first one's), and the role trusting it.
 */
function keylessTrust(blueprint: RoleBlueprint, web: WebIdentityBlueprint): CfnTrust {
  const { partition, platform } = blueprint;
  return {
    leadingParameters: {},
    trailingParameters: {
      ExistingOidcProviderArn: {
        Type: 'String',
        Description: `Leave empty to create the account's OpenID Connect provider for ${web.issuer}. An account can have only one provider per URL: if IAM > Identity providers already lists ${web.conditionPrefix} (another ${platform} role, or an earlier stack that kept its provider), paste that provider's ARN here and make sure its audiences include ${web.audience}.`,
        Default: '',
        AllowedPattern: `(${oidcProviderArnPattern(partition.id, web.conditionPrefix)})?`,
        ConstraintDescription: `empty, or the ARN of this account's provider for ${web.issuer} (arn:${partition.id}:iam::<account ID>:oidc-provider/${web.conditionPrefix})`,
      },
    },
    conditions: {
      CreateOidcProvider: { 'Fn::Equals': [{ Ref: 'ExistingOidcProviderArn' }, ''] },
    },
    resources: {
      OidcProvider: {
        Type: 'AWS::IAM::OIDCProvider',
        Condition: 'CreateOidcProvider',
        // Kept when the stack is deleted or stops creating it: other roles in the account (another
        // connection's stack, given this provider's ARN) may trust it, and deleting it would break
        // them silently. A provider left behind grants nothing by itself; only a role trusting it does.
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          Url: web.issuer,
          ClientIdList: [web.audience],
          // No ThumbprintList: IAM checks the issuer's TLS certificate against its own trusted
          // certificate authorities, and fetches a thumbprint itself when none is given.
          Tags: [{ Key: 'managed-by', Value: 'onramp' }],
        },
      },
    },
    assumeRolePolicy: webIdentityTrustShape<CfnValue>(
      {
        'Fn::If': [
          'CreateOidcProvider',
          { Ref: 'OidcProvider' },
          { Ref: 'ExistingOidcProviderArn' },
        ],
      },
      web,
    ),
  };
}

/**
 * The set's managed policies (`Permissions1`…), named after the template's role or user name
 * parameter; the role or user lists them in its `ManagedPolicyArns`.
 */
export function cfnManagedPolicies(
  policySet: PolicySet,
  options: {
    /** The template parameter naming the role or user (`RoleName`, `UserName`, `MemberRoleName`…). */
    nameParameter: string;
    path: string;
    platform: string;
    placeholders: Record<string, string | undefined>;
  },
): Record<string, CfnValue> {
  const { nameParameter, path, platform, placeholders } = options;
  return Object.fromEntries(
    policySet.policies.map((policy, i) => [
      `Permissions${i + 1}`,
      {
        Type: 'AWS::IAM::ManagedPolicy',
        Properties: {
          ManagedPolicyName: { 'Fn::Sub': `\${${nameParameter}}-${policy.suffix}` },
          Path: path,
          Description: `Permissions ${i + 1} of ${policySet.policies.length} for ${platform}, managed by Onramp.`,
          PolicyDocument: toCfnPolicy(policy.document, path, placeholders),
        },
      },
    ]),
  );
}

/**
 * A short fingerprint of the role's permissions (bundles, regions, every policy document). The
 * callback resource carries it so that a stack update that changes the permissions changes the
 * resource too: CloudFormation calls a custom resource on Update only when its properties change,
 * and that call is how Onramp learns to check the role again.
 */
export function permissionsFingerprint(policySet: PolicySet): string {
  const text = JSON.stringify({
    bundles: policySet.bundles.map((b) => b.id),
    regions: policySet.regions,
    policies: policySet.policies.map((p) => p.document),
  });
  // FNV-1a, 32 bits twice (two seeds): no crypto in the core, and this only has to change.
  const hash = (seed: number) => {
    let h = seed;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h.toString(16).padStart(8, '0');
  };
  return `${hash(0x811c9dc5)}${hash(0x01000193)}`;
}

/**
 * The function that reports the role, its execution role (CloudWatch Logs only), and the custom
 * resource that runs it once the role and every one of its policies exist: a role reported earlier
 * could be validated before its permissions are attached. The role itself is a dependency through
 * `Fn::GetAtt Role.Arn`; naming it in DependsOn too is redundant (cfn-lint W3005). `names` renames
 * the token parameter and the role resource for templates with other names (an organization's).
 */
export function callbackResources(
  url: CfnValue,
  policyIds: string[],
  fingerprint: string,
  names: { tokenParameter?: string; roleResource?: string; platform: string },
): Record<string, CfnValue> {
  const { platform } = names;
  const tokenParameter = names.tokenParameter ?? 'CallbackToken';
  const roleResource = names.roleResource ?? 'Role';
  return {
    CallbackFunctionRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: `Lets the function that reports the role to ${platform} write its logs.`,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'lambda.amazonaws.com' },
              Action: 'sts:AssumeRole',
            },
          ],
        },
        ManagedPolicyArns: [
          {
            'Fn::Sub':
              'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
          },
        ],
        Tags: [{ Key: 'managed-by', Value: 'onramp' }],
      },
    },
    CallbackFunction: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Description: `Tells ${platform} which role this stack created; removed with the stack.`,
        Runtime: CALLBACK_FUNCTION_RUNTIME,
        Handler: 'index.handler',
        Timeout: 120,
        MemorySize: 128,
        Role: { 'Fn::GetAtt': ['CallbackFunctionRole', 'Arn'] },
        Code: { ZipFile: CALLBACK_FUNCTION_SOURCE },
        // The name the function's answers to CloudFormation use (the stack's events show them).
        Environment: { Variables: { PLATFORM_NAME: platform } },
        Tags: [{ Key: 'managed-by', Value: 'onramp' }],
      },
    },
    Callback: {
      Type: 'Custom::OnrampCallback',
      DependsOn: policyIds,
      Properties: {
        ServiceToken: { 'Fn::GetAtt': ['CallbackFunction', 'Arn'] },
        CallbackUrl: url,
        Token: { Ref: tokenParameter },
        RoleArn: { 'Fn::GetAtt': [roleResource, 'Arn'] },
        StackId: { Ref: 'AWS::StackId' },
        Permissions: fingerprint,
      },
    },
  };
}

/**
 * Fills placeholders with CloudFormation pseudo parameters. A string that needs one becomes Fn::Sub;
 * IAM policy variables in it (${aws:username}) are escaped as ${!…} so CloudFormation leaves them to IAM.
 */
export function toCfnPolicy(
  document: unknown,
  rolePath: string,
  placeholders: Record<string, string | undefined>,
): CfnValue {
  return substitute(document, rolePath, placeholders);
}

function substitute(
  value: unknown,
  rolePath: string,
  placeholders: Record<string, string | undefined>,
): CfnValue {
  if (typeof value === 'string') {
    if (!/\{\{(partition|account_id|role_name|role_path)\}\}/.test(value)) return value;
    const escaped = value.replace(/\$\{/g, () => '${!');
    const sub = escaped.replace(
      /\{\{(partition|account_id|role_name|role_path)\}\}/g,
      (_, name: string) => (name === 'role_path' ? rolePath : (placeholders[name] as string)),
    );
    return sub.includes('${') ? { 'Fn::Sub': sub } : sub;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, rolePath, placeholders));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substitute(v, rolePath, placeholders)]),
    );
  }
  return value as CfnValue;
}

export function renderCloudFormationJson(
  blueprint: RoleBlueprint,
  options: CloudFormationOptions = {},
): string {
  return formatCfnJson(renderCloudFormation(blueprint, options));
}

export function renderCloudFormationYaml(
  blueprint: RoleBlueprint,
  options: CloudFormationOptions = {},
): string {
  return formatCfnYaml(renderCloudFormation(blueprint, options));
}

/** A template as the JSON a person saves: indented, with a final newline. */
export function formatCfnJson(template: CfnTemplate): string {
  return `${JSON.stringify(template, null, 2)}\n`;
}

/** A template as YAML CloudFormation reads back exactly. */
export function formatCfnYaml(template: CfnTemplate): string {
  // YAML 1.1 output quotes strings such as '2010-09-09' or 'yes' that a 1.1 reader would retype.
  // No aliases: CloudFormation rejects them, and an object used twice would otherwise become one.
  return stringifyYaml(template, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });
}

export interface QuickCreateLinkInput {
  blueprint: RoleBlueprint;
  /** Where CloudFormation fetches the template. The AWS console accepts only Amazon S3 URLs here. */
  templateUrl: string;
  stackName?: string;
  region?: string;
  /** A keyless role: the provider the account already has for the issuer, when Onramp knows it. */
  existingOidcProviderArn?: string;
}

/** A link that opens the partition's console on "Quick create stack" with the parameters filled in. */
export function quickCreateLink(input: QuickCreateLinkInput): string {
  const { blueprint } = input;
  const region = input.region ?? blueprint.partition.defaultRegion;
  const query = new URLSearchParams({
    templateURL: input.templateUrl,
    stackName: input.stackName ?? defaultStackName(blueprint),
    ...(blueprint.externalId ? { param_ExternalId: blueprint.externalId } : {}),
    ...(blueprint.previousExternalId
      ? { param_PreviousExternalId: blueprint.previousExternalId }
      : {}),
    param_RoleName: blueprint.roleName,
    ...(blueprint.webIdentity && input.existingOidcProviderArn
      ? { param_ExistingOidcProviderArn: input.existingOidcProviderArn }
      : {}),
  });
  return `https://${blueprint.partition.consoleHost}/cloudformation/home?region=${encodeURIComponent(region)}#/stacks/quickcreate?${query.toString()}`;
}

export function defaultStackName(blueprint: RoleBlueprint): string {
  return `onramp-${blueprint.roleName}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 128);
}

/**
 * The AWS CLI commands that deploy the template and print the role ARN. For a keyless role, a comment
 * first says when to name the account's existing OpenID Connect provider (ExistingOidcProviderArn),
 * unless `existingOidcProviderArn` is given and already among the overrides.
 */
export function cloudFormationDeployCommand(
  blueprint: RoleBlueprint,
  options: {
    templateFile?: string;
    stackName?: string;
    region?: string;
    trustedPrincipalArn?: string;
    existingOidcProviderArn?: string;
  } = {},
): string {
  const region = options.region ?? blueprint.partition.defaultRegion;
  const stack = options.stackName ?? defaultStackName(blueprint);
  const web = blueprint.webIdentity;
  const overrides = web
    ? [
        `RoleName=${blueprint.roleName}`,
        ...(options.existingOidcProviderArn
          ? [`ExistingOidcProviderArn=${options.existingOidcProviderArn}`]
          : []),
      ]
    : [
        `ExternalId=${blueprint.externalId}`,
        ...(blueprint.previousExternalId
          ? [`PreviousExternalId=${blueprint.previousExternalId}`]
          : []),
        `RoleName=${blueprint.roleName}`,
      ];
  if (!web && !blueprint.hub)
    overrides.push(
      `TrustedPrincipalArn=${options.trustedPrincipalArn ?? '<trusted principal ARN>'}`,
    );
  const providerNote =
    web && !options.existingOidcProviderArn
      ? [
          `# The stack creates the account's OpenID Connect provider for ${web.issuer}. An account has`,
          '# at most one per URL: if IAM > Identity providers already lists it, add to the overrides',
          `# ExistingOidcProviderArn=arn:${blueprint.partition.id}:iam::<account ID>:oidc-provider/${web.conditionPrefix}`,
        ]
      : [];
  return [
    ...providerNote,
    'aws cloudformation deploy \\',
    `  --region ${region} \\`,
    `  --stack-name ${stack} \\`,
    `  --template-file ${shellQuote(options.templateFile ?? 'onramp-role.yaml')} \\`,
    '  --capabilities CAPABILITY_NAMED_IAM \\',
    `  --parameter-overrides ${overrides.map(shellQuote).join(' ')}`,
    '',
    `aws cloudformation describe-stacks --region ${region} --stack-name ${stack} \\`,
    `  --query "Stacks[0].Outputs[?OutputKey=='RoleArn'].OutputValue" --output text`,
  ].join('\n');
}

/**
 * The AWS CLI commands that preview an update of an existing stack with a new template: a change
 * set, then its description. The parameters are given again (a regenerated external ID may add one);
 * the callback token keeps the template's default.
 */
export function cloudFormationChangeSetCommand(
  blueprint: RoleBlueprint,
  options: { stackName: string; changeSetName: string; templateFile: string; region?: string },
): string {
  const region = options.region ?? blueprint.partition.defaultRegion;
  const parameter = (key: string, value: string) =>
    shellQuote(`ParameterKey=${key},ParameterValue=${value}`);
  const parameters = blueprint.webIdentity
    ? [
        parameter('RoleName', blueprint.roleName),
        // The provider choice stays as deployed: set back to empty, the stack would try to create a
        // second provider for the URL, which IAM refuses.
        shellQuote('ParameterKey=ExistingOidcProviderArn,UsePreviousValue=true'),
      ]
    : [
        parameter('ExternalId', blueprint.externalId ?? ''),
        ...(blueprint.previousExternalId
          ? [parameter('PreviousExternalId', blueprint.previousExternalId)]
          : []),
        parameter('RoleName', blueprint.roleName),
      ];
  const stack = shellQuote(options.stackName);
  const changeSet = shellQuote(options.changeSetName);
  return [
    'aws cloudformation create-change-set \\',
    `  --region ${region} \\`,
    `  --stack-name ${stack} \\`,
    `  --change-set-name ${changeSet} \\`,
    `  --template-body ${shellQuote(`file://${options.templateFile}`)} \\`,
    '  --capabilities CAPABILITY_NAMED_IAM \\',
    `  --parameters ${parameters.join(' ')}`,
    '',
    `aws cloudformation wait change-set-create-complete --region ${region} --stack-name ${stack} --change-set-name ${changeSet}`,
    `aws cloudformation describe-change-set --region ${region} --stack-name ${stack} --change-set-name ${changeSet} \\`,
    `  --query "Changes[].ResourceChange.[Action,LogicalResourceId,Replacement]" --output table`,
  ].join('\n');
}

/**
 * A link that opens the partition's console on "Update stack" for an existing stack, with the new
 * template (which the console fetches only from Amazon S3) already chosen.
 */
export function updateStackLink(input: {
  /** A role's or an organization's blueprint: only its partition is used. */
  blueprint: Pick<RoleBlueprint, 'partition'>;
  templateUrl: string;
  /** The stack's ID (its ARN) or name. */
  stack: string;
  region?: string;
}): string {
  const region = input.region ?? input.blueprint.partition.defaultRegion;
  const query = new URLSearchParams({ stackId: input.stack, templateURL: input.templateUrl });
  return `https://${input.blueprint.partition.consoleHost}/cloudformation/home?region=${encodeURIComponent(region)}#/stacks/update/template?${query.toString()}`;
}

export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}
