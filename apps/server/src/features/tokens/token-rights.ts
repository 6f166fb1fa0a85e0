import { GRANTABLE_SCOPES } from '@onramp/contracts';
import type { Role, Scope } from '../../domain/principal.ts';

/**
 * The scopes a user in each role may put on a token they make. An operator hands out every scope
 * (credentials:vend is the operator's alone); a tenant admin everything but vending; a viewer nothing,
 * since viewers cannot make tokens at all. One table in the contracts, so the console offers the same.
 */
const GRANTABLE: Record<Role, readonly Scope[]> = GRANTABLE_SCOPES;

export function scopesGrantableBy(role: Role): readonly Scope[] {
  return GRANTABLE[role];
}

/** The creator of a token as it stands now, or undefined once that user is deleted. */
export interface TokenCreator {
  role: Role;
  tenantId: string | null;
  disabled: boolean;
}

/**
 * What a token may do today: its scopes, cut to what its creator could grant now. A token acts with
 * the authority of the person who made it, so it never outlives or outranks them: none at all once
 * they are deleted or disabled, or if they belong to another tenant than the token. An empty answer
 * means the token is dead.
 */
export function effectiveScopes(
  scopes: readonly Scope[],
  tokenTenantId: string | null,
  creator: TokenCreator | undefined,
): Scope[] {
  if (!creator || creator.disabled) return [];
  if (creator.tenantId !== null && creator.tenantId !== tokenTenantId) return [];
  const grantable = scopesGrantableBy(creator.role);
  return scopes.filter((scope) => grantable.includes(scope));
}

/** Whether every scope of a token is still one its creator, now in `role`, could grant. */
export function isWithinRole(scopes: readonly Scope[], role: Role): boolean {
  const grantable = scopesGrantableBy(role);
  return scopes.every((scope) => grantable.includes(scope));
}
