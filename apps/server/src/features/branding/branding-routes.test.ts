import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  type Actor,
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  type TestResponse,
  type TestTenant,
} from '../../testing/harness.ts';

/** A whole 1×1 PNG (signature, IHDR … IEND). */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
const SVG_WITH_SCRIPT = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>',
);
/** A PNG signature, then a web page: what a browser would sniff into HTML without nosniff. */
const PNG_THEN_HTML = Buffer.concat([
  PNG.subarray(0, 8),
  Buffer.from('<html><script>alert(1)</script></html>'),
]);

describe.each(TEST_DIALECTS)('the operator’s brand on %s', (dialect) => {
  let h: Harness;
  let operator: Actor;
  let tenant: TestTenant;

  beforeAll(async () => {
    h = await createHarness(dialect);
    operator = await h.operator();
    tenant = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** The logo upload: the image itself as the body, with the content type given. */
  const putLogo = async (actor: Actor, body: Buffer, contentType: string) => {
    const response = await h.app.inject({
      method: 'PUT',
      url: '/v1/operator/settings/logo',
      headers: { ...actor.headers, 'content-type': contentType },
      payload: body,
    });
    const type = String(response.headers['content-type'] ?? '');
    return {
      status: response.statusCode,
      headers: response.headers,
      text: response.body,
      body: type.includes('json') && response.body ? JSON.parse(response.body) : response.body,
    } satisfies TestResponse;
  };
  const fieldCodes = (response: TestResponse) =>
    (response.body.errors as { field: string; code: string }[]).map((e) => e.field);

  it('is neutral until set: the catalog’s platform name, the neutral colours, no logo or link', async () => {
    const response = await h.anonymous.request('GET', '/v1/branding');
    expectStatus(response, 200);
    expect(response.body).toEqual({
      name: 'Acme Cloud',
      logoUrl: null,
      colors: { primary: '#2f4a6d', accent: '#3c7a5a' },
      supportUrl: null,
    });
    // A rename must show at the next page load: browsers keep no copy.
    expect(response.headers['cache-control']).toBe('no-store');
    const logo = await h.anonymous.request('GET', '/v1/branding/logo');
    expectProblem(logo, 404);
  });

  it('keeps what the operator sets, shows it to everyone, and audits it', async () => {
    const update = await operator.request('PATCH', '/v1/operator/settings', {
      brandName: 'Globex Portal',
      colors: { primary: '#AA3300', accent: '#0055aa' },
      supportUrl: 'https://help.globex.example/aws',
      returnUrls: ['https://app.globex.example', 'https://staging.globex.example/settings/aws'],
    });
    expectStatus(update, 200);
    expect(update.body).toMatchObject({
      branding: {
        name: 'Globex Portal',
        colors: { primary: '#aa3300', accent: '#0055aa' },
        supportUrl: 'https://help.globex.example/aws',
      },
      returnUrls: ['https://app.globex.example', 'https://staging.globex.example/settings/aws'],
      configuredReturnUrls: [],
      fromConfiguration: [],
    });

    // Anyone sees the brand (sign-in page, hosted sessions); the allow-list reaches the port.
    const seen = await h.anonymous.request('GET', '/v1/branding');
    expect(seen.body).toMatchObject({
      name: 'Globex Portal',
      supportUrl: update.body.branding.supportUrl,
    });
    expect(await h.services.branding.returnUrls()).toEqual(update.body.returnUrls);

    // A field left out stays as it was; null removes the link.
    const partial = await operator.request('PATCH', '/v1/operator/settings', { supportUrl: null });
    expectStatus(partial, 200);
    expect(partial.body.branding).toMatchObject({ name: 'Globex Portal', supportUrl: null });
    const read = await operator.request('GET', '/v1/operator/settings');
    expect(read.body).toEqual(partial.body);

    const audit = await operator.request('GET', '/v1/audit');
    expectStatus(audit, 200);
    const entries = (
      audit.body.entries as { action: string; details: Record<string, unknown> }[]
    ).filter((e) => e.action === 'branding.updated');
    expect(entries.map((e) => e.details)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ brandName: 'Globex Portal' }),
        { supportUrl: null },
      ]),
    );
    // Not in the tenant's log: the brand is the operator's.
    const tenantAudit = await tenant.admin.request('GET', '/v1/audit');
    expect(JSON.stringify(tenantAudit.body)).not.toContain('branding.updated');
  });

  it('serves the uploaded logo as an image that cannot run, and removes it', async () => {
    const upload = await putLogo(operator, PNG, 'image/png');
    expectStatus(upload, 200);
    const logoUrl = upload.body.branding.logoUrl as string;
    expect(logoUrl).toMatch(/^\/v1\/branding\/logo\?v=[0-9a-f]{16}$/);

    const served = await h.app.inject({ method: 'GET', url: logoUrl });
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe('image/png');
    expect(served.headers['x-content-type-options']).toBe('nosniff');
    expect(String(served.headers['content-security-policy'])).toMatch(/^default-src 'none'/);
    expect(served.headers['cache-control']).toBe('public, max-age=300');
    expect(Buffer.compare(served.rawPayload, PNG)).toBe(0);

    const removed = await operator.request('DELETE', '/v1/operator/settings/logo');
    expectStatus(removed, 200);
    expect(removed.body.branding.logoUrl).toBeNull();
    expectProblem(await h.anonymous.request('GET', '/v1/branding/logo'), 404);
    const actions = (await operator.request('GET', '/v1/audit')).body.entries.map(
      (e: { action: string }) => e.action,
    );
    expect(actions).toEqual(
      expect.arrayContaining(['branding.logo_uploaded', 'branding.logo_removed']),
    );
  });

  it('refuses hostile logos, naming the field, and keeps the one it had', async () => {
    expectStatus(await putLogo(operator, PNG, 'image/png'), 200);
    const before = (await h.anonymous.request('GET', '/v1/branding')).body.logoUrl;

    const svg = await putLogo(operator, SVG_WITH_SCRIPT, 'image/svg+xml');
    expectProblem(svg, 422, 'logo');
    expect(svg.body.errors[0].message).toMatch(/SVG/);
    // The same SVG claiming to be a PNG: its bytes say otherwise.
    expectProblem(await putLogo(operator, SVG_WITH_SCRIPT, 'image/png'), 422, 'logo');
    expectProblem(await putLogo(operator, PNG_THEN_HTML, 'image/png'), 422, 'logo');
    // A real PNG sent as JPEG.
    expectProblem(await putLogo(operator, PNG, 'image/jpeg'), 422, 'logo');
    const big = Buffer.concat([PNG.subarray(0, 33), Buffer.alloc(300 * 1024), PNG.subarray(33)]);
    const tooBig = await putLogo(operator, big, 'image/png');
    expectProblem(tooBig, 413, 'logo');
    expectProblem(await putLogo(operator, Buffer.alloc(0), 'image/png'), 422, 'logo');
    expectProblem(await putLogo(operator, Buffer.from('{}'), 'application/json'), 415, 'logo');

    expect((await h.anonymous.request('GET', '/v1/branding')).body.logoUrl).toBe(before);
  });

  it('refuses a support link that is not https or mailto, and unsafe names and return URLs', async () => {
    for (const supportUrl of ['javascript:alert(1)', 'http://help.example', 'data:text/html,x']) {
      const response = await operator.request('PATCH', '/v1/operator/settings', { supportUrl });
      expectProblem(response, 422, 'supportUrl');
    }
    expectStatus(
      await operator.request('PATCH', '/v1/operator/settings', {
        supportUrl: 'mailto:help@globex.example',
      }),
      200,
    );
    const name = await operator.request('PATCH', '/v1/operator/settings', {
      brandName: 'Globex\u0007 Portal',
    });
    expectProblem(name, 400, 'brandName');
    const bidi = await operator.request('PATCH', '/v1/operator/settings', {
      brandName: 'Globex \u202ePortal',
    });
    expectProblem(bidi, 400, 'brandName');
    const urls = await operator.request('PATCH', '/v1/operator/settings', {
      returnUrls: ['https://ok.example', 'http://evil.example', 'https://user:pw@x.example'],
    });
    expectProblem(urls, 422, 'returnUrls[1]');
    expect(fieldCodes(urls)).toEqual(['returnUrls[1]', 'returnUrls[2]']);
    const colors = await operator.request('PATCH', '/v1/operator/settings', {
      colors: { primary: 'red', accent: '#00ff00' },
    });
    expectProblem(colors, 400, 'colors.primary');
    // Nothing of a refused change was kept.
    expect((await h.anonymous.request('GET', '/v1/branding')).body).toMatchObject({
      name: 'Globex Portal',
      supportUrl: 'mailto:help@globex.example',
    });
  });

  it('lets only the operator read or change the settings', async () => {
    const viewerToken = await tenant.token(['accounts:read']);
    const adminToken = await tenant.token(['accounts:read', 'accounts:write', 'admin']);
    const forbidden = [tenant.viewer, tenant.admin, viewerToken, adminToken];
    await expectSecured(h, { method: 'GET', url: '/v1/operator/settings' }, { forbidden });
    await expectSecured(
      h,
      { method: 'PATCH', url: '/v1/operator/settings', body: { brandName: 'Mine now' } },
      { forbidden },
    );
    await expectSecured(h, { method: 'DELETE', url: '/v1/operator/settings/logo' }, { forbidden });
    for (const actor of [h.anonymous, ...forbidden]) {
      const response = await putLogo(actor, PNG, 'image/png');
      expect(response.status, `${actor.label}: ${response.text}`).toBe(
        actor === h.anonymous ? 401 : 403,
      );
    }
    expect((await h.anonymous.request('GET', '/v1/branding')).body.name).toBe('Globex Portal');
  });

  it('names the renamed platform in the next template and steps, and no longer says Onramp', async () => {
    expectStatus(
      await operator.request('PATCH', '/v1/operator/settings', { brandName: 'Initech Cloud' }),
      200,
    );
    const created = await tenant.admin.request('POST', '/v1/connections', {
      name: 'Production',
      partition: 'aws',
    });
    expectStatus(created, 201);
    const id = created.body.id as string;

    const template = await tenant.admin.request('GET', `/v1/connections/${id}/cloudformation`);
    expectStatus(template, 200);
    const cfn = parseYaml(template.text) as {
      Description: string;
      Parameters: Record<string, { Description?: string }>;
      Resources: Record<string, { Type: string; Properties: { Description?: string } }>;
      Outputs: Record<string, { Description: string }>;
    };
    expect(cfn.Description).toMatch(/^Initech Cloud access role for AWS\. Lets Initech Cloud act/);
    const descriptions = [
      cfn.Description,
      ...Object.values(cfn.Parameters).map((p) => p.Description ?? ''),
      ...Object.values(cfn.Outputs).map((o) => o.Description),
      // Managed policies keep the catalog's words: IAM replaces a policy whose description
      // changes, which a named policy in an existing stack cannot survive.
      ...Object.values(cfn.Resources)
        .filter((r) => r.Type !== 'AWS::IAM::ManagedPolicy')
        .map((r) => r.Properties.Description ?? ''),
    ].join('\n');
    expect(descriptions).toContain('Initech Cloud');
    expect(descriptions).not.toMatch(/Onramp/);
    expect(descriptions).not.toContain('Acme Cloud');

    const steps = await tenant.admin.request('GET', `/v1/connections/${id}/steps`);
    expectStatus(steps, 200);
    const text = (steps.body.steps as { title: string; detail: string }[])
      .map((s) => `${s.title}\n${s.detail}`)
      .join('\n');
    expect(text).toContain('paste it into Initech Cloud');
    expect(text).not.toMatch(/Onramp|Acme Cloud/);

    const terraform = await tenant.admin.request('GET', `/v1/connections/${id}/terraform`);
    expect(terraform.text).toContain(
      '# Initech Cloud access role for AWS, generated by Initech Cloud.',
    );

    const user = await tenant.admin.request('POST', '/v1/catalog/user-template', {
      partition: 'aws',
      bundles: 'default',
    });
    expectStatus(user, 200);
    const userText = (user.body.steps as { title: string; detail: string }[])
      .map((s) => `${s.title}\n${s.detail}`)
      .join('\n');
    expect(userText).not.toMatch(/Onramp/);
    expect(parseYaml(user.body.cloudformation.yaml).Description).toMatch(/Initech Cloud/);
  });
});

