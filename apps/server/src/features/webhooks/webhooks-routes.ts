import {
  createdWebhookResponseSchema,
  createWebhookRequestSchema,
  listDeliveriesQuerySchema,
  listWebhooksQuerySchema,
  rotateWebhookSecretRequestSchema,
  updateWebhookRequestSchema,
  type WebhookEventType,
  webhookDeliveryPageSchema,
  webhookDeliverySchema,
  webhookEndpointListSchema,
  webhookEndpointSchema,
} from '@onramp/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { requestMeta } from '../../http/request-meta.ts';
import { idParamsSchema, requestedTenant } from '../../http/route-helpers.ts';
import { actorOf, isOperator, requireScope, requireTenant } from '../auth/principal.ts';
import type { WebhookDelivery, WebhookEndpoint } from './webhooks-repository.ts';
import type { WebhookCaller, WebhooksService } from './webhooks-service.ts';

/** What the webhooks routes use: the endpoints' service, without its outbox (publish, purge). */
export interface WebhooksRoutesDeps {
  webhooks: Pick<
    WebhooksService,
    | 'createEndpoint'
    | 'listEndpoints'
    | 'getEndpoint'
    | 'updateEndpoint'
    | 'rotateSecret'
    | 'removeEndpoint'
    | 'listDeliveries'
    | 'sendTest'
  >;
}

/**
 * Whose endpoints a request is about: a tenant admin's own tenant's; the operator's own (every
 * tenant's events) when the operator names no tenant, or the named tenant's when it does.
 */
function webhookCaller(request: FastifyRequest): WebhookCaller {
  const principal = requireScope(request.principal, 'admin');
  const requested = requestedTenant(request);
  const owner =
    isOperator(principal) && !requested
      ? null
      : requireTenant(principal, 'admin', requested).tenantId;
  return { owner, ...actorOf(principal), ...requestMeta(request) };
}

/** The allow-list of an endpoint: never its secret. */
export function toEndpointResponse(
  endpoint: WebhookEndpoint,
): z.output<typeof webhookEndpointSchema> {
  return {
    id: endpoint.id,
    scope: endpoint.tenantId === null ? 'operator' : 'tenant',
    tenantId: endpoint.tenantId,
    url: endpoint.url,
    description: endpoint.description,
    events: endpoint.events as WebhookEventType[],
    enabled: endpoint.enabled,
    previousSecretExpiresAt: endpoint.previousSecretExpiresAt,
    createdAt: endpoint.createdAt,
    updatedAt: endpoint.updatedAt,
  };
}

function toDeliveryResponse(delivery: WebhookDelivery): z.output<typeof webhookDeliverySchema> {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    status: delivery.status,
    attempts: delivery.attempts,
    nextAttemptAt: delivery.nextAttemptAt,
    lastAttemptAt: delivery.lastAttemptAt,
    lastStatusCode: delivery.lastStatusCode,
    lastResponseExcerpt: delivery.lastResponseExcerpt,
    lastError: delivery.lastError,
    deliveredAt: delivery.deliveredAt,
    createdAt: delivery.createdAt,
  };
}

export async function registerWebhooksRoutes(
  app: FastifyInstance,
  deps: WebhooksRoutesDeps,
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['webhooks'];

  r.post(
    '/v1/webhooks',
    {
      schema: {
        tags,
        summary: 'Register a webhook endpoint; its signing secret is in this response only',
        description:
          'The URL must be http(s) and resolve to public addresses only. An operator without Onramp-Tenant registers an endpoint that receives every tenant’s events.',
        body: createWebhookRequestSchema,
        response: { 201: createdWebhookResponseSchema },
      },
    },
    async (request, reply) => {
      const created = await deps.webhooks.createEndpoint(webhookCaller(request), request.body);
      return reply
        .status(201)
        .send({ endpoint: toEndpointResponse(created.endpoint), secret: created.secret });
    },
  );

  r.get(
    '/v1/webhooks',
    {
      schema: {
        tags,
        summary: 'List webhook endpoints (never their secrets)',
        description: 'By id ascending; pass `next` as `cursor` for the following page.',
        querystring: listWebhooksQuerySchema,
        response: { 200: webhookEndpointListSchema },
      },
    },
    async (request) => {
      const { owner } = webhookCaller(request);
      const page = await deps.webhooks.listEndpoints(owner, request.query);
      return { endpoints: page.endpoints.map(toEndpointResponse), next: page.next };
    },
  );

  r.get(
    '/v1/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Get a webhook endpoint',
        params: idParamsSchema,
        response: { 200: webhookEndpointSchema },
      },
    },
    async (request) => {
      const { owner } = webhookCaller(request);
      return toEndpointResponse(await deps.webhooks.getEndpoint(owner, request.params.id));
    },
  );

  r.patch(
    '/v1/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Change a webhook endpoint’s URL, events, description or whether it is enabled',
        params: idParamsSchema,
        body: updateWebhookRequestSchema,
        response: { 200: webhookEndpointSchema },
      },
    },
    async (request) => {
      const endpoint = await deps.webhooks.updateEndpoint(
        webhookCaller(request),
        request.params.id,
        request.body,
      );
      return toEndpointResponse(endpoint);
    },
  );

  r.post(
    '/v1/webhooks/:id/rotate-secret',
    {
      schema: {
        tags,
        summary:
          'Replace a webhook endpoint’s signing secret; the new one is in this response only',
        description:
          'The replaced secret keeps signing every delivery beside the new one (`Onramp-Webhook-Signature: v1=<new> v1=<old>`) for `previousSecretValidForHours` (default 24, at most 168; 0 stops it at once), so receivers can move to the new secret without losing a delivery. `previousSecretExpiresAt` on the endpoint says until when.',
        params: idParamsSchema,
        body: rotateWebhookSecretRequestSchema,
        response: { 200: createdWebhookResponseSchema },
      },
    },
    async (request) => {
      const rotated = await deps.webhooks.rotateSecret(
        webhookCaller(request),
        request.params.id,
        request.body,
      );
      return { endpoint: toEndpointResponse(rotated.endpoint), secret: rotated.secret };
    },
  );

  r.delete(
    '/v1/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Delete a webhook endpoint, its secret and its delivery log',
        params: idParamsSchema,
      },
    },
    async (request, reply) => {
      await deps.webhooks.removeEndpoint(webhookCaller(request), request.params.id);
      return reply.status(204).send();
    },
  );

  r.get(
    '/v1/webhooks/:id/deliveries',
    {
      schema: {
        tags,
        summary: 'The delivery log of an endpoint, newest first, with the last response',
        params: idParamsSchema,
        querystring: listDeliveriesQuerySchema,
        response: { 200: webhookDeliveryPageSchema },
      },
    },
    async (request) => {
      const { owner } = webhookCaller(request);
      const page = await deps.webhooks.listDeliveries(owner, request.params.id, request.query);
      return { deliveries: page.deliveries.map(toDeliveryResponse), next: page.next };
    },
  );

  r.post(
    '/v1/webhooks/:id/test',
    {
      schema: {
        tags,
        summary: 'Send a test event (webhook.test) to the endpoint now',
        description:
          'Returns the delivery with the endpoint’s answer. A failed test is retried like any delivery.',
        params: idParamsSchema,
        response: { 200: webhookDeliverySchema },
      },
    },
    async (request) => {
      const delivery = await deps.webhooks.sendTest(webhookCaller(request), request.params.id);
      return toDeliveryResponse(delivery);
    },
  );
}
