/**
 * A small CloudFormation for the loopback AWS: `deployStack` creates the IAM resources of a template as
 * Onramp renders it (YAML or JSON), so a test deploys exactly what a customer would and then uses the
 * role. Parameters, Conditions and the intrinsic functions Onramp's templates use are evaluated; Lambda
 * functions and custom resources are returned, not run, so the test sends the callback itself.
 * Anything else (another resource type, an intrinsic, a property IAM would act on) is refused by name:
 * a template that deployed here with a part left out would prove nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { LoopbackAws } from './loopback.ts';
import { addOidcProvider } from './oidc-providers.ts';
import type { PartitionId } from './partitions.ts';
import { recordStackSet } from './stack-set-resource.ts';
import type { PolicyDocument, User } from './state.ts';
import {
  type DeployedCustomResource,
  type DeployedFunction,
  type DeployedResource,
  type DeployedStack,
  type DeployedStackSet,
  parseTemplate,
  StackError,
} from './template.ts';

export {
  type DeployedCustomResource,
  type DeployedFunction,
  type DeployedResource,
  type DeployedStack,
  type DeployedStackSet,
  StackError,
  type StackSetInstance,
} from './template.ts';

export interface DeployStackInput {
  partition: PartitionId;
  accountId: string;
  /** The template text, YAML (long or short intrinsic forms) or JSON. */
  template: string;
  parameters?: Record<string, string>;
  /** AWS::Region; the partition's first region (us-east-1, us-gov-west-1, cn-north-1) by default. */
  region?: string;
  /** AWS::StackName; `onramp` by default. */
  stackName?: string;
}

const DEFAULT_REGION: Record<PartitionId, string> = {
  aws: 'us-east-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-cn': 'cn-north-1',
};

const URL_SUFFIX: Record<PartitionId, string> = {
  aws: 'amazonaws.com',
  'aws-us-gov': 'amazonaws.com',
  'aws-cn': 'amazonaws.com.cn',
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `AWS::NoValue`: the property or list item it stands in is removed. */
const NO_VALUE = Symbol('AWS::NoValue');

const SUPPORTED_TYPES = new Set([
  'AWS::IAM::Role',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::Policy',
  'AWS::IAM::OIDCProvider',
  'AWS::IAM::User',
  'AWS::IAM::AccessKey',
  'AWS::IAM::RolePolicy',
  'AWS::Lambda::Function',
  'AWS::CloudFormation::CustomResource',
  'AWS::CloudFormation::StackSet',
]);

const RESOURCE_KEYS = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'Condition',
  'Metadata',
  'DeletionPolicy',
  'UpdateReplacePolicy',
]);

/** Properties each type accepts here; any other is refused rather than ignored. */
const PROPERTIES: Record<string, Set<string>> = {
  'AWS::IAM::Role': new Set([
    'RoleName',
    'Path',
    'Description',
    'MaxSessionDuration',
    'AssumeRolePolicyDocument',
    'Policies',
    'ManagedPolicyArns',
    'Tags',
  ]),
  'AWS::IAM::ManagedPolicy': new Set([
    'ManagedPolicyName',
    'Path',
    'Description',
    'PolicyDocument',
    'Roles',
    'Users',
  ]),
  'AWS::IAM::Policy': new Set(['PolicyName', 'PolicyDocument', 'Roles', 'Users']),
  'AWS::IAM::RolePolicy': new Set(['PolicyName', 'PolicyDocument', 'RoleName']),
  'AWS::CloudFormation::StackSet': new Set([
    'StackSetName',
    'PermissionModel',
    'AutoDeployment',
    'CallAs',
    'Capabilities',
    'Description',
    'ManagedExecution',
    'OperationPreferences',
    'Parameters',
    'StackInstancesGroup',
    'Tags',
    'TemplateBody',
    'TemplateURL',
    'AdministrationRoleARN',
    'ExecutionRoleName',
  ]),
  'AWS::IAM::OIDCProvider': new Set(['Url', 'ClientIdList', 'ThumbprintList', 'Tags']),
  'AWS::IAM::User': new Set(['UserName', 'Path', 'Policies', 'ManagedPolicyArns', 'Tags']),
  'AWS::IAM::AccessKey': new Set(['UserName', 'Status', 'Serial']),
};

