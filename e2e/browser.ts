import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ROOT } from './server-process.ts';

/** Debian's chromium; CI installs it (.ci/run). Never a browser downloaded by Playwright. */
export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'docs', 'screenshots');
const WEB = join(ROOT, 'apps', 'web');

/**
 * Builds the console into apps/web/dist, as `npm start` does, so the server under test serves what
 * ships. Built beside and swapped in, so a server starting meanwhile never sees half a build.
 */
export async function buildConsole(): Promise<void> {
  const { build } = await import('vite');
  const staging = join(WEB, `dist.building-${process.pid}`);
  await build({
    configFile: join(WEB, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: staging, emptyOutDir: true },
  });
  rmSync(join(WEB, 'dist'), { recursive: true, force: true });
  renameSync(staging, join(WEB, 'dist'));
}

/** Launches chromium headless; fails (never skips) when it is not installed. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the console's browser tests need Debian's chromium (apt-get install -y chromium).`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright gives every launch a fresh, temporary user-data directory.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Saves a PNG of the page into docs/screenshots (the README shows the best of them), only when asked
 * (`npm run screenshots` sets ONRAMP_SCREENSHOTS=1): the files are tracked, and a test run must leave
 * the tree as it found it.
 */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  if (process.env.ONRAMP_SCREENSHOTS !== '1') return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage });
}

export interface Person {
  name: string;
  email: string;
  password: string;
}

/**
 * The first minutes of a new install, as its people click them: the operator admin made with the
 * set-up token the server printed, a tenant "Acme Corp" with its first admin, and that admin signed
 * in. Waits for the sign-in page before typing: until it is up, 'Email' also matches the operator
 * page's "First admin's email".
 */
export async function setUpOperatorAndTenant(
  page: Page,
  server: { url: string; output(): string },
  people: { operator: Person; admin: Person },
): Promise<void> {
  const token = /(setup_[A-Za-z0-9_-]+)/.exec(server.output())?.[1];
  if (!token) throw new Error(`the server printed no set-up token:\n${server.output()}`);
  await page.goto(server.url);
  await page.getByRole('link', { name: 'Set up the operator admin' }).click();
  await page.getByLabel('Set-up token').fill(token);
  await page.getByLabel('Your name').fill(people.operator.name);
  await page.getByLabel('Email').fill(people.operator.email);
  await page.getByLabel('Password').fill(people.operator.password);
  await page.getByRole('button', { name: 'Create the operator admin' }).click();
  await page.getByRole('heading', { name: 'Operator' }).waitFor();
  await page.getByLabel('Tenant name').fill('Acme Corp');
  await page.getByLabel("First admin's name").fill(people.admin.name);
  await page.getByLabel("First admin's email").fill(people.admin.email);
  await page.getByLabel("First admin's password").fill(people.admin.password);
  await page.getByRole('button', { name: 'Create tenant' }).click();
  await page.getByRole('cell', { name: /Acme Corp/ }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Email').fill(people.admin.email);
  await page.getByLabel('Password').fill(people.admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** An API call made from a signed-in page, with its session's CSRF token (the platform's backend). */
export function apiFrom(page: Page, method: string, path: string, body?: unknown) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const session = (await (await fetch('/v1/session')).json()) as { csrfToken: string };
      const response = await fetch(path, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return {
        status: response.status,
        body: (await response.json()) as Record<string, unknown>,
      };
    },
    { method, path, body },
  );
}

/**
 * The lines of a page's text that name Onramp: a customer's page must have none. Identifiers the
 * core makes (the role's default name `OnrampRole-…`, the user `acme-cloud-onramp`) are not prose.
 */
export async function linesNamingOnramp(page: Page): Promise<string[]> {
  const text = await page.locator('body').innerText();
  return text.split('\n').filter((line) => /\bOnramp\b|\bONRAMP\b/.test(line));
}
