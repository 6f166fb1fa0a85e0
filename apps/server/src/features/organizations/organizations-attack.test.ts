import { Writable } from 'node:stream';
import { memberExternalId } from '@onramp/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_REDACT } from '../../http/logging.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectStatus,
  type Harness,
  type TestResponse,
  type TestTenant,
} from '../../testing/harness.ts';
import {
  MANAGEMENT_ROLE,
  MEMBER_ROLE,
  roleArnOf,
  seedOrganization,
} from '../../testing/organization-seed.ts';
import { createOrganizationsRepository } from './organizations-repository.ts';

/**
 * The organizations feature attacked: an enrollment token used where it does not belong, AWS
 * answering badly during discovery, and the token looked for everywhere it must not be.
 */
let sequence = 0;
const awsAccount = () => String(700000000000 + ++sequence * 17 + Math.floor(Math.random() * 17));
const newAddress = () => `198.51.100.${(++sequence % 250) + 1}`;
const unitId = (rootId: string) => `ou-${rootId.slice(2)}-${String(++sequence).padStart(8, '0')}`;

describe.each(TEST_DIALECTS)('organizations under attack on %s', (dialect) => {
  let h: Harness;
  let t: TestTenant;
  const logLines: string[] = [];

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    h = await createHarness(dialect, { logger: { level: 'trace', stream, redact: LOG_REDACT } });
    t = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  async function post(kind: string, body: unknown, address = newAddress()): Promise<TestResponse> {
    const response = await h.app.inject({
      method: 'POST',
      url: `/v1/callbacks/organizations/${kind}`,
      headers: { 'content-type': 'application/json' },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
      remoteAddress: address,
    });
    return {
      status: response.statusCode,
      headers: response.headers,
      text: response.body,
      body: response.body ? JSON.parse(response.body) : response.body,
    };
  }
  const repo = () => createOrganizationsRepository(h.database.db, h.deps.clock);
  const members = (organizationId: string) =>
    h.database.db
      .selectFrom('organization_members')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .orderBy('aws_account_id')
      .execute();

  /** An AWS organization of `count` accounts under one OU, and an Onramp organization for it. */
  async function world(count: number) {
    const management = awsAccount();
    const fake = h.aws.addOrganization(management);
    const unit = unitId(fake.rootId);
    fake.units.set(unit, { name: 'Workloads', parentId: fake.rootId });
    const accounts: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = awsAccount();
      fake.accounts.set(id, {
        name: `w-${i}`,
        email: `${id}@example.com`,
        status: 'ACTIVE',
        parentId: unit,
      });
      accounts.push(id);
    }
    const { org, token } = await seedOrganization(h, t.id);
    const managementRole = roleArnOf('aws', management, MANAGEMENT_ROLE);
    h.aws.addRole(managementRole, memberExternalId(org.externalIdPrefix, management));
    return { org, token, fake, management, managementRole, accounts };
  }

  async function connectManagement(w: Awaited<ReturnType<typeof world>>) {
    const reported = await post('management', {
      requestType: 'Create',
      token: w.token,
      roleArn: w.managementRole,
      stackId: 'arn:aws:cloudformation:us-east-1:1:stack/mgmt/1',
    });
    expectStatus(reported, 202);
  }

  it('a member account holding the token cannot make itself the management account', async () => {
    const w = await world(2);
    const attacker = w.accounts[0] as string;
    // The member's admin reads the token from its stack and makes a role of the management name.
    const forged = roleArnOf('aws', attacker, MANAGEMENT_ROLE);
    h.aws.addRole(forged, memberExternalId(w.org.externalIdPrefix, attacker));
    const taken = await post('management', {
      requestType: 'Create',
      token: w.token,
      roleArn: forged,
      stackId: '',
    });
    expect(taken.status, taken.text).toBe(404);
    const after = await repo().find(t.id, w.org.id);
    expect(after?.managementAccountId).toBeNull();
    expect(await members(w.org.id)).toHaveLength(0);
    // The real management stack still reports.
    await connectManagement(w);
    expect((await repo().find(t.id, w.org.id))?.managementAccountId).toBe(w.management);
    // And a replay from the member now is refused too.
    const replay = await post('management', {
      requestType: 'Update',
      token: w.token,
      roleArn: forged,
      stackId: '',
    });
    expect(replay.status, replay.text).toBe(404);
    expect((await repo().find(t.id, w.org.id))?.managementAccountId).toBe(w.management);
  });

  it('a ListAccounts cut short mid-pagination marks no member left', async () => {
    const w = await world(6);
    await connectManagement(w);
    expect(await h.services.organizationDiscovery.runOnce('replica-a')).toBeGreaterThan(0);
    expect((await members(w.org.id)).filter((m) => m.state === 'left')).toHaveLength(0);
    await h.database.db
      .updateTable('organizations')
      .set({ discovery_due_at: new Date(0).toISOString() })
      .where('id', '=', w.org.id)
      .execute();
    h.aws.orgFaults.pageSize = 2;
    h.aws.orgFaults.listAccountsCut = 3;
    try {
      await h.services.organizationDiscovery.runOnce('replica-a');
    } finally {
      h.aws.orgFaults.pageSize = 20;
      h.aws.orgFaults.listAccountsCut = null;
    }
    const rows = await members(w.org.id);
    expect(rows).toHaveLength(7);
    expect(
      rows.filter((m) => m.state === 'left').map((m) => m.aws_account_id),
      'members marked left on a partial read',
    ).toEqual([]);
    const stored = await repo().find(t.id, w.org.id);
    expect(stored?.status).toBe('error');
    expect(stored?.lastDiscovery?.error).toMatch(/ListAccounts/);
  });

  it('the management role deleted: discovery is an error with the reason, members untouched', async () => {
    const w = await world(3);
    await connectManagement(w);
    await h.services.organizationDiscovery.runOnce('replica-a');
    const before = await members(w.org.id);
    h.aws.deleteRole(w.managementRole);
    await h.database.db
      .updateTable('organizations')
      .set({ discovery_due_at: new Date(0).toISOString() })
      .where('id', '=', w.org.id)
      .execute();
    await h.services.organizationDiscovery.runOnce('replica-a');
    const stored = await repo().find(t.id, w.org.id);
    expect(stored?.status).toBe('error');
    expect(stored?.lastDiscovery?.ok).toBe(false);
    expect(stored?.lastDiscovery?.error, JSON.stringify(stored?.lastDiscovery)).toBeTruthy();
    expect((await members(w.org.id)).map((m) => m.state)).toEqual(before.map((m) => m.state));
  });

  it('the token is in no response, log line, audit entry or webhook payload, refused or accepted', async () => {
    const w = await world(2);
    await connectManagement(w);
    const memberId = w.accounts[0] as string;
    const memberRole = roleArnOf('aws', memberId, MEMBER_ROLE);
    h.aws.addRole(memberRole, memberExternalId(w.org.externalIdPrefix, memberId));
    const responses: string[] = [];
    const sent = [
      // Accepted, then refusals of every kind, then hostile shapes carrying the token.
      ['member', { requestType: 'Create', token: w.token, roleArn: memberRole, stackId: 's' }],
      ['member', { requestType: 'Create', token: w.token, roleArn: 'arn:aws:iam::1:role/x' }],
      ['member', { requestType: 'Create', token: `${w.token}x`, roleArn: memberRole }],
      ['member', { requestType: 'Create', token: w.token, roleArn: w.token }],
      ['member', { requestType: 'Create', token: w.token, roleArn: memberRole, stackId: w.token }],
      ['member', { requestType: 'Nope', token: w.token, roleArn: memberRole }],
      ['member', { requestType: 'Create', token: `${w.token}${'A'.repeat(300)}`, roleArn: 'x' }],
      ['elsewhere', { requestType: 'Create', token: w.token, roleArn: memberRole }],
      ['member', `{"token":"${w.token}",`],
    ] as const;
    for (const [kind, body] of sent) {
      const response = await post(kind, body);
      expect(response.status, response.text).toBeLessThan(500);
      responses.push(response.text);
    }
    await h.services.organizationEnrollment.runOnce('replica-a');
    await h.services.organizationDiscovery.runOnce('replica-a');
    const audit = await h.database.db.selectFrom('audit_log').selectAll().execute();
    const outbox = await h.database.db.selectFrom('webhook_deliveries').selectAll().execute();
    const haystacks = {
      responses: responses.join('\n'),
      logs: logLines.join(''),
      audit: JSON.stringify(audit),
      outbox: JSON.stringify(outbox),
    };
    for (const [where, text] of Object.entries(haystacks))
      expect(text.includes(w.token), `the token is in the ${where}`).toBe(false);
    expect(logLines.length).toBeGreaterThan(0);
  });
});
