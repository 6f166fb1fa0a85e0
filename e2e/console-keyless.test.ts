/**
 * A keyless role connected in a real browser (Debian's chromium) against the real server and the
 * loopback AWS, whose STS fetches Onramp's discovery document and JWKS (routeIssuer) to check the
 * tokens Onramp signs. A new tenant admin finds the keyless role recommended and chosen, sees the
 * issuer, audience and subject its role must trust, goes Back to the external-ID role and returns (one
 * connection throughout), reloads mid-way, meets a method changed in a second tab, has a role that does
 * not pin the subject refused on its field with the condition to add, then deploys the connection's
 * CloudFormation template (reusing the account's identity provider, as the wizard passes it) and
 * connects its role. The account page and the list name the method; the operator sees the issuer's
 * keys and rotates one after a confirmation. Screenshots go to docs/screenshots when asked.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import {
  deployStack,
  type LoopbackAws,
  type PolicyDocument,
  startLoopbackAws,
} from '@onramp/loopback-aws';
import { bundlePolicy, createHub, hubEnvironment } from '@onramp/server/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, launchBrowser, screenshot, setUpOperatorAndTenant } from './browser.ts';
import { type RunningServer, startServer } from './server-process.ts';

const CUSTOMER = '444455556666';
const ORIGIN = 'https://onramp.example.test';
const ISSUER = `${ORIGIN}/oidc`;
const PREFIX = 'onramp.example.test/oidc';
const OPERATOR = { email: 'ops@example.com', name: 'Olivia Operator', password: 'operator pass 1' };
const ADMIN = { email: 'kay@acme.example', name: 'Kay Admin', password: 'tenant admin pass 1' };
const STEP_TIMEOUT = 90_000;

const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
  actions: createIamDataActionIndex(),
});

/** The trust a keyless role's template writes: the account's provider, aud and (when given) sub. */
function keylessTrust(conditions: Record<string, string>): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: `arn:aws:iam::${CUSTOMER}:oidc-provider/${PREFIX}` },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: conditions },
      },
    ],
  } as PolicyDocument;
}