interface Created {
  type: string;
  physicalId: string;
  arn?: string | undefined;
  attributes: Record<string, string>;
}

/** Deploys the template's IAM resources into the loopback, in dependency order. */
export function deployStack(aws: LoopbackAws, input: DeployStackInput): DeployedStack {
  const { partition, accountId } = input;
  const template = parseTemplate(input.template);
  for (const section of ['Transform', 'Rules', 'Hooks']) {
    if (template[section] !== undefined) {
      throw new StackError(`${section}: the loopback's deployStack does not support this section`);
    }
  }
  const region = input.region ?? DEFAULT_REGION[partition];
  const stackName = input.stackName ?? 'onramp';
  const stackId = `arn:${partition}:cloudformation:${region}:${accountId}:stack/${stackName}/${randomUUID()}`;
  const pseudo: Record<string, unknown> = {
    'AWS::Partition': partition,
    'AWS::AccountId': accountId,
    'AWS::Region': region,
    'AWS::StackName': stackName,
    'AWS::StackId': stackId,
    'AWS::URLSuffix': URL_SUFFIX[partition],
    'AWS::NoValue': NO_VALUE,
  };

  const parameters = evaluateParameters(template.Parameters, input.parameters ?? {});
  const mappings = isObject(template.Mappings) ? template.Mappings : {};
  const resourcesIn = template.Resources;
  if (!isObject(resourcesIn) || Object.keys(resourcesIn).length === 0) {
    throw new StackError('Template format error: at least one Resources member must be defined');
  }

  // Conditions, evaluated once each (and refusing a cycle).
  const conditionsIn = isObject(template.Conditions) ? template.Conditions : {};
  const conditionValues = new Map<string, boolean>();
  const evaluating = new Set<string>();
  const condition = (name: string, where: string): boolean => {
    const known = conditionValues.get(name);
    if (known !== undefined) return known;
    if (!(name in conditionsIn)) throw new StackError(`${where}: unknown condition ${name}`);
    if (evaluating.has(name)) throw new StackError(`Conditions: ${name} depends on itself`);
    evaluating.add(name);
    const value = conditionExpression(conditionsIn[name], `Conditions.${name}`);
    evaluating.delete(name);
    conditionValues.set(name, value);
    return value;
  };
  const conditionExpression = (expr: unknown, where: string): boolean => {
    if (!isObject(expr) || Object.keys(expr).length !== 1) {
      throw new StackError(
        `${where}: a condition must be one Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition`,
      );
    }
    const [fn, args] = Object.entries(expr)[0] as [string, unknown];
    if (fn === 'Condition') {
      if (typeof args !== 'string') throw new StackError(`${where}: Condition takes a name`);
      return condition(args, where);
    }
    if (!Array.isArray(args)) throw new StackError(`${where}: ${fn} takes a list`);
    switch (fn) {
      case 'Fn::Equals': {
        if (args.length !== 2) throw new StackError(`${where}: Fn::Equals takes two values`);
        const [a, b] = args.map((arg, i) => resolve(arg, `${where}.Fn::Equals[${i}]`));
        return JSON.stringify(a) === JSON.stringify(b) || String(a) === String(b);
      }
      case 'Fn::Not':
        if (args.length !== 1) throw new StackError(`${where}: Fn::Not takes one condition`);
        return !conditionExpression(args[0], `${where}.Fn::Not`);
      case 'Fn::And':
      case 'Fn::Or': {
        if (args.length < 2 || args.length > 10) {
          throw new StackError(`${where}: ${fn} takes 2 to 10 conditions`);
        }
        const values = args.map((arg, i) => conditionExpression(arg, `${where}.${fn}[${i}]`));
        return fn === 'Fn::And' ? values.every(Boolean) : values.some(Boolean);
      }
      default:
        throw new StackError(`${where}: ${fn} is not a condition function`);
    }
  };

  const created = new Map<string, Created>();
  const reference = (name: string, where: string): unknown => {
    if (name in pseudo) return pseudo[name];
    if (parameters.has(name)) return parameters.get(name);
    const resource = created.get(name);
    if (resource) return resource.physicalId;
    if (name in resourcesIn) {
      throw new StackError(
        `${where}: Ref ${name}, a resource ${included.has(name) ? 'not created yet' : 'whose Condition is false'}`,
      );
    }
    throw new StackError(`${where}: Ref ${name} names no parameter, resource or pseudo parameter`);
  };
  const attribute = (logicalId: string, name: string, where: string): string => {
    const resource = created.get(logicalId);
    if (!resource) {
      throw new StackError(
        `${where}: Fn::GetAtt ${logicalId}.${name}, ${logicalId in resourcesIn ? 'a resource whose Condition is false' : 'no such resource'}`,
      );
    }
    const value = resource.attributes[name];
    if (value === undefined) {
      throw new StackError(
        `${where}: Fn::GetAtt ${logicalId}.${name}: ${resource.type} has no attribute ${name} here${resource.type.startsWith('Custom::') || resource.type === 'AWS::CloudFormation::CustomResource' ? ' (a custom resource attribute comes from its provider, which deployStack does not run)' : ''}`,
      );
    }
    return value;
  };

  const resolve = (value: unknown, where: string): unknown => {
    if (Array.isArray(value)) {
      return value
        .map((item, i) => resolve(item, `${where}[${i}]`))
        .filter((item) => item !== NO_VALUE);
    }
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]?.startsWith('Fn::'))) {
      return intrinsic(keys[0], value[keys[0]], `${where}.${keys[0]}`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      const resolved = resolve(child, `${where}.${key}`);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  };

  const text = (value: unknown, where: string): string => {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new StackError(`${where}: expected a string, got ${JSON.stringify(value)}`);
  };
  const list = (value: unknown, where: string): unknown[] => {
    if (!Array.isArray(value)) throw new StackError(`${where}: expected a list`);
    return value;
  };

  const intrinsic = (fn: string, args: unknown, where: string): unknown => {
    switch (fn) {
      case 'Ref':
        return reference(text(args, where), where);
      case 'Fn::GetAtt': {
        const parts =
          typeof args === 'string'
            ? [args.slice(0, args.indexOf('.')), args.slice(args.indexOf('.') + 1)]
            : list(args, where).map((a, i) => text(resolve(a, `${where}[${i}]`), where));
        if (parts.length !== 2) throw new StackError(`${where}: takes [logicalId, attribute]`);
        return attribute(parts[0] ?? '', parts[1] ?? '', where);
      }
      case 'Fn::Sub': {
        let body: string;
        let vars: Record<string, unknown> = {};
        if (typeof args === 'string') body = args;
        else {
          const [first, second] = list(args, where);
          body = text(first, `${where}[0]`);
          const given = resolve(second ?? {}, `${where}[1]`);
          if (!isObject(given)) throw new StackError(`${where}[1]: expected a map of variables`);
          vars = given;
        }
        return body.replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
          if (name.startsWith('!')) return `\${${name.slice(1)}}`;
          if (name in vars) return text(vars[name], `${where} \${${name}}`);
          if (name in pseudo || parameters.has(name) || name in resourcesIn) {
            return text(reference(name, where), `${where} \${${name}}`);
          }
          const dot = name.indexOf('.');
          if (dot > 0) return attribute(name.slice(0, dot), name.slice(dot + 1), where);
          throw new StackError(`${where}: ${whole} names no parameter, resource or variable`);
        });
      }
      case 'Fn::Join': {
        const [delimiter, items] = list(args, where);
        return list(resolve(items, `${where}[1]`), `${where}[1]`)
          .map((item, i) => text(item, `${where}[1][${i}]`))
          .join(text(delimiter, `${where}[0]`));
      }
      case 'Fn::Select': {
        const [index, items] = list(args, where);
        const values = list(resolve(items, `${where}[1]`), `${where}[1]`);
        const at = Number(resolve(index, `${where}[0]`));
        if (!Number.isInteger(at) || at < 0 || at >= values.length) {
          throw new StackError(`${where}: index ${String(index)} is out of the list's bounds`);
        }
        return values[at];
      }
      case 'Fn::Split': {
        const [delimiter, source] = list(args, where);
        return text(resolve(source, `${where}[1]`), `${where}[1]`).split(
          text(delimiter, `${where}[0]`),
        );
      }
      case 'Fn::If': {
        const [name, whenTrue, whenFalse] = list(args, where);
        return condition(text(name, `${where}[0]`), where)
          ? resolve(whenTrue, `${where}[1]`)
          : resolve(whenFalse, `${where}[2]`);
      }
      case 'Fn::FindInMap': {
        const [map, top, second] = list(args, where).map((a, i) =>
          text(resolve(a, `${where}[${i}]`), `${where}[${i}]`),
        );
        const found = (
          mappings[map ?? ''] as Record<string, Record<string, unknown>> | undefined
        )?.[top ?? '']?.[second ?? ''];
        if (found === undefined) throw new StackError(`${where}: no ${map}.${top}.${second}`);
        return found;
      }
      case 'Fn::Equals':
      case 'Fn::Not':
      case 'Fn::And':
      case 'Fn::Or':
        return conditionExpression({ [fn]: args }, where);
      default:
        throw new StackError(`${where}: the loopback's deployStack does not support ${fn}`);
    }
  };

  // Which resources exist (their Condition holds), and their order.
  const included = new Map<string, Record<string, unknown>>();
  for (const [logicalId, raw] of Object.entries(resourcesIn)) {
    if (!isObject(raw)) throw new StackError(`Resources.${logicalId}: not an object`);
    for (const key of Object.keys(raw)) {
      if (!RESOURCE_KEYS.has(key)) {
        throw new StackError(`Resources.${logicalId}: the attribute ${key} is not supported`);
      }
    }
    const type = raw.Type;
    if (typeof type !== 'string') throw new StackError(`Resources.${logicalId}: Type is missing`);
    if (!SUPPORTED_TYPES.has(type) && !type.startsWith('Custom::')) {
      throw new StackError(
        `Resources.${logicalId}: the loopback's deployStack does not support ${type}`,
      );
    }
    if (raw.Condition !== undefined) {
      if (typeof raw.Condition !== 'string') {
        throw new StackError(`Resources.${logicalId}: Condition must name a condition`);
      }
      if (!condition(raw.Condition, `Resources.${logicalId}.Condition`)) continue;
    }
    included.set(logicalId, raw);
  }
  const order = dependencyOrder(included, Object.keys(resourcesIn));

  const resources: Record<string, DeployedResource> = {};
  const customResources: DeployedCustomResource[] = [];
  const functions: DeployedFunction[] = [];
  const stackSets: DeployedStackSet[] = [];
  const undo: (() => void)[] = [];
  try {
    createAll();
  } catch (error) {
    // As CloudFormation rolls a failed stack back: nothing it created stays.
    for (const step of undo.reverse()) step();
    throw error;
  }
  function createAll() {
    for (const logicalId of order) {
      const raw = included.get(logicalId) as Record<string, unknown>;
      const type = raw.Type as string;
      const where = `Resources.${logicalId}.Properties`;
      const properties = resolve(raw.Properties ?? {}, where);
      if (!isObject(properties)) throw new StackError(`${where}: not an object`);
      const allowed = PROPERTIES[type];
      if (allowed) {
        for (const key of Object.keys(properties)) {
          if (!allowed.has(key)) {
            throw new StackError(
              `${where}.${key}: the loopback's deployStack does not support this property of ${type}`,
            );
          }
        }
      }
      const resource = createResource(aws, {
        partition,
        accountId,
        region,
        stackName,
        logicalId,
        type,
        properties,
        created,
        where,
        undo,
      });
      created.set(logicalId, resource);
      resources[logicalId] = {
        type,
        physicalId: resource.physicalId,
        ...(resource.arn ? { arn: resource.arn } : {}),
      };
      if (type === 'AWS::Lambda::Function') {
        functions.push({
          logicalId,
          name: resource.physicalId,
          arn: resource.arn ?? '',
          properties,
        });
      } else if (type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource') {
        customResources.push({ logicalId, type, properties });
      } else if (type === 'AWS::CloudFormation::StackSet') {
        stackSets.push(
          recordStackSet({ partition, accountId, region, stackId, logicalId, properties, where }),
        );
        resources[logicalId] = { type, physicalId: stackSets.at(-1)?.stackSetId ?? '' };
        created.set(logicalId, {
          type,
          physicalId: stackSets.at(-1)?.stackSetId ?? '',
          attributes: { StackSetId: stackSets.at(-1)?.stackSetId ?? '' },
        });
      }
    }
  }

  const outputs: Record<string, string> = {};
  const outputsIn = isObject(template.Outputs) ? template.Outputs : {};
  for (const [name, raw] of Object.entries(outputsIn)) {
    if (!isObject(raw)) throw new StackError(`Outputs.${name}: not an object`);
    if (typeof raw.Condition === 'string' && !condition(raw.Condition, `Outputs.${name}`)) continue;
    outputs[name] = text(resolve(raw.Value, `Outputs.${name}.Value`), `Outputs.${name}.Value`);
  }
  return {
    partition,
    accountId,
    region,
    stackId,
    stackName,
    outputs,
    resources,
    customResources,
    functions,
    stackSets,
  };
}

