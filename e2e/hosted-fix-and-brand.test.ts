/**
 * The operator's brand, set in the console, worn by a hosted fix session, in a real browser (Debian's
 * chromium) against the real server and the loopback AWS. The operator names the product "Globex
 * Portal", gives it colours, a support link and a logo (uploaded), and allows the platform's return
 * URL, all on the Branding tab; nothing of it comes from configuration. A tenant's access-key account
 * goes invalid when its key is deleted; the platform sends its customer a fix link; the customer
 * enters a new key under Globex Portal's brand and returns with `outcome=fixed`. A second link is
 * cancelled by the customer. Screenshots go to docs/screenshots (ONRAMP_SCREENSHOTS=1).
 */

import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { bundlePolicy } from '@onramp/server/testing';
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
const USER = 'globex-portal';
const OPERATOR = { email: 'ops@example.com', name: 'Olivia Operator', password: 'operator pw 12' };
const ADMIN = { email: 'ada@acme.example', name: 'Ada Admin', password: 'tenant admin password' };
const STEP_TIMEOUT = 90_000;
const BRAND = {
  name: 'Globex Portal',
  primary: '#1b6e5a',
  accent: '#c2410c',
  supportUrl: 'https://help.globex.example/aws',
};
const LOGO = fileURLToPath(new URL('fixtures/acme-logo.png', import.meta.url));
const VIEWPORT = { width: 1180, height: 820 };

const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
  actions: createIamDataActionIndex(),
});

