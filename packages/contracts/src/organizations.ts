import {
  ORGANIZATION_DEPLOYMENTS,
  ORGANIZATION_ID_PATTERN,
  ORGANIZATIONAL_UNIT_ID_PATTERN,
  ROOT_ID_PATTERN,
} from '@onramp/core';
import { z } from 'zod';
import { accountStatusSchema, fieldErrorListSchema } from './accounts.ts';
import {
  bundleSelectionSchema,
  nameSchema,
  nextCursorSchema,
  pageQuerySchema,
  partitionIdSchema,
  regionIdSchema,
  safeTextSchema,
} from './common.ts';

/**
 * Whole AWS organizations (issue 16): one stack in the management account, a StackSet for the
 * members, Onramp's own discovery of the OU tree, and include/exclude rules Onramp evaluates. Each
 * member account Onramp connects is an account like any other (health, checks, vending, webhooks).
 */

const awsAccountId = z.string().regex(/^\d{12}$/, 'a 12-digit AWS account ID');

/** A root (`r-…`) or an organizational unit (`ou-…-…`): what rules and StackSets target. */
export const organizationTargetIdSchema = z
  .string()
  .trim()
  .refine(
    (id) => ROOT_ID_PATTERN.test(id) || ORGANIZATIONAL_UNIT_ID_PATTERN.test(id),
    'a root ID (r-…) or an organizational unit ID (ou-…-…)',
  );

export const awsOrganizationIdSchema = z
  .string()
  .regex(ORGANIZATION_ID_PATTERN, 'an organization ID such as o-a1b2c3d4e5');

const ruleSet = z.object({
  organizationalUnits: z.array(organizationTargetIdSchema).max(1000).default([]),
  accounts: z.array(awsAccountId).max(10_000).default([]),
});

/**
 * Which members Onramp connects. The most specific rule wins: an account excluded by name, then
 * included by name, then the nearest organizational unit above it that a rule names; an account no
 * rule reaches is admitted only when nothing is included (the whole organization).
 */
export const organizationRulesSchema = z.object({
  include: ruleSet.default({ organizationalUnits: [], accounts: [] }),
  exclude: ruleSet.default({ organizationalUnits: [], accounts: [] }),
});

/**
 * How member roles are deployed: `service_managed` (a StackSet with automatic deployment to the
 * chosen OUs; AWS Organizations' trusted access for CloudFormation StackSets), or `self_managed`
 * (a StackSet with the administration and execution roles, to listed accounts; the only StackSet
 * aws-cn offers), or `per_account` (the member template deployed as a stack in each account).
 */
export const organizationDeploymentSchema = z.enum(ORGANIZATION_DEPLOYMENTS);

/**
 * A member account's state:
 * - `discovered`: in the organization and admitted by the rules; its stack has not reported yet;
 * - `enrolling`: its stack reported its role; Onramp is validating it;
 * - `connected`: validated and saved as an account (`accountId`);
 * - `failed`: validation or enrollment failed (`reason` says why and what to do);
 * - `excluded`: the rules do not admit it (whatever its stack reports);
 * - `left`: it left the organization or was closed; its account (if any) is no longer checked.
 */
export const ORGANIZATION_MEMBER_STATES = [
  'discovered',
  'enrolling',
  'connected',
  'failed',
  'excluded',
  'left',
] as const;
export const organizationMemberStateSchema = z.enum(ORGANIZATION_MEMBER_STATES);

const roleNameSchema = z
  .string()
  .regex(/^[\w+=,.@-]{1,64}$/, 'a role name is 1 to 64 letters, digits and + = , . @ _ -');

/** POST /v1/organizations. */
export const createOrganizationRequestSchema = z.object({
  name: nameSchema,
  description: safeTextSchema({ max: 1000, multiline: true }).default(''),
  partition: partitionIdSchema,
  bundles: bundleSelectionSchema.default('default'),
  regions: z.array(regionIdSchema).max(50).default([]),
  /** The role every member account gets. Default `OnrampMemberRole-` and a suffix of the id. */
  memberRoleName: roleNameSchema.optional(),
  /** The role in the management account (read access to Organizations). Default `OnrampOrganizationRole-…`. */
  managementRoleName: roleNameSchema.optional(),
  /** Default `service_managed`; refused (422, field `deployment`) where the partition has none. */
  deployment: organizationDeploymentSchema.default('service_managed'),
  /** The one region the StackSet deploys to (IAM is global). Default: the partition's default region. */
  deploymentRegion: regionIdSchema.optional(),
  /** When known, the management account: a management stack from another account is refused. */
  managementAccountId: awsAccountId.optional(),
  rules: organizationRulesSchema.default({
    include: { organizationalUnits: [], accounts: [] },
    exclude: { organizationalUnits: [], accounts: [] },
  }),
});

