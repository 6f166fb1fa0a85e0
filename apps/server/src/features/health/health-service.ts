import type { PartitionId } from '@onramp/core';
import type { Kysely } from 'kysely';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import type { Account, AccountCheckRecord, Check, CheckTrigger } from '../../domain/account.ts';
import { auditEntryOf, type Caller } from '../../domain/caller.ts';
import { decodeCursor, encodeCursor } from '../../http/pagination.ts';
import { AppError, type ProblemFieldError } from '../../http/problems.ts';
import { newId } from '../../ids.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import { toAccountResponse } from '../accounts/account-view.ts';
import type { AccountsService } from '../accounts/accounts-service.ts';
import { explainCheck, permissionsDecided } from '../accounts/permission-findings.ts';
import { principalOf } from '../accounts/permission-grants.ts';
import {
  type ValidationDeps,
  type ValidationReport,
  validateCredentials,
} from '../validation/accounts-validation.ts';
import type { ExtraPermissions } from '../validation/extra-permissions.ts';
import type { EventPublisher } from '../webhooks/webhooks-service.ts';
import { type CheckHistory, createCheckHistory } from './check-history.ts';
import { createHealthRepository, type RecheckFilter } from './health-repository.ts';

/** How health monitoring behaves; every field has a default. */
export interface HealthSettings {
  /** Every account is checked this often (spread with ±10% jitter). Default 360 (6 hours). */
  intervalMinutes?: number;
  /** Checks run side by side per replica. Default 8. */
  concurrency?: number;
  /** Checks started per second per partition, per replica. Default 10. */
  ratePerSecond?: number;
}

export const DEFAULT_HEALTH = { intervalMinutes: 360, concurrency: 8, ratePerSecond: 10 } as const;

/** After a check that could not reach AWS: 1 min, doubling, at most half the interval. */
export const FIRST_STALE_RETRY_MS = 60_000;

/** What the health service is built from: validation's own deps, storage, and the services it uses. */
export interface HealthServiceDeps extends ValidationDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  clock: () => Date;
  healthSettings?: HealthSettings | undefined;
  audit: Pick<AuditLog, 'append'>;
  accounts: Pick<
    AccountsService,
    'getAccount' | 'find' | 'checkInputOf' | 'advanceExternalId' | 'recordHealth'
  >;
  events?: EventPublisher | undefined;
}

/**
 * What a check came to: its record, made the account's health (`account` as it now is); or, when
 * `superseded`, another check of the account (a verify, a PATCH, new credentials, another health
 * check) was recorded while AWS answered this one: that newer one stands, and this one's record was
 * neither stored nor applied (`account` is as the newer one left it).
 */
export interface CheckOutcome {
  record: AccountCheckRecord;
  account: Account;
  superseded: boolean;
}

/** A scheduled check reads the extra permissions again once the last reading is this old. */
const EXTRA_READ_EVERY_MS = 7 * 24 * 3600_000;

/**
 * Whether a check also reads the principal's policies for extra permissions: one a person asked for
 * about one account, or a change started, always. The schedule (and a fleet re-check it runs) only
 * refreshes a reading older than a week: each read costs a few IAM calls per policy, and reading a
 * whole fleet that has none yet (accounts connected before extra permissions were read) on its
 * first scheduled sweep made that sweep half as slow again (`npm run bench`, 10,000 accounts:
 * 53.9 s against 36.7 s). A person's check of the account gives one.
 */
function readsExtra(account: Account, trigger: CheckTrigger, now: Date): boolean {
  if (trigger !== 'schedule') return true;
  const last = account.statusDetail.extra?.checkedAt;
  return last !== undefined && now.getTime() - Date.parse(last) >= EXTRA_READ_EVERY_MS;
}

/** A ±10% spread, so accounts connected together are not all checked together forever. */
function jitter(ms: number, random: () => number): number {
  return Math.round(ms * (0.9 + 0.2 * random()));
}

/**
 * Makes a check's outcome the account's health, in the caller's transaction: the account takes the
 * check's status (a stale check only marks it stale), the check is recorded, and a change of status
 * is published as `account.health_changed`. Shared by scheduled and on-demand checks and by a stack's
 * deletion. Returns the account as it now is; undefined when it was deleted meanwhile (nothing done).
 */
