import type { Bundle, Catalog, PrincipalKind } from '../catalog/catalog.ts';
import { wildcardToRegExp } from '../catalog/catalog.ts';
import { CoreValidationError, type FieldIssue } from '../errors.ts';
import { getPartition, type PartitionId, parseRegion } from '../partitions/partitions.ts';
import { globalActionsCoveredBy, isGlobalAction } from './global-services.ts';
import { fillPlaceholders, sizingValues } from './placeholders.ts';
import {
  MANAGED_POLICIES_PER_ROLE,
  MANAGED_POLICY_SIZE_LIMIT,
  type PolicyConditions,
  type PolicyDocument,
  type PolicyStatement,
  policySize,
} from './policy-document.ts';
import { statementsFor } from './principal-statements.ts';
import { validationBundle } from './validation-bundle.ts';

export interface PolicySelection {
  partition: PartitionId;
  /** Bundle ids, or the partition's defaults, or every bundle available in the partition. */
  bundles: readonly string[] | 'default' | 'all';
  /** Limit regional services to these regions; global services (IAM, Route 53, …) stay unrestricted. */
  regions?: readonly string[];
}

export interface BuildPolicyOptions {
  /** Whose policy this is: a role (the default) or an IAM user holding access keys. */
  principal?: PrincipalKind;
  /** Path of the role, used to scope Onramp's own validation statement. Default `/`. */
  rolePath?: string;
  sizeLimit?: number;
  maxPolicies?: number;
}

export interface ResolvedSelection {
  partition: PartitionId;
  /** The chosen catalog bundles, sorted by id. */
  bundles: readonly Bundle[];
  /** Sorted, de-duplicated; empty when not restricted. */
  regions: readonly string[];
}

export interface ManagedPolicy {
  /** Stable suffix for the policy's name: `permissions-1`, `permissions-2`, … */
  suffix: string;
  /** With placeholders ({{account_id}}, {{role_name}}, …) for the renderers to fill in. */
  document: PolicyDocument;
  /** Characters IAM counts for the deployed document, measured with the widest account and role name. */
  size: number;
}

export interface PolicySet extends ResolvedSelection {
  principal: PrincipalKind;
  rolePath: string;
  policies: readonly ManagedPolicy[];
}

/** Checks a selection against the catalog and the partition; reports every problem at once. */
export function resolveSelection(catalog: Catalog, selection: PolicySelection): ResolvedSelection {
  const { partition } = selection;
  const issues: FieldIssue[] = [];
  const partitionName = getPartition(partition).displayName;
  let bundles: Bundle[];
  if (selection.bundles === 'default') {
    bundles = catalog.defaultBundles(partition);
  } else if (selection.bundles === 'all') {
    // Where tenants cannot customise, "everything a tenant may have" is the defaults.
    bundles = catalog.isCustomizable(partition)
      ? catalog.availableBundles(partition)
      : catalog.defaultBundles(partition);
  } else {
    bundles = [];
    for (const [i, id] of selection.bundles.entries()) {
      const bundle = catalog.bundles.get(id);
      if (!bundle) {
        issues.push({
          field: `bundles[${i}]`,
          code: 'unknown_bundle',
          message: `There is no bundle "${id}" in the catalog.`,
          hint: `Available in ${partitionName}: ${catalog
            .availableBundles(partition)
            .map((b) => b.id)
            .join(', ')}.`,
        });
      } else if (!bundle.partitions.includes(partition)) {
        issues.push({
          field: `bundles[${i}]`,
          code: 'bundle_unavailable_in_partition',
          message: `"${bundle.name}" (${id}) is not available in ${partitionName}.`,
          hint: `It is available in: ${bundle.partitions.map((p) => getPartition(p).displayName).join(', ')}.`,
        });
      } else if (!bundles.includes(bundle)) {
        bundles.push(bundle);
      }
    }
  }
  if (issues.length === 0 && !catalog.isCustomizable(partition)) {
    const defaults = catalog
      .defaultBundles(partition)
      .map((b) => b.id)
      .sort();
    const chosen = bundles.map((b) => b.id).sort();
    if (defaults.join(',') !== chosen.join(',')) {
      issues.push({
        field: 'bundles',
        code: 'customisation_not_allowed',
        message: `Permissions cannot be customised in ${partitionName}; accounts there get the default permissions.`,
        hint: `Choose the defaults: ${defaults.join(', ')}.`,
      });
    }
  }
  const regions = new Set<string>();
  for (const [i, region] of (selection.regions ?? []).entries()) {
    const parsed = parseRegion(partition, region, `regions[${i}]`);
    if (parsed.ok) regions.add(parsed.value);
    else issues.push(parsed.issue);
  }
  if (issues.length > 0) throw new CoreValidationError(issues);
  return {
    partition,
    bundles: [...bundles].sort((a, b) => compare(a.id, b.id)),
    regions: [...regions].sort(compare),
  };
}

