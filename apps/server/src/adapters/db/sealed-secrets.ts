import type { Kysely } from 'kysely';
import { newId } from '../../ids.ts';
import type { SealedSecret } from '../crypto/envelope.ts';
import type { Database } from './schema.ts';

/**
 * The `secrets` table: every sealed secret, whoever owns it (an account's keys, a connection's
 * call-back token, a webhook's signing secrets), one row per tenant, owner and field. A store of its
 * own, beside the database rather than in one feature, because several features keep secrets in it
 * and a tenant's deletion must purge them all. What a secret is for stays with its feature.
 */
export function createSealedSecrets(db: Kysely<Database>, clock: () => Date) {
  return {
    /** Stores a field's secret, replacing the one it had. */
    async put(
      owner: { tenantId: string; ownerId: string; field: string },
      sealed: SealedSecret,
      executor: Kysely<Database> = db,
    ): Promise<void> {
      const now = clock().toISOString();
      await executor
        .insertInto('secrets')
        .values({
          id: newId('secret'),
          tenant_id: owner.tenantId,
          owner_id: owner.ownerId,
          field: owner.field,
          key_id: sealed.keyId,
          wrapped_key: sealed.wrappedKey,
          ciphertext: sealed.ciphertext,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'owner_id', 'field']).doUpdateSet({
            key_id: sealed.keyId,
            wrapped_key: sealed.wrappedKey,
            ciphertext: sealed.ciphertext,
            updated_at: now,
          }),
        )
        .execute();
    },

    async find(owner: {
      tenantId: string;
      ownerId: string;
      field: string;
    }): Promise<SealedSecret | undefined> {
      const row = await db
        .selectFrom('secrets')
        .select(['key_id', 'wrapped_key', 'ciphertext'])
        .where('tenant_id', '=', owner.tenantId)
        .where('owner_id', '=', owner.ownerId)
        .where('field', '=', owner.field)
        .executeTakeFirst();
      return row
        ? { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext }
        : undefined;
    },

    /** Purges every secret of one owner (all its fields). */
    async deleteOwner(
      tenantId: string,
      ownerId: string,
      executor: Kysely<Database> = db,
    ): Promise<void> {
      await executor
        .deleteFrom('secrets')
        .where('tenant_id', '=', tenantId)
        .where('owner_id', '=', ownerId)
        .execute();
    },

    /** Purges every secret of a tenant, whichever feature sealed it. */
    async purgeTenant(tenantId: string, executor: Kysely<Database> = db): Promise<void> {
      await executor.deleteFrom('secrets').where('tenant_id', '=', tenantId).execute();
    },
  };
}
