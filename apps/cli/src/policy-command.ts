import {
  buildPolicies,
  concretePolicies,
  DEFAULT_ROLE_NAME,
  ok,
  type PolicyDocument,
  parseAccountId,
  parseRoleName,
} from '@onramp/core';
import { type Command, Option } from 'commander';
import { readCatalog } from './catalog-source.ts';
import { type CliIo, writeResult } from './cli-io.ts';
import { toFlagError } from './errors.ts';
import {
  addCatalogOption,
  addSelectionOptions,
  FlagChecker,
  parseBundlesFlag,
  parseIntegerFlag,
  parsePartitionFlag,
  parseRegionsFlag,
  resolveBundleChoice,
  type SelectionFlags,
} from './options.ts';

export interface PolicyCommandFlags extends SelectionFlags {
  principal?: 'role' | 'user';
  roleName?: string;
  accountId?: string;
  document?: string;
}

/** One managed policy as `onramp policy` prints it. */
export interface PrintedPolicy {
  /** The name to create the policy under: `<role name>-<suffix>`. */
  name: string;
  /** Characters IAM counts, measured with the longest account ID and role name (limit 6,144). */
  size: number;
  document: PolicyDocument;
}

export function addPolicyCommand(program: Command, io: CliIo): void {
  const command = program
    .command('policy')
    .summary('print the IAM permission policies for a choice of bundles')
    .description(
      'Print the managed policies that grant the chosen bundles, as JSON: an array of ' +
        '{ "name", "size", "document" }, one per policy (IAM caps a policy at 6,144 characters, so a large ' +
        'choice is split). Onramp always adds its own validation statement, which lets it check the role. ' +
        'Without --account-id, account-specific ARNs use * for the account.',
    );
  addSelectionOptions(command)
    .addOption(
      new Option(
        '--principal <kind>',
        'who gets the policies: an IAM role, or a user with access keys',
      )
        .choices(['role', 'user'])
        .default('role'),
    )
    .option(
      '--role-name <name>',
      'the role the policies are for; they are named <name>-permissions-1, -2, …',
      DEFAULT_ROLE_NAME,
    )
    .option('--account-id <id>', 'the 12-digit account the policies are for, to fill in its ARNs')
    .option(
      '--document <n>',
      'print only the n-th policy document (1 = the first), bare, to pipe into AWS',
    );
  addCatalogOption(command)
    .addHelpText(
      'after',
      `
Examples:
  $ onramp policy --partition aws --bundles default
  $ onramp policy --partition aws --bundles nodes-ec2,cost-inventory --regions us-east-1,eu-west-1
  $ onramp policy --partition aws-cn --bundles all --account-id 123456789012

  Create the first policy with the AWS CLI:
  $ onramp policy --partition aws --bundles default --document 1 > policy-1.json
  $ aws iam create-policy --policy-name OnrampRole-permissions-1 --policy-document file://policy-1.json`,
    )
    .action(async (_flags, cmd: Command) => runPolicyCommand(io, cmd.opts<PolicyCommandFlags>()));
}

export async function runPolicyCommand(io: CliIo, flags: PolicyCommandFlags): Promise<void> {
  const check = new FlagChecker();
  const partition = check.take(parsePartitionFlag(flags.partition));
  const bundles = check.take(parseBundlesFlag(flags.bundles));
  const regions = check.take(parseRegionsFlag(flags.regions));
  const roleName = check.take(parseRoleName(flags.roleName ?? DEFAULT_ROLE_NAME, 'roleName'));
  const accountId = check.take(
    flags.accountId === undefined ? ok(undefined) : parseAccountId(flags.accountId, 'accountId'),
  );
  const documentNumber = check.take(
    parseIntegerFlag(flags.document, 'document', 'a policy number (1, 2, …)'),
  );
  // Without a partition and a choice of bundles there is nothing to build; otherwise report the
  // flags' problems together with the core's (unknown bundles, regions of another partition).
  if (!partition || !bundles) throw check.error();
  const { catalog } = await readCatalog(io, flags);
  const policySet = check.attempt(() =>
    buildPolicies(
      catalog,
      {
        partition,
        bundles: resolveBundleChoice(io, catalog, partition, bundles),
        ...(regions ? { regions } : {}),
      },
      { principal: flags.principal ?? 'role' },
    ),
  );
  check.done();
  if (!policySet || !roleName) throw check.error();

  const documents = concretePolicies(policySet, { roleName, ...(accountId ? { accountId } : {}) });
  const printed: PrintedPolicy[] = documents.map((document, i) => {
    const policy = policySet.policies[i];
    if (!policy) throw new Error('concretePolicies returned more documents than policies');
    return { name: `${roleName}-${policy.suffix}`, size: policy.size, document };
  });

  if (documentNumber === undefined) {
    writeResult(io, JSON.stringify(printed, null, 2));
    return;
  }
  const chosen = printed[documentNumber - 1];
  if (!chosen) {
    const count = printed.length;
    throw toFlagError([
      {
        field: 'document',
        code: 'out_of_range',
        message: `There ${count === 1 ? 'is only 1 policy' : `are ${count} policies`} for this choice.`,
        hint: count === 1 ? 'Use --document 1.' : `Use --document 1 to --document ${count}.`,
      },
    ]);
  }
  writeResult(io, JSON.stringify(chosen.document, null, 2));
}
