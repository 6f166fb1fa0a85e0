import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.ts';

/**
 * Keyless roles (issue 15). A connection says how its role trusts Onramp: `role` (the operator's hub
 * principal with an external ID, every connection made before this) or `oidc_role` (Onramp's own
 * OpenID Connect issuer through `sts:AssumeRoleWithWebIdentity`).
 *
 * `oidc_signing_keys` holds the issuer's signing keys, shared by every replica: the public JWK, and
 * (sealed in `secrets`, operator scope, owner = kid) the private key. `generation` is unique, so two
 * replicas that rotate at once insert one key between them. A key is published from `created_at`,
 * signs from `signs_from` until the next key signs (`retired_at`), and leaves the JWKS at
 * `unpublish_at`, once every token it signed has expired.
 */
export function keylessRoles(_dialect: Dialect): Migration {
  return { up };
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then.
async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('connections')
    .addColumn('method', 'text', (c) => c.notNull().defaultTo('role'))
    .execute();
  await db.schema
    .createTable('oidc_signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('generation', 'integer', (c) => c.notNull().unique())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('signs_from', 'text', (c) => c.notNull())
    .addColumn('retired_at', 'text')
    .addColumn('unpublish_at', 'text')
    .addColumn('created_by', 'text')
    .execute();
}
