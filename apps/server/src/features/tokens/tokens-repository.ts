import type { Kysely } from 'kysely';
import { hashToken, newSecretToken } from '../../adapters/crypto/secrets.ts';
import type { ApiTokensTable, Database } from '../../adapters/db/schema.ts';
import type { Role, Scope } from '../../domain/principal.ts';
import { newId } from '../../ids.ts';
import { createTtlCache } from '../../ttl-cache.ts';
import { effectiveScopes, isWithinRole } from './token-rights.ts';

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
  };
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
  const doomed = rows
    .map(toToken)
    .filter((token) => keepWithin === undefined || !isWithinRole(token.scopes, keepWithin));
  if (doomed.length === 0) return [];
  const now = clock().toISOString();
  await executor
    .updateTable('api_tokens')
    .set({ revoked_at: now })
    .where(
      'id',
      'in',
      doomed.map((t) => t.id),
    )
    .where('revoked_at', 'is', null)
    .execute();
  return doomed.map((token) => ({ ...token, revokedAt: now }));
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
      const scopes = effectiveScopes(
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
      // Its creator is gone, disabled or may grant none of its scopes now: the token is dead.
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
    async revoke(tenantId: string | null, id: string): Promise<ApiToken | undefined> {
      forget();
      const base = db
        .updateTable('api_tokens')
        .set({ revoked_at: clock().toISOString() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null);
      await (tenantId === null
        ? base.where('tenant_id', 'is', null)
        : base.where('tenant_id', '=', tenantId)
      ).execute();
      // Again once revoked: a lookup between the first clear and the update may have cached it.
      forget();
      const query = db.selectFrom('api_tokens').selectAll().where('id', '=', id);
      const row = await (tenantId === null
        ? query.where('tenant_id', 'is', null)
        : query.where('tenant_id', '=', tenantId)
      ).executeTakeFirst();
      return row ? toToken(row) : undefined;
    },
  };
}

export type TokensRepository = ReturnType<typeof createTokensRepository>;
