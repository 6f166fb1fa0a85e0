import { generateExternalId } from '@onramp/core';
import type { Kysely } from 'kysely';
import type { Database } from '../../adapters/db/schema.ts';
import type { Account } from '../../domain/account.ts';
import { auditEntryOf, type Caller } from '../../domain/caller.ts';
import type { Connection } from '../../domain/connection.ts';
import { AppError, notFound } from '../../http/problems.ts';
import { newId } from '../../ids.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { ConnectionsService } from '../connections/connections-service.ts';
import type { CredentialsInput, ValidationReport } from '../validation/accounts-validation.ts';
import type { EventPublisher } from '../webhooks/webhooks-service.ts';
import { toAccountResponse } from './account-view.ts';
import type { AccountsRepository } from './accounts-repository.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What the external-ID rotation of a role account is built from; the accounts service hands it in. */
export interface ExternalIdRotationDeps {
  db: Kysely<Database>;
  clock: () => Date;
  randomBytes: (size: number) => Uint8Array;
  /** Days a regenerated external ID's predecessor stays accepted in templates. Default 7. */
  externalIdGraceDays?: number | undefined;
  audit: Pick<AuditLog, 'append'>;
  /** Records `account.external_id_changed` in the outbox, in each step's own transaction. */
  events?: EventPublisher | undefined;
  /** The connection holds the IDs: the new one, and the previous one until it is dropped. */
  connections: Pick<
    ConnectionsService,
    'find' | 'getConnection' | 'lock' | 'rotateExternalId' | 'dropPreviousExternalId'
  >;
  /** The account holds the ID Onramp assumes its role with. */
  accounts: Pick<AccountsRepository, 'find' | 'switchExternalId'>;
  /** Validates the account with these credentials, for its bundles and regions (features/validation). */
  validateAccount(account: Account, credentials: CredentialsInput): Promise<ValidationReport>;
  /** Told once a switch committed, so caches forget the account. */
  onSwitched(accountId: string): void;
}

/**
 * The external-ID lifecycle of a role account: regenerate, switch once a check with the new ID
 * passes, drop the previous ID after the grace period. Each step is audited and published.
 */
