import type { PartitionId } from '@onramp/core';
import { CompiledQuery, type Kysely, type RawBuilder, sql } from 'kysely';
import type { SealedSecret } from '../../adapters/crypto/envelope.ts';
import type { Dialect } from '../../adapters/db/dialect.ts';
import type { AccountsTable, Database } from '../../adapters/db/schema.ts';
import { createSealedSecrets } from '../../adapters/db/sealed-secrets.ts';
import type {
  Account,
  AccountCheckRecord,
  AccountMethod,
  AccountPermissionState,
  AccountStatus,
  GrantedBundle,
  PermissionChange,
  RoleOrigin,
  StatusDetail,
  TrimmedBundle,
} from '../../domain/account.ts';
import { newId } from '../../ids.ts';

export type NewAccount = Omit<
  Account,
  | 'id'
  | 'tenantId'
  | 'createdAt'
  | 'updatedAt'
  | 'staleSince'
  | 'roleOrigin'
  | 'permissions'
  | 'bundleChoice'
  | 'organizationId'
  | 'pausedReason'
> & {
  roleOrigin?: RoleOrigin | null;
  bundleChoice?: Account['bundleChoice'];
  /** What it is granted as it is connected (permission-grants.ts); recorded with the row. */
  granted?: Record<string, GrantedBundle>;
  /** The organization it is a member account of (features/organizations); null when alone. */
  organizationId?: string | null;
};

export type AccountChanges = Partial<
  Pick<
    Account,
    | 'name'
    | 'description'
    | 'bundles'
    | 'regions'
    | 'principalArn'
    | 'roleArn'
    | 'externalId'
    | 'accessKeyId'
    | 'status'
    | 'statusDetail'
    | 'lastCheckedAt'
    | 'staleSince'
    | 'bundleChoice'
  >
>;

/**
 * What the catalog sweep (outdated-sweep.ts) writes to one account, and what it read, so the write
 * holds only if nothing changed meanwhile (another replica's sweep, a PATCH, a recorded grant).
 */
export interface SweptAccount {
  id: string;
  /** Recorded as the account's grant (accounts with none yet); null leaves the grant as it is. */
  granted: string | null;
  grantedAt: string | null;
  changes: string | null;
  outdatedSince: string | null;
  read: {
    grantedAt: string | null;
    changes: string | null;
    bundles: string;
    bundleChoice: string | null;
  };
}

/** The fleet at a glance (GET /v1/accounts/summary), counted in the database. */
export interface AccountsSummary {
  groups: {
    partition: string;
    status: AccountStatus;
    outdated: boolean;
    trimmed: boolean;
    n: number;
  }[];
  bundles: { bundle: string; n: number }[];
  outdatedBundles: { bundle: string; n: number }[];
  missing: { bundle: string; action: string; n: number }[];
}

export interface AccountFilters {
  partition?: PartitionId;
  method?: AccountMethod;
  status?: AccountStatus;
  /** true: only accounts the catalog has changed since they were granted; false: only the others. */
  outdated?: boolean;
  awsAccountId?: string;
  /** Contained in the name, the description or the AWS account ID, ignoring case. */
  q?: string;
  /** Only ids after this one: the cursor of the previous page. */
  after?: string;
  limit: number;
}

/** The field of the secrets table that holds an account's secret access key. */
export const SECRET_ACCESS_KEY_FIELD = 'secretAccessKey';

const isStrings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'string');
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isGranted = (v: unknown): v is NonNullable<AccountPermissionState['granted']> =>
  isObject(v) &&
  Object.values(v).every(
    (g) =>
      isObject(g) &&
      typeof g.hash === 'string' &&
      isStrings(g.actions) &&
      typeof g.verified === 'boolean',
  );
const isChanges = (v: unknown): v is AccountPermissionState['changes'] =>
  Array.isArray(v) &&
  v.every(
    (c) => isObject(c) && typeof c.bundle === 'string' && isStrings(c.add) && isStrings(c.remove),
  );
