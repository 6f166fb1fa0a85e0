/**
 * `onramp connect`: connects a customer's AWS account with a role, from the terminal. It starts a
 * connection (or resumes one with --connection), prints what the role must trust and its template,
 * then waits until the stack calls back or the person pastes the role ARN, and prints each check.
 * Ctrl-C leaves the connection pending, with its external ID: `--connection <id>` resumes it.
 */
import { join } from 'node:path';
import { ApiProblem, type Connection, type CreateConnectionInput } from '@onramp/sdk';
import { type Command, Option } from 'commander';
import type { CliIo } from '../cli-io.ts';
import { EXIT_FAILURE, EXIT_NOT_VALID, EXIT_USAGE, UserError } from '../errors.ts';
import { openLines, sleepUnlessAborted, type WaitOutcome, waitForRole } from './connect-wait.ts';
import { type Output, printable, printableLines, statusMark } from './output.ts';
import { toRemoteError } from './problems.ts';
import { createSpinner } from './progress.ts';
import { addRemoteOptions, openRemote, type Remote, type RemoteOptions } from './remote.ts';

type TemplateFormat = 'cloudformation' | 'terraform' | 'steps';

interface ConnectOptions extends RemoteOptions {
  partition?: string;
  bundles?: string;
  regions?: string;
  roleName?: string;
  name?: string;
  method: string;
  format: string;
  out?: string;
  wait: boolean;
  connection?: string;
  pollInterval: string;
}

/** Each API field of a connection, as the flag that gives it. */
const FLAG_OF_FIELD = {
  partition: '--partition',
  bundles: '--bundles',
  regions: '--regions',
  roleName: '--role-name',
  name: '--name',
  method: '--method',
  roleArn: 'the pasted role ARN',
  id: '--connection',
  connectionId: '--connection',
};

/** What connect needs besides the CLI's io. */
export interface ConnectDependencies {
  /** Calls `handler` on Ctrl-C until the returned function is called. */
  onInterrupt?: (handler: () => void) => () => void;
}

/** Adds `onramp connect`. */
export function addConnectCommand(
  program: Command,
  io: CliIo,
  dependencies: ConnectDependencies = {},
): Command {
  const command = program
    .command('connect')
    .summary('connect an AWS account with a role, and wait until it is connected')
    .description(
      'Starts a role set-up, prints the principal the role must trust, the external ID and the template, ' +
        'then waits until the CloudFormation stack calls Onramp back or you paste the role ARN, and prints each check.',
    )
    .addOption(new Option('--partition <partition>', 'aws, aws-us-gov or aws-cn'))
    .addOption(new Option('--bundles <ids>', 'default, all, or bundle ids separated by commas'))
    .addOption(new Option('--regions <ids>', 'regions separated by commas (default: all)'))
    .addOption(new Option('--role-name <name>', 'the role to create (default: OnrampRole-…)'))
    .addOption(new Option('--name <name>', "the account's name in Onramp"))
    .addOption(
      new Option('--method <method>', 'role (hub principal and external ID) or oidc_role (keyless)')
        .choices(['role', 'oidc_role'])
        .default('role'),
    )
    .addOption(
      new Option('--format <format>', 'the template printed or written')
        .choices(['cloudformation', 'terraform', 'steps'])
        .default('cloudformation'),
    )
    .addOption(
      new Option('--out <dir>', 'write the template files into this directory instead of stdout'),
    )
    .addOption(new Option('--no-wait', 'print what to create and exit, without waiting'))
    .addOption(
      new Option('--connection <id>', 'resume waiting on a pending connection (same external ID)'),
    )
    .addOption(
      new Option('--poll-interval <ms>', 'how often to ask Onramp, in milliseconds').default(
        '2000',
      ),
    )
    .addHelpText(
      'after',
      `
Examples:
  $ onramp connect --partition aws --bundles default > onramp-role.yaml
  $ onramp connect --partition aws-us-gov --out ./role --format terraform
  $ onramp connect --connection con_…          # resume after Ctrl-C

While waiting, paste the role's ARN and press Enter if the stack cannot call back.
Exit codes: 0 connected and valid, 1 not connected (interrupted, expired, refused),
2 a problem with the command line, 3 connected but not valid (the checks say what to fix).`,
    );
  addRemoteOptions(command).action(async (options: ConnectOptions) => {
    await runConnect(options, io, dependencies);
  });
  return command;
}

