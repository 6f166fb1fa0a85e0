/**
 * `onramp accounts import FILE`: many accounts from a CSV or YAML file, a bounded number of creates at
 * a time, with progress on stderr and a summary of what was connected, skipped and why each other row
 * failed. Safe to run again: each create is one server transaction, and a principal the tenant already
 * connects answers 409 `already_connected`, which counts as skipped. Secrets from the file are only
 * ever sent to Onramp: no message, progress line, summary or --json document holds one.
 */
import { ApiProblem, type CreateAccountInput, createClient, type OnrampClient } from '@onramp/sdk';
import { type Command, Option } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import type { CliIo } from '../cli-io.ts';
import { EXIT_FAILURE, EXIT_USAGE, UserError } from '../errors.ts';
import { runPool } from './import-pool.ts';
import { createRetryingFetch, defaultRetryPolicy, type RetryPolicy } from './import-retry.ts';
import {
  detectImportFormat,
  ImportFileError,
  type ImportRow,
  parseImportFile,
  type RowProblem,
} from './import-rows.ts';
import { printable } from './output.ts';
import { problemToUserError } from './problems.ts';
import { createProgressBar, formatDuration, type ImportTally } from './progress.ts';
import { addRemoteOptions, openRemote, type RemoteOptions } from './remote.ts';

export const DEFAULT_IMPORT_CONCURRENCY = 8;
const MAX_IMPORT_CONCURRENCY = 64;

interface ImportOptions extends RemoteOptions {
  format?: string;
  concurrency: string;
  dryRun?: boolean;
}

/** One row's outcome, as the summary and --json show it (no secret in any field). */
export type RowOutcome =
  | {
      kind: 'connected';
      row: number;
      line: number;
      name: string;
      accountId: string;
      status: string;
    }
  | { kind: 'skipped'; row: number; line: number; name: string; reason: string }
  | { kind: 'failed'; row: number; line: number; name: string; errors: OutcomeError[] };

interface OutcomeError {
  /** The column the problem is about, or `request` when the server named none. */
  field: string;
  message: string;
}

/** What stops the whole import rather than one row: every further row would fail the same way. */
const FATAL_STATUSES = new Set([0, 401, 403]);

/** What the import needs besides the CLI's io: how to wait between retries, and Ctrl-C. */
export interface ImportDependencies {
  retryPolicy?: RetryPolicy;
  /** Calls `handler` on Ctrl-C until the returned function is called. */
  onInterrupt?: (handler: () => void) => () => void;
}

/** Adds `import FILE` to the `accounts` command group. */
export function addImportCommand(
  accounts: Command,
  io: CliIo,
  dependencies: ImportDependencies = {},
): Command {
  const command = accounts
    .command('import')
    .summary('connect many accounts from a CSV or YAML file')
    .description(
      'Connects every row of FILE as an account: access keys (name, partition, accessKeyId, secretAccessKey, ' +
        'bundles, regions, description) or a role of a pending connection (roleArn, connectionId, name). ' +
        'Rows already connected are skipped, so running the same file again is safe.',
    )
    .argument('<file>', 'a .csv file (a header line of columns) or a .yaml/.yml list of accounts')
    .addOption(new Option('--format <format>', 'csv or yaml (default: from the extension)'))
    .addOption(
      new Option('--concurrency <n>', 'how many accounts to connect at once').default(
        String(DEFAULT_IMPORT_CONCURRENCY),
      ),
    )
    .addOption(
      new Option(
        '--dry-run',
        'check every row (locally, then with Onramp and AWS) without connecting',
      ),
    )
    .addHelpText(
      'after',
      `
CSV columns (any order; names are matched ignoring case, _ and -; other columns are ignored):
  name, partition, accessKeyId, secretAccessKey, bundles, regions, description, acceptMissingPermissions
  roleArn, connectionId (a role: the id of the pending connection whose external ID the role trusts,
                         as \`onramp connect --no-wait\` or \`onramp connections create\` print it)
  method (access_keys, role or oidc_role; by default from the credentials the row has)
  bundles and regions: "default", "all", or ids separated by ";" or spaces.

Examples:
  $ onramp accounts import accounts.csv
  $ onramp accounts import accounts.yaml --concurrency 4 --json > result.json
  $ onramp accounts import accounts.csv --dry-run

Exit codes: 0 every row connected or already connected, 1 a row failed (the summary says why),
2 a problem with the command line or the file.`,
    );
  addRemoteOptions(command).action(async (file: string, options: ImportOptions) => {
    await runImport(file, options, io, dependencies);
  });
  return command;
}