describe('the operator’s brand on a hosted fix session, in chromium', () => {
  let aws: LoopbackAws;
  let server: RunningServer;
  let platform: Server;
  let platformUrl = '';
  let browser: Browser;
  let admin: Page;
  let operator: Page;
  let customer: Page;
  let accountId = '';
  let link = '';
  let sessionId = '';
  const browserLog: string[] = [];
  const pages: Page[] = [];

  const newPage = async () => {
    const page = await (await browser.newContext({ viewport: VIEWPORT })).newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => browserLog.push(`page error: ${error.message}`));
    pages.push(page);
    return page;
  };

  beforeAll(async () => {
    browser = await launchBrowser();
    await buildConsole();
    aws = await startLoopbackAws();
    aws.createAccount('aws', CUSTOMER);
    // The platform's page the customer returns to.
    platform = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<!doctype html><title>Globex</title><h1>Back in Globex Portal</h1>');
    });
    await new Promise<void>((resolve) => platform.listen(0, '127.0.0.1', resolve));
    platformUrl = `http://127.0.0.1:${(platform.address() as AddressInfo).port}/integrations/aws`;
    // No brand and no return URL in configuration: the operator sets both in the console.
    server = await startServer({
      ONRAMP_DATA_DIR: mkdtempSync(join(tmpdir(), 'onramp-hosted-fix-')),
      AWS_ENDPOINT_URL: aws.url,
      LOG_LEVEL: 'warn',
    });
    admin = await newPage();
    operator = await newPage();
  }, 180_000);

  afterEach(async (test) => {
    if (test.task.result?.state !== 'fail') return;
    for (const page of pages) {
      const path = join(tmpdir(), `onramp-hosted-fix-failure-${Date.now()}.png`);
      await page.screenshot({ path, fullPage: true }).catch(() => {});
      console.error(`A page at ${page.url()}; screenshot ${path}`);
    }
    console.error(browserLog.join('\n'));
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
  const expectNoOnramp = async (page: Page) =>
    expect(await linesNamingOnramp(page), 'lines naming Onramp').toEqual([]);

  /** The platform's brand in the hosted page: its name, its colour, its logo loaded. */
  const expectBrand = async (page: Page) => {
    await page.locator('.hosted-name', { hasText: BRAND.name }).waitFor();
    const primary = await page
      .locator('.hosted')
      .evaluate((element) =>
        element.ownerDocument.defaultView
          ?.getComputedStyle(element)
          .getPropertyValue('--primary')
          .trim(),
      );
    expect(primary).toBe(BRAND.primary);
    const logo = page.locator('img.hosted-logo');
    await logo.waitFor();
    await expect
      .poll(() => logo.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
      .toBe(96);
    await expectNoOnramp(page);
  };

  const brandingTab = async () => {
    await operator.getByRole('heading', { name: 'Operator' }).waitFor();
    await operator.getByRole('tab', { name: 'Branding' }).click();
    await operator.getByLabel('Product name').waitFor();
  };

  it(
    'the operator sets the brand and the return URL on the Branding tab, and they are kept',
    async () => {
      await setUpOperatorAndTenant(admin, server, { operator: OPERATOR, admin: ADMIN });
      await operator.goto(server.url);
      await operator.getByRole('heading', { name: 'Sign in' }).waitFor();
      await operator.getByLabel('Email').fill(OPERATOR.email);
      await operator.getByLabel('Password').fill(OPERATOR.password);
      await operator.getByRole('button', { name: 'Sign in' }).click();
      await brandingTab();

      await operator.getByLabel('Product name').fill(BRAND.name);
      await operator.getByLabel('Primary colour').fill(BRAND.primary);
      await operator.getByLabel('Accent colour').fill(BRAND.accent);
      await operator.getByLabel('Support link').fill(BRAND.supportUrl);
      await operator.getByLabel('Logo file').setInputFiles(LOGO);
      await operator.getByText('The logo is uploaded.').waitFor();
      await operator.getByLabel('Return URLs of hosted connect sessions').fill(platformUrl);
      await operator.getByRole('button', { name: 'Save', exact: true }).click();
      await operator.getByText('The brand is saved.').waitFor();

      await operator.reload();
      await brandingTab();
      expect(await operator.getByLabel('Product name').inputValue()).toBe(BRAND.name);
      expect(await operator.getByLabel('Primary colour').inputValue()).toBe(BRAND.primary);
      expect(await operator.getByLabel('Accent colour').inputValue()).toBe(BRAND.accent);
      expect(await operator.getByLabel('Support link').inputValue()).toBe(BRAND.supportUrl);
      expect(await operator.getByLabel('Return URLs of hosted connect sessions').inputValue()).toBe(
        platformUrl,
      );
      const preview = operator.getByTestId('brand-preview');
      expect(await preview.innerText()).toContain(BRAND.name);
      const logo = preview.locator('img.brand-logo');
      await expect
        .poll(() =>
          logo.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
        )
        .toBe(96);
      await screenshot(operator, 'operator-branding');
    },
    STEP_TIMEOUT,
  );

  it(
    'a tenant’s access-key account goes invalid when its key is deleted',
    async () => {
      const user = aws.createUser('aws', CUSTOMER, USER, {
        policies: {
          globex: bundlePolicy(catalog, {
            partition: 'aws',
            bundles: 'default',
            principal: 'user',
            accountId: CUSTOMER,
          }),
        },
      });
      const made = await api('POST', '/v1/accounts', {
        method: 'access_keys',
        name: 'Production',
        partition: 'aws',
        accessKeyId: user.accessKeyId,
        secretAccessKey: user.secretAccessKey,
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      expect(made.body.status).toBe('valid');
      accountId = String(made.body.id);

      aws.deleteAccessKey('aws', user.accessKeyId);
      const checked = await api('POST', `/v1/accounts/${accountId}/check`);
      expect(checked.status, JSON.stringify(checked.body)).toBe(200);
      const read = await api('GET', `/v1/accounts/${accountId}`);
      expect(read.body.status).toBe('invalid');
    },
    STEP_TIMEOUT,
  );

  it(
    'the customer fixes it with a new key under the platform’s brand and returns with outcome=fixed',
    async () => {
      const made = await api('POST', '/v1/connect-sessions', {
        account: accountId,
        returnUrl: platformUrl,
        reference: 'workspace-7',
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      expect(made.body.kind).toBe('fix');
      link = String(made.body.url);
      sessionId = String(made.body.id);

      customer = await newPage();
      await customer.goto(link);
      await customer.getByRole('heading', { name: 'Fix your AWS account' }).waitFor();
      expect(customer.url()).not.toContain('#');
      await expectBrand(customer);
      expect(
        await customer
          .getByRole('link', { name: `Get help from ${BRAND.name}` })
          .getAttribute('href'),
      ).toBe(BRAND.supportUrl);
      // What is wrong: the account is invalid, and the failing check says why.
      const facts = customer.locator('.facts');
      expect(await facts.innerText()).toContain('Production');
      expect(await facts.innerText()).toContain(CUSTOMER);
      expect(await facts.innerText()).toMatch(/invalid/i);
      await customer.getByRole('heading', { name: 'What is wrong' }).waitFor();
      expect(await customer.getByRole('navigation').count()).toBe(0);
      await screenshot(customer, 'hosted-fix');

      const key = aws.createAccessKey('aws', CUSTOMER, USER);
      await customer.getByLabel('Access key ID').fill(key.accessKeyId);
      await customer.getByLabel('Secret access key').fill(key.secretAccessKey);
      await customer.getByRole('button', { name: 'Check and save the keys' }).click();
      await customer
        .getByRole('heading', { name: 'Your AWS account is fixed' })
        .waitFor({ timeout: 30_000 });
      await expectBrand(customer);
      await screenshot(customer, 'hosted-fix-done');
      await customer.getByRole('button', { name: `Return to ${BRAND.name}` }).click();
      await customer.getByRole('heading', { name: 'Back in Globex Portal' }).waitFor();
      const back = new URL(customer.url());
      expect(`${back.origin}${back.pathname}`).toBe(platformUrl);
      expect(back.searchParams.get('connect_session')).toBe(sessionId);
      expect(back.searchParams.get('outcome')).toBe('fixed');

      // The platform reads the outcome from the API, not from the query string.
      const read = await api('GET', `/v1/connect-sessions/${sessionId}`);
      expect(read.body).toMatchObject({ state: 'completed', outcome: 'fixed', accountId });
      const account = await api('GET', `/v1/accounts/${accountId}`);
      expect(account.body.status).toBe('valid');
      const accounts = await api('GET', '/v1/accounts');
      expect((accounts.body.accounts as unknown[]).length).toBe(1);
    },
    STEP_TIMEOUT,
  );

  it(
    'the link, opened again in the same browser, says the account is fixed and offers only the way back',
    async () => {
      await customer.goto(link);
      await customer.getByRole('heading', { name: 'This account is fixed' }).waitFor();
      await customer.getByText('there is nothing more to do here').waitFor();
      expect(customer.url()).not.toContain('#');
      await expectBrand(customer);
      expect(await customer.getByRole('textbox').count()).toBe(0);
      expect(await customer.getByRole('button', { name: /Cancel|Check/ }).count()).toBe(0);
      await screenshot(customer, 'hosted-fix-reopened');
      // This browser holds the session: the way back to the platform is offered.
      await customer.getByRole('button', { name: `Return to ${BRAND.name}` }).click();
      await customer.getByRole('heading', { name: 'Back in Globex Portal' }).waitFor();
      expect(new URL(customer.url()).searchParams.get('outcome')).toBe('fixed');
      const read = await api('GET', `/v1/connect-sessions/${sessionId}`);
      expect(read.body).toMatchObject({ state: 'completed', outcome: 'fixed' });
    },
    STEP_TIMEOUT,
  );

  it(
    'the customer cancels a connect link and returns with outcome=cancelled; the link then says so',
    async () => {
      const made = await api('POST', '/v1/connect-sessions', {
        returnUrl: platformUrl,
        reference: 'workspace-8',
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const id = String(made.body.id);
      const url = String(made.body.url);
      const page = await newPage();
      await page.goto(url);
      await page.getByRole('heading', { name: 'Connect your AWS account' }).waitFor();
      await expectBrand(page);
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByRole('heading', { name: 'Back in Globex Portal' }).waitFor();
      const back = new URL(page.url());
      expect(back.searchParams.get('connect_session')).toBe(id);
      expect(back.searchParams.get('outcome')).toBe('cancelled');
      const read = await api('GET', `/v1/connect-sessions/${id}`);
      expect(read.body).toMatchObject({ state: 'cancelled' });
      expect(read.body.accountId ?? null).toBeNull();

      await page.goto(url);
      await page.getByRole('heading', { name: 'This link was cancelled' }).waitFor();
      await expectBrand(page);
      expect(await page.getByRole('textbox').count()).toBe(0);
      const accounts = await api('GET', '/v1/accounts');
      expect((accounts.body.accounts as unknown[]).length).toBe(1);
    },
    STEP_TIMEOUT,
  );
});
