import type { Kysely, Transaction } from 'kysely';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import type { Role, Scope } from '../../domain/principal.ts';
import { AppError, forbidden } from '../../http/problems.ts';
import type { AuditActor, AuditLog } from '../../ports/audit-log.ts';
import { type CollectionCaps, insertWithinCap } from '../tenants/collection-caps.ts';
import { boundedExpiry, cutToAncestors, MAX_TOKEN_DEPTH } from './token-rights.ts';
import {
  type ApiToken,
  ancestorsOf,
  revokeTokensCreatedBy,
  type TokensRepository,
} from './tokens-repository.ts';

export interface TokensServiceDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  clock: () => Date;
  collectionCaps?: Partial<CollectionCaps>;
  tokens: TokensRepository;
  audit: AuditLog;
}

/** Why a user's tokens were revoked with a change to the user (recorded in each token's entry). */
export type RevokedWith = 'creator_disabled' | 'creator_demoted' | 'creator_deleted';

/** What a new token is made with: a console session, or another token (a machine token). */
export interface TokenInput {
  name: string;
  scopes: Scope[];
  /** The person the token acts for: the session's user, or the parent token's creator. */
  createdBy: string;
  expiresAt: string | null;
  /** The token making this one, when made with a token. */
  parentTokenId?: string | undefined;
}

/** 403 naming the scopes a token asked for but may not hand out. */
export function cannotGrant(scopes: readonly Scope[]): AppError {
  return forbidden(
    `This token may not grant ${scopes.join(', ')}: a token can only make tokens within its own scopes.`,
  );
}

/** API tokens: what other features may ask of them, and the rules of making and revoking one. */
export function createTokensService(deps: TokensServiceDeps) {
  const { tokens, audit } = deps;
  /**
   * The expiry a token made by `parentTokenId` gets, read under the cap's lock with the parent's row
   * locked (PostgreSQL), so that a revocation of the parent cannot miss the new child. 401 when the
   * parent has been revoked or has expired since the request was let in; 403 when its scopes no longer
   * cover the child's or the chain would be deeper than `MAX_TOKEN_DEPTH`.
   */
  async function expiryUnderParent(
    trx: Kysely<Database>,
    parentTokenId: string,
    child: {
      scopes: Scope[];
      tenantId: string | null;
      createdBy: string;
      expiresAt: string | null;
    },
  ): Promise<string | null> {
    const chain = await ancestorsOf(trx, parentTokenId, { lock: deps.dialect === 'postgres' });
    const parent = chain[0];
    const now = deps.clock().toISOString();
    const allowed = cutToAncestors(child.scopes, child, chain, now);
    if (
      !parent ||
      parent.revokedAt !== null ||
      (parent.expiresAt !== null && parent.expiresAt <= now)
    )
      throw new AppError('unauthenticated', 'This API token is unknown, revoked or expired.');
    if (chain.length > MAX_TOKEN_DEPTH) {
      throw forbidden(
        `A token made with this one would have ${chain.length} tokens above it; at most ${MAX_TOKEN_DEPTH} may be. Make it with a token nearer the top, or from a console session.`,
      );
    }
    const missing = child.scopes.filter((scope) => !allowed.includes(scope));
    if (missing.length > 0) throw cannotGrant(missing);
    return boundedExpiry(child.expiresAt, parent.expiresAt);
  }

  return {
    findLive: (secret: string) => tokens.findLive(secret),
    list: (tenantId: string | null, options: { limit: number; before?: string }) =>
      tokens.list(tenantId, options),
    /** Forgets this replica's cached tokens, once a change that may have cut some has committed. */
    forgetCached: () => tokens.forgetCached(),

    /**
     * Makes a token within the owner's cap of live tokens, and audits it. A token made with a token
     * is checked against its parent as it stands under the cap's lock (the route has already checked
     * the scopes against the parent's as the request found them): the parent must still be live, the
     * chain no deeper than `MAX_TOKEN_DEPTH`, and the child's expiry is cut to the parent's.
     */
    async create(
      tenantId: string | null,
      input: TokenInput,
      actor: AuditActor,
    ): Promise<{ token: ApiToken; secret: string }> {
      const scopes = [...new Set(input.scopes)];
      const parentTokenId = input.parentTokenId ?? null;
      const created = await insertWithinCap(
        deps,
        { collection: 'tokens', tenantId, count: (trx) => tokens.countLive(tenantId, trx) },
        async (trx) => {
          const expiresAt =
            parentTokenId === null
              ? input.expiresAt
              : await expiryUnderParent(trx, parentTokenId, { ...input, scopes, tenantId });
          return tokens.create({ ...input, tenantId, scopes, expiresAt, parentTokenId }, trx);
        },
      );
      await audit.append({
        tenantId,
        ...actor,
        action: 'token.created',
        targetType: 'token',
        targetId: created.token.id,
        details: {
          name: input.name,
          scopes,
          expiresAt: created.token.expiresAt,
          parentTokenId,
        },
      });
      return created;
    },

    /**
     * Revokes one of the owner's tokens and, with it, every token below it, one audit entry each (in
     * the tenant each belongs to: an operator token's children may be a tenant's); undefined when the
     * owner has no such token. Forgets this replica's cached tokens before and after, so a lookup
     * racing the transaction cannot keep a revoked token here; other replicas drop it within the
     * cache's second.
     */
    async revoke(
      tenantId: string | null,
      id: string,
      actor: AuditActor,
    ): Promise<ApiToken | undefined> {
      tokens.forgetCached();
      const revoked = await deps.db.transaction().execute(async (trx) => {
        const found = await tokens.revoke(trx, tenantId, id);
        if (!found) return undefined;
        await audit.append(
          {
            tenantId,
            ...actor,
            action: 'token.revoked',
            targetType: 'token',
            targetId: found.token.id,
            details: { name: found.token.name },
          },
          trx,
        );
        for (const child of found.below) {
          await audit.append(
            {
              tenantId: child.tenantId,
              ...actor,
              action: 'token.revoked',
              targetType: 'token',
              targetId: child.id,
              details: {
                name: child.name,
                reason: 'parent_revoked',
                parentTokenId: child.parentTokenId,
                revokedWith: found.token.id,
              },
            },
            trx,
          );
        }
        return found.token;
      });
      tokens.forgetCached();
      return revoked;
    },

    /**
     * Revokes the live tokens a user made (all, or those `keepWithin`, the role they now hold, could
     * not grant), one audit entry each. It takes the users feature's transaction when given: a token
     * is only as strong as its maker, so the revocation commits with the change to the maker or not
     * at all. The caller forgets the cached tokens once that transaction commits.
     */
    async revokeMadeBy(
      userId: string,
      how: { reason: RevokedWith; keepWithin?: Role | undefined; actor: AuditActor },
      trx?: Transaction<Database>,
    ): Promise<ApiToken[]> {
      const run = async (executor: Kysely<Database>) => {
        const revoked = await revokeTokensCreatedBy(executor, deps.clock, userId, how.keepWithin);
        for (const token of revoked) {
          await audit.append(
            {
              tenantId: token.tenantId,
              ...how.actor,
              action: 'token.revoked',
              targetType: 'token',
              targetId: token.id,
              details: { name: token.name, reason: how.reason, createdBy: userId },
            },
            executor,
          );
        }
        return revoked;
      };
      if (trx) return run(trx);
      const revoked = await deps.db.transaction().execute(run);
      tokens.forgetCached();
      return revoked;
    },
  };
}

export type TokensService = ReturnType<typeof createTokensService>;
