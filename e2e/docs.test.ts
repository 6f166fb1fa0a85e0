/**
 * The API docs (/docs, Swagger UI) in a real browser under their Content-Security-Policy: the page
 * renders every operation without a single policy violation, and no other page can frame it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './browser.ts';
import { type RunningServer, startServer } from './server-process.ts';

describe('/docs in chromium', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'onramp-docs-'));
  let server: RunningServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startServer({ ONRAMP_DATA_DIR: dataDir, ONRAMP_LOG_LEVEL: 'warn' });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('renders every operation with no Content-Security-Policy violation', async () => {
    const page = await browser.newPage();
    const messages: string[] = [];
    page.on('console', (message) => messages.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => messages.push(`pageerror: ${error.message}`));
    // A page script (a string: the tests are compiled without the DOM's types).
    await page.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (e) =>
        console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));`,
    });
    const response = await page.goto(`${server.url}/docs/`);
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    await page.getByText('Onramp API').first().waitFor({ timeout: 20_000 });
    await page.locator('.opblock').first().waitFor();
    expect(await page.locator('.opblock').count()).toBeGreaterThan(20);
    // An operation opens (Swagger UI's own scripts and styles at work).
    await page.locator('.opblock-summary').first().click();
    await page.locator('.opblock-body').first().waitFor();
    expect(messages.filter((m) => /violat|Refused|error/i.test(m))).toEqual([]);
    await page.close();
  }, 60_000);

  it('cannot be framed by another page', async () => {
    const page = await browser.newPage();
    const messages: string[] = [];
    page.on('console', (message) => messages.push(message.text()));
    await page.setContent(`<iframe src="${server.url}/docs/" width="800" height="600"></iframe>`);
    await expect
      .poll(() => messages.join('\n'), { timeout: 10_000 })
      .toMatch(/frame-ancestors 'none'/);
    const framed = page.frames().find((f) => f.url().includes('/docs'));
    const rendered = framed
      ? await framed
          .locator('.opblock')
          .count()
          .catch(() => 0)
      : 0;
    expect(rendered).toBe(0);
    await page.close();
  }, 30_000);
});
