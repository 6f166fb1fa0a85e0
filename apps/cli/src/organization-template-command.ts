import {
  createOrganizationBlueprint,
  fail,
  generateExternalId,
  getPartition,
  ORGANIZATION_DEPLOYMENTS,
  type OrganizationBlueprint,
  type OrganizationDeploymentKind,
  organizationCommands,
  organizationSteps,
  renderOrganizationTerraform,
  renderOrganizationText,
} from '@onramp/core';
import { type Command, Option } from 'commander';
import { readCatalog } from './catalog-source.ts';
import { type CliIo, writeNote, writeResult } from './cli-io.ts';
import {
  addCatalogOption,
  addSelectionOptions,
  FlagChecker,
  HUB_PRINCIPAL_HELP,
  parseBundlesFlag,
  parsePartitionFlag,
  parseRegionsFlag,
  resolveBundleChoice,
  type SelectionFlags,
} from './options.ts';

export interface OrganizationTemplateFlags extends SelectionFlags {
  hubPrincipal?: string;
  externalIdPrefix?: string;
  targets?: string;
  memberRoleName: string;
  managementRoleName: string;
  deployment: string;
  deploymentRegion?: string;
  accounts?: string;
  publicUrl?: string;
  enrollmentToken?: string;
  stackName?: string;
  format: 'yaml' | 'json' | 'terraform';
  member?: boolean;
}

export const DEFAULT_MEMBER_ROLE_NAME = 'OnrampMemberRole';
export const DEFAULT_MANAGEMENT_ROLE_NAME = 'OnrampOrganizationRole';

export function addOrganizationTemplateCommand(program: Command, io: CliIo): void {
  const command = program
    .command('organization-template')
    .summary(
      "print the templates that connect a whole AWS organization (the management account's, or the members')",
    )
    .description(
      "Print the CloudFormation template for an AWS organization's management account: a role with read " +
        'access to AWS Organizations and the chosen permissions, and (with --deployment service_managed, the ' +
        'default) a service-managed StackSet that gives every account of the target units the member role, ' +
        'now and when they join. --member prints the member template instead (what each member account ' +
        'gets), --format terraform the Terraform equivalent. The commands that deploy it and the steps are ' +
        'shown on stderr.',
    );
  addSelectionOptions(command)
    .option(
      '--hub-principal <id-or-arn>',
      `${HUB_PRINCIPAL_HELP} (default: the template asks for it)`,
    )
    .option(
      '--external-id-prefix <prefix>',
      "the organization's external-ID prefix; each member's role accepts <prefix>-<account ID> (default: generate one)",
    )
    .option(
      '--targets <ids>',
      'the root (r-…) or organizational units (ou-…) to deploy to, separated by commas (default: the template asks for them)',
    )
    .option(
      '--member-role-name <name>',
      'name of the role in every member account',
      DEFAULT_MEMBER_ROLE_NAME,
    )
    .option(
      '--management-role-name <name>',
      'name of the role in the management account',
      DEFAULT_MANAGEMENT_ROLE_NAME,
    )
    .addOption(
      new Option('--deployment <how>', 'how member roles are deployed')
        .choices([...ORGANIZATION_DEPLOYMENTS])
        .default('service_managed'),
    )
    .option(
      '--deployment-region <region>',
      "the one region member stacks are created in (default: the partition's default region)",
    )
    .option(
      '--accounts <ids>',
      '(self_managed, per_account) the member account IDs to deploy to, separated by commas',
    )
    .option(
      '--public-url <url>',
      "Onramp's public URL: the stacks report their roles to it (needs --enrollment-token)",
    )
    .option(
      '--enrollment-token <token>',
      "the organization's enrollment token, as Onramp shows it (needs --public-url)",
    )
    .option('--stack-name <name>', 'the management stack name the commands use')
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['yaml', 'json', 'terraform'])
        .default('yaml'),
    )
    .option('--member', 'print the member template instead of the management template');
  addCatalogOption(command)
    .addHelpText(
      'after',
      `
Examples:
  $ onramp organization-template --partition aws --bundles default --hub-principal 123456789012 \\
      --targets ou-ab12-prod0001,ou-ab12-sandbox1 > onramp-organization.yaml
  $ onramp organization-template --partition aws --bundles default --targets r-ab12 --format terraform > onramp.tf
  $ onramp organization-template --partition aws-cn --bundles default --deployment self_managed \\
      --accounts 111122223333,444455556666 --member > onramp-member.yaml`,
    )
    .action(async (_flags, cmd: Command) =>
      runOrganizationTemplateCommand(io, cmd.opts<OrganizationTemplateFlags>()),
    );
}

