import {
  cloudFormationDeployCommand,
  createRoleBlueprint,
  DEFAULT_ROLE_NAME,
  fail,
  formatSteps,
  type RoleBlueprint,
  renderCloudFormationJson,
  renderCloudFormationYaml,
  renderRoleSteps,
  renderTerraform,
} from '@onramp/core';
import { type Command, Option } from 'commander';
import { readCatalog } from './catalog-source.ts';
import { type CliIo, writeNote, writeResult } from './cli-io.ts';
import {
  addCatalogOption,
  addSelectionOptions,
  announceExternalId,
  chooseExternalId,
  type ExternalIdChoice,
  FlagChecker,
  HUB_PRINCIPAL_HELP,
  parseBundlesFlag,
  parseIntegerFlag,
  parsePartitionFlag,
  parseRegionsFlag,
  resolveBundleChoice,
  type SelectionFlags,
} from './options.ts';

export interface TemplateCommandFlags extends SelectionFlags {
  hubPrincipal?: string;
  externalId?: string;
  roleName?: string;
  maxSessionDuration?: string;
  /** cloudformation only. */
  format?: 'yaml' | 'json';
}

export type TemplateKind = 'cloudformation' | 'terraform' | 'steps';

export function addTemplateCommand(program: Command, io: CliIo): void {
  const template = program
    .command('template')
    .summary(
      'print a CloudFormation template, a Terraform configuration or manual steps for the role',
    )
    .description(
      'Print what a customer runs in their AWS account to create the role: the IAM role with its trust ' +
        'policy and external ID, and the managed policies of the chosen bundles.',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ onramp template cloudformation --partition aws --bundles default > onramp-role.yaml
  $ onramp template terraform --partition aws-us-gov --bundles default --hub-principal 123456789012 > onramp.tf
  $ onramp template steps --partition aws --bundles default --hub-principal 123456789012

Run "onramp template <kind> --help" for the options of each kind.`,
    );

  const cloudformation = template
    .command('cloudformation')
    .summary('print a CloudFormation template (YAML, or JSON with --format json)')
    .description(
      'Print a CloudFormation template that creates the role, its managed policies and the output RoleArn. ' +
        'The external ID and role name are stack parameters (defaulting to the values given here). The ' +
        'aws cloudformation deploy command that creates the stack is shown on stderr.',
    );
  addRoleOptions(cloudformation)
    .addOption(
      new Option('--format <format>', 'template format').choices(['yaml', 'json']).default('yaml'),
    )
    .addHelpText(
      'after',
      `
Examples:
  $ onramp template cloudformation --partition aws --bundles default > onramp-role.yaml
  $ onramp template cloudformation --partition aws-us-gov --bundles default \\
      --hub-principal 123456789012 --external-id onramp-abc123 --format json > onramp-role.json`,
    )
    .action(async (_flags, cmd: Command) =>
      runTemplateCommand(io, 'cloudformation', cmd.opts<TemplateCommandFlags>()),
    );

  const terraform = template
    .command('terraform')
    .summary('print a Terraform configuration (HCL)')
    .description(
      'Print a Terraform configuration that creates the role, one aws_iam_policy per managed policy, and ' +
        'the output role_arn. It refuses to apply with an AWS provider signed in to another partition.',
    );
  addRoleOptions(terraform)
    .addHelpText(
      'after',
      `
Examples:
  $ onramp template terraform --partition aws --bundles default --hub-principal 123456789012 > onramp.tf
  $ terraform init && terraform apply`,
    )
    .action(async (_flags, cmd: Command) =>
      runTemplateCommand(io, 'terraform', cmd.opts<TemplateCommandFlags>()),
    );

  const steps = template
    .command('steps')
    .summary('print the steps to create the role by hand in the AWS console')
    .description(
      'Print numbered steps to create the policies and the role in the AWS console, with every value to ' +
        'paste. --hub-principal is required: the trust policy to paste names it.',
    );
  addRoleOptions(steps, 'required')
    .addHelpText(
      'after',
      `
Examples:
  $ onramp template steps --partition aws --bundles default --hub-principal 123456789012`,
    )
    .action(async (_flags, cmd: Command) =>
      runTemplateCommand(io, 'steps', cmd.opts<TemplateCommandFlags>()),
    );
}

function addRoleOptions(command: Command, hub: 'optional' | 'required' = 'optional'): Command {
  addSelectionOptions(command)
    .option(
      '--hub-principal <id-or-arn>',
      hub === 'required'
        ? `(required) ${HUB_PRINCIPAL_HELP}`
        : `${HUB_PRINCIPAL_HELP} (default: the template asks for it)`,
    )
    .option('--external-id <id>', "the connection's external ID (default: generate a new one)")
    .option('--role-name <name>', 'name of the IAM role to create', DEFAULT_ROLE_NAME)
    .option(
      '--max-session-duration <seconds>',
      'longest session of the role, 3600 to 43200 seconds (default: 3600)',
    );
  return addCatalogOption(command);
}

export async function runTemplateCommand(
  io: CliIo,
  kind: TemplateKind,
  flags: TemplateCommandFlags,
): Promise<void> {
  const { blueprint, externalId } = await buildBlueprintFromFlags(io, kind, flags);
  switch (kind) {
    case 'cloudformation': {
      const json = flags.format === 'json';
      writeResult(
        io,
        json ? renderCloudFormationJson(blueprint) : renderCloudFormationYaml(blueprint),
      );
      announceExternalId(io, externalId);
      announceMissingHub(io, blueprint, 'the stack parameter TrustedPrincipalArn');
      const templateFile = json ? 'onramp-role.json' : 'onramp-role.yaml';
      io.stderr.write(
        `\nTo deploy: save this template as ${templateFile}, then run (with credentials for the customer's account):\n\n` +
          `${cloudFormationDeployCommand(blueprint, { templateFile })}\n`,
      );
      return;
    }
    case 'terraform':
      writeResult(io, renderTerraform(blueprint));
      announceExternalId(io, externalId);
      announceMissingHub(io, blueprint, 'the variable trusted_principal_arn');
      return;
    case 'steps':
      writeResult(io, formatSteps(renderRoleSteps(blueprint)));
      announceExternalId(io, externalId);
      return;
  }
}

