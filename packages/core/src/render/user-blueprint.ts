import type { Catalog } from '../catalog/catalog.ts';
import { CoreValidationError, type FieldIssue, fail, ok, type Result } from '../errors.ts';
import { getPartition, type Partition } from '../partitions/partitions.ts';
import { buildPolicies, type PolicySelection, type PolicySet } from '../policy/policy-builder.ts';

export interface UserBlueprintInput {
  catalog: Catalog;
  /**
   * The platform's name as customers see it (the operator's brand); default the catalog's
   * `platform`. Every text of the templates and steps names it.
   */
  platform?: string | undefined;
  selection: PolicySelection;
  /** The IAM user to create; by default one named after the platform (`acme-cloud-onramp`). */
  userName?: string;
}

/**
 * The dedicated IAM user of an access-key account, as Tutum's "create a tutum user" asks for it: one user
 * holding only the chosen permissions. The templates create the user and its policies and never an access
 * key: a key made by a template would sit in the stack's outputs or the Terraform state, so the tenant
 * makes it in the IAM console and pastes it into Onramp alone.
 */
export interface UserBlueprint {
  platform: string;
  /**
   * The catalog's platform name, for the managed policies' descriptions only: IAM replaces a managed
   * policy whose description changes, and CloudFormation cannot replace a named one, so a renamed
   * brand must never reach them (it would break every later update of existing stacks).
   */
  catalogPlatform: string;
  partition: Partition;
  userName: string;
  /**
   * Always `/`: Onramp's own validation statement names the user as `user/${aws:username}`, which holds
   * only for a user without a path.
   */
  userPath: '/';
  policySet: PolicySet;
  description: string;
}

const USER_NAME = /^[\w+=,.@-]{1,64}$/;

export function parseUserName(value: unknown, field = 'userName'): Result<string> {
  if (typeof value !== 'string' || value === '')
    return fail(field, 'required', 'Enter a user name.');
  if (value.length > 64) return fail(field, 'too_long', 'A user name has at most 64 characters.');
  if (!USER_NAME.test(value)) {
    return fail(
      field,
      'invalid_format',
      'A user name may contain only letters, digits and + = , . @ _ -.',
    );
  }
  return ok(value);
}

/** `Acme Cloud` → `acme-cloud-onramp`: a name that says whose user it is in the tenant's IAM list. */
export function suggestedUserName(platform: string): string {
  const slug = platform
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug ? `${slug}-onramp` : 'onramp';
}

export function createUserBlueprint(input: UserBlueprintInput): UserBlueprint {
  const partition = getPartition(input.selection.partition);
  const issues: FieldIssue[] = [];
  const parsed = parseUserName(input.userName ?? suggestedUserName(input.catalog.platform));
  if (!parsed.ok) issues.push(parsed.issue);
  let policySet: PolicySet | undefined;
  try {
    policySet = buildPolicies(input.catalog, input.selection, { principal: 'user' });
  } catch (error) {
    if (!(error instanceof CoreValidationError)) throw error;
    issues.push(...error.issues);
  }
  if (issues.length > 0 || !parsed.ok || !policySet) throw new CoreValidationError(issues);
  const platform = input.platform ?? input.catalog.platform;
  const scope = policySet.regions.length
    ? ` Regional services are limited to ${policySet.regions.join(', ')}.`
    : '';
  return {
    platform,
    catalogPlatform: input.catalog.platform,
    partition,
    userName: parsed.value,
    userPath: '/',
    policySet,
    description: `Lets ${platform} act in this account with access keys (${policySet.bundles.map((b) => b.id).join(', ') || 'validation only'}).${scope}`,
  };
}

/** Where in the partition's IAM console the tenant creates the user, and then its access key. */
export function userConsoleLinks(blueprint: UserBlueprint): {
  users: string;
  createUser: string;
  accessKeys: string;
} {
  const iam = `https://${blueprint.partition.consoleHost}/iam/home`;
  return {
    users: `${iam}#/users`,
    createUser: `${iam}#/users/create`,
    accessKeys: `${iam}#/users/details/${encodeURIComponent(blueprint.userName)}?section=security_credentials`,
  };
}
