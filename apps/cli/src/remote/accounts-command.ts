import {
  type Account,
  ApiProblem,
  type CreateAccountInput,
  type ListAccountsQuery,
  type OnrampClient,
  type UpdateAccountInput,
} from '@onramp/sdk';
import { type Command, Option } from 'commander';
import type { CliIo } from '../cli-io.ts';
import { EXIT_NOT_VALID, EXIT_USAGE, UserError } from '../errors.ts';
import {
  printAccount,
  printAccountsTable,
  printCheck,
  printNotices,
  printValidation,
} from './account-views.ts';
import { parseBundles, parseChoice, parseList, parseWholeNumber, requireSome } from './flags.ts';
import { problemToUserError } from './problems.ts';
import { confirmUnlessYes, readSecret } from './prompt.ts';
import { addRemoteOptions, openRemote, type Remote, type RemoteOptions } from './remote.ts';

const PARTITIONS = ['aws', 'aws-us-gov', 'aws-cn'] as const;
const METHODS = ['role', 'oidc_role', 'access_keys'] as const;
const STATUSES = ['valid', 'degraded', 'invalid', 'unverified'] as const;

/** The flag (or argument) each field of the accounts API comes from. */
const ACCOUNT_FLAGS: Readonly<Record<string, string>> = {
  id: '<account>',
  name: '--name',
  description: '--description',
  partition: '--partition',
  bundles: '--bundles',
  regions: '--regions',
  method: '--method',
  accessKeyId: '--access-key-id',
  secretAccessKey: 'the secret access key (--secret-stdin or --secret-file)',
  roleArn: '--role-arn',
  connectionId: '--connection',
  acceptMissingPermissions: '--accept-missing-permissions',
  awsAccountId: '--aws-account',
  q: '--search',
  status: '--status',
  outdated: '--outdated',
  limit: '--limit',
  cursor: '--cursor',
};

interface ListFlags extends RemoteOptions {
  partition?: string;
  method?: string;
  status?: string;
  outdated?: boolean;
  awsAccount?: string;
  search?: string;
  limit?: string;
  cursor?: string;
  all?: boolean;
}

/** What `accounts add` and `accounts validate` take. */
interface AccountInputFlags extends RemoteOptions {
  name?: string;
  description?: string;
  partition?: string;
  bundles?: string;
  regions?: string;
  method?: string;
  roleArn?: string;
  connection?: string;
  externalId?: string;
  accessKeyId?: string;
  secretStdin?: boolean;
  secretFile?: string;
  secretAccessKey?: string;
  acceptMissingPermissions?: boolean;
}

interface UpdateFlags extends RemoteOptions {
  name?: string;
  description?: string;
  bundles?: string;
  regions?: string;
  roleArn?: string;
  accessKeyId?: string;
  secretStdin?: boolean;
  secretFile?: string;
  secretAccessKey?: string;
}

/**
 * `onramp accounts list|get|add|validate|check|update|rm`. Returns the group, so another command
 * (`accounts import`) can be added to it.
 */
