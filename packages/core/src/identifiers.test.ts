import { describe, expect, it } from 'vitest';
import {
  checkSecretAccessKey,
  formatRoleArn,
  generateExternalId,
  parseAccessKeyId,
  parseAccountId,
  parseArn,
  parseExternalId,
  parseHubPrincipal,
  parseRoleArn,
  parseSessionName,
} from './identifiers.ts';

describe('ARNs', () => {
  it('parses and keeps colons and slashes in the resource', () => {
    expect(parseArn('arn:aws:logs:us-east-1:123456789012:log-group:/aws/x:*')).toEqual({
      ok: true,
      value: {
        partition: 'aws',
        service: 'logs',
        region: 'us-east-1',
        accountId: '123456789012',
        resource: 'log-group:/aws/x:*',
      },
    });
  });

  it.each([
    ['', 'required'],
    ['not-an-arn', 'invalid_arn'],
    ['arn:aws:iam::123456789012', 'invalid_arn'],
    ['arn::iam::123456789012:role/x', 'invalid_arn'],
  ])('refuses %j with %s', (input, code) => {
    expect(parseArn(input)).toMatchObject({ ok: false, issue: { field: 'arn', code } });
  });
});

describe('role ARNs', () => {
  it.each([
    ['arn:aws:iam::123456789012:role/OnrampRole', 'aws', '/', 'OnrampRole'],
    [
      'arn:aws-us-gov:iam::123456789012:role/team/onramp/OnrampRole',
      'aws-us-gov',
      '/team/onramp/',
      'OnrampRole',
    ],
    [
      'arn:aws-cn:iam::123456789012:role/service-role/a+b=c,d.e@f-g_h',
      'aws-cn',
      '/service-role/',
      'a+b=c,d.e@f-g_h',
    ],
    ['  arn:aws:iam::123456789012:role/Trimmed  ', 'aws', '/', 'Trimmed'],
  ])('parses %s', (input, partition, path, name) => {
    const parsed = parseRoleArn(input);
    expect(parsed).toMatchObject({
      ok: true,
      value: { partition, path, name, accountId: '123456789012' },
    });
    if (parsed.ok)
      expect(formatRoleArn(parsed.value.partition, parsed.value.accountId, name, path)).toBe(
        input.trim(),
      );
  });

  it.each([
    ['arn:aws:iam::123456789012:user/bob', 'not_a_role_arn'],
    ['arn:aws:s3:::bucket', 'not_a_role_arn'],
    ['arn:aws:iam::12345678901:role/x', 'invalid_account_id'],
    ['arn:aws-iso:iam::123456789012:role/x', 'unknown_partition'],
    ['arn:aws:iam::123456789012:role/', 'required'],
    ['arn:aws:iam::123456789012:role/bad name', 'invalid_role_name'],
    [`arn:aws:iam::123456789012:role/${'x'.repeat(65)}`, 'too_long'],
  ])('refuses %s with %s', (input, code) => {
    expect(parseRoleArn(input)).toMatchObject({ ok: false, issue: { field: 'roleArn', code } });
  });

  it('refuses a role from another partition and says which one to choose', () => {
    const result = parseRoleArn('arn:aws:iam::123456789012:role/OnrampRole', {
      partition: 'aws-us-gov',
    });
    expect(result).toMatchObject({
      ok: false,
      issue: { field: 'roleArn', code: 'wrong_partition' },
    });
    expect(!result.ok && result.issue.message).toBe(
      'This role is in AWS, but the account is being connected in AWS GovCloud (US).',
    );
  });
});

describe('account IDs', () => {
  it('accepts 12 digits, with the dashes the console shows', () => {
    expect(parseAccountId('1234-5678-9012')).toEqual({ ok: true, value: '123456789012' });
  });
  it.each(['12345678901', '1234567890123', '12345678901a'])('refuses %s', (input) => {
    expect(parseAccountId(input)).toMatchObject({
      ok: false,
      issue: { code: 'invalid_account_id' },
    });
  });
});

describe('access key IDs', () => {
  it('accepts long-term keys', () => {
    expect(parseAccessKeyId('AKIAIOSFODNN7EXAMPLE')).toEqual({
      ok: true,
      value: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', kind: 'long-term' },
    });
  });
  it('recognises temporary keys and says what to use instead', () => {
    const result = parseAccessKeyId('ASIAIOSFODNN7EXAMPLE');
    expect(result).toMatchObject({
      ok: false,
      issue: { field: 'accessKeyId', code: 'temporary_access_key' },
    });
    expect(!result.ok && result.issue.hint).toMatch(/long-term access key \(AKIA…\)/);
  });
  it('names what a user ID pasted by mistake is', () => {
    const result = parseAccessKeyId('AIDAJQABLZS4A3QDU576Q');
    expect(!result.ok && result.issue.message).toContain('the unique ID of an IAM user');
  });
  it.each(['akiaiosfodnn7example', 'AKIA', 'AKIA IOSFODNN7EXAMPL'])('refuses %j', (input) => {
    expect(parseAccessKeyId(input)).toMatchObject({
      ok: false,
      issue: { code: 'invalid_access_key_id' },
    });
  });
});

describe('secret access keys', () => {
  it('never repeats the secret in its message', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE!';
    const result = checkSecretAccessKey(secret);
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('wJalrXUtnFEMI');
    expect(checkSecretAccessKey('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY').ok).toBe(true);
  });
});

describe('external IDs and session names', () => {
  it.each([
    ['ab', true],
    ['x'.repeat(1224), true],
    ['a:b/c=d,e.f@g-h_i+j', true],
    ['a', false],
    ['x'.repeat(1225), false],
    ['has space', false],
    ['semi;colon', false],
  ])('external ID %j valid: %s', (input, valid) => {
    expect(parseExternalId(input).ok).toBe(valid);
  });

  it.each([
    ['ab', true],
    ['x'.repeat(64), true],
    ['svc@acme.com', true],
    ['a', false],
    ['x'.repeat(65), false],
    ['no/slash', false],
    ['no:colon', false],
  ])('session name %j valid: %s', (input, valid) => {
    expect(parseSessionName(input).ok).toBe(valid);
  });

  it('generates external IDs that pass AWS’s rules and differ for different bytes', () => {
    const a = generateExternalId(new Uint8Array(32).fill(1));
    const b = generateExternalId(new Uint8Array(32).fill(2));
    expect(a).not.toBe(b);
    expect(a).toMatch(/^onramp-[A-Za-z0-9_-]{43}$/);
    expect(parseExternalId(a).ok).toBe(true);
    expect(() => generateExternalId(new Uint8Array(8))).toThrow();
  });
});

describe('hub principals', () => {
  it('accepts an account ID and trusts its root', () => {
    expect(parseHubPrincipal('111122223333', 'aws-cn')).toEqual({
      ok: true,
      value: {
        partition: 'aws-cn',
        accountId: '111122223333',
        arn: 'arn:aws-cn:iam::111122223333:root',
        kind: 'account',
      },
    });
  });
  it('accepts a role ARN in the same partition', () => {
    expect(
      parseHubPrincipal('arn:aws-us-gov:iam::111122223333:role/hub', 'aws-us-gov'),
    ).toMatchObject({
      ok: true,
      value: { kind: 'role', accountId: '111122223333' },
    });
  });
  it('refuses a commercial hub for a GovCloud role', () => {
    expect(parseHubPrincipal('arn:aws:iam::111122223333:role/hub', 'aws-us-gov')).toMatchObject({
      ok: false,
      issue: { field: 'hubPrincipal', code: 'wrong_partition' },
    });
  });
});
