/**
 * No dead ends, no silent failures, in a real browser against the real server and the loopback AWS:
 * a tenant admin is not offered the vend scope, a refusal of the API is shown, keys of another
 * partition offer the switch to it, GovCloud shows GovCloud ARNs, and a search by AWS account ID
 * stays in the URL across a reload.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG_URL, loadCatalog, PARTITION_IDS } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { bundlePolicy, createHub, hubEnvironment } from '@onramp/server/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, launchBrowser, screenshot } from './browser.ts';
import { type RunningServer, startServer } from './server-process.ts';

const GOV_ACCOUNT = '333344445555';
const OPERATOR = {
  email: 'ops@example.com',
  name: 'Olivia Operator',
  password: 'operator password 1',
};
const ADMIN = { email: 'ada@acme.example', name: 'Ada Admin', password: 'tenant admin password' };
const STEP_TIMEOUT = 60_000;

const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
  actions: createIamDataActionIndex(),
});

describe('the console is honest: no dead ends, no silent failures', () => {
  let aws: LoopbackAws;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let operator: { cookie: string; csrf: string };
  let adminId = '';
  let tenantId = '';
  const browserLog: string[] = [];

  /** A JSON call as a signed-in person (the cookie and the CSRF header), for the set-up around the UI. */
  async function api(
    as: { cookie: string; csrf: string } | undefined,
    method: string,
    path: string,
    body?: unknown,
    tenant?: string,
  ) {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(as ? { cookie: as.cookie, 'x-csrf-token': as.csrf } : {}),
        ...(tenant ? { 'onramp-tenant': tenant } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, text, body: text ? JSON.parse(text) : undefined, response };
  }

  async function signInApi(user: { email: string; password: string }) {
    const signed = await api(undefined, 'POST', '/v1/session', user);
    expect(signed.status, signed.text).toBe(200);
    const cookie = (signed.response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    return { cookie, csrf: signed.body.csrfToken as string };
  }

  async function signIn(user: { email: string; password: string }) {
    await page.goto(server.url);
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  beforeAll(async () => {
    browser = await launchBrowser();
    await buildConsole();
    aws = await startLoopbackAws();
    const env: Record<string, string> = {
      ONRAMP_DATA_DIR: mkdtempSync(join(tmpdir(), 'onramp-honesty-')),
      AWS_ENDPOINT_URL: aws.url,
      LOG_LEVEL: 'warn',
    };
    PARTITION_IDS.forEach((partition, i) => {
      aws.createAccount(partition, GOV_ACCOUNT);
      if (partition === 'aws-cn') return;
      const { user: hub } = createHub(aws, partition, {
        accessKeyId: `AKIAHUBHONESTYTEST0${i}`,
        secretAccessKey: `hubSecretForHonestyTestsOnly00000000000${i}`,
      });
      Object.assign(env, hubEnvironment(partition, hub));
    });
    server = await startServer(env);

    const token = /(setup_[A-Za-z0-9_-]+)/.exec(server.output())?.[1];
    const setup = await api(undefined, 'POST', '/v1/setup', { setupToken: token, ...OPERATOR });
    expect(setup.status, setup.text).toBeLessThan(300);
    operator = await signInApi(OPERATOR);
    const tenant = await api(operator, 'POST', '/v1/tenants', { name: 'Acme Corp', admin: ADMIN });
    expect(tenant.status, tenant.text).toBe(201);
    tenantId = tenant.body.id;
    const users = await api(operator, 'GET', '/v1/users', undefined, tenantId);
    expect(users.status, users.text).toBe(200);
    adminId = users.body.users.find((u: { email: string }) => u.email === ADMIN.email)?.id ?? '';

    page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => browserLog.push(`page error: ${error.message}`));
  }, 120_000);

  afterEach(async (test) => {
    if (test.task.result?.state !== 'fail' || !page) return;
    const path = join(tmpdir(), `onramp-honesty-failure-${Date.now()}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    console.error(`Failed at ${page.url()}; screenshot ${path}\n${browserLog.join('\n')}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await aws?.stop();
  });

  it(
    'offers keys of GovCloud entered as AWS the switch to GovCloud, where they connect',
    async () => {
      const user = aws.createUser('aws-us-gov', GOV_ACCOUNT, 'onramp', {
        policies: [
          bundlePolicy(catalog, {
            partition: 'aws-us-gov',
            bundles: 'default',
            principal: 'user',
            accountId: GOV_ACCOUNT,
          }),
        ],
      });
      await signIn(ADMIN);
      await page.getByRole('button', { name: '+ Add AWS account' }).first().click();
      await page.getByLabel('Name').fill('GovCloud keys');
      await page.locator('input[type=radio][value="aws"]').check();
      await page.locator('input[type=radio][value="access_keys"]').check();
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page.getByRole('button', { name: 'Next: access keys' }).click();
      await page.getByLabel('Access key ID').fill(user.accessKeyId);
      await page.getByLabel('Secret access key').fill(user.secretAccessKey);
      await page.getByRole('button', { name: 'Validate' }).click();
      const partition = page.getByRole('group', { name: 'Partition' });
      await partition.getByText('These keys belong to AWS GovCloud (US)').waitFor();
      const switchTo = page.getByRole('button', { name: 'Switch to AWS GovCloud (US)' });
      await switchTo.waitFor();
      await screenshot(page, 'wizard-keys-other-partition');

      await switchTo.click();
      await page.getByText('Validation passed').waitFor();
      await expect.poll(() => partition.count()).toBe(0);
      await page.getByRole('button', { name: 'Save account' }).click();
      await page.getByText('GovCloud keys is connected').waitFor();
      const saved = await api(
        await signInApi(ADMIN),
        'GET',
        `/v1/accounts?q=${GOV_ACCOUNT}`,
        undefined,
      );
      expect(saved.body.accounts.map((a: { partition: string }) => a.partition)).toEqual([
        'aws-us-gov',
      ]);
    },
    STEP_TIMEOUT,
  );

  it(
    'searches by AWS account ID, and keeps the search across a reload and Back',
    async () => {
      await page.goto(`${server.url}/accounts`);
      await page.getByRole('link', { name: 'GovCloud keys' }).waitFor();
      await page.getByRole('searchbox').fill('3333-4444-5555');
      await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('3333-4444-5555');
      await page.getByRole('link', { name: 'GovCloud keys' }).waitFor();
      await page.getByRole('searchbox').fill('999999999999');
      await page.getByRole('heading', { name: 'No accounts match' }).waitFor();
      await page.getByRole('searchbox').fill(GOV_ACCOUNT);
      await page.getByLabel('Partition').selectOption('aws-us-gov');
      await page.getByRole('link', { name: 'GovCloud keys' }).waitFor();

      await page.reload();
      await page.getByRole('link', { name: 'GovCloud keys' }).waitFor();
      expect(await page.getByRole('searchbox').inputValue()).toBe(GOV_ACCOUNT);
      expect(await page.getByLabel('Partition').inputValue()).toBe('aws-us-gov');
      await screenshot(page, 'accounts-search-by-account-id');

      await page.getByRole('link', { name: 'GovCloud keys' }).click();
      await page.getByRole('heading', { name: 'GovCloud keys' }).waitFor();
      await page.goBack();
      await page.getByRole('link', { name: 'GovCloud keys' }).waitFor();
      expect(await page.getByRole('searchbox').inputValue()).toBe(GOV_ACCOUNT);
    },
    STEP_TIMEOUT,
  );

  it(
    'shows GovCloud role ARNs in GovCloud’s prefix in the wizard',
    async () => {
      await page.goto(`${server.url}/accounts/new`);
      await page.getByLabel('Name').fill('GovCloud role');
      await page.locator('input[type=radio][value="aws-us-gov"]').check();
      await page.locator('input[type=radio][value="role"]').check();
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page.getByRole('button', { name: 'Next: create the role' }).click();
      const arn = page.getByLabel('Role ARN');
      await arn.waitFor();
      expect(await arn.getAttribute('placeholder')).toMatch(
        /^arn:aws-us-gov:iam::123456789012:role\//,
      );
      await page.getByText(/such as arn:aws-us-gov:iam::123456789012:role\//).waitFor();
      expect(await page.locator('main').innerText()).not.toContain('arn:aws:iam::');
      await arn.scrollIntoViewIfNeeded();
      await screenshot(page, 'wizard-govcloud-role-arn');
    },
    STEP_TIMEOUT,
  );

  it(
    'does not offer a tenant admin the vend scope, and shows the API’s 403 when a token is refused',
    async () => {
      await page.goto(`${server.url}/settings`);
      await page.getByRole('tab', { name: /API tokens/ }).click();
      const scopes = page.getByRole('group', { name: 'Scopes' });
      await scopes.getByText('accounts:read').waitFor();
      expect(await scopes.getByText('credentials:vend').count()).toBe(0);
      expect(await scopes.getByRole('checkbox').count()).toBe(3);
      // The list has loaded (as an admin) before the demotion: a list still in flight would be refused
      // too, and show the same 403 a second time.
      await page
        .getByText(/No tokens yet/)
        .or(page.getByRole('columnheader', { name: 'Last used' }))
        .waitFor();

      // Meanwhile the operator makes Ada a viewer: her page still shows the form, the API refuses.
      const demoted = await api(
        operator,
        'PATCH',
        `/v1/users/${adminId}`,
        { role: 'tenant_viewer' },
        tenantId,
      );
      expect(demoted.status, demoted.text).toBe(200);
      await page.getByLabel('Name').fill('Pipeline');
      await page.getByRole('button', { name: 'Create token' }).click();
      await page.getByText(/may not do this; it needs admin/).waitFor();
      await screenshot(page, 'settings-token-refused');
    },
    STEP_TIMEOUT,
  );
});
