import type { Account, AccountCheck, AccountNotice, ValidationResult } from '@onramp/sdk';
import { describeAge, type Output, statusMark } from './output.ts';

/** How accounts, their checks and validations read on a terminal. */

type Check = Account['checks'][number];
type Finding = Account['findings'][number];
type FieldError = ValidationResult['errors'][number];

/** An account's health as one word, with `stale` when AWS could not be reached since. */
export function describeHealth(account: Pick<Account, 'status' | 'stale' | 'paused'>): string {
  if (account.paused) return `${account.status} (paused)`;
  return account.stale ? `${account.status} (stale)` : account.status;
}

/** The table `onramp accounts list` prints. */
export function printAccountsTable(output: Output, accounts: readonly Account[], now: Date): void {
  output.table(
    [
      { header: 'ID', value: (a: Account) => a.id, fixed: true },
      { header: 'NAME', value: (a) => a.name, flexible: true },
      { header: 'PARTITION', value: (a) => a.partition },
      { header: 'ACCOUNT', value: (a) => a.awsAccountId, fixed: true },
      { header: 'METHOD', value: (a) => a.method },
      { header: 'HEALTH', value: (a) => describeHealth(a) },
      { header: 'LAST CHECK', value: (a) => describeAge(a.lastCheckedAt, now) },
    ],
    accounts,
  );
}

/** One account, field by field, then its last checks and what it lacks. */
export function printAccount(output: Output, account: Account, now: Date): void {
  output.fields([
    ['ID', account.id],
    ['Name', account.name],
    ['Description', account.description || undefined],
    ['Partition', account.partition],
    ['AWS account', account.awsAccountId],
    ['Method', account.method],
    ['Principal', account.principalArn],
    ['Role ARN', account.roleArn],
    ['Access key ID', account.accessKeyId],
    ['Connection', account.connectionId],
    ['Bundles', account.bundles.join(', ')],
    ['Regions', account.regions.length > 0 ? account.regions.join(', ') : 'all'],
    ['Health', describeHealth(account)],
    [
      'Last check',
      account.lastCheckedAt
        ? `${describeAge(account.lastCheckedAt, now)} (${account.lastCheckedAt})`
        : undefined,
    ],
    [
      'Outdated',
      account.permissions?.outdated ? 'yes: the catalog changed since it was granted' : undefined,
    ],
    ['Created', account.createdAt],
  ]);
  if (account.checks.length > 0) {
    output.line('');
    output.line('Last check:');
    printChecks(output, account.checks);
  }
  printFindings(output, account.findings);
}

/** Each validation step: `✓ name  detail`, so a person sees which one failed and why. */
export function printChecks(output: Output, checks: readonly Check[]): void {
  const width = Math.max(0, ...checks.map((check) => check.name.length));
  for (const check of checks) {
    const detail = check.detail ? `  ${check.detail}` : '';
    output.line(`  ${statusMark(output, check.status)} ${check.name.padEnd(width)}${detail}`);
  }
}

/** Per bundle, the actions the account's identity lacks or an SCP denies. */
export function printFindings(output: Output, findings: readonly Finding[]): void {
  const lacking = findings.filter((f) => f.missing.length > 0 || f.deniedByScp.length > 0);
  if (lacking.length === 0) return;
  output.line('');
  output.line('Permissions it lacks:');
  for (const finding of lacking) {
    if (finding.missing.length > 0)
      output.line(
        `  ${finding.bundleName} (${finding.bundleId}): missing ${finding.missing.join(', ')}`,
      );
    if (finding.deniedByScp.length > 0)
      output.line(
        `  ${finding.bundleName} (${finding.bundleId}): denied by an SCP: ${finding.deniedByScp.join(', ')}`,
      );
  }
}

/** Field errors a validation found (the role's trust, the keys' partition), with their hints. */
export function printFieldErrors(
  output: Output,
  errors: readonly FieldError[],
  flagOfField: Readonly<Record<string, string>>,
): void {
  if (errors.length === 0) return;
  output.line('');
  output.line('To fix:');
  for (const error of errors) {
    const head = error.field.split(/[.[]/, 1)[0] ?? error.field;
    const where = flagOfField[error.field] ?? flagOfField[head] ?? error.field;
    const hint = error.hint ? ` ${error.hint}` : '';
    const suggestion = error.suggestion ? ` (try ${where} ${error.suggestion})` : '';
    output.line(`  ${where}: ${error.message}${hint}${suggestion}`);
  }
}

/** What the tenant should know about an account it connected (the AWS account is connected twice…). */
export function printNotices(output: Output, notices: readonly AccountNotice[]): void {
  for (const notice of notices) {
    const others = notice.accounts.map((a) => `${a.name} (${a.id})`).join(', ');
    output.note(`note: ${notice.message}${others ? ` ${others}` : ''}`);
  }
}

/** The outcome of `accounts validate`: each step, what is missing, what to fix. */
export function printValidation(
  output: Output,
  result: ValidationResult,
  flagOfField: Readonly<Record<string, string>>,
): void {
  const verdict = result.valid
    ? output.paint('valid', 'green')
    : output.paint(result.status, result.status === 'degraded' ? 'yellow' : 'red');
  output.line(
    `${verdict}${result.identity ? `: ${result.identity.arn} (account ${result.identity.accountId})` : ''}`,
  );
  printChecks(output, result.checks);
  printFindings(output, result.findings);
  printFieldErrors(output, result.errors, flagOfField);
  if (result.savableDegraded)
    output.line(
      '\nOnly permissions are missing: add it anyway (degraded) with --accept-missing-permissions.',
    );
  printNotices(output, result.notices);
}

/** The outcome of `accounts check`: the health before and after, and each step. */
export function printCheck(output: Output, check: AccountCheck, accountId: string): void {
  const change =
    check.status === check.previousStatus
      ? check.status
      : `${check.previousStatus} → ${check.status}`;
  output.line(`${accountId}: ${change} (${check.durationMs} ms)`);
  printChecks(output, check.checks);
  printFindings(output, check.findings);
  printFieldErrors(output, check.errors, {});
  if (check.stale)
    output.line(
      '\nAWS could not be reached or throttled Onramp: nothing was learnt, and the account keeps its previous health. Try again later.',
    );
}
