import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { describeRun, runCli } from './testing.ts';

/**
 * The command line of `onramp credentials`, in-process and without a server: everything refused here
 * is refused before any request. The vend itself, as AWS tools run it, is tested against a real Onramp
 * in apps/server/src/features/credentials/credentials-cli-wire.test.ts.
 */
const env = { ONRAMP_URL: 'http://127.0.0.1:9', ONRAMP_TOKEN: 'onr_secret_value' };

describe('onramp credentials', () => {
  it('prints its help on stdout', async () => {
    const result = await runCli(['credentials', '--help'], { io: { env } });
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout).toContain('credential_process = onramp credentials acct_');
    expect(result.stdout).toContain('--token-env NAME');
  });

  it.each([
    [[], /name the account/],
    [['acct_1', 'acct_2'], /one account at a time/],
    [['acct_1', '--token', 'onr_x'], /--token is not taken.*ONRAMP_TOKEN/],
    [['acct_1', '--token=onr_x'], /--token is not taken/],
    [
      ['acct_1', '--format', 'yaml'],
      /--format: "yaml" is not a format\. Choose among: credential_process, env, json/,
    ],
    [['acct_1', '--duration', '1h'], /--duration: "1h" is not a whole number of seconds/],
    [['acct_1', '--bundles', ','], /--bundles: name at least one bundle/],
    [['acct_1', '--bundles'], /--bundles needs a value/],
    [['acct_1', '--url', 'a', '--url', 'b'], /--url is given twice/],
    [['acct_1', '--token-env', 'NOT-A-NAME'], /--token-env: "NOT-A-NAME" is not/],
    [['acct_1', '--verbose'], /unknown option --verbose/],
  ])('refuses %j as a usage error (exit 2), with nothing on stdout', async (args, message) => {
    const result = await runCli(['credentials', ...args], { io: { env } });
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain('onr_secret_value');
  });

  it.each([
    [{ ONRAMP_TOKEN: 't' }, /ONRAMP_URL is not set|set ONRAMP_URL or pass --url/],
    [{ ONRAMP_URL: 'ftp://onramp.test', ONRAMP_TOKEN: 't' }, /must be http or https/],
    [{ ONRAMP_URL: 'not a url', ONRAMP_TOKEN: 't' }, /is not a URL/],
    [{ ONRAMP_URL: 'http://onramp.test' }, /No API token: set ONRAMP_TOKEN/],
  ])('refuses a missing or bad configuration (exit 1): %j', async (configuration, message) => {
    const result = await runCli(['credentials', 'acct_1'], { io: { env: configuration } });
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });

  it('says which address it could not reach', async () => {
    const result = await runCli(['credentials', 'acct_1'], { io: { env } });
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/cannot reach Onramp at http:\/\/127\.0\.0\.1:9/);
  });

  it('keeps the URL’s host and path, whatever the path looks like, and checks what it is answered', async () => {
    const seen: { path: string | undefined; host: string | undefined }[] = [];
    const server = createServer((request, response) => {
      seen.push({ path: request.url, host: request.headers.host });
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ hello: 'not credentials' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const result = await runCli(['credentials', 'acct_1'], {
        io: {
          env: {
            ONRAMP_URL: `http://127.0.0.1:${port}//elsewhere.test/onramp/`,
            ONRAMP_TOKEN: 't',
          },
        },
      });
      expect(seen).toEqual([
        {
          path: '//elsewhere.test/onramp/v1/accounts/acct_1/credentials',
          host: `127.0.0.1:${port}`,
        },
      ]);
      expect(result.code, describeRun(result)).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/answered 200 without credentials/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
