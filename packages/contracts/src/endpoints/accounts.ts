import {
  accountPageSchema,
  accountSchema,
  accountsSummaryQuerySchema,
  accountsSummarySchema,
  attachIamPoliciesRequestSchema,
  attachIamPoliciesResponseSchema,
  connectionSchema,
  createAccountRequestSchema,
  createdAccountSchema,
  iamPoliciesQuerySchema,
  iamPolicyPageSchema,
  listAccountsQuerySchema,
  permissionsUpdateSchema,
  replaceCredentialsRequestSchema,
  updateAccountRequestSchema,
  validationResultSchema,
} from '../accounts.ts';
import { idParamsSchema } from '../common.ts';
import {
  consoleLinkSchema,
  vendCredentialsRequestSchema,
  vendedCredentialsSchema,
} from '../credentials.ts';
import { defineEndpoint } from '../endpoint.ts';
import {
  accountCheckPageSchema,
  accountCheckSchema,
  listChecksQuerySchema,
  permissionsVerifyResponseSchema,
  recheckAccountsRequestSchema,
  recheckAccountsResponseSchema,
} from '../fleet.ts';

/** Connected AWS accounts: validation, credentials, health, IAM policies and vending. */
export const accountsEndpoints = {
  validate: defineEndpoint({
    method: 'POST',
    path: '/v1/accounts/validate',
    tags: ['accounts'],
    summary: 'Check credentials without saving anything',
    description:
      'Runs the same checks as creating the account and reports each of them. Nothing is stored. A check AWS did not answer is `error` (the permissions check a `warning`: unverified), with the reason; the others’ findings stand. 502 only when no AWS call answered at all.',
    body: createAccountRequestSchema,
    responses: { 200: validationResultSchema },
  }),
  create: defineEndpoint({
    method: 'POST',
    path: '/v1/accounts',
    tags: ['accounts'],
    summary: 'Connect an AWS account',
    description:
      'With access keys, or with the role of a pending connection. Saved only when validation passes; otherwise 422 with the field errors and the `checks`. When AWS cannot simulate the permissions but the identity (and the external ID) checks passed, the account is saved as `unverified`, the permissions check saying why. 502 (with the `checks`) when AWS did not answer a check that must pass. A role ARN or access key ID another account of the tenant already uses is a 409 naming that account (`existingAccount`); another principal in an AWS account the tenant already connects is allowed, with a `same_aws_account` notice.',
    body: createAccountRequestSchema,
    responses: { 201: createdAccountSchema },
  }),
  list: defineEndpoint({
    method: 'GET',
    path: '/v1/accounts',
    tags: ['accounts'],
    summary: 'List accounts',
    description:
      'Filtered, by id ascending; pass `next` as `cursor` for the following page. `q` matches the name, the description or the AWS account ID (or part of it), ignoring case.',
    query: listAccountsQuerySchema,
    responses: { 200: accountPageSchema },
  }),
  summary: defineEndpoint({
    method: 'GET',
    path: '/v1/accounts/summary',
    tags: ['accounts'],
    summary: 'The fleet at a glance',
    description:
      'Accounts per health status, outdated (the catalog changed since their permissions were granted) and trimmed (granted actions a check found missing), per partition, and per bundle with the actions outdated accounts lack and how many lack each. `partition` narrows it to one partition.',
    query: accountsSummaryQuerySchema,
    responses: { 200: accountsSummarySchema },
  }),
  recheck: defineEndpoint({
    method: 'POST',
    path: '/v1/accounts/recheck',
    tags: ['accounts'],
    summary: 'Check again every account a filter selects',
    description:
      'Queues a check of every account of the tenant that the filter selects (at least one of `outdated`, `status`, `partition`), run by the health checks in the background at their own concurrency and per-partition rate; each is recorded with trigger `manual`. Answers how many were queued. Limited per tenant (429 with Retry-After beyond it).',
    body: recheckAccountsRequestSchema,
    responses: { 200: recheckAccountsResponseSchema },
  }),
  get: defineEndpoint({
    method: 'GET',
    path: '/v1/accounts/:id',
    tags: ['accounts'],
    summary: 'Get an account',
    params: idParamsSchema,
    responses: { 200: accountSchema },
  }),
  update: defineEndpoint({
    method: 'PATCH',
    path: '/v1/accounts/:id',
    tags: ['accounts'],
    summary: 'Rename an account or change its permissions',
    description:
      'Changing the permissions of a role account checks the role again and records the result as its status.',
    params: idParamsSchema,
    body: updateAccountRequestSchema,
    responses: { 200: accountSchema },
  }),
  replaceCredentials: defineEndpoint({
    method: 'PUT',
    path: '/v1/accounts/:id/credentials',
    tags: ['accounts'],
    summary: 'Replace the credentials',
    description:
      'New access keys, or a new role ARN, validated before they replace the current ones; when validation fails nothing changes.',
    params: idParamsSchema,
    body: replaceCredentialsRequestSchema,
    responses: { 200: accountSchema },
  }),
  delete: defineEndpoint({
    method: 'DELETE',
    path: '/v1/accounts/:id',
    tags: ['accounts'],
    summary: 'Delete an account',
    description: 'Purges its stored secret; the audit log keeps the record of it.',
    params: idParamsSchema,
  }),
  iamPolicies: defineEndpoint({
    method: 'GET',
    path: '/v1/accounts/:id/iam-policies',
    tags: ['accounts'],
    summary: 'List the account’s IAM policies, with what is attached to its role or user',
    params: idParamsSchema,
    query: iamPoliciesQuerySchema,
    responses: { 200: iamPolicyPageSchema },
  }),
  attachIamPolicies: defineEndpoint({
    method: 'POST',
    path: '/v1/accounts/:id/iam-policies',
    tags: ['accounts'],
    summary: 'Attach existing IAM policies to the account’s role or user',
    params: idParamsSchema,
    body: attachIamPoliciesRequestSchema,
    responses: { 200: attachIamPoliciesResponseSchema },
  }),
  regenerateExternalId: defineEndpoint({
    method: 'POST',
    path: '/v1/accounts/:id/external-id/regenerate',
    tags: ['accounts'],
    summary: 'Regenerate a role account’s external ID, with a grace period',
    description:
      'The templates of the account’s connection then list both IDs (`sts:ExternalId` with two values; IAM accepts either). Onramp keeps assuming the role with the old one until a check with the new one passes, then uses the new one; the old one leaves the templates when the grace period (ONRAMP_EXTERNAL_ID_GRACE_DAYS) has ended. Each step is audited and sent as `account.external_id_changed`. Answers the connection.',
    params: idParamsSchema,
    responses: { 200: connectionSchema },
  }),
  vendCredentials: defineEndpoint({
    method: 'POST',
    path: '/v1/accounts/:id/credentials',
    tags: ['accounts'],
    summary: 'Vend short-lived credentials of the account',
    description:
      'For the platform’s services (a token with `credentials:vend`). A role account’s session is assumed with its external ID, named after the token and tagged `onramp:token` and `onramp:tenant`; an access-key account gets a GetSessionToken session. `bundles` narrows a role session to some of the account’s bundles with a session policy. The same credentials are served until five minutes before they expire; every vend is audited, the credentials never.',
    params: idParamsSchema,
    // No body at all is the same as {}.
    body: vendCredentialsRequestSchema.nullish(),
    responses: { 200: vendedCredentialsSchema },
  }),
  consoleLink: defineEndpoint({
    method: 'POST',
    path: '/v1/accounts/:id/console-link',
    tags: ['accounts'],
    summary: 'Make a one-time AWS console sign-in link for a role account',
    description:
      'For people signed in to Onramp who may change accounts (operator staff, tenant admins); API tokens may not. A fresh session of the account’s role, named after the person, becomes a sign-in link of the partition’s federation endpoint, valid 15 minutes. No console password is stored anywhere.',
    params: idParamsSchema,
    responses: { 200: consoleLinkSchema },
  }),
  check: defineEndpoint({
    method: 'POST',
    path: '/v1/accounts/:id/check',
    tags: ['accounts'],
    summary: 'Check an account’s health now',
    description:
      'Runs the validation of connect time with the stored credentials and records the result as the account’s health, every step with its own outcome. When AWS cannot be reached (or does not answer the identity or external-ID check), the account keeps its health, marked stale, and the check says so; when only the permissions cannot be simulated, a valid or degraded account keeps its status and the permissions check says why. 409 (`checked_meanwhile`) when another check of the account (a verify, a change of its permissions or credentials) was recorded while AWS answered this one: that one stands, and this one is not recorded.',
    params: idParamsSchema,
    responses: { 200: accountCheckSchema },
  }),
  checks: defineEndpoint({
    method: 'GET',
    path: '/v1/accounts/:id/checks',
    tags: ['accounts'],
    summary: 'An account’s health checks, newest first',
    params: idParamsSchema,
    query: listChecksQuerySchema,
    responses: { 200: accountCheckPageSchema },
  }),
  permissionsUpdate: defineEndpoint({
    method: 'POST',
    path: '/v1/accounts/:id/permissions/update',
    tags: ['accounts'],
    summary: 'What to apply to give an account the permissions its bundles need now',
    description:
      'Rendered for the way the account’s role was made: CloudFormation (the template, the `aws cloudformation deploy` command against the same stack, a change-set preview and, where the partition has a template bucket, the console’s update-stack link), Terraform (the file), by hand (the policy documents and numbered steps), or access keys (the user’s policy). `changes` lists, per bundle, the actions added and the actions no chosen bundle needs any more (removed). Changes nothing: apply the output, then call `…/permissions/verify` (a stack’s call-back does it by itself).',
    params: idParamsSchema,
    responses: { 200: permissionsUpdateSchema },
  }),
  permissionsVerify: defineEndpoint({
    method: 'POST',
    path: '/v1/accounts/:id/permissions/verify',
    tags: ['accounts'],
    summary: 'Check an account against the permissions its bundles need now, and record them',
    description:
      'Validates the account with its stored credentials against its bundles as the catalog has them now, records the check (trigger `permissions_updated`) and takes its status. When the check proves the permissions, they are recorded as granted (the account is no longer outdated), the account and its connection take any bundle made a default since, and `account.permissions_updated` is sent. 502 when AWS does not answer; nothing is changed then.',
    params: idParamsSchema,
    responses: { 200: permissionsVerifyResponseSchema },
  }),
};