async function runImport(
  file: string,
  options: ImportOptions,
  io: CliIo,
  dependencies: ImportDependencies,
): Promise<void> {
  const concurrency = parseConcurrency(options.concurrency);
  const { rows, problems } = await readRows(file, options.format, io);
  const remote = await openRemote(options, io);
  const client = createImportClient(remote.url, remote.target, io, dependencies.retryPolicy);
  const startedAt = io.now().getTime();
  const outcomes: RowOutcome[] = problems.map(localFailure);
  const tally: ImportTally = { connected: 0, skipped: 0, failed: outcomes.length };
  const progress = createProgressBar({
    sink: io.stderr,
    isTTY: io.stderr.isTTY === true,
    columns: io.stderr.columns,
    total: rows.length + problems.length,
    now: () => io.now().getTime(),
  });
  const stop = new AbortController();
  let fatal: ApiProblem | undefined;
  let interrupted = false;
  const release = (dependencies.onInterrupt ?? onProcessInterrupt)(() => {
    interrupted = true;
    stop.abort();
  });
  progress.update(tally);
  try {
    await runPool(
      rows,
      async (row) => {
        const outcome = await importRow(client, row, options.dryRun === true);
        if ('fatal' in outcome) {
          fatal ??= outcome.fatal;
          stop.abort();
          return;
        }
        outcomes.push(outcome);
        tally[outcome.kind] += 1;
        progress.update(tally);
      },
      { concurrency, signal: stop.signal },
    );
  } finally {
    release();
    progress.finish(tally);
  }
  outcomes.sort((a, b) => a.row - b.row);
  const elapsedMs = io.now().getTime() - startedAt;
  const unfinished = rows.length + problems.length - outcomes.length;
  printSummary(io, remote.json, {
    file,
    outcomes,
    elapsedMs,
    unfinished,
    dryRun: options.dryRun === true,
  });
  if (fatal) {
    const error = problemToUserError(fatal, remote.context());
    throw new UserError(
      [
        ...error.messages,
        `${unfinished} rows were not tried; run the same command again once fixed.`,
      ],
      EXIT_FAILURE,
    );
  }
  if (interrupted) {
    throw new UserError(
      [
        `interrupted: ${unfinished} rows were not tried; run the same command again to finish (rows done are skipped).`,
      ],
      EXIT_FAILURE,
    );
  }
  if (tally.failed > 0)
    throw new UserError([`${tally.failed} rows failed (see above).`], EXIT_FAILURE);
}

function parseConcurrency(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < 1 || value > MAX_IMPORT_CONCURRENCY) {
    throw new UserError(
      [
        `--concurrency: "${printable(text)}" is not a whole number from 1 to ${MAX_IMPORT_CONCURRENCY}.`,
      ],
      EXIT_USAGE,
    );
  }
  return value;
}

/** The file's rows; a file that cannot be read or parsed is the command line's problem (2). */
async function readRows(file: string, format: string | undefined, io: CliIo) {
  let text: string;
  try {
    text = await io.readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'a directory'
          : (code ?? 'unreadable');
    throw new UserError([`${printable(file)}: cannot read it (${why}).`], EXIT_USAGE);
  }
  try {
    const parsed = parseImportFile(text, detectImportFormat(file, format));
    if (parsed.ignoredColumns.length > 0) {
      io.stderr.write(
        `note: ignoring columns that are not fields of an account: ${parsed.ignoredColumns.map(printable).join(', ')}\n`,
      );
    }
    for (const problem of parsed.problems) io.stderr.write(`${describeLocalProblem(problem)}\n`);
    if (parsed.rows.length + parsed.problems.length === 0) {
      throw new UserError([`${printable(file)}: no rows to import.`], EXIT_USAGE);
    }
    return parsed;
  } catch (error) {
    if (error instanceof ImportFileError) {
      throw new UserError([`${printable(file)}: ${printable(error.message)}`], EXIT_USAGE);
    }
    throw error;
  }
}

function describeLocalProblem(problem: RowProblem): string {
  const issues = problem.issues.map((issue) => `${printable(issue.column)}: ${issue.message}`);
  return `row ${problem.row} (line ${problem.line}) "${problem.label}": ${issues.join('; ')}`;
}

function localFailure(problem: RowProblem): RowOutcome {
  return {
    kind: 'failed',
    row: problem.row,
    line: problem.line,
    name: problem.label,
    errors: problem.issues.map((issue) => ({ field: issue.column, message: issue.message })),
  };
}

/**
 * A client of its own: the same target as the command's, with retries for 429 and 5xx under it, and
 * keep-alive (Node's fetch pools connections per origin), so a thousand creates reuse a few sockets.
 */
function createImportClient(
  url: string,
  target: { token: string; tenant?: string | undefined },
  io: CliIo,
  policy: RetryPolicy = defaultRetryPolicy(),
): OnrampClient {
  const userAgent = `onramp-cli/${packageJson.version} (import)`;
  const once: typeof fetch = (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('user-agent', userAgent);
    // Never follow a redirect: it would carry the token to wherever the server points.
    return fetch(input, {
      ...init,
      headers,
      redirect: 'error',
      signal: AbortSignal.timeout(120_000),
    });
  };
  let retriesNoted = 0;
  const retrying = createRetryingFetch(once, policy, (notice) => {
    // One note per kind of trouble is enough; a thousand would bury the progress.
    if (retriesNoted++ === 0) {
      io.stderr.write(
        `\nnote: Onramp answered ${printable(notice.reason)}; retrying with back-off.\n`,
      );
    }
  });
  return createClient({
    baseUrl: url,
    token: target.token,
    tenant: () => target.tenant,
    fetch: retrying,
  });
}

