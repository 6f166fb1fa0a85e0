import { readFile, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { CliIo } from './cli-io.ts';
import { run } from './main.ts';

/** Helpers for the CLI's tests: run a command in-process and see everything it wrote. */

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The same bytes every time, so a generated external ID can be predicted. */
export function fixedRandomBytes(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 37 + 11) % 256);
}

/** A home directory that does not exist: a test that needs a config file names its own directory. */
export const MISSING_HOME = '/nonexistent/onramp-cli-test-home';

export interface RunCliOptions {
  /** Files served from memory by path; every other path goes to the real file system. */
  files?: Readonly<Record<string, string>>;
  /** What is piped to standard input (nothing by default: it ends at once). */
  stdin?: string;
  /** Pretend stdout and stderr are a terminal this many columns wide. */
  terminalColumns?: number;
  io?: Partial<CliIo>;
}

/**
 * Runs `onramp <argv>` in-process. Files in `files` are served from memory by path; every other path
 * (the shipped catalog, a missing file) goes to the real file system. The environment is empty unless
 * `io.env` gives one, so no test reads the developer's ONRAMP_TOKEN or config file.
 */
export async function runCli(
  argv: readonly string[],
  options: RunCliOptions = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const files = options.files ?? {};
  const terminal =
    options.terminalColumns === undefined ? {} : { isTTY: true, columns: options.terminalColumns };
  const io: CliIo = {
    stdout: { write: (text) => (stdout += text), ...terminal },
    stderr: { write: (text) => (stderr += text), ...terminal },
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    readFile: async (path) =>
      typeof path === 'string' && Object.hasOwn(files, path)
        ? (files[path] as string)
        : readFile(path, 'utf8'),
    writeFile: (path, text, mode) => writeFile(path, text, mode === undefined ? 'utf8' : { mode }),
    randomBytes: fixedRandomBytes,
    env: {},
    homeDir: MISSING_HOME,
    now: () => new Date(),
    ...options.io,
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

/** What a failed assertion shows: the command's exit code and both streams. */
export function describeRun(result: CliRun): string {
  return `exit code ${result.code}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

/** Every string in a JSON value, depth first. */
export function collectStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(collectStrings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(collectStrings);
  return [];
}

/** Parses JSON, failing with the run's output when it is not JSON. */
export function parseJsonOutput(result: CliRun): unknown {
  try {
    return JSON.parse(result.stdout);
  } catch (error) {
    throw new Error(`stdout is not JSON (${(error as Error).message})\n${describeRun(result)}`);
  }
}

/** A small, valid catalog for tests that need one of their own. */
export const TEST_CATALOG = `version: 1
platform: Test Platform
partitions:
  aws-us-gov:
    customizable: false
products:
  - id: compute
    name: Compute
    description: Run instances.
    bundles:
      - id: compute-read
        name: Read instances
        description: Describe instances.
        default: true
        statements:
          - actions: [ec2:DescribeInstances]
      - id: compute-write
        name: Start and stop instances
        description: Start and stop instances.
        partitions: [aws]
        statements:
          - actions: [ec2:StartInstances, ec2:StopInstances]
`;
