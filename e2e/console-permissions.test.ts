/**
 * Permissions in the console, in chromium, against Onramp and the loopback AWS: Palette's "Add IAM
 * policies" on a keys account (first without the bundle it needs, then after changing permissions)
 * and on a role account; and a selection customised in aws that the wizard fits to China's defaults
 * when the partition changes, saying so, with no dead end. Screenshots go to docs/screenshots.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG_URL, loadCatalog, PARTITION_IDS, type PartitionId } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import {
  bundlePolicy,
  createConnectedRole,
  createHub,
  hubEnvironment,
} from '@onramp/server/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, launchBrowser, screenshot, setUpOperatorAndTenant } from './browser.ts';
import { type RunningServer, startServer } from './server-process.ts';

const KEYS_ACCOUNT = '333344445555';
const ROLE_ACCOUNT = '333344446666';
const CHINA_ACCOUNT = '333344447777';
const OPERATOR = {
  email: 'ops@example.com',
  name: 'Olivia Operator',
  password: 'operator password 1',
};
const ADMIN = { email: 'ada@acme.example', name: 'Ada Admin', password: 'tenant admin password' };
const STEP_TIMEOUT = 90_000;
const ATTACH = 'iam-policy-attachment';

const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
  actions: createIamDataActionIndex(),
});
const defaults = (partition: PartitionId) => catalog.defaultBundles(partition).map((b) => b.id);
const policyFor = (
  partition: PartitionId,
  principal: 'role' | 'user',
  accountId: string,
  bundles: string[],
) => bundlePolicy(catalog, { partition, bundles, principal, accountId });

describe('permissions in the console, in chromium', () => {
  let aws: LoopbackAws;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let hubArn = '';
  const browserLog: string[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    await buildConsole();
    aws = await startLoopbackAws();
    // As in real AWS, many managed policies' names contain "ReadOnlyAccess" and sort before it.
    for (const service of ['AmazonAthena', 'AmazonDynamoDB', 'AmazonEC2', 'AmazonRDS', 'AmazonSQS'])
      for (let i = 0; i < 15; i++)
        aws.createAwsManagedPolicy('aws', {
          name: `${service}${i ? String(i) : ''}ReadOnlyAccess`,
          description: `Read-only access to ${service}.`,
          document: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }],
          },
        });
    const env: Record<string, string> = {
      ONRAMP_DATA_DIR: mkdtempSync(join(tmpdir(), 'onramp-permissions-')),
      AWS_ENDPOINT_URL: aws.url,
      LOG_LEVEL: 'warn',
    };
    for (const partition of PARTITION_IDS) {
      for (const account of [KEYS_ACCOUNT, ROLE_ACCOUNT, CHINA_ACCOUNT])
        aws.createAccount(partition, account);
    }
    // A hub in aws only: roles there, keys elsewhere.
    const { user: hub } = createHub(aws, 'aws', {
      accessKeyId: 'AKIAHUBPERMISSIONS00',
      secretAccessKey: 'hubSecretForPermissionsTestsOnly00000000',
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
    const path = join(tmpdir(), `onramp-permissions-failure-${Date.now()}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    console.error(`Failed at ${page.url()}; screenshot ${path}\n${browserLog.join('\n')}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await aws?.stop();
  });

  /** Step 1 of the wizard: name, partition and method, then on to permissions. */
  async function startWizard(name: string, partition: PartitionId, method: 'role' | 'access_keys') {
    await page.getByRole('link', { name: 'Cloud accounts' }).first().click();
    await page.getByRole('button', { name: '+ Add AWS account' }).first().click();
    await page.getByLabel('Name').fill(name);
    await page.locator(`input[type=radio][value="${partition}"]`).check();
    await page.locator(`input[type=radio][value="${method}"]`).check();
    await page.getByRole('button', { name: 'Next: permissions' }).click();
  }

  async function searchAndAttach(policy: string) {
    await page.getByRole('switch', { name: 'Add IAM policies' }).click();
    await page.getByLabel('Search policies').fill(policy);
    const first = page.locator('.policy-list li').first();
    // The exact name comes first, though dozens of names contain it and sort before it.
    await expect.poll(() => first.locator('strong').innerText()).toBe(policy);
    await first.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Attach 1 policy' }).click();
    await page.getByText('Attached 1 policy.').waitFor();
    await first.getByText('Attached', { exact: true }).waitFor();
  }

  it(
    'sets up an operator, a tenant and its admin',
    async () => {
      await setUpOperatorAndTenant(page, server, { operator: OPERATOR, admin: ADMIN });
    },
    STEP_TIMEOUT,
  );

  it(
    'a keys account without the bundle is told how to add it; once added, attaches to its own user',
    async () => {
      const user = aws.createUser('aws', KEYS_ACCOUNT, 'onramp', {
        policies: { onramp: policyFor('aws', 'user', KEYS_ACCOUNT, defaults('aws')) },
      });
      await startWizard('Keys account', 'aws', 'access_keys');
      await page.getByRole('button', { name: 'Next: access keys' }).click();
      await page.getByLabel('Access key ID').fill(user.accessKeyId);
      await page.getByLabel('Secret access key').fill(user.secretAccessKey);
      await page.getByRole('button', { name: 'Validate' }).click();
      await page.getByText('Validation passed').waitFor({ timeout: 30_000 });
      await page.getByRole('button', { name: 'Save account' }).click();
      await page.getByText('Keys account is connected').waitFor();
      // No switch that would end in AccessDenied: what to do instead.
      expect(await page.getByRole('switch', { name: 'Add IAM policies' }).count()).toBe(0);
      await page.getByText(/needs “Attach existing IAM policies”/).waitFor();
      await screenshot(page, 'iam-policies-needs-bundle');

      // The tenant gives the user the new policy in AWS, then changes the account's permissions.
      aws.putInlinePolicy(
        'aws',
        `arn:aws:iam::${KEYS_ACCOUNT}:user/onramp`,
        'onramp',
        policyFor('aws', 'user', KEYS_ACCOUNT, [...defaults('aws'), ATTACH]),
      );
      await page.getByRole('button', { name: 'Change permissions on the account page' }).click();
      await page.getByRole('heading', { name: 'IAM policies' }).waitFor();
      await page.getByText(/needs “Attach existing IAM policies”/).waitFor();
      await page.getByRole('button', { name: 'Change permissions', exact: true }).click();
      await page.getByLabel('Customise').check();
      await page.locator(`[data-bundle="${ATTACH}"] input[type=checkbox]`).check();
      // The user's policy shows user actions on the user itself, no role actions.
      await page.locator(`[data-bundle="${ATTACH}"] summary`).click();
      await page.locator(`[data-bundle="${ATTACH}"]`).getByText('iam:AttachUserPolicy').waitFor();
      expect(
        await page.locator(`[data-bundle="${ATTACH}"]`).getByText('iam:AttachRolePolicy').count(),
      ).toBe(0);
      await page.getByRole('button', { name: 'Save permissions' }).click();
      await page.getByText('Permissions changed; the account was checked again.').waitFor({
        timeout: 30_000,
      });
      await searchAndAttach('ReadOnlyAccess');
      await screenshot(page, 'iam-policies-attached-keys');
      // AWS has it: the policy is attached to the account's own user.
      const attachments = aws.calls.filter((c) => c.action === 'AttachUserPolicy');
      expect(attachments.at(-1)).toMatchObject({
        status: 200,
        callerArn: `arn:aws:iam::${KEYS_ACCOUNT}:user/onramp`,
      });
    },
    STEP_TIMEOUT,
  );

  it(
    'a role account chosen with the bundle attaches existing policies to its own role',
    async () => {
      await startWizard('Role account', 'aws', 'role');
      await page.getByLabel('Customise').check();
      await page.locator(`[data-bundle="${ATTACH}"] input[type=checkbox]`).check();
      await page.getByRole('button', { name: 'Next: create the role' }).click();
      await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
      const externalId = (await page.locator('.facts code').nth(1).innerText()).trim();
      const role = createConnectedRole(aws, catalog, {
        partition: 'aws',
        accountId: ROLE_ACCOUNT,
        roleName: 'OnrampRole',
        hubArn,
        externalId,
        bundles: [...defaults('aws'), ATTACH],
      });
      await page.getByLabel('Role ARN').fill(role.arn);
      await page.getByRole('button', { name: 'Validate' }).click();
      await page.getByText('Validation passed').waitFor({ timeout: 30_000 });
      await page.getByRole('button', { name: 'Save account' }).click();
      await page.getByText('Role account is connected').waitFor();
      await searchAndAttach('SecurityAudit');
      await screenshot(page, 'iam-policies-attached-role');
      const attachments = aws.calls.filter((c) => c.action === 'AttachRolePolicy');
      expect(attachments.at(-1)?.status).toBe(200);
      expect(attachments.at(-1)?.callerArn).toContain(
        `:sts::${ROLE_ACCOUNT}:assumed-role/OnrampRole/`,
      );
    },
    STEP_TIMEOUT,
  );

  it(
    'customised in aws, then switched to China: China’s defaults with a sentence saying so, and Next works',
    async () => {
      const user = aws.createUser('aws-cn', CHINA_ACCOUNT, 'onramp', {
        policies: [policyFor('aws-cn', 'user', CHINA_ACCOUNT, defaults('aws-cn'))],
      });
      await startWizard('China account', 'aws', 'access_keys');
      await page.getByLabel('Customise').check();
      await page.locator(`[data-bundle="${ATTACH}"] input[type=checkbox]`).check();
      await page.locator('[data-bundle="nodes-autoscaling"] input[type=checkbox]').check();
      await page.getByRole('button', { name: 'Back', exact: true }).click();
      await page.locator('input[type=radio][value="aws-cn"]').check();
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page
        .getByText(
          'Permissions cannot be customised in AWS China, so your selection was reset to its default permissions.',
        )
        .waitFor();
      for (const bundle of defaults('aws-cn'))
        expect(
          await page.locator(`[data-bundle="${bundle}"] input[type=checkbox]`).isChecked(),
        ).toBe(true);
      await screenshot(page, 'wizard-permissions-reset-china');

      await page.getByRole('button', { name: 'Next: access keys' }).click();
      await page.getByLabel('Access key ID').fill(user.accessKeyId);
      await page.getByLabel('Secret access key').fill(user.secretAccessKey);
      await page.getByRole('button', { name: 'Validate' }).click();
      await page.getByText('Validation passed').waitFor({ timeout: 30_000 });
      await page.getByRole('button', { name: 'Save account' }).click();
      await page.getByText('China account is connected').waitFor();
      // China allows only the defaults: attaching is not offered, and the page says why.
      expect(await page.getByRole('switch', { name: 'Add IAM policies' }).count()).toBe(0);
      await page
        .getByText(/Permissions cannot be customised in AWS China: .*not offered/)
        .waitFor();
      await screenshot(page, 'iam-policies-not-offered-china');
    },
    STEP_TIMEOUT,
  );
});
