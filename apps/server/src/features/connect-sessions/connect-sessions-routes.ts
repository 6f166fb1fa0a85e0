import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { mount } from '../../http/route.ts';
import { callerOf, tenantOf } from '../../http/route-helpers.ts';
import type { ConnectSessionsService } from './connect-sessions-service.ts';

/** What the platform's routes use: the sessions service only. */
export interface ConnectSessionsRoutesDeps {
  connectSessions: Pick<ConnectSessionsService, 'create' | 'list' | 'get' | 'cancel' | 'view'>;
}

/**
 * The platform's side of hosted connect sessions: its backend (a tenant token with accounts:write,
 * or an operator naming the tenant) makes a link for one customer, reads the outcome, cancels it.
 */
export async function registerConnectSessionsRoutes(
  app: FastifyInstance,
  deps: ConnectSessionsRoutesDeps,
): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  mount(routes, api.connectSessions.create, {
    handler: async (request, reply) => {
      const caller = callerOf(request, 'accounts:write');
      const origin = `${request.protocol}://${request.host}`;
      const session = await deps.connectSessions.create(caller, request.body, origin);
      return reply.status(201).send(session);
    },
  });

  mount(routes, api.connectSessions.list, {
    handler: async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      return deps.connectSessions.list(tenantId, request.query);
    },
  });

  mount(routes, api.connectSessions.get, {
    handler: async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      return deps.connectSessions.view(await deps.connectSessions.get(tenantId, request.params.id));
    },
  });

  mount(routes, api.connectSessions.cancel, {
    handler: async (request) => {
      const caller = callerOf(request, 'accounts:write');
      const session = await deps.connectSessions.get(caller.tenantId, request.params.id);
      return deps.connectSessions.view(await deps.connectSessions.cancel(caller, session));
    },
  });
}
