/**
 * The `AWS::CloudFormation::StackSet` resource of `deployStack`: checked as CreateStackSet checks it,
 * then recorded for `deployStackSetInstances` (stack-sets.ts) to play. TEST TOOLING.
 */
import { randomUUID } from 'node:crypto';
import { OU_ID, ROOT_ID } from './organizations.ts';
import { type PartitionId, partitionOfRegion } from './partitions.ts';
import {
  type DeployedStackSet,
  parseTemplate,
  StackError,
  type StackSetInstancesGroup,
} from './template.ts';

/** CreateStackSet's limit on TemplateBody. */
export const STACK_SET_TEMPLATE_BODY_MAX_BYTES = 51_200;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const truthy = (value: unknown) => value === true || value === 'true';

function strings(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new StackError(`${where}: expected a list of strings`);
  }
  return value as string[];
}

/** IAM resource types CloudFormation asks a capability for, and the property that names each. */
const IAM_TYPES: Record<string, string | undefined> = {
  'AWS::IAM::AccessKey': undefined,
  'AWS::IAM::Group': 'GroupName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::Policy': undefined,
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::RolePolicy': undefined,
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::UserToGroupAddition': undefined,
};

/** Finds macros (Transform, Fn::Transform) anywhere in a template. */
function hasTransform(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasTransform);
  if (!isObject(value)) return false;
  return Object.entries(value).some(
    ([key, child]) => key === 'Fn::Transform' || hasTransform(child),
  );
}

/**
 * Checks an `AWS::CloudFormation::StackSet` as CreateStackSet would, and records it. Refused:
 * a missing or malformed StackSetName or PermissionModel; SERVICE_MANAGED without AutoDeployment
 * (required), or with AdministrationRoleARN/ExecutionRoleName (self-managed only); AutoDeployment on
 * SELF_MANAGED; RetainStacksOnAccountRemoval without Enabled; TemplateURL (not served here) or no
 * TemplateBody; a TemplateBody over 51,200 bytes, with a macro (Transform, Fn::Transform: StackSets
 * with service-managed permissions do not support them, AWS::Include and AWS::Serverless included)
 * or a nested stack (AWS::CloudFormation::Stack); IAM resources without CAPABILITY_IAM or
 * CAPABILITY_NAMED_IAM (named ones need the latter: InsufficientCapabilities); Parameters the
 * template does not declare, or a declared one without a default left out; deployment targets that
 * do not fit the permission model.
 */
