import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { hashToken } from '../../adapters/crypto/secrets.ts';
import type { AccountStatus } from '../../domain/account.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import { createFakeTemplateStore } from '../../testing/fake-template-store.ts';
import {
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  HUB_ACCOUNT,
  HUBS,
  type TestTenant,
} from '../../testing/harness.ts';
import { createOrganizationSeeds, type MemberInput } from '../../testing/organization-seed.ts';
import { createAccountsRepository } from '../accounts/accounts-repository.ts';
import { createConnectionsRepository } from '../connections/connections-repository.ts';
import { createOrganizationsRepository } from './organizations-repository.ts';

const ROOT = 'r-ab12';
const OU_PROD = 'ou-ab12-prod0001';
const OU_PROD_EU = 'ou-ab12-prodeu01';
const OU_DEV = 'ou-ab12-dev00001';
const PREFIX = /^onramp-[A-Za-z0-9_-]{32}$/;

/** aws-cn gets a hub here, so what it lacks is service-managed StackSets, not the hub. */
const ALL_HUBS = {
  ...HUBS,
  'aws-cn': { principalArn: `arn:aws-cn:iam::${HUB_ACCOUNT}:role/onramp-hub` },
};

describe.each(TEST_DIALECTS)('organizations on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let n = 0;
  const templates = createFakeTemplateStore();

  beforeAll(async () => {
    h = await createHarness(dialect, {
      hubs: ALL_HUBS,
      publicUrl: 'https://onramp.example.com',
      templates: templates.store,
      templateBuckets: { aws: 'onramp-templates' },
    });
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  const repo = () => createOrganizationsRepository(h.database.db, () => new Date());
  const seeds = () => createOrganizationSeeds(h.database.db);

  async function createOrg(tenant: TestTenant, body: Record<string, unknown> = {}) {
    n += 1;
    const response = await tenant.admin.request('POST', '/v1/organizations', {
      name: `Org ${n}`,
      partition: 'aws',
      ...body,
    });
    expectStatus(response, 201);
    return response.body;
  }

  /** Audit entries of a tenant, as text (to look for what must never be in them). */
  async function auditText(tenantId: string): Promise<string> {
    const rows = await h.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .execute();
    return JSON.stringify(rows);
  }

  /** The tree of the seeded organization: root → Prod → Prod EU, root → Dev. */
  const UNITS = [
    { id: ROOT, name: 'Root', parentId: null, path: [ROOT] },
    { id: OU_PROD, name: 'Prod', parentId: ROOT, path: [ROOT, OU_PROD] },
    { id: OU_PROD_EU, name: 'Prod EU', parentId: OU_PROD, path: [ROOT, OU_PROD, OU_PROD_EU] },
    { id: OU_DEV, name: 'Dev', parentId: ROOT, path: [ROOT, OU_DEV] },
  ];

  /**
   * An organization with 40 members: 10 in each of Prod, Prod EU, Dev and the root. Every fourth
   * member is connected with an account (valid, or degraded every other one), with a member
   * connection and a sealed secret; the rest discovered.
   */
  async function seedOrg(tenant: TestTenant, body: Record<string, unknown> = {}) {
    const org = await createOrg(tenant, body);
    const accounts = createAccountsRepository(h.database.db, () => new Date());
    const connections = createConnectionsRepository(h.database.db, () => new Date());
    await seeds().putUnits(tenant.id, org.id, UNITS);
    const parents = [[ROOT, OU_PROD], [ROOT, OU_PROD, OU_PROD_EU], [ROOT, OU_DEV], [ROOT]];
    const members: MemberInput[] = [];
    const base = 200000000000 + n * 1000;
    for (let i = 0; i < 40; i++) {
      const awsAccountId = String(base + i);
      const path = parents[Math.floor(i / 10)] as string[];
      const member: MemberInput = {
        awsAccountId,
        name: `Member ${i}`,
        email: `member-${i}@example.com`,
        awsStatus: 'ACTIVE',
        parentId: path.at(-1) ?? null,
        path,
        state: 'discovered',
        confirmed: true,
      };
      if (i % 4 === 0) {
        const roleArn = `arn:aws:iam::${awsAccountId}:role/${org.memberRoleName}`;
        const externalId = `${org.externalIdPrefix}-${awsAccountId}`;
        const connection = await connections.create(tenant.id, {
          name: `Member ${i}`,
          description: '',
          partition: 'aws',
          bundles: org.bundles,
          regions: org.regions,
          externalId,
          roleName: org.memberRoleName,
          organizationId: org.id,
        });
        const account = await accounts.create(tenant.id, {
          name: `Member ${i} of ${org.id}`,
          description: '',
          partition: 'aws',
          method: 'role',
          awsAccountId,
          principalArn: roleArn,
          roleArn,
          externalId,
          connectionId: connection.id,
          accessKeyId: null,
          bundles: org.bundles,
          regions: org.regions,
          status: (i % 8 === 0 ? 'valid' : 'degraded') as AccountStatus,
          statusDetail: { checks: [], errors: [], findings: [] },
          lastCheckedAt: null,
          organizationId: org.id,
        });
        await connections.markConnected(tenant.id, connection.id, account.id);
        await accounts.putSecret(
          tenant.id,
          account.id,
          'probe',
          h.deps.envelope.seal('not-a-real-secret', {
            tenantId: tenant.id,
            ownerId: account.id,
            field: 'probe',
          }),
        );
        await h.database.db
          .insertInto('health_schedule')
          .values({
            account_id: account.id,
            tenant_id: tenant.id,
            next_run_at: new Date().toISOString(),
            failures: 0,
            claimed_by: null,
            claim_expires_at: null,
            requested_trigger: null,
          })
          .execute();
        Object.assign(member, {
          state: 'connected',
          roleArn,
          accountId: account.id,
          connectionId: connection.id,
        });
      }
      members.push(member);
    }
    await seeds().putMembers(tenant.id, org.id, members);
    return { org, members };
  }

  it('connects an organization in aws and aws-us-gov, with generated prefix and role names', async () => {
    for (const [partition, region] of [
      ['aws', 'us-east-1'],
      ['aws-us-gov', 'us-gov-west-1'],
    ] as const) {
      const response = await a.admin.request('POST', '/v1/organizations', {
        name: `Whole ${partition}`,
        partition,
        bundles: 'default',
        rules: { include: { organizationalUnits: [OU_PROD] } },
      });
      expectStatus(response, 201);
      const org = response.body;
      expect(org).toMatchObject({
        id: expect.stringMatching(/^org_/),
        partition,
        status: 'pending',
        deployment: 'service_managed',
        deploymentRegion: region,
        memberRoleName: `OnrampMemberRole-${org.id.slice(-8)}`,
        managementRoleName: `OnrampOrganizationRole-${org.id.slice(-8)}`,
        externalIdPrefix: expect.stringMatching(PREFIX),
        rules: {
          include: { organizationalUnits: [OU_PROD], accounts: [] },
          exclude: { organizationalUnits: [], accounts: [] },
        },
        counts: { discovered: 0, enrolling: 0, connected: 0, failed: 0, excluded: 0, left: 0 },
        health: { valid: 0, degraded: 0, invalid: 0, unverified: 0 },
        outdated: 0,
        lastDiscovery: null,
        enrollmentToken: { issuedAt: expect.any(String), previousValidUntil: null },
      });
      expect(response.text).not.toContain('onrorg_');
      const got = await a.viewer.request('GET', `/v1/organizations/${org.id}`);
      expectStatus(got, 200);
      expect(got.body).toEqual(org);
    }
    expect(await auditText(a.id)).not.toContain('onrorg_');
  });

  it('in aws-cn, refuses service-managed StackSets naming what is offered, and takes self_managed', async () => {
    const refused = await a.admin.request('POST', '/v1/organizations', {
      name: 'China',
      partition: 'aws-cn',
    });
    expectProblem(refused, 422, 'deployment');
    const error = refused.body.errors.find((e: { field: string }) => e.field === 'deployment');
    expect(error.code).toBe('deployment_not_offered');
    expect(error.message).toContain('self_managed');
    expect(error.message).toContain('per_account');
    for (const deployment of ['self_managed', 'per_account']) {
      const org = await createOrg(a, { partition: 'aws-cn', deployment });
      expect(org).toMatchObject({
        partition: 'aws-cn',
        deployment,
        deploymentRegion: 'cn-north-1',
      });
    }
  });

  it('offers organizations per partition in GET /v1/partitions', async () => {
    const response = await a.viewer.request('GET', '/v1/partitions');
    expectStatus(response, 200);
    const offers = Object.fromEntries(
      response.body.partitions.map((p: { partition: string; organizations: unknown }) => [
        p.partition,
        p.organizations,
      ]),
    );
    const all = ['service_managed', 'self_managed', 'per_account'];
    expect(offers.aws).toEqual({ offered: true, deployments: all, reason: null });
    expect(offers['aws-us-gov']).toEqual({ offered: true, deployments: all, reason: null });
    expect(offers['aws-cn']).toMatchObject({
      offered: true,
      deployments: ['self_managed', 'per_account'],
      reason: expect.stringContaining('Service-managed StackSets are not available in AWS China'),
    });
  });

  it('refuses a partition without a hub (and says so in the offers), or one the tenant may not use', async () => {
    const bare = await createHarness(dialect);
    try {
      const t = await bare.tenant();
      const refused = await t.admin.request('POST', '/v1/organizations', {
        name: 'China',
        partition: 'aws-cn',
        deployment: 'self_managed',
      });
      expectProblem(refused, 422, 'partition');
      expect(refused.body.errors[0].code).toBe('hub_not_configured');
      const offers = await t.viewer.request('GET', '/v1/partitions');
      const cn = offers.body.partitions.find(
        (p: { partition: string }) => p.partition === 'aws-cn',
      );
      expect(cn.organizations).toMatchObject({
        offered: false,
        deployments: [],
        reason: expect.stringContaining('hub identity'),
      });
      const limited = await bare.tenant(undefined, { partitions: ['aws-us-gov'] });
      expectProblem(
        await limited.admin.request('POST', '/v1/organizations', { name: 'x', partition: 'aws' }),
        422,
        'partition',
      );
      const keysOnly = await bare.tenant(undefined, { methods: ['access_keys'] });
      expectProblem(
        await keysOnly.admin.request('POST', '/v1/organizations', { name: 'x', partition: 'aws' }),
        422,
        'partition',
      );
    } finally {
      await bare.close();
    }
  });

  it('refuses bad input in every field, naming it, and stores nothing', async () => {
    const before = await a.admin.request('GET', '/v1/organizations?limit=100');
    const cases: [Record<string, unknown>, number, string][] = [
      [{ name: '  ' }, 400, 'name'],
      [{ name: 'x'.repeat(500) }, 400, 'name'],
      [{ name: 'evil\u0000name' }, 400, 'name'],
      [{ description: 'bad\u0007bell' }, 400, 'description'],
      [{ partition: 'aws-xx' }, 400, 'partition'],
      [{ bundles: ['no-such-bundle'] }, 422, 'bundles[0]'],
      [{ regions: ['mars-north-1'] }, 400, 'regions[0]'],
      [{ regions: ['us-gov-west-1'] }, 422, 'regions[0]'],
      [{ memberRoleName: 'no spaces' }, 400, 'memberRoleName'],
      [{ memberRoleName: 'x'.repeat(65) }, 400, 'memberRoleName'],
      [{ managementRoleName: '<script>' }, 400, 'managementRoleName'],
      [{ deployment: 'everywhere' }, 400, 'deployment'],
      [{ deploymentRegion: 'us-gov-west-1' }, 422, 'deploymentRegion'],
      [{ managementAccountId: '1234567890123' }, 400, 'managementAccountId'],
      [{ managementAccountId: '12345678901a' }, 400, 'managementAccountId'],
      [
        { rules: { include: { organizationalUnits: ['ou-bad'] } } },
        400,
        'rules.include.organizationalUnits[0]',
      ],
      [{ rules: { exclude: { accounts: ['1234567890123'] } } }, 400, 'rules.exclude.accounts[0]'],
      [
        {
          rules: {
            include: { accounts: ['123456789012'] },
            exclude: { accounts: ['123456789012'] },
          },
        },
        422,
        'rules.exclude.accounts',
      ],
    ];
    for (const [body, status, field] of cases) {
      const response = await a.admin.request('POST', '/v1/organizations', {
        name: 'Bad input',
        partition: 'aws',
        ...body,
      });
      expectProblem(response, status, field);
    }
    expectProblem(await a.admin.request('POST', '/v1/organizations', '{"name": '), 400, 'body');
    // Hostile but valid names are kept as they were sent, never interpreted.
    for (const name of ["'; DROP TABLE organizations;--", '<img src=x onerror=alert(1)>']) {
      const created = await a.admin.request('POST', '/v1/organizations', {
        name,
        partition: 'aws',
      });
      if (created.status === 201) {
        expect(created.body.name).toBe(name);
        expectStatus(await a.admin.request('DELETE', `/v1/organizations/${created.body.id}`), 204);
      } else expectProblem(created, 400, 'name');
    }
    const after = await a.admin.request('GET', '/v1/organizations?limit=100');
    expect(after.body.organizations.length).toBe(before.body.organizations.length);
    // Bad ids and queries are 400/404, never 500.
    expectProblem(await a.admin.request('GET', '/v1/organizations/org_nope'), 404);
    expectProblem(await a.admin.request('GET', '/v1/organizations/%27%3B--'), 404);
    expectProblem(await a.admin.request('GET', '/v1/organizations?cursor=bogus'), 400, 'cursor');
    const org = await createOrg(a);
    expectProblem(
      await a.admin.request('GET', `/v1/organizations/${org.id}/members?unit=ou-x`),
      400,
      'unit',
    );
    expectProblem(
      await a.admin.request('GET', `/v1/organizations/${org.id}/members?state=happy`),
      400,
      'state',
    );
    expectProblem(
      await a.admin.request('GET', `/v1/organizations/${org.id}/members?cursor=abc`),
      400,
      'cursor',
    );
    expectProblem(
      await a.admin.request('PATCH', `/v1/organizations/${org.id}`, {
        rules: { exclude: { organizationalUnits: ['r-'] } },
      }),
      400,
      'rules.exclude.organizationalUnits[0]',
    );
  });

  it('secures every route: sign-in, role or scope, and tenant', async () => {
    const org = await createOrg(a);
    const base = `/v1/organizations/${org.id}`;
    const readers = [a.viewer, await a.token(['accounts:read'])];
    const other = [b.admin, b.viewer];
    const noScope = [await a.token(['credentials:vend'])];
    for (const route of [
      { method: 'GET', url: base },
      { method: 'GET', url: `${base}/tree` },
      { method: 'GET', url: `${base}/members` },
      { method: 'POST', url: `${base}/rules/preview`, body: { rules: {} } },
    ]) {
      await expectSecured(h, route, { forbidden: noScope, otherTenant: other });
      for (const reader of readers)
        expectStatus(await reader.request(route.method, route.url, route.body), 200);
    }
    await expectSecured(h, { method: 'GET', url: '/v1/organizations' }, { forbidden: noScope });
    for (const route of [
      { method: 'PATCH', url: base, body: { name: 'Renamed' } },
      { method: 'POST', url: `${base}/enrollment-token/rotate` },
      { method: 'DELETE', url: base },
    ]) {
      await expectSecured(h, route, {
        forbidden: [...readers, ...noScope],
        otherTenant: [b.admin],
      });
    }
    await expectSecured(
      h,
      { method: 'POST', url: '/v1/organizations', body: { name: 'x', partition: 'aws' } },
      { forbidden: [...readers, ...noScope] },
    );
    // Another tenant's list does not show it.
    const theirs = await b.admin.request('GET', '/v1/organizations');
    expect(theirs.body.organizations.map((o: { id: string }) => o.id)).not.toContain(org.id);
    // Still there, unchanged, after all of that.
    const mine = await a.admin.request('GET', base);
    expectStatus(mine, 200);
    expect(mine.body.name).toBe(org.name);
  });

  it('lets the operator act on a tenant it names, and only then', async () => {
    const operator = await h.operator();
    const created = await operator.request(
      'POST',
      '/v1/organizations',
      { name: 'By operator', partition: 'aws' },
      { 'onramp-tenant': a.id },
    );
    expectStatus(created, 201);
    expectStatus(
      await operator.request('GET', `/v1/organizations/${created.body.id}`, undefined, {
        'onramp-tenant': a.id,
      }),
      200,
    );
    expectProblem(
      await operator.request('GET', `/v1/organizations/${created.body.id}`),
      400,
      'Onramp-Tenant',
    );
    expectProblem(
      await operator.request('GET', `/v1/organizations/${created.body.id}`, undefined, {
        'onramp-tenant': b.id,
      }),
      404,
    );
  });

  it('lists organizations in pages with their counts', async () => {
    const t = await h.tenant();
    const { org } = await seedOrg(t);
    await createOrg(t);
    await createOrg(t);
    const first = await t.viewer.request('GET', '/v1/organizations?limit=2');
    expectStatus(first, 200);
    expect(first.body.organizations).toHaveLength(2);
    expect(first.body.organizations[0]).toMatchObject({
      id: org.id,
      counts: { connected: 10, discovered: 30 },
      health: { valid: 5, degraded: 5 },
    });
    const second = await t.viewer.request(
      `GET`,
      `/v1/organizations?limit=2&cursor=${first.body.next}`,
    );
    expect(second.body.organizations).toHaveLength(1);
    expect(second.body.next).toBeNull();
  });

  it('rotates the enrollment token twice at once: both answer, one current token, the first accepted 7 days', async () => {
    const org = await createOrg(a);
    const found = await h.services.organizations.getOrganization(a.id, org.id);
    const original = await h.services.organizations.enrollmentTokenOf(found);
    expect(original).toMatch(/^onrorg_[A-Za-z0-9_-]{43}$/);
    const url = `/v1/organizations/${org.id}/enrollment-token/rotate`;
    const [one, two] = await Promise.all([
      a.admin.request('POST', url),
      a.admin.request('POST', url),
    ]);
    expectStatus(one, 200);
    expectStatus(two, 200);
    for (const r of [one, two]) expect(r.text).not.toContain('onrorg_');
    const rotated = await h.services.organizations.getOrganization(a.id, org.id);
    const current = await h.services.organizations.enrollmentTokenOf(rotated);
    expect(current).not.toBe(original);
    const organizations = repo();
    expect(await organizations.findByTokenHash(hashToken(current as string))).toMatchObject({
      token: 'current',
      organization: { id: org.id },
    });
    expect(await organizations.findByTokenHash(hashToken(original as string))).toMatchObject({
      token: 'previous',
      organization: { id: org.id },
    });
    const until = Date.parse(rotated.previousTokenUntil as string);
    expect(until - Date.now()).toBeGreaterThan(6.9 * 86400_000);
    expect(until - Date.now()).toBeLessThanOrEqual(7 * 86400_000);
    const view = await a.viewer.request('GET', `/v1/organizations/${org.id}`);
    expect(view.body.enrollmentToken.previousValidUntil).toBe(rotated.previousTokenUntil);
    const entries = await h.database.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'organization.enrollment_token_rotated')
      .where('target_id', '=', org.id)
      .execute();
    expect(entries).toHaveLength(1);
    const audit = await auditText(a.id);
    expect(audit).not.toContain(original);
    expect(audit).not.toContain(current);
  });

  it('creates exactly one organization of two at once under a cap of 1', async () => {
    const capped = await h.tenant(undefined, { maxOrganizations: 1 });
    const responses = await Promise.all(
      [1, 2].map((i) =>
        capped.admin.request('POST', '/v1/organizations', { name: `Race ${i}`, partition: 'aws' }),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses, responses.map((r) => r.text).join('\n')).toEqual([201, 422]);
    const refused = responses.find((r) => r.status === 422);
    expect(refused?.body.errors[0]).toMatchObject({
      field: 'organizations',
      code: 'limit_reached',
    });
    const list = await capped.admin.request('GET', '/v1/organizations');
    expect(list.body.organizations).toHaveLength(1);
  });

  it('counts members per unit in the tree, its subtree included', async () => {
    const t = await h.tenant();
    const { org } = await seedOrg(t);
    const response = await t.viewer.request('GET', `/v1/organizations/${org.id}/tree`);
    expectStatus(response, 200);
    const units = Object.fromEntries(response.body.units.map((u: { id: string }) => [u.id, u]));
    // Prod: members 0-9 (its own) and 10-19 (Prod EU); connected every fourth.
    expect(units[ROOT].counts).toMatchObject({ connected: 10, discovered: 30 });
    expect(units[ROOT].health).toEqual({ valid: 5, degraded: 5, invalid: 0, unverified: 0 });
    expect(units[OU_PROD]).toMatchObject({
      name: 'Prod',
      parentId: ROOT,
      counts: { connected: 5, discovered: 15 },
    });
    expect(units[OU_PROD_EU].counts).toMatchObject({ connected: 2, discovered: 8 });
    expect(units[OU_DEV].counts).toMatchObject({ connected: 3, discovered: 7 });
    const other = await b.viewer.request('GET', `/v1/organizations/${org.id}/tree`);
    expectProblem(other, 404);
  });

  it('filters and pages members by state, health, unit and text', async () => {
    const t = await h.tenant();
    const { org, members } = await seedOrg(t);
    const get = async (query: string) => {
      const response = await t.viewer.request(
        'GET',
        `/v1/organizations/${org.id}/members?${query}`,
      );
      expectStatus(response, 200);
      return response.body as {
        members: { awsAccountId: string; [k: string]: unknown }[];
        next: string | null;
      };
    };
    const connected = await get('state=connected');
    expect(connected.members).toHaveLength(10);
    expect(connected.members[0]).toMatchObject({
      state: 'connected',
      accountId: expect.stringMatching(/^acct_/),
      health: 'valid',
      path: [
        { id: ROOT, name: 'Root' },
        { id: OU_PROD, name: 'Prod' },
      ],
      management: false,
    });
    expect((await get('health=degraded')).members).toHaveLength(5);
    const underProd = await get(`unit=${OU_PROD}&limit=100`);
    expect(underProd.members).toHaveLength(20);
    expect((await get(`unit=${OU_PROD_EU}&state=discovered`)).members).toHaveLength(8);
    expect((await get('q=member-39@EXAMPLE')).members.map((m) => m.awsAccountId)).toEqual([
      members[39]?.awsAccountId,
    ]);
    const page1 = await get('limit=15');
    const page2 = await get(`limit=15&cursor=${page1.next}`);
    const page3 = await get(`limit=15&cursor=${page2.next}`);
    expect(page3.next).toBeNull();
    const seen = [...page1.members, ...page2.members, ...page3.members].map((m) => m.awsAccountId);
    expect(new Set(seen).size).toBe(40);
  });

  it('previews rules against known members: counts, changes with the reason, unknown targets', async () => {
    const t = await h.tenant();
    const { org } = await seedOrg(t);
    const response = await t.viewer.request('POST', `/v1/organizations/${org.id}/rules/preview`, {
      rules: {
        include: { organizationalUnits: [OU_PROD, 'ou-ab12-missing1'] },
        exclude: { organizationalUnits: [OU_PROD_EU], accounts: ['999999999999'] },
      },
    });
    expectStatus(response, 200);
    expect(response.body).toMatchObject({
      admitted: 10,
      excluded: 30,
      changesTotal: 30,
      unknownTargets: ['ou-ab12-missing1', '999999999999'],
    });
    const change = response.body.changes.find((c: { name: string }) => c.name === 'Member 12');
    expect(change).toMatchObject({
      admitted: false,
      because: `It is in ${OU_PROD_EU}, which is excluded.`,
    });
    const stored = await t.viewer.request('GET', `/v1/organizations/${org.id}`);
    expect(stored.body.rules).toEqual(org.rules);
  });

  it('new rules pause excluded members’ accounts, and resume them when admitted again', async () => {
    const t = await h.tenant();
    const { org, members } = await seedOrg(t);
    const excludeProd = await t.admin.request('PATCH', `/v1/organizations/${org.id}`, {
      rules: { exclude: { organizationalUnits: [OU_PROD] } },
    });
    expectStatus(excludeProd, 200);
    expect(excludeProd.body.counts).toMatchObject({ excluded: 20, connected: 5, discovered: 15 });
    const prodConnected = members.filter((m, i) => i < 20 && m.accountId);
    for (const m of prodConnected) {
      const account = await t.viewer.request('GET', `/v1/accounts/${m.accountId}`);
      expect(account.body).toMatchObject({
        organizationId: org.id,
        paused: { reason: 'organization_excluded' },
      });
    }
    const schedules = await h.database.db
      .selectFrom('health_schedule')
      .select('account_id')
      .where('tenant_id', '=', t.id)
      .execute();
    expect(schedules).toHaveLength(5);
    const excluded = await t.viewer.request(
      'GET',
      `/v1/organizations/${org.id}/members?state=excluded&limit=1`,
    );
    expect(excluded.body.members[0].reason).toMatchObject({
      code: 'excluded_by_rules',
      message: `It is in ${OU_PROD}, which is excluded.`,
    });
    // A member that reported a role while excluded goes back to enrolling when admitted.
    await seeds().putMembers(t.id, org.id, [
      {
        awsAccountId: members[1]?.awsAccountId as string,
        state: 'excluded',
        roleArn: `arn:aws:iam::${members[1]?.awsAccountId}:role/${org.memberRoleName}`,
      },
    ]);
    const readmit = await t.admin.request('PATCH', `/v1/organizations/${org.id}`, {
      rules: { exclude: { organizationalUnits: [] } },
    });
    expectStatus(readmit, 200);
    expect(readmit.body.counts).toMatchObject({
      connected: 10,
      enrolling: 1,
      discovered: 29,
      excluded: 0,
    });
    for (const m of prodConnected) {
      const account = await t.viewer.request('GET', `/v1/accounts/${m.accountId}`);
      expect(account.body.paused).toBeNull();
    }
    const enrolling = await repo().findMember(t.id, org.id, members[1]?.awsAccountId as string);
    expect(enrolling?.enrollDueAt).not.toBeNull();
    const audit = await h.database.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'organization.updated')
      .where('target_id', '=', org.id)
      .execute();
    expect(audit).toHaveLength(2);
    // Left members stay left whatever the rules.
    await seeds().putMembers(t.id, org.id, [
      { awsAccountId: members[2]?.awsAccountId as string, state: 'left' },
    ]);
    const excludeAll = await t.admin.request('PATCH', `/v1/organizations/${org.id}`, {
      rules: { exclude: { organizationalUnits: [ROOT] } },
    });
    expect(excludeAll.body.counts).toMatchObject({ left: 1, excluded: 39 });
  });

  it('new permissions make connected members outdated until the StackSet is updated', async () => {
    const t = await h.tenant();
    const { org, members } = await seedOrg(t, { bundles: ['cost-inventory'] });
    const response = await t.admin.request('PATCH', `/v1/organizations/${org.id}`, {
      bundles: ['cost-inventory', 'nodes-ec2'],
      regions: ['eu-west-1'],
    });
    expectStatus(response, 200);
    expect(response.body).toMatchObject({
      bundles: ['cost-inventory', 'nodes-ec2'],
      regions: ['eu-west-1'],
    });
    const member = members.find((m) => m.accountId);
    const account = await t.viewer.request('GET', `/v1/accounts/${member?.accountId}`);
    expect(account.body).toMatchObject({
      bundles: ['cost-inventory', 'nodes-ec2'],
      regions: ['eu-west-1'],
    });
    const connection = await h.database.db
      .selectFrom('connections')
      .select(['bundles', 'regions'])
      .where('id', '=', member?.connectionId as string)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(connection.bundles)).toEqual(['cost-inventory', 'nodes-ec2']);
  });

  it('keeps member connections out of the set-ups, and refuses to change them', async () => {
    const t = await h.tenant();
    const { members } = await seedOrg(t);
    const connectionId = members[0]?.connectionId as string;
    const list = await t.admin.request('GET', '/v1/connections?limit=100');
    expectStatus(list, 200);
    expect(list.body.connections.map((c: { id: string }) => c.id)).not.toContain(connectionId);
    for (const [method, url, body] of [
      ['PATCH', `/v1/connections/${connectionId}`, { name: 'Mine now' }],
      ['POST', `/v1/connections/${connectionId}/external-id`, undefined],
      ['DELETE', `/v1/connections/${connectionId}`, undefined],
    ] as const) {
      const response = await t.admin.request(method, url, body);
      expectProblem(response, 409, 'connectionId');
      expect(response.body.errors[0].code).toBe('managed_by_organization');
    }
    const regenerate = await t.admin.request(
      'POST',
      `/v1/accounts/${members[0]?.accountId}/external-id/regenerate`,
    );
    expectProblem(regenerate, 409, 'id');
    expect(regenerate.body.errors[0].code).toBe('managed_by_organization');
    // Its permissions and its existence are the organization's too; its name is the tenant's.
    const account = `/v1/accounts/${members[0]?.accountId}`;
    expectProblem(
      await t.admin.request('PATCH', account, { bundles: ['nodes-ec2'] }),
      409,
      'bundles',
    );
    expectProblem(await t.admin.request('DELETE', account), 409, 'id');
    const renamed = await t.admin.request('PATCH', account, { name: 'Renamed member' });
    expectStatus(renamed, 200);
    expect(renamed.body).toMatchObject({
      name: 'Renamed member',
      organizationId: expect.any(String),
    });
  });

  it('deletes an organization with its member accounts, connections and their secrets', async () => {
    const t = await h.tenant();
    const { org, members } = await seedOrg(t);
    const keep = await seedOrg(t);
    const accountIds = members.filter((m) => m.accountId).map((m) => m.accountId as string);
    expectProblem(await b.admin.request('DELETE', `/v1/organizations/${org.id}`), 404);
    expectStatus(await t.admin.request('DELETE', `/v1/organizations/${org.id}`), 204);
    expectProblem(await t.admin.request('GET', `/v1/organizations/${org.id}`), 404);
    const db = h.database.db;
    expect(
      await db.selectFrom('accounts').select('id').where('id', 'in', accountIds).execute(),
    ).toEqual([]);
    expect(
      await db
        .selectFrom('secrets')
        .select('id')
        .where('owner_id', 'in', [...accountIds, org.id])
        .execute(),
    ).toEqual([]);
    expect(
      await db
        .selectFrom('connections')
        .select('id')
        .where('organization_id', '=', org.id)
        .execute(),
    ).toEqual([]);
    expect(
      await db
        .selectFrom('organization_members')
        .select('aws_account_id')
        .where('organization_id', '=', org.id)
        .execute(),
    ).toEqual([]);
    const deleted = await db
      .selectFrom('audit_log')
      .select('target_id')
      .where('tenant_id', '=', t.id)
      .where('action', '=', 'account.deleted')
      .execute();
    expect(deleted.map((d) => d.target_id).sort()).toEqual([...accountIds].sort());
    // The other organization of the tenant is untouched.
    const other = await t.admin.request('GET', `/v1/organizations/${keep.org.id}`);
    expect(other.body.counts.connected).toBe(10);
    expectProblem(await t.admin.request('DELETE', `/v1/organizations/${org.id}`), 404);
  });

  /** Occurrences of `needle` in `text`. */
  const occurrences = (text: string, needle: string) => text.split(needle).length - 1;

  it('renders the set-up with the token only as the NoEcho parameter’s default, and only for writers', async () => {
    const org = await createOrg(a, { rules: { include: { organizationalUnits: [OU_PROD] } } });
    const token = await h.services.organizations.enrollmentTokenOf(
      await h.services.organizations.getOrganization(a.id, org.id),
    );
    expect(token).toMatch(/^onrorg_/);
    const response = await a.admin.request('GET', `/v1/organizations/${org.id}/setup`);
    expectStatus(response, 200);
    const setup = response.body;
    expect(setup).toMatchObject({
      deployment: 'service_managed',
      deploymentTargets: [OU_PROD],
      missing: [],
      quickCreateUrl: expect.stringContaining(
        'console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/quickcreate?',
      ),
    });
    const management = parseYaml(setup.managementTemplate);
    expect(management.Parameters.EnrollmentToken).toMatchObject({ NoEcho: true, Default: token });
    expect(occurrences(setup.managementTemplate, token as string)).toBe(1);
    expect(JSON.stringify(management)).toContain(`${org.externalIdPrefix}`);
    expect(setup.managementTemplate).toContain(
      'https://onramp.example.com/v1/callbacks/organizations/management',
    );
    const stackSets = Object.values(management.Resources).filter(
      (r) => (r as { Type: string }).Type === 'AWS::CloudFormation::StackSet',
    );
    expect(stackSets).toHaveLength(1);
    // The member template's token is its own NoEcho parameter's default; nothing else carries it.
    const member = parseYaml(setup.memberTemplate);
    expect(member.Parameters.EnrollmentToken.NoEcho).toBe(true);
    expect(occurrences(setup.memberTemplate, token as string)).toBeLessThanOrEqual(1);
    expect(occurrences(setup.terraform, token as string)).toBeLessThanOrEqual(1);
    for (const text of [...setup.commands, ...setup.steps.map((s: { detail: string }) => s.detail)])
      expect(text).not.toContain(token);
    expect(setup.commands.join('\n')).toContain('aws cloudformation deploy');
    // The published quick-create template is the management template with its token.
    expect(templates.published.at(-1)?.body).toBe(setup.managementTemplate);
    const json = await a.admin.request('GET', `/v1/organizations/${org.id}/setup?format=json`);
    expectStatus(json, 200);
    expect(JSON.parse(json.body.managementTemplate).Parameters.EnrollmentToken.Default).toBe(token);
    // A reader gets the templates without the token, and no quick-create link.
    const viewer = await a.viewer.request('GET', `/v1/organizations/${org.id}/setup`);
    expectStatus(viewer, 200);
    expect(viewer.text).not.toContain('onrorg_');
    expect(viewer.body.quickCreateUrl).toBeNull();
    // Never in the organization's own views, nor in the audit log.
    for (const url of [
      `/v1/organizations/${org.id}`,
      '/v1/organizations',
      `/v1/organizations/${org.id}/members`,
    ])
      expect((await a.admin.request('GET', url)).text).not.toContain(token);
    expect(await auditText(a.id)).not.toContain(token);
    expectProblem(await b.admin.request('GET', `/v1/organizations/${org.id}/setup`), 404);
    expectProblem(
      await a.admin.request('GET', `/v1/organizations/${org.id}/setup?format=xml`),
      400,
      'format',
    );
  });

  it('says the root ID is missing before discovery when the whole organization is included', async () => {
    const org = await createOrg(a);
    const before = await a.admin.request('GET', `/v1/organizations/${org.id}/setup`);
    expectStatus(before, 200);
    expect(before.body.deploymentTargets).toEqual([]);
    expect(before.body.missing).toEqual([
      expect.objectContaining({ field: 'DeploymentTargets', code: 'root_unknown' }),
    ]);
    // The root ID the tenant types in goes into the template as the parameter's default, so the
    // file deploys as downloaded; a value that is not a root or OU ID is refused on its field.
    const filled = await a.admin.request(
      'GET',
      `/v1/organizations/${org.id}/setup?targets=${encodeURIComponent(ROOT)}`,
    );
    expectStatus(filled, 200);
    expect(filled.body).toMatchObject({ deploymentTargets: [ROOT], missing: [] });
    expect(parseYaml(filled.body.managementTemplate).Parameters.DeploymentTargets.Default).toBe(
      ROOT,
    );
    expectProblem(
      await a.admin.request('GET', `/v1/organizations/${org.id}/setup?targets=r-x,../etc`),
      400,
      'targets',
    );
    await seeds().setDiscovered(a.id, org.id, { rootId: ROOT });
    const after = await a.admin.request(
      'GET',
      `/v1/organizations/${org.id}/setup?targets=r-otherroot`,
    );
    // Once Onramp knows the root, what it knows wins over what was typed.
    expect(after.body).toMatchObject({ deploymentTargets: [ROOT], missing: [] });
  });

  it('renders aws-cn’s self-managed set-up without a service-managed StackSet, listing known members', async () => {
    const { org } = await seedOrg(a, { partition: 'aws-cn', deployment: 'self_managed' });
    const response = await a.admin.request('GET', `/v1/organizations/${org.id}/setup`);
    expectStatus(response, 200);
    const management = parseYaml(response.body.managementTemplate);
    const types = Object.values(management.Resources).map((r) => (r as { Type: string }).Type);
    expect(types).not.toContain('AWS::CloudFormation::StackSet');
    expect(response.body.managementTemplate).toContain(
      'arn:aws-cn:iam::111122223333:role/onramp-hub',
    );
    expect(response.body.commands.join('\n')).toContain('SELF_MANAGED');
  });

  it('answers the permission update with the templates of the permissions the organization has now', async () => {
    const org = await createOrg(a, { bundles: ['cost-inventory'] });
    const before = await a.admin.request('POST', `/v1/organizations/${org.id}/permissions/update`);
    expectStatus(before, 200);
    expectStatus(
      await a.admin.request('PATCH', `/v1/organizations/${org.id}`, {
        bundles: ['cost-inventory', 'nodes-ec2'],
      }),
      200,
    );
    const after = await a.admin.request('POST', `/v1/organizations/${org.id}/permissions/update`);
    expectStatus(after, 200);
    expect(after.body.memberTemplate).not.toBe(before.body.memberTemplate);
    expect(after.body.memberTemplate).toContain('ec2:');
    expectProblem(
      await a.viewer.request('POST', `/v1/organizations/${org.id}/permissions/update`),
      403,
    );
    // After a rotation the update's commands name the new token (deploy keeps a parameter's
    // previous value); the first deployment's never do.
    expect(after.body.commands.join('\n')).not.toContain('onrorg_');
    expectStatus(
      await a.admin.request('POST', `/v1/organizations/${org.id}/enrollment-token/rotate`),
      200,
    );
    const token = await h.services.organizations.enrollmentTokenOf(
      await h.services.organizations.getOrganization(a.id, org.id),
    );
    const rotated = await a.admin.request('POST', `/v1/organizations/${org.id}/permissions/update`);
    expect(rotated.body.commands.join('\n')).toContain(token);
    const setup = await a.admin.request('GET', `/v1/organizations/${org.id}/setup`);
    expect(setup.body.commands.join('\n')).not.toContain(token);
  });

  it('two rule changes at once take turns: every member ends as the stored rules say', async () => {
    const t = await h.tenant();
    const { org } = await seedOrg(t);
    const url = `/v1/organizations/${org.id}`;
    const [one, two] = await Promise.all([
      t.admin.request('PATCH', url, { rules: { exclude: { organizationalUnits: [OU_PROD] } } }),
      t.admin.request('PATCH', url, { rules: { exclude: { organizationalUnits: [OU_DEV] } } }),
    ]);
    expectStatus(one, 200);
    expectStatus(two, 200);
    const stored = await t.viewer.request('GET', url);
    const excludedUnit = stored.body.rules.exclude.organizationalUnits[0];
    expect([OU_PROD, OU_DEV]).toContain(excludedUnit);
    const members = await t.viewer.request('GET', `${url}/members?limit=100`);
    for (const m of members.body.members as { path: { id: string }[]; state: string }[]) {
      const inExcluded = m.path.some((p) => p.id === excludedUnit);
      expect(m.state === 'excluded', JSON.stringify(m)).toBe(inExcluded);
    }
    expect(stored.body.counts.excluded).toBe(excludedUnit === OU_PROD ? 20 : 10);
  });

  it('a tenant with organizations can be deleted, and takes them with it', async () => {
    const t = await h.tenant();
    const { org } = await seedOrg(t);
    const operator = await h.operator();
    expectStatus(await operator.request('DELETE', `/v1/tenants/${t.id}`), 204);
    const db = h.database.db;
    expect(
      await db.selectFrom('organizations').select('id').where('id', '=', org.id).execute(),
    ).toEqual([]);
    expect(
      await db
        .selectFrom('organization_members')
        .select('aws_account_id')
        .where('tenant_id', '=', t.id)
        .execute(),
    ).toEqual([]);
    expect(
      await db.selectFrom('secrets').select('id').where('tenant_id', '=', t.id).execute(),
    ).toEqual([]);
  });
});
