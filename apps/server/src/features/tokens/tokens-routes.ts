import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  actorOf,
  isOperator,
  type Principal,
  requireScope,
  requireTenant,
  type Scope,
} from '../../domain/principal.ts';
import { decodeCursor, toPage } from '../../http/pagination.ts';
import { forbidden, notFound } from '../../http/problems.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { mount } from '../../http/route.ts';
import { requestedTenant } from '../../http/route-helpers.ts';
import { isId } from '../../ids.ts';
import { cannotGrant, type TokensService } from './tokens-service.ts';

/** What the tokens routes use. */
export interface TokensRoutesDeps {
  clock: () => Date;
  tokens: Pick<TokensService, 'list' | 'create' | 'revoke'>;
}

/**
 * The tenant a token request is about: a tenant's own, or, for the operator, the named tenant or none
 * (an operator token, for the platform's own services across tenants).
 */
function tokenTenant(
  principal: Principal | undefined,
  requested: string | undefined,
): { principal: Principal; tenantId: string | null } {
  const p = requireScope(principal, 'admin');
  if (isOperator(p) && !requested) return { principal: p, tenantId: null };
  return requireTenant(p, 'admin', requested);
}

/**
 * Who a new token acts for. From a console session, the signed-in person. From a token (a machine
 * token, for automation without a session), the person that token acts for, with the token as its
 * parent: the new token's scopes must be within the parent's as they stand now (its `admin`, needed to
 * get here, included), so a token can hand out no more than it holds.
 */
function madeBy(
  principal: Principal,
  scopes: readonly Scope[],
): { createdBy: string; parentTokenId?: string } {
  if (principal.kind === 'user') return { createdBy: principal.userId };
  const beyond = scopes.filter((scope) => !principal.scopes.includes(scope));
  if (beyond.length > 0) throw cannotGrant([...new Set(beyond)]);
  return { createdBy: principal.createdBy, parentTokenId: principal.tokenId };
}

export async function registerTokensRoutes(
  app: FastifyInstance,
  deps: TokensRoutesDeps,
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  mount(r, api.tokens.list, {
    handler: async (request) => {
      const { tenantId } = tokenTenant(request.principal, requestedTenant(request));
      const { limit, cursor } = request.query;
      const rows = await deps.tokens.list(tenantId, {
        limit,
        ...(cursor !== undefined ? { before: decodeCursor(cursor, (k) => isId('token', k)) } : {}),
      });
      const page = toPage(rows, limit, (t) => t.id);
      return { tokens: page.items, next: page.next };
    },
  });

  mount(r, api.tokens.create, {
    handler: async (request, reply) => {
      const { principal, tenantId } = tokenTenant(request.principal, requestedTenant(request));
      const { name, scopes, expiresInDays } = request.body;
      // Vending credentials is for the platform's own services: only the operator hands that out.
      if (scopes.includes('credentials:vend') && !isOperator(principal)) {
        throw forbidden('Only the operator may create tokens with the credentials:vend scope.');
      }
      const expiresAt = expiresInDays
        ? new Date(deps.clock().getTime() + expiresInDays * 86_400_000).toISOString()
        : null;
      const created = await deps.tokens.create(
        tenantId,
        { name, scopes, expiresAt, ...madeBy(principal, scopes) },
        { ...actorOf(principal), ...requestMeta(request) },
      );
      return reply.status(201).send(created);
    },
  });

  mount(r, api.tokens.revoke, {
    handler: async (request) => {
      const { principal, tenantId } = tokenTenant(request.principal, requestedTenant(request));
      const revoked = await deps.tokens.revoke(tenantId, request.params.id, {
        ...actorOf(principal),
        ...requestMeta(request),
      });
      if (!revoked) throw notFound('This token');
      return revoked;
    },
  });
}
