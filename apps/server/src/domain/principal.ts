import { AppError, forbidden } from '../http/problems.ts';

export const SCOPES = ['accounts:read', 'accounts:write', 'credentials:vend', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];
export type Role = 'operator_admin' | 'tenant_admin' | 'tenant_viewer';

/** Who is asking: a signed-in user (console) or an API token (CLI, platform services). */
export type Principal =
  | {
      kind: 'user';
      userId: string;
      email: string;
      role: Role;
      /** null for operator admins. */
      tenantId: string | null;
      sessionId: string;
      csrfToken: string;
    }
  | {
      kind: 'token';
      tokenId: string;
      tenantId: string | null;
      scopes: readonly Scope[];
      createdBy: string;
    };

const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  operator_admin: ['accounts:read', 'accounts:write', 'admin'],
  tenant_admin: ['accounts:read', 'accounts:write', 'admin'],
  tenant_viewer: ['accounts:read'],
};

export function scopesOf(principal: Principal): readonly Scope[] {
  return principal.kind === 'token' ? principal.scopes : ROLE_SCOPES[principal.role];
}

export function isOperator(principal: Principal): boolean {
  return principal.kind === 'user'
    ? principal.role === 'operator_admin'
    : principal.tenantId === null && principal.scopes.includes('admin');
}

/**
 * Acts for whichever tenant it names: an operator admin, or a token made without a tenant (only an
 * operator can make one, and `effectiveScopes` kills it if its creator is not one). Such a token may
 * hold narrow scopes (a platform service's `credentials:vend` alone): it still names its tenant, and
 * its scopes still bound what it may do there.
 */
export function actsForAnyTenant(principal: Principal): boolean {
  return principal.kind === 'user'
    ? principal.role === 'operator_admin'
    : principal.tenantId === null;
}

export function actorOf(principal: Principal | undefined): {
  actorType: 'user' | 'token' | 'system';
  actorId: string | null;
} {
  if (!principal) return { actorType: 'system', actorId: null };
  return principal.kind === 'user'
    ? { actorType: 'user', actorId: principal.userId }
    : { actorType: 'token', actorId: principal.tokenId };
}

export function requireScope(principal: Principal | undefined, scope: Scope): Principal {
  if (!principal) throw new AppError('unauthenticated');
  if (!scopesOf(principal).includes(scope)) {
    throw forbidden(
      principal.kind === 'token'
        ? `This token lacks the ${scope} scope.`
        : `Your role (${principal.role.replace('_', ' ')}) may not do this; it needs ${scope}.`,
    );
  }
  return principal;
}

/**
 * The tenant a request acts on. A tenant user or token acts on its own tenant; an operator names one
 * with the Onramp-Tenant header (or tenant query parameter).
 */
export function requireTenant(
  principal: Principal | undefined,
  scope: Scope,
  requested?: string,
): { principal: Principal; tenantId: string } {
  const p = requireScope(principal, scope);
  if (p.tenantId) {
    if (requested && requested !== p.tenantId)
      throw forbidden('You may act only on your own tenant.');
    return { principal: p, tenantId: p.tenantId };
  }
  if (!actsForAnyTenant(p)) throw forbidden('This token belongs to no tenant.');
  if (!requested) {
    throw new AppError(
      'invalid_request',
      'Operators choose the tenant to act on with the Onramp-Tenant header.',
      [{ field: 'Onramp-Tenant', code: 'required', message: 'Name the tenant (ten_…) to act on.' }],
    );
  }
  return { principal: p, tenantId: requested };
}

export function requireOperator(principal: Principal | undefined): Principal {
  const p = requireScope(principal, 'admin');
  if (!isOperator(p)) throw forbidden('Only the operator may do this.');
  return p;
}
