/**
 * The seeds' remaining pieces in a real browser (chromium) against the real server and the loopback
 * AWS: Redis Cloud's console role (Open AWS console on a role account's page, for admins only) and
 * Tutum's dedicated user (the keys path, step by step, with the templates downloaded), in GovCloud too.
 * The tenant, its people and a role account are set up through the API; the screens are walked here.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG_URL, loadCatalog, PARTITION_IDS, type PartitionId } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { createClient, type OnrampClient } from '@onramp/sdk';
import { createConnectedRole, createHub, hubEnvironment } from '@onramp/server/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildConsole, launchBrowser, screenshot } from './browser.ts';
import { type RunningServer, startServer } from './server-process.ts';

const CUSTOMER_ACCOUNT = '222233334444';
const OPERATOR = {
  email: 'ops@seeds.example',
  name: 'Olivia Operator',
  password: 'seeds operator pass 1',
};
const ADMIN = {
  email: 'ada@seeds.example',
  name: 'Ada Admin',
  password: 'seeds tenant admin pass',
};
const VIEWER = {
  email: 'vic@seeds.example',
  name: 'Vic Viewer',
  password: 'seeds tenant viewer pass',
};
const STEP_TIMEOUT = 60_000;

/** A client keeping the session cookie, as a browser would. */
function clientFor(url: string, tenant?: () => string | undefined): OnrampClient {
  let cookie = '';
  return createClient({
    baseUrl: url,
    ...(tenant ? { tenant } : {}),
    fetch: async (input, init) => {
      const headers = new Headers(init?.headers);
      if (cookie) headers.set('cookie', cookie);
      const response = await fetch(input, { ...init, headers });
      const set = response.headers.get('set-cookie');
      if (set) cookie = set.split(';')[0] ?? '';
      return response;
    },
  });
}

