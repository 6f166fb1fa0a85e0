import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, databaseLocation, keyringPath, loadConfig } from './config.ts';

const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('configuration', () => {
  it('needs nothing: SQLite and a generated keyring in ./data, on 127.0.0.1:8080', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      logLevel: 'info',
      trustProxy: false,
      hubs: {},
    });
    expect(databaseLocation(config)).toEqual({
      kind: 'sqlite',
      path: join(process.cwd(), 'data', 'onramp.db'),
    });
    expect(keyringPath(config)).toEqual({
      path: join(process.cwd(), 'data', 'master-keys.json'),
      createIfMissing: true,
    });
  });

  it('reads every variable, including hub identities per partition', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://u@db/onramp',
      ONRAMP_MASTER_KEY_FILE: '/run/keys.json',
      ONRAMP_TRUST_PROXY: 'true',
      ONRAMP_HUB_AWS_US_GOV_PRINCIPAL_ARN: 'arn:aws-us-gov:iam::111122223333:role/hub',
      ONRAMP_HUB_AWS_US_GOV_PROFILE: 'gov',
      ONRAMP_HUB_AWS_PRINCIPAL_ARN: '111122223333',
    });
    expect(config.port).toBe(9000);
    // true is exactly one proxy hop, never "every hop".
    expect(config.trustProxy).toBe(1);
    expect(databaseLocation(config)).toEqual({ kind: 'postgres', url: 'postgres://u@db/onramp' });
    expect(keyringPath(config)).toEqual({ path: '/run/keys.json', createIfMissing: false });
    expect(config.hubs).toEqual({
      'aws-us-gov': {
        principalArn: 'arn:aws-us-gov:iam::111122223333:role/hub',
        credentials: { source: 'profile', profile: 'gov' },
      },
      aws: { principalArn: '111122223333', credentials: { source: 'default-chain' } },
    });
  });

  it('lists every problem at once, by variable name, and refuses to start', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://x',
      ONRAMP_PUBLIC_URL: 'not a url',
      ONRAMP_LOG_LEVEL: 'loud',
      ONRAMP_HUB_AWS_CN_PRINCIPAL_ARN: 'x',
      ONRAMP_HUB_AWS_CN_ACCESS_KEY_ID: 'AKIA',
    });
    expect(problems.map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining([
        'PORT',
        'DATABASE_URL',
        'ONRAMP_PUBLIC_URL',
        'ONRAMP_LOG_LEVEL',
        'ONRAMP_HUB_AWS_CN_ACCESS_KEY_ID',
        'ONRAMP_HUB_AWS_CN_SECRET_ACCESS_KEY',
      ]),
    );
  });

  it('has no default keyring for PostgreSQL: replicas must share one', () => {
    expect(problemsOf({ DATABASE_URL: 'postgres://u@db/onramp' })).toEqual([
      expect.stringMatching(/^ONRAMP_MASTER_KEY_FILE: .*required with PostgreSQL/),
    ]);
  });

  it('reads a template bucket per partition and the callback tokens’ life', () => {
    const config = loadConfig({
      ONRAMP_HUB_AWS_PRINCIPAL_ARN: '111122223333',
      ONRAMP_HUB_AWS_US_GOV_PRINCIPAL_ARN: '111122223333',
      ONRAMP_HUB_AWS_CN_PRINCIPAL_ARN: '111122223333',
      ONRAMP_TEMPLATE_BUCKET_AWS: 'acme-onramp-templates',
      ONRAMP_TEMPLATE_BUCKET_AWS_US_GOV: 'acme-onramp-templates-gov',
      ONRAMP_TEMPLATE_BUCKET_AWS_CN: 'acme.onramp.templates.cn',
      ONRAMP_CALLBACK_TOKEN_HOURS: '48',
    });
    expect(config.templateBuckets).toEqual({
      aws: 'acme-onramp-templates',
      'aws-us-gov': 'acme-onramp-templates-gov',
      'aws-cn': 'acme.onramp.templates.cn',
    });
    expect(config.callbackTokenHours).toBe(48);
    expect(loadConfig({})).toMatchObject({ templateBuckets: {}, callbackTokenHours: 24 });
  });

  it('reads the health schedule and webhook settings, with defaults, naming a bad one', () => {
    expect(loadConfig({})).toMatchObject({
      healthIntervalMinutes: 360,
      healthConcurrency: 8,
      healthRatePerSecond: 10,
      webhooksAllowPrivate: false,
    });
    expect(
      loadConfig({
        ONRAMP_HEALTH_INTERVAL_MINUTES: '30',
        ONRAMP_HEALTH_CONCURRENCY: '2',
        ONRAMP_HEALTH_RATE_PER_SECOND: '0.5',
        ONRAMP_WEBHOOKS_ALLOW_PRIVATE: 'true',
      }),
    ).toMatchObject({
      healthIntervalMinutes: 30,
      healthConcurrency: 2,
      healthRatePerSecond: 0.5,
      webhooksAllowPrivate: true,
    });
    expect(() =>
      loadConfig({ ONRAMP_HEALTH_INTERVAL_MINUTES: '0', ONRAMP_HEALTH_CONCURRENCY: 'many' }),
    ).toThrow(/ONRAMP_HEALTH_INTERVAL_MINUTES[\s\S]*ONRAMP_HEALTH_CONCURRENCY/);
  });

  it('reads the organization settings, with defaults, naming a bad one', () => {
    expect(loadConfig({})).toMatchObject({
      organizationDiscoveryMinutes: 60,
      organizationEnrollConcurrency: 8,
    });
    expect(
      loadConfig({
        ONRAMP_ORGANIZATION_DISCOVERY_MINUTES: '15',
        ONRAMP_ORGANIZATION_ENROLL_CONCURRENCY: '3',
      }),
    ).toMatchObject({ organizationDiscoveryMinutes: 15, organizationEnrollConcurrency: 3 });
    expect(() => loadConfig({ ONRAMP_ORGANIZATION_DISCOVERY_MINUTES: '0' })).toThrow(
      /ONRAMP_ORGANIZATION_DISCOVERY_MINUTES/,
    );
  });

  it('reads the collection caps, with defaults, naming a bad one', () => {
    expect(loadConfig({})).toMatchObject({
      maxPendingConnections: 100,
      maxWebhooks: 20,
      maxTokens: 100,
      maxUsers: 1000,
      maxTenants: 10_000,
    });
    expect(
      loadConfig({
        ONRAMP_MAX_PENDING_CONNECTIONS: '5',
        ONRAMP_MAX_WEBHOOKS: '2',
        ONRAMP_MAX_TOKENS: '3',
        ONRAMP_MAX_USERS: '4',
        ONRAMP_MAX_TENANTS: '6',
      }),
    ).toMatchObject({
      maxPendingConnections: 5,
      maxWebhooks: 2,
      maxTokens: 3,
      maxUsers: 4,
      maxTenants: 6,
    });
    expect(() => loadConfig({ ONRAMP_MAX_WEBHOOKS: '0', ONRAMP_MAX_TOKENS: 'lots' })).toThrow(
      /ONRAMP_MAX_WEBHOOKS[\s\S]*ONRAMP_MAX_TOKENS/,
    );
  });

  it('reads the metrics token and the federation endpoint, refusing a short token', () => {
    const config = loadConfig({
      ONRAMP_METRICS_TOKEN: 'metrics-token-of-32-characters!!',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
    });
    expect(config).toMatchObject({
      metricsToken: 'metrics-token-of-32-characters!!',
      signinEndpoint: 'http://127.0.0.1:4566',
    });
    expect(
      loadConfig({
        AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
        AWS_ENDPOINT_URL_SIGNIN: 'http://127.0.0.1:9999',
      }).signinEndpoint,
    ).toBe('http://127.0.0.1:9999');
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(problemsOf({ ONRAMP_METRICS_TOKEN: 'short' })).toEqual([
      expect.stringMatching(/^ONRAMP_METRICS_TOKEN: /),
    ]);
  });

  it('refuses a bucket name S3 would not take, and a bucket without the partition’s hub', () => {
    const problems = problemsOf({
      ONRAMP_HUB_AWS_PRINCIPAL_ARN: '111122223333',
      ONRAMP_TEMPLATE_BUCKET_AWS: 'Not_A_Bucket',
      ONRAMP_TEMPLATE_BUCKET_AWS_CN: 'acme-onramp-templates-cn',
      ONRAMP_CALLBACK_TOKEN_HOURS: '0',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ONRAMP_TEMPLATE_BUCKET_AWS: an S3 bucket name/),
        expect.stringMatching(
          /^ONRAMP_TEMPLATE_BUCKET_AWS_CN: needs the partition's hub identity \(ONRAMP_HUB_AWS_CN_PRINCIPAL_ARN\)/,
        ),
        expect.stringMatching(/^ONRAMP_CALLBACK_TOKEN_HOURS: /),
      ]),
    );
    expect(problems).toHaveLength(3);
  });

  it('trusts a number of proxy hops or a list of proxies, never every address', () => {
    const trust = (value: string) => loadConfig({ ONRAMP_TRUST_PROXY: value }).trustProxy;
    expect(trust('false')).toBe(false);
    expect(trust('true')).toBe(1);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,loopback')).toEqual([
      '10.0.0.0/8',
      '192.0.2.7',
      '2001:db8::/32',
      'loopback',
    ]);
    for (const bad of ['0.0.0.0/0', '::/0', '11', 'proxy.internal', '10.0.0.0/33', '10.0.0.1,']) {
      expect(problemsOf({ ONRAMP_TRUST_PROXY: bad }), bad).toEqual([
        expect.stringMatching(/^ONRAMP_TRUST_PROXY: .*use false, true \(one proxy hop\)/),
      ]);
    }
    expect(problemsOf({ ONRAMP_TRUST_PROXY: '0.0.0.0/0' })[0]).toMatch(/would trust every address/);
    // The file may give a number or a list.
    const file = join(mkdtempSync(join(tmpdir(), 'onramp-config-')), 'onramp.yaml');
    writeFileSync(file, 'trustProxy: ["10.1.0.0/16", "10.2.0.0/16"]\n');
    expect(loadConfig({ ONRAMP_CONFIG_FILE: file }).trustProxy).toEqual([
      '10.1.0.0/16',
      '10.2.0.0/16',
    ]);
  });

  it('reads the sign-in limits and the session idle timeout, with defaults', () => {
    expect(loadConfig({})).toMatchObject({
      signInLimitPerAccountAndAddress: 10,
      signInLimitPerAddress: 30,
      signInLimitPerAccount: 50,
      sessionIdleMinutes: 30,
    });
    expect(
      loadConfig({
        ONRAMP_SIGN_IN_LIMIT_PER_ACCOUNT_AND_ADDRESS: '5',
        ONRAMP_SIGN_IN_LIMIT_PER_ADDRESS: '100',
        ONRAMP_SIGN_IN_LIMIT_PER_ACCOUNT: '20',
        ONRAMP_SESSION_IDLE_MINUTES: '60',
      }),
    ).toMatchObject({
      signInLimitPerAccountAndAddress: 5,
      signInLimitPerAddress: 100,
      signInLimitPerAccount: 20,
      sessionIdleMinutes: 60,
    });
    expect(
      problemsOf({ ONRAMP_SIGN_IN_LIMIT_PER_ADDRESS: '0', ONRAMP_SESSION_IDLE_MINUTES: 'long' }),
    ).toEqual([
      expect.stringMatching(/^ONRAMP_SIGN_IN_LIMIT_PER_ADDRESS: /),
      expect.stringMatching(/^ONRAMP_SESSION_IDLE_MINUTES: /),
    ]);
  });

  it('reads an optional file under the environment', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'onramp-config-')), 'onramp.yaml');
    writeFileSync(
      file,
      'port: 7000\nhost: 0.0.0.0\nhubs:\n  aws:\n    principalArn: "111122223333"\n',
    );
    const config = loadConfig({ ONRAMP_CONFIG_FILE: file, PORT: '7001' });
    expect(config.port).toBe(7001);
    expect(config.host).toBe('0.0.0.0');
    expect(config.hubs.aws?.principalArn).toBe('111122223333');
    expect(problemsOf({ ONRAMP_CONFIG_FILE: join(file, '..', 'missing.yaml') })[0]).toMatch(
      /does not exist/,
    );
  });
});
