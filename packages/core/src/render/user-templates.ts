import {
  type CfnTemplate,
  type CfnValue,
  cfnManagedPolicies,
  formatCfnJson,
  formatCfnYaml,
  truncate,
} from './cloudformation.ts';
import { attr, blank, block, type HclItem, hclRaw, renderHclFile } from './hcl.ts';
import { concretePolicies, type ManualStep } from './manual-steps.ts';
import { managedPolicyResources, partitionGuard } from './terraform.ts';
import { type UserBlueprint, userConsoleLinks } from './user-blueprint.ts';

// `role_name` in a catalog statement names the principal's own name: here, the user's.
const CFN_PLACEHOLDERS: Record<string, string> = {
  partition: '${AWS::Partition}',
  account_id: '${AWS::AccountId}',
  role_name: '${UserName}',
};
const TF_PLACEHOLDERS: Record<string, string> = {
  partition: '${data.aws_partition.current.partition}',
  account_id: '${data.aws_caller_identity.current.account_id}',
  role_name: '${var.user_name}',
};

/**
 * The CloudFormation template of the dedicated user: a `UserName` parameter, the user, its managed
 * policies, and the outputs `UserName` and `UserArn`. No AWS::IAM::AccessKey: its secret would be
 * readable by anyone who can read the stack; the key is made in the IAM console instead.
 */
export function renderUserCloudFormation(blueprint: UserBlueprint): CfnTemplate {
  const { policySet } = blueprint;
  const policyIds = policySet.policies.map((_, i) => `Permissions${i + 1}`);
  const resources: Record<string, CfnValue> = {
    User: {
      Type: 'AWS::IAM::User',
      Properties: {
        UserName: { Ref: 'UserName' },
        Path: blueprint.userPath,
        ManagedPolicyArns: policyIds.map((id) => ({ Ref: id })),
        Tags: [{ Key: 'managed-by', Value: 'onramp' }],
      },
    },
  };
  Object.assign(
    resources,
    cfnManagedPolicies(policySet, {
      nameParameter: 'UserName',
      path: blueprint.userPath,
      platform: blueprint.catalogPlatform,
      placeholders: CFN_PLACEHOLDERS,
    }),
  );
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: truncate(
      `${blueprint.platform} dedicated IAM user for ${blueprint.partition.displayName}. ${blueprint.description} Create its access key in the IAM console afterwards.`,
      1024,
    ),
    Metadata: {
      Onramp: {
        Partition: blueprint.partition.id,
        Bundles: policySet.bundles.map((b) => b.id),
        Regions: [...policySet.regions],
      },
    },
    Parameters: {
      UserName: {
        Type: 'String',
        Description: `Name of the IAM user ${blueprint.platform} signs in as.`,
        Default: blueprint.userName,
        MinLength: 1,
        MaxLength: 64,
        AllowedPattern: '[\\w+=,.@-]+',
      },
    },
    Resources: resources,
    Outputs: {
      UserName: {
        Description: `Create an access key for this user in the IAM console, then give it to ${blueprint.platform}.`,
        Value: { Ref: 'User' },
      },
      UserArn: {
        Description: 'The user’s ARN.',
        Value: { 'Fn::GetAtt': ['User', 'Arn'] },
      },
    },
  };
}

export function renderUserCloudFormationYaml(blueprint: UserBlueprint): string {
  return formatCfnYaml(renderUserCloudFormation(blueprint));
}

export function renderUserCloudFormationJson(blueprint: UserBlueprint): string {
  return formatCfnJson(renderUserCloudFormation(blueprint));
}

/**
 * The same user as Terraform: the user, one aws_iam_policy per managed policy with its attachment, and
 * the outputs. No aws_iam_access_key, for the same reason as the template: its secret would be in the
 * state file. A precondition stops an apply against the wrong partition before anything is created.
 */
