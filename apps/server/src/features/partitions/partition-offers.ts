import { listPartitions, type PartitionId, parseHubPrincipal } from '@onramp/core';
import type { TenantLimits } from '../../domain/tenant.ts';
import type { HubIdentity } from '../../ports/hubs.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import { organizationOffer } from '../organizations/organizations-service.ts';

/**
 * What a tenant may connect, per partition: the methods on offer (roles only where the operator
 * configured a hub identity, keyless roles where the issuer is public, and only what the tenant's
 * limits allow), why a method is not, whom roles trust, and the regions. GET /v1/partitions answers
 * it; a hosted connect session offers its own choices within it.
 */
export function partitionOffers(
  limits: TenantLimits,
  hubs: Partial<Record<PartitionId, HubIdentity>>,
  webIdentity: Pick<WebIdentityIssuer, 'issuer' | 'unavailableReason' | 'audienceFor'> | undefined,
) {
  const allowedMethods = limits.methods ?? ['role', 'oidc_role', 'access_keys'];
  const issuer = webIdentity?.issuer ?? null;
  const keylessAllowed = allowedMethods.includes('oidc_role');
  return listPartitions()
    .filter((p) => !limits.partitions || limits.partitions.includes(p.id))
    .map((partition) => {
      const hub = hubs[partition.id];
      const principal = hub ? parseHubPrincipal(hub.principalArn, partition.id) : undefined;
      const rolesAllowed = allowedMethods.includes('role');
      const offersRoles = rolesAllowed && principal?.ok === true;
      // Keyless roles need no hub: only the issuer, which serves every partition.
      const offersKeyless = keylessAllowed && issuer !== null;
      const methods = (['role', 'oidc_role', 'access_keys'] as const).filter((m) =>
        m === 'role' ? offersRoles : m === 'oidc_role' ? offersKeyless : allowedMethods.includes(m),
      );
      let oidcReason: string | null = null;
      if (!keylessAllowed) oidcReason = 'This tenant may not connect accounts with keyless roles.';
      else if (issuer === null)
        oidcReason = `Keyless roles need the platform to have a public https OpenID Connect issuer: ${webIdentity?.unavailableReason ?? 'none is configured.'}`;
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
          offersKeyless && issuer && webIdentity
            ? { issuer, audience: webIdentity.audienceFor(partition.id) }
            : null,
        oidcReason,
        // Whole organizations: the partition's hub, and where service-managed StackSets exist.
        organizations: organizationOffer(partition.id, hubs, limits),
        trustedPrincipal:
          offersRoles && principal?.ok
            ? { arn: principal.value.arn, accountId: principal.value.accountId }
            : null,
        regions: partition.regions.map((r) => ({ id: r.id, description: r.description })),
      };
    });
}
