import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, seedOrganization, TEST_DIALECTS } from '@onramp/server/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addRoles,
  type Location,
  MANAGEMENT,
  MANAGEMENT_ROLE,
  memberIds,
  openWorld,
  roleOf,
} from './organization-kill/organization-world.ts';
import { ROOT } from './server-process.ts';

/** Call-backs acknowledged before the kill: enough that the worker and discovery are busy. */
const ACKS_BEFORE_KILL = 25;

/**
 * Enrollment and discovery killed with SIGKILL while call-backs arrive (organization-kill/
 * organization-kill-child.ts): after a restart, every call-back answered 202 ends connected, and
 * nothing is doubled (one account and one connection per member, no connection left unowned).
 */
describe.each(TEST_DIALECTS)('organization enrollment and discovery killed on %s', (dialect) => {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-org-kill-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loses no acknowledged call-back and doubles nothing after a restart', async () => {
    const created = await createTestDatabase(dialect, join(dir, 'onramp.db'));
    const location: Location = created.location;
    // PostgreSQL's stays open: dropping the test database at the end needs it.
    if (location.kind === 'sqlite') await created.close();
    let h = await openWorld(location);
    const tenant = await h.tenant();
    const { org, token } = await seedOrganization(h, tenant.id);
    addRoles(h, org.externalIdPrefix);
    const management = await h.app.inject({
      method: 'POST',
      url: '/v1/callbacks/organizations/management',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        requestType: 'Create',
        token,
        roleArn: roleOf(MANAGEMENT, MANAGEMENT_ROLE),
      }),
    });
    expect(management.statusCode, management.body).toBe(202);
    await h.close();
    await h.database.close();

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'e2e/organization-kill/organization-kill-child.ts'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ORG_KILL_LOCATION: JSON.stringify(location),
          ORG_KILL_PREFIX: org.externalIdPrefix,
          ORG_KILL_TOKEN: token,
          ORG_KILL_ORGANIZATION: org.id,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const acked: string[] = [];
    let stderr = '';
    let buffered = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const id = /^ack (\d{12})$/.exec(line)?.[1];
        if (id) acked.push(id);
        if (acked.length >= ACKS_BEFORE_KILL) child.kill('SIGKILL');
      }
    });
    // A child that never reaches the count is killed too (its output says why).
    const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    );
    clearTimeout(deadline);
    expect(signal, `exit code ${code}\n${stderr}`).toBe('SIGKILL');
    expect(acked.length, stderr).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL);

    // Restart: the dead process's claims expire (it held them for a second), the jobs finish.
    h = await openWorld(location, org.externalIdPrefix);
    await new Promise((r) => setTimeout(r, 1500));
    const atKill = await h.database.db
      .selectFrom('organization_members')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('organization_id', '=', org.id)
      .groupBy('state')
      .execute();
    console.info(
      `${dialect}: ${acked.length} acknowledged; at the kill: ${JSON.stringify(atKill)}`,
    );
    for (let pass = 0; pass < 20; pass++)
      if ((await h.services.organizationEnrollment.runOnce('restarted')) === 0) break;
    await h.database.db
      .updateTable('organizations')
      .set({ discovery_due_at: new Date(0).toISOString() })
      .where('id', '=', org.id)
      .execute();
    expect(await h.services.organizationDiscovery.runOnce('restarted')).toBe(1);

    const members = await h.database.db
      .selectFrom('organization_members')
      .selectAll()
      .where('organization_id', '=', org.id)
      .execute();
    const byId = new Map(members.map((m) => [m.aws_account_id, m]));
    expect(members).toHaveLength(memberIds.length + 1);
    for (const id of acked)
      expect(byId.get(id)?.state, `acknowledged ${id} ${JSON.stringify(byId.get(id))}`).toBe(
        'connected',
      );
    const accounts = await h.database.db
      .selectFrom('accounts')
      .select(['id', 'role_arn', 'organization_id'])
      .where('tenant_id', '=', tenant.id)
      .execute();
    const connected = members.filter((m) => m.state === 'connected');
    expect(accounts).toHaveLength(connected.length);
    expect(new Set(accounts.map((a) => a.role_arn)).size).toBe(accounts.length);
    for (const m of connected) {
      const account = accounts.find((a) => a.id === m.account_id);
      expect(account, `member ${m.aws_account_id}`).toMatchObject({
        role_arn: m.role_arn,
        organization_id: org.id,
      });
    }
    const connections = await h.database.db
      .selectFrom('connections')
      .select('id')
      .where('tenant_id', '=', tenant.id)
      .execute();
    const owned = new Set(members.flatMap((m) => (m.connection_id ? [m.connection_id] : [])));
    expect(
      connections.map((c) => c.id).filter((id) => !owned.has(id)),
      'connections no member owns',
    ).toEqual([]);
    const stored = await h.database.db
      .selectFrom('organizations')
      .select(['status', 'last_discovery_ok', 'discovery_claimed_by'])
      .where('id', '=', org.id)
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({
      status: 'active',
      last_discovery_ok: 1,
      discovery_claimed_by: null,
    });
    await h.close();
    await h.database.close();
    if (location.kind === 'postgres') await created.drop();
  }, 180_000);
});
