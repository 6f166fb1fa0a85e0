import { randomBytes } from 'node:crypto';
import type { OrganizationRules, PartitionId } from '@onramp/core';
import type { Kysely } from 'kysely';
import { hashToken } from '../adapters/crypto/secrets.ts';
import type {
  Database,
  OrganizationMembersTable,
  OrganizationsTable,
} from '../adapters/db/schema.ts';
import {
  createOrganizationsRepository,
  ENROLLMENT_TOKEN_FIELD,
  type MemberState,
  type Organization,
  type OrganizationStatus,
  type OrganizationUnit,
} from '../features/organizations/organizations-repository.ts';
import { newId } from '../ids.ts';
import type { Harness } from './harness.ts';

export const MEMBER_ROLE = 'OnrampMemberRole-test';
export const MANAGEMENT_ROLE = 'OnrampOrganizationRole-test';

/**
 * An organization of a tenant as POST /v1/organizations stores it (repository-level, so the tests of
 * the call-backs and jobs do not depend on the tenant routes), with its enrollment token in clear.
 */
export async function seedOrganization(
  h: Harness,
  tenantId: string,
  options: {
    partition?: PartitionId;
    rules?: OrganizationRules;
    managementAccountId?: string | null;
  } = {},
): Promise<{ org: Organization; token: string }> {
  const partition = options.partition ?? 'aws';
  const repo = createOrganizationsRepository(h.database.db, h.deps.clock);
  const id = newId('organization');
  const token = `onrorg_${randomBytes(32).toString('base64url')}`;
  const org = await repo.create(tenantId, {
    id,
    name: `org ${id.slice(-6)}`,
    description: '',
    partition,
    bundles: h.deps.catalog.defaultBundles(partition).map((b) => b.id),
    regions: [],
    rules: options.rules ?? {
      include: { organizationalUnits: [], accounts: [] },
      exclude: { organizationalUnits: [], accounts: [] },
    },
    deployment: 'service_managed',
    deploymentRegion: partition === 'aws-us-gov' ? 'us-gov-west-1' : 'us-east-1',
    memberRoleName: MEMBER_ROLE,
    managementRoleName: MANAGEMENT_ROLE,
    externalIdPrefix: `onramp-${randomBytes(24).toString('base64url')}`,
    managementAccountId: options.managementAccountId ?? null,
    tokenHash: hashToken(token),
    sealedToken: h.deps.envelope.seal(token, {
      tenantId,
      ownerId: id,
      field: ENROLLMENT_TOKEN_FIELD,
    }),
  });
  return { org, token };
}

export function roleArnOf(partition: PartitionId, accountId: string, name: string): string {
  return `arn:${partition}:iam::${accountId}:role/${name}`;
}

/** A member as a test puts it: the fields given; a new row takes the defaults for the rest. */
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

/**
 * Members, units and discovery results written straight to the tables, for the tests of what reads
 * them (counts, the tree, the member list, rule changes). Onramp itself writes these through
 * discovery and the call-backs (organization-jobs-repository.ts).
 */
export function createOrganizationSeeds(
  db: Kysely<Database>,
  clock: () => Date = () => new Date(),
) {
  const now = () => clock().toISOString();
  return {
    /**
     * Inserts or refreshes members: the fields given replace the stored ones;
     * a new member starts with the defaults for the rest.
     */
    async putMembers(
      tenantId: string,
      organizationId: string,
      members: readonly MemberInput[],
      executor: Kysely<Database> = db,
    ): Promise<void> {
      const at = now();
      for (const m of members) {
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
    },

    /** Inserts or replaces the OU tree's rows given. */
    async putUnits(
      tenantId: string,
      organizationId: string,
      units: readonly OrganizationUnit[],
      executor: Kysely<Database> = db,
    ): Promise<void> {
      const at = now();
      for (let i = 0; i < units.length; i += 200) {
        const part = units.slice(i, i + 200);
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

    /** Sets what a discovery would have found of the organization itself. */
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
