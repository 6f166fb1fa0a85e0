import { api } from '@onramp/contracts';
import { listPartitions, type PartitionId, parseHubPrincipal } from '@onramp/core';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../http/problems.ts';
import { mount } from '../../http/route.ts';
import { tenantOf } from '../../http/route-helpers.ts';
import type { HubIdentity } from '../../ports/hubs.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import { organizationOffer } from '../organizations/organizations-service.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';

/** What the partitions route uses: the tenant's limits and the operator's hub identities. */
export interface PartitionsRoutesDeps {
  tenants: Pick<TenantsService, 'find'>;
  hubs: Partial<Record<PartitionId, HubIdentity>>;
  /** Onramp's OpenID Connect issuer: keyless roles are offered wherever it has an https URL. */
  webIdentity?: WebIdentityIssuer | undefined;
}

/**
 * What a tenant may connect, per partition: the methods on offer (roles only where the operator
 * configured a hub identity, and only what the tenant's limits allow), whom roles trust, and the regions.
 */
export async function registerPartitionsRoutes(
  app: FastifyInstance,
  deps: PartitionsRoutesDeps,
): Promise<void> {
  mount(app, api.partitions.list, {
    handler: async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      const tenant = await deps.tenants.find(tenantId);
      if (!tenant) throw notFound('Tenant');
      const { limits } = tenant;
      const allowedMethods = limits.methods ?? ['role', 'oidc_role', 'access_keys'];
      const issuer = deps.webIdentity?.issuer ?? null;
      const keylessAllowed = allowedMethods.includes('oidc_role');
      const partitions = listPartitions()
        .filter((p) => !limits.partitions || limits.partitions.includes(p.id))
        .map((partition) => {
          const hub = deps.hubs[partition.id];
          const principal = hub ? parseHubPrincipal(hub.principalArn, partition.id) : undefined;
          const rolesAllowed = allowedMethods.includes('role');
          const offersRoles = rolesAllowed && principal?.ok === true;
          // Keyless roles need no hub: only the issuer, which serves every partition.
          const offersKeyless = keylessAllowed && issuer !== null;
          const methods = (['role', 'oidc_role', 'access_keys'] as const).filter((m) =>
            m === 'role'
              ? offersRoles
              : m === 'oidc_role'
                ? offersKeyless
                : allowedMethods.includes(m),
          );
          let oidcReason: string | null = null;
          if (!keylessAllowed)
            oidcReason = 'This tenant may not connect accounts with keyless roles.';
          else if (issuer === null)
            oidcReason = `Keyless roles need the platform to have a public https OpenID Connect issuer: ${deps.webIdentity?.unavailableReason ?? 'none is configured.'}`;
          let reason: string | null = null;
          if (!rolesAllowed) reason = 'This tenant may not connect accounts with IAM roles.';
          else if (!hub || !principal?.ok)
            reason = `Roles with an external ID need the operator to configure a hub identity for ${partition.displayName} (${partition.id}); until then, connect ${offersKeyless ? 'with a keyless role or access keys' : 'with access keys'}.`;
          return {
            partition: partition.id,
            displayName: partition.displayName,
            methods,
            reason,
            oidc:
              offersKeyless && issuer && deps.webIdentity
                ? { issuer, audience: deps.webIdentity.audienceFor(partition.id) }
                : null,
            oidcReason,
            // Whole organizations: the partition's hub, and where service-managed StackSets exist.
            organizations: organizationOffer(partition.id, deps.hubs, limits),
            trustedPrincipal:
              offersRoles && principal?.ok
                ? { arn: principal.value.arn, accountId: principal.value.accountId }
                : null,
            regions: partition.regions.map((r) => ({ id: r.id, description: r.description })),
          };
        });
      return { partitions };
    },
  });
}
