import type { Kysely } from 'kysely';
import type { SealedSecret } from '../../adapters/crypto/envelope.ts';
import {
  type Database,
  type OidcSigningKeysTable,
  OPERATOR_SECRET_SCOPE,
} from '../../adapters/db/schema.ts';
import { newId } from '../../ids.ts';

/** The field of the secrets table (operator scope, owner = kid) that holds a signing key's private JWK. */
export const OIDC_PRIVATE_KEY_FIELD = 'oidc_private_key';

/** The binding a private key is sealed with: a sealed key moved to another row does not open. */
export function privateKeyBinding(kid: string) {
  return { tenantId: OPERATOR_SECRET_SCOPE, ownerId: kid, field: OIDC_PRIVATE_KEY_FIELD };
}

export interface SigningKeyRow {
  kid: string;
  generation: number;
  algorithm: 'ES256' | 'RS256';
  /** The public JWK as published (kid, alg, use included). */
  publicJwk: Record<string, unknown>;
  createdAt: string;
  signsFrom: string;
  retiredAt: string | null;
  unpublishAt: string | null;
  createdBy: string | null;
}

function toRow(row: OidcSigningKeysTable): SigningKeyRow {
  return {
    kid: row.kid,
    generation: Number(row.generation),
    algorithm: row.algorithm,
    publicJwk: JSON.parse(row.public_jwk) as Record<string, unknown>,
    createdAt: row.created_at,
    signsFrom: row.signs_from,
    retiredAt: row.retired_at,
    unpublishAt: row.unpublish_at,
    createdBy: row.created_by,
  };
}

/** Whether a database error is the unique generation refusing a second key of the same generation. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * The issuer's signing keys (oidc_signing_keys) and their sealed private keys (secrets, operator
 * scope). Every replica reads the same rows; `generation` is unique, so of two replicas inserting the
 * next key at once exactly one succeeds (the other gets a unique violation and reads again).
 */
export function createOidcRepository(db: Kysely<Database>, clock: () => Date) {
  return {
    /** Every key, oldest generation first. */
    async list(): Promise<SigningKeyRow[]> {
      const rows = await db
        .selectFrom('oidc_signing_keys')
        .selectAll()
        .orderBy('generation')
        .execute();
      return rows.map(toRow);
    },

    /** The sealed private key of `kid`, if it is still stored. */
    async sealedPrivateKey(kid: string): Promise<SealedSecret | undefined> {
      const row = await db
        .selectFrom('secrets')
        .select(['key_id', 'wrapped_key', 'ciphertext'])
        .where('tenant_id', 'is', null)
        .where('owner_id', '=', kid)
        .where('field', '=', OIDC_PRIVATE_KEY_FIELD)
        .executeTakeFirst();
      return row
        ? { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext }
        : undefined;
    },

    /**
     * Inserts a key and its sealed private key together, with `alongside` (its audit entry) in the
     * same transaction: a process killed at any point leaves a key with its entry, or neither. Throws
     * a unique violation (see isUniqueViolation) when another replica or request took this
     * generation first.
     */
    async insert(
      key: Omit<SigningKeyRow, 'retiredAt' | 'unpublishAt'>,
      sealed: SealedSecret,
      alongside?: (trx: Kysely<Database>) => Promise<void>,
    ) {
      const now = clock().toISOString();
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('oidc_signing_keys')
          .values({
            kid: key.kid,
            generation: key.generation,
            algorithm: key.algorithm,
            public_jwk: JSON.stringify(key.publicJwk),
            created_at: key.createdAt,
            signs_from: key.signsFrom,
            retired_at: null,
            unpublish_at: null,
            created_by: key.createdBy,
          })
          .execute();
        // Operator scope: tenant_id is null (a tenant's purge never reaches it), and the binding
        // names OPERATOR_SECRET_SCOPE, as `onramp keys rotate` re-wraps it.
        await trx
          .insertInto('secrets')
          .values({
            id: newId('secret'),
            tenant_id: null,
            owner_id: key.kid,
            field: OIDC_PRIVATE_KEY_FIELD,
            key_id: sealed.keyId,
            wrapped_key: sealed.wrappedKey,
            ciphertext: sealed.ciphertext,
            created_at: now,
            updated_at: now,
          })
          .execute();
        await alongside?.(trx);
      });
    },

    /**
     * Records when a key stopped signing and when it leaves the JWKS. Only once: the times follow
     * from the keys themselves, so every replica that records them writes the same values.
     */
    async recordRetirement(kid: string, retiredAt: string, unpublishAt: string): Promise<void> {
      await db
        .updateTable('oidc_signing_keys')
        .set({ retired_at: retiredAt, unpublish_at: unpublishAt })
        .where('kid', '=', kid)
        .where('retired_at', 'is', null)
        .execute();
    },

    /** Drops the private keys of keys no longer published: they will never sign again. */
    async purgePrivateKeys(kids: readonly string[]): Promise<void> {
      if (kids.length === 0) return;
      await db
        .deleteFrom('secrets')
        .where('tenant_id', 'is', null)
        .where('field', '=', OIDC_PRIVATE_KEY_FIELD)
        .where('owner_id', 'in', kids)
        .execute();
    },
  };
}

export type OidcRepository = ReturnType<typeof createOidcRepository>;
