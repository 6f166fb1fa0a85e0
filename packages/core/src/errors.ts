/**
 * The closed set of problems the core can report. Every problem belongs to a field (a JSON-pointer-like
 * path such as `bundles` or `products[1].integrations[0].statements[2].actions[3]`) so that an API, a
 * form or a CLI can put the message next to what the person typed.
 */
export const ERROR_CODES = [
  'required',
  'invalid_format',
  'too_short',
  'too_long',
  'out_of_range',
  'invalid_arn',
  'invalid_account_id',
  'not_a_role_arn',
  'wrong_partition',
  'unknown_partition',
  'unknown_region',
  'region_not_in_partition',
  'invalid_access_key_id',
  'temporary_access_key',
  'invalid_external_id',
  'invalid_session_name',
  'invalid_role_name',
  'invalid_role_path',
  'unknown_bundle',
  'bundle_unavailable_in_partition',
  'customisation_not_allowed',
  'duplicate_id',
  'unknown_service',
  'unknown_action',
  'wildcard_matches_nothing',
  'reserved_condition_key',
  'catalog_invalid',
  'policy_too_large',
  'too_many_policies',
  'template_too_large',
  'deployment_not_offered',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface FieldIssue {
  /** Where the problem is: a request field or a path inside a document. */
  field: string;
  code: ErrorCode;
  /** What is wrong, in words a person can act on. */
  message: string;
  /** What to do about it, when there is something specific to do. */
  hint?: string;
  /** A value that fixes it, when one is known (the partition the keys belong to). */
  suggestion?: string;
}

/** Thrown by core functions whose input a person supplied; carries every problem found, not just the first. */
export class CoreValidationError extends Error {
  readonly issues: readonly FieldIssue[];

  constructor(issues: readonly FieldIssue[], summary?: string) {
    super(summary ?? formatIssues(issues));
    this.name = 'CoreValidationError';
    this.issues = issues;
  }
}

export type Result<T> = { ok: true; value: T } | { ok: false; issue: FieldIssue };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(
  field: string,
  code: ErrorCode,
  message: string,
  hint?: string,
): Result<T> {
  return {
    ok: false,
    issue: hint === undefined ? { field, code, message } : { field, code, message, hint },
  };
}

/** Unwraps a result or throws its issue as a CoreValidationError. */
export function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw new CoreValidationError([result.issue]);
  return result.value;
}

export function formatIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}${i.hint ? ` (${i.hint})` : ''}`).join('\n');
}
