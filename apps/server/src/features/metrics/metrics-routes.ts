import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../http/context.ts';
import { AppError } from '../../http/problems.ts';
import { PROMETHEUS_CONTENT_TYPE } from './metrics-registry.ts';

export const METRICS_PATH = '/metrics';

/**
 * GET /metrics in Prometheus' text format. Open when no metrics token is configured (scraped from
 * inside the operator's network); with ONRAMP_METRICS_TOKEN, only `Authorization: Bearer <token>`.
 * The API's own tokens do not open it, and it says nothing about any tenant beyond counts.
 */
export async function registerMetricsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const expected = ctx.metricsToken ? Buffer.from(`Bearer ${ctx.metricsToken}`) : undefined;
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
    return reply.type(PROMETHEUS_CONTENT_TYPE).send(await ctx.metrics.render());
  });
}
