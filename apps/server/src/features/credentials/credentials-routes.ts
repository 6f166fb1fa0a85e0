import {
  consoleLinkSchema,
  vendCredentialsRequestSchema,
  vendedCredentialsSchema,
} from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { forbidden } from '../../http/problems.ts';
import { callerOf, idParamsSchema } from '../../http/route-helpers.ts';
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
  const tags = ['accounts'];

  routes.post(
    '/v1/accounts/:id/credentials',
    {
      schema: {
        tags,
        summary: 'Vend short-lived credentials of the account',
        description:
          'For the platform’s services (a token with `credentials:vend`). A role account’s session is assumed with its external ID, named after the token and tagged `onramp:token` and `onramp:tenant`; an access-key account gets a GetSessionToken session. `bundles` narrows a role session to some of the account’s bundles with a session policy. The same credentials are served until five minutes before they expire; every vend is audited, the credentials never.',
        params: idParamsSchema,
        // No body at all is the same as {}.
        body: vendCredentialsRequestSchema.nullish(),
        response: { 200: vendedCredentialsSchema },
      },
    },
    async (request, reply) => {
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
  );

  routes.post(
    '/v1/accounts/:id/console-link',
    {
      schema: {
        tags,
        summary: 'Make a one-time AWS console sign-in link for a role account',
        description:
          'For people signed in to Onramp who may change accounts (operator staff, tenant admins); API tokens may not. A fresh session of the account’s role, named after the person, becomes a sign-in link of the partition’s federation endpoint, valid 15 minutes. No console password is stored anywhere.',
        params: idParamsSchema,
        response: { 200: consoleLinkSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request, 'accounts:write');
      if (request.principal?.kind !== 'user')
        throw forbidden('Console links are for people signed in to Onramp, not for API tokens.');
      // Where AWS sends the person when the console session ends: Onramp's configured public URL,
      // never the request's Host (or X-Forwarded-Host), which whoever sends the request chooses: a
      // link Onramp signs must not lead to a site of theirs. Without a public URL, no Issuer, and
      // AWS shows its own page.
      return deps.credentials.consoleLink(caller, request.params.id, deps.publicUrl);
    },
  );
}
