import {
  cloudFormationQuerySchema,
  connectionSchema,
  permissionsUpdateSchema,
  stepsResponseSchema,
  validationResultSchema,
} from '../accounts.ts';
import { idParamsSchema } from '../common.ts';
import {
  brandingSchema,
  connectSessionListSchema,
  connectSessionParamsSchema,
  connectSessionSchema,
  createConnectSessionRequestSchema,
  hostedAccountRequestSchema,
  hostedConnectionRequestSchema,
  hostedFixRequestSchema,
  hostedSessionSchema,
  listConnectSessionsQuerySchema,
  openConnectSessionRequestSchema,
  operatorSettingsSchema,
  updateOperatorSettingsRequestSchema,
} from '../connect-sessions.ts';
import { defineEndpoint } from '../endpoint.ts';
import {
  policyPreviewRequestSchema,
  policyPreviewResponseSchema,
  userTemplateRequestSchema,
  userTemplateResponseSchema,
} from '../policies.ts';

/** The platform's side: make a session for a customer, read its outcome, cancel it. */
export const connectSessionsEndpoints = {
  create: defineEndpoint({
    method: 'POST',
    path: '/v1/connect-sessions',
    tags: ['connect-sessions'],
    summary:
      'Make a single-use, expiring link that lets a customer connect (or fix) one AWS account',
    description:
      'For the platform’s backend (a tenant token with `accounts:write`, or an operator naming the tenant with Onramp-Tenant). The response carries `url`, the link to send the customer to, only once: it holds a secret in its fragment, works in one browser, and stops working when the session completes, is cancelled or expires. The return URL must be on the operator’s allow-list. When the browser comes back with `connect_session` and `outcome`, read the session here before trusting them.',
    body: createConnectSessionRequestSchema,
    responses: { 201: connectSessionSchema },
  }),
  list: defineEndpoint({
    method: 'GET',
    path: '/v1/connect-sessions',
    tags: ['connect-sessions'],
    summary: 'List connect sessions, newest first',
    query: listConnectSessionsQuerySchema,
    responses: { 200: connectSessionListSchema },
  }),
  get: defineEndpoint({
    method: 'GET',
    path: '/v1/connect-sessions/:id',
    tags: ['connect-sessions'],
    summary: 'Read a connect session: its state, outcome and account',
    params: idParamsSchema,
    responses: { 200: connectSessionSchema },
  }),
  cancel: defineEndpoint({
    method: 'POST',
    path: '/v1/connect-sessions/:id/cancel',
    tags: ['connect-sessions'],
    summary: 'Cancel an open or active session; its link stops working at once',
    description: '409 once it completed, was cancelled or expired.',
    params: idParamsSchema,
    responses: { 200: connectSessionSchema },
  }),
};

/**
 * The hosted wizard's side: the browser that opened the link. No Onramp sign-in: `open` trades the
 * link's secret for a cookie bound to this one session, and every other call needs that cookie (and,
 * for changes, the session's CSRF token). Each acts on the session's own records only.
 */
