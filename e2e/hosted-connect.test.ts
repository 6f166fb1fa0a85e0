/**
 * A hosted connect session in a real browser (Debian's chromium) against the real server and the
 * loopback AWS: the platform (Acme Cloud) asks for a link, its customer opens it in another browser,
 * connects access keys under Acme Cloud's brand and returns to the platform with the outcome; the
 * link then shows a clear page in a third browser. Screenshots of the branded pages go to
 * docs/screenshots.
 */

import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { deployStack, type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { bundlePolicy, createHub, hubEnvironment } from '@onramp/server/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  apiFrom,
  buildConsole,
  launchBrowser,
  linesNamingOnramp,
  screenshot,
  setUpOperatorAndTenant,
} from './browser.ts';
import { type RunningServer, startServer } from './server-process.ts';

const CUSTOMER = '444455556666';
const ROLE_CUSTOMER = '777788889999';
const OPERATOR = { email: 'ops@example.com', name: 'Olivia Operator', password: 'operator pw 12' };
const ADMIN = { email: 'ada@acme.example', name: 'Ada Admin', password: 'tenant admin password' };
const STEP_TIMEOUT = 90_000;
const BRAND = { name: 'Acme Cloud', primary: '#7b2d8e', accent: '#e07a1f' };

const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
  actions: createIamDataActionIndex(),
});
/** The session offers the partition's defaults, preselected, and one more to choose. */
const DEFAULTS = catalog.defaultBundles('aws').map((b) => b.id);
const EXTRA = [...catalog.bundles.values()].find((b) => !DEFAULTS.includes(b.id))?.id ?? '';

