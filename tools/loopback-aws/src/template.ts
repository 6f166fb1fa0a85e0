/** CloudFormation template text: parsing (YAML short forms, JSON) and the error deployStack throws. */
import { parse as parseYaml, type Tags as YamlTags } from 'yaml';
import type { PartitionId } from './partitions.ts';

/** A template the loopback cannot deploy as AWS would, or parameters CloudFormation would refuse. */
export class StackError extends Error {
  override readonly name = 'StackError';
}

/** `!Ref x`, `!Sub …`, `!GetAtt a.b`… as the long forms they stand for. */
const SHORT_FORMS: YamlTags = [
  'Ref',
  'Condition',
  'Base64',
  'Cidr',
  'FindInMap',
  'GetAtt',
  'GetAZs',
  'ImportValue',
  'Join',
  'Select',
  'Split',
  'Sub',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
].flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  const resolve = (value: unknown) => ({
    [key]:
      name === 'GetAtt' && typeof value === 'string'
        ? [value.slice(0, value.indexOf('.')), value.slice(value.indexOf('.') + 1)]
        : value,
  });
  return (['scalar', 'seq', 'map'] as const).map((collection) => ({
    tag: `!${name}`,
    ...(collection === 'scalar' ? {} : { collection }),
    resolve: (value: unknown) =>
      resolve(
        value !== null && typeof value === 'object' && 'toJSON' in value
          ? (value as { toJSON(): unknown }).toJSON()
          : value,
      ),
  }));
}) as YamlTags;

export function parseTemplate(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = text.trimStart().startsWith('{')
      ? JSON.parse(text)
      : parseYaml(text, { customTags: SHORT_FORMS });
  } catch (error) {
    throw new StackError(`Template format error: ${String(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new StackError('Template format error: the template is not an object');
  }
  return parsed as Record<string, unknown>;
}

export interface DeployedResource {
  type: string;
  /** What `Ref` gives: a role's or user's name, a policy's or provider's ARN, a key's ID… */
  physicalId: string;
  arn?: string;
}

export interface DeployedCustomResource {
  logicalId: string;
  type: string;
  /** Resolved, ServiceToken included: what CloudFormation would send the provider as ResourceProperties. */
  properties: Record<string, unknown>;
}

export interface DeployedFunction {
  logicalId: string;
  name: string;
  arn: string;
  properties: Record<string, unknown>;
}

export interface DeployedStack {
  partition: PartitionId;
  accountId: string;
  region: string;
  stackId: string;
  stackName: string;
  outputs: Record<string, string>;
  resources: Record<string, DeployedResource>;
  /** In dependency order, as CloudFormation would call their providers. */
  customResources: DeployedCustomResource[];
  functions: DeployedFunction[];
  /** `AWS::CloudFormation::StackSet` resources, as recorded (play them with `deployStackSetInstances`). */
  stackSets: DeployedStackSet[];
}

export interface StackSetDeploymentTargets {
  organizationalUnitIds: string[];
  accounts: string[];
  accountFilterType: 'NONE' | 'INTERSECTION' | 'DIFFERENCE' | 'UNION' | undefined;
}

export interface StackSetInstancesGroup {
  deploymentTargets: StackSetDeploymentTargets;
  regions: string[];
}

export interface StackSetInstance {
  accountId: string;
  region: string;
  status: 'CURRENT' | 'FAILED';
  /** Why a FAILED instance failed (the member stack's error). */
  reason: string | undefined;
  stack: DeployedStack | undefined;
}

/** An `AWS::CloudFormation::StackSet` as `deployStack` recorded it, and its instances so far. */
export interface DeployedStackSet {
  logicalId: string;
  /** `<name>:<uuid>`, what `Ref` gives. */
  stackSetId: string;
  stackSetName: string;
  partition: PartitionId;
  /** The account whose stack created it (the administrator: the management account when SELF). */
  administratorAccountId: string;
  managementStackId: string;
  permissionModel: 'SERVICE_MANAGED' | 'SELF_MANAGED';
  callAs: 'SELF' | 'DELEGATED_ADMIN';
  autoDeployment: { enabled: boolean; retainStacksOnAccountRemoval: boolean } | undefined;
  capabilities: string[];
  templateBody: string;
  parameters: Record<string, string>;
  groups: StackSetInstancesGroup[];
  /** By `<account>/<region>`. */
  instances: Map<string, StackSetInstance>;
}