const isTrimmed = (v: unknown): v is AccountPermissionState['trimmed'] =>
  Array.isArray(v) &&
  v.every((t) => isObject(t) && typeof t.bundle === 'string' && isStrings(t.actions));
const isTime = (v: string | null): boolean => v === null || !Number.isNaN(Date.parse(v));

/**
 * An account row as the domain has it, and the columns whose stored value did not have its shape (a
 * row edited by hand, a bad restore): those read as empty (no bundles, no grant, no changes) so one
 * such row does not make every list, summary or sweep that reads it fail. The caller says so.
 */
export function readAccountRow(row: AccountsTable): { account: Account; corrupt: string[] } {
  const corrupt: string[] = [];
  function json<T>(
    column: string,
    text: string | null,
    valid: (v: unknown) => v is T,
    empty: T,
  ): T {
    if (text === null || text === undefined) return empty;
    try {
      const value: unknown = JSON.parse(text);
      if (valid(value)) return value;
    } catch {
      // Not JSON at all: as corrupt as the wrong shape.
    }
    corrupt.push(column);
    return empty;
  }
  function time(column: string, value: string | null): string | null {
    if (isTime(value)) return value;
    corrupt.push(column);
    return null;
  }
  const account: Account = {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    description: row.description,
    partition: row.partition as PartitionId,
    method: row.method,
    awsAccountId: row.aws_account_id,
    principalArn: row.principal_arn,
    roleArn: row.role_arn,
    externalId: row.external_id,
    connectionId: row.connection_id,
    accessKeyId: row.access_key_id,
    bundles: json('bundles', row.bundles, isStrings, []),
    regions: json('regions', row.regions, isStrings, []),
    status: row.status,
    statusDetail: parseStatusDetail(json('status_detail', row.status_detail, isObject, {})),
    lastCheckedAt: row.last_checked_at,
    staleSince: row.stale_since,
    roleOrigin: (row.role_origin as RoleOrigin | null) ?? null,
    permissions: {
      granted: json('granted_permissions', row.granted_permissions ?? null, isGranted, null),
      grantedAt: time('granted_at', row.granted_at ?? null),
      outdatedSince: time('outdated_since', row.outdated_since ?? null),
      changes: json('permission_changes', row.permission_changes ?? null, isChanges, []),
      trimmed: json('trimmed_permissions', row.trimmed_permissions ?? null, isTrimmed, []),
    },
    bundleChoice: (row.bundle_choice as Account['bundleChoice'] | null) ?? 'custom',
    organizationId: row.organization_id ?? null,
    pausedReason: row.paused_reason ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  return { account, corrupt };
}

/**
 * Where a corrupt row is reported: a process warning (the repository has no logger of its own),
 * naming the account and its columns, never their values.
 */
let warnCorrupt = (details: { accountId: string; tenantId: string; columns: string[] }) => {
  process.emitWarning(
    `account ${details.accountId} (tenant ${details.tenantId}) has stored values of the wrong shape in ${details.columns.join(', ')}; they read as empty`,
    { code: 'ONRAMP_CORRUPT_ROW' },
  );
};

/** Replaces how corrupt rows are reported (tests, or a process with a logger). */
export function onCorruptAccountRow(warn: typeof warnCorrupt): typeof warnCorrupt {
  const previous = warnCorrupt;
  warnCorrupt = warn;
  return previous;
}

function toAccount(row: AccountsTable): Account {
  const { account, corrupt } = readAccountRow(row);
  if (corrupt.length) warnCorrupt({ accountId: row.id, tenantId: row.tenant_id, columns: corrupt });
  return account;
}

function parseStatusDetail(parsed: Partial<StatusDetail>): StatusDetail {
  return {
    checks: Array.isArray(parsed.checks) ? parsed.checks : [],
    errors: Array.isArray(parsed.errors) ? parsed.errors : [],
    findings: Array.isArray(parsed.findings) ? parsed.findings : [],
    ...(parsed.extra ? { extra: parsed.extra } : {}),
  };
}

/**
 * What an account signs in with, as the unique index of a tenant's accounts sees it: the role ARN,
 * or the access key ID.
 */
export function credentialKeyOf(
  account: Pick<Account, 'method' | 'roleArn' | 'accessKeyId'>,
): string | null {
  // A role is one principal however Onramp assumes it: connected once, keyless or not.
  if (account.method !== 'access_keys') return account.roleArn ? `role:${account.roleArn}` : null;
  return account.accessKeyId ? `key:${account.accessKeyId}` : null;
}

/** `%`, `_` and the escape character itself match literally in a LIKE pattern escaped with `!`. */
function likeContains(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/**
 * Accounts of one tenant and their sealed secrets. Every method takes the tenant first and filters by
 * it; writes take an optional executor so the service can group them in one transaction.
 */
export function createAccountsRepository(db: Kysely<Database>, clock: () => Date) {
  const secrets = createSealedSecrets(db, clock);
  return {
    async create(
      tenantId: string,
      input: NewAccount & { id?: string },
      executor: Kysely<Database> = db,
    ): Promise<Account> {
      const now = clock().toISOString();
      const row: AccountsTable = {
        id: input.id ?? newId('account'),
        tenant_id: tenantId,
        name: input.name,
        description: input.description,
        partition: input.partition,
        method: input.method,
        aws_account_id: input.awsAccountId,
        principal_arn: input.principalArn,
        role_arn: input.roleArn,
        external_id: input.externalId,
        connection_id: input.connectionId,
        access_key_id: input.accessKeyId,
        credential_key: credentialKeyOf(input),
        bundles: JSON.stringify(input.bundles),
        regions: JSON.stringify(input.regions),
        status: input.status,
        status_detail: JSON.stringify(input.statusDetail),
        last_checked_at: input.lastCheckedAt,
        granted_permissions: input.granted ? JSON.stringify(input.granted) : null,
        granted_at: input.granted ? now : null,
        outdated_since: null,
        permission_changes: null,
        trimmed_permissions: null,
        bundle_choice: input.bundleChoice ?? 'custom',
        stale_since: null,
        role_origin: input.roleOrigin ?? null,
        organization_id: input.organizationId ?? null,
        paused_reason: null,
        created_at: now,
        updated_at: now,
      };
      await executor.insertInto('accounts').values(row).execute();
      return toAccount(row);
    },

    async find(
      tenantId: string,
      id: string,
      executor: Kysely<Database> = db,
    ): Promise<Account | undefined> {
      const row = await executor
        .selectFrom('accounts')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toAccount(row) : undefined;
    },

    async nameExists(
      tenantId: string,
      name: string,
      exceptId?: string,
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      let query = executor
        .selectFrom('accounts')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('name', '=', name);
      if (exceptId) query = query.where('id', '!=', exceptId);
      return Boolean(await query.executeTakeFirst());
    },

    /**
     * The account of the tenant that signs in with this role ARN or access key ID, if any (an
     * account that shared it before 0010 may be found through its twin only).
     */
    async findByCredential(
      tenantId: string,
      credential: Pick<Account, 'method' | 'roleArn' | 'accessKeyId'>,
      exceptId?: string,
      executor: Kysely<Database> = db,
    ): Promise<Pick<Account, 'id' | 'name'> | undefined> {
      const key = credentialKeyOf(credential);
      if (!key) return undefined;
      let query = executor
        .selectFrom('accounts')
        .select(['id', 'name'])
        .where('tenant_id', '=', tenantId)
        .where('credential_key', '=', key);
      if (exceptId) query = query.where('id', '!=', exceptId);
      return query.executeTakeFirst();
    },

    /** The tenant's other accounts in this AWS account (another principal in the same account). */
    async listInAwsAccount(
      tenantId: string,
      awsAccountId: string,
      except: { id?: string; credentialKey?: string | null } = {},
    ): Promise<Pick<Account, 'id' | 'name'>[]> {
      let query = db
        .selectFrom('accounts')
        .select(['id', 'name'])
        .where('tenant_id', '=', tenantId)
        .where('aws_account_id', '=', awsAccountId)
        .orderBy('id', 'asc')
        .limit(10);
      if (except.id) query = query.where('id', '!=', except.id);
      const key = except.credentialKey;
      if (key)
        query = query.where((eb) =>
          eb.or([eb('credential_key', 'is', null), eb('credential_key', '!=', key)]),
        );
      return query.execute();
    },

    async count(tenantId: string, executor: Kysely<Database> = db): Promise<number> {
      const row = await executor
        .selectFrom('accounts')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    /** One page by id ascending; `more` says whether another page follows. */
    async list(
      tenantId: string,
      filters: AccountFilters,
    ): Promise<{ accounts: Account[]; more: boolean }> {
      let query = db
        .selectFrom('accounts')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('id', 'asc')
        .limit(filters.limit + 1);
      if (filters.partition) query = query.where('partition', '=', filters.partition);
      if (filters.method) query = query.where('method', '=', filters.method);
      if (filters.status) query = query.where('status', '=', filters.status);
      if (filters.outdated !== undefined)
        query = query.where('outdated_since', filters.outdated ? 'is not' : 'is', null);
      if (filters.awsAccountId) query = query.where('aws_account_id', '=', filters.awsAccountId);
      if (filters.after) query = query.where('id', '>', filters.after);
      if (filters.q) {
        // lower() on both sides, in the database: each dialect folds case the same way for the column
        // and the pattern (SQLite folds ASCII only, PostgreSQL all of Unicode), and LIKE … ESCAPE is
        // the same in both.
        const pattern = likeContains(filters.q);
        // The AWS console writes account IDs as 1234-5678-9012.
        const digits = /^[\d\s-]*\d[\d\s-]*$/.test(filters.q)
          ? filters.q.replace(/[\s-]/g, '')
          : filters.q;
        query = query.where((eb) =>
          eb.or([
            eb(sql`lower(name)`, 'like', sql`lower(${pattern}) escape '!'`),
            eb(sql`lower(description)`, 'like', sql`lower(${pattern}) escape '!'`),
            // What a tenant copies from the AWS console, or part of it.
            eb(sql`aws_account_id`, 'like', sql`${likeContains(digits)} escape '!'`),
          ]),
        );
      }
      const rows = await query.execute();
      return {
        accounts: rows.slice(0, filters.limit).map(toAccount),
        more: rows.length > filters.limit,
      };
    },

    async update(
      tenantId: string,
      id: string,
      changes: AccountChanges,
      executor: Kysely<Database> = db,
    ): Promise<void> {
      const set: Partial<AccountsTable> = { updated_at: clock().toISOString() };
      if (changes.name !== undefined) set.name = changes.name;
      if (changes.description !== undefined) set.description = changes.description;
      if (changes.bundles !== undefined) set.bundles = JSON.stringify(changes.bundles);
      if (changes.regions !== undefined) set.regions = JSON.stringify(changes.regions);
      if (changes.principalArn !== undefined) set.principal_arn = changes.principalArn;
      if (changes.roleArn !== undefined) {
        set.role_arn = changes.roleArn;
        set.credential_key = credentialKeyOf({
          method: 'role',
          roleArn: changes.roleArn,
          accessKeyId: null,
        });
      }
      if (changes.accessKeyId !== undefined) {
        set.access_key_id = changes.accessKeyId;
        set.credential_key = credentialKeyOf({
          method: 'access_keys',
          roleArn: null,
          accessKeyId: changes.accessKeyId,
        });
      }
      if (changes.externalId !== undefined) set.external_id = changes.externalId;
      if (changes.status !== undefined) set.status = changes.status;
      if (changes.statusDetail !== undefined)
        set.status_detail = JSON.stringify(changes.statusDetail);
      if (changes.lastCheckedAt !== undefined) set.last_checked_at = changes.lastCheckedAt;
      if (changes.staleSince !== undefined) set.stale_since = changes.staleSince;
      if (changes.bundleChoice !== undefined) set.bundle_choice = changes.bundleChoice;
      await executor
        .updateTable('accounts')
        .set(set)
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
    },

    async delete(tenantId: string, id: string, executor: Kysely<Database> = db): Promise<boolean> {
      const result = await executor
        .deleteFrom('accounts')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** Stores a sealed secret of a record, replacing the one it had in that field. */
    putSecret(
      tenantId: string,
      ownerId: string,
      field: string,
      sealed: SealedSecret,
      executor: Kysely<Database> = db,
    ): Promise<void> {
      return secrets.put({ tenantId, ownerId, field }, sealed, executor);
    },

    findSecret(
      tenantId: string,
      ownerId: string,
      field: string,
    ): Promise<SealedSecret | undefined> {
      return secrets.find({ tenantId, ownerId, field });
    },

    /**
     * A health check's outcome (features/health, through the accounts service): a stale check only
     * marks the account stale since when it first was; otherwise the status and its detail change,
     * and `updated_at` only when the status did. False when the account is gone.
     */
    async applyHealth(
      tenantId: string,
      before: Pick<Account, 'id' | 'staleSince'>,
      record: Pick<AccountCheckRecord, 'at' | 'stale' | 'status' | 'changed'>,
      statusDetail: StatusDetail,
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const at = record.at;
      const updated = await executor
        .updateTable('accounts')
        .set(
          record.stale
            ? { stale_since: before.staleSince ?? at }
            : {
                status: record.status,
                status_detail: JSON.stringify(statusDetail),
                last_checked_at: at,
                stale_since: null,
                ...(record.changed ? { updated_at: at } : {}),
              },
        )
        .where('tenant_id', '=', tenantId)
        .where('id', '=', before.id)
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) > 0;
    },

    /** The external ID Onramp uses, if it is still `from` (compare-and-set); false otherwise. */
    async switchExternalId(
      tenantId: string,
      id: string,
      change: { from: string | null; to: string },
      at: string,
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('accounts')
        .set({ external_id: change.to, updated_at: at })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('external_id', '=', change.from)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * What the account holds now, recorded after a check proved it (connect, a verified update): its
     * grants, and nothing outdated or trimmed any more. `bundleChoice` when the bundles were chosen again.
     */
    async recordGrants(
      tenantId: string,
      id: string,
      grants: { granted: Record<string, GrantedBundle>; at: string; trimmed?: TrimmedBundle[] },
      executor: Kysely<Database> = db,
    ): Promise<void> {
      await executor
        .updateTable('accounts')
        .set({
          granted_permissions: JSON.stringify(grants.granted),
          granted_at: grants.at,
          outdated_since: null,
          permission_changes: null,
          trimmed_permissions: grants.trimmed?.length ? JSON.stringify(grants.trimmed) : null,
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
    },

    /**
     * How the account compares with the catalog (`changes`, outdated since when, keeping an earlier
     * since) and with its last check (`trimmed`); each left as it is when not given.
     */
    async setPermissionState(
      tenantId: string,
      id: string,
      state: { changes?: PermissionChange[]; outdatedSince?: string; trimmed?: TrimmedBundle[] },
      executor: Kysely<Database> = db,
    ): Promise<void> {
      const set: Partial<AccountsTable> = {};
      if (state.changes !== undefined) {
        set.permission_changes = state.changes.length ? JSON.stringify(state.changes) : null;
        if (state.changes.length === 0) set.outdated_since = null;
      }
      if (state.trimmed !== undefined)
        set.trimmed_permissions = state.trimmed.length ? JSON.stringify(state.trimmed) : null;
      if (Object.keys(set).length > 0)
        await executor
          .updateTable('accounts')
          .set(set)
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .execute();
      if (state.changes?.length && state.outdatedSince)
        await executor
          .updateTable('accounts')
          .set({ outdated_since: state.outdatedSince })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .where('outdated_since', 'is', null)
          .execute();
    },

    /**
     * What a health check proved of the grants (bundles found complete become `verified`) and which
     * granted actions it found removed (`trimmed`), leaving outdated and its changes as they are.
     * Only while the grants are still those the check started from (`grantedAt`): an update recorded
     * meanwhile is newer than what this check knew. Returns whether it was written.
     */
    async setCheckedPermissions(
      tenantId: string,
      id: string,
      state: {
        granted: Record<string, GrantedBundle> | null;
        trimmed: TrimmedBundle[];
        grantedAt: string | null;
      },
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      let query = executor
        .updateTable('accounts')
        .set({
          ...(state.granted ? { granted_permissions: JSON.stringify(state.granted) } : {}),
          trimmed_permissions: state.trimmed.length ? JSON.stringify(state.trimmed) : null,
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id);
      query =
        state.grantedAt === null
          ? query.where('granted_at', 'is', null)
          : query.where('granted_at', '=', state.grantedAt);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * A page of every tenant's accounts by id (the catalog sweep at start-up, which compares each with
     * the catalog): the one read that crosses tenants, for a job that belongs to none.
     */
    async pageAllTenants(
      after: string | null,
      limit: number,
    ): Promise<{ account: Account; read: SweptAccount['read']; corrupt: string[] }[]> {
      let query = db.selectFrom('accounts').selectAll().orderBy('id', 'asc').limit(limit);
      if (after !== null) query = query.where('id', '>', after);
      // The sweep decides what to do with a corrupt row (it skips it): no warning here.
      return (await query.execute()).map((row) => ({
        ...readAccountRow(row),
        read: {
          grantedAt: row.granted_at,
          changes: row.permission_changes,
          bundles: row.bundles,
          bundleChoice: row.bundle_choice,
        },
      }));
    },

    /**
     * The sweep's writes for a page (one statement on PostgreSQL, one per row on SQLite, where that is
     * faster): each row changes only while what the sweep
     * read is still there (compare-and-set on the grant's time, the changes, the bundles and their
     * choice), so two replicas sweeping at once, or a PATCH meanwhile, never write twice or over a
     * newer state. Returns the ids written: only their events are published.
     */
    async applySweep(
      rows: readonly SweptAccount[],
      dialect: Dialect,
      executor: Kysely<Database> = db,
    ): Promise<string[]> {
      if (rows.length === 0) return [];
      if (dialect === 'sqlite') {
        // On SQLite (no round trips) one prepared statement per row runs about 5× faster than one
        // UPDATE … FROM (VALUES …) of 500 rows (measured on 10,000 accounts).
        // The statement is written once and run per row (its preparation kept by the driver).
        const update = `update accounts set
            granted_permissions = coalesce(?, granted_permissions), granted_at = coalesce(?, granted_at),
            permission_changes = ?, outdated_since = ?
          where id = ? and granted_at is ? and permission_changes is ? and bundles = ?
            and bundle_choice is ?
          returning id`;
        const written: string[] = [];
        for (const r of rows) {
          const result = await executor.executeQuery<{ id: string }>(
            CompiledQuery.raw(update, [
              r.granted,
              r.grantedAt,
              r.changes,
              r.outdatedSince,
              r.id,
              r.read.grantedAt,
              r.read.changes,
              r.read.bundles,
              r.read.bundleChoice,
            ]),
          );
          const row = result.rows[0];
          if (row) written.push(row.id);
        }
        return written;
      }
      // PostgreSQL: the rows as one JSON parameter, one statement and one round trip. JSON.stringify
      // is native, while nine text arrays were escaped element by element by the driver and parsed
      // back by the server: on 10,000 rows this takes about half the time.
      const result = await sql<{ id: string }>`
        update accounts set
          granted_permissions = coalesce(v.granted, accounts.granted_permissions),
          granted_at = coalesce(v.granted_at, accounts.granted_at),
          permission_changes = v.changes,
          outdated_since = v.outdated_since
        from json_to_recordset(${JSON.stringify(
          rows.map((r) => ({
            id: r.id,
            granted: r.granted,
            granted_at: r.grantedAt,
            changes: r.changes,
            outdated_since: r.outdatedSince,
            read_granted_at: r.read.grantedAt,
            read_changes: r.read.changes,
            read_bundles: r.read.bundles,
            read_bundle_choice: r.read.bundleChoice,
          })),
        )}::json) as v(id text, granted text, granted_at text, changes text, outdated_since text,
          read_granted_at text, read_changes text, read_bundles text, read_bundle_choice text)
        where accounts.id = v.id
          and accounts.granted_at is not distinct from v.read_granted_at
          and accounts.permission_changes is not distinct from v.read_changes
          and accounts.bundles = v.read_bundles
          and accounts.bundle_choice is not distinct from v.read_bundle_choice
        returning accounts.id`.execute(executor);
      return result.rows.map((r) => r.id);
    },

    /**
     * Counts for the summary: accounts by partition, status, outdated and trimmed; accounts per
     * bundle; outdated accounts per changed bundle; and per action to add, how many lack it. Bundles
     * and changes are JSON text: each engine has its own function to walk an array.
     */
    async summary(
      tenantId: string,
      filters: { partition?: PartitionId | undefined },
      dialect: Dialect,
    ): Promise<AccountsSummary> {
      const partition = filters.partition
        ? sql`and accounts.partition = ${filters.partition}`
        : sql``;
      // A stored value that is not an array (a row edited by hand, a bad restore) counts as an empty
      // one, as toAccount reads it, rather than failing the whole summary. PostgreSQL 15 has no
      // safe cast of text to JSON, so its text is only cast when it looks like an array.
      const arrayText = (text: RawBuilder<unknown>) =>
        dialect === 'postgres'
          ? sql`(case when ${text} ~ '^[[:space:]]*[[].*[]][[:space:]]*$' then (${text})::json else '[]'::json end)`
          : sql`(case when json_valid(${text}) and json_type(${text}) = 'array' then ${text} else '[]' end)`;
      const arrayJson = (json: RawBuilder<unknown>) =>
        dialect === 'postgres'
          ? sql`(case when json_typeof(${json}) = 'array' then ${json} else '[]'::json end)`
          : sql`(case when json_type(${json}) = 'array' then ${json} else '[]' end)`;
      // A from-item walking a JSON array as rows with a `value` column: SQLite's json_each names it
      // so itself; PostgreSQL's functions are named by the alias.
      const walk = (array: RawBuilder<unknown>, alias: string) =>
        dialect === 'postgres'
          ? sql`json_array_elements(${array}) as ${sql.raw(alias)}(value)`
          : sql`json_each(${array}) as ${sql.raw(alias)}`;
      const elements = (text: RawBuilder<unknown>, alias: string) => walk(arrayText(text), alias);
      // Only elements of the stored shape (a string, an object with a string `bundle`), and a string
      // element as text.
      const isText = (alias: string) =>
        dialect === 'postgres'
          ? sql`json_typeof(${sql.raw(alias)}.value) = 'string'`
          : sql`${sql.raw(alias)}.type = 'text'`;
      const bundleIsText =
        dialect === 'postgres'
          ? sql`json_typeof(c.value) = 'object' and json_typeof(c.value -> 'bundle') = 'string'`
          : sql`c.type = 'object' and json_type(c.value, '$.bundle') = 'text'`;
      const textOf = (alias: string) =>
        dialect === 'postgres'
          ? sql`(${sql.raw(alias)}.value #>> '{}')`
          : sql`${sql.raw(alias)}.value`;
      const [groups, bundles, outdatedBundles, missing] = await Promise.all([
        sql<{
          partition: string;
          status: AccountStatus;
          outdated: number;
          trimmed: number;
          n: number;
        }>`
          select partition, status,
            case when outdated_since is null then 0 else 1 end as outdated,
            case when trimmed_permissions is null then 0 else 1 end as trimmed,
            count(*) as n
          from accounts where tenant_id = ${tenantId} ${partition}
          group by 1, 2, 3, 4`.execute(db),
        sql<{ bundle: string; n: number }>`
          select ${textOf('b')} as bundle, count(*) as n
          from accounts, ${elements(sql`accounts.bundles`, 'b')}
          where tenant_id = ${tenantId} ${partition} and ${isText('b')}
          group by 1`.execute(db),
        sql<{ bundle: string; n: number }>`
          select c.value ->> 'bundle' as bundle, count(*) as n
          from accounts, ${elements(sql`accounts.permission_changes`, 'c')}
          where tenant_id = ${tenantId} and outdated_since is not null
            and permission_changes is not null ${partition}
            and ${bundleIsText}
          group by 1`.execute(db),
        sql<{ bundle: string; action: string; n: number }>`
          select c.value ->> 'bundle' as bundle, ${textOf('a')} as action, count(*) as n
          from accounts, ${elements(sql`accounts.permission_changes`, 'c')},
            ${walk(arrayJson(sql`c.value -> 'add'`), 'a')}
          where tenant_id = ${tenantId} and outdated_since is not null
            and permission_changes is not null ${partition}
            and ${bundleIsText} and ${isText('a')}
          group by 1, 2`.execute(db),
      ]);
      const count = (n: unknown) => Number(n);
      return {
        groups: groups.rows.map((r) => ({
          partition: r.partition,
          status: r.status,
          outdated: count(r.outdated) === 1,
          trimmed: count(r.trimmed) === 1,
          n: count(r.n),
        })),
        bundles: bundles.rows.map((r) => ({ bundle: r.bundle, n: count(r.n) })),
        outdatedBundles: outdatedBundles.rows.map((r) => ({ bundle: r.bundle, n: count(r.n) })),
        missing: missing.rows.map((r) => ({ bundle: r.bundle, action: r.action, n: count(r.n) })),
      };
    },

    /** The ids of an organization's member accounts (features/organizations), oldest first. */
    async idsOfOrganization(
      tenantId: string,
      organizationId: string,
      executor: Kysely<Database> = db,
    ): Promise<string[]> {
      const rows = await executor
        .selectFrom('accounts')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('organization_id', '=', organizationId)
        .orderBy('id', 'asc')
        .execute();
      return rows.map((r) => r.id);
    },

    /**
     * Pauses the health checks of these accounts (`reason`) or resumes them (null). A paused
     * account's schedule row goes: the scheduler claims nothing for it, and gives it a new row once
     * it is resumed (as for any account without one). Returns the ids whose pause changed.
     */
    async setPaused(
      tenantId: string,
      ids: readonly string[],
      reason: string | null,
      executor: Kysely<Database> = db,
    ): Promise<string[]> {
      const changed: string[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const part = ids.slice(i, i + 500);
        const rows = await executor
          .updateTable('accounts')
          .set({ paused_reason: reason })
          .where('tenant_id', '=', tenantId)
          .where('id', 'in', part)
          .where((eb) =>
            reason === null
              ? eb('paused_reason', 'is not', null)
              : eb.or([eb('paused_reason', 'is', null), eb('paused_reason', '!=', reason)]),
          )
          .returning('id')
          .execute();
        changed.push(...rows.map((r) => r.id));
        if (reason !== null)
          await executor
            .deleteFrom('health_schedule')
            .where('tenant_id', '=', tenantId)
            .where('account_id', 'in', part)
            .execute();
      }
      return changed;
    },

    /** Purges every secret of a record (all its fields). */
    deleteSecrets(
      tenantId: string,
      ownerId: string,
      executor: Kysely<Database> = db,
    ): Promise<void> {
      return secrets.deleteOwner(tenantId, ownerId, executor);
    },
  };
}

export type AccountsRepository = ReturnType<typeof createAccountsRepository>;
