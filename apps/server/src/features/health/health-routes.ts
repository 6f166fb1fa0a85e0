import { type accountCheckSchema, api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { abortOnClose } from '../../http/abort-on-close.ts';
import type { AppContext } from '../../http/context.ts';
import { mount } from '../../http/route.ts';
import { callerOf, tenantOf } from '../../http/route-helpers.ts';
import type { AccountCheckRecord } from './health-repository.ts';

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

export async function registerHealthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  mount(r, api.accounts.check, {
    handler: async (request, reply) => {
      const record = await ctx.health.checkNow(
        callerOf(request, 'accounts:write'),
        request.params.id,
        { signal: abortOnClose(reply) },
      );
      return toCheckResponse(record);
    },
  });

  mount(r, api.accounts.checks, {
    handler: async (request) => {
      const page = await ctx.health.listChecks(
        tenantOf(request, 'accounts:read'),
        request.params.id,
        request.query,
      );
      return { checks: page.checks.map(toCheckResponse), next: page.next };
    },
  });
}
