import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { forbidden } from '../../http/problems.ts';
import { mount } from '../../http/route.ts';
import { callerOf } from '../../http/route-helpers.ts';
import type { CredentialsService } from './credentials-service.ts';

/** What the credentials routes use: the service, and the public URL console links return to. */
export interface CredentialsRoutesDeps {
  credentials: CredentialsService;
  publicUrl?: string | undefined;
}

/** Says whether the credentials came from the cache; the body stays exactly the contract. */
export const CACHE_HEADER = 'onramp-credentials-cache';

export async function registerCredentialsRoutes(
  app: FastifyInstance,
  deps: CredentialsRoutesDeps,
): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  mount(routes, api.accounts.vendCredentials, {
    handler: async (request, reply) => {
      const caller = callerOf(request, 'credentials:vend');
      const { credentials, cache } = await deps.credentials.vend(
        caller,
        request.params.id,
        request.body ?? {},
      );
      reply.header(CACHE_HEADER, cache);
      return {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        sessionToken: credentials.sessionToken,
        expiration: credentials.expiration.toISOString(),
      };
    },
  });

  mount(routes, api.accounts.consoleLink, {
    handler: async (request) => {
      const caller = callerOf(request, 'accounts:write');
      if (request.principal?.kind !== 'user')
        throw forbidden('Console links are for people signed in to Onramp, not for API tokens.');
      // Where AWS sends the person when the console session ends: Onramp's configured public URL,
      // never the request's Host (or X-Forwarded-Host), which whoever sends the request chooses: a
      // link Onramp signs must not lead to a site of theirs. Without a public URL, no Issuer, and
      // AWS shows its own page.
      return deps.credentials.consoleLink(caller, request.params.id, deps.publicUrl);
    },
  });
}
