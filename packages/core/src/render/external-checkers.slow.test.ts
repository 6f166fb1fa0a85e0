// The rendered templates through the real tools (terraform fmt, cfn-lint). They take seconds each,
// so they run with `npm test` but stay out of `npm run test:unit`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { defaultCatalog } from '../../test/fixtures.ts';
import { webIdentityAudience } from '../identifiers.ts';
import { getPartition, PARTITION_IDS, type PartitionId } from '../partitions/partitions.ts';
import { renderCloudFormationYaml } from './cloudformation.ts';
import { createOrganizationBlueprint } from './organization-blueprint.ts';
import type { OrganizationDeploymentKind } from './organization-model.ts';
import { memberTemplateBody, renderOrganizationYaml } from './organization-templates.ts';
import { renderOrganizationTerraform } from './organization-terraform.ts';
import { createRoleBlueprint } from './role-blueprint.ts';
import { renderTerraform } from './terraform.ts';
import { createUserBlueprint } from './user-blueprint.ts';
import { renderUserCloudFormationYaml, renderUserTerraform } from './user-templates.ts';

const catalog = await defaultCatalog();
const EXTERNAL_ID = 'onramp-golden-external-id';
const hubOf = (partition: PartitionId) => `arn:${partition}:iam::111122223333:role/onramp-hub`;
const blueprintFor = (
  partition: PartitionId,
  extra: Partial<Parameters<typeof createRoleBlueprint>[0]> = {},
) =>
  createRoleBlueprint({
    catalog,
    selection: { partition, bundles: 'default' },
    externalId: EXTERNAL_ID,
    hubPrincipal: hubOf(partition),
    ...extra,
  });
const keylessFor = (partition: PartitionId) =>
  createRoleBlueprint({
    catalog,
    selection: { partition, bundles: 'default' },
    webIdentity: {
      issuer: 'https://onramp.example.com/oidc',
      audience: webIdentityAudience(partition),
      subject: 'tenant:ten_1:connection:con_1',
    },
  });
const userBlueprintFor = (partition: PartitionId) =>
  createUserBlueprint({ catalog, selection: { partition, bundles: 'default' } });

const CALLBACK = {
  url: 'https://onramp.example.com/v1/callbacks/cloudformation',
  token: 'onrcb_golden-callback-token',
};

