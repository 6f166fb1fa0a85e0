/**
 * `npm start` as an operator runs it: `node scripts/start.mjs` serves Onramp from the production build
 * (apps/server/dist and friends), with no TypeScript loader in the serving process, the console precompressed, and a
 * rebuild only when a source changed since the build.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureBuilt,
  type ProductionServer,
  ROOT,
  startProductionServer,
  stopProductionServer,
} from './production-server.ts';

const BUILDING = /building Onramp \(/;

/**
 * Every script the running process has loaded, as its inspector lists them: SIGUSR1 opens the
 * inspector of a process started without any flag, and a helper Node (a WebSocket client) asks it.
 */
function loadedScripts(server: ProductionServer): Promise<string[]> {
  process.kill(server.pid, 'SIGUSR1');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no inspector:\n${server.output()}`)), 10_000);
    const poll = setInterval(() => {
      const match = /Debugger listening on (ws:\/\/\S+)/.exec(server.output());
      if (!match?.[1]) return;
      clearInterval(poll);
      clearTimeout(timer);
      const client = spawnSync(
        process.execPath,
        ['--experimental-websocket', '--no-warnings', '-e', INSPECTOR_CLIENT, match[1]],
        { encoding: 'utf8', timeout: 20_000 },
      );
      if (client.status !== 0) reject(new Error(`inspector client failed: ${client.stderr}`));
      else resolve(JSON.parse(client.stdout) as string[]);
    }, 50);
  });
}

// Enables the debugger, which reports every script already parsed, and prints their URLs.
const INSPECTOR_CLIENT = `
const socket = new WebSocket(process.argv[1]);
const urls = [];
socket.onopen = () => socket.send(JSON.stringify({ id: 1, method: 'Debugger.enable' }));
socket.onmessage = (event) => {
  const message = JSON.parse(event.data);
  if (message.method === 'Debugger.scriptParsed' && message.params.url) urls.push(message.params.url);
  if (message.id === 1) {
    process.stdout.write(JSON.stringify(urls));
    socket.close();
  }
};
socket.onerror = () => process.exit(2);
`;

function decode(encoding: string | null, body: Buffer): string {
  if (encoding === 'br') return brotliDecompressSync(body).toString();
  if (encoding === 'gzip') return gunzipSync(body).toString();
  return body.toString();
}

async function fetchBytes(url: string, acceptEncoding: string) {
  // undici decodes compressed bodies itself: node:http-style raw bytes need the header kept honest,
  // so the body is read as bytes and decoded here from the header the server sent.
  const response = await fetch(url, { headers: { 'accept-encoding': acceptEncoding } });
  const body = Buffer.from(await response.arrayBuffer());
  return { response, body };
}

describe('the production build: npm start', () => {
  const dataDirs: string[] = [];
  const servers: ProductionServer[] = [];
  const start = async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'onramp-production-'));
    dataDirs.push(dataDir);
    const server = await startProductionServer({
      ONRAMP_DATA_DIR: dataDir,
      ONRAMP_LOG_LEVEL: 'warn',
    });
    servers.push(server);
    return server;
  };

  beforeAll(() => ensureBuilt(), 120_000);
  afterAll(async () => {
    await Promise.all(servers.map(stopProductionServer));
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('serves /healthz and the console from the build, with no TypeScript loader loaded', async () => {
    const server = await start();
    expect(server.output()).not.toMatch(BUILDING);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    // Started as `node scripts/start.mjs`: no --import, no --loader, no NODE_OPTIONS.
    const commandLine = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8').split('\0');
    expect(commandLine.filter(Boolean).slice(1)).toEqual(['scripts/start.mjs']);
    const environment = readFileSync(`/proc/${server.pid}/environ`, 'utf8').split('\0');
    expect(environment.filter((v) => v.startsWith('NODE_OPTIONS='))).toEqual([]);

    const scripts = await loadedScripts(server);
    expect(scripts.some((url) => url.endsWith('/apps/server/dist/main.js'))).toBe(true);
    expect(scripts.filter((url) => /[\\/]tsx[\\/]|\.[cm]?tsx?$/.test(url))).toEqual([]);
  });

  it('sends the console brotli- or gzip-compressed, with hashed assets cached for a year', async () => {
    const server = servers[0] ?? (await start());
    const page = await fetchBytes(`${server.url}/`, 'br');
    expect(page.response.status).toBe(200);
    const html = page.body.toString();
    expect(html).toContain('<div id="root">');
    expect(page.response.headers.get('cache-control')).toBe('no-cache');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script, html).toBeDefined();
    const plain = await fetchBytes(`${server.url}${script}`, 'identity');
    expect(plain.response.headers.get('content-encoding')).toBeNull();
    for (const encoding of ['br', 'gzip']) {
      const compressed = await fetchBytes(`${server.url}${script}`, encoding);
      expect(compressed.response.status).toBe(200);
      expect(compressed.response.headers.get('cache-control')).toBe(
        'public, max-age=31536000, immutable',
      );
      expect(compressed.response.headers.get('vary')).toMatch(/accept-encoding/i);
      // fetch undoes the encoding it was sent: the bytes equal the file itself…
      expect(compressed.body.equals(plain.body), encoding).toBe(true);
      // …and the copy on disk is what went over the wire, compressed.
      const onDisk = readFileSync(
        join(ROOT, 'apps/web/dist', `${script}.${encoding === 'br' ? 'br' : 'gz'}`),
      );
      expect(decode(encoding, onDisk)).toBe(plain.body.toString());
      expect(onDisk.length).toBeLessThan(plain.body.length / 2);
    }
  });

  it('rebuilds when a source changed since the build, and not otherwise', async () => {
    // Untouched: the stamp matches, so the second start does not build.
    const again = await start();
    expect(again.output()).not.toMatch(BUILDING);
    await stopProductionServer(again);

    // A source saved now (same content, new time) makes the build stale: start builds, then serves.
    const source = join(ROOT, 'packages/core/src/index.ts');
    const now = new Date();
    utimesSync(source, now, now);
    const rebuilt = await start();
    expect(rebuilt.output()).toMatch(/building Onramp \(sources changed since the last build\)…/);
    expect((await fetch(`${rebuilt.url}/healthz`)).status).toBe(200);
    await stopProductionServer(rebuilt);

    const afterRebuild = await start();
    expect(afterRebuild.output()).not.toMatch(BUILDING);
  });
});
