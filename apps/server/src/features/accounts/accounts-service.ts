import type {
  createAccountRequestSchema,
  replaceCredentialsRequestSchema,
} from '@onramp/contracts';
import { type Bundle, type Catalog, type PartitionId, resolveSelection } from '@onramp/core';
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
  StatusDetail,
} from '../../domain/account.ts';
import { auditEntryOf, type Caller } from '../../domain/caller.ts';
import type { Connection } from '../../domain/connection.ts';
import { sameList } from '../../domain/selection.ts';
import type { TenantLimits } from '../../domain/tenant.ts';
import { decodeCursor, encodeCursor } from '../../http/pagination.ts';
import { AppError, notFound } from '../../http/problems.ts';
import { isId, newId } from '../../ids.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
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
import type { ExtraPermissions } from '../validation/extra-permissions.ts';
import type { EventPublisher } from '../webhooks/webhooks-service.ts';
import { createAccountCredentials } from './account-credentials.ts';
import { createAccountDuplicates, credentialOf } from './account-duplicates.ts';
import { describeMethod, enforcePartitionAndMethod } from './account-limits.ts';
import { toAccountResponse } from './account-view.ts';
import {
  type AccountChanges,
  type AccountFilters,
  createAccountsRepository,
  SECRET_ACCESS_KEY_FIELD,
} from './accounts-repository.ts';
import { createExternalIdRotation } from './external-id-rotation.ts';
import {
  checkConfirmsCatalog,
  permissionsAfterCheck,
  permissionsDecided,
} from './permission-findings.ts';
import {
  type BundleChoice,
  diffGrants,
  grantsOf,
  principalOf,
  wantedBundles,
  withVerification,
} from './permission-grants.ts';

/** See AccountsService.onConnectedFromSession: a throw rolls the account back. */
export type SessionConnectedListener = (
  caller: Caller,
  account: Account,
  connection: Connection,
  trx: Kysely<Database>,
) => Promise<void>;

export type CreateAccountInput = z.output<typeof createAccountRequestSchema>;
export type ReplaceCredentialsInput = z.output<typeof replaceCredentialsRequestSchema>;

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
  /** `true`: only outdated accounts; `false`: only the others. */
  outdated?: 'true' | 'false' | undefined;
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
  bundleChoice: BundleChoice;
  regions: string[];
  connection: Connection | undefined;
  credentials: CredentialsInput;
  limits: TenantLimits;
}

/**
 * Accounts: the rules between the routes and the database. Connections have their own service, which
 * this one asks for the set-up an account is connected from. The external-ID rotation, the duplicate
 * checks and the stored credentials are modules beside it, built here over the same repository.
 * Nothing is stored unless validation passed, and every write of one request (account, secret,
 * connection, audit entry) happens in one transaction.
 */
