import {
  accountCheckPageSchema,
  accountCheckSchema,
  listChecksQuerySchema,
} from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { AccountCheckRecord } from '../../domain/account.ts';
import { abortOnClose } from '../../http/abort-on-close.ts';
import { callerOf, idParamsSchema, tenantOf } from '../../http/route-helpers.ts';
import type { HealthService } from './health-service.ts';

function toCheckResponse(record: AccountCheckRecord): z.output<typeof accountCheckSchema> {
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
  const tags = ['accounts'];

  r.post(
    '/v1/accounts/:id/check',
    {
      schema: {
        tags,
        summary: 'Check an account’s health now',
        description:
          'Runs the validation of connect time with the stored credentials and records the result as the account’s health, every step with its own outcome. When AWS cannot be reached (or does not answer the identity or external-ID check), the account keeps its health, marked stale, and the check says so; when only the permissions cannot be simulated, a valid or degraded account keeps its status and the permissions check says why.',
        params: idParamsSchema,
        response: { 200: accountCheckSchema },
      },
    },
    async (request, reply) => {
      const record = await deps.health.checkNow(
        callerOf(request, 'accounts:write'),
        request.params.id,
        { signal: abortOnClose(reply) },
      );
      return toCheckResponse(record);
    },
  );

  r.get(
    '/v1/accounts/:id/checks',
    {
      schema: {
        tags,
        summary: 'An account’s health checks, newest first',
        params: idParamsSchema,
        querystring: listChecksQuerySchema,
        response: { 200: accountCheckPageSchema },
      },
    },
    async (request) => {
      const page = await deps.health.listChecks(
        tenantOf(request, 'accounts:read'),
        request.params.id,
        request.query,
      );
      return { checks: page.checks.map(toCheckResponse), next: page.next };
    },
  );
}
