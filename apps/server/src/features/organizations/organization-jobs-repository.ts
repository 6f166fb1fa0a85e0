import type { OrganizationRules } from '@onramp/core';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { Dialect } from '../../adapters/db/database.ts';
import type {
  Database,
  OrganizationMembersTable,
  OrganizationsTable,
} from '../../adapters/db/schema.ts';

export type OrganizationRow = Selectable<OrganizationsTable>;
export type MemberRow = Selectable<OrganizationMembersTable>;
export type MemberState = OrganizationMembersTable['state'];

/** The rules of an organization row, parsed (stored as JSON text). */
export function rulesOf(org: OrganizationRow): OrganizationRules {
  return JSON.parse(org.rules) as OrganizationRules;
}

/** A member's path (root first, parent last), parsed. */
export function pathOf(member: Pick<MemberRow, 'path'>): string[] {
  return JSON.parse(member.path) as string[];
}

/** What discovery learned of one member, before the rules and its current state decide its state. */
export interface ListedMember {
  awsAccountId: string;
  name: string;
  email: string;
  awsStatus: string;
  parentId: string | null;
  path: string[];
}

/**
 * The organizations feature's background SQL: the enrollment token lookup of the call-backs, the
 * discovery claim on `organizations`, the enrollment queue in `organization_members`, and the member
 * transitions they make. Claims are compare-and-set (owner and expiry) and, on PostgreSQL, take their
 * candidates with FOR UPDATE SKIP LOCKED, so replicas claiming together take different rows; a
 * replica that dies holds its claims only until they expire.
 */
