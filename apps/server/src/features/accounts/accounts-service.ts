import type {
  accountNoticeSchema,
  createAccountRequestSchema,
  replaceCredentialsRequestSchema,
} from '@onramp/contracts';
import {
  type Bundle,
  type Catalog,
  generateExternalId,
  type PartitionId,
  resolveSelection,
} from '@onramp/core';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { Envelope } from '../../adapters/crypto/envelope.ts';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import type {
  Account,
  AccountCheckRecord,
  AccountMethod,
  AccountStatus,
  CheckTrigger,
  RoleOrigin,
} from '../../domain/account.ts';
import { auditEntryOf, type Caller } from '../../domain/caller.ts';
import type { Connection } from '../../domain/connection.ts';
import type { TenantLimits } from '../../domain/tenant.ts';
import { decodeCursor, encodeCursor } from '../../http/pagination.ts';
import { AppError, notFound } from '../../http/problems.ts';
import { isId, newId } from '../../ids.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { AccessKeys } from '../../ports/aws-gateway.ts';
import type { ConnectionsService } from '../connections/connections-service.ts';
import { createCheckHistory } from '../health/check-history.ts';
import { capReached, lockCollections } from '../tenants/collection-caps.ts';
import {
  type CredentialsInput,
  UPSTREAM_RETRY_AFTER_SECONDS,
  type ValidationDeps,
  type ValidationOptions,
  type ValidationReport,
  validateCredentials,
} from '../validation/accounts-validation.ts';
import type { EventPublisher } from '../webhooks/webhooks-service.ts';
import { describeMethod, enforcePartitionAndMethod } from './account-limits.ts';
import { toAccountResponse } from './account-view.ts';
import {
  type AccountChanges,
  type AccountFilters,
  createAccountsRepository,
  credentialKeyOf,
  SECRET_ACCESS_KEY_FIELD,
} from './accounts-repository.ts';

export type CreateAccountInput = z.output<typeof createAccountRequestSchema>;
export type AccountNotice = z.output<typeof accountNoticeSchema>;
export type ReplaceCredentialsInput = z.output<typeof replaceCredentialsRequestSchema>;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface UpdateAccountInput {
  name?: string | undefined;
  description?: string | undefined;
  bundles?: 'default' | 'all' | string[] | undefined;
  regions?: string[] | undefined;
}

export interface ListAccountsInput {
  partition?: PartitionId | undefined;
  method?: AccountMethod | undefined;
  status?: Account['status'] | undefined;
  awsAccountId?: string | undefined;
  q?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** What the accounts service is built from: validation's own deps, storage, and the services it uses. */
export interface AccountsServiceDeps extends ValidationDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  catalog: Catalog;
  envelope: Envelope;
  clock: () => Date;
  randomBytes: (size: number) => Uint8Array;
  /** Days a regenerated external ID's predecessor stays accepted in templates. Default 7. */
  externalIdGraceDays?: number | undefined;
  audit: Pick<AuditLog, 'append'>;
  tenants: { find(id: string): Promise<{ limits: TenantLimits } | undefined> };
  /**
   * The set-ups role accounts are connected from (features/connections): what connecting, changing
   * and deleting an account, and its external-ID rotation, need of them.
   */
  connections: Pick<
    ConnectionsService,
    | 'find'
    | 'getConnection'
    | 'forAccount'
    | 'ensureUnchanged'
    | 'markConnected'
    | 'markPending'
    | 'updateSelection'
    | 'lock'
    | 'rotateExternalId'
    | 'dropPreviousExternalId'
  >;
  /** Records webhook events in the outbox, in each change's own transaction (features/webhooks). */
  events?: EventPublisher | undefined;
}

/** Everything an account needs besides its credentials, resolved from the request or its connection. */
interface Prepared {
  partition: PartitionId;
  method: AccountMethod;
  name: string;
  description: string;
  bundles: string[];
  regions: string[];
  connection: Connection | undefined;
  credentials: CredentialsInput;
  limits: TenantLimits;
}

/**
 * Accounts: the rules between the routes and the database. Connections have their own service, which
 * this one asks for the set-up an account is connected from.
 * Nothing is stored unless validation passed, and every write of one request (account, secret,
 * connection, audit entry) happens in one transaction.
 */
