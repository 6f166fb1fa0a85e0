import type { Bundle, Catalog } from '@onramp/core';
import type { Kysely } from 'kysely';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import type {
  Account,
  AccountCheckRecord,
  GrantedBundle,
  PermissionChange,
} from '../../domain/account.ts';
import { auditEntryOf, type Caller } from '../../domain/caller.ts';
import { sameList } from '../../domain/selection.ts';
import { AppError, notFound } from '../../http/problems.ts';
import { newId } from '../../ids.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { ConnectionsService } from '../connections/connections-service.ts';
import { createCheckHistory } from '../health/check-history.ts';
import { applyCheck } from '../health/health-service.ts';
import {
  UPSTREAM_RETRY_AFTER_SECONDS,
  type ValidationDeps,
  validateCredentials,
} from '../validation/accounts-validation.ts';
import type { EventPublisher } from '../webhooks/webhooks-service.ts';
import { toAccountResponse } from './account-view.ts';
import { createAccountsRepository } from './accounts-repository.ts';
import type { AccountsService } from './accounts-service.ts';
import {
  diffGrants,
  grantsOf,
  principalOf,
  trimmedFrom,
  wantedBundles,
  withVerification,
} from './permission-grants.ts';

export interface PermissionsVerifyDeps extends ValidationDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  catalog: Catalog;
  clock: () => Date;
  audit: Pick<AuditLog, 'append'>;
  accounts: Pick<AccountsService, 'getAccount' | 'checkInputOf' | 'recordHealth'>;
  connections: Pick<ConnectionsService, 'updateSelection'>;
  events?: EventPublisher | undefined;
}

export interface VerifiedPermissions {
  account: Account;
  check: AccountCheckRecord;
}

/**
 * Verifying an account's permission update (POST …/permissions/verify, and a stack's Update
 * call-back): the account is validated with its stored credentials against the bundles it should
 * have now (`wantedBundles`), the check is recorded with trigger `permissions_updated` and becomes
 * its health, and what the check proves is recorded as granted. A bundle the check finds actions
 * missing from keeps its earlier grant, so the account stays outdated for it until the update is
 * applied (and actions proven before and missing now are reported as trimmed); a bundle refused only
 * by an SCP is recorded unverified (its policy is right, the organisation denies). Nothing is
 * written when AWS did not answer.
 */