function evaluateParameters(
  declared: unknown,
  given: Record<string, string>,
): Map<string, string | string[]> {
  const parameters = new Map<string, string | string[]>();
  const declarations = isObject(declared) ? declared : {};
  const unknown = Object.keys(given).filter((name) => !(name in declarations));
  if (unknown.length > 0) {
    throw new StackError(`Parameters: [${unknown.join(', ')}] do not exist in the template`);
  }
  const missing: string[] = [];
  for (const [name, raw] of Object.entries(declarations)) {
    if (!isObject(raw)) throw new StackError(`Parameters.${name}: not an object`);
    const type = raw.Type;
    const value = given[name] ?? (raw.Default === undefined ? undefined : String(raw.Default));
    if (value === undefined) {
      missing.push(name);
      continue;
    }
    if (Array.isArray(raw.AllowedValues) && !raw.AllowedValues.map(String).includes(value)) {
      throw new StackError(
        `Parameter '${name}' must be one of AllowedValues (${raw.AllowedValues.join(', ')})`,
      );
    }
    const constraint =
      typeof raw.ConstraintDescription === 'string' ? ` (${raw.ConstraintDescription})` : '';
    if (type === 'String') {
      if (typeof raw.AllowedPattern === 'string') {
        // CloudFormation matches the whole value (a Java regular expression; these are JS-compatible).
        if (!new RegExp(`^(?:${raw.AllowedPattern})$`).test(value)) {
          throw new StackError(
            `Parameter '${name}' must match pattern ${raw.AllowedPattern}${constraint}`,
          );
        }
      }
      if (typeof raw.MinLength === 'number' && value.length < raw.MinLength) {
        throw new StackError(
          `Parameter '${name}' must contain at least ${raw.MinLength} characters${constraint}`,
        );
      }
      if (typeof raw.MaxLength === 'number' && value.length > raw.MaxLength) {
        throw new StackError(
          `Parameter '${name}' must contain at most ${raw.MaxLength} characters${constraint}`,
        );
      }
      parameters.set(name, value);
    } else if (type === 'Number') {
      const number = Number(value);
      if (value.trim() === '' || !Number.isFinite(number)) {
        throw new StackError(`Parameter '${name}' must be a number`);
      }
      if (typeof raw.MinValue === 'number' && number < raw.MinValue) {
        throw new StackError(`Parameter '${name}' must be a number not less than ${raw.MinValue}`);
      }
      if (typeof raw.MaxValue === 'number' && number > raw.MaxValue) {
        throw new StackError(
          `Parameter '${name}' must be a number not greater than ${raw.MaxValue}`,
        );
      }
      parameters.set(name, value);
    } else if (type === 'CommaDelimitedList' || type === 'List<Number>') {
      parameters.set(name, value === '' ? [] : value.split(',').map((item) => item.trim()));
    } else {
      throw new StackError(
        `Parameters.${name}: the loopback's deployStack does not support the type ${String(type)}`,
      );
    }
  }
  if (missing.length > 0) {
    throw new StackError(`Parameters: [${missing.join(', ')}] must have values`);
  }
  return parameters;
}

