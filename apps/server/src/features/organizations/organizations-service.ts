import {
  type Catalog,
  createOrganizationBlueprint,
  deploymentTargetsOf,
  describeRuleVerdict,
  evaluateOrganizationRules,
  generateExternalId,
  getPartition,
  getRegion,
  type OrganizationBlueprint,
  type OrganizationRules,
  organizationCommands,
  organizationSteps,
  type PartitionId,
  parseHubPrincipal,
  renderOrganizationTerraform,
  renderOrganizationText,
  resolveSelection,
} from '@onramp/core';
import type { Kysely } from 'kysely';
import type { Envelope } from '../../adapters/crypto/envelope.ts';
import { hashToken } from '../../adapters/crypto/secrets.ts';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import type { AccountStatus } from '../../domain/account.ts';
import { auditEntryOf, type Caller } from '../../domain/caller.ts';
import { sameList } from '../../domain/selection.ts';
import type { TenantLimits } from '../../domain/tenant.ts';
import { decodeCursor, encodeCursor } from '../../http/pagination.ts';
import { AppError, notFound } from '../../http/problems.ts';
import { isId, newId } from '../../ids.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { BrandingSource } from '../../ports/branding.ts';
import type { HubIdentity } from '../../ports/hubs.ts';
import { enforcePartitionAndMethod } from '../accounts/account-limits.ts';
import type { AccountsService } from '../accounts/accounts-service.ts';
import type { ConnectionsService } from '../connections/connections-service.ts';
import {
  type CollectionCaps,
  capFor,
  capReached,
  collectionCapsOf,
  lockCollections,
} from '../tenants/collection-caps.ts';
import { noHubIssue } from '../validation/accounts-validation.ts';
import {
  createOrganizationsRepository,
  ENROLLMENT_TOKEN_FIELD,
  emptyHealthCounts,
  emptyStateCounts,
  type HealthCounts,
  type MemberFilters,
  type MemberState,
  type MemberStateChange,
  type Organization,
  type OrganizationChanges,
  type OrganizationCounts,
  type OrganizationDeployment,
  type OrganizationMember,
  type StateCounts,
} from './organizations-repository.ts';

/** How long a replaced enrollment token is still accepted (stacks deployed with it keep reporting). */
export const ENROLLMENT_TOKEN_GRACE_DAYS = 7;

/** The prefix of enrollment tokens: a log line or a leaked value says what it is. */
export const ENROLLMENT_TOKEN_PREFIX = 'onrorg_';

/**
 * A rotation asked for within this many seconds of the previous one returns that one: two clicks
 * (or two tabs) at once make one new token, and the token stacks were deployed with stays the one
 * accepted for the grace period. Only one replaced token is kept, so a rotation later in the grace
 * period ends the first one's.
 */
export const ENROLLMENT_TOKEN_ROTATION_COALESCE_SECONDS = 60;

/** At most this many changes are listed by a rules preview (all are counted). */
export const PREVIEW_CHANGES_LIMIT = 500;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface CreateOrganizationInput {
  name: string;
  description: string;
  partition: PartitionId;
  bundles: 'default' | 'all' | string[];
  regions: string[];
  memberRoleName?: string | undefined;
  managementRoleName?: string | undefined;
  deployment: OrganizationDeployment;
  deploymentRegion?: string | undefined;
  managementAccountId?: string | undefined;
  rules: OrganizationRules;
}

export interface UpdateOrganizationInput {
  name?: string | undefined;
  description?: string | undefined;
  bundles?: 'default' | 'all' | string[] | undefined;
  regions?: string[] | undefined;
  rules?: OrganizationRules | undefined;
}

/** What the organizations service is built from; nothing else of the app. */
export interface OrganizationsServiceDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  catalog: Catalog;
  hubs: Partial<Record<PartitionId, HubIdentity>>;
  clock: () => Date;
  randomBytes: (size: number) => Uint8Array;
  envelope: Envelope;
  audit: Pick<AuditLog, 'append'>;
  tenants: { find(id: string): Promise<{ limits: TenantLimits } | undefined> };
  collectionCaps?: Partial<CollectionCaps> | undefined;
  /** Member accounts follow their organization: paused, given its permissions, deleted with it. */
  accounts: Pick<
    AccountsService,
    'setPaused' | 'applyOrganizationSelection' | 'removeOfOrganization' | 'accountsChanged'
  >;
  /** Member connections are deleted with their organization. */
  connections: Pick<ConnectionsService, 'deleteOfOrganization'>;
  /** Onramp's public URL: without one, stacks cannot report back (the role ARN is pasted). */
  publicUrl?: string | undefined;
  /** The operator's brand: the organization's templates and steps name the platform by it. */
  branding?: Pick<BrandingSource, 'brand'> | undefined;
}

