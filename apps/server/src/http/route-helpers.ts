import type { FastifyRequest } from 'fastify';
import { z } from 'zod';

/** The tenant an operator names for a request: the Onramp-Tenant header, or ?tenant=. */
export function requestedTenant(request: FastifyRequest): string | undefined {
  const header = request.headers['onramp-tenant'];
  if (typeof header === 'string' && header) return header;
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.tenant === 'string' ? query.tenant : undefined;
}

export const idParamsSchema = z.object({ id: z.string().min(1).max(64) });
