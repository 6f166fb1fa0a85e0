import { webIdentityConditions } from '@onramp/core';
import { AppError, type ProblemFieldError } from '../../http/problems.ts';
import { AwsProblem } from '../../ports/aws-gateway.ts';

/**
 * The one mapping from AWS's answers to Onramp's errors. The gateway has already said which field a
 * refusal concerns, with a code, a message and a hint (sdk-aws-gateway.ts); here that becomes a field
 * error, and AWS not answering becomes `upstream_unavailable` (502), never "your input is wrong".
 *
 * Callers differ in where a refusal lands and what a 502 says, and tests hold each to it: those
 * differences are the options below, not mappings of their own.
 */

/** How one caller places a refusal and words AWS not answering. */
export interface AwsRefusalOptions {
  /**
   * The field a refusal is put on. Default: the gateway's. The IAM-policies routes put anything but
   * the principal on `policyArns`; a vend puts a refused duration on `durationSeconds`.
   */
  field?: (problem: AwsProblem) => string;
  /** The hint of a refusal. Default: the gateway's. */
  hint?: (problem: AwsProblem) => string | undefined;
  /**
   * AWS not answering. Default: a bare 502 with AWS's message. A vend says nothing was issued, and
   * asks the client to retry (Retry-After and `retryable`), since nothing was cached.
   */
  upstream?: { detail?: (problem: AwsProblem) => string; retryAfterSeconds?: number };
}

/** A refusal as a field error: the field AWS's answer concerns, its code, message and hint. */
export function refusalError(
  problem: AwsProblem,
  options: Pick<AwsRefusalOptions, 'field' | 'hint'> = {},
): ProblemFieldError {
  const field = options.field ? options.field(problem) : problem.field;
  const hint = options.hint ? options.hint(problem) : problem.hint;
  return { field, code: problem.code, message: problem.message, ...(hint ? { hint } : {}) };
}

/** What a validation step AWS did not answer records: where and why, without a hint to fix it. */
export function faultError(problem: AwsProblem): ProblemFieldError {
  return { field: problem.field, code: problem.code, message: problem.message };
}

/** An AwsProblem as the request's error: 422 with the field error when refused, 502 when unanswered. */
export function toAppError(problem: AwsProblem, options: AwsRefusalOptions = {}): AppError {
  if (problem.kind === 'upstream') {
    const detail = options.upstream?.detail ? options.upstream.detail(problem) : problem.message;
    const retry = options.upstream?.retryAfterSeconds;
    return retry === undefined
      ? new AppError('upstream_unavailable', detail)
      : new AppError(
          'upstream_unavailable',
          detail,
          [],
          { 'retry-after': String(retry) },
          { retryable: true },
        );
  }
  return new AppError('validation_failed', problem.message, [refusalError(problem, options)]);
}

/** Calls AWS for a request: its answer, or the mapped error (other errors pass unchanged). */
export async function callAws<T>(
  call: () => Promise<T>,
  options: AwsRefusalOptions = {},
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof AwsProblem) throw toAppError(error, options);
    throw error;
  }
}

/**
 * Calls AWS for a validation step: a refusal, and AWS not answering, come back as the AwsProblem, for
 * the step to record as a finding or a fault; other errors are thrown.
 */
export async function askAws<T>(call: () => Promise<T>): Promise<{ value: T } | AwsProblem> {
  try {
    return { value: await call() };
  } catch (error) {
    if (error instanceof AwsProblem) return error;
    throw error;
  }
}

/** What a keyless role must trust, to word a refusal with the exact thing to create or add. */
export interface WebIdentityTrust {
  issuer: string;
  audience: string;
  subject: string;
  /** The issuer without `https://`: how IAM names the provider and its condition keys. */
  conditionPrefix: string;
  /** arn:<partition>:iam::<account>:oidc-provider/<conditionPrefix> */
  providerArn: string;
}

/**
 * The trust policy condition a keyless role needs, exactly as it goes in the statement that trusts
 * the provider: both keys StringEquals, so neither another connection's subject nor another audience
 * can match.
 */
export function webIdentityConditionText(trust: WebIdentityTrust): string {
  return JSON.stringify(webIdentityConditions(trust));
}

/**
 * A refusal of AssumeRoleWithWebIdentity as a field error whose hint names what to create or add in
 * the account: the provider (URL and audience), the audience on it, or the trust policy's condition.
 */
export function webIdentityRefusal(
  problem: AwsProblem,
  trust: WebIdentityTrust,
  /** The account was connected with Onramp's issuer: a missing provider may be Onramp's doing. */
  options: { connected?: boolean } = {},
): ProblemFieldError {
  const base = refusalError(problem);
  switch (problem.code) {
    case 'oidc_provider_missing':
      if (options.connected) {
        // The provider was there when the account connected. Either the customer deleted it, or
        // the operator changed Onramp's public or issuer URL, which every keyless role names: the
        // tenant cannot tell which, so say both, and that the role's trust names the URL too.
        return {
          ...base,
          message: `The AWS account has no IAM OpenID Connect identity provider for the platform's issuer ${trust.issuer} any more: it was deleted, or the platform's issuer URL changed since the account was connected (ONRAMP_PUBLIC_URL or ONRAMP_OIDC_ISSUER_URL), and the provider and the role still name the old one.`,
          hint: `If the operator changed the platform's issuer URL, changing it back reconnects every keyless account. Otherwise deploy the platform's template again, or create the provider (URL ${trust.issuer}, audience ${trust.audience}; its ARN will be ${trust.providerArn}) and make the role's trust policy statement trust it with "Condition": ${webIdentityConditionText(trust)}.`,
        };
      }
      return {
        ...base,
        message: `The AWS account has no IAM OpenID Connect identity provider for the platform's issuer ${trust.issuer} (a provider for another URL does not count).`,
        hint: `Create one (IAM › Identity providers › Add provider › OpenID Connect) with provider URL ${trust.issuer} and audience ${trust.audience}, or deploy the platform's template again, which creates it. Its ARN will be ${trust.providerArn}.`,
      };
    case 'oidc_audience_not_allowed':
      return {
        ...base,
        message: `The account's IAM OpenID Connect provider for ${trust.issuer} does not list the audience ${trust.audience}.`,
        hint: `Add the audience ${trust.audience} to the provider ${trust.providerArn} (IAM › Identity providers › ${trust.conditionPrefix} › Audiences › Add audience).`,
      };
    case 'AccessDenied':
      return {
        ...base,
        message:
          'AWS refused to let the platform assume this keyless role: its trust policy does not trust this connection’s subject and audience through the platform’s issuer.',
        hint: `The role's trust policy needs a statement with "Effect": "Allow", "Principal": {"Federated": "${trust.providerArn}"}, "Action": "sts:AssumeRoleWithWebIdentity" and "Condition": ${webIdentityConditionText(trust)}. Check too that the ARN names the role exactly (names are case-sensitive).`,
      };
    default:
      return base;
  }
}
