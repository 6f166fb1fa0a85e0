import type { FieldIssue } from '@onramp/core';

export const EXIT_OK = 0;
/** Something other than the command line is wrong: a catalog file, or Onramp itself. */
export const EXIT_FAILURE = 1;
/** The command line is wrong: an unknown flag, a missing or bad value. */
export const EXIT_USAGE = 2;
/**
 * The command worked, and what it found is not good: an account that is not valid after `accounts
 * validate`, or invalid or degraded after `accounts check`. Scripts can tell it from a failure (1).
 */
export const EXIT_NOT_VALID = 3;

export type ExitCode =
  | typeof EXIT_OK
  | typeof EXIT_FAILURE
  | typeof EXIT_USAGE
  | typeof EXIT_NOT_VALID;

/**
 * A problem the person can fix: reported as `error: …` lines on stderr, never with a stack trace.
 * Each message may span several lines (a catalog's list of problems).
 */
export class UserError extends Error {
  readonly messages: readonly string[];
  readonly exitCode: ExitCode;

  constructor(messages: readonly string[], exitCode: ExitCode) {
    super(messages.join('\n'));
    this.name = 'UserError';
    this.messages = messages;
    this.exitCode = exitCode;
  }
}

/** Core fields that come from a flag, by the first segment of the field (`bundles[2]` → `bundles`). */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  partition: '--partition',
  bundles: '--bundles',
  regions: '--regions',
  hubPrincipal: '--hub-principal',
  externalId: '--external-id',
  roleName: '--role-name',
  maxSessionDuration: '--max-session-duration',
  accountId: '--account-id',
  document: '--document',
  method: '--method',
  'webIdentity.issuer': '--issuer',
  'webIdentity.audience': '--audience',
  'webIdentity.subject': '--subject',
  externalIdPrefix: '--external-id-prefix',
  memberRoleName: '--member-role-name',
  managementRoleName: '--management-role-name',
  deployment: '--deployment',
  deploymentRegion: '--deployment-region',
  deploymentTargets: '--targets',
  memberAccounts: '--accounts',
  'callback.origin': '--public-url',
  'callback.token': '--enrollment-token',
  member: '--member',
};

/** The flag a core issue is about, or undefined when it is not about a flag. */
export function findFlagOfField(field: string): string | undefined {
  if (Object.hasOwn(FLAG_OF_FIELD, field)) return FLAG_OF_FIELD[field];
  const head = field.split(/[.[]/, 1)[0] ?? field;
  return Object.hasOwn(FLAG_OF_FIELD, head) ? FLAG_OF_FIELD[head] : undefined;
}

/** `message hint`, as one sentence or two. */
export function describeIssue(issue: FieldIssue): string {
  return issue.hint ? `${issue.message} ${issue.hint}` : issue.message;
}

/** `--bundles: There is no bundle "x" in the catalog. Available in AWS: …` */
export function describeFlagIssue(issue: FieldIssue): string {
  const flag = findFlagOfField(issue.field);
  return flag ? `${flag}: ${describeIssue(issue)}` : describeIssue(issue);
}

/** The issues of what a person typed, as a usage error naming each flag. */
export function toFlagError(issues: readonly FieldIssue[]): UserError {
  return new UserError(issues.map(describeFlagIssue), EXIT_USAGE);
}
