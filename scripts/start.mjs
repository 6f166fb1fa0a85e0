// `npm start`: runs Onramp from the production build (apps/server/dist), building it first only when it
// is missing or older than the sources (build-stamp.mjs, a stat per source file: a few milliseconds).
//
// The build runs in a child process, so esbuild and Vite never stay in the server's memory. The server
// itself is imported into this very process rather than spawned: this script loads only Node's
// built-ins, so nothing heavy stays behind, there is no second Node process holding memory, and
// SIGTERM/SIGINT (from npm, a container runtime or Ctrl-C) reach the server's own handlers directly,
// with no forwarding and no exit code to relay. No TypeScript loader runs in this process.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildState } from './build-stamp.mjs';

const REASONS = {
  missing: 'no build yet',
  stale: 'sources changed since the last build',
};

let signalled = false;

/** Runs `node scripts/build.mjs`; a signal received meanwhile stops the build and this process. */
function runBuild() {
  const child = spawn(process.execPath, [fileURLToPath(new URL('build.mjs', import.meta.url))], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const forward = (signal) => {
    signalled = true;
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : (code ?? 1));
    });
  });
}

const state = buildState();
if (state !== 'fresh') {
  process.stderr.write(`building Onramp (${REASONS[state]})…\n`);
  const code = await runBuild();
  if (code !== 0) {
    if (!signalled) process.stderr.write('Onramp could not be built; the errors are above.\n');
    process.exit(code);
  }
}
await import('../apps/server/dist/main.js');
