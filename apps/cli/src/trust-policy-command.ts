import {
  buildTrustPolicy,
  buildWebIdentityTrustPolicy,
  fail,
  oidcProviderArn,
  PARTITION_IDS,
  type PartitionId,
  parseAccountId,
  parseExternalId,
} from '@onramp/core';
import type { Command } from 'commander';
import { readCatalog } from './catalog-source.ts';
import { type CliIo, writeResult } from './cli-io.ts';
import {
  addMethodOptions,
  announceExternalId,
  type CatalogFlags,
  checkMethodFlags,
  chooseExternalId,
  FlagChecker,
  HUB_PRINCIPAL_HELP,
  type MethodFlags,
  parseHubPrincipalFlag,
  parseMethodFlag,
  parsePartitionFlag,
} from './options.ts';

export interface TrustPolicyCommandFlags extends CatalogFlags, MethodFlags {
  partition?: string;
  /** oidc_role only: the account whose identity provider the role trusts. */
  accountId?: string;
}

export function addTrustPolicyCommand(program: Command, io: CliIo): void {
  const command = program
    .command('trust-policy')
    .summary('print the trust policy that lets your platform assume the role')
    .description(
      "Print the role's trust policy as JSON: only your platform's principal may assume the role, and only " +
        'with the external ID (the confused-deputy defence). When the principal is a role or user, its ARN ' +
        'is pinned with aws:PrincipalArn. Without --external-id, a new random one is generated and shown ' +
        "on stderr. With --method oidc_role, the keyless role's trust policy instead: only tokens from " +
        "Onramp's issuer, through the account's identity provider for it, with this subject and audience.",
    )
    .option('--partition <partition>', `(required) AWS partition: ${PARTITION_IDS.join(', ')}`)
    .option('--hub-principal <id-or-arn>', `(required for role) ${HUB_PRINCIPAL_HELP}`)
    .option(
      '--external-id <id>',
      "(role) the connection's external ID (default: generate a new one)",
    )
    .option(
      '--account-id <id>',
      "(required for oidc_role) the customer's 12-digit account ID, which the identity provider's ARN names",
    );
  addMethodOptions(command)
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
  $ aws iam create-role --role-name OnrampRole --assume-role-policy-document file://trust.json

  A keyless role (the account needs the identity provider for the issuer first):
  $ onramp trust-policy --partition aws --method oidc_role --account-id 123456789012 \\
      --issuer https://onramp.example.com/oidc --subject tenant:ten_1:connection:con_1 > trust.json
  $ aws iam create-role --role-name OnrampRole --max-session-duration 43200 \\
      --assume-role-policy-document file://trust.json`,
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
  const method = check.take(parseMethodFlag(flags.method));
  if (method === 'oidc_role') return runKeyless(io, check, partition, flags);
  checkMethodFlags(check, method, partition, flags);
  if (flags.accountId !== undefined) {
    check.take(
      fail(
        'accountId',
        'invalid_format',
        'The trust policy of a role trusting the hub does not name the account.',
        'Leave out --account-id, or add --method oidc_role.',
      ),
    );
  }
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

async function runKeyless(
  io: CliIo,
  check: FlagChecker,
  partition: PartitionId | undefined,
  flags: TrustPolicyCommandFlags,
): Promise<void> {
  const web = checkMethodFlags(check, 'oidc_role', partition, flags);
  const accountId =
    flags.accountId === undefined
      ? check.take(
          fail(
            'accountId',
            'required',
            "A keyless role's trust policy names the account's identity provider, so it needs the account ID.",
            'For example --account-id 123456789012.',
          ),
        )
      : check.take(parseAccountId(flags.accountId.trim()));
  check.done();
  if (!partition || !web || !accountId) throw check.error();
  if (flags.catalog !== undefined) await readCatalog(io, flags);
  const policy = buildWebIdentityTrustPolicy({
    partition,
    providerArn: oidcProviderArn(partition, accountId, web.issuer),
    conditionPrefix: web.conditionPrefix,
    audience: web.audience,
    subject: web.subject,
  });
  writeResult(io, JSON.stringify(policy, null, 2));
}
