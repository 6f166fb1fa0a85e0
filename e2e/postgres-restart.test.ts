/**
 * The server process (`node apps/server/src/main.ts`, as `npm start` runs it) on a PostgreSQL cluster
 * the test owns, under continuous load, while that cluster is restarted and stopped: the process stays
 * up, requests during the outage are 503 with Retry-After (never 500), it recovers by itself as soon
 * as the database is back, nothing acknowledged is lost, and the background jobs carry on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKeyringFile } from '@onramp/server';
import { startWebhookReceiver, type WebhookReceiver } from '@onramp/server/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawayCluster, type ThrowawayCluster } from './postgres-cluster.ts';
import { type RunningServer, startServer } from './server-process.ts';

/** Restarts (`pg_ctl -m fast restart`) and stops (fast stop, a pause, start), alternated. */
const CYCLES = 8;
const WORKERS = 12;
/** How long after the database accepts connections again a write must succeed. */
const RECOVERY_MS = 1_000;

interface Outcome {
  method: string;
  path: string;
  status: number | 'network';
  retryAfter: string | null;
  body: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a PostgreSQL restart under load', () => {
  let cluster: ThrowawayCluster | undefined;
  let server: RunningServer | undefined;
  let receiver: WebhookReceiver | undefined;
  let exited: string | undefined;
  let headers: Record<string, string> = {};
  const dataDir = mkdtempSync(join(tmpdir(), 'onramp-pgrestart-'));

