/**
 * A connection's role on the wire: the real SDK adapter against the loopback AWS, roles and policies
 * created from the templates Onramp serves (as CloudFormation would), on SQLite and PostgreSQL.
 * - Regenerating a role account's external ID: both IDs accepted during the grace period, Onramp
 *   switches once a check with the new one passes, the old one leaves the templates after the grace.
 * - Two connections to one AWS account (two tenants, or one tenant twice) deploy side by side.
 */
import { buildTrustPolicy, parseHubPrincipal, unwrap } from '@onramp/core';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  type Actor,
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
} from '../../testing/harness.ts';
import { createHub } from '../../testing/loopback-world.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../testing/webhook-receiver.ts';

const DAY = 24 * 60 * 60 * 1000;
let accountSeq = 0;
let hubArn = '';
const newAwsAccount = () =>
  `3${String(Date.now() % 1e9).padStart(9, '0')}${(accountSeq++ % 90) + 10}`;

type Template = {
  Parameters: Record<string, { Default?: string }>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};

/** Fills what CloudFormation would: parameter defaults, pseudo parameters, Fn::Sub. */
function resolve(value: unknown, template: Template, accountId: string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, template, accountId));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    const [key, arg] = entries[0] ?? [];
    if (entries.length === 1 && key === 'Ref') {
      if (arg === 'AWS::Partition') return 'aws';
      if (arg === 'AWS::AccountId') return accountId;
      const parameter = template.Parameters[arg as string];
      if (!parameter?.Default) throw new Error(`no default for ${String(arg)}`);
      return parameter.Default;
    }
    if (entries.length === 1 && key === 'Fn::Sub') {
      return (arg as string)
        .replace(/\$\{([\w:]+)\}/g, (_m, name: string) =>
          String(resolve({ Ref: name }, template, accountId)),
        )
        .replace(/\$\{!/g, '${');
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v, template, accountId)]));
  }
  return value;
}

/** "Deploys" a CloudFormation template of Onramp's into the loopback: its policies, then its role. */
function deploy(aws: LoopbackAws, accountId: string, template: Template): string {
  const policyArns = new Map<string, string>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const props = resolve(resource.Properties, template, accountId) as {
      ManagedPolicyName: string;
      Path: string;
      PolicyDocument: never;
    };
    const policy = aws.createManagedPolicy('aws', accountId, {
      name: props.ManagedPolicyName,
      path: props.Path,
      document: props.PolicyDocument,
    });
    policyArns.set(id, policy.arn);
  }
  const role = template.Resources.Role as Template['Resources'][string];
  const props = role.Properties;
  const created = aws.createRole('aws', accountId, {
    roleName: resolve(props.RoleName, template, accountId) as string,
    path: props.Path as string,
    trustPolicy: resolve(props.AssumeRolePolicyDocument, template, accountId) as never,
    managedPolicyArns: (props.ManagedPolicyArns as { Ref: string }[]).map(
      (ref) => policyArns.get(ref.Ref) as string,
    ),
  });
  return created.arn;
}

