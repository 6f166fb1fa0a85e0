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

/**
 * How deep tokens may be nested (a console-made token is depth 0): a bound on the walk up that every
 * uncached lookup of a machine token makes, and on the walk down that a revocation makes.
 */
export const MAX_TOKEN_DEPTH = 8;

/** A token above another in the chain of tokens that made it, as it stands now. */
export interface TokenAncestor {
  id: string;
  tenantId: string | null;
  scopes: readonly Scope[];
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/**
 * What a machine token may do given the tokens above it (its parent first): no more than any of them
 * may, and nothing once one of them is revoked or expired. Its creator is the same person as theirs,
 * and its tenant theirs, or a tenant named by an operator token above it; a chain that breaks either
 * rule, or is deeper than `MAX_TOKEN_DEPTH`, was not made by this server and opens nothing.
 */
export function cutToAncestors(
  scopes: readonly Scope[],
  token: { tenantId: string | null; createdBy: string },
  ancestors: readonly TokenAncestor[],
  now: string,
): Scope[] {
  if (ancestors.length > MAX_TOKEN_DEPTH) return [];
  let kept = [...scopes];
  for (const ancestor of ancestors) {
    if (ancestor.revokedAt !== null) return [];
    if (ancestor.expiresAt !== null && ancestor.expiresAt <= now) return [];
    if (ancestor.createdBy !== token.createdBy) return [];
    if (ancestor.tenantId !== null && ancestor.tenantId !== token.tenantId) return [];
    kept = kept.filter((scope) => ancestor.scopes.includes(scope));
  }
  return kept;
}

/**
 * The expiry of a token made by a token: never later than its parent's. A child asking for longer, or
 * for none, gets the parent's (the 201 shows it), as a Vault child's TTL is capped by its parent's.
 */
export function boundedExpiry(
  requested: string | null,
  parentExpiresAt: string | null,
): string | null {
  if (parentExpiresAt === null) return requested;
  if (requested === null || requested > parentExpiresAt) return parentExpiresAt;
  return requested;
}
