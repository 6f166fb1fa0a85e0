/** A tenant: one customer of the operator's platform, and the limits the operator set for it. */
export interface TenantLimits {
  maxAccounts?: number;
  partitions?: ('aws' | 'aws-us-gov' | 'aws-cn')[];
  methods?: ('role' | 'oidc_role' | 'access_keys')[];
  /** These replace the server's caps (features/tenants/collection-caps.ts) for this tenant. */
  maxPendingConnections?: number;
  maxWebhooks?: number;
  maxTokens?: number;
  maxUsers?: number;
  /** Connected AWS organizations (features/organizations). */
  maxOrganizations?: number;
}

export interface Tenant {
  id: string;
  name: string;
  limits: TenantLimits;
  createdAt: string;
}