describe.each(TEST_DIALECTS)('a connection’s role on the loopback AWS, on %s', (dialect) => {
  let aws: LoopbackAws;
  let h: Harness;
  let receiver: WebhookReceiver;
  let now = Date.now();

  beforeAll(async () => {
    aws = await startLoopbackAws();
    receiver = await startWebhookReceiver();
    const { user: hub, config: hubConfig } = createHub(aws, 'aws');
    hubArn = hub.arn;
    const gateway = createSdkAwsGateway({
      hubs: { aws: hubConfig },
      endpoint: aws.url,
      maxAttempts: 2,
    });
    h = await createHarness(dialect, {
      aws: gateway,
      hubs: { aws: { principalArn: hub.arn } },
      clock: () => new Date(now),
      externalIdGraceDays: 7,
      webhookSettings: { allowPrivate: true, timeoutMs: 2_000 },
    });
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
    await receiver?.close();
  });

  const template = async (actor: Actor, connectionId: string): Promise<Template> => {
    const response = await actor.request(
      'GET',
      `/v1/connections/${connectionId}/cloudformation?format=json`,
    );
    expectStatus(response, 200);
    return JSON.parse(response.text) as Template;
  };
  const trustedIds = (t: Template) => {
    const role = t.Resources.Role as Template['Resources'][string];
    const doc = resolve(role.Properties.AssumeRolePolicyDocument, t, '000000000000') as {
      Statement: { Condition?: { StringEquals?: { 'sts:ExternalId': string | string[] } } }[];
    };
    const value = doc.Statement[0]?.Condition?.StringEquals?.['sts:ExternalId'];
    return typeof value === 'string' ? [value] : (value ?? []);
  };
  const assumes = async (roleArn: string, externalId: string) =>
    h.deps.aws.assumeRole('aws', { roleArn, externalId, sessionName: 'test' }).then(
      () => true,
      () => false,
    );

  it('regenerates with a grace period: both accepted, switch after a passing check, old dropped after the grace', async () => {
    now = Date.now();
    const tenant = await h.tenant();
    // Tokens, not sessions: the test moves the clock past a session's idle limit.
    const admin = await tenant.token(['accounts:read', 'accounts:write', 'admin']);
    const hook = await admin.request('POST', '/v1/webhooks', {
      url: receiver.url('/grace'),
      events: ['account.external_id_changed'],
    });
    expectStatus(hook, 201);
    const made = await admin.request('POST', '/v1/connections', {
      name: 'Grace',
      partition: 'aws',
    });
    expectStatus(made, 201);
    const connection = made.body as { id: string; externalId: string; roleName: string };
    const oldId = connection.externalId;
    const customer = newAwsAccount();
    aws.createAccount('aws', customer);
    const roleArn = deploy(aws, customer, await template(admin, connection.id));
    const created = await admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.id,
      roleArn,
    });
    expectStatus(created, 201);
    const accountId = created.body.id as string;

    // Only role accounts from a connection have one; a viewer may not regenerate.
    expectProblem(
      await tenant.viewer.request('POST', `/v1/accounts/${accountId}/external-id/regenerate`),
      403,
    );
    const other = await h.tenant();
    expectStatus(
      await other.admin.request('POST', `/v1/accounts/${accountId}/external-id/regenerate`),
      404,
    );

    const regenerated = await admin.request(
      'POST',
      `/v1/accounts/${accountId}/external-id/regenerate`,
    );
    expectStatus(regenerated, 200);
    const newId = regenerated.body.externalId as string;
    expect(newId).not.toBe(oldId);
    expect(regenerated.body).toMatchObject({
      previousExternalId: oldId,
      previousExternalIdUntil: new Date(now + 7 * DAY).toISOString(),
      externalIdInUse: oldId,
    });
    // The new template trusts both (StringEquals with two values: either matches).
    const both = await template(admin, connection.id);
    expect(trustedIds(both).sort()).toEqual([newId, oldId].sort());
    const terraform = await admin.request('GET', `/v1/connections/${connection.id}/terraform`);
    expect(terraform.text).toContain(oldId);
    expect(terraform.text).toContain(newId);

    // The role in AWS still trusts only the old one: a check keeps using it, no switch.
    const stillOld = await admin.request('POST', `/v1/accounts/${accountId}/check`);
    expectStatus(stillOld, 200);
    expect(stillOld.body.status).toBe('valid');
    let shown = await admin.request('GET', `/v1/connections/${connection.id}`);
    expect(shown.body.externalIdInUse).toBe(oldId);

    // The tenant updates the role's trust policy from the new template: both IDs work.
    const trust = resolve(
      (both.Resources.Role as Template['Resources'][string]).Properties.AssumeRolePolicyDocument,
      both,
      customer,
    );
    aws.updateTrustPolicy('aws', roleArn, trust as never);
    expect(await assumes(roleArn, oldId)).toBe(true);
    expect(await assumes(roleArn, newId)).toBe(true);

    // The next check passes with the new one: Onramp switches to it.
    const switched = await admin.request('POST', `/v1/accounts/${accountId}/check`);
    expectStatus(switched, 200);
    expect(switched.body.status).toBe('valid');
    shown = await admin.request('GET', `/v1/connections/${connection.id}`);
    expect(shown.body).toMatchObject({ externalIdInUse: newId, previousExternalId: oldId });
    const stored = await h.database.db
      .selectFrom('accounts')
      .select('external_id')
      .where('id', '=', accountId)
      .executeTakeFirstOrThrow();
    expect(stored.external_id).toBe(newId);

    // Within the grace period the old one stays in the templates.
    now += 6 * DAY;
    expectStatus(await admin.request('POST', `/v1/accounts/${accountId}/check`), 200);
    expect(trustedIds(await template(admin, connection.id)).sort()).toEqual([newId, oldId].sort());

    // After it, the next check drops it: the templates list only the new one.
    now += 2 * DAY;
    expectStatus(await admin.request('POST', `/v1/accounts/${accountId}/check`), 200);
    expect(trustedIds(await template(admin, connection.id))).toEqual([newId]);
    shown = await admin.request('GET', `/v1/connections/${connection.id}`);
    expect(shown.body).toMatchObject({ previousExternalId: null, previousExternalIdUntil: null });

    // A tenant who puts only the newest ID in the trust policy: the check switches and stays valid.
    const again = await admin.request('POST', `/v1/accounts/${accountId}/external-id/regenerate`);
    expectStatus(again, 200);
    const newest = again.body.externalId as string;
    aws.updateTrustPolicy(
      'aws',
      roleArn,
      buildTrustPolicy({
        partition: 'aws',
        hub: unwrap(parseHubPrincipal(hubArn, 'aws')),
        externalId: newest,
      }),
    );
    expect(await assumes(roleArn, newId)).toBe(false);
    const onlyNewest = await admin.request('POST', `/v1/accounts/${accountId}/check`);
    expectStatus(onlyNewest, 200);
    expect(onlyNewest.body).toMatchObject({ status: 'valid', changed: false });
    shown = await admin.request('GET', `/v1/connections/${connection.id}`);
    expect(shown.body.externalIdInUse).toBe(newest);

    const audit = await h.database.db
      .selectFrom('audit_log')
      .select(['action', 'details', 'actor_type'])
      .where('target_id', '=', accountId)
      .where('action', 'like', 'account.external_id%')
      .orderBy('seq')
      .execute();
    expect(audit.map((e) => e.action)).toEqual([
      'account.external_id_regenerated',
      'account.external_id_switched',
      'account.external_id_previous_dropped',
      'account.external_id_regenerated',
      'account.external_id_switched',
    ]);
    for (const entry of audit) {
      expect(entry.details).not.toContain(oldId);
      expect(entry.details).not.toContain(newId);
    }
    const deliveries = await h.database.db
      .selectFrom('webhook_deliveries')
      .select(['event_type', 'payload'])
      .where('tenant_id', '=', tenant.id)
      .orderBy('id')
      .execute();
    expect(new Set(deliveries.map((d) => d.event_type))).toEqual(
      new Set(['account.external_id_changed']),
    );
    expect(deliveries.map((d) => JSON.parse(d.payload).data.phase)).toEqual([
      'regenerated',
      'switched',
      'previous_dropped',
      'regenerated',
      'switched',
    ]);
    for (const delivery of deliveries) {
      expect(delivery.payload).not.toContain(oldId);
      expect(delivery.payload).not.toContain(newId);
    }
  });

  it('deploys two connections to one AWS account side by side, and both connect', async () => {
    now = Date.now();
    const first = await h.tenant();
    const second = await h.tenant();
    const customer = newAwsAccount();
    aws.createAccount('aws', customer);
    const setups: { actor: Actor; id: string }[] = [];
    // Two tenants of the platform, and one of them twice.
    for (const actor of [first.admin, second.admin, second.admin]) {
      const made = await actor.request('POST', '/v1/connections', {
        name: `Shared ${setups.length}`,
        partition: 'aws',
      });
      expectStatus(made, 201);
      setups.push({ actor, id: made.body.id });
    }
    const roleArns: string[] = [];
    for (const { actor, id } of setups)
      roleArns.push(deploy(aws, customer, await template(actor, id)));
    expect(new Set(roleArns).size).toBe(3);
    for (const [i, { actor, id }] of setups.entries()) {
      const created = await actor.request('POST', '/v1/accounts', {
        method: 'role',
        connectionId: id,
        roleArn: roleArns[i],
      });
      expectStatus(created, 201);
      expect(created.body).toMatchObject({ status: 'valid', awsAccountId: customer });
    }
    // Stack names differ too (they derive from the role name).
    const commands = await Promise.all(
      setups.map(
        async ({ actor, id }) => (await actor.request('GET', `/v1/connections/${id}`)).body,
      ),
    );
    const stacks = commands.map((c) => /--stack-name (\S+)/.exec(c.deployCommand)?.[1]);
    expect(new Set(stacks).size).toBe(3);

    // A tenant's explicit role name is respected; the same name twice in one account collides in
    // AWS as it would in IAM.
    const explicit = await first.admin.request('POST', '/v1/connections', {
      name: 'Explicit',
      partition: 'aws',
      roleName: 'OnrampRole',
    });
    expectStatus(explicit, 201);
    expect(explicit.body.roleName).toBe('OnrampRole');
    const again = await second.admin.request('POST', '/v1/connections', {
      name: 'Explicit too',
      partition: 'aws',
      roleName: 'OnrampRole',
    });
    deploy(aws, customer, await template(first.admin, explicit.body.id));
    let refused: unknown;
    try {
      deploy(aws, customer, await template(second.admin, again.body.id));
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ code: 'EntityAlreadyExists' });
  });
});