  beforeAll(async () => {
    cluster = await startThrowawayCluster();
    receiver = await startWebhookReceiver();
    const keyringFile = join(dataDir, 'master-keys.json');
    openKeyringFile(keyringFile, { createIfMissing: true });
    server = await startServer({
      DATABASE_URL: cluster.url(),
      ONRAMP_DATA_DIR: dataDir,
      ONRAMP_MASTER_KEY_FILE: keyringFile,
      ONRAMP_WEBHOOKS_ALLOW_PRIVATE: 'true',
      ONRAMP_LOG_LEVEL: 'warn',
    });
    server.process.once('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
    });
    const setupToken = /(setup_[A-Za-z0-9_-]+)/.exec(server.output())?.[1];
    const setup = await fetch(`${server.url}/v1/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        setupToken,
        email: 'ops@example.com',
        name: 'Ops',
        password: 'a long enough password',
      }),
    });
    expect(setup.status, await setup.clone().text()).toBe(201);
    const { csrfToken } = (await setup.json()) as { csrfToken: string };
    headers = {
      cookie: setup.headers.get('set-cookie')?.split(';')[0] ?? '',
      'x-csrf-token': csrfToken,
    };
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
    await cluster?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function call(method: string, path: string, body?: unknown): Promise<Outcome> {
    try {
      const response = await fetch(`${server?.url}${path}`, {
        method,
        headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        // A request that hangs through the outage is a failure too.
        signal: AbortSignal.timeout(15_000),
      });
      return {
        method,
        path,
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        body: await response.text(),
      };
    } catch (error) {
      return { method, path, status: 'network', retryAfter: null, body: String(error) };
    }
  }

  it('keeps the process up, answers 503 with Retry-After meanwhile, recovers and loses nothing acknowledged', async () => {
    if (!server || !cluster || !receiver) throw new Error('set-up failed');

    // A webhook endpoint, for the background deliverer to show it lived through the outages.
    const hook = await call('POST', '/v1/webhooks', {
      url: receiver.url('/after-restart'),
      events: ['account.created'],
    });
    expect(hook.status, hook.body).toBe(201);
    const endpointId = (JSON.parse(hook.body) as { endpoint: { id: string } }).endpoint.id;

    const outcomes: Outcome[] = [];
    const acknowledged: string[] = [];
    let running = true;
    const worker = async (n: number) => {
      for (let i = 0; running; i++) {
        const write = await call('POST', '/v1/tenants', { name: `Load ${n}-${i}` });
        outcomes.push(write);
        if (write.status === 201) acknowledged.push((JSON.parse(write.body) as { id: string }).id);
        const last = acknowledged.at(-1);
        if (last) outcomes.push(await call('GET', `/v1/tenants/${last}`));
      }
    };
    const load = Array.from({ length: WORKERS }, (_, n) => worker(n));

    const recoveries: number[] = [];
    const readyDuringOutage: Outcome[] = [];
    try {
      await sleep(1_000);
      for (let cycle = 0; cycle < CYCLES && !exited; cycle++) {
        if (cycle % 2 === 0) {
          await cluster.restart();
        } else {
          await cluster.stop();
          await sleep(700);
          readyDuringOutage.push(await call('GET', '/readyz'));
          await sleep(700);
          await cluster.start();
        }
        // The database accepts connections again (pg_ctl -w): a write must succeed within a second.
        const back = Date.now();
        for (;;) {
          const probe = await call('POST', '/v1/tenants', { name: `Probe ${cycle}` });
          if (probe.status === 201) {
            acknowledged.push((JSON.parse(probe.body) as { id: string }).id);
            break;
          }
          if (probe.status === 'network' || Date.now() - back > 10_000) {
            outcomes.push(probe);
            break;
          }
          await sleep(25);
        }
        recoveries.push(Date.now() - back);
        await sleep(1_000);
      }
    } finally {
      running = false;
      await Promise.all(load);
    }

    expect(exited, `the server process died:\n${server.output().slice(-4000)}`).toBeUndefined();
    const unexpected = outcomes.filter((o) => o.status === 'network' || o.status >= 500);
    const notUnavailable = unexpected.filter(
      (o) =>
        o.status !== 503 || !o.retryAfter || !o.body.includes('urn:onramp:problem:unavailable'),
    );
    expect(
      notUnavailable.slice(0, 5),
      'every failure is a 503 unavailable with Retry-After',
    ).toEqual([]);
    expect(unexpected.length, 'the outages were seen by the load').toBeGreaterThan(0);
    expect(
      outcomes.filter((o) => o.status !== 503 && o.status !== 200 && o.status !== 201).slice(0, 5),
    ).toEqual([]);
    expect(readyDuringOutage.map((o) => o.status)).toEqual(readyDuringOutage.map(() => 503));
    expect(
      recoveries.filter((ms) => ms > RECOVERY_MS),
      `recovery times (ms): ${recoveries.join(', ')}`,
    ).toEqual([]);

    // Every acknowledged write is in the database.
    const client = new pg.Client({ connectionString: cluster.url() });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string }>(
        'SELECT id FROM tenants WHERE id = ANY($1)',
        [acknowledged],
      );
      expect(acknowledged.length).toBeGreaterThan(CYCLES);
      expect(new Set(rows.map((r) => r.id))).toEqual(new Set(acknowledged));
    } finally {
      await client.end();
    }

    // The background deliverer, whose passes failed through every outage, still works: a test event
    // the endpoint refuses waits for its retry, made due now, and the deliverer sends it.
    receiver.answer(500);
    const test = await call('POST', `/v1/webhooks/${endpointId}/test`);
    expect(test.status, test.body).toBe(200);
    const { id: deliveryId, eventId } = JSON.parse(test.body) as { id: string; eventId: string };
    const due = new pg.Client({ connectionString: cluster.url() });
    await due.connect();
    try {
      await due.query('UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE id = $2', [
        new Date(Date.now() - 1_000).toISOString(),
        deliveryId,
      ]);
    } finally {
      await due.end();
    }
    await expect
      .poll(() => receiver?.received.filter((r) => r.json?.id === eventId).length, {
        timeout: 15_000,
        interval: 250,
      })
      .toBe(2);
    const statusOf = async () => {
      const page = await call('GET', `/v1/webhooks/${endpointId}/deliveries`);
      const { deliveries } = JSON.parse(page.body) as {
        deliveries: { id: string; status: string }[];
      };
      return deliveries.find((d) => d.id === deliveryId)?.status;
    };
    await expect.poll(statusOf, { timeout: 5_000, interval: 250 }).toBe('delivered');

    // Outages are warnings, not unexpected failures.
    const logged = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(logged.filter((l) => l.level >= 50).slice(0, 3)).toEqual([]);
  }, 240_000);
});
