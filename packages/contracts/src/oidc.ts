import { z } from 'zod';
import { partitionIdSchema } from './common.ts';

/**
 * Onramp's own OpenID Connect issuer (keyless roles): its URL, its signing keys and where its public
 * documents are copied. Never a private key, never a token.
 */

/** `next`: published, signs later; `signing`: signs every new token; `retired`: published until its tokens expire. */
export const oidcKeyStateSchema = z.enum(['next', 'signing', 'retired']);

export const oidcSigningKeySchema = z.object({
  kid: z.string(),
  generation: z.number().int(),
  algorithm: z.enum(['RS256', 'ES256']),
  state: oidcKeyStateSchema,
  /** In the JWKS now (until `unpublishAt`). */
  published: z.boolean(),
  createdAt: z.string(),
  signsFrom: z.string(),
  retiredAt: z.string().nullable(),
  unpublishAt: z.string().nullable(),
});

export const oidcPublishTargetSchema = z.object({
  /** `dir:/srv/oidc` or `s3://bucket/prefix`. */
  target: z.string(),
  /** This replica's last attempt; null before the first. */
  lastResult: z
    .object({ at: z.string(), ok: z.boolean(), error: z.string().nullable() })
    .nullable(),
});

export const oidcStatusSchema = z.object({
  /** Whether keyless roles (`oidc_role`) are offered: an issuer AWS accepts is configured. */
  offered: z.boolean(),
  issuer: z.string().nullable(),
  /** Why keyless roles are not offered, and what to set; null when they are. */
  unavailableReason: z.string().nullable(),
  discoveryUrl: z.string().nullable(),
  jwksUri: z.string().nullable(),
  algorithm: z.enum(['RS256', 'ES256']),
  tokenLifetimeSeconds: z.number().int(),
  rotationSeconds: z.number().int(),
  prePublicationSeconds: z.number().int(),
  /** The audience of the tokens (and of the IAM OIDC provider's client ID list) in each partition. */
  audiences: z.record(partitionIdSchema, z.string()),
  /** Newest first. */
  keys: z.array(oidcSigningKeySchema),
  publish: z.array(oidcPublishTargetSchema),
});

export const rotateOidcKeyRequestSchema = z
  .object({
    /**
     * Sign with the new key at once (a key that leaked) instead of after the pre-publication period.
     * The replaced key stays in the JWKS until the tokens it signed have expired.
     */
    immediate: z.boolean().optional(),
  })
  .strict();