export async function applyCheck(
  deps: {
    accounts: Pick<AccountsService, 'recordHealth'>;
    history: CheckHistory;
    events?: EventPublisher | undefined;
    /** What a keyless role account's event shows it trusts. */
    webIdentity?: WebIdentityIssuer | undefined;
  },
  trx: Kysely<Database>,
  tenantId: string,
  before: Account,
  record: AccountCheckRecord,
  extra?: ExtraPermissions[],
): Promise<Account | undefined> {
  // What the update made of the account (read back only when an event is to carry it).
  const after = await deps.accounts.recordHealth(tenantId, before, record, trx, {
    readBack: record.changed && Boolean(deps.events),
    extra,
  });
  if (!after) return undefined;
  await deps.history.record(tenantId, record, trx);
  if (record.changed && after && deps.events) {
    await deps.events.publish(
      {
        tenantId,
        type: 'account.health_changed',
        data: {
          account: toAccountResponse(after, deps.webIdentity),
          previousStatus: record.previousStatus,
          status: record.status,
          checkId: record.id,
          errors: record.errors,
          findings: record.findings,
        },
      },
      trx,
    );
  }
  return after;
}

/**
 * Re-validates connected accounts with the pipeline they were connected with, records every check,
 * and turns what it finds into the account's health. AWS not answering is never held against an
 * account: it keeps its health, marked stale, and is checked again soon.
 */
