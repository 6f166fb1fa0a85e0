/**
 * The console in a real browser (Debian's chromium driven by playwright-core) against the real server
 * and the loopback AWS: first-run set-up, a tenant, accounts connected with keys and with a role
 * created by the manual steps, permissions customised with the JSON preview, edit, rotate, delete,
 * health checks on demand with their history, webhooks (tenant and operator) delivered to a local
 * receiver, and a viewer who can change nothing. The tests run in order and share one server; they
 * save screenshots of the main screens into docs/screenshots.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildTrustPolicy,
  DEFAULT_CATALOG_URL,
  loadCatalog,
  PARTITION_IDS,
  type PartitionId,
  parseHubPrincipal,
  unwrap,
} from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import {
  bundlePolicy,
  createHub,
  hubEnvironment,
  startWebhookReceiver,
  type WebhookReceiver,
} from '@onramp/server/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, launchBrowser, screenshot } from './browser.ts';
import { type RunningServer, startServer } from './server-process.ts';

const CUSTOMER_ACCOUNT = '222233334444';
const OPERATOR = {
  email: 'ops@example.com',
  name: 'Olivia Operator',
  password: 'operator password 1',
};
const ADMIN = { email: 'ada@acme.example', name: 'Ada Admin', password: 'tenant admin password' };
const VIEWER = {
  email: 'vic@acme.example',
  name: 'Vic Viewer',
  password: 'tenant viewer password',
};
const STEP_TIMEOUT = 60_000;
const ROTATE_SECRET_PATH = '/v1/webhooks/{id}/rotate-secret';

/** What a receiver does (README, "Webhooks"): the signatures of a delivery that `secret` makes. */
function signedWith(secret: string, headers: Record<string, unknown>, body: string): boolean {
  const timestamp = String(headers['onramp-webhook-timestamp']);
  const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
  return String(headers['onramp-webhook-signature'] ?? '')
    .split(' ')
    .includes(expected);
}

const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
  actions: createIamDataActionIndex(),
});

/** The policy the dedicated user or role gets for the partition's default bundles. */
const defaultPolicy = (partition: PartitionId, principal: 'role' | 'user', roleName = 'x') =>
  bundlePolicy(catalog, {
    partition,
    bundles: 'default',
    principal,
    accountId: CUSTOMER_ACCOUNT,
    roleName,
  });

