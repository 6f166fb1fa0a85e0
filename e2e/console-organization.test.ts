/**
 * A whole AWS organization connected in a real browser (Debian's chromium) against the real server
 * process and the loopback AWS, as a new tenant admin walks it: the empty Organizations list, the
 * wizard (a rule excluding the Sandbox OU; Back and Next and a reload keep one organization), the
 * management template downloaded and deployed into the management account of an organization of
 * 3 OUs × 4 accounts, its call-back played as the stack's function sends it, and the wizard moving
 * on by itself once the organization is active. Then the StackSet's instances and their call-backs,
 * discovery on demand, the OU tree with its counts, a unit picked, a member's account page, a member
 * broken (degraded on its next check) and one refused (its role takes any external ID: "What
 * failed", fixed, retried), the rules editor's preview and save, a viewer without actions, a second
 * tab, and aws-cn's wizard. Screenshots go to docs/screenshots when asked.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import {
  type DeployedStack,
  deployStack,
  deployStackSetInstances,
  type LoopbackAws,
  type PolicyDocument,
  startLoopbackAws,
} from '@onramp/loopback-aws';
import { bundlePolicy, createHub, hubEnvironment } from '@onramp/server/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, launchBrowser, screenshot, setUpOperatorAndTenant } from './browser.ts';
import { type RunningServer, startServer } from './server-process.ts';

const ORIGIN = 'https://onramp.example.test';
const MANAGEMENT = '700011112222';
const OPERATOR = { email: 'ops@example.com', name: 'Olivia Operator', password: 'operator pass 1' };
const ADMIN = { email: 'kay@acme.example', name: 'Kay Admin', password: 'tenant admin pass 1' };
const VIEWER = { email: 'vic@acme.example', name: 'Vic Viewer', password: 'tenant viewer pass 1' };
const STEP_TIMEOUT = 120_000;
/** Discovery and enrollment run in the server's job loops (5 s and 2 s ticks): seconds, not ms. */
const JOBS_TIMEOUT = 45_000;

const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
  actions: createIamDataActionIndex(),
});

interface Unit {
  name: string;
  id: string;
  accountIds: string[];
}

interface ApiMember {
  awsAccountId: string;
  name: string;
  state: string;
  accountId: string | null;
  health: string | null;
  reason: { code: string; message: string } | null;
}