async function buildBlueprintFromFlags(
  io: CliIo,
  kind: TemplateKind,
  flags: TemplateCommandFlags,
): Promise<{ blueprint: RoleBlueprint; externalId: ExternalIdChoice }> {
  const check = new FlagChecker();
  const partition = check.take(parsePartitionFlag(flags.partition));
  const bundles = check.take(parseBundlesFlag(flags.bundles));
  const regions = check.take(parseRegionsFlag(flags.regions));
  const maxSessionDuration = check.take(
    parseIntegerFlag(
      flags.maxSessionDuration,
      'maxSessionDuration',
      'a number of seconds, 3600 to 43200',
    ),
  );
  if (kind === 'steps' && flags.hubPrincipal === undefined) {
    check.take(
      fail(
        'hubPrincipal',
        'required',
        'The manual steps need the principal that will assume the role: they show the trust policy to ' +
          `paste, which names it. Give ${HUB_PRINCIPAL_HELP}.`,
        'For example --hub-principal 123456789012. (The cloudformation and terraform templates can ' +
          'leave it as a parameter instead.)',
      ),
    );
  }
  if (!partition || !bundles) throw check.error();

  const { catalog } = await readCatalog(io, flags);
  const externalId = chooseExternalId(io, flags.externalId);
  // The core checks the external ID, hub principal, role name and session length along with the
  // bundles and regions, and reports them all at once with the flags' own problems.
  const blueprint = check.attempt(() =>
    createRoleBlueprint({
      catalog,
      selection: {
        partition,
        bundles: resolveBundleChoice(io, catalog, partition, bundles),
        ...(regions ? { regions } : {}),
      },
      externalId: externalId.externalId,
      ...(flags.hubPrincipal !== undefined ? { hubPrincipal: flags.hubPrincipal.trim() } : {}),
      ...(flags.roleName !== undefined ? { roleName: flags.roleName } : {}),
      ...(maxSessionDuration !== undefined ? { maxSessionDuration } : {}),
    }),
  );
  check.done();
  if (!blueprint) throw check.error();
  return { blueprint, externalId };
}

function announceMissingHub(io: CliIo, blueprint: RoleBlueprint, parameter: string): void {
  if (blueprint.hub) return;
  writeNote(
    io,
    `no --hub-principal given, so whoever deploys this fills in the principal allowed to assume the role, as ${parameter}.`,
  );
}
