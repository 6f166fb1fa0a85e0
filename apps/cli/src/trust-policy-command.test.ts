import { generateExternalId } from '@onramp/core';
import { describe, expect, it } from 'vitest';
import {
  type CliRun,
  describeRun,
  fixedRandomBytes,
  parseJsonOutput,
  runCli,
  TEST_CATALOG,
} from './testing.ts';

interface TrustPolicy {
  Statement: {
    Principal: { AWS: string };
    Action: string[];
    Condition: Record<string, Record<string, string>>;
  }[];
}

function parseTrustPolicy(result: CliRun): TrustPolicy {
  expect(result.code, describeRun(result)).toBe(0);
  const policy = parseJsonOutput(result) as TrustPolicy;
  expect(policy.Statement, describeRun(result)).toHaveLength(2);
  return policy;
}

describe('onramp trust-policy', () => {
  it('trusts the hub account only with the external ID given', async () => {
    const result = await runCli([
      'trust-policy',
      '--partition',
      'aws-us-gov',
      '--hub-principal',
      '111122223333',
      '--external-id',
      'onramp-test-external-id',
    ]);
    const [statement, tagging] = parseTrustPolicy(result).Statement;
    expect(statement?.Principal.AWS, describeRun(result)).toBe(
      'arn:aws-us-gov:iam::111122223333:root',
    );
    expect(statement?.Action, describeRun(result)).toEqual(['sts:AssumeRole']);
    expect(tagging?.Action, describeRun(result)).toEqual(['sts:TagSession']);
    expect(statement?.Condition, describeRun(result)).toEqual({
      StringEquals: { 'sts:ExternalId': 'onramp-test-external-id' },
    });
    expect(result.stderr, describeRun(result)).toBe('');
  });

  it('pins a hub role by its ARN', async () => {
    const hub = 'arn:aws:iam::111122223333:role/platform/hub';
    const result = await runCli([
      'trust-policy',
      '--partition',
      'aws',
      '--hub-principal',
      hub,
      '--external-id',
      'x1',
    ]);
    const [statement] = parseTrustPolicy(result).Statement;
    expect(statement?.Principal.AWS, describeRun(result)).toBe('arn:aws:iam::111122223333:root');
    expect(statement?.Condition.ArnEquals, describeRun(result)).toEqual({
      'aws:PrincipalArn': hub,
    });
  });

  it('generates an external ID when none is given, and shows it on stderr', async () => {
    const expected = generateExternalId(fixedRandomBytes(32));
    const result = await runCli([
      'trust-policy',
      '--partition',
      'aws',
      '--hub-principal',
      '111122223333',
    ]);
    const [statement] = parseTrustPolicy(result).Statement;
    expect(statement?.Condition.StringEquals?.['sts:ExternalId'], describeRun(result)).toBe(
      expected,
    );
    expect(result.stderr, describeRun(result)).toContain(`generated one: ${expected}`);
  });

  it('asks for the random bytes it turns into an external ID', async () => {
    const sizes: number[] = [];
    const result = await runCli(
      ['trust-policy', '--partition', 'aws', '--hub-principal', '111122223333'],
      {
        io: {
          randomBytes: (size) => {
            sizes.push(size);
            return new Uint8Array(size).fill(255);
          },
        },
      },
    );
    expect(sizes, describeRun(result)).toEqual([32]);
    expect(result.stdout, describeRun(result)).toContain(
      generateExternalId(new Uint8Array(32).fill(255)),
    );
  });

  it('refuses a hub principal of another partition', async () => {
    const result = await runCli([
      'trust-policy',
      '--partition',
      'aws-cn',
      '--hub-principal',
      'arn:aws:iam::111122223333:role/hub',
    ]);
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stderr, describeRun(result)).toContain(
      'error: --hub-principal: The trusted principal is in partition "aws"',
    );
    expect(result.stdout, describeRun(result)).toBe('');
  });

  it('requires --partition and --hub-principal, and checks --external-id', async () => {
    const missing = await runCli(['trust-policy']);
    expect(missing.code, describeRun(missing)).toBe(2);
    expect(missing.stderr, describeRun(missing)).toContain(
      'error: --partition: Choose a partition.',
    );

    const noHub = await runCli(['trust-policy', '--partition', 'aws', '--external-id', 'a b']);
    expect(noHub.code, describeRun(noHub)).toBe(2);
    expect(noHub.stderr, describeRun(noHub)).toContain(
      'error: --hub-principal: Give your platform',
    );
    expect(noHub.stderr, describeRun(noHub)).toContain(
      'error: --external-id: An external ID may contain only',
    );
  });

  it('checks the catalog given with --catalog, though the trust policy does not depend on it', async () => {
    const argv = [
      'trust-policy',
      '--partition',
      'aws',
      '--hub-principal',
      '111122223333',
      '--catalog',
      'c.yaml',
    ];
    const good = await runCli(argv, { files: { 'c.yaml': TEST_CATALOG } });
    expect(good.code, describeRun(good)).toBe(0);
    const bad = await runCli(argv, { files: { 'c.yaml': 'version: 2\n' } });
    expect(bad.code, describeRun(bad)).toBe(1);
    expect(bad.stderr, describeRun(bad)).toContain('error: the catalog c.yaml has');
  });
});

