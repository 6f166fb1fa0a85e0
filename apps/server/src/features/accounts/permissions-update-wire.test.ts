/**
 * Updating one account's permissions on the wire: the real SDK adapter against the loopback AWS, on
 * SQLite and PostgreSQL, in the three partitions. Accounts are connected under one catalog; then the
 * operator ships a new one (an action added to a default bundle, one dropped, a bundle made default),
 * served by a second app over the same database, as after a restart. Each way a role is made gets its
 * update, applied to the loopback as CloudFormation, Terraform or a person would, then verified.
 */
import { readFileSync } from 'node:fs';
import {
  type Catalog,
  concretePolicies,
  createUserBlueprint,
  DEFAULT_CATALOG_URL,
  loadCatalog,
  type PartitionId,
  type PolicyDocument,
} from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import type { HubConfig } from '../../config.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../../testing/databases.ts';
import { createFakeTemplateStore } from '../../testing/fake-template-store.ts';
import {
  type Actor,
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  testCatalog,
} from '../../testing/harness.ts';
import { createHub } from '../../testing/loopback-world.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../testing/webhook-receiver.ts';

const PUBLIC_URL = 'https://onramp.example.com';
const PARTITIONS: PartitionId[] = ['aws', 'aws-us-gov', 'aws-cn'];
const REGION: Record<PartitionId, string> = {
  aws: 'eu-west-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-cn': 'cn-northwest-1',
};
const ADDED = 'cloudwatch:DescribeAlarms';
const DROPPED = 's3:GetBucketLocation';

let accountSeq = 0;
const newAwsAccount = () =>
  `4${String(Date.now() % 1e9).padStart(9, '0')}${(accountSeq++ % 90) + 10}`;

/**
 * The next catalog: the resource inventory reads alarms and no longer reads bucket locations, and
 * Auto Scaling groups became a default bundle.
 */
async function nextCatalog(): Promise<Catalog> {
  const text = readFileSync(DEFAULT_CATALOG_URL, 'utf8');
  const changed = text
    .replace(
      '              - cloudwatch:ListMetrics\n',
      `              - cloudwatch:ListMetrics\n              - ${ADDED}\n`,
    )
    .replace(`              - ${DROPPED}\n`, '')
    .replace(
      '        name: Auto Scaling groups\n',
      '        name: Auto Scaling groups\n        default: true\n',
    );
  expect(changed).not.toBe(text);
  return loadCatalog(changed, { actions: createIamDataActionIndex() });
}

type Template = {
  Parameters: Record<string, { Default?: string }>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};

/** Fills what CloudFormation would: parameter defaults, pseudo parameters, Fn::Sub. */
function resolve(value: unknown, t: Template, partition: string, accountId: string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, t, partition, accountId));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    const [key, arg] = entries[0] ?? [];
    if (entries.length === 1 && key === 'Ref') {
      if (arg === 'AWS::Partition') return partition;
      if (arg === 'AWS::AccountId') return accountId;
      const parameter = t.Parameters[arg as string];
      if (!parameter?.Default) throw new Error(`no default for ${String(arg)}`);
      return parameter.Default;
    }
    if (entries.length === 1 && key === 'Fn::Sub') {
      return (arg as string)
        .replace(/\$\{([\w:]+)\}/g, (_m, name: string) =>
          String(resolve({ Ref: name }, t, partition, accountId)),
        )
        .replace(/\$\{!/g, '${');
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v, t, partition, accountId)]));
  }
  return value;
}

const policyArn = (partition: string, accountId: string, name: string) =>
  `arn:${partition}:iam::${accountId}:policy/${name}`;

/**
 * Puts policies as a stack update, `terraform apply` or a person would: a policy of the same name gets
 * a new default version; a new one is created and attached.
 */
function applyPolicies(
  aws: LoopbackAws,
  partition: PartitionId,
  accountId: string,
  principalArn: string,
  policies: { name: string; document: PolicyDocument }[],
): void {
  for (const policy of policies) {
    const arn = policyArn(partition, accountId, policy.name);
    try {
      aws.updateManagedPolicy(partition, arn, policy.document);
    } catch {
      aws.createManagedPolicy(partition, accountId, {
        name: policy.name,
        document: policy.document,
      });
      aws.attachPolicy(partition, principalArn, arn);
    }
  }
}

