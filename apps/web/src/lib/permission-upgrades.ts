/** The permission-upgrade responses (issue 14) as the console reads them, from the contracts. */
import type {
  accountsSummarySchema,
  permissionsUpdateSchema,
  permissionsVerifyResponseSchema,
  recheckAccountsRequestSchema,
  recheckAccountsResponseSchema,
} from '@onramp/contracts';
import type { z } from 'zod';

export type AccountsSummary = z.output<typeof accountsSummarySchema>;
export type PermissionsUpdate = z.output<typeof permissionsUpdateSchema>;
export type PermissionsVerify = z.output<typeof permissionsVerifyResponseSchema>;
export type RecheckInput = z.input<typeof recheckAccountsRequestSchema>;
export type RecheckResult = z.output<typeof recheckAccountsResponseSchema>;