export function addAccountsCommand(program: Command, io: CliIo): Command {
  const accounts = program
    .command('accounts')
    .summary('list, add, check, change and remove connected AWS accounts')
    .description(
      'Connected AWS accounts of your tenant (an operator names one with --tenant). Every command ' +
        'takes --json for the API’s JSON, and --profile/--url to choose the Onramp.',
    );

  addRemoteOptions(
    accounts
      .command('list')
      .summary('list accounts (a table: id, name, partition, account, method, health, last check)')
      .option('--partition <partition>', `only this partition (${PARTITIONS.join(', ')})`)
      .option('--method <method>', `only this method (${METHODS.join(', ')})`)
      .option('--status <status>', `only this health (${STATUSES.join(', ')})`)
      .option('--outdated', 'only accounts whose permissions the catalog changed since')
      .option('--aws-account <id>', 'only this 12-digit AWS account')
      .option('--search <text>', 'names and ids containing this text')
      .option('--limit <n>', 'accounts per page (1 to 200; default 50)')
      .option('--cursor <cursor>', 'the page after this one (the previous page’s next)')
      .option('--all', 'follow the pages to the last one'),
  ).action(async (flags: ListFlags) => runList(io, flags));

  addRemoteOptions(
    accounts.command('get').summary('show one account, its last check and what it lacks'),
  )
    .argument('<account>', 'the account’s id (acct_…)')
    .action(async (id: string, flags: RemoteOptions) => runGet(io, id, flags));

  addAccountInputOptions(
    addRemoteOptions(
      accounts
        .command('add')
        .summary('connect an account: a role (from a connection) or access keys')
        .addHelpText(
          'after',
          `
The secret access key is read from standard input (--secret-stdin), a file (--secret-file) or a
hidden prompt, never from a flag: a command line is visible to every user of the machine.

Examples:
  $ onramp accounts add --connection con_… --role-arn arn:aws:iam::123456789012:role/OnrampRole-abc
  $ onramp accounts add --partition aws --name Prod --access-key-id AKIA… --secret-file ./secret.txt
  $ printenv SECRET | onramp accounts add --partition aws --name Prod --access-key-id AKIA… --secret-stdin`,
        ),
    ),
  ).action(async (flags: AccountInputFlags) => runAdd(io, flags));

  addAccountInputOptions(
    addRemoteOptions(
      accounts
        .command('validate')
        .summary('check credentials without saving anything; each step with ✓ ✗ !')
        .addHelpText('after', '\nExit codes: 0 valid, 3 not valid (the steps say why).'),
    ),
  ).action(async (flags: AccountInputFlags) => runValidate(io, flags));

  addRemoteOptions(
    accounts
      .command('check')
      .summary('check an account’s health now and print each step')
      .addHelpText(
        'after',
        '\nExit codes: 0 valid, 3 invalid, degraded or unverified, or AWS could not be reached.',
      ),
  )
    .argument('<account>', 'the account’s id (acct_…)')
    .action(async (id: string, flags: RemoteOptions) => runCheck(io, id, flags));

  addSecretOptions(
    addRemoteOptions(
      accounts
        .command('update')
        .summary('rename, change bundles or regions, or replace the role ARN or access keys')
        .option('--name <name>', 'a new name')
        .option('--description <text>', 'a new description')
        .option('--bundles <ids>', 'the bundles: default, all, or ids separated by commas')
        .option('--regions <ids>', 'the regions, separated by commas (none: all)')
        .option('--role-arn <arn>', 'a new role ARN (validated before it replaces the old)')
        .option(
          '--access-key-id <id>',
          'new access keys: the key id (the secret from stdin or a file)',
        ),
    ),
  )
    .argument('<account>', 'the account’s id (acct_…)')
    .action(async (id: string, flags: UpdateFlags) => runUpdate(io, id, flags));

  addRemoteOptions(
    accounts
      .command('rm')
      .summary('remove an account from Onramp (its role or user in AWS stays)')
      .option('--yes', 'do not ask; needed when not on a terminal'),
  )
    .argument('<account>', 'the account’s id (acct_…)')
    .action(async (id: string, flags: RemoteOptions & { yes?: boolean }) =>
      runRemove(io, id, flags),
    );

  return accounts;
}

function addAccountInputOptions(command: Command): Command {
  return addSecretOptions(
    command
      .option('--name <name>', 'the account’s name (a role: default, the connection’s)')
      .option('--description <text>', 'a description')
      .option('--partition <partition>', `access keys: ${PARTITIONS.join(', ')}`)
      .option(
        '--bundles <ids>',
        'access keys: default (the default), all, or ids separated by commas',
      )
      .option('--regions <ids>', 'access keys: regions separated by commas (default: all)')
      .option('--method <method>', 'role or oidc_role (default: the connection’s), or access_keys')
      .option('--role-arn <arn>', 'a role: the ARN of the role made from the connection')
      .option('--connection <id>', 'a role: the connection (con_…) the role was made from')
      .option('--external-id <id>', 'a role: find the pending connection by its external ID')
      .option('--access-key-id <id>', 'access keys: the key id (the secret from stdin or a file)')
      .option(
        '--accept-missing-permissions',
        'save it although permissions are missing (degraded); identity failures still refuse it',
      ),
  );
}

function addSecretOptions(command: Command): Command {
  return command
    .option('--secret-stdin', 'read the secret access key from standard input')
    .option('--secret-file <path>', 'read the secret access key from this file')
    .addOption(new Option('--secret-access-key <secret>').hideHelp());
}