async function runConnect(
  options: ConnectOptions,
  io: CliIo,
  dependencies: ConnectDependencies,
): Promise<void> {
  const pollMs = parsePollInterval(options.pollInterval);
  const remote = await openRemote(options, io);
  const connection = options.connection
    ? await resumeConnection(remote, options)
    : await remote.call(
        (client) => client.connections.create(creationOf(options, io)),
        FLAG_OF_FIELD,
      );
  if (connection.status === 'connected' && connection.accountId) {
    io.stderr.write(`Connection ${connection.id} is already connected.\n`);
    return finishConnected(remote, io, connection.accountId);
  }
  if (connection.unavailableReason) {
    throw new UserError(
      [`this connection cannot create a role now: ${printable(connection.unavailableReason)}`],
      EXIT_FAILURE,
    );
  }
  await presentConnection(remote, io, connection, options);
  if (!options.wait) {
    if (remote.json) remote.output.document(connection);
    io.stderr.write(`Not waiting. Resume with: onramp connect --connection ${connection.id}\n`);
    return;
  }
  const outcome = await waitWithSpinner(remote, io, connection, pollMs, dependencies);
  switch (outcome.kind) {
    case 'connected':
      io.stderr.write('The stack called back: the role is connected.\n');
      return finishConnected(remote, io, outcome.connection.accountId ?? '');
    case 'pasted':
      return connectPasted(remote, io, connection, outcome.roleArn);
    case 'expired':
      throw new UserError(
        [
          `connection ${connection.id} expired before the role was connected; start again with onramp connect --partition ${connection.partition}.`,
        ],
        EXIT_FAILURE,
      );
    case 'interrupted':
      throw new UserError(
        [
          `stopped waiting. Connection ${connection.id} stays pending${connection.expiresAt ? ` until ${connection.expiresAt}` : ''}, with the same ${connection.externalId ? 'external ID' : 'trust'}; resume with: onramp connect --connection ${connection.id}`,
        ],
        EXIT_FAILURE,
      );
  }
}

function parsePollInterval(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < 200 || value > 60_000) {
    throw new UserError(
      [`--poll-interval: "${printable(text)}" is not a number of milliseconds from 200 to 60000.`],
      EXIT_USAGE,
    );
  }
  return value;
}

/** --connection: the pending connection as it is; flags that would change it are refused. */
async function resumeConnection(remote: Remote, options: ConnectOptions): Promise<Connection> {
  const changing = (['partition', 'bundles', 'regions', 'roleName', 'name'] as const).filter(
    (key) => options[key] !== undefined,
  );
  if (changing.length > 0) {
    const flags = changing.map((key) => FLAG_OF_FIELD[key]).join(', ');
    throw new UserError(
      [
        `${flags}: cannot be used with --connection, which resumes a set-up as it is (change it with onramp connections update, or start a new one without --connection).`,
      ],
      EXIT_USAGE,
    );
  }
  const id = options.connection ?? '';
  const connection = await remote.call((client) => client.connections.get(id), FLAG_OF_FIELD);
  if (connection.expired) {
    throw new UserError(
      [
        `--connection: ${id} has expired; start a new set-up with onramp connect --partition ${connection.partition}.`,
      ],
      EXIT_FAILURE,
    );
  }
  return connection;
}

function creationOf(options: ConnectOptions, io: CliIo): CreateConnectionInput {
  if (!options.partition) {
    throw new UserError(
      [
        '--partition: required (aws, aws-us-gov or aws-cn), or --connection <id> to resume a set-up.',
      ],
      EXIT_USAGE,
    );
  }
  const list = (text: string) =>
    text
      .split(/[,\s]+/)
      .map((part) => part.trim())
      .filter((part) => part !== '');
  const bundles = options.bundles?.trim();
  const selection: CreateConnectionInput['bundles'] =
    bundles === 'default' || bundles === 'all' ? bundles : bundles ? list(bundles) : undefined;
  return {
    // A name is required, and two accounts may not share one: a timestamp keeps them apart.
    name:
      options.name ??
      `AWS account (connected ${io.now().toISOString().slice(0, 19).replace('T', ' ')})`,
    partition: options.partition as CreateConnectionInput['partition'],
    method: options.method as 'role' | 'oidc_role',
    ...(selection ? { bundles: selection } : {}),
    ...(options.regions ? { regions: list(options.regions) } : {}),
    ...(options.roleName ? { roleName: options.roleName } : {}),
  };
}

/**
 * What the person needs to create the role: the trust facts, and the template on stdout or in
 * files. With the template on stdout, the facts go to stderr so `> role.yaml` holds only the template.
 */
