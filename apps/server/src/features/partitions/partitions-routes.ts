import { api } from '@onramp/contracts';
import type { PartitionId } from '@onramp/core';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../http/problems.ts';
import { mount } from '../../http/route.ts';
import { tenantOf } from '../../http/route-helpers.ts';
import type { HubIdentity } from '../../ports/hubs.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import { partitionOffers } from './partition-offers.ts';

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
      return { partitions: partitionOffers(tenant.limits, deps.hubs, deps.webIdentity) };
    },
  });
}