describe('a whole organization, connected in chromium', () => {
  let aws: LoopbackAws;
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let hubArn = '';
  let rootId = '';
  let awsOrganizationId = '';
  let units: Unit[] = [];
  let organizationId = '';
  let managementStack: DeployedStack | undefined;
  let memberRoleName = '';
  const browserLog: string[] = [];

  const unit = (name: string) => units.find((u) => u.name === name) as Unit;

  beforeAll(async () => {
    browser = await launchBrowser();
    await buildConsole();
    aws = await startLoopbackAws();
    const env: Record<string, string> = {};
    // A hub in aws (the organization's) and in aws-cn (so aws-cn offers organizations, not StackSets).
    for (const [i, partition] of (['aws', 'aws-cn'] as const).entries()) {
      const { user } = createHub(aws, partition, {
        accessKeyId: `AKIAHUBORGTEST00000${i}`,
        secretAccessKey: `hubSecretForOrganizationTestsOnly0000000${i}`.slice(0, 40),
      });
      if (partition === 'aws') hubArn = user.arn;
      Object.assign(env, hubEnvironment(partition, user));
    }
    // The organization as AWS has it: the management account in the root, 3 OUs of 4 accounts.
    const org = aws.createOrganization('aws', { managementAccountId: MANAGEMENT, name: 'Acme' });
    rootId = org.rootId;
    awsOrganizationId = org.id;
    units = ['Prod', 'Dev', 'Sandbox'].map((name, u) => {
      const id = aws.addOrganizationalUnit(org.rootId, name);
      const accountIds = [1, 2, 3, 4].map((n) => String(700000000000 + (u + 1) * 100 + n));
      for (const [n, accountId] of accountIds.entries())
        aws.addOrganizationAccount(id, accountId, { name: `${name.toLowerCase()}-${n + 1}` });
      return { name, id, accountIds };
    });
    server = await startServer({
      ONRAMP_DATA_DIR: mkdtempSync(join(tmpdir(), 'onramp-organization-')),
      AWS_ENDPOINT_URL: aws.url,
      ONRAMP_LOG_LEVEL: 'warn',
      // What the templates name as the call-back's address; the test posts to the server itself.
      ONRAMP_PUBLIC_URL: ORIGIN,
      ...env,
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => browserLog.push(`page error: ${error.message}`));
  }, 180_000);

  afterEach(async (test) => {
    if (test.task.result?.state !== 'fail' || !page) return;
    const path = join(tmpdir(), `onramp-organization-failure-${Date.now()}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    console.error(
      `Failed at ${page.url()}; screenshot ${path}\n${browserLog.join('\n')}\n${server?.output().slice(-4000)}`,
    );
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await aws?.stop();
  });

  /** The API as the console's session sees it (GET only: no CSRF token needed). */
  const getJson = async <T>(path: string, on: Page = page): Promise<T> =>
    (await on.evaluate(async (p) => {
      const response = await fetch(p);
      return { status: response.status, body: await response.json() };
    }, path)) as T;
  const organizations = async () =>
    (
      await getJson<{ status: number; body: { organizations: { id: string; status: string }[] } }>(
        '/v1/organizations?limit=100',
      )
    ).body.organizations;
  const members = async () =>
    (
      await getJson<{ status: number; body: { members: ApiMember[] } }>(
        `/v1/organizations/${organizationId}/members?limit=200`,
      )
    ).body.members;
  const memberOf = async (awsAccountId: string) =>
    (await members()).find((m) => m.awsAccountId === awsAccountId);

  /** What a stack's call-back function sends: its custom resource's properties, to its URL. */
  async function playCallback(stack: DeployedStack, kind: 'management' | 'member') {
    const resource = stack.customResources[0];
    expect(resource, `${stack.stackName} has no custom resource`).toBeDefined();
    const props = resource?.properties ?? {};
    const url = String(props.CallbackUrl);
    expect(url).toBe(`${ORIGIN}/v1/callbacks/organizations/${kind}`);
    const response = await fetch(url.replace(ORIGIN, server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        requestType: 'Create',
        token: props.Token,
        roleArn: props.RoleArn,
        stackId: props.StackId ?? stack.stackId,
      }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(202);
    return JSON.parse(text) as { state: string; accountId: string | null };
  }

  it(
    'sets up the operator, a tenant and its admin, who finds no organization yet',
    async () => {
      await setUpOperatorAndTenant(page, server, { operator: OPERATOR, admin: ADMIN });
      await page.getByRole('link', { name: 'Organizations' }).first().click();
      await page.getByRole('heading', { name: 'Organizations', level: 1 }).waitFor();
      await page.getByRole('heading', { name: 'Connect your first organization' }).waitFor();
      expect(await page.getByTestId('organizations-table').count()).toBe(0);
      expect(await organizations()).toEqual([]);
    },
    STEP_TIMEOUT,
  );

  it(
    'walks the wizard with a rule excluding Sandbox; Back, Next and a reload keep one organization',
    async () => {
      await page.getByRole('button', { name: '+ Connect an organization' }).first().click();
      await page.getByRole('heading', { name: 'Connect an organization', level: 1 }).waitFor();
      await page.getByRole('heading', { name: '1. The organization' }).waitFor();
      await page.getByLabel('Name').fill('Acme organization');
      await page.locator('input[type=radio][value="aws"]').check();
      const serviceManaged = page.locator('input[type=radio][value="service_managed"]');
      expect(await serviceManaged.isChecked()).toBe(true);
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page.getByRole('heading', { name: '2. Permissions' }).waitFor();
      // The partition's default permissions, as they come.
      await page.getByRole('button', { name: 'Next: accounts and roles' }).click();
      await page.getByRole('heading', { name: '3. Accounts and roles' }).waitFor();
      // A typo is named as typed, before anything is sent.
      await page.getByLabel('Exclude these OUs').fill('sandbox');
      await page.getByText('Not a root or OU ID: sandbox.').waitFor();
      await page.getByLabel('Exclude these OUs').fill(unit('Sandbox').id);
      await expect.poll(() => page.getByText('Not a root or OU ID').count()).toBe(0);
      await page.getByRole('button', { name: 'Create the organization' }).click();
      await page.getByRole('heading', { name: '4. Deploy the management stack' }).waitFor();
      organizationId = /\/organizations\/new\/(org_[A-Za-z0-9]+)/.exec(page.url())?.[1] ?? '';
      expect(organizationId).toMatch(/^org_/);
      expect((await organizations()).map((o) => o.id)).toEqual([organizationId]);

      // Back to the first step and Next through again: the same organization, changed.
      await page.goBack();
      await page.getByRole('heading', { name: '3. Accounts and roles' }).waitFor();
      await page.getByText('going back changes it, it does not make another').waitFor();
      await page.getByRole('button', { name: 'Back' }).click();
      await page.getByRole('heading', { name: '2. Permissions' }).waitFor();
      await page.getByRole('button', { name: 'Back' }).click();
      await page.getByRole('heading', { name: '1. The organization' }).waitFor();
      expect(await page.locator('input[type=radio][value="aws-cn"]').isDisabled()).toBe(true);
      await page.getByLabel('Name').fill('Acme');
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page.getByRole('button', { name: 'Next: accounts and roles' }).click();
      expect(await page.getByLabel('Exclude these OUs').inputValue()).toBe(unit('Sandbox').id);
      await page.getByRole('button', { name: 'Save and continue' }).click();
      await page.getByRole('heading', { name: '4. Deploy the management stack' }).waitFor();
      expect(page.url()).toContain(`/organizations/new/${organizationId}?step=setup`);
      const listed = await getJson<{
        status: number;
        body: { organizations: { id: string; name: string; rules: unknown }[] };
      }>('/v1/organizations?limit=100');
      expect(listed.body.organizations.map((o) => [o.id, o.name])).toEqual([
        [organizationId, 'Acme'],
      ]);
      expect(listed.body.organizations[0]?.rules).toEqual({
        include: { organizationalUnits: [], accounts: [] },
        exclude: { organizationalUnits: [unit('Sandbox').id], accounts: [] },
      });

      // A reload mid-way lands on the set-up of the same organization.
      await page.reload();
      await page.getByRole('heading', { name: '4. Deploy the management stack' }).waitFor();
      expect(page.url()).toContain(`/organizations/new/${organizationId}?step=setup`);
      await page.getByTestId('organization-setup').waitFor();
      await page.getByTestId('waiting-management-stack').waitFor();
      expect((await organizations()).map((o) => o.id)).toEqual([organizationId]);
    },
    STEP_TIMEOUT,
  );

  it(
    'downloads the management template, deploys it, and moves on by itself once it reported back',
    async () => {
      const setup = page.getByTestId('organization-setup');
      // The whole organization is included (Sandbox excluded by Onramp's rules): the StackSet
      // targets the root, whose ID the tenant gives before the first discovery.
      const rootField = setup.getByRole('textbox').first();
      await rootField.fill('not-a-root');
      await setup.getByText('A root ID looks like r-a1b2').waitFor();
      await rootField.fill(rootId);
      await expect.poll(() => setup.getByText('A root ID looks like r-a1b2').count()).toBe(0);
      await screenshot(page, 'organization-wizard-setup');

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        setup.getByRole('button', { name: 'Download management template (YAML)' }).click(),
      ]);
      expect(download.suggestedFilename()).toBe('onramp-organization.yaml');
      const path = await download.path();
      const template = readFileSync(path, 'utf8');
      expect(template).toContain('AWS::CloudFormation::StackSet');

      // Deployed as the page's command says (the downloaded file, its parameter overrides, the
      // root ID entered above among them), as CloudFormation would.
      const command = await setup
        .locator('.copy-value-multiline pre', { hasText: 'aws cloudformation deploy' })
        .innerText();
      expect(command).toContain('--template-file onramp-organization.yaml');
      const overrides = /--parameter-overrides (.+)$/m.exec(command)?.[1] ?? '';
      const parameters = Object.fromEntries(
        overrides
          .split(/\s+/)
          .map((pair) => pair.replace(/^'|'$/g, ''))
          .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
      ) as Record<string, string>;
      expect(parameters.DeploymentTargets).toBe(rootId);
      // The whole command shows, the root ID at its end included, without scrolling sideways.
      const sideways =
        (await page.evaluate(`[...document.querySelectorAll('.organization-setup pre')]
        .map((pre) => pre.scrollWidth - pre.clientWidth)`)) as number[];
      expect(Math.max(...sideways), 'a command wider than its block').toBeLessThanOrEqual(0);
      expect(overrides).not.toContain('onrorg_');
      const stackName = /--stack-name (\S+)/.exec(command)?.[1]?.replace(/^'|'$/g, '');
      managementStack = deployStack(aws, {
        partition: 'aws',
        accountId: MANAGEMENT,
        template,
        parameters,
        ...(stackName ? { stackName } : {}),
      });
      expect(managementStack.stackSets).toHaveLength(1);
      expect(managementStack.stackSets[0]?.permissionModel).toBe('SERVICE_MANAGED');
      const answer = await playCallback(managementStack, 'management');
      expect(answer.state).toBe('enrolling');

      // The wizard polls, sees the organization active (discovered at once) and opens its page.
      await page.waitForURL(`**/organizations/${organizationId}`, { timeout: JOBS_TIMEOUT });
      const facts = page.getByTestId('organization-facts');
      await facts.getByText('Active').waitFor();
      await facts.getByText(awsOrganizationId).waitFor();
      await facts.getByText(MANAGEMENT).waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'plays the StackSet and its call-backs; Discover now shows the tree with its counts and the members',
    async () => {
      const stacks = deployStackSetInstances(aws, managementStack as DeployedStack);
      // The 12 member accounts (never the management account: service-managed StackSets skip it).
      expect(stacks.map((s) => s.accountId).sort()).toEqual(
        units.flatMap((u) => u.accountIds).sort(),
      );
      memberRoleName =
        String(stacks[0]?.customResources[0]?.properties.RoleArn).split('/').pop() ?? '';
      expect(memberRoleName).not.toBe('');

      // dev-2's role takes any external ID (its trust was loosened after the stack made it): a
      // confused deputy waiting to happen, which Onramp must refuse.
      const loose = unit('Dev').accountIds[1] as string;
      const looseArn = `arn:aws:iam::${loose}:role/${memberRoleName}`;
      const role = aws.state.account('aws', loose).roles.get(memberRoleName);
      expect(role).toBeDefined();
      const originalTrust = structuredClone(role?.trustPolicy) as unknown as PolicyDocument;
      aws.updateTrustPolicy('aws', looseArn, {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: hubArn }, Action: 'sts:AssumeRole' }],
      } as PolicyDocument);
      for (const stack of stacks) await playCallback(stack, 'member');

      // The enrollment worker validates each in the background.
      await expect
        .poll(
          async () =>
            (await members()).filter((m) => m.state === 'enrolling' || m.state === 'discovered')
              .length,
          { timeout: JOBS_TIMEOUT, interval: 1000 },
        )
        .toBe(0);
      const states = Object.fromEntries((await members()).map((m) => [m.awsAccountId, m.state]));
      for (const id of [...unit('Prod').accountIds, ...unit('Dev').accountIds, MANAGEMENT])
        expect(states[id], id).toBe(id === loose ? 'failed' : 'connected');
      for (const id of unit('Sandbox').accountIds) expect(states[id], id).toBe('excluded');

      // Discover now: the page asks, waits for the run, then reads the tree and members again.
      await page.reload();
      await page.getByRole('button', { name: 'Discover now' }).click();
      await page.getByText('Discovery asked for').waitFor();
      const discoverNow = page.getByRole('button', { name: 'Discover now' });
      expect(await discoverNow.isEnabled()).toBe(false);
      // Busy until the discovery ran (its time changed), then the tree and members are read again.
      await expect
        .poll(() => discoverNow.isEnabled(), { timeout: JOBS_TIMEOUT, interval: 500 })
        .toBe(true);
      await page.getByTestId('organization-facts').getByText('13 accounts').waitFor();
      await expect.poll(() => page.getByText('Discovery asked for').count()).toBe(0);
      const tree = page.getByRole('tree', { name: 'Organizational units' });
      expect(await tree.getByTestId(`unit-counts-${unit('Prod').id}`).innerText()).toBe(
        '4 connected',
      );
      expect(await tree.getByTestId(`unit-counts-${unit('Dev').id}`).innerText()).toBe(
        '3 connected · 1 failed',
      );
      expect(await tree.getByTestId(`unit-counts-${unit('Sandbox').id}`).innerText()).toBe(
        '4 excluded',
      );
      expect(await tree.getByTestId(`unit-counts-${rootId}`).innerText()).toBe(
        '8 connected · 1 failed · 4 excluded',
      );
      const table = page.getByTestId('members-table');
      for (const id of [...units.flatMap((u) => u.accountIds), MANAGEMENT])
        await table.getByTestId(`member-${id}`).waitFor();
      await table.getByTestId(`member-${MANAGEMENT}`).getByText('Management').waitFor();

      // What failed: dev-2, with Onramp's reason.
      const failed = page.locator('.failed-panel');
      await failed.getByText('1 member account failed to connect.').waitFor();
      const reason = (await memberOf(loose))?.reason;
      expect(reason?.message).toBeTruthy();
      await failed.getByText(reason?.message ?? '').waitFor();
      const looseRow = table.getByTestId(`member-${loose}`);
      await looseRow.getByText('Failed').waitFor();
      await looseRow
        .getByText(reason?.message ?? '')
        .first()
        .waitFor();
      // At 1280 px the whole members table shows, the Why column and its Retry included: a long
      // external ID in a reason must not push it out of the card (a string, as console.test.ts
      // does: the e2e project compiles without the DOM's types).
      const hidden = (await page.evaluate(`(() => {
        const wrap = document.querySelector('.organization-members-card .table-wrap');
        return wrap ? wrap.scrollWidth - wrap.clientWidth : -1;
      })()`)) as number;
      expect(hidden, 'members table wider than its card').toBeLessThanOrEqual(0);
      await screenshot(page, 'organization-page');

      // Fixed in AWS (the stack's trust again), then retried from the page: connected.
      aws.updateTrustPolicy('aws', looseArn, originalTrust);
      await looseRow.getByRole('button', { name: 'Retry dev-2' }).click();
      await expect
        .poll(async () => (await memberOf(loose))?.state, { timeout: JOBS_TIMEOUT, interval: 1000 })
        .toBe('connected');
      await page.reload();
      await expect
        .poll(() => page.getByTestId(`unit-counts-${unit('Dev').id}`).innerText())
        .toBe('4 connected');
      expect(await page.locator('.failed-panel').count()).toBe(0);
    },
    STEP_TIMEOUT,
  );

  it(
    'filters the members by a unit picked in the tree, and opens a member’s account page',
    async () => {
      await page
        .getByTestId(`unit-${unit('Prod').id}`)
        .locator('.tree-name')
        .first()
        .click();
      await page.getByTestId('unit-filter').getByText('Prod').waitFor();
      expect(page.url()).toContain(`unit=${unit('Prod').id}`);
      const rows = page.getByTestId('members-table').locator('tbody tr');
      await expect.poll(() => rows.count()).toBe(4);
      for (const id of unit('Prod').accountIds) await page.getByTestId(`member-${id}`).waitFor();
      expect(await page.getByTestId(`member-${unit('Dev').accountIds[0]}`).count()).toBe(0);
      expect(
        await page
          .getByTestId(`unit-${unit('Prod').id}`)
          .first()
          .getAttribute('aria-selected'),
      ).toBe('true');

      // prod-1's account page: connected through the organization, valid.
      const prod1 = unit('Prod').accountIds[0] as string;
      await page.getByTestId(`member-${prod1}`).getByRole('link').click();
      await page.waitForURL(/\/accounts\/acct_/);
      // The header: the account's name (as the enrollment worker names it) and its status badge.
      const header = page.getByRole('heading', { level: 1 });
      await header.getByText(prod1).waitFor();
      await header.locator('.badge', { hasText: /^Valid$/ }).waitFor();
      await page.goBack();
      await page.getByTestId('unit-filter').waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'shows a member degraded once its role lost its policy and it was checked',
    async () => {
      const prod2 = unit('Prod').accountIds[1] as string;
      const roleArn = `arn:aws:iam::${prod2}:role/${memberRoleName}`;
      const role = aws.state.account('aws', prod2).roles.get(memberRoleName);
      role?.inline.clear();
      if (role) role.attached = [];
      // What validation itself needs stays (bundles none), as in the wire test.
      aws.putInlinePolicy(
        'aws',
        roleArn,
        'validation-only',
        bundlePolicy(catalog, {
          partition: 'aws',
          bundles: [],
          principal: 'role',
          accountId: prod2,
          roleName: memberRoleName,
        }),
      );
      await page.getByTestId(`member-${prod2}`).getByRole('link').click();
      await page.waitForURL(/\/accounts\/acct_/);
      await page.getByRole('button', { name: 'Check now' }).click();
      await page
        .getByRole('heading', { level: 1 })
        .locator('.badge', { hasText: /^Degraded$/ })
        .waitFor({ timeout: JOBS_TIMEOUT });
      await page.goBack();
      await page.getByTestId(`member-${prod2}`).getByText('Degraded', { exact: true }).waitFor();
      await expect
        .poll(() =>
          page
            .getByTestId(`unit-${unit('Prod').id}`)
            .locator('.tree-counts')
            .first()
            .innerText(),
        )
        .toContain('1 degraded');
    },
    STEP_TIMEOUT,
  );

  it(
    'previews a rules change with its counts, saves it, and the member shows excluded',
    async () => {
      await page.getByRole('button', { name: 'Show the whole organization' }).click();
      const prod4 = unit('Prod').accountIds[3] as string;
      await page.getByLabel('Exclude these accounts').fill(prod4);
      const preview = page.getByTestId('rules-preview');
      await preview.getByText('With these rules:').waitFor();
      expect(await preview.locator('p').first().innerText()).toBe(
        'With these rules: 8 admitted, 5 excluded; 1 account change.',
      );
      await preview.getByText(prod4).waitFor();
      await preview.getByRole('cell', { name: 'Excluded', exact: true }).waitFor();
      await preview.scrollIntoViewIfNeeded();
      await screenshot(page, 'organization-rules');
      await page.getByRole('button', { name: 'Save rules' }).click();
      await expect.poll(() => page.getByTestId('rules-preview').count()).toBe(0);
      await page.getByTestId(`member-${prod4}`).getByText('Excluded', { exact: true }).waitFor();
      expect((await memberOf(prod4))?.state).toBe('excluded');
      await expect
        .poll(() => page.getByTestId(`unit-counts-${unit('Prod').id}`).innerText())
        .toBe('3 connected · 1 excluded');
    },
    STEP_TIMEOUT,
  );

  it(
    'lists the organization, and reloads its page fine in a second tab',
    async () => {
      await page.getByRole('link', { name: 'Organizations' }).first().click();
      const table = page.getByTestId('organizations-table');
      const row = table.getByRole('row', { name: /Acme/ });
      await row.getByText('Active').waitFor();
      await row.getByText(awsOrganizationId).waitFor();
      await row.getByText('8 connected').waitFor();
      await screenshot(page, 'organizations-list');

      const other = await context.newPage();
      await other.goto(`${server.url}/organizations/${organizationId}`);
      await other.getByTestId(`unit-counts-${unit('Sandbox').id}`).waitFor();
      await other.reload();
      await other.getByTestId(`unit-counts-${unit('Sandbox').id}`).waitFor();
      expect(await other.getByTestId(`unit-counts-${unit('Prod').id}`).innerText()).toBe(
        '3 connected · 1 excluded',
      );
      await other.getByTestId('members-table').waitFor();
      await other.close();
    },
    STEP_TIMEOUT,
  );

  it(
    'shows a viewer the organization without any action',
    async () => {
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByLabel('Name').fill(VIEWER.name);
      await page.getByLabel('Email').fill(VIEWER.email);
      await page.getByLabel('Initial password').fill(VIEWER.password);
      await page.getByLabel('Role').selectOption('tenant_viewer');
      await page.getByRole('button', { name: 'Add user' }).click();
      await page.getByRole('cell', { name: VIEWER.email }).waitFor();

      const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const viewer = await viewerContext.newPage();
      viewer.setDefaultTimeout(15_000);
      await viewer.goto(server.url);
      await viewer.getByRole('heading', { name: 'Sign in' }).waitFor();
      await viewer.getByLabel('Email').fill(VIEWER.email);
      await viewer.getByLabel('Password').fill(VIEWER.password);
      await viewer.getByRole('button', { name: 'Sign in' }).click();
      await viewer.getByRole('button', { name: 'Sign out' }).waitFor();
      await viewer.goto(`${server.url}/organizations`);
      await viewer.getByTestId('organizations-table').waitFor();
      expect(await viewer.getByRole('button', { name: '+ Connect an organization' }).count()).toBe(
        0,
      );
      await viewer.getByRole('link', { name: 'Acme', exact: true }).click();
      await viewer.getByTestId('organization-facts').waitFor();
      await viewer.getByTestId('members-table').waitFor();
      await viewer.getByTestId(`unit-counts-${unit('Prod').id}`).waitFor();
      for (const name of [
        'Discover now',
        'Rotate enrollment token',
        'Delete',
        'Save rules',
        'Update permissions',
      ])
        expect(await viewer.getByRole('button', { name, exact: true }).count(), name).toBe(0);
      expect(await viewer.getByRole('button', { name: /^Retry/ }).count()).toBe(0);
      expect(await viewer.getByLabel('Exclude these accounts').getAttribute('readonly')).toBe('');
      await viewerContext.close();
    },
    STEP_TIMEOUT,
  );

  it(
    'connects an account that joins Dev by itself, marks one that left Prod, and refuses a forged token',
    async () => {
      // AWS: a new account in Dev (the StackSet's automatic deployment reaches it), prod-3 leaves.
      const joiner = '700000000205';
      const leaver = unit('Prod').accountIds[2] as string;
      aws.addOrganizationAccount(unit('Dev').id, joiner, { name: 'dev-5' });
      aws.removeAccount('aws', leaver);
      const later = deployStackSetInstances(aws, managementStack as DeployedStack);
      expect(later.map((s) => s.accountId)).toEqual([joiner]);
      const joined = later[0] as DeployedStack;

      // A stack reporting with a forged token: 404, and nothing of it on the page or in the API.
      const props = joined.customResources[0]?.properties ?? {};
      const forged = await fetch(`${server.url}/v1/callbacks/organizations/member`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          requestType: 'Create',
          token: `${String(props.Token).slice(0, -4)}AAAA`,
          roleArn: props.RoleArn,
          stackId: joined.stackId,
        }),
      });
      expect(forged.status, await forged.text()).toBe(404);
      expect(await memberOf(joiner)).toBeUndefined();

      await playCallback(joined, 'member');
      await expect
        .poll(async () => (await memberOf(joiner))?.state, {
          timeout: JOBS_TIMEOUT,
          interval: 1000,
        })
        .toBe('connected');
      await page.goto(`${server.url}/organizations/${organizationId}`);
      await page.getByRole('button', { name: 'Discover now' }).click();
      await expect
        .poll(
          () => page.getByTestId(`member-${leaver}`).getByText('Left', { exact: true }).count(),
          {
            timeout: JOBS_TIMEOUT,
            interval: 500,
          },
        )
        .toBe(1);
      const row = page.getByTestId(`member-${joiner}`);
      await row.getByText('Connected', { exact: true }).waitFor();
      await row.getByRole('link', { name: 'dev-5' }).waitFor();
      expect(await page.getByTestId(`unit-counts-${unit('Dev').id}`).innerText()).toBe(
        '5 connected',
      );
      expect(await page.getByTestId(`unit-counts-${unit('Prod').id}`).innerText()).toBe(
        '2 connected · 1 excluded · 1 left',
      );
    },
    STEP_TIMEOUT,
  );

  it(
    'in aws-cn, offers the self-managed StackSet and says why the service-managed one is not',
    async () => {
      await page.getByRole('link', { name: 'Organizations' }).first().click();
      await page.getByRole('button', { name: '+ Connect an organization' }).first().click();
      await page.getByRole('heading', { name: '1. The organization' }).waitFor();
      await page.getByLabel('Name').fill('Acme China');
      await page.locator('input[type=radio][value="aws-cn"]').check();
      const serviceManaged = page.locator('input[type=radio][value="service_managed"]');
      const selfManaged = page.locator('input[type=radio][value="self_managed"]');
      const perAccount = page.locator('input[type=radio][value="per_account"]');
      expect(await serviceManaged.isDisabled()).toBe(true);
      expect(await selfManaged.isDisabled()).toBe(false);
      expect(await perAccount.isDisabled()).toBe(false);
      expect(await selfManaged.isChecked()).toBe(true);
      const reason = page
        .locator('label.choice-card', { has: serviceManaged })
        .locator('.choice-reason');
      expect(await reason.innerText()).toMatch(/aws-cn|China|service-managed/i);
      await screenshot(page, 'organization-wizard-aws-cn');
      // Nothing is made until the last step.
      expect((await organizations()).map((o) => o.id)).toEqual([organizationId]);
    },
    STEP_TIMEOUT,
  );
});
