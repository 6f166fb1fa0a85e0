import {
  cloudFormationDeployCommand,
  createRoleBlueprint,
  DEFAULT_ROLE_NAME,
  fail,
  formatSteps,
  parseAccountId,
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
  addMethodOptions,
  addSelectionOptions,
  announceExternalId,
  checkMethodFlags,
  chooseExternalId,
  type ExternalIdChoice,
  FlagChecker,
  HUB_PRINCIPAL_HELP,
  type MethodFlags,
  parseBundlesFlag,
  parseIntegerFlag,
  parseMethodFlag,
  parsePartitionFlag,
  parseRegionsFlag,
  resolveBundleChoice,
  type SelectionFlags,
} from './options.ts';

export interface TemplateCommandFlags extends SelectionFlags, MethodFlags {
  roleName?: string;
  /** steps only: fills a keyless role's trust policy. */
  accountId?: string;
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
        'policy and external ID, and the managed policies of the chosen bundles. With --method oidc_role ' +
        "the role is keyless instead: it trusts Onramp's OpenID Connect issuer, through the account's IAM " +
        'identity provider for it, for the tokens of one connection.',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ onramp template cloudformation --partition aws --bundles default > onramp-role.yaml
  $ onramp template terraform --partition aws-us-gov --bundles default --hub-principal 123456789012 > onramp.tf
  $ onramp template steps --partition aws --bundles default --hub-principal 123456789012
  $ onramp template cloudformation --partition aws --bundles default --method oidc_role \\
      --issuer https://onramp.example.com/oidc --subject tenant:ten_1:connection:con_1 > onramp-role.yaml

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
        'paste. For --method role, --hub-principal is required: the trust policy to paste names it. For ' +
        "--method oidc_role, --account-id fills the account's ID into the trust policy to paste.",
    );
  addRoleOptions(steps, 'required')
    .option(
      '--account-id <id>',
      "(oidc_role) the customer's 12-digit account ID (default: the trust policy shows a placeholder)",
    )
    .addHelpText(
      'after',
      `
Examples:
  $ onramp template steps --partition aws --bundles default --hub-principal 123456789012
  $ onramp template steps --partition aws --bundles default --method oidc_role --account-id 123456789012 \\
      --issuer https://onramp.example.com/oidc --subject tenant:ten_1:connection:con_1`,
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
        ? `(required for role) ${HUB_PRINCIPAL_HELP}`
        : `(role) ${HUB_PRINCIPAL_HELP} (default: the template asks for it)`,
    )
    .option(
      '--external-id <id>',
      "(role) the connection's external ID (default: generate a new one)",
    )
    .option('--role-name <name>', 'name of the IAM role to create', DEFAULT_ROLE_NAME)
    .option(
      '--max-session-duration <seconds>',
      'longest session of the role, 3600 to 43200 seconds (default: 3600 for role, 43200 for oidc_role)',
    );
  addMethodOptions(command);
  return addCatalogOption(command);
}

export async function runTemplateCommand(
  io: CliIo,
  kind: TemplateKind,
  flags: TemplateCommandFlags,
): Promise<void> {
  const { blueprint, externalId, accountId } = await buildBlueprintFromFlags(io, kind, flags);
  switch (kind) {
    case 'cloudformation': {
      const json = flags.format === 'json';
      writeResult(
        io,
        json ? renderCloudFormationJson(blueprint) : renderCloudFormationYaml(blueprint),
      );
      if (externalId) announceExternalId(io, externalId);
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
      if (externalId) announceExternalId(io, externalId);
      announceMissingHub(io, blueprint, 'the variable trusted_principal_arn');
      return;
    case 'steps':
      writeResult(io, formatSteps(renderRoleSteps(blueprint, accountId ? { accountId } : {})));
      if (externalId) announceExternalId(io, externalId);
      return;
  }
}

async function buildBlueprintFromFlags(
  io: CliIo,
  kind: TemplateKind,
  flags: TemplateCommandFlags,
): Promise<{
  blueprint: RoleBlueprint;
  /** Absent for a keyless role, which has none. */
  externalId: ExternalIdChoice | undefined;
  accountId: string | undefined;
}> {
  const check = new FlagChecker();
  const partition = check.take(parsePartitionFlag(flags.partition));
  const method = check.take(parseMethodFlag(flags.method));
  const webIdentity = checkMethodFlags(check, method, partition, flags);
  const accountId =
    flags.accountId === undefined ? undefined : check.take(parseAccountId(flags.accountId.trim()));
  if (flags.accountId !== undefined && method === 'role') {
    check.take(
      fail(
        'accountId',
        'invalid_format',
        'The steps of a role trusting the hub do not name the account.',
        'Leave out --account-id, or add --method oidc_role.',
      ),
    );
  }
  const bundles = check.take(parseBundlesFlag(flags.bundles));
  const regions = check.take(parseRegionsFlag(flags.regions));
  const maxSessionDuration = check.take(
    parseIntegerFlag(
      flags.maxSessionDuration,
      'maxSessionDuration',
      'a number of seconds, 3600 to 43200',
    ),
  );
  if (kind === 'steps' && method === 'role' && flags.hubPrincipal === undefined) {
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
  if (!partition || !bundles || !method || (method === 'oidc_role' && !webIdentity))
    throw check.error();

  const { catalog } = await readCatalog(io, flags);
  const externalId = webIdentity ? undefined : chooseExternalId(io, flags.externalId);
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
      ...(webIdentity
        ? {
            webIdentity: {
              issuer: webIdentity.issuer,
              audience: webIdentity.audience,
              subject: webIdentity.subject,
            },
          }
        : {
            externalId: externalId?.externalId,
            ...(flags.hubPrincipal !== undefined
              ? { hubPrincipal: flags.hubPrincipal.trim() }
              : {}),
          }),
      ...(flags.roleName !== undefined ? { roleName: flags.roleName } : {}),
      ...(maxSessionDuration !== undefined ? { maxSessionDuration } : {}),
    }),
  );
  check.done();
  if (!blueprint) throw check.error();
  return { blueprint, externalId, accountId };
}

function announceMissingHub(io: CliIo, blueprint: RoleBlueprint, parameter: string): void {
  // A keyless role trusts Onramp's issuer, not a principal: there is nothing to fill in.
  if (blueprint.hub || blueprint.webIdentity) return;
  writeNote(
    io,
    `no --hub-principal given, so whoever deploys this fills in the principal allowed to assume the role, as ${parameter}.`,
  );
}
