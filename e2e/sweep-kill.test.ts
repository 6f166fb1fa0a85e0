import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccountsRepository, createTenantsRepository } from '@onramp/server/testing/seed';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './server-process.ts';
import { catalogs, openFleet, progress, servicesOver } from './sweep/sweep-world.ts';

const FLEET = 300;

/**
 * The catalog sweep killed with SIGKILL half-way (sweep/sweep-kill-child.ts): what it committed is
 * whole (each outdated account has its one event, and no event lacks its account), what it had not
 * committed is gone, and the next start finishes the job with each event written once.
 */
describe('the catalog sweep killed half-way', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-sweep-kill-'));
  const path = join(dir, 'onramp.db');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every committed account with its event, and the next start finishes once', async () => {
    const { v1, v2 } = await catalogs();
    let database = await openFleet(path);
    const before = servicesOver(database, v1);
    const clock = () => new Date();
    const tenant = await createTenantsRepository(database.db, clock).create({
      name: 'fleet',
      limits: {},
    });
    await before.webhooks.createEndpoint(
      {
        owner: tenant.id,
        actorType: 'system',
        actorId: null,
        requestId: 'req_sweep_kill',
        sourceIp: '127.0.0.1',
      },
      {
        url: 'http://127.0.0.1:9/hook',
        events: ['account.permissions_outdated'],
        description: '',
        enabled: true,
      },
    );
    const accounts = createAccountsRepository(database.db, clock);
    const bundles = v1.defaultBundles('aws').map((b) => b.id);
    for (let i = 0; i < FLEET; i++) {
      const awsAccountId = `3${String(i).padStart(11, '0')}`;
      const roleArn = `arn:aws:iam::${awsAccountId}:role/onramp`;
      await accounts.create(tenant.id, {
        name: `Fleet ${i}`,
        description: '',
        partition: 'aws',
        method: 'role',
        awsAccountId,
        principalArn: roleArn,
        roleArn,
        externalId: `onramp-fleet-${String(i).padStart(6, '0')}-5c1f0e9a7b`,
        connectionId: null,
        accessKeyId: null,
        bundles,
        regions: [],
        status: 'valid',
        statusDetail: { checks: [], errors: [], findings: [] },
        lastCheckedAt: null,
        bundleChoice: 'default',
      });
    }
    // Connected under v1: the first start records it as their grant.
    expect((await before.outdatedSweep.run()).baselined).toBe(FLEET);
    await database.close();

    const child = spawn(process.execPath, ['--import', 'tsx', 'e2e/sweep/sweep-kill-child.ts'], {
      cwd: ROOT,
      env: { ...process.env, SWEEP_KILL_DB: path },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    );
    expect(signal, `exit code ${code}\n${stderr}`).toBe('SIGKILL');

    database = await openFleet(path);
    const killed = await progress(database);
    // The first write of 100 committed, whole; the second, killed before its commit, left nothing.
    expect(killed.outdated).toHaveLength(100);
    expect(killed.events).toEqual(killed.outdated);

    const after = servicesOver(database, v2);
    const restarted = await after.outdatedSweep.run();
    expect(restarted).toMatchObject({ compared: FLEET, outdated: FLEET - 100, skipped: 0 });
    const finished = await progress(database);
    expect(finished.outdated).toHaveLength(FLEET);
    // Each account's event once: none repeated for the accounts the killed run had committed.
    expect(finished.events).toEqual(finished.outdated);
    expect((await after.outdatedSweep.run()).outdated).toBe(0);
    await database.close();
  }, 120_000);
});