/** One row: created (or validated, on a dry run) and its outcome; a fatal problem stops the import. */
async function importRow(
  client: OnrampClient,
  row: ImportRow,
  dryRun: boolean,
): Promise<RowOutcome | { fatal: ApiProblem }> {
  const where = { row: row.row, line: row.line, name: row.label };
  try {
    if (dryRun) return describeValidation(where, await client.accounts.validate(row.input));
    const account = await client.accounts.create(row.input);
    return { kind: 'connected', ...where, accountId: account.id, status: account.status };
  } catch (error) {
    if (!(error instanceof ApiProblem)) throw error;
    if (FATAL_STATUSES.has(error.status)) return { fatal: error };
    const duplicate = error.errors.find((e) => e.code === 'already_connected');
    if (error.status === 409 && duplicate) {
      return { kind: 'skipped', ...where, reason: printable(duplicate.message) };
    }
    return { kind: 'failed', ...where, errors: describeProblem(error, row.input) };
  }
}

function describeValidation(
  where: { row: number; line: number; name: string },
  result: Awaited<ReturnType<OnrampClient['accounts']['validate']>>,
): RowOutcome {
  const twin = result.notices.find((n) => n.code === 'already_connected');
  if (twin) return { kind: 'skipped', ...where, reason: printable(twin.message) };
  if (result.valid) return { kind: 'connected', ...where, accountId: '', status: result.status };
  const errors: OutcomeError[] = result.errors.map((e) => ({
    field: e.field,
    message: printable(e.hint ? `${e.message} ${e.hint}` : e.message),
  }));
  for (const check of result.checks) {
    if (check.status === 'failed' || check.status === 'error') {
      errors.push({ field: 'check', message: printable(`${check.name}: ${check.detail}`) });
    }
  }
  return {
    kind: 'failed',
    ...where,
    errors: errors.length
      ? errors
      : [{ field: 'request', message: `not valid (${result.status}).` }],
  };
}

/** The server's reasons, each naming the column; never a value of the row (the secret included). */
function describeProblem(problem: ApiProblem, input: CreateAccountInput): OutcomeError[] {
  const secret = input.method === 'access_keys' ? input.secretAccessKey : undefined;
  const clean = (text: string) =>
    printable(secret ? text.replaceAll(secret, '[the secret access key]') : text);
  if (problem.errors.length > 0) {
    return problem.errors.map((e) => ({
      field: clean(e.field),
      message: clean(e.hint ? `${e.message} ${e.hint}` : e.message),
    }));
  }
  const retried = problem.status === 429 || problem.status >= 500 ? ' (after retries)' : '';
  return [
    {
      field: 'request',
      message: clean(`${problem.status} ${problem.detail ?? problem.title}${retried}`),
    },
  ];
}

interface Summary {
  file: string;
  outcomes: readonly RowOutcome[];
  elapsedMs: number;
  unfinished: number;
  dryRun: boolean;
}

function printSummary(io: CliIo, json: boolean, summary: Summary): void {
  const of = <K extends RowOutcome['kind']>(kind: K) =>
    summary.outcomes.filter((o): o is Extract<RowOutcome, { kind: K }> => o.kind === kind);
  const connected = of('connected');
  const skipped = of('skipped');
  const failed = of('failed');
  if (json) {
    const strip = ({ kind: _kind, ...rest }: RowOutcome) => rest;
    io.stdout.write(
      `${JSON.stringify(
        {
          file: summary.file,
          dryRun: summary.dryRun,
          rows: summary.outcomes.length + summary.unfinished,
          [summary.dryRun ? 'valid' : 'connected']: connected.map(strip),
          skipped: skipped.map(strip),
          failed: failed.map(strip),
          notTried: summary.unfinished,
          elapsedMs: summary.elapsedMs,
        },
        null,
        2,
      )}\n`,
    );
    return;
  }
  const seconds = summary.elapsedMs / 1000;
  const done = summary.outcomes.length;
  const rate = seconds > 0 ? ` (${(done / seconds).toFixed(1)}/s)` : '';
  const verb = summary.dryRun ? 'valid' : 'connected';
  const notTried = summary.unfinished > 0 ? `, ${summary.unfinished} not tried` : '';
  const lines = [
    `${summary.dryRun ? 'Checked' : 'Imported'} ${done} rows of ${printable(summary.file)} in ${formatDuration(summary.elapsedMs)}${rate}: ${connected.length} ${verb}, ${skipped.length} skipped (already connected), ${failed.length} failed${notTried}.`,
  ];
  if (failed.length > 0) {
    lines.push('Failed:');
    for (const f of failed) {
      const reasons = f.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      lines.push(`  row ${f.row} (line ${f.line}) "${f.name}": ${reasons}`);
    }
  }
  if (skipped.length > 0 && skipped.length <= 20) {
    lines.push('Skipped:');
    for (const s of skipped) lines.push(`  row ${s.row} "${s.name}": ${s.reason}`);
  }
  io.stdout.write(`${lines.join('\n')}\n`);
}

/** Ctrl-C in the real process: the handler runs instead of Node's exit. */
function onProcessInterrupt(handler: () => void): () => void {
  process.on('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}
