import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { mount } from '../../http/route.ts';
import { callerOf, tenantOf } from '../../http/route-helpers.ts';
import { toMemberResponse, toOrganizationResponse } from './organization-view.ts';
import type { OrganizationsService } from './organizations-service.ts';

/**
 * What the organizations routes use: the organizations service only. The call-back, the
 * management role, discovery and retries are the enrollment side's routes.
 */
export interface OrganizationsRoutesDeps {
  organizations: OrganizationsService;
}

/**
 * The tenant-facing organization routes. Reads need `accounts:read` (viewers may read), changes
 * `accounts:write`; an operator acts on a tenant by naming it. Another tenant's organization is a
 * 404, as an unknown one.
 */
export async function registerOrganizationsRoutes(
  app: FastifyInstance,
  deps: OrganizationsRoutesDeps,
): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  mount(routes, api.organizations.create, {
    handler: async (request, reply) => {
      const caller = callerOf(request, 'accounts:write');
      const { organization, counts } = await deps.organizations.create(caller, request.body);
      return reply.status(201).send(toOrganizationResponse(organization, counts));
    },
  });

  mount(routes, api.organizations.list, {
    handler: async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      const page = await deps.organizations.list(tenantId, request.query);
      return {
        organizations: page.organizations.map((o) =>
          toOrganizationResponse(o.organization, o.counts),
        ),
        next: page.next,
      };
    },
  });

  mount(routes, api.organizations.get, {
    handler: async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      const { organization, counts } = await deps.organizations.get(tenantId, request.params.id);
      return toOrganizationResponse(organization, counts);
    },
  });

  mount(routes, api.organizations.update, {
    handler: async (request) => {
      const caller = callerOf(request, 'accounts:write');
      await deps.organizations.update(caller, request.params.id, request.body);
      const { organization, counts } = await deps.organizations.get(
        caller.tenantId,
        request.params.id,
      );
      return toOrganizationResponse(organization, counts);
    },
  });

  mount(routes, api.organizations.delete, {
    handler: async (request, reply) => {
      const caller = callerOf(request, 'accounts:write');
      await deps.organizations.delete(caller, request.params.id);
      return reply.status(204).send();
    },
  });

  mount(routes, api.organizations.rotateToken, {
    handler: async (request) => {
      const caller = callerOf(request, 'accounts:write');
      await deps.organizations.rotateToken(caller, request.params.id);
      const { organization, counts } = await deps.organizations.get(
        caller.tenantId,
        request.params.id,
      );
      return toOrganizationResponse(organization, counts);
    },
  });

  mount(routes, api.organizations.tree, {
    handler: async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      return deps.organizations.tree(tenantId, request.params.id);
    },
  });

  mount(routes, api.organizations.members, {
    handler: async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      const { id, ...rest } = { id: request.params.id, ...request.query };
      const page = await deps.organizations.members(tenantId, id, rest);
      return {
        members: page.members.map((m) => toMemberResponse(m, page.unitNames)),
        next: page.next,
      };
    },
  });

  mount(routes, api.organizations.previewRules, {
    handler: async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      return deps.organizations.previewRules(tenantId, request.params.id, request.body.rules);
    },
  });
}
