import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { CoreValidationError } from '@onramp/core';
import { Command, CommanderError } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { addCatalogCommand } from './catalog-command.ts';
import type { CliIo } from './cli-io.ts';
import {
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  type ExitCode,
  toFlagError,
  UserError,
} from './errors.ts';
import { addKeysCommand } from './keys-command.ts';
import { addOidcCommand } from './oidc-command.ts';
import { addOrganizationTemplateCommand } from './organization-template-command.ts';
import { addPolicyCommand } from './policy-command.ts';
import { addAccountsCommand } from './remote/accounts-command.ts';
import { addAuditCommand } from './remote/audit-command.ts';
import { addConnectCommand } from './remote/connect-command.ts';
import { addConnectionsCommand } from './remote/connections-command.ts';
import { hideUnknownOptionValues } from './remote/flags.ts';
import { addImportCommand } from './remote/import-command.ts';
import { addLoginCommands } from './remote/login-command.ts';
import { addTokensCommand } from './remote/tokens-command.ts';
import { addTemplateCommand } from './template-command.ts';
import { addTrustPolicyCommand } from './trust-policy-command.ts';

const QUICK_START = `Quick start:
  $ onramp login --url https://onramp.example.com     # asks for an API token, keeps it (0600)
  $ onramp accounts list                              # connected accounts and their health
  $ onramp accounts check acct_…                      # check one now, step by step
  $ onramp catalog                                    # what can be granted, per partition
  $ onramp policy --partition aws --bundles default   # the permission policies, as JSON
  $ onramp trust-policy --partition aws --hub-principal 123456789012
  $ onramp template cloudformation --partition aws --bundles default > onramp-role.yaml
  $ onramp credentials acct_…                         # vended credentials, for credential_process
`;

/** A fresh program per run: commander keeps parsed values on the command objects. */
export function createProgram(io: CliIo): Command {
  const program = new Command('onramp')
    .description(
      'Connect customer AWS accounts (aws, aws-us-gov or aws-cn) to your platform: manage accounts, ' +
        'role set-ups, API tokens and the audit log of a running Onramp, and generate the IAM ' +
        'policies, trust policy and role templates from your permission catalog.',
    )
    .version(packageJson.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(hideUnknownOptionValues(text)),
    })
    .showHelpAfterError('(run the command with --help for its options and examples)')
    .addHelpText('before', QUICK_START)
    .addHelpText(
      'after',
      `
Output: results (JSON, templates, tables) go to stdout; notes and hints go to stderr. Commands that
talk to Onramp take --json (the API's JSON) and --profile, --url, --tenant; ONRAMP_URL and
ONRAMP_TOKEN override the profile that onramp login saved.
Exit codes: 0 success; 1 a problem with a file, the network or Onramp's answer (the token refused,
a record not found); 2 a problem with the command line (a flag, or a field the API refused that a
flag gave); 3 the account is not valid (accounts validate, accounts check).`,
    );
  addCatalogCommand(program, io);
  addPolicyCommand(program, io);
  addTrustPolicyCommand(program, io);
  addTemplateCommand(program, io);
  addOrganizationTemplateCommand(program, io);
  addKeysCommand(program, io);
  addOidcCommand(program, io);
  addLoginCommands(program, io);
  addImportCommand(addAccountsCommand(program, io), io);
  addConnectCommand(program, io);
  addConnectionsCommand(program, io);
  addTokensCommand(program, io);
  addAuditCommand(program, io);
  return program;
}

/** Runs the CLI with `argv` (without node and the script) and returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  // Parsed by its own small module (bin/onramp.js loads it without tsx or commander), so both paths
  // share one parser; `onramp credentials --help` shows its options.
  if (argv[0] === 'credentials') {
    const { runCredentials } = await import('./credentials-command.js');
    return (await runCredentials(argv.slice(1), io)) as ExitCode;
  }
  try {
    await createProgram(io).parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    return report(error, io);
  }
}

function report(error: unknown, io: CliIo): ExitCode {
  // Commander has already written its message (or the help) to stderr.
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  const userError =
    error instanceof UserError
      ? error
      : error instanceof CoreValidationError
        ? toFlagError(error.issues)
        : undefined;
  if (userError) {
    for (const message of userError.messages) io.stderr.write(`error: ${message}\n`);
    return userError.exitCode;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(
    `error: onramp failed unexpectedly; this is a bug in Onramp. Details:\n${detail}\n`,
  );
  return EXIT_FAILURE;
}

/** The real process: its arguments, streams, file system and random source. */
export async function main(): Promise<number> {
  // `onramp … | head` closes the pipe early; that is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  return run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    readFile: (path) => readFile(path, 'utf8'),
    writeFile: (path, text, mode) => writeFile(path, text, mode === undefined ? 'utf8' : { mode }),
    randomBytes: (size) => new Uint8Array(randomBytes(size)),
    env: process.env,
    homeDir: homedir(),
    now: () => new Date(),
  });
}
