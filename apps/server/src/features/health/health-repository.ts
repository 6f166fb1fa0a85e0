import { type Kysely, type Selectable, sql } from 'kysely';
import type { Dialect } from '../../adapters/db/database.ts';
import type { AccountChecksTable, Database } from '../../adapters/db/schema.ts';
import type {
  AccountCheckRecord,
  AccountStatus,
  BundleFinding,
  Check,
} from '../../domain/account.ts';
import type { ProblemFieldError } from '../../http/problems.ts';

export interface ScheduleClaim {
  accountId: string;
  tenantId: string;
  failures: number;
  /** Asked for (POST /v1/accounts/recheck): the check records this trigger instead of `schedule`. */
  requested: 'manual' | null;
}

/** Which of a tenant's accounts a requested re-check selects (at least one is given). */
export interface RecheckFilter {
  outdated?: true | undefined;
  status?: AccountStatus | undefined;
  partition?: string | undefined;
}

function toRecord(row: Selectable<AccountChecksTable>): AccountCheckRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    at: row.at,
    status: row.status,
    previousStatus: row.previous_status,
    changed: Number(row.changed) === 1,
    stale: Number(row.stale) === 1,
    checks: JSON.parse(row.checks) as Check[],
    findings: JSON.parse(row.findings) as BundleFinding[],
    errors: JSON.parse(row.errors) as ProblemFieldError[],
    durationMs: Number(row.duration_ms),
    trigger: row.trigger,
  };
}

