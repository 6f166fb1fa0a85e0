/**
 * From degraded to fixed, in chromium, against Onramp and the loopback AWS: a role missing the actions
 * of one chosen feature is saved anyway at connect (after confirming which feature will not work),
 * lands on its page Degraded, "Fix now" opens the update (kept through a reload), the test applies
 * the policy documents it shows to the role in the loopback AWS, and "verify" turns the account valid.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG_URL, loadCatalog, type PolicyDocument } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { createConnectedRole, createHub, hubEnvironment } from '@onramp/server/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, launchBrowser, screenshot, setUpOperatorAndTenant } from './browser.ts';
import { type RunningServer, startServer } from './server-process.ts';

const CUSTOMER = '444455556666';
const OPERATOR = {
  email: 'ops@example.com',
  name: 'Olivia Operator',
  password: 'operator password 1',
};
const ADMIN = { email: 'ada@acme.example', name: 'Ada Admin', password: 'tenant admin password' };
const STEP_TIMEOUT = 90_000;

const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
  actions: createIamDataActionIndex(),
});
const defaults = catalog.defaultBundles('aws');
/** The default feature the role is created without: the one that will not work until fixed. */
const lacking = defaults.at(-1);

describe('save as degraded at connect, then fix it, in chromium', () => {
  let aws: LoopbackAws;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let hubArn = '';
  let roleArn = '';
  const browserLog: string[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    await buildConsole();
    aws = await startLoopbackAws();
    const env: Record<string, string> = {
      ONRAMP_DATA_DIR: mkdtempSync(join(tmpdir(), 'onramp-degraded-')),
      AWS_ENDPOINT_URL: aws.url,
      LOG_LEVEL: 'warn',
    };
    aws.createAccount('aws', CUSTOMER);
    const { user: hub } = createHub(aws, 'aws', {
      accessKeyId: 'AKIAHUBDEGRADEDTEST0',
      secretAccessKey: 'hubSecretForDegradedTestsOnly00000000000',
    });
    hubArn = hub.arn;
    Object.assign(env, hubEnvironment('aws', hub));
    server = await startServer(env);
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => browserLog.push(`page error: ${error.message}`));
  }, 120_000);

  afterEach(async (test) => {
    if (test.task.result?.state !== 'fail' || !page) return;
    const path = join(tmpdir(), `onramp-degraded-failure-${Date.now()}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    console.error(`Failed at ${page.url()}; screenshot ${path}\n${browserLog.join('\n')}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await aws?.stop();
  });

  it(
    'sets up an operator, a tenant and its admin',
    async () => {
      expect(lacking, 'the default catalog has default bundles in aws').toBeDefined();
      expect(defaults.length).toBeGreaterThan(1);
      await setUpOperatorAndTenant(page, server, { operator: OPERATOR, admin: ADMIN });
    },
    STEP_TIMEOUT,
  );

  it(
    'saves a role missing one feature’s actions as degraded, after confirming that feature',
    async () => {
      await page.getByRole('link', { name: 'Cloud accounts' }).first().click();
      await page.getByRole('button', { name: '+ Add AWS account' }).first().click();
      await page.getByLabel('Name').fill('Half ready');
      await page.locator('input[type=radio][value="aws"]').check();
      await page.locator('input[type=radio][value="role"]').check();
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page.getByRole('button', { name: 'Next: create the role' }).click();
      await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
      // The manual steps: the update path then gives policy documents to put on the role.
      await page.getByRole('tab', { name: 'Manual' }).click();
      await page.locator('.manual-steps').waitFor();
      const externalId = (
        await page
          .locator('.create-role .facts > div', { hasText: 'External ID' })
          .first()
          .locator('code')
          .first()
          .innerText()
      ).trim();
      const role = createConnectedRole(aws, catalog, {
        partition: 'aws',
        accountId: CUSTOMER,
        roleName: 'OnrampRole',
        hubArn,
        externalId,
        bundles: defaults.filter((b) => b !== lacking).map((b) => b.id),
      });
      roleArn = role.arn;
      await page.getByLabel('Role ARN').fill(role.arn);
      await page.getByRole('button', { name: 'Validate' }).click();
      await page.getByText('Signed in; some permissions are missing').waitFor({ timeout: 30_000 });
      expect(await page.getByRole('button', { name: 'Save account' }).isDisabled()).toBe(true);
      await screenshot(page, 'wizard-missing-permissions');

      await page.getByRole('button', { name: 'Save anyway' }).click();
      const dialog = page.getByRole('dialog', { name: 'Save with missing permissions?' });
      await dialog.waitFor();
      expect(await dialog.locator('.lacking-features li').allInnerTexts()).toEqual([lacking?.name]);
      await screenshot(page, 'wizard-save-anyway', false);
      await dialog.getByRole('button', { name: 'Save without these features' }).dblclick();
      await page.waitForURL(/\/accounts\/acct_[a-z0-9]+$/);
      await page.getByRole('heading', { level: 1, name: /Half ready/ }).waitFor();
      expect(await page.getByRole('heading', { level: 1 }).innerText()).toContain('Degraded');

      // A double click made one account.
      const accounts = (await page.evaluate(async () => {
        const response = await fetch('/v1/accounts?limit=200');
        return ((await response.json()) as { accounts: { name: string; status: string }[] })
          .accounts;
      })) as { name: string; status: string }[];
      expect(accounts.filter((a) => a.name === 'Half ready')).toEqual([
        expect.objectContaining({ status: 'degraded' }),
      ]);
    },
    STEP_TIMEOUT,
  );

  it(
    '"Fix now" leads to the update; applied in AWS and verified, the account is valid',
    async () => {
      const panel = page.locator('#update-permissions');
      await panel.getByRole('button', { name: 'Fix now' }).click();
      await page.waitForURL(/[?&]permissions=update/);
      await panel.getByRole('button', { name: 'I’ve applied it — verify' }).waitFor();
      // A reload keeps the panel open.
      await page.reload();
      const verify = panel.getByRole('button', { name: 'I’ve applied it — verify' });
      await verify.waitFor();
      await screenshot(page, 'account-update-permissions');

      // What a tenant following the manual path does: put each policy document shown on the role.
      const policies = panel.locator('.update-artefact', {
        has: page.getByRole('heading', { name: /^Policy / }),
      });
      const count = await policies.count();
      expect(count, await panel.innerText()).toBeGreaterThan(0);
      for (let i = 0; i < count; i++) {
        const policy = policies.nth(i);
        const name = (await policy.getByRole('heading').innerText()).replace(/^Policy /, '');
        const document = JSON.parse(await policy.locator('pre').innerText()) as PolicyDocument;
        aws.putInlinePolicy('aws', roleArn, name, document);
      }

      await verify.click();
      await page
        .getByText('Permissions verified: the account is valid again.')
        .waitFor({ timeout: 30_000 });
      expect(await page.getByRole('heading', { level: 1 }).innerText()).toContain('Valid');
      expect(new URL(page.url()).searchParams.get('permissions')).toBeNull();
      expect(await page.locator('#update-permissions').count()).toBe(0);
      await screenshot(page, 'account-permissions-verified');
      // The verification is a check in the history, with its own trigger.
      await page
        .getByRole('table', { name: 'Check history' })
        .getByText('Permissions updated')
        .first()
        .waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'the list sums up the fleet, and keeps "Outdated only" in the URL through a reload',
    async () => {
      await page.getByRole('link', { name: 'Cloud accounts' }).first().click();
      const fleet = page.locator('.fleet-summary');
      await fleet.waitFor();
      expect(await fleet.locator('.fleet-stats').innerText()).toMatch(/Accounts\s+1\b/);
      expect(await fleet.locator('.fleet-stat-valid').innerText()).toMatch(/Valid\s+1\b/);
      // Nothing is outdated: no re-check to offer.
      expect(await fleet.getByRole('button', { name: 'Re-check outdated' }).count()).toBe(0);
      await page.getByRole('row', { name: /Half ready/ }).waitFor();
      await screenshot(page, 'accounts-fleet-summary');
      await page.getByRole('checkbox', { name: 'Outdated only' }).check();
      await page.getByRole('heading', { name: 'No accounts match' }).waitFor();
      expect(new URL(page.url()).searchParams.get('outdated')).toBe('true');
      await page.reload();
      await page.getByRole('heading', { name: 'No accounts match' }).waitFor();
      expect(await page.getByRole('checkbox', { name: 'Outdated only' }).isChecked()).toBe(true);
      await page.getByRole('checkbox', { name: 'Outdated only' }).uncheck();
      await page.getByRole('row', { name: /Half ready/ }).waitFor();
    },
    STEP_TIMEOUT,
  );
});