export function createOrganizationJobsRepository(
  db: Kysely<Database>,
  dialect: Dialect,
  clock: () => Date,
) {
  const now = () => clock().toISOString();

  return {
    async findOrganization(
      id: string,
      executor: Kysely<Database> = db,
    ): Promise<OrganizationRow | undefined> {
      return executor
        .selectFrom('organizations')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async findMember(
      organizationId: string,
      awsAccountId: string,
      executor: Kysely<Database> = db,
    ): Promise<MemberRow | undefined> {
      return executor
        .selectFrom('organization_members')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('aws_account_id', '=', awsAccountId)
        .executeTakeFirst();
    },

    /**
     * Records the management account's report: its account, role and stack, discovery due now. False
     * when the organization already has another management account (nothing changed).
     */
    async recordManagement(
      org: Pick<OrganizationRow, 'id'>,
      report: { accountId: string; roleArn: string; stackId: string | null },
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const at = now();
      const result = await executor
        .updateTable('organizations')
        .set({
          management_account_id: report.accountId,
          management_role_arn: report.roleArn,
          ...(report.stackId ? { management_stack_id: report.stackId } : {}),
          discovery_due_at: at,
          updated_at: at,
        })
        .where('id', '=', org.id)
        .where((w) =>
          w.or([
            w('management_account_id', 'is', null),
            w('management_account_id', '=', report.accountId),
          ]),
        )
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * A stack reported the member's role: one statement, so a hundred reports at once (a StackSet
     * deploying) each make or update exactly one row. A new member, or one that failed, left or had
     * another role, is queued for enrollment (`enrolling`, due now); an excluded one stays excluded
     * (its role recorded); a connected one reporting the same role stays connected. A member that had
     * left is confirmed again before it is connected. Returns the state it is in now.
     */
    async recordMemberReport(
      org: Pick<OrganizationRow, 'id' | 'tenant_id'>,
      report: { accountId: string; roleArn: string; stackId: string; management: boolean },
      executor: Kysely<Database> = db,
    ): Promise<{ state: MemberState; accountId: string | null }> {
      const at = now();
      const current = sql.ref('organization_members.state');
      const sameRole = sql`organization_members.role_arn = ${report.roleArn}`;
      const keeps = sql`(${current} = 'excluded' or (${current} = 'connected' and ${sameRole}) or (${current} = 'enrolling' and ${sameRole}))`;
      const row = await executor
        .insertInto('organization_members')
        .values({
          organization_id: org.id,
          tenant_id: org.tenant_id,
          aws_account_id: report.accountId,
          name: '',
          email: '',
          path: '[]',
          confirmed: 0,
          management: report.management ? 1 : 0,
          state: 'enrolling',
          role_arn: report.roleArn,
          stack_id: report.stackId || null,
          enroll_due_at: at,
          enroll_attempts: 0,
          state_changed_at: at,
          created_at: at,
          updated_at: at,
        })
        .onConflict((oc) =>
          oc.columns(['organization_id', 'aws_account_id']).doUpdateSet({
            management: report.management ? 1 : sql<number>`organization_members.management`,
            role_arn: report.roleArn,
            stack_id: report.stackId || sql<string | null>`organization_members.stack_id`,
            confirmed: sql<number>`case when ${current} = 'left' then 0 else organization_members.confirmed end`,
            state: sql<MemberState>`case when ${keeps} then ${current} else 'enrolling' end`,
            enroll_due_at: sql<
              string | null
            >`case when ${keeps} then organization_members.enroll_due_at else ${at} end`,
            enroll_attempts: sql<number>`case when ${keeps} then organization_members.enroll_attempts else 0 end`,
            reason_code: sql<
              string | null
            >`case when ${keeps} then organization_members.reason_code else null end`,
            reason_message: sql<
              string | null
            >`case when ${keeps} then organization_members.reason_message else null end`,
            reason_hint: sql<
              string | null
            >`case when ${keeps} then organization_members.reason_hint else null end`,
            state_changed_at: sql<string>`case when ${keeps} then organization_members.state_changed_at else ${at} end`,
            updated_at: at,
          }),
        )
        .returning(['state', 'account_id'])
        .executeTakeFirstOrThrow();
      return { state: row.state, accountId: row.account_id };
    },

    /** Sets a member's state (and reason), releasing any claim; `from` guards against a race. */
    async setMemberState(
      organizationId: string,
      awsAccountId: string,
      change: {
        state: MemberState;
        reason?: { code: string; message: string; hint?: string | undefined } | null;
        accountId?: string | null;
        enrollDueAt?: string | null;
        enrollAttempts?: number;
        from?: MemberState[];
        owner?: string;
      },
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const at = now();
      let query = executor
        .updateTable('organization_members')
        .set({
          state: change.state,
          ...(change.reason !== undefined
            ? {
                reason_code: change.reason?.code ?? null,
                reason_message: change.reason?.message ?? null,
                reason_hint: change.reason?.hint ?? null,
              }
            : {}),
          ...(change.accountId !== undefined ? { account_id: change.accountId } : {}),
          enroll_due_at: change.enrollDueAt ?? null,
          ...(change.enrollAttempts !== undefined
            ? { enroll_attempts: change.enrollAttempts }
            : {}),
          claimed_by: null,
          claim_expires_at: null,
          state_changed_at: sql<string>`case when state = ${change.state} then state_changed_at else ${at} end`,
          updated_at: at,
        })
        .where('organization_id', '=', organizationId)
        .where('aws_account_id', '=', awsAccountId);
      if (change.from) query = query.where('state', 'in', change.from);
      if (change.owner) query = query.where('claimed_by', '=', change.owner);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Confirmed by Organizations (DescribeAccount and its parents): what AWS says of it. */
    async confirmMember(
      organizationId: string,
      listed: ListedMember,
      executor: Kysely<Database> = db,
    ): Promise<void> {
      const at = now();
      await executor
        .updateTable('organization_members')
        .set({
          name: listed.name,
          email: listed.email,
          aws_status: listed.awsStatus,
          parent_id: listed.parentId,
          path: JSON.stringify(listed.path),
          confirmed: 1,
          discovered_at: sql<string>`coalesce(discovered_at, ${at})`,
          updated_at: at,
        })
        .where('organization_id', '=', organizationId)
        .where('aws_account_id', '=', listed.awsAccountId)
        .execute();
    },

    async deleteMember(
      organizationId: string,
      awsAccountId: string,
      executor: Kysely<Database> = db,
    ): Promise<void> {
      await executor
        .deleteFrom('organization_members')
        .where('organization_id', '=', organizationId)
        .where('aws_account_id', '=', awsAccountId)
        .execute();
    },

    /** Records the member's account without changing its state. */
    async setMemberAccount(
      organizationId: string,
      awsAccountId: string,
      accountId: string,
      executor: Kysely<Database> = db,
    ): Promise<void> {
      await executor
        .updateTable('organization_members')
        .set({ account_id: accountId, updated_at: now() })
        .where('organization_id', '=', organizationId)
        .where('aws_account_id', '=', awsAccountId)
        .execute();
    },

    /** The member's connection, set once: false when another run set one first. */
    async setMemberConnection(
      organizationId: string,
      awsAccountId: string,
      connectionId: string,
    ): Promise<boolean> {
      const result = await db
        .updateTable('organization_members')
        .set({ connection_id: connectionId, updated_at: now() })
        .where('organization_id', '=', organizationId)
        .where('aws_account_id', '=', awsAccountId)
        .where('connection_id', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * Claims up to `limit` due enrollments for `owner` until `until`. A claimed member is due again
     * when its claim expires, so a replica that died mid-enrollment loses it to another then.
     */
    async claimEnrollments(owner: string, until: string, limit: number): Promise<MemberRow[]> {
      const at = now();
      return (
        db
          .updateTable('organization_members')
          .set({ claimed_by: owner, claim_expires_at: until, enroll_due_at: until })
          // By the primary key's pair, so the claim reads the due rows through their indexes.
          .where((w) =>
            w(
              w.refTuple('organization_id', 'aws_account_id'),
              'in',
              (() => {
                const candidates = db
                  .selectFrom('organization_members')
                  .select(['organization_id', 'aws_account_id'])
                  .where('state', '=', 'enrolling')
                  .where('enroll_due_at', '<=', at)
                  .where((c) =>
                    c.or([c('claim_expires_at', 'is', null), c('claim_expires_at', '<', at)]),
                  )
                  .orderBy('enroll_due_at', 'asc')
                  .limit(limit);
                return (
                  dialect === 'postgres' ? candidates.forUpdate().skipLocked() : candidates
                ).$asTuple('organization_id', 'aws_account_id');
              })(),
            ),
          )
          .returningAll()
          .execute()
      );
    },

    /** Gives a claim back (transient failure): due at `dueAt`, with the attempts counted. */
    async retryLater(
      organizationId: string,
      awsAccountId: string,
      owner: string,
      dueAt: string,
      attempts: number,
    ): Promise<void> {
      await db
        .updateTable('organization_members')
        .set({
          enroll_due_at: dueAt,
          enroll_attempts: attempts,
          claimed_by: null,
          claim_expires_at: null,
          updated_at: now(),
        })
        .where('organization_id', '=', organizationId)
        .where('aws_account_id', '=', awsAccountId)
        .where('claimed_by', '=', owner)
        .execute();
    },

    /** Organizations whose discovery is due, claimed for `owner` until `until` (one replica each). */
    async claimDiscoveries(
      owner: string,
      until: string,
      limit: number,
    ): Promise<OrganizationRow[]> {
      const at = now();
      return (
        db
          .updateTable('organizations')
          // Due again when the claim expires (a replica that died), and a request made while it runs
          // (due now, before the claim's expiry) is told apart from the run's own due time.
          .set({
            discovery_claimed_by: owner,
            discovery_claim_expires_at: until,
            discovery_due_at: until,
          })
          .where('id', 'in', (eb) => {
            const candidates = eb
              .selectFrom('organizations')
              .select('id')
              .where('discovery_due_at', '<=', at)
              .where('management_role_arn', 'is not', null)
              .where((w) =>
                w.or([
                  w('discovery_claim_expires_at', 'is', null),
                  w('discovery_claim_expires_at', '<', at),
                ]),
              )
              .orderBy('discovery_due_at', 'asc')
              .limit(limit);
            return dialect === 'postgres' ? candidates.forUpdate().skipLocked() : candidates;
          })
          .returningAll()
          .execute()
      );
    },

    /** Records a discovery's outcome and releases the claim (only while `owner` holds it). */
    async finishDiscovery(
      organizationId: string,
      owner: string,
      outcome: {
        ok: boolean;
        accounts: number;
        error: string | null;
        nextDueAt: string;
        awsOrganizationId?: string;
        rootId?: string;
      },
    ): Promise<boolean> {
      const at = now();
      const result = await db
        .updateTable('organizations')
        .set({
          status: outcome.ok ? 'active' : 'error',
          last_discovery_at: at,
          last_discovery_ok: outcome.ok ? 1 : 0,
          last_discovery_accounts: outcome.accounts,
          last_discovery_error: outcome.error,
          ...(outcome.awsOrganizationId ? { aws_organization_id: outcome.awsOrganizationId } : {}),
          ...(outcome.rootId ? { root_id: outcome.rootId } : {}),
          // A request made while it ran (discovery_due_at moved before the claim) is kept.
          discovery_due_at: sql<string>`case when discovery_due_at < discovery_claim_expires_at then discovery_due_at else ${outcome.nextDueAt} end`,
          discovery_claimed_by: null,
          discovery_claim_expires_at: null,
          updated_at: at,
        })
        .where('id', '=', organizationId)
        .where('discovery_claimed_by', '=', owner)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Discovery on demand: due now (a claim under way finishes first). */
    async requestDiscovery(tenantId: string, organizationId: string): Promise<boolean> {
      const at = now();
      const result = await db
        .updateTable('organizations')
        .set({ discovery_due_at: at, updated_at: at })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', organizationId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** The OU tree as discovered: every unit upserted, units not seen any more deleted. */
    async saveUnits(
      org: OrganizationRow,
      units: { id: string; name: string; parentId: string | null; path: string[] }[],
      seenAt: string,
      executor: Kysely<Database> = db,
    ): Promise<void> {
      for (let i = 0; i < units.length; i += 500) {
        const chunk = units.slice(i, i + 500);
        await executor
          .insertInto('organization_units')
          .values(
            chunk.map((u) => ({
              organization_id: org.id,
              tenant_id: org.tenant_id,
              id: u.id,
              name: u.name,
              parent_id: u.parentId,
              path: JSON.stringify(u.path),
              seen_at: seenAt,
            })),
          )
          .onConflict((oc) =>
            oc.columns(['organization_id', 'id']).doUpdateSet({
              name: sql<string>`excluded.name`,
              parent_id: sql<string | null>`excluded.parent_id`,
              path: sql<string>`excluded.path`,
              seen_at: sql<string>`excluded.seen_at`,
            }),
          )
          .execute();
      }
      await executor
        .deleteFrom('organization_units')
        .where('organization_id', '=', org.id)
        .where('seen_at', '<', seenAt)
        .execute();
    },

    /** The existing rows of these members, locked (PostgreSQL) for the page's transaction. */
    async lockMembers(
      organizationId: string,
      awsAccountIds: string[],
      executor: Kysely<Database>,
    ): Promise<MemberRow[]> {
      if (awsAccountIds.length === 0) return [];
      const query = executor
        .selectFrom('organization_members')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('aws_account_id', 'in', awsAccountIds)
        .orderBy('aws_account_id');
      return (dialect === 'postgres' ? query.forUpdate() : query).execute();
    },

    /** Writes whole member rows (a discovery page): inserted, or replacing the row read and locked. */
    async writeMembers(rows: MemberRow[], executor: Kysely<Database>): Promise<void> {
      if (rows.length === 0) return;
      const columns = Object.keys(rows[0] as MemberRow).filter(
        (c) => c !== 'organization_id' && c !== 'aws_account_id',
      ) as (keyof MemberRow)[];
      await executor
        .insertInto('organization_members')
        .values(rows)
        .onConflict((oc) =>
          oc
            .columns(['organization_id', 'aws_account_id'])
            .doUpdateSet(
              Object.fromEntries(columns.map((c) => [c, sql.ref(`excluded.${c}`)])) as Record<
                string,
                never
              >,
            ),
        )
        .execute();
    },

    /**
     * Inserts members a discovery listed that had no row when the page was read. A stack may report
     * one meanwhile (its row made by the call-back): that row keeps its state and role, and only
     * gets what AWS says of the account.
     */
    async insertListedMembers(rows: MemberRow[], executor: Kysely<Database>): Promise<void> {
      if (rows.length === 0) return;
      await executor
        .insertInto('organization_members')
        .values(rows)
        .onConflict((oc) =>
          oc.columns(['organization_id', 'aws_account_id']).doUpdateSet({
            name: sql<string>`excluded.name`,
            email: sql<string>`excluded.email`,
            aws_status: sql<string | null>`excluded.aws_status`,
            parent_id: sql<string | null>`excluded.parent_id`,
            path: sql<string>`excluded.path`,
            confirmed: 1,
            seen_at: sql<string | null>`excluded.seen_at`,
            discovered_at: sql<string | null>`excluded.discovered_at`,
            updated_at: sql<string>`excluded.updated_at`,
          }),
        )
        .execute();
    },

    /**
     * Members a discovery that started at `startedAt` did not list (and that a discovery or
     * DescribeAccount had confirmed), not yet `left`: they left the organization. Locked.
     */
    async findGone(
      organizationId: string,
      startedAt: string,
      executor: Kysely<Database>,
    ): Promise<MemberRow[]> {
      const query = executor
        .selectFrom('organization_members')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('state', '!=', 'left')
        .where('confirmed', '=', 1)
        .where((w) =>
          w.or([
            w('seen_at', '<', startedAt),
            w.and([w('seen_at', 'is', null), w('updated_at', '<', startedAt)]),
          ]),
        );
      return (dialect === 'postgres' ? query.forUpdate() : query).execute();
    },

    /**
     * A member's connection, made by Onramp (never a pending set-up in the tenant's list): the
     * organization's selection and member role, and the member's own external ID.
     */
    async createMemberConnection(
      org: OrganizationRow,
      input: { id: string; name: string; externalId: string; roleName: string },
    ): Promise<void> {
      const at = now();
      await db
        .insertInto('connections')
        .values({
          id: input.id,
          tenant_id: org.tenant_id,
          name: input.name,
          description: `A member account of the organization ${org.name}.`,
          partition: org.partition,
          bundles: org.bundles,
          regions: org.regions,
          external_id: input.externalId,
          role_name: input.roleName,
          method: 'role',
          status: 'pending',
          account_id: null,
          created_at: at,
          updated_at: at,
          previous_external_id: null,
          previous_external_id_until: null,
          setup_method: null,
          organization_id: org.id,
        })
        .execute();
    },

    async deleteConnection(tenantId: string, id: string): Promise<void> {
      await db
        .deleteFrom('connections')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .execute();
    },

    /** The account a member connection connected (an earlier run that stopped before recording it). */
    async connectedAccountOf(tenantId: string, connectionId: string): Promise<string | null> {
      const row = await db
        .selectFrom('connections')
        .select('account_id')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', connectionId)
        .executeTakeFirst();
      return row?.account_id ?? null;
    },

    /** Links a member's account to its organization. */
    async linkAccount(
      tenantId: string,
      accountId: string,
      organizationId: string,
      executor: Kysely<Database> = db,
    ): Promise<void> {
      await executor
        .updateTable('accounts')
        .set({ organization_id: organizationId, paused_reason: null })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', accountId)
        .execute();
    },

    /** The tenant's account signing in with this role, if any (a duplicate to adopt). */
    async findAccountByRole(
      tenantId: string,
      roleArn: string,
    ): Promise<{ id: string; organizationId: string | null } | undefined> {
      const row = await db
        .selectFrom('accounts')
        .select(['id', 'organization_id'])
        .where('tenant_id', '=', tenantId)
        .where('role_arn', '=', roleArn)
        .executeTakeFirst();
      return row ? { id: row.id, organizationId: row.organization_id } : undefined;
    },
  };
}

export type OrganizationJobsRepository = ReturnType<typeof createOrganizationJobsRepository>;
