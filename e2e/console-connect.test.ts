/**
 * The role set-up survives the page, in a real browser (Debian's chromium) against the real server and
 * the loopback AWS: Back → Next, a partition change, a reload and the browser's Back keep ONE pending
 * connection and ONE external ID, and the role created with it connects; a pending set-up is resumed
 * and discarded from the accounts page; the account page shows the role, its external ID and the
 * templates; the external ID is regenerated with both IDs accepted until Onramp uses the new one.
 * Screenshots of the new screens go to docs/screenshots.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import {
  buildTrustPolicy,
  DEFAULT_CATALOG_URL,
  loadCatalog,
  type PartitionId,
  parseHubPrincipal,
  unwrap,
} from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { bundlePolicy, createHub, hubEnvironment } from '@onramp/server/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, launchBrowser, screenshot, setUpOperatorAndTenant } from './browser.ts';
import { type RunningServer, startServer } from './server-process.ts';

const CUSTOMER = '555566667777';
const OPERATOR = {
  email: 'ops@example.com',
  name: 'Olivia Operator',
  password: 'operator password 1',
};
const ADMIN = { email: 'ada@acme.example', name: 'Ada Admin', password: 'tenant admin password' };
const HUB_KEYS = {
  accessKeyId: 'AKIAHUBCONNECTTEST00',
  secretAccessKey: 'hubSecretForConnectTestsOnly0000000000000',
};
const STEP_TIMEOUT = 90_000;

const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
  actions: createIamDataActionIndex(),
});

describe('the role set-up survives the page, in chromium', () => {
  let aws: LoopbackAws;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let hubArn = '';
  let connectionId = '';
  let externalId = '';
  let roleArn = '';
  const browserLog: string[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    await buildConsole();
    aws = await startLoopbackAws();
    const env: Record<string, string> = {
      ONRAMP_DATA_DIR: mkdtempSync(join(tmpdir(), 'onramp-connect-')),
      AWS_ENDPOINT_URL: aws.url,
      LOG_LEVEL: 'warn',
      // No grace: the old external ID leaves the templates as soon as Onramp uses the new one.
      ONRAMP_EXTERNAL_ID_GRACE_DAYS: '0',
    };
    for (const partition of ['aws', 'aws-us-gov'] as PartitionId[]) {
      aws.createAccount(partition, CUSTOMER);
      const { user } = createHub(
        aws,
        partition,
        partition === 'aws' ? HUB_KEYS : { ...HUB_KEYS, accessKeyId: 'AKIAHUBCONNECTTEST01' },
      );
      Object.assign(env, hubEnvironment(partition, user));
      if (partition === 'aws') hubArn = user.arn;
    }
    server = await startServer(env);
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => browserLog.push(`page error: ${error.message}`));
  }, 180_000);

  afterEach(async (test) => {
    if (test.task.result?.state !== 'fail' || !page) return;
    const path = join(tmpdir(), `onramp-connect-failure-${Date.now()}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    console.error(`Failed at ${page.url()}; screenshot ${path}\n${browserLog.join('\n')}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await aws?.stop();
  });

  /** The external ID the "Create the role" facts show. */
  const shownExternalId = async () => {
    const facts = page.locator('.create-role .facts > div', { hasText: 'External ID' }).first();
    return (await facts.locator('code').first().innerText()).trim();
  };
  const connectionOfUrl = () => /\/accounts\/new\/(con_[a-z0-9]+)/.exec(page.url())?.[1] ?? '';
  /** What the API says the tenant's pending connections are, read with the page's session. */
  const pendingIds = async () =>
    (await page.evaluate(async () => {
      const response = await fetch('/v1/connections?status=pending&limit=200');
      const body = (await response.json()) as { connections: { id: string }[] };
      return body.connections.map((c) => c.id);
    })) as string[];
  /** Whether the hub can assume the role with this external ID (what AWS would answer Onramp). */
  const accepts = async (id: string) => {
    const sts = new STSClient({ region: 'us-east-1', endpoint: aws.url, credentials: HUB_KEYS });
    try {
      await sts.send(
        new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'check', ExternalId: id }),
      );
      return true;
    } catch {
      return false;
    } finally {
      sts.destroy();
    }
  };

  it(
    'sets up the operator, a tenant and its admin',
    async () => {
      await setUpOperatorAndTenant(page, server, { operator: OPERATOR, admin: ADMIN });
    },
    STEP_TIMEOUT,
  );

  it(
    'keeps one connection and one external ID through Back → Next, a partition change, a reload and the browser’s Back',
    async () => {
      await page.getByRole('button', { name: '+ Add AWS account' }).first().click();
      await page.getByLabel('Name').fill('Survivor');
      await page.locator('input[type=radio][value="aws"]').check();
      await page.locator('input[type=radio][value="role"]').check();
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page.getByRole('button', { name: 'Next: create the role' }).waitFor();
      connectionId = connectionOfUrl();
      expect(connectionId).toMatch(/^con_/);
      expect(page.url()).toContain('step=permissions');
      await page.getByRole('button', { name: 'Next: create the role' }).click();
      await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
      expect(page.url()).toContain(`/accounts/new/${connectionId}?step=create`);
      externalId = await shownExternalId();
      expect(externalId).toMatch(/^onramp-/);
      await screenshot(page, 'wizard-create-role-resumable');

      // Back → Next, nothing changed.
      await page.getByRole('button', { name: 'Back' }).first().click();
      await page.getByRole('button', { name: 'Next: create the role' }).click();
      await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
      expect(await shownExternalId()).toBe(externalId);

      // Back to the details, GovCloud, and on: the same connection, the GovCloud hub.
      await page.getByRole('button', { name: 'Back' }).first().click();
      await page.getByRole('button', { name: 'Back' }).first().click();
      await page.locator('input[type=radio][value="aws-us-gov"]').check();
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page.getByRole('button', { name: 'Next: create the role' }).click();
      await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
      await page.getByText('arn:aws-us-gov:iam::').first().waitFor();
      expect(await shownExternalId()).toBe(externalId);
      expect(connectionOfUrl()).toBe(connectionId);
      // And back to aws.
      await page.getByRole('button', { name: 'Back' }).first().click();
      await page.getByRole('button', { name: 'Back' }).first().click();
      await page.locator('input[type=radio][value="aws"]').check();
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page.getByRole('button', { name: 'Next: create the role' }).click();
      await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
      expect(await shownExternalId()).toBe(externalId);

      // A reload returns to the same step of the same connection.
      await page.reload();
      await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
      expect(await shownExternalId()).toBe(externalId);
      expect(page.url()).toContain(`/accounts/new/${connectionId}?step=create`);

      // The browser's Back: the permissions of the same connection; Next: the same external ID.
      await page.goBack();
      await page.getByRole('button', { name: 'Next: create the role' }).waitFor();
      expect(connectionOfUrl()).toBe(connectionId);
      await page.getByRole('button', { name: 'Next: create the role' }).click();
      await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
      expect(await shownExternalId()).toBe(externalId);

      // One pending connection in all.
      expect(await pendingIds()).toEqual([connectionId]);
    },
    STEP_TIMEOUT,
  );

  it(
    'connects the role the tenant created with that external ID',
    async () => {
      await page.getByRole('tab', { name: 'Manual' }).click();
      await page.getByRole('tabpanel').locator('.manual-step').first().waitFor();
      const roleName = (
        await page
          .locator('.create-role .facts > div', { hasText: 'Role name' })
          .locator('code')
          .innerText()
      ).trim();
      expect(roleName).toMatch(/^OnrampRole-/);
      const role = aws.createRole('aws', CUSTOMER, {
        roleName,
        trustPolicy: buildTrustPolicy({
          partition: 'aws',
          hub: unwrap(parseHubPrincipal(hubArn, 'aws')),
          externalId,
        }),
        inlinePolicies: {
          onramp: bundlePolicy(catalog, {
            partition: 'aws',
            bundles: 'default',
            principal: 'role',
            accountId: CUSTOMER,
            roleName,
          }),
        },
      });
      roleArn = role.arn;
      await page.getByLabel('Role ARN').fill(role.arn);
      await page.getByRole('button', { name: 'Validate' }).click();
      await page.getByText('Validation passed').waitFor({ timeout: 30_000 });
      await page.getByRole('button', { name: 'Save account' }).click();
      await page.getByText('Survivor is connected').waitFor();
      expect(await pendingIds()).toEqual([]);
    },
    STEP_TIMEOUT,
  );

  it(
    'shows the role, its external ID, how it was made and the templates on the account page',
    async () => {
      await page.getByRole('button', { name: 'Open the account' }).click();
      const details = page.locator('#role-details');
      await details.waitFor();
      await details.getByText(externalId).first().waitFor();
      await details.getByText(hubArn).first().waitFor();
      await details
        .getByText('The role ARN was pasted; the role was set up with the manual steps', {
          exact: false,
        })
        .waitFor();
      await details.getByRole('link', { name: 'Download template (YAML)' }).waitFor();
      await details.getByRole('tab', { name: 'Terraform' }).click();
      await details.getByRole('link', { name: 'Download Terraform' }).waitFor();
      await details.scrollIntoViewIfNeeded();
      await screenshot(page, 'account-role-details');
    },
    STEP_TIMEOUT,
  );

  it(
    'regenerates the external ID: both accepted until a check uses the new one, then only the new',
    async () => {
      const card = page
        .locator('section.card')
        .filter({ has: page.getByRole('heading', { name: 'Role and external ID' }) });
      await card.getByRole('button', { name: 'Regenerate external ID' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Regenerate' }).click();
      await page.getByText('The role does not accept the new external ID yet').waitFor();
      const newId = await card
        .locator('.facts > div', { hasText: /^External ID/ })
        .locator('code')
        .first()
        .innerText();
      expect(newId).not.toBe(externalId);
      await card.getByText(externalId).first().waitFor();
      await screenshot(page, 'account-external-id-regenerated');

      // The new template lists both IDs; the tenant updates the role's trust policy from it.
      const template = (await page.evaluate(
        async (id) => (await fetch(`/v1/connections/${id}/cloudformation?format=yaml`)).text(),
        connectionId,
      )) as string;
      expect(template).toContain(externalId);
      expect(template).toContain(newId);
      expect(await accepts(externalId)).toBe(true);
      expect(await accepts(newId)).toBe(false);
      aws.updateTrustPolicy(
        'aws',
        roleArn,
        buildTrustPolicy({
          partition: 'aws',
          hub: unwrap(parseHubPrincipal(hubArn, 'aws')),
          externalId: newId,
          previousExternalId: externalId,
        }),
      );
      expect(await accepts(externalId)).toBe(true);
      expect(await accepts(newId)).toBe(true);

      // A check with the new one passes: Onramp uses it, and (no grace here) the old one goes.
      await page.getByRole('button', { name: 'Check now' }).click();
      await expect
        .poll(() => page.getByText('The role does not accept the new external ID yet').count(), {
          timeout: 30_000,
        })
        .toBe(0);
      await expect.poll(() => card.getByText(externalId).count()).toBe(0);
      await card.getByText(newId).first().waitFor();
      const after = (await page.evaluate(
        async (id) => (await fetch(`/v1/connections/${id}/cloudformation?format=yaml`)).text(),
        connectionId,
      )) as string;
      expect(after).toContain(newId);
      expect(after).not.toContain(externalId);
      await card.scrollIntoViewIfNeeded();
      await screenshot(page, 'account-external-id-switched');
    },
    STEP_TIMEOUT,
  );

  it(
    'lists a pending set-up on the accounts page, resumes it with its external ID, and discards it',
    async () => {
      await page.goto(`${server.url}/accounts/new`);
      await page.getByLabel('Name').fill('Half done');
      await page.locator('input[type=radio][value="role"]').check();
      // A double Enter starts one set-up, not two.
      await page.getByLabel('Name').press('Enter');
      await page
        .getByLabel('Name')
        .press('Enter', { timeout: 1_000 })
        .catch(() => {});
      await page.getByRole('button', { name: 'Next: create the role' }).click();
      await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
      const pendingId = connectionOfUrl();
      const pendingExternalId = await shownExternalId();
      expect(await pendingIds()).toEqual([pendingId]);
      await page.getByRole('link', { name: 'Cancel' }).click();

      const list = page.getByRole('list', { name: 'Pending connections' });
      await list.getByText('Half done').waitFor();
      await page.getByRole('link', { name: 'Survivor' }).waitFor();
      await screenshot(page, 'accounts-pending-setups');
      await page.getByRole('button', { name: 'Resume Half done' }).click();
      await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
      expect(connectionOfUrl()).toBe(pendingId);
      expect(await shownExternalId()).toBe(pendingExternalId);
      await page.getByRole('button', { name: 'Back' }).first().click();
      await page.getByRole('button', { name: 'Back' }).first().click();
      await expect.poll(() => page.getByLabel('Name').inputValue()).toBe('Half done');

      await page.getByRole('link', { name: 'Cancel' }).click();
      await page.getByRole('button', { name: 'Discard Half done' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Discard set-up' }).click();
      await expect.poll(() => page.getByText('Half done').count()).toBe(0);
      expect(await pendingIds()).toEqual([]);
    },
    STEP_TIMEOUT,
  );
});