/**
 * Turns a selection into the managed policies to attach: deterministic (the same selection gives
 * byte-identical documents), actions de-duplicated and sorted, statements that share resources and
 * conditions merged under stable Sids, split to fit IAM's size limit. Onramp's validation bundle is
 * always included.
 */
export function buildPolicies(
  catalog: Catalog,
  selection: PolicySelection,
  options: BuildPolicyOptions = {},
): PolicySet {
  const resolved = resolveSelection(catalog, selection);
  const principal = options.principal ?? 'role';
  const rolePath = options.rolePath ?? '/';
  const sizeLimit = options.sizeLimit ?? MANAGED_POLICY_SIZE_LIMIT;
  const maxPolicies = options.maxPolicies ?? MANAGED_POLICIES_PER_ROLE;

  const statements = buildStatements(
    [...resolved.bundles, validationBundle(principal)],
    resolved.regions,
    principal,
  );
  const sizing = sizingValues(resolved.partition, rolePath);
  const measure = (s: PolicyStatement) => policySize(fillPlaceholders(s, sizing));
  const overhead = policySize({ Version: '2012-10-17', Statement: [] });
  const pieces = statements.flatMap((s) => splitStatement(s, sizeLimit - overhead, measure));
  const bins = pack(pieces, sizeLimit - overhead, measure);

  if (bins.length > maxPolicies) {
    throw new CoreValidationError([
      tooManyPolicies(resolved, bins.length, maxPolicies, sizeLimit, principal),
    ]);
  }
  const policies = bins.map((bin, i) => {
    const document: PolicyDocument = { Version: '2012-10-17', Statement: bin };
    return {
      suffix: `permissions-${i + 1}`,
      document,
      size: policySize(fillPlaceholders(document, sizing)),
    };
  });
  return { ...resolved, principal, rolePath, policies };
}

/**
 * The statements of some bundles for a role (the default) or a user, merged; exposed for per-bundle
 * views ("expand to see its actions") and session policies.
 */
export function buildStatements(
  bundles: readonly Bundle[],
  regions: readonly string[],
  principal: PrincipalKind = 'role',
): PolicyStatement[] {
  const groups = new Map<
    string,
    { resources: string[]; condition?: PolicyConditions; actions: Set<string> }
  >();
  const add = (
    actions: readonly string[],
    resources: readonly string[],
    condition?: PolicyConditions,
  ) => {
    if (actions.length === 0) return;
    const sortedResources = [...new Set(resources)].sort(compare);
    const canonical = condition ? canonicalConditions(condition) : undefined;
    const key = JSON.stringify([sortedResources, canonical ?? null]);
    let group = groups.get(key);
    if (!group) {
      group = {
        resources: sortedResources,
        actions: new Set(),
        ...(canonical ? { condition: canonical } : {}),
      };
      groups.set(key, group);
    }
    for (const a of actions) group.actions.add(a);
  };
  for (const bundle of bundles) {
    for (const statement of statementsFor(bundle, principal)) {
      if (regions.length === 0) {
        add(statement.actions, statement.resources, statement.conditions);
        continue;
      }
      const regional = statement.actions.filter((a) => !isGlobalAction(a));
      // `ec2:*` under the condition would deny ec2:DescribeRegions, which AWS serves from the
      // global region: the global actions a regional wildcard covers are granted outside it too.
      const global = [
        ...statement.actions.filter(isGlobalAction),
        ...regional.flatMap(globalActionsCoveredBy),
      ];
      add(global, statement.resources, statement.conditions);
      add(regional, statement.resources, withRegions(statement.conditions, regions));
    }
  }
  return [...groups.entries()]
    .sort(([a], [b]) => compare(a, b))
    .map(([key, group]) => {
      const statement: PolicyStatement = {
        Sid: statementSid(key, group.resources, group.condition),
        Effect: 'Allow',
        Action: collapseActions([...group.actions]),
        Resource: group.resources.length === 1 ? (group.resources[0] as string) : group.resources,
      };
      if (group.condition) statement.Condition = group.condition;
      return statement;
    });
}

function withRegions(
  conditions: PolicyConditions | undefined,
  regions: readonly string[],
): PolicyConditions {
  const result: PolicyConditions = { ...(conditions ?? {}) };
  result.StringEquals = { ...(result.StringEquals ?? {}), 'aws:RequestedRegion': [...regions] };
  return result;
}

