import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { defaultCatalog } from '../../test/fixtures.ts';
import { cloudFormationDeployCommand, renderCloudFormationYaml } from './cloudformation.ts';
import { renderRoleSteps } from './manual-steps.ts';
import { createRoleBlueprint } from './role-blueprint.ts';
import { renderTerraform } from './terraform.ts';

const catalog = await defaultCatalog();
const CURRENT = 'onramp-current-external-id';
const PREVIOUS = 'onramp-previous-external-id';

const blueprint = (previousExternalId?: string) =>
  createRoleBlueprint({
    catalog,
    selection: { partition: 'aws-us-gov', bundles: 'default', regions: [] },
    externalId: CURRENT,
    previousExternalId,
    hubPrincipal: 'arn:aws-us-gov:iam::111122223333:role/onramp-hub',
    roleName: 'OnrampRole-abc12345',
  });

describe('a regenerated external ID during its grace period', () => {
  it('is listed beside the current one in every rendering of the trust policy', () => {
    const b = blueprint(PREVIOUS);
    // The literal trust policy (manual steps): StringEquals with both values, which IAM ORs.
    expect(b.trustPolicy?.Statement[0]?.Condition?.StringEquals).toEqual({
      'sts:ExternalId': [CURRENT, PREVIOUS],
    });
    const steps = JSON.stringify(renderRoleSteps(b));
    expect(steps).toContain(PREVIOUS);

    const cfn = parseYaml(renderCloudFormationYaml(b));
    expect(cfn.Parameters.PreviousExternalId.Default).toBe(PREVIOUS);
    expect(
      cfn.Resources.Role.Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals,
    ).toEqual({ 'sts:ExternalId': [{ Ref: 'ExternalId' }, { Ref: 'PreviousExternalId' }] });
    expect(cloudFormationDeployCommand(b)).toContain(`PreviousExternalId=${PREVIOUS}`);

    const tf = renderTerraform(b);
    expect(tf).toContain('variable "previous_external_id"');
    expect(tf).toMatch(/var\.external_id,\s*var\.previous_external_id/);
  });

  it('leaves no trace once dropped, or when it equals the current one', () => {
    for (const b of [blueprint(), blueprint(CURRENT)]) {
      expect(b.previousExternalId).toBeUndefined();
      expect(b.trustPolicy?.Statement[0]?.Condition?.StringEquals).toEqual({
        'sts:ExternalId': CURRENT,
      });
      expect(renderCloudFormationYaml(b)).not.toContain('PreviousExternalId');
      expect(renderTerraform(b)).not.toContain('previous_external_id');
    }
  });

  it('refuses a malformed previous external ID', () => {
    expect(() => blueprint('bad id with spaces')).toThrow();
  });
});