async function runList(io: CliIo, flags: ListFlags): Promise<void> {
  const query: ListAccountsQuery = {
    ...(flags.partition
      ? { partition: parseChoice(flags.partition, '--partition', PARTITIONS) }
      : {}),
    ...(flags.method ? { method: parseChoice(flags.method, '--method', METHODS) } : {}),
    ...(flags.status ? { status: parseChoice(flags.status, '--status', STATUSES) } : {}),
    ...(flags.outdated ? { outdated: 'true' as const } : {}),
    ...(flags.awsAccount ? { awsAccountId: flags.awsAccount } : {}),
    ...(flags.search ? { q: flags.search } : {}),
    ...(flags.limit ? { limit: parseWholeNumber(flags.limit, '--limit', 1, 200) } : {}),
    ...(flags.cursor ? { cursor: flags.cursor } : {}),
  };
  const remote = await openRemote(flags, io);
  if (flags.all) {
    const all = await remote.call(
      (client) => listEveryAccount(client, { ...query, limit: query.limit ?? 200 }),
      ACCOUNT_FLAGS,
    );
    if (remote.json) return remote.output.document(all);
    printAccountsTable(remote.output, all, io.now());
    return;
  }
  const page = await remote.call((client) => client.accounts.list(query), ACCOUNT_FLAGS);
  if (remote.json) return remote.output.document(page);
  if (page.accounts.length === 0) {
    remote.output.note('No accounts match. Add one with onramp accounts add, or onramp connect.');
    return;
  }
  printAccountsTable(remote.output, page.accounts, io.now());
  if (page.next)
    remote.output.note(`More accounts follow: --cursor ${page.next}, or --all for every page.`);
}

/** Every page of a filtered list, following `next` until the last. */
async function listEveryAccount(
  client: OnrampClient,
  query: ListAccountsQuery,
): Promise<Account[]> {
  const accounts: Account[] = [];
  let cursor = query.cursor;
  do {
    const page = await client.accounts.list({ ...query, ...(cursor ? { cursor } : {}) });
    accounts.push(...page.accounts);
    cursor = page.next ?? undefined;
  } while (cursor);
  return accounts;
}

async function runGet(io: CliIo, id: string, flags: RemoteOptions): Promise<void> {
  const remote = await openRemote(flags, io);
  const account = await remote.call((client) => client.accounts.get(id), ACCOUNT_FLAGS);
  if (remote.json) return remote.output.document(account);
  printAccount(remote.output, account, io.now());
}

async function runAdd(io: CliIo, flags: AccountInputFlags): Promise<void> {
  const remote = await openRemote(flags, io);
  const input = await readAccountInput(io, remote, flags);
  const account = await remote.call(async (client) => {
    try {
      return await client.accounts.create(input);
    } catch (error) {
      throw withMissingPermissionsHint(error, remote);
    }
  }, ACCOUNT_FLAGS);
  if (remote.json) return remote.output.document(account);
  remote.output.line(`Connected ${account.name} (${account.id}): ${account.status}.`);
  printAccount(remote.output, account, io.now());
  printNotices(remote.output, account.notices);
}

/**
 * A refusal for missing permissions alone, with the way on the CLI offers: the server's hint names
 * the console ("View JSON"), and a person at the CLI may want the account saved degraded instead.
 */
function withMissingPermissionsHint(error: unknown, remote: Remote): unknown {
  if (
    !(error instanceof ApiProblem) ||
    error.status !== 422 ||
    error.errors.length === 0 ||
    !error.errors.every((fieldError) => fieldError.code === 'missing_actions')
  )
    return error;
  const refused = problemToUserError(error, remote.context(ACCOUNT_FLAGS));
  return new UserError(
    [
      ...refused.messages,
      'only permissions are missing: attach the policy the console shows (View JSON) and run this again, or add it now (degraded) with --accept-missing-permissions.',
    ],
    refused.exitCode,
  );
}

async function runValidate(io: CliIo, flags: AccountInputFlags): Promise<void> {
  const remote = await openRemote(flags, io);
  const input = await readAccountInput(io, remote, flags, 'validate');
  const result = await remote.call((client) => client.accounts.validate(input), ACCOUNT_FLAGS);
  if (remote.json) remote.output.document(result);
  else printValidation(remote.output, result, ACCOUNT_FLAGS);
  if (!result.valid)
    throw new UserError([`not valid (${result.status}): nothing was saved.`], EXIT_NOT_VALID);
}

async function runCheck(io: CliIo, id: string, flags: RemoteOptions): Promise<void> {
  const remote = await openRemote(flags, io);
  const check = await remote.call((client) => client.accounts.check(id), ACCOUNT_FLAGS);
  if (remote.json) remote.output.document(check);
  else printCheck(remote.output, check, id);
  if (check.stale)
    throw new UserError(
      [`AWS could not be reached: ${id} keeps its health (${check.status}).`],
      EXIT_NOT_VALID,
    );
  if (check.status !== 'valid') throw new UserError([`${id} is ${check.status}.`], EXIT_NOT_VALID);
}

