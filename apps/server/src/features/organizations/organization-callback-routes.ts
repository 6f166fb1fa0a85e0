import { api, type OrganizationMemberView, type OrganizationView } from '@onramp/contracts';
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
import { type MemberRow, pathOf } from './organization-jobs-repository.ts';
import { createOrganizationsRepository, type Organization } from './organizations-repository.ts';

export interface OrganizationCallbackRoutesDeps {
  organizationCallbacks: OrganizationCallbacks;
  db: Kysely<Database>;
  clock: () => Date;
}

/** The organization as the API shows it (the same fields GET /v1/organizations/:id answers). */
async function viewOf(
  repo: ReturnType<typeof createOrganizationsRepository>,
  org: Organization,
): Promise<OrganizationView> {
  const counted = (await repo.countsOf(org.tenantId, [org.id])).get(org.id);
  return {
    id: org.id,
    name: org.name,
    description: org.description,
    partition: org.partition,
    status: org.status,
    awsOrganizationId: org.awsOrganizationId,
    managementAccountId: org.managementAccountId,
    managementRoleArn: org.managementRoleArn,
    managementRoleName: org.managementRoleName,
    memberRoleName: org.memberRoleName,
    externalIdPrefix: org.externalIdPrefix,
    deployment: org.deployment,
    deploymentRegion: org.deploymentRegion,
    bundles: org.bundles,
    regions: org.regions,
    rules: {
      include: {
        organizationalUnits: [...org.rules.include.organizationalUnits],
        accounts: [...org.rules.include.accounts],
      },
      exclude: {
        organizationalUnits: [...org.rules.exclude.organizationalUnits],
        accounts: [...org.rules.exclude.accounts],
      },
    },
    rootId: org.rootId,
    counts: counted?.counts ?? {
      discovered: 0,
      enrolling: 0,
      connected: 0,
      failed: 0,
      excluded: 0,
      left: 0,
    },
    health: counted?.health ?? { valid: 0, degraded: 0, invalid: 0, unverified: 0 },
    outdated: counted?.outdated ?? 0,
    lastDiscovery: org.lastDiscovery,
    enrollmentToken: {
      issuedAt: org.tokenIssuedAt,
      previousValidUntil: org.previousTokenUntil,
    },
    createdAt: org.createdAt,
    updatedAt: org.updatedAt,
  };
}

/** A member as the API shows it. */
async function memberViewOf(
  repo: ReturnType<typeof createOrganizationsRepository>,
  member: MemberRow,
): Promise<OrganizationMemberView> {
  const units = new Map(
    (await repo.units(member.tenant_id, member.organization_id)).map((u) => [u.id, u.name]),
  );
  return {
    awsAccountId: member.aws_account_id,
    name: member.name,
    email: member.email,
    awsStatus: member.aws_status,
    parentId: member.parent_id,
    path: pathOf(member).map((id) => ({ id, name: units.get(id) ?? id })),
    state: member.state,
    reason: member.reason_code
      ? {
          code: member.reason_code,
          message: member.reason_message ?? '',
          ...(member.reason_hint ? { hint: member.reason_hint } : {}),
        }
      : null,
    roleArn: member.role_arn,
    accountId: member.account_id,
    health: null,
    management: Number(member.management) === 1,
    discoveredAt: member.discovered_at,
    stateChangedAt: member.state_changed_at,
    updatedAt: member.updated_at,
  };
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
