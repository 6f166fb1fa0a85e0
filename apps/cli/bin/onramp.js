#!/usr/bin/env node
// Runs the CLI from its TypeScript sources through tsx, so it needs no build step. tsconfig lookup is
// off: the sources need no compiler options, and a tsconfig.json in the working directory must not
// change how Onramp runs.
import { register } from 'tsx/esm/api';

register({ tsconfig: false });
const { main } = await import('../src/main.ts');
process.exitCode = await main();