/** What GET …/setup answers (the contracts' organizationSetupSchema), the quick-create link aside. */
export interface OrganizationSetup {
  deployment: OrganizationDeployment;
  managementTemplate: string;
  memberTemplate: string;
  terraform: string;
  commands: string[];
  steps: { title: string; detail: string }[];
  deploymentTargets: string[];
  missing: { field: string; code: string; message: string; hint?: string }[];
  /** The checked blueprint, for a quick-create link. */
  blueprint: OrganizationBlueprint;
}

/** What a partition offers for organizations (GET /v1/partitions, and create's checks). */
export interface OrganizationOffer {
  offered: boolean;
  deployments: OrganizationDeployment[];
  reason: string | null;
}

const ALL_DEPLOYMENTS: OrganizationDeployment[] = [
  'service_managed',
  'self_managed',
  'per_account',
];

/**
 * Organizations need the partition's hub (every member role trusts it with its external ID).
 * Service-managed StackSets (AWS Organizations' trusted access for CloudFormation StackSets) are not
 * available in the China regions: there, a self-managed StackSet or a stack per account.
 */
export function organizationOffer(
  partition: PartitionId,
  hubs: Partial<Record<PartitionId, HubIdentity>>,
  limits: TenantLimits = {},
): OrganizationOffer {
  const name = getPartition(partition).displayName;
  if (limits.methods && !limits.methods.includes('role'))
    return {
      offered: false,
      deployments: [],
      reason:
        'This tenant may not connect accounts with IAM roles, and every member account of an organization is connected with one.',
    };
  if (!hubs[partition])
    return {
      offered: false,
      deployments: [],
      reason: `Organizations need the operator to configure a hub identity for ${name} (${partition}): every member account's role trusts it.`,
    };
  if (partition === 'aws-cn')
    return {
      offered: true,
      deployments: ['self_managed', 'per_account'],
      reason: `Service-managed StackSets are not available in AWS China (${partition}): deploy the member role with a self-managed StackSet (self_managed) or a stack in each account (per_account).`,
    };
  return { offered: true, deployments: [...ALL_DEPLOYMENTS], reason: null };
}

/** A new enrollment token: `onrorg_` and 32 random bytes, base64url. */
function newEnrollmentToken(randomBytes: (size: number) => Uint8Array): string {
  return `${ENROLLMENT_TOKEN_PREFIX}${Buffer.from(randomBytes(32)).toString('base64url')}`;
}

/** The default role names: unique to the organization (the id's tail is its random part). */
export function defaultMemberRoleName(organizationId: string): string {
  return `OnrampMemberRole-${organizationId.slice(-8)}`;
}
export function defaultManagementRoleName(organizationId: string): string {
  return `OnrampOrganizationRole-${organizationId.slice(-8)}`;
}

/** A per-unit count of members by state and connected accounts by health. */
export interface UnitCounts {
  id: string;
  name: string;
  parentId: string | null;
  counts: StateCounts;
  health: HealthCounts;
}

/**
 * Whole AWS organizations of a tenant: create, change (the rules apply at once to every member),
 * read with counts, the OU tree, members, the rules' preview, the enrollment token's rotation and
 * deletion with every member account. What member stacks report and what discovery finds are the
 * enrollment side's (call-back route, enrollment worker, discovery), over the same repository.
 */
