import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { CoreValidationError, type FieldIssue } from '../errors.ts';
import { getPartition, PARTITION_IDS, type PartitionId } from '../partitions/partitions.ts';
import { type CatalogConditions, catalogFileSchema } from './catalog-schema.ts';

/** Whose policy a statement is part of: a role Onramp assumes, or an IAM user whose keys it holds. */
export type PrincipalKind = 'role' | 'user';

export interface CatalogStatement {
  /** Only for this kind of principal; both when absent. */
  principal?: PrincipalKind;
  /** Canonical `service:Action` names, or wildcards such as `ec2:Describe*`. */
  actions: readonly string[];
  /**
   * `*`, `{{self}}` (the connected role or user itself), or ARNs built with placeholders:
   * {{partition}}, {{account_id}}, and in `principal: role` statements {{role_path}}, {{role_name}}.
   */
  resources: readonly string[];
  conditions?: CatalogConditions;
}

export interface Bundle {
  id: string;
  productId: string;
  name: string;
  description: string;
  isDefault: boolean;
  partitions: readonly PartitionId[];
  statements: readonly CatalogStatement[];
}

export interface Product {
  id: string;
  name: string;
  description: string;
  bundles: readonly Bundle[];
}

export interface Catalog {
  platform: string;
  products: readonly Product[];
  /** Every bundle by id, in catalog order. */
  bundles: ReadonlyMap<string, Bundle>;
  isCustomizable(partition: PartitionId): boolean;
  /** Bundles usable in a partition, in catalog order. */
  availableBundles(partition: PartitionId): Bundle[];
  /** Default bundles usable in a partition, in catalog order. */
  defaultBundles(partition: PartitionId): Bundle[];
}

/**
 * AWS's published list of actions, by service prefix. Implemented over a maintained dataset
 * (see iam-actions.ts); a fake in tests. Async because the dataset is read per service.
 */
export interface ActionIndex {
  /** The service's action names (e.g. `DescribeInstances`), or undefined for an unknown prefix. */
  actionsOf(servicePrefix: string): Promise<readonly string[] | undefined>;
}