/** Logical IDs a value refers to (Ref, Fn::GetAtt, Fn::Sub variables). */
function referencesOf(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) referencesOf(item, into);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'Ref' && typeof child === 'string') into.add(child);
    else if (key === 'Fn::GetAtt') {
      const target = Array.isArray(child) ? child[0] : String(child).split('.')[0];
      if (typeof target === 'string') into.add(target);
    } else if (key === 'Fn::Sub') {
      const body = typeof child === 'string' ? child : Array.isArray(child) ? child[0] : undefined;
      if (typeof body === 'string') {
        for (const match of body.matchAll(/\$\{([^!}][^}.]*)[^}]*\}/g)) into.add(match[1] ?? '');
      }
      if (Array.isArray(child)) referencesOf(child[1], into);
    } else referencesOf(child, into);
  }
}

function dependencyOrder(
  included: Map<string, Record<string, unknown>>,
  declared: string[],
): string[] {
  const dependencies = new Map<string, Set<string>>();
  for (const [logicalId, raw] of included) {
    const found = new Set<string>();
    referencesOf(raw.Properties, found);
    const dependsOn = raw.DependsOn;
    for (const name of Array.isArray(dependsOn) ? dependsOn : dependsOn ? [dependsOn] : []) {
      if (typeof name !== 'string' || !declared.includes(name)) {
        throw new StackError(`Resources.${logicalId}.DependsOn: ${String(name)} is no resource`);
      }
      found.add(name);
    }
    dependencies.set(logicalId, new Set([...found].filter((name) => included.has(name))));
  }
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (logicalId: string, path: string[]) => {
    const seen = state.get(logicalId);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      throw new StackError(
        `Circular dependency between resources: ${[...path, logicalId].join(' → ')}`,
      );
    }
    state.set(logicalId, 'visiting');
    for (const dependency of dependencies.get(logicalId) ?? []) {
      visit(dependency, [...path, logicalId]);
    }
    state.set(logicalId, 'done');
    order.push(logicalId);
  };
  for (const logicalId of included.keys()) visit(logicalId, []);
  return order;
}

