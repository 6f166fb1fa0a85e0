import { memberExternalId, type OrganizationRules } from '@onramp/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import type { FakeOrganization } from '../../testing/fake-aws.ts';
import { createHarness, type Harness, type TestTenant } from '../../testing/harness.ts';
import {
  MANAGEMENT_ROLE,
  MEMBER_ROLE,
  roleArnOf,
  seedOrganization,
} from '../../testing/organization-seed.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../testing/webhook-receiver.ts';
import { createOrganizationDiscovery } from './organization-discovery.ts';
import { createOrganizationsRepository } from './organizations-repository.ts';

let sequence = 0;
const awsAccount = () => String(600000000000 + ++sequence * 11 + Math.floor(Math.random() * 11));
const unitId = (rootId: string) => `ou-${rootId.slice(2)}-${String(++sequence).padStart(8, '0')}`;

describe.each(TEST_DIALECTS)('organization discovery on %s', (dialect) => {
  let h: Harness;
  let t: TestTenant;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    // The receiver listens on 127.0.0.1.
    h = await createHarness(dialect, { webhookSettings: { allowPrivate: true } });
    t = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  const members = (organizationId: string) =>
    h.database.db
      .selectFrom('organization_members')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .orderBy('aws_account_id')
      .execute();
  /**
   * A fake organization: root → Prod (→ Prod/Web), Sandbox; `perUnit` accounts in each; the
   * Onramp organization with its management role recorded and discovery due.
   */
  async function world(perUnit: number, rules?: OrganizationRules, tenant = t) {
    const management = awsAccount();
    const fake = h.aws.addOrganization(management);
    const prod = unitId(fake.rootId);
    const web = unitId(fake.rootId);
    const sandbox = unitId(fake.rootId);
    fake.units.set(prod, { name: 'Prod', parentId: fake.rootId });
    fake.units.set(web, { name: 'Web', parentId: prod });
    fake.units.set(sandbox, { name: 'Sandbox', parentId: fake.rootId });
    const byUnit: Record<string, string[]> = { prod: [], web: [], sandbox: [] };
    for (const [key, parentId] of [
      ['prod', prod],
      ['web', web],
      ['sandbox', sandbox],
    ] as const) {
      for (let i = 0; i < perUnit; i++) {
        const id = awsAccount();
        fake.accounts.set(id, {
          name: `${key}-${i}`,
          email: `${id}@example.com`,
          status: 'ACTIVE',
          parentId,
        });
        byUnit[key]?.push(id);
      }
    }
    const resolvedRules = rules;
    const { org, token } = await seedOrganization(
      h,
      tenant.id,
      resolvedRules ? { rules: resolvedRules } : {},
    );
    const roleArn = roleArnOf('aws', management, MANAGEMENT_ROLE);
    h.aws.addRole(roleArn, memberExternalId(org.externalIdPrefix, management));
    await h.services.organizationCallbacks.handle(
      { requestId: 'req_test', sourceIp: '127.0.0.1' },
      'management',
      { requestType: 'Create', token, roleArn, stackId: '' },
    );
    return { org, token, fake, management, units: { prod, web, sandbox }, byUnit };
  }

  it('discovers the OU tree and every account, page by page, through throttling', async () => {
    const { org, fake, units, byUnit } = await world(4);
    h.aws.orgFaults.pageSize = 2;
    h.aws.orgFaults.throttled = 3;
    try {
      expect(await h.services.organizationDiscovery.runOnce('replica-a')).toBe(1);
    } finally {
      h.aws.orgFaults.pageSize = 20;
      h.aws.orgFaults.throttled = 0;
    }
    const stored = await createOrganizationsRepository(h.database.db, h.deps.clock).find(
      t.id,
      org.id,
    );
    expect(stored?.status).toBe('active');
    expect(stored?.rootId).toBe(fake.rootId);
    expect(stored?.awsOrganizationId).toBe(fake.id);
    expect(stored?.lastDiscovery).toMatchObject({ ok: true, accounts: 13, error: null });
    const unitsRows = await h.database.db
      .selectFrom('organization_units')
      .selectAll()
      .where('organization_id', '=', org.id)
      .execute();
    expect(unitsRows).toHaveLength(4);
    expect(JSON.parse(unitsRows.find((u) => u.id === units.web)?.path ?? '[]')).toEqual([
      fake.rootId,
      units.prod,
      units.web,
    ]);
    const rows = await members(org.id);
    expect(rows).toHaveLength(13);
    const webMember = rows.find((m) => m.aws_account_id === byUnit.web?.[0]);
    expect(webMember).toMatchObject({ state: 'discovered', confirmed: 1, parent_id: units.web });
    expect(JSON.parse(webMember?.path ?? '[]')).toEqual([fake.rootId, units.prod, units.web]);
    // The management account reported its role: it is enrolling, not merely discovered.
    expect(rows.find((m) => m.management === 1)?.state).toBe('enrolling');
    // Due again a discovery interval later.
    expect(await h.services.organizationDiscovery.runOnce('replica-a')).toBe(0);
  });

  it('a throttled organization past five attempts is recorded as an error, then recovers', async () => {
    const { org } = await world(1);
    h.aws.orgFaults.throttled = 100;
    try {
      await h.services.organizationDiscovery.runOnce('replica-a');
    } finally {
      h.aws.orgFaults.throttled = 0;
    }
    const repo = createOrganizationsRepository(h.database.db, h.deps.clock);
    const failed = await repo.find(t.id, org.id);
    expect(failed?.status).toBe('error');
    expect(failed?.lastDiscovery?.error).toContain('TooManyRequestsException');
    await h.services.organizationCallbacks.requestDiscovery(
      { tenantId: t.id, actorType: 'system', actorId: null, requestId: 'r', sourceIp: '' },
      org.id,
    );
    await h.services.organizationDiscovery.runOnce('replica-a');
    expect((await repo.find(t.id, org.id))?.status).toBe('active');
  });

  it('applies the rules at discovery: an excluded OU is excluded, the rest discovered', async () => {
    // Rules need the unit IDs first: build the world, then change the rules before discovering.
    const w = await world(2);
    await h.database.db
      .updateTable('organizations')
      .set({
        rules: JSON.stringify({
          include: { organizationalUnits: [w.units.prod], accounts: [] },
          exclude: { organizationalUnits: [w.units.web], accounts: [] },
        }),
      })
      .where('id', '=', w.org.id)
      .execute();
    await h.services.organizationDiscovery.runOnce('replica-a');
    const rows = await members(w.org.id);
    const stateOf = (id: string | undefined) => rows.find((m) => m.aws_account_id === id)?.state;
    for (const id of w.byUnit.prod ?? []) expect(stateOf(id)).toBe('discovered');
    for (const id of w.byUnit.web ?? []) expect(stateOf(id)).toBe('excluded');
    for (const id of w.byUnit.sandbox ?? []) expect(stateOf(id)).toBe('excluded');
    expect(rows.find((m) => m.aws_account_id === w.byUnit.web?.[0])?.reason_message).toContain(
      'excluded',
    );
  });

  it('a removed account and a closed one leave; their accounts are paused; one back is resumed', async () => {
    const w = await world(2);
    const [removed, closed] = w.byUnit.sandbox as [string, string];
    // Both reported and connected first.
    for (const id of [removed, closed]) {
      const roleArn = roleArnOf('aws', id, MEMBER_ROLE);
      h.aws.addRole(roleArn, memberExternalId(w.org.externalIdPrefix, id));
      await h.services.organizationCallbacks.handle(
        { requestId: 'r', sourceIp: '127.0.0.1' },
        'member',
        { requestType: 'Create', token: w.token, roleArn, stackId: '' },
      );
    }
    await h.services.organizationDiscovery.runOnce('replica-a');
    await h.services.organizationEnrollment.runOnce('replica-a');
    const connected = await members(w.org.id);
    const accountOf = (id: string) => connected.find((m) => m.aws_account_id === id)?.account_id;
    expect(accountOf(removed)).toBeTruthy();
    expect(accountOf(closed)).toBeTruthy();

    const saved = w.fake.accounts.get(removed) as FakeOrganization['accounts'] extends Map<
      string,
      infer V
    >
      ? V
      : never;
    w.fake.accounts.delete(removed);
    (w.fake.accounts.get(closed) as { status: string }).status = 'SUSPENDED';
    await h.services.organizationCallbacks.requestDiscovery(
      { tenantId: t.id, actorType: 'system', actorId: null, requestId: 'r', sourceIp: '' },
      w.org.id,
    );
    await h.services.organizationDiscovery.runOnce('replica-a');
    const after = await members(w.org.id);
    for (const id of [removed, closed]) {
      const m = after.find((x) => x.aws_account_id === id);
      expect(m?.state, id).toBe('left');
      const account = await h.database.db
        .selectFrom('accounts')
        .select('paused_reason')
        .where('id', '=', m?.account_id as string)
        .executeTakeFirstOrThrow();
      expect(account.paused_reason).toBe('organization_left');
    }
    const scheduled = await h.services.health.repository.findUnscheduled(10_000);
    expect(scheduled.map((s) => s.id)).not.toContain(accountOf(removed));

    // Back in the organization: connected again and resumed.
    w.fake.accounts.set(removed, saved);
    await h.services.organizationCallbacks.requestDiscovery(
      { tenantId: t.id, actorType: 'system', actorId: null, requestId: 'r', sourceIp: '' },
      w.org.id,
    );
    await h.services.organizationDiscovery.runOnce('replica-a');
    const back = (await members(w.org.id)).find((m) => m.aws_account_id === removed);
    expect(back?.state).toBe('connected');
    const resumed = await h.database.db
      .selectFrom('accounts')
      .select('paused_reason')
      .where('id', '=', back?.account_id as string)
      .executeTakeFirstOrThrow();
    expect(resumed.paused_reason).toBeNull();
  });

  it('announces discovered, connected and left members through the webhook outbox', async () => {
    const tenant = await h.tenant();
    const hook = await tenant.admin.request('POST', '/v1/webhooks', {
      url: receiver.url('/organizations'),
      events: [
        'organization.account_discovered',
        'organization.account_connected',
        'organization.account_failed',
        'organization.account_left',
      ],
    });
    expect(hook.status, hook.text).toBe(201);
    const w = await world(1, undefined, tenant);
    const target = w.byUnit.prod?.[0] as string;
    const roleArn = roleArnOf('aws', target, MEMBER_ROLE);
    h.aws.addRole(roleArn, memberExternalId(w.org.externalIdPrefix, target));
    await h.services.organizationDiscovery.runOnce('replica-a');
    await h.services.organizationCallbacks.handle(
      { requestId: 'r', sourceIp: '127.0.0.1' },
      'member',
      { requestType: 'Create', token: w.token, roleArn, stackId: '' },
    );
    await h.services.organizationEnrollment.runOnce('replica-a');
    w.fake.accounts.delete(target);
    await h.services.organizationCallbacks.requestDiscovery(
      { tenantId: tenant.id, actorType: 'system', actorId: null, requestId: 'r', sourceIp: '' },
      w.org.id,
    );
    await h.services.organizationDiscovery.runOnce('replica-a');
    const deliveries = await h.database.db
      .selectFrom('webhook_deliveries')
      .select(['event_type', 'payload'])
      .where('tenant_id', '=', tenant.id)
      .execute();
    const about = (type: string) =>
      deliveries
        .filter((d) => d.event_type === type)
        .map((d) => JSON.parse(d.payload).data as { awsAccountId: string; state: string });
    // Every account but the management one (it reported its role first: enrolling, not discovered).
    expect(about('organization.account_discovered')).toHaveLength(3);
    expect(about('organization.account_connected').map((e) => e.awsAccountId)).toContain(target);
    expect(about('organization.account_left')).toEqual([
      expect.objectContaining({ awsAccountId: target, state: 'left' }),
    ]);
    for (const d of deliveries) expect(d.payload).not.toContain(w.token);
  });

  it('two replicas discover each organization exactly once', async () => {
    const tenant = await h.tenant();
    const orgs = [
      await world(1, undefined, tenant),
      await world(1, undefined, tenant),
      await world(1, undefined, tenant),
    ];
    const replicaA = createOrganizationDiscovery({ ...h.deps, events: h.services.webhooks });
    const replicaB = createOrganizationDiscovery({ ...h.deps, events: h.services.webhooks });
    const before = h.aws.calls.filter((c) => c.op === 'describeOrganization').length;
    const [a, b] = await Promise.all([
      replicaA.runOnce('replica-a'),
      replicaB.runOnce('replica-b'),
    ]);
    expect(a + b).toBeGreaterThanOrEqual(3);
    const described = h.aws.calls.filter((c) => c.op === 'describeOrganization').length - before;
    // Other tests' organizations are not due; these three are described once each.
    expect(described).toBe(3);
    for (const w of orgs) {
      const stored = await createOrganizationsRepository(h.database.db, h.deps.clock).find(
        tenant.id,
        w.org.id,
      );
      expect(stored?.lastDiscovery?.ok).toBe(true);
    }
  });
});
