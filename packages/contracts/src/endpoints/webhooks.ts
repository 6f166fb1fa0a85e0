import { idParamsSchema } from '../common.ts';
import { defineEndpoint } from '../endpoint.ts';
import {
  createdWebhookResponseSchema,
  createWebhookRequestSchema,
  listDeliveriesQuerySchema,
  listWebhooksQuerySchema,
  rotateWebhookSecretRequestSchema,
  updateWebhookRequestSchema,
  webhookDeliveryPageSchema,
  webhookDeliverySchema,
  webhookEndpointListSchema,
  webhookEndpointSchema,
} from '../fleet.ts';

/** Webhook endpoints, their secrets and their deliveries. */
export const webhooksEndpoints = {
  create: defineEndpoint({
    method: 'POST',
    path: '/v1/webhooks',
    tags: ['webhooks'],
    summary: 'Register a webhook endpoint; its signing secret is in this response only',
    description:
      'The URL must be http(s) and resolve to public addresses only. An operator without Onramp-Tenant registers an endpoint that receives every tenant’s events.',
    body: createWebhookRequestSchema,
    responses: { 201: createdWebhookResponseSchema },
  }),
  list: defineEndpoint({
    method: 'GET',
    path: '/v1/webhooks',
    tags: ['webhooks'],
    summary: 'List webhook endpoints (never their secrets)',
    description: 'By id ascending; pass `next` as `cursor` for the following page.',
    query: listWebhooksQuerySchema,
    responses: { 200: webhookEndpointListSchema },
  }),
  get: defineEndpoint({
    method: 'GET',
    path: '/v1/webhooks/:id',
    tags: ['webhooks'],
    summary: 'Get a webhook endpoint',
    params: idParamsSchema,
    responses: { 200: webhookEndpointSchema },
  }),
  update: defineEndpoint({
    method: 'PATCH',
    path: '/v1/webhooks/:id',
    tags: ['webhooks'],
    summary: 'Change a webhook endpoint’s URL, events, description or whether it is enabled',
    params: idParamsSchema,
    body: updateWebhookRequestSchema,
    responses: { 200: webhookEndpointSchema },
  }),
  rotateSecret: defineEndpoint({
    method: 'POST',
    path: '/v1/webhooks/:id/rotate-secret',
    tags: ['webhooks'],
    summary: 'Replace a webhook endpoint’s signing secret; the new one is in this response only',
    description:
      'The replaced secret keeps signing every delivery beside the new one (`Onramp-Webhook-Signature: v1=<new> v1=<old>`) for `previousSecretValidForHours` (default 24, at most 168; 0 stops it at once), so receivers can move to the new secret without losing a delivery. `previousSecretExpiresAt` on the endpoint says until when.',
    params: idParamsSchema,
    body: rotateWebhookSecretRequestSchema,
    responses: { 200: createdWebhookResponseSchema },
  }),
  delete: defineEndpoint({
    method: 'DELETE',
    path: '/v1/webhooks/:id',
    tags: ['webhooks'],
    summary: 'Delete a webhook endpoint, its secret and its delivery log',
    params: idParamsSchema,
  }),
  deliveries: defineEndpoint({
    method: 'GET',
    path: '/v1/webhooks/:id/deliveries',
    tags: ['webhooks'],
    summary: 'The delivery log of an endpoint, newest first, with the last response',
    params: idParamsSchema,
    query: listDeliveriesQuerySchema,
    responses: { 200: webhookDeliveryPageSchema },
  }),
  test: defineEndpoint({
    method: 'POST',
    path: '/v1/webhooks/:id/test',
    tags: ['webhooks'],
    summary: 'Send a test event (webhook.test) to the endpoint now',
    description:
      'Returns the delivery with the endpoint’s answer. A failed test is retried like any delivery.',
    params: idParamsSchema,
    responses: { 200: webhookDeliverySchema },
  }),
};
