import { z } from 'zod';

/**
 * POST /v1/callbacks/cloudformation: what the callback function of a CloudFormation stack sends once
 * the role exists (Create, Update) and when the stack goes away (Delete). The one-time token is the
 * credential: the request carries no session or API token.
 */
export const cloudFormationCallbackRequestSchema = z.object({
  requestType: z.enum(['Create', 'Update', 'Delete']),
  /** The stack's one-time callback token: write-only, never returned, never logged. */
  token: z.string().min(1).max(200).meta({ writeOnly: true, format: 'password' }),
  roleArn: z.string().trim().min(1).max(2048),
  stackId: z.string().trim().max(2048).default(''),
});

export const cloudFormationCallbackResponseSchema = z.object({
  /** The account the role is (or was) connected as; null when there is none. */
  accountId: z.string().nullable(),
});
