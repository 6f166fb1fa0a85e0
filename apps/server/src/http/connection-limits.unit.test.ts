import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { addressKey, DEFAULT_HTTP_LIMITS, serverOptionsOf } from './connection-limits.ts';

// The behaviour against real slow clients is e2e/slow-clients.test.ts; these are its settings.
describe('HTTP limits', () => {
  it('default to a 30 s request, 10 s headers, 120 s idle, 72 s keep-alive, 10,000 connections, 256 per address', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      httpRequestTimeoutSeconds: 30,
      httpHeadersTimeoutSeconds: 10,
      httpIdleTimeoutSeconds: 120,
      httpKeepAliveTimeoutSeconds: 72,
      httpMaxConnections: 10_000,
      httpMaxConnectionsPerAddress: 256,
      databaseConnectTimeoutSeconds: 5,
    });
    expect(DEFAULT_HTTP_LIMITS).toEqual({
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      idleTimeoutMs: 120_000,
      keepAliveTimeoutMs: 72_000,
      maxConnections: 10_000,
      maxConnectionsPerAddress: 256,
    });
  });

  it('are read from the environment; 0 turns the per-address cap off', () => {
    const config = loadConfig({
      ONRAMP_HTTP_REQUEST_TIMEOUT_SECONDS: '2.5',
      ONRAMP_HTTP_HEADERS_TIMEOUT_SECONDS: '1',
      ONRAMP_HTTP_IDLE_TIMEOUT_SECONDS: '300',
      ONRAMP_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '5',
      ONRAMP_HTTP_MAX_CONNECTIONS: '500',
      ONRAMP_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0',
      ONRAMP_DATABASE_CONNECT_TIMEOUT_SECONDS: '0.5',
    });
    expect(config).toMatchObject({
      httpRequestTimeoutSeconds: 2.5,
      httpHeadersTimeoutSeconds: 1,
      httpIdleTimeoutSeconds: 300,
      httpKeepAliveTimeoutSeconds: 5,
      httpMaxConnections: 500,
      httpMaxConnectionsPerAddress: 0,
      databaseConnectTimeoutSeconds: 0.5,
    });
  });

  it('refuse a zero or negative timeout, naming the variable', () => {
    let problems: string[] = [];
    try {
      loadConfig({ ONRAMP_HTTP_REQUEST_TIMEOUT_SECONDS: '0', ONRAMP_HTTP_MAX_CONNECTIONS: '-1' });
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems;
    }
    expect(problems).toEqual([
      expect.stringMatching(/^ONRAMP_HTTP_REQUEST_TIMEOUT_SECONDS: /),
      expect.stringMatching(/^ONRAMP_HTTP_MAX_CONNECTIONS: /),
    ]);
  });

  it('cap the headers timeout at the request timeout (Node refuses a longer one)', () => {
    const options = serverOptionsOf({
      ...DEFAULT_HTTP_LIMITS,
      requestTimeoutMs: 2_000,
      headersTimeoutMs: 10_000,
    });
    expect(options.http.headersTimeout).toBe(2_000);
    expect(options.http.connectionsCheckingInterval).toBeLessThanOrEqual(500);
  });
});

describe('addressKey', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
  ])('%s counts as %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});
