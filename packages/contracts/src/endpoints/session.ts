import { z } from 'zod';
import { defineEndpoint } from '../endpoint.ts';
import {
  changePasswordRequestSchema,
  loginRequestSchema,
  redeemPasswordResetRequestSchema,
  sessionResponseSchema,
  setupRequestSchema,
} from '../identity.ts';

/** Signing in and out, the first set-up, and passwords (one's own, or by a reset link). */
export const sessionEndpoints = {
  setup: defineEndpoint({
    method: 'POST',
    path: '/v1/setup',
    tags: ['session'],
    summary: 'Create the first operator admin with the one-time set-up token the server printed',
    anonymous: true,
    body: setupRequestSchema,
    responses: { 201: sessionResponseSchema },
  }),
  login: defineEndpoint({
    method: 'POST',
    path: '/v1/session',
    tags: ['session'],
    summary: 'Sign in with email and password; sets the session cookie',
    anonymous: true,
    body: loginRequestSchema,
    responses: { 200: sessionResponseSchema },
  }),
  get: defineEndpoint({
    method: 'GET',
    path: '/v1/session',
    tags: ['session'],
    summary: 'The signed-in user and the CSRF token to send with changes',
    responses: { 200: sessionResponseSchema },
  }),
  logout: defineEndpoint({
    method: 'DELETE',
    path: '/v1/session',
    tags: ['session'],
    summary: 'Sign out',
    responses: { 204: z.null() },
  }),
  changePassword: defineEndpoint({
    method: 'PUT',
    path: '/v1/me/password',
    tags: ['users'],
    summary: 'Change your own password; your other sessions end',
    body: changePasswordRequestSchema,
    responses: { 204: z.null() },
  }),
  resetPassword: defineEndpoint({
    method: 'POST',
    path: '/v1/password-reset',
    tags: ['users'],
    summary: 'Set a new password with a reset link’s token; every session of the user ends',
    anonymous: true,
    body: redeemPasswordResetRequestSchema,
    responses: { 204: z.null() },
  }),
};