describe('the console, in chromium, against Onramp and the loopback AWS', () => {
  let aws: LoopbackAws;
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let receiver: WebhookReceiver;
  let stackRoleArn = '';
  const hubArn: Partial<Record<PartitionId, string>> = {};
  const browserLog: string[] = [];

  beforeAll(async () => {
    // Fail, never skip, when chromium is missing: CI installs it.
    browser = await launchBrowser();
    await buildConsole();
    aws = await startLoopbackAws();
    receiver = await startWebhookReceiver();
    const env: Record<string, string> = {
      ONRAMP_DATA_DIR: mkdtempSync(join(tmpdir(), 'onramp-console-')),
      AWS_ENDPOINT_URL: aws.url,
      LOG_LEVEL: 'warn',
      // A public URL puts the call-back into templates; the test plays the stack's function itself.
      ONRAMP_PUBLIC_URL: 'http://onramp.test',
      // The webhook receiver listens on 127.0.0.1, which Onramp refuses unless the operator allows it.
      ONRAMP_WEBHOOKS_ALLOW_PRIVATE: 'true',
    };
    PARTITION_IDS.forEach((partition, i) => {
      aws.createAccount(partition, CUSTOMER_ACCOUNT);
      // The operator configures a hub identity in aws and aws-us-gov only: aws-cn offers keys only.
      if (partition === 'aws-cn') return;
      const { user: hub } = createHub(aws, partition, {
        accessKeyId: `AKIAHUBCONSOLETEST0${i}`,
        secretAccessKey: `hubSecretForConsoleTestsOnly000000000000${i}`,
      });
      Object.assign(env, hubEnvironment(partition, hub));
      hubArn[partition] = hub.arn;
    });
    server = await startServer(env);
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => browserLog.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        browserLog.push(
          `console ${message.type()}: ${message.text()} ${JSON.stringify(message.location())}`,
        );
    });
  }, 120_000);

  // On failure: what the page looked like and what it logged, to find out why.
  afterEach(async (test) => {
    if (test.task.result?.state !== 'fail' || !page) return;
    const path = join(tmpdir(), `onramp-console-failure-${Date.now()}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    console.error(`Failed at ${page.url()}; screenshot ${path}\n${browserLog.join('\n')}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await aws?.stop();
    await receiver?.close();
  });

  async function signIn(user: { email: string; password: string }) {
    await page.goto(server.url);
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }
  /** The page fits the window's width; otherwise, the elements that stick out, to find out why. */
  async function expectNoSidewaysScroll() {
    const wider = (await page.evaluate(`(() => {
      const width = document.documentElement.clientWidth;
      if (document.documentElement.scrollWidth <= width) return [];
      return [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > width + 1)
        .slice(0, 5)
        .map((e) => e.outerHTML.slice(0, 200));
    })()`)) as string[];
    expect(wider, wider.join('\n')).toEqual([]);
  }
  async function signOut() {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  }

  it(
    'serves the console at / and deep links, and the API 404 under /v1',
    async () => {
      const root = await fetch(`${server.url}/`);
      expect(root.status).toBe(200);
      expect(root.headers.get('content-type')).toContain('text/html');
      expect(root.headers.get('content-security-policy')).toContain("default-src 'self'");
      const deep = await fetch(`${server.url}/accounts/acct_123`);
      expect(await deep.text()).toContain('<div id="root">');
      const api = await fetch(`${server.url}/v1/nothing-here`);
      expect(api.status).toBe(404);
      expect(api.headers.get('content-type')).toContain('application/problem+json');
      expect((await fetch(`${server.url}/assets/missing.js`)).status).toBe(404);
    },
    STEP_TIMEOUT,
  );

  it(
    'sets up the operator admin with the one-time token, who creates a tenant and its admin',
    async () => {
      const token = /(setup_[A-Za-z0-9_-]+)/.exec(server.output())?.[1];
      expect(token, server.output()).toBeDefined();
      await page.goto(server.url);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await screenshot(page, 'sign-in');

      await page.getByRole('link', { name: 'Set up the operator admin' }).click();
      // The shared schema refuses a short password before anything is sent.
      await page.getByLabel('Set-up token').fill(token ?? '');
      await page.getByLabel('Your name').fill(OPERATOR.name);
      await page.getByLabel('Email').fill(OPERATOR.email);
      await page.getByLabel('Password').fill('short');
      await page.getByRole('button', { name: 'Create the operator admin' }).click();
      await expect
        .poll(() => page.getByLabel('Password').getAttribute('aria-invalid'))
        .toBe('true');
      await page.getByText('use at least 12 characters').waitFor();
      await page.getByLabel('Password').fill(OPERATOR.password);
      await page.getByRole('button', { name: 'Create the operator admin' }).click();
      await page.getByRole('heading', { name: 'Operator' }).waitFor();

      await page.getByLabel('Tenant name').fill('Acme Corp');
      await page.getByLabel("First admin's name").fill(ADMIN.name);
      await page.getByLabel("First admin's email").fill(ADMIN.email);
      await page.getByLabel("First admin's password").fill(ADMIN.password);
      await page.getByRole('button', { name: 'Create tenant' }).click();
      await page.getByRole('cell', { name: /Acme Corp/ }).waitFor();

      await page.getByRole('tab', { name: 'Hub identities' }).click();
      await page.getByText('Access keys only').waitFor();
      await page.getByText(hubArn.aws ?? 'missing').waitFor();
      await screenshot(page, 'operator-hub-identities');
      await signOut();
    },
    STEP_TIMEOUT,
  );

  it(
    'shows a tenant admin an empty list that says what to do first',
    async () => {
      await signIn(ADMIN);
      await page.getByRole('heading', { name: 'Connect your first AWS account' }).waitFor();
      await screenshot(page, 'accounts-empty');
    },
    STEP_TIMEOUT,
  );

  it(
    'connects an account with access keys: a wrong secret turns its field red, the right one saves',
    async () => {
      const user = aws.createUser('aws', CUSTOMER_ACCOUNT, 'onramp', {
        policies: [defaultPolicy('aws', 'user')],
      });
      await page.getByRole('button', { name: '+ Add AWS account' }).first().click();
      await page.getByRole('heading', { name: 'Add AWS account' }).waitFor();
      // Step 1 is checked with the shared schema: no name, no next step.
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await expect.poll(() => page.getByLabel('Name').getAttribute('aria-invalid')).toBe('true');
      await page.getByLabel('Name').fill('Keys account');
      await page.getByLabel('Description').fill('Billing reports');
      await page.locator('input[type=radio][value="aws"]').check();
      await page.locator('input[type=radio][value="access_keys"]').check();
      await screenshot(page, 'wizard-account');
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page.getByRole('button', { name: 'Next: access keys' }).click();

      await page.getByLabel('Access key ID').fill(user.accessKeyId);
      await page.getByLabel('Secret access key').fill(`${user.secretAccessKey.slice(0, -4)}XXXX`);
      const save = page.getByRole('button', { name: 'Save account' });
      await expect.poll(() => save.isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Validate' }).click();
      await page.getByText('Validation failed').waitFor();
      await expect
        .poll(() => page.getByLabel('Secret access key').getAttribute('aria-invalid'))
        .toBe('true');
      await expect.poll(() => save.isDisabled()).toBe(true);
      await screenshot(page, 'wizard-keys-wrong-secret');

      await page.getByLabel('Secret access key').fill(user.secretAccessKey);
      await page.getByRole('button', { name: 'Validate' }).click();
      await page.getByText('Validation passed').waitFor();
      await expect
        .poll(() => page.getByLabel('Secret access key').getAttribute('aria-invalid'))
        .toBeNull();
      await expect.poll(() => save.isEnabled()).toBe(true);
      await screenshot(page, 'wizard-keys-validated');
      await save.click();
      await page.getByText('Keys account is connected').waitFor();
      await page.getByRole('button', { name: 'Back to accounts' }).click();
      await page.getByRole('link', { name: 'Keys account' }).waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'connects an account with a role created by the manual steps, after customising its permissions',
    async () => {
      await page.getByRole('button', { name: '+ Add AWS account' }).click();
      await page.getByLabel('Name').fill('Role account');
      await page.locator('input[type=radio][value="aws"]').check();
      await page.locator('input[type=radio][value="role"]').check();
      await page.getByRole('button', { name: 'Next: permissions' }).click();

      // The live JSON follows the selection: dropping Cost Explorer drops its actions.
      await page.getByRole('button', { name: 'View JSON' }).click();
      const json = page.getByTestId('policy-json').first();
      await expect.poll(() => json.innerText()).toContain('ce:Get*');
      await page.getByLabel('Customise').check();
      const costExplorer = page.locator('[data-bundle="cost-explorer"] input[type=checkbox]');
      await costExplorer.uncheck();
      await expect.poll(() => json.innerText()).not.toContain('ce:Get*');
      await page.locator('[data-bundle="cost-explorer"] summary').click();
      await screenshot(page, 'wizard-permissions');

      await page.getByRole('button', { name: 'Next: create the role' }).click();
      await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
      await page.getByRole('tab', { name: 'Manual' }).click();
      await page.getByRole('tabpanel').locator('.manual-step').first().waitFor();
      await screenshot(page, 'wizard-create-role');

      // What the tenant does in AWS: create the role with the external ID the page shows.
      const externalId = (await page.locator('.facts code').nth(1).innerText()).trim();
      const role = aws.createRole('aws', CUSTOMER_ACCOUNT, {
        roleName: 'OnrampRole',
        trustPolicy: buildTrustPolicy({
          partition: 'aws',
          hub: unwrap(parseHubPrincipal(hubArn.aws, 'aws')),
          externalId,
        }),
        inlinePolicies: { onramp: defaultPolicy('aws', 'role', 'OnrampRole') },
      });
      await page.getByText('Waiting for your stack…').waitFor();
      await page.getByLabel('Role ARN').fill(role.arn);
      await page.getByRole('button', { name: 'Validate' }).click();
      await page.getByText('Validation passed').waitFor({ timeout: 30_000 });
      await screenshot(page, 'wizard-role-validated');
      await page.getByRole('button', { name: 'Save account' }).click();
      await page.getByText('Role account is connected').waitFor();
      // Chosen without "Attach existing IAM policies": the page says how to add it instead.
      await page.getByText('Add IAM policies needs one more permission').waitFor();
      await page.getByRole('button', { name: 'Back to accounts' }).click();
      await page.getByRole('link', { name: 'Role account' }).waitFor();
      await expect
        .poll(() => page.getByRole('row', { name: /Role account/ }).innerText())
        .toContain('IAM role');
      await screenshot(page, 'accounts-list');
    },
    STEP_TIMEOUT,
  );

  it(
    'connects a role by the CloudFormation call-back, with no copy and paste',
    async () => {
      await page.getByRole('link', { name: 'Cloud accounts' }).click();
      await page.getByRole('button', { name: '+ Add AWS account' }).click();
      await page.getByLabel('Name').fill('Stack account');
      await page.locator('input[type=radio][value="aws"]').check();
      await page.locator('input[type=radio][value="role"]').check();
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page.getByRole('button', { name: 'Next: create the role' }).click();
      await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
      await page.getByText('Waiting for your stack…').waitFor();

      // What CloudFormation does: the template names the call-back and carries a one-time token.
      const href = await page.getByRole('link', { name: /Download template/ }).getAttribute('href');
      expect(href).toMatch(/\/v1\/connections\/con_[0-9a-z]+\/cloudformation\?format=yaml$/);
      const template =
        (await // The link names Onramp's public URL; this test reaches the same server on its local address.
        (
          await page.request.get(
            `${server.url}${new URL(href ?? '', server.url).pathname}?format=json`,
          )
        ).json()) as {
          Parameters: { ExternalId: { Default: string }; CallbackToken: { Default: string } };
          Resources: Record<string, { Type: string; Properties?: { CallbackUrl?: string } }>;
        };
      const callback = Object.values(template.Resources).find(
        (r) => r.Type === 'Custom::OnrampCallback',
      );
      expect(callback?.Properties?.CallbackUrl).toBe(
        'http://onramp.test/v1/callbacks/cloudformation',
      );
      const role = aws.createRole('aws', CUSTOMER_ACCOUNT, {
        roleName: 'StackRole',
        trustPolicy: buildTrustPolicy({
          partition: 'aws',
          hub: unwrap(parseHubPrincipal(hubArn.aws, 'aws')),
          externalId: template.Parameters.ExternalId.Default,
        }),
        inlinePolicies: { onramp: defaultPolicy('aws', 'role', 'StackRole') },
      });
      stackRoleArn = role.arn;
      const reported = await fetch(`${server.url}/v1/callbacks/cloudformation`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          requestType: 'Create',
          token: template.Parameters.CallbackToken.Default,
          roleArn: role.arn,
          stackId: `arn:aws:cloudformation:us-east-1:${CUSTOMER_ACCOUNT}:stack/onramp-StackRole/1`,
        }),
      });
      expect(reported.status, await reported.clone().text()).toBe(200);

      // The page was waiting: it notices by itself and shows the connected account.
      await page.getByText('Your stack reported the role back.').waitFor({ timeout: 30_000 });
      await page.getByText('Stack account is connected').waitFor();
      await page.getByRole('button', { name: 'Back to accounts' }).click();
      await page.getByRole('link', { name: 'Stack account' }).waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'filters the list by method and search',
    async () => {
      await page.getByLabel('Method').selectOption('access_keys');
      await expect.poll(() => page.getByRole('link', { name: 'Role account' }).count()).toBe(0);
      await page.getByRole('link', { name: 'Keys account' }).waitFor();
      await page.getByLabel('Method').selectOption('');
      await page.getByLabel('Search').fill('nothing like it');
      await page.getByRole('heading', { name: 'No accounts match' }).waitFor();
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await page.getByRole('link', { name: 'Role account' }).waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'checks an account now: the new check on top of the history, a lost permission, AWS not answering',
    async () => {
      await page.getByRole('link', { name: 'Stack account' }).click();
      await page.getByRole('heading', { name: 'Check history' }).waitFor();
      const history = page.getByRole('table', { name: 'Check history' });
      const rows = history.locator('tbody tr[data-check]');
      // Connecting validates but records no check: the history starts with the first health check.
      await page.getByText('No checks recorded yet').or(rows.first()).waitFor();
      const before = await rows.count();
      const newest = () => rows.first().getAttribute('data-check');
      const previousNewest = before > 0 ? await newest() : null;

      await page.getByRole('button', { name: 'Check now' }).click();
      await expect.poll(newest).not.toBe(previousNewest);
      expect(await rows.count()).toBe(before + 1);
      expect(await rows.first().innerText()).toContain('On demand');
      await page.getByText(/^Checked (just now|.* seconds? ago):/).waitFor();

      // The customer drops Cost Explorer from the role's policy: the next check finds it missing.
      const defaults = catalog.defaultBundles('aws').map((b) => b.id);
      aws.putInlinePolicy(
        'aws',
        stackRoleArn,
        'onramp',
        bundlePolicy(catalog, {
          partition: 'aws',
          bundles: defaults.filter((id) => id !== 'cost-explorer'),
          principal: 'role',
          accountId: CUSTOMER_ACCOUNT,
          roleName: 'StackRole',
        }),
      );
      await page.getByRole('button', { name: 'Check now' }).click();
      await expect.poll(() => rows.first().innerText()).toMatch(/Degraded[\s\S]*was[\s\S]*Valid/);
      await page.getByRole('heading', { level: 1 }).getByText('Degraded').waitFor();
      const result = page.locator('.check-result');
      // The result counts the missing actions per feature; the list opens on demand.
      await result.getByText(/^Missing actions: Cost Explorer \(\d+\)$/).click();
      // A few actions per feature; "and N more" shows the rest.
      const costExplorer = result.locator('[data-bundle="cost-explorer"]');
      await costExplorer.getByRole('button', { name: /^and \d+ more$/ }).click();
      await costExplorer.getByText('ce:GetCostAndUsage', { exact: true }).waitFor();
      expect(await result.locator('.check-duration').count()).toBeGreaterThan(0);

      // AWS stops answering: the check is recorded, stale, and the account keeps its health.
      aws.failNext(1000, { service: 'sts', status: 503 });
      try {
        await page.getByRole('button', { name: 'Check now' }).click();
        await page.getByText('Health not refreshed').waitFor({ timeout: 30_000 });
      } finally {
        aws.clearFaults();
      }
      await page.getByRole('heading', { level: 1 }).getByText('Stale').waitFor();
      await page.getByRole('heading', { level: 1 }).getByText('Degraded').waitFor();
      expect(await rows.first().innerText()).toContain('Stale');
      expect(await rows.count()).toBe(before + 3);

      // The degraded check's details: each check, the error on its bundle, the missing actions.
      const degraded = rows.nth(1);
      await degraded.getByRole('button', { name: /^Details/ }).click();
      const details = history.locator('tr.details-row');
      await details
        .getByRole('button', { name: /^and \d+ more$/ })
        .first()
        .click();
      await details.getByText('ce:GetCostAndUsage', { exact: true }).waitFor();
      await details.locator('.field-error').first().waitFor();
      expect(
        await degraded.getByRole('button', { name: /^Hide details/ }).getAttribute('aria-expanded'),
      ).toBe('true');
      await history.scrollIntoViewIfNeeded();
      await screenshot(page, 'account-health');
      await page.getByRole('link', { name: 'Cloud accounts', exact: true }).first().click();
      await page.getByRole('link', { name: 'Keys account' }).waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'edits an account, rotates its keys (validated first), then deletes it by typing its name',
    async () => {
      await page.getByRole('link', { name: 'Keys account' }).click();
      await page.getByRole('heading', { name: 'Identity' }).waitFor();
      await screenshot(page, 'account');

      await page.getByLabel('Name', { exact: true }).fill('Keys account (billing)');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('heading', { name: /Keys account \(billing\)/ }).waitFor();

      const next = aws.createUser('aws', CUSTOMER_ACCOUNT, 'onramp-rotated', {
        policies: [defaultPolicy('aws', 'user')],
      });
      await page.getByRole('button', { name: 'Rotate keys' }).click();
      await page.getByLabel('New access key ID').fill(next.accessKeyId);
      await page.getByLabel('New secret access key').fill('not the secret at all');
      await page.getByRole('button', { name: 'Validate and replace' }).click();
      await expect
        .poll(() => page.getByLabel('New secret access key').getAttribute('aria-invalid'))
        .toBe('true');
      await page.getByLabel('New secret access key').fill(next.secretAccessKey);
      await page.getByRole('button', { name: 'Validate and replace' }).click();
      await page.getByText('Credentials replaced').waitFor({ timeout: 30_000 });
      await page.getByText(next.accessKeyId).waitFor();

      await page.getByRole('button', { name: 'Delete account' }).click();
      const dialog = page.getByRole('dialog');
      const confirm = dialog.getByRole('button', { name: 'Delete for good' });
      await expect.poll(() => confirm.isDisabled()).toBe(true);
      await dialog.getByRole('textbox').fill('Keys account (billing)');
      await screenshot(page, 'account-delete', false);
      await confirm.click();
      await page.getByRole('heading', { name: 'Cloud accounts' }).waitFor();
      await page.getByRole('link', { name: 'Role account' }).waitFor();
      await expect.poll(() => page.getByRole('link', { name: /Keys account/ }).count()).toBe(0);
    },
    STEP_TIMEOUT,
  );

  it(
    'registers a webhook to a local receiver: the secret once, a signed test event in the log',
    async () => {
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByRole('tab', { name: 'Webhooks' }).click();
      await page.getByText('No endpoints yet: add the first one below.').waitFor();

      // No event chosen: refused on its field before anything is sent.
      await page.getByLabel('Endpoint URL').fill(receiver.url('/tenant'));
      await page.getByRole('checkbox', { name: /account\.health_changed/ }).uncheck();
      await page.getByRole('button', { name: 'Add endpoint' }).click();
      await page
        .getByRole('group', { name: 'Events' })
        .getByText('Choose at least one event')
        .waitFor();
      // The server's own refusal lands on the URL field.
      await page.getByLabel('Endpoint URL').fill('ftp://example.com/hook');
      await page.getByRole('checkbox', { name: /account\.health_changed/ }).check();
      await page.getByRole('checkbox', { name: /account\.deleted/ }).check();
      await page.getByRole('button', { name: 'Add endpoint' }).click();
      await expect
        .poll(() => page.getByLabel('Endpoint URL').getAttribute('aria-invalid'))
        .toBe('true');

      await page.getByLabel('Endpoint URL').fill(receiver.url('/tenant'));
      await page.getByLabel('Description').fill('Health alerts for the platform');
      await page.getByRole('button', { name: 'Add endpoint' }).click();
      await page.getByText('Webhook endpoint added').waitFor();
      const secret = (await page.locator('.secret-once .copy-value code').innerText()).trim();
      expect(secret).toMatch(/^whsec_/);
      await page.getByText('How to verify a delivery').click();
      await screenshot(page, 'settings-webhooks-secret');
      await page.getByRole('button', { name: 'I have copied it' }).click();
      await expect.poll(() => page.getByText(secret).count()).toBe(0);
      await page.reload();
      await page.getByRole('tab', { name: 'Webhooks' }).click();
      const item = page.getByRole('listitem', { name: receiver.url('/tenant') });
      await item.waitFor();
      expect(await page.content()).not.toContain(secret);

      receiver.clear();
      await item.getByRole('button', { name: 'Send test event' }).click();
      await item.getByText('Test event delivered: the endpoint answered 200.').waitFor();
      const log = item.getByRole('region', { name: 'Delivery log' });
      await log
        .getByRole('row', { name: /webhook\.test/ })
        .getByText('Delivered', { exact: true })
        .waitFor();
      await log.getByText('HTTP 200').waitFor();
      const test = receiver.received.find((r) => r.json?.type === 'webhook.test');
      expect(test, JSON.stringify(receiver.received)).toBeDefined();
      expect(signedWith(secret, test?.headers ?? {}, test?.body ?? '')).toBe(true);
      await screenshot(page, 'settings-webhooks');

      // Rotation is being built beside this console: exercise it when this server has the route.
      const paths = (
        (await (await fetch(`${server.url}/openapi.json`)).json()) as {
          paths: Record<string, unknown>;
        }
      ).paths;
      if (ROTATE_SECRET_PATH in paths) {
        await item.getByRole('button', { name: 'Rotate secret' }).click();
        await item.getByLabel('Keep the old secret valid for (hours)').fill('2');
        await item.getByRole('form').getByRole('button', { name: 'Rotate secret' }).click();
        await page.getByText('Signing secret rotated').waitFor();
        const rotated = (await page.locator('.secret-once .copy-value code').innerText()).trim();
        expect(rotated).toMatch(/^whsec_/);
        expect(rotated).not.toBe(secret);
        await page.getByText(/The old secret still signs every delivery/).waitFor();
        await page.getByRole('button', { name: 'I have copied it' }).click();
        await item.getByText(/old secret valid until/).waitFor();
        receiver.clear();
        await item.getByRole('button', { name: 'Send test event' }).click();
        await item.getByText('Test event delivered: the endpoint answered 200.').waitFor();
        const both = receiver.received.find((r) => r.json?.type === 'webhook.test');
        expect(signedWith(rotated, both?.headers ?? {}, both?.body ?? '')).toBe(true);
        expect(signedWith(secret, both?.headers ?? {}, both?.body ?? '')).toBe(true);
      }

      // Edit: no longer for deletions, and disabled.
      await item.getByRole('button', { name: 'Edit' }).click();
      await item.getByRole('checkbox', { name: /account\.deleted/ }).uncheck();
      await item.getByRole('button', { name: 'Save endpoint' }).click();
      await page.getByText('Endpoint saved.').waitFor();
      await expect.poll(() => item.innerText()).not.toContain('account.deleted');

      await page.setViewportSize({ width: 390, height: 844 });
      await expectNoSidewaysScroll();
      await screenshot(page, 'settings-webhooks-narrow');
      await page.setViewportSize({ width: 1280, height: 860 });

      // A second endpoint, deleted after confirming.
      await page.getByLabel('Endpoint URL').fill(receiver.url('/other'));
      await page.getByRole('button', { name: 'Add endpoint' }).click();
      await page.getByRole('button', { name: 'I have copied it' }).click();
      const other = page.getByRole('listitem', { name: receiver.url('/other') });
      await other.getByRole('button', { name: 'Delete' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete endpoint' }).click();
      await page.getByText(`Endpoint ${receiver.url('/other')} deleted.`).waitFor();
      await expect.poll(() => other.count()).toBe(0);
      await page.getByRole('link', { name: 'Cloud accounts' }).click();
    },
    STEP_TIMEOUT,
  );

  it(
    'adds a viewer in settings, who sees the accounts but cannot change anything',
    async () => {
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByLabel('Name').fill(VIEWER.name);
      await page.getByLabel('Email').fill(VIEWER.email);
      await page.getByLabel('Initial password').fill(VIEWER.password);
      await page.getByLabel('Role').selectOption('tenant_viewer');
      await page.getByRole('button', { name: 'Add user' }).click();
      await page.getByRole('cell', { name: VIEWER.email }).waitFor();
      await screenshot(page, 'settings-users');
      await page.getByRole('tab', { name: 'API tokens' }).click();
      await page.getByLabel('Name').fill('Provisioning');
      await page.getByRole('button', { name: 'Create token' }).click();
      await page.getByText('Copy it now').waitFor();
      expect(await page.locator('.alert-success code').innerText()).toMatch(/^onr_/);
      await page.getByRole('tab', { name: 'Audit log' }).click();
      await page.getByText('account.deleted').first().waitFor();
      await signOut();

      await signIn(VIEWER);
      await page.getByRole('link', { name: 'Role account' }).waitFor();
      await expect
        .poll(() => page.getByRole('button', { name: '+ Add AWS account' }).count())
        .toBe(0);
      await expect.poll(() => page.getByRole('link', { name: 'Settings' }).count()).toBe(0);
      await page.getByRole('link', { name: 'Role account' }).click();
      await page.getByText('You can view this account; changing it needs an admin.').waitFor();
      await expect.poll(() => page.getByRole('button', { name: 'Delete account' }).count()).toBe(0);
      await expect.poll(() => page.getByRole('button', { name: 'Save changes' }).count()).toBe(0);
      await expect
        .poll(() => page.getByRole('button', { name: 'Change permissions' }).count())
        .toBe(0);
      // The health history, but no Check now.
      await page.getByRole('heading', { name: 'Check history' }).waitFor();
      await expect.poll(() => page.getByRole('button', { name: 'Check now' }).count()).toBe(0);
      await screenshot(page, 'account-viewer');
      await page.goto(`${server.url}/accounts/new`);
      await page.getByText('Your role can view accounts but not add them.').waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'reads well on a narrow window',
    async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${server.url}/accounts`);
      await page.getByRole('link', { name: 'Role account' }).waitFor();
      const overflow = await page.evaluate(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(page, 'accounts-narrow');

      await page.getByRole('link', { name: 'Stack account' }).click();
      await page
        .getByRole('table', { name: 'Check history' })
        .locator('tbody tr')
        .first()
        .waitFor();
      await expectNoSidewaysScroll();
      await screenshot(page, 'account-health-narrow');
    },
    STEP_TIMEOUT,
  );

  it(
    'gives the operator webhooks of its own, for every tenant’s events, even while acting on a tenant',
    async () => {
      await page.setViewportSize({ width: 1280, height: 860 });
      await signOut();
      await signIn(OPERATOR);
      await page.getByLabel('Acting on tenant').selectOption({ label: 'Acme Corp' });
      await page.getByRole('link', { name: 'Role account' }).waitFor();
      await page.getByRole('link', { name: 'Operator' }).click();
      await page.getByRole('tab', { name: 'Webhooks' }).click();
      await page.getByRole('heading', { name: 'Operator webhook endpoints' }).waitFor();
      await page.getByLabel('Endpoint URL').fill(receiver.url('/operator'));
      await page.getByRole('button', { name: 'Add endpoint' }).click();
      await page.getByText('Webhook endpoint added').waitFor();
      await page.getByRole('button', { name: 'I have copied it' }).click();
      const item = page.getByRole('listitem', { name: receiver.url('/operator') });
      await item.getByRole('button', { name: 'Send test event' }).click();
      await item.getByText('Test event delivered: the endpoint answered 200.').waitFor();

      // Registered in the operator's scope, not the tenant's it was acting on.
      const mine = (await (await page.request.get(`${server.url}/v1/webhooks`)).json()) as {
        endpoints: { url: string; scope: string }[];
      };
      expect(mine.endpoints.map((e) => [e.url, e.scope])).toEqual([
        [receiver.url('/operator'), 'operator'],
      ]);
      await screenshot(page, 'operator-webhooks');
    },
    STEP_TIMEOUT,
  );
});
