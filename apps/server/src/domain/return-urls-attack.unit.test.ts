import { describe, expect, it } from 'vitest';
import { isReturnUrlAllowed, returnUrlProblem, returnUrlWith } from './return-urls.ts';

/** A red team's return URLs: what a browser's parser would repair, or another parser read otherwise. */
const allow = ['https://app.acme.example', 'https://admin.acme.example/aws/'];

describe('return URLs, attacked', () => {
  it.each([
    [
      'a backslash before @ (another parser takes evil.test as the host)',
      'https://app.acme.example\\@evil.test/',
    ],
    ['backslashes that a browser reads as //evil.test', 'https://app.acme.example\\\\evil.test/'],
    ['an empty path segment (//evil.test)', 'https://app.acme.example//evil.test/'],
    ['a backslash path', 'https://admin.acme.example/aws\\..\\evil'],
    ['a Cyrillic look-alike host', 'https://app.acme.exampl\u0435/'],
    ['an encoded dot in the host', 'https://app.acme.example%2e.evil.test/'],
    ['a trailing-dot host', 'https://app.acme.example./x'],
    ['path traversal', 'https://admin.acme.example/aws/../evil'],
    ['encoded path traversal', 'https://admin.acme.example/aws/%2e%2e/evil'],
    ['an encoded slash', 'https://admin.acme.example/aws%2fevil'],
    ['an encoded slash after a dot-dot', 'https://admin.acme.example/aws/..%2fevil'],
    ['an encoded backslash', 'https://admin.acme.example/aws/..%5cevil'],
    ['a tab in the host', 'https://app.acme.example\t.evil.test/'],
    ['a newline', 'https://app.acme.example/\nx'],
    ['a NUL', 'https://app.acme.example/\u0000x'],
    ['no slashes after the scheme', 'https:app.acme.example/x'],
    ['one slash after the scheme', 'https:/app.acme.example/x'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['javascript:', 'JavaScript:alert(1)//https://app.acme.example/'],
    ['vbscript:', 'vbscript:msgbox(1)'],
  ])('refuses %s', (_why, url) => {
    expect(isReturnUrlAllowed(url, allow)).toBe(false);
  });

  it.each([
    ['an uppercase host', 'https://APP.ACME.EXAMPLE/x', 'https://app.acme.example/x'],
    ['the default port', 'https://app.acme.example:443/x', 'https://app.acme.example/x'],
    ['a 2 KB path', `https://app.acme.example/${'a'.repeat(2000)}`, undefined],
  ])('allows %s, sending the browser to the same origin', (_why, url, normal) => {
    expect(isReturnUrlAllowed(url, allow)).toBe(true);
    const back = new URL(returnUrlWith(url, 'cs_1', 'connected'));
    expect(back.origin).toBe('https://app.acme.example');
    if (normal) expect(`${back.origin}${back.pathname}`).toBe(normal);
  });

  it('names why a URL the parser would repair is refused', () => {
    expect(returnUrlProblem('https://app.acme.example\\@evil.test/')).toMatch(/backslash/);
    expect(returnUrlProblem('https://app.acme.example//evil.test/')).toMatch(/empty path segment/);
    expect(returnUrlProblem('https:app.acme.example/x')).toMatch(/absolute/);
  });
});
