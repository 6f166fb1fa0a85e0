import type { PartitionId } from '@onramp/core';

/** How the tenant chose to create the role in the wizard. */
export const SETUP_METHODS = ['quick_create', 'cloudformation', 'terraform', 'manual'] as const;
export type SetupMethod = (typeof SETUP_METHODS)[number];

/** How a connection's role trusts Onramp: the hub principal and an external ID, or Onramp's OIDC issuer. */
export type RoleMethod = 'role' | 'oidc_role';

/** A role set-up: what the tenant deploys in AWS (selection, role name, external ID) before it is an account. */
export interface Connection {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  partition: PartitionId;
  /** `oidc_role`: a keyless role; its `externalId` is kept (unused) so the column stays uniform. */
  method: RoleMethod;
  bundles: string[];
  regions: string[];
  externalId: string;
  roleName: string;
  status: 'pending' | 'connected';
  accountId: string | null;
  createdAt: string;
  updatedAt: string;
  /** The external ID a regeneration replaced; the templates list it beside the new one until `previousExternalIdUntil`. */
  previousExternalId: string | null;
  previousExternalIdUntil: string | null;
  setupMethod: SetupMethod | null;
  /**
   * The organization whose member account this connection is for (features/organizations): made
   * and managed by Onramp, never a set-up in the tenant's list; null for the tenant's own.
   */
  organizationId: string | null;
  /**
   * The hosted connect session that made it (features/connect-sessions): hidden from the tenant's
   * pending set-ups, changed only through its session; null for the tenant's own.
   */
  connectSessionId: string | null;
}
