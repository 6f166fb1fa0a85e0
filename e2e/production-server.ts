import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildState } from '../scripts/build-stamp.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds once (`npm run build`'s script) unless the build on disk already matches the sources. */
export function ensureBuilt(): void {
  if (buildState() === 'fresh') return;
  const result = spawnSync(process.execPath, ['scripts/build.mjs'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`npm run build failed:\n${result.stderr}`);
}

export interface ProductionServer {
  url: string;
  pid: number;
  process: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or the signal's name) once the process ended. */
  exited: Promise<number | string>;
}

/**
 * Starts Onramp as `npm start` does (`node scripts/start.mjs`, no loader flag and no NODE_OPTIONS)
 * with only the environment given, and waits for the line that prints its URL.
 */
export async function startProductionServer(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ProductionServer> {
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Onramp did not start within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const check = () => {
      const match = /Onramp is running at (\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`Onramp exited with ${code}:\n${output}`));
    });
  });
  return { url, pid: child.pid ?? 0, process: child, output: () => output, exited };
}

/** Sends SIGTERM and waits for the exit; a process that already ended is left alone. */
export async function stopProductionServer(server: ProductionServer): Promise<void> {
  if (server.process.exitCode === null && server.process.signalCode === null) {
    server.process.kill('SIGTERM');
  }
  await server.exited;
}