async function presentConnection(
  remote: Remote,
  io: CliIo,
  connection: Connection,
  options: ConnectOptions,
): Promise<void> {
  const format = options.format as TemplateFormat;
  const toFiles = options.out !== undefined;
  const facts = describeFacts(connection);
  const say = (text: string) =>
    toFiles && !remote.json
      ? remote.output.line(text)
      : io.stderr.write(`${printableLines(text)}\n`);
  say(facts.join('\n'));
  if (toFiles) {
    const written = await writeTemplates(remote, io, connection, format, options.out ?? '.');
    for (const line of written) say(line);
  } else if (!remote.json) {
    io.stdout.write(ensureNewline(await renderTemplate(remote, connection, format)));
    if (format === 'cloudformation' && connection.deployCommand) {
      say(`Deploy it (saved as the file the command names):\n  ${connection.deployCommand}`);
    }
  }
  if (connection.links.quickCreate) {
    say(`Or open the AWS console's quick-create page:\n  ${connection.links.quickCreate}`);
  }
}

function describeFacts(connection: Connection): string[] {
  const lines = [
    `Connection ${connection.id} (${connection.partition}), role ${connection.roleName}`,
  ];
  if (connection.trustedPrincipal) {
    lines.push(`Trusted principal (hub): ${connection.trustedPrincipal.arn}`);
  }
  if (connection.externalId) lines.push(`External ID:             ${connection.externalId}`);
  if (connection.webIdentity) {
    lines.push(
      `OIDC issuer:             ${connection.webIdentity.issuer}`,
      `Audience:                ${connection.webIdentity.audience}`,
      `Subject:                 ${connection.webIdentity.subject}`,
    );
  }
  if (connection.expiresAt) lines.push(`Pending until:           ${connection.expiresAt}`);
  return lines;
}

function ensureNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** The template in one format, as text. */
async function renderTemplate(
  remote: Remote,
  connection: Connection,
  format: TemplateFormat,
): Promise<string> {
  if (format === 'steps') {
    const steps = await remote.call((client) => client.connections.steps(connection.id));
    return steps.steps
      .map((step, index) => {
        const values = step.values.map((v) => `     ${v.label}: ${v.value}`);
        return [
          `${index + 1}. ${step.title}`,
          `   ${step.detail}`,
          ...(step.link ? [`   ${step.link}`] : []),
          ...values,
        ].join('\n');
      })
      .join('\n\n');
  }
  return remote.call((client) =>
    format === 'terraform'
      ? client.connections.terraform(connection.id)
      : client.connections.cloudFormation(connection.id, { format: 'yaml' }),
  );
}