export function createOrganizationsService(deps: OrganizationsServiceDeps) {
  const organizations = createOrganizationsRepository(deps.db, deps.clock);
  const caps = collectionCapsOf(deps.collectionCaps);
  const now = () => deps.clock().toISOString();

  async function limitsOf(tenantId: string): Promise<TenantLimits> {
    const tenant = await deps.tenants.find(tenantId);
    if (!tenant) throw notFound('Tenant');
    return tenant.limits;
  }

  async function findOrganization(tenantId: string, id: string): Promise<Organization> {
    const organization = isId('organization', id)
      ? await organizations.find(tenantId, id)
      : undefined;
    if (!organization) throw notFound('Organization');
    return organization;
  }

  const bindingOf = (tenantId: string, id: string) => ({
    tenantId,
    ownerId: id,
    field: ENROLLMENT_TOKEN_FIELD,
  });

  function audit(
    caller: Caller,
    action: string,
    target: { type: string; id: string },
    details: Record<string, unknown>,
    trx: Kysely<Database>,
  ) {
    return deps.audit.append(auditEntryOf(caller, action, target, details), trx);
  }

  /** 422 on `field` for what the partition does not offer (no hub; aws-cn's StackSets). */
  function enforceOffer(
    limits: TenantLimits,
    partition: PartitionId,
    deployment: OrganizationDeployment,
  ): void {
    enforcePartitionAndMethod(limits, partition, 'role', 'partition');
    const offer = organizationOffer(partition, deps.hubs, limits);
    if (!deps.hubs[partition]) {
      const issue = {
        ...noHubIssue(partition),
        message: offer.reason ?? noHubIssue(partition).message,
      };
      throw new AppError('validation_failed', issue.message, [issue]);
    }
    if (!offer.deployments.includes(deployment)) {
      const message =
        offer.reason ??
        `The ${deployment} deployment is not offered in ${getPartition(partition).displayName}.`;
      throw new AppError('validation_failed', message, [
        {
          field: 'deployment',
          code: 'deployment_not_offered',
          message,
          hint: `Choose ${offer.deployments.join(' or ')}.`,
          ...(offer.deployments[0] ? { suggestion: offer.deployments[0] } : {}),
        },
      ]);
    }
  }

  /** The region the StackSet deploys to: given (a region of the partition), or the default. */
  function deploymentRegionOf(partition: PartitionId, given: string | undefined): string {
    const region = given ?? getPartition(partition).defaultRegion;
    if (!getRegion(partition, region)) {
      const message = `${region} is not a region of ${getPartition(partition).displayName}.`;
      throw new AppError('validation_failed', message, [
        {
          field: 'deploymentRegion',
          code: 'unknown_region',
          message,
          hint: `Leave it out for ${getPartition(partition).defaultRegion}, or name a region of ${partition}.`,
        },
      ]);
    }
    return region;
  }

  /** Rules that contradict themselves are refused: an account both included and excluded by name. */
  function checkRules(rules: OrganizationRules, field = 'rules'): OrganizationRules {
    const both = rules.include.accounts.filter((a) => rules.exclude.accounts.includes(a));
    if (both.length > 0) {
      const message = `${both.slice(0, 5).join(', ')} ${both.length === 1 ? 'is' : 'are'} both included and excluded by name.`;
      throw new AppError('validation_failed', message, [
        {
          field: `${field}.exclude.accounts`,
          code: 'contradictory_rules',
          message,
          hint: 'Name each account in one list only.',
        },
      ]);
    }
    const unique = (list: readonly string[]) => [...new Set(list)].sort();
    return {
      include: {
        organizationalUnits: unique(rules.include.organizationalUnits),
        accounts: unique(rules.include.accounts),
      },
      exclude: {
        organizationalUnits: unique(rules.exclude.organizationalUnits),
        accounts: unique(rules.exclude.accounts),
      },
    };
  }

  /**
   * What the rules make of each member, and the state changes that follow (left members stay
   * left). Excluded members' accounts are paused; re-admitted ones go back to where they were:
   * connected (its account resumed), enrolling (a role was reported) or discovered.
   */
  function reevaluate(
    rules: OrganizationRules,
    members: Awaited<ReturnType<typeof organizations.placements>>,
    at: string,
  ): {
    changes: MemberStateChange[];
    /** AWS account IDs of members whose accounts are paused, or resumed. */
    pause: string[];
    resume: string[];
  } {
    const changes: MemberStateChange[] = [];
    const pause: string[] = [];
    const resume: string[] = [];
    for (const member of members) {
      if (member.state === 'left') continue;
      const verdict = evaluateOrganizationRules(rules, {
        accountId: member.awsAccountId,
        path: member.path,
      });
      if (!verdict.admitted && member.state !== 'excluded') {
        changes.push({
          awsAccountId: member.awsAccountId,
          from: member.state,
          to: 'excluded',
          reason: {
            code: 'excluded_by_rules',
            message: describeRuleVerdict(verdict),
            hint: 'Change the organization’s rules to connect it.',
          },
          enrollDueAt: null,
        });
        if (member.accountId) pause.push(member.awsAccountId);
      } else if (verdict.admitted && member.state === 'excluded') {
        if (member.accountId) {
          changes.push({
            awsAccountId: member.awsAccountId,
            from: 'excluded',
            to: 'connected',
            reason: null,
          });
          resume.push(member.awsAccountId);
        } else if (member.roleArn) {
          changes.push({
            awsAccountId: member.awsAccountId,
            from: 'excluded',
            to: 'enrolling',
            reason: null,
            enrollDueAt: at,
          });
        } else {
          changes.push({
            awsAccountId: member.awsAccountId,
            from: 'excluded',
            to: 'discovered',
            reason: null,
          });
        }
      }
    }
    return { changes, pause, resume };
  }

  async function countsOf(tenantId: string, ids: string[]) {
    return organizations.countsOf(tenantId, ids);
  }

  /** The hub's ARN every role of the organization trusts; 422 when the operator removed the hub. */
  function hubArnOf(partition: PartitionId): string {
    const hub = deps.hubs[partition];
    if (!hub)
      throw new AppError('validation_failed', noHubIssue(partition).message, [
        noHubIssue(partition),
      ]);
    const parsed = parseHubPrincipal(hub.principalArn, partition);
    // Checked at start-up: a bad hub here is the operator's, not the tenant's.
    if (!parsed.ok)
      throw new Error(`the hub identity of ${partition} is invalid: ${parsed.issue.message}`);
    return parsed.value.arn;
  }

  /**
   * The organization's templates' blueprint (checked by core: role names, the member template's
   * 51,200 bytes, the targets). `callback` only for a caller who may connect accounts, and only
   * when Onramp has a public URL for the stacks to call.
   */
  function blueprintOf(
    organization: Pick<
      Organization,
      | 'partition'
      | 'bundles'
      | 'regions'
      | 'rules'
      | 'rootId'
      | 'externalIdPrefix'
      | 'memberRoleName'
      | 'managementRoleName'
      | 'deployment'
      | 'deploymentRegion'
    >,
    options: {
      token?: string | undefined;
      memberAccounts?: string[];
      /** What the tenant says the targets are, used only while Onramp does not know them. */
      targets?: string[] | undefined;
      /** The platform's name as customers see it (the operator's brand), for what is rendered. */
      platform?: string | undefined;
    } = {},
  ): OrganizationBlueprint {
    const origin = deps.publicUrl?.replace(/\/+$/, '');
    return createOrganizationBlueprint({
      catalog: deps.catalog,
      platform: options.platform,
      selection: {
        partition: organization.partition,
        bundles: organization.bundles,
        regions: organization.regions,
      },
      hubPrincipal: hubArnOf(organization.partition),
      externalIdPrefix: organization.externalIdPrefix,
      memberRoleName: organization.memberRoleName,
      managementRoleName: organization.managementRoleName,
      deployment: organization.deployment,
      deploymentRegion: organization.deploymentRegion,
      deploymentTargets:
        deploymentTargetsOf(organization.rules, organization.rootId ?? undefined) ??
        (options.targets?.length ? options.targets : undefined),
      ...(origin && options.token ? { callback: { origin, token: options.token } } : {}),
      ...(options.memberAccounts ? { memberAccounts: options.memberAccounts } : {}),
    });
  }

  return {
    async create(
      caller: Caller,
      input: CreateOrganizationInput,
    ): Promise<{ organization: Organization; counts: OrganizationCounts }> {
      const limits = await limitsOf(caller.tenantId);
      enforceOffer(limits, input.partition, input.deployment);
      const selection = resolveSelection(deps.catalog, {
        partition: input.partition,
        bundles: input.bundles,
        regions: input.regions,
      });
      const deploymentRegion = deploymentRegionOf(input.partition, input.deploymentRegion);
      const rules = checkRules(input.rules);
      const id = newId('organization');
      // Generated here and only here: a tenant never chooses the external IDs, or they would not
      // stop a confused deputy. Every member's ID is `<prefix>-<its account ID>`.
      const externalIdPrefix = generateExternalId(deps.randomBytes(24));
      const token = newEnrollmentToken(deps.randomBytes);
      const memberRoleName = input.memberRoleName ?? defaultMemberRoleName(id);
      const managementRoleName = input.managementRoleName ?? defaultManagementRoleName(id);
      const bundles = selection.bundles.map((b) => b.id);
      const regions = [...selection.regions];
      // Everything the templates need must render before the organization is stored (role names,
      // the member template's size as a StackSet's TemplateBody).
      blueprintOf({
        partition: input.partition,
        bundles,
        regions,
        rules,
        rootId: null,
        externalIdPrefix,
        memberRoleName,
        managementRoleName,
        deployment: input.deployment,
        deploymentRegion,
      });
      const organization = await deps.db.transaction().execute(async (trx) => {
        const locked = await lockCollections(trx, deps.dialect, caller.tenantId);
        const cap = capFor('organizations', locked, caps);
        if ((await organizations.count(caller.tenantId, trx)) >= cap)
          throw capReached('organizations', cap, 'tenant');
        const created = await organizations.create(
          caller.tenantId,
          {
            id,
            name: input.name,
            description: input.description,
            partition: input.partition,
            bundles,
            regions,
            rules,
            deployment: input.deployment,
            deploymentRegion,
            memberRoleName,
            managementRoleName,
            externalIdPrefix,
            managementAccountId: input.managementAccountId ?? null,
            tokenHash: hashToken(token),
            sealedToken: deps.envelope.seal(token, bindingOf(caller.tenantId, id)),
          },
          trx,
        );
        await audit(
          caller,
          'organization.created',
          { type: 'organization', id },
          {
            name: created.name,
            partition: created.partition,
            deployment: created.deployment,
            deploymentRegion,
            bundles: created.bundles,
            regions: created.regions,
            memberRoleName: created.memberRoleName,
            managementRoleName: created.managementRoleName,
            rules,
          },
          trx,
        );
        return created;
      });
      return {
        organization,
        counts: { counts: emptyStateCounts(), health: emptyHealthCounts(), outdated: 0 },
      };
    },

    async get(
      tenantId: string,
      id: string,
    ): Promise<{ organization: Organization; counts: OrganizationCounts | undefined }> {
      const organization = await findOrganization(tenantId, id);
      const counts = (await countsOf(tenantId, [id])).get(id);
      return { organization, counts };
    },

    /** One page of the tenant's organizations, oldest first, each with its counts (one query). */
    async list(
      tenantId: string,
      query: { limit: number; cursor?: string | undefined },
    ): Promise<{
      organizations: { organization: Organization; counts: OrganizationCounts | undefined }[];
      next: string | null;
    }> {
      const rows = await organizations.list(tenantId, {
        limit: query.limit,
        ...(query.cursor !== undefined
          ? { after: decodeCursor(query.cursor, (k) => isId('organization', k)) }
          : {}),
      });
      const page = rows.slice(0, query.limit);
      const counts = await countsOf(
        tenantId,
        page.map((o) => o.id),
      );
      const last = page.at(-1);
      return {
        organizations: page.map((organization) => ({
          organization,
          counts: counts.get(organization.id),
        })),
        next: rows.length > query.limit && last ? encodeCursor(last.id) : null,
      };
    },

    /**
     * Renames, or changes the rules or the permissions. New rules apply at once to every member
     * (in batches, in this change's transaction); new permissions are given to the connected
     * members' accounts, which are outdated until the StackSet is updated. Audited.
     */
    async update(
      caller: Caller,
      id: string,
      input: UpdateOrganizationInput,
    ): Promise<Organization> {
      const current = await findOrganization(caller.tenantId, id);
      const changes: OrganizationChanges = {};
      if (input.name !== undefined && input.name !== current.name) changes.name = input.name;
      if (input.description !== undefined && input.description !== current.description)
        changes.description = input.description;
      if (input.bundles !== undefined || input.regions !== undefined) {
        const selection = resolveSelection(deps.catalog, {
          partition: current.partition,
          bundles: input.bundles ?? current.bundles,
          regions: input.regions ?? current.regions,
        });
        const bundles = selection.bundles.map((b) => b.id);
        const regions = [...selection.regions];
        if (!sameList(bundles, current.bundles)) changes.bundles = bundles;
        if (!sameList(regions, current.regions)) changes.regions = regions;
      }
      if (input.rules !== undefined) {
        const rules = checkRules(input.rules);
        if (JSON.stringify(rules) !== JSON.stringify(current.rules)) changes.rules = rules;
      }
      const changed = Object.keys(changes);
      if (changed.length === 0) return current;
      // The templates must still render with new permissions (the member template's size).
      if (changes.bundles || changes.regions) blueprintOf({ ...current, ...changes });
      let touched: string[] = [];
      await deps.db.transaction().execute(async (trx) => {
        // Under the organization's lock: two PATCHes take turns, and the second sees the first.
        const locked = await organizations.findForUpdate(caller.tenantId, id, trx);
        if (!locked) throw notFound('Organization');
        if (!(await organizations.update(caller.tenantId, id, changes, locked.updatedAt, trx)))
          throw conflictingChange();
        const details: Record<string, unknown> = { changed, name: changes.name ?? locked.name };
        if (changes.rules) {
          const members = await organizations.placements(caller.tenantId, id, trx);
          const plan = reevaluate(changes.rules, members, now());
          const applied = await organizations.applyStateChanges(
            caller.tenantId,
            id,
            plan.changes,
            trx,
          );
          // Only members the change reached (one the enrollment worker moved meanwhile is its own).
          const appliedIds = new Set(applied.map((c) => c.awsAccountId));
          const accountOf = new Map(members.map((m) => [m.awsAccountId, m.accountId]));
          const appliedAccounts = (list: string[]) =>
            list
              .filter((awsAccountId) => appliedIds.has(awsAccountId))
              .map((awsAccountId) => accountOf.get(awsAccountId))
              .filter((accountId): accountId is string => typeof accountId === 'string');
          const paused = await deps.accounts.setPaused(
            caller.tenantId,
            appliedAccounts(plan.pause),
            'organization_excluded',
            trx,
          );
          const resumed = await deps.accounts.setPaused(
            caller.tenantId,
            appliedAccounts(plan.resume),
            null,
            trx,
          );
          touched = [...paused, ...resumed];
          details.rules = changes.rules;
          details.members = {
            excluded: applied.filter((c) => c.to === 'excluded').length,
            admitted: applied.filter((c) => c.from === 'excluded').length,
            unchanged: members.length - appliedIds.size,
          };
        }
        if (changes.bundles || changes.regions) {
          const connected = (await organizations.placements(caller.tenantId, id, trx))
            .filter((m) => m.accountId !== null)
            .map((m) => m.accountId as string);
          const updated = await deps.accounts.applyOrganizationSelection(
            caller,
            connected,
            {
              bundles: changes.bundles ?? locked.bundles,
              regions: changes.regions ?? locked.regions,
            },
            trx,
          );
          details.bundles = changes.bundles ?? locked.bundles;
          details.regions = changes.regions ?? locked.regions;
          details.accountsOutdated = updated;
          touched.push(...connected);
        }
        await audit(caller, 'organization.updated', { type: 'organization', id }, details, trx);
      });
      deps.accounts.accountsChanged(touched);
      return findOrganization(caller.tenantId, id);
    },

    /**
     * Stops managing the organization: its member accounts are deleted (their secrets purged, each
     * audited and an event), its member connections, units and members, and its sealed token, in
     * one transaction. The roles in AWS stay until the tenant deletes the stacks.
     */
    async delete(caller: Caller, id: string): Promise<void> {
      const organization = await findOrganization(caller.tenantId, id);
      const removed = await deps.db.transaction().execute(async (trx) => {
        const locked = await organizations.findForUpdate(caller.tenantId, id, trx);
        if (!locked) throw notFound('Organization');
        const accounts = await deps.accounts.removeOfOrganization(caller, id, trx);
        const connections = await deps.connections.deleteOfOrganization(caller.tenantId, id, trx);
        if (!(await organizations.delete(caller.tenantId, id, trx))) throw notFound('Organization');
        await audit(
          caller,
          'organization.deleted',
          { type: 'organization', id },
          {
            name: organization.name,
            partition: organization.partition,
            awsOrganizationId: organization.awsOrganizationId,
            accountsDeleted: accounts.length,
            connectionsDeleted: connections,
          },
          trx,
        );
        return accounts;
      });
      deps.accounts.accountsChanged(removed);
    },

    /**
     * A new enrollment token; the one it replaces is accepted for ENROLLMENT_TOKEN_GRACE_DAYS (stacks
     * deployed with it keep reporting until the StackSet is updated). Two rotations at once: one
     * wins (compare-and-set on the token read, and ENROLLMENT_TOKEN_ROTATION_COALESCE_SECONDS for
     * one that read the winner's), the other answers with the winner's.
     */
    async rotateToken(caller: Caller, id: string): Promise<Organization> {
      const organization = await findOrganization(caller.tenantId, id);
      const sinceIssued = deps.clock().getTime() - Date.parse(organization.tokenIssuedAt);
      if (
        organization.previousTokenHash !== null &&
        sinceIssued < ENROLLMENT_TOKEN_ROTATION_COALESCE_SECONDS * 1000
      )
        return organization;
      const token = newEnrollmentToken(deps.randomBytes);
      const previousUntil = new Date(
        deps.clock().getTime() + ENROLLMENT_TOKEN_GRACE_DAYS * DAY_MS,
      ).toISOString();
      await deps.db.transaction().execute(async (trx) => {
        const rotated = await organizations.rotateToken(
          caller.tenantId,
          id,
          {
            from: organization.tokenHash,
            tokenHash: hashToken(token),
            sealed: deps.envelope.seal(token, bindingOf(caller.tenantId, id)),
            previousUntil,
          },
          trx,
        );
        if (!rotated) return;
        await audit(
          caller,
          'organization.enrollment_token_rotated',
          { type: 'organization', id },
          { name: organization.name, previousValidUntil: previousUntil },
          trx,
        );
      });
      return findOrganization(caller.tenantId, id);
    },

    /** The enrollment token, opened, for the templates of a caller who may connect accounts. */
    async enrollmentTokenOf(organization: Organization): Promise<string | undefined> {
      const sealed = await organizations.findSealedToken(organization.tenantId, organization.id);
      return sealed
        ? deps.envelope.open(sealed, bindingOf(organization.tenantId, organization.id))
        : undefined;
    },

    /** The OU tree with, per unit, its subtree's members by state and accounts by health. */
    async tree(
      tenantId: string,
      id: string,
    ): Promise<{ units: UnitCounts[]; discoveredAt: string | null }> {
      const organization = await findOrganization(tenantId, id);
      const [units, places] = await Promise.all([
        organizations.units(tenantId, id),
        organizations.memberPlaces(tenantId, id),
      ]);
      const byUnit = new Map<string, UnitCounts>();
      for (const unit of units)
        byUnit.set(unit.id, {
          id: unit.id,
          name: unit.name,
          parentId: unit.parentId,
          counts: emptyStateCounts(),
          health: emptyHealthCounts(),
        });
      // Each member counts in every unit on its path: its parent's subtree and each one above it.
      for (const place of places) {
        for (const unitId of new Set(place.path)) {
          const unit = byUnit.get(unitId);
          if (!unit) continue;
          unit.counts[place.state] += 1;
          if (place.state === 'connected' && place.health) unit.health[place.health] += 1;
        }
      }
      return {
        units: [...byUnit.values()],
        discoveredAt: organization.lastDiscovery?.at ?? null,
      };
    },

    /** A page of members (filters of the accounts list), with their paths named from the tree. */
    async members(
      tenantId: string,
      id: string,
      query: {
        state?: MemberState | undefined;
        health?: AccountStatus | undefined;
        unit?: string | undefined;
        q?: string | undefined;
        limit: number;
        cursor?: string | undefined;
      },
    ): Promise<{
      members: (OrganizationMember & { health: AccountStatus | null })[];
      unitNames: Map<string, string>;
      next: string | null;
    }> {
      await findOrganization(tenantId, id);
      const filters: MemberFilters = { limit: query.limit };
      if (query.state) filters.state = query.state;
      if (query.health) filters.health = query.health;
      if (query.unit) filters.unit = query.unit;
      if (query.q?.trim()) filters.q = query.q.trim();
      if (query.cursor !== undefined)
        filters.after = decodeCursor(query.cursor, (k) => /^\d{12}$/.test(k));
      const [page, units] = await Promise.all([
        organizations.members(tenantId, id, filters),
        organizations.units(tenantId, id),
      ]);
      const last = page.members.at(-1);
      return {
        members: page.members,
        unitNames: new Map(units.map((u) => [u.id, u.name])),
        next: page.more && last ? encodeCursor(last.awsAccountId) : null,
      };
    },

    /**
     * What a rule set would do, before it is saved: how many known members it admits and excludes
     * (left members are not counted), the members whose admission it changes (with the rule that
     * decides, in words), and the rule targets no known unit or member has.
     */
    async previewRules(tenantId: string, id: string, given: OrganizationRules) {
      const organization = await findOrganization(tenantId, id);
      const rules = checkRules(given);
      const [members, units] = await Promise.all([
        organizations.placements(tenantId, id),
        organizations.units(tenantId, id),
      ]);
      let admitted = 0;
      let excluded = 0;
      const changes: {
        awsAccountId: string;
        name: string;
        state: MemberState;
        admitted: boolean;
        because: string;
      }[] = [];
      let changesTotal = 0;
      for (const member of members) {
        if (member.state === 'left') continue;
        const placement = { accountId: member.awsAccountId, path: member.path };
        const verdict = evaluateOrganizationRules(rules, placement);
        if (verdict.admitted) admitted += 1;
        else excluded += 1;
        const before = evaluateOrganizationRules(organization.rules, placement);
        if (before.admitted === verdict.admitted) continue;
        changesTotal += 1;
        if (changes.length < PREVIEW_CHANGES_LIMIT)
          changes.push({
            awsAccountId: member.awsAccountId,
            name: member.name,
            state: member.state,
            admitted: verdict.admitted,
            because: describeRuleVerdict(verdict),
          });
      }
      const knownUnits = new Set(units.map((u) => u.id));
      const knownAccounts = new Set(members.map((m) => m.awsAccountId));
      const unknownTargets = [
        ...[...rules.include.organizationalUnits, ...rules.exclude.organizationalUnits].filter(
          (u) => !knownUnits.has(u),
        ),
        ...[...rules.include.accounts, ...rules.exclude.accounts].filter(
          (a) => !knownAccounts.has(a),
        ),
      ];
      return {
        admitted,
        excluded,
        changes,
        changesTotal,
        unknownTargets: [...new Set(unknownTargets)],
      };
    },

    /**
     * The templates, Terraform, commands and steps that set the organization up (and, after new
     * permissions, update it: the management stack carries the StackSet, which updates every
     * member). The enrollment token is rendered only for a caller who may connect accounts
     * (`withToken`), as the NoEcho parameter's default; never anywhere else. `missing` lists what
     * the tenant must fill in: the root ID, before the first discovery, when the rules include the
     * whole organization.
     */
    async setup(
      tenantId: string,
      id: string,
      options: {
        format: 'yaml' | 'json';
        withToken: boolean;
        /**
         * The permission update's: `aws cloudformation deploy` keeps a parameter's previous value
         * on an update, so once the token was rotated the commands must name the new one.
         */
        forUpdate?: boolean;
        /** The StackSet's targets as the tenant filled them in, while Onramp does not know them. */
        targets?: string[] | undefined;
      },
    ): Promise<OrganizationSetup> {
      const organization = await findOrganization(tenantId, id);
      const token = options.withToken ? await this.enrollmentTokenOf(organization) : undefined;
      const memberAccounts =
        organization.deployment === 'service_managed'
          ? undefined
          : (await organizations.placements(tenantId, id))
              .filter((m) => m.state !== 'excluded' && m.state !== 'left')
              .map((m) => m.awsAccountId);
      // What core refuses of a stored organization (a catalog changed since) is a 422 naming it.
      const blueprint = blueprintOf(organization, {
        token,
        ...(memberAccounts ? { memberAccounts } : {}),
        targets: options.targets,
        platform: deps.branding ? (await deps.branding.brand()).name : undefined,
      });
      const text = renderOrganizationText(blueprint, options.format);
      const targets = blueprint.deploymentTargets;
      const missing: OrganizationSetup['missing'] = [];
      if (organization.deployment === 'service_managed' && !targets) {
        missing.push({
          field: 'DeploymentTargets',
          code: 'root_unknown',
          message:
            'The rules include the whole organization (or accounts by name), so the StackSet deploys to its root, whose ID Onramp learns at the first discovery.',
          hint: 'Fill in the DeploymentTargets parameter with the root ID (r-…, shown by `aws organizations list-roots`), or include organizational units in the rules.',
        });
      }
      return {
        deployment: organization.deployment,
        managementTemplate: text.management,
        memberTemplate: text.member,
        terraform: renderOrganizationTerraform(blueprint),
        commands: organizationCommands(blueprint, {
          format: options.format,
          passToken:
            options.forUpdate === true &&
            options.withToken &&
            organization.previousTokenHash !== null,
        }),
        steps: organizationSteps(blueprint),
        deploymentTargets: targets ?? [],
        missing,
        blueprint,
      };
    },

    getOrganization: findOrganization,
  };
}

export type OrganizationsService = ReturnType<typeof createOrganizationsService>;

function conflictingChange(): AppError {
  const message =
    'The organization changed while this change was made (in another tab, or by someone else).';
  return new AppError('conflict', message, [
    { field: 'id', code: 'changed', message, hint: 'Reload the organization and try again.' },
  ]);
}