export function createAccountsService(deps: AccountsServiceDeps) {
  const accounts = createAccountsRepository(deps.db, deps.clock);
  const history = createCheckHistory(deps);
  /** Told, once committed, of each account this service changed or deleted (caches forget it). */
  const changeListeners = new Set<(accountId: string) => void>();
  const announceChange = (accountId: string) => {
    for (const listener of changeListeners) listener(accountId);
  };

  /**
   * A validation that sets an account's health is recorded like a health check, so the account's
   * history starts when it is connected and shows every later change of permissions or credentials.
   */
  const recordCheck = (
    tenantId: string,
    accountId: string,
    report: ValidationReport,
    trigger: CheckTrigger,
    previousStatus: AccountStatus,
    durationMs: number,
    trx: Kysely<Database>,
  ) =>
    history.record(
      tenantId,
      {
        id: newId('accountCheck'),
        accountId,
        at: now(),
        status: report.status,
        previousStatus,
        changed: report.status !== previousStatus,
        stale: false,
        checks: report.checks,
        findings: report.findings,
        errors: report.errors,
        durationMs,
        trigger,
      },
      trx,
    );
  const now = () => deps.clock().toISOString();
  const graceDays = deps.externalIdGraceDays ?? 7;
  async function limitsOf(tenantId: string): Promise<TenantLimits> {
    const tenant = await deps.tenants.find(tenantId);
    if (!tenant) throw notFound('Tenant');
    return tenant.limits;
  }

  async function findAccount(tenantId: string, id: string): Promise<Account> {
    const account = await accounts.find(tenantId, id);
    if (!account) throw notFound('Account');
    return account;
  }

  /** The permission check's input: the catalog bundles behind stored ids, and the region restriction. */
  function permissionsOf(bundleIds: readonly string[], regions: readonly string[]) {
    const bundles = bundleIds
      .map((id) => deps.catalog.bundles.get(id))
      .filter((b): b is Bundle => b !== undefined);
    return { bundles, regions };
  }

  async function prepare(
    tenantId: string,
    input: CreateAccountInput,
    forCreate: boolean,
  ): Promise<Prepared> {
    const limits = await limitsOf(tenantId);
    if (input.method === 'access_keys') {
      enforcePartitionAndMethod(limits, input.partition, 'access_keys', 'method');
      const selection = resolveSelection(deps.catalog, {
        partition: input.partition,
        bundles: input.bundles,
        regions: input.regions,
      });
      return {
        partition: input.partition,
        method: 'access_keys',
        name: input.name,
        description: input.description,
        bundles: selection.bundles.map((b) => b.id),
        regions: [...selection.regions],
        connection: undefined,
        limits,
        credentials: {
          method: 'access_keys',
          partition: input.partition,
          accessKeyId: input.accessKeyId,
          secretAccessKey: input.secretAccessKey,
        },
      };
    }
    const connection = await deps.connections.forAccount(tenantId, input.connectionId, forCreate);
    enforcePartitionAndMethod(limits, connection.partition, 'role', 'method');
    const selection = resolveSelection(deps.catalog, {
      partition: connection.partition,
      bundles: connection.bundles,
      regions: connection.regions,
    });
    return {
      partition: connection.partition,
      method: 'role',
      name: input.name ?? connection.name,
      description: input.description ?? connection.description,
      bundles: selection.bundles.map((b) => b.id),
      regions: [...selection.regions],
      connection,
      limits,
      credentials: {
        method: 'role',
        partition: connection.partition,
        roleArn: input.roleArn,
        externalId: connection.externalId,
      },
    };
  }

  async function ensureNameFree(tenantId: string, name: string, exceptId?: string): Promise<void> {
    if (await accounts.nameExists(tenantId, name, exceptId)) throw duplicateName(name);
  }

  /** Refuses a role ARN or access key ID another account of the tenant already signs in with. */
  async function ensureCredentialFree(
    tenantId: string,
    credential: Pick<Account, 'method' | 'roleArn' | 'accessKeyId'>,
    exceptId?: string,
  ): Promise<void> {
    const existing = await accounts.findByCredential(tenantId, credential, exceptId);
    if (existing) throw duplicateCredential(credential, existing);
  }

  /**
   * Runs the writes of one request together. A duplicate that slipped past the checks (two requests
   * at once) is a 409 naming what is taken: the principal first, since two identical requests share
   * the name too, and the principal is what the tenant must know about.
   */
  async function inTransaction<T>(
    guard: string | undefined | TransactionGuard,
    work: (trx: Kysely<Database>) => Promise<T>,
  ): Promise<T> {
    const { name, taken } = typeof guard === 'object' ? guard : { name: guard, taken: undefined };
    try {
      return await deps.db.transaction().execute(work);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      if (taken) await ensureCredentialFree(taken.tenantId, taken.credential, taken.exceptId);
      if (name !== undefined) throw duplicateName(name);
      throw error;
    }
  }

  function audit(
    caller: Caller,
    action: string,
    target: { type: string; id: string },
    details: Record<string, unknown>,
    trx: Kysely<Database>,
  ) {
    return deps.audit.append(auditEntryOf(caller, action, target, details), trx);
  }

  /** A webhook event about an account, written with the change (same transaction) or not at all. */
  async function publish(
    type: 'account.created' | 'account.updated' | 'account.deleted' | 'account.credentials_rotated',
    account: Account,
    trx: Kysely<Database>,
    previousStatus?: Account['status'],
  ): Promise<void> {
    if (!deps.events) return;
    const data = { account: toAccountResponse(account) };
    await deps.events.publish({ tenantId: account.tenantId, type, data }, trx);
    if (previousStatus !== undefined && previousStatus !== account.status) {
      await deps.events.publish(
        {
          tenantId: account.tenantId,
          type: 'account.health_changed',
          data: { ...data, previousStatus, status: account.status },
        },
        trx,
      );
    }
  }

  /** `account.external_id_changed`: which step of a regeneration; the IDs themselves stay out. */
  async function publishExternalIdChange(
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
        data: { account: toAccountResponse(account), phase, previousAcceptedUntil },
      },
      trx,
    );
  }

  function sealSecret(tenantId: string, accountId: string, secretAccessKey: string) {
    return deps.envelope.seal(secretAccessKey, {
      tenantId,
      ownerId: accountId,
      field: SECRET_ACCESS_KEY_FIELD,
    });
  }

  return {
    /**
     * A new external ID for a role account, with a grace period. Onramp keeps assuming the role with
     * the one in use until a check with the new one passes (advanceExternalId); meanwhile the
     * templates list both, and the replaced one stays listed until the grace period ends.
     */
    async regenerateAccountExternalId(caller: Caller, accountId: string): Promise<Connection> {
      const account = await findAccount(caller.tenantId, accountId);
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
      await inTransaction(undefined, async (trx) => {
        // Under the connection's lock, which a switch takes too: the ID in use is read after any
        // switch that committed, and a switch still running sees the new ID and gives up.
        await deps.connections.lock(caller.tenantId, connection.id, trx);
        const inUse =
          (await accounts.find(caller.tenantId, accountId, trx))?.externalId ?? account.externalId;
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
          { type: 'account', id: accountId },
          { name: account.name, connectionId: connection.id, previousAcceptedUntil: until },
          trx,
        );
        await publishExternalIdChange(account, 'regenerated', until, trx);
      });
      return deps.connections.getConnection(caller.tenantId, connection.id);
    },

    /**
     * Moves a role account along a regeneration, before a health check: once a validation with the
     * new external ID passes, Onramp uses it; once it does and the grace period is over, the old one
     * leaves the templates. Each step is audited and published. Nothing happens while AWS cannot
     * tell (the next check tries again). Returns the external ID in use afterwards.
     */
    async advanceExternalId(tenantId: string, accountId: string): Promise<string | undefined> {
      const account = await accounts.find(tenantId, accountId);
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
        const report = await validateCredentials(
          deps,
          {
            method: 'role',
            partition: account.partition,
            roleArn: account.roleArn,
            externalId: connection.externalId,
          },
          {
            expectedAccountId: account.awsAccountId,
            permissions: permissionsOf(account.bundles, account.regions),
          },
        ).catch(() => undefined);
        if (!report?.valid) return inUse ?? undefined;
        const switched = await inTransaction(undefined, async (trx) => {
          const from = account.externalId;
          const to = connection.externalId;
          if (!(await accounts.switchExternalId(tenantId, accountId, { from, to }, now(), trx)))
            return false;
          // A regeneration since the validation replaced the ID that passed: switching to it now
          // would use an ID the templates no longer list. Undo; the next check tries the new one.
          const current = await deps.connections.lock(tenantId, connection.id, trx);
          if (current?.externalId !== connection.externalId) throw new SwitchOutdated();
          await audit(
            system,
            'account.external_id_switched',
            { type: 'account', id: accountId },
            { name: account.name, connectionId: connection.id },
            trx,
          );
          await publishExternalIdChange(
            { ...account, externalId: connection.externalId },
            'switched',
            connection.previousExternalIdUntil,
            trx,
          );
          return true;
        }).catch((error: unknown) => {
          if (error instanceof SwitchOutdated) return false;
          throw error;
        });
        if (!switched) return (await accounts.find(tenantId, accountId))?.externalId ?? undefined;
        announceChange(accountId);
        inUse = connection.externalId;
      }
      const previous = connection.previousExternalId;
      const until = connection.previousExternalIdUntil;
      if (
        previous &&
        inUse === connection.externalId &&
        (until === null || Date.parse(until) <= deps.clock().getTime())
      ) {
        await inTransaction(undefined, async (trx) => {
          if (
            !(await deps.connections.dropPreviousExternalId(tenantId, connection.id, previous, trx))
          )
            return;
          await audit(
            system,
            'account.external_id_previous_dropped',
            { type: 'account', id: accountId },
            { name: account.name, connectionId: connection.id },
            trx,
          );
          await publishExternalIdChange(account, 'previous_dropped', null, trx);
        });
      }
      return inUse ?? undefined;
    },

    // ---- accounts ----------------------------------------------------------------------------

    /** A dry run of create: the same checks, nothing stored. */
    async validate(
      tenantId: string,
      input: CreateAccountInput,
      options: { signal?: AbortSignal } = {},
    ): Promise<ValidationReport> {
      const prepared = await prepare(tenantId, input, false);
      return validateCredentials(deps, prepared.credentials, {
        permissions: permissionsOf(prepared.bundles, prepared.regions),
        signal: options.signal,
      });
    },

    /**
     * Validates and stores an account. `waitForPropagation` is for set-up flows where the role was
     * created moments ago (the CloudFormation call-back): AssumeRole is retried while IAM propagates.
     */
    async create(
      caller: Caller,
      input: CreateAccountInput,
      options: { waitForPropagation?: boolean; signal?: AbortSignal; roleOrigin?: RoleOrigin } = {},
    ): Promise<Account> {
      const prepared = await prepare(caller.tenantId, input, true);
      const { limits } = prepared;
      if (
        limits.maxAccounts !== undefined &&
        (await accounts.count(caller.tenantId)) >= limits.maxAccounts
      ) {
        throw capReached('accounts', limits.maxAccounts, 'tenant');
      }
      await ensureCredentialFree(caller.tenantId, credentialOf(prepared.credentials));
      await ensureNameFree(caller.tenantId, prepared.name);

      const started = performance.now();
      const report = await validateCredentials(deps, prepared.credentials, {
        permissions: permissionsOf(prepared.bundles, prepared.regions),
        ...(options.waitForPropagation ? { waitForPropagation: true } : {}),
        signal: options.signal,
      });
      const durationMs = Math.round(performance.now() - started);
      if (!report.valid || !report.credentials || !report.identity)
        throw notValidated(report, 'The account was not saved');
      const { credentials, identity } = report;

      const id = newId('account');
      const sealed =
        credentials.method === 'access_keys'
          ? sealSecret(caller.tenantId, id, credentials.secretAccessKey)
          : undefined;
      const connection = prepared.connection;
      const taken = { tenantId: caller.tenantId, credential: credentialOf(credentials) };
      return inTransaction({ name: prepared.name, taken }, async (trx) => {
        // The check above fails fast, before AWS is asked; this one, under the tenant's lock and
        // after the slow validation, is the one that holds when creates race.
        const locked = await lockCollections(trx, deps.dialect, caller.tenantId);
        if (
          locked.maxAccounts !== undefined &&
          (await accounts.count(caller.tenantId, trx)) >= locked.maxAccounts
        )
          throw capReached('accounts', locked.maxAccounts, 'tenant');
        // Another tab or person may have discarded, connected or changed the set-up while AWS was
        // asked: the account must be what the set-up now says, or nothing.
        if (connection) await deps.connections.ensureUnchanged(caller.tenantId, connection, trx);
        const account = await accounts.create(
          caller.tenantId,
          {
            id,
            name: prepared.name,
            description: prepared.description,
            partition: prepared.partition,
            method: prepared.method,
            awsAccountId: identity.accountId,
            principalArn: credentials.method === 'role' ? credentials.roleArn : identity.arn,
            roleArn: credentials.method === 'role' ? credentials.roleArn : null,
            externalId: connection?.externalId ?? null,
            connectionId: connection?.id ?? null,
            roleOrigin: connection ? (options.roleOrigin ?? 'pasted_arn') : null,
            accessKeyId: credentials.method === 'access_keys' ? credentials.accessKeyId : null,
            bundles: prepared.bundles,
            regions: prepared.regions,
            status: report.status,
            statusDetail: { checks: report.checks, errors: [], findings: report.findings },
            lastCheckedAt: now(),
          },
          trx,
        );
        if (sealed)
          await accounts.putSecret(caller.tenantId, id, SECRET_ACCESS_KEY_FIELD, sealed, trx);
        // The first entry of its history: unverified before this validation, whatever it found.
        await recordCheck(caller.tenantId, id, report, 'connect', 'unverified', durationMs, trx);
        if (connection) await deps.connections.markConnected(connection, id, trx);
        await audit(
          caller,
          'account.created',
          { type: 'account', id },
          describeAccount(account),
          trx,
        );
        await publish('account.created', account, trx);
        return account;
      });
    },

    /**
     * What a tenant should know before or after connecting this principal: another of its accounts
     * already signs in with it (create would be refused), or others are in the same AWS account with
     * another principal (allowed: a second role for another team is legitimate, a forgotten one not).
     */
    async noticesFor(
      tenantId: string,
      about: {
        awsAccountId: string;
        credential:
          | { method: 'role'; roleArn: string }
          | { method: 'access_keys'; accessKeyId: string };
        exceptId?: string;
      },
    ): Promise<AccountNotice[]> {
      const credential = credentialOf(about.credential);
      const notices: AccountNotice[] = [];
      const twin = await accounts.findByCredential(tenantId, credential, about.exceptId);
      if (twin) {
        notices.push({
          code: 'already_connected',
          message: duplicateCredential(credential, twin).message,
          accounts: [{ id: twin.id, name: twin.name }],
        });
      }
      const siblings = (
        await accounts.listInAwsAccount(tenantId, about.awsAccountId, {
          ...(about.exceptId ? { id: about.exceptId } : {}),
          credentialKey: credentialKeyOf(credential),
        })
      ).filter((s) => s.id !== twin?.id);
      if (siblings.length) {
        const names = siblings.map((s) => `"${s.name}" (${s.id})`).join(', ');
        notices.push({
          code: 'same_aws_account',
          message: `AWS account ${about.awsAccountId} is also connected as ${names}, with another principal. Both work; delete the one you no longer need.`,
          accounts: siblings.map((s) => ({ id: s.id, name: s.name })),
        });
      }
      return notices;
    },

    async list(
      tenantId: string,
      query: ListAccountsInput,
    ): Promise<{ accounts: Account[]; next: string | null }> {
      const filters: AccountFilters = { limit: query.limit };
      if (query.partition) filters.partition = query.partition;
      if (query.method) filters.method = query.method;
      if (query.status) filters.status = query.status;
      if (query.awsAccountId) filters.awsAccountId = query.awsAccountId;
      if (query.q?.trim()) filters.q = query.q.trim();
      if (query.cursor !== undefined)
        filters.after = decodeCursor(query.cursor, (k) => isId('account', k));
      const page = await accounts.list(tenantId, filters);
      const last = page.accounts.at(-1);
      return { accounts: page.accounts, next: page.more && last ? encodeCursor(last.id) : null };
    },

    getAccount: findAccount,

    /** The account, or undefined; in the caller's transaction when given (features/callbacks). */
    find(tenantId: string, id: string, trx?: Kysely<Database>): Promise<Account | undefined> {
      return accounts.find(tenantId, id, trx);
    },

    /**
     * Makes a check's outcome the account's health (features/health, and a stack's deletion): the
     * account takes the check's status, or a stale check only marks it stale. In the caller's
     * transaction (`trx`), which records the check with it. Returns the account as it now is, read
     * back when `readBack` (an event carries it); undefined when it was deleted meanwhile.
     */
    async recordHealth(
      tenantId: string,
      before: Account,
      record: AccountCheckRecord,
      trx: Kysely<Database>,
      options: { readBack: boolean },
    ): Promise<Account | undefined> {
      const at = record.at;
      const statusDetail = {
        checks: record.checks,
        errors: record.errors,
        findings: record.findings,
      };
      if (!(await accounts.applyHealth(tenantId, before, record, statusDetail, trx)))
        return undefined;
      if (options.readBack) return accounts.find(tenantId, before.id, trx);
      return record.stale
        ? { ...before, staleSince: before.staleSince ?? at }
        : {
            ...before,
            status: record.status,
            statusDetail,
            lastCheckedAt: at,
            staleSince: null,
            ...(record.changed ? { updatedAt: at } : {}),
          };
    },

    /** Calls `listener` with the id of every account changed or deleted through this service. */
    onAccountChange(listener: (accountId: string) => void): void {
      changeListeners.add(listener);
    },

    async update(caller: Caller, id: string, input: UpdateAccountInput): Promise<Account> {
      const account = await findAccount(caller.tenantId, id);
      const changes: AccountChanges = {};
      if (input.name !== undefined && input.name !== account.name) {
        await ensureNameFree(caller.tenantId, input.name, id);
        changes.name = input.name;
      }
      if (input.description !== undefined && input.description !== account.description) {
        changes.description = input.description;
      }
      if (input.bundles !== undefined || input.regions !== undefined) {
        const selection = resolveSelection(deps.catalog, {
          partition: account.partition,
          bundles: input.bundles ?? account.bundles,
          regions: input.regions ?? account.regions,
        });
        const bundles = selection.bundles.map((b) => b.id);
        const regions = [...selection.regions];
        if (!sameList(bundles, account.bundles)) changes.bundles = bundles;
        if (!sameList(regions, account.regions)) changes.regions = regions;
      }
      const permissionsChanged = changes.bundles !== undefined || changes.regions !== undefined;
      let recheck: { report: ValidationReport; durationMs: number } | undefined;
      if (permissionsChanged) {
        // New permissions need the account to be checked again; the finding becomes its status
        // (degraded, with the missing actions, until the role or user is given them).
        const keys =
          account.method === 'access_keys'
            ? await this.readAccessKeys(caller.tenantId, id)
            : undefined;
        const credentials: CredentialsInput | undefined =
          account.method === 'role' && account.roleArn && account.externalId
            ? {
                method: 'role',
                partition: account.partition,
                roleArn: account.roleArn,
                externalId: account.externalId,
              }
            : keys
              ? { method: 'access_keys', partition: account.partition, ...keys }
              : undefined;
        if (credentials) {
          const started = performance.now();
          const report = await validateCredentials(deps, credentials, {
            expectedAccountId: account.awsAccountId,
            permissions: permissionsOf(
              changes.bundles ?? account.bundles,
              changes.regions ?? account.regions,
            ),
          });
          recheck = { report, durationMs: Math.round(performance.now() - started) };
          changes.status = report.status;
          changes.statusDetail = {
            checks: report.checks,
            errors: report.errors,
            findings: report.findings,
          };
          changes.lastCheckedAt = now();
        }
      }
      const changed = (Object.keys(changes) as (keyof AccountChanges)[]).filter((k) =>
        ['name', 'description', 'bundles', 'regions'].includes(k),
      );
      if (changed.length === 0) return account;
      await inTransaction(changes.name, async (trx) => {
        await accounts.update(caller.tenantId, id, changes, trx);
        if (recheck) {
          const { report, durationMs } = recheck;
          await recordCheck(
            caller.tenantId,
            id,
            report,
            'permissions_changed',
            account.status,
            durationMs,
            trx,
          );
        }
        if (permissionsChanged && account.connectionId) {
          await deps.connections.updateSelection(
            caller.tenantId,
            account.connectionId,
            {
              bundles: changes.bundles ?? account.bundles,
              regions: changes.regions ?? account.regions,
            },
            trx,
          );
        }
        await audit(
          caller,
          'account.updated',
          { type: 'account', id },
          {
            changed,
            name: changes.name ?? account.name,
            ...(permissionsChanged
              ? {
                  bundles: changes.bundles ?? account.bundles,
                  regions: changes.regions ?? account.regions,
                }
              : {}),
            ...(changes.status ? { status: changes.status } : {}),
          },
          trx,
        );
        const updated = await accounts.find(caller.tenantId, id, trx);
        if (updated) await publish('account.updated', updated, trx, account.status);
      });
      announceChange(id);
      return findAccount(caller.tenantId, id);
    },

    /** New keys or a new role ARN, validated first: when validation fails, the old ones stay as they were. */
    async replaceCredentials(
      caller: Caller,
      id: string,
      input: ReplaceCredentialsInput,
    ): Promise<Account> {
      const account = await findAccount(caller.tenantId, id);
      if (input.method !== account.method) {
        const message = `This account connects with ${describeMethod(account.method)}; send new ${describeMethod(account.method)}, or delete it and connect the AWS account again.`;
        throw new AppError('validation_failed', message, [
          { field: 'method', code: 'method_mismatch', message },
        ]);
      }
      let credentials: CredentialsInput;
      if (input.method === 'access_keys') {
        credentials = {
          method: 'access_keys',
          partition: account.partition,
          accessKeyId: input.accessKeyId,
          secretAccessKey: input.secretAccessKey,
        };
      } else {
        if (!account.externalId) throw new Error(`role account ${account.id} has no external ID`);
        credentials = {
          method: 'role',
          partition: account.partition,
          roleArn: input.roleArn,
          externalId: account.externalId,
        };
      }
      await ensureCredentialFree(caller.tenantId, credentialOf(credentials), id);
      const started = performance.now();
      const report = await validateCredentials(deps, credentials, {
        expectedAccountId: account.awsAccountId,
        permissions: permissionsOf(account.bundles, account.regions),
      });
      const durationMs = Math.round(performance.now() - started);
      if (!report.valid || !report.credentials || !report.identity) {
        throw notValidated(
          report,
          'The credentials were not replaced; the account keeps its current ones',
        );
      }
      const validated = report.credentials;
      const identity = report.identity;
      const sealed =
        validated.method === 'access_keys'
          ? sealSecret(caller.tenantId, id, validated.secretAccessKey)
          : undefined;
      const taken = {
        tenantId: caller.tenantId,
        credential: credentialOf(validated),
        exceptId: id,
      };
      await inTransaction({ taken }, async (trx) => {
        await accounts.update(
          caller.tenantId,
          id,
          {
            principalArn: validated.method === 'role' ? validated.roleArn : identity.arn,
            ...(validated.method === 'role'
              ? { roleArn: validated.roleArn }
              : { accessKeyId: validated.accessKeyId }),
            status: report.status,
            statusDetail: { checks: report.checks, errors: [], findings: report.findings },
            lastCheckedAt: now(),
          },
          trx,
        );
        if (sealed)
          await accounts.putSecret(caller.tenantId, id, SECRET_ACCESS_KEY_FIELD, sealed, trx);
        await recordCheck(
          caller.tenantId,
          id,
          report,
          'credentials_replaced',
          account.status,
          durationMs,
          trx,
        );
        const details =
          validated.method === 'role'
            ? { method: 'role', previousRoleArn: account.roleArn, roleArn: validated.roleArn }
            : {
                method: 'access_keys',
                previousAccessKeyId: account.accessKeyId,
                accessKeyId: validated.accessKeyId,
              };
        await audit(
          caller,
          'account.credentials_rotated',
          { type: 'account', id },
          { name: account.name, ...details },
          trx,
        );
        const rotated = await accounts.find(caller.tenantId, id, trx);
        if (rotated) await publish('account.credentials_rotated', rotated, trx, account.status);
      });
      announceChange(id);
      return findAccount(caller.tenantId, id);
    },

    /** Deletes the account and purges its secret; the audit log keeps what happened. */
    async remove(caller: Caller, id: string): Promise<void> {
      const account = await findAccount(caller.tenantId, id);
      await inTransaction(undefined, async (trx) => {
        if (!(await accounts.delete(caller.tenantId, id, trx))) throw notFound('Account');
        await accounts.deleteSecrets(caller.tenantId, id, trx);
        // The role still trusts the connection's external ID: the set-up can be connected again.
        if (account.connectionId)
          await deps.connections.markPending(caller.tenantId, account.connectionId, trx);
        await audit(
          caller,
          'account.deleted',
          { type: 'account', id },
          describeAccount(account),
          trx,
        );
        await publish('account.deleted', account, trx);
      });
      announceChange(id);
    },

    /**
     * What a health check validates (features/health): the account's stored credentials, its AWS
     * account, and its bundles and regions, as at connect time. undefined when its credentials are gone.
     */
    async checkInputOf(
      account: Account,
    ): Promise<{ credentials: CredentialsInput; options: ValidationOptions } | undefined> {
      const options: ValidationOptions = {
        expectedAccountId: account.awsAccountId,
        permissions: permissionsOf(account.bundles, account.regions),
      };
      if (account.method === 'role') {
        if (!account.roleArn || !account.externalId) return undefined;
        const { partition, roleArn, externalId } = account;
        return { credentials: { method: 'role', partition, roleArn, externalId }, options };
      }
      const keys = await this.readAccessKeys(account.tenantId, account.id);
      if (!keys) return undefined;
      return {
        credentials: { method: 'access_keys', partition: account.partition, ...keys },
        options,
      };
    },

    /**
     * The stored keys of an access-key account, opened. For Onramp's own use (vending credentials);
     * no route returns them.
     */
    async readAccessKeys(tenantId: string, id: string): Promise<AccessKeys | undefined> {
      const account = await accounts.find(tenantId, id);
      if (account?.method !== 'access_keys' || !account.accessKeyId) return undefined;
      const sealed = await accounts.findSecret(tenantId, id, SECRET_ACCESS_KEY_FIELD);
      if (!sealed) return undefined;
      const secretAccessKey = deps.envelope.open(sealed, {
        tenantId,
        ownerId: id,
        field: SECRET_ACCESS_KEY_FIELD,
      });
      return { accessKeyId: account.accessKeyId, secretAccessKey };
    },
  };
}

