import type {
  accountsSummarySchema,
  permissionsUpdateSchema,
  permissionsVerifyResponseSchema,
  recheckAccountsRequestSchema,
  recheckAccountsResponseSchema,
} from '@onramp/contracts';
import type { Account, OnrampClient } from '@onramp/sdk';
import type { z } from 'zod';

export type AccountsSummary = z.output<typeof accountsSummarySchema>;
export type PermissionsUpdate = z.output<typeof permissionsUpdateSchema>;
export type PermissionsVerify = z.output<typeof permissionsVerifyResponseSchema>;
export type RecheckInput = z.input<typeof recheckAccountsRequestSchema>;
export type RecheckResult = z.output<typeof recheckAccountsResponseSchema>;

/** The four calls of permission upgrades (issue 14), as the SDK names them in `client.accounts`. */
export interface PermissionUpgradeCalls {
  /** GET /v1/accounts/summary */
  summary: (query?: { partition?: Account['partition'] }) => Promise<AccountsSummary>;
  /** POST /v1/accounts/recheck */
  recheck: (input: RecheckInput) => Promise<RecheckResult>;
  /** POST /v1/accounts/:id/permissions/update */
  permissionsUpdate: (accountId: string) => Promise<PermissionsUpdate>;
  /** POST /v1/accounts/:id/permissions/verify */
  permissionsVerify: (accountId: string) => Promise<PermissionsVerify>;
}

/**
 * The SDK's permission-upgrade methods. They land in `@onramp/sdk` with their routes (issue 14's
 * server branches); until then this is the one place that names them, so the console switches to
 * `client.accounts.summary(…)` and the others by deleting this file.
 */
export function permissionUpgrades(client: OnrampClient): PermissionUpgradeCalls {
  return client.accounts as unknown as PermissionUpgradeCalls;
}
