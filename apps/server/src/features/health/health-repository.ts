import type { Kysely, Selectable } from 'kysely';
import type { Dialect } from '../../adapters/db/database.ts';
import type { AccountChecksTable, Database } from '../../adapters/db/schema.ts';
import type { AccountCheckRecord, BundleFinding, Check } from '../../domain/account.ts';
import type { ProblemFieldError } from '../../http/problems.ts';

export interface ScheduleClaim {
  accountId: string;
  tenantId: string;
  failures: number;
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
          })),
        )
        .onConflict((oc) => oc.column('account_id').doNothing())
        .execute();
    },

    /**
     * Claims up to `limit` due checks for `owner` until `until`: exactly one replica gets each. On
     * PostgreSQL the candidates are locked with FOR UPDATE SKIP LOCKED, so replicas claiming together
     * take different rows; on SQLite the one statement is atomic. An expired claim is due again.
     */
    async claimDue(
      owner: string,
      now: string,
      until: string,
      limit: number,
    ): Promise<ScheduleClaim[]> {
      const rows = await db
        .updateTable('health_schedule')
        .set({ claimed_by: owner, claim_expires_at: until })
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
        .returning(['account_id', 'tenant_id', 'failures'])
        .execute();
      return rows.map((r) => ({
        accountId: r.account_id,
        tenantId: r.tenant_id,
        failures: Number(r.failures),
      }));
    },

    /**
     * Sets the next run and releases the claim. With an `owner`, only while that replica still holds
     * it; without (a manual check), only when no live claim exists: a scheduled run under way decides.
     */
    async reschedule(
      accountId: string,
      next: { nextRunAt: string; failures: number },
      claim: { owner: string } | { now: string },
    ): Promise<boolean> {
      let query = db
        .updateTable('health_schedule')
        .set({
          next_run_at: next.nextRunAt,
          failures: next.failures,
          claimed_by: null,
          claim_expires_at: null,
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
