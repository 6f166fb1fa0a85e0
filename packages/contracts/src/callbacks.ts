import { z } from 'zod';

/**
 * POST /v1/callbacks/cloudformation: what the callback function of a CloudFormation stack sends once
 * the role exists (Create, Update) and when the stack goes away (Delete). The connection's call-back
 * token is the credential: the request carries no session or API token. The token connects one role
 * only, and once it has, it stays good for that role's stack (a retried Create, an Update, the Delete)
 * as long as the connection is connected: it is not single-use. Its templates carry it, so whoever
 * can download one holds it; an Update is accepted only from the stack that reported the role, and
 * verifies the account at most once a minute.
 */
export const cloudFormationCallbackRequestSchema = z.object({
  requestType: z.enum(['Create', 'Update', 'Delete']),
  /** The connection's call-back token, from its template: write-only, never returned, never logged. */
  token: z.string().min(1).max(200).meta({ writeOnly: true, format: 'password' }),
  roleArn: z.string().trim().min(1).max(2048),
  stackId: z.string().trim().max(2048).default(''),
});

export const cloudFormationCallbackResponseSchema = z.object({
  /** The account the role is (or was) connected as; null when there is none. */
  accountId: z.string().nullable(),
});