export function renderUserTerraform(blueprint: UserBlueprint): string {
  const { policySet, partition } = blueprint;
  const items: HclItem[] = [
    block(
      'terraform',
      [],
      [
        attr('required_version', '>= 1.3'),
        blank,
        block(
          'required_providers',
          [],
          [attr('aws', { source: 'hashicorp/aws', version: '>= 5.0' })],
        ),
      ],
    ),
    blank,
    block(
      'variable',
      ['user_name'],
      [
        attr('description', `Name of the IAM user ${blueprint.platform} signs in as.`),
        attr('type', hclRaw('string')),
        attr('default', blueprint.userName),
        blank,
        block(
          'validation',
          [],
          [
            attr('condition', hclRaw('can(regex("^[\\\\w+=,.@-]{1,64}$", var.user_name))')),
            attr('error_message', 'A user name is 1 to 64 letters, digits and + = , . @ _ -.'),
          ],
        ),
      ],
    ),
    blank,
    block('data', ['aws_partition', 'current'], []),
    blank,
    block('data', ['aws_caller_identity', 'current'], []),
    blank,
    block(
      'resource',
      ['aws_iam_user', 'onramp'],
      [
        attr('name', hclRaw('var.user_name')),
        attr('path', blueprint.userPath),
        blank,
        attr('tags', { 'managed-by': 'onramp' }),
        blank,
        partitionGuard(partition),
      ],
    ),
  ];
  items.push(
    ...managedPolicyResources(policySet, {
      principal: 'user',
      path: blueprint.userPath,
      platform: blueprint.catalogPlatform,
      placeholders: TF_PLACEHOLDERS,
    }),
  );
  items.push(
    blank,
    block(
      'output',
      ['user_name'],
      [
        attr(
          'description',
          `Create an access key for this user in the IAM console, then give it to ${blueprint.platform}.`,
        ),
        attr('value', hclRaw('aws_iam_user.onramp.name')),
      ],
    ),
    blank,
    block(
      'output',
      ['user_arn'],
      [attr('description', 'The user’s ARN.'), attr('value', hclRaw('aws_iam_user.onramp.arn'))],
    ),
  );
  const header = [
    `# ${blueprint.platform} dedicated IAM user for ${partition.displayName}, generated by ${blueprint.platform}.`,
    `# Bundles: ${policySet.bundles.map((b) => b.id).join(', ') || 'none (validation only)'}.`,
    ...(policySet.regions.length
      ? [`# Regional services limited to: ${policySet.regions.join(', ')}.`]
      : []),
    '# Apply with: terraform init && terraform apply. It creates no access key (its secret would be in',
    `# the state): create one for the user in the IAM console and give it to ${blueprint.platform}.`,
    '',
  ];
  return `${header.join('\n')}\n${renderHclFile(items)}`;
}

/**
 * Tutum's "create a tutum user" done by hand, step by step: the policy, the user, then the access key
 * made in the console. Account-specific ARNs use `*` for the account, as in the role's steps.
 */
export function renderUserSteps(blueprint: UserBlueprint): ManualStep[] {
  const { partition, policySet, platform } = blueprint;
  const iam = `https://${partition.consoleHost}/iam/home`;
  const links = userConsoleLinks(blueprint);
  const documents = concretePolicies(policySet, { roleName: blueprint.userName, rolePath: '/' });
  const policyName = (i: number) => `${blueprint.userName}-${policySet.policies[i]?.suffix}`;
  const steps: ManualStep[] = documents.map((document, i) => ({
    title:
      documents.length > 1
        ? `Create permissions policy ${i + 1} of ${documents.length}`
        : 'Create the permissions policy',
    detail:
      `Sign in to the ${partition.displayName} account you are connecting. In IAM, open Policies, choose ` +
      'Create policy, switch to the JSON editor, replace its content with this document, and choose Next. ' +
      'Name the policy as shown and choose Create policy.',
    values: [
      { label: 'Policy name', value: policyName(i), format: 'text' },
      { label: 'Policy document', value: JSON.stringify(document, null, 2), format: 'json' },
    ],
    link: `${iam}#/policies/create`,
  }));
  steps.push(
    {
      title: 'Create the user',
      detail:
        'In IAM, open Users and choose Create user. Enter the user name, leave console access off, and ' +
        `choose Next. Choose Attach policies directly, select ${documents.length > 1 ? 'each policy' : 'the policy'} you created, and create the user.`,
      values: [
        { label: 'User name', value: blueprint.userName, format: 'text' },
        ...documents.map((_, i) => ({
          label: `Policy ${i + 1}`,
          value: policyName(i),
          format: 'text' as const,
        })),
      ],
      link: links.createUser,
    },
    {
      title: 'Create its access key',
      detail:
        'Open the user, then Security credentials, and choose Create access key (use case: Third-party ' +
        `service). Copy the access key ID and the secret access key into ${platform} now: AWS shows the secret only once.`,
      values: [],
      link: links.accessKeys,
    },
  );
  return steps;
}
