import type { OrganizationRules, PartitionId } from '@onramp/core';
import { type Kysely, sql } from 'kysely';
import type { SealedSecret } from '../../adapters/crypto/envelope.ts';
import type {
  Database,
  OrganizationMembersTable,
  OrganizationsTable,
} from '../../adapters/db/schema.ts';
import { createSealedSecrets } from '../../adapters/db/sealed-secrets.ts';
import type { AccountStatus } from '../../domain/account.ts';

/**
 * Organizations of a tenant, their OU trees and member accounts (0014_organizations). Every method
 * takes the tenant first and filters by it, except `findByTokenHash`: a call-back arrives with
 * nothing but its enrollment token, and the token is what tells which organization it is for.
 * Writes take an optional executor so the service can group them (and the audit entry) in one
 * transaction.
 */

export type OrganizationDeployment = OrganizationsTable['deployment'];
export type OrganizationStatus = OrganizationsTable['status'];
export type MemberState = OrganizationMembersTable['state'];

export const MEMBER_STATES: readonly MemberState[] = [
  'discovered',
  'enrolling',
  'connected',
  'failed',
  'excluded',
  'left',
];
export const HEALTH_STATES: readonly AccountStatus[] = [
  'valid',
  'degraded',
  'invalid',
  'unverified',
];

/** The field of the secrets table (owner: the organization) that holds the enrollment token, sealed. */
export const ENROLLMENT_TOKEN_FIELD = 'enrollment_token';

