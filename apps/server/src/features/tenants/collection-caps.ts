import { type Kysely, sql, type Transaction } from 'kysely';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import { AppError, notFound } from '../../http/problems.ts';
import type { TenantLimits } from './tenants-repository.ts';

/**
 * How many of each collection a tenant (or the operator) may have: nothing a caller can create grows
 * without bound. The server's defaults come from its configuration; a tenant's own limits replace them.
 */
export interface CollectionCaps {
  /** Connections not yet connected to an account (connected ones are bounded by the accounts). */
  pendingConnections: number;
  /** Webhook endpoints of a tenant, and the operator's own. */
  webhooks: number;
  /** Live API tokens (neither revoked nor expired) of a tenant, and the operator's own. */
  tokens: number;
  /** Users of a tenant. */
  users: number;
  /** Tenants of the whole service. */
  tenants: number;
  /** Connected AWS organizations of a tenant (each may hold thousands of member accounts). */
  organizations: number;
}

export const DEFAULT_COLLECTION_CAPS: CollectionCaps = {
  pendingConnections: 100,
  webhooks: 20,
  tokens: 100,
  users: 1000,
  tenants: 10_000,
  organizations: 20,
};

export type CappedCollection = keyof CollectionCaps | 'accounts';

/** The tenant limit (or, for the operator's collections, the configuration) that sets each cap. */
const LIMIT_NAMES = {
  accounts: 'maxAccounts',
  pendingConnections: 'maxPendingConnections',
  webhooks: 'maxWebhooks',
  tokens: 'maxTokens',
  users: 'maxUsers',
  tenants: 'maxTenants',
  organizations: 'maxOrganizations',
} as const;

const DESCRIPTIONS: Record<CappedCollection, { noun: string; field: string; hint: string }> = {
  accounts: {
    noun: 'accounts',
    field: 'accounts',
    hint: 'Delete an account you no longer use, or ask the operator to raise maxAccounts.',
  },
  pendingConnections: {
    noun: 'pending connections',
    field: 'connections',
    hint: 'Delete pending connections you no longer need (or connect them), or ask the operator to raise maxPendingConnections.',
  },
  webhooks: {
    noun: 'webhook endpoints',
    field: 'webhooks',
    hint: 'Delete endpoints you no longer use, or ask the operator to raise maxWebhooks.',
  },
  tokens: {
    noun: 'live API tokens',
    field: 'tokens',
    hint: 'Revoke tokens you no longer use, or ask the operator to raise maxTokens.',
  },
  users: {
    noun: 'users',
    field: 'users',
    hint: 'Remove users who no longer need access, or ask the operator to raise maxUsers.',
  },
  organizations: {
    noun: 'organizations',
    field: 'organizations',
    hint: 'Delete an organization you no longer use, or ask the operator to raise maxOrganizations.',
  },
  tenants: {
    noun: 'tenants',
    field: 'tenants',
    hint: 'Delete tenants no longer in use, or raise ONRAMP_MAX_TENANTS.',
  },
};

/**
 * 422 `limit_reached`: which collection is full, its cap and the limit that sets it (as extension
 * members `limit` and `cap`), and what to do.
 */
export function capReached(
  collection: CappedCollection,
  cap: number,
  owner: 'tenant' | 'operator',
): AppError {
  const { noun, field, hint } = DESCRIPTIONS[collection];
  const limit = LIMIT_NAMES[collection];
  const whose = owner === 'tenant' ? 'This tenant' : 'The operator';
  const message = `${whose} may have at most ${cap} ${noun}.`;
  return new AppError(
    'limit_reached',
    `${message} (${owner === 'tenant' ? 'tenant limit' : 'server limit'}: ${limit})`,
    [{ field, code: 'limit_reached', message, hint }],
    {},
    { limit, cap },
  );
}

/** The cap of a collection for a tenant: its own limit when set, else the server's. */
export function capFor(
  collection: Exclude<keyof CollectionCaps, 'tenants'>,
  limits: TenantLimits | undefined,
  caps: CollectionCaps,
): number {
  const own = limits?.[LIMIT_NAMES[collection]];
  return own ?? caps[collection];
}

/** The server's caps: its configuration over the defaults. */
export function collectionCapsOf(configured: Partial<CollectionCaps> | undefined): CollectionCaps {
  return { ...DEFAULT_COLLECTION_CAPS, ...configured };
}

/** PostgreSQL advisory lock key of the operator's own collections (no tenant row to lock). */
const OPERATOR_LOCK_KEY = 0x6f6e7270; // "onrp"

/**
 * Makes a count-then-insert on an owner's collections atomic: the first statement of the transaction,
 * it holds every other such transaction of the same owner until this one ends, so two requests cannot
 * both count one below the cap and both insert.
 *
 * PostgreSQL locks the tenant's row (`FOR NO KEY UPDATE`: it serialises the checkers without blocking
 * inserts that merely reference the tenant), or an advisory lock for the operator's collections; under
 * READ COMMITTED the count that follows sees every row the previous holder committed. SQLite has one
 * writer at a time: a write as the transaction's first statement takes that lock at once (waiting for
 * it with the busy timeout), where a read first would take a snapshot that a concurrent writer could
 * make stale before this transaction's own insert.
 *
 * Returns the tenant's limits as read under the lock; 404 when the tenant no longer exists.
 */
export async function lockCollections(
  trx: Kysely<Database>,
  dialect: Dialect,
  tenantId: string | null,
): Promise<TenantLimits> {
  if (tenantId === null) {
    if (dialect === 'postgres')
      await sql`select pg_advisory_xact_lock(${OPERATOR_LOCK_KEY})`.execute(trx);
    else await trx.updateTable('settings').set({ key: sql`key` }).where('key', '=', '').execute();
    return {};
  }
  let row: { limits: string } | undefined;
  if (dialect === 'postgres') {
    row = await trx
      .selectFrom('tenants')
      .select('limits')
      .where('id', '=', tenantId)
      .forNoKeyUpdate()
      .executeTakeFirst();
  } else {
    await trx
      .updateTable('tenants')
      .set({ updated_at: sql`updated_at` })
      .where('id', '=', tenantId)
      .execute();
    row = await trx
      .selectFrom('tenants')
      .select('limits')
      .where('id', '=', tenantId)
      .executeTakeFirst();
  }
  if (!row) throw notFound('This tenant');
  return JSON.parse(row.limits) as TenantLimits;
}

/**
 * Inserts into a capped collection: in one transaction, locks the owner's collections, counts, and
 * refuses with `capReached` at the cap, or runs `insert` (and whatever else the caller writes with it).
 */
export async function insertWithinCap<T>(
  deps: { db: Kysely<Database>; dialect: Dialect; collectionCaps?: Partial<CollectionCaps> },
  target: {
    collection: Exclude<keyof CollectionCaps, 'tenants'> | 'tenants';
    /** The tenant whose collection it is; null for the operator's own (and for tenants). */
    tenantId: string | null;
    count: (trx: Transaction<Database>) => Promise<number>;
  },
  insert: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  const caps = collectionCapsOf(deps.collectionCaps);
  return deps.db.transaction().execute(async (trx) => {
    const limits = await lockCollections(trx, deps.dialect, target.tenantId);
    const cap =
      target.collection === 'tenants' || target.tenantId === null
        ? caps[target.collection]
        : capFor(target.collection, limits, caps);
    if ((await target.count(trx)) >= cap)
      throw capReached(target.collection, cap, target.tenantId === null ? 'operator' : 'tenant');
    return insert(trx);
  });
}
