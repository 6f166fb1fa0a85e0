import { memberExternalId } from '@onramp/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../adapters/crypto/secrets.ts';
import { createHealthScheduler } from '../../jobs/health-scheduler.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
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
import { createOrganizationCallbacks } from './organization-callbacks.ts';
import { createOrganizationEnrollment } from './organization-enrollment.ts';
import { createOrganizationsRepository } from './organizations-repository.ts';

let sequence = 0;
const awsAccount = () => String(500000000000 + ++sequence * 13 + Math.floor(Math.random() * 13));
const newAddress = () => `203.0.113.${(++sequence % 250) + 1}`;
const DAY = 86_400_000;

async function post(
  h: Harness,
  kind: string,
  body: Record<string, unknown>,
  address = newAddress(),
): Promise<TestResponse> {
  const response = await h.app.inject({
    method: 'POST',
    url: `/v1/callbacks/organizations/${kind}`,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(body),
    remoteAddress: address,
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    text: response.body,
    body: response.body ? JSON.parse(response.body) : response.body,
  };
}

describe.each(TEST_DIALECTS)('organization call-backs on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let offsetMs = 0;

  const count = async (
    table: 'organization_members' | 'connections' | 'accounts',
    tenantId: string,
  ) =>
    Number(
      (
        await h.database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .where('tenant_id', '=', tenantId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const member = (organizationId: string, awsAccountId: string) =>
    h.database.db
      .selectFrom('organization_members')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('aws_account_id', '=', awsAccountId)
      .executeTakeFirst();
  const refusals = async (tenantId: string | null) =>
    (
      await h.database.db
        .selectFrom('audit_log')
        .select(['action', 'details'])
        .where('action', '=', 'organization.callback_refused')
        .where('tenant_id', tenantId === null ? 'is' : '=', tenantId)
        .execute()
    ).length;

  /** An organization in the fake AWS with its management role deployed and reported. */
  async function managedOrganization(tenant: TestTenant, extra: string[] = []) {
    const management = awsAccount();
    const { org, token } = await seedOrganization(h, tenant.id);
    const fakeOrg = h.aws.addOrganization(management);
    for (const id of extra)
      fakeOrg.accounts.set(id, {
        name: `acct ${id}`,
        email: `${id}@example.com`,
        status: 'ACTIVE',
        parentId: fakeOrg.rootId,
      });
    const managementRole = roleArnOf('aws', management, MANAGEMENT_ROLE);
    h.aws.addRole(managementRole, memberExternalId(org.externalIdPrefix, management));
    const reported = await post(h, 'management', {
      requestType: 'Create',
      token,
      roleArn: managementRole,
      stackId: 'arn:aws:cloudformation:us-east-1:1:stack/mgmt/1',
    });
    expectStatus(reported, 202);
    return { org, token, management, fakeOrg };
  }

  /** A member's role as the StackSet creates it: trusting the hub with its own external ID. */
  function deployMemberRole(prefix: string, accountId: string) {
    const arn = roleArnOf('aws', accountId, MEMBER_ROLE);
    h.aws.addRole(arn, memberExternalId(prefix, accountId));
    return arn;
  }

  beforeAll(async () => {
    h = await createHarness(dialect, { clock: () => new Date(Date.now() + offsetMs) });
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses a forged token with 404 and records nothing but the refusal', async () => {
    const { org } = await seedOrganization(h, a.id);
    const before = await refusals(null);
    const response = await post(h, 'member', {
      requestType: 'Create',
      token: 'onrorg_forged',
      roleArn: roleArnOf('aws', awsAccount(), MEMBER_ROLE),
    });
    expectProblem(response, 404);
    expect(response.text).not.toContain('onrorg_forged');
    expect(await member(org.id, '000000000000')).toBeUndefined();
    expect(await count('organization_members', a.id)).toBe(0);
    expect(await refusals(null)).toBe(before + 1);
  });

  it('refuses a role of another name, another partition, or a management account mismatch', async () => {
    const managementAccountId = awsAccount();
    const { org, token } = await seedOrganization(h, a.id, { managementAccountId });
    const before = await count('organization_members', a.id);
    const cases = [
      { kind: 'member', roleArn: roleArnOf('aws', awsAccount(), 'SomeOtherRole') },
      { kind: 'member', roleArn: roleArnOf('aws-us-gov', awsAccount(), MEMBER_ROLE) },
      { kind: 'member', roleArn: 'arn:aws:iam::123456789012:user/OnrampMemberRole-test' },
      { kind: 'management', roleArn: roleArnOf('aws', awsAccount(), MANAGEMENT_ROLE) },
      { kind: 'management', roleArn: roleArnOf('aws', managementAccountId, MEMBER_ROLE) },
    ];
    for (const c of cases) {
      const response = await post(h, c.kind, { requestType: 'Create', token, roleArn: c.roleArn });
      expectProblem(response, 404);
    }
    expect(await count('organization_members', a.id)).toBe(before);
    const stored = await createOrganizationsRepository(h.database.db, h.deps.clock).find(
      a.id,
      org.id,
    );
    expect(stored?.managementRoleArn).toBeNull();
    expect(await refusals(a.id)).toBeGreaterThanOrEqual(cases.length);
  });

  it('limits refusals per address: 429 past the limit, not audited', async () => {
    const address = newAddress();
    let last: TestResponse | undefined;
    for (let i = 0; i < 12; i++)
      last = await post(
        h,
        'member',
        {
          requestType: 'Create',
          token: 'onrorg_nope',
          roleArn: roleArnOf('aws', awsAccount(), MEMBER_ROLE),
        },
        address,
      );
    expectProblem(last as TestResponse, 429);
  });

  it('accepts the previous token in its grace period, and refuses it after', async () => {
    const { org, token } = await seedOrganization(h, a.id);
    const repo = createOrganizationsRepository(h.database.db, h.deps.clock);
    const next = `onrorg_${'n'.repeat(43)}${sequence}`;
    expect(
      await repo.rotateToken(a.id, org.id, {
        from: hashToken(token),
        tokenHash: hashToken(next),
        sealed: h.deps.envelope.seal(next, {
          tenantId: a.id,
          ownerId: org.id,
          field: 'enrollment_token',
        }),
        previousUntil: new Date(Date.now() + offsetMs + 7 * DAY).toISOString(),
      }),
    ).toBe(true);
    const accountId = awsAccount();
    const roleArn = roleArnOf('aws', accountId, MEMBER_ROLE);
    expectStatus(await post(h, 'member', { requestType: 'Create', token, roleArn }), 202);
    expectStatus(
      await post(h, 'member', {
        requestType: 'Create',
        token: next,
        roleArn: roleArnOf('aws', awsAccount(), MEMBER_ROLE),
      }),
      202,
    );
    offsetMs += 8 * DAY;
    try {
      const late = await post(h, 'member', {
        requestType: 'Create',
        token,
        roleArn: roleArnOf('aws', awsAccount(), MEMBER_ROLE),
      });
      expectProblem(late, 404);
      expectStatus(await post(h, 'member', { requestType: 'Create', token: next, roleArn }), 202);
    } finally {
      offsetMs -= 8 * DAY;
    }
    expect((await member(org.id, accountId))?.state).toBe('enrolling');
  });

  it('records 100 members reporting at once, none lost or doubled', async () => {
    const { org, token } = await seedOrganization(h, b.id);
    const ids = Array.from({ length: 100 }, () => awsAccount());
    // One address for all: AWS's Lambda addresses are shared; accepted call-backs are not limited per address.
    const address = newAddress();
    const responses = await Promise.all(
      ids.map((id) =>
        post(
          h,
          'member',
          { requestType: 'Create', token, roleArn: roleArnOf('aws', id, MEMBER_ROLE) },
          address,
        ),
      ),
    );
    for (const r of responses) {
      expectStatus(r, 202);
      expect(r.body).toEqual({ state: 'enrolling', accountId: null });
    }
    const rows = await h.database.db
      .selectFrom('organization_members')
      .select('aws_account_id')
      .where('organization_id', '=', org.id)
      .execute();
    expect(rows.map((r) => r.aws_account_id).sort()).toEqual([...ids].sort());
  });

  it('limits accepted call-backs per organization, not per address', async () => {
    const { token } = await seedOrganization(h, a.id);
    const limited = createOrganizationCallbacks({
      ...h.deps,
      audit: h.services.audit,
      accounts: h.services.accounts,
      callbacksPerMinute: 3,
    });
    const report = (address: string) =>
      limited.handle({ requestId: 'r', sourceIp: address }, 'member', {
        requestType: 'Create',
        token,
        roleArn: roleArnOf('aws', awsAccount(), MEMBER_ROLE),
        stackId: '',
      });
    for (let i = 0; i < 3; i++) await report(newAddress());
    await expect(report(newAddress())).rejects.toMatchObject({ code: 'rate_limited' });
    // Another organization is not affected.
    const other = await seedOrganization(h, a.id);
    await expect(
      limited.handle({ requestId: 'r', sourceIp: newAddress() }, 'member', {
        requestType: 'Create',
        token: other.token,
        roleArn: roleArnOf('aws', awsAccount(), MEMBER_ROLE),
        stackId: '',
      }),
    ).resolves.toMatchObject({ state: 'enrolling' });
  });

  it('enrolls 100 reports of the same account as one member, one connection, one account', async () => {
    const tenant = await h.tenant();
    const accountId = awsAccount();
    const { org, token } = await managedOrganization(tenant, [accountId]);
    const roleArn = deployMemberRole(org.externalIdPrefix, accountId);
    const responses = await Promise.all(
      Array.from({ length: 100 }, () =>
        post(h, 'member', { requestType: 'Create', token, roleArn }),
      ),
    );
    for (const r of responses) expectStatus(r, 202);
    // Two workers (replicas) at once.
    await Promise.all([
      h.services.organizationEnrollment.runOnce('replica-a'),
      h.services.organizationEnrollment.runOnce('replica-b'),
    ]);
    const row = await member(org.id, accountId);
    expect(row?.state, JSON.stringify(row)).toBe('connected');
    // The management account is a member too (connected through its own role).
    expect(await count('organization_members', tenant.id)).toBe(2);
    expect(await count('connections', tenant.id)).toBe(2);
    expect(await count('accounts', tenant.id)).toBe(2);
    const account = await h.database.db
      .selectFrom('accounts')
      .selectAll()
      .where('id', '=', row?.account_id as string)
      .executeTakeFirstOrThrow();
    expect(account.organization_id).toBe(org.id);
    expect(account.external_id).toBe(memberExternalId(org.externalIdPrefix, accountId));
    expect(account.status).toBe('valid');
    // A retried Create of the same role answers connected.
    const again = await post(h, 'member', { requestType: 'Create', token, roleArn });
    expect(again.body).toEqual({ state: 'connected', accountId: row?.account_id });
  });

  it("refuses a member reported with another organization's token: not a member, nothing kept", async () => {
    const outsider = awsAccount();
    const mine = await managedOrganization(a);
    // `outsider` is in tenant b's organization, not in a's.
    await managedOrganization(b, [outsider]);
    // The management accounts connect first.
    await h.services.organizationEnrollment.runOnce('replica-a');
    const roleArn = deployMemberRole(mine.org.externalIdPrefix, outsider);
    const accepted = await post(h, 'member', { requestType: 'Create', token: mine.token, roleArn });
    expectStatus(accepted, 202);
    const accountsBefore = await count('accounts', a.id);
    await h.services.organizationEnrollment.runOnce('replica-a');
    expect(await member(mine.org.id, outsider)).toBeUndefined();
    expect(await count('accounts', a.id)).toBe(accountsBefore);
    const refused = await h.database.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'organization.enrollment_refused')
      .where('target_id', '=', mine.org.id)
      .execute();
    expect(refused).toHaveLength(1);
  });

  it('a deleted stack fails its member and makes its account invalid; it is not checked while paused', async () => {
    const tenant = await h.tenant();
    const accountId = awsAccount();
    const { org, token } = await managedOrganization(tenant, [accountId]);
    const roleArn = deployMemberRole(org.externalIdPrefix, accountId);
    expectStatus(await post(h, 'member', { requestType: 'Create', token, roleArn }), 202);
    await h.services.organizationEnrollment.runOnce('replica-a');
    const connected = await member(org.id, accountId);
    expect(connected?.state).toBe('connected');
    const deleted = await post(h, 'member', { requestType: 'Delete', token, roleArn });
    expectStatus(deleted, 202);
    expect(deleted.body.state).toBe('failed');
    const row = await member(org.id, accountId);
    expect(row?.reason_code).toBe('stack_deleted');
    const account = await h.database.db
      .selectFrom('accounts')
      .select(['status'])
      .where('id', '=', connected?.account_id as string)
      .executeTakeFirstOrThrow();
    expect(account.status).toBe('invalid');
    // Retried by the tenant: enrolling again, and connected again by the worker.
    const retried = await tenant.admin.request(
      'POST',
      `/v1/organizations/${org.id}/members/${accountId}/retry`,
    );
    expectStatus(retried, 202);
    expect(retried.body.state).toBe('enrolling');
    // Another tenant sees nothing of it; a viewer may not.
    expectProblem(
      await a.admin.request('POST', `/v1/organizations/${org.id}/members/${accountId}/retry`),
      404,
    );
    expectProblem(
      await tenant.viewer.request('POST', `/v1/organizations/${org.id}/members/${accountId}/retry`),
      403,
    );
    // Not failed any more: a second retry is a conflict.
    expectProblem(
      await tenant.admin.request('POST', `/v1/organizations/${org.id}/members/${accountId}/retry`),
      409,
    );
  });

  it('verifies a connected member on Update at most once a minute', async () => {
    const tenant = await h.tenant();
    const accountId = awsAccount();
    const { org, token } = await managedOrganization(tenant, [accountId]);
    const roleArn = deployMemberRole(org.externalIdPrefix, accountId);
    expectStatus(await post(h, 'member', { requestType: 'Create', token, roleArn }), 202);
    await h.services.organizationEnrollment.runOnce('replica-a');
    const callsTo = () => h.aws.calls.filter((c) => c.target === roleArn).length;
    const before = callsTo();
    expectStatus(await post(h, 'member', { requestType: 'Update', token, roleArn }), 202);
    const afterFirst = callsTo();
    expect(afterFirst).toBeGreaterThan(before);
    expectStatus(await post(h, 'member', { requestType: 'Update', token, roleArn }), 202);
    expect(callsTo()).toBe(afterFirst);
    offsetMs += 61_000;
    try {
      expectStatus(await post(h, 'member', { requestType: 'Update', token, roleArn }), 202);
      expect(callsTo()).toBeGreaterThan(afterFirst);
    } finally {
      offsetMs -= 61_000;
    }
  });

  it('takes over an enrollment a dead replica claimed once its claim expires', async () => {
    const tenant = await h.tenant();
    const accountId = awsAccount();
    const { org, token } = await managedOrganization(tenant, [accountId]);
    const roleArn = deployMemberRole(org.externalIdPrefix, accountId);
    expectStatus(await post(h, 'member', { requestType: 'Create', token, roleArn }), 202);
    const repo = h.services.organizationDiscovery.repository;
    // The dead replica claims everything due and never finishes.
    const claimed = await repo.claimEnrollments(
      'dead-replica',
      new Date(Date.now() + offsetMs + 60_000).toISOString(),
      100,
    );
    expect(claimed.map((c) => c.aws_account_id)).toContain(accountId);
    expect(await h.services.organizationEnrollment.runOnce('live-replica')).toBe(0);
    offsetMs += 61_000;
    try {
      await h.services.organizationEnrollment.runOnce('live-replica');
    } finally {
      offsetMs -= 61_000;
    }
    expect((await member(org.id, accountId))?.state).toBe('connected');
  });

  it('a member excluded while its account was being connected keeps the account, paused', async () => {
    const tenant = await h.tenant();
    const accountId = awsAccount();
    const { org, token } = await managedOrganization(tenant, [accountId]);
    await h.services.organizationEnrollment.runOnce('replica-a');
    const roleArn = deployMemberRole(org.externalIdPrefix, accountId);
    expectStatus(await post(h, 'member', { requestType: 'Create', token, roleArn }), 202);
    const racing = createOrganizationEnrollment({
      ...h.deps,
      audit: h.services.audit,
      accounts: {
        // The tenant's new rules exclude it while AWS validates the role.
        create: async (...args: Parameters<typeof h.services.accounts.create>) => {
          await h.database.db
            .updateTable('organization_members')
            .set({ state: 'excluded', enroll_due_at: null })
            .where('organization_id', '=', org.id)
            .where('aws_account_id', '=', accountId)
            .execute();
          return h.services.accounts.create(...args);
        },
      },
    });
    await racing.runOnce('replica-a');
    const row = await member(org.id, accountId);
    expect(row?.state).toBe('excluded');
    expect(row?.account_id).toBeTruthy();
    const account = await h.database.db
      .selectFrom('accounts')
      .select(['paused_reason', 'organization_id'])
      .where('id', '=', row?.account_id as string)
      .executeTakeFirstOrThrow();
    expect(account).toEqual({ paused_reason: 'organization_excluded', organization_id: org.id });
  });

  it('a degraded member role is connected degraded with the missing actions', async () => {
    const tenant = await h.tenant();
    const accountId = awsAccount();
    const { org, token } = await managedOrganization(tenant, [accountId]);
    const roleArn = deployMemberRole(org.externalIdPrefix, accountId);
    h.aws.setPermissions(roleArn, { allows: ['sts:GetCallerIdentity'] });
    expectStatus(await post(h, 'member', { requestType: 'Create', token, roleArn }), 202);
    await h.services.organizationEnrollment.runOnce('replica-a');
    const row = await member(org.id, accountId);
    expect(row?.state).toBe('connected');
    const account = await h.database.db
      .selectFrom('accounts')
      .select(['status', 'status_detail'])
      .where('id', '=', row?.account_id as string)
      .executeTakeFirstOrThrow();
    expect(account.status).toBe('degraded');
    expect(account.status_detail).toContain('missing');
  });

  it('pasting the management role validates it with DescribeOrganization', async () => {
    const tenant = await h.tenant();
    const management = awsAccount();
    const { org } = await seedOrganization(h, tenant.id);
    h.aws.addOrganization(management);
    const memberOnly = awsAccount();
    h.aws.addOrganization(awsAccount()).accounts.set(memberOnly, {
      name: 'm',
      email: 'm@example.com',
      status: 'ACTIVE',
      parentId: 'r-0000',
    });
    const wrongRole = roleArnOf('aws', memberOnly, MANAGEMENT_ROLE);
    h.aws.addRole(wrongRole, memberExternalId(org.externalIdPrefix, memberOnly));
    const refused = await tenant.admin.request(
      'POST',
      `/v1/organizations/${org.id}/management-role`,
      {
        roleArn: wrongRole,
      },
    );
    expectProblem(refused, 422, 'roleArn');
    const roleArn = roleArnOf('aws', management, MANAGEMENT_ROLE);
    h.aws.addRole(roleArn, memberExternalId(org.externalIdPrefix, management));
    expectProblem(
      await b.admin.request('POST', `/v1/organizations/${org.id}/management-role`, { roleArn }),
      404,
    );
    const pasted = await tenant.admin.request(
      'POST',
      `/v1/organizations/${org.id}/management-role`,
      {
        roleArn,
      },
    );
    expectStatus(pasted, 200);
    expect(pasted.body.managementAccountId).toBe(management);
    expect(pasted.body.counts.enrolling).toBe(1);
    const discover = await tenant.admin.request('POST', `/v1/organizations/${org.id}/discover`);
    expectStatus(discover, 202);
    await h.services.organizationDiscovery.runOnce('replica-a');
    const stored = await createOrganizationsRepository(h.database.db, h.deps.clock).find(
      tenant.id,
      org.id,
    );
    expect(stored?.status).toBe('active');
    expect(stored?.lastDiscovery?.accounts).toBe(1);
  });

  it('does not schedule health checks of paused accounts', async () => {
    const tenant = await h.tenant();
    const accountId = awsAccount();
    const { org, token, fakeOrg } = await managedOrganization(tenant, [accountId]);
    const roleArn = deployMemberRole(org.externalIdPrefix, accountId);
    expectStatus(await post(h, 'member', { requestType: 'Create', token, roleArn }), 202);
    await h.services.organizationEnrollment.runOnce('replica-a');
    const row = await member(org.id, accountId);
    const scheduler = createHealthScheduler(h.services, { owner: 'scheduler' });
    await scheduler.scheduleNewAccounts();
    fakeOrg.accounts.delete(accountId);
    await h.services.organizationDiscovery.runOnce('replica-a');
    expect((await member(org.id, accountId))?.state).toBe('left');
    await scheduler.scheduleNewAccounts();
    const scheduled = await h.database.db
      .selectFrom('health_schedule')
      .select('account_id')
      .where('account_id', '=', row?.account_id as string)
      .execute();
    expect(scheduled).toHaveLength(0);
  });
});
