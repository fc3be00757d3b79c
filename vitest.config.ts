import { defineConfig } from 'vitest/config';
import localCloud from './packages/local-cloud/vitest.config.ts';

// The local cloud's settings (two files at a time, timeouts for DynamoDB Local, shims/npx first on
// the PATH so in-process synthesis runs esbuild without npx's start-up, decision 14) serve the
// product's tests as well; the product adds its own tests to the local cloud's.
export default defineConfig({
  test: {
    ...localCloud.test,
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // Fails the whole run at once, with the install command, when Java (DynamoDB Local) is missing.
    globalSetup: ['test/support/global-setup.ts'],
  },
});
