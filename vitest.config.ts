import { configDefaults, defineConfig } from 'vitest/config';

// `unit` and `web` need neither PostgreSQL nor a browser: `npm run test:unit` runs them, the fast loop.
// `server` is every other server test, on SQLite and PostgreSQL; `e2e` starts processes and browsers;
// `slow` holds the few tests that shell out to external checkers for seconds. `npm test` runs them all.
const unitTests = [
  'packages/*/src/**/*.test.ts',
  'packages/*/test/**/*.test.ts',
  'apps/cli/src/**/*.test.ts',
  'tools/*/src/**/*.test.ts',
  'apps/server/src/**/*.unit.test.ts',
];
const slowTests = [...configDefaults.exclude, '**/*.slow.test.ts'];

export default defineConfig({
  test: {
    // Property tests and the IAM simulator are CPU-bound; two cores on CI.
    testTimeout: 30_000,
    // The SDK warns that it will need Node 22 from 2027; engines in package.json already say so.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      // Pure modules share a worker's module cache (isolate: false): importing the catalog, the AWS
      // dataset and the SDK once per worker, not once per file, halves the loop.
      {
        extends: true,
        test: { name: 'unit', include: unitTests, exclude: slowTests, isolate: false },
      },
      // The console's component tests each need a fresh DOM and React, so they stay isolated.
      {
        extends: true,
        test: {
          name: 'web',
          include: ['apps/web/src/**/*.test.ts', 'apps/web/src/**/*.test.tsx'],
          exclude: slowTests,
        },
      },
      { extends: true, test: { name: 'slow', include: slowTests } },
      {
        extends: true,
        test: {
          name: 'server',
          include: ['apps/server/src/**/*.test.ts'],
          exclude: [...slowTests, '**/*.unit.test.ts'],
        },
      },
      { extends: true, test: { name: 'e2e', include: ['e2e/**/*.test.ts'] } },
    ],
  },
});