/** CloudFormation's name for a resource without one: stack, logical ID and a random suffix. */
function generatedName(stackName: string, logicalId: string, max: number): string {
  const suffix = randomBytes(9)
    .toString('base64url')
    .replace(/[-_]/g, 'X')
    .slice(0, 12)
    .toUpperCase();
  const base = `${stackName}-${logicalId}`.slice(0, max - suffix.length - 1);
  return `${base}-${suffix}`;
}

interface CreateContext {
  partition: PartitionId;
  accountId: string;
  region: string;
  stackName: string;
  logicalId: string;
  type: string;
  properties: Record<string, unknown>;
  created: Map<string, Created>;
  where: string;
  /** What takes the resource away again, should a later one fail (CloudFormation rolls back). */
  undo: (() => void)[];
}

function optionalText(properties: Record<string, unknown>, key: string, where: string) {
  const value = properties[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new StackError(`${where}.${key}: expected a string`);
  return value;
}

function stringList(properties: Record<string, unknown>, key: string, where: string): string[] {
  const value = properties[key];
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new StackError(`${where}.${key}: expected a list of strings`);
  }
  return value as string[];
}

function tagsOf(properties: Record<string, unknown>, where: string): Record<string, string> {
  const value = properties.Tags;
  if (value === undefined) return {};
  if (!Array.isArray(value)) throw new StackError(`${where}.Tags: expected a list`);
  const tags: Record<string, string> = {};
  for (const tag of value) {
    if (!isObject(tag) || typeof tag.Key !== 'string') {
      throw new StackError(`${where}.Tags: each tag needs a Key and a Value`);
    }
    tags[tag.Key] = String(tag.Value ?? '');
  }
  return tags;
}