describe('the seeds in the console: console role and dedicated user', () => {
  let aws: LoopbackAws;
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let roleAccountId = '';
  let keysAccountId = '';
  let roleArn = '';
  const hubArn: Partial<Record<PartitionId, string>> = {};
  const browserLog: string[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    await buildConsole();
    aws = await startLoopbackAws();
    const env: Record<string, string> = {
      ONRAMP_DATA_DIR: mkdtempSync(join(tmpdir(), 'onramp-seeds-')),
      AWS_ENDPOINT_URL: aws.url,
      ONRAMP_LOG_LEVEL: 'warn',
    };
    PARTITION_IDS.forEach((partition, i) => {
      aws.createAccount(partition, CUSTOMER_ACCOUNT);
      if (partition === 'aws-cn') return;
      const { user: hub } = createHub(aws, partition, {
        accessKeyId: `AKIAHUBSEEDSTEST000${i}`,
        secretAccessKey: `hubSecretForSeedsTestsOnly00000000000000${i}`.slice(0, 40),
      });
      Object.assign(env, hubEnvironment(partition, hub));
      hubArn[partition] = hub.arn;
    });
    server = await startServer(env);

    // The operator, a tenant with an admin and a viewer, and two accounts, through the API.
    let tenantId: string | undefined;
    const api = clientFor(server.url, () => tenantId);
    const setupToken = /(setup_[A-Za-z0-9_-]+)/.exec(server.output())?.[1] ?? '';
    await api.session.setup({ setupToken, ...OPERATOR });
    tenantId = (await api.tenants.create({ name: 'Seeds tenant', admin: ADMIN })).id;
    await api.users.create({ ...VIEWER, role: 'tenant_viewer' });
    const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
      actions: createIamDataActionIndex(),
    });
    const connection = await api.connections.create({ name: 'Console role', partition: 'aws' });
    const role = createConnectedRole(aws, catalog, {
      partition: 'aws',
      accountId: CUSTOMER_ACCOUNT,
      roleName: connection.roleName,
      hubArn: hubArn.aws ?? '',
      externalId: connection.externalId ?? '',
      bundles: 'default',
    });
    roleArn = role.arn;
    roleAccountId = (
      await api.accounts.create({
        method: 'role',
        connectionId: connection.id,
        roleArn,
        name: 'Console role',
      })
    ).id;
    const user = aws.createUser('aws', CUSTOMER_ACCOUNT, 'plain-keys', {
      policies: [
        {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        },
      ],
    });
    keysAccountId = (
      await api.accounts.create({
        method: 'access_keys',
        name: 'Plain keys',
        partition: 'aws',
        accessKeyId: user.accessKeyId,
        secretAccessKey: user.secretAccessKey,
        bundles: 'default',
      })
    ).id;

    context = await browser.newContext({
      viewport: { width: 1280, height: 860 },
      acceptDownloads: true,
    });
    // The sign-in link leads to AWS's federation endpoint; here a stand-in page answers for it.
    await context.route(
      /^https:\/\/signin\.(aws\.amazon\.com|amazonaws-us-gov\.com|amazonaws\.cn)\//,
      (route) =>
        route.fulfill({
          contentType: 'text/html',
          body: '<title>AWS sign-in</title><h1>AWS console</h1>',
        }),
    );
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => browserLog.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') browserLog.push(`console error: ${message.text()}`);
    });
  }, 180_000);

  afterEach(async (test) => {
    if (test.task.result?.state !== 'fail' || !page) return;
    const path = join(tmpdir(), `onramp-seeds-failure-${Date.now()}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    console.error(`Failed at ${page.url()}; screenshot ${path}\n${browserLog.join('\n')}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await aws?.stop();
  });

  async function signIn(user: { email: string; password: string }) {
    await page.goto(server.url);
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }
  async function signOut() {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  }

  it(
    'opens the AWS console as the connected role in a new tab, for an admin',
    async () => {
      await signIn(ADMIN);
      await page.goto(`${server.url}/accounts/${roleAccountId}`);
      const card = page.locator('section.card', {
        has: page.getByRole('heading', { name: 'AWS console' }),
      });
      await card.waitFor();
      await expect.poll(() => card.textContent()).toContain(roleArn);
      const [tab] = await Promise.all([
        context.waitForEvent('page'),
        page.getByRole('button', { name: 'Open AWS console' }).click(),
      ]);
      await tab.waitForURL(/^https:\/\/signin\.aws\.amazon\.com\/federation\?/);
      const link = new URL(tab.url());
      expect(link.searchParams.get('Action')).toBe('login');
      expect(link.searchParams.get('Destination')).toBe('https://console.aws.amazon.com/');
      // The token the loopback issued stands for a session of the account's role.
      const session = aws.signinSessionOf(link.searchParams.get('SigninToken') ?? '');
      expect(session?.arn).toMatch(
        new RegExp(
          `^arn:aws:sts::${CUSTOMER_ACCOUNT}:assumed-role/${connectionRoleName(roleArn)}/onramp-console-`,
        ),
      );
      await tab.close();
      await page.getByText('Opened in a new tab; that session ends').waitFor();
      // The link signs in whoever opens it: the page never shows it.
      expect(await page.content()).not.toContain('SigninToken');
      await screenshot(page, 'account-open-aws-console');
    },
    STEP_TIMEOUT,
  );

  it(
    'shows why the console cannot be opened, and offers no button on an access-key account',
    async () => {
      // The tenant removed the trust for Onramp: AWS refuses, and the page says so.
      aws.updateTrustPolicy('aws', roleArn, {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'ec2.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      });
      await page.goto(`${server.url}/accounts/${roleAccountId}`);
      const pagesBefore = context.pages().length;
      await page.getByRole('button', { name: 'Open AWS console' }).click();
      const alert = page.getByRole('alert').filter({ hasText: 'The console could not be opened' });
      await alert.waitFor();
      await expect.poll(() => alert.textContent()).toMatch(/assume|role|refused/i);
      // The blank tab opened for the link is closed again.
      await expect.poll(() => context.pages().length).toBe(pagesBefore);
      await screenshot(page, 'account-open-aws-console-error');

      await page.goto(`${server.url}/accounts/${keysAccountId}`);
      await page.getByRole('heading', { name: /Plain keys/ }).waitFor();
      await page.getByRole('heading', { name: 'Check history' }).waitFor();
      expect(await page.getByRole('button', { name: 'Open AWS console' }).count()).toBe(0);
      await signOut();
    },
    STEP_TIMEOUT,
  );

  it(
    'offers no console button to a viewer',
    async () => {
      await signIn(VIEWER);
      await page.goto(`${server.url}/accounts/${roleAccountId}`);
      await page.getByText('You can view this account; changing it needs an admin.').waitFor();
      await page.getByRole('heading', { name: 'Check history' }).waitFor();
      expect(await page.getByRole('button', { name: 'Open AWS console' }).count()).toBe(0);
      expect(await page.getByRole('heading', { name: 'AWS console' }).count()).toBe(0);
      await signOut();
    },
    STEP_TIMEOUT,
  );

  it(
    'walks the dedicated user step by step in GovCloud, downloads its templates, and connects its keys',
    async () => {
      await signIn(ADMIN);
      await page.goto(`${server.url}/accounts/new`);
      await page.getByLabel('Name').fill('GovCloud keys');
      await page.locator('input[type=radio][value="aws-us-gov"]').check();
      await page.locator('input[type=radio][value="access_keys"]').check();
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page.getByRole('button', { name: 'Next: access keys' }).click();
      const card = page.locator('section.card', {
        has: page.getByRole('heading', { name: 'Create a dedicated IAM user' }),
      });
      await card.waitFor();
      const userName = card.getByLabel('User name');
      await expect.poll(() => userName.inputValue()).toBe('acme-cloud-onramp');

      // A hostile name is refused beside the field, before anything is asked of the API.
      await userName.fill('tutum user"${x}');
      await card.getByText('A user name is 1 to 64 letters').waitFor();
      await userName.fill('tutum');
      await expect
        .poll(() => card.getByRole('link', { name: /tutum’s access keys/ }).getAttribute('href'))
        .toBe(
          'https://console.amazonaws-us-gov.com/iam/home#/users/details/tutum?section=security_credentials',
        );

      const [cfn] = await Promise.all([
        page.waitForEvent('download'),
        card.getByRole('link', { name: 'Download template (YAML)' }).click(),
      ]);
      expect(cfn.suggestedFilename()).toBe('tutum-aws-us-gov.yaml');
      const template = parseYaml(readFileSync((await cfn.path()) ?? '', 'utf8'));
      expect(template.Parameters.UserName.Default).toBe('tutum');
      expect(template.Metadata.Onramp.Partition).toBe('aws-us-gov');
      const types = Object.values(template.Resources as Record<string, { Type: string }>).map(
        (r) => r.Type,
      );
      expect(types).toContain('AWS::IAM::User');
      expect(types).not.toContain('AWS::IAM::AccessKey');
      await screenshot(page, 'add-account-dedicated-user');

      await card.getByRole('tab', { name: 'Terraform' }).click();
      const [tf] = await Promise.all([
        page.waitForEvent('download'),
        card.getByRole('link', { name: 'Download Terraform' }).click(),
      ]);
      const hcl = readFileSync((await tf.path()) ?? '', 'utf8');
      expect(hcl).toContain('data.aws_partition.current.partition == "aws-us-gov"');
      expect(hcl).not.toContain('aws_iam_access_key');

      await card.getByRole('tab', { name: 'In the IAM console' }).click();
      expect(
        await card
          .getByRole('link', { name: /Open IAM in the AWS GovCloud \(US\) console/ })
          .getAttribute('href'),
      ).toBe('https://console.amazonaws-us-gov.com/iam/home#/users');
      await card.getByText('Create the user', { exact: true }).waitFor();

      // The user's policy, as the template attaches it: GovCloud ARNs, the user inspecting itself.
      await card.locator('summary', { hasText: 'tutum-permissions-1' }).click();
      const policyText = await card.locator('details pre').first().textContent();
      expect(policyText).toContain('arn:aws-us-gov:iam::*:user/${aws:username}');
      expect(policyText).not.toContain('arn:aws:');
      await screenshot(page, 'add-account-dedicated-user-console-steps');

      // What the stack and the console do: the user with its policy, then its access key.
      const policy = JSON.parse(policyText ?? '{}');
      policy.Statement = policy.Statement.map((s: { Resource: string | string[] }) => ({
        ...s,
        Resource: JSON.parse(
          JSON.stringify(s.Resource).replaceAll(':iam::*:', `:iam::${CUSTOMER_ACCOUNT}:`),
        ),
      }));
      const created = aws.createUser('aws-us-gov', CUSTOMER_ACCOUNT, 'tutum', {
        policies: [policy],
      });
      await page.getByLabel('Access key ID').fill(created.accessKeyId);
      await page.getByLabel('Secret access key').fill(created.secretAccessKey);
      await page.getByRole('button', { name: 'Validate' }).click();
      const save = page.getByRole('button', { name: 'Save account' });
      await expect.poll(() => save.isEnabled(), { timeout: 30_000 }).toBe(true);
      await save.click();
      await page.getByText('GovCloud keys is connected').waitFor();
    },
    STEP_TIMEOUT * 2,
  );
});

function connectionRoleName(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}
