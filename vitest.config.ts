import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
      'apps/*/src/**/*.test.tsx',
      'tools/*/src/**/*.test.ts',
      'e2e/**/*.test.ts',
    ],
    // Property tests and the IAM simulator are CPU-bound; two cores on CI.
    testTimeout: 30_000,
    // The SDK warns that it will need Node 22 from 2027; engines in package.json already say so.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