export async function runOrganizationTemplateCommand(
  io: CliIo,
  flags: OrganizationTemplateFlags,
): Promise<void> {
  const { blueprint, generatedPrefix } = await buildFromFlags(io, flags);
  const format = flags.format;
  if (format === 'terraform') {
    writeResult(io, renderOrganizationTerraform(blueprint));
  } else {
    const text = renderOrganizationText(blueprint, format);
    writeResult(io, flags.member ? text.member : text.management);
  }
  if (generatedPrefix) {
    writeNote(
      io,
      `no --external-id-prefix given, so Onramp generated one: ${generatedPrefix}\n` +
        '      Member roles accept <prefix>-<account ID>: the platform must know it. Pass it with ' +
        '--external-id-prefix to get the same output again.',
    );
  }
  if (!blueprint.hub)
    writeNote(
      io,
      'no --hub-principal given, so whoever deploys this fills in TrustedPrincipalArn.',
    );
  if (blueprint.deployment === 'service_managed' && !blueprint.deploymentTargets)
    writeNote(io, 'no --targets given, so whoever deploys this fills in DeploymentTargets.');
  if (!blueprint.callback)
    writeNote(
      io,
      'no --public-url and --enrollment-token given, so the stacks do not report their roles: paste them into Onramp.',
    );
  const commands = organizationCommands(blueprint, {
    format,
    ...(flags.stackName ? { stackName: flags.stackName } : {}),
  });
  const steps = organizationSteps(blueprint, {
    via: format === 'terraform' ? 'terraform' : 'cloudformation',
    ...(flags.stackName ? { stackName: flags.stackName } : {}),
  });
  io.stderr.write(
    `\nSteps:\n\n${steps.map((s, i) => `${i + 1}. ${s.title}\n   ${s.detail}`).join('\n\n')}\n` +
      `\nCommands (with the management account's credentials${blueprint.deployment === 'per_account' ? ', then each member account’s' : ''}):\n\n${commands.join('\n\n')}\n`,
  );
}

async function buildFromFlags(
  io: CliIo,
  flags: OrganizationTemplateFlags,
): Promise<{ blueprint: OrganizationBlueprint; generatedPrefix: string | undefined }> {
  const check = new FlagChecker();
  const partition = check.take(parsePartitionFlag(flags.partition));
  const bundles = check.take(parseBundlesFlag(flags.bundles));
  const regions = check.take(parseRegionsFlag(flags.regions));
  if ((flags.publicUrl === undefined) !== (flags.enrollmentToken === undefined)) {
    check.take(
      fail(
        flags.publicUrl === undefined ? 'callback.origin' : 'callback.token',
        'required',
        'The stacks report their roles only with both --public-url and --enrollment-token.',
        'Give both, or neither (the roles are then pasted into Onramp).',
      ),
    );
  }
  if (flags.member && flags.format === 'terraform') {
    check.take(
      fail(
        'member',
        'invalid_format',
        '--member prints a CloudFormation template (the Terraform covers both).',
        'Leave out --format terraform, or --member.',
      ),
    );
  }
  if (!partition || !bundles) throw check.error();

  const { catalog } = await readCatalog(io, flags);
  const generatedPrefix =
    flags.externalIdPrefix === undefined ? generateExternalId(io.randomBytes(24)) : undefined;
  const list = (value: string | undefined) =>
    value
      ?.split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  const blueprint = check.attempt(() =>
    createOrganizationBlueprint({
      catalog,
      selection: {
        partition,
        bundles: resolveBundleChoice(io, catalog, partition, bundles),
        ...(regions ? { regions } : {}),
      },
      ...(flags.hubPrincipal !== undefined ? { hubPrincipal: flags.hubPrincipal.trim() } : {}),
      externalIdPrefix: generatedPrefix ?? (flags.externalIdPrefix as string),
      memberRoleName: flags.memberRoleName,
      managementRoleName: flags.managementRoleName,
      deployment: flags.deployment as OrganizationDeploymentKind,
      deploymentRegion: flags.deploymentRegion?.trim() ?? getPartition(partition).defaultRegion,
      deploymentTargets: list(flags.targets),
      ...(flags.publicUrl !== undefined && flags.enrollmentToken !== undefined
        ? { callback: { origin: flags.publicUrl.trim(), token: flags.enrollmentToken.trim() } }
        : {}),
      memberAccounts: list(flags.accounts) ?? [],
    }),
  );
  check.done();
  if (!blueprint) throw check.error();
  return { blueprint, generatedPrefix };
}
