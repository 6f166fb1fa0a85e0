import type { Kysely } from 'kysely';
import type { SealedSecret } from '../../adapters/crypto/envelope.ts';
import type { CallbackTokensTable, Database } from '../../adapters/db/schema.ts';
import { createSealedSecrets } from '../../adapters/db/sealed-secrets.ts';
import { newId } from '../../ids.ts';

/** A connection's call-back token (it connects one role, then answers that role's stack), without the token: its hash, its life, what it produced. */
export interface CallbackToken {
  id: string;
  tenantId: string;
  connectionId: string;
  tokenHash: string;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  accountId: string | null;
  roleArn: string | null;
  stackId: string | null;
}

/** The field of the secrets table (owner: the connection) that holds the token itself, sealed. */
export const CALLBACK_TOKEN_FIELD = 'callbackToken';

function toCallbackToken(row: CallbackTokensTable): CallbackToken {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    connectionId: row.connection_id,
    tokenHash: row.token_hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    accountId: row.account_id,
    roleArn: row.role_arn,
    stackId: row.stack_id,
  };
}

/**
 * Callback tokens, one per connection. Every method takes the tenant first except `findByHash`: a
 * callback arrives with nothing but its token, and the token is what tells which tenant it is for.
 */
export function createCallbackTokensRepository(db: Kysely<Database>, clock: () => Date) {
  const secrets = createSealedSecrets(db, clock);
  return {
    async findByHash(tokenHash: string): Promise<CallbackToken | undefined> {
      const row = await db
        .selectFrom('callback_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return row ? toCallbackToken(row) : undefined;
    },

    async findForConnection(
      tenantId: string,
      connectionId: string,
      executor: Kysely<Database> = db,
    ): Promise<CallbackToken | undefined> {
      const row = await executor
        .selectFrom('callback_tokens')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('connection_id', '=', connectionId)
        .executeTakeFirst();
      return row ? toCallbackToken(row) : undefined;
    },

    /**
     * Gives the connection a new token. With `previousHash` it is a compare-and-set: the token is
     * replaced only if it is still that one (null: only if there is none), so two requests renewing
     * an expired token at once do not hand out two templates of which one carries a dead token; the
     * loser sees false and reads the winner's. Without it, the new token replaces whatever was there.
     */
    async replace(
      tenantId: string,
      connectionId: string,
      next: { tokenHash: string; expiresAt: string },
      previousHash: string | null | undefined,
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const now = clock().toISOString();
      const fresh = {
        token_hash: next.tokenHash,
        created_at: now,
        expires_at: next.expiresAt,
        used_at: null,
        account_id: null,
        role_arn: null,
        stack_id: null,
      };
      if (typeof previousHash === 'string') {
        const result = await executor
          .updateTable('callback_tokens')
          .set(fresh)
          .where('tenant_id', '=', tenantId)
          .where('connection_id', '=', connectionId)
          .where('token_hash', '=', previousHash)
          .executeTakeFirst();
        return Number(result.numUpdatedRows) > 0;
      }
      const insert = executor.insertInto('callback_tokens').values({
        id: newId('callbackToken'),
        tenant_id: tenantId,
        connection_id: connectionId,
        ...fresh,
      });
      const result = await (previousHash === null
        ? insert.onConflict((oc) => oc.column('connection_id').doNothing())
        : insert.onConflict((oc) => oc.column('connection_id').doUpdateSet(fresh))
      ).executeTakeFirst();
      return previousHash === undefined || Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    /** Records what the token produced; false when it was already used (another callback won). */
    async markUsed(
      tenantId: string,
      id: string,
      outcome: { accountId: string; roleArn: string; stackId: string },
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('callback_tokens')
        .set({
          used_at: clock().toISOString(),
          account_id: outcome.accountId,
          role_arn: outcome.roleArn,
          stack_id: outcome.stackId || null,
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    // The token itself, sealed, in the secrets table under its connection (field CALLBACK_TOKEN_FIELD):
    // these rows are the callbacks feature's own, whoever else keeps secrets in that table.

    putSealedToken(
      tenantId: string,
      connectionId: string,
      sealed: SealedSecret,
      executor: Kysely<Database> = db,
    ): Promise<void> {
      return secrets.put(
        { tenantId, ownerId: connectionId, field: CALLBACK_TOKEN_FIELD },
        sealed,
        executor,
      );
    },

    findSealedToken(tenantId: string, connectionId: string): Promise<SealedSecret | undefined> {
      return secrets.find({ tenantId, ownerId: connectionId, field: CALLBACK_TOKEN_FIELD });
    },

    /** Purges the secrets of a deleted connection (its sealed token). */
    deleteSealedTokens(tenantId: string, connectionId: string): Promise<void> {
      return secrets.deleteOwner(tenantId, connectionId);
    },
  };
}

export type CallbackTokensRepository = ReturnType<typeof createCallbackTokensRepository>;
