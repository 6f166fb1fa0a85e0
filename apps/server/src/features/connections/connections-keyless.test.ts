/**
 * Keyless connections (`oidc_role`) through the API, on SQLite and PostgreSQL: offered only where
 * Onramp has an issuer and the tenant's limits allow them; what the view says a role must trust; the
 * wizard's Back and another method (same id, subject and external ID); what a viewer, another tenant
 * and an operator who later removes the issuer see.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import { createFakeTemplateStore } from '../../testing/fake-template-store.ts';
import {
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';

const ISSUER = 'https://onramp.example.test/oidc';

describe.each(TEST_DIALECTS)('keyless connections on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;

  beforeAll(async () => {
    const templates = createFakeTemplateStore();
    h = await createHarness(dialect, {
      publicUrl: 'https://onramp.example.test',
      templates: templates.store,
      templateBuckets: { aws: 'onramp-templates', 'aws-us-gov': 'onramp-templates-gov' },
    });
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  const create = async (tenant: TestTenant, body: Record<string, unknown> = {}) => {
    const response = await tenant.admin.request('POST', '/v1/connections', {
      name: `Keyless ${Math.random().toString(36).slice(2, 8)}`,
      partition: 'aws',
      method: 'oidc_role',
      ...body,
    });
    expectStatus(response, 201);
    return response.body;
  };

  it.each([
    ['aws', 'sts.amazonaws.com'],
    ['aws-us-gov', 'sts.amazonaws.com'],
    // aws-cn has no hub in the harness: a keyless role needs none.
    ['aws-cn', 'sts.amazonaws.com.cn'],
  ] as const)(
    'in %s shows what the role trusts, and no hub or external ID',
    async (partition, audience) => {
      const c = await create(a, { partition });
      const prefix = 'onramp.example.test/oidc';
      expect(c).toMatchObject({
        method: 'oidc_role',
        partition,
        externalId: null,
        trustedPrincipal: null,
        unavailableReason: null,
        webIdentity: {
          issuer: ISSUER,
          audience,
          subject: `tenant:${a.id}:connection:${c.id}`,
          conditionPrefix: prefix,
          providerArnPattern: `arn:${partition}:iam::<your account ID>:oidc-provider/${prefix}`,
        },
        status: 'pending',
        reportsBack: true,
      });
      expect(c.deployCommand).toContain('aws cloudformation deploy');
      for (const link of [
        c.links.cloudformationYaml,
        c.links.cloudformationJson,
        c.links.terraform,
      ]) {
        const template = await a.admin.request(
          'GET',
          new URL(link).pathname + new URL(link).search,
        );
        expectStatus(template, 200);
        // The role trusts Onramp's issuer and this connection's subject, never a hub or an external ID.
        expect(template.text).toContain(prefix);
        expect(template.text).toContain(c.webIdentity.subject);
        expect(template.text).not.toMatch(/ExternalId|external_id/);
      }
      const steps = await a.admin.request('GET', `/v1/connections/${c.id}/steps`);
      expectStatus(steps, 200);
      expect(JSON.stringify(steps.body.steps)).toContain(c.webIdentity.subject);
    },
  );

  it('renders a CloudFormation template with the call-back and a quick-create link like a role', async () => {
    const c = await create(a);
    expect(c.links.quickCreate).toMatch(/^https:\/\/console\.aws\.amazon\.com\/cloudformation\//);
    expect(c.quickCreateUnavailableReason).toBeNull();
    const yaml = await a.admin.request('GET', `/v1/connections/${c.id}/cloudformation?format=yaml`);
    const template = parseYaml(yaml.text) as { Resources: Record<string, { Type: string }> };
    const types = Object.values(template.Resources).map((r) => r.Type);
    expect(types).toContain('AWS::IAM::OIDCProvider');
    expect(types).toContain('AWS::IAM::Role');
    expect(types.some((t) => t.startsWith('Custom::'))).toBe(true);
    // A viewer gets the templates without the call-back (it may not connect accounts).
    const viewed = await a.viewer.request('GET', `/v1/connections/${c.id}`);
    expectStatus(viewed, 200);
    expect(viewed.body.links.quickCreate).toBeNull();
    expect(viewed.body.reportsBack).toBe(false);
  });

  it('refuses oidc_role where the tenant’s limits do not allow it, on method', async () => {
    const rolesOnly = await h.tenant(undefined, { methods: ['role'] });
    const response = await rolesOnly.admin.request('POST', '/v1/connections', {
      name: 'Keyless',
      partition: 'aws',
      method: 'oidc_role',
    });
    expectProblem(response, 422, 'method');
    expect(response.body).toMatchObject({ limit: 'methods' });
  });

  it('keeps the id, subject and external ID across Back and another method', async () => {
    const role = await a.admin.request('POST', '/v1/connections', {
      name: 'Back and forth',
      partition: 'aws',
    });
    expectStatus(role, 201);
    const { id, externalId } = role.body;
    const keyless = await a.admin.request('PATCH', `/v1/connections/${id}`, {
      method: 'oidc_role',
    });
    expectStatus(keyless, 200);
    expect(keyless.body).toMatchObject({
      id,
      method: 'oidc_role',
      externalId: null,
      trustedPrincipal: null,
      webIdentity: { subject: `tenant:${a.id}:connection:${id}` },
    });
    // A double submit (or a reload and the same choice) changes nothing.
    const again = await a.admin.request('PATCH', `/v1/connections/${id}`, { method: 'oidc_role' });
    expectStatus(again, 200);
    expect(again.body).toEqual(keyless.body);
    const back = await a.admin.request('PATCH', `/v1/connections/${id}`, { method: 'role' });
    expectStatus(back, 200);
    // A role made from the first template still trusts this external ID.
    expect(back.body).toMatchObject({ id, method: 'role', externalId, webIdentity: null });
    expect(back.body.trustedPrincipal).not.toBeNull();
    const reloaded = await a.admin.request('GET', `/v1/connections/${id}`);
    expect(reloaded.body).toMatchObject({ id, method: 'role', externalId });
    // The role the tenant made from the first template (trusting that external ID) connects.
    const roleArn = `arn:aws:iam::${String(Date.now()).slice(-12).padStart(12, '7')}:role/OnrampRole`;
    h.aws.addRole(roleArn, externalId);
    const connected = await a.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: id,
      roleArn,
    });
    expectStatus(connected, 201);
    expect(connected.body).toMatchObject({ method: 'role', connectionId: id });
    // Connected, its method is settled.
    const late = await a.admin.request('PATCH', `/v1/connections/${id}`, { method: 'oidc_role' });
    expectProblem(late, 409, 'connectionId');
  });

  it('refuses a change to role where the partition has no hub, and keeps the set-up as it was', async () => {
    const c = await create(a, { partition: 'aws-cn' });
    const response = await a.admin.request('PATCH', `/v1/connections/${c.id}`, { method: 'role' });
    expectProblem(response, 422, 'method');
    expect(response.body.errors[0]).toMatchObject({ code: 'hub_not_configured' });
    const reloaded = await a.admin.request('GET', `/v1/connections/${c.id}`);
    expect(reloaded.body.method).toBe('oidc_role');
  });

  it('has no external ID to regenerate', async () => {
    const c = await create(a);
    const response = await a.admin.request('POST', `/v1/connections/${c.id}/external-id`);
    expectProblem(response, 422, 'method');
    expect(response.body.errors[0].hint).toContain('method: role');
  });

  it('is not another tenant’s or a viewer’s to change', async () => {
    const c = await create(a);
    await expectSecured(
      h,
      { method: 'PATCH', url: `/v1/connections/${c.id}`, body: { method: 'role' } },
      { forbidden: [a.viewer], otherTenant: [b.admin] },
    );
    await expectSecured(
      h,
      { method: 'GET', url: `/v1/connections/${c.id}/terraform` },
      { otherTenant: [b.admin, b.viewer] },
    );
    const unchanged = await a.admin.request('GET', `/v1/connections/${c.id}`);
    expect(unchanged.body.method).toBe('oidc_role');
  });

  describe('without an issuer', () => {
    let bare: Harness;
    let tenant: TestTenant;

    beforeAll(async () => {
      // The same database, served by an Onramp whose operator has since removed the issuer.
      bare = await createHarness(
        dialect,
        { publicUrl: 'http://onramp.internal:8080' },
        { database: h.database },
      );
      tenant = a;
    });
    afterAll(async () => {
      await bare?.close();
    });

    it('does not offer oidc_role, and says why and what to do, on method', async () => {
      const refused = await bare.send('POST', '/v1/connections', tenant.admin.headers, {
        name: 'Keyless',
        partition: 'aws',
        method: 'oidc_role',
      });
      expectProblem(refused, 422, 'method');
      expect(refused.body.errors[0]).toMatchObject({
        field: 'method',
        code: 'issuer_not_configured',
        message: expect.stringContaining('http://onramp.internal:8080'),
        hint: expect.stringContaining('ONRAMP_PUBLIC_URL'),
      });
    });

    it('shows an existing keyless connection with why it cannot be made, like a removed hub', async () => {
      const c = await create(tenant);
      const shown = await bare.send('GET', `/v1/connections/${c.id}`, tenant.admin.headers);
      expectStatus(shown, 200);
      expect(shown.body).toMatchObject({
        method: 'oidc_role',
        webIdentity: null,
        trustedPrincipal: null,
        unavailableReason: expect.stringContaining('http://onramp.internal:8080'),
        deployCommand: null,
        reportsBack: false,
        links: { quickCreate: null },
      });
      for (const path of ['cloudformation?format=yaml', 'terraform', 'steps']) {
        const template = await bare.send(
          'GET',
          `/v1/connections/${c.id}/${path}`,
          tenant.admin.headers,
        );
        expectProblem(template, 422, 'method');
      }
    });
  });
});