export function recordStackSet(input: {
  partition: PartitionId;
  accountId: string;
  region: string;
  stackId: string;
  logicalId: string;
  properties: Record<string, unknown>;
  where: string;
}): DeployedStackSet {
  const { properties: p, where, partition } = input;
  const name = p.StackSetName;
  if (typeof name !== 'string' || !/^[a-zA-Z][a-zA-Z0-9-]{0,127}$/.test(name)) {
    throw new StackError(
      `${where}.StackSetName: required, a letter then up to 127 letters, digits or hyphens`,
    );
  }
  const model = p.PermissionModel;
  if (model !== 'SERVICE_MANAGED' && model !== 'SELF_MANAGED') {
    throw new StackError(`${where}.PermissionModel: required, SERVICE_MANAGED or SELF_MANAGED`);
  }
  const callAs = p.CallAs ?? 'SELF';
  if (callAs !== 'SELF' && callAs !== 'DELEGATED_ADMIN') {
    throw new StackError(`${where}.CallAs: SELF or DELEGATED_ADMIN`);
  }
  let autoDeployment: DeployedStackSet['autoDeployment'];
  if (model === 'SERVICE_MANAGED') {
    if (!isObject(p.AutoDeployment)) {
      throw new StackError(
        `${where}.AutoDeployment: required when PermissionModel is SERVICE_MANAGED`,
      );
    }
    for (const key of ['AdministrationRoleARN', 'ExecutionRoleName']) {
      if (p[key] !== undefined) {
        throw new StackError(`${where}.${key}: valid only with SELF_MANAGED permissions`);
      }
    }
    const enabled = truthy(p.AutoDeployment.Enabled);
    const retain = p.AutoDeployment.RetainStacksOnAccountRemoval;
    if (retain !== undefined && !enabled) {
      throw new StackError(
        `${where}.AutoDeployment.RetainStacksOnAccountRemoval: specify it only when Enabled is true`,
      );
    }
    autoDeployment = { enabled, retainStacksOnAccountRemoval: truthy(retain) };
  } else if (p.AutoDeployment !== undefined) {
    throw new StackError(`${where}.AutoDeployment: valid only with SERVICE_MANAGED permissions`);
  }
  if (p.TemplateURL !== undefined) {
    throw new StackError(`${where}.TemplateURL: the loopback plays TemplateBody only`);
  }
  const body = p.TemplateBody;
  if (typeof body !== 'string' || body.length === 0) {
    throw new StackError(`${where}.TemplateBody: required (a template as text)`);
  }
  const size = Buffer.byteLength(body, 'utf8');
  if (size > STACK_SET_TEMPLATE_BODY_MAX_BYTES) {
    throw new StackError(
      `${where}.TemplateBody: ${size} bytes, more than the ${STACK_SET_TEMPLATE_BODY_MAX_BYTES} CreateStackSet accepts`,
    );
  }
  const template = parseTemplate(body);
  if (template.Transform !== undefined || hasTransform(template)) {
    throw new StackError(
      `${where}.TemplateBody: StackSets with service-managed permissions do not support macros (Transform, Fn::Transform, AWS::Include, AWS::Serverless)`,
    );
  }
  const resources = isObject(template.Resources) ? template.Resources : {};
  const capabilities = strings(p.Capabilities, `${where}.Capabilities`);
  let needs: 'CAPABILITY_IAM' | 'CAPABILITY_NAMED_IAM' | undefined;
  for (const [logicalId, raw] of Object.entries(resources)) {
    const type = isObject(raw) ? raw.Type : undefined;
    if (type === 'AWS::CloudFormation::Stack') {
      throw new StackError(
        `${where}.TemplateBody: Resources.${logicalId} is a nested stack (AWS::CloudFormation::Stack), which a StackSet's template may not have here`,
      );
    }
    if (typeof type === 'string' && type in IAM_TYPES) {
      const nameKey = IAM_TYPES[type];
      const props = isObject(raw) && isObject(raw.Properties) ? raw.Properties : {};
      if (nameKey && props[nameKey] !== undefined) needs = 'CAPABILITY_NAMED_IAM';
      else needs ??= 'CAPABILITY_IAM';
    }
  }
  const acknowledged =
    needs === 'CAPABILITY_NAMED_IAM'
      ? capabilities.includes('CAPABILITY_NAMED_IAM')
      : needs === 'CAPABILITY_IAM'
        ? capabilities.includes('CAPABILITY_IAM') || capabilities.includes('CAPABILITY_NAMED_IAM')
        : true;
  if (!acknowledged) {
    throw new StackError(
      `${where}.Capabilities: InsufficientCapabilities, requires capabilities: [${needs}]`,
    );
  }

  // Parameters: [{ParameterKey, ParameterValue}], checked against the template's declarations.
  const declared = isObject(template.Parameters) ? template.Parameters : {};
  const parameters: Record<string, string> = {};
  const given = p.Parameters ?? [];
  if (!Array.isArray(given)) throw new StackError(`${where}.Parameters: expected a list`);
  for (const [i, item] of given.entries()) {
    if (!isObject(item) || typeof item.ParameterKey !== 'string') {
      throw new StackError(`${where}.Parameters[${i}]: needs ParameterKey and ParameterValue`);
    }
    if (!(item.ParameterKey in declared)) {
      throw new StackError(
        `${where}.Parameters: ${item.ParameterKey} is not a parameter of the StackSet's template`,
      );
    }
    const value = item.ParameterValue;
    parameters[item.ParameterKey] = Array.isArray(value) ? value.join(',') : String(value ?? '');
  }
  const missing = Object.entries(declared)
    .filter(([key, raw]) => !(key in parameters) && !(isObject(raw) && raw.Default !== undefined))
    .map(([key]) => key);
  if (missing.length > 0) {
    throw new StackError(`${where}.Parameters: [${missing.join(', ')}] must have values`);
  }

  const groupsIn = p.StackInstancesGroup ?? [];
  if (!Array.isArray(groupsIn))
    throw new StackError(`${where}.StackInstancesGroup: expected a list`);
  const groups = groupsIn.map((raw, i): StackSetInstancesGroup => {
    const at = `${where}.StackInstancesGroup[${i}]`;
    if (!isObject(raw) || !isObject(raw.DeploymentTargets)) {
      throw new StackError(`${at}: needs DeploymentTargets and Regions`);
    }
    const targets = raw.DeploymentTargets;
    const regions = strings(raw.Regions, `${at}.Regions`);
    if (regions.length === 0) throw new StackError(`${at}.Regions: at least one region`);
    for (const region of regions) {
      if (partitionOfRegion(region) !== partition) {
        throw new StackError(`${at}.Regions: ${region} is not a region of ${partition}`);
      }
    }
    const units = strings(
      targets.OrganizationalUnitIds,
      `${at}.DeploymentTargets.OrganizationalUnitIds`,
    );
    const accounts = strings(targets.Accounts, `${at}.DeploymentTargets.Accounts`);
    const filter = targets.AccountFilterType;
    if (
      filter !== undefined &&
      filter !== 'NONE' &&
      filter !== 'INTERSECTION' &&
      filter !== 'DIFFERENCE' &&
      filter !== 'UNION'
    ) {
      throw new StackError(
        `${at}.DeploymentTargets.AccountFilterType: NONE, INTERSECTION, DIFFERENCE or UNION`,
      );
    }
    if (targets.AccountsUrl !== undefined) {
      throw new StackError(`${at}.DeploymentTargets.AccountsUrl: not served by the loopback`);
    }
    for (const account of accounts) {
      if (!/^\d{12}$/.test(account)) {
        throw new StackError(`${at}.DeploymentTargets.Accounts: ${account} is not an account ID`);
      }
    }
    if (model === 'SERVICE_MANAGED') {
      if (units.length === 0) {
        throw new StackError(
          `${at}.DeploymentTargets.OrganizationalUnitIds: required with SERVICE_MANAGED permissions (a root or OU IDs)`,
        );
      }
      for (const unit of units) {
        if (!ROOT_ID.test(unit) && !OU_ID.test(unit)) {
          throw new StackError(
            `${at}.DeploymentTargets.OrganizationalUnitIds: ${unit} is not a root (r-…) or OU (ou-…) ID`,
          );
        }
      }
      if (accounts.length > 0 && (filter === undefined || filter === 'NONE')) {
        throw new StackError(
          `${at}.DeploymentTargets: with both OrganizationalUnitIds and Accounts, AccountFilterType must be INTERSECTION, DIFFERENCE or UNION`,
        );
      }
    } else {
      if (units.length > 0) {
        throw new StackError(
          `${at}.DeploymentTargets.OrganizationalUnitIds: valid only with SERVICE_MANAGED permissions`,
        );
      }
      if (accounts.length === 0) {
        throw new StackError(
          `${at}.DeploymentTargets.Accounts: required with SELF_MANAGED permissions`,
        );
      }
    }
    return {
      deploymentTargets: { organizationalUnitIds: units, accounts, accountFilterType: filter },
      regions,
    };
  });

  return {
    logicalId: input.logicalId,
    stackSetId: `${name}:${randomUUID()}`,
    stackSetName: name,
    partition,
    administratorAccountId: input.accountId,
    managementStackId: input.stackId,
    permissionModel: model,
    callAs,
    autoDeployment,
    capabilities,
    templateBody: body,
    parameters,
    groups,
    instances: new Map(),
  };
}
