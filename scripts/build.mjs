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

const shared = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  sourcemap: 'linked',
  external: thirdPartyPackages(),
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
