import { describe, expect, it } from 'vitest';
import type { BundleFinding, Check, GrantedBundle } from '../../domain/account.ts';
import {
  checkConfirmsCatalog,
  explainCheck,
  explainMissing,
  permissionsAfterCheck,
  permissionsDecided,
} from './permission-findings.ts';

const grant = (actions: string[], verified: boolean): GrantedBundle => ({
  hash: 'h',
  actions,
  verified,
});
const finding = (
  bundleId: string,
  missing: string[],
  deniedByScp: string[] = [],
): BundleFinding => ({
  bundleId,
  bundleName: bundleId.toUpperCase(),
  missing,
  deniedByScp,
});
const missingError = (bundle: string) => ({
  field: `permissions.${bundle}`,
  code: 'missing_actions',
  message: `plain ${bundle}`,
  hint: 'plain hint',
});

describe('permission findings', () => {
  it('decides only on a permissions step that passed or failed', () => {
    const step = (status: Check['status']): Check[] => [
      { name: 'identity', status: 'passed', detail: '', durationMs: 0 },
      { name: 'permissions', status, detail: '', durationMs: 0 },
    ];
    expect(permissionsDecided(step('passed'))).toBe(true);
    expect(permissionsDecided(step('failed'))).toBe(true);
    expect(permissionsDecided(step('warning'))).toBe(false);
    expect(permissionsDecided(step('skipped'))).toBe(false);
    expect(permissionsDecided(step('error'))).toBe(false);
    expect(permissionsDecided([])).toBe(false);
  });

  it('proves the complete bundles, keeps the failing ones, and writes nothing when nothing changes', () => {
    const granted = {
      a: grant(['ec2:Describe*'], false),
      b: grant(['s3:GetObject'], true),
      c: grant(['iam:PassRole'], false),
      gone: grant(['rds:Describe*'], false),
    };
    const after = permissionsAfterCheck(
      { granted, trimmed: [] },
      ['a', 'b', 'c'],
      [finding('b', ['s3:GetObject']), finding('c', [], ['iam:PassRole'])],
    );
    expect(after.granted).toEqual({
      a: grant(['ec2:Describe*'], true),
      b: grant(['s3:GetObject'], true),
      c: grant(['iam:PassRole'], false),
      // Not checked (the account no longer has it): left as it was.
      gone: grant(['rds:Describe*'], false),
    });
    expect(after.trimmed).toEqual([{ bundle: 'b', actions: ['s3:GetObject'] }]);
    expect(after.changed).toBe(true);

    const again = permissionsAfterCheck(
      after,
      ['a', 'b', 'c'],
      [finding('b', ['s3:GetObject']), finding('c', [], ['iam:PassRole'])],
    );
    expect(again.changed).toBe(false);
    const restored = permissionsAfterCheck(after, ['a', 'b', 'c'], []);
    expect(restored).toMatchObject({ trimmed: [], changed: true });
    expect(permissionsAfterCheck({ granted: null, trimmed: [] }, ['a'], [])).toEqual({
      granted: null,
      trimmed: [],
      changed: false,
    });
  });

  it('tells trimmed actions from ones the catalog added, each with its fix', () => {
    const granted = {
      trimmed: grant(['ec2:Describe*', 'iam:ListInstanceProfiles'], true),
      newer: grant(['ce:Get*'], true),
      both: grant(['s3:GetObject'], true),
      unproven: grant(['rds:Describe*'], false),
    };
    const findings = [
      finding('trimmed', ['ec2:DescribeInstances']),
      finding('newer', ['pricing:GetProducts']),
      finding('both', ['s3:GetObject', 's3:ListBucket']),
      finding('unproven', ['rds:DescribeDBInstances']),
    ];
    const errors = [
      missingError('trimmed'),
      missingError('newer'),
      missingError('both'),
      missingError('unproven'),
      { field: 'permissions.newer', code: 'denied_by_scp', message: 'scp', hint: 'org' },
    ];
    const [trimmed, newer, both, unproven, scp] = explainMissing(errors, granted, findings, 'role');
    expect(trimmed?.message).toBe(
      'The role lacks 1 action(s) that “TRIMMED” needs. ec2:DescribeInstances: removed from the role’s policies since it was connected (trimmed).',
    );
    expect(trimmed?.hint).toContain('Restore the role’s policy');
    expect(newer?.message).toContain(
      'pricing:GetProducts: never granted to the role; the catalog asks for more',
    );
    expect(newer?.hint).toContain('“Update permissions”');
    expect(newer?.hint).not.toContain('Restore');
    expect(both?.message).toContain('s3:GetObject: removed');
    expect(both?.message).toContain('s3:ListBucket: never granted');
    expect(both?.hint).toContain('The same update adds the actions the catalog asks for now.');
    // A grant never proven (saved degraded) cannot tell a trim; it is not one by the grant either.
    expect(unproven).toEqual(missingError('unproven'));
    expect(scp).toEqual(errors[4]);
    expect(explainMissing(errors, null, findings, 'user')).toEqual(errors);
    expect(
      explainMissing([missingError('trimmed')], granted, findings, 'user')[0]?.message,
    ).toContain('removed from the user’s policies');
  });

  it('rewrites the permissions step’s detail with the same messages', () => {
    const checks: Check[] = [
      { name: 'identity', status: 'passed', detail: 'plain trimmed', durationMs: 1 },
      {
        name: 'permissions',
        status: 'failed',
        detail: 'Some actions are not allowed. plain trimmed',
        durationMs: 2,
      },
    ];
    const out = explainCheck(
      { errors: [missingError('trimmed')], checks },
      { trimmed: grant(['ec2:*'], true) },
      [finding('trimmed', ['ec2:RunInstances'])],
      'role',
    );
    expect(out.checks[0]).toEqual(checks[0]);
    expect(out.checks[1]?.detail).toBe(`Some actions are not allowed. ${out.errors[0]?.message}`);
    expect(out.checks[1]?.detail).toContain('(trimmed)');
  });

  it('lets a passing check confirm a catalog that only added actions to the bundles it checked', () => {
    const add = { bundle: 'nodes', add: ['ec2:DescribeInstanceTopology'], remove: [] };
    const clean: BundleFinding[] = [];
    expect(checkConfirmsCatalog([add], ['nodes'], ['nodes'], clean)).toBe(true);
    // Nothing outdated, nothing to confirm.
    expect(checkConfirmsCatalog([], ['nodes'], ['nodes'], clean)).toBe(false);
    // A removal cannot be seen by a check that passes.
    expect(
      checkConfirmsCatalog([{ ...add, remove: ['ec2:RunInstances'] }], ['nodes'], ['nodes'], clean),
    ).toBe(false);
    // Statements changed with no action added (resources, conditions): only the update applies them.
    expect(
      checkConfirmsCatalog([{ bundle: 'nodes', add: [], remove: [] }], ['nodes'], ['nodes'], clean),
    ).toBe(false);
    // A bundle the account should have now (a new default) was not checked.
    expect(checkConfirmsCatalog([add], ['nodes'], ['nodes', 'reports'], clean)).toBe(false);
    // The check found something missing.
    expect(
      checkConfirmsCatalog([add], ['nodes'], ['nodes'], [finding('nodes', ['ec2:RunInstances'])]),
    ).toBe(false);
  });
});
