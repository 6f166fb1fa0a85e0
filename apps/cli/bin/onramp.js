#!/usr/bin/env node
// Runs the CLI from its TypeScript sources through tsx, so it needs no build step. tsconfig lookup is
// off: the sources need no compiler options, and a tsconfig.json in the working directory must not
// change how Onramp runs.
//
// `onramp credentials` is AWS's credential_process, run at every refresh: it is plain JavaScript and
// starts without tsx, whose loader alone costs about three times a bare Node's start-up.
if (process.argv[2] === 'credentials') {
  const { runCredentials } = await import('../src/credentials-command.js');
  process.exitCode = await runCredentials(process.argv.slice(3), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
} else {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: false });
  const { main } = await import('../src/main.ts');
  process.exitCode = await main();
}
