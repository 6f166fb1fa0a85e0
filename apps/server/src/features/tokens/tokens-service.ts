import type { Kysely, Transaction } from 'kysely';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import type { Role, Scope } from '../../domain/principal.ts';
import type { AuditActor, AuditLog } from '../../ports/audit-log.ts';
import { type CollectionCaps, insertWithinCap } from '../tenants/collection-caps.ts';
import {
  type ApiToken,
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

/** API tokens: what other features may ask of them, and the rules of making and revoking one. */
export function createTokensService(deps: TokensServiceDeps) {
  const { tokens, audit } = deps;
  return {
    findLive: (secret: string) => tokens.findLive(secret),
    list: (tenantId: string | null, options: { limit: number; before?: string }) =>
      tokens.list(tenantId, options),
    /** Forgets this replica's cached tokens, once a change that may have cut some has committed. */
    forgetCached: () => tokens.forgetCached(),

    /** Makes a token within the owner's cap of live tokens, and audits it. */
    async create(
      tenantId: string | null,
      input: { name: string; scopes: Scope[]; createdBy: string; expiresAt: string | null },
      actor: AuditActor,
    ): Promise<{ token: ApiToken; secret: string }> {
      const created = await insertWithinCap(
        deps,
        { collection: 'tokens', tenantId, count: (trx) => tokens.countLive(tenantId, trx) },
        (trx) => tokens.create({ ...input, tenantId, scopes: [...new Set(input.scopes)] }, trx),
      );
      await audit.append({
        tenantId,
        ...actor,
        action: 'token.created',
        targetType: 'token',
        targetId: created.token.id,
        details: { name: input.name, scopes: input.scopes, expiresAt: input.expiresAt },
      });
      return created;
    },

    /** Revokes one of the owner's tokens and audits it; undefined when the owner has no such token. */
    async revoke(
      tenantId: string | null,
      id: string,
      actor: AuditActor,
    ): Promise<ApiToken | undefined> {
      const revoked = await tokens.revoke(tenantId, id);
      if (!revoked) return undefined;
      await audit.append({
        tenantId,
        ...actor,
        action: 'token.revoked',
        targetType: 'token',
        targetId: revoked.id,
        details: { name: revoked.name },
      });
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
