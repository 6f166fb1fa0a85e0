import type { Kysely } from 'kysely';
import { hashToken, newSecretToken } from '../../adapters/crypto/secrets.ts';
import type { ApiTokensTable, Database } from '../../adapters/db/schema.ts';
import type { Role, Scope } from '../../domain/principal.ts';
import { newId } from '../../ids.ts';
import { createTtlCache } from '../../ttl-cache.ts';
import {
  cutToAncestors,
  effectiveScopes,
  isWithinRole,
  MAX_TOKEN_DEPTH,
  type TokenAncestor,
} from './token-rights.ts';

export interface ApiToken {
  id: string;
  tenantId: string | null;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  /** The token that made this one, or null for one made in a console session. */
  parentTokenId: string | null;
}

function toToken(row: ApiTokensTable): ApiToken {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    prefix: row.token_prefix,
    scopes: JSON.parse(row.scopes) as Scope[],
    createdBy: row.created_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    parentTokenId: row.parent_token_id,
  };
}

/**
 * The tokens above one, its parent first, as they stand now: one lookup by id each, at most
 * `MAX_TOKEN_DEPTH + 1` (one more than allowed, so that too deep a chain shows as such). With `lock`
 * (PostgreSQL), the parent's row is locked until the caller's transaction ends, so a revocation of
 * the parent either commits first (and the caller sees it) or waits and then finds the new child.
 */
export async function ancestorsOf(
  executor: Kysely<Database>,
  parentId: string | null,
  options: { lock?: boolean } = {},
): Promise<TokenAncestor[]> {
  const chain: TokenAncestor[] = [];
  let next = parentId;
  while (next !== null && chain.length <= MAX_TOKEN_DEPTH) {
    const query = executor
      .selectFrom('api_tokens')
      .select([
        'id',
        'tenant_id',
        'scopes',
        'created_by',
        'expires_at',
        'revoked_at',
        'parent_token_id',
      ])
      .where('id', '=', next);
    const row = await (options.lock && chain.length === 0
      ? query.forUpdate()
      : query
    ).executeTakeFirst();
    // A parent that is gone (deleted with its tenant) leaves its children nothing to stand on.
    if (!row) return [...chain, { ...GONE, id: next }];
    chain.push({
      id: row.id,
      tenantId: row.tenant_id,
      scopes: JSON.parse(row.scopes) as Scope[],
      createdBy: row.created_by,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at,
    });
    next = row.parent_token_id;
  }
  return chain;
}

/** Stands for a parent no longer in the database: revoked, for every rule that reads it. */
const GONE: Omit<TokenAncestor, 'id'> = {
  tenantId: null,
  scopes: [],
  createdBy: '',
  expiresAt: null,
  revokedAt: 'gone',
};

/** How many ids one `in (…)` binds, well under SQLite's and PostgreSQL's limits on parameters. */
const IN_SLICE = 500;

/**
 * Every token made, directly or not, by one of `ids` (revoked ones too, so the walk reaches past them
 * to any live token below), level by level, at most `MAX_TOKEN_DEPTH` levels down.
 */
async function descendantsOf(
  executor: Kysely<Database>,
  ids: readonly string[],
): Promise<ApiTokensTable[]> {
  const found: ApiTokensTable[] = [];
  let frontier = [...ids];
  for (let depth = 0; depth < MAX_TOKEN_DEPTH && frontier.length > 0; depth += 1) {
    const level: ApiTokensTable[] = [];
    // In slices: a long-lived parent may have made thousands of (since revoked) tokens, more than
    // one statement may bind.
    for (let start = 0; start < frontier.length; start += IN_SLICE) {
      const rows = await executor
        .selectFrom('api_tokens')
        .selectAll()
        .where('parent_token_id', 'in', frontier.slice(start, start + IN_SLICE))
        .execute();
      level.push(...rows);
    }
    found.push(...level);
    frontier = level.map((row) => row.id);
  }
  return found;
}

/** Marks live tokens revoked now; returns those it changed, as they are now. */
async function markRevoked(
  executor: Kysely<Database>,
  clock: () => Date,
  rows: readonly ApiTokensTable[],
): Promise<ApiToken[]> {
  const live = rows.filter((row) => row.revoked_at === null);
  if (live.length === 0) return [];
  const now = clock().toISOString();
  for (let start = 0; start < live.length; start += IN_SLICE) {
    await executor
      .updateTable('api_tokens')
      .set({ revoked_at: now })
      .where(
        'id',
        'in',
        live.slice(start, start + IN_SLICE).map((row) => row.id),
      )
      .where('revoked_at', 'is', null)
      .execute();
  }
  return live.map((row) => ({ ...toToken(row), revokedAt: now }));
}