export function createAccountsService(deps: AccountsServiceDeps) {
  const accounts = createAccountsRepository(deps.db, deps.clock);
  const history = createCheckHistory(deps);
  const duplicates = createAccountDuplicates({ db: deps.db, accounts });
  const { ensureNameFree, ensureCredentialFree, inTransaction } = duplicates;
  const stored = createAccountCredentials({ envelope: deps.envelope, accounts });
  /** Told, once committed, of each account this service changed or deleted (caches forget it). */
  const changeListeners = new Set<(accountId: string) => void>();
  const announceChange = (accountId: string) => {
    for (const listener of changeListeners) listener(accountId);
  };
  /**
   * Run in the transaction of an account connected from a hosted connect session's role set-up
   * (a stack's call-back, or the tenant's API): the session completes with it, or neither happens.
   */
  const sessionListeners = new Set<SessionConnectedListener>();

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
        bundleChoice: typeof input.bundles === 'string' ? input.bundles : 'custom',
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
    if (connection.method !== input.method)
      throw connectionMethodMismatch(connection, input.method);
    enforcePartitionAndMethod(limits, connection.partition, connection.method, 'method');
    const selection = resolveSelection(deps.catalog, {
      partition: connection.partition,
      bundles: connection.bundles,
      regions: connection.regions,
    });
    return {
      partition: connection.partition,
      method: connection.method,
      name: input.name ?? connection.name,
      description: input.description ?? connection.description,
      bundles: selection.bundles.map((b) => b.id),
      // A connection keeps the bundles it resolved to; one that has exactly the partition's defaults
      // follows them (the wizard starts from the defaults, and a tenant who kept them wants "the
      // defaults", not a list frozen today).
      bundleChoice: sameList(
        selection.bundles.map((b) => b.id),
        deps.catalog
          .defaultBundles(connection.partition)
          .map((b) => b.id)
          .sort(),
      )
        ? 'default'
        : 'custom',
      regions: [...selection.regions],
      connection,
      limits,
      credentials:
        connection.method === 'oidc_role'
          ? {
              method: 'oidc_role',
              partition: connection.partition,
              roleArn: input.roleArn,
              tenantId,
              connectionId: connection.id,
            }
          : {
              method: 'role',
              partition: connection.partition,
              roleArn: input.roleArn,
              externalId: connection.externalId,
            },
    };
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
    const data = { account: toAccountResponse(account, deps.webIdentity) };
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

  /** An existing account's validation: its own AWS account, its bundles and regions. */
  function recheckOptionsOf(account: Account): ValidationOptions {
    return {
      expectedAccountId: account.awsAccountId,
      permissions: permissionsOf(account.bundles, account.regions),
    };
  }

  const rotation = createExternalIdRotation({
    db: deps.db,
    clock: deps.clock,
    randomBytes: deps.randomBytes,
    externalIdGraceDays: deps.externalIdGraceDays,
    audit: deps.audit,
    events: deps.events,
    connections: deps.connections,
    accounts,
    validateAccount: (account, credentials) =>
      validateCredentials(deps, credentials, recheckOptionsOf(account)),
    onSwitched: announceChange,
  });

  return {
    /**
     * A new external ID for a role account, with a grace period (external-id-rotation.ts): both are
     * accepted until a check with the new one passes.
     */
    async regenerateAccountExternalId(caller: Caller, accountId: string): Promise<Connection> {
      const account = await findAccount(caller.tenantId, accountId);
      // A member account's role trusts `<prefix>-<account ID>`, derived by its organization's
      // template: a new ID of its own would lock Onramp out until the StackSet changed it.
      if (account.organizationId)
        throw managedByOrganization(
          account.organizationId,
          'id',
          'Its external ID is the organization’s, derived from its account ID: it cannot be regenerated alone.',
        );
      return rotation.regenerate(caller, accountId);
    },

    /**
     * Before a health check: switches to a regenerated external ID once it passes, and drops the
     * previous one after the grace period (external-id-rotation.ts). Returns the ID in use.
     */
    advanceExternalId(tenantId: string, accountId: string): Promise<string | undefined> {
      return rotation.advance(tenantId, accountId);
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
      options: {
        waitForPropagation?: boolean;
        signal?: AbortSignal;
        roleOrigin?: RoleOrigin;
        /**
         * Run inside the account's transaction, last: a throw rolls the account back (a hosted
         * connect session compare-and-sets its completion here).
         */
        inTransaction?: (account: Account, trx: Kysely<Database>) => Promise<void>;
      } = {},
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
        readExtra: true,
        signal: options.signal,
      });
      const durationMs = Math.round(performance.now() - started);
      // Saved degraded only when the tenant accepted it and nothing but permissions is missing: an
      // identity, external-ID or confused-deputy failure refuses the account whatever was accepted.
      const savedDegraded =
        !report.valid &&
        report.proven &&
        report.status === 'degraded' &&
        input.acceptMissingPermissions === true;
      if (!(report.valid || savedDegraded) || !report.credentials || !report.identity)
        throw notValidated(report, 'The account was not saved');
      const { credentials, identity } = report;

      const id = newId('account');
      const sealed =
        credentials.method === 'access_keys'
          ? stored.sealSecret(caller.tenantId, id, credentials.secretAccessKey)
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
            principalArn: credentials.method === 'access_keys' ? identity.arn : credentials.roleArn,
            roleArn: credentials.method === 'access_keys' ? null : credentials.roleArn,
            // A keyless role trusts the connection's subject; its external ID is not used.
            externalId: prepared.method === 'role' ? (connection?.externalId ?? null) : null,
            connectionId: connection?.id ?? null,
            roleOrigin: connection ? (options.roleOrigin ?? 'pasted_arn') : null,
            accessKeyId: credentials.method === 'access_keys' ? credentials.accessKeyId : null,
            bundles: prepared.bundles,
            bundleChoice: prepared.bundleChoice,
            granted: withVerification(
              grantsOf(deps.catalog, prepared.bundles, principalOf(prepared.method)),
              report.findings,
              report.status === 'valid' || report.status === 'degraded',
            ),
            regions: prepared.regions,
            status: report.status,
            // A degraded save keeps the permission errors, as a health check finding them would.
            statusDetail: {
              checks: report.checks,
              errors: savedDegraded ? report.errors : [],
              findings: report.findings,
              ...(report.extra ? { extra: { checkedAt: now(), policies: report.extra } } : {}),
            },
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
          {
            ...describeAccount(account),
            status: account.status,
            // What the tenant accepted would not work: per bundle, how many actions (the check has them).
            ...(savedDegraded
              ? {
                  acceptedMissingPermissions: report.findings.map((f) => ({
                    bundle: f.bundleId,
                    missing: f.missing.length,
                    deniedByScp: f.deniedByScp.length,
                  })),
                }
              : {}),
          },
          trx,
        );
        await publish('account.created', account, trx);
        if (options.inTransaction) await options.inTransaction(account, trx);
        else if (connection?.connectSessionId)
          for (const listener of sessionListeners) await listener(caller, account, connection, trx);
        return account;
      });
    },

    /** Told, in its transaction, of an account connected from a hosted connect session's set-up. */
    onConnectedFromSession(listener: SessionConnectedListener): void {
      sessionListeners.add(listener);
    },

    /** Another account with this principal, or others in its AWS account (account-duplicates.ts). */
    noticesFor: duplicates.noticesFor,

    async list(
      tenantId: string,
      query: ListAccountsInput,
    ): Promise<{ accounts: Account[]; next: string | null }> {
      const filters: AccountFilters = { limit: query.limit };
      if (query.partition) filters.partition = query.partition;
      if (query.method) filters.method = query.method;
      if (query.status) filters.status = query.status;
      if (query.outdated) filters.outdated = query.outdated === 'true';
      if (query.awsAccountId) filters.awsAccountId = query.awsAccountId;
      if (query.q?.trim()) filters.q = query.q.trim();
      if (query.cursor !== undefined)
        filters.after = decodeCursor(query.cursor, (k) => isId('account', k));
      const page = await accounts.list(tenantId, filters);
      const last = page.accounts.at(-1);
      return { accounts: page.accounts, next: page.more && last ? encodeCursor(last.id) : null };
    },

    getAccount: findAccount,

    /**
     * GET /v1/accounts/summary: counted in the database (accounts-repository.ts), then shaped: every
     * status present (0 when none), partitions and bundles in order, missing actions most-lacked first.
     */
    async summary(tenantId: string, query: { partition?: PartitionId | undefined }) {
      const counts = await accounts.summary(tenantId, query, deps.dialect);
      const byStatus: Record<AccountStatus, number> = {
        valid: 0,
        degraded: 0,
        invalid: 0,
        unverified: 0,
      };
      const partitions = new Map<PartitionId, { total: number; outdated: number }>();
      let total = 0;
      let outdated = 0;
      let trimmed = 0;
      for (const group of counts.groups) {
        total += group.n;
        byStatus[group.status] += group.n;
        if (group.outdated) outdated += group.n;
        if (group.trimmed) trimmed += group.n;
        const partition = group.partition as PartitionId;
        const entry = partitions.get(partition) ?? { total: 0, outdated: 0 };
        entry.total += group.n;
        if (group.outdated) entry.outdated += group.n;
        partitions.set(partition, entry);
      }
      const bundleIds = [
        ...new Set([...counts.bundles, ...counts.outdatedBundles].map((b) => b.bundle)),
      ].sort();
      return {
        total,
        byStatus,
        outdated,
        trimmed,
        byPartition: [...partitions.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([partition, entry]) => ({ partition, ...entry })),
        byBundle: bundleIds.map((bundle) => ({
          bundle,
          accounts: counts.bundles.find((b) => b.bundle === bundle)?.n ?? 0,
          outdated: counts.outdatedBundles.find((b) => b.bundle === bundle)?.n ?? 0,
          missing: counts.missing
            .filter((m) => m.bundle === bundle)
            .sort((a, b) => b.n - a.n || a.action.localeCompare(b.action))
            .map((m) => ({ action: m.action, accounts: m.n })),
        })),
      };
    },

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
      options: { readBack: boolean; extra?: ExtraPermissions[] | undefined },
    ): Promise<Account | undefined> {
      const at = record.at;
      // Extra permissions are read less often than checks run: the last reading stays until the next.
      const extra = options.extra
        ? { checkedAt: at, policies: options.extra }
        : before.statusDetail.extra;
      const statusDetail: StatusDetail = {
        checks: record.checks,
        errors: record.errors,
        findings: record.findings,
        ...(extra ? { extra } : {}),
      };
      if (!(await accounts.applyHealth(tenantId, before, record, statusDetail, trx)))
        return undefined;
      // A check that simulated every bundle proves the complete ones (so a later removal is told
      // apart as trimmed) and says which granted actions are gone; one that did not decides nothing.
      let permissions = before.permissions;
      if (!record.stale && permissionsDecided(record.checks)) {
        const seen = permissionsAfterCheck(before.permissions, before.bundles, record.findings);
        const grantedAt = before.permissions.grantedAt;
        if (
          before.permissions.outdatedSince !== null &&
          checkConfirmsCatalog(
            before.permissions.changes,
            before.bundles,
            wantedBundles(deps.catalog, before),
            record.findings,
          )
        ) {
          // "The next health check confirms it": the account holds what the catalog asks now, so
          // that is its grant, proven by this check, and it is no longer outdated.
          const granted = withVerification(
            grantsOf(deps.catalog, before.bundles, principalOf(before.method)),
            record.findings,
            true,
          );
          await accounts.recordGrants(tenantId, before.id, { granted, at }, trx);
          permissions = {
            ...permissions,
            granted,
            grantedAt: at,
            outdatedSince: null,
            changes: [],
            trimmed: [],
          };
        } else if (
          seen.changed &&
          (await accounts.setCheckedPermissions(tenantId, before.id, { ...seen, grantedAt }, trx))
        )
          permissions = { ...permissions, granted: seen.granted, trimmed: seen.trimmed };
      }
      if (options.readBack) return accounts.find(tenantId, before.id, trx);
      return record.stale
        ? { ...before, staleSince: before.staleSince ?? at }
        : {
            ...before,
            status: record.status,
            statusDetail,
            lastCheckedAt: at,
            staleSince: null,
            permissions,
            ...(record.changed ? { updatedAt: at } : {}),
          };
    },

    /** Calls `listener` with the id of every account changed or deleted through this service. */
    onAccountChange(listener: (accountId: string) => void): void {
      changeListeners.add(listener);
    },

    async update(caller: Caller, id: string, input: UpdateAccountInput): Promise<Account> {
      const account = await findAccount(caller.tenantId, id);
      // Every member of an organization has its permissions: its StackSet gives them to each role.
      if (account.organizationId && (input.bundles !== undefined || input.regions !== undefined))
        throw managedByOrganization(
          account.organizationId,
          input.bundles !== undefined ? 'bundles' : 'regions',
          'Change the organization’s permissions (PATCH the organization), then update its StackSet.',
        );
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
        // 'default' and 'all' follow the catalog as it changes (outdated-sweep.ts); a list does not.
        const choice = typeof input.bundles === 'string' ? input.bundles : 'custom';
        if (input.bundles !== undefined && choice !== account.bundleChoice)
          changes.bundleChoice = choice;
      }
      const permissionsChanged = changes.bundles !== undefined || changes.regions !== undefined;
      let recheck: { report: ValidationReport; durationMs: number } | undefined;
      if (permissionsChanged) {
        // New permissions need the account to be checked again; the finding becomes its status
        // (degraded, with the missing actions, until the role or user is given them).
        const credentials = await stored.storedCredentialsOf(account);
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
        ['name', 'description', 'bundles', 'regions', 'bundleChoice'].includes(k),
      );
      if (changed.length === 0) return account;
      await inTransaction(changes.name, async (trx) => {
        await accounts.update(caller.tenantId, id, changes, trx);
        const granted = account.permissions.granted;
        if (granted && (changes.bundles || changes.bundleChoice)) {
          // What the role must now gain or lose, against what it was granted (the start-up sweep
          // compares the same way); an account with no grant yet gets one from that sweep.
          const wanted = wantedBundles(deps.catalog, {
            partition: account.partition,
            bundles: changes.bundles ?? account.bundles,
            bundleChoice: changes.bundleChoice ?? account.bundleChoice,
          });
          await accounts.setPermissionState(
            caller.tenantId,
            id,
            {
              changes: diffGrants(
                granted,
                grantsOf(deps.catalog, wanted, principalOf(account.method)),
              ),
              outdatedSince: now(),
            },
            trx,
          );
        }
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
      options: {
        /**
         * Run inside the replacement's transaction, last: a throw keeps the old credentials (a fix
         * session that ended while AWS validated the new ones must not change the account).
         */
        inTransaction?: (account: Account, trx: Kysely<Database>) => Promise<void>;
      } = {},
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
      } else if (input.method === 'oidc_role') {
        if (!account.connectionId)
          throw new Error(`keyless role account ${account.id} has no connection`);
        credentials = {
          method: 'oidc_role',
          partition: account.partition,
          roleArn: input.roleArn,
          tenantId: account.tenantId,
          connectionId: account.connectionId,
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
      const report = await validateCredentials(deps, credentials, recheckOptionsOf(account));
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
          ? stored.sealSecret(caller.tenantId, id, validated.secretAccessKey)
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
            principalArn: validated.method === 'access_keys' ? identity.arn : validated.roleArn,
            ...(validated.method === 'access_keys'
              ? { accessKeyId: validated.accessKeyId }
              : { roleArn: validated.roleArn }),
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
          validated.method !== 'access_keys'
            ? {
                method: validated.method,
                previousRoleArn: account.roleArn,
                roleArn: validated.roleArn,
              }
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
        if (rotated && options.inTransaction) await options.inTransaction(rotated, trx);
      });
      announceChange(id);
      return findAccount(caller.tenantId, id);
    },

    /** Deletes the account and purges its secret; the audit log keeps what happened. */
    async remove(caller: Caller, id: string): Promise<void> {
      const account = await findAccount(caller.tenantId, id);
      // Its organization would connect it again at the next report: the rules say which members
      // Onramp connects, and the organization's deletion removes them all.
      if (account.organizationId)
        throw managedByOrganization(
          account.organizationId,
          'id',
          'Exclude it with the organization’s rules (its checks stop), or delete the organization.',
        );
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

    // ---- for the organizations feature ---------------------------------------------------------
    // Member accounts of an organization change with it, in the organization's own transaction.

    /** The ids of an organization's member accounts. */
    idsOfOrganization(
      tenantId: string,
      organizationId: string,
      trx?: Kysely<Database>,
    ): Promise<string[]> {
      return accounts.idsOfOrganization(tenantId, organizationId, trx);
    },

    /**
     * Pauses health checks of member accounts the rules exclude or that left the organization
     * (`reason`), or resumes them (null). Returns the accounts whose pause changed.
     */
    async setPaused(
      tenantId: string,
      accountIds: readonly string[],
      reason: 'organization_excluded' | 'organization_left' | null,
      trx?: Kysely<Database>,
    ): Promise<string[]> {
      const changed = await accounts.setPaused(tenantId, accountIds, reason, trx);
      for (const id of changed) announceChange(id);
      return changed;
    },

    /**
     * An organization's permissions changed: its member accounts get the new selection without
     * asking AWS (their roles change only when the tenant updates the StackSet), so they show as
     * outdated with what to add or remove, and their connections' templates follow. Each account's
     * change is audited and is an `account.updated` event.
     */
    async applyOrganizationSelection(
      caller: Caller,
      accountIds: readonly string[],
      selection: { bundles: string[]; regions: string[] },
      trx: Kysely<Database>,
    ): Promise<number> {
      let changedCount = 0;
      for (const id of accountIds) {
        const account = await accounts.find(caller.tenantId, id, trx);
        if (!account) continue;
        const changes: AccountChanges = {};
        if (!sameList(selection.bundles, account.bundles)) changes.bundles = selection.bundles;
        if (!sameList(selection.regions, account.regions)) changes.regions = selection.regions;
        if (account.bundleChoice !== 'custom') changes.bundleChoice = 'custom';
        if (changes.bundles === undefined && changes.regions === undefined) continue;
        changedCount += 1;
        await accounts.update(caller.tenantId, id, changes, trx);
        const granted = account.permissions.granted;
        if (granted) {
          await accounts.setPermissionState(
            caller.tenantId,
            id,
            {
              changes: diffGrants(
                granted,
                grantsOf(deps.catalog, selection.bundles, principalOf(account.method)),
              ),
              outdatedSince: now(),
            },
            trx,
          );
        }
        if (account.connectionId)
          await deps.connections.updateSelection(
            caller.tenantId,
            account.connectionId,
            selection,
            trx,
          );
        await audit(
          caller,
          'account.updated',
          { type: 'account', id },
          {
            changed: Object.keys(changes).filter((k) => k !== 'bundleChoice'),
            name: account.name,
            organizationId: account.organizationId,
            bundles: selection.bundles,
            regions: selection.regions,
          },
          trx,
        );
        const updated = await accounts.find(caller.tenantId, id, trx);
        if (updated) await publish('account.updated', updated, trx, account.status);
      }
      return changedCount;
    },

    /**
     * Deletes an organization's member accounts and purges their secrets, in the organization's
     * deletion's transaction; each is audited and an `account.deleted` event, as a deletion by hand.
     * Their connections are the organization's and go with it. Returns the ids deleted: the caller
     * tells `accountsChanged` once its transaction is committed.
     */
    async removeOfOrganization(
      caller: Caller,
      organizationId: string,
      trx: Kysely<Database>,
    ): Promise<string[]> {
      const ids = await accounts.idsOfOrganization(caller.tenantId, organizationId, trx);
      for (const id of ids) {
        const account = await accounts.find(caller.tenantId, id, trx);
        if (!account || !(await accounts.delete(caller.tenantId, id, trx))) continue;
        await accounts.deleteSecrets(caller.tenantId, id, trx);
        await audit(
          caller,
          'account.deleted',
          { type: 'account', id },
          { ...describeAccount(account), organizationId },
          trx,
        );
        await publish('account.deleted', account, trx);
      }
      return ids;
    },

    /** Tells the caches of accounts changed in a caller's transaction, once it is committed. */
    accountsChanged(ids: readonly string[]): void {
      for (const id of ids) announceChange(id);
    },

    /**
     * What a health check validates (features/health): the account's stored credentials, its AWS
     * account, and its bundles and regions, as at connect time. undefined when its credentials are gone.
     */
    async checkInputOf(
      account: Account,
    ): Promise<{ credentials: CredentialsInput; options: ValidationOptions } | undefined> {
      const credentials = await stored.storedCredentialsOf(account);
      return credentials && { credentials, options: recheckOptionsOf(account) };
    },

    /**
     * The stored keys of an access-key account, opened. For Onramp's own use (vending credentials);
     * no route returns them.
     */
    readAccessKeys: stored.readAccessKeys,
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
  // Only permissions missing: the findings, and that the account may be saved degraded ("Save anyway").
  const savableDegraded = report.proven && report.status === 'degraded';
  return new AppError(
    'validation_failed',
    detail,
    report.errors,
    {},
    {
      checks: report.checks,
      ...(savableDegraded ? { findings: report.findings, savableDegraded } : {}),
    },
  );
}

/**
 * A role input must match how its connection's role trusts Onramp: an external-ID role cannot be
 * connected as keyless, nor a keyless role with an external ID.
 */
function connectionMethodMismatch(connection: Connection, given: AccountMethod): AppError {
  const message = `The connection ${connection.id} sets up ${describeMethod(connection.method)}, not ${describeMethod(given)}.`;
  return new AppError('validation_failed', message, [
    {
      field: 'method',
      code: 'method_mismatch',
      message,
      hint: `Send "method": "${connection.method}" for this connection, or create a connection with "method": "${given}" and deploy its template.`,
    },
  ]);
}

/** 409: a member account of an organization; what the organization decides, it changes. */
function managedByOrganization(organizationId: string, field: string, hint: string): AppError {
  const message = `This account is a member of organization ${organizationId}, which manages it.`;
  return new AppError('conflict', message, [
    { field, code: 'managed_by_organization', message, hint },
  ]);
}
