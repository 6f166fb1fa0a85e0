import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import packageJson from '../package.json' with { type: 'json' };
import { collectStrings, describeRun, runCli } from './testing.ts';

const BIN = fileURLToPath(new URL('../bin/onramp.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('onramp', () => {
  it('shows a quick start and every command in --help', async () => {
    const result = await runCli(['--help']);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout, describeRun(result)).toContain('Quick start:');
    for (const command of ['catalog', 'policy', 'trust-policy', 'template']) {
      expect(result.stdout, describeRun(result)).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
  });

  it('shows examples in the help of each command', async () => {
    for (const argv of [
      ['catalog', '--help'],
      ['policy', '--help'],
      ['trust-policy', '--help'],
      ['template', 'cloudformation', '--help'],
      ['template', 'terraform', '--help'],
      ['template', 'steps', '--help'],
    ]) {
      const result = await runCli(argv);
      expect(result.code, describeRun(result)).toBe(0);
      expect(result.stdout, describeRun(result)).toContain(
        `$ onramp ${argv.slice(0, -1).join(' ')} `,
      );
      expect(result.stdout, describeRun(result)).toContain('--catalog <file>');
    }
  });

  it('prints its version', async () => {
    const result = await runCli(['--version']);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout.trim(), describeRun(result)).toBe(packageJson.version);
  });

  it('exits 2 with the help on stderr when no command is given', async () => {
    const result = await runCli([]);
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stdout, describeRun(result)).toBe('');
    expect(result.stderr, describeRun(result)).toContain('Usage: onramp');
  });

  it('exits 2 on an unknown option or command, pointing at --help', async () => {
    for (const argv of [['policy', '--bogus'], ['polcy']]) {
      const result = await runCli(argv);
      expect(result.code, describeRun(result)).toBe(2);
      expect(result.stderr, describeRun(result)).toMatch(/^error: unknown (option|command)/m);
      expect(result.stderr, describeRun(result)).toContain('--help');
    }
  });

  it('reports an unexpected failure as a bug, with exit code 1', async () => {
    const result = await runCli(['catalog'], {
      io: {
        readFile: async () => {
          throw new Error('disk on fire');
        },
      },
    });
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr, describeRun(result)).toContain('this is a bug in Onramp');
    expect(result.stderr, describeRun(result)).toContain('disk on fire');
  });

  it('runs from the real launcher (bin/onramp.js)', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [BIN, 'policy', '--partition', 'aws-cn', '--bundles', 'all'],
      { cwd: REPO_ROOT, timeout: 60_000 },
    ).catch((error: { code?: number; stdout?: string; stderr?: string }) => {
      throw new Error(
        `the launcher exited with ${error.code}\n--- stdout ---\n${error.stdout}\n--- stderr ---\n${error.stderr}`,
      );
    });
    const output = `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
    const policies = JSON.parse(stdout) as { document: unknown }[];
    expect(policies.length, output).toBeGreaterThan(0);
    const arns = collectStrings(policies.map((p) => p.document)).filter((s) =>
      s.startsWith('arn:'),
    );
    expect(arns.length, output).toBeGreaterThan(0);
    for (const arn of arns) expect(arn, output).toMatch(/^arn:aws-cn:/);
  });
});
