/**
 * Slow and greedy clients against the real server process (`node apps/server/src/main.ts`) with short
 * configured limits: bodies that trickle, headers that never end, connections that send nothing are
 * closed after the timeouts while /healthz keeps answering; connections beyond the per-address and
 * global caps are closed at once.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from './server-process.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Tracked {
  kind: string;
  socket: Socket;
  openedAt: number;
  closedAt?: number;
  received: string;
}

function hostAndPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return {
    host: parsed.hostname === 'localhost' ? '127.0.0.1' : parsed.hostname,
    port: Number(parsed.port),
  };
}

/** Opens a raw connection (optionally from another loopback address) and records what happens. */
async function open(url: string, kind: string, localAddress?: string): Promise<Tracked> {
  const { host, port } = hostAndPort(url);
  const socket = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
  const tracked: Tracked = { kind, socket, openedAt: Date.now(), received: '' };
  socket.on('data', (chunk) => {
    tracked.received += chunk.toString('latin1');
  });
  // Writes after the server closed the connection fail: that is the point.
  socket.on('error', () => {});
  socket.on('close', () => {
    tracked.closedAt = Date.now();
  });
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
  });
  return tracked;
}

/** Writes `text` one byte every `everyMs` until the socket closes (or the text runs out). */
function trickle(tracked: Tracked, text: string, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (tracked.closedAt || at >= text.length) return clearInterval(timer);
    tracked.socket.write(text[at++] ?? '');
  }, everyMs);
}

/** GET /healthz on a fresh connection from `localAddress`: its status and how long it took. */
function health(url: string, localAddress = '127.0.0.1'): Promise<{ status: number; ms: number }> {
  const { host, port } = hostAndPort(url);
  const started = Date.now();
  return new Promise((resolve) => {
    const req = request(
      { host, port, path: '/healthz', localAddress, agent: false, timeout: 5_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: Date.now() - started }));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

describe('slow clients', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'onramp-slow-'));
  const servers: RunningServer[] = [];
  const sockets: Tracked[] = [];
  afterAll(async () => {
    for (const tracked of sockets) tracked.socket.destroy();
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('are closed after the request, header and idle timeouts while /healthz keeps answering', async () => {
    const server = await startServer({
      ONRAMP_DATA_DIR: join(dataDir, 'timeouts'),
      ONRAMP_LOG_LEVEL: 'warn',
      ONRAMP_HTTP_REQUEST_TIMEOUT_SECONDS: '1',
      ONRAMP_HTTP_HEADERS_TIMEOUT_SECONDS: '1',
      ONRAMP_HTTP_IDLE_TIMEOUT_SECONDS: '2',
      ONRAMP_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '2000',
    });
    servers.push(server);
    const body = JSON.stringify({ email: 'someone@example.com', password: 'x'.repeat(200) });
    const head = (length: number) =>
      `POST /v1/session HTTP/1.1\r\nHost: onramp\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

    const flood: Tracked[] = [];
    for (let i = 0; i < 200; i++) {
      // The headers at once, then the body a byte at a time: it would take 25 s.
      const t = await open(server.url, 'trickled body');
      t.socket.write(head(body.length));
      trickle(t, body, 100);
      flood.push(t);
    }
    for (let i = 0; i < 100; i++) {
      // The headers promise a body that never comes.
      const t = await open(server.url, 'no body');
      t.socket.write(head(1000));
      flood.push(t);
    }
    for (let i = 0; i < 50; i++) {
      // Headers that trickle and never end.
      const t = await open(server.url, 'trickled headers');
      trickle(
        t,
        `${head(body.length)}`.replace('\r\n\r\n', `\r\n${'X-Pad: y\r\n'.repeat(50)}`),
        50,
      );
      flood.push(t);
    }
    for (let i = 0; i < 50; i++) flood.push(await open(server.url, 'silent'));
    sockets.push(...flood);

    const checks: { status: number; ms: number }[] = [];
    const deadline = Date.now() + 8_000;
    while (Date.now() < deadline && flood.some((t) => !t.closedAt)) {
      checks.push(await health(server.url));
      await sleep(100);
    }

    const open_ = flood.filter((t) => !t.closedAt);
    expect(
      open_.map((t) => t.kind).slice(0, 5),
      `${open_.length} slow connections still open after 8 s`,
    ).toEqual([]);
    // Closed within the timeout (1 s; 2 s idle for the silent ones) and Node's sweep, with slack.
    const late = flood.filter((t) => (t.closedAt ?? Infinity) - t.openedAt > 4_000);
    expect(late.map((t) => `${t.kind}: ${(t.closedAt ?? 0) - t.openedAt} ms`).slice(0, 5)).toEqual(
      [],
    );
    // A request that did not arrive in time is told so (408) before its connection is closed.
    const answered = flood.filter((t) => t.kind !== 'silent' && t.received);
    for (const t of answered) expect(t.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(answered.length).toBeGreaterThan(0);
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.filter((c) => c.status !== 200 || c.ms > 1_000)).toEqual([]);
    expect(server.process.exitCode).toBeNull();
  }, 60_000);

  it('beyond the per-address and global caps are closed at once; others are served', async () => {
    const server = await startServer({
      ONRAMP_DATA_DIR: join(dataDir, 'caps'),
      ONRAMP_LOG_LEVEL: 'warn',
      ONRAMP_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '5',
      ONRAMP_HTTP_MAX_CONNECTIONS: '8',
    });
    servers.push(server);
    // Held connections (sending nothing yet) from 127.0.0.1 up to its cap.
    const first = [];
    for (let i = 0; i < 5; i++) first.push(await open(server.url, 'held', '127.0.0.1'));
    sockets.push(...first);
    await sleep(200);
    const sixth = await open(server.url, 'over the address cap', '127.0.0.1');
    sockets.push(sixth);
    await sleep(500);
    expect(sixth.closedAt, 'the sixth connection from one address is closed').toBeDefined();
    expect(sixth.received).toBe('');
    expect(first.filter((t) => t.closedAt)).toEqual([]);

    // Another address is served…
    expect((await health(server.url, '127.0.0.2')).status).toBe(200);
    // …up to the global cap (5 + 3 = 8 held).
    const second = [];
    for (let i = 0; i < 3; i++) second.push(await open(server.url, 'held', '127.0.0.2'));
    sockets.push(...second);
    await sleep(200);
    const ninth = await open(server.url, 'over the global cap', '127.0.0.3');
    sockets.push(ninth);
    await sleep(500);
    expect(ninth.closedAt, 'the ninth connection in all is closed').toBeDefined();
    expect((await health(server.url, '127.0.0.3')).status).toBe(0);

    // A closed connection frees its slot.
    first[0]?.socket.destroy();
    second[0]?.socket.destroy();
    await sleep(200);
    expect((await health(server.url, '127.0.0.1')).status).toBe(200);
    expect(server.process.exitCode).toBeNull();
  }, 60_000);
});