export const PLACEHOLDERS = ['partition', 'account_id', 'role_path', 'role_name'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
/**
 * A whole resource naming the connected identity itself, whichever kind it is: Onramp's role, or the
 * IAM user whose access keys it holds (see `selfArn`).
 */
export const SELF_RESOURCE = '{{self}}';
/** Name Onramp's role; in a statement for users too they would name a role that does not exist. */
const ROLE_PLACEHOLDERS = ['role_path', 'role_name'];

/** Onramp adds this condition key itself when a tenant limits regions. */
const RESERVED_CONDITION_KEYS = ['aws:requestedregion'];
const ACTION_SHAPE = /^([A-Za-z0-9-]+):([A-Za-z0-9*?]+)$/;

/**
 * Parses and checks an operator's catalog. Every problem is reported at once, each naming where it is
 * (product, bundle, statement, action), and the load fails if there is any: a catalog with a misspelled
 * action would produce a policy AWS rejects, or silently grant nothing.
 */
export async function loadCatalog(text: string, deps: { actions: ActionIndex }): Promise<Catalog> {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    const where =
      error instanceof YAMLParseError && error.linePos
        ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}`
        : '';
    // The parser's message ends with its own position and an excerpt; keep only what went wrong.
    const reason = (error as Error).message
      .split('\n')[0]
      ?.replace(/ at line \d+, column \d+:?$/, '');
    throw new CoreValidationError([
      {
        field: 'catalog',
        code: 'catalog_invalid',
        message: `The catalog is not valid YAML${where}: ${reason}.`,
      },
    ]);
  }
  const parsed = catalogFileSchema.safeParse(raw);
  if (!parsed.success) throw new CoreValidationError(zodIssues(parsed.error));
  const file = parsed.data;
  const issues: FieldIssue[] = [];

  const seenProducts = new Set<string>();
  const seenBundles = new Set<string>([VALIDATION_BUNDLE_ID]);
  const products: Product[] = [];
  for (const [pi, product] of file.products.entries()) {
    const productField = `products[${pi}]`;
    if (seenProducts.has(product.id)) {
      issues.push({
        field: `${productField}.id`,
        code: 'duplicate_id',
        message: `Product id "${product.id}" is used twice.`,
      });
    }
    seenProducts.add(product.id);
    const bundles: Bundle[] = [];
    for (const [bi, bundle] of product.bundles.entries()) {
      const bundleField = `${productField}.bundles[${bi}]`;
      const label = `product "${product.id}", bundle "${bundle.id}"`;
      if (seenBundles.has(bundle.id)) {
        issues.push({
          field: `${bundleField}.id`,
          code: 'duplicate_id',
          message: `Bundle id "${bundle.id}" is used twice, or is reserved by Onramp.`,
          hint: 'Bundle ids are unique across the whole catalog.',
        });
      }
      seenBundles.add(bundle.id);
      const statements: CatalogStatement[] = [];
      for (const [si, statement] of bundle.statements.entries()) {
        const statementField = `${bundleField}.statements[${si}]`;
        const actions: string[] = [];
        for (const [ai, action] of statement.actions.entries()) {
          const checked = await checkAction(action, deps.actions);
          if (typeof checked === 'string') actions.push(checked);
          else
            issues.push({
              ...checked,
              field: `${statementField}.actions[${ai}]`,
              message: `${label}: ${checked.message}`,
            });
        }
        for (const [ri, resource] of statement.resources.entries()) {
          const problem = checkResource(resource, statement.principal);
          if (problem) {
            issues.push({
              field: `${statementField}.resources[${ri}]`,
              code: 'invalid_format',
              message: `${label}: ${problem}`,
            });
          }
        }
        for (const [operator, keys] of Object.entries(statement.conditions ?? {})) {
          for (const key of Object.keys(keys)) {
            if (RESERVED_CONDITION_KEYS.includes(key.toLowerCase())) {
              issues.push({
                field: `${statementField}.conditions.${operator}.${key}`,
                code: 'reserved_condition_key',
                message: `${label}: ${key} is set by Onramp when a tenant limits regions.`,
                hint: 'Remove it from the catalog; tenants choose regions when they connect.',
              });
            }
          }
        }
        statements.push({
          ...(statement.principal ? { principal: statement.principal } : {}),
          actions,
          resources: statement.resources,
          ...(statement.conditions ? { conditions: statement.conditions } : {}),
        });
      }
      bundles.push({
        id: bundle.id,
        productId: product.id,
        name: bundle.name,
        description: bundle.description,
        isDefault: bundle.default,
        partitions: bundle.partitions ?? PARTITION_IDS,
        statements,
      });
    }
    products.push({
      id: product.id,
      name: product.name,
      description: product.description,
      bundles,
    });
  }

  const catalog = createCatalog(
    file.platform,
    products,
    (p) => file.partitions[p]?.customizable ?? true,
  );
  for (const partition of PARTITION_IDS) {
    if (!catalog.isCustomizable(partition) && catalog.defaultBundles(partition).length === 0) {
      issues.push({
        field: `partitions.${partition}.customizable`,
        code: 'catalog_invalid',
        message: `Tenants in ${partition} cannot choose bundles, and no default bundle is available there.`,
        hint: `Mark a bundle available in ${partition} as default, or allow customisation.`,
      });
    }
  }
  if (issues.length > 0) throw new CoreValidationError(issues);
  return catalog;
}

function createCatalog(
  platform: string,
  products: Product[],
  isCustomizable: (p: PartitionId) => boolean,
): Catalog {
  const bundles = new Map(products.flatMap((p) => p.bundles.map((b) => [b.id, b] as const)));
  const available = (partition: PartitionId) =>
    [...bundles.values()].filter((b) => b.partitions.includes(partition));
  return {
    platform,
    products,
    bundles,
    isCustomizable,
    availableBundles: available,
    defaultBundles: (partition) => available(partition).filter((b) => b.isDefault),
  };
}

/** Returns the canonical action name, or the problem with it. */
async function checkAction(
  action: string,
  index: ActionIndex,
): Promise<string | Omit<FieldIssue, 'field'>> {
  if (action === '*' || action.startsWith('*:')) {
    return {
      code: 'invalid_format',
      message: `"${action}" grants every action of every service.`,
      hint: 'Onramp builds least-privilege policies: name the service, as in ec2:* or s3:Get*.',
    };
  }
  const match = ACTION_SHAPE.exec(action.trim());
  const service = match?.[1]?.toLowerCase();
  const name = match?.[2];
  if (!service || !name) {
    return {
      code: 'invalid_format',
      message: `"${action}" is not an IAM action.`,
      hint: 'Write actions as service:Action, for example ec2:DescribeInstances or ec2:Describe*.',
    };
  }
  const known = await index.actionsOf(service);
  if (!known) {
    return {
      code: 'unknown_service',
      message: `"${service}" is not an AWS service prefix (in "${action}").`,
      hint: 'Check the prefix in the AWS Service Authorization Reference.',
    };
  }
  if (name === '*') return `${service}:*`;
  if (/[*?]/.test(name)) {
    const pattern = wildcardToRegExp(name);
    if (!known.some((a) => pattern.test(a))) {
      return {
        code: 'wildcard_matches_nothing',
        message: `"${action}" matches no ${service} action.`,
        hint: 'Check the spelling of the part before the wildcard.',
      };
    }
    return `${service}:${name}`;
  }
  const canonical = known.find((a) => a.toLowerCase() === name.toLowerCase());
  if (!canonical) {
    const near = suggest(name, known);
    return {
      code: 'unknown_action',
      message: `"${action}" is not an action of the ${service} service.`,
      ...(near ? { hint: `Did you mean ${service}:${near}?` } : {}),
    };
  }
  return `${service}:${canonical}`;
}

/** IAM matches action names case-insensitively, `*` for any run of characters and `?` for one. */
export function wildcardToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

function suggest(name: string, known: readonly string[]): string | undefined {
  let best: { action: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { action: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 5))
    ? best.action
    : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function checkResource(resource: string, principal: PrincipalKind | undefined): string | undefined {
  if (resource === '*' || resource === SELF_RESOURCE) return undefined;
  for (const [, name] of resource.matchAll(/\{\{([^}]*)\}\}/g)) {
    if (name === 'self') {
      return `{{self}} stands for a whole ARN; write it alone, as in resources: ['{{self}}'] (in "${resource}").`;
    }
    if (!(PLACEHOLDERS as readonly string[]).includes(name ?? '')) {
      return `unknown placeholder {{${name}}} in "${resource}"; use {{self}}, or ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}.`;
    }
    if (ROLE_PLACEHOLDERS.includes(name ?? '') && principal !== 'role') {
      // An access-key account has no role: the statement would grant an action on a role that is not there.
      return `{{${name}}} names Onramp's role, but this statement also applies to users (access keys); use {{self}} for the connected role or user, or add principal: role.`;
    }
  }
  if (!resource.startsWith('arn:')) return `"${resource}" is neither * nor an ARN.`;
  const partition = resource.split(':')[1];
  if (partition !== '{{partition}}') {
    // A literal partition would make the policy wrong in the two other partitions.
    return `"${resource}" names its partition; write arn:{{partition}}:… so it works in every partition.`;
  }
  return undefined;
}

function zodIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: issue.path.length ? formatPath(issue.path) : 'catalog',
    code: 'catalog_invalid',
    message: issue.message,
  }));
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

export const VALIDATION_BUNDLE_ID = 'onramp-validation';
/** The bundle that lets Onramp list an account's IAM policies and attach them to the account's identity. */
export const IAM_POLICY_ATTACHMENT_BUNDLE_ID = 'iam-policy-attachment';

export interface CatalogDescription {
  platform: string;
  products: {
    id: string;
    name: string;
    description: string;
    bundles: {
      id: string;
      name: string;
      description: string;
      isDefault: boolean;
      partitions: PartitionId[];
      actions: string[];
      /** The actions a role, or a user, gets from it (statements may be for one kind only). */
      actionsFor: Record<PrincipalKind, string[]>;
    }[];
  }[];
  partitions: {
    partition: PartitionId;
    displayName: string;
    customizable: boolean;
    defaultBundles: string[];
    availableBundles: string[];
  }[];
}

/** The catalog as people see it: products, bundles and their actions, and what each partition offers. */
export function describeCatalog(catalog: Catalog): CatalogDescription {
  return {
    platform: catalog.platform,
    products: catalog.products.map((p) => ({
      id: p.id,
      name: p.name,
      description: p.description,
      bundles: p.bundles.map((b) => ({
        id: b.id,
        name: b.name,
        description: b.description,
        isDefault: b.isDefault,
        partitions: [...b.partitions],
        actions: [...new Set(b.statements.flatMap((s) => s.actions))],
        actionsFor: {
          role: actionsOf(b, 'role'),
          user: actionsOf(b, 'user'),
        },
      })),
    })),
    partitions: PARTITION_IDS.map((partition) => ({
      partition,
      displayName: getPartition(partition).displayName,
      customizable: catalog.isCustomizable(partition),
      defaultBundles: catalog.defaultBundles(partition).map((b) => b.id),
      // What a tenant there may have: every bundle offered there, or only the defaults.
      availableBundles: (catalog.isCustomizable(partition)
        ? catalog.availableBundles(partition)
        : catalog.defaultBundles(partition)
      ).map((b) => b.id),
    })),
  };
}

function actionsOf(bundle: Bundle, kind: PrincipalKind): string[] {
  const statements = bundle.statements.filter((s) => !s.principal || s.principal === kind);
  return [...new Set(statements.flatMap((s) => s.actions))];
}
