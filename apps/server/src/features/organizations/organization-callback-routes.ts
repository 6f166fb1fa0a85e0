import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { Database } from '../../adapters/db/schema.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { mount } from '../../http/route.ts';
import { callerOf } from '../../http/route-helpers.ts';
import {
  OrganizationCallbackRefusedError,
  type OrganizationCallbacks,
} from './organization-callbacks.ts';
import type { MemberRow } from './organization-jobs-repository.ts';
import { toMemberResponse, toOrganizationResponse } from './organization-view.ts';
import {
  createOrganizationsRepository,
  type Organization,
  toMember,
} from './organizations-repository.ts';

export interface OrganizationCallbackRoutesDeps {
  organizationCallbacks: OrganizationCallbacks;
  db: Kysely<Database>;
  clock: () => Date;
}

async function viewOf(repo: ReturnType<typeof createOrganizationsRepository>, org: Organization) {
  return toOrganizationResponse(org, (await repo.countsOf(org.tenantId, [org.id])).get(org.id));
}

async function memberViewOf(
  repo: ReturnType<typeof createOrganizationsRepository>,
  member: MemberRow,
) {
  const units = new Map(
    (await repo.units(member.tenant_id, member.organization_id)).map((u) => [u.id, u.name]),
  );
  return toMemberResponse({ ...toMember(member), health: null }, units);
}

/**
 * The call-back of an organization's stacks (anonymous: the enrollment token is the credential), and
 * the tenant's routes that feed the same machinery: the management role pasted, discovery now, a
 * failed member retried.
 */
export async function registerOrganizationCallbackRoutes(
  app: FastifyInstance,
  deps: OrganizationCallbackRoutesDeps,
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const repo = createOrganizationsRepository(deps.db, deps.clock);
  const service = deps.organizationCallbacks;

  mount(r, api.organizations.callback, {
    handler: async (request, reply) => {
      try {
        const result = await service.handle(
          requestMeta(request),
          request.params.kind,
          request.body,
        );
        return reply.status(202).send(result);
      } catch (error) {
        if (error instanceof OrganizationCallbackRefusedError)
          request.log.warn(
            { reason: error.reason, kind: request.params.kind },
            'organization callback refused',
          );
        throw error;
      }
    },
  });

  mount(r, api.organizations.managementRole, {
    handler: async (request) => {
      const org = await service.setManagementRole(
        callerOf(request, 'accounts:write'),
        request.params.id,
        request.body.roleArn,
      );
      return viewOf(repo, org);
    },
  });

  mount(r, api.organizations.discover, {
    handler: async (request, reply) => {
      const accepted = await service.requestDiscovery(
        callerOf(request, 'accounts:write'),
        request.params.id,
      );
      return reply.status(202).send(accepted);
    },
  });

  mount(r, api.organizations.retryMember, {
    handler: async (request, reply) => {
      const member = await service.retryMember(
        callerOf(request, 'accounts:write'),
        request.params.id,
        request.params.awsAccountId,
      );
      return reply.status(202).send(await memberViewOf(repo, member));
    },
  });
}