describe('a keyless role, connected in chromium', () => {
  let aws: LoopbackAws;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let connectionId = '';
  let subject = '';
  let roleName = '';
  const browserLog: string[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    await buildConsole();
    aws = await startLoopbackAws();
    aws.createAccount('aws', CUSTOMER);
    // A hub in aws too, so the external-ID role is there to go Back to.
    const { user } = createHub(aws, 'aws', {
      accessKeyId: 'AKIAHUBKEYLESSTEST00',
      secretAccessKey: 'hubSecretForKeylessTestsOnly000000000000',
    });
    server = await startServer({
      ONRAMP_DATA_DIR: mkdtempSync(join(tmpdir(), 'onramp-keyless-')),
      AWS_ENDPOINT_URL: aws.url,
      LOG_LEVEL: 'warn',
      // The issuer AWS is told about; the loopback's STS reaches it at this server (routeIssuer).
      ONRAMP_OIDC_ISSUER_URL: ISSUER,
      ...hubEnvironment('aws', user),
    });
    aws.routeIssuer(ORIGIN, server.url);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => browserLog.push(`page error: ${error.message}`));
  }, 180_000);

  afterEach(async (test) => {
    if (test.task.result?.state !== 'fail' || !page) return;
    const path = join(tmpdir(), `onramp-keyless-failure-${Date.now()}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    console.error(`Failed at ${page.url()}; screenshot ${path}\n${browserLog.join('\n')}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await aws?.stop();
  });

  const connectionOfUrl = () => /\/accounts\/new\/(con_[a-z0-9]+)/.exec(page.url())?.[1] ?? '';
  const fact = (label: string) =>
    page.locator('.create-role .facts > div', { hasText: label }).locator('code').first();
  const pendingIds = async () =>
    (await page.evaluate(async () => {
      const response = await fetch('/v1/connections?status=pending&limit=200');
      const body = (await response.json()) as { connections: { id: string }[] };
      return body.connections.map((c) => c.id);
    })) as string[];
  const toCreateStep = async () => {
    await page.getByRole('button', { name: 'Next: permissions' }).click();
    await page.getByRole('button', { name: 'Next: create the role' }).click();
    await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
  };
  const backToDetails = async () => {
    await page.getByRole('button', { name: 'Back' }).first().click();
    await page.getByRole('button', { name: 'Back' }).first().click();
    await page.getByRole('heading', { name: '1. The account' }).waitFor();
  };

  it(
    'sets up the operator, a tenant and its admin',
    async () => {
      await setUpOperatorAndTenant(page, server, { operator: OPERATOR, admin: ADMIN });
    },
    STEP_TIMEOUT,
  );

  it(
    'recommends and chooses the keyless role, and shows what the role must trust',
    async () => {
      await page.getByRole('button', { name: '+ Add AWS account' }).first().click();
      await page.getByLabel('Name').fill('Keyless prod');
      const keyless = page.locator('input[type=radio][value="oidc_role"]');
      expect(await keyless.isChecked()).toBe(true);
      const card = page.locator('label.choice-card', { has: keyless });
      await card.getByText('Recommended').waitFor();
      await card.getByText(/no external ID to keep/).waitFor();
      await screenshot(page, 'wizard-keyless-choice');

      await toCreateStep();
      connectionId = connectionOfUrl();
      expect(connectionId).toMatch(/^con_/);
      expect(await fact('Issuer URL').innerText()).toBe(ISSUER);
      expect(await fact('Audience').innerText()).toBe('sts.amazonaws.com');
      subject = (await fact('Subject').innerText()).trim();
      expect(subject).toMatch(new RegExp(`^tenant:[^:]+:connection:${connectionId}$`));
      roleName = (await fact('Role name').innerText()).trim();
      expect(
        await page.locator('.create-role .facts > div', { hasText: 'External ID' }).count(),
      ).toBe(0);
      // The existing-provider question, and the ARN going into the quick-create link.
      await page.getByText('Yes, use the existing one').click();
      await page
        .getByLabel('Identity provider ARN')
        .fill(`arn:aws:iam::${CUSTOMER}:oidc-provider/${PREFIX}`);
      await screenshot(page, 'wizard-keyless-create-role');
      await page.getByText('No, create it with the role').click();
    },
    STEP_TIMEOUT,
  );

  it(
    'keeps one connection through Back to the external-ID role and back, and a reload',
    async () => {
      await backToDetails();
      await page.locator('input[type=radio][value="role"]').check();
      await toCreateStep();
      expect(connectionOfUrl()).toBe(connectionId);
      const externalId = (await fact('External ID').innerText()).trim();
      expect(externalId).toMatch(/^onramp-/);

      await backToDetails();
      await page.locator('input[type=radio][value="oidc_role"]').check();
      await toCreateStep();
      expect(connectionOfUrl()).toBe(connectionId);
      expect((await fact('Subject').innerText()).trim()).toBe(subject);

      // Once more to the role: the external ID did not change meanwhile.
      await backToDetails();
      await page.locator('input[type=radio][value="role"]').check();
      await toCreateStep();
      expect((await fact('External ID').innerText()).trim()).toBe(externalId);
      await backToDetails();
      await page.locator('input[type=radio][value="oidc_role"]').check();
      await toCreateStep();

      await page.reload();
      await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
      expect(page.url()).toContain(`/accounts/new/${connectionId}?step=create`);
      expect((await fact('Subject').innerText()).trim()).toBe(subject);
      expect(await pendingIds()).toEqual([connectionId]);
    },
    STEP_TIMEOUT,
  );

  it(
    'follows a method changed in a second tab, and keeps the same connection',
    async () => {
      const other = await page.context().newPage();
      await other.goto(page.url());
      await other.getByRole('heading', { name: '3. Create the role' }).waitFor();
      await other.getByRole('button', { name: 'Back' }).first().click();
      await other.getByRole('button', { name: 'Back' }).first().click();
      await other.locator('input[type=radio][value="role"]').check();
      await other.getByRole('button', { name: 'Next: permissions' }).click();
      await other.getByRole('button', { name: 'Next: create the role' }).click();
      await other.locator('.create-role .facts > div', { hasText: 'External ID' }).waitFor();

      // The first tab still shows the keyless role; validating it meets the change.
      await page.getByLabel('Role ARN').fill(`arn:aws:iam::${CUSTOMER}:role/${roleName}`);
      await page.getByRole('button', { name: 'Validate' }).click();
      await page.getByText(/changed meanwhile \(in another tab\?\)/).waitFor({ timeout: 30_000 });
      await page.locator('.create-role .facts > div', { hasText: 'External ID' }).waitFor();
      await screenshot(page, 'wizard-keyless-changed-in-another-tab', false);

      // Back to keyless from here: still the one connection, with its subject.
      await backToDetails();
      await page.locator('input[type=radio][value="oidc_role"]').check();
      await toCreateStep();
      expect(connectionOfUrl()).toBe(connectionId);
      expect((await fact('Subject').innerText()).trim()).toBe(subject);
      expect(await pendingIds()).toEqual([connectionId]);
      await other.close();
    },
    STEP_TIMEOUT,
  );

  it(
    'refuses a role in an account without the platform’s identity provider, on the provider question',
    async () => {
      const orphan = aws.createRole('aws', CUSTOMER, {
        roleName: 'NoProviderKeylessRole',
        trustPolicy: keylessTrust({
          [`${PREFIX}:aud`]: 'sts.amazonaws.com',
          [`${PREFIX}:sub`]: subject,
        }),
      });
      await page.getByLabel('Role ARN').fill(orphan.arn);
      await page.getByRole('button', { name: 'Validate' }).click();
      await page.getByText('Validation failed').waitFor({ timeout: 30_000 });
      const question = page.getByRole('group', {
        name: /already have Acme Cloud’s identity provider/,
      });
      await question
        .locator('.field-error')
        .getByText(/has no IAM OpenID Connect/)
        .waitFor();
      expect(await page.getByLabel('Role ARN').getAttribute('aria-invalid')).toBeNull();
      await question.scrollIntoViewIfNeeded();
      await screenshot(page, 'wizard-keyless-no-provider', false);
    },
    STEP_TIMEOUT,
  );

  it(
    'refuses a role that does not pin the subject, on the Role ARN, quoting the condition to add',
    async () => {
      aws.createOidcProvider('aws', CUSTOMER, { url: ISSUER, clientIds: ['sts.amazonaws.com'] });
      const loose = aws.createRole('aws', CUSTOMER, {
        roleName: 'LooseKeylessRole',
        trustPolicy: keylessTrust({ [`${PREFIX}:aud`]: 'sts.amazonaws.com' }),
        inlinePolicies: {
          onramp: bundlePolicy(catalog, {
            partition: 'aws',
            bundles: 'default',
            principal: 'role',
            accountId: CUSTOMER,
            roleName: 'LooseKeylessRole',
          }),
        },
      });
      await page.getByLabel('Role ARN').fill(loose.arn);
      await page.getByRole('button', { name: 'Validate' }).click();
      // The previous refusal stays on the page until this one's answer replaces it.
      await expect
        .poll(() => page.getByLabel('Role ARN').getAttribute('aria-invalid'), { timeout: 30_000 })
        .toBe('true');
      const field = page.locator('.field', { has: page.getByLabel('Role ARN') });
      await field.locator('.field-error').getByText(`${PREFIX}:sub`).first().waitFor();
      expect(await field.locator('.field-error').innerText()).toContain(subject);
      await page.getByLabel('Role ARN').scrollIntoViewIfNeeded();
      await screenshot(page, 'wizard-keyless-subject-not-pinned');
    },
    STEP_TIMEOUT,
  );

  it(
    'connects the role its CloudFormation template makes, with the account’s existing provider',
    async () => {
      // The account has Onramp's provider already (made above): the stack must reuse it.
      const providerArn = `arn:aws:iam::${CUSTOMER}:oidc-provider/${PREFIX}`;
      await page.getByText('Yes, use the existing one').click();
      await page.getByLabel('Identity provider ARN').fill(providerArn);
      await page
        .locator('.copy-value-multiline pre', { hasText: 'aws cloudformation deploy' })
        .getByText(`ExistingOidcProviderArn=${providerArn}`)
        .waitFor();
      const template = (await page.evaluate(
        async (id) => (await fetch(`/v1/connections/${id}/cloudformation?format=yaml`)).text(),
        connectionId,
      )) as string;
      const stack = deployStack(aws, {
        partition: 'aws',
        accountId: CUSTOMER,
        template,
        parameters: { ExistingOidcProviderArn: providerArn },
      });
      const roleArn = stack.outputs.RoleArn ?? '';
      expect(roleArn).toBe(`arn:aws:iam::${CUSTOMER}:role/${roleName}`);
      // No second provider: AWS allows one per URL in an account.
      expect(
        Object.values(stack.resources).filter((r) => r.type === 'AWS::IAM::OIDCProvider'),
      ).toEqual([]);

      await page.getByLabel('Role ARN').fill(roleArn);
      await page.getByRole('button', { name: 'Validate' }).click();
      await page.getByText('Validation passed').waitFor({ timeout: 30_000 });
      await page.getByRole('button', { name: 'Save account' }).click();
      await page.getByText('Keyless prod is connected').waitFor();
      expect(await pendingIds()).toEqual([]);
      await screenshot(page, 'wizard-keyless-connected');
    },
    STEP_TIMEOUT,
  );

  it(
    'names the method and what the role trusts on the account page and in the list',
    async () => {
      await page.getByRole('button', { name: 'Open the account' }).click();
      const identity = page
        .locator('section.card')
        .filter({ has: page.getByRole('heading', { name: 'Identity', exact: true }) });
      await identity.getByText('Keyless IAM role').waitFor();
      await identity.getByText(ISSUER).waitFor();
      await identity.getByText(subject).waitFor();
      const details = page.locator('#role-details');
      await details.waitFor();
      await details.getByText(subject).first().waitFor();
      expect(await page.getByRole('heading', { name: 'Role and external ID' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Regenerate external ID' }).count()).toBe(0);
      await screenshot(page, 'account-keyless');

      await page.getByRole('link', { name: 'Cloud accounts' }).first().click();
      const row = page.getByRole('row', { name: /Keyless prod/ });
      await row.getByText('Keyless IAM role').waitFor();
      await row.getByText('Valid').waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'shows the operator the issuer and its keys, and rotates one after a confirmation',
    async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await page.getByLabel('Email').fill(OPERATOR.email);
      await page.getByLabel('Password').fill(OPERATOR.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Operator' }).waitFor();
      await page.getByRole('tab', { name: 'Keyless issuer' }).click();
      await page.getByText('Keyless IAM roles are offered').waitFor();
      await page.getByText(ISSUER, { exact: true }).waitFor();
      const keys = page.getByRole('table').getByRole('row');
      await expect.poll(() => keys.count()).toBe(2);
      await keys.nth(1).getByText('Signing', { exact: true }).waitFor();

      await page.getByRole('button', { name: 'Rotate signing key' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByText(/signs after/).waitFor();
      await screenshot(page, 'operator-keyless-rotate-confirm', false);
      await dialog.getByRole('button', { name: 'Rotate' }).click();
      await page.getByText(/is published and signs from/).waitFor();
      await expect.poll(() => keys.count()).toBe(3);
      await keys.nth(1).getByText('Next', { exact: true }).waitFor();
      await keys.nth(2).getByText('Signing', { exact: true }).waitFor();
      await screenshot(page, 'operator-keyless-issuer');

      // The API agrees: the new key waits for its pre-publication period, the current one signs.
      const status = (await page.evaluate(async () => (await fetch('/v1/oidc')).json())) as {
        keys: { state: string }[];
      };
      expect(status.keys.map((k) => k.state)).toEqual(['next', 'signing']);
    },
    STEP_TIMEOUT,
  );
});

describe('the wizard of an operator with no hub credentials at all, in chromium', () => {
  let aws: LoopbackAws;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchBrowser();
    await buildConsole();
    aws = await startLoopbackAws();
    server = await startServer({
      ONRAMP_DATA_DIR: mkdtempSync(join(tmpdir(), 'onramp-keyless-nohub-')),
      AWS_ENDPOINT_URL: aws.url,
      LOG_LEVEL: 'warn',
      ONRAMP_OIDC_ISSUER_URL: ISSUER,
    });
    aws.routeIssuer(ORIGIN, server.url);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await aws?.stop();
  });

  it(
    'chooses the keyless role, says why the external-ID role is not offered, and needs no hub for it',
    async () => {
      await setUpOperatorAndTenant(page, server, { operator: OPERATOR, admin: ADMIN });
      await page.getByRole('button', { name: '+ Add AWS account' }).first().click();
      await page.getByLabel('Name').fill('No hub');
      expect(await page.locator('input[type=radio][value="oidc_role"]').isChecked()).toBe(true);
      const role = page.locator('input[type=radio][value="role"]');
      expect(await role.isDisabled()).toBe(true);
      await page.locator('label.choice-card', { has: role }).locator('.choice-reason').waitFor();
      await screenshot(page, 'wizard-keyless-no-hub');
      await page.getByRole('button', { name: 'Next: permissions' }).click();
      await page.getByRole('button', { name: 'Next: create the role' }).click();
      await page.getByRole('heading', { name: '3. Create the role' }).waitFor();
      await page.locator('.create-role .facts > div', { hasText: 'Subject' }).waitFor();
      expect(
        await page.locator('.create-role .facts > div', { hasText: 'Trusted principal' }).count(),
      ).toBe(0);
      await page.getByRole('link', { name: 'Download template (YAML)' }).waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'shows every way to create the role on a 390 px phone, none hidden past the edge',
    async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      const list = page.getByRole('tablist').first();
      const edge = await list.evaluate((el) => el.getBoundingClientRect().right);
      const tabs = list.getByRole('tab');
      expect(await tabs.count()).toBeGreaterThan(1);
      for (const tab of await tabs.all()) {
        const box = await tab.boundingBox();
        expect(box && box.x + box.width).toBeLessThanOrEqual(edge);
      }
      await page.getByRole('tab', { name: 'Manual' }).click();
      await page.getByText('Add the identity provider').waitFor();
      await screenshot(page, 'wizard-keyless-narrow');
    },
    STEP_TIMEOUT,
  );

  it(
    'fits the operator’s keyless issuer tab into a 390 px phone',
    async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Email').fill(OPERATOR.email);
      await page.getByLabel('Password').fill(OPERATOR.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Operator' }).waitFor();
      await page.getByRole('tab', { name: 'Keyless issuer' }).click();
      await page.getByText(ISSUER, { exact: true }).waitFor();
      // A string, as console.test.ts does: the e2e project compiles without the DOM's types.
      const wide = (await page.evaluate(`(() => {
        const width = document.documentElement.clientWidth;
        return [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > width + 1 && !e.closest('.table-wrap'))
          .map((e) => e.outerHTML.slice(0, 200));
      })()`)) as string[];
      expect(wide, wide.join('\n')).toEqual([]);
      await screenshot(page, 'operator-keyless-narrow');
    },
    STEP_TIMEOUT,
  );
});
