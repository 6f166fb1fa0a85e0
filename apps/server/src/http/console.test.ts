import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../testing/harness.ts';

// The console's files as the build leaves them (vite.config.ts): each text file with a .br and a .gz
// copy beside it. Static files do not depend on the database: SQLite only.
const workspace = mkdtempSync(join(tmpdir(), 'onramp-console-'));
const consoleRoot = join(workspace, 'dist');
const script = `console.log(${JSON.stringify('Onramp '.repeat(400))});\n`;
const page = `<!doctype html><title>Onramp</title><script src="/assets/index-AbC123.js"></script>${' '.repeat(300)}`;

function writeWithCopies(path: string, body: string) {
  writeFileSync(path, body);
  writeFileSync(`${path}.br`, brotliCompressSync(body));
  writeFileSync(`${path}.gz`, gzipSync(body));
}

let h: Harness;
beforeAll(async () => {
  mkdirSync(join(consoleRoot, 'assets'), { recursive: true });
  writeWithCopies(join(consoleRoot, 'index.html'), page);
  writeWithCopies(join(consoleRoot, 'assets', 'index-AbC123.js'), script);
  // An image the build leaves uncompressed, and a secret beside dist that must stay unreachable.
  writeFileSync(join(consoleRoot, 'assets', 'logo-Zz9.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(join(workspace, 'secret.txt'), 'not for the web');
  writeFileSync(join(workspace, 'secret.txt.br'), brotliCompressSync('not for the web'));
  h = await createHarness('sqlite', { consoleRoot });
});

afterAll(async () => {
  await h?.close();
  rmSync(workspace, { recursive: true, force: true });
});

function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  return h.app.inject({ method, url, headers });
}

/** The body as the client reads it, after undoing the encoding the server declared. */
function decoded(response: { headers: Record<string, unknown>; rawPayload: Buffer }): string {
  const encoding = response.headers['content-encoding'];
  if (encoding === 'br') return brotliDecompressSync(response.rawPayload).toString();
  if (encoding === 'gzip') return gunzipSync(response.rawPayload).toString();
  expect(encoding, 'an encoding the test does not know').toBeUndefined();
  return response.rawPayload.toString();
}

describe('the console served precompressed', () => {
  it('sends brotli, gzip or the file itself as accepted, each decoding to the same bytes', async () => {
    for (const url of ['/assets/index-AbC123.js', '/index.html', '/', '/accounts/acct_123']) {
      const expected = url.startsWith('/assets/') ? script : page;
      const br = await get(url, { 'accept-encoding': 'gzip, deflate, br' });
      const gz = await get(url, { 'accept-encoding': 'gzip' });
      const plain = await get(url, { 'accept-encoding': 'identity' });
      const none = await get(url);
      expect(
        [br, gz, plain, none].map((r) => r.statusCode),
        url,
      ).toEqual([200, 200, 200, 200]);
      expect(br.headers['content-encoding'], url).toBe('br');
      expect(gz.headers['content-encoding'], url).toBe('gzip');
      expect(plain.headers['content-encoding'], url).toBeUndefined();
      expect(none.headers['content-encoding'], url).toBeUndefined();
      for (const response of [br, gz, plain, none]) {
        expect(decoded(response), url).toBe(expected);
        expect(String(response.headers.vary), url).toMatch(/accept-encoding/i);
        expect(String(response.headers['content-type']), url).toMatch(
          url.startsWith('/assets/') ? /javascript/ : /text\/html/,
        );
      }
      expect(br.rawPayload.length, url).toBeLessThan(Buffer.byteLength(expected));
    }
  });

  it('caches hashed assets for a year and makes the page revalidate, keeping the page’s policy', async () => {
    for (const encoding of ['br', 'gzip', 'identity']) {
      const asset = await get('/assets/index-AbC123.js', { 'accept-encoding': encoding });
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      for (const url of ['/', '/index.html', '/accounts/acct_123']) {
        const response = await get(url, { 'accept-encoding': encoding });
        expect(response.headers['cache-control'], `${url} ${encoding}`).toBe('no-cache');
        expect(String(response.headers['content-security-policy']), url).toMatch(
          /^default-src 'self'; .*frame-ancestors 'none'/,
        );
        expect(response.headers['x-frame-options'], url).toBe('DENY');
      }
    }
    const image = await get('/assets/logo-Zz9.png', { 'accept-encoding': 'br' });
    expect(image.statusCode).toBe(200);
    expect(image.headers['content-encoding']).toBeUndefined();
    expect(image.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('answers a revalidation with 304 for the same encoding, and 200 when the encoding differs', async () => {
    const first = await get('/assets/index-AbC123.js', { 'accept-encoding': 'br' });
    const etag = String(first.headers.etag);
    expect(etag).not.toBe('undefined');
    const again = await get('/assets/index-AbC123.js', {
      'accept-encoding': 'br',
      'if-none-match': etag,
    });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
    // The gzip copy is another representation: its tag must differ, or a cache would mix them up.
    const otherEncoding = await get('/assets/index-AbC123.js', {
      'accept-encoding': 'gzip',
      'if-none-match': etag,
    });
    expect(otherEncoding.statusCode).toBe(200);
    expect(decoded(otherEncoding)).toBe(script);
    const page = await get('/index.html', { 'accept-encoding': 'br' });
    const pageAgain = await get('/index.html', {
      'accept-encoding': 'br',
      'if-none-match': String(page.headers.etag),
    });
    expect(pageAgain.statusCode).toBe(304);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const head = await get('/assets/index-AbC123.js', { 'accept-encoding': 'br' }, 'HEAD');
    const full = await get('/assets/index-AbC123.js', { 'accept-encoding': 'br' });
    expect(head.statusCode).toBe(200);
    expect(head.rawPayload.length).toBe(0);
    expect(head.headers['content-encoding']).toBe('br');
    expect(head.headers['content-length']).toBe(full.headers['content-length']);
    expect(head.headers.etag).toBe(full.headers.etag);
  });

  it('never serves a compressed copy by its own name, nor anything outside the build', async () => {
    for (const url of ['/assets/index-AbC123.js.br', '/assets/index-AbC123.js.gz']) {
      const response = await get(url, { 'accept-encoding': 'br' });
      expect(response.statusCode, url).toBe(404);
    }
    // Outside assets/, an unknown name is a page of the app: the console's HTML, never a file.
    for (const url of [
      '/index.html.br',
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/../../secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
    ]) {
      for (const encoding of ['br', 'gzip', 'identity']) {
        const response = await get(url, { 'accept-encoding': encoding });
        const body = response.statusCode === 200 ? decoded(response) : response.body;
        expect(body, `${url} ${encoding}`).not.toContain('not for the web');
        expect([200, 400, 403, 404], `${url} ${encoding}`).toContain(response.statusCode);
        if (response.statusCode === 200) expect(body, url).toBe(page);
      }
    }
  });
});
