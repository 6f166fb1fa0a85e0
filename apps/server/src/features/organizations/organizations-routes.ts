import { createHash } from 'node:crypto';
import { api, type organizationSetupSchema } from '@onramp/contracts';
import { organizationQuickCreateLink, type PartitionId } from '@onramp/core';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { scopesOf } from '../../domain/principal.ts';
import { mount } from '../../http/route.ts';
import { callerOf, tenantOf } from '../../http/route-helpers.ts';
import type { TemplateStore } from '../../ports/template-store.ts';
import { toMemberResponse, toOrganizationResponse } from './organization-view.ts';
import type { OrganizationSetup, OrganizationsService } from './organizations-service.ts';

/**
 * What the organizations routes use: the organizations service, and the template store for
 * quick-create links. The call-back, the management role, discovery and retries are the
 * enrollment side's routes.
 */
export interface OrganizationsRoutesDeps {
  organizations: OrganizationsService;
  publicUrl?: string | undefined;
  templates?: TemplateStore | undefined;
  templateBuckets?: Partial<Record<PartitionId, string>> | undefined;
}

/**
 * Whether the caller may connect accounts, and so be given the enrollment token (in a template or
 * a quick-create link): whoever holds it can have stacks report member roles of this organization.
 * A read-only caller gets the templates without it.
 */
function mayConnect(request: FastifyRequest): boolean {
  return request.principal ? scopesOf(request.principal).includes('accounts:write') : false;
}

/**
 * The AWS console's quick-create link for the management stack: only for a caller given the token,
 * with Onramp's public URL (the stack reports back) and a template bucket in the partition (the
 * console takes quick-create templates only from Amazon S3). Null otherwise, or when publishing fails.
 */
async function quickCreateOf(
  deps: OrganizationsRoutesDeps,
  organizationId: string,
  setup: OrganizationSetup,
  withToken: boolean,
  log: FastifyBaseLogger,
): Promise<string | null> {
  const { blueprint } = setup;
  const bucket = deps.templateBuckets?.[blueprint.partition.id];
  if (!withToken || !deps.publicUrl || !blueprint.callback || !bucket || !deps.templates)
    return null;
  const body = setup.managementTemplate;
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  try {
    const { url } = await deps.templates.publish(
      blueprint.partition.id,
      `organizations/${organizationId}/${hash}.yaml`,
      body,
    );
    return organizationQuickCreateLink({ blueprint, templateUrl: url });
  } catch (error) {
    log.error({ err: error, organizationId, bucket }, 'organization template not published');
    return null;
  }
}

async function toSetupResponse(
  deps: OrganizationsRoutesDeps,
  request: FastifyRequest,
  tenantId: string,
  id: string,
  query: { format: 'yaml' | 'json'; targets?: string | undefined },
  forUpdate = false,
): Promise<z.output<typeof organizationSetupSchema>> {
  const withToken = mayConnect(request);
  const { format } = query;
  const targets = query.targets?.split(',').map((target) => target.trim());
  const setup = await deps.organizations.setup(tenantId, id, {
    format,
    withToken,
    forUpdate,
    targets,
  });
  // The quick-create stack is YAML whatever the format asked for.
  const yaml =
    format === 'yaml'
      ? setup
      : await deps.organizations.setup(tenantId, id, {
          format: 'yaml',
          withToken,
          forUpdate,
          targets,
        });
  const { blueprint: _blueprint, ...rest } = setup;
  return {
    ...rest,
    quickCreateUrl: await quickCreateOf(deps, id, yaml, withToken, request.log),
  };
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

  mount(routes, api.organizations.setup, {
    handler: async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      return toSetupResponse(deps, request, tenantId, request.params.id, request.query);
    },
  });

  mount(routes, api.organizations.permissionsUpdate, {
    handler: async (request) => {
      // The same templates, rendered with the permissions the organization has now: updating the
      // management stack updates the StackSet, and so every member, whose stacks report back.
      const tenantId = tenantOf(request, 'accounts:write');
      return toSetupResponse(deps, request, tenantId, request.params.id, request.query, true);
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