/** How long a live token found by `findLive` is taken as live without asking the database again. */
export const TOKEN_CACHE_MS = 1000;

/**
 * Revokes the live tokens a user made (all of them, or, given the role the user now holds, those
 * whose scopes that role could not grant), in the caller's transaction. Returns what it revoked, for
 * the audit log. The caller forgets the cached tokens once its transaction commits.
 */
export async function revokeTokensCreatedBy(
  executor: Kysely<Database>,
  clock: () => Date,
  userId: string,
  keepWithin?: Role,
): Promise<ApiToken[]> {
  const rows = await executor
    .selectFrom('api_tokens')
    .selectAll()
    .where('created_by', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
  const doomed = rows.filter(
    (row) =>
      keepWithin === undefined || !isWithinRole(JSON.parse(row.scopes) as Scope[], keepWithin),
  );
  if (doomed.length === 0) return [];
  // A token below a revoked one goes with it, even if the role still covers its own scopes.
  const below = await descendantsOf(
    executor,
    doomed.map((row) => row.id),
  );
  const seen = new Set<string>();
  const all = [...doomed, ...below].filter((row) => !seen.has(row.id) && seen.add(row.id));
  return markRevoked(executor, clock, all);
}

/** API tokens `onr_…`: shown once at creation, stored as a SHA-256 hash, scoped, expiring, revocable. */
export function createTokensRepository(
  db: Kysely<Database>,
  clock: () => Date,
  options: { cacheMs?: number } = {},
) {
  /**
   * Live tokens by hash, for a second: a service presenting its token thousands of times a second
   * costs one lookup a second. A revocation through this replica forgets them all at once; one made
   * on another replica is seen within the second. Unknown tokens are never cached.
   */
  const live = createTtlCache<ApiToken>({
    ttlMs: options.cacheMs ?? TOKEN_CACHE_MS,
    maxEntries: 10_000,
    now: () => clock().getTime(),
  });
  /**
   * Bumped by every forget: a lookup that read the database before a change and finishes after this
   * replica forgot does not put its stale answer back in the cache.
   */
  let generation = 0;
  const forget = () => {
    generation += 1;
    live.clear();
  };
  return {
    /**
     * Forgets every cached token, after a change that may have revoked or narrowed some (a tenant
     * deleted; a user demoted, disabled or deleted), so this replica sees it at once.
     */
    forgetCached(): void {
      forget();
    },

    async create(
      input: {
        tenantId: string | null;
        name: string;
        scopes: Scope[];
        createdBy: string;
        expiresAt: string | null;
        parentTokenId?: string | null;
      },
      executor: Kysely<Database> = db,
    ): Promise<{ token: ApiToken; secret: string }> {
      const secret = newSecretToken('onr_');
      const row: ApiTokensTable = {
        id: newId('token'),
        tenant_id: input.tenantId,
        name: input.name,
        token_hash: hashToken(secret),
        token_prefix: `${secret.slice(0, 8)}…`,
        scopes: JSON.stringify(input.scopes),
        created_by: input.createdBy,
        created_at: clock().toISOString(),
        expires_at: input.expiresAt,
        revoked_at: null,
        last_used_at: null,
        parent_token_id: input.parentTokenId ?? null,
      };
      await executor.insertInto('api_tokens').values(row).execute();
      return { token: toToken(row), secret };
    },
    /**
     * The token a request presents, if it is live (not revoked, not expired, its creator still
     * active), with the scopes it may use today: never more than its creator could grant now.
     */
    async findLive(secret: string): Promise<ApiToken | undefined> {
      const now = clock().toISOString();
      const hash = hashToken(secret);
      const cached = live.get(hash);
      if (
        cached &&
        (cached.expiresAt === null || cached.expiresAt > now) &&
        cached.lastUsedAt !== null &&
        Date.parse(now) - Date.parse(cached.lastUsedAt) <= 60_000
      )
        return cached;
      const seen = generation;
      const found = await db
        .selectFrom('api_tokens')
        .leftJoin('users', 'users.id', 'api_tokens.created_by')
        .selectAll('api_tokens')
        .select([
          'users.id as creator_id',
          'users.role as creator_role',
          'users.tenant_id as creator_tenant_id',
          'users.disabled_at as creator_disabled_at',
        ])
        .where('api_tokens.token_hash', '=', hash)
        .where('api_tokens.revoked_at', 'is', null)
        .where((eb) =>
          eb.or([eb('api_tokens.expires_at', 'is', null), eb('api_tokens.expires_at', '>', now)]),
        )
        .executeTakeFirst();
      if (!found) return undefined;
      const { creator_id, creator_role, creator_tenant_id, creator_disabled_at, ...row } = found;
      const ownScopes = effectiveScopes(
        JSON.parse(row.scopes) as Scope[],
        row.tenant_id,
        creator_id && creator_role
          ? {
              role: creator_role,
              tenantId: creator_tenant_id,
              disabled: creator_disabled_at !== null,
            }
          : undefined,
      );
      // A machine token may do no more than every token above it may, now.
      const scopes =
        row.parent_token_id === null
          ? ownScopes
          : cutToAncestors(
              ownScopes,
              { tenantId: row.tenant_id, createdBy: row.created_by },
              await ancestorsOf(db, row.parent_token_id),
              now,
            );
      // Its creator is gone, disabled or may grant none of its scopes now, or a token above it is
      // revoked or expired: the token is dead.
      if (scopes.length === 0) return undefined;
      // Only once a minute per token: a busy service must not turn every read into a write.
      if (!row.last_used_at || Date.parse(now) - Date.parse(row.last_used_at) > 60_000) {
        await db
          .updateTable('api_tokens')
          .set({ last_used_at: now })
          .where('id', '=', row.id)
          .execute();
        row.last_used_at = now;
      }
      const token = { ...toToken(row), scopes };
      if (seen === generation) live.set(hash, token);
      return token;
    },
    /**
     * One page, newest first, read with `limit + 1` rows (see http/pagination.ts): `before` is the id
     * of the last token of the previous page.
     */
    async list(
      tenantId: string | null,
      options: { limit: number; before?: string },
    ): Promise<ApiToken[]> {
      let query = db
        .selectFrom('api_tokens')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(options.limit + 1);
      query =
        tenantId === null
          ? query.where('tenant_id', 'is', null)
          : query.where('tenant_id', '=', tenantId);
      if (options.before !== undefined) query = query.where('id', '<', options.before);
      return (await query.execute()).map(toToken);
    },
    /** Tokens that still open the API: neither revoked nor expired. */
    async countLive(tenantId: string | null, executor: Kysely<Database> = db): Promise<number> {
      const query = executor
        .selectFrom('api_tokens')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('revoked_at', 'is', null)
        .where((eb) =>
          eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', clock().toISOString())]),
        );
      const row = await (tenantId === null
        ? query.where('tenant_id', 'is', null)
        : query.where('tenant_id', '=', tenantId)
      ).executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    /**
     * Revokes one of the owner's tokens and every token below it (made with it, or with one of
     * those), in the caller's transaction; undefined when the owner has no such token. A token already
     * revoked still takes down anything below it that is somehow live. The caller forgets the cached
     * tokens once its transaction commits.
     */
    async revoke(
      executor: Kysely<Database>,
      tenantId: string | null,
      id: string,
    ): Promise<{ token: ApiToken; below: ApiToken[] } | undefined> {
      // The write comes first: it takes SQLite's write lock at once (a read first would take a
      // snapshot that another writer could make stale) and PostgreSQL's lock on the row, which a
      // token being made with this one holds or waits for (see `ancestorsOf`).
      const update = executor
        .updateTable('api_tokens')
        .set({ revoked_at: clock().toISOString() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null);
      await (tenantId === null
        ? update.where('tenant_id', 'is', null)
        : update.where('tenant_id', '=', tenantId)
      ).execute();
      const query = executor.selectFrom('api_tokens').selectAll().where('id', '=', id);
      const row = await (tenantId === null
        ? query.where('tenant_id', 'is', null)
        : query.where('tenant_id', '=', tenantId)
      ).executeTakeFirst();
      if (!row) return undefined;
      const below = await markRevoked(executor, clock, await descendantsOf(executor, [id]));
      return { token: toToken(row), below };
    },
  };
}

export type TokensRepository = ReturnType<typeof createTokensRepository>;