/** Health checks of accounts (tenant first, as everywhere) and the schedule replicas share. */
export function createHealthRepository(db: Kysely<Database>, dialect: Dialect) {
  return {
    async insertCheck(
      tenantId: string,
      record: AccountCheckRecord,
      executor: Kysely<Database>,
    ): Promise<void> {
      await executor
        .insertInto('account_checks')
        .values({
          id: record.id,
          tenant_id: tenantId,
          account_id: record.accountId,
          at: record.at,
          trigger: record.trigger,
          status: record.status,
          previous_status: record.previousStatus,
          changed: record.changed ? 1 : 0,
          stale: record.stale ? 1 : 0,
          checks: JSON.stringify(record.checks),
          findings: JSON.stringify(record.findings),
          errors: JSON.stringify(record.errors),
          duration_ms: record.durationMs,
        })
        .execute();
    },

    /**
     * Holds the account's row until the transaction ends: an UPDATE that changes nothing locks it on
     * PostgreSQL and, as the first write, takes SQLite's one writer lock. False when it is gone.
     */
    async lockAccount(tenantId: string, id: string, trx: Kysely<Database>): Promise<boolean> {
      const result = await trx
        .updateTable('accounts')
        .set((eb) => ({ updated_at: eb.ref('updated_at') }))
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Newest first; `before` is the seq of the last check of the previous page. */
    async listChecks(
      tenantId: string,
      accountId: string,
      options: { limit: number; before?: number },
    ): Promise<{ checks: AccountCheckRecord[]; nextBefore: number | null }> {
      let query = db
        .selectFrom('account_checks')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('account_id', '=', accountId)
        .orderBy('seq', 'desc')
        .limit(options.limit + 1);
      if (options.before !== undefined) query = query.where('seq', '<', options.before);
      const rows = await query.execute();
      const page = rows.slice(0, options.limit);
      return {
        checks: page.map(toRecord),
        nextBefore: rows.length > options.limit ? Number(page.at(-1)?.seq) : null,
      };
    },

    /**
     * Accounts without a schedule row (created since the last pass, or before health monitoring
     * existed). Replicas may race to add the same one: the primary key keeps one.
     */
    async findUnscheduled(
      limit: number,
    ): Promise<{ id: string; tenantId: string; lastCheckedAt: string | null }[]> {
      const rows = await db
        .selectFrom('accounts')
        .leftJoin('health_schedule', 'health_schedule.account_id', 'accounts.id')
        .select(['accounts.id', 'accounts.tenant_id', 'accounts.last_checked_at'])
        .where('health_schedule.account_id', 'is', null)
        // A paused account (its organization member left or was excluded) is not checked on a
        // schedule; a manual check or a credential vend still works.
        .where('accounts.paused_reason', 'is', null)
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        id: r.id,
        tenantId: r.tenant_id,
        lastCheckedAt: r.last_checked_at,
      }));
    },

    async addSchedule(
      rows: { accountId: string; tenantId: string; nextRunAt: string }[],
    ): Promise<void> {
      if (rows.length === 0) return;
      await db
        .insertInto('health_schedule')
        .values(
          rows.map((r) => ({
            account_id: r.accountId,
            tenant_id: r.tenantId,
            next_run_at: r.nextRunAt,
            failures: 0,
            claimed_by: null,
            claim_expires_at: null,
            requested_trigger: null,
          })),
        )
        .onConflict((oc) => oc.column('account_id').doNothing())
        .execute();
    },

    /**
     * Claims up to `limit` due checks for `owner` until `until`: exactly one replica gets each. On
     * PostgreSQL the candidates are locked with FOR UPDATE SKIP LOCKED, so replicas claiming together
     * take different rows; on SQLite the one statement is atomic. A claimed row is due again when
     * its claim expires (its next run is set to then), so a re-check asked for while the check runs
     * brings it earlier, and `reschedule` can tell that request from one the check answered.
     */
    async claimDue(
      owner: string,
      now: string,
      until: string,
      limit: number,
    ): Promise<ScheduleClaim[]> {
      const rows = await db
        .updateTable('health_schedule')
        .set({ claimed_by: owner, claim_expires_at: until, next_run_at: until })
        .where('account_id', 'in', (eb) => {
          const candidates = eb
            .selectFrom('health_schedule')
            .select('account_id')
            .where('next_run_at', '<=', now)
            .where((w) =>
              w.or([w('claim_expires_at', 'is', null), w('claim_expires_at', '<', now)]),
            )
            .orderBy('next_run_at', 'asc')
            .limit(limit);
          return dialect === 'postgres' ? candidates.forUpdate().skipLocked() : candidates;
        })
        .returning(['account_id', 'tenant_id', 'failures', 'requested_trigger'])
        .execute();
      return rows.map((r) => ({
        accountId: r.account_id,
        tenantId: r.tenant_id,
        failures: Number(r.failures),
        requested: r.requested_trigger ?? null,
      }));
    },

    /**
     * Sets the next run and releases the claim. With an `owner`, only while that replica still holds
     * it; without (a manual check, which started at `startedAt`), only when no live claim exists: a
     * scheduled run under way decides. A re-check asked for after the check began (POST
     * /v1/accounts/recheck) is kept: the account stays due, its check recorded as asked for.
     */
    async reschedule(
      accountId: string,
      next: { nextRunAt: string; failures: number },
      claim: { owner: string } | { now: string; startedAt: string },
    ): Promise<boolean> {
      // Asked for meanwhile: while claimed, a request brings the next run before the claim's expiry
      // (claimDue); during a manual check, to a time after the check began (one in the same
      // millisecond counts as answered).
      const askedMeanwhile = sql<boolean>`requested_trigger is not null and ${
        'owner' in claim
          ? sql`next_run_at < claim_expires_at`
          : sql`next_run_at > ${claim.startedAt}`
      }`;
      let query = db
        .updateTable('health_schedule')
        .set({
          next_run_at: sql`case when ${askedMeanwhile} then next_run_at else ${next.nextRunAt} end`,
          failures: next.failures,
          claimed_by: null,
          claim_expires_at: null,
          requested_trigger: sql`case when ${askedMeanwhile} then requested_trigger else null end`,
        })
        .where('account_id', '=', accountId);
      query =
        'owner' in claim
          ? query.where('claimed_by', '=', claim.owner)
          : query.where((w) =>
              w.or([w('claim_expires_at', 'is', null), w('claim_expires_at', '<', claim.now)]),
            );
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Gives back a claim not started (the replica is stopping): due now, any request kept. */
    async release(accountId: string, owner: string, now: string): Promise<void> {
      await db
        .updateTable('health_schedule')
        .set({ next_run_at: now, claimed_by: null, claim_expires_at: null })
        .where('account_id', '=', accountId)
        .where('claimed_by', '=', owner)
        .execute();
    },

    /**
     * Brings the next check of every account of the tenant that the filter selects to `now`, marked
     * as asked for, in one statement (accounts without a schedule row get one); the scheduler then
     * runs them at its own concurrency and per-partition rate. An earlier due time is kept. Rows are
     * taken in id order, so requests racing on PostgreSQL lock them in the same order. Returns how
     * many accounts were selected.
     */
    async requestChecks(
      tenantId: string,
      filter: RecheckFilter,
      now: string,
      executor: Kysely<Database> = db,
    ): Promise<number> {
      const conditions = [sql`tenant_id = ${tenantId}`, sql`paused_reason is null`];
      if (filter.outdated) conditions.push(sql`outdated_since is not null`);
      if (filter.status) conditions.push(sql`status = ${filter.status}`);
      if (filter.partition) conditions.push(sql`partition = ${filter.partition}`);
      const result = await sql`
        insert into health_schedule
          (account_id, tenant_id, next_run_at, failures, claimed_by, claim_expires_at, requested_trigger)
        select id, tenant_id, ${now}, 0, null, null, 'manual'
        from accounts where ${sql.join(conditions, sql` and `)}
        order by id
        on conflict (account_id) do update set
          next_run_at = case when health_schedule.next_run_at < excluded.next_run_at
            then health_schedule.next_run_at else excluded.next_run_at end,
          requested_trigger = 'manual'`.execute(executor);
      return Number(result.numAffectedRows ?? 0);
    },

    async findSchedule(
      accountId: string,
    ): Promise<{ nextRunAt: string; failures: number } | undefined> {
      const row = await db
        .selectFrom('health_schedule')
        .select(['next_run_at', 'failures'])
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      return row ? { nextRunAt: row.next_run_at, failures: Number(row.failures) } : undefined;
    },
  };
}

export type HealthRepository = ReturnType<typeof createHealthRepository>;