export interface Organization {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  partition: PartitionId;
  status: OrganizationStatus;
  bundles: string[];
  regions: string[];
  rules: OrganizationRules;
  deployment: OrganizationDeployment;
  deploymentRegion: string;
  memberRoleName: string;
  managementRoleName: string;
  externalIdPrefix: string;
  awsOrganizationId: string | null;
  managementAccountId: string | null;
  managementRoleArn: string | null;
  managementStackId: string | null;
  rootId: string | null;
  tokenHash: string;
  tokenIssuedAt: string;
  previousTokenHash: string | null;
  previousTokenUntil: string | null;
  lastDiscovery: { at: string; ok: boolean; accounts: number; error: string | null } | null;
  discoveryDueAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewOrganization {
  id: string;
  name: string;
  description: string;
  partition: PartitionId;
  bundles: string[];
  regions: string[];
  rules: OrganizationRules;
  deployment: OrganizationDeployment;
  deploymentRegion: string;
  memberRoleName: string;
  managementRoleName: string;
  externalIdPrefix: string;
  managementAccountId: string | null;
  tokenHash: string;
  /** The enrollment token itself, sealed (bound to the tenant, the organization and the field). */
  sealedToken: SealedSecret;
}

/** What a PATCH may change (compare-and-set on `updated_at`). */
export interface OrganizationChanges {
  name?: string;
  description?: string;
  bundles?: string[];
  regions?: string[];
  rules?: OrganizationRules;
}

export interface OrganizationMember {
  organizationId: string;
  tenantId: string;
  awsAccountId: string;
  name: string;
  email: string;
  awsStatus: string | null;
  parentId: string | null;
  /** Root first, the parent last. */
  path: string[];
  management: boolean;
  state: MemberState;
  reason: { code: string; message: string; hint?: string } | null;
  roleArn: string | null;
  stackId: string | null;
  connectionId: string | null;
  accountId: string | null;
  confirmed: boolean;
  enrollDueAt: string | null;
  enrollAttempts: number;
  discoveredAt: string | null;
  seenAt: string | null;
  stateChangedAt: string;
  createdAt: string;
  updatedAt: string;
}

/** A member row to insert or refresh (seeding, discovery): what is not given keeps its default. */
export interface MemberInput {
  awsAccountId: string;
  name?: string;
  email?: string;
  awsStatus?: string | null;
  parentId?: string | null;
  path?: string[];
  management?: boolean;
  state: MemberState;
  reason?: { code: string; message: string; hint?: string } | null;
  roleArn?: string | null;
  stackId?: string | null;
  connectionId?: string | null;
  accountId?: string | null;
  confirmed?: boolean;
  enrollDueAt?: string | null;
  discoveredAt?: string | null;
  seenAt?: string | null;
}

export interface OrganizationUnit {
  id: string;
  name: string;
  parentId: string | null;
  /** Root first, this unit last. */
  path: string[];
}

export type StateCounts = Record<MemberState, number>;
export type HealthCounts = Record<AccountStatus, number>;

/** What the organization's view counts: members by state, connected accounts by health, outdated. */
export interface OrganizationCounts {
  counts: StateCounts;
  health: HealthCounts;
  outdated: number;
}

/** One member as the rules see it: where it is, how far it got. */
export interface MemberPlacementRow {
  awsAccountId: string;
  name: string;
  path: string[];
  state: MemberState;
  roleArn: string | null;
  accountId: string | null;
}

/** A state change the rules decided: applied only if the member is still in `from`. */
export interface MemberStateChange {
  awsAccountId: string;
  from: MemberState;
  to: MemberState;
  reason: { code: string; message: string; hint?: string } | null;
  enrollDueAt?: string | null;
}

export interface MemberFilters {
  state?: MemberState;
  health?: AccountStatus;
  /** A root or OU ID: members anywhere under it. */
  unit?: string;
  q?: string;
  /** The AWS account ID after which the page starts. */
  after?: string;
  limit: number;
}

/** Rows per statement when a list of keys is sent as `in (…)`: well under both engines' limits. */
const CHUNK = 500;

export function emptyStateCounts(): StateCounts {
  return { discovered: 0, enrolling: 0, connected: 0, failed: 0, excluded: 0, left: 0 };
}
export function emptyHealthCounts(): HealthCounts {
  return { valid: 0, degraded: 0, invalid: 0, unverified: 0 };
}

function parseStrings(text: string | null): string[] {
  if (!text) return [];
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

function parseRules(text: string): OrganizationRules {
  const empty = { organizationalUnits: [], accounts: [] };
  try {
    const value = JSON.parse(text) as Partial<OrganizationRules>;
    const side = (s: unknown) => {
      const o = (s ?? {}) as { organizationalUnits?: unknown; accounts?: unknown };
      return {
        organizationalUnits: Array.isArray(o.organizationalUnits)
          ? o.organizationalUnits.filter((v): v is string => typeof v === 'string')
          : [],
        accounts: Array.isArray(o.accounts)
          ? o.accounts.filter((v): v is string => typeof v === 'string')
          : [],
      };
    };
    return { include: side(value.include), exclude: side(value.exclude) };
  } catch {
    return { include: empty, exclude: empty };
  }
}

function toOrganization(row: OrganizationsTable): Organization {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    description: row.description,
    partition: row.partition as PartitionId,
    status: row.status,
    bundles: parseStrings(row.bundles),
    regions: parseStrings(row.regions),
    rules: parseRules(row.rules),
    deployment: row.deployment,
    deploymentRegion: row.deployment_region,
    memberRoleName: row.member_role_name,
    managementRoleName: row.management_role_name,
    externalIdPrefix: row.external_id_prefix,
    awsOrganizationId: row.aws_organization_id,
    managementAccountId: row.management_account_id,
    managementRoleArn: row.management_role_arn,
    managementStackId: row.management_stack_id,
    rootId: row.root_id,
    tokenHash: row.token_hash,
    tokenIssuedAt: row.token_issued_at,
    previousTokenHash: row.previous_token_hash,
    previousTokenUntil: row.previous_token_until,
    lastDiscovery: row.last_discovery_at
      ? {
          at: row.last_discovery_at,
          ok: Number(row.last_discovery_ok) === 1,
          accounts: Number(row.last_discovery_accounts ?? 0),
          error: row.last_discovery_error,
        }
      : null,
    discoveryDueAt: row.discovery_due_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toMember(row: OrganizationMembersTable): OrganizationMember {
  return {
    organizationId: row.organization_id,
    tenantId: row.tenant_id,
    awsAccountId: row.aws_account_id,
    name: row.name,
    email: row.email,
    awsStatus: row.aws_status,
    parentId: row.parent_id,
    path: parseStrings(row.path),
    management: Number(row.management) === 1,
    state: row.state,
    reason:
      row.reason_code !== null
        ? {
            code: row.reason_code,
            message: row.reason_message ?? '',
            ...(row.reason_hint ? { hint: row.reason_hint } : {}),
          }
        : null,
    roleArn: row.role_arn,
    stackId: row.stack_id,
    connectionId: row.connection_id,
    accountId: row.account_id,
    confirmed: Number(row.confirmed) === 1,
    enrollDueAt: row.enroll_due_at,
    enrollAttempts: Number(row.enroll_attempts),
    discoveredAt: row.discovered_at,
    seenAt: row.seen_at,
    stateChangedAt: row.state_changed_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** `%text%` for LIKE … ESCAPE '!', the wildcards in `text` taken literally. */
function likeContains(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function createOrganizationsRepository(db: Kysely<Database>, clock: () => Date) {
  const secrets = createSealedSecrets(db, clock);
  const now = () => clock().toISOString();
  const binding = (tenantId: string, id: string) => ({
    tenantId,
    ownerId: id,
    field: ENROLLMENT_TOKEN_FIELD,
  });

  /** Members joined to their accounts' health; the tenant on both sides of the join. */
  const membersWithHealth = (executor: Kysely<Database>, tenantId: string, orgId: string) =>
    executor
      .selectFrom('organization_members as m')
      .leftJoin('accounts as a', (join) =>
        join.onRef('a.id', '=', 'm.account_id').onRef('a.tenant_id', '=', 'm.tenant_id'),
      )
      .where('m.tenant_id', '=', tenantId)
      .where('m.organization_id', '=', orgId);

  return {
    /** Stores the organization and its sealed enrollment token (the caller's transaction adds the audit entry). */
    async create(
      tenantId: string,
      input: NewOrganization,
      executor: Kysely<Database> = db,
    ): Promise<Organization> {
      const at = now();
      const row: OrganizationsTable = {
        id: input.id,
        tenant_id: tenantId,
        name: input.name,
        description: input.description,
        partition: input.partition,
        status: 'pending',
        bundles: JSON.stringify(input.bundles),
        regions: JSON.stringify(input.regions),
        rules: JSON.stringify(input.rules),
        deployment: input.deployment,
        deployment_region: input.deploymentRegion,
        member_role_name: input.memberRoleName,
        management_role_name: input.managementRoleName,
        external_id_prefix: input.externalIdPrefix,
        aws_organization_id: null,
        management_account_id: input.managementAccountId,
        management_role_arn: null,
        management_stack_id: null,
        root_id: null,
        token_hash: input.tokenHash,
        token_issued_at: at,
        previous_token_hash: null,
        previous_token_until: null,
        last_discovery_at: null,
        last_discovery_ok: null,
        last_discovery_accounts: null,
        last_discovery_error: null,
        discovery_due_at: null,
        discovery_claimed_by: null,
        discovery_claim_expires_at: null,
        created_at: at,
        updated_at: at,
      };
      await executor.insertInto('organizations').values(row).execute();
      await secrets.put(binding(tenantId, input.id), input.sealedToken, executor);
      return toOrganization(row);
    },

    async find(
      tenantId: string,
      id: string,
      executor: Kysely<Database> = db,
    ): Promise<Organization | undefined> {
      const row = await executor
        .selectFrom('organizations')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toOrganization(row) : undefined;
    },

    /**
     * Reads the organization holding it until the transaction ends: a no-op UPDATE first takes the
     * row's lock on PostgreSQL and the writer lock on SQLite, so two changes take turns.
     */
    async findForUpdate(
      tenantId: string,
      id: string,
      trx: Kysely<Database>,
    ): Promise<Organization | undefined> {
      await trx
        .updateTable('organizations')
        .set((eb) => ({ updated_at: eb.ref('updated_at') }))
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
      return this.find(tenantId, id, trx);
    },

    /** One page, oldest first, read with `limit + 1` rows (see http/pagination.ts). */
    async list(
      tenantId: string,
      options: { limit: number; after?: string },
    ): Promise<Organization[]> {
      let query = db
        .selectFrom('organizations')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('id', 'asc')
        .limit(options.limit + 1);
      if (options.after !== undefined) query = query.where('id', '>', options.after);
      return (await query.execute()).map(toOrganization);
    },

    async count(tenantId: string, executor: Kysely<Database> = db): Promise<number> {
      const row = await executor
        .selectFrom('organizations')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    /**
     * Applies a PATCH only if the organization is still as the caller read it (`updated_at`): two
     * PATCHes at once cannot both write back what they read. False when it changed (or is gone).
     */
    async update(
      tenantId: string,
      id: string,
      changes: OrganizationChanges,
      expectedUpdatedAt: string,
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const set: Partial<OrganizationsTable> = { updated_at: now() };
      // A PATCH within the same millisecond must still move `updated_at`, or the next CAS would pass.
      if (set.updated_at === expectedUpdatedAt)
        set.updated_at = new Date(Date.parse(expectedUpdatedAt) + 1).toISOString();
      if (changes.name !== undefined) set.name = changes.name;
      if (changes.description !== undefined) set.description = changes.description;
      if (changes.bundles !== undefined) set.bundles = JSON.stringify(changes.bundles);
      if (changes.regions !== undefined) set.regions = JSON.stringify(changes.regions);
      if (changes.rules !== undefined) set.rules = JSON.stringify(changes.rules);
      const result = await executor
        .updateTable('organizations')
        .set(set)
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('updated_at', '=', expectedUpdatedAt)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * Deletes the organization, its units and members (the foreign keys cascade, deleted here too so
     * nothing depends on the cascade) and purges its sealed token. Its member connections and
     * accounts belong to those features: the service deletes them in the same transaction.
     */
    async delete(tenantId: string, id: string, executor: Kysely<Database> = db): Promise<boolean> {
      await executor
        .deleteFrom('organization_members')
        .where('tenant_id', '=', tenantId)
        .where('organization_id', '=', id)
        .execute();
      await executor
        .deleteFrom('organization_units')
        .where('tenant_id', '=', tenantId)
        .where('organization_id', '=', id)
        .execute();
      const result = await executor
        .deleteFrom('organizations')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      await secrets.deleteOwner(tenantId, id, executor);
      return Number(result.numDeletedRows) > 0;
    },

    /**
     * The organization an enrollment token belongs to: its current token, or the one it replaced
     * while that is still accepted (`previous_token_until` later than now). Undefined otherwise.
     */
    async findByTokenHash(
      tokenHash: string,
      at: string = now(),
    ): Promise<{ organization: Organization; token: 'current' | 'previous' } | undefined> {
      const current = await db
        .selectFrom('organizations')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (current) return { organization: toOrganization(current), token: 'current' };
      const previous = await db
        .selectFrom('organizations')
        .selectAll()
        .where('previous_token_hash', '=', tokenHash)
        .where('previous_token_until', '>', at)
        .executeTakeFirst();
      return previous ? { organization: toOrganization(previous), token: 'previous' } : undefined;
    },

    /**
     * A new enrollment token, the current one accepted until `previousUntil`. Conditional on the
     * token the caller read (`from`), so of two rotations at once one wins and the other sees false:
     * never a third token accepted, never the winner's replaced token lost.
     */
    async rotateToken(
      tenantId: string,
      id: string,
      rotation: { from: string; tokenHash: string; sealed: SealedSecret; previousUntil: string },
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const at = now();
      const result = await executor
        .updateTable('organizations')
        .set({
          token_hash: rotation.tokenHash,
          token_issued_at: at,
          previous_token_hash: rotation.from,
          previous_token_until: rotation.previousUntil,
          updated_at: at,
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('token_hash', '=', rotation.from)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await secrets.put(binding(tenantId, id), rotation.sealed, executor);
      return true;
    },

    /** The enrollment token, sealed; the service opens it to render templates. */
    findSealedToken(tenantId: string, id: string): Promise<SealedSecret | undefined> {
      return secrets.find(binding(tenantId, id));
    },

    /**
     * Per organization: members by state, connected members' accounts by health, and how many of
     * those are outdated. One GROUP BY over the members joined to their accounts, whatever the
     * number of members or organizations asked for.
     */
    async countsOf(
      tenantId: string,
      organizationIds: readonly string[],
    ): Promise<Map<string, OrganizationCounts>> {
      const out = new Map<string, OrganizationCounts>();
      for (const id of organizationIds)
        out.set(id, { counts: emptyStateCounts(), health: emptyHealthCounts(), outdated: 0 });
      for (const ids of chunks(organizationIds)) {
        const rows = await db
          .selectFrom('organization_members as m')
          .leftJoin('accounts as a', (join) =>
            join.onRef('a.id', '=', 'm.account_id').onRef('a.tenant_id', '=', 'm.tenant_id'),
          )
          .where('m.tenant_id', '=', tenantId)
          .where('m.organization_id', 'in', ids)
          .select([
            'm.organization_id as organizationId',
            'm.state as state',
            'a.status as status',
            sql<number>`case when a.outdated_since is null then 0 else 1 end`.as('outdated'),
            (eb) => eb.fn.countAll().as('n'),
          ])
          .groupBy([
            'm.organization_id',
            'm.state',
            'a.status',
            sql`case when a.outdated_since is null then 0 else 1 end`,
          ])
          .execute();
        for (const row of rows) {
          const entry = out.get(row.organizationId);
          if (!entry) continue;
          const n = Number(row.n);
          entry.counts[row.state] += n;
          if (row.state === 'connected' && row.status) {
            entry.health[row.status] += n;
            if (Number(row.outdated) === 1) entry.outdated += n;
          }
        }
      }
      return out;
    },

    /** The OU tree as the last discovery saw it. */
    async units(tenantId: string, organizationId: string): Promise<OrganizationUnit[]> {
      const rows = await db
        .selectFrom('organization_units')
        .select(['id', 'name', 'parent_id', 'path'])
        .where('tenant_id', '=', tenantId)
        .where('organization_id', '=', organizationId)
        .orderBy('path', 'asc')
        .execute();
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        parentId: r.parent_id,
        path: parseStrings(r.path),
      }));
    },

    /**
     * Every member's place, state and health, for the tree's per-unit counts: one query; the counts
     * of a unit's subtree are summed in the caller over each member's path.
     */
    async memberPlaces(
      tenantId: string,
      organizationId: string,
    ): Promise<
      {
        awsAccountId: string;
        path: string[];
        state: MemberState;
        health: AccountStatus | null;
      }[]
    > {
      const rows = await membersWithHealth(db, tenantId, organizationId)
        .select(['m.aws_account_id', 'm.path', 'm.state', 'a.status'])
        .execute();
      return rows.map((r) => ({
        awsAccountId: r.aws_account_id,
        path: parseStrings(r.path),
        state: r.state,
        health: r.status ?? null,
      }));
    },

    /** A page of members in AWS account ID order, with their accounts' health. */
    async members(
      tenantId: string,
      organizationId: string,
      filters: MemberFilters,
    ): Promise<{
      members: (OrganizationMember & { health: AccountStatus | null })[];
      more: boolean;
    }> {
      let query = membersWithHealth(db, tenantId, organizationId)
        .selectAll('m')
        .select('a.status as health')
        .orderBy('m.aws_account_id', 'asc')
        .limit(filters.limit + 1);
      if (filters.state) query = query.where('m.state', '=', filters.state);
      if (filters.health) query = query.where('a.status', '=', filters.health);
      if (filters.after) query = query.where('m.aws_account_id', '>', filters.after);
      if (filters.unit) {
        // The path is a JSON array of IDs, each quoted: a unit's ID with its quotes matches only
        // that unit (IDs are letters, digits and dashes: no LIKE wildcard to escape but `_`).
        const pattern = likeContains(`"${filters.unit}"`);
        query = query.where(sql`m.path`, 'like', sql`${pattern} escape '!'`);
      }
      const q = filters.q?.trim();
      if (q) {
        const pattern = likeContains(q);
        // The AWS console writes account IDs as 1234-5678-9012.
        const digits = /^[\d\s-]*\d[\d\s-]*$/.test(q) ? q.replace(/[\s-]/g, '') : q;
        query = query.where((eb) =>
          eb.or([
            eb(sql`lower(m.name)`, 'like', sql`lower(${pattern}) escape '!'`),
            eb(sql`lower(m.email)`, 'like', sql`lower(${pattern}) escape '!'`),
            eb(sql`m.aws_account_id`, 'like', sql`${likeContains(digits)} escape '!'`),
          ]),
        );
      }
      const rows = await query.execute();
      return {
        members: rows.slice(0, filters.limit).map((r) => ({
          ...toMember(r),
          health: (r.health as AccountStatus | null) ?? null,
        })),
        more: rows.length > filters.limit,
      };
    },

    async findMember(
      tenantId: string,
      organizationId: string,
      awsAccountId: string,
      executor: Kysely<Database> = db,
    ): Promise<OrganizationMember | undefined> {
      const row = await executor
        .selectFrom('organization_members')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('organization_id', '=', organizationId)
        .where('aws_account_id', '=', awsAccountId)
        .executeTakeFirst();
      return row ? toMember(row) : undefined;
    },

    /** Every member as the rules see it (re-evaluation and the preview), in account ID order. */
    async placements(
      tenantId: string,
      organizationId: string,
      executor: Kysely<Database> = db,
    ): Promise<MemberPlacementRow[]> {
      const rows = await executor
        .selectFrom('organization_members')
        .select(['aws_account_id', 'name', 'path', 'state', 'role_arn', 'account_id'])
        .where('tenant_id', '=', tenantId)
        .where('organization_id', '=', organizationId)
        .orderBy('aws_account_id', 'asc')
        .execute();
      return rows.map((r) => ({
        awsAccountId: r.aws_account_id,
        name: r.name,
        path: parseStrings(r.path),
        state: r.state,
        roleArn: r.role_arn,
        accountId: r.account_id,
      }));
    },

    /**
     * Applies state changes in batches (one UPDATE per target state and chunk). Each change holds
     * only if the member is still in the state it was read in: a member the enrollment worker moved
     * meanwhile is left as the worker made it. Returns the changes that were applied.
     */
    async applyStateChanges(
      tenantId: string,
      organizationId: string,
      changes: readonly MemberStateChange[],
      executor: Kysely<Database> = db,
    ): Promise<MemberStateChange[]> {
      const at = now();
      const groups = new Map<string, MemberStateChange[]>();
      for (const change of changes) {
        const key = JSON.stringify([
          change.from,
          change.to,
          change.reason,
          change.enrollDueAt ?? null,
        ]);
        const group = groups.get(key) ?? [];
        group.push(change);
        groups.set(key, group);
      }
      const applied: MemberStateChange[] = [];
      for (const group of groups.values()) {
        const first = group[0] as MemberStateChange;
        for (const part of chunks(group)) {
          const rows = await executor
            .updateTable('organization_members')
            .set({
              state: first.to,
              reason_code: first.reason?.code ?? null,
              reason_message: first.reason?.message ?? null,
              reason_hint: first.reason?.hint ?? null,
              ...(first.enrollDueAt !== undefined
                ? { enroll_due_at: first.enrollDueAt, enroll_attempts: 0 }
                : {}),
              state_changed_at: at,
              updated_at: at,
            })
            .where('tenant_id', '=', tenantId)
            .where('organization_id', '=', organizationId)
            .where('state', '=', first.from)
            .where(
              'aws_account_id',
              'in',
              part.map((c) => c.awsAccountId),
            )
            .returning('aws_account_id')
            .execute();
          const done = new Set(rows.map((r) => r.aws_account_id));
          applied.push(...part.filter((c) => done.has(c.awsAccountId)));
        }
      }
      return applied;
    },

    /**
     * Inserts or refreshes members (discovery, seeding): the fields given replace the stored ones;
     * a new member starts with the defaults for the rest.
     */
    async putMembers(
      tenantId: string,
      organizationId: string,
      members: readonly MemberInput[],
      executor: Kysely<Database> = db,
    ): Promise<void> {
      const at = now();
      for (const part of chunks(members, 200)) {
        for (const m of part) {
          const row: OrganizationMembersTable = {
            organization_id: organizationId,
            tenant_id: tenantId,
            aws_account_id: m.awsAccountId,
            name: m.name ?? '',
            email: m.email ?? '',
            aws_status: m.awsStatus ?? null,
            parent_id: m.parentId ?? null,
            path: JSON.stringify(m.path ?? []),
            management: m.management ? 1 : 0,
            state: m.state,
            reason_code: m.reason?.code ?? null,
            reason_message: m.reason?.message ?? null,
            reason_hint: m.reason?.hint ?? null,
            role_arn: m.roleArn ?? null,
            stack_id: m.stackId ?? null,
            connection_id: m.connectionId ?? null,
            account_id: m.accountId ?? null,
            confirmed: m.confirmed ? 1 : 0,
            enroll_due_at: m.enrollDueAt ?? null,
            enroll_attempts: 0,
            claimed_by: null,
            claim_expires_at: null,
            discovered_at: m.discoveredAt ?? null,
            seen_at: m.seenAt ?? null,
            state_changed_at: at,
            created_at: at,
            updated_at: at,
          };
          const { organization_id, aws_account_id, created_at, tenant_id, ...update } = row;
          const given = Object.fromEntries(
            Object.entries(update).filter(([column]) => isGiven(m, column)),
          );
          await executor
            .insertInto('organization_members')
            .values(row)
            .onConflict((oc) =>
              oc
                .columns(['organization_id', 'aws_account_id'])
                .doUpdateSet({ ...given, updated_at: at }),
            )
            .execute();
        }
      }
    },

    /** Replaces the stored OU tree's rows given (discovery, seeding). */
    async putUnits(
      tenantId: string,
      organizationId: string,
      units: readonly OrganizationUnit[],
      executor: Kysely<Database> = db,
    ): Promise<void> {
      const at = now();
      for (const part of chunks(units, 200)) {
        if (part.length === 0) continue;
        await executor
          .insertInto('organization_units')
          .values(
            part.map((u) => ({
              organization_id: organizationId,
              tenant_id: tenantId,
              id: u.id,
              name: u.name,
              parent_id: u.parentId,
              path: JSON.stringify(u.path),
              seen_at: at,
            })),
          )
          .onConflict((oc) =>
            oc.columns(['organization_id', 'id']).doUpdateSet((eb) => ({
              name: eb.ref('excluded.name'),
              parent_id: eb.ref('excluded.parent_id'),
              path: eb.ref('excluded.path'),
              seen_at: eb.ref('excluded.seen_at'),
            })),
          )
          .execute();
      }
    },

    /** Records what discovery found of the organization itself (and seeds tests). */
    async setDiscovered(
      tenantId: string,
      id: string,
      found: {
        awsOrganizationId?: string | null;
        rootId?: string | null;
        managementAccountId?: string | null;
        managementRoleArn?: string | null;
        status?: OrganizationStatus;
        lastDiscovery?: { at: string; ok: boolean; accounts: number; error: string | null };
      },
      executor: Kysely<Database> = db,
    ): Promise<void> {
      const set: Partial<OrganizationsTable> = {};
      if (found.awsOrganizationId !== undefined) set.aws_organization_id = found.awsOrganizationId;
      if (found.rootId !== undefined) set.root_id = found.rootId;
      if (found.managementAccountId !== undefined)
        set.management_account_id = found.managementAccountId;
      if (found.managementRoleArn !== undefined) set.management_role_arn = found.managementRoleArn;
      if (found.status !== undefined) set.status = found.status;
      if (found.lastDiscovery) {
        set.last_discovery_at = found.lastDiscovery.at;
        set.last_discovery_ok = found.lastDiscovery.ok ? 1 : 0;
        set.last_discovery_accounts = found.lastDiscovery.accounts;
        set.last_discovery_error = found.lastDiscovery.error;
      }
      if (Object.keys(set).length === 0) return;
      await executor
        .updateTable('organizations')
        .set(set)
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
    },
  };
}

/** Which columns of a member row an input sets (the rest keep their stored values on conflict). */
function isGiven(input: MemberInput, column: string): boolean {
  const fields: Record<string, keyof MemberInput | undefined> = {
    name: 'name',
    email: 'email',
    aws_status: 'awsStatus',
    parent_id: 'parentId',
    path: 'path',
    management: 'management',
    state: 'state',
    reason_code: 'reason',
    reason_message: 'reason',
    reason_hint: 'reason',
    role_arn: 'roleArn',
    stack_id: 'stackId',
    connection_id: 'connectionId',
    account_id: 'accountId',
    confirmed: 'confirmed',
    enroll_due_at: 'enrollDueAt',
    discovered_at: 'discoveredAt',
    seen_at: 'seenAt',
    state_changed_at: 'state',
  };
  const field = fields[column];
  return field !== undefined && input[field] !== undefined;
}

export type OrganizationsRepository = ReturnType<typeof createOrganizationsRepository>;
