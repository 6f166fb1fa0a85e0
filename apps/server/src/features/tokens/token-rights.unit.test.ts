import { describe, expect, it } from 'vitest';
import type { Scope } from '../../domain/principal.ts';
import {
  boundedExpiry,
  cutToAncestors,
  effectiveScopes,
  MAX_TOKEN_DEPTH,
  type TokenAncestor,
  type TokenCreator,
} from './token-rights.ts';

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

describe('a machine token under the tokens that made it', () => {
  const NOW = '2026-12-03T12:00:00.000Z';
  const token = { tenantId: 'ten_a', createdBy: 'usr_1' };
  const parent = (extra: Partial<TokenAncestor> = {}): TokenAncestor => ({
    id: 'token_p',
    tenantId: 'ten_a',
    scopes: ['admin', 'accounts:read'],
    createdBy: 'usr_1',
    expiresAt: null,
    revokedAt: null,
    ...extra,
  });

  it.each<[string, TokenAncestor[], Scope[]]>([
    ['keeps what its parent holds', [parent()], ['accounts:read']],
    ['is cut to what every ancestor holds', [parent(), parent({ scopes: ['admin'] })], []],
    ['dies with a revoked parent', [parent({ revokedAt: NOW })], []],
    ['dies with a revoked grandparent', [parent(), parent({ revokedAt: NOW })], []],
    ['dies with an expired parent', [parent({ expiresAt: NOW })], []],
    [
      'lives under a parent that expires later',
      [parent({ expiresAt: '2026-12-04T00:00:00.000Z' })],
      ['accounts:read'],
    ],
    ['dies under another person’s token', [parent({ createdBy: 'usr_2' })], []],
    ['dies under another tenant’s token', [parent({ tenantId: 'ten_b' })], []],
    ['lives under an operator token', [parent({ tenantId: null })], ['accounts:read']],
    ['dies when nested too deep', Array.from({ length: MAX_TOKEN_DEPTH + 1 }, () => parent()), []],
  ])('%s', (_case, ancestors, expected) => {
    expect(cutToAncestors(['accounts:read', 'accounts:write'], token, ancestors, NOW)).toEqual(
      expected.filter((s) => s !== 'admin'),
    );
  });

  it.each<[string | null, string | null, string | null]>([
    [null, null, null],
    ['2026-12-05T00:00:00.000Z', null, '2026-12-05T00:00:00.000Z'],
    [null, '2026-12-05T00:00:00.000Z', '2026-12-05T00:00:00.000Z'],
    ['2026-12-09T00:00:00.000Z', '2026-12-05T00:00:00.000Z', '2026-12-05T00:00:00.000Z'],
    ['2026-12-04T00:00:00.000Z', '2026-12-05T00:00:00.000Z', '2026-12-04T00:00:00.000Z'],
  ])(
    'asked to expire at %s under a parent expiring at %s, expires at %s',
    (asked, parentAt, expected) => {
      expect(boundedExpiry(asked, parentAt)).toBe(expected);
    },
  );
});
