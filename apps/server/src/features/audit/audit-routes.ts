import { auditPageSchema, pageQuerySchema } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { decodeCursor, encodeCursor } from '../../http/pagination.ts';
import { requestedTenant } from '../../http/route-helpers.ts';
import { isOperator, requireScope, requireTenant } from '../auth/principal.ts';
import type { AuditRepository } from './audit-repository.ts';

/** What the audit route uses: the log's reading, which only this feature has. */
export interface AuditRoutesDeps {
  audit: Pick<AuditRepository, 'list'>;
}

const querySchema = pageQuerySchema.extend({
  /** The older name of `cursor`, still understood. */
  before: z.string().max(100).optional(),
  targetId: z.string().max(64).optional(),
});

const isSeq = (key: string) => /^\d{1,15}$/.test(key);

/**
 * The entry sequence a page starts before: `cursor`, or `before`, which clients of the first version
 * passed `next` in; that `next` was the bare sequence, so `before` takes that form too.
 */
function startOf(query: { cursor?: string | undefined; before?: string | undefined }) {
  if (query.cursor !== undefined) return Number(decodeCursor(query.cursor, isSeq));
  if (query.before === undefined) return undefined;
  return Number(isSeq(query.before) ? query.before : decodeCursor(query.before, isSeq, 'before'));
}

/** Who did what to which record, newest first. Tenants see their own; the operator sees its own or a tenant's. */
export async function registerAuditRoutes(
  app: FastifyInstance,
  deps: AuditRoutesDeps,
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first',
        description: 'Pass `next` as `cursor` for the following page.',
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
      const before = startOf(request.query);
      const page = await deps.audit.list(tenantId, {
        limit: request.query.limit,
        ...(before !== undefined ? { before } : {}),
        ...(request.query.targetId ? { targetId: request.query.targetId } : {}),
      });
      return {
        entries: page.entries,
        next: page.nextBefore === null ? null : encodeCursor(String(page.nextBefore)),
      };
    },
  );
}
