import {
  api,
  type WebhookEventType,
  type webhookDeliverySchema,
  type webhookEndpointSchema,
} from '@onramp/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { actorOf, isOperator, requireScope, requireTenant } from '../../domain/principal.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { mount } from '../../http/route.ts';
import { requestedTenant } from '../../http/route-helpers.ts';
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

  mount(r, api.webhooks.create, {
    handler: async (request, reply) => {
      const created = await deps.webhooks.createEndpoint(webhookCaller(request), request.body);
      return reply
        .status(201)
        .send({ endpoint: toEndpointResponse(created.endpoint), secret: created.secret });
    },
  });

  mount(r, api.webhooks.list, {
    handler: async (request) => {
      const { owner } = webhookCaller(request);
      const page = await deps.webhooks.listEndpoints(owner, request.query);
      return { endpoints: page.endpoints.map(toEndpointResponse), next: page.next };
    },
  });

  mount(r, api.webhooks.get, {
    handler: async (request) => {
      const { owner } = webhookCaller(request);
      return toEndpointResponse(await deps.webhooks.getEndpoint(owner, request.params.id));
    },
  });

  mount(r, api.webhooks.update, {
    handler: async (request) => {
      const endpoint = await deps.webhooks.updateEndpoint(
        webhookCaller(request),
        request.params.id,
        request.body,
      );
      return toEndpointResponse(endpoint);
    },
  });

  mount(r, api.webhooks.rotateSecret, {
    handler: async (request) => {
      const rotated = await deps.webhooks.rotateSecret(
        webhookCaller(request),
        request.params.id,
        request.body,
      );
      return { endpoint: toEndpointResponse(rotated.endpoint), secret: rotated.secret };
    },
  });

  mount(r, api.webhooks.delete, {
    handler: async (request, reply) => {
      await deps.webhooks.removeEndpoint(webhookCaller(request), request.params.id);
      return reply.status(204).send();
    },
  });

  mount(r, api.webhooks.deliveries, {
    handler: async (request) => {
      const { owner } = webhookCaller(request);
      const page = await deps.webhooks.listDeliveries(owner, request.params.id, request.query);
      return { deliveries: page.deliveries.map(toDeliveryResponse), next: page.next };
    },
  });

  mount(r, api.webhooks.test, {
    handler: async (request) => {
      const delivery = await deps.webhooks.sendTest(webhookCaller(request), request.params.id);
      return toDeliveryResponse(delivery);
    },
  });
}
