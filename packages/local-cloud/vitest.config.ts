import { delimiter, join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fails the whole run at once, with the install command, when Java (DynamoDB Local) is missing.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: one file per core; each file starts its own DynamoDB Local.
    maxWorkers: 2,
    env: {
      DDB_LOCAL_TELEMETRY: '0',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // Apps synthesized in-process bundle their functions: shims/npx runs esbuild without npx's start-up cost.
      PATH: `${join(import.meta.dirname, 'shims')}${delimiter}${process.env.PATH ?? ''}`,
    },
  },
});