/** The managed policies of one of Onramp's templates, resolved as CloudFormation would. */
function templatePolicies(t: Template, partition: PartitionId, accountId: string) {
  return Object.values(t.Resources)
    .filter((r) => r.Type === 'AWS::IAM::ManagedPolicy')
    .map((r) => {
      const props = resolve(r.Properties, t, partition, accountId) as {
        ManagedPolicyName: string;
        PolicyDocument: PolicyDocument;
      };
      return { name: props.ManagedPolicyName, document: props.PolicyDocument };
    });
}

/** "Deploys" a connection's template: its managed policies, then its role with them attached. */
function deployRole(aws: LoopbackAws, partition: PartitionId, accountId: string, t: Template) {
  const policies = templatePolicies(t, partition, accountId);
  const arns = policies.map(
    (p) =>
      aws.createManagedPolicy(partition, accountId, { name: p.name, document: p.document }).arn,
  );
  const role = t.Resources.Role as Template['Resources'][string];
  return aws.createRole(partition, accountId, {
    roleName: resolve(role.Properties.RoleName, t, partition, accountId) as string,
    trustPolicy: resolve(
      role.Properties.AssumeRolePolicyDocument,
      t,
      partition,
      accountId,
    ) as never,
    managedPolicyArns: arns,
  }).arn;
}