describe('a hosted connect session, in chromium', () => {
  let aws: LoopbackAws;
  let server: RunningServer;
  let platform: Server;
  let platformUrl = '';
  let browser: Browser;
  let admin: Page;
  let customer: Page;
  let link = '';
  let sessionId = '';
  const browserLog: string[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    await buildConsole();
    aws = await startLoopbackAws();
    aws.createAccount('aws', CUSTOMER);
    const { user: hub } = createHub(aws, 'aws');
    // Quick-create templates live in the operator's bucket (the AWS console takes them from S3).
    aws.createBucket('aws', 'acme-onboarding-templates');
    // The platform's page the customer returns to.
    platform = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<!doctype html><title>Acme Cloud</title><h1>Back in Acme Cloud</h1>');
    });
    await new Promise<void>((resolve) => platform.listen(0, '127.0.0.1', resolve));
    platformUrl = `http://127.0.0.1:${(platform.address() as AddressInfo).port}/settings/aws`;
    // A public URL (on a port chosen first), so a stack made from the session reports back.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const chosen = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(chosen));
      });
    });
    server = await startServer({
      PORT: String(port),
      ONRAMP_PUBLIC_URL: `http://localhost:${port}`,
      ONRAMP_DATA_DIR: mkdtempSync(join(tmpdir(), 'onramp-hosted-')),
      AWS_ENDPOINT_URL: aws.url,
      LOG_LEVEL: 'warn',
      ONRAMP_CONNECT_RETURN_URLS: platformUrl,
      ONRAMP_TEMPLATE_BUCKET_AWS: 'acme-onboarding-templates',
      ONRAMP_BRAND_NAME: BRAND.name,
      ONRAMP_BRAND_PRIMARY_COLOR: BRAND.primary,
      ONRAMP_BRAND_ACCENT_COLOR: BRAND.accent,
      ONRAMP_BRAND_SUPPORT_URL: 'https://help.acme.example/aws',
      ONRAMP_BRAND_LOGO_FILE: fileURLToPath(new URL('fixtures/acme-logo.png', import.meta.url)),
      ...hubEnvironment('aws', hub),
    });
    const viewport = { width: 1180, height: 820 };
    admin = await (await browser.newContext({ viewport })).newPage();
    customer = await (await browser.newContext({ viewport })).newPage();
    for (const page of [admin, customer]) {
      page.setDefaultTimeout(15_000);
      page.on('pageerror', (error) => browserLog.push(`page error: ${error.message}`));
    }
  }, 180_000);

  afterEach(async (test) => {
    if (test.task.result?.state !== 'fail' || !customer) return;
    const path = join(tmpdir(), `onramp-hosted-failure-${Date.now()}.png`);
    await customer.screenshot({ path, fullPage: true }).catch(() => {});
    console.error(`Failed at ${customer.url()}; screenshot ${path}\n${browserLog.join('\n')}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await aws?.stop();
    await new Promise((resolve) => platform?.close(resolve));
  });

  /** The platform's backend calls, made here with the tenant admin's session. */
  const api = (method: string, path: string, body?: unknown) => apiFrom(admin, method, path, body);

  /** What the page says never names Onramp. */
  const expectNoOnramp = async (page = customer) =>
    expect(await linesNamingOnramp(page), 'lines naming Onramp').toEqual([]);

  it(
    'the platform asks for a link for its customer',
    async () => {
      await setUpOperatorAndTenant(admin, server, { operator: OPERATOR, admin: ADMIN });
      const made = await api('POST', '/v1/connect-sessions', {
        reference: 'workspace-42',
        returnUrl: platformUrl,
        methods: ['role', 'access_keys'],
        bundles: { choose: [...DEFAULTS, EXTRA], preselected: DEFAULTS },
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      link = String(made.body.url);
      sessionId = String(made.body.id);
      expect(link).toContain(`/connect/${sessionId}#`);
    },
    STEP_TIMEOUT,
  );

  it(
    'the customer connects access keys under the platform’s brand and returns with the outcome',
    async () => {
      const user = aws.createUser('aws', CUSTOMER, 'acme-cloud', {
        policies: {
          acme: bundlePolicy(catalog, {
            partition: 'aws',
            bundles: 'default',
            principal: 'user',
            accountId: CUSTOMER,
          }),
        },
      });
      await customer.goto(link);
      await customer.getByRole('heading', { name: 'Connect your AWS account' }).waitFor();
      // The secret is gone from the address bar; the brand is on the page.
      expect(customer.url()).not.toContain('#');
      await customer.locator('.hosted-name', { hasText: BRAND.name }).waitFor();
      const primary = await customer
        .locator('.hosted')
        .evaluate((element) =>
          element.ownerDocument.defaultView
            ?.getComputedStyle(element)
            .getPropertyValue('--primary')
            .trim(),
        );
      expect(primary).toBe(BRAND.primary);
      expect(await customer.getByRole('navigation').count()).toBe(0);
      await expectNoOnramp();
      // The platform's logo, as the operator configured it (ONRAMP_BRAND_LOGO_FILE).
      const logo = customer.locator('img.hosted-logo');
      await logo.waitFor();
      expect(
        await logo.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
      ).toBe(96);
      await screenshot(customer, 'hosted-connect-start');

      await customer.getByLabel('Account name').fill('Production');
      await customer.getByLabel(/Access keys/).check();
      await customer.getByRole('button', { name: 'Next: permissions' }).click();
      await customer.getByRole('heading', { name: 'Permissions' }).waitFor();
      // The offered bundles by their names; the one not preselected is offered, unticked.
      await customer.getByLabel('Customise').check();
      const extra = catalog.bundles.get(EXTRA);
      expect(await customer.locator(`[data-bundle="${EXTRA}"]`).innerText()).toContain(extra?.name);
      expect(await customer.locator(`[data-bundle="${EXTRA}"] input`).isChecked()).toBe(false);
      await customer.getByLabel('Default permissions').check();
      await expectNoOnramp();
      await screenshot(customer, 'hosted-connect-permissions');
      // A reload keeps the step and the choices, through the session's cookie.
      await customer.reload();
      await customer.getByRole('heading', { name: 'Permissions' }).waitFor();
      await customer.getByRole('button', { name: 'Next: access keys' }).click();
      await customer.getByLabel('Access key ID').fill(user.accessKeyId);
      await customer.getByLabel('Secret access key').fill(user.secretAccessKey);
      await customer.getByRole('button', { name: 'Validate' }).click();
      await customer.getByText('Validation passed').waitFor({ timeout: 30_000 });
      await expectNoOnramp();
      await customer.getByRole('button', { name: 'Connect the account' }).click();
      await customer.getByRole('heading', { name: 'Your AWS account is connected' }).waitFor();
      await expectNoOnramp();
      await screenshot(customer, 'hosted-connect-done');
      await customer.getByRole('button', { name: `Return to ${BRAND.name}` }).click();
      await customer.getByRole('heading', { name: 'Back in Acme Cloud' }).waitFor();
      const back = new URL(customer.url());
      expect(back.searchParams.get('connect_session')).toBe(sessionId);
      expect(back.searchParams.get('outcome')).toBe('connected');

      // The platform reads the outcome from the API, not from the query string.
      const read = await api('GET', `/v1/connect-sessions/${sessionId}`);
      expect(read.body.state).toBe('completed');
      expect(String(read.body.accountId)).toMatch(/^acct_/);
    },
    STEP_TIMEOUT,
  );

  it(
    'the link does nothing more in another browser, and the page says why',
    async () => {
      const other = await (await browser.newContext()).newPage();
      await other.goto(link);
      await other.getByRole('heading', { name: 'This link has done its work' }).waitFor();
      expect(other.url()).not.toContain('#');
      expect(await other.locator('body').innerText()).not.toMatch(/Onramp|ONRAMP/);
      // A browser without the session still sees the platform's brand (GET /v1/branding).
      await other.locator('.hosted-name', { hasText: BRAND.name }).waitFor();
      await screenshot(other, 'hosted-connect-used');
      const accounts = await api('GET', '/v1/accounts');
      expect((accounts.body.accounts as unknown[]).length).toBe(1);
    },
    STEP_TIMEOUT,
  );

  it(
    'a role from the session’s own template connects; Back and forward keep one set-up',
    async () => {
      const made = await api('POST', '/v1/connect-sessions', {
        reference: 'workspace-43',
        returnUrl: platformUrl,
        methods: ['role'],
        accountName: 'Staging',
        bundles: { fixed: DEFAULTS },
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const id = String(made.body.id);
      const page = await (
        await browser.newContext({ viewport: { width: 1180, height: 820 } })
      ).newPage();
      page.on('pageerror', (error) => browserLog.push(`page error: ${error.message}`));
      await page.goto(String(made.body.url));
      await page.getByRole('heading', { name: 'Connect your AWS account' }).waitFor();
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page.getByText('they are set for you').waitFor();
      await page.getByRole('button', { name: 'Create the role set-up' }).click();
      await page.getByRole('heading', { name: 'Create the role' }).waitFor();
      const externalId = async () =>
        (
          await page
            .locator('.create-role .facts > div', { hasText: 'External ID' })
            .locator('code')
            .first()
            .innerText()
        ).trim();
      const first = await externalId();
      await expectNoOnramp(page);
      await screenshot(page, 'hosted-connect-role');
      await page.goBack();
      await page.getByRole('heading', { name: 'Permissions' }).waitFor();
      await page.getByRole('button', { name: 'Create the role set-up' }).click();
      await page.getByRole('heading', { name: 'Create the role' }).waitFor();
      expect(await externalId()).toBe(first);

      // The customer deploys the template the page offers (downloaded with the session's cookie).
      const template = await page.evaluate(
        async (path) => (await fetch(path)).text(),
        `/v1/connect/sessions/${id}/connection/cloudformation?format=yaml`,
      );
      aws.createAccount('aws', ROLE_CUSTOMER);
      const stack = deployStack(aws, { partition: 'aws', accountId: ROLE_CUSTOMER, template });
      await page.getByText(/Waiting for your stack/).waitFor();
      // The stack's call-back, as the deployed function sends it; the waiting page completes.
      const callback = stack.customResources[0]?.properties as { Token: string; RoleArn: string };
      const reported = await fetch(`${server.url}/v1/callbacks/cloudformation`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          requestType: 'Create',
          token: callback.Token,
          roleArn: callback.RoleArn,
          stackId: stack.stackId,
        }),
      });
      expect(reported.status).toBe(200);
      await page.getByRole('heading', { name: 'Your AWS account is connected' }).waitFor();
      await expectNoOnramp(page);

      const read = await api('GET', `/v1/connect-sessions/${id}`);
      expect(read.body).toMatchObject({ state: 'completed', outcome: 'connected' });
      // The session's set-up was one, and it is not among the tenant's pending ones.
      const pending = await api('GET', '/v1/connections?status=pending');
      expect(pending.body.connections).toEqual([]);
    },
    STEP_TIMEOUT,
  );
});
