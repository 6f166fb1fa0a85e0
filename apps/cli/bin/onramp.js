#!/usr/bin/env node
// Runs the CLI from the production build (apps/cli/dist, `npm run build`) when that build matches the
// sources, so no TypeScript loader starts; otherwise from the TypeScript sources through tsx, so a
// developer's edit is never silently ignored by a stale build. tsconfig lookup is off: the sources need
// no compiler options, and a tsconfig.json in the working directory must not change how Onramp runs.
//
// `onramp credentials` is AWS's credential_process, run at every refresh: it is plain JavaScript and
// starts without tsx or the freshness check, whose cost it does not need.
if (process.argv[2] === 'credentials') {
  const { runCredentials } = await import('../src/credentials-command.js');
  process.exitCode = await runCredentials(process.argv.slice(3), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
} else {
  process.exitCode = await (await loadCli()).main();
}

/** The compiled CLI when the build is fresh, else the sources through tsx. */
async function loadCli() {
  const { buildState } = await import('../../../scripts/build-stamp.mjs');
  if (buildState() === 'fresh') return import('../dist/main.js');
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: false });
  return import('../src/main.ts');
}