function inlinePolicies(
  properties: Record<string, unknown>,
  where: string,
): Record<string, PolicyDocument> {
  const value = properties.Policies;
  if (value === undefined) return {};
  if (!Array.isArray(value)) throw new StackError(`${where}.Policies: expected a list`);
  const out: Record<string, PolicyDocument> = {};
  for (const [i, policy] of value.entries()) {
    if (
      !isObject(policy) ||
      typeof policy.PolicyName !== 'string' ||
      !isObject(policy.PolicyDocument)
    ) {
      throw new StackError(`${where}.Policies[${i}]: needs PolicyName and PolicyDocument`);
    }
    out[policy.PolicyName] = policy.PolicyDocument;
  }
  return out;
}

/** Wraps the loopback's own TypeErrors (a policy that does not exist…) with where they came from. */
function creating<T>(where: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof StackError) throw error;
    throw new StackError(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function createResource(aws: LoopbackAws, ctx: CreateContext): Created {
  const { partition, accountId, properties, where, type } = ctx;
  switch (type) {
    case 'AWS::IAM::Role': {
      const document = properties.AssumeRolePolicyDocument;
      if (!isObject(document)) {
        throw new StackError(`${where}.AssumeRolePolicyDocument: required, a policy document`);
      }
      const roleName =
        optionalText(properties, 'RoleName', where) ??
        generatedName(ctx.stackName, ctx.logicalId, 64);
      const role = creating(where, () =>
        aws.createRole(partition, accountId, {
          roleName,
          path: optionalText(properties, 'Path', where),
          trustPolicy: document,
          inlinePolicies: inlinePolicies(properties, where),
          managedPolicyArns: stringList(properties, 'ManagedPolicyArns', where),
          maxSessionDuration:
            properties.MaxSessionDuration === undefined
              ? undefined
              : Number(properties.MaxSessionDuration),
          description: optionalText(properties, 'Description', where),
          tags: tagsOf(properties, where),
        }),
      );
      ctx.undo.push(() => aws.state.account(partition, accountId).roles.delete(role.roleName));
      return {
        type,
        physicalId: role.roleName,
        arn: role.arn,
        attributes: { Arn: role.arn, RoleId: role.roleId },
      };
    }
    case 'AWS::IAM::ManagedPolicy': {
      const document = properties.PolicyDocument;
      if (!isObject(document)) throw new StackError(`${where}.PolicyDocument: required`);
      const name =
        optionalText(properties, 'ManagedPolicyName', where) ??
        generatedName(ctx.stackName, ctx.logicalId, 128);
      const policy = creating(where, () =>
        aws.createManagedPolicy(partition, accountId, {
          name,
          path: optionalText(properties, 'Path', where),
          document,
          description: optionalText(properties, 'Description', where),
        }),
      );
      ctx.undo.push(() => {
        const account = aws.state.account(partition, accountId);
        for (const entity of [...account.roles.values(), ...account.users.values()]) {
          entity.attached = entity.attached.filter((arn) => arn !== policy.arn);
        }
        account.policies.delete(policy.arn);
      });
      attachTo(aws, ctx, (arn) => aws.attachPolicy(partition, arn, policy.arn));
      return {
        type,
        physicalId: policy.arn,
        arn: policy.arn,
        attributes: { PolicyArn: policy.arn, PolicyId: policy.policyId },
      };
    }
    case 'AWS::IAM::Policy': {
      const name = optionalText(properties, 'PolicyName', where);
      const document = properties.PolicyDocument;
      if (!name || !isObject(document)) {
        throw new StackError(`${where}: PolicyName and PolicyDocument are required`);
      }
      const attached = attachTo(aws, ctx, (arn) => {
        aws.putInlinePolicy(partition, arn, name, document);
        ctx.undo.push(() => {
          const account = aws.state.account(partition, accountId);
          for (const entity of [...account.roles.values(), ...account.users.values()]) {
            if (entity.arn === arn) entity.inline.delete(name);
          }
        });
      });
      if (attached === 0) throw new StackError(`${where}: name at least one of Roles or Users`);
      return { type, physicalId: generatedName(ctx.stackName, ctx.logicalId, 128), attributes: {} };
    }
    case 'AWS::IAM::OIDCProvider': {
      const url = optionalText(properties, 'Url', where);
      if (!url) throw new StackError(`${where}.Url: required`);
      const provider = creating(where, () =>
        addOidcProvider(aws.state, partition, accountId, {
          url,
          clientIds: stringList(properties, 'ClientIdList', where),
          thumbprints: stringList(properties, 'ThumbprintList', where),
          tags: Object.entries(tagsOf(properties, where)).map(([key, value]) => ({ key, value })),
        }),
      );
      ctx.undo.push(() =>
        aws.state.account(partition, accountId).oidcProviders.delete(provider.url),
      );
      return {
        type,
        physicalId: provider.arn,
        arn: provider.arn,
        attributes: { Arn: provider.arn },
      };
    }
    case 'AWS::IAM::User': {
      const userName =
        optionalText(properties, 'UserName', where) ??
        generatedName(ctx.stackName, ctx.logicalId, 64);
      const user = creating(where, () => {
        const account = aws.state.account(partition, accountId);
        if (account.users.has(userName)) throw new TypeError(`user ${userName} already exists`);
        // As CloudFormation: a user without access keys (AWS::IAM::AccessKey makes them).
        const base = aws.state.newEntity('user', partition, accountId, userName, {
          path: optionalText(properties, 'Path', where),
          inlinePolicies: inlinePolicies(properties, where),
          managedPolicyArns: stringList(properties, 'ManagedPolicyArns', where),
          tags: tagsOf(properties, where),
        });
        const made: User = { ...base, kind: 'user' };
        account.users.set(userName, made);
        return made;
      });
      ctx.undo.push(() => aws.state.account(partition, accountId).users.delete(user.name));
      return { type, physicalId: user.name, arn: user.arn, attributes: { Arn: user.arn } };
    }
    case 'AWS::IAM::AccessKey': {
      const userName = optionalText(properties, 'UserName', where);
      if (!userName) throw new StackError(`${where}.UserName: required`);
      if (properties.Status !== undefined && properties.Status !== 'Active') {
        throw new StackError(`${where}.Status: only Active keys are supported`);
      }
      const key = creating(where, () => aws.createAccessKey(partition, accountId, userName));
      ctx.undo.push(() => aws.state.of(partition).keys.delete(key.accessKeyId));
      return {
        type,
        physicalId: key.accessKeyId,
        attributes: { SecretAccessKey: key.secretAccessKey },
      };
    }
    case 'AWS::IAM::RolePolicy': {
      const name = optionalText(properties, 'PolicyName', where);
      const roleName = optionalText(properties, 'RoleName', where);
      const document = properties.PolicyDocument;
      if (!name || !roleName || !isObject(document)) {
        throw new StackError(`${where}: PolicyName, PolicyDocument and RoleName are required`);
      }
      const role = aws.state.account(partition, accountId).roles.get(roleName);
      if (!role) throw new StackError(`${where}.RoleName: no role ${roleName} in ${accountId}`);
      creating(where, () => aws.putInlinePolicy(partition, role.arn, name, document));
      ctx.undo.push(() => role.inline.delete(name));
      return { type, physicalId: `${name}|${roleName}`, attributes: {} };
    }
    case 'AWS::CloudFormation::StackSet':
      // Recorded once created (recordStackSet): nothing is deployed until the test plays it.
      return { type, physicalId: '', attributes: {} };
    case 'AWS::Lambda::Function': {
      const name =
        optionalText(properties, 'FunctionName', where) ??
        generatedName(ctx.stackName, ctx.logicalId, 64);
      const arn = `arn:${partition}:lambda:${ctx.region}:${accountId}:function:${name}`;
      return { type, physicalId: name, arn, attributes: { Arn: arn } };
    }
    default: {
      // A custom resource: its provider is not run, so it has no attributes.
      if (typeof properties.ServiceToken !== 'string') {
        throw new StackError(`${where}.ServiceToken: required for a custom resource`);
      }
      return {
        type,
        physicalId: `${ctx.stackName}-${ctx.logicalId}-${randomBytes(6).toString('hex')}`,
        attributes: {},
      };
    }
  }
}

/** Applies `apply` to the ARN of each role and user the policy names (by name); returns how many. */
function attachTo(aws: LoopbackAws, ctx: CreateContext, apply: (arn: string) => void): number {
  const { partition, accountId, properties, where } = ctx;
  const account = aws.state.account(partition, accountId);
  let count = 0;
  for (const [key, kind] of [
    ['Roles', 'role'],
    ['Users', 'user'],
  ] as const) {
    for (const name of stringList(properties, key, where)) {
      const entity = kind === 'role' ? account.roles.get(name) : account.users.get(name);
      if (!entity) throw new StackError(`${where}.${key}: no ${kind} ${name} in ${accountId}`);
      creating(where, () => apply(entity.arn));
      count++;
    }
  }
  return count;
}
