import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../http/problems.ts';
import { type MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from './metrics-registry.ts';

export const METRICS_PATH = '/metrics';

/** What /metrics uses: the registry to render and the token that opens it, if any. */
export interface MetricsRoutesDeps {
  metrics: Pick<MetricsRegistry, 'render'>;
  metricsToken?: string | undefined;
}

/**
 * GET /metrics in Prometheus' text format. Open when no metrics token is configured (scraped from
 * inside the operator's network); with ONRAMP_METRICS_TOKEN, only `Authorization: Bearer <token>`.
 * The API's own tokens do not open it, and it says nothing about any tenant beyond counts.
 */
export async function registerMetricsRoutes(
  app: FastifyInstance,
  deps: MetricsRoutesDeps,
): Promise<void> {
  const expected = deps.metricsToken ? Buffer.from(`Bearer ${deps.metricsToken}`) : undefined;
  app.get(METRICS_PATH, { schema: { hide: true } }, async (request, reply) => {
    if (expected) {
      const presented = Buffer.from(request.headers.authorization ?? '');
      if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
        throw new AppError(
          'unauthenticated',
          'Send the metrics token (ONRAMP_METRICS_TOKEN) as Authorization: Bearer ….',
        );
      }
    }
    return reply.type(PROMETHEUS_CONTENT_TYPE).send(await deps.metrics.render());
  });
}