describe.each(TEST_DIALECTS)('the brand across replicas on %s', (dialect) => {
  let a: Harness;
  let b: Harness;
  let now = Date.parse('2026-12-03T10:00:00.000Z');

  beforeAll(async () => {
    a = await createHarness(dialect);
    // A second replica on the same database, with a clock the test moves.
    b = await createHarness(dialect, { clock: () => new Date(now) }, { database: a.database });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('shows its own change at once, and another replica’s within 5 seconds', async () => {
    const brandOn = async (h: Harness) => (await h.anonymous.request('GET', '/v1/branding')).body;
    expect((await brandOn(b)).name).toBe('Acme Cloud');
    const operator = await a.operator();
    expectStatus(
      await operator.request('PATCH', '/v1/operator/settings', { brandName: 'Hooli Cloud' }),
      200,
    );
    expect((await brandOn(a)).name).toBe('Hooli Cloud');
    // Replica b read the brand a moment ago: it may keep it for up to 5 s, not longer.
    expect((await brandOn(b)).name).toBe('Acme Cloud');
    now += 5_000;
    expect((await brandOn(b)).name).toBe('Hooli Cloud');
  });
});

describe.each(TEST_DIALECTS)('a brand set by configuration on %s', (dialect) => {
  let h: Harness;
  let operator: Actor;

  beforeAll(async () => {
    h = await createHarness(dialect, {
      brandConfig: {
        name: 'Configured Co',
        colors: { primary: '#112233' },
        logo: { contentType: 'image/png', bytes: new Uint8Array(PNG) },
        returnUrls: ['https://app.configured.example'],
      },
    });
    operator = await h.operator();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('wins over the settings page, which says so and refuses to change it', async () => {
    const settings = await operator.request('GET', '/v1/operator/settings');
    expectStatus(settings, 200);
    expect(settings.body).toMatchObject({
      branding: {
        name: 'Configured Co',
        colors: { primary: '#112233', accent: '#3c7a5a' },
        logoUrl: expect.stringMatching(/^\/v1\/branding\/logo\?v=/),
      },
      configuredReturnUrls: ['https://app.configured.example'],
      fromConfiguration: ['brandName', 'colors', 'logo', 'returnUrls'],
    });
    const rename = await operator.request('PATCH', '/v1/operator/settings', {
      brandName: 'Page Name',
    });
    expectProblem(rename, 422, 'brandName');
    expectProblem(
      await operator.request('PATCH', '/v1/operator/settings', {
        colors: { primary: '#000000', accent: '#ffffff' },
      }),
      422,
      'colors',
    );
    expectProblem(await operator.request('DELETE', '/v1/operator/settings/logo'), 422, 'logo');

    // What configuration leaves open the page still sets; both allow-lists apply.
    const more = await operator.request('PATCH', '/v1/operator/settings', {
      supportUrl: 'https://help.configured.example',
      returnUrls: ['https://other.configured.example/aws'],
    });
    expectStatus(more, 200);
    expect(await h.services.branding.returnUrls()).toEqual([
      'https://app.configured.example',
      'https://other.configured.example/aws',
    ]);
    const brand = await h.anonymous.request('GET', '/v1/branding');
    expect(brand.body).toMatchObject({
      name: 'Configured Co',
      supportUrl: 'https://help.configured.example',
    });
    const logo = await h.app.inject({ method: 'GET', url: '/v1/branding/logo' });
    expect(logo.headers['content-type']).toBe('image/png');
  });
});
