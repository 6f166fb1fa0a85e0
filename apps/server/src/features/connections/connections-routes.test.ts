import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildApp } from '../../app.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import { createFakeTemplateStore } from '../../testing/fake-template-store.ts';
import {
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  HUB_ACCOUNT,
  type TestTenant,
} from '../../testing/harness.ts';
import { createServices } from '../../wiring.ts';

const EXTERNAL_ID = /^onramp-[A-Za-z0-9_-]{43}$/;

describe.each(TEST_DIALECTS)('connections on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;

  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  const createConnection = async (tenant: TestTenant, body: Record<string, unknown> = {}) => {
    const response = await tenant.admin.request('POST', '/v1/connections', {
      name: `Production ${randomAccount()}`,
      partition: 'aws',
      ...body,
    });
    expectStatus(response, 201);
    return response.body;
  };

  /** Deploys the connection's role in the fake AWS and connects it as an account. */
  const connect = async (tenant: TestTenant, connection: { id: string; externalId: string }) => {
    const roleArn = `arn:aws:iam::${randomAccount()}:role/OnrampRole`;
    h.aws.addRole(roleArn, connection.externalId);
    const response = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.id,
      roleArn,
    });
    expectStatus(response, 201);
    return response.body;
  };

  it('creates a set-up with a generated external ID, the hub to trust, links and the deploy command', async () => {
    const response = await a.admin.request('POST', '/v1/connections', {
      name: 'Production (EU)',
      description: 'Main account',
      partition: 'aws',
      bundles: ['nodes-ec2', 'cost-inventory'],
      regions: ['eu-west-1', 'eu-central-1'],
    });
    expectStatus(response, 201);
    const c = response.body;
    expect(c).toMatchObject({
      id: expect.stringMatching(/^con_/),
      name: 'Production (EU)',
      description: 'Main account',
      partition: 'aws',
      bundles: ['cost-inventory', 'nodes-ec2'],
      regions: ['eu-central-1', 'eu-west-1'],
      // Unique per connection, so two connections to one AWS account deploy side by side.
      roleName: `OnrampRole-${c.id.slice(-8)}`,
      externalId: expect.stringMatching(EXTERNAL_ID),
      trustedPrincipal: {
        arn: `arn:aws:iam::${HUB_ACCOUNT}:role/onramp-hub`,
        accountId: HUB_ACCOUNT,
      },
      status: 'pending',
      accountId: null,
      links: {
        cloudformationYaml: `/v1/connections/${c.id}/cloudformation?format=yaml`,
        cloudformationJson: `/v1/connections/${c.id}/cloudformation?format=json`,
        terraform: `/v1/connections/${c.id}/terraform`,
        steps: `/v1/connections/${c.id}/steps`,
        quickCreate: null,
      },
      quickCreateUnavailableReason: expect.stringContaining('no public URL'),
    });
    expect(c.deployCommand).toContain('aws cloudformation deploy');
    expect(c.deployCommand).toContain(`ExternalId=${c.externalId}`);
    expect(c.deployCommand).toContain('onramp-production-eu.yaml');

    const audit = await h.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target_id', '=', c.id)
      .orderBy('seq')
      .execute();
    expect(audit.map((e) => e.action)).toEqual([
      'connection.created',
      'connection.callback_token_issued',
    ]);
    expect(audit[0]).toMatchObject({
      tenant_id: a.id,
      action: 'connection.created',
      actor_type: 'user',
      actor_id: a.admin.userId,
      target_type: 'connection',
      request_id: response.headers['x-request-id'],
      source_ip: expect.any(String),
    });
    expect(audit[0]?.details).not.toContain(c.externalId);
  });

  it('defaults to the partition’s default permissions', async () => {
    const c = await createConnection(a, { partition: 'aws-us-gov' });
    expect(c.bundles.length).toBeGreaterThan(0);
    expect(c.regions).toEqual([]);
    expect(c.trustedPrincipal.arn).toBe(`arn:aws-us-gov:iam::${HUB_ACCOUNT}:role/onramp-hub`);
  });

  it('generates a random external ID per set-up, keeps it on retries, and never takes one from the client', async () => {
    const chosen = 'onramp-chosen-by-the-client';
    const first = await createConnection(a, { externalId: chosen });
    const second = await createConnection(a, { externalId: chosen });
    expect(first.externalId).toMatch(EXTERNAL_ID);
    expect(first.externalId).not.toBe(chosen);
    expect(second.externalId).not.toBe(first.externalId);

    const again = await a.admin.request('GET', `/v1/connections/${first.id}`);
    expectStatus(again, 200);
    expect(again.body.externalId).toBe(first.externalId);
    expect(again.body).toEqual(first);

    const stored = await h.database.db
      .selectFrom('connections')
      .select('external_id')
      .where('id', '=', first.id)
      .executeTakeFirstOrThrow();
    expect(stored.external_id).toBe(first.externalId);
  });

  it('uses the set-up’s external ID when the account is created from it', async () => {
    const c = await createConnection(a);
    const account = await connect(a, c);
    expect(
      h.aws.calls
        .filter((call) => call.target === account.roleArn && call.op.startsWith('assumeRole'))
        .map((call) => call.op),
    ).toEqual(['assumeRole', 'assumeRoleWithoutExternalId', 'assumeRole']);
    // The second call with an external ID is the probe with one no connection has.
    const withIds = h.aws.assumeRoleInputs.filter((input) => input.roleArn === account.roleArn);
    expect(withIds.map((input) => input.externalId)).toEqual([
      c.externalId,
      undefined,
      expect.stringMatching(/^onramp-probe-con_/),
    ]);
    const row = await h.database.db
      .selectFrom('accounts')
      .select(['external_id', 'connection_id'])
      .where('id', '=', account.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ external_id: c.externalId, connection_id: c.id });
    const after = await a.admin.request('GET', `/v1/connections/${c.id}`);
    expect(after.body).toMatchObject({
      status: 'connected',
      accountId: account.id,
      externalId: c.externalId,
    });
  });

  it('refuses bad input, naming the field', async () => {
    expectProblem(
      await a.admin.request('POST', '/v1/connections', {
        name: 'x',
        partition: 'aws',
        bundles: ['nodes-ec2', 'no-such-bundle'],
      }),
      422,
      'bundles[1]',
    );
    expectProblem(
      await a.admin.request('POST', '/v1/connections', {
        name: 'x',
        partition: 'aws',
        regions: ['us-gov-west-1'],
      }),
      422,
      'regions[0]',
    );
    expectProblem(
      await a.admin.request('POST', '/v1/connections', {
        name: 'x',
        partition: 'aws-us-gov',
        bundles: ['nodes-ec2'],
      }),
      422,
      'bundles',
    );
    expectProblem(
      await a.admin.request('POST', '/v1/connections', { name: 'x', partition: 'aws-xx' }),
      400,
      'partition',
    );
    expectProblem(
      await a.admin.request('POST', '/v1/connections', { name: '  ', partition: 'aws' }),
      400,
      'name',
    );
    expectProblem(
      await a.admin.request('POST', '/v1/connections', {
        name: 'x',
        partition: 'aws',
        roleName: 'no spaces',
      }),
      400,
      'roleName',
    );
    expectProblem(await a.admin.request('POST', '/v1/connections', '{"name": '), 400, 'body');
    const count = await h.database.db
      .selectFrom('connections')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('name', '=', 'x')
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });

  it('refuses a partition without a hub identity, saying why', async () => {
    const response = await a.admin.request('POST', '/v1/connections', {
      name: 'China',
      partition: 'aws-cn',
    });
    expectProblem(response, 422, 'partition');
    expect(response.body.errors[0]).toMatchObject({
      code: 'hub_not_configured',
      message: expect.stringContaining('hub identity'),
    });
  });

  it('still lists a connection whose partition lost its hub identity, saying why it cannot be used', async () => {
    const connection = await createConnection(a);
    // The operator restarts Onramp without the aws partition's hub.
    const { aws: _removed, ...others } = h.deps.hubs;
    const app = await buildApp(createServices({ ...h.deps, hubs: others }));
    try {
      const list = await app.inject({
        method: 'GET',
        url: '/v1/connections',
        headers: a.admin.headers,
      });
      expect(list.statusCode).toBe(200);
      const listed = (list.json() as { connections: Record<string, unknown>[] }).connections.find(
        (c) => c.id === connection.id,
      );
      expect(listed).toMatchObject({
        externalId: connection.externalId,
        trustedPrincipal: null,
        deployCommand: null,
        unavailableReason: expect.stringContaining('hub identity'),
        links: expect.objectContaining({ quickCreate: null }),
      });
      const template = await app.inject({
        method: 'GET',
        url: `/v1/connections/${connection.id}/cloudformation`,
        headers: a.admin.headers,
      });
      expect(template.statusCode).toBe(422);
      expect(template.json()).toMatchObject({
        errors: [expect.objectContaining({ field: 'partition', code: 'hub_not_configured' })],
      });
    } finally {
      await app.close();
    }
  });

  it('enforces the tenant’s limits on partitions and methods', async () => {
    const govOnly = await h.tenant(undefined, { partitions: ['aws-us-gov'] });
    const response = await govOnly.admin.request('POST', '/v1/connections', {
      name: 'x',
      partition: 'aws',
    });
    expectProblem(response, 422, 'partition');
    expect(response.body).toMatchObject({
      type: 'urn:onramp:problem:limit_reached',
      limit: 'partitions',
    });

    const keysOnly = await h.tenant(undefined, { methods: ['access_keys'] });
    const refused = await keysOnly.admin.request('POST', '/v1/connections', {
      name: 'x',
      partition: 'aws',
    });
    expectProblem(refused, 422);
    expect(refused.body).toMatchObject({
      type: 'urn:onramp:problem:limit_reached',
      limit: 'methods',
    });
  });

  it('lists only the tenant’s own set-ups', async () => {
    const mine = await createConnection(b, { name: 'B only' });
    const listB = await b.viewer.request('GET', '/v1/connections');
    expectStatus(listB, 200);
    expect(listB.body.connections.map((c: { id: string }) => c.id)).toEqual([mine.id]);
    const listA = await a.viewer.request('GET', '/v1/connections');
    expectStatus(listA, 200);
    expect(listA.body.connections.length).toBeGreaterThan(0);
    expect(listA.body.connections.map((c: { id: string }) => c.id)).not.toContain(mine.id);
  });

  it('serves the templates and steps, each with the set-up’s external ID', async () => {
    const c = await createConnection(a, { name: 'Templates', roleName: 'AcmeAccess' });

    const yaml = await a.viewer.request('GET', c.links.cloudformationYaml);
    expectStatus(yaml, 200);
    expect(yaml.headers['content-type']).toContain('text/yaml');
    expect(yaml.headers['content-disposition']).toBe(
      'attachment; filename="onramp-templates.yaml"',
    );
    const template = parseYaml(yaml.text);
    expect(template.Parameters.ExternalId.Default).toBe(c.externalId);
    expect(template.Parameters.RoleName.Default).toBe('AcmeAccess');
    expect(yaml.text).toContain(`arn:aws:iam::${HUB_ACCOUNT}:root`);

    const json = await a.viewer.request('GET', c.links.cloudformationJson);
    expectStatus(json, 200);
    expect(json.headers['content-type']).toContain('application/json');
    expect(json.headers['content-disposition']).toBe(
      'attachment; filename="onramp-templates.json"',
    );
    expect(JSON.parse(json.text).Parameters.ExternalId.Default).toBe(c.externalId);

    const tf = await a.viewer.request('GET', c.links.terraform);
    expectStatus(tf, 200);
    expect(tf.headers['content-type']).toContain('text/plain');
    expect(tf.headers['content-disposition']).toBe('attachment; filename="onramp-templates.tf"');
    expect(tf.text).toContain(c.externalId);

    const steps = await a.viewer.request('GET', c.links.steps);
    expectStatus(steps, 200);
    const values = steps.body.steps.flatMap((s: { values: { value: string }[] }) =>
      s.values.map((v) => v.value),
    );
    expect(values).toContain(c.externalId);
    expect(steps.body.policies.length).toBeGreaterThan(0);
    expect(steps.body.policies[0]).toMatchObject({
      name: 'AcmeAccess-permissions-1',
      document: { Version: '2012-10-17' },
    });

    expectProblem(
      await a.viewer.request('GET', `/v1/connections/${c.id}/cloudformation?format=xml`),
      400,
      'format',
    );
  });

  it('regenerates the external ID while pending, and refuses once connected', async () => {
    const c = await createConnection(a);
    const response = await a.admin.request('POST', `/v1/connections/${c.id}/external-id`);
    expectStatus(response, 200);
    expect(response.body.externalId).toMatch(EXTERNAL_ID);
    expect(response.body.externalId).not.toBe(c.externalId);
    const template = await a.viewer.request(
      'GET',
      `/v1/connections/${c.id}/cloudformation?format=json`,
    );
    expect(JSON.parse(template.text).Parameters.ExternalId.Default).toBe(response.body.externalId);

    await connect(a, response.body);
    expectProblem(
      await a.admin.request('POST', `/v1/connections/${c.id}/external-id`),
      409,
      'connectionId',
    );
    expectProblem(await a.admin.request('DELETE', `/v1/connections/${c.id}`), 409, 'connectionId');
    const actions = await h.database.db
      .selectFrom('audit_log')
      .select('action')
      .where('target_id', '=', c.id)
      .orderBy('seq')
      .execute();
    expect(actions.map((r) => r.action)).toEqual([
      'connection.created',
      'connection.callback_token_issued',
      'connection.external_id_regenerated',
      'connection.callback_token_issued',
    ]);
  });

  it('deletes a pending set-up', async () => {
    const c = await createConnection(a);
    const response = await a.admin.request('DELETE', `/v1/connections/${c.id}`);
    expectStatus(response, 204);
    expectProblem(await a.admin.request('GET', `/v1/connections/${c.id}`), 404);
    // Its callback token goes with it: the row (by the foreign key) and the sealed copy.
    for (const table of ['callback_tokens', 'secrets'] as const) {
      const left = await h.database.db
        .selectFrom(table)
        .select('id')
        .where(table === 'secrets' ? 'owner_id' : 'connection_id', '=', c.id)
        .execute();
      expect(left, `${table} still holds the deleted connection's token`).toEqual([]);
    }
    const audit = await h.database.db
      .selectFrom('audit_log')
      .select('action')
      .where('target_id', '=', c.id)
      .where('action', '=', 'connection.deleted')
      .execute();
    expect(audit).toHaveLength(1);
  });

  it('lets the operator act on a tenant it names, and only then', async () => {
    const operator = await h.operator();
    const c = await createConnection(a);
    const named = await operator.request('GET', `/v1/connections/${c.id}`, undefined, {
      'onramp-tenant': a.id,
    });
    expectStatus(named, 200);
    expectProblem(await operator.request('GET', `/v1/connections/${c.id}`), 400, 'Onramp-Tenant');
    expectProblem(
      await operator.request('GET', `/v1/connections/${c.id}`, undefined, {
        'onramp-tenant': b.id,
      }),
      404,
    );
    const created = await operator.request(
      'POST',
      '/v1/connections',
      { name: 'By operator', partition: 'aws' },
      { 'onramp-tenant': b.id },
    );
    expectStatus(created, 201);
    expectProblem(
      await a.admin.request('GET', '/v1/connections', undefined, { 'onramp-tenant': b.id }),
      403,
    );
  });

  it('secures every route: sign-in, role or scope, and tenant', async () => {
    const c = await createConnection(a);
    const readOnly = [await a.token(['credentials:vend'])];
    const writers = [a.viewer, await a.token(['accounts:read'])];
    const other = [b.admin, b.viewer];
    await expectSecured(
      h,
      { method: 'POST', url: '/v1/connections', body: { name: 'x', partition: 'aws' } },
      { forbidden: writers },
    );
    await expectSecured(h, { method: 'GET', url: '/v1/connections' }, { forbidden: readOnly });
    for (const path of [
      '',
      '/cloudformation?format=yaml',
      '/cloudformation?format=json',
      '/terraform',
      '/steps',
    ]) {
      await expectSecured(
        h,
        { method: 'GET', url: `/v1/connections/${c.id}${path}` },
        { forbidden: readOnly, otherTenant: other },
      );
    }
    await expectSecured(
      h,
      { method: 'POST', url: `/v1/connections/${c.id}/external-id` },
      { forbidden: writers, otherTenant: [b.admin] },
    );
    await expectSecured(
      h,
      { method: 'DELETE', url: `/v1/connections/${c.id}` },
      { forbidden: writers, otherTenant: [b.admin] },
    );
    const token = await a.token(['accounts:read', 'accounts:write']);
    expectStatus(await token.request('GET', `/v1/connections/${c.id}`), 200);
    // Nothing of tenant A changed on the way.
    const still = await a.admin.request('GET', `/v1/connections/${c.id}`);
    expect(still.body.externalId).toBe(c.externalId);
  });
});