describe.each(TEST_DIALECTS)(
  'updating an account’s permissions on the loopback AWS, on %s',
  (dialect) => {
    let aws: LoopbackAws;
    let receiver: WebhookReceiver;
    let database: TestDatabase;
    /** The app before the catalog change, and after it (same database, keyring and AWS). */
    let before: Harness;
    let after: Harness;
    let v1: Catalog;

    beforeAll(async () => {
      aws = await startLoopbackAws();
      receiver = await startWebhookReceiver();
      const gatewayHubs: Partial<Record<PartitionId, HubConfig>> = {};
      const hubs: Partial<Record<PartitionId, { principalArn: string }>> = {};
      for (const partition of PARTITIONS) {
        const { user, config } = createHub(aws, partition);
        gatewayHubs[partition] = config;
        hubs[partition] = { principalArn: user.arn };
      }
      const gateway = createSdkAwsGateway({ hubs: gatewayHubs, endpoint: aws.url, maxAttempts: 2 });
      database = await createTestDatabase(dialect);
      v1 = await testCatalog();
      const common = {
        aws: gateway,
        hubs,
        publicUrl: PUBLIC_URL,
        webhookSettings: { allowPrivate: true, timeoutMs: 2_000 },
      };
      before = await createHarness(dialect, { ...common, catalog: v1 }, { database });
      after = await createHarness(
        dialect,
        { ...common, catalog: await nextCatalog(), envelope: before.deps.envelope },
        { database },
      );
    });
    afterAll(async () => {
      await before?.close();
      await after?.close();
      await database?.drop();
      await aws?.stop();
      await receiver?.close();
    });

    /** The same credentials against the app that serves the new catalog. */
    const later = (actor: Actor): Actor => ({
      ...actor,
      request: (method, url, body, extra = {}) =>
        after.send(method, url, { ...actor.headers, ...extra }, body),
    });

    async function tenantWithHook() {
      const tenant = await before.tenant();
      const admin = await tenant.token(['accounts:read', 'accounts:write', 'admin']);
      const hook = await admin.request('POST', '/v1/webhooks', {
        url: receiver.url(`/${tenant.id}`),
        events: ['account.permissions_updated', 'account.health_changed'],
      });
      expectStatus(hook, 201);
      return { tenant, admin };
    }

    /** A role connected under the first catalog, made the way `setupMethod` says. */
    async function connectRole(
      admin: Actor,
      partition: PartitionId,
      setupMethod: 'quick_create' | 'cloudformation' | 'terraform' | 'manual',
    ) {
      const made = await admin.request('POST', '/v1/connections', {
        name: `${setupMethod} ${partition} ${accountSeq}`,
        partition,
      });
      expectStatus(made, 201);
      const connection = made.body as { id: string; roleName: string; externalId: string };
      expectStatus(
        await admin.request('PATCH', `/v1/connections/${connection.id}`, { setupMethod }),
        200,
      );
      const file = await admin.request(
        'GET',
        `/v1/connections/${connection.id}/cloudformation?format=json`,
      );
      expectStatus(file, 200);
      const template = JSON.parse(file.text) as Template;
      const accountId = newAwsAccount();
      const roleArn = deployRole(aws, partition, accountId, template);
      const stackName = `onramp-${connection.roleName}`;
      const stackId = `arn:${partition}:cloudformation:${REGION[partition]}:${accountId}:stack/${stackName}/4b6c1a2e-0d7f-11ee-9a1c-0a1b2c3d4e5f`;
      let id: string;
      if (setupMethod === 'quick_create' || setupMethod === 'cloudformation') {
        // The stack's custom resource reports the role (Create).
        const called = await before.anonymous.request('POST', '/v1/callbacks/cloudformation', {
          requestType: 'Create',
          token: template.Parameters.CallbackToken?.Default,
          roleArn,
          stackId,
        });
        expectStatus(called, 200);
        id = called.body.accountId;
      } else {
        const created = await admin.request('POST', '/v1/accounts', {
          method: 'role',
          connectionId: connection.id,
          roleArn,
        });
        expectStatus(created, 201);
        id = created.body.id;
      }
      return { id, accountId, roleArn, connection, template, stackName, stackId };
    }

    /** An access-key account whose user holds the first catalog's default bundles. */
    async function connectKeys(admin: Actor, partition: PartitionId) {
      const accountId = newAwsAccount();
      const userName = `acme-onramp-${accountSeq}`;
      const blueprint = createUserBlueprint({
        catalog: v1,
        selection: { partition, bundles: 'default', regions: [] },
        userName,
      });
      const arns = concretePolicies(blueprint.policySet, {
        accountId,
        roleName: userName,
        rolePath: '/',
      }).map(
        (document, i) =>
          aws.createManagedPolicy(partition, accountId, {
            name: `${userName}-${blueprint.policySet.policies[i]?.suffix}`,
            document,
          }).arn,
      );
      const user = aws.createUser(partition, accountId, userName, { managedPolicyArns: arns });
      const created = await admin.request('POST', '/v1/accounts', {
        method: 'access_keys',
        name: `keys ${partition} ${accountSeq}`,
        partition,
        accessKeyId: user.accessKeyId,
        secretAccessKey: user.secretAccessKey,
      });
      expectStatus(created, 201);
      return { id: created.body.id as string, accountId, userArn: user.arn };
    }

    /** What the update asks, the same whatever the way: the catalog's diff, least privilege both ways. */
    function expectTheCatalogChange(update: {
      changes: { bundle: string; add: string[]; remove: string[] }[];
      policies: { name: string; document: PolicyDocument }[];
    }) {
      expect(update.changes).toContainEqual({
        bundle: 'cost-inventory',
        add: [ADDED],
        remove: [DROPPED],
      });
      const autoscaling = update.changes.find((c) => c.bundle === 'nodes-autoscaling');
      expect(autoscaling?.add).toContain('autoscaling:*');
      expect(autoscaling?.remove).toEqual([]);
      const documents = JSON.stringify(update.policies.map((p) => p.document));
      expect(documents).toContain(ADDED);
      expect(documents).toContain('autoscaling:*');
      expect(documents).not.toContain(DROPPED);
    }

    /** Verified after applying: valid, no longer outdated, in its history and in the outbox. */
    async function expectUpdated(admin: Actor, tenantId: string, id: string) {
      const account = await later(admin).request('GET', `/v1/accounts/${id}`);
      expectStatus(account, 200);
      expect(account.body.status, JSON.stringify(account.body.findings)).toBe('valid');
      expect(account.body.permissions).toMatchObject({ outdated: false, changes: [], trimmed: [] });
      expect(account.body.bundles).toContain('nodes-autoscaling');
      const checks = await later(admin).request('GET', `/v1/accounts/${id}/checks`);
      expect(checks.body.checks[0]).toMatchObject({
        trigger: 'permissions_updated',
        status: 'valid',
        previousStatus: 'degraded',
      });
      const events = await database.db
        .selectFrom('webhook_deliveries')
        .select(['event_type', 'payload'])
        .where('tenant_id', '=', tenantId)
        .execute();
      const updated = events.filter(
        (e) =>
          e.event_type === 'account.permissions_updated' &&
          JSON.parse(e.payload).data.account.id === id &&
          JSON.parse(e.payload).data.status === 'valid',
      );
      expect(updated).toHaveLength(1);
      const health = events.filter(
        (e) =>
          e.event_type === 'account.health_changed' &&
          JSON.parse(e.payload).data.account.id === id &&
          JSON.parse(e.payload).data.status === 'valid',
      );
      expect(health).toHaveLength(1);
      for (const e of events) expect(e.payload).not.toContain('secretAccessKey');
      const audit = await database.db
        .selectFrom('audit_log')
        .select(['action', 'details'])
        .where('tenant_id', '=', tenantId)
        .where('target_id', '=', id)
        .where('action', '=', 'account.permissions_updated')
        .execute();
      const complete = audit.filter((a) => JSON.parse(a.details).status === 'valid');
      expect(complete).toHaveLength(1);
      expect(JSON.parse(complete[0]?.details ?? '{}')).toMatchObject({
        trigger: 'permissions_updated',
        remaining: [],
      });
    }

    /** Verify before applying: degraded with the missing actions, the new ones not granted. */
    async function expectNotYetApplied(admin: Actor, id: string) {
      const early = await later(admin).request('POST', `/v1/accounts/${id}/permissions/verify`);
      expectStatus(early, 200);
      expect(early.body.check).toMatchObject({
        trigger: 'permissions_updated',
        status: 'degraded',
      });
      const inventory = early.body.check.findings.find(
        (f: { bundleId: string }) => f.bundleId === 'cost-inventory',
      );
      expect(inventory?.missing).toContain(ADDED);
      expect(early.body.account.status).toBe('degraded');
      expect(early.body.account.permissions.outdated).toBe(true);
      const stillToAdd = early.body.account.permissions.changes.flatMap(
        (c: { add: string[] }) => c.add,
      );
      expect(stillToAdd).toContain(ADDED);
      expect(stillToAdd).toContain('autoscaling:*');
    }

    /** The next health check, under the new catalog, finds the action it now asks for missing. */
    async function expectDegradedByCheck(admin: Actor, id: string) {
      const checked = await later(admin).request('POST', `/v1/accounts/${id}/check`);
      expectStatus(checked, 200);
      expect(checked.body).toMatchObject({ trigger: 'manual', status: 'degraded' });
      const missing = checked.body.findings.flatMap((f: { missing: string[] }) => f.missing);
      expect(missing).toContain(ADDED);
    }

    for (const partition of PARTITIONS) {
      it(`updates a CloudFormation stack in ${partition}; its Update call-back verifies`, async () => {
        const { tenant, admin } = await tenantWithHook();
        const role = await connectRole(admin, partition, 'cloudformation');
        const connected = await admin.request('GET', `/v1/accounts/${role.id}`);
        expect(connected.body.status).toBe('valid');

        await expectNotYetApplied(admin, role.id);
        const update = await later(admin).request(
          'POST',
          `/v1/accounts/${role.id}/permissions/update`,
        );
        expectStatus(update, 200);
        expect(update.body.madeWith).toBe('cloudformation');
        expectTheCatalogChange(update.body);
        const cfn = update.body.cloudFormation;
        // The same stack, in the region it was made in; the same role, external ID and token.
        expect(cfn.stackName).toBe(role.stackName);
        expect(cfn.deployCommand).toContain(`--stack-name ${role.stackName}`);
        expect(cfn.deployCommand).toContain(`--region ${REGION[partition]}`);
        expect(cfn.changeSetCommand).toContain('aws cloudformation create-change-set');
        expect(cfn.changeSetCommand).toContain('describe-change-set');
        expect(cfn.changeSetCommand).toContain(`--stack-name ${role.stackName}`);
        expect(cfn.updateStackUrl).toBeNull(); // no template bucket here
        expect(update.body.terraform).toBeNull();
        const next = parseYaml(cfn.template) as Template;
        expect(next.Parameters.ExternalId?.Default).toBe(role.connection.externalId);
        expect(next.Parameters.RoleName?.Default).toBe(role.connection.roleName);
        expect(next.Parameters.CallbackToken?.Default).toBe(
          role.template.Parameters.CallbackToken?.Default,
        );
        // The custom resource changes with the permissions, so CloudFormation calls it on Update.
        const oldCallback = role.template.Resources.Callback?.Properties;
        const newCallback = next.Resources.Callback?.Properties;
        expect(newCallback?.Permissions).not.toEqual(oldCallback?.Permissions);
        expect(JSON.stringify(next)).toContain(`arn:${partition}:iam::`); // the trusted hub

        // CloudFormation updates the policies (same names), then calls the custom resource.
        applyPolicies(
          aws,
          partition,
          role.accountId,
          role.roleArn,
          templatePolicies(next, partition, role.accountId),
        );
        const called = await after.anonymous.request('POST', '/v1/callbacks/cloudformation', {
          requestType: 'Update',
          token: next.Parameters.CallbackToken?.Default,
          roleArn: role.roleArn,
          stackId: role.stackId,
        });
        expectStatus(called, 200);
        expect(called.body.accountId).toBe(role.id);
        await expectUpdated(admin, tenant.id, role.id);
      });

      it(`gives the Terraform file of a role in ${partition}`, async () => {
        const { tenant, admin } = await tenantWithHook();
        const role = await connectRole(admin, partition, 'terraform');
        await expectDegradedByCheck(admin, role.id);
        const update = await later(admin).request(
          'POST',
          `/v1/accounts/${role.id}/permissions/update`,
        );
        expectStatus(update, 200);
        expect(update.body).toMatchObject({ madeWith: 'terraform', cloudFormation: null });
        expectTheCatalogChange(update.body);
        const file: string = update.body.terraform.file;
        expect(file).toContain(role.connection.roleName);
        expect(file).toContain(role.connection.externalId);
        expect(file).toContain(ADDED);
        expect(file).not.toContain(DROPPED);
        expect(file).toContain(`== "${partition}"`);
        // terraform apply: the same managed policies, new versions.
        applyPolicies(aws, partition, role.accountId, role.roleArn, update.body.policies);
        const verified = await later(admin).request(
          'POST',
          `/v1/accounts/${role.id}/permissions/verify`,
        );
        expectStatus(verified, 200);
        expect(verified.body.check).toMatchObject({
          trigger: 'permissions_updated',
          status: 'valid',
        });
        await expectUpdated(admin, tenant.id, role.id);
      });

      it(`gives the policy documents of a role made by hand in ${partition}`, async () => {
        const { tenant, admin } = await tenantWithHook();
        const role = await connectRole(admin, partition, 'manual');
        await expectNotYetApplied(admin, role.id);
        const update = await later(admin).request(
          'POST',
          `/v1/accounts/${role.id}/permissions/update`,
        );
        expectStatus(update, 200);
        expect(update.body).toMatchObject({
          madeWith: 'manual',
          cloudFormation: null,
          terraform: null,
        });
        expectTheCatalogChange(update.body);
        expect(update.body.steps.length).toBeGreaterThanOrEqual(update.body.policies.length + 1);
        for (const policy of update.body.policies)
          expect(policy.name.startsWith(`${role.connection.roleName}-`)).toBe(true);
        // The last step names the button as the console labels it.
        expect(update.body.steps.at(-1)).toMatchObject({ title: 'Verify' });
        expect(update.body.steps.at(-1).detail).toContain('“I’ve applied it — verify”');
        applyPolicies(aws, partition, role.accountId, role.roleArn, update.body.policies);
        const verified = await later(admin).request(
          'POST',
          `/v1/accounts/${role.id}/permissions/verify`,
        );
        expectStatus(verified, 200);
        await expectUpdated(admin, tenant.id, role.id);
      });

      it(`gives the user policy of an access-key account in ${partition}`, async () => {
        const { tenant, admin } = await tenantWithHook();
        const keys = await connectKeys(admin, partition);
        await expectDegradedByCheck(admin, keys.id);
        const update = await later(admin).request(
          'POST',
          `/v1/accounts/${keys.id}/permissions/update`,
        );
        expectStatus(update, 200);
        expect(update.body).toMatchObject({
          madeWith: 'access_keys',
          cloudFormation: null,
          terraform: null,
        });
        expectTheCatalogChange(update.body);
        expect(JSON.stringify(update.body)).not.toContain('secretAccessKey');
        applyPolicies(aws, partition, keys.accountId, keys.userArn, update.body.policies);
        const verified = await later(admin).request(
          'POST',
          `/v1/accounts/${keys.id}/permissions/verify`,
        );
        expectStatus(verified, 200);
        await expectUpdated(admin, tenant.id, keys.id);
      });
    }

    it('changes nothing when AWS does not answer the verification (502)', async () => {
      const { tenant, admin } = await tenantWithHook();
      const role = await connectRole(admin, 'aws', 'manual');
      const update = await later(admin).request(
        'POST',
        `/v1/accounts/${role.id}/permissions/update`,
      );
      applyPolicies(aws, 'aws', role.accountId, role.roleArn, update.body.policies);
      const beforeFault = await later(admin).request('GET', `/v1/accounts/${role.id}`);
      const checksBefore = await later(admin).request('GET', `/v1/accounts/${role.id}/checks`);
      aws.failNext(100, { partition: 'aws', status: 503 });
      try {
        const failed = await later(admin).request(
          'POST',
          `/v1/accounts/${role.id}/permissions/verify`,
        );
        expect([502, 503], failed.text).toContain(failed.status);
      } finally {
        aws.clearFaults();
      }
      const afterFault = await later(admin).request('GET', `/v1/accounts/${role.id}`);
      expect(afterFault.body).toEqual(beforeFault.body);
      const checksAfter = await later(admin).request('GET', `/v1/accounts/${role.id}/checks`);
      expect(checksAfter.body.checks).toEqual(checksBefore.body.checks);
      const events = await database.db
        .selectFrom('webhook_deliveries')
        .select('event_type')
        .where('tenant_id', '=', tenant.id)
        .where('event_type', '=', 'account.permissions_updated')
        .execute();
      expect(events).toEqual([]);
      // Once AWS answers again, the same update verifies.
      const verified = await later(admin).request(
        'POST',
        `/v1/accounts/${role.id}/permissions/verify`,
      );
      expectStatus(verified, 200);
      expect(verified.body.account.status).toBe('valid');
    });

    it('records one state when two verifications run at once', async () => {
      const { admin } = await tenantWithHook();
      const role = await connectRole(admin, 'aws', 'terraform');
      const update = await later(admin).request(
        'POST',
        `/v1/accounts/${role.id}/permissions/update`,
      );
      applyPolicies(aws, 'aws', role.accountId, role.roleArn, update.body.policies);
      const answers = await Promise.all(
        [1, 2, 3].map(() =>
          later(admin).request('POST', `/v1/accounts/${role.id}/permissions/verify`),
        ),
      );
      const statuses = answers.map((a) => a.status);
      for (const a of answers) expect([200, 409], a.text).toContain(a.status);
      expect(statuses).toContain(200);
      for (const a of answers.filter((x) => x.status === 409)) expectProblem(a, 409, 'id');
      const checks = await later(admin).request('GET', `/v1/accounts/${role.id}/checks`);
      const recorded = checks.body.checks.filter(
        (c: { trigger: string }) => c.trigger === 'permissions_updated',
      );
      expect(recorded).toHaveLength(statuses.filter((s) => s === 200).length);
      const account = await later(admin).request('GET', `/v1/accounts/${role.id}`);
      expect(account.body.status).toBe('valid');
      expect(account.body.permissions.outdated).toBe(false);
    });

    it('is secured: no credentials 401, a viewer 403, another tenant 404, a bad id 4xx', async () => {
      const { tenant, admin } = await tenantWithHook();
      const role = await connectRole(admin, 'aws', 'manual');
      const other = await before.tenant();
      const otherAdmin = await other.token(['accounts:read', 'accounts:write']);
      const reader = await tenant.token(['accounts:read']);
      for (const path of ['update', 'verify']) {
        const url = `/v1/accounts/${role.id}/permissions/${path}`;
        expectProblem(await after.anonymous.request('POST', url), 401);
        expectProblem(await later(tenant.viewer).request('POST', url), 403);
        expectProblem(await later(reader).request('POST', url), 403);
        expectProblem(await later(otherAdmin).request('POST', url), 404);
        const hostile = await later(admin).request(
          'POST',
          `/v1/accounts/${encodeURIComponent("acct_' OR 1=1 --")}/permissions/${path}`,
        );
        expect([400, 404], hostile.text).toContain(hostile.status);
      }
      // Nothing was recorded by the refused calls.
      const checks = await later(admin).request('GET', `/v1/accounts/${role.id}/checks`);
      expect(checks.body.checks.map((c: { trigger: string }) => c.trigger)).toEqual(['connect']);
    });

    it('answers a stack’s Update call-back even when AWS does not answer the verification', async () => {
      const { tenant, admin } = await tenantWithHook();
      const role = await connectRole(admin, 'aws', 'quick_create');
      const update = await later(admin).request(
        'POST',
        `/v1/accounts/${role.id}/permissions/update`,
      );
      expectStatus(update, 200);
      expect(update.body.madeWith).toBe('quick_create');
      const next = parseYaml(update.body.cloudFormation.template) as Template;
      applyPolicies(
        aws,
        'aws',
        role.accountId,
        role.roleArn,
        templatePolicies(next, 'aws', role.accountId),
      );
      const beforeCall = await later(admin).request('GET', `/v1/accounts/${role.id}`);
      aws.failNext(100, { partition: 'aws', status: 500 });
      try {
        // The stack is updated whatever Onramp answers; a failed custom resource would roll it back.
        const called = await after.anonymous.request('POST', '/v1/callbacks/cloudformation', {
          requestType: 'Update',
          token: next.Parameters.CallbackToken?.Default,
          roleArn: role.roleArn,
          stackId: role.stackId,
        });
        expectStatus(called, 200);
      } finally {
        aws.clearFaults();
      }
      const afterCall = await later(admin).request('GET', `/v1/accounts/${role.id}`);
      expect(afterCall.body).toEqual(beforeCall.body);
      const failed = await database.db
        .selectFrom('audit_log')
        .select('details')
        .where('tenant_id', '=', tenant.id)
        .where('action', '=', 'account.permissions_verify_failed')
        .execute();
      expect(failed).toHaveLength(1);
      expect(JSON.parse(failed[0]?.details ?? '{}').code).toBe('upstream_unavailable');
      // The tenant (or the next call-back) verifies once AWS answers.
      const verified = await later(admin).request(
        'POST',
        `/v1/accounts/${role.id}/permissions/verify`,
      );
      expectStatus(verified, 200);
      expect(verified.body.account.status).toBe('valid');
    });

    it('links the console’s update-stack page where the partition has a template bucket', async () => {
      const templates = createFakeTemplateStore();
      const withBucket = await createHarness(
        dialect,
        {
          ...after.deps,
          templates: templates.store,
          templateBuckets: { aws: 'onramp-templates-aws' },
        },
        { database },
      );
      try {
        const { admin } = await tenantWithHook();
        const role = await connectRole(admin, 'aws', 'cloudformation');
        const url = `/v1/accounts/${role.id}/permissions/update`;
        const update = await withBucket.send('POST', url, admin.headers);
        expectStatus(update, 200);
        const link = new URL(update.body.cloudFormation.updateStackUrl);
        expect(link.host).toBe('console.aws.amazon.com');
        expect(link.searchParams.get('region')).toBe(REGION.aws);
        const [route, query] = link.hash.slice(1).split('?');
        expect(route).toBe('/stacks/update/template');
        const params = new URLSearchParams(query);
        expect(params.get('stackId')).toBe(role.stackId);
        expect(params.get('templateURL')).toMatch(/^https:\/\/onramp-templates-aws\.s3\.example\//);
        expect(templates.published.at(-1)?.body).toBe(update.body.cloudFormation.template);
        // S3 refusing costs the link only.
        templates.failWith(new Error('AccessDenied'));
        const without = await withBucket.send('POST', url, admin.headers);
        expectStatus(without, 200);
        expect(without.body.cloudFormation.updateStackUrl).toBeNull();
        expect(without.body.cloudFormation.deployCommand).toContain(role.stackName);
      } finally {
        await withBucket.close();
      }
    });

    it('updates an account whose bundles changed (a bundle added with PATCH)', async () => {
      const { tenant, admin } = await tenantWithHook();
      const role = await connectRole(admin, 'aws', 'manual');
      const connected = await admin.request('GET', `/v1/accounts/${role.id}`);
      const patched = await admin.request('PATCH', `/v1/accounts/${role.id}`, {
        bundles: [...connected.body.bundles, 'kubernetes-secrets'],
      });
      expectStatus(patched, 200);
      expect(patched.body.status).toBe('degraded');
      const update = await admin.request('POST', `/v1/accounts/${role.id}/permissions/update`);
      expectStatus(update, 200);
      // Under the catalog it was connected with, only the added bundle differs.
      expect(update.body.changes).toEqual([
        {
          bundle: 'kubernetes-secrets',
          add: [
            'secretsmanager:CreateSecret',
            'secretsmanager:DeleteSecret',
            'secretsmanager:DescribeSecret',
            'secretsmanager:GetSecretValue',
            'secretsmanager:PutSecretValue',
            'secretsmanager:TagResource',
          ],
          remove: [],
        },
      ]);
      expect(JSON.stringify(update.body.policies)).toContain(
        `arn:aws:secretsmanager:*:${role.accountId}:secret:acme/*`,
      );
      applyPolicies(aws, 'aws', role.accountId, role.roleArn, update.body.policies);
      const verified = await admin.request('POST', `/v1/accounts/${role.id}/permissions/verify`);
      expectStatus(verified, 200);
      expect(verified.body.account).toMatchObject({
        status: 'valid',
        permissions: { outdated: false, changes: [] },
      });
      expect(verified.body.check).toMatchObject({
        trigger: 'permissions_updated',
        previousStatus: 'degraded',
        status: 'valid',
      });
      // Verified again with nothing to apply: the same state, one more check in the history.
      const again = await admin.request('POST', `/v1/accounts/${role.id}/permissions/verify`);
      expectStatus(again, 200);
      expect(again.body.account.permissions).toEqual({
        ...verified.body.account.permissions,
        grantedAt: again.body.check.at,
      });
      const events = await database.db
        .selectFrom('webhook_deliveries')
        .select('payload')
        .where('tenant_id', '=', tenant.id)
        .where('event_type', '=', 'account.permissions_updated')
        .execute();
      expect(events.filter((e) => JSON.parse(e.payload).data.account.id === role.id)).toHaveLength(
        2,
      );
    });

    it('says an action proven before and removed since is trimmed, and the update puts it back', async () => {
      const { admin } = await tenantWithHook();
      const role = await connectRole(admin, 'aws', 'manual');
      // Someone removes an action from the role's policy.
      const TRIMMED = 'cloudwatch:GetMetricData';
      for (const policy of templatePolicies(role.template, 'aws', role.accountId)) {
        const document = JSON.parse(JSON.stringify(policy.document)) as {
          Statement: { Action: string | string[] }[];
        };
        for (const statement of document.Statement)
          if (Array.isArray(statement.Action))
            statement.Action = statement.Action.filter((a) => a !== TRIMMED);
        aws.updateManagedPolicy(
          'aws',
          policyArn('aws', role.accountId, policy.name),
          document as unknown as PolicyDocument,
        );
      }
      const checked = await admin.request('POST', `/v1/accounts/${role.id}/permissions/verify`);
      expectStatus(checked, 200);
      expect(checked.body.account.status).toBe('degraded');
      expect(checked.body.account.permissions).toMatchObject({
        outdated: false,
        changes: [],
        trimmed: [{ bundle: 'cost-inventory', actions: [TRIMMED] }],
      });
      // Nothing changed in the catalog: the update is the same policies, which the role lacks.
      const update = await admin.request('POST', `/v1/accounts/${role.id}/permissions/update`);
      expectStatus(update, 200);
      expect(update.body.changes).toEqual([]);
      expect(JSON.stringify(update.body.policies)).toContain(TRIMMED);
      applyPolicies(aws, 'aws', role.accountId, role.roleArn, update.body.policies);
      const verified = await admin.request('POST', `/v1/accounts/${role.id}/permissions/verify`);
      expectStatus(verified, 200);
      expect(verified.body.account).toMatchObject({
        status: 'valid',
        permissions: { outdated: false, changes: [], trimmed: [] },
      });
    });
  },
);
