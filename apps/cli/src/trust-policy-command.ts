import { buildTrustPolicy, PARTITION_IDS, parseExternalId } from '@onramp/core';
import type { Command } from 'commander';
import { readCatalog } from './catalog-source.ts';
import { type CliIo, writeResult } from './cli-io.ts';
import {
  announceExternalId,
  type CatalogFlags,
  chooseExternalId,
  FlagChecker,
  HUB_PRINCIPAL_HELP,
  parseHubPrincipalFlag,
  parsePartitionFlag,
} from './options.ts';

export interface TrustPolicyCommandFlags extends CatalogFlags {
  partition?: string;
  hubPrincipal?: string;
  externalId?: string;
}

export function addTrustPolicyCommand(program: Command, io: CliIo): void {
  program
    .command('trust-policy')
    .summary('print the trust policy that lets your platform assume the role')
    .description(
      "Print the role's trust policy as JSON: only your platform's principal may assume the role, and only " +
        'with the external ID (the confused-deputy defence). When the principal is a role or user, its ARN ' +
        'is pinned with aws:PrincipalArn. Without --external-id, a new random one is generated and shown ' +
        'on stderr.',
    )
    .option('--partition <partition>', `(required) AWS partition: ${PARTITION_IDS.join(', ')}`)
    .option('--hub-principal <id-or-arn>', `(required) ${HUB_PRINCIPAL_HELP}`)
    .option('--external-id <id>', "the connection's external ID (default: generate a new one)")
    .option(
      '--catalog <file>',
      'your own permission catalog (YAML); the trust policy does not depend on it, but it is checked',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ onramp trust-policy --partition aws --hub-principal 123456789012
  $ onramp trust-policy --partition aws-us-gov \\
      --hub-principal arn:aws-us-gov:iam::123456789012:role/platform-hub --external-id onramp-abc123

  Create the role with the AWS CLI:
  $ onramp trust-policy --partition aws --hub-principal 123456789012 > trust.json
  $ aws iam create-role --role-name OnrampRole --assume-role-policy-document file://trust.json`,
    )
    .action(async (_flags, cmd: Command) =>
      runTrustPolicyCommand(io, cmd.opts<TrustPolicyCommandFlags>()),
    );
}

export async function runTrustPolicyCommand(
  io: CliIo,
  flags: TrustPolicyCommandFlags,
): Promise<void> {
  const check = new FlagChecker();
  const partition = check.take(parsePartitionFlag(flags.partition));
  // Checked against the partition only once the partition is known to be good.
  const hub = partition
    ? check.take(parseHubPrincipalFlag(flags.hubPrincipal, partition))
    : undefined;
  if (flags.externalId !== undefined) check.take(parseExternalId(flags.externalId, 'externalId'));
  check.done();
  if (!partition || !hub) throw check.error();
  // Taken so that every command accepts the same --catalog; a broken catalog is reported here too.
  if (flags.catalog !== undefined) await readCatalog(io, flags);

  const choice = chooseExternalId(io, flags.externalId);
  const policy = buildTrustPolicy({ partition, hub, externalId: choice.externalId });
  writeResult(io, JSON.stringify(policy, null, 2));
  announceExternalId(io, choice);
}
