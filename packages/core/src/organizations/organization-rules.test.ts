import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deploymentTargetsOf,
  EMPTY_RULES,
  evaluateOrganizationRules,
  memberExternalId,
  type OrganizationRules,
} from './organization-rules.ts';

const rules = (partial: {
  include?: Partial<OrganizationRules['include']>;
  exclude?: Partial<OrganizationRules['exclude']>;
}): OrganizationRules => ({
  include: { organizationalUnits: [], accounts: [], ...partial.include },
  exclude: { organizationalUnits: [], accounts: [], ...partial.exclude },
});

const ROOT = 'r-ab12';
const PROD = 'ou-ab12-prod0001';
const PROD_EU = 'ou-ab12-prodeu01';
const SANDBOX = 'ou-ab12-sandbox1';

describe('organization rules', () => {
  it('admits every account when nothing is included or excluded', () => {
    const verdict = evaluateOrganizationRules(EMPTY_RULES, {
      accountId: '111111111111',
      path: [ROOT, SANDBOX],
    });
    expect(verdict).toEqual({ admitted: true, because: { kind: 'whole_organization' } });
  });

  it('admits only what an include names once anything is included', () => {
    const r = rules({ include: { organizationalUnits: [PROD] } });
    expect(
      evaluateOrganizationRules(r, { accountId: '1'.repeat(12), path: [ROOT, PROD, PROD_EU] }),
    ).toMatchObject({ admitted: true, because: { kind: 'unit_included', unitId: PROD } });
    expect(
      evaluateOrganizationRules(r, { accountId: '2'.repeat(12), path: [ROOT, SANDBOX] }).admitted,
    ).toBe(false);
    // An account directly under the root is not in an included unit.
    expect(evaluateOrganizationRules(r, { accountId: '3'.repeat(12), path: [ROOT] }).admitted).toBe(
      false,
    );
  });

  it('lets the nearest unit decide: an excluded unit inside an included one', () => {
    const r = rules({
      include: { organizationalUnits: [PROD] },
      exclude: { organizationalUnits: [PROD_EU] },
    });
    expect(
      evaluateOrganizationRules(r, { accountId: '1'.repeat(12), path: [ROOT, PROD, PROD_EU] }),
    ).toMatchObject({ admitted: false, because: { kind: 'unit_excluded', unitId: PROD_EU } });
    expect(
      evaluateOrganizationRules(r, { accountId: '1'.repeat(12), path: [ROOT, PROD] }).admitted,
    ).toBe(true);
    // And the other way round: an included unit inside an excluded one (the root).
    const r2 = rules({
      include: { organizationalUnits: [PROD] },
      exclude: { organizationalUnits: [ROOT] },
    });
    expect(
      evaluateOrganizationRules(r2, { accountId: '1'.repeat(12), path: [ROOT, PROD] }).admitted,
    ).toBe(true);
    expect(
      evaluateOrganizationRules(r2, { accountId: '1'.repeat(12), path: [ROOT, SANDBOX] }).admitted,
    ).toBe(false);
  });

  it('lets an account named in a rule win over its units, and exclusion by name over inclusion', () => {
    const id = '444444444444';
    const inSandbox = { accountId: id, path: [ROOT, SANDBOX] };
    expect(
      evaluateOrganizationRules(
        rules({ include: { accounts: [id] }, exclude: { organizationalUnits: [SANDBOX] } }),
        inSandbox,
      ).admitted,
    ).toBe(true);
    expect(
      evaluateOrganizationRules(
        rules({ include: { accounts: [id] }, exclude: { accounts: [id] } }),
        inSandbox,
      ),
    ).toMatchObject({ admitted: false, because: { kind: 'account_excluded' } });
  });

  it('excludes a unit named in both lists', () => {
    const r = rules({
      include: { organizationalUnits: [SANDBOX] },
      exclude: { organizationalUnits: [SANDBOX] },
    });
    expect(
      evaluateOrganizationRules(r, { accountId: '5'.repeat(12), path: [ROOT, SANDBOX] }).admitted,
    ).toBe(false);
  });

  it('never admits an account excluded by name, whatever else the rules say (property)', () => {
    const unit = fc.constantFrom<string>(ROOT, PROD, PROD_EU, SANDBOX);
    const account = fc.constantFrom('111111111111', '222222222222', '333333333333');
    const list = <T>(a: fc.Arbitrary<T>) => fc.uniqueArray(a, { maxLength: 4 });
    fc.assert(
      fc.property(
        list(unit),
        list(account),
        list(unit),
        list(account),
        account,
        fc.subarray<string>([ROOT, PROD, PROD_EU]),
        (incU, incA, excU, excA, id, path) => {
          const r = rules({
            include: { organizationalUnits: incU, accounts: incA },
            exclude: { organizationalUnits: excU, accounts: excA },
          });
          const verdict = evaluateOrganizationRules(r, { accountId: id, path });
          if (excA.includes(id)) expect(verdict.admitted).toBe(false);
          else if (incA.includes(id)) expect(verdict.admitted).toBe(true);
          // With no rule at all naming it or its units, only an empty include admits it.
          if (
            !excA.includes(id) &&
            !incA.includes(id) &&
            !path.some((u) => incU.includes(u) || excU.includes(u))
          )
            expect(verdict.admitted).toBe(incU.length === 0 && incA.length === 0);
        },
      ),
    );
  });

  it('targets the included units, or the root for the whole organization', () => {
    expect(
      deploymentTargetsOf(rules({ include: { organizationalUnits: [PROD, SANDBOX] } }), undefined),
    ).toEqual([PROD, SANDBOX]);
    expect(deploymentTargetsOf(EMPTY_RULES, ROOT)).toEqual([ROOT]);
    expect(deploymentTargetsOf(EMPTY_RULES, undefined)).toBeUndefined();
    // Accounts included by name may sit anywhere: the StackSet goes to the root, Onramp filters.
    expect(
      deploymentTargetsOf(
        rules({ include: { organizationalUnits: [PROD], accounts: ['1'.repeat(12)] } }),
        ROOT,
      ),
    ).toEqual([ROOT]);
  });

  it('derives each member its own external ID from the prefix', () => {
    expect(memberExternalId('onramp-org-abc', '123456789012')).toBe('onramp-org-abc-123456789012');
    expect(memberExternalId('p', '1'.repeat(12))).not.toBe(memberExternalId('p', '2'.repeat(12)));
  });
});
