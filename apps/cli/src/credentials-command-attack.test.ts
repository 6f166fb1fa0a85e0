import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { describeRun, runCli } from './testing.ts';

/**
 * A red team's servers for `onramp credentials`: what a wrong, hostile or broken server at ONRAMP_URL
 * can make it print. The token must never appear, stdout stays empty unless credentials came back, and
 * nothing the server says reaches the terminal as control characters.
 */
const TOKEN = 'onr_attack_token_value';

async function withServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  run: (base: string, seen: IncomingMessage[]) => Promise<void>,
) {
  const seen: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    seen.push(request);
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await run(`127.0.0.1:${port}`, seen);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const vend = (url: string) =>
  runCli(['credentials', 'acct_1'], { io: { env: { ONRAMP_URL: url, ONRAMP_TOKEN: TOKEN } } });

describe('onramp credentials against hostile servers', () => {
  it('sends the bearer token, never the URL’s user name and password, and names no password', async () => {
    await withServer(
      (_request, response) => {
        response.statusCode = 401;
        response.end();
      },
      async (host, seen) => {
        const result = await vend(`http://user:hunter2@${host}/`);
        expect(result.code, describeRun(result)).toBe(1);
        expect(seen[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
        expect(`${result.stdout}${result.stderr}`).not.toContain('hunter2');
        expect(`${result.stdout}${result.stderr}`).not.toContain(TOKEN);
      },
    );
  });

  it.each([
    ['HTML', 'text/html', '<html><body>Sign in</body></html>'],
    ['garbage', 'application/json', '{"accessKeyId":'],
    [
      'credentials missing a field',
      'application/json',
      '{"accessKeyId":"ASIA","secretAccessKey":"s"}',
    ],
    ['10 MB', 'application/json', `{"x":"${'a'.repeat(10 * 1024 * 1024)}"}`],
  ])('refuses a 200 with %s, printing nothing on stdout', async (_what, type, body) => {
    await withServer(
      (_request, response) => {
        response.setHeader('content-type', type);
        response.end(body);
      },
      async (host) => {
        const result = await vend(`http://${host}`);
        expect(result.code, describeRun(result)).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr).toMatch(/without credentials/);
        expect(result.stderr.length).toBeLessThan(2000);
        expect(result.stderr).not.toContain(TOKEN);
      },
    );
  });

  it('follows no redirect: the token goes to the one server named', async () => {
    await withServer(
      (_request, response) => {
        response.statusCode = 200;
        response.end('{}');
      },
      async (elsewhere, elsewhereSeen) => {
        await withServer(
          (_request, response) => {
            response.statusCode = 307;
            response.setHeader('location', `http://${elsewhere}/steal`);
            response.end();
          },
          async (host) => {
            const result = await vend(`http://${host}`);
            expect(result.code, describeRun(result)).toBe(1);
            expect(elsewhereSeen).toHaveLength(0);
            expect(result.stdout).toBe('');
          },
        );
      },
    );
  });

  it('prints no control character a server puts in its problem, nor a token it echoes', async () => {
    await withServer(
      (request, response) => {
        response.statusCode = 422;
        response.setHeader('content-type', 'application/problem+json');
        response.end(
          JSON.stringify({
            title: 'x',
            detail: `\u001b]0;owned\u0007\u001b[2J${request.headers.authorization}`,
            errors: [{ field: 'id\u001b[31m', message: 'bad\r\nerror: fake line' }],
          }),
        );
      },
      async (host) => {
        const result = await vend(`http://${host}`);
        expect(result.code, describeRun(result)).toBe(1);
        expect(result.stdout).toBe('');
        // biome-ignore lint/suspicious/noControlCharactersInRegex: what must not reach the terminal.
        expect(result.stderr.replace(/\n$/, '')).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
        expect(result.stderr).not.toContain(TOKEN);
      },
    );
  });

  it('does not print a token that a server echoes in its refusal', async () => {
    await withServer(
      (request, response) => {
        response.statusCode = 401;
        response.setHeader('content-type', 'application/problem+json');
        response.end(
          JSON.stringify({ title: 'no', detail: `bad ${request.headers.authorization}` }),
        );
      },
      async (host) => {
        const result = await vend(`http://${host}`);
        expect(result.code, describeRun(result)).toBe(1);
        expect(result.stderr).toMatch(/refused the API token/);
        expect(result.stderr).not.toContain(TOKEN);
      },
    );
  });
});
