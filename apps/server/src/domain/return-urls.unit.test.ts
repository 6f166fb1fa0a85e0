import { describe, expect, it } from 'vitest';
import { isReturnUrlAllowed, returnUrlProblem, returnUrlWith } from './return-urls.ts';

const allow = [
  'https://app.acme.example',
  'https://admin.acme.example/aws/',
  'http://localhost:3000',
];

describe('return URL allow-list', () => {
  it.each([
    'https://app.acme.example',
    'https://app.acme.example/settings/aws?tab=1',
    'https://admin.acme.example/aws',
    'https://admin.acme.example/aws/done',
    'http://localhost:3000/back',
  ])('allows %s', (url) => expect(isReturnUrlAllowed(url, allow)).toBe(true));

  it.each([
    ['another host', 'https://evil.test/'],
    ['a suffix of the host', 'https://app.acme.example.evil.test/'],
    ['the host as a user name', 'https://app.acme.example@evil.test/'],
    ['userinfo on the allowed host', 'https://user:pw@app.acme.example/'],
    ['another port', 'https://app.acme.example:8443/'],
    ['http instead of https', 'http://app.acme.example/'],
    ['a path beside the prefix', 'https://admin.acme.example/awsevil'],
    ['a path above the prefix', 'https://admin.acme.example/'],
    ['javascript:', 'javascript:alert(1)'],
    ['a relative URL', '/settings'],
    ['a fragment', 'https://app.acme.example/#x'],
    ['the allowed URL in the query', 'https://evil.test/?u=https://app.acme.example'],
  ])('refuses %s', (_why, url) => expect(isReturnUrlAllowed(url, allow)).toBe(false));

  it('says why a URL cannot be used at all', () => {
    expect(returnUrlProblem('http://app.acme.example/')).toMatch(/https/);
    expect(returnUrlProblem('ftp://app.acme.example/')).toMatch(/https/);
    expect(returnUrlProblem('https://app.acme.example/x')).toBeUndefined();
  });

  it('adds the session and outcome, keeping the query', () => {
    const back = new URL(returnUrlWith('https://app.acme.example/aws?ws=42', 'cs_1', 'connected'));
    expect(back.searchParams.get('ws')).toBe('42');
    expect(back.searchParams.get('connect_session')).toBe('cs_1');
    expect(back.searchParams.get('outcome')).toBe('connected');
  });
});
