import { type accountCheckSchema, api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { AccountCheckRecord } from '../../domain/account.ts';
import { abortOnClose } from '../../http/abort-on-close.ts';
import { mount } from '../../http/route.ts';
import { callerOf, tenantOf } from '../../http/route-helpers.ts';
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

/** What the health routes use. */
export interface HealthRoutesDeps {
  health: HealthService;
}

export async function registerHealthRoutes(
  app: FastifyInstance,
  deps: HealthRoutesDeps,
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

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