/** The templates written into `dir`: the chosen format's file; their paths and what to run. */
async function writeTemplates(
  remote: Remote,
  io: CliIo,
  connection: Connection,
  format: TemplateFormat,
  dir: string,
): Promise<string[]> {
  const deployFile = /--template-file\s+(\S+)/.exec(connection.deployCommand ?? '')?.[1];
  const name =
    format === 'cloudformation'
      ? (deployFile ?? `onramp-${connection.id}.yaml`)
      : format === 'terraform'
        ? `onramp-${connection.id}.tf`
        : `onramp-${connection.id}-steps.txt`;
  const path = join(dir, name);
  const text = await renderTemplate(remote, connection, format);
  try {
    await io.writeFile(path, ensureNewline(text), 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unwritable';
    throw new UserError([`--out: cannot write ${printable(path)} (${code}).`], EXIT_USAGE);
  }
  const lines = [`Wrote ${path}`];
  if (format === 'cloudformation' && connection.deployCommand) {
    const command = deployFile
      ? connection.deployCommand.replace(deployFile, path)
      : connection.deployCommand;
    lines.push(`Deploy it:\n  ${command}`);
  }
  return lines;
}

/** The wait, with a spinner (or periodic lines) on stderr and pasted lines read from stdin. */
async function waitWithSpinner(
  remote: Remote,
  io: CliIo,
  connection: Connection,
  pollMs: number,
  dependencies: ConnectDependencies,
): Promise<WaitOutcome> {
  const text = connection.reportsBack
    ? 'Waiting for the stack to call back (or paste the role ARN and press Enter)…'
    : 'Waiting for the role ARN: paste it and press Enter once the role exists…';
  if (!connection.reportsBack) {
    io.stderr.write(
      'note: this Onramp has no public URL the stack can call, so it cannot report the role by itself.\n',
    );
  }
  const spinner = createSpinner({
    sink: io.stderr,
    isTTY: io.stderr.isTTY === true,
    now: () => io.now().getTime(),
    text,
  });
  const stop = new AbortController();
  const release = (dependencies.onInterrupt ?? onProcessInterrupt)(() => stop.abort());
  const input = openLines(io.stdin);
  const timer = setInterval(() => spinner.tick(), io.stderr.isTTY ? 100 : 1000);
  spinner.tick();
  try {
    return await waitForRole({
      poll: () => remote.client.connections.get(connection.id),
      lines: input.lines,
      partition: connection.partition,
      intervalMs: pollMs,
      sleep: sleepUnlessAborted,
      signal: stop.signal,
      onRejectedLine: (_line, reason) => {
        spinner.stop();
        io.stderr.write(`${reason}\n`);
      },
      onPollTrouble: (problem) => {
        spinner.stop();
        io.stderr.write(
          `note: Onramp did not answer (${problem.status || 'network'}); still waiting.\n`,
        );
      },
    });
  } catch (error) {
    throw toRemoteError(error, remote.context(FLAG_OF_FIELD));
  } finally {
    clearInterval(timer);
    spinner.stop();
    release();
    // Stop reading standard input, so the process can end.
    input.close();
  }
}

/** A pasted ARN: validated (each check printed), then connected when valid. */
async function connectPasted(
  remote: Remote,
  io: CliIo,
  connection: Connection,
  roleArn: string,
): Promise<void> {
  const input = { method: connection.method, connectionId: connection.id, roleArn };
  io.stderr.write(`Checking ${printable(roleArn)}…\n`);
  const result = await remote.call((client) => client.accounts.validate(input), FLAG_OF_FIELD);
  if (!result.valid) {
    printChecks(remote.output, io, result.checks);
    const fixes = [
      ...result.errors.map((e) => `${e.field}: ${e.message}${e.hint ? ` ${e.hint}` : ''}`),
      ...findingsOf(result.findings),
    ];
    if (remote.json) remote.output.document(result);
    throw new UserError(
      [
        `the role is not valid (${result.status}); fix it, then resume with: onramp connect --connection ${connection.id}`,
        ...fixes.map(printable),
      ],
      EXIT_NOT_VALID,
    );
  }
  try {
    const account = await remote.client.accounts.create(input);
    return finishConnected(remote, io, account.id);
  } catch (error) {
    // The stack called back while the ARN was being checked: the connection is connected already.
    if (error instanceof ApiProblem && error.errors.some((e) => e.code === 'already_connected')) {
      const again = await remote.call((client) => client.connections.get(connection.id));
      if (again.accountId) return finishConnected(remote, io, again.accountId);
    }
    throw toRemoteError(error, remote.context(FLAG_OF_FIELD));
  }
}

/** The connected account's checks; exit 3 (naming what to fix) unless it is valid. */
async function finishConnected(remote: Remote, io: CliIo, accountId: string): Promise<void> {
  const account = await remote.call((client) => client.accounts.get(accountId));
  if (remote.json) remote.output.document(account);
  else {
    printChecks(remote.output, io, account.checks, true);
    remote.output.line(
      `Connected: ${account.id} "${account.name}", AWS account ${account.awsAccountId}, ${account.status}.`,
    );
  }
  if (account.status === 'valid') return;
  const fixes = [
    ...findingsOf(account.findings),
    ...account.checks
      .filter((c) => c.status === 'failed' || c.status === 'error')
      .map((c) => `${c.name}: ${c.detail}`),
  ];
  throw new UserError(
    [
      `account ${account.id} is connected but ${account.status}; fix the role, then run onramp accounts check ${account.id}.`,
      ...fixes.map(printable),
    ],
    EXIT_NOT_VALID,
  );
}

function findingsOf(
  findings: readonly { bundleName: string; missing: string[]; deniedByScp: string[] }[],
): string[] {
  return findings.flatMap((f) => [
    ...(f.missing.length ? [`${f.bundleName}: missing ${f.missing.join(', ')}`] : []),
    ...(f.deniedByScp.length
      ? [`${f.bundleName}: denied by an SCP ${f.deniedByScp.join(', ')}`]
      : []),
  ]);
}

/** `✓ identity  Assumed arn:…`, one line per check, to stdout (or stderr when stdout is the JSON). */
function printChecks(
  output: Output,
  io: CliIo,
  checks: readonly { name: string; status: string; detail: string }[],
  toStdout = false,
): void {
  for (const check of checks) {
    const line = `${statusMark(output, check.status)} ${printable(check.name)}: ${printable(check.detail)}`;
    if (toStdout && !output.json) output.line(line);
    else io.stderr.write(`${line}\n`);
  }
}

/** Ctrl-C in the real process: the handler runs instead of Node's exit. */
function onProcessInterrupt(handler: () => void): () => void {
  process.on('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}
