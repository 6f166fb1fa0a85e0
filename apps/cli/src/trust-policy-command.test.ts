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
