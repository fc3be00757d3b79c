import { delimiter, join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The product's tests and the workspaces' (the local cloud's own suite runs here too).
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // Fails the whole run at once, with the install command, when Java (DynamoDB Local) is missing.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: one file per core; each local-cloud file starts its own DynamoDB Local.
    maxWorkers: 2,
    env: {
      DDB_LOCAL_TELEMETRY: '0',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // Construct tests bundle functions in-process: the local cloud's shims/npx runs esbuild
      // without npx's start-up cost (docs/decisions.md #14).
      PATH: `${join(import.meta.dirname, 'packages/local-cloud/shims')}${delimiter}${process.env.PATH ?? ''}`,
    },
  },
});