/** PATCH /v1/organizations/:id: what may change after creation. New permissions need a stack update. */
export const updateOrganizationRequestSchema = z.object({
  name: nameSchema.optional(),
  description: safeTextSchema({ max: 1000, multiline: true }).optional(),
  bundles: bundleSelectionSchema.optional(),
  regions: z.array(regionIdSchema).max(50).optional(),
  rules: organizationRulesSchema.optional(),
});

export const memberCountsSchema = z.object(
  Object.fromEntries(ORGANIZATION_MEMBER_STATES.map((s) => [s, z.number().int()])) as Record<
    (typeof ORGANIZATION_MEMBER_STATES)[number],
    z.ZodNumber
  >,
);

export const healthCountsSchema = z.object({
  valid: z.number().int(),
  degraded: z.number().int(),
  invalid: z.number().int(),
  unverified: z.number().int(),
});

export const discoveryRunSchema = z.object({
  at: z.string(),
  ok: z.boolean(),
  /** Accounts ListAccounts returned. */
  accounts: z.number().int(),
  /** Why it failed (the management role could not be assumed, AWS refused…); null when ok. */
  error: z.string().nullable(),
});

/**
 * `pending`: waiting for the management stack (or its role ARN, pasted); `active`: the management role
 * works and discovery runs; `error`: the management role stopped working (`lastDiscovery.error`).
 */
export const organizationStatusSchema = z.enum(['pending', 'active', 'error']);

export const organizationSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  partition: partitionIdSchema,
  status: organizationStatusSchema,
  /** `o-…`, once the management role has been used. */
  awsOrganizationId: z.string().nullable(),
  managementAccountId: z.string().nullable(),
  managementRoleArn: z.string().nullable(),
  managementRoleName: z.string(),
  memberRoleName: z.string(),
  /**
   * Each member's role trusts the hub with the external ID `<prefix>-<account ID>`: its own, derived
   * in the template from the account's ID. Generated by Onramp, never chosen by the tenant.
   */
  externalIdPrefix: z.string(),
  deployment: organizationDeploymentSchema,
  deploymentRegion: z.string(),
  bundles: z.array(z.string()),
  regions: z.array(z.string()),
  rules: organizationRulesSchema,
  /** The root's ID once discovered (what a StackSet for the whole organization targets). */
  rootId: z.string().nullable(),
  counts: memberCountsSchema,
  /** Health of the connected members' accounts. */
  health: healthCountsSchema,
  /** Connected members whose granted permissions are behind the catalog: update the StackSet. */
  outdated: z.number().int(),
  lastDiscovery: discoveryRunSchema.nullable(),
  /** When the enrollment token was issued, and until when the one it replaced is still accepted. */
  enrollmentToken: z.object({
    issuedAt: z.string(),
    previousValidUntil: z.string().nullable(),
  }),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const organizationListSchema = z.object({
  organizations: z.array(organizationSchema),
  next: nextCursorSchema,
});
export const listOrganizationsQuerySchema = pageQuerySchema;

/** A member account as AWS reports it and as Onramp keeps it. */
export const organizationMemberSchema = z.object({
  awsAccountId: z.string(),
  /** As AWS Organizations reports them; empty until discovered. */
  name: z.string(),
  email: z.string(),
  /** ACTIVE, SUSPENDED, PENDING_CLOSURE… as ListAccounts says; null until discovered. */
  awsStatus: z.string().nullable(),
  /** The account's parent (root or OU) and the path from the root, with names. */
  parentId: z.string().nullable(),
  path: z.array(z.object({ id: z.string(), name: z.string() })),
  state: organizationMemberStateSchema,
  /** Why it is `failed` or `excluded` (and what to do); null otherwise. */
  reason: z
    .object({ code: z.string(), message: z.string(), hint: z.string().optional() })
    .nullable(),
  /** The role its stack reported; null until one did. */
  roleArn: z.string().nullable(),
  /** The Onramp account once connected, with its health. */
  accountId: z.string().nullable(),
  health: accountStatusSchema.nullable(),
  management: z.boolean(),
  discoveredAt: z.string().nullable(),
  stateChangedAt: z.string(),
  updatedAt: z.string(),
});

export const listOrganizationMembersQuerySchema = z.object({
  state: organizationMemberStateSchema.optional(),
  health: accountStatusSchema.optional(),
  /** Only members under this root or OU (anywhere below it). */
  unit: organizationTargetIdSchema.optional(),
  /** Part of the account ID, name or email. */
  q: z.string().max(100).optional(),
  ...pageQuerySchema.shape,
});

export const organizationMemberPageSchema = z.object({
  members: z.array(organizationMemberSchema),
  next: nextCursorSchema,
});

/** One node of the OU tree (the root has no parent), with its members' counts, its subtree included. */
export const organizationUnitSchema = z.object({
  id: z.string(),
  name: z.string(),
  parentId: z.string().nullable(),
  counts: memberCountsSchema,
  health: healthCountsSchema,
});

export const organizationTreeSchema = z.object({
  units: z.array(organizationUnitSchema),
  /** Null before the first discovery. */
  discoveredAt: z.string().nullable(),
});