describe.each(TEST_DIALECTS)('templates and quick-create links on %s', (dialect) => {
  const PUBLIC_URL = 'https://onramp.example.com/';
  const harnesses: Harness[] = [];
  afterAll(async () => {
    await Promise.all(harnesses.map((h) => h.close()));
  });
  /** A harness as an operator configured it: public URL, template buckets, a store for them. */
  const setUp = async (options: {
    publicUrl?: string;
    buckets?: Partial<Record<'aws' | 'aws-us-gov' | 'aws-cn', string>>;
  }) => {
    const templates = createFakeTemplateStore();
    const h = await createHarness(dialect, {
      ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
      templates: templates.store,
      templateBuckets: options.buckets ?? {},
    });
    harnesses.push(h);
    const tenant = await h.tenant();
    const create = async (partition = 'aws') => {
      const response = await tenant.admin.request('POST', '/v1/connections', {
        name: `Quick ${randomAccount()}`,
        partition,
      });
      expectStatus(response, 201);
      return response.body;
    };
    return { h, tenant, templates, create };
  };

  it('serve the template with the stack’s callback and its token only when Onramp has a public URL', async () => {
    const without = await setUp({});
    const plain = await without.create();
    const plainYaml = await without.tenant.viewer.request('GET', plain.links.cloudformationYaml);
    expectStatus(plainYaml, 200);
    const plainTemplate = parseYaml(plainYaml.text);
    expect(Object.keys(plainTemplate.Resources)).not.toContain('Callback');
    expect(Object.keys(plainTemplate.Parameters)).not.toContain('CallbackToken');
    expect(plainYaml.text).not.toContain('onrcb_');

    const withUrl = await setUp({ publicUrl: PUBLIC_URL });
    const c = await withUrl.create();
    const yaml = await withUrl.tenant.admin.request('GET', c.links.cloudformationYaml);
    expectStatus(yaml, 200);
    const template = parseYaml(yaml.text);
    expect(template.Resources.Callback).toMatchObject({
      Type: 'Custom::OnrampCallback',
      Properties: {
        CallbackUrl: 'https://onramp.example.com/v1/callbacks/cloudformation',
        Token: { Ref: 'CallbackToken' },
      },
    });
    expect(template.Resources.CallbackFunction.Type).toBe('AWS::Lambda::Function');
    const token = template.Parameters.CallbackToken.Default;
    expect(token).toMatch(/^onrcb_/);
    expect(template.Parameters.CallbackToken.NoEcho).toBe(true);
    const json = await withUrl.tenant.admin.request('GET', c.links.cloudformationJson);
    expect(JSON.parse(json.text).Parameters.CallbackToken.Default).toBe(token);
    // A read-only caller gets the template without the call-back: the token connects roles, and
    // later has the account's stack ask for verifies.
    for (const reader of [withUrl.tenant.viewer, await withUrl.tenant.token(['accounts:read'])]) {
      for (const link of [c.links.cloudformationYaml, c.links.cloudformationJson]) {
        const read = await reader.request('GET', link);
        expectStatus(read, 200);
        expect(read.text).not.toContain('onrcb_');
        expect(read.text).not.toContain('CallbackToken');
        expect(read.text).toContain('AWS::IAM::Role');
      }
    }
    // The token is in the template only: not in the connection as the API shows it.
    const shown = await withUrl.tenant.viewer.request('GET', `/v1/connections/${c.id}`);
    expect(shown.text).not.toContain(token);
    // The deploy command needs nothing more: the token is the parameter's default.
    expect(c.deployCommand).not.toContain('CallbackToken');
  });

  it('offer quick-create only with a template bucket for the partition and a public URL, and say why not', async () => {
    const noUrl = await setUp({ buckets: { aws: 'acme-templates' } });
    const first = await noUrl.create();
    expect(first.links.quickCreate).toBeNull();
    expect(first.quickCreateUnavailableReason).toMatch(/no public URL/);
    expect(noUrl.templates.published).toHaveLength(0);

    const govless = await setUp({ publicUrl: PUBLIC_URL, buckets: { aws: 'acme-templates' } });
    const gov = await govless.create('aws-us-gov');
    expect(gov.links.quickCreate).toBeNull();
    expect(gov.quickCreateUnavailableReason).toMatch(
      /no template bucket in Amazon S3 for AWS GovCloud \(US\)/,
    );

    const c = await govless.create('aws');
    expect(c.quickCreateUnavailableReason).toBeNull();
    const link = new URL(c.links.quickCreate);
    expect(link.host).toBe('console.aws.amazon.com');
    const query = new URLSearchParams(link.hash.split('?')[1]);
    const [published] = govless.templates.published;
    expect(published).toMatchObject({
      partition: 'aws',
      key: expect.stringMatching(new RegExp(`^connections/${c.id}/[0-9a-f]{16}\\.yaml$`)),
    });
    expect(query.get('templateURL')).toBe(
      `https://onramp-templates-aws.s3.example/${published?.key}?X-Amz-Expires=3600&X-Amz-Signature=fake`,
    );
    expect(query.get('param_ExternalId')).toBe(c.externalId);
    // What was published is the callback-enabled template, with the same token as the download.
    const template = parseYaml(published?.body ?? '');
    expect(template.Resources.Callback.Properties.CallbackUrl).toBe(
      'https://onramp.example.com/v1/callbacks/cloudformation',
    );
    const download = await govless.tenant.admin.request('GET', c.links.cloudformationYaml);
    expect(parseYaml(download.text).Parameters.CallbackToken.Default).toBe(
      template.Parameters.CallbackToken.Default,
    );
    // The token is not in the link itself, only in the (private, pre-signed) template.
    expect(c.links.quickCreate).not.toContain(template.Parameters.CallbackToken.Default);

    // The list offers the same.
    const list = await govless.tenant.admin.request('GET', '/v1/connections');
    expectStatus(list, 200);
    const listed = list.body.connections.find((x: { id: string }) => x.id === c.id);
    expect(listed.links.quickCreate).toMatch(/^https:\/\/console\.aws\.amazon\.com\//);
    // A viewer is not given the link (its template carries the call-back token), and is told why.
    const publishedBefore = govless.templates.published.length;
    const viewed = await govless.tenant.viewer.request('GET', `/v1/connections/${c.id}`);
    expectStatus(viewed, 200);
    expect(viewed.body.links.quickCreate).toBeNull();
    expect(viewed.body.reportsBack).toBe(false);
    expect(viewed.body.quickCreateUnavailableReason).toMatch(/may add accounts/);
    const viewerList = await govless.tenant.viewer.request('GET', '/v1/connections');
    expect(
      viewerList.body.connections.find((x: { id: string }) => x.id === c.id).links.quickCreate,
    ).toBeNull();
    expect(govless.templates.published).toHaveLength(publishedBefore);
  });

  it('offer no quick-create for a connected set-up, nor when S3 refuses the template', async () => {
    const { h, tenant, templates, create } = await setUp({
      publicUrl: PUBLIC_URL,
      buckets: { aws: 'acme-templates' },
    });
    const c = await create();
    const roleArn = `arn:aws:iam::${randomAccount()}:role/OnrampRole`;
    h.aws.addRole(roleArn, c.externalId);
    expectStatus(
      await tenant.admin.request('POST', '/v1/accounts', {
        method: 'role',
        connectionId: c.id,
        roleArn,
      }),
      201,
    );
    const connected = await tenant.viewer.request('GET', `/v1/connections/${c.id}`);
    expect(connected.body.links.quickCreate).toBeNull();
    expect(connected.body.quickCreateUnavailableReason).toMatch(/connected/);

    templates.failWith(new Error('AccessDenied'));
    const pending = await create();
    expect(pending.links.quickCreate).toBeNull();
    expect(pending.quickCreateUnavailableReason).toMatch(/could not publish the template/);
    templates.failWith(undefined);
    const again = await tenant.admin.request('GET', `/v1/connections/${pending.id}`);
    expect(again.body.links.quickCreate).toMatch(/quickcreate/);
  });
});

let accountCounter = 0;
function randomAccount(): string {
  accountCounter += 1;
  return String(200000000000 + accountCounter * 7919 + Math.floor(Math.random() * 1000));
}
