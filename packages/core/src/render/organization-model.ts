import type { HubPrincipal } from '../identifiers.ts';
import type { Partition } from '../partitions/partitions.ts';
import type { PolicySet } from '../policy/policy-builder.ts';

/*
 * What an organization's templates are made of (issue 16): the checked blueprint and the constants
 * its renderers and checks share. createOrganizationBlueprint builds one; the organization-*
 * renderers read it.
 */

/**
 * How member roles are deployed: a service-managed StackSet with automatic deployment (AWS
 * Organizations' trusted access for StackSets), a self-managed StackSet to listed accounts (with the
 * administration and execution roles; the only StackSet aws-cn offers), or a stack per account.
 */
export const ORGANIZATION_DEPLOYMENTS = ['service_managed', 'self_managed', 'per_account'] as const;
export type OrganizationDeploymentKind = (typeof ORGANIZATION_DEPLOYMENTS)[number];

/** CloudFormation's limit on a template passed inline (`TemplateBody`), a StackSet's included. */
export const STACKSET_TEMPLATE_BODY_LIMIT = 51_200;

/**
 * What the management role may read of AWS Organizations: the organization, its root, the OU tree
 * and the accounts, as Onramp's discovery and its membership check (an account that reports a role
 * must be a member) need them. Read-only; nothing that changes the organization.
 */
export const ORGANIZATIONS_READ_ACTIONS: readonly string[] = [
  'organizations:DescribeOrganization',
  'organizations:ListAccounts',
  'organizations:ListRoots',
  'organizations:ListOrganizationalUnitsForParent',
  'organizations:ListParents',
  'organizations:ListAccountsForParent',
  'organizations:DescribeAccount',
  'organizations:DescribeOrganizationalUnit',
];

/**
 * How a StackSet operation goes through the accounts. A failed account must not stop the others:
 * it is reported by its absence (its stack never calls back, the member stays `discovered` in
 * Onramp), so the operation tolerates any share of failures and runs in every account at once
 * (StackSets paces itself under its own limits). One region only, so the region order is moot.
 */
export const STACKSET_OPERATION_PREFERENCES = {
  FailureTolerancePercentage: 100,
  MaxConcurrentPercentage: 100,
} as const;

/** The call-back routes of an organization's stacks, under Onramp's public origin. */
export const ORGANIZATION_CALLBACK_PATH = '/v1/callbacks/organizations';

/** Everything the organization's renderers need, checked once. */
export interface OrganizationBlueprint {
  platform: string;
  /** The catalog's platform name: the managed policies' descriptions only (see RoleBlueprint). */
  catalogPlatform: string;
  partition: Partition;
  /** Absent: the templates ask for it (`TrustedPrincipalArn` / `trusted_principal_arn`). */
  hub: HubPrincipal | undefined;
  /** The `aws:PrincipalArn` each role's trust pins (the hub role), when there is one. */
  pinnedPrincipalArn: string | undefined;
  externalIdPrefix: string;
  memberRoleName: string;
  managementRoleName: string;
  rolePath: string;
  maxSessionDuration: number;
  deployment: OrganizationDeploymentKind;
  deploymentRegion: string;
  deploymentTargets: string[] | undefined;
  /** The full call-back URLs of both kinds of stack, and the token they present. */
  callback: { managementUrl: string; memberUrl: string; token: string } | undefined;
  memberAccounts: string[];
  /** One policy set for both roles: the management account is a member too. */
  policySet: PolicySet;
  /** Of the member role; the management role's adds Organizations read access. */
  description: string;
}
