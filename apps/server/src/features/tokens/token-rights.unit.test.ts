import { describe, expect, it } from 'vitest';
import type { Scope } from '../../domain/principal.ts';
import { effectiveScopes, type TokenCreator } from './token-rights.ts';

const ALL: Scope[] = ['accounts:read', 'accounts:write', 'credentials:vend', 'admin'];
const admin = (tenantId: string | null, extra: Partial<TokenCreator> = {}): TokenCreator => ({
  role: 'tenant_admin',
  tenantId,
  disabled: false,
  ...extra,
});

describe('a token’s effective scopes', () => {
  it.each<[string, TokenCreator | undefined, string | null, Scope[]]>([
    [
      'an operator’s token keeps every scope',
      { role: 'operator_admin', tenantId: null, disabled: false },
      'ten_a',
      ALL,
    ],
    [
      'a tenant admin’s loses vending, which only the operator grants',
      admin('ten_a'),
      'ten_a',
      ['accounts:read', 'accounts:write', 'admin'],
    ],
    [
      'a viewer’s (a demoted admin’s) has none',
      admin('ten_a', { role: 'tenant_viewer' }),
      'ten_a',
      [],
    ],
    ['a disabled creator’s has none', admin('ten_a', { disabled: true }), 'ten_a', []],
    ['a deleted creator’s has none', undefined, 'ten_a', []],
    ['a creator of another tenant lends none', admin('ten_b'), 'ten_a', []],
    ['a tenant admin’s operator-wide token has none', admin('ten_a'), null, []],
  ])('%s', (_case, creator, tenantId, expected) => {
    expect(effectiveScopes(ALL, tenantId, creator)).toEqual(expected);
  });
});
