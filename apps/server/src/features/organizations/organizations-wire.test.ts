/**
 * Whole organizations on the wire: the real SDK adapter against the loopback AWS, which deploys the
 * core's rendered management template, plays its service-managed StackSet across an organization of
 * 3 OUs × 10 accounts, and answers Organizations and STS as AWS would. The test sends what the
 * stacks' call-back functions send; the discovery job and the enrollment worker do the rest.
 */
import {
  type Catalog,
  createOrganizationBlueprint,
  type PartitionId,
  renderOrganizationYaml,
} from '@onramp/core';
import {
  type DeployedStack,
  deployStack,
  deployStackSetInstances,
  type LoopbackAws,
  startLoopbackAws,
} from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestResponse,
  type TestTenant,
  testCatalog,
} from '../../testing/harness.ts';
import { bundlePolicy, createHub, createOrganizationTree } from '../../testing/loopback-world.ts';
import {
  createOrganizationsRepository,
  ENROLLMENT_TOKEN_FIELD,
} from './organizations-repository.ts';

const ORIGIN = 'https://onramp.example.test';
const REGION: Record<PartitionId, string> = {
  aws: 'us-east-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-cn': 'cn-north-1',
};

describe.each(TEST_DIALECTS)('organizations on the wire on %s', (dialect) => {
  let aws: LoopbackAws;
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let catalog: Catalog;
  let hubArns: Record<PartitionId, string>;
  let managementSeq = 0;

  beforeAll(async () => {
    aws = await startLoopbackAws();
    catalog = await testCatalog();
    const hubs = {
      aws: createHub(aws, 'aws'),
      'aws-us-gov': createHub(aws, 'aws-us-gov'),
      'aws-cn': createHub(aws, 'aws-cn'),
    };
    hubArns = {
      aws: hubs.aws.user.arn,
      'aws-us-gov': hubs['aws-us-gov'].user.arn,
      'aws-cn': hubs['aws-cn'].user.arn,
    };
    const config = {
      aws: hubs.aws.config,
      'aws-us-gov': hubs['aws-us-gov'].config,
      'aws-cn': hubs['aws-cn'].config,
    };
    const gateway = createSdkAwsGateway({ hubs: config, endpoint: aws.url, maxAttempts: 2 });
    h = await createHarness(dialect, { aws: gateway, hubs: config, publicUrl: ORIGIN });
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
  });

  /** What a stack's call-back function sends (no session, no API token). */
  async function callback(kind: string, body: Record<string, unknown>): Promise<TestResponse> {
    const response = await h.app.inject({
      method: 'POST',
      url: `/v1/callbacks/organizations/${kind}`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(body),
      remoteAddress: '198.51.100.7',
    });
    return {
      status: response.statusCode,
      headers: response.headers,
      text: response.body,
      body: response.body ? JSON.parse(response.body) : response.body,
    };
  }

  /** Sends the call-back of each custom resource of the stacks, as their functions do. */
  async function playCallbacks(stacks: DeployedStack[], kind: 'management' | 'member') {
    const responses = await Promise.all(
      stacks.flatMap((s) =>
        s.customResources.map((c) =>
          callback(kind, {
            requestType: 'Create',
            token: c.properties.Token,
            roleArn: c.properties.RoleArn,
            stackId: c.properties.StackId,
          }),
        ),
      ),
    );
    for (const r of responses) expectStatus(r, 202);
    return responses;
  }

  async function runWorkers() {
    for (let i = 0; i < 10; i++) {
      const discovered = await h.services.organizationDiscovery.runOnce('wire-a');
      const enrolled = await h.services.organizationEnrollment.runOnce('wire-a');
      if (discovered === 0 && enrolled === 0) return;
    }
  }

  const members = async (organizationId: string) =>
    h.database.db
      .selectFrom('organization_members as m')
      .leftJoin('accounts as a', 'a.id', 'm.account_id')
      .select([
        'm.aws_account_id',
        'm.state',
        'm.account_id',
        'm.reason_code',
        'a.status',
        'a.external_id',
        'a.paused_reason',
        'a.status_detail',
      ])
      .where('m.organization_id', '=', organizationId)
      .execute();

  /** An organization in the loopback and in Onramp, its management stack deployed and reported. */
  async function enrollOrganization(partition: PartitionId, tenant: TestTenant) {
    const managementAccountId = String(
      900000000000 + ++managementSeq * 1000 + (partition === 'aws' ? 1 : 2),
    );
    const tree = createOrganizationTree(aws, partition, {
      managementAccountId,
      units: [
        { name: 'Prod', accounts: 10 },
        { name: 'Dev', accounts: 10 },
        { name: 'Sandbox', accounts: 10 },
      ],
    });
    const [prod, dev, sandbox] = tree.units as [
      (typeof tree.units)[number],
      (typeof tree.units)[number],
      (typeof tree.units)[number],
    ];
    const created = await tenant.admin.request('POST', '/v1/organizations', {
      name: `Org ${partition} ${managementSeq}`,
      partition,
      rules: { exclude: { organizationalUnits: [sandbox.id], accounts: [] } },
    });
    expectStatus(created, 201);
    const org = created.body;
    // The templates as the tenant downloads them; before the first discovery the root ID is the
    // one thing the tenant fills in (the StackSet's targets).
    const setup = await tenant.admin.request('GET', `/v1/organizations/${org.id}/setup`);
    expectStatus(setup, 200);
    expect(setup.body.missing.map((m: { field: string }) => m.field)).toContain(
      'DeploymentTargets',
    );
    const stack = deployStack(aws, {
      partition,
      accountId: managementAccountId,
      template: setup.body.managementTemplate,
      parameters: { DeploymentTargets: tree.rootId },
      stackName: 'onramp-organization',
    });
    const token = String(stack.customResources[0]?.properties.Token);
    expect(token).toMatch(/^onrorg_/);
    await playCallbacks([stack], 'management');
    return { org, token, tree, stack, prod, dev, sandbox, managementAccountId };
  }

  describe.each(['aws', 'aws-us-gov'] as const)('%s', (partition) => {
    it('connects every admitted account of 3 OUs × 10 accounts, each with its own external ID', async () => {
      const w = await enrollOrganization(partition, a);
      await runWorkers();
      // Discovery ran at once (the management call-back made it due) and found the tree.
      const repo = createOrganizationsRepository(h.database.db, h.deps.clock);
      const stored = await repo.find(a.id, w.org.id);
      expect(stored?.status).toBe('active');
      expect(stored?.rootId).toBe(w.tree.rootId);
      expect(stored?.awsOrganizationId).toBe(w.tree.organizationId);
      expect(stored?.lastDiscovery?.accounts).toBe(31);

      // The StackSet deploys everywhere (the root); one member's role lacks its bundles' policy.
      const stacks = deployStackSetInstances(aws, w.stack);
      expect(stacks).toHaveLength(30);
      const degradedId = w.dev.accountIds[0] as string;
      const degradedRole = aws.state.account(partition, degradedId).roles.get(w.org.memberRoleName);
      degradedRole?.inline.clear();
      if (degradedRole) degradedRole.attached = [];
      aws.putInlinePolicy(
        partition,
        `arn:${partition}:iam::${degradedId}:role/${w.org.memberRoleName}`,
        'validation-only',
        bundlePolicy(catalog, {
          partition,
          bundles: [],
          principal: 'role',
          accountId: degradedId,
          roleName: w.org.memberRoleName,
        }),
      );
      await playCallbacks(stacks, 'member');
      await runWorkers();

      const rows = await members(w.org.id);
      expect(rows).toHaveLength(31);
      const byId = new Map(rows.map((r) => [r.aws_account_id, r]));
      for (const id of [...w.prod.accountIds, ...w.dev.accountIds, w.managementAccountId]) {
        const m = byId.get(id);
        expect(m?.state, `${id}: ${JSON.stringify(m)}`).toBe('connected');
        expect(m?.external_id).toBe(`${w.org.externalIdPrefix}-${id}`);
        expect(m?.status, id).toBe(id === degradedId ? 'degraded' : 'valid');
      }
      expect(byId.get(degradedId)?.status_detail).toContain('missing');
      for (const id of w.sandbox.accountIds) {
        expect(byId.get(id)?.state).toBe('excluded');
        expect(byId.get(id)?.account_id).toBeNull();
      }
      const accounts = await h.database.db
        .selectFrom('accounts')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('organization_id', '=', w.org.id)
        .executeTakeFirstOrThrow();
      expect(Number(accounts.n)).toBe(21);

      // An account added to an included OU later: the StackSet deploys to it, it reports, connected.
      const added = String(Number(w.managementAccountId) + 500);
      aws.addOrganizationAccount(w.prod.id, added, { name: 'Prod-late' });
      const later = deployStackSetInstances(aws, w.stack);
      expect(later.map((s) => s.accountId)).toEqual([added]);
      await playCallbacks(later, 'member');
      await runWorkers();
      expect((await members(w.org.id)).find((m) => m.aws_account_id === added)?.state).toBe(
        'connected',
      );

      // A removed account is `left` at the next discovery, its account paused.
      const removed = w.prod.accountIds[3] as string;
      aws.removeAccount(partition, removed);
      expectStatus(await a.admin.request('POST', `/v1/organizations/${w.org.id}/discover`), 202);
      await runWorkers();
      const left = (await members(w.org.id)).find((m) => m.aws_account_id === removed);
      expect(left?.state).toBe('left');
      expect(left?.paused_reason).toBe('organization_left');

      // A forged token, and another organization's token for these accounts: 404, nothing recorded.
      const before = (await members(w.org.id)).length;
      const forged = await callback('member', {
        requestType: 'Create',
        token: `${w.token.slice(0, -4)}AAAA`,
        roleArn: `arn:${partition}:iam::${removed}:role/${w.org.memberRoleName}`,
      });
      expectProblem(forged, 404);
      const other = await enrollOrganization(partition, b);
      const foreign = await callback('member', {
        requestType: 'Create',
        token: other.token,
        roleArn: `arn:${partition}:iam::${w.prod.accountIds[5]}:role/${w.org.memberRoleName}`,
      });
      // Another organization's member role name: refused at once.
      expectProblem(foreign, 404);
      expect((await members(w.org.id)).length).toBe(before);
    }, 120_000);
  });

  it('aws-cn offers no service-managed StackSet: 422 naming what it offers', async () => {
    const refused = await a.admin.request('POST', '/v1/organizations', {
      name: 'China',
      partition: 'aws-cn',
      deployment: 'service_managed',
    });
    expectProblem(refused, 422, 'deployment');
    expect(refused.text).toContain('self_managed');
    expect(refused.text).toContain('per_account');
  });

  it('aws-cn: self-managed member stacks connect end to end', async () => {
    const partition = 'aws-cn';
    const managementAccountId = String(910000000000 + ++managementSeq);
    const tree = createOrganizationTree(aws, partition, {
      managementAccountId,
      units: [{ name: 'Prod', accounts: 3 }],
    });
    const created = await a.admin.request('POST', '/v1/organizations', {
      name: 'China self-managed',
      partition,
      deployment: 'self_managed',
    });
    expectStatus(created, 201);
    const org = created.body;
    const repo = createOrganizationsRepository(h.database.db, h.deps.clock);
    const sealed = await repo.findSealedToken(a.id, org.id);
    const token = h.deps.envelope.open(sealed as NonNullable<typeof sealed>, {
      tenantId: a.id,
      ownerId: org.id,
      field: ENROLLMENT_TOKEN_FIELD,
    });
    const blueprint = createOrganizationBlueprint({
      catalog,
      selection: { partition, bundles: 'default' },
      hubPrincipal: hubArns[partition],
      externalIdPrefix: org.externalIdPrefix,
      memberRoleName: org.memberRoleName,
      managementRoleName: org.managementRoleName,
      deployment: 'self_managed',
      deploymentRegion: REGION[partition],
      deploymentTargets: undefined,
      callback: { origin: ORIGIN, token },
      memberAccounts: tree.accountIds,
    });
    const { management, member } = renderOrganizationYaml(blueprint);
    const stack = deployStack(aws, {
      partition,
      accountId: managementAccountId,
      template: management,
    });
    await playCallbacks([stack], 'management');
    // Self-managed: a stack of the member template in each account (the StackSet's execution role
    // deploys the same template; the loopback deploys it directly).
    const stacks = tree.accountIds.map((accountId) =>
      deployStack(aws, { partition, accountId, template: member, stackName: 'onramp-member' }),
    );
    await playCallbacks(stacks, 'member');
    await runWorkers();
    const rows = await members(org.id);
    for (const id of tree.accountIds) {
      const m = rows.find((r) => r.aws_account_id === id);
      expect(m?.state, JSON.stringify(m)).toBe('connected');
      expect(m?.status).toBe('valid');
    }
  }, 60_000);

  it('a claim left by a dead replica is taken over after it expires, nothing lost', async () => {
    const w = await enrollOrganization('aws', b);
    await h.services.organizationDiscovery.runOnce('wire-a');
    const stacks = deployStackSetInstances(aws, w.stack, {
      accounts: w.prod.accountIds.slice(0, 3),
    });
    await playCallbacks(stacks, 'member');
    const dead = await h.services.organizationDiscovery.repository.claimEnrollments(
      'dead-replica',
      new Date(Date.now() - 1).toISOString(),
      100,
    );
    expect(dead.length).toBeGreaterThanOrEqual(3);
    await runWorkers();
    const rows = await members(w.org.id);
    for (const id of w.prod.accountIds.slice(0, 3))
      expect(rows.find((r) => r.aws_account_id === id)?.state).toBe('connected');
  }, 60_000);
});