function canonicalConditions(conditions: PolicyConditions): PolicyConditions {
  const out: PolicyConditions = {};
  for (const operator of Object.keys(conditions).sort(compare)) {
    const keys = conditions[operator] ?? {};
    const entry: Record<string, PolicyConditions[string][string]> = {};
    for (const key of Object.keys(keys).sort(compare)) {
      const value = keys[key];
      if (value === undefined) continue;
      entry[key] = Array.isArray(value) ? [...new Set(value.map(String))].sort(compare) : value;
    }
    out[operator] = entry;
  }
  return out;
}

/** De-duplicates (IAM is case-insensitive), drops actions a wildcard in the same list covers, sorts. */
export function collapseActions(actions: readonly string[]): string[] {
  const unique = new Map<string, string>();
  for (const a of actions) if (!unique.has(a.toLowerCase())) unique.set(a.toLowerCase(), a);
  const all = [...unique.values()];
  const wildcards = all.filter((a) => /[*?]/.test(a)).map((w) => ({ w, re: wildcardToRegExp(w) }));
  return all
    .filter((a) => !wildcards.some(({ w, re }) => w !== a && re.test(a)))
    .sort((a, b) => compare(a.toLowerCase(), b.toLowerCase()) || compare(a, b));
}

/**
 * A Sid that depends only on what the statement is about (its resources and conditions), so it stays
 * the same when bundles are added or removed, and reads as what it covers.
 */
function statementSid(key: string, resources: string[], condition?: PolicyConditions): string {
  const scope = resources.length === 1 && resources[0] === '*' ? 'AllResources' : 'Scoped';
  const regional = condition?.StringEquals?.['aws:RequestedRegion'] ? 'InRegions' : '';
  const conditional = condition && !regional ? 'Conditional' : '';
  return `${scope}${regional}${conditional}${fnv1a(key)}`;
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).toUpperCase().padStart(8, '0');
}

/** A statement too large for one policy is cut into several with the same resources and conditions. */
function splitStatement(
  statement: PolicyStatement,
  room: number,
  measure: (s: PolicyStatement) => number,
): PolicyStatement[] {
  if (measure(statement) <= room) return [statement];
  const parts: PolicyStatement[] = [];
  let current: string[] = [];
  const make = (actions: string[], n: number): PolicyStatement => ({
    ...statement,
    Sid: `${statement.Sid}Part${n}`,
    Action: actions,
  });
  for (const action of statement.Action) {
    const attempt = make([...current, action], parts.length + 1);
    if (current.length > 0 && measure(attempt) > room) {
      parts.push(make(current, parts.length + 1));
      current = [action];
    } else {
      current.push(action);
    }
  }
  if (current.length > 0) parts.push(make(current, parts.length + 1));
  return parts;
}

/** First-fit decreasing: few policies, and the same input always lands in the same policy. */
function pack(
  statements: PolicyStatement[],
  room: number,
  measure: (s: PolicyStatement) => number,
): PolicyStatement[][] {
  const order = new Map(statements.map((s, i) => [s.Sid, i]));
  const sized = statements
    .map((s) => ({ s, size: measure(s) + 1 })) // + the comma between statements
    .sort((a, b) => b.size - a.size || compare(a.s.Sid, b.s.Sid));
  const bins: { used: number; items: PolicyStatement[] }[] = [];
  for (const { s, size } of sized) {
    const bin = bins.find((b) => b.used + size <= room + 1);
    if (bin) {
      bin.used += size;
      bin.items.push(s);
    } else {
      bins.push({ used: size, items: [s] });
    }
  }
  return bins.map((b) => b.items.sort((x, y) => (order.get(x.Sid) ?? 0) - (order.get(y.Sid) ?? 0)));
}

function tooManyPolicies(
  resolved: ResolvedSelection,
  needed: number,
  max: number,
  sizeLimit: number,
  principal: PrincipalKind,
): FieldIssue {
  const sizing = sizingValues(resolved.partition, '/');
  const largest = resolved.bundles
    .map((b) => ({
      id: b.id,
      size: policySize(fillPlaceholders(buildStatements([b], resolved.regions, principal), sizing)),
    }))
    .sort((a, b) => b.size - a.size || compare(a.id, b.id))
    .slice(0, 3);
  return {
    field: 'bundles',
    code: 'too_many_policies',
    message: `The chosen permissions need ${needed} managed policies of at most ${sizeLimit} characters; a ${principal} can have at most ${max}.`,
    hint: `Drop some bundles; the largest are ${largest.map((l) => `${l.id} (${l.size} characters)`).join(', ')}.`,
  };
}

/** Locale-independent ordering, so output never depends on the machine's language settings. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
