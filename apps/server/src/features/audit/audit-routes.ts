import { auditPageSchema } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../http/context.ts';
import { requestedTenant } from '../../http/route-helpers.ts';
import { isOperator, requireScope, requireTenant } from '../auth/principal.ts';

const querySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.string().regex(/^\d+$/, 'the next value of the previous page').optional(),
  targetId: z.string().max(64).optional(),
});

/** Who did what to which record, newest first. Tenants see their own; the operator sees its own or a tenant's. */
export async function registerAuditRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first',
        querystring: querySchema,
        response: { 200: auditPageSchema },
      },
    },
    async (request) => {
      const principal = requireScope(request.principal, 'admin');
      const requested = requestedTenant(request);
      const tenantId =
        isOperator(principal) && !requested
          ? null
          : requireTenant(principal, 'admin', requested).tenantId;
      const page = await ctx.audit.list(tenantId, {
        limit: request.query.limit,
        ...(request.query.before ? { before: Number(request.query.before) } : {}),
        ...(request.query.targetId ? { targetId: request.query.targetId } : {}),
      });
      return {
        entries: page.entries,
        next: page.nextBefore === null ? null : String(page.nextBefore),
      };
    },
  );
}
