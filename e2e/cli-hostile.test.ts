/**
 * The CLI against servers that are not a well-behaved Onramp: one that redirects (the token must not
 * follow), one answering a megabyte of error text, and a proxy's HTML 502 page. Each is a real HTTP
 * server on loopback; the CLI runs in-process with its real fetch.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeRun, runCli } from '@onramp/cli/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TOKEN = 'onr_hostileRedirectToken00000000000';
const MEGABYTE = 1024 * 1024;

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

interface Listening {
  url: string;
  /** The Authorization header of every request it received. */
  seen: (string | undefined)[];
  server: Server;
}

async function listen(handler: Handler): Promise<Listening> {
  const seen: (string | undefined)[] = [];
  const server = createServer((request, response) => {
    seen.push(request.headers.authorization);
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const servers: Listening[] = [];
let thief: Listening;

beforeAll(async () => {
  thief = await listen((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"accounts":[],"next":null}');
  });
  servers.push(thief);
});

afterAll(async () => {
  await Promise.all(
    servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
});

function asToken(url: string, argv: readonly string[]) {
  return runCli(argv, { io: { env: { ONRAMP_URL: url, ONRAMP_TOKEN: TOKEN } } });
}

describe('a server that is not a well-behaved Onramp', () => {
  it('redirects: the token is not sent on, and the message says where it pointed', async () => {
    const redirecting = await listen((_request, response) => {
      response.writeHead(307, { location: `${thief.url}/v1/accounts` });
      response.end();
    });
    servers.push(redirecting);

    const list = await asToken(redirecting.url, ['accounts', 'list']);
    expect(list.code, describeRun(list)).toBe(1);
    expect(thief.seen).toEqual([]);
    expect(redirecting.seen).toEqual([`Bearer ${TOKEN}`]);
    expect(list.stderr).toMatch(
      new RegExp(
        `^error: ${redirecting.url}: it answered 307, redirecting to ${thief.url}/v1/accounts;`,
      ),
    );
    expect(list.stderr).toContain('the token was not sent there');
    expect(list.stderr).not.toContain(TOKEN);
  });

  it('answers a megabyte of error text: the message shows the start and says the rest was cut', async () => {
    const verbose = await listen((_request, response) => {
      response.writeHead(500, { 'content-type': 'application/problem+json' });
      response.end(
        JSON.stringify({
          title: 'Internal error',
          status: 500,
          detail: `${'A'.repeat(MEGABYTE)} ${TOKEN}`,
          requestId: 'req_1',
        }),
      );
    });
    servers.push(verbose);

    const list = await asToken(verbose.url, ['accounts', 'list']);
    expect(list.code, describeRun(list)).toBe(1);
    expect(list.stderr.length).toBeLessThan(2000);
    expect(list.stderr).toContain('more characters not shown');
    expect(list.stderr).toContain('(request req_1)');
    expect(list.stderr).not.toContain(TOKEN);
  });

  it('is a proxy answering an HTML 502: says so, without an Onramp request id it does not have', async () => {
    const proxy = await listen((_request, response) => {
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end(`<html><body><h1>502 Bad Gateway</h1>${'x'.repeat(MEGABYTE)}</body></html>`);
    });
    servers.push(proxy);

    const list = await asToken(proxy.url, ['accounts', 'list']);
    expect(list.code, describeRun(list)).toBe(1);
    expect(list.stderr).toBe(
      `error: ${proxy.url} answered 502 Bad Gateway, not as Onramp does: is a proxy or load balancer in front of it failing, or is the URL wrong?\n`,
    );
  });
});
