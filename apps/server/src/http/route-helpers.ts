import type { FastifyRequest } from 'fastify';
import type { Caller } from '../domain/caller.ts';
import { actorOf, requireTenant, type Scope } from '../domain/principal.ts';
import { requestMeta } from './request-meta.ts';

/**
 * The tenant an operator names for a request: the Onramp-Tenant header, or ?tenant=, as the auth hook
 * settled it (and checked that it exists), so every route reads the same one.
 */
export function requestedTenant(request: FastifyRequest): string | undefined {
  return request.namedTenant;
}

/** The tenant a request acts on: the caller's own, or the one an operator names. */
export function tenantOf(request: FastifyRequest, scope: Scope): string {
  return requireTenant(request.principal, scope, requestedTenant(request)).tenantId;
}

/** The tenant and who is acting, for a mutation and its audit entry. */
export function callerOf(request: FastifyRequest, scope: Scope): Caller {
  const { principal, tenantId } = requireTenant(request.principal, scope, requestedTenant(request));
  return { tenantId, ...actorOf(principal), ...requestMeta(request) };
}
