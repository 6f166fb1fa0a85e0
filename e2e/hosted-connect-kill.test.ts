/**
 * A hosted connect session across a kill -9 of Onramp (a real process on SQLite, the loopback AWS):
 * the opened session and its browser's cookie survive a restart; a completion killed while AWS
 * validates leaves no account and a live session (the account and the session's completion share
 * one transaction), and the customer completes it after the restart, once.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { bundlePolicy } from '@onramp/server/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from './server-process.ts';

const CUSTOMER = '444455556666';
const RETURN_URL = 'https://app.acme.example/integrations/aws';
const TIMEOUT = 120_000;

const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
  actions: createIamDataActionIndex(),
});

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the test reads answers loosely.
  body: any;
  cookies: string[];
}

async function call(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? JSON.parse(text) : null,
    cookies: response.headers.getSetCookie().map((c) => c.split(';')[0] ?? ''),
  };
}

describe('a hosted connect session when Onramp is killed', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'onramp-hosted-kill-'));
  let aws: LoopbackAws;
  let server: RunningServer;
  let operator: Record<string, string> = {};
  let sessionId = '';
  let browser: Record<string, string> = {};

  const start = () =>
    startServer({
      ONRAMP_DATA_DIR: dataDir,
      AWS_ENDPOINT_URL: aws.url,
      ONRAMP_CONNECT_RETURN_URLS: 'https://app.acme.example',
      LOG_LEVEL: 'warn',
    });

  /** kill -9: no shutdown hook runs, nothing is flushed but what was committed. */
  const kill = async () => {
    const exited = new Promise((resolve) => server.process.once('exit', resolve));
    server.process.kill('SIGKILL');
    await exited;
  };

  beforeAll(async () => {
    aws = await startLoopbackAws();
    server = await start();
  }, TIMEOUT);

  afterAll(async () => {
    // A process killed by a signal has no exit code; only a live one is stopped.
    if (server && server.process.exitCode === null && server.process.signalCode === null)
      await server.stop();
    await aws?.stop();
  });

  const keysOf = (name: string) => {
    const user = aws.createUser('aws', CUSTOMER, name, {
      policies: {
        acme: bundlePolicy(catalog, {
          partition: 'aws',
          bundles: 'default',
          principal: 'user',
          accountId: CUSTOMER,
        }),
      },
    });
    return {
      method: 'access_keys',
      name: 'Production',
      partition: 'aws',
      accessKeyId: user.accessKeyId,
      secretAccessKey: user.secretAccessKey,
    };
  };

  it(
    'keeps an opened session and its browser across a restart',
    async () => {
      const setupToken = /(setup_[A-Za-z0-9_-]+)/.exec(server.output())?.[1];
      expect(setupToken, server.output()).toBeTruthy();
      const setup = await call(server.url, 'POST', '/v1/setup', {
        body: {
          setupToken,
          email: 'ops@example.com',
          name: 'Olivia Operator',
          password: 'operator pw 12',
        },
      });
      expect(setup.status, JSON.stringify(setup.body)).toBe(201);
      const session = { cookie: setup.cookies.join('; '), 'x-csrf-token': setup.body.csrfToken };
      const token = await call(server.url, 'POST', '/v1/tokens', {
        headers: session,
        body: { name: 'platform backend', scopes: ['admin', 'accounts:read', 'accounts:write'] },
      });
      expect(token.status, JSON.stringify(token.body)).toBe(201);
      operator = { authorization: `Bearer ${token.body.secret}` };
      const tenant = await call(server.url, 'POST', '/v1/tenants', {
        headers: operator,
        body: { name: 'Acme Corp' },
      });
      expect(tenant.status, JSON.stringify(tenant.body)).toBe(201);
      operator['onramp-tenant'] = tenant.body.id;

      const made = await call(server.url, 'POST', '/v1/connect-sessions', {
        headers: operator,
        body: { reference: 'workspace-7', returnUrl: RETURN_URL, methods: ['access_keys'] },
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      sessionId = made.body.id;
      const secret = String(made.body.url).split('#')[1];
      const opened = await call(server.url, 'POST', `/v1/connect/sessions/${sessionId}/open`, {
        body: { token: secret },
      });
      expect(opened.status, JSON.stringify(opened.body)).toBe(200);
      browser = { cookie: opened.cookies.join('; '), 'x-csrf-token': opened.body.csrfToken };

      await kill();
      server = await start();

      const again = await call(server.url, 'GET', `/v1/connect/sessions/${sessionId}`, {
        headers: browser,
      });
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body.state).toBe('active');
      expect(again.body.csrfToken).toBe(browser['x-csrf-token']);
      // The link itself still works once only: a browser without the cookie is refused.
      const stranger = await call(server.url, 'POST', `/v1/connect/sessions/${sessionId}/open`, {
        body: { token: secret },
      });
      expect(stranger.status).toBe(409);
    },
    TIMEOUT,
  );

  it(
    'loses nothing and doubles nothing when killed while a completion is validated',
    async () => {
      // AWS answers slowly, so the kill lands while the keys are checked.
      aws.setLatency('sts', 400);
      aws.setLatency('iam', 400);
      const pending = call(server.url, 'POST', `/v1/connect/sessions/${sessionId}/complete`, {
        headers: browser,
        body: keysOf('acme-first'),
      }).catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await kill();
      expect(await pending).toBeInstanceOf(Error);
      aws.setLatency('sts', 0);
      aws.setLatency('iam', 0);
      server = await start();

      const unanswered = await call(server.url, 'GET', `/v1/connect-sessions/${sessionId}`, {
        headers: operator,
      });
      expect(unanswered.body.state).toBe('active');
      expect(
        (await call(server.url, 'GET', '/v1/accounts', { headers: operator })).body.accounts,
      ).toHaveLength(0);

      const done = await call(server.url, 'POST', `/v1/connect/sessions/${sessionId}/complete`, {
        headers: browser,
        body: keysOf('acme-second'),
      });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      expect(done.body.state).toBe('completed');
      expect(new URL(done.body.redirectTo).searchParams.get('outcome')).toBe('connected');

      // Acknowledged, then killed: the completion and its one account are there after a restart.
      await kill();
      server = await start();
      const read = await call(server.url, 'GET', `/v1/connect-sessions/${sessionId}`, {
        headers: operator,
      });
      expect(read.body.state).toBe('completed');
      expect(read.body.outcome).toBe('connected');
      const accounts = (await call(server.url, 'GET', '/v1/accounts', { headers: operator })).body
        .accounts as { id: string }[];
      expect(accounts.map((a) => a.id)).toEqual([read.body.accountId]);
      const audit = await call(server.url, 'GET', '/v1/audit?limit=200', { headers: operator });
      const asSession = (audit.body.entries as { actorType: string; details: unknown }[]).filter(
        (e) => e.actorType === 'connect_session',
      );
      expect(asSession.length).toBeGreaterThan(0);
      expect(JSON.stringify(asSession)).toContain('workspace-7');
    },
    TIMEOUT,
  );
});
