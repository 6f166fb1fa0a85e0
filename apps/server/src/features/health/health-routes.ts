import { type accountCheckSchema, api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { Database } from '../../adapters/db/schema.ts';
import type { AccountCheckRecord } from '../../domain/account.ts';
import { abortOnClose } from '../../http/abort-on-close.ts';
import { AppError } from '../../http/problems.ts';
import { mount } from '../../http/route.ts';
import { callerOf, tenantOf } from '../../http/route-helpers.ts';
import { createRateLimiter } from '../auth/rate-limits.ts';
import type { HealthService } from './health-service.ts';

export function toCheckResponse(record: AccountCheckRecord): z.output<typeof accountCheckSchema> {
  return {
    id: record.id,
    at: record.at,
    status: record.status,
    previousStatus: record.previousStatus,
    changed: record.changed,
    stale: record.stale,
    checks: record.checks,
    findings: record.findings,
    errors: record.errors,
    durationMs: record.durationMs,
    trigger: record.trigger,
  };
}

/** What the health routes use: the service, and the database and clock of the re-check limiter. */
export interface HealthRoutesDeps {
  health: HealthService;
  db: Kysely<Database>;
  clock: () => Date;
}

/**
 * Re-check requests per tenant and window. Each is one statement, and the checks it queues run at the
 * scheduler's pace whatever the number of requests; the limit keeps a loop of requests (or a hundred
 * at once) from writing the whole fleet's schedule over and over.
 */
export const RECHECK_REQUESTS = 10;
export const RECHECK_WINDOW_SECONDS = 60;

export async function registerHealthRoutes(
  app: FastifyInstance,
  deps: HealthRoutesDeps,
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const limiter = createRateLimiter(deps.db, deps.clock);

  mount(r, api.accounts.recheck, {
    handler: async (request) => {
      const caller = callerOf(request, 'accounts:write');
      const limit = await limiter.hit(
        `recheck:${caller.tenantId}`,
        RECHECK_REQUESTS,
        RECHECK_WINDOW_SECONDS,
      );
      if (!limit.allowed)
        throw new AppError(
          'rate_limited',
          `Too many re-check requests for this tenant; try again in ${limit.retryAfter} seconds.`,
          [],
          { 'retry-after': String(limit.retryAfter) },
        );
      return { scheduled: await deps.health.requestChecks(caller, request.body) };
    },
  });

  mount(r, api.accounts.check, {
    handler: async (request, reply) => {
      const record = await deps.health.checkNow(
        callerOf(request, 'accounts:write'),
        request.params.id,
        { signal: abortOnClose(reply) },
      );
      return toCheckResponse(record);
    },
  });

  mount(r, api.accounts.checks, {
    handler: async (request) => {
      const page = await deps.health.listChecks(
        tenantOf(request, 'accounts:read'),
        request.params.id,
        request.query,
      );
      return { checks: page.checks.map(toCheckResponse), next: page.next };
    },
  });
}
