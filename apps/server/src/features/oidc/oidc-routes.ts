import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { actorOf, isOperator, type Principal } from '../../domain/principal.ts';
import { AppError, forbidden } from '../../http/problems.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { mount } from '../../http/route.ts';
import { OIDC_DOCUMENT_CACHE_CONTROL, type OidcService } from './oidc-service.ts';

/** Where Onramp serves its issuer's public documents: the issuer is `<public URL>/oidc`. */
export const OIDC_PREFIX = '/oidc';
export const OIDC_DISCOVERY_PATH = `${OIDC_PREFIX}/.well-known/openid-configuration`;
export const OIDC_JWKS_PATH = `${OIDC_PREFIX}/jwks.json`;

export interface OidcRoutesDeps {
  oidc: Pick<OidcService, 'discoveryDocument' | 'jwksDocument' | 'status' | 'rotate'>;
}

function requireOperator(principal: Principal | undefined): Principal {
  if (!principal) throw new AppError('unauthenticated');
  if (!isOperator(principal))
    throw forbidden('Only the operator manages the OpenID Connect issuer.');
  return principal;
}

/**
 * The issuer's public documents (no auth: AWS fetches them when a customer creates the IAM OIDC
 * provider and when it checks a token) and the operator's view and rotation of its keys.
 */
export async function registerOidcRoutes(
  app: FastifyInstance,
  deps: OidcRoutesDeps,
): Promise<void> {
  app.get(OIDC_DISCOVERY_PATH, { schema: { hide: true } }, async (_request, reply) => {
    const document = deps.oidc.discoveryDocument();
    return reply.header('cache-control', OIDC_DOCUMENT_CACHE_CONTROL).send(document);
  });
  app.get(OIDC_JWKS_PATH, { schema: { hide: true } }, async (_request, reply) => {
    const document = await deps.oidc.jwksDocument();
    return reply.header('cache-control', OIDC_DOCUMENT_CACHE_CONTROL).send(document);
  });

  const r = app.withTypeProvider<ZodTypeProvider>();
  mount(r, api.oidc.status, {
    handler: async (request) => {
      requireOperator(request.principal);
      return deps.oidc.status();
    },
  });
  mount(r, api.oidc.rotate, {
    handler: async (request, reply) => {
      const principal = requireOperator(request.principal);
      // A new signing key changes what every customer's role trusts: a person decides it, signed in,
      // not an API token (which could be left in a script or a CI variable).
      if (principal.kind !== 'user') {
        throw forbidden(
          'Rotate the issuer’s key signed in as an operator admin, not with an API token.',
        );
      }
      const key = await deps.oidc.rotate(request.body, {
        ...actorOf(principal),
        ...requestMeta(request),
      });
      return reply.status(201).send(key);
    },
  });
}
