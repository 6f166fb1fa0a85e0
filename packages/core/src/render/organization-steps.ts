import { ORGANIZATIONS_READ_ACTIONS, type OrganizationBlueprint } from './organization-model.ts';
import { defaultOrganizationStackName, memberStackSetName } from './organization-templates.ts';

export interface OrganizationStep {
  title: string;
  detail: string;
}

/**
 * What the tenant does to connect the organization, in order, for the deployment chosen. `via`:
 * the CloudFormation templates (the default) or the Terraform configuration, which cannot report
 * the management role by itself.
 */
export function organizationSteps(
  blueprint: OrganizationBlueprint,
  options: { via?: 'cloudformation' | 'terraform'; stackName?: string } = {},
): OrganizationStep[] {
  const { partition, platform, deployment } = blueprint;
  const via = options.via ?? 'cloudformation';
  const stackName = options.stackName ?? defaultOrganizationStackName(blueprint);
  const stackSetName = memberStackSetName(stackName);
  const region = blueprint.deploymentRegion;
  const targets = blueprint.deploymentTargets?.join(', ');
  const reports = blueprint.callback
    ? ` Once the role and its policies exist, the stack reports the role to ${platform} by itself.`
    : '';
  const steps: OrganizationStep[] = [];

  if (deployment === 'service_managed') {
    steps.push({
      title: 'Activate trusted access for StackSets',
      detail:
        `Sign in to the management account of the organization (${partition.displayName}). In CloudFormation, open ` +
        'StackSets and choose Activate trusted access (or run aws cloudformation activate-organizations-access). ' +
        'A service-managed StackSet cannot be created without it; it is done once per organization and changes ' +
        'nothing else.',
    });
  }
  if (deployment === 'self_managed') {
    steps.push(
      {
        title: 'Create the StackSet administration role',
        detail:
          'A self-managed StackSet needs a role in the account that runs it (here the management account), ' +
          'named AWSCloudFormationStackSetAdministrationRole, that CloudFormation (cloudformation.amazonaws.com) ' +
          'may assume and that may itself assume AWSCloudFormationStackSetExecutionRole in the target accounts. ' +
          'AWS publishes a template for it in "Grant self-managed permissions" of the CloudFormation User Guide; ' +
          'skip this step if the account has it already.',
      },
      {
        title: 'Create the StackSet execution role in each member account',
        detail:
          'Each member account needs AWSCloudFormationStackSetExecutionRole, trusting the administration ' +
          "account, with the permissions the member stack needs: create the IAM role and its managed policies, and the call-back's Lambda function, its role and log group. " +
          `AWS publishes a template for it too. The accounts to prepare: ${blueprint.memberAccounts.join(', ') || 'every member account you connect'}.`,
      },
    );
  }

  const managementDetail =
    via === 'terraform'
      ? `With the management account's credentials, save the Terraform configuration and run terraform init and terraform apply. It creates the role ${blueprint.managementRoleName} (read access to AWS Organizations, and the chosen permissions, since the management account is connected through it)` +
        (deployment === 'per_account' ? '.' : `, and the StackSet ${stackSetName}.`)
      : `In the management account, create a stack from the management template in ${region} (stack name ${stackName}, with the capability CAPABILITY_NAMED_IAM). It creates the role ${blueprint.managementRoleName}: read access to AWS Organizations (${ORGANIZATIONS_READ_ACTIONS.map((a) => a.replace('organizations:', '')).join(', ')}) and the chosen permissions, since the management account is connected through it.${reports}`;
  steps.push({
    title:
      via === 'terraform' ? 'Apply the Terraform configuration' : 'Create the management stack',
    detail: managementDetail,
  });

  if (via === 'terraform' || !blueprint.callback) {
    steps.push({
      title: `Give the management role to ${platform}`,
      detail:
        `Copy the ${via === 'terraform' ? 'management_role_arn output' : 'ManagementRoleArn output of the stack'} ` +
        `(arn:${partition.id}:iam::<management account ID>:role/${blueprint.managementRoleName}) and paste it into ` +
        `the organization's page in ${platform}, which then reads the organization's accounts and units.`,
    });
  }

  switch (deployment) {
    case 'service_managed':
      steps.push({
        title: 'Let the StackSet reach the member accounts',
        detail:
          `The StackSet ${stackSetName} gives every account in ${targets ?? 'the target units (the DeploymentTargets parameter)'} ` +
          `the role ${blueprint.memberRoleName}, in ${region} only (IAM is global), and does the same for every account ` +
          'that joins those units later; an account that leaves loses its stack. StackSets never deploy to the ' +
          'management account: it is connected through the management role. A failed account does not stop the others.',
      });
      break;
    case 'self_managed':
      steps.push({
        title: 'Create the StackSet and its instances',
        detail:
          `Create the self-managed StackSet ${stackSetName} from the member template and add an instance in ${region} for each member account ` +
          `(${blueprint.memberAccounts.join(', ') || 'the account IDs you connect'}), as the commands show. ` +
          'A self-managed StackSet does not follow the organization: add an instance for each account that joins. ' +
          'Leave out the management account: it is connected through the management role.',
      });
      break;
    case 'per_account':
      steps.push({
        title: 'Create the member stack in each account',
        detail:
          `In each member account (${blueprint.memberAccounts.join(', ') || 'every account you connect'}), create a stack from the member template in ${region}, ` +
          'with the capability CAPABILITY_NAMED_IAM. Leave out the management account: it is connected through the management role.',
      });
      break;
  }
  steps.push({
    title: `Watch the accounts connect in ${platform}`,
    detail:
      (blueprint.callback
        ? `Each member stack reports its role to ${platform}, which checks it as it checks a single account (identity, external ID, permissions) and connects the accounts your rules include. `
        : `Paste each member account's RoleArn output into ${platform}. `) +
      'Accounts your rules exclude keep their role but are not connected. The organization page shows every account and what failed and why.',
  });
  return steps;
}
