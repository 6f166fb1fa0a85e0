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
import { startWebhookReceiver, type WebhookReceiver } from '../../testing/webhook-receiver.ts';
import { createOrganizationEnrollment } from './organization-enrollment.ts';
import { createOrganizationsRepository } from './organizations-repository.ts';

/**
 * The organizations feature attacked: an enrollment token used where it does not belong, AWS
 * answering badly during discovery, and the token looked for everywhere it must not be.
 */
let sequence = 0;
const many100 = <T>(f: (i: number) => T): T[] => Array.from({ length: 100 }, (_, i) => f(i));
const awsAccount = () => String(700000000000 + ++sequence * 17 + Math.floor(Math.random() * 17));
const newAddress = () => `198.51.100.${(++sequence % 250) + 1}`;
const unitId = (rootId: string) => `ou-${rootId.slice(2)}-${String(++sequence).padStart(8, '0')}`;

describe.each(TEST_DIALECTS)('organizations under attack on %s', (dialect) => {
  let h: Harness;
  let t: TestTenant;
  const logLines: string[] = [];
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    h = await createHarness(dialect, {
      logger: { level: 'trace', stream, redact: LOG_REDACT },
      // The receiver listens on 127.0.0.1.
      webhookSettings: { allowPrivate: true },
    });
    t = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
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

  it('forged management reports cost AWS calls only up to a limit per organization', async () => {
    const w = await world(1);
    const attacker = w.accounts[0] as string;
    const forged = roleArnOf('aws', attacker, MANAGEMENT_ROLE);
    const assumes = () =>
      h.aws.calls.filter((c) => c.op === 'assumeRole' || c.op === 'describeOrganization').length;
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const before = assumes();
      const r = await post('management', {
        requestType: 'Create',
        token: w.token,
        roleArn: forged,
        stackId: '',
      });
      statuses.push(r.status);
      if (r.status === 429) expect(assumes(), 'AWS asked past the limit').toBe(before);
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(
      statuses.every((s) => s === 404 || s === 429),
      statuses.join(),
    ).toBe(true);
    expect((await repo().find(t.id, w.org.id))?.managementAccountId).toBeNull();
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
    const hook = await t.admin.request('POST', '/v1/webhooks', {
      url: receiver.url('/organizations'),
      events: [
        'organization.account_discovered',
        'organization.account_connected',
        'organization.account_failed',
        'organization.account_left',
      ],
    });
    expectStatus(hook, 201);
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
    // The haystacks are not empty: events were written for this organization's members.
    expect(haystacks.outbox).toContain(w.org.id);
  });

  /** Every organizations route of one organization (and the list and create). */
  function routesOf(id: string) {
    const base = `/v1/organizations/${id}`;
    const reads = [
      { method: 'GET', url: '/v1/organizations' },
      { method: 'GET', url: base },
      { method: 'GET', url: `${base}/setup` },
      { method: 'GET', url: `${base}/tree` },
      { method: 'GET', url: `${base}/members` },
      { method: 'POST', url: `${base}/rules/preview`, body: { rules: {} } },
    ];
    const writes = [
      { method: 'POST', url: '/v1/organizations', body: { name: 'x', partition: 'aws' } },
      { method: 'PATCH', url: base, body: { name: 'Renamed' } },
      { method: 'POST', url: `${base}/permissions/update`, body: {} },
      {
        method: 'POST',
        url: `${base}/management-role`,
        body: { roleArn: roleArnOf('aws', '123456789012', MANAGEMENT_ROLE) },
      },
      { method: 'POST', url: `${base}/discover` },
      { method: 'POST', url: `${base}/enrollment-token/rotate` },
      { method: 'POST', url: `${base}/members/123456789012/retry` },
      { method: 'DELETE', url: base },
    ];
    return { reads, writes };
  }

  it('every route refuses: no sign-in, an expired or revoked token, a viewer writing, another tenant, an operator naming no tenant', async () => {
    const other = await h.tenant();
    const { org } = await seedOrganization(h, t.id);
    const expired = await t.token(['accounts:read', 'accounts:write']);
    const revoked = await t.token(['accounts:read', 'accounts:write']);
    await h.database.db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', expired.tokenId)
      .execute();
    await h.database.db
      .updateTable('api_tokens')
      .set({ revoked_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', revoked.tokenId)
      .execute();
    const operator = await h.operator();
    const { reads, writes } = routesOf(org.id);
    for (const route of [...reads, ...writes]) {
      const label = `${route.method} ${route.url}`;
      for (const actor of [h.anonymous, expired, revoked]) {
        const r = await actor.request(route.method, route.url, route.body);
        expect(r.status, `${label} as ${actor.label}: ${r.text}`).toBe(401);
      }
      const noTenant = await operator.request(route.method, route.url, route.body);
      expect(noTenant.status, `${label} as operator without a tenant: ${noTenant.text}`).toBe(400);
      expect(noTenant.text).toContain('Onramp-Tenant');
      if (route.url === '/v1/organizations') continue;
      for (const actor of route.method === 'GET' ? [other.admin, other.viewer] : [other.admin]) {
        const r = await actor.request(route.method, route.url, route.body);
        expect(r.status, `${label} as ${actor.label} of another tenant: ${r.text}`).toBe(404);
      }
    }
    for (const route of writes) {
      const r = await t.viewer.request(route.method, route.url, route.body);
      expect(r.status, `${route.method} ${route.url} as a viewer: ${r.text}`).toBe(403);
    }
    const still = await t.admin.request('GET', `/v1/organizations/${org.id}`);
    expectStatus(still, 200);
    expect(still.body.name).toBe(org.name);
  });

  it('hostile values get a 4xx naming the field, never a 500', async () => {
    const { org } = await seedOrganization(h, t.id);
    const base = `/v1/organizations/${org.id}`;
    const many = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
    const ous = many(10_000, (i) => `ou-abcd-${String(i).padStart(8, '0')}`);
    // 10,000 accounts is the contract's limit (accepted); one more is refused.
    const accounts = many(10_001, (i) => String(100000000000 + i));
    const cases: { method: string; url: string; body?: unknown; field?: string }[] = [
      {
        method: 'PATCH',
        url: base,
        body: { rules: { include: { organizationalUnits: ous } } },
        field: 'rules.include.organizationalUnits',
      },
      {
        method: 'PATCH',
        url: base,
        body: { rules: { exclude: { accounts } } },
        field: 'rules.exclude.accounts',
      },
      {
        method: 'POST',
        url: `${base}/rules/preview`,
        body: { rules: { include: { organizationalUnits: ous } } },
        field: 'rules.include.organizationalUnits',
      },
      {
        method: 'POST',
        url: '/v1/organizations',
        body: { name: 'x', partition: 'aws', rules: { exclude: { accounts } } },
        field: 'rules.exclude.accounts',
      },
      {
        method: 'PATCH',
        url: base,
        body: { rules: { include: { organizationalUnits: ['ou-../../etc/passwd'] } } },
        field: 'rules.include.organizationalUnits[0]',
      },
      { method: 'PATCH', url: base, body: { name: 'a\u001b[31mred\u0007' }, field: 'name' },
      { method: 'PATCH', url: base, body: { name: 'x'.repeat(300_000) } },
      {
        method: 'POST',
        url: `${base}/management-role`,
        body: { roleArn: `arn:aws:iam::123456789012:role/../../${'x'.repeat(3000)}` },
        field: 'roleArn',
      },
      {
        method: 'POST',
        url: `${base}/management-role`,
        body: { roleArn: 'arn:aws:iam::123456789012:role/\u0000' },
        field: 'roleArn',
      },
      { method: 'POST', url: `${base}/members/..%2F..%2Fsecrets/retry` },
      { method: 'POST', url: `${base}/members/123456789012%00/retry` },
      { method: 'GET', url: `${base}/members?unit=..%2F..%2F&state=bogus` },
      { method: 'GET', url: `${base}/members?unit=ou-abcd-12345678&limit=100000` },
      { method: 'GET', url: `/v1/organizations/..%2F..%2Fx` },
      { method: 'GET', url: `/v1/organizations/${'%00'.repeat(200)}/tree` },
    ];
    for (const c of cases) {
      const r = await t.admin.request(c.method, c.url, c.body);
      const label = `${c.method} ${c.url.slice(0, 80)} ${JSON.stringify(c.body)?.slice(0, 80)}: ${r.text.slice(0, 400)}`;
      expect(r.status, label).toBeGreaterThanOrEqual(400);
      expect(r.status, label).toBeLessThan(500);
      if (c.field) {
        const fields = ((r.body?.errors ?? []) as { field: string }[]).map((e) => e.field);
        expect(fields, label).toContain(c.field);
      }
    }
    const stored = await repo().find(t.id, org.id);
    expect(stored?.name).toBe(org.name);
    expect(stored?.rules).toEqual(org.rules);
  });

  it('100 creates at once under a cap of 5 make exactly 5', async () => {
    const capped = await h.tenant(undefined, { maxOrganizations: 5 });
    const responses = await Promise.all(
      many100((i) =>
        capped.admin.request('POST', '/v1/organizations', { name: `Race ${i}`, partition: 'aws' }),
      ),
    );
    const created = responses.filter((r) => r.status === 201);
    expect(
      responses.filter((r) => r.status !== 201 && r.status !== 422).map((r) => r.text),
    ).toEqual([]);
    expect(created).toHaveLength(5);
    const list = await capped.admin.request('GET', '/v1/organizations?limit=100');
    expect(list.body.organizations).toHaveLength(5);
  });

  it('discovery asked 100 times at once runs once; a retry asked twice at once is one retry', async () => {
    const w = await world(2);
    await connectManagement(w);
    await h.services.organizationDiscovery.runOnce('replica-a');
    const asked = await Promise.all(
      many100(() => t.admin.request('POST', `/v1/organizations/${w.org.id}/discover`)),
    );
    expect(asked.filter((r) => r.status !== 202).map((r) => r.text)).toEqual([]);
    const before = h.aws.calls.filter((c) => c.op === 'describeOrganization').length;
    const runs = await Promise.all([
      h.services.organizationDiscovery.runOnce('replica-a'),
      h.services.organizationDiscovery.runOnce('replica-b'),
      h.services.organizationDiscovery.runOnce('replica-c'),
    ]);
    expect(runs.reduce((x, y) => x + y, 0)).toBe(1);
    expect(h.aws.calls.filter((c) => c.op === 'describeOrganization').length - before).toBe(1);

    // A failed member, retried twice at once.
    const failedId = w.accounts[0] as string;
    const role = roleArnOf('aws', failedId, MEMBER_ROLE);
    await h.database.db
      .updateTable('organization_members')
      .set({ state: 'failed', role_arn: role, reason_code: 'x', reason_message: 'x' })
      .where('organization_id', '=', w.org.id)
      .where('aws_account_id', '=', failedId)
      .execute();
    const retries = await Promise.all(
      [1, 2].map(() =>
        t.admin.request('POST', `/v1/organizations/${w.org.id}/members/${failedId}/retry`),
      ),
    );
    expect(retries.map((r) => r.status).sort(), retries.map((r) => r.text).join('\n')).toEqual([
      202, 409,
    ]);
  });

  /** A world with its management connected and discovered, and member `index`'s role reported. */
  async function reportedMember(index = 0) {
    const w = await world(2);
    await connectManagement(w);
    await h.services.organizationDiscovery.runOnce('replica-a');
    const id = w.accounts[index] as string;
    const role = roleArnOf('aws', id, MEMBER_ROLE);
    h.aws.addRole(role, memberExternalId(w.org.externalIdPrefix, id));
    const reported = await post('member', {
      requestType: 'Create',
      token: w.token,
      roleArn: role,
      stackId: `arn:aws:cloudformation:us-east-1:${id}:stack/m/1`,
    });
    expectStatus(reported, 202);
    return { ...w, memberId: id, role };
  }
  const accountsWithRole = (roleArn: string) =>
    h.database.db.selectFrom('accounts').selectAll().where('role_arn', '=', roleArn).execute();

  it('an organization deleted while the worker holds a claim leaves no account or connection behind', async () => {
    for (const when of ['before', 'after'] as const) {
      const w = await reportedMember();
      // Only this member is due (the management account's enrollment is not this test's).
      await h.database.db
        .updateTable('organization_members')
        .set({ enroll_due_at: new Date(Date.now() + 3_600_000).toISOString() })
        .where('state', '=', 'enrolling')
        .where('aws_account_id', '!=', w.memberId)
        .execute();
      const deleteOrg = async () =>
        expectStatus(await t.admin.request('DELETE', `/v1/organizations/${w.org.id}`), 204);
      const worker = createOrganizationEnrollment({
        ...h.deps,
        audit: h.services.audit,
        events: h.services.webhooks,
        accounts: {
          create: async (...args: Parameters<typeof h.services.accounts.create>) => {
            if (when === 'before') await deleteOrg();
            const made = await h.services.accounts.create(...args);
            if (when === 'after') await deleteOrg();
            return made;
          },
          remove: (...args: Parameters<typeof h.services.accounts.remove>) =>
            h.services.accounts.remove(...args),
          setPaused: h.services.accounts.setPaused,
        },
      });
      await worker.runOnce('replica-a');
      expect(await accountsWithRole(w.role), `deleted ${when} the account was made`).toEqual([]);
      const connections = await h.database.db
        .selectFrom('connections')
        .select(['id', 'organization_id'])
        .where('organization_id', '=', w.org.id)
        .execute();
      expect(connections, `deleted ${when}`).toEqual([]);
      expect(await members(w.org.id)).toEqual([]);
    }
  });

  it('two organizations of a tenant cannot both have the same role: the second is refused, the first keeps its account', async () => {
    const a = await reportedMember();
    await h.services.organizationEnrollment.runOnce('replica-a');
    const [connected] = await accountsWithRole(a.role);
    expect(connected?.organization_id).toBe(a.org.id);
    // A second Onramp organization of the same tenant over the same AWS organization.
    const { org: second, token } = await seedOrganization(h, t.id);
    const secondManagement = roleArnOf('aws', a.management, 'OnrampSecondOrganization');
    h.aws.addRole(secondManagement, memberExternalId(second.externalIdPrefix, a.management));
    await h.database.db
      .updateTable('organizations')
      .set({ management_account_id: a.management, management_role_arn: secondManagement })
      .where('id', '=', second.id)
      .execute();
    // The same role (same name, same account) reported with the second organization's token.
    expectStatus(
      await post('member', { requestType: 'Create', token, roleArn: a.role, stackId: '' }),
      202,
    );
    await h.services.organizationEnrollment.runOnce('replica-a');
    const [after] = await accountsWithRole(a.role);
    expect(after?.id).toBe(connected?.id);
    expect(after?.organization_id, 'the account moved to the second organization').toBe(a.org.id);
    const [theirs] = await members(second.id);
    expect(theirs?.state).toBe('failed');
    expect(theirs?.account_id).toBeNull();
    expect(theirs?.reason_code).toBe('already_connected');
    const [ours] = (await members(a.org.id)).filter((m) => m.aws_account_id === a.memberId);
    expect(ours).toMatchObject({ state: 'connected', account_id: connected?.id });
  });

  it('a member account cannot be deleted alone; re-reported, it stays connected to the same account', async () => {
    const w = await reportedMember();
    await h.services.organizationEnrollment.runOnce('replica-a');
    const [account] = await accountsWithRole(w.role);
    const removed = await t.admin.request('DELETE', `/v1/accounts/${account?.id}`);
    expect(removed.status, removed.text).toBe(409);
    expectStatus(
      await post('member', { requestType: 'Update', token: w.token, roleArn: w.role, stackId: '' }),
      202,
    );
    await h.services.organizationEnrollment.runOnce('replica-a');
    expect((await accountsWithRole(w.role)).map((x) => x.id)).toEqual([account?.id]);
    const [m] = (await members(w.org.id)).filter((x) => x.aws_account_id === w.memberId);
    expect(m).toMatchObject({ state: 'connected', account_id: account?.id });
  });

  it('100 rule changes at once while the worker enrolls: every member ends as the stored rules say', async () => {
    const w = await world(8);
    await connectManagement(w);
    await h.services.organizationDiscovery.runOnce('replica-a');
    const unit = [...w.fake.units.keys()][0] as string;
    for (const id of w.accounts) {
      const role = roleArnOf('aws', id, MEMBER_ROLE);
      h.aws.addRole(role, memberExternalId(w.org.externalIdPrefix, id));
      expectStatus(
        await post('member', { requestType: 'Create', token: w.token, roleArn: role }),
        202,
      );
    }
    const url = `/v1/organizations/${w.org.id}`;
    const [patches] = await Promise.all([
      Promise.all(
        many100((i) =>
          t.admin.request('PATCH', url, {
            rules:
              i % 2 === 0
                ? { exclude: { organizationalUnits: [unit] } }
                : { exclude: { accounts: [w.accounts[i % w.accounts.length] as string] } },
          }),
        ),
      ),
      h.services.organizationEnrollment.runOnce('replica-a'),
      h.services.organizationEnrollment.runOnce('replica-b'),
    ]);
    expect(patches.filter((r) => r.status >= 500).map((r) => r.text)).toEqual([]);
    for (let pass = 0; pass < 5; pass++)
      await h.services.organizationEnrollment.runOnce('replica-a');
    const stored = await t.admin.request('GET', url);
    const excludedUnit = (stored.body.rules.exclude.organizationalUnits as string[]).includes(unit);
    const excludedAccounts = stored.body.rules.exclude.accounts as string[];
    const rows = await members(w.org.id);
    for (const id of w.accounts) {
      const m = rows.find((r) => r.aws_account_id === id);
      const excluded = excludedUnit || excludedAccounts.includes(id);
      expect(m?.state, `${id} ${JSON.stringify(m)}`).toBe(excluded ? 'excluded' : 'connected');
      if (m?.account_id) {
        const account = await h.database.db
          .selectFrom('accounts')
          .select(['paused_reason', 'organization_id'])
          .where('id', '=', m.account_id)
          .executeTakeFirstOrThrow();
        expect(account, id).toEqual({
          paused_reason: excluded ? 'organization_excluded' : null,
          organization_id: w.org.id,
        });
      }
    }
    // Re-admitted afterwards: the excluded members connect (or resume) again.
    expectStatus(await t.admin.request('PATCH', url, { rules: { exclude: {} } }), 200);
    for (let pass = 0; pass < 5; pass++)
      await h.services.organizationEnrollment.runOnce('replica-a');
    for (const m of (await members(w.org.id)).filter((r) => w.accounts.includes(r.aws_account_id)))
      expect(m.state, JSON.stringify(m)).toBe('connected');
  });

  it('an account that leaves the organization while it is being connected keeps its account, paused', async () => {
    const w = await reportedMember();
    await h.database.db
      .updateTable('organization_members')
      .set({ enroll_due_at: new Date(Date.now() + 3_600_000).toISOString() })
      .where('state', '=', 'enrolling')
      .where('aws_account_id', '!=', w.memberId)
      .execute();
    const worker = createOrganizationEnrollment({
      ...h.deps,
      audit: h.services.audit,
      events: h.services.webhooks,
      accounts: {
        create: async (...args: Parameters<typeof h.services.accounts.create>) => {
          // It leaves, and a discovery sees it gone while AWS validates its role.
          w.fake.accounts.delete(w.memberId);
          await h.database.db
            .updateTable('organizations')
            .set({ discovery_due_at: new Date(0).toISOString() })
            .where('id', '=', w.org.id)
            .execute();
          await h.services.organizationDiscovery.runOnce('replica-b');
          return h.services.accounts.create(...args);
        },
        remove: (...args: Parameters<typeof h.services.accounts.remove>) =>
          h.services.accounts.remove(...args),
        setPaused: h.services.accounts.setPaused,
      },
    });
    await worker.runOnce('replica-a');
    const [m] = (await members(w.org.id)).filter((x) => x.aws_account_id === w.memberId);
    expect(m?.state, JSON.stringify(m)).toBe('left');
    const accounts = await accountsWithRole(w.role);
    expect(accounts).toHaveLength(1);
    expect(accounts[0]).toMatchObject({
      id: m?.account_id,
      organization_id: w.org.id,
      paused_reason: 'organization_left',
    });
    const scheduled = await h.database.db
      .selectFrom('health_schedule')
      .select('account_id')
      .where('account_id', '=', accounts[0]?.id as string)
      .execute();
    expect(scheduled, 'a left account is not checked').toEqual([]);
  });
});