/** POST /v1/organizations/:id/rules/preview. */
export const previewRulesRequestSchema = z.object({ rules: organizationRulesSchema });

export const previewRulesResponseSchema = z.object({
  admitted: z.number().int(),
  excluded: z.number().int(),
  /** Members whose admission the rules would change (at most 500, `changesTotal` counts them all). */
  changes: z.array(
    z.object({
      awsAccountId: z.string(),
      name: z.string(),
      state: organizationMemberStateSchema,
      admitted: z.boolean(),
      /** The rule that decides, in words. */
      because: z.string(),
    }),
  ),
  changesTotal: z.number().int(),
  /** Rule targets no discovered unit or account has (a typo, or not discovered yet). */
  unknownTargets: z.array(z.string()),
});

/** What is offered for organizations in a partition (GET /v1/partitions lists it per partition). */
export const organizationOfferSchema = z.object({
  /** Needs the partition's hub (member roles trust it with their external IDs). */
  offered: z.boolean(),
  deployments: z.array(organizationDeploymentSchema),
  /** Why organizations, or service-managed StackSets, are not offered here; null when they are. */
  reason: z.string().nullable(),
});

/** GET /v1/organizations/:id/templates?format=… (and the permission update). */
export const organizationTemplateQuerySchema = z.object({
  format: z.enum(['yaml', 'json']).default('yaml'),
  /**
   * The StackSet's targets (r-… or ou-… IDs, separated by commas) when Onramp does not know them
   * yet (the root before the first discovery): the templates then carry them as the parameter's
   * default, so a downloaded file is ready to deploy. Ignored once Onramp knows the targets.
   */
  targets: z
    .string()
    .max(4000)
    .refine(
      (value) =>
        value.split(',').every((id) => organizationTargetIdSchema.safeParse(id.trim()).success),
      'root (r-…) or organizational unit (ou-…-…) IDs, separated by commas',
    )
    .optional(),
});

export const organizationSetupSchema = z.object({
  deployment: organizationDeploymentSchema,
  /** The management account's template (its role, the call-back and, service-managed, the StackSet). */
  managementTemplate: z.string(),
  /** What every member account gets (the StackSet's template, or a stack per account). */
  memberTemplate: z.string(),
  terraform: z.string(),
  /** The AWS CLI commands that deploy it, in order. */
  commands: z.array(z.string()),
  /** A quick-create link in the partition's console, where a template bucket exists. */
  quickCreateUrl: z.string().nullable(),
  steps: z.array(z.object({ title: z.string(), detail: z.string() })),
  /** The StackSet targets the templates use (the included OUs, or the root). */
  deploymentTargets: z.array(z.string()),
  /** What the tenant must fill in before deploying (the root ID before the first discovery). */
  missing: fieldErrorListSchema,
});

/** POST /v1/organizations/:id/management-role: the management role's ARN, pasted (Terraform). */
export const managementRoleRequestSchema = z.object({
  roleArn: z.string().trim().min(1).max(2048),
});

/**
 * POST /v1/callbacks/organizations/:kind (kind `management` or `member`): what the call-back function
 * of a management or member stack sends. The organization's enrollment token is the credential: it
 * registers accounts of that organization and nothing else.
 */
export const organizationCallbackRequestSchema = z.object({
  requestType: z.enum(['Create', 'Update', 'Delete']),
  token: z.string().min(1).max(200).meta({ writeOnly: true, format: 'password' }),
  roleArn: z.string().trim().min(1).max(2048),
  stackId: z.string().trim().max(2048).default(''),
});

export const organizationCallbackResponseSchema = z.object({
  /** What Onramp made of it: the member's state now (validation may still be under way). */
  state: organizationMemberStateSchema,
  /** The account once connected; null otherwise. */
  accountId: z.string().nullable(),
});

export const organizationCallbackParamsSchema = z.object({
  kind: z.enum(['management', 'member']),
});

export const organizationMemberParamsSchema = z.object({
  id: z.string().min(1).max(100),
  awsAccountId: awsAccountId,
});

export const discoveryAcceptedSchema = z.object({
  /** When the discovery was asked for; `lastDiscovery` changes once it ran. */
  requestedAt: z.string(),
});

/** Event `data` of organization.account_*: the organization and the member. */
export const organizationMemberEventSchema = z.object({
  organizationId: z.string(),
  awsOrganizationId: z.string().nullable(),
  awsAccountId: z.string(),
  name: z.string(),
  state: organizationMemberStateSchema,
  accountId: z.string().nullable(),
  reason: z.object({ code: z.string(), message: z.string() }).nullable(),
});

export type OrganizationRulesInput = z.input<typeof organizationRulesSchema>;
export type OrganizationView = z.infer<typeof organizationSchema>;
export type OrganizationMemberView = z.infer<typeof organizationMemberSchema>;
export type OrganizationMemberState = z.infer<typeof organizationMemberStateSchema>;
export type OrganizationDeployment = z.infer<typeof organizationDeploymentSchema>;