async function runUpdate(io: CliIo, id: string, flags: UpdateFlags): Promise<void> {
  requireSome(
    [flags.name, flags.description, flags.bundles, flags.regions, flags.roleArn, flags.accessKeyId],
    '--name, --description, --bundles, --regions, --role-arn or --access-key-id',
  );
  if (flags.roleArn && flags.accessKeyId)
    throw new UserError(
      ['--role-arn and --access-key-id: an account has a role or access keys, not both.'],
      EXIT_USAGE,
    );
  const remote = await openRemote(flags, io);
  const change: UpdateAccountInput = {
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    ...(flags.description !== undefined ? { description: flags.description } : {}),
    ...(flags.bundles !== undefined ? { bundles: parseBundles(flags.bundles) } : {}),
    ...(flags.regions !== undefined ? { regions: parseRegions(flags.regions) } : {}),
  };
  // The secret is read before any change is sent, so a missing one changes nothing.
  const secret = flags.accessKeyId ? await readAccessKeySecret(io, flags) : undefined;
  let account: Account | undefined;
  if (flags.roleArn || flags.accessKeyId) {
    const current = await remote.call((client) => client.accounts.get(id), ACCOUNT_FLAGS);
    account = await remote.call(
      (client) =>
        client.accounts.replaceCredentials(
          id,
          flags.accessKeyId
            ? {
                method: 'access_keys',
                accessKeyId: flags.accessKeyId,
                secretAccessKey: secret ?? '',
              }
            : {
                method: current.method === 'oidc_role' ? 'oidc_role' : 'role',
                roleArn: flags.roleArn ?? '',
              },
        ),
      ACCOUNT_FLAGS,
    );
  }
  if (Object.keys(change).length > 0)
    account = await remote.call((client) => client.accounts.update(id, change), ACCOUNT_FLAGS);
  if (!account) return;
  if (remote.json) return remote.output.document(account);
  remote.output.line(`Updated ${account.name} (${account.id}).`);
  printAccount(remote.output, account, io.now());
}

async function runRemove(
  io: CliIo,
  id: string,
  flags: RemoteOptions & { yes?: boolean },
): Promise<void> {
  const remote = await openRemote(flags, io);
  await confirmUnlessYes(io, {
    yes: flags.yes,
    doing: `removing ${id}`,
    refused: 'not removed.',
    ask: async () => {
      const account = await remote.call((client) => client.accounts.get(id), ACCOUNT_FLAGS);
      return remote.output.paint(
        `Remove ${account.name} (${account.id}, AWS account ${account.awsAccountId}) from Onramp?`,
        'bold',
      );
    },
  });
  await remote.call((client) => client.accounts.delete(id), ACCOUNT_FLAGS);
  if (!remote.json)
    remote.output.note(
      `Removed ${id}. Its role or IAM user in AWS stays: delete the stack or user there too.`,
    );
}

/** The name sent with access keys that are only validated (the API asks for one; nothing is saved). */
const VALIDATION_NAME = 'validation only';

/**
 * The account to add or validate, from the flags: a role (its connection given, or found by its
 * external ID) or access keys (the secret read from stdin, a file or a hidden prompt).
 */
async function readAccountInput(
  io: CliIo,
  remote: Remote,
  flags: AccountInputFlags,
  purpose: 'add' | 'validate' = 'add',
): Promise<CreateAccountInput> {
  const method = flags.method
    ? parseChoice(flags.method, '--method', METHODS)
    : flags.accessKeyId
      ? 'access_keys'
      : undefined;
  if (method === 'access_keys') {
    const stray = [
      flags.roleArn && '--role-arn',
      flags.connection && '--connection',
      flags.externalId && '--external-id',
    ].filter(Boolean);
    if (stray.length > 0)
      throw new UserError(
        [`${stray.join(', ')}: these are for a role, not access keys.`],
        EXIT_USAGE,
      );
    // Validating saves nothing, so the name the API asks for is a stand-in when none is given.
    const name = flags.name ?? (purpose === 'validate' ? VALIDATION_NAME : undefined);
    const missing = [
      !flags.partition && '--partition',
      !name && '--name',
      !flags.accessKeyId && '--access-key-id',
    ].filter(Boolean);
    if (missing.length > 0)
      throw new UserError(
        [
          `${missing.join(', ')}: access keys need ${purpose === 'validate' ? 'a partition and the key id' : 'a partition, a name and the key id'}.`,
        ],
        EXIT_USAGE,
      );
    return {
      method: 'access_keys',
      name: name ?? '',
      ...(flags.description !== undefined ? { description: flags.description } : {}),
      partition: parseChoice(flags.partition ?? '', '--partition', PARTITIONS),
      accessKeyId: flags.accessKeyId ?? '',
      secretAccessKey: await readAccessKeySecret(io, flags),
      ...(flags.bundles !== undefined ? { bundles: parseBundles(flags.bundles) } : {}),
      ...(flags.regions !== undefined ? { regions: parseRegions(flags.regions) } : {}),
      ...(flags.acceptMissingPermissions ? { acceptMissingPermissions: true } : {}),
    };
  }
  if (!flags.roleArn)
    throw new UserError(
      [
        '--role-arn: give the role’s ARN and its --connection (a role), or --access-key-id with --partition and --name (access keys). onramp connect makes the role and adds it for you.',
      ],
      EXIT_USAGE,
    );
  const stray = [
    flags.partition && '--partition',
    flags.bundles && '--bundles',
    flags.regions && '--regions',
  ].filter(Boolean);
  if (stray.length > 0)
    throw new UserError(
      [
        `${stray.join(', ')}: a role account takes its partition, bundles and regions from its connection (change them with onramp accounts update once added).`,
      ],
      EXIT_USAGE,
    );
  const connection = await findConnection(remote, flags);
  return {
    method: method === 'oidc_role' || method === 'role' ? method : connection.method,
    connectionId: connection.id,
    roleArn: flags.roleArn,
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    ...(flags.description !== undefined ? { description: flags.description } : {}),
    ...(flags.acceptMissingPermissions ? { acceptMissingPermissions: true } : {}),
  };
}