export function createExternalIdRotation(deps: ExternalIdRotationDeps) {
  const graceDays = deps.externalIdGraceDays ?? 7;

  function audit(
    caller: Caller,
    action: string,
    accountId: string,
    details: Record<string, unknown>,
    trx: Kysely<Database>,
  ) {
    return deps.audit.append(
      auditEntryOf(caller, action, { type: 'account', id: accountId }, details),
      trx,
    );
  }

  /** `account.external_id_changed`: which step of a regeneration; the IDs themselves stay out. */
  async function publish(
    account: Account,
    phase: 'regenerated' | 'switched' | 'previous_dropped',
    previousAcceptedUntil: string | null,
    trx: Kysely<Database>,
  ): Promise<void> {
    if (!deps.events) return;
    await deps.events.publish(
      {
        tenantId: account.tenantId,
        type: 'account.external_id_changed',
        // External IDs belong to hub roles only: a keyless account never gets here, so no issuer.
        data: { account: toAccountResponse(account, undefined), phase, previousAcceptedUntil },
      },
      trx,
    );
  }

  return {
    /**
     * A new external ID for a role account, with a grace period. Onramp keeps assuming the role with
     * the one in use until a check with the new one passes (advance); meanwhile the templates list
     * both, and the replaced one stays listed until the grace period ends.
     */
    async regenerate(caller: Caller, accountId: string): Promise<Connection> {
      const account = await deps.accounts.find(caller.tenantId, accountId);
      if (!account) throw notFound('Account');
      if (account.method !== 'role' || !account.connectionId || !account.externalId) {
        const message =
          'Only an account connected with an IAM role from an Onramp connection has an external ID.';
        throw new AppError('conflict', message, [
          { field: 'method', code: 'no_external_id', message },
        ]);
      }
      const connection = await deps.connections.getConnection(
        caller.tenantId,
        account.connectionId,
      );
      const externalId = generateExternalId(deps.randomBytes(32));
      const until = new Date(deps.clock().getTime() + graceDays * DAY_MS).toISOString();
      await deps.db.transaction().execute(async (trx) => {
        // Under the connection's lock, which a switch takes too: the ID in use is read after any
        // switch that committed, and a switch still running sees the new ID and gives up.
        await deps.connections.lock(caller.tenantId, connection.id, trx);
        const inUse =
          (await deps.accounts.find(caller.tenantId, accountId, trx))?.externalId ??
          account.externalId;
        // The one Onramp uses stays accepted: a regeneration before the last one took over replaces
        // only the new one that no role accepted yet.
        const rotated = await deps.connections.rotateExternalId(
          caller.tenantId,
          connection.id,
          {
            from: connection.externalId,
            externalId,
            previous: inUse as string,
            until,
          },
          trx,
        );
        if (!rotated) {
          const message =
            'The external ID was regenerated at the same moment; reload and try again.';
          throw new AppError('conflict', message, [
            { field: 'externalId', code: 'concurrent_change', message },
          ]);
        }
        await audit(
          caller,
          'account.external_id_regenerated',
          accountId,
          { name: account.name, connectionId: connection.id, previousAcceptedUntil: until },
          trx,
        );
        await publish(account, 'regenerated', until, trx);
      });
      return deps.connections.getConnection(caller.tenantId, connection.id);
    },

    /**
     * Moves a role account along a regeneration, before a health check: once a validation with the
     * new external ID passes, Onramp uses it; once it does and the grace period is over, the old one
     * leaves the templates. Nothing happens while AWS cannot tell (the next check tries again).
     * Returns the external ID in use afterwards.
     */
    async advance(tenantId: string, accountId: string): Promise<string | undefined> {
      const account = await deps.accounts.find(tenantId, accountId);
      if (account?.method !== 'role' || !account.connectionId || !account.roleArn)
        return account?.externalId ?? undefined;
      const connection = await deps.connections.find(tenantId, account.connectionId);
      if (!connection) return account.externalId ?? undefined;
      const system: Caller = {
        tenantId,
        actorType: 'system',
        actorId: null,
        requestId: newId('request'),
        sourceIp: '',
      };
      let inUse = account.externalId;
      if (inUse !== connection.externalId) {
        const report = await deps
          .validateAccount(account, {
            method: 'role',
            partition: account.partition,
            roleArn: account.roleArn,
            externalId: connection.externalId,
          })
          .catch(() => undefined);
        // Proven is enough: a degraded account (actions missing) still proved the role takes the ID.
        if (!report?.proven) return inUse ?? undefined;
        const switched = await deps.db
          .transaction()
          .execute(async (trx) => {
            const from = account.externalId;
            const to = connection.externalId;
            const at = deps.clock().toISOString();
            if (!(await deps.accounts.switchExternalId(tenantId, accountId, { from, to }, at, trx)))
              return false;
            // A regeneration since the validation replaced the ID that passed: switching to it now
            // would use an ID the templates no longer list. Undo; the next check tries the new one.
            const current = await deps.connections.lock(tenantId, connection.id, trx);
            if (current?.externalId !== connection.externalId) throw new SwitchOutdated();
            await audit(
              system,
              'account.external_id_switched',
              accountId,
              { name: account.name, connectionId: connection.id },
              trx,
            );
            await publish(
              { ...account, externalId: connection.externalId },
              'switched',
              connection.previousExternalIdUntil,
              trx,
            );
            return true;
          })
          .catch((error: unknown) => {
            if (error instanceof SwitchOutdated) return false;
            throw error;
          });
        if (!switched)
          return (await deps.accounts.find(tenantId, accountId))?.externalId ?? undefined;
        deps.onSwitched(accountId);
        inUse = connection.externalId;
      }
      const previous = connection.previousExternalId;
      const until = connection.previousExternalIdUntil;
      if (
        previous &&
        inUse === connection.externalId &&
        (until === null || Date.parse(until) <= deps.clock().getTime())
      ) {
        await deps.db.transaction().execute(async (trx) => {
          if (
            !(await deps.connections.dropPreviousExternalId(tenantId, connection.id, previous, trx))
          )
            return;
          await audit(
            system,
            'account.external_id_previous_dropped',
            accountId,
            { name: account.name, connectionId: connection.id },
            trx,
          );
          await publish(account, 'previous_dropped', null, trx);
        });
      }
      return inUse ?? undefined;
    },
  };
}

export type ExternalIdRotation = ReturnType<typeof createExternalIdRotation>;

/** Rolls back a switch of external ID that a regeneration overtook. */
class SwitchOutdated extends Error {}