describe('onramp trust-policy --method oidc_role', () => {
  const keyless = ['--method', 'oidc_role', '--issuer', 'https://onramp.example.com/oidc'];

  it.each([
    ['aws', 'sts.amazonaws.com'],
    ['aws-us-gov', 'sts.amazonaws.com'],
    ['aws-cn', 'sts.amazonaws.com.cn'],
  ])(
    'in %s trusts the account’s provider for the issuer, with the subject and the partition’s audience',
    async (partition, audience) => {
      const result = await runCli([
        'trust-policy',
        '--partition',
        partition,
        ...keyless,
        '--subject',
        'tenant:ten_1:connection:con_1',
        '--account-id',
        '123456789012',
      ]);
      expect(result.code, describeRun(result)).toBe(0);
      expect(parseJsonOutput(result), describeRun(result)).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'OnrampWebIdentity',
            Effect: 'Allow',
            Principal: {
              Federated: `arn:${partition}:iam::123456789012:oidc-provider/onramp.example.com/oidc`,
            },
            Action: ['sts:AssumeRoleWithWebIdentity'],
            Condition: {
              StringEquals: {
                'onramp.example.com/oidc:aud': audience,
                'onramp.example.com/oidc:sub': 'tenant:ten_1:connection:con_1',
              },
            },
          },
        ],
      });
      // Nothing generated: a keyless role has no external ID to announce.
      expect(result.stderr, describeRun(result)).toBe('');
    },
  );

  it('takes another audience when given', async () => {
    const result = await runCli([
      'trust-policy',
      '--partition',
      'aws',
      ...keyless,
      '--subject',
      's1',
      '--account-id',
      '123456789012',
      '--audience',
      'my-audience',
    ]);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout, describeRun(result)).toContain(
      '"onramp.example.com/oidc:aud": "my-audience"',
    );
  });

  it('names every bad or missing flag at once, refusing the hub and external ID', async () => {
    const result = await runCli([
      'trust-policy',
      '--partition',
      'aws',
      '--method',
      'oidc_role',
      '--issuer',
      'https://onramp.example.com:8443/oidc',
      '--hub-principal',
      '111122223333',
      '--external-id',
      'onramp-x',
      '--audience',
      'sts.*',
    ]);
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stdout, describeRun(result)).toBe('');
    for (const flag of [
      '--issuer',
      '--subject',
      '--audience',
      '--account-id',
      '--hub-principal',
      '--external-id',
    ]) {
      expect(result.stderr, describeRun(result)).toMatch(new RegExp(`^error: ${flag}: `, 'm'));
    }
    expect(result.stderr, describeRun(result)).toContain('may not name a port');
  });

  it('refuses keyless flags without --method oidc_role, and an unknown method', async () => {
    const plain = await runCli([
      'trust-policy',
      '--partition',
      'aws',
      '--hub-principal',
      '111122223333',
      '--issuer',
      'https://onramp.example.com/oidc',
      '--account-id',
      '123456789012',
    ]);
    expect(plain.code, describeRun(plain)).toBe(2);
    expect(plain.stderr, describeRun(plain)).toContain(
      'error: --issuer: Only a keyless role has an issuer. Add --method oidc_role, or leave it out.',
    );
    expect(plain.stderr, describeRun(plain)).toMatch(/^error: --account-id: /m);
    const unknown = await runCli(['trust-policy', '--partition', 'aws', '--method', 'keyless']);
    expect(unknown.code, describeRun(unknown)).toBe(2);
    expect(unknown.stderr, describeRun(unknown)).toContain(
      'error: --method: "keyless" is not a role method.',
    );
  });
});
