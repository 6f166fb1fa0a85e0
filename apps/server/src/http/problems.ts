import type { FieldIssue } from '@onramp/core';

/**
 * The closed set of HTTP-level error codes, mapped to a status in one place. Field-level problems ride
 * along in `errors` (RFC 9457 extension member) with the core's codes.
 */
export const PROBLEMS = {
  invalid_request: { status: 400, title: 'The request is not valid' },
  unauthenticated: { status: 401, title: 'Sign in or present an API token' },
  csrf_failed: { status: 403, title: 'The request lacks a valid CSRF token' },
  forbidden: { status: 403, title: 'You may not do this' },
  not_found: { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'This conflicts with what exists' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  uri_too_long: { status: 414, title: 'The URL is too long' },
  unsupported_media_type: { status: 415, title: 'Send application/json' },
  validation_failed: { status: 422, title: 'Validation failed' },
  limit_reached: { status: 422, title: 'A limit of this tenant is reached' },
  rate_limited: { status: 429, title: 'Too many attempts; wait and try again' },
  internal: { status: 500, title: 'Onramp failed unexpectedly' },
  upstream_unavailable: { status: 502, title: 'AWS could not be reached or refused to answer' },
  unavailable: { status: 503, title: 'Onramp is not ready' },
} as const;

export type ProblemCode = keyof typeof PROBLEMS;

/**
 * A field-level problem: the core's issues, and problems reported by AWS or by the server, whose codes
 * are not in the core's closed set (`root_access_key`, `AccessDenied`).
 */
export type ProblemFieldError = Omit<FieldIssue, 'code'> & { code: string };

export class AppError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ProblemCode,
    detail?: string,
    readonly errors: readonly ProblemFieldError[] = [],
    readonly headers: Record<string, string> = {},
    /** RFC 9457 extension members beside `errors` (e.g. a validation's `checks`); never secrets. */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail ?? PROBLEMS[code].title);
    this.name = 'AppError';
    this.status = PROBLEMS[code].status;
    this.title = PROBLEMS[code].title;
  }
}

export function problemType(code: string): string {
  return `urn:onramp:problem:${code}`;
}

export const notFound = (what: string) =>
  new AppError('not_found', `${what} does not exist, or is not yours to see.`);
export const forbidden = (detail: string) => new AppError('forbidden', detail);
export const invalid = (errors: readonly ProblemFieldError[], detail?: string) =>
  new AppError(
    'invalid_request',
    detail ?? errors.map((e) => `${e.field}: ${e.message}`).join(' '),
    errors,
  );
export const conflict = (field: string, message: string, hint?: string) =>
  new AppError('conflict', message, [
    { field, code: 'duplicate_id', message, ...(hint ? { hint } : {}) },
  ]);
