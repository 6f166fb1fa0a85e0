import { defineEndpoint } from '../endpoint.ts';
import { oidcSigningKeySchema, oidcStatusSchema, rotateOidcKeyRequestSchema } from '../oidc.ts';

/** The issuer of keyless roles, for the operator. Its public documents are at /oidc/… (no auth). */
export const oidcEndpoints = {
  status: defineEndpoint({
    method: 'GET',
    path: '/v1/oidc',
    tags: ['oidc'],
    summary: 'The OpenID Connect issuer: its URL, whether keyless roles are offered, its keys',
    description:
      'Operators only. Lists the signing keys (never a private part) with their state, and each publish target with this replica’s last result.',
    responses: { 200: oidcStatusSchema },
  }),
  rotate: defineEndpoint({
    method: 'POST',
    path: '/v1/oidc/keys/rotate',
    tags: ['oidc'],
    summary: 'Make a new signing key (operator admin only)',
    description:
      'The new key is published at once and signs after the pre-publication period (default 24 hours), or at once with `immediate` (a key that leaked). The replaced key stays in the JWKS until its tokens have expired. A second rotation while a new key is waiting, or one that races another, makes no key and gets 409. Audited as `oidc.key_rotated`.',
    body: rotateOidcKeyRequestSchema,
    responses: { 201: oidcSigningKeySchema },
  }),
};
