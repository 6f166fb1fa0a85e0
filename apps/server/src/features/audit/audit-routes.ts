import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { isOperator, requireScope, requireTenant } from '../../domain/principal.ts';
import { decodeCursor, encodeCursor } from '../../http/pagination.ts';
import { mount } from '../../http/route.ts';
import { requestedTenant } from '../../http/route-helpers.ts';
import type { AuditRepository } from './audit-repository.ts';

/** What the audit route uses: the log's reading, which only this feature has. */
export interface AuditRoutesDeps {
  audit: Pick<AuditRepository, 'list'>;
}

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
  mount(r, api.audit.list, {
    handler: async (request) => {
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
  });
}