/** The role's connection: by --connection, or the pending one whose external ID is --external-id. */
async function findConnection(
  remote: Remote,
  flags: AccountInputFlags,
): Promise<{ id: string; method: 'role' | 'oidc_role' }> {
  if (flags.connection && flags.externalId)
    throw new UserError(
      ['--connection and --external-id: give one; each names the connection.'],
      EXIT_USAGE,
    );
  if (flags.connection) {
    const connection = await remote.call(
      (client) => client.connections.get(flags.connection ?? ''),
      { id: '--connection' },
    );
    return { id: connection.id, method: connection.method };
  }
  if (!flags.externalId)
    throw new UserError(
      [
        '--connection: name the connection (con_…) the role was made from, or give its --external-id; onramp connections list shows them.',
      ],
      EXIT_USAGE,
    );
  const wanted = flags.externalId;
  const found = await remote.call(async (client) => {
    let cursor: string | undefined;
    do {
      const page = await client.connections.list({
        status: 'pending',
        limit: 200,
        ...(cursor ? { cursor } : {}),
      });
      const match = page.connections.find((c) => c.externalId === wanted);
      if (match) return match;
      cursor = page.next ?? undefined;
    } while (cursor);
    return undefined;
  });
  if (!found)
    throw new UserError(
      [
        '--external-id: no pending connection has this external ID; onramp connections list shows them.',
      ],
      EXIT_USAGE,
    );
  return { id: found.id, method: found.method };
}

/**
 * The secret access key, never from argv: --secret-stdin (the first line piped in), --secret-file,
 * or a hidden prompt on a terminal.
 */
async function readAccessKeySecret(
  io: CliIo,
  flags: { secretStdin?: boolean; secretFile?: string; secretAccessKey?: string },
): Promise<string> {
  if (flags.secretAccessKey !== undefined)
    throw new UserError(
      [
        '--secret-access-key is not taken: a command line is visible to every user of the machine and stays in shell history. Use --secret-stdin or --secret-file, and consider rotating the key you typed.',
      ],
      EXIT_USAGE,
    );
  if (flags.secretStdin && flags.secretFile)
    throw new UserError(['--secret-stdin and --secret-file: give one.'], EXIT_USAGE);
  if (flags.secretFile) {
    let text: string;
    try {
      text = await io.readFile(flags.secretFile);
    } catch (error) {
      throw new UserError(
        [
          `--secret-file: cannot read ${flags.secretFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        ],
        EXIT_USAGE,
      );
    }
    const secret = text.split(/\r?\n/, 1)[0]?.trim() ?? '';
    if (!secret) throw new UserError([`--secret-file: ${flags.secretFile} is empty.`], EXIT_USAGE);
    return secret;
  }
  if (!flags.secretStdin && !io.stdin.isTTY)
    throw new UserError(
      [
        'the secret access key: pipe it with --secret-stdin or name a file with --secret-file (it is never taken as a flag).',
      ],
      EXIT_USAGE,
    );
  return readSecret(io, 'Secret access key (not shown): ', '--secret-stdin');
}

function parseRegions(value: string): string[] {
  return value.trim() === '' ? [] : parseList(value, '--regions');
}
