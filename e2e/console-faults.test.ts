/**
 * The console, in chromium, against an AWS-compatible endpoint without the IAM policy simulator (the
 * loopback AWS started with `simulator: false`: SimulatePrincipalPolicy answers 500 with an HTML page).
 * Connecting saves the account as Unverified with the reason, not a 502; a health check from the
 * account page keeps what it learned; and when AWS stops answering altogether the check says which
 * step went unanswered.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { bundlePolicy, createHub, hubEnvironment } from '@onramp/server/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, launchBrowser, screenshot, setUpOperatorAndTenant } from './browser.ts';
import { type RunningServer, startServer } from './server-process.ts';

const CUSTOMER_ACCOUNT = '222233334444';
const OPERATOR = {
  email: 'ops@example.com',
  name: 'Olivia Operator',
  password: 'operator password 1',
};
const ADMIN = { email: 'ada@acme.example', name: 'Ada Admin', password: 'tenant admin password' };
const STEP_TIMEOUT = 60_000;

describe('the console against an AWS without the IAM simulator', () => {
  let aws: LoopbackAws;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const browserLog: string[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    await buildConsole();
    aws = await startLoopbackAws({ simulator: false });
    aws.createAccount('aws', CUSTOMER_ACCOUNT);
    const { user: hub } = createHub(aws, 'aws');
    server = await startServer({
      ONRAMP_DATA_DIR: mkdtempSync(join(tmpdir(), 'onramp-console-faults-')),
      AWS_ENDPOINT_URL: aws.url,
      LOG_LEVEL: 'warn',
      ...hubEnvironment('aws', hub),
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => browserLog.push(`page error: ${error.message}`));
  }, 120_000);

  afterEach(async (test) => {
    if (test.task.result?.state !== 'fail' || !page) return;
    const path = join(tmpdir(), `onramp-console-faults-failure-${Date.now()}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    console.error(`Failed at ${page.url()}; screenshot ${path}\n${browserLog.join('\n')}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await aws?.stop();
  });

  it(
    'sets up the operator, a tenant and its admin',
    async () => {
      await setUpOperatorAndTenant(page, server, { operator: OPERATOR, admin: ADMIN });
    },
    STEP_TIMEOUT,
  );

  it(
    'connects keys as Unverified, saying why, instead of failing with 502',
    async () => {
      const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
        actions: createIamDataActionIndex(),
      });
      const user = aws.createUser('aws', CUSTOMER_ACCOUNT, 'onramp', {
        policies: [
          bundlePolicy(catalog, {
            partition: 'aws',
            bundles: 'default',
            principal: 'user',
            accountId: CUSTOMER_ACCOUNT,
          }),
        ],
      });
      await page.getByRole('button', { name: '+ Add AWS account' }).first().click();
      await page.getByLabel('Name').fill('Emulated account');
      await page.locator('input[type=radio][value="aws"]').check();
      await page.locator('input[type=radio][value="access_keys"]').check();
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page.getByRole('button', { name: 'Next: access keys' }).click();
      await page.getByLabel('Access key ID').fill(user.accessKeyId);
      await page.getByLabel('Secret access key').fill(user.secretAccessKey);
      await page.getByRole('button', { name: 'Validate' }).click();
      await page.getByText('Validation passed; permissions not verified').waitFor();
      const permissions = page.locator('.check-warning', {
        hasText: 'Permissions of every chosen feature',
      });
      await expect
        .poll(() => permissions.innerText())
        .toMatch(/HTTP 500 with a body that is not an AWS error/);
      // The identity was checked and stands.
      await expect
        .poll(() => page.locator('.check-passed', { hasText: 'Sign in to the account' }).count())
        .toBe(1);
      const save = page.getByRole('button', { name: 'Save account' });
      await expect.poll(() => save.isEnabled()).toBe(true);
      await screenshot(page, 'faults-wizard-unverified');
      await save.click();
      await page.getByText('Emulated account is connected').waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'checks the account from its page: Unverified with the reason, every step shown',
    async () => {
      await page.getByRole('button', { name: 'Back to accounts' }).click();
      await page.getByRole('link', { name: 'Emulated account' }).click();
      await page.getByRole('heading', { name: 'Emulated account' }).waitFor();
      const health = page.locator('.card', { hasText: 'Check now' });
      await page.getByRole('button', { name: 'Check now' }).click();
      await health.locator('.check-result').waitFor();
      await expect.poll(() => health.locator('.check-result').innerText()).toContain('Unverified');
      expect(await health.locator('.check').count()).toBe(3);
      await expect
        .poll(() => health.locator('.check-warning').innerText())
        .toMatch(/not an AWS error/);
      // No bundle is claimed as passed while its permissions could not be simulated.
      const permissionsCard = page
        .locator('.card')
        .filter({ has: page.getByRole('heading', { name: 'Permissions', exact: true }) });
      expect(await permissionsCard.locator('.badge-passed').count()).toBe(0);
      expect(await permissionsCard.locator('.badge-unverified').count()).toBeGreaterThan(0);
      await screenshot(page, 'faults-account-check-unverified');
    },
    STEP_TIMEOUT,
  );

  it(
    'when AWS stops answering, the check says which step went unanswered and keeps the health',
    async () => {
      aws.injectFault({ kind: 'html', status: 503, action: 'sts:GetCallerIdentity' });
      try {
        const health = page.locator('.card', { hasText: 'Check now' });
        await page.getByRole('button', { name: 'Check now' }).click();
        await expect
          .poll(() => health.locator('.check-result').innerText(), { timeout: 30_000 })
          .toContain('Stale');
        await expect
          .poll(() => health.locator('.check-error').innerText())
          .toMatch(/Not answered[\s\S]*HTTP 503/);
        await expect.poll(() => health.innerText()).toContain('Unverified');
        await screenshot(page, 'faults-account-check-not-answered');
      } finally {
        aws.clearFaults();
      }
    },
    STEP_TIMEOUT,
  );
});