export type AccountsService = ReturnType<typeof createAccountsService>;

/** The audit log's view of an account: names and identifiers, never a secret. */
function describeAccount(account: Account): Record<string, unknown> {
  return {
    name: account.name,
    partition: account.partition,
    method: account.method,
    awsAccountId: account.awsAccountId,
    ...(account.roleArn ? { roleArn: account.roleArn } : {}),
    ...(account.accessKeyId ? { accessKeyId: account.accessKeyId } : {}),
    ...(account.connectionId ? { connectionId: account.connectionId } : {}),
    bundles: account.bundles,
    regions: account.regions,
  };
}

/** What a transaction's unique violation may mean: a taken name, a taken principal. */
interface TransactionGuard {
  name?: string | undefined;
  taken?: {
    tenantId: string;
    credential: Pick<Account, 'method' | 'roleArn' | 'accessKeyId'>;
    exceptId?: string;
  };
}

/** The part of credentials that names the principal: the role ARN or the access key ID. */
function credentialOf(
  credentials: { method: 'role'; roleArn: string } | { method: 'access_keys'; accessKeyId: string },
): Pick<Account, 'method' | 'roleArn' | 'accessKeyId'> {
  return credentials.method === 'role'
    ? { method: 'role', roleArn: credentials.roleArn.trim(), accessKeyId: null }
    : { method: 'access_keys', roleArn: null, accessKeyId: credentials.accessKeyId.trim() };
}

