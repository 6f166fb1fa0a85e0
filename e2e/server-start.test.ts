import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from './server-process.ts';

describe('npm start on a fresh data directory', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'onramp-start-'));
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ ONRAMP_DATA_DIR: dataDir });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('creates the SQLite database and a keyring readable by its owner only', () => {
    expect(readdirSync(dataDir)).toEqual(expect.arrayContaining(['onramp.db', 'master-keys.json']));
    expect(statSync(join(dataDir, 'master-keys.json')).mode & 0o777).toBe(0o600);
  });

  it('serves health, readiness, the OpenAPI document and the interactive docs', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ status: 'ready' });
    const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/v1/catalog',
        '/v1/policies/preview',
        '/v1/accounts',
        '/v1/connections',
        '/v1/tokens',
        '/v1/audit',
      ]),
    );
    expect((await fetch(`${server.url}/docs`, { redirect: 'follow' })).status).toBe(200);
  });

  it('prints a one-time set-up token that creates the first operator admin', async () => {
    const token = /(setup_[A-Za-z0-9_-]+)/.exec(server.output())?.[1];
    expect(token, server.output()).toBeDefined();
    const response = await fetch(`${server.url}/v1/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        setupToken: token,
        email: 'ops@example.com',
        name: 'Ops',
        password: 'a long enough password',
      }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    const cookie = response.headers.get('set-cookie')?.split(';')[0] ?? '';
    const session = await fetch(`${server.url}/v1/session`, { headers: { cookie } });
    expect(((await session.json()) as { user: { role: string } }).user.role).toBe('operator_admin');
  });

  it('logs requests without credentials', async () => {
    await fetch(`${server.url}/v1/catalog`, {
      headers: { authorization: 'Bearer onr_this-must-not-be-logged' },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.output()).toContain('"url":"/v1/catalog"');
    expect(server.output()).not.toContain('onr_this-must-not-be-logged');
  });
});

describe('a configuration problem', () => {
  it('stops start-up with every problem listed', async () => {
    await expect(
      startServer({ PORT: 'eighty', DATABASE_URL: 'postgres://x@127.0.0.1/none' }),
    ).rejects.toThrow(/PORT: [\s\S]*ONRAMP_MASTER_KEY_FILE: /);
  });
});