const hasTerraform = existsSync('/usr/local/bin/terraform') || existsSync('/usr/bin/terraform');
const hasCfnLint = (() => {
  try {
    execFileSync('cfn-lint', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// Optional external checkers: they run where the tools are installed and show as skipped elsewhere.
describe('external checkers: the role', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-render-'));
  it.skipIf(!hasTerraform)('terraform fmt accepts the Terraform as written', () => {
    for (const partition of PARTITION_IDS) {
      const file = join(dir, `${partition}.tf`);
      writeFileSync(
        file,
        renderTerraform(
          blueprintFor(partition, {
            selection: { partition, bundles: partition === 'aws' ? 'all' : 'default', regions: [] },
          }),
        ),
      );
      execFileSync('terraform', ['fmt', '-check', '-diff', file], {
        env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' },
      });
    }
  });
  it.skipIf(!hasCfnLint)('cfn-lint finds nothing in the CloudFormation', () => {
    for (const partition of PARTITION_IDS) {
      const file = join(dir, `${partition}.yaml`);
      writeFileSync(file, renderCloudFormationYaml(blueprintFor(partition)));
      const withCallback = join(dir, `${partition}-callback.yaml`);
      writeFileSync(
        withCallback,
        renderCloudFormationYaml(blueprintFor(partition), { callback: CALLBACK }),
      );
      // Linted in the partition's own regions (resource types and Lambda runtimes differ by region);
      // every region of the small partitions, the default one of aws (cfn-lint lags on new regions).
      const { defaultRegion, regions: all } = getPartition(partition);
      const regions = partition === 'aws' ? [defaultRegion] : all.map((r) => r.id);
      execFileSync('cfn-lint', ['--regions', ...regions, '--', file, withCallback], {
        encoding: 'utf8',
      });
    }
  });
});

describe('external checkers: the keyless role', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-keyless-'));
  it.skipIf(!hasTerraform)('terraform fmt accepts the keyless Terraform as written', () => {
    for (const partition of PARTITION_IDS) {
      const file = join(dir, `${partition}-keyless.tf`);
      writeFileSync(file, renderTerraform(keylessFor(partition)));
      execFileSync('terraform', ['fmt', '-check', '-diff', file], {
        env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' },
      });
    }
  });
  it.skipIf(!hasCfnLint)(
    'cfn-lint finds nothing in the keyless CloudFormation, with and without the callback',
    () => {
      for (const partition of PARTITION_IDS) {
        const file = join(dir, `${partition}-keyless.yaml`);
        writeFileSync(file, renderCloudFormationYaml(keylessFor(partition)));
        const withCallback = join(dir, `${partition}-keyless-callback.yaml`);
        writeFileSync(
          withCallback,
          renderCloudFormationYaml(keylessFor(partition), { callback: CALLBACK }),
        );
        const { defaultRegion, regions: all } = getPartition(partition);
        const regions = partition === 'aws' ? [defaultRegion] : all.map((r) => r.id);
        execFileSync('cfn-lint', ['--regions', ...regions, '--', file, withCallback], {
          encoding: 'utf8',
        });
      }
    },
    60_000,
  );
});

describe('external checkers: the dedicated user', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-user-'));
  it.skipIf(!hasTerraform)('terraform fmt accepts the user’s Terraform as written', () => {
    for (const partition of PARTITION_IDS) {
      const file = join(dir, `${partition}-user.tf`);
      writeFileSync(file, renderUserTerraform(userBlueprintFor(partition)));
      execFileSync('terraform', ['fmt', '-check', '-diff', file], {
        env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' },
      });
    }
  });
  it.skipIf(!hasCfnLint)(
    'cfn-lint finds nothing in the user’s CloudFormation',
    () => {
      for (const partition of PARTITION_IDS) {
        const file = join(dir, `${partition}-user.yaml`);
        writeFileSync(file, renderUserCloudFormationYaml(userBlueprintFor(partition)));
        const { defaultRegion, regions: all } = getPartition(partition);
        const regions = partition === 'aws' ? [defaultRegion] : all.map((r) => r.id);
        execFileSync('cfn-lint', ['--regions', ...regions, '--', file], { encoding: 'utf8' });
      }
    },
    60_000,
  );
});

describe('external checkers: the organization', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-organization-'));
  const organizationFor = (partition: PartitionId, deployment: OrganizationDeploymentKind) =>
    createOrganizationBlueprint({
      catalog,
      selection: { partition, bundles: 'default' },
      hubPrincipal: hubOf(partition),
      externalIdPrefix: 'onramp-golden-organization-prefix',
      memberRoleName: 'OnrampMemberRole',
      managementRoleName: 'OnrampOrganizationRole',
      deployment,
      deploymentRegion: getPartition(partition).defaultRegion,
      deploymentTargets: ['ou-ab12-prod0001', 'ou-ab12-sandbox1'],
      callback: { origin: 'https://onramp.example.com', token: 'onrorg_golden-enrollment-token' },
      memberAccounts: ['222233334444'],
    });
  // aws-cn has no service-managed StackSets (the blueprint refuses them there).
  const cases = PARTITION_IDS.flatMap((partition) =>
    (partition === 'aws-cn'
      ? (['self_managed', 'per_account'] as const)
      : (['service_managed', 'self_managed'] as const)
    ).map((deployment) => ({ partition, deployment })),
  );
  it.skipIf(!hasTerraform)('terraform fmt accepts the organization’s Terraform as written', () => {
    for (const { partition, deployment } of cases) {
      const file = join(dir, `${partition}-${deployment}.tf`);
      writeFileSync(file, renderOrganizationTerraform(organizationFor(partition, deployment)));
      execFileSync('terraform', ['fmt', '-check', '-diff', file], {
        env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' },
      });
    }
  });
  it.skipIf(!hasCfnLint)(
    'cfn-lint finds nothing in the management and member templates, nor in the StackSet’s TemplateBody',
    () => {
      for (const { partition, deployment } of cases) {
        const blueprint = organizationFor(partition, deployment);
        const { management, member } = renderOrganizationYaml(blueprint);
        const files = [
          [`${partition}-${deployment}-management.yaml`, management],
          [`${partition}-${deployment}-member.yaml`, member],
          [`${partition}-${deployment}-body.json`, memberTemplateBody(blueprint)],
        ].map(([name, text]) => {
          const file = join(dir, name as string);
          writeFileSync(file, text as string);
          return file;
        });
        const { defaultRegion, regions: all } = getPartition(partition);
        const regions = partition === 'aws' ? [defaultRegion] : all.map((r) => r.id);
        execFileSync('cfn-lint', ['--regions', ...regions, '--', ...files], { encoding: 'utf8' });
      }
    },
    120_000,
  );
});
