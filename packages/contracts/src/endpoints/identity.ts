import { z } from 'zod';
import { idParamsSchema } from '../common.ts';
import { defineEndpoint } from '../endpoint.ts';
import {
  apiTokenListSchema,
  apiTokenSchema,
  auditPageSchema,
  auditQuerySchema,
  createdTokenResponseSchema,
  createTenantRequestSchema,
  createTokenRequestSchema,
  createUserRequestSchema,
  listTenantsQuerySchema,
  listTokensQuerySchema,
  listUsersQuerySchema,
  passwordResetLinkSchema,
  tenantListSchema,
  tenantSchema,
  updateTenantRequestSchema,
  updateUserRequestSchema,
  userListSchema,
  userSchema,
} from '../identity.ts';

/** The audit log. */
export const auditEndpoints = {
  list: defineEndpoint({
    method: 'GET',
    path: '/v1/audit',
    tags: ['audit'],
    summary: 'The audit log, newest first',
    description: 'Pass `next` as `cursor` for the following page.',
    query: auditQuerySchema,
    responses: { 200: auditPageSchema },
  }),
};

/** Tenants (the operator's). */
export const tenantsEndpoints = {
  list: defineEndpoint({
    method: 'GET',
    path: '/v1/tenants',
    tags: ['tenants'],
    summary: 'List tenants (operator)',
    description: 'By id ascending; pass `next` as `cursor` for the following page.',
    query: listTenantsQuerySchema,
    responses: { 200: tenantListSchema },
  }),
  create: defineEndpoint({
    method: 'POST',
    path: '/v1/tenants',
    tags: ['tenants'],
    summary: 'Create a tenant, optionally with its first admin (operator)',
    body: createTenantRequestSchema,
    responses: { 201: tenantSchema },
  }),
  get: defineEndpoint({
    method: 'GET',
    path: '/v1/tenants/:id',
    tags: ['tenants'],
    summary: 'A tenant (operator)',
    params: idParamsSchema,
    responses: { 200: tenantSchema },
  }),
  update: defineEndpoint({
    method: 'PATCH',
    path: '/v1/tenants/:id',
    tags: ['tenants'],
    summary: 'Rename a tenant or change its limits (operator)',
    params: idParamsSchema,
    body: updateTenantRequestSchema,
    responses: { 200: tenantSchema },
  }),
  delete: defineEndpoint({
    method: 'DELETE',
    path: '/v1/tenants/:id',
    tags: ['tenants'],
    summary: 'Delete a tenant and everything it owns (operator)',
    params: idParamsSchema,
    responses: { 204: z.null() },
  }),
};

/** API tokens. */
export const tokensEndpoints = {
  list: defineEndpoint({
    method: 'GET',
    path: '/v1/tokens',
    tags: ['tokens'],
    summary: 'List API tokens (never their secrets)',
    description:
      'Newest first, revoked and expired ones too; pass `next` as `cursor` for the following page.',
    query: listTokensQuerySchema,
    responses: { 200: apiTokenListSchema },
  }),
  create: defineEndpoint({
    method: 'POST',
    path: '/v1/tokens',
    tags: ['tokens'],
    summary: 'Create an API token; its secret is in this response only',
    description:
      'From a console session, or with a token holding `admin` (a machine token, for automation without a session). A token made with a token acts for the same person as its parent, gets only scopes its parent holds now (403 naming the others), never outlives it (asking for longer, or for no expiry, gets the parent’s expiry) and is revoked with it; `parentTokenId` names the parent. `credentials:vend` is the operator’s to hand out: from an operator session, or an operator token holding it, naming the tenant in Onramp-Tenant.',
    body: createTokenRequestSchema,
    responses: { 201: createdTokenResponseSchema },
  }),
  revoke: defineEndpoint({
    method: 'DELETE',
    path: '/v1/tokens/:id',
    tags: ['tokens'],
    summary: 'Revoke an API token',
    description: 'Revokes every token made with it too (and those made with them), at once.',
    params: idParamsSchema,
    responses: { 200: apiTokenSchema },
  }),
};

/** A tenant's users. */
export const usersEndpoints = {
  createResetLink: defineEndpoint({
    method: 'POST',
    path: '/v1/users/:id/password-reset',
    tags: ['users'],
    summary:
      'Make a single-use password reset link for a user (tenant admin, operator); shown once',
    params: idParamsSchema,
    responses: { 201: passwordResetLinkSchema },
  }),
  list: defineEndpoint({
    method: 'GET',
    path: '/v1/users',
    tags: ['users'],
    summary: 'List the tenant’s users',
    description: 'By id ascending; pass `next` as `cursor` for the following page.',
    query: listUsersQuerySchema,
    responses: { 200: userListSchema },
  }),
  create: defineEndpoint({
    method: 'POST',
    path: '/v1/users',
    tags: ['users'],
    summary: 'Add a user to the tenant',
    body: createUserRequestSchema,
    responses: { 201: userSchema },
  }),
  update: defineEndpoint({
    method: 'PATCH',
    path: '/v1/users/:id',
    tags: ['users'],
    summary: 'Rename, change the role of, or disable a user',
    params: idParamsSchema,
    body: updateUserRequestSchema,
    responses: { 200: userSchema },
  }),
  delete: defineEndpoint({
    method: 'DELETE',
    path: '/v1/users/:id',
    tags: ['users'],
    summary: 'Remove a user from the tenant',
    params: idParamsSchema,
    responses: { 204: z.null() },
  }),
};