export function createPermissionsVerify(deps: PermissionsVerifyDeps) {
  const accounts = createAccountsRepository(deps.db, deps.clock);
  const history = createCheckHistory(deps);

  function bundlesOf(ids: readonly string[]): Bundle[] {
    return ids
      .map((id) => deps.catalog.bundles.get(id))
      .filter((b): b is Bundle => b !== undefined);
  }

  /**
   * Takes the account's row for this transaction: an UPDATE that changes nothing locks the row on
   * PostgreSQL and, as the first write, takes SQLite's one writer lock, so two verifications of one
   * account compare and record in turn.
   */
  async function lockAccount(tenantId: string, id: string, trx: Kysely<Database>) {
    await trx
      .updateTable('accounts')
      .set((eb) => ({ updated_at: eb.ref('updated_at') }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .execute();
  }

  /** What the grants become after a check that reached the permissions (valid or degraded). */
  function grantsAfter(
    before: Account,
    wanted: string[],
    findings: AccountCheckRecord['findings'],
  ): Record<string, GrantedBundle> {
    const principal = principalOf(before.method);
    const now = withVerification(grantsOf(deps.catalog, wanted, principal), findings, true);
    const missing = new Set(findings.filter((f) => f.missing.length > 0).map((f) => f.bundleId));
    const previous = before.permissions.granted;
    const granted: Record<string, GrantedBundle> = {};
    for (const [id, grant] of Object.entries(now)) {
      if (!missing.has(id)) granted[id] = grant;
      // What it held before stays recorded as it was: actions proven then and missing now were
      // trimmed, which the check says apart (trimmedFrom).
      else if (previous?.[id]) granted[id] = previous[id];
      // A bundle new to the account and not yet applied is not granted at all.
    }
    return granted;
  }

  return {
    async verify(
      caller: Caller,
      accountId: string,
      options: { signal?: AbortSignal; source?: 'api' | 'stack_callback' } = {},
    ): Promise<VerifiedPermissions> {
      const before = await deps.accounts.getAccount(caller.tenantId, accountId);
      const seqBefore = await history.latestSeq(caller.tenantId, accountId);
      const wanted = wantedBundles(deps.catalog, before);
      const input = await deps.accounts.checkInputOf(before);
      if (!input) {
        const message =
          'Onramp no longer has this account’s credentials, so it cannot verify them.';
        throw new AppError('conflict', message, [
          {
            field: before.method === 'access_keys' ? 'secretAccessKey' : 'roleArn',
            code: 'credentials_missing',
            message,
            hint: 'Replace the credentials (PUT /v1/accounts/:id/credentials), then verify again.',
          },
        ]);
      }
      const started = performance.now();
      const report = await validateCredentials(deps, input.credentials, {
        expectedAccountId: before.awsAccountId,
        permissions: { bundles: bundlesOf(wanted), regions: before.regions },
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const durationMs = Math.round(performance.now() - started);
      if (options.signal?.aborted)
        throw new AppError(
          'upstream_unavailable',
          'The check was cancelled; nothing was recorded.',
        );
      // A step AWS did not answer decides nothing: the update cannot be called verified or not.
      if (report.faults.length > 0) {
        const reasons = report.faults.map((f) => `${f.step}: ${f.error.message}`).join(' ');
        throw new AppError(
          'upstream_unavailable',
          `AWS did not answer, so the permissions were not verified and nothing was changed. ${reasons}`,
          [],
          { 'retry-after': String(UPSTREAM_RETRY_AFTER_SECONDS) },
          { checks: report.checks },
        );
      }

      const proven = report.status === 'valid' || report.status === 'degraded';
      const at = deps.clock().toISOString();
      const result = await deps.db.transaction().execute(async (trx) => {
        await lockAccount(caller.tenantId, accountId, trx);
        const current = await accounts.find(caller.tenantId, accountId, trx);
        if (!current) throw notFound('Account');
        // Another check recorded while AWS was asked (a second verify, a health check), or the
        // account changed: what this one found may be older, so it is not recorded over it.
        if (
          (await history.latestSeq(caller.tenantId, accountId, trx)) !== seqBefore ||
          !sameList(current.bundles, before.bundles) ||
          !sameList(current.regions, before.regions) ||
          current.bundleChoice !== before.bundleChoice ||
          current.principalArn !== before.principalArn
        ) {
          const message =
            'The account was checked or changed while Onramp verified it; that result stands. Reload the account, and verify again if it is still not valid.';
          throw new AppError('conflict', message, [
            { field: 'id', code: 'checked_meanwhile', message },
          ]);
        }
        const record: AccountCheckRecord = {
          id: newId('accountCheck'),
          accountId,
          at,
          status: report.status,
          previousStatus: current.status,
          changed: report.status !== current.status,
          stale: false,
          checks: report.checks,
          findings: report.findings,
          errors: report.errors,
          durationMs,
          trigger: 'permissions_updated',
        };
        const checked = await applyCheck(
          { accounts: deps.accounts, history, events: deps.events },
          trx,
          caller.tenantId,
          current,
          record,
        );
        if (!checked) throw notFound('Account');

        let remaining: PermissionChange[] = current.permissions.changes;
        if (proven) {
          const granted = grantsAfter(current, wanted, report.findings);
          const trimmed = trimmedFrom(current.permissions.granted, report.findings);
          await accounts.recordGrants(caller.tenantId, accountId, { granted, at, trimmed }, trx);
          remaining = diffGrants(
            granted,
            grantsOf(deps.catalog, wanted, principalOf(current.method)),
          );
          if (remaining.length > 0)
            await accounts.setPermissionState(
              caller.tenantId,
              accountId,
              { changes: remaining, outdatedSince: current.permissions.outdatedSince ?? at },
              trx,
            );
          if (!sameList(wanted, current.bundles)) {
            await accounts.update(caller.tenantId, accountId, { bundles: wanted }, trx);
            if (current.connectionId)
              await deps.connections.updateSelection(
                caller.tenantId,
                current.connectionId,
                { bundles: wanted, regions: current.regions },
                trx,
              );
          }
        }
        const after = await accounts.find(caller.tenantId, accountId, trx);
        if (!after) throw notFound('Account');
        await deps.audit.append(
          auditEntryOf(
            caller,
            proven ? 'account.permissions_updated' : 'account.checked',
            { type: 'account', id: accountId },
            {
              name: current.name,
              trigger: 'permissions_updated',
              source: options.source ?? 'api',
              status: record.status,
              previousStatus: record.previousStatus,
              checkId: record.id,
              ...(proven
                ? {
                    bundles: wanted,
                    ...(sameList(wanted, current.bundles)
                      ? {}
                      : { previousBundles: current.bundles }),
                    applied: current.permissions.changes.map((c) => c.bundle),
                    remaining: remaining.map((c) => c.bundle),
                  }
                : {}),
            },
          ),
          trx,
        );
        if (proven && deps.events) {
          await deps.events.publish(
            {
              tenantId: caller.tenantId,
              type: 'account.permissions_updated',
              data: {
                account: toAccountResponse(after, deps.webIdentity),
                checkId: record.id,
                status: record.status,
                previousStatus: record.previousStatus,
                applied: current.permissions.changes,
                remaining,
                findings: record.findings,
              },
            },
            trx,
          );
        }
        return { account: after, check: record };
      });
      return result;
    },
  };
}

export type PermissionsVerify = ReturnType<typeof createPermissionsVerify>;
