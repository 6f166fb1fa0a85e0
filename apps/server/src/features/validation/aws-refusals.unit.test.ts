import { describe, expect, it } from 'vitest';
import { AppError } from '../../http/problems.ts';
import { AwsProblem } from '../../ports/aws-gateway.ts';
import { askAws, callAws, faultError, refusalError, toAppError } from './aws-refusals.ts';

const refusal = new AwsProblem(
  'rejected',
  'roleArn',
  'AccessDenied',
  'AWS refused to let Onramp assume the role.',
  'Check the role’s trust policy.',
  'AccessDenied',
);
const outage = new AwsProblem('upstream', 'roleArn', 'throttled', 'AWS is throttling requests.');

describe('the one mapping from AWS refusals', () => {
  it('puts a refusal on the gateway’s field, with its code, message and hint', () => {
    expect(refusalError(refusal)).toEqual({
      field: 'roleArn',
      code: 'AccessDenied',
      message: 'AWS refused to let Onramp assume the role.',
      hint: 'Check the role’s trust policy.',
    });
  });

  it('leaves out a hint nobody gave', () => {
    const bare = new AwsProblem('rejected', 'accessKeyId', 'InvalidClientTokenId', 'Not valid.');
    expect(refusalError(bare)).not.toHaveProperty('hint');
  });

  it('records a step AWS did not answer without a hint', () => {
    expect(faultError(outage)).toEqual({
      field: 'roleArn',
      code: 'throttled',
      message: 'AWS is throttling requests.',
    });
  });

  it('makes a refusal a 422 and AWS not answering a 502', () => {
    const refused = toAppError(refusal);
    expect(refused.code).toBe('validation_failed');
    expect(refused.status).toBe(422);
    expect(refused.errors).toEqual([refusalError(refusal)]);
    const unanswered = toAppError(outage);
    expect(unanswered.code).toBe('upstream_unavailable');
    expect(unanswered.status).toBe(502);
    expect(unanswered.message).toBe('AWS is throttling requests.');
    expect(unanswered.headers).toEqual({});
  });

  it('takes a caller’s field, hint and 502 wording as options', () => {
    const placed = toAppError(refusal, { field: () => 'policyArns', hint: () => undefined });
    expect(placed.errors[0]).toEqual({
      field: 'policyArns',
      code: 'AccessDenied',
      message: refusal.message,
    });
    const retryable = toAppError(outage, {
      upstream: { detail: (p) => `Nothing issued: ${p.message}`, retryAfterSeconds: 5 },
    });
    expect(retryable.message).toBe('Nothing issued: AWS is throttling requests.');
    expect(retryable.headers).toEqual({ 'retry-after': '5' });
    expect(retryable.extensions).toEqual({ retryable: true });
  });

  it('calls AWS for a request: the answer, the mapped error, or any other error unchanged', async () => {
    expect(await callAws(async () => 42)).toBe(42);
    const mapped = await callAws(async () => {
      throw refusal;
    }).catch((e: unknown) => e);
    expect(mapped).toBeInstanceOf(AppError);
    expect((mapped as AppError).errors[0]?.field).toBe('roleArn');
    const bug = new TypeError('not AWS');
    expect(
      await callAws(async () => {
        throw bug;
      }).catch((e: unknown) => e),
    ).toBe(bug);
  });

  it('calls AWS for a validation step: a refusal or an outage comes back as the problem', async () => {
    expect(await askAws(async () => 'ok')).toEqual({ value: 'ok' });
    expect(
      await askAws(async () => {
        throw outage;
      }),
    ).toBe(outage);
    await expect(
      askAws(async () => {
        throw new TypeError('not AWS');
      }),
    ).rejects.toThrow('not AWS');
  });
});