export function createHealthService(deps: HealthServiceDeps, random: () => number = Math.random) {
  const repo = createHealthRepository(deps.db, deps.dialect);
  const history = createCheckHistory(deps);
  const intervalMs =
    (deps.healthSettings?.intervalMinutes ?? DEFAULT_HEALTH.intervalMinutes) * 60_000;

  /** When the next check is due: a full (jittered) interval, or a backoff after a stale one. */
  function nextRunAfter(at: Date, failures: number): string {
    const delay =
      failures === 0
        ? jitter(intervalMs, random)
        : jitter(
            Math.min(
              FIRST_STALE_RETRY_MS * 2 ** (failures - 1),
              Math.max(FIRST_STALE_RETRY_MS, intervalMs / 2),
            ),
            random,
          );
    return new Date(at.getTime() + delay).toISOString();
  }

  /** A newly seen account's first scheduled check: an interval after its last check, spread. */
  function firstRunOf(lastCheckedAt: string | null, now: Date): string {
    const due = Date.parse(lastCheckedAt ?? now.toISOString()) + jitter(intervalMs, random);
    const soon = now.getTime() + Math.round(random() * Math.min(intervalMs, 15 * 60_000));
    return new Date(due > now.getTime() ? due : soon).toISOString();
  }

  async function validate(
    account: Account,
    signal: AbortSignal | undefined,
    readExtra: boolean,
  ): Promise<
    | { report: ValidationReport }
    | { missing: ProblemFieldError }
    | { upstream: string; checks: Check[] }
  > {
    const input = await deps.accounts.checkInputOf(account);
    if (!input) {
      return {
        missing: {
          field: account.method === 'access_keys' ? 'secretAccessKey' : 'roleArn',
          code: 'credentials_missing',
          message: 'Onramp no longer has this account’s credentials.',
          hint: 'Replace the credentials (PUT /v1/accounts/:id/credentials).',
        },
      };
    }
    try {
      return {
        report: await validateCredentials(deps, input.credentials, {
          ...input.options,
          signal,
          readExtra,
        }),
      };
    } catch (error) {
      if (error instanceof AppError && error.code === 'upstream_unavailable' && !signal?.aborted) {
        // No AWS call answered; the checks still say which step it was and why.
        const checks = error.extensions.checks;
        return {
          upstream: error.message,
          checks: Array.isArray(checks) ? (checks as Check[]) : [],
        };
      }
      throw error;
    }
  }

  /**
   * What a check makes of the account. A definite finding decides (invalid stays invalid); a step AWS
   * did not answer decides nothing: when the identity or the external-ID check could not be made the
   * account keeps its health, marked stale; when only the permissions could not be simulated, a valid
   * or degraded account keeps that status and its findings (never flipped by AWS failing), others
   * become unverified, the permissions check saying why.
   */
  function judge(before: Account, report: ValidationReport) {
    const undecided = report.faults.some((f) => f.step !== 'permissions');
    const permissionsUnanswered = report.faults.some((f) => f.step === 'permissions');
    const keepsPermissions =
      permissionsUnanswered && (before.status === 'valid' || before.status === 'degraded');
    if (report.status === 'invalid')
      return { status: report.status, stale: false, findings: report.findings };
    if (undecided) return { status: before.status, stale: true, findings: report.findings };
    if (keepsPermissions)
      return {
        status: before.status,
        stale: false,
        findings: before.statusDetail.findings ?? [],
      };
    return { status: report.status, stale: false, findings: report.findings };
  }

  /**
   * Checks one account now and records the result. `beforeAws` waits for the partition's rate limit.
   * Returns undefined when the account no longer exists.
   */
  async function check(
    tenantId: string,
    accountId: string,
    trigger: CheckTrigger,
    options: {
      caller?: Caller;
      beforeAws?: (partition: PartitionId) => Promise<void>;
      /** The client went away: the AWS calls are cut and nothing is recorded. */
      signal?: AbortSignal;
      /**
       * Run by the scheduler (a scheduled check, or one queued by a fleet re-check): extra
       * permissions are read only to refresh an old reading, as for the schedule.
       */
      fromSchedule?: boolean;
    } = {},
  ): Promise<CheckOutcome | undefined> {
    // The newest check recorded before this one starts: one recorded while AWS is asked (a verify,
    // a PATCH, new credentials, another check) was made after this one's reading, and stands.
    const seqBefore = await history.latestSeq(tenantId, accountId);
    const before = await deps.accounts.getAccount(tenantId, accountId).catch((error: unknown) => {
      if (error instanceof AppError && error.code === 'not_found') return undefined;
      throw error;
    });
    if (!before) return undefined;
    await options.beforeAws?.(before.partition);
    // A regenerated external ID: switch to it once the role accepts it, drop the old after its grace;
    // the check then uses the ID in use (a role that trusts only the new one is not invalid).
    const externalId =
      before.method === 'role'
        ? await deps.accounts.advanceExternalId(tenantId, accountId)
        : undefined;
    const started = performance.now();
    const outcome = await validate(
      externalId ? { ...before, externalId } : before,
      options.signal,
      readsExtra(before, options.fromSchedule ? 'schedule' : trigger, deps.clock()),
    );
    if (options.signal?.aborted)
      throw new AppError('upstream_unavailable', 'The check was cancelled; nothing was recorded.');
    const durationMs = Math.round(performance.now() - started);
    const at = deps.clock().toISOString();

    /** The check's record against the account as it is when written (status, findings, grants). */
    const recordOf = (current: Account): AccountCheckRecord => {
      const judged =
        'report' in outcome
          ? judge(current, outcome.report)
          : 'missing' in outcome
            ? { status: 'invalid' as const, stale: false, findings: [] }
            : { status: current.status, stale: true, findings: [] };
      const { status, stale } = judged;
      // Missing actions told apart by cause against what the account was granted: trimmed from its
      // policies (restore them) or asked for anew by the catalog (update them).
      const explained =
        'report' in outcome && !stale && permissionsDecided(outcome.report.checks)
          ? explainCheck(
              outcome.report,
              current.permissions.granted,
              judged.findings,
              principalOf(current.method),
            )
          : 'report' in outcome
            ? outcome.report
            : undefined;
      return {
        id: newId('accountCheck'),
        accountId,
        at,
        status,
        previousStatus: current.status,
        changed: status !== current.status,
        stale,
        // Every step with its own outcome, whatever AWS did.
        checks: explained ? explained.checks : 'checks' in outcome ? outcome.checks : [],
        findings: judged.findings,
        errors:
          'report' in outcome
            ? [
                ...(explained ?? outcome.report).errors,
                ...outcome.report.faults.map((f) => f.error),
              ]
            : 'missing' in outcome
              ? [outcome.missing]
              : [{ field: 'aws', code: 'upstream_unavailable', message: outcome.upstream }],
        durationMs,
        trigger,
      };
    };

    const written = await deps.db.transaction().execute(async (trx) => {
      // The account's row is held until the commit (SQLite's transaction holds the one writer
      // already), so a verify or another check compares and writes after this one, not between.
      if (!(await repo.lockAccount(tenantId, accountId, trx))) return undefined;
      const current = await deps.accounts.find(tenantId, accountId, trx);
      if (!current) return undefined;
      const record = recordOf(current);
      if ((await history.latestSeq(tenantId, accountId, trx)) !== seqBefore)
        return { record, account: current, superseded: true };
      const extra = 'report' in outcome && !record.stale ? outcome.report.extra : undefined;
      const after = await applyCheck({ ...deps, history }, trx, tenantId, current, record, extra);
      if (!after) return undefined;
      const { status, stale } = record;
      const actor = options.caller
        ? { actorType: options.caller.actorType, actorId: options.caller.actorId }
        : { actorType: 'system' as const, actorId: null };
      const meta = options.caller
        ? { requestId: options.caller.requestId, sourceIp: options.caller.sourceIp }
        : {};
      if (trigger === 'manual' || record.changed) {
        await deps.audit.append(
          {
            tenantId,
            ...actor,
            action: record.changed ? 'account.health_changed' : 'account.checked',
            targetType: 'account',
            targetId: accountId,
            ...meta,
            details: {
              name: current.name,
              trigger,
              status,
              previousStatus: record.previousStatus,
              stale,
              checkId: record.id,
            },
          },
          trx,
        );
      }
      return { record, account: after, superseded: false };
    });
    return written;
  }

  return {
    check,
    nextRunAfter,
    firstRunOf,
    repository: repo,

    /**
     * POST /v1/accounts/recheck: every account of the caller's tenant that the filter selects is due
     * now, marked as asked for (its check records `manual`); the scheduler runs them at its own pace.
     * One statement and one audit entry whatever the number of accounts. Returns how many.
     */
    async requestChecks(caller: Caller, filter: RecheckFilter): Promise<number> {
      const at = deps.clock().toISOString();
      return deps.db.transaction().execute(async (trx) => {
        const scheduled = await repo.requestChecks(caller.tenantId, filter, at, trx);
        await deps.audit.append(
          auditEntryOf(
            caller,
            'accounts.recheck_requested',
            { type: 'tenant', id: caller.tenantId },
            { filter, scheduled },
          ),
          trx,
        );
        return scheduled;
      });
    },

    /** POST /v1/accounts/:id/check: checks now, and moves the scheduled check accordingly. */
    async checkNow(
      caller: Caller,
      accountId: string,
      options: { signal?: AbortSignal } = {},
    ): Promise<AccountCheckRecord> {
      // 404 for an account that is not the caller's, before anything is done.
      await deps.accounts.getAccount(caller.tenantId, accountId);
      const startedAt = deps.clock().toISOString();
      const result = await check(caller.tenantId, accountId, 'manual', {
        caller,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (!result)
        throw new AppError('not_found', 'Account does not exist, or is not yours to see.');
      if (result.superseded) {
        const message =
          'The account was checked or changed while Onramp checked it; that result stands and this check was not recorded. Reload the account, and check again if needed.';
        throw new AppError('conflict', message, [
          { field: 'id', code: 'checked_meanwhile', message },
        ]);
      }
      const schedule = await repo.findSchedule(accountId);
      const failures = result.record.stale ? (schedule?.failures ?? 0) + 1 : 0;
      const now = deps.clock();
      await repo.reschedule(
        accountId,
        { nextRunAt: nextRunAfter(now, failures), failures },
        { now: now.toISOString(), startedAt },
      );
      return result.record;
    },

    async listChecks(
      tenantId: string,
      accountId: string,
      query: { limit: number; cursor?: string | undefined },
    ): Promise<{ checks: AccountCheckRecord[]; next: string | null }> {
      await deps.accounts.getAccount(tenantId, accountId);
      const before =
        query.cursor === undefined
          ? undefined
          : Number(decodeCursor(query.cursor, (k) => /^\d{1,15}$/.test(k)));
      const page = await repo.listChecks(tenantId, accountId, {
        limit: query.limit,
        ...(before !== undefined ? { before } : {}),
      });
      return {
        checks: page.checks,
        next: page.nextBefore === null ? null : encodeCursor(String(page.nextBefore)),
      };
    },
  };
}

export type HealthService = ReturnType<typeof createHealthService>;