export const connectEndpoints = {
  open: defineEndpoint({
    method: 'POST',
    path: '/v1/connect/sessions/:sessionId/open',
    tags: ['connect'],
    summary: 'Open a session’s link (once) in this browser',
    params: connectSessionParamsSchema,
    body: openConnectSessionRequestSchema,
    responses: { 200: hostedSessionSchema },
    anonymous: true,
  }),
  get: defineEndpoint({
    method: 'GET',
    path: '/v1/connect/sessions/:sessionId',
    tags: ['connect'],
    summary: 'The session as the hosted wizard shows it',
    params: connectSessionParamsSchema,
    responses: { 200: hostedSessionSchema },
    anonymous: true,
  }),
  createConnection: defineEndpoint({
    method: 'POST',
    path: '/v1/connect/sessions/:sessionId/connection',
    tags: ['connect'],
    summary: 'Start the session’s role set-up (one per session; again: the same one)',
    params: connectSessionParamsSchema,
    body: hostedConnectionRequestSchema,
    responses: { 200: connectionSchema },
    anonymous: true,
  }),
  updateConnection: defineEndpoint({
    method: 'PATCH',
    path: '/v1/connect/sessions/:sessionId/connection',
    tags: ['connect'],
    summary: 'Change the session’s pending role set-up (its external ID never changes)',
    params: connectSessionParamsSchema,
    body: hostedConnectionRequestSchema.partial(),
    responses: { 200: connectionSchema },
    anonymous: true,
  }),
  steps: defineEndpoint({
    method: 'GET',
    path: '/v1/connect/sessions/:sessionId/connection/steps',
    tags: ['connect'],
    summary: 'The session’s role set-up as manual steps',
    params: connectSessionParamsSchema,
    responses: { 200: stepsResponseSchema },
    anonymous: true,
  }),
  cloudFormation: defineEndpoint({
    method: 'GET',
    path: '/v1/connect/sessions/:sessionId/connection/cloudformation',
    tags: ['connect'],
    summary: 'Download the session’s CloudFormation template',
    params: connectSessionParamsSchema,
    query: cloudFormationQuerySchema,
    anonymous: true,
  }),
  terraform: defineEndpoint({
    method: 'GET',
    path: '/v1/connect/sessions/:sessionId/connection/terraform',
    tags: ['connect'],
    summary: 'Download the session’s Terraform configuration',
    params: connectSessionParamsSchema,
    anonymous: true,
  }),
  previewPolicy: defineEndpoint({
    method: 'POST',
    path: '/v1/connect/sessions/:sessionId/policy-preview',
    tags: ['connect'],
    summary: 'Preview the policy of a selection the session allows',
    params: connectSessionParamsSchema,
    body: policyPreviewRequestSchema,
    responses: { 200: policyPreviewResponseSchema },
    anonymous: true,
  }),
  userTemplate: defineEndpoint({
    method: 'POST',
    path: '/v1/connect/sessions/:sessionId/user-template',
    tags: ['connect'],
    summary: 'The dedicated IAM user’s template for a selection the session allows',
    params: connectSessionParamsSchema,
    body: userTemplateRequestSchema,
    responses: { 200: userTemplateResponseSchema },
    anonymous: true,
  }),
  validate: defineEndpoint({
    method: 'POST',
    path: '/v1/connect/sessions/:sessionId/validate',
    tags: ['connect'],
    summary: 'Check the credentials or role without saving anything',
    params: connectSessionParamsSchema,
    body: hostedAccountRequestSchema,
    responses: { 200: validationResultSchema },
    anonymous: true,
  }),
  permissionsUpdate: defineEndpoint({
    method: 'GET',
    path: '/v1/connect/sessions/:sessionId/permissions-update',
    tags: ['connect'],
    summary: 'A fix session: what to apply to give the account the permissions it needs',
    params: connectSessionParamsSchema,
    responses: { 200: permissionsUpdateSchema },
    anonymous: true,
  }),
  complete: defineEndpoint({
    method: 'POST',
    path: '/v1/connect/sessions/:sessionId/complete',
    tags: ['connect'],
    summary: 'Connect the account (or apply the fix) and complete the session',
    description:
      'A `connect` session takes the account as POST /v1/accounts does (a role of the session’s own connection, or access keys) and creates at most one; a `fix` session takes new keys, a new role, or `{ "verify": true }`. On success the session is completed, `connect_session.completed` is sent, and `redirectTo` says where the browser goes.',
    params: connectSessionParamsSchema,
    body: hostedAccountRequestSchema.or(hostedFixRequestSchema),
    responses: { 200: hostedSessionSchema },
    anonymous: true,
  }),
  cancel: defineEndpoint({
    method: 'POST',
    path: '/v1/connect/sessions/:sessionId/cancel',
    tags: ['connect'],
    summary: 'The customer gives up: the session is cancelled and `redirectTo` says where to go',
    params: connectSessionParamsSchema,
    responses: { 200: hostedSessionSchema },
    anonymous: true,
  }),
};

/** The operator's brand and the return-URL allow-list. */
export const brandingEndpoints = {
  get: defineEndpoint({
    method: 'GET',
    path: '/v1/branding',
    tags: ['branding'],
    summary: 'The platform’s name, logo, colours and support link, as customers see them',
    responses: { 200: brandingSchema },
    anonymous: true,
  }),
  logo: defineEndpoint({
    method: 'GET',
    path: '/v1/branding/logo',
    tags: ['branding'],
    summary: 'The platform’s logo (PNG, JPEG or WebP); 404 when none',
    anonymous: true,
  }),
  settings: defineEndpoint({
    method: 'GET',
    path: '/v1/operator/settings',
    tags: ['branding'],
    summary: 'The operator’s brand and return-URL allow-list',
    responses: { 200: operatorSettingsSchema },
  }),
  updateSettings: defineEndpoint({
    method: 'PATCH',
    path: '/v1/operator/settings',
    tags: ['branding'],
    summary: 'Change the brand or the return-URL allow-list',
    body: updateOperatorSettingsRequestSchema,
    responses: { 200: operatorSettingsSchema },
  }),
  putLogo: defineEndpoint({
    method: 'PUT',
    path: '/v1/operator/settings/logo',
    tags: ['branding'],
    summary:
      'Upload the logo: the image itself as the body (image/png, image/jpeg or image/webp, at most 256 KiB)',
    responses: { 200: operatorSettingsSchema },
  }),
  deleteLogo: defineEndpoint({
    method: 'DELETE',
    path: '/v1/operator/settings/logo',
    tags: ['branding'],
    summary: 'Remove the logo',
    responses: { 200: operatorSettingsSchema },
  }),
};