function duplicateCredential(
  credential: Pick<Account, 'method' | 'roleArn' | 'accessKeyId'>,
  existing: Pick<Account, 'id' | 'name'>,
): AppError {
  const isRole = credential.method === 'role';
  const what = isRole ? 'This role' : 'This access key';
  const message = `${what} is already connected as the account "${existing.name}" (${existing.id}).`;
  return new AppError(
    'conflict',
    message,
    [
      {
        field: isRole ? 'roleArn' : 'accessKeyId',
        code: 'already_connected',
        message,
        hint: isRole
          ? 'Open that account instead, or create another role for a second connection to this AWS account.'
          : 'Open that account instead, or create another access key (of another IAM user) for a second connection.',
      },
    ],
    {},
    { existingAccount: { id: existing.id, name: existing.name } },
  );
}

function duplicateName(name: string): AppError {
  const message = `An account named "${name}" already exists in this tenant.`;
  return new AppError('conflict', message, [
    { field: 'name', code: 'duplicate_name', message, hint: 'Choose another name.' },
  ]);
}

/**
 * 422 with every field error, and the checks as an extension member so the console can show them.
 * When nothing is wrong but AWS did not answer a step that must pass (the external-ID check), 502:
 * try again; the checks still say what was found.
 */
function notValidated(report: ValidationReport, what: string): AppError {
  if (report.errors.length === 0 && report.faults.length > 0) {
    const reasons = report.faults.map((f) => `${f.step}: ${f.error.message}`).join(' ');
    return new AppError(
      'upstream_unavailable',
      `${what}: AWS did not answer a check that must pass. ${reasons}`,
      [],
      { 'retry-after': String(UPSTREAM_RETRY_AFTER_SECONDS) },
      { checks: report.checks },
    );
  }
  const detail = `${what}: ${report.errors.map((e) => `${e.field}: ${e.message}`).join(' ')}`;
  return new AppError('validation_failed', detail, report.errors, {}, { checks: report.checks });
}

/** Rolls back a switch of external ID that a regeneration overtook. */
class SwitchOutdated extends Error {}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A unique constraint refused a row: SQLite's and PostgreSQL's codes. */
function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}
